"""Time the supply simulation (issue 8): the full engine against a plain per-replication Python loop,
and a sweep of 200 policy settings on a local Dask cluster.

1. **Full engine**: 20 items taken jointly by batches (a batch waits for every item; 1.5 batches a
   week, Poisson), stock tracked by age (shelf life, minimum shelf life at use, first expiry first
   out), two-state supplier outages, a shared upstream, a 12-week lane closure, integrity-test
   failures, a reused cassette set; 10,000 replications x 104 weeks. The compiled engine
   (:func:`fluxwise.supply.engine.simulate`, random numbers included) against the same algorithm run
   as a plain Python loop over replications (``simulate(..., python=True)``, the uncompiled kernel),
   timed on a subset of replications and scaled per replication. Median of several runs after one
   warm-up (which loads the compiled kernel from numba's cache, or compiles it once).
2. **Dask sweep**: 200 base-stock settings (every item's base stock scaled by 0.6 .. 1.6) of the
   same plan, 250 replications each on the same random numbers, in chunks of 10 settings on a local
   Dask cluster of two single-threaded workers; the same sweep in this process (two threads) as the
   baseline.

Run: ``.venv/bin/python benchmarks/bench_supply.py [runs]``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import replace

N_ITEMS = 20
HORIZON = 104
REPLICATIONS = 10_000
SWEEP = 200
SWEEP_REPLICATIONS = 250


def bench_plan(replications: int = REPLICATIONS):
    """The 20-item campaign described in the module docstring."""
    from fluxwise.supply.formulas import base_stock_normal_approximation, demand_per_period
    from fluxwise.supply.model import (
        Batches,
        Item,
        LeadTime,
        Outage,
        Policy,
        Source,
        SupplyPlan,
        Window,
    )

    sources = {
        "sea": Source(
            "sea",
            LeadTime("gamma", 10.0, 2.5),
            qc_release=1,
            outage=Outage(26, 3),
            remaining_shelf_life=110,
            windows=(Window(30, 42),),
            upstream="membranes",
        ),
        "regional": Source(
            "regional",
            LeadTime("gamma", 6.0, 1.5),
            qc_release=1,
            outage=Outage(40, 2),
            remaining_shelf_life=130,
            upstream="membranes",
        ),
        "local": Source(
            "local", LeadTime("gamma", 3.0, 1.0), qc_release=1, outage=Outage(52, 2), remaining_shelf_life=150
        ),
        "air": Source("air", LeadTime("lognormal", 5.5, 1.5), qc_release=1, remaining_shelf_life=120),
    }
    batches = Batches("poisson", per_period=1.5, max_delay=2)
    names = list(sources)
    items = []
    for k in range(N_ITEMS):
        src = names[k % len(names)]
        item = Item(
            f"item {k + 1}",
            (src,),
            per_set=1 + k % 4,
            reuses=10 if k % 7 == 3 else 1,
            spares_per_batch=1 if k % 5 == 0 else 0,
            scrap_rate=0.02 if k % 3 == 0 else 0.0,
            shelf_life=156,
            min_shelf_life_at_use=26,
            unit_price=1000.0 + 100 * k,
            plastic_kg=1.5,
        )
        mu, sd = demand_per_period(item, batches, HORIZON)
        lt = sources[src].lead_time
        s = base_stock_normal_approximation(mu, sd, lt.mean + 1, lt.sd, 0.97)
        items.append(
            replace(item, policy=Policy("base-stock", base_stock=float(round(s))), starting_stock=None)
        )
    from fluxwise.supply.model import Outage as O

    return SupplyPlan(
        horizon=HORIZON,
        items=tuple(items),
        sources=sources,
        batches=batches,
        replications=replications,
        seed=1,
        upstreams={"membranes": O(104, 4)},
    )


def _median(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def full_engine(runs: int = 5, python_reps: int = 10) -> dict:
    from fluxwise.supply.engine import simulate, threads

    plan = bench_plan()
    simulate(plan, replications=300)  # warm-up: compiled kernel from the cache (or compiled once)
    fast, all_fast = _median(lambda: simulate(plan), runs)
    sim = simulate(plan, replications=2000)
    camp = sim.campaign()
    slow, _ = _median(lambda: simulate(plan, replications=python_reps, python=True), 3)
    per_rep = slow / python_reps
    ratio = per_rep * REPLICATIONS / fast
    print(
        f"full engine: {N_ITEMS} items x {HORIZON} weeks x {REPLICATIONS:,} replications, joint batches, "
        f"stock by age, outages: {fast:.2f} s (median of {runs}: {', '.join(f'{t:.2f}' for t in all_fast)}) "
        f"on {threads()} threads"
    )
    print(
        f"  plain per-replication Python loop: {per_rep * 1000:.0f} ms per replication "
        f"(median of 3 runs of {python_reps}) -> {per_rep * REPLICATIONS:.0f} s for {REPLICATIONS:,}; "
        f"ratio {ratio:.0f}x"
    )
    print(
        f"  (the campaign simulated: batches on time {camp['batch_service']:.3f}, "
        f"lost {camp['batches_lost_mean']:.2f} per campaign)"
    )
    return {
        "seconds": fast,
        "runs": all_fast,
        "python_s_per_replication": per_rep,
        "ratio": ratio,
        "threads": threads(),
    }


def _sweep_chunk(task):
    """Simulate a chunk of base-stock scale factors; returns (scale, batch service, mean stock) rows."""
    from fluxwise.supply import kernel as K
    from fluxwise.supply.engine import default_runs, simulate
    from fluxwise.supply.model import Policy

    plan, scales = task
    out = []
    for s in scales:
        runs = [
            replace(r, policy=Policy("base-stock", base_stock=round(r.policy.base_stock * s)))
            for r in default_runs(plan)
        ]
        sim = simulate(plan, runs, replications=SWEEP_REPLICATIONS)
        inv = float(sim.item[:, :, K.S_ONHAND].sum(axis=1).mean() / HORIZON)
        out.append((s, sim.campaign()["batch_service"], inv))
    return out


def dask_sweep() -> dict:
    import numpy as np

    from fluxwise.compute import DaskExecutor

    plan = bench_plan()
    scales = np.linspace(0.6, 1.6, SWEEP)
    tasks = [(plan, scales[k : k + 10]) for k in range(0, SWEEP, 10)]
    t0 = time.perf_counter()
    local = [row for t in tasks for row in _sweep_chunk(t)]
    t_local = time.perf_counter() - t0
    old = os.environ.get("FLUXWISE_THREADS")
    os.environ["FLUXWISE_THREADS"] = "1"  # one thread per single-threaded Dask worker
    try:
        t0 = time.perf_counter()
        with DaskExecutor(n_workers=2) as ex:
            t_start = time.perf_counter() - t0
            t1 = time.perf_counter()
            parts = ex.map_chunks(_sweep_chunk, tasks)
            t_run = time.perf_counter() - t1
    finally:
        if old is None:
            os.environ.pop("FLUXWISE_THREADS", None)
        else:
            os.environ["FLUXWISE_THREADS"] = old
    dask_rows = [row for p in parts for row in p]
    same = all(
        abs(a[1] - b[1]) < 1e-12 and abs(a[2] - b[2]) < 1e-9 for a, b in zip(local, dask_rows, strict=True)
    )
    print(
        f"Dask sweep: {SWEEP} base-stock settings x {SWEEP_REPLICATIONS} replications of the same plan: "
        f"{t_run:.1f} s on a local cluster of 2 workers (+ {t_start:.1f} s to start it); in this process "
        f"(2 threads) {t_local:.1f} s; ratio {t_local / t_run:.2f}; identical numbers: {same}"
    )
    best = min((r for r in local if r[1] >= 0.95), key=lambda r: r[2], default=None)
    if best is not None:
        print(f"  (least stock with 95 % of batches on time: scale {best[0]:.3f}, {best[2]:.0f} units held)")
    return {"dask_s": t_run, "dask_start_s": t_start, "in_process_s": t_local, "identical": same}


def main(runs: int = 5) -> dict:
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    out = {"full_engine": full_engine(runs), "dask_sweep": dask_sweep()}
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return out


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
