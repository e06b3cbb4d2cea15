"""Long trials: a rig logging at 1 Hz for hours, analysed (all nine models) at both operating modes.

Trials of 10,000, 50,400 and 100,000 points (2.8 h, 14 h and 28 h at 1 Hz), constant pressure
(cake-complete, balance noise) and constant flux (cake-standard, pressure noise), each analysed by
:func:`fluxwise.fit.fouling.fit_trial` with all nine models: the fit to at most 2,000 bin means
(:func:`fluxwise.fit.fouling.bin_trial`), the ranking, the intervals and the Vmax/Pmax line.

Baseline, in the same run: the same analysis of the whole trial without binning (what every trial
got before), at 10,000 and 50,400 points (one run each). For it, the largest difference between
the binned and the whole-trial parameters is printed in units of the whole-trial 95 % interval's
half-width.

Also timed, for information (the reader's side): reading the 100,000-row CSV file
(:func:`fluxwise.io.read_trial`) and, with ``--read-million``, a 1,000,000-row file.

Target (issue 12): any trial up to 100,000 points analysed in under 2 s.

Run: ``python benchmarks/bench_long.py [--runs 5] [--read-million]`` or through ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = (10_000, 50_400, 100_000)
TARGET_S = 2.0
AREA_CM2 = 10.0


def cp_trial(n, seed=1):
    """Constant pressure, 1 Hz: cake-complete over n seconds, balance noise 0.01 % of the final mass."""
    from fluxwise.models.fouling import MODELS
    from fluxwise.trial import Trial

    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1) / 3600.0
    hours = t[-1]
    v = MODELS["cake-complete"].volume(t, 600.0, 2.0 / hours, 3e-6)
    v = np.abs(v + 1e-4 * v[-1] * rng.standard_normal(n))
    return Trial(t_h=t, v_L_per_m2=v, area_m2=AREA_CM2 * 1e-4, mode="constant-pressure", source=f"cp-{n}")


def cf_trial(n, seed=2, flux=150.0):
    """Constant flux, 1 Hz: cake-standard reaching 1.9x its initial pressure, 0.3 % pressure noise."""
    from fluxwise.models.fouling import resistance_ratio
    from fluxwise.trial import Trial

    rng = np.random.default_rng(seed)
    t = np.arange(n) / 3600.0
    v = flux * t
    vend = v[-1]
    p = 0.12 * resistance_ratio("cake-standard", v, flux, 0.6 / vend, 0.5 / (flux * vend))
    p = p * (1 + 0.003 * rng.standard_normal(n))
    return Trial(t_h=t, v_L_per_m2=v, area_m2=AREA_CM2 * 1e-4, mode="constant-flux", pressure_bar=p,
                 source=f"cf-{n}")


def write_csv(trial, path):
    """The trial as a rig export: seconds, mL (and bar), with the area and mode above the table."""
    mode = trial.mode.replace("-", " ")
    cols = [np.round(trial.t_h * 3600.0, 3), trial.v_L_per_m2 * trial.area_m2 * 1e3]
    header = "time [s],filtrate [mL]"
    if trial.pressure_bar is not None:
        cols.append(trial.pressure_bar)
        header += ",pressure [bar]"
    with open(path, "w") as fh:
        fh.write(f"Filter area: {AREA_CM2} cm2\nMode: {mode}\n{header}\n")
        np.savetxt(fh, np.column_stack(cols), delimiter=",", fmt="%.9g")


def timed(fn, runs):
    walls, cpus, out = [], [], None
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def param_shift(binned, whole):
    """Largest |binned − whole| over all models and parameters, in whole-trial CI half-widths."""
    worst = 0.0
    for f in whole.fits:
        b = binned.get(f.name)
        for k, v in f.params.items():
            if k in f.fixed or k not in f.ci95:
                continue
            half = 0.5 * (f.ci95[k][1] - f.ci95[k][0])
            if half > 0 and np.isfinite(half):
                worst = max(worst, abs(b.params[k] - v) / half)
    return worst


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--read-million", action="store_true", help="also time reading a 1,000,000-row CSV")
    args = ap.parse_args(argv if argv is not None else [])
    from bench_batch import load

    from fluxwise.fit.fouling import fit_trial
    from fluxwise.io import read_trial

    print(f"\n== bench_long: trials of up to 100,000 points, all nine models ({load()})")
    fit_trial(cp_trial(3000))  # warm-up: imports
    fit_trial(cf_trial(3000))
    res = {"rows": []}
    print(f"{'trial':<22}{'points':>9}{'bins':>7}{'wall [s]':>10}{'CPU [s]':>9}  best model")
    for make in (cp_trial, cf_trial):
        for n in SIZES:
            trial = make(n)
            wall, cpu, fit = timed(lambda trial=trial: fit_trial(trial), args.runs)
            bins = fit.binning["bins"] if fit.binning else n
            print(f"{trial.mode:<22}{n:>9,}{bins:>7,}{wall:>10.3f}{cpu:>9.3f}  {fit.best_model}")
            res["rows"].append({"mode": trial.mode, "points": n, "bins": bins, "wall_s": wall, "cpu_s": cpu,
                                "best_model": fit.best_model})
    worst = max(r["wall_s"] for r in res["rows"])
    print(f"target: every trial up to 100,000 points in < {TARGET_S:g} s; slowest {worst:.3f} s -> "
          f"{'met' if worst < TARGET_S else 'NOT met'}")

    print("baseline, same run: the whole trial without binning (one run each)")
    for make, n in ((cp_trial, 10_000), (cf_trial, 10_000), (cp_trial, 50_400), (cf_trial, 50_400)):
        trial = make(n)
        wall_b, cpu_b, whole = timed(lambda trial=trial: fit_trial(trial, max_fit_points=None), 1)
        wall_c, _, binned = timed(lambda trial=trial: fit_trial(trial), args.runs)
        shift = param_shift(binned, whole)
        print(f"  {trial.mode:<18}{n:>7,} whole {wall_b:.2f} s (CPU {cpu_b:.2f} s), binned {wall_c:.3f} s: "
              f"ratio {wall_b / wall_c:.0f}x; parameters differ by at most {shift:.2f} of the whole "
              f"fit's 95 % half-interval")
        res[f"baseline_{trial.mode}_{n}"] = {"whole_s": wall_b, "binned_s": wall_c, "ratio": wall_b / wall_c,
                                         "max_shift_half_ci": shift}

    with tempfile.TemporaryDirectory() as tmp:
        sizes = [100_000] + ([1_000_000] if args.read_million else [])
        for n in sizes:
            path = Path(tmp) / f"cf_{n}.csv"
            write_csv(cf_trial(n), path)
            wall, cpu, trial = timed(lambda path=path: read_trial(path), 1 if n > 100_000 else 3)
            wall_f, _, _ = timed(lambda trial=trial: fit_trial(trial), 1)
            print(f"reading a {n:,}-row CSV (the reader's side, for information): {wall:.2f} s "
                  f"(CPU {cpu:.2f} s); read + analysis {wall + wall_f:.2f} s")
            res[f"read_{n}_s"] = wall
    return res


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main(sys.argv[1:])
