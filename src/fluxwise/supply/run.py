"""The whole supply study of a plan: policies, the campaign simulated, recommendations, curves and the
local-vs-import comparison — one :class:`SupplyResult` whose :meth:`~SupplyResult.to_dict` is the JSON
of ``fluxwise supply --json`` (keys in ``docs/supply.md``).

Steps (each simulation with the plan's common random numbers, see :mod:`fluxwise.supply.draws`):

1. **Recommendations** for every item at its target (its own ``target_service``, else the plan's
   ``target_service``): the normal approximation and the smallest simulated whole number
   (:func:`fluxwise.supply.recommend.recommend`). Items whose policy lacks its numbers take the
   recommended ones; with a ``batch_service`` target the batch-driven items without numbers take
   those of :func:`~fluxwise.supply.recommend.recommend_for_batch` instead.
2. **The campaign**: all items together with their policies (a batch waits for every item), stock
   kept per period for the fan chart and the percentiles.
3. **Service curves**: each item's simulated service level against its safety stock.
4. **Source comparison**: for every candidate source, every item bought from it alone, its number
   recommended again for the comparison target, and the campaign simulated with all of them.

Money is in the plan's currency; purchases = units ordered and the starting stock at their landed
prices plus the order costs; holding cost = holding rate per period × unit price × units on
hand summed over the periods; working capital = mean stock × unit price; CO2e of an item = freight of
the units shipped (its sources' routes, from the factors file) + resin and end of life of the units
that expired (waste the supply choice causes; the CO2e of the units used is the train's own, see
``fluxwise design``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from . import kernel as K
from .engine import FAN_PERCENTILES, ItemRun, Simulation, default_runs, simulate
from .model import SupplyPlan
from .recommend import Recommendation, complete_policy, recommend, recommend_for_batch, service_curve

__all__ = ["SCHEMA", "SupplyResult", "run_supply", "item_figures"]

SCHEMA = "fluxwise.supply/1"


def _se(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else float("nan")


def item_figures(sim: Simulation, i: int) -> dict:
    """Every figure of run ``i`` of a simulation, with standard errors (money in the plan's currency)."""
    plan, run = sim.plan, sim.runs[i]
    item = run.item
    x = sim.item[:, i, :]
    per = np.maximum(x[:, K.S_PERIODS], 1)
    lanes = sim.lanes[i]
    price = plan.sources[run.sources[0]].price_for(item)
    units = sim.lane[:, i, : len(lanes), K.L_UNITS]
    orders = sim.lane[:, i, : len(lanes), K.L_ORDERS]
    lane_price = np.array([plan.sources[s].price_for(item) for s in lanes])
    lane_k = np.array([plan.sources[s].order_cost for s in lanes])
    lane_fr = np.array([plan.sources[s].freight_kg_co2e_per_kg for s in lanes])
    # the starting stock is bought too (else a bigger safety stock would look cheaper to run)
    start = float(sim.starting_stock[i]) if sim.starting_stock is not None else 0.0
    purchase = units @ lane_price + orders @ lane_k + start * price
    freight = units @ lane_fr * item.plastic_kg
    inv = x[:, K.S_ONHAND] / per
    expired = x[:, K.S_EXPIRED]
    exp_co2 = expired * item.co2e_kg_per_unit
    holding = item.holding_rate * price * x[:, K.S_ONHAND]
    co2 = _item_co2e(sim, i)
    out = {
        "name": run.name,
        "source": run.sources[0],
        "sources": list(run.sources),
        "rule": run.rule,
        "step": item.step,
        "description": item.description,
        "policy": run.policy.to_dict(),
    }
    out.update(sim.service(i))
    out.update(
        {
            "inventory_mean": float(inv.mean()),
            "inventory_mean_se": _se(inv),
            "backorders_mean": float((x[:, K.S_BACKLOG] / per).mean()),
            "holding_cost": float(holding.mean()),
            "holding_cost_se": _se(holding),
            "shortage_cost": float((item.shortage_cost * x[:, K.S_BACKLOG]).mean()),
            "working_capital": float(inv.mean() * price),
            "unit_price": price,
            "orders_mean": float(x[:, K.S_ORDERS].mean()),
            "ordered_units_mean": float(x[:, K.S_ORDERED].mean()),
            "received_units_mean": float(x[:, K.S_RECEIVED].mean()),
            "consumed_units_mean": float(x[:, K.S_CONSUMED].mean()),
            "scrapped_units_mean": float(x[:, K.S_SCRAPPED].mean()),
            "cut_units_mean": float(x[:, K.S_CUT].mean()),
            "expedited_units_mean": float(x[:, K.S_EXPEDITED].mean()),
            "expedited_orders_mean": float(x[:, K.S_EXP_ORDERS].mean()),
            "expired_units_mean": float(expired.mean()),
            "expired_units_mean_se": _se(expired),
            "expired_cost": float(expired.mean() * price),
            "expired_cost_se": _se(expired * price),
            "expired_plastic_kg": float(expired.mean() * item.plastic_kg),
            "expired_co2e_kg": float(exp_co2.mean()),
            "freight_co2e_kg": float(freight.mean()),
            "freight_co2e_kg_se": _se(freight),
            "co2e_kg": float(co2.mean()),
            "co2e_kg_se": _se(co2),
            "purchase_cost": float(purchase.mean()),
            "purchase_cost_se": _se(purchase),
            "end_stock_mean": float(x[:, K.S_END_ONHAND].mean()),
            "units_per_batch": item.usage_per_batch if item.batch_driven else 0.0,
        }
    )
    if sim.inventory is not None:
        out["inventory_p95"] = float(np.percentile(sim.inventory[:, plan.warmup :, i], 95))
    return out


def _item_co2e(sim: Simulation, i: int) -> np.ndarray:
    """Supply CO2e of run i per replication [kg]: freight of the units shipped + expired units."""
    plan, run = sim.plan, sim.runs[i]
    lanes = sim.lanes[i]
    fr = np.array([plan.sources[s].freight_kg_co2e_per_kg for s in lanes])
    units = sim.lane[:, i, : len(lanes), K.L_UNITS]
    return units @ fr * run.item.plastic_kg + sim.item[:, i, K.S_EXPIRED] * run.item.co2e_kg_per_unit


def _ratio_se(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    from .engine import _ratio

    return _ratio(num, den)


def campaign_figures(sim: Simulation) -> dict:
    plan = sim.plan
    c = sim.campaign(0)
    if not c:
        return {
            "batches_planned": 0.0,
            "batches_delayed_mean": 0.0,
            "batches_lost_mean": 0.0,
            "p_any_batch_delayed": 0.0,
            "p_no_batch_delay": 1.0,
        }
    years = (plan.horizon - plan.warmup) / plan.periods_per_year
    value = plan.batches.value if plan.batches else 0.0
    lost = sim.group[:, 0, K.G_LOST]
    c["batches_lost_per_year"] = c["batches_lost_mean"] / years
    c["batches_lost_per_year_se"] = c["batches_lost_mean_se"] / years
    c["batches_lost_value"] = float((lost * value).mean())
    c["batches_lost_value_se"] = _se(lost * value)
    c["batches_lost_value_per_year"] = c["batches_lost_value"] / years
    c["batch_value"] = value
    return c


@dataclass
class SupplyResult:
    """A plan's whole study (see the module docstring); ``to_dict`` is the JSON of ``fluxwise supply``."""

    plan: SupplyPlan
    simulation: Simulation
    items: list
    campaign: dict
    recommendations: list[Recommendation]
    curves: list
    comparison: list
    options: list
    fan: dict
    batch_alpha: float | None = None
    seconds: float = 0.0
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        p = self.plan
        return {
            "schema": SCHEMA,
            "plan": {
                "name": p.name,
                "source": p.source,
                "horizon_periods": p.horizon,
                "period": p.period_label,
                "period_h": p.period_h,
                "replications": self.simulation.replications,
                "seed": p.seed,
                "search_replications": p.search_replications,
                "warmup_periods": p.warmup,
                "currency": p.currency,
                "target_service": p.compare_target,
                "batch_service": p.batch_service,
                "batch_service_kind": p.batch_service_kind,
                "batch_service_item_target": self.batch_alpha,
            },
            "campaign": dict(self.campaign),
            "items": [dict(i) for i in self.items],
            "recommendations": [r.to_dict() for r in self.recommendations],
            "source_comparison": [dict(r) for r in self.comparison],
            "options": [dict(o) for o in self.options],
            "service_curves": [dict(c) for c in self.curves],
            "fan": self.fan,
            "assumptions": [dict(a) for a in p.assumptions],
            "sources": [_source_dict(s, p.period_label) for s in p.sources.values()],
            "notes": list(p.notes),
            "warnings": list(self.warnings),
        }


def _source_dict(s, period: str) -> dict:
    """A source as the report's assumptions table shows it (times in periods)."""
    return {
        "name": s.name,
        "label": s.label,
        "route": s.route,
        "lead_time": s.lead_time.to_dict(),
        "lead_time_text": s.lead_time.describe(period),
        "qc_release_periods": s.qc_release,
        "crossing": s.crossing,
        "windows": [[w.start, w.end] for w in s.windows],
        "outage": (
            None
            if s.outage is None
            else {
                "mtbf_periods": s.outage.mtbf,
                "mttr_periods": s.outage.mttr,
                "availability": s.outage.availability,
            }
        ),
        "upstream": s.upstream,
        "allocation": (
            None
            if s.allocation is None
            else {"fraction": s.allocation.fraction, "start": s.allocation.start, "end": s.allocation.end}
        ),
        "moq": s.moq,
        "pack_size": s.pack_size,
        "order_cost": s.order_cost,
        "remaining_shelf_life_periods": s.remaining_shelf_life,
        "qualified": s.qualified,
        "qualification_time_periods": s.qualification_time,
        "freight_kg_co2e_per_kg_plastic": s.freight_kg_co2e_per_kg,
        "freight_cost_per_kg_plastic": s.freight_cost_per_kg,
    }


def _fan(sim: Simulation) -> dict:
    inv = sim.inventory
    out = {"percentiles": list(FAN_PERCENTILES), "periods": list(range(sim.plan.horizon)), "items": {}}
    if inv is None:
        return out
    q = np.percentile(inv, FAN_PERCENTILES, axis=0)  # [P, T, I]
    mean = inv.mean(axis=0)
    for i, run in enumerate(sim.runs):
        d = {f"p{p}": np.round(q[k, :, i], 3).tolist() for k, p in enumerate(FAN_PERCENTILES)}
        d["mean"] = np.round(mean[:, i], 3).tolist()
        out["items"][run.name] = d
    return out


def _targets(plan: SupplyPlan, runs: list[ItemRun]) -> list[float]:
    return [
        r.policy.target_service if r.policy.target_service is not None else plan.compare_target for r in runs
    ]


def run_supply(
    plan: SupplyPlan, *, executor=None, progress=None, curves: bool = True, compare: bool = True
) -> SupplyResult:
    """Run the study of ``plan`` (see the module docstring). ``progress(stage, done, total)`` is called
    between stages when given."""
    t0 = time.perf_counter()
    stages = 2 + int(curves) + (len(plan.compare_sources) if compare else 0)
    done = 0

    def step(name):
        nonlocal done
        if progress is not None:
            progress(name, done, stages)
        done += 1

    warnings = []
    runs = [complete_policy(plan, r) for r in default_runs(plan)]
    step("recommendations")
    recs = recommend(plan, runs, _targets(plan, runs), executor=executor)
    by_item = {r.item: r for r in recs}
    alpha = None
    policies = {}
    if plan.batch_service is not None:
        open_batch = [r for r in runs if r.item.batch_driven and not r.policy.complete]
        if open_batch:
            brecs, alpha, _ = recommend_for_batch(
                plan, runs, plan.batch_service, kind=plan.batch_service_kind, executor=executor
            )
            for br in brecs:
                if br.item in {r.name for r in open_batch}:
                    policies[br.item] = br.policy
                    by_item[br.item] = br
            recs = [by_item[r.item] for r in recs]
    for r in runs:
        if not r.policy.complete:
            policies.setdefault(r.name, by_item[r.name].policy)
    final = [replace(r, policy=policies.get(r.name, r.policy)) for r in runs]
    step("campaign")
    sim = simulate(plan, final, keep_inventory=True, executor=executor)
    items = [item_figures(sim, i) for i in range(len(final))]
    for it, r in zip(items, final, strict=True):
        rec = by_item.get(r.name)
        if rec is not None:
            it["safety_stock"] = _safety_stock(r, rec)
    camp = campaign_figures(sim)
    curve_list = []
    if curves:
        step("service curves")
        centre = [by_item[r.name].value for r in runs]
        curve_list = service_curve(
            plan, [replace(r, policy=by_item[r.name].policy) for r in runs], centre, executor=executor
        )
    comparison, options = [], []
    if compare:
        for src in plan.compare_sources:
            step(f"source {src}")
            rows, opt = _compare_source(plan, runs, src, executor)
            comparison.extend(rows)
            options.append(opt)
    for it in items:
        if it.get("expired_units_mean", 0) > 0.05 * max(it.get("consumed_units_mean", 0), 1e-9):
            warnings.append(
                f"{it['name']}: {it['expired_units_mean']:.3g} units expire on average "
                f"({it['expired_cost']:.4g} {plan.currency}); a shorter cover or fresher stock helps"
            )
    if camp.get("p_any_batch_delayed", 0) > 0.5:
        warnings.append(
            f"a batch is delayed or lost in {camp['p_any_batch_delayed']:.0%} of the simulated campaigns"
        )
    return SupplyResult(
        plan=plan,
        simulation=sim,
        items=items,
        campaign=camp,
        recommendations=recs,
        curves=curve_list,
        comparison=comparison,
        options=options,
        fan=_fan(sim),
        batch_alpha=alpha,
        seconds=time.perf_counter() - t0,
        warnings=warnings,
    )


def _safety_stock(run: ItemRun, rec: Recommendation) -> float:
    """Stock above the expected requirement of the protection interval for the policy in use."""
    p = run.policy
    exposure = rec.mu * (rec.lead + 1)
    if p.type == "base-stock" and p.base_stock is not None:
        return float(p.base_stock - exposure)
    if p.type == "s-S" and p.s is not None:
        return float(p.s + (p.S - p.s + 1) / 2 - exposure)
    if p.type == "r-Q" and p.r is not None:
        return float(p.r + (p.Q + 1) / 2 - exposure)
    if p.type == "cover":
        if p.safety_stock is not None:
            return float(p.safety_stock)
        return float(rec.mu * (p.cover_periods or 0) - exposure)
    return rec.safety_stock


def _compare_source(plan: SupplyPlan, runs: list[ItemRun], src: str, executor) -> tuple[list, dict]:
    """Every item bought from ``src`` alone, recommended for the comparison target, the campaign simulated."""
    alt = []
    for r in runs:
        pol = r.policy
        if pol.type == "cover":
            pol = replace(pol, cover_periods=None)
        alt.append(complete_policy(plan, replace(r, sources=(src,), rule="single", split=(), policy=pol)))
    recs = recommend(plan, alt, [plan.compare_target] * len(alt), executor=executor)
    final = [replace(r, policy=rec.policy) for r, rec in zip(alt, recs, strict=True)]
    sim = simulate(
        plan, final, replications=plan.search_replications, executor=executor, desc=f"source {src}"
    )
    camp = campaign_figures(sim)
    started = max(camp.get("batches_started_mean", 0.0), 1e-9)
    rows = []
    totals = {
        "safety_stock_units": 0.0,
        "working_capital": 0.0,
        "expired_units": 0.0,
        "expired_cost": 0.0,
        "co2e_kg": 0.0,
        "freight_co2e_kg": 0.0,
        "purchase_cost": 0.0,
        "holding_cost": 0.0,
    }
    started_r = sim.group[:, 0, K.G_STARTED] if sim.group.shape[1] else np.zeros(sim.replications)
    for i, (r, rec) in enumerate(zip(final, recs, strict=True)):
        f = item_figures(sim, i)
        co2_r = _item_co2e(sim, i)
        per_batch, per_batch_se = _ratio_se(co2_r, started_r) if started_r.sum() > 0 else (0.0, 0.0)
        row = {
            "item": r.name,
            "source": src,
            "policy": r.policy.to_dict(),
            "base_stock": rec.value,
            "base_stock_formula": rec.formula,
            "safety_stock": rec.safety_stock,
            "achieved_service": rec.achieved,
            "achieved_service_se": rec.achieved_se,
            "lead_time_periods": rec.lead,
            "inventory_mean": f["inventory_mean"],
            "inventory_mean_se": f["inventory_mean_se"],
            "working_capital": f["working_capital"],
            "batches_lost_mean": camp.get("batches_lost_mean", 0.0),
            "batches_lost_mean_se": camp.get("batches_lost_mean_se", 0.0),
            "expired_units_mean": f["expired_units_mean"],
            "expired_cost": f["expired_cost"],
            "expired_units_mean_se": f["expired_units_mean_se"],
            "co2e_kg": f["co2e_kg"],
            "co2e_kg_per_batch": per_batch,
            "co2e_kg_per_batch_se": per_batch_se,
            "purchase_cost": f["purchase_cost"],
            "holding_cost": f["holding_cost"],
            "cycle_service_level": f["cycle_service_level"],
            "fill_rate": f["fill_rate"],
        }
        rows.append(row)
        totals["safety_stock_units"] += rec.safety_stock
        for k_out, k_in in (
            ("working_capital", "working_capital"),
            ("expired_units", "expired_units_mean"),
            ("expired_cost", "expired_cost"),
            ("co2e_kg", "co2e_kg"),
            ("freight_co2e_kg", "freight_co2e_kg"),
            ("purchase_cost", "purchase_cost"),
            ("holding_cost", "holding_cost"),
        ):
            totals[k_out] += f[k_in]
    s = plan.sources[src]
    opt = {
        "source": src,
        "label": s.label or src,
        "route": s.route,
        "lead_time": s.lead_time.to_dict(),
        "target_service": plan.compare_target,
        **totals,
        "co2e_kg_per_batch": totals["co2e_kg"] / started,
        "batches_lost_mean": camp.get("batches_lost_mean", 0.0),
        "batches_lost_mean_se": camp.get("batches_lost_mean_se", 0.0),
        "batches_lost_per_year": camp.get("batches_lost_per_year", 0.0),
        "batches_lost_per_year_se": camp.get("batches_lost_per_year_se", 0.0),
        "batches_lost_value_per_year": camp.get("batches_lost_value_per_year", 0.0),
        "batches_delayed_mean": camp.get("batches_delayed_mean", 0.0),
        "p_any_batch_delayed": camp.get("p_any_batch_delayed", 0.0),
        "batch_service": camp.get("batch_service", float("nan")),
    }
    return rows, opt
