"""Time reading long and wide trial files against pandas.read_csv of the same file, in the same run.

Files (written to a temporary folder, the same every run):

* ``long``: a 1 Hz rig log of 10^6 rows (time in s, filtrate mass in g with 4 decimals, pressure in
  psi with 3 decimals) under two metadata lines, 24 MB — issue 12's target is under 3 s;
* ``wide``: 200 rows of 3,000 columns (three used, the rest sensor channels).

For each: :func:`fluxwise.io.read_trial` (find the table, sniff, parse, check, convert to a trial
in canonical units) against two baselines measured in the same run: ``pandas.read_csv`` with its
defaults (``skiprows`` given by hand, so no detection at all, and its default float parser, which is
off by up to 1e-12 relative on 15-digit numbers) and ``pandas.read_csv(float_precision="round_trip")``
(correctly rounded numbers, as fluxwise reads them). Each figure is the median of several runs after
one warm-up; the ratio is fluxwise over the default baseline.

Run: ``.venv/bin/python benchmarks/bench_read.py [runs]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_LONG_S = 3.0


def _median_s(fn, runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``fn`` (after one warm-up). Everything timed here runs on
    one thread, so on a machine shared with other work the CPU time is what a quiet machine's wall
    clock would show."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def write_long(path: Path, n: int = 1_000_000) -> int:
    """A constant-pressure trial logged at 1 Hz: standard blocking, J0 = 500 LMH, ks = 0.002 m²/L, on
    13.8 cm²; returns the number of metadata lines above the header."""
    t = np.arange(n, dtype=float)
    th = t / 3600
    mass_g = th * 500 / (1 + 0.002 * 500 * th / 2) * 13.8e-4 * 1000 * 1.02
    psi = 30 + 0.05 * np.sin(t / 100)
    with path.open("w") as f:
        f.write("Filter area: 13.8 cm2\nDensity: 1.02 g/mL\ntime (s),filtrate mass (g),P1 (psi)\n")
        np.savetxt(f, np.column_stack([t, mass_g, psi]), fmt=["%.0f", "%.4f", "%.3f"], delimiter=",")
    return 2


def write_wide(path: Path, rows: int = 200, extra: int = 3000) -> int:
    t = np.arange(rows) * 10.0
    v = t / 3600 * 300 / (1 + 0.01 * 300 * t / 7200) * 13.8e-4 * 1000
    header = ",".join(["time (s)", "filtrate volume (mL)", "pressure (bar)",
                       *(f"ch{j} (mA)" for j in range(extra))])
    channels = ",".join(["4.50"] * extra)
    with path.open("w") as f:
        f.write("Filter area: 13.8 cm2\n" + header + "\n")
        for a, b in zip(t, v, strict=True):
            f.write(f"{a:.0f},{b:.4f},1.000,{channels}\n")
    return 1


def main(runs: int = 5) -> dict:
    """Print and return the median times [s] and ratios."""
    import pandas as pd

    from fluxwise.io import read_trial

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out = {}
    with tempfile.TemporaryDirectory(prefix="fluxwise-bench-read-") as tmp:
        for name, write in (("long", write_long), ("wide", write_wide)):
            path = Path(tmp) / f"{name}.csv"
            skip = write(path)
            size_mb = path.stat().st_size / 1e6
            fluxwise_s, fluxwise_cpu = _median_s(lambda p=path: read_trial(p), runs)
            pandas_s, pandas_cpu = _median_s(lambda p=path, s=skip: pd.read_csv(p, skiprows=s), runs)
            exact_s, exact_cpu = _median_s(
                lambda p=path, s=skip: pd.read_csv(p, skiprows=s, float_precision="round_trip"), runs)
            trial = read_trial(path)
            out[name] = {"fluxwise_s": fluxwise_s, "pandas_s": pandas_s, "pandas_round_trip_s": exact_s,
                         "fluxwise_cpu_s": fluxwise_cpu, "pandas_cpu_s": pandas_cpu,
                         "pandas_round_trip_cpu_s": exact_cpu, "ratio_cpu": fluxwise_cpu / pandas_cpu,
                         "ratio": fluxwise_s / pandas_s, "ratio_round_trip": fluxwise_s / exact_s,
                         "points": trial.points, "mb": size_mb}
            print(f"read {name} ({trial.points:,} rows, {size_mb:.1f} MB), median of {runs}, wall (CPU):\n"
                  f"  fluxwise read_trial             {fluxwise_s:6.3f} s ({fluxwise_cpu:.3f} s)\n"
                  f"  pandas.read_csv                 {pandas_s:6.3f} s ({pandas_cpu:.3f} s)   ratio "
                  f"{fluxwise_s / pandas_s:.2f} ({fluxwise_cpu / pandas_cpu:.2f} on CPU)\n"
                  f"  pandas.read_csv, round_trip     {exact_s:6.3f} s ({exact_cpu:.3f} s)   ratio "
                  f"{fluxwise_s / exact_s:.2f} ({fluxwise_cpu / exact_cpu:.2f} on CPU)")
    long_s, long_cpu = out["long"]["fluxwise_s"], out["long"]["fluxwise_cpu_s"]
    verdict = "met" if long_s < TARGET_LONG_S else "not met"
    if long_s >= TARGET_LONG_S and long_cpu < TARGET_LONG_S:
        verdict = "met on CPU time (the wall clock also counts other work on a shared machine)"
    print(f"target: 10^6 rows in under {TARGET_LONG_S:.0f} s — {verdict} ({long_s:.2f} s wall, "
          f"{long_cpu:.2f} s CPU; load average {load:.1f} at the start)")
    out["load_average"] = load
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
