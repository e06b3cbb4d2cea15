"""Batched fits against the strongest scipy baseline: ``curve_fit`` given good starting values (issue 12).

Trials: 200 points over 4 h from each of the eight closed-form fouling models in turn (complete,
intermediate, standard, cake and the four blocking-over-cake/standard combinations; cake-standard
has no closed form), J0 scattered ±30 % (log-normal) around 500 L/m²/h and the constants by a
factor of about 2 (σ = 0.7 in ln) around fixed values, with 0.5 % Gaussian noise: proportional to
V in half of the trials, a constant 0.5 % of the final throughput (a balance) in the other half.
Every trial is fitted with all eight models.

Baseline, measured in the same run and interleaved with the candidate: a per-model
``scipy.optimize.curve_fit`` loop (Levenberg-Marquardt, unbounded: the fastest scipy way) started
at 1.3x the generating constants (J0 and the constants the fitted model shares with the generating
law; 1.3x a nominal value for a constant the generating law lacks), run on both cores (two worker
processes, half of the trials each). Candidate: :func:`fluxwise.fit.batch.fit_batch` on the same
trials from its own starts (the linearisations, the parents' solutions for the combined models),
compiled path on all cores (numpy where numba is missing).

Quality: the share of fits whose SSE is no worse than the baseline's (within 1e-6, relative), over
the fits where ``curve_fit`` ended at non-negative parameters (a negative constant is no fouling
law; those are counted and left out), and against bounded ``curve_fit`` (trust-region
reflective: the same constrained problem) on a subset. Also: combined fits above their parent
law's SSE on the same trial (there must be none).

Targets: at least 99.9 % of the fits no worse than the baseline, and at least 20x its throughput
on 2 cores, in the same run.

Run: ``python benchmarks/bench_batch_quality.py [--quick] [--json FILE]`` or through
``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

NOMINAL = {"J0_LMH": 500.0, "kb_per_h": 0.3, "ki_m2_per_L": 0.002, "ks_m2_per_L": 0.003,
           "kc_h_m4_per_L2": 1e-5}
GENERATING = {"complete": (0.3,), "intermediate": (0.002,), "standard": (0.003,), "cake": (1e-5,),
              "cake-complete": (0.2, 5e-6), "cake-intermediate": (0.001, 5e-6),
              "complete-standard": (0.2, 0.002), "intermediate-standard": (0.001, 0.002)}
CLOSED = tuple(GENERATING)
RTOL = 1e-6
TARGET_RATIO = 20.0
TARGET_QUALITY = 0.999


def make_trials(n, m=200, noise=0.005, seed=0):
    """n trials, the generating law cycling through the eight closed-form models.

    Returns t [m], Y [n, m], the generating law of each trial and its parameters (dict by key).
    """
    from fluxwise.models.fouling import MODELS

    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 4.0, m + 1)[1:]
    Y = np.empty((n, m))
    laws, truths = [], []
    for i in range(n):
        law = CLOSED[i % len(CLOSED)]
        model = MODELS[law]
        k = len(GENERATING[law])
        p = np.array([NOMINAL["J0_LMH"], *GENERATING[law]]) * np.exp(
            np.array([0.3] + [0.7] * k) * rng.standard_normal(1 + k))
        v = model.volume(t, *p)
        sd = noise * (v if i % 2 else v[-1])
        Y[i] = v + sd * rng.standard_normal(m)
        laws.append(law)
        truths.append(dict(zip(model.all_params, p, strict=True)))
    return t, Y, laws, truths


def good_start(model_name, truth):
    """1.3x the generating constants (a nominal value where the generating law lacks the constant)."""
    from fluxwise.models.fouling import MODELS

    return [1.3 * truth.get(k, NOMINAL[k]) for k in MODELS[model_name].all_params]


def _curve_fit_chunk(task):
    """The baseline on some trials: {model: (sse [k], non-negative [k])} (module level: pickled)."""
    from scipy.optimize import OptimizeWarning, curve_fit

    from fluxwise.models.fouling import MODELS

    t, Y, truths, bounded = task
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for nm in CLOSED:
            m = MODELS[nm]
            sse = np.full(len(Y), np.inf)
            feasible = np.zeros(len(Y), bool)
            for i in range(len(Y)):
                p0 = good_start(nm, truths[i])
                try:
                    if bounded:
                        popt, _ = curve_fit(m.volume, t, Y[i], p0=p0, bounds=(0, np.inf))
                    else:
                        popt, _ = curve_fit(m.volume, t, Y[i], p0=p0)
                except (RuntimeError, ValueError):
                    continue
                r = m.volume(t, *popt) - Y[i]
                sse[i] = float(r @ r)
                feasible[i] = bool(np.isfinite(sse[i]) and np.all(popt >= 0))
            out[nm] = (sse, feasible)
    return out


def curve_fit_baseline(pool, t, Y, truths, *, bounded=False, workers=2):
    """The baseline loop split over ``workers`` processes; returns ({model: (sse, feasible)}, seconds)."""
    parts = np.array_split(np.arange(len(Y)), workers)
    tasks = [(t, Y[idx], [truths[i] for i in idx], bounded) for idx in parts]
    t0 = time.perf_counter()
    results = list(pool.map(_curve_fit_chunk, tasks))
    dt = time.perf_counter() - t0
    out = {nm: (np.concatenate([r[nm][0] for r in results]), np.concatenate([r[nm][1] for r in results]))
           for nm in CLOSED}
    return out, dt


def compare(bf, base, laws, rtol=RTOL):
    """Share of fits no worse than the baseline (where it is feasible), and the worst cases."""
    good = total = infeasible = 0
    worst = []
    for nm in CLOSED:
        sse, feasible = base[nm]
        k = len(sse)
        ours = bf[nm].sse[:k]
        infeasible += int(np.sum(~feasible))
        ok = ours <= sse * (1 + rtol) + 1e-12
        total += int(feasible.sum())
        good += int(np.sum(ok & feasible))
        for i in np.flatnonzero(feasible & ~ok):
            worst.append((float(ours[i] / sse[i]), nm, laws[i], int(i)))
    worst.sort(reverse=True)
    return {"share": good / max(total, 1), "compared": total, "left_out": infeasible, "worst": worst[:5]}


def nested_violations(bf):
    """Combined fits whose SSE is above one of their parent laws' on the same trial."""
    from fluxwise.fit.batch import parent_laws

    count, worst = 0, 1.0
    for nm in CLOSED:
        for par in parent_laws(nm):
            if par in bf.fits:
                r = bf[nm].sse / bf[par].sse
                count += int(np.sum(r > 1 + 1e-9))
                worst = max(worst, float(np.nanmax(r)))
    return count, worst


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("--n", type=int, help="trials fitted by fluxwise (default 20,000; quick 4,000)")
    ap.add_argument("--n-base", type=int, help="trials fitted by the baseline (default 1,000; quick 300)")
    ap.add_argument("--n-trf", type=int, help="trials for bounded curve_fit (default 300; quick 100)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args(argv if argv is not None else [])
    from bench_batch import fast_backend, load, machine

    from fluxwise.fit.batch import fit_batch

    n = args.n or (4000 if args.quick else 20_000)
    nb = min(n, args.n_base or (300 if args.quick else 1000))
    ntrf = min(nb, args.n_trf or (100 if args.quick else 300))
    backend = fast_backend()
    workers = 2
    res = {"machine": machine(), "backend": backend, "n_trials": n, "n_fits": len(CLOSED) * n,
           "baseline_trials": nb, "baseline_workers": workers}
    print("\n== bench_batch_quality: batched fits against curve_fit given good starting values")
    print("machine:", ", ".join(f"{k} {v}" for k, v in res["machine"].items()))
    print(f"({load()})")
    t, Y, laws, truths = make_trials(n)
    fit_batch(t, Y[:64], models=CLOSED, backend=backend)  # warm-up: compiled kernels
    ours, base_t = [], []
    bf = None
    with ProcessPoolExecutor(workers) as pool:
        curve_fit_baseline(pool, t, Y[:8], truths[:8])  # warm-up: imports in the workers
        for _ in range(args.repeats):  # interleaved: a burst of load hits both alike
            t0 = time.perf_counter()
            bf = fit_batch(t, Y, models=CLOSED, backend=backend)
            ours.append(time.perf_counter() - t0)
            base, dt = curve_fit_baseline(pool, t, Y[:nb], truths[:nb])
            base_t.append(dt)
        trf, _ = curve_fit_baseline(pool, t, Y[:ntrf], truths[:ntrf], bounded=True)
    if backend == "numba":
        t0 = time.perf_counter()
        fit_batch(t, Y, models=CLOSED, backend=backend, threads=1)
        res["fits_per_s_1thread"] = len(CLOSED) * n / (time.perf_counter() - t0)
    res["fits_per_s"] = len(CLOSED) * n / statistics.median(ours)
    res["baseline_fits_per_s"] = len(CLOSED) * nb / statistics.median(base_t)
    res["ratio"] = res["fits_per_s"] / res["baseline_fits_per_s"]
    res["quality_lm"] = compare(bf, base, laws)
    res["quality_lm_0.1pct"] = compare(bf, base, laws, rtol=1e-3)["share"]
    res["quality_trf"] = compare(bf, trf, laws)
    res["nested_violations"], res["nested_worst_ratio"] = nested_violations(bf)
    res["converged"] = float(np.mean([bf[nm].converged.mean() for nm in CLOSED]))
    q, qt = res["quality_lm"], res["quality_trf"]
    print(f"fluxwise ({backend}, all cores): {res['fits_per_s']:,.0f} fits/s (median of {args.repeats}; "
          f"{len(CLOSED) * n:,} fits)" + (f"; one thread {res['fits_per_s_1thread']:,.0f} fits/s"
                                          if "fits_per_s_1thread" in res else ""))
    print(f"curve_fit loop, good starts, {workers} processes: {res['baseline_fits_per_s']:,.0f} fits/s "
          f"(median of {args.repeats}; {len(CLOSED) * nb:,} fits); ratio {res['ratio']:.1f}x")
    print(f"SSE no worse than curve_fit (within {RTOL:g}): {q['share']:.4%} of {q['compared']:,} fits "
          f"(LM; {q['left_out']} ended at negative parameters, left out; within 0.1 %: "
          f"{res['quality_lm_0.1pct']:.4%}); {qt['share']:.4%} of {qt['compared']:,} (bounded TRF)")
    for ratio, nm, law, i in q["worst"] + qt["worst"]:
        print(f"  worse: {nm} on a {law} trial (#{i}): SSE {ratio:.6f}x curve_fit's")
    print(f"combined fits above a parent law's SSE: {res['nested_violations']} "
          f"(largest ratio {res['nested_worst_ratio']:.12f}); converged {res['converged']:.4%}")
    quality = min(q["share"], qt["share"])
    verdict = {True: "met", False: "NOT met"}
    print(f"targets: >= {TARGET_QUALITY:.1%} no worse -> {verdict[quality >= TARGET_QUALITY]}; "
          f">= {TARGET_RATIO:.0f}x on 2 cores -> {verdict[res['ratio'] >= TARGET_RATIO]} "
          f"({os.cpu_count()} cores here)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=float))
    return res


if __name__ == "__main__":
    main(sys.argv[1:])
