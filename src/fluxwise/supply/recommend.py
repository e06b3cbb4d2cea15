r"""Policy numbers for a target service level: the normal approximation, then the simulation.

For each item and source, two numbers are given:

1. **The formula** (:func:`fluxwise.supply.formulas.base_stock_normal_approximation`): with μ and σ_D
   the mean and sd of the item's requirement per period (:func:`~fluxwise.supply.formulas.demand_per_period`,
   batches included) and L, σ_L the mean and sd of the effective lead time ⌈L + t_QC⌉ in periods,
   S = μ(L+1) + z·√((L+1)σ_D² + μ²σ_L²). It assumes normal demand, independent lead times and no
   disruption; it is where the search starts.
2. **The simulation**: the smallest whole number (base stock S, reorder point s or r, or the safety
   stock of a cover policy) whose simulated cycle service level meets the target — every candidate
   simulated with the *same* random numbers (:mod:`fluxwise.supply.draws`), so the level rises
   monotonically with the number and the search is a bracket-and-bisect on integers. Each item is
   simulated alone here (its batches wait only for it), with the plan's lead-time distributions,
   outages, windows, allocation, shelf life, MOQ and pack-size rounding — where the formula does not
   hold. The search simulates the first ``search_replications`` replications of the plan (2,000 by
   default), the same ones for every candidate.

For (s, S) and (r, Q) the target fixes s or r; S − s and Q are max(MOQ, EOQ) rounded up to the pack
size, EOQ = √(2KD/h) with K the order cost, D the mean requirement per period and h the holding
cost per unit and period (Harris 1913).

A target for the batch (``batch_service``: the share of batches that start on time, or the
probability of no delayed batch over the horizon) sets one common item target α so that the
*jointly* simulated figure meets it: α is bisected on log(1 − α) between the batch target and
1 − (1 − target)/(4n) (n items; for the horizon figure also divided by the batches planned, each of
which must start on time; moved ten times closer to 1, twice at most, while it still misses), each
step recommending every item for α and simulating the campaign with all of them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError
from . import formulas
from .engine import ItemRun, lane_lead_moments, simulate
from .model import Policy, SupplyPlan

__all__ = [
    "Recommendation",
    "normal_approximation",
    "order_quantity",
    "complete_policy",
    "recommend",
    "service_curve",
    "recommend_for_batch",
]

#: Largest search: the formula times this, plus the horizon's whole requirement.
_MAX_FACTOR = 50


@dataclass(frozen=True)
class Recommendation:
    """Both numbers for one item and source (units), and what the simulation achieves with them."""

    item: str
    source: str
    policy_type: str
    target_service: float
    mu: float
    sigma_d: float
    lead: float
    sigma_lead: float
    formula: float
    value: float
    achieved: float
    achieved_se: float
    policy: Policy
    safety_stock: float
    metric: str = "cycle_service_level"

    def to_dict(self) -> dict:
        return {
            "item": self.item,
            "source": self.source,
            "policy_type": self.policy_type,
            "target_service": self.target_service,
            "metric": self.metric,
            "base_stock_formula": self.formula,
            "base_stock": self.value,
            "safety_stock": self.safety_stock,
            "achieved_service": self.achieved,
            "achieved_service_se": self.achieved_se,
            "demand_mean_per_period": self.mu,
            "demand_sd_per_period": self.sigma_d,
            "lead_time_periods": self.lead,
            "lead_time_sd_periods": self.sigma_lead,
            "policy": self.policy.to_dict(),
        }


def normal_approximation(plan: SupplyPlan, run: ItemRun, target: float) -> dict:
    """μ, σ_D, L, σ_L and the formula's base stock S for a run (its first source)."""
    mu, sd = formulas.demand_per_period(run.item, plan.batches, plan.horizon)
    lead, sl = lane_lead_moments(plan, run.sources[0])
    return {
        "mu": mu,
        "sigma_d": sd,
        "lead": lead,
        "sigma_lead": sl,
        "S": formulas.base_stock_normal_approximation(mu, sd, lead, sl, target),
    }


def order_quantity(plan: SupplyPlan, run: ItemRun) -> float:
    """max(MOQ, EOQ) rounded up to the pack size of the run's first source (at least one pack)."""
    src = plan.sources[run.sources[0]]
    mu, _ = formulas.demand_per_period(run.item, plan.batches, plan.horizon)
    h = run.item.holding_rate * src.price_for(run.item)
    q = max(src.moq, formulas.eoq(src.order_cost, mu, h), 1.0)
    pack = max(src.pack_size, 1.0)
    return float(math.ceil(q / pack - 1e-9) * pack)


def _offset_policy(policy: Policy, value: float, q: float | None) -> Policy:
    """The policy with its searched number set to ``value`` (S, s with S = s + q, r with Q = q, or SS)."""
    if policy.type == "base-stock":
        return replace(policy, base_stock=value)
    if policy.type == "s-S":
        return replace(policy, s=value, S=value + q)
    if policy.type == "r-Q":
        return replace(policy, r=value, Q=q)
    return replace(policy, safety_stock=value, cover_periods=None)


def _start(plan: SupplyPlan, run: ItemRun, target: float, q: float | None) -> tuple[float, float, dict]:
    """(first guess, lowest allowed value, normal approximation) of the searched number."""
    na = normal_approximation(plan, run, target)
    S = na["S"]
    t = run.policy.type
    if t == "base-stock":
        return max(round(S), 0), 0.0, na
    if t in ("s-S", "r-Q"):
        return round(S - q / 2), -q, na
    exposure = na["mu"] * (na["lead"] + 1)
    return round(S - exposure), -round(exposure), na


def complete_policy(plan: SupplyPlan, run: ItemRun) -> ItemRun:
    """A run whose (s, S) spread or Q is filled in from max(MOQ, EOQ) when missing."""
    p = run.policy
    if p.type == "s-S" and p.S is None and p.s is not None:
        return replace(run, policy=replace(p, S=p.s + order_quantity(plan, run)))
    if p.type == "r-Q" and p.Q is None:
        return replace(run, policy=replace(p, Q=order_quantity(plan, run)))
    return run


def _spread(plan: SupplyPlan, run: ItemRun) -> float | None:
    p = run.policy
    if p.type == "s-S":
        return float(p.S - p.s) if (p.S is not None and p.s is not None) else order_quantity(plan, run)
    if p.type == "r-Q":
        return float(p.Q) if p.Q is not None else order_quantity(plan, run)
    return None


def _metric(sim, metric: str) -> tuple[np.ndarray, np.ndarray]:
    out, se = [], []
    for i in range(len(sim.runs)):
        s = sim.service(i)
        out.append(s[metric])
        se.append(s[metric + "_se"])
    return np.nan_to_num(np.asarray(out), nan=1.0), np.asarray(se)


def recommend(
    plan: SupplyPlan,
    runs: list[ItemRun],
    targets: list[float],
    *,
    replications: int | None = None,
    metric: str = "cycle_service_level",
    executor=None,
    progress=False,
) -> list[Recommendation]:
    """The smallest whole number meeting each run's target, each run simulated alone (see module doc)."""
    n = len(runs)
    if n == 0:
        return []
    R = int(replications or plan.search_replications)
    qs = [_spread(plan, r) for r in runs]
    starts = [_start(plan, r, t, q) for r, t, q in zip(runs, targets, qs, strict=True)]
    floor = np.array([s[1] for s in starts], dtype=float)
    guess = np.array([max(s[0], s[1]) for s in starts], dtype=float)
    total = np.array([float(np.sum(forecast_total(plan, r))) for r in runs])
    cap = np.maximum(np.abs(np.array([s[2]["S"] for s in starts])) * _MAX_FACTOR, 10.0) + total
    target = np.asarray(targets, dtype=float)
    lo = np.full(n, np.nan)  # highest value known to miss the target
    hi = np.full(n, np.nan)  # lowest value known to meet it
    ach = np.full(n, np.nan)
    ach_se = np.full(n, np.nan)
    cand = guess.copy()
    # the natural scale of a base stock: the sd of the demand over the protection interval
    step = np.maximum(np.ceil(np.array([s[2]["sigma_d"] * math.sqrt(s[2]["lead"] + 1) for s in starts])), 1.0)

    def evaluate(idx, values):
        sub = [
            replace(
                runs[k],
                policy=_offset_policy(runs[k].policy, float(v), qs[k]),
                group=k if runs[k].item.batch_driven else -1,
            )
            for k, v in zip(idx, values, strict=True)
        ]
        sim = simulate(plan, sub, replications=R, executor=executor, desc="recommend")
        return _metric(sim, metric)

    for _ in range(200):
        todo = [
            k
            for k in range(n)
            if not (np.isfinite(hi[k]) and (np.isfinite(lo[k]) and hi[k] - lo[k] <= 1 or hi[k] <= floor[k]))
        ]
        if not todo:
            break
        vals = []
        for k in todo:
            if np.isfinite(lo[k]) and np.isfinite(hi[k]):
                vals.append(math.floor((lo[k] + hi[k]) / 2))
            else:
                vals.append(cand[k])
        got, se = evaluate(todo, vals)
        for k, v, g_, s_ in zip(todo, vals, got, se, strict=True):
            if g_ >= target[k] - 1e-12:
                hi[k] = v
                ach[k], ach_se[k] = g_, s_
                if not np.isfinite(lo[k]):
                    cand[k] = max(v - step[k], floor[k])
                    step[k] *= 2
                    if v <= floor[k]:
                        lo[k] = floor[k] - 1
            else:
                lo[k] = v
                if not np.isfinite(hi[k]):
                    if v >= cap[k]:
                        raise InputError(
                            f"item '{runs[k].name}' from '{runs[k].sources[0]}' cannot reach a service "
                            f"level of {target[k]:g} with any stock up to {cap[k]:.0f} units "
                            f"(simulated: {g_:.3g}); "
                            "check the lead times, windows and allocation of its source",
                            field=f"items.{runs[k].name}.policy.target_service",
                        )
                    cand[k] = min(v + step[k], cap[k])
                    step[k] *= 2
    out = []
    for k, run in enumerate(runs):
        na = starts[k][2]
        value = float(hi[k])
        pol = _offset_policy(run.policy, value, qs[k])
        if run.policy.type == "base-stock":
            ss = value - na["mu"] * (na["lead"] + 1)
        elif run.policy.type == "cover":
            ss = value
        else:
            ss = value + (qs[k] + 1) / 2 - na["mu"] * (na["lead"] + 1)
        out.append(
            Recommendation(
                item=run.name,
                source=run.sources[0],
                policy_type=run.policy.type,
                target_service=float(target[k]),
                mu=na["mu"],
                sigma_d=na["sigma_d"],
                lead=na["lead"],
                sigma_lead=na["sigma_lead"],
                formula=_formula_value(run, na, qs[k]),
                value=value,
                achieved=float(ach[k]),
                achieved_se=float(ach_se[k]),
                policy=pol,
                safety_stock=float(ss),
                metric=metric,
            )
        )
    return out


def _formula_value(run: ItemRun, na: dict, q: float | None) -> float:
    """The formula's number in the policy's own terms (S, s, r or the cover's safety stock)."""
    t = run.policy.type
    if t == "base-stock":
        return float(na["S"])
    if t in ("s-S", "r-Q"):
        return float(na["S"] - q / 2)
    return float(na["S"] - na["mu"] * (na["lead"] + 1))


def forecast_total(plan: SupplyPlan, run: ItemRun) -> np.ndarray:
    from .engine import forecast

    return forecast(plan, run.item)[: plan.horizon]


def service_curve(
    plan: SupplyPlan,
    runs: list[ItemRun],
    centre: list[float],
    *,
    points: int = 9,
    replications: int = 1000,
    metric: str = "cycle_service_level",
    executor=None,
) -> list[dict]:
    """Simulated service level against the searched number around ``centre`` (every item alone, common
    random numbers): the service-level vs safety-stock curve of the report."""
    sub, where = [], []
    for k, (run, c) in enumerate(zip(runs, centre, strict=True)):
        q = _spread(plan, run)
        na = normal_approximation(plan, run, 0.5)
        width = max(3.0 * max(na["sigma_d"] * math.sqrt(na["lead"] + 1), 1.0), 4.0)
        lo_v = max(c - width, _start(plan, run, 0.5, q)[1])
        values = np.unique(np.round(np.linspace(lo_v, c + width / 2, points)))
        for v in values:
            sub.append(
                replace(
                    run,
                    policy=_offset_policy(run.policy, float(v), q),
                    group=len(sub) if run.item.batch_driven else -1,
                )
            )
            where.append((k, float(v), na))
    sim = simulate(
        plan, sub, replications=min(replications, plan.replications), executor=executor, desc="service curve"
    )
    got, se = _metric(sim, metric)
    curves = [
        {
            "item": r.name,
            "source": r.sources[0],
            "policy_type": r.policy.type,
            "values": [],
            "service": [],
            "service_se": [],
            "safety_stock": [],
        }
        for r in runs
    ]
    for (k, v, na), g_, s_ in zip(where, got, se, strict=True):
        c = curves[k]
        c["values"].append(v)
        c["service"].append(float(g_))
        c["service_se"].append(float(s_))
        t = runs[k].policy.type
        q = _spread(plan, runs[k])
        exposure = na["mu"] * (na["lead"] + 1)
        c["safety_stock"].append(
            v - exposure if t == "base-stock" else v if t == "cover" else v + (q + 1) / 2 - exposure
        )
    return curves


def recommend_for_batch(
    plan: SupplyPlan,
    runs: list[ItemRun],
    target: float,
    *,
    kind: str = "per-batch",
    replications: int | None = None,
    executor=None,
    iterations: int = 6,
    progress=False,
) -> tuple[list[Recommendation], float, dict]:
    """One common item target α whose recommendations make the joint batch figure meet ``target``.

    Returns (recommendations, α, campaign figures of the joint simulation with them).
    """
    batch_runs = [r for r in runs if r.item.batch_driven]
    n = max(len(batch_runs), 1)
    key = "batch_service" if kind == "per-batch" else "p_no_batch_delay"
    # log(1 − α): lo misses, hi meets. Over the horizon every planned batch must start on time, so
    # the items share the target's shortfall with the batches too.
    batches = 1.0
    if kind != "per-batch" and plan.batches is not None:
        batches = max(float(np.sum(plan.batches.expected_per_period(plan.horizon))), 1.0)
    lo_l, hi_l = math.log(1 - target), math.log((1 - target) / (4 * n * batches))
    best = None

    def attempt(alpha):
        recs = recommend(
            plan,
            batch_runs,
            [alpha] * len(batch_runs),
            replications=replications,
            metric="batch_availability",
            executor=executor,
        )
        pol = {r.item: r.policy for r in recs}
        joint = [
            replace(r, policy=pol.get(r.name, r.policy), group=0 if r.item.batch_driven else -1) for r in runs
        ]
        sim = simulate(
            plan,
            joint,
            replications=replications or plan.search_replications,
            executor=executor,
            desc="batch target",
        )
        return recs, sim.campaign(0)

    recs, camp = attempt(1 - math.exp(hi_l))
    for _ in range(2):  # correlated shortfalls (a closure, a shared upstream): aim ten times higher
        if camp.get(key, 0.0) >= target:
            break
        lo_l, hi_l = hi_l, hi_l - math.log(10.0)
        recs, camp = attempt(1 - math.exp(hi_l))
    if camp.get(key, 0.0) < target:
        raise InputError(
            f"the batch target {target:g} is not met even with every item at "
            f"{1 - math.exp(hi_l):.5g} (simulated {camp.get(key, 0.0):.4g}); lower the target or "
            "improve the supply",
            field="batch_service",
        )
    best = (recs, 1 - math.exp(hi_l), camp)
    for _ in range(iterations):
        mid = (lo_l + hi_l) / 2
        alpha = 1 - math.exp(mid)
        recs, camp = attempt(alpha)
        if camp.get(key, 0.0) >= target:
            hi_l, best = mid, (recs, alpha, camp)
        else:
            lo_l = mid
    return best
