"""Benchmark: the whole analysis of one 2,000-point trial (fit all nine models, rank, size).

Baseline, measured in the same run: a per-model scipy ``curve_fit`` loop over the same nine models
with the same starting values (what an analysis script typically does). Prints medians of several
runs and the ratio baseline/candidate. Target (issue 2): the whole analysis under 100 ms.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np
from scipy.optimize import curve_fit

from fluxwise.design.sizing import size_filter
from fluxwise.fit.fouling import fit_trial, starting_values
from fluxwise.io.catalog import read_catalog
from fluxwise.models.fouling import MODEL_NAMES, MODELS
from fluxwise.trial import Trial

TRUE = {"kb_per_h": 0.6, "ki_m2_per_L": 0.004, "ks_m2_per_L": 0.005, "kc_h_m4_per_L2": 3e-6}


def make_trial(name="cake-complete", n=2000, seed=0) -> Trial:
    m = MODELS[name]
    t = np.linspace(0, 3, n)
    v = m.volume(t, 600.0, *[TRUE[p] for p in m.params])
    rng = np.random.default_rng(seed)
    return Trial(t, v + rng.normal(0, 0.002 * v[-1], n), 0.00138, "constant-pressure")


def candidate(trial, formats):
    fit = fit_trial(trial)
    best = fit.best
    return size_filter(best.name, best.params, trial.mode, formats, batch_volume_L=2000, process_time_h=4)


def baseline(trial):
    s = starting_values(trial)
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MODEL_NAMES:
            m = MODELS[name]
            p0 = [s["J0_LMH"], *[s[p] for p in m.params]]
            popt, _ = curve_fit(lambda t, *p, m=m: m.volume(t, p[0], *p[1:]), trial.t_h, trial.v_L_per_m2,
                                p0=p0, bounds=(0, np.inf), maxfev=5000)
            out[name] = popt
    return out


def _median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main(repeats: int = 7) -> dict:
    formats = read_catalog()
    rows = []
    for name in ("standard", "cake-complete", "cake-standard"):
        trial = make_trial(name)
        candidate(trial, formats)  # warm-up (imports, caches)
        baseline(trial)
        t_c = _median_time(lambda trial=trial: candidate(trial, formats), repeats)
        t_b = _median_time(lambda trial=trial: baseline(trial), repeats)
        rows.append((name, t_b, t_c))
    print("\n== Analysis of one 2,000-point trial: 9 models fitted + ranked + sized (median of "
          f"{repeats} runs)")
    print(f"{'true model':<16}{'scipy curve_fit loop [ms]':>28}{'fluxwise [ms]':>16}{'ratio':>8}")
    for name, t_b, t_c in rows:
        print(f"{name:<16}{t_b * 1e3:>28.1f}{t_c * 1e3:>16.1f}{t_b / t_c:>8.2f}")
    worst = max(r[2] for r in rows)
    print(f"target: whole analysis < 100 ms; worst case {worst * 1e3:.1f} ms -> "
          f"{'met' if worst < 0.1 else 'NOT met'}")
    return {"rows": rows, "worst_s": worst}


if __name__ == "__main__":
    main()
