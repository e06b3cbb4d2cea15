"""Start-up of the command line: ``fluxwise --help`` and ``fluxwise fit`` on the small example.

Each command runs in a fresh process, as a user runs it; the baseline, measured in the same run and
interleaved with the commands, is the interpreter's own start-up (``python -c pass``). For each the
median wall time of ``--runs`` runs (after one warm-up run each, which writes the byte-code and
pint's definition cache as the first real use would) and the median CPU time are printed, with the
time over the baseline. Also timed for comparison: importing every command module at once (what
each command paid before the commands were loaded lazily).

Targets (issue 12): ``fluxwise --help`` under 0.4 s and ``fluxwise fit
examples/mab_sterile_filtration.csv`` under 0.8 s.

The children run without ``PYTHONDONTWRITEBYTECODE`` (an installed package has its byte-code
compiled; compiling fluxwise's sources again at every start would time the compiler).

Run: ``python benchmarks/bench_startup.py [--runs 9]`` or through ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "mab_sterile_filtration.csv"
TARGETS = {"fluxwise --help": 0.4, "fluxwise fit": 0.8}
HEAVY = ("fastapi", "sqlalchemy", "numba", "dask", "plotly", "uvicorn")


def _fluxwise() -> list[str]:
    script = Path(sys.executable).with_name("fluxwise")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from fluxwise.cli import main; sys.exit(main())"]


def commands() -> dict:
    from fluxwise.cli import COMMANDS

    modules = sorted({target.split(":")[0] for target, _ in COMMANDS.values()})
    everything = "; ".join(f"import fluxwise.cli.{m}" for m in modules)
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "fluxwise --help": [*_fluxwise(), "--help"],
        "fluxwise fit": [*_fluxwise(), "fit", str(EXAMPLE)],
        "import every command module": [sys.executable, "-c", everything],
    }


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(cmd, env) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(cmd_args: list[str], env) -> list[str]:
    """Heavy packages a command imports (run in a child that reports ``sys.modules`` at exit)."""
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: print('\\nMODULES', ' '.join(sorted({{m.split('.')[0] for m in "
            f"sys.modules}} & set({HEAVY!r})))))\n"
            f"sys.argv = ['fluxwise', *{cmd_args!r}]\n"
            "from fluxwise.cli import main\nmain()\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=False).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("MODULES")]
    return line[-1].split()[1:] if line else ["?"]


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args(argv if argv is not None else [])
    env = _env()
    cmds = commands()
    for cmd in cmds.values():  # warm-up: byte-code, pint's cache, the page cache
        _run(cmd, env)
    walls = {k: [] for k in cmds}
    cpus = {k: [] for k in cmds}
    for _ in range(args.runs):  # interleaved, so that a burst of load hits all alike
        for k, cmd in cmds.items():
            w, c = _run(cmd, env)
            walls[k].append(w)
            cpus[k].append(c)
    try:
        load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover
        load = "load average n/a"
    base = statistics.median(walls["python -c pass"])
    print(f"\n== Start-up of the command line (median of {args.runs} runs, {load})")
    print(f"{'command':<30}{'wall [s]':>10}{'CPU [s]':>10}{'over python [s]':>17}{'target':>9}  verdict")
    res = {}
    for k in cmds:
        w, c = statistics.median(walls[k]), statistics.median(cpus[k])
        target = TARGETS.get(k)
        verdict = "" if target is None else ("met" if w < target else "NOT met")
        tgt = "" if target is None else f"< {target:g} s"
        print(f"{k:<30}{w:>10.3f}{c:>10.3f}{w - base:>17.3f}{tgt:>9}  {verdict}")
        res[k] = {"wall_s": w, "cpu_s": c, "over_python_s": w - base}
    for k, a in (("fluxwise --help", ["--help"]), ("fluxwise fit", ["fit", str(EXAMPLE)])):
        mods = heavy_imports(a, env)
        res[k]["heavy_imports"] = mods
        print(f"{k} imports of {', '.join(HEAVY)}: {', '.join(mods) if mods else 'none'}")
    return res


if __name__ == "__main__":
    main(sys.argv[1:])
