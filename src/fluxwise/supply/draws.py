"""The random numbers of a supply simulation, drawn once per block of replications and reused.

All randomness of a replication is drawn here, before the simulation, from one generator per plan
(numpy's PCG64 seeded with the plan's ``seed``): replications are grouped in blocks of
:data:`BLOCK`, and block b draws from ``SeedSequence(seed, spawn_key=(b,))``. A replication's
numbers therefore depend on the seed and its index only — not on how many replications run, how
they are chunked or which executor runs them — and every policy, every candidate source and every
safety-stock level is simulated with the *same* numbers (common random numbers: differences
between options are not drowned in sampling noise).

Per block of n replications, T periods, I item streams and K lanes per item:

* ``u_lead[n, T, I, K]`` — one uniform per possible order (item, lane, period); an order's lead
  time is the source's inverse CDF at that uniform (:meth:`LeadTime.quantile_table`), so the same
  uniform gives the same quantile of every candidate source;
* ``demand[n, T, I]`` — independent demand per period (normal truncated at zero, or Poisson;
  zero for items taken only by batches);
* ``planned[n, T]`` — batches planned to start in each period;
* ``up[n, T, S]`` — whether each source can ship in each period: its own two-state chain and its
  upstream's (sources fed by one membrane plant fail together). A chain starts from its
  stationary distribution, P(up) = mtbf/(mtbf + mttr), and moves with P(up → down) = 1/mtbf,
  P(down → up) = 1/mttr per period (geometric spells with those means);
* ``fail_pos[n, I, F]`` — the positions, in an item's stream of integrity-tested units, of the
  units that fail (gaps geometric with the scrap rate): a batch that needs g good units takes
  units until g have passed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from .model import Outage, SupplyPlan

__all__ = ["BLOCK", "Draws", "draw_block", "outage_states", "NO_FAILURE", "block_seed"]

#: Replications per random block (fixed, so that results do not depend on chunking).
BLOCK = 250
#: Position used for "no more failures" in ``fail_pos``.
NO_FAILURE = np.iinfo(np.int32).max


@dataclass(frozen=True)
class Draws:
    """Random inputs of ``n`` replications (shapes in the module docstring)."""

    n: int
    u_lead: np.ndarray
    demand: np.ndarray
    planned: np.ndarray
    up: np.ndarray
    fail_pos: np.ndarray

    @staticmethod
    def concat(parts: list[Draws]) -> Draws:
        if len(parts) == 1:
            return parts[0]
        return Draws(
            n=sum(p.n for p in parts),
            u_lead=np.concatenate([p.u_lead for p in parts]),
            demand=np.concatenate([p.demand for p in parts]),
            planned=np.concatenate([p.planned for p in parts]),
            up=np.concatenate([p.up for p in parts]),
            fail_pos=np.concatenate([p.fail_pos for p in parts]),
        )


def block_seed(seed: int, block: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(int(block),))))


def outage_states(rng: np.random.Generator, outage: Outage, n: int, horizon: int) -> np.ndarray:
    """Up (1) / down (0) states ``[n, horizon]`` of a two-state supplier, started stationary."""
    u = rng.random((n, horizon))
    return _chain(u, outage.availability, 1.0 / outage.mtbf, 1.0 / outage.mttr)


@njit(cache=True, nogil=True)
def _chain(u, a, p_fail, p_rec):
    n, horizon = u.shape
    out = np.empty((n, horizon), dtype=np.uint8)
    for r in range(n):
        state = u[r, 0] < a
        out[r, 0] = state
        for t in range(1, horizon):
            state = (u[r, t] >= p_fail) if state else (u[r, t] < p_rec)
            out[r, t] = state
    return out


def _lanes(plan: SupplyPlan) -> int:
    return max(len(i.sources) + (1 if i.expedite else 0) for i in plan.items)


def _max_failures(plan: SupplyPlan) -> int:
    """Room for the failure positions of the most failure-prone item (mean + 8 sd + 16)."""
    b = plan.batches
    if b is None or not any(i.scrap_rate > 0 for i in plan.items):
        return 1
    batches = float(np.sum(b.expected_per_period(plan.horizon))) * 1.5 + 4 * plan.horizon**0.5 + 10
    worst = 1
    for i in plan.items:
        if i.scrap_rate > 0:
            tested = batches * (i.per_set + i.spares_per_batch) / (1 - i.scrap_rate)
            m = tested * i.scrap_rate
            worst = max(worst, int(m + 8 * np.sqrt(m + 1) + 16))
    return worst


def draw_block(plan: SupplyPlan, block: int, n: int | None = None) -> Draws:
    """The random inputs of block ``block`` (its first ``n`` replications; all :data:`BLOCK` by default).

    Drawing the whole block and keeping ``n`` keeps a replication's numbers the same whatever
    ``n`` is.
    """
    rng = block_seed(plan.seed, block)
    T, items = plan.horizon, plan.items
    nb = BLOCK
    n = nb if n is None else int(n)
    u_lead = rng.random((nb, T, len(items), _lanes(plan)), dtype=np.float32)[:n]
    demand = np.zeros((n, T, len(items)))
    for k, item in enumerate(items):
        if item.demand_mean <= 0 and item.demand_sd <= 0:
            continue
        if item.demand_dist == "poisson":
            d = rng.poisson(item.demand_mean, (nb, T)).astype(float)
        else:
            d = np.maximum(item.demand_mean + item.demand_sd * rng.standard_normal((nb, T)), 0.0)
            if item.whole_units:
                d = np.rint(d)
        demand[:, :, k] = d[:n]
    planned = np.zeros((n, T), dtype=np.int16)
    b = plan.batches
    if b is not None:
        if b.kind == "fixed":
            planned[:] = b.expected_per_period(T).astype(np.int16)
        elif b.kind == "poisson":
            planned[:] = rng.poisson(b.expected_per_period(T), (nb, T))[:n]
        else:
            cal = np.asarray(b.calendar, dtype=np.int64)
            slip = rng.random((nb, len(cal)))[:n] < b.slip_probability
            fail = rng.random((nb, len(cal)))[:n] < b.failure_probability
            when = cal[None, :] + np.where(slip, b.slip_periods, 0)
            shut = np.zeros(T + max(b.slip_periods, 0) + int(cal.max(initial=0)) + 2, dtype=bool)
            for w in b.shutdowns:
                shut[max(w.start, 0) : max(w.end, 0)] = True
            keep = ~fail & (when >= 0) & (when < T)
            keep &= ~shut[np.clip(when, 0, len(shut) - 1)]
            rows = np.broadcast_to(np.arange(n)[:, None], when.shape)
            np.add.at(planned, (rows[keep], when[keep]), 1)
    names = list(plan.sources)
    up = np.ones((n, T, max(len(names), 1)), dtype=np.uint8)
    upstream = {u: outage_states(rng, o, nb, T)[:n] for u, o in sorted(plan.upstreams.items())}
    for k, name in enumerate(names):
        src = plan.sources[name]
        if src.outage is not None:
            up[:, :, k] = outage_states(rng, src.outage, nb, T)[:n]
        if src.upstream is not None:
            up[:, :, k] &= upstream[src.upstream]
    F = _max_failures(plan)
    fail_pos = np.full((n, len(items), F), NO_FAILURE, dtype=np.int32)
    for k, item in enumerate(items):
        if item.scrap_rate > 0:
            gaps = rng.geometric(item.scrap_rate, (nb, F))[:n]
            fail_pos[:, k, :] = np.minimum(np.cumsum(gaps, axis=1) - 1, NO_FAILURE - 1)
    return Draws(n=n, u_lead=u_lead, demand=demand, planned=planned, up=up, fail_pos=fail_pos)
