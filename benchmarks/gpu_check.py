"""Check and time the JAX backend of the batched fitter (run it on a GPU machine).

    pip install 'fluxwise[gpu]'           # JAX with CUDA
    python benchmarks/gpu_check.py [--n 1000000] [--check 2000] [--models all] [--json FILE]

1. Correctness: fits ``--check`` synthetic 200-point trials with all nine models on JAX and on the
   numpy reference path; every fit must converge to an SSE within 0.1 % of the numpy SSE (or
   better), as the CPU benchmark demands of the compiled path.
2. Throughput: fits ``--n`` trials x the models on JAX in chunks of ``--chunk`` trials (after a
   warm-up that compiles each model), and reports fits per second. Target (issue 4): at least
   2,000,000 fits/s for 1e6 trials x 9 models on one H100.

Prints the device, the figures and the verdicts; exits 1 when the correctness check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TARGET_FITS_PER_S = 2_000_000


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description="check and time the JAX backend of fluxwise.fit.batch")
    ap.add_argument("--n", type=int, default=1_000_000, help="trials for the timing (default 1e6)")
    ap.add_argument("--check", type=int, default=2000, help="trials compared with numpy (default 2000)")
    ap.add_argument("--chunk", type=int, default=262_144, help="trials per device call")
    ap.add_argument("--models", default="all", help="comma-separated model names, or 'all'")
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args(argv)

    from bench_batch import synthetic_trials

    from fluxwise.fit import jax_backend
    from fluxwise.fit.batch import fit_batch
    from fluxwise.models.fouling import MODEL_NAMES

    jax = jax_backend.require()
    names = list(MODEL_NAMES) if args.models == "all" else args.models.split(",")
    devices = jax_backend.devices()
    res = {"devices": devices, "jax": jax.__version__, "models": names}
    print("JAX", jax.__version__, "devices:", ", ".join(devices))

    # 1. correctness against the numpy reference
    t, Y, _ = synthetic_trials(args.check, seed=5)
    ref = fit_batch(t, Y, models=names, backend="numpy")
    got = fit_batch(t, Y, models=names, backend="jax")
    worst, bad, total = 0.0, 0, 0
    for nm in names:
        r = got[nm].sse / ref[nm].sse
        worst = max(worst, float(np.nanmax(r)))
        bad += int(np.sum(~(r <= 1.001)))
        total += r.size
    res["check"] = {"trials": args.check, "fits": total, "worse_than_numpy": bad, "worst_sse_ratio": worst,
                    "converged": float(np.mean([got[nm].converged.mean() for nm in names]))}
    ok = bad <= 0.001 * total
    print(f"check: {total} fits, {bad} with SSE above numpy's + 0.1 % (worst ratio {worst:.6f}), converged "
          f"{res['check']['converged']:.4%} -> {'pass' if ok else 'FAIL'}")

    # 2. throughput
    t, Y, _ = synthetic_trials(min(args.n, args.chunk), seed=6)
    fit_batch(t, Y[:1024], models=names, backend="jax", chunk_size=1024)  # compile at a small shape
    fit_batch(t, Y, models=names, backend="jax", chunk_size=args.chunk)  # compile at the timed shape
    reps = max(1, args.n // Y.shape[0])
    t0 = time.perf_counter()
    for _ in range(reps):
        bf = fit_batch(t, Y, models=names, backend="jax", chunk_size=args.chunk)
    dt = time.perf_counter() - t0
    n_fits = reps * Y.shape[0] * len(names)
    res["timing"] = {"trials": reps * Y.shape[0], "fits": n_fits, "seconds": dt, "fits_per_s": n_fits / dt,
                     "converged": float(np.mean([bf[nm].converged.mean() for nm in names])),
                     "target_fits_per_s": TARGET_FITS_PER_S}
    print(f"timing: {n_fits:,} fits in {dt:.2f} s = {n_fits / dt:,.0f} fits/s (target {TARGET_FITS_PER_S:,}: "
          f"{'met' if n_fits / dt >= TARGET_FITS_PER_S else 'NOT met'}); converged "
          f"{res['timing']['converged']:.4%}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    res["ok"] = ok
    return res


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1:])["ok"] else 1)
