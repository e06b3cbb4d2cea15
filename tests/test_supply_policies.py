"""Supply plans: lead-time distributions, batch schedules, order rounding, the recommendations of
(s, S) and (r, Q) policies, a target for the batch, and what expired stock costs.

Expected numbers are closed forms (moments of the distributions, the EOQ of Harris 1913, the
expectation of a slipped and cancelled calendar) or hand derivations written in each test.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
from scipy import stats

from fluxwise.io.supply import parse_plan
from fluxwise.supply import kernel as K
from fluxwise.supply.draws import draw_block
from fluxwise.supply.engine import default_runs, simulate
from fluxwise.supply.model import LeadTime
from fluxwise.supply.run import run_supply


def parse(text, **kw):
    import yaml

    return parse_plan(yaml.safe_load(textwrap.dedent(text)), source="plan.yaml", **kw)


# ------------------------------------------------------------------------------------- lead times


@pytest.mark.parametrize("kind", ["normal", "gamma", "lognormal"])
def test_lead_time_tables_have_the_distributions_moments(kind):
    """Mean 8, sd 2 periods: the table of 4,096 equal-probability quantiles has the mean and sd of the
    distribution (the cut tails cost under 1 % of the sd) and its median is the distribution's."""
    lt = LeadTime(kind, 8.0, 2.0)
    table = lt.quantile_table()
    assert table.mean() == pytest.approx(8.0, rel=1e-3)
    assert table.std() == pytest.approx(2.0, rel=1e-2)
    median = {
        "normal": 8.0,
        "gamma": stats.gamma.ppf(0.5, 16.0, scale=0.5),  # shape (8/2)², scale 2²/8
        "lognormal": math.exp(math.log(8.0) - math.log1p(1 / 16) / 2),  # e^μ, σ² = ln(1 + cv²)
    }[kind]
    assert np.median(table) == pytest.approx(median, rel=1e-3)


def test_lead_times_as_a_planner_writes_them():
    """``cv`` is sd/mean, units convert (56 days = 8 weeks), a list is the supplier's record resampled
    with equal weights, a single quantity is constant."""
    plan = parse("""
        horizon: 20 weeks
        sources:
          g: {lead_time: {distribution: gamma, mean: 8 weeks, cv: 0.25}}
          d: {lead_time: {distribution: lognormal, mean: 56 days, sd: 14 days}}
          e: {lead_time: [9 weeks, 11 weeks, 10 weeks, 9 weeks]}
          c: {lead_time: 3 weeks}
        items:
          x: {source: g, demand_per_period: {mean: 1, sd: 0}}
        """)
    g, d, e, c = (plan.sources[k].lead_time for k in "gdec")
    assert (g.kind, g.mean, g.sd) == ("gamma", pytest.approx(8.0), pytest.approx(2.0))
    assert (d.kind, d.mean, d.sd) == ("lognormal", pytest.approx(8.0), pytest.approx(2.0))
    assert e.kind == "empirical" and e.mean == pytest.approx(9.75)
    np.testing.assert_allclose(e.quantile_table(), [9.0, 9.0, 10.0, 11.0])  # each observation once
    assert c.kind == "constant" or c.sd == 0
    assert c.mean == pytest.approx(3.0)


def test_empirical_lead_times_arrive_only_at_the_observed_delays():
    """Orders may overtake (``crossing: true``): one order of 5 a week, each received exactly 2 or 5
    weeks after it was placed — never in between — and about half of each."""
    plan = parse("""
        horizon: 60 weeks
        replications: 50
        sources: {e: {lead_time: [2 weeks, 5 weeks], crossing: true}}
        items:
          x: {source: e, demand_per_period: {mean: 5, sd: 0}, policy: {type: base-stock, base_stock: 40}}
        """)
    sim = simulate(plan, trace=True)
    receipts = sim.receipts[:, :, 0]  # units received per period: 5 per order that lands then
    assert np.all(receipts % 5 == 0)
    # from week 6 on, what lands in week t was ordered in week t−2 or t−5 (each order is 5 units)
    assert receipts[:, 6:].max() <= 10
    assert 0.4 < (receipts[:, 6:-5] == 10).mean() + (receipts[:, 6:-5] == 0).mean() < 0.7


# ------------------------------------------------------------------------------------- batch starts


def test_fixed_and_poisson_batch_starts():
    """1.5 a week: fixed gives ⌊1.5(t+1)⌋ − ⌊1.5t⌋ = 1, 2, 1, 2, …; Poisson has mean and variance 1.5."""
    text = """
        horizon: 52 weeks
        replications: 250
        batches: {per_week: 1.5%s}
        sources: {a: {lead_time: 1 week}}
        items:
          x: {source: a, per_batch: 1}
        """
    fixed = draw_block(parse(text % ""), 0).planned
    assert fixed[0, :6].tolist() == [1, 2, 1, 2, 1, 2] and np.all(fixed == fixed[0])
    poisson = draw_block(parse(text % ", schedule: poisson"), 0).planned.astype(float)
    n = poisson.size
    assert abs(poisson.mean() - 1.5) < 4 * math.sqrt(1.5 / n)
    assert poisson.var() == pytest.approx(1.5, rel=0.05)


def test_a_calendar_with_slips_cancellations_and_a_shutdown():
    """40 weekly batches from week 0; each slips by a week with probability 0.3 and is cancelled with
    probability 0.1. Expected starts: week 0 0.9·0.7 = 0.63, weeks 1..39 0.9·0.7 + 0.9·0.3 = 0.9, week
    40 0.9·0.3 = 0.27. With a shutdown in weeks 20..23 no batch starts there."""
    text = """
        horizon: 52 weeks
        replications: 250
        batches:
          calendar: {start: 0 weeks, every: 1 week, count: 40}
          slip: {probability: 0.3, by: 1 week}
          failure_probability: 0.1%s
        sources: {a: {lead_time: 1 week}}
        items:
          x: {source: a, per_batch: 1}
        """
    planned = np.concatenate([draw_block(parse(text % ""), b).planned for b in range(4)]).astype(float)
    on, late = 0.9 * 0.7, 0.9 * 0.3  # a batch starts on its week / a week late
    expected, var = np.zeros(52), np.zeros(52)
    expected[0:40] += on
    expected[1:41] += late
    var[0:40] += on * (1 - on)
    var[1:41] += late * (1 - late)
    assert expected[0] == pytest.approx(0.63) and expected[20] == pytest.approx(0.9)
    se = np.sqrt(var / planned.shape[0])
    assert np.all(np.abs(planned.mean(axis=0) - expected) <= 4 * se + 1e-12)
    shut = parse(text % "\n          shutdowns: [{start: 20 weeks, duration: 4 weeks}]")
    p = draw_block(shut, 0).planned
    assert p[:, 20:24].sum() == 0 and p[:, 10:20].sum() > 0 and p[:, 24:40].sum() > 0


# ------------------------------------------------------------------------------------- order sizes


def test_base_stock_orders_are_whole_packs_above_the_moq():
    """Base stock, MOQ 24, packs of 12: every order is a multiple of 12 and at least 24 units — 24 when
    a week's demand (10 ± 3) is below the MOQ, more when it is above it (30 ± 8)."""
    plan = parse("""
        horizon: 52 weeks
        replications: 20
        sources: {a: {lead_time: {distribution: gamma, mean: 2 weeks, sd: 0.5 weeks}, moq: 24, pack_size: 12}}
        items:
          x: {source: a, demand_per_period: {mean: 10, sd: 3}, policy: {type: base-stock, base_stock: 60}}
          y: {source: a, demand_per_period: {mean: 30, sd: 8}, policy: {type: base-stock, base_stock: 150}}
        """)
    sim = simulate(plan)
    units, orders = sim.lane[:, :, 0, K.L_UNITS], sim.lane[:, :, 0, K.L_ORDERS]
    assert np.all(orders > 0) and np.all(units % 12 == 0) and np.all(units >= 24 * orders)
    assert np.all(units[:, 0] == 24 * orders[:, 0])  # small demand: MOQ orders
    assert np.all(units[:, 1] / orders[:, 1] > 24)  # some orders bigger than the MOQ, in whole packs


SQ = """
horizon: 52 weeks
replications: 2000
search_replications: 2000
seed: 5
sources:
  a: {lead_time: {distribution: gamma, mean: 3 weeks, sd: 1 week}, unit_price: 500, order_cost: 400,
      moq: %s, pack_size: 12}
items:
  x: {source: a, demand_per_period: {mean: 20, sd: 6}, holding_rate: 0.26,
      policy: {type: %s, target_service: 0.9}}
"""


@pytest.mark.parametrize("policy", ["s-S", "r-Q"])
@pytest.mark.parametrize("moq,expected_q", [(50, 84), (100, 108)])
def test_s_S_and_r_Q_recommendations(policy, moq, expected_q):
    """The target fixes s (or r); S − s (or Q) is max(MOQ, EOQ) rounded up to the pack size. By hand:
    h = 0.26/year × 500 × 168 h / 8,766 h = 2.4914 per unit and week, D = 20 a week, K = 400:
    EOQ = √(2·400·20/2.4914) = 80.14 → with MOQ 50, 7 packs of 12 = 84; with MOQ 100, 9 packs = 108.
    The recommended s meets the target and s − 1 does not, on the same random numbers."""
    h = 0.26 * 500 * 168 / 8766
    assert math.sqrt(2 * 400 * 20 / h) == pytest.approx(80.14, abs=0.01)
    plan = parse(SQ % (moq, policy))
    res = run_supply(plan, curves=False, compare=False)
    (rec,) = res.recommendations
    pol = rec.policy
    q = pol.S - pol.s if policy == "s-S" else pol.Q
    assert q == expected_q
    number = pol.s if policy == "s-S" else pol.r
    assert rec.value == number and rec.achieved >= 0.9
    from dataclasses import replace

    run = default_runs(plan)[0]
    lower = replace(pol, s=number - 1, S=pol.S - 1) if policy == "s-S" else replace(pol, r=number - 1)
    sims = simulate(plan, [replace(run, policy=pol), replace(run, policy=lower)])
    assert sims.service(0)["cycle_service_level"] == pytest.approx(rec.achieved)
    assert sims.service(1)["cycle_service_level"] < 0.9
    assert math.isfinite(rec.formula)  # the formula's number is said beside the simulated one


# ------------------------------------------------------------------------------------- batch target

BATCH = """
horizon: 40 weeks
replications: 400
search_replications: 400
seed: 9
batches: {per_week: 1, max_batch_delay: 1 week}
batch_service: %s
batch_service_kind: %s
sources:
  sea: {lead_time: {distribution: gamma, mean: 6 weeks, sd: 2 weeks}}
  air: {lead_time: {distribution: lognormal, mean: 2 weeks, sd: 1 week}}
items:
  capsule: {source: sea, per_batch: 2}
  cartridge: {source: sea, per_batch: 1}
  filter: {source: air, per_batch: 3}
"""


@pytest.mark.parametrize("kind,target,key", [("per-batch", 0.95, "batch_service"),
                                             ("horizon", 0.8, "p_no_batch_delay")])
def test_a_batch_target_is_met_by_the_joint_simulation(kind, target, key):
    """Three items every batch needs: the common item target α is above the batch target (each item
    at the batch target alone would not make it), and the campaign simulated with all three together
    meets it."""
    res = run_supply(parse(BATCH % (target, kind)), curves=False, compare=False)
    assert res.campaign[key] >= target
    assert res.batch_alpha > target
    for it in res.items:
        assert it["batch_availability"] >= res.batch_alpha - 1e-12
    d = res.to_dict()
    assert d["plan"]["batch_service"] == target and d["plan"]["batch_service_item_target"] == res.batch_alpha


# ------------------------------------------------------------------------------------- expired stock


def test_expired_stock_is_counted_with_its_cost_plastic_and_co2e():
    """Units arrive with 10 of their 20 weeks left and 4 are needed at use: stock older than 6 weeks
    is written off. What expires costs its landed price, its plastic and its CO2e per unit."""
    plan = parse("""
        horizon: 60 weeks
        replications: 4
        batches: {per_week: 1}
        sources: {a: {lead_time: 1 week, unit_price: 800, remaining_shelf_life_at_receipt: 10 weeks,
                      route: europe-korea-sea}}
        items:
          x: {source: a, per_batch: 2, shelf_life: 20 weeks, min_shelf_life_at_use: 4 weeks,
              plastic_kg: 1.5, co2e_kg_per_unit: 12, policy: {type: base-stock, base_stock: 30}}
        """)
    res = run_supply(plan, curves=False, compare=False)
    (it,) = res.items
    n = it["expired_units_mean"]
    assert n > 0
    assert it["expired_cost"] == pytest.approx(n * 800)
    assert it["expired_plastic_kg"] == pytest.approx(n * 1.5)
    assert it["expired_co2e_kg"] == pytest.approx(n * 12)
    # freight: every unit shipped × the route's kg CO2e per kg of plastic × the unit's plastic
    shipped = it["ordered_units_mean"] - it["cut_units_mean"]
    assert it["freight_co2e_kg"] == pytest.approx(shipped * plan.sources["a"].freight_kg_co2e_per_kg * 1.5)
    assert it["freight_co2e_kg"] > 0
    assert it["co2e_kg"] == pytest.approx(it["freight_co2e_kg"] + it["expired_co2e_kg"])


# ------------------------------------------------------------------------------------- route data


def test_every_route_has_lead_times_with_their_sources():
    """factors.yaml: each route carries a normal and a 2020-2022-like lead time, each with its source;
    the disrupted one is longer, air is faster than sea, and a plan naming a route gets them."""
    from fluxwise.io.supply import route_defaults

    routes = route_defaults(None)
    assert {"local", "regional-asia", "europe-korea-sea", "europe-korea-air"} <= set(routes)
    plans = {}
    for rid, r in routes.items():
        for key in ("lead_time", "lead_time_disrupted"):
            lt = r[key]
            assert lt["distribution"] in ("normal", "gamma", "lognormal") and lt["source"].strip(), (rid, key)
        plans[rid] = parse(f"""
            horizon: 20 weeks
            sources:
              now: {{route: {rid}}}
              then: {{route: {rid}, lead_time: disrupted}}
            items:
              x: {{source: now, demand_per_period: {{mean: 1, sd: 0}}}}
            """)
        now, then = plans[rid].sources["now"].lead_time, plans[rid].sources["then"].lead_time
        assert then.mean > now.mean > 0 and now.source == r["lead_time"]["source"]
        assert r["freight_cost_per_kg"]["source"].strip()
    sea = plans["europe-korea-sea"].sources["now"].lead_time.mean
    air = plans["europe-korea-air"].sources["now"].lead_time.mean
    assert air < sea and plans["local"].sources["now"].lead_time.mean < sea


# ------------------------------------------------------------------------------------- the Python door


def test_the_python_function_and_its_progress(tmp_path):
    """``fluxwise.supply_study`` reads and runs a plan file; its JSON is the command's, and the progress
    callback is told every stage in order."""
    import json

    from click.testing import CliRunner

    import fluxwise
    from fluxwise.cli import main

    plan = tmp_path / "plan.yaml"
    plan.write_text(textwrap.dedent(BATCH % (0.9, "per-batch")) + "compare: {sources: [sea, air]}\n")
    seen = []
    res = fluxwise.supply_study(plan, replications=300, progress=lambda *a: seen.append(a))
    stages = [s for s, _, _ in seen]
    assert stages == ["recommendations", "campaign", "service curves", "source sea", "source air"]
    assert [d for _, d, _ in seen] == list(range(5)) and {t for _, _, t in seen} == {5}
    out = CliRunner().invoke(main, ["supply", str(plan), "--replications", "300", "--json"])
    assert out.exit_code == 0, out.output
    cli = json.loads(out.output)
    d = json.loads(json.dumps(res.to_dict()))
    for k in ("plan", "campaign", "items", "recommendations", "source_comparison"):
        assert d[k] == cli[k], k
