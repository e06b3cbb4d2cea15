"""Benchmarks of the batched fitter, the bootstrap, risk-based sizing and Dask sweeps (issue 4).

Run alone with ``python benchmarks/bench_batch.py [--quick] [--json FILE]`` or through
``benchmarks/run.py`` (``make bench``), which calls :func:`main`. Every figure comes with its
baseline measured in the same run and the ratio:

1. One 200-point trial, all nine models, 1,000 bootstrap resamples each, plus 100,000 Monte Carlo
   sizing draws. Baseline: the same work through a scipy ``curve_fit`` loop (one fit per resample
   and model) and a scalar root solve per draw (:func:`fluxwise.design.sizing.min_area_constant_pressure`),
   timed on a subset (100 resamples per model, 2,000 draws) and scaled linearly to the full
   counts. Targets: under 1 s; at least 10x faster than the baseline.
2. 10,000 trials x 9 models (200 points each). Baseline: a per-model ``curve_fit`` loop
   (Levenberg-Marquardt, unbounded, the fastest scipy way; same starting values), timed on the
   first 1,000 trials. Quality: the share of fits whose SSE is no worse than scipy's + 0.1 %, over
   the fits where scipy converged to non-negative parameters; and against bounded ``curve_fit``
   (trust-region reflective, the same constrained problem). Targets: at least 20x the loop's
   throughput; at least 99.9 % of fits as good.
3. Peak memory (peak resident set, GB = 1e9 bytes) of the CPU batch path for one million trials x
   9 models, in a child process, including the 1.6 GB input array. Target: under 4 GB.
4. A risk-based design-space sweep on a local Dask cluster with 2 workers against 1 worker.
   Target: at least 1.7x.
5. GPU (JAX): only where JAX sees a GPU; ``benchmarks/gpu_check.py`` is the full check.

The machine is shared with other work: the load average before each part is printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MEM_LIMIT_GB = 4.0


# ----------------------------------------------------------------------------- data

TRUE = {
    "complete": (500.0, 0.3),
    "intermediate": (500.0, 0.002),
    "standard": (500.0, 0.003),
    "cake": (500.0, 1e-5),
    "cake-complete": (500.0, 0.2, 5e-6),
    "cake-intermediate": (500.0, 0.001, 5e-6),
    "complete-standard": (500.0, 0.2, 0.002),
    "intermediate-standard": (500.0, 0.001, 0.002),
    "cake-standard": (500.0, 0.002, 5e-6),
}


def synthetic_trials(n, m=200, seed=0, noise=0.01, out=None):
    """n trials on a common time grid [0, 4 h], each from a random model of the nine with its
    parameters scattered ±30 % (log-normal) around TRUE, 1 % proportional + 0.2 % absolute noise."""
    from fluxwise.models.fouling import MODEL_NAMES, MODELS

    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 4.0, m + 1)[1:]
    Y = np.empty((n, m)) if out is None else out
    which = rng.integers(0, len(MODEL_NAMES), n)
    for i, nm in enumerate(MODEL_NAMES):
        sel = np.flatnonzero(which == i)
        if sel.size == 0:
            continue
        p = np.array(TRUE[nm])[None, :] * np.exp(0.3 * rng.standard_normal((sel.size, len(TRUE[nm]))))
        v = MODELS[nm].volume(t[None, :], *[p[:, j:j + 1] for j in range(p.shape[1])])
        e = noise * v * rng.standard_normal(v.shape) + 0.2 * noise * v[:, -1:] * rng.standard_normal(v.shape)
        Y[sel] = v + e
    return t, Y, which


def one_trial(m=200, seed=1):
    from fluxwise.models.fouling import MODELS
    from fluxwise.trial import Trial

    t = np.linspace(0.0, 4.0, m + 1)[1:]
    v = MODELS["complete-standard"].volume(t, 500.0, 0.15, 0.002)
    y = v + np.random.default_rng(seed).normal(0.0, 0.005 * v[-1], m)
    return Trial(t_h=t, v_L_per_m2=y, area_m2=0.00138, mode="constant-pressure")


# ----------------------------------------------------------------------------- helpers

def machine() -> dict:
    import numpy
    from run import cpu_name  # benchmarks/ is on the path whether run alone or through run.py

    info = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": numpy.__version__}
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    try:
        import scipy

        info["scipy"] = scipy.__version__
    except ImportError:  # pragma: no cover
        pass
    return info


def load() -> str:
    try:
        a, b, c = os.getloadavg()
        return f"load average {a:.2f} {b:.2f} {c:.2f}"
    except OSError:  # pragma: no cover
        return "load average n/a"


def median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def fast_backend():
    from fluxwise.fit import numba_backend

    return "numba" if numba_backend.available() else "numpy"


def curve_fit_loop(names, t, Y, starts, *, bounded=False):
    """Per-model scipy curve_fit loop; returns {model: (params [n, p], sse [n], ok [n])}."""
    from scipy.optimize import OptimizeWarning, curve_fit

    from fluxwise.models.fouling import MODELS

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for nm in names:
            m = MODELS[nm]
            keys = m.all_params
            P = np.full((Y.shape[0], len(keys)), np.nan)
            sse = np.full(Y.shape[0], np.inf)
            ok = np.zeros(Y.shape[0], bool)
            for i in range(Y.shape[0]):
                p0 = [starts[k][i] for k in keys]
                try:
                    if bounded:
                        popt, _ = curve_fit(m.volume, t, Y[i], p0=p0, bounds=(0, np.inf))
                    else:
                        popt, _ = curve_fit(m.volume, t, Y[i], p0=p0)
                except (RuntimeError, ValueError):
                    continue
                r = m.volume(t, *popt) - Y[i]
                P[i] = popt
                sse[i] = float(r @ r)
                ok[i] = np.isfinite(sse[i])
            out[nm] = (P, sse, ok)
    return out


# ----------------------------------------------------------------------------- 1. bootstrap + MC

def bench_bootstrap(repeats=5, n_resamples=1000, n_draws=100_000, sub_resamples=100, sub_draws=2000):
    from fluxwise.design.risk import risk_based_sizing
    from fluxwise.design.sizing import min_area_constant_pressure
    from fluxwise.fit.fouling import fit_model
    from fluxwise.fit.uncertainty import bootstrap_trial, resample_residuals
    from fluxwise.models.fouling import MODEL_NAMES, MODELS

    trial = one_trial()
    backend = fast_backend()

    def candidate(backend=backend):
        boots = bootstrap_trial(trial, n_resamples=n_resamples, seed=0, backend=backend)
        b = boots["complete-standard"]
        est = dict(zip(b.param_names, b.estimate, strict=True))
        return boots, risk_based_sizing("complete-standard", est, b, (800.0, 1200.0), (2.5, 3.5),
                                        confidence=0.95, feed_cv=0.2, n_draws=n_draws, seed=0)

    candidate()  # warm-up: imports, compiled kernels
    t_cand = median_time(candidate, repeats)
    t_numpy = median_time(lambda: candidate("numpy"), max(1, repeats // 2))
    boots, risk = candidate()

    # baseline: the same resamples through curve_fit, a scalar root solve per draw (subset, scaled)
    from scipy.optimize import curve_fit

    t_h, y = trial.t_h, trial.v_L_per_m2
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for nm in MODEL_NAMES:
            m = MODELS[nm]
            f = fit_model(trial, nm)
            est = [f.params[k] for k in m.all_params]
            V = m.volume(t_h, *est)
            e = (y - V) - (y - V).mean()
            for row in resample_residuals(e, sub_resamples, rng=rng):
                try:
                    curve_fit(m.volume, t_h, V + row, p0=est)
                except (RuntimeError, ValueError):
                    pass
    t_fit_sub = time.perf_counter() - t0
    b = boots["complete-standard"]
    S = b.samples
    t0 = time.perf_counter()
    for i in range(sub_draws):
        p = dict(zip(b.param_names, S[i % S.shape[0]], strict=True))
        try:
            min_area_constant_pressure("complete-standard", p, 1000.0, 3.0)
        except Exception:  # noqa: BLE001 - a draw that cannot be sized still cost its time
            pass
    t_mc_sub = time.perf_counter() - t0
    t_base = t_fit_sub * n_resamples / sub_resamples + t_mc_sub * n_draws / sub_draws
    return {
        "backend": backend, "candidate_s": t_cand, "candidate_numpy_s": t_numpy, "baseline_s": t_base,
        "baseline_fits_s": t_fit_sub * n_resamples / sub_resamples,
        "baseline_mc_s": t_mc_sub * n_draws / sub_draws,
        "ratio": t_base / t_cand, "n_converged_min": min(v.samples.shape[0] for v in boots.values()),
        "risk_area_m2": risk["risk_based_area_m2"], "implied_safety_factor": risk["implied_safety_factor"],
        "target_s": 1.0, "target_ratio": 10.0,
    }


# ----------------------------------------------------------------------------- 2. 10,000 x 9

def bench_throughput(n=10_000, n_base=1000, n_trf=300, repeats=3):
    from fluxwise.fit.batch import fit_batch, starting_values_batch
    from fluxwise.models.fouling import MODEL_NAMES

    t, Y, _ = synthetic_trials(n, seed=2)
    backend = fast_backend()
    fit_batch(t, Y[:64], backend=backend)  # warm-up (loads the compiled kernels)
    res = {"backend": backend, "n_trials": n, "n_fits": 9 * n}
    bf = None
    if backend == "numba":
        import numba

        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            def run(threads=threads):
                return fit_batch(t, Y, backend="numba", threads=threads)
            dt = median_time(run, repeats)
            res[f"fits_per_s_{threads}thread"] = 9 * n / dt
        bf = fit_batch(t, Y, backend="numba")
    n_np = min(n, 2000)
    dt_np = median_time(lambda: fit_batch(t, Y[:n_np], backend="numpy"), 1)
    res["fits_per_s_numpy"] = 9 * n_np / dt_np
    if bf is None:
        bf = fit_batch(t, Y, backend="numpy")
    res["fits_per_s"] = max(v for k, v in res.items() if k.startswith("fits_per_s"))

    starts = starting_values_batch(t, Y[:n_base])
    t0 = time.perf_counter()
    base = curve_fit_loop(MODEL_NAMES, t, Y[:n_base], starts)
    dt_b = time.perf_counter() - t0
    res["baseline_fits_per_s"] = 9 * n_base / dt_b
    good = total = failed = negative = 0
    for nm in MODEL_NAMES:
        P, sse, ok = base[nm]
        feasible = ok & np.all(P >= 0, axis=1)
        failed += int(np.sum(~ok))
        negative += int(np.sum(ok & ~feasible))
        ours = bf[nm].sse[:n_base]
        total += int(feasible.sum())
        good += int(np.sum(ours[feasible] <= sse[feasible] * 1.001 + 1e-12))
    res.update(quality_vs_lm=good / total, compared_lm=total, scipy_failed=failed, scipy_negative=negative)
    starts_trf = starting_values_batch(t, Y[:n_trf])
    t0 = time.perf_counter()
    trf = curve_fit_loop(MODEL_NAMES, t, Y[:n_trf], starts_trf, bounded=True)
    res["baseline_trf_fits_per_s"] = 9 * n_trf / (time.perf_counter() - t0)
    good = total = 0
    for nm in MODEL_NAMES:
        P, sse, ok = trf[nm]
        ours = bf[nm].sse[:n_trf]
        total += int(ok.sum())
        good += int(np.sum(ours[ok] <= sse[ok] * 1.001 + 1e-12))
    res.update(quality_vs_trf=good / total, compared_trf=total)
    res["converged"] = float(np.mean([bf[nm].converged.mean() for nm in MODEL_NAMES]))
    res["ratio_best"] = res["fits_per_s"] / res["baseline_fits_per_s"]
    if "fits_per_s_1thread" in res:
        res["ratio_1thread"] = res["fits_per_s_1thread"] / res["baseline_fits_per_s"]
    res.update(target_ratio=20.0, target_quality=0.999)
    return res


# ----------------------------------------------------------------------------- 3. memory

_MEM_CHILD = r"""
import resource, sys, time, json
import numpy as np
sys.path.insert(0, {here!r})
from bench_batch import synthetic_trials
from fluxwise.fit.batch import fit_batch
n = {n}
Y = np.empty((n, 200))
step = 100_000
for lo in range(0, n, step):
    t, _, _ = synthetic_trials(min(step, n - lo), seed=lo, out=Y[lo:lo + step])
t0 = time.perf_counter()
bf = fit_batch(t, Y, backend={backend!r}, chunk_size={chunk})
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss is in KiB on Linux
conv = float(np.mean([f.converged.mean() for f in bf.fits.values()]))
res = {{"n": n, "seconds": dt, "peak_rss_gb": rss, "input_gb": Y.nbytes / 1e9, "converged": conv}}
print(json.dumps(res))
"""


def bench_memory(n=1_000_000, chunk=8192):
    backend = fast_backend()
    code = _MEM_CHILD.format(here=str(HERE), n=n, backend=backend, chunk=chunk)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res.update(backend=backend, chunk=chunk, fits_per_s=9 * n / res["seconds"], target_gb=MEM_LIMIT_GB)
    return res


# ----------------------------------------------------------------------------- 4. Dask

SWEEP = {
    "model": "cake-standard",
    "params": {"J0_LMH": 800.0, "ks_m2_per_L": 0.004, "kc_h_m4_per_L2": 3e-6},
    "reference_pressure_bar": 1.0,
    "sampling": "latin-hypercube",
    "seed": 1,
    "axes": {"pressure_bar": {"min": 0.5, "max": 2.0}, "process_time_h": {"min": 1.0, "max": 8.0},
             "batch_volume_L": {"min": 200.0, "max": 2000.0}},
    "uncertainty": {"confidence": 0.95, "feed_cv": 0.2, "param_cv": {"J0_LMH": 0.05}, "n_draws": 4000},
}


def bench_dask(n_samples=8000, chunk=None, repeats=3):
    import distributed

    from fluxwise.compute import DaskExecutor, InProcessExecutor
    from fluxwise.design.sweep import run_sweep, spec_from_dict
    from fluxwise.io.catalog import read_catalog

    spec = spec_from_dict({**SWEEP, "n_samples": n_samples, "chunk_size": chunk}, formats=read_catalog())
    res = {"scenarios": n_samples, "draws_per_scenario": SWEEP["uncertainty"]["n_draws"],
           "chunk": chunk or "default"}
    ref = run_sweep(spec, InProcessExecutor())
    for workers in (1, 2):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        with cluster, distributed.Client(cluster) as client:
            ex = DaskExecutor(client=client)
            run_sweep(spec, ex)  # warm-up: imports on the workers
            res[f"seconds_{workers}worker"] = median_time(lambda ex=ex: run_sweep(spec, ex), repeats)
            same = run_sweep(spec, ex).equals(ref)
            res[f"equal_in_process_{workers}worker"] = bool(same)
    res["speedup"] = res["seconds_1worker"] / res["seconds_2worker"]
    res["target_speedup"] = 1.7
    return res


# ----------------------------------------------------------------------------- 5. GPU

def bench_gpu():
    try:
        import jax
    except ImportError:
        return {"skipped": "JAX is not installed (pip install 'fluxwise[gpu]')"}
    if not any(d.platform == "gpu" for d in jax.devices()):
        return {"skipped": "no GPU visible to JAX"}
    sys.path.insert(0, str(HERE))
    import gpu_check

    return gpu_check.main(["--n", "1000000"])


# ----------------------------------------------------------------------------- report

def _verdict(ok):
    return "met" if ok else "NOT met"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (memory part with 100,000 trials)")
    ap.add_argument("--skip", action="append", default=[],
                    help="skip a part: bootstrap, throughput, memory, dask, gpu")
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args(argv if argv is not None else [])
    results = {"machine": machine()}
    print("\n== bench_batch: batched fitting, bootstrap, risk-based sizing, Dask sweeps")
    print("machine:", ", ".join(f"{k} {v}" for k, v in results["machine"].items()))

    if "bootstrap" not in args.skip:
        print(f"\n-- 1. one trial x 9 models x 1,000 bootstrap resamples + 100,000 MC draws ({load()})")
        r = results["bootstrap"] = bench_bootstrap(repeats=3 if args.quick else 5)
        print(f"fluxwise ({r['backend']}): {r['candidate_s']:.3f} s "
              f"(numpy backend {r['candidate_numpy_s']:.3f} s); "
              f"scipy curve_fit loop + scalar root solves: {r['baseline_s']:.1f} s "
              f"(fits {r['baseline_fits_s']:.1f} s, draws {r['baseline_mc_s']:.1f} s, scaled from a subset); "
              f"ratio {r['ratio']:.0f}x")
        print(f"targets: < 1 s -> {_verdict(r['candidate_s'] < 1)}; >= 10x -> {_verdict(r['ratio'] >= 10)}; "
              f"risk area {r['risk_area_m2']:.3f} m2, implied safety factor {r['implied_safety_factor']:.2f}")

    if "throughput" not in args.skip:
        n = 2000 if args.quick else 10_000
        print(f"\n-- 2. {n:,} trials x 9 models, 200 points ({load()})")
        r = results["throughput"] = bench_throughput(n=n, n_base=300 if args.quick else 1000,
                                                     n_trf=100 if args.quick else 300)
        for k in sorted(r):
            if k.startswith("fits_per_s_"):
                ratio = r[k] / r["baseline_fits_per_s"]
                print(f"fluxwise {k[11:]:>8}: {r[k]:>10,.0f} fits/s  ({ratio:.1f}x)")
        print(f"scipy curve_fit loop (LM, unbounded): {r['baseline_fits_per_s']:,.0f} fits/s; "
              f"bounded (TRF): {r['baseline_trf_fits_per_s']:,.0f} fits/s")
        print(f"SSE no worse than scipy + 0.1 %: {r['quality_vs_lm']:.4%} of {r['compared_lm']} fits (LM; "
              f"{r['scipy_failed']} scipy failures and {r['scipy_negative']} negative-parameter fits "
              "left out), "
              f"{r['quality_vs_trf']:.4%} of {r['compared_trf']} (TRF); converged {r['converged']:.4%}")
        print(f"targets: >= 20x -> {_verdict(r['ratio_best'] >= 20)} ({r['ratio_best']:.1f}x, "
              f"{r.get('ratio_1thread', float('nan')):.1f}x on one thread); >= 99.9 % -> "
              f"{_verdict(min(r['quality_vs_lm'], r['quality_vs_trf']) >= 0.999)}")

    if "memory" not in args.skip:
        n = 100_000 if args.quick else 1_000_000
        print(f"\n-- 3. peak memory, {n:,} trials x 9 models in a child process ({load()})")
        r = results["memory"] = bench_memory(n=n)
        if "error" in r:
            print("failed:", r["error"])
        else:
            print(f"peak RSS {r['peak_rss_gb']:.2f} GB (input array {r['input_gb']:.2f} GB), "
                  f"{r['seconds']:.0f} s, {r['fits_per_s']:,.0f} fits/s, converged {r['converged']:.4%}")
            print(f"target: < {MEM_LIMIT_GB:.0f} GB -> {_verdict(r['peak_rss_gb'] < MEM_LIMIT_GB)}")

    if "dask" not in args.skip:
        print(f"\n-- 4. risk-based sweep on a local Dask cluster, 2 workers vs 1 ({load()})")
        r = results["dask"] = bench_dask(n_samples=4000 if args.quick else 8000)
        print(f"{r['scenarios']:,} scenarios x {r['draws_per_scenario']:,} draws: "
              f"1 worker {r['seconds_1worker']:.2f} s, 2 workers {r['seconds_2worker']:.2f} s; "
              f"speedup {r['speedup']:.2f}x; results equal in-process: "
              f"{r['equal_in_process_1worker'] and r['equal_in_process_2worker']}")
        print(f"target: >= 1.7x -> {_verdict(r['speedup'] >= 1.7)}")

    if "gpu" not in args.skip:
        print("\n-- 5. GPU (JAX)")
        r = results["gpu"] = bench_gpu()
        print(r.get("skipped") or r)

    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
