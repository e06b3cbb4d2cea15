"""Supply plans as a planner writes them: the reader, the command line, its JSON, the report, bad plans.

Expected numbers are hand derivations written in each test (deterministic demand and lead times make
the stock path exact) or the train's own design (what ``fluxwise design`` says a batch consumes).
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fluxwise.cli import main
from fluxwise.errors import InputError
from fluxwise.io.supply import parse_plan, read_plan
from fluxwise.supply import kernel as K
from fluxwise.supply.draws import draw_block
from fluxwise.supply.engine import default_runs, simulate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PLAN = EXAMPLES / "supply_2000L_mab.yaml"

SMALL = """
name: two capsules
horizon: 30 weeks
replications: 200
seed: 3
target_service: 0.9
batch_value: 1000000
batches: {per_week: 1, max_batch_delay: 1 week}
sources:
  sea: {lead_time: {distribution: gamma, mean: 4 weeks, sd: 1 week}, route: europe-korea-sea, order_cost: 100}
  local: {route: local}
items:
  capsule:
    source: sea
    per_batch: 2
    unit_price: 1000
    plastic_kg: 2
    policy: {type: base-stock, base_stock: 14}
  cassette:
    source: local
    per_batch: 4
    reuses: 5
    unit_price: 3000
    policy: base-stock
compare: {sources: [local, sea]}
"""


def run(*args):
    return CliRunner().invoke(main, list(args))


def write(tmp_path, text, name="plan.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def parse(text, **kw):
    import yaml

    return parse_plan(yaml.safe_load(textwrap.dedent(text)), source="plan.yaml", **kw)


def test_the_example_takes_its_consumables_from_the_train():
    plan = read_plan(PLAN, replications=10)
    r = run("design", str(EXAMPLES / "train_2000L_mab.yaml"), "--json")
    design = json.loads(r.output)
    counts = {c["step"]: c["count"] for c in design["consumables"]}
    items = {i.name: i for i in plan.items}
    assert set(items) == set(counts)
    for name, count in counts.items():
        assert items[name].per_set == count
    assert items["UF/DF to formulation"].reuses == 1  # single_use: true in the train
    assert items["Harvest clarification"].spares_per_batch == 1
    assert plan.batches.per_period == 1.5 and plan.horizon == 104
    assert (
        plan.sources["import-sea"].windows[0].start == 30 and plan.sources["import-sea"].windows[0].end == 42
    )
    # freight per kg of device plastic over Europe -> Korea by sea, by hand from factors.yaml:
    # 1.5 kg shipped per kg plastic x (800 km road x 0.08825 + 20,000 km sea x 0.01266) kg CO2e/(t km) / 1000
    by_hand = 1.5 * (800 * 0.08825 + 20000 * 0.01266) / 1000
    assert plan.sources["import-sea"].freight_kg_co2e_per_kg == pytest.approx(by_hand, rel=1e-12)
    # the route's default lead time (factors.yaml): gamma, mean 10 weeks, sd 2.5 weeks
    lt = plan.sources["import-sea"].lead_time
    assert (lt.kind, lt.mean, lt.sd) == ("gamma", pytest.approx(10.0), pytest.approx(2.5))
    assert "planning assumption" in lt.source
    # against a local source (and the others), each sized for the same target
    assert {"local", "import-sea"} <= set(plan.compare_sources)


def test_units_convert_through_the_registry():
    plan = parse(
        SMALL.replace("horizon: 30 weeks", "horizon: 210 days").replace("mean: 4 weeks", "mean: 28 d")
    )
    assert plan.horizon == 30
    assert plan.sources["sea"].lead_time.mean == pytest.approx(4.0)
    daily = parse(SMALL.replace("horizon: 30 weeks", "horizon: 30 weeks\nperiod: 1 day"))
    assert daily.horizon == 210 and daily.batches.per_period == pytest.approx(1 / 7)
    assert daily.items[0].holding_rate == pytest.approx(0.2 * 24 / 8766)


def test_cli_json_has_the_documented_keys_with_standard_errors(tmp_path):
    plan = write(tmp_path, SMALL)
    r = run("supply", str(plan), "--json", "--replications", "300", "--seed", "5")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert {"horizon_periods", "period", "replications", "seed"} <= set(d["plan"])
    assert d["plan"]["replications"] == 300 and d["plan"]["seed"] == 5 and d["plan"]["horizon_periods"] == 30
    assert {
        "batches_planned",
        "batches_delayed_mean",
        "batches_lost_mean",
        "p_any_batch_delayed",
        "batches_delayed_mean_se",
        "batches_lost_mean_se",
        "p_any_batch_delayed_se",
        "p_no_batch_delay",
        "batches_lost_value",
    } <= set(d["campaign"])
    for it in d["items"]:
        assert {
            "name",
            "source",
            "policy",
            "fill_rate",
            "cycle_service_level",
            "p_stockout",
            "stockout_periods_mean",
            "inventory_mean",
            "expired_units_mean",
            "holding_cost",
            "co2e_kg",
            "fill_rate_se",
            "cycle_service_level_se",
            "p_stockout_se",
            "stockout_periods_mean_se",
            "inventory_mean_se",
            "expired_units_mean_se",
            "holding_cost_se",
            "co2e_kg_se",
            "safety_stock",
            "working_capital",
        } <= set(it)
        assert it["policy"]["type"] == "base-stock" and "base_stock" in it["policy"]
    capsule = next(i for i in d["items"] if i["name"] == "capsule")
    assert capsule["policy"]["base_stock"] == 14  # given in the plan, kept
    for rec in d["recommendations"]:
        assert {
            "item",
            "source",
            "target_service",
            "base_stock_formula",
            "base_stock",
            "achieved_service",
            "achieved_service_se",
        } <= set(rec)
        assert rec["achieved_service"] >= rec["target_service"]
    rows = d["source_comparison"]
    assert {(r["item"], r["source"]) for r in rows} == {
        (i, s) for i in ("capsule", "cassette") for s in ("local", "sea")
    }
    for row in rows:
        assert {
            "item",
            "source",
            "base_stock",
            "inventory_mean",
            "batches_lost_mean",
            "co2e_kg_per_batch",
        } <= set(row)
    # a cassette set of 4 every 5 batches: 0.8 a batch on average
    cassette = next(i for i in d["items"] if i["name"] == "cassette")
    assert cassette["units_per_batch"] == pytest.approx(0.8)
    # 30 weekly batches planned (fixed rhythm of 1 a week)
    assert d["campaign"]["batches_planned"] == 30


@pytest.mark.parametrize("scheduler", ["processes:2", "dask-local:1"])
def test_the_same_numbers_on_a_process_pool_or_a_dask_cluster(tmp_path, scheduler):
    """2,100 replications: two chunks (2,000 and 100) sent to the workers, the same numbers as in this
    process."""
    plan = write(tmp_path, SMALL.replace("compare: {sources: [local, sea]}", ""))
    a = json.loads(run("supply", str(plan), "--json", "--replications", "2100").output)
    b = json.loads(
        run("supply", str(plan), "--json", "--replications", "2100", "--scheduler", scheduler).output
    )
    for k in ("items", "campaign", "recommendations"):
        assert a[k] == b[k]


def test_the_report_is_self_contained(tmp_path):
    plan = write(tmp_path, SMALL)
    out = tmp_path / "r" / "supply.html"
    r = run("supply", str(plan), "--replications", "200", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "Report written to" in r.output and "Campaign" in r.output
    html = out.read_text()
    assert "Local or imported" in html and "Service level against safety stock" in html
    assert "Stock of capsule" in html and "Stock of cassette" in html
    assert "Assumptions and their sources" in html and "planning assumption" in html
    assert "<script src=" not in html  # nothing fetched


# ---------------------------------------------------------------- hand-derived behaviour of plan keys

DET = """
horizon: 40 weeks
replications: 2
batches: {per_week: 1}
sources:
  a: {lead_time: 1 week}
items:
  x: {source: a, per_batch: 2, policy: {cover: 4 weeks}}
"""


def test_a_cover_policy_orders_up_to_the_requirement_of_the_next_weeks():
    """One batch a week taking 2, lead time 1 week, cover 4 weeks: order up to 8; the order placed at
    the start of week t arrives at t + 1, so at the end of a week the stock is 8 − 2·(L + 1) = 4."""
    plan = parse(DET)
    sim = simulate(plan, keep_inventory=True)
    np.testing.assert_allclose(sim.inventory[0, 5:, 0], 4.0)


def test_with_a_calendar_the_cover_stops_before_the_campaign_ends():
    """Batches in weeks 0..19 only: the cover level is 2 × (batches in the next 4 weeks), so the last
    order (week 19: nothing needed from week 20 on) leaves no stock: 0 at the end, where a base stock
    of 8 keeps replacing what the batches took and ends with all 8 units (nothing on order, no demand:
    the position is the stock)."""
    cal = DET.replace(
        "batches: {per_week: 1}", "batches: {calendar: {start: 0 weeks, every: 1 week, count: 20}}"
    )
    sim = simulate(parse(cal), keep_inventory=True)
    np.testing.assert_allclose(sim.inventory[0, 20:, 0], 0.0)
    base = simulate(
        parse(cal.replace("{cover: 4 weeks}", "{type: base-stock, base_stock: 8}")), keep_inventory=True
    )
    np.testing.assert_allclose(base.inventory[0, 22:, 0], 8.0)


def test_allocation_ships_the_fraction_of_the_expected_requirement():
    """Demand 10 a week, constant; lead time 0; in weeks 10..29 the source ships at most half of the
    expected requirement: 5 units a week arrive, the other 5 are backordered."""
    plan = parse("""
        horizon: 40 weeks
        replications: 2
        sources:
          a: {lead_time: 0 weeks, allocation: {fraction: 0.5, window: {start: 10 weeks, duration: 20 weeks}}}
        items:
          x: {source: a, demand_per_period: {mean: 10, sd: 0}, policy: {type: base-stock, base_stock: 10}}
        """)
    sim = simulate(plan, trace=True)
    np.testing.assert_allclose(sim.receipts[0, 10:30, 0], 5.0)
    np.testing.assert_allclose(sim.level[0, 29, 0], -100.0)  # 20 weeks x 5 units short
    assert sim.item[0, 0, K.S_CUT] == 20 * 5 + sum(range(5, 100, 5))  # what each order asked beyond 5


def test_a_backup_is_used_once_qualified():
    """Primary closed in weeks 10..19; the backup needs 4 weeks of change control from week 10. Demand
    10 a week: orders of weeks 10..13 wait at the primary, those of 14..19 (6 x 10) go to the backup."""
    plan = parse("""
        horizon: 30 weeks
        replications: 2
        sources:
          p: {lead_time: 1 week, disruptions: [{start: 10 weeks, duration: 10 weeks}]}
          b: {lead_time: 1 week, qualified: false, qualification_time: 4 weeks}
        items:
          x: {source: [p, b], demand_per_period: {mean: 10, sd: 0},
              policy: {type: base-stock, base_stock: 30}}
        """)
    sim = simulate(plan)
    assert sim.lane[0, 0, 1, K.L_UNITS] == 60
    assert sim.lane[0, 0, 1, K.L_ORDERS] == 6


def test_a_split_sends_the_fractions_of_each_order():
    plan = parse("""
        horizon: 20 weeks
        replications: 2
        sources: {p: {lead_time: 1 week}, q: {lead_time: 2 weeks}}
        items:
          x: {source: [p, q], split: [0.7, 0.3], demand_per_period: {mean: 10, sd: 0},
              policy: {type: base-stock, base_stock: 40}}
        """)
    sim = simulate(plan)
    p, q = sim.lane[0, 0, 0, K.L_UNITS], sim.lane[0, 0, 1, K.L_UNITS]
    assert p == 7 * q / 3 and p + q == 10 * 19  # orders from week 1 replace each week's 10


def test_sources_fed_by_one_upstream_fail_together():
    plan = parse("""
        horizon: 200 weeks
        replications: 10
        upstreams: {membranes: {mtbf: 20 weeks, mttr: 4 weeks}}
        sources:
          p: {lead_time: 1 week, upstream: membranes}
          q: {lead_time: 2 weeks, upstream: membranes, outage: {mtbf: 50 weeks, mttr: 2 weeks}}
        items:
          x: {source: p, demand_per_period: {mean: 1, sd: 0}}
        """)
    up = draw_block(plan, 0).up
    p, q = up[:, :, 0], up[:, :, 1]
    assert np.all(q <= p)  # q is down whenever the upstream (all of p's downtime) is
    assert (p == 0).any() and (q < p).any()


def test_expediting_by_air_saves_batches_in_a_closure():
    """Imports by sea, closed in weeks 10..21: with expedite, orders go by air when a stock-out is
    projected, so fewer batches are lost on the same random numbers."""
    base = """
        horizon: 40 weeks
        replications: 300
        batches: {per_week: 1, max_batch_delay: 1 week}
        sources:
          sea: {lead_time: {distribution: gamma, mean: 8 weeks, sd: 2 weeks}, route: europe-korea-sea,
                disruptions: [{start: 10 weeks, duration: 12 weeks}]}
          air: {lead_time: {distribution: gamma, mean: 2 weeks, sd: 0.5 weeks}, route: europe-korea-air}
        items:
          x: {source: sea, per_batch: 2, policy: {type: base-stock, base_stock: 24}%s}
        """
    plain = simulate(parse(base % ""))
    fast = simulate(parse(base % ", expedite: {source: air, when: {projected_stockout_within: 3 weeks}}"))
    assert fast.item[:, 0, K.S_EXPEDITED].sum() > 0
    assert fast.campaign()["batches_lost_mean"] < plain.campaign()["batches_lost_mean"]


def test_imports_arriving_older_expire_sooner():
    """Shelf life 20 weeks, 4 needed at use; the source ships units with 10 weeks left: usable 6 weeks.
    Base stock 30 with 2 a week taken and lead time 1 week: stock ages past 6 weeks and expires."""
    text = """
        horizon: 60 weeks
        replications: 2
        batches: {per_week: 1}
        sources: {a: {lead_time: 1 week%s}}
        items:
          x: {source: a, per_batch: 2, shelf_life: 20 weeks, min_shelf_life_at_use: 4 weeks,
              policy: {type: base-stock, base_stock: 30}}
        """
    fresh = simulate(parse(text % ""))
    old = simulate(parse(text % ", remaining_shelf_life_at_receipt: 10 weeks"))
    assert fresh.item[0, 0, K.S_EXPIRED] == 0
    assert old.item[0, 0, K.S_EXPIRED] > 0


# ------------------------------------------------------------------------------------- bad plans

BAD = [
    (
        "unknown source",
        SMALL.replace("source: sea\n", "source: nowhere\n"),
        "unknown source 'nowhere'",
        "source",
    ),
    ("negative sd", SMALL.replace("sd: 1 week", "sd: -1 week"), "must be zero or positive", "sd"),
    ("not consumed", None, "not consumed by the train", "items"),
    ("typo", SMALL.replace("order_cost: 100", "order_cots: 100"), "unknown field 'order_cots'", "order_cots"),
    ("no unit", SMALL.replace("horizon: 30 weeks", "horizon: 30"), "has no unit", "horizon"),
    ("wrong unit", SMALL.replace("horizon: 30 weeks", "horizon: 30 kg"), "not a time unit", "horizon"),
    (
        "target above 1",
        SMALL.replace("target_service: 0.9", "target_service: 1.5"),
        "at most 1",
        "target_service",
    ),
    (
        "split",
        SMALL.replace("    source: sea\n", "    source: [sea, local]\n    split: [0.5, 0.2]\n", 1),
        "add up to 1",
        "split",
    ),
    (
        "short outage",
        SMALL.replace("order_cost: 100}", "order_cost: 100, outage: {mtbf: 10 weeks, mttr: 2 days}}"),
        "at least one period",
        "mttr",
    ),
    (
        "window",
        SMALL.replace("order_cost: 100}", "order_cost: 100, disruptions: [{start: 10 weeks, end: 5 weeks}]}"),
        "must end after it starts",
        "end",
    ),
    (
        "no batches",
        SMALL.replace("batches: {per_week: 1, max_batch_delay: 1 week}\n", ""),
        "batch starts",
        "batches",
    ),
    ("unknown route", SMALL.replace("route: local", "route: mars"), "unknown route 'mars'", "route"),
    (
        "unknown upstream",
        SMALL.replace("order_cost: 100}", "order_cost: 100, upstream: plant}"),
        "unknown upstream 'plant'",
        "upstream",
    ),
    (
        "allocation",
        SMALL.replace(
            "order_cost: 100}",
            "order_cost: 100, allocation: {fraction: 1.5, window: {start: 1 week, duration: 2 weeks}}}",
        ),
        "at most 1",
        "fraction",
    ),
    (
        "policy numbers",
        SMALL.replace("{type: base-stock, base_stock: 14}", "{type: base-stock, s: 4}"),
        "is not a number of a base-stock policy",
        "s",
    ),
    (
        "S below s",
        SMALL.replace("{type: base-stock, base_stock: 14}", "{type: s-S, s: 10, S: 4}"),
        "must be at least s",
        "S",
    ),
    (
        "policy type",
        SMALL.replace("{type: base-stock, base_stock: 14}", "{type: kanban}"),
        "unknown policy 'kanban'",
        "type",
    ),
    (
        "empty observations",
        SMALL.replace("{distribution: gamma, mean: 4 weeks, sd: 1 week}", "[]"),
        "at least one observed lead time",
        "lead_time",
    ),
    (
        "no lead time",
        SMALL.replace(
            "{lead_time: {distribution: gamma, mean: 4 weeks, sd: 1 week}, route: "
            "europe-korea-sea, order_cost: 100}",
            "{order_cost: 100}",
        ),
        "missing the lead time",
        "lead_time",
    ),
    ("no source", SMALL.replace("    source: sea\n", "", 1), "missing the item's source", "source"),
    ("not a mapping", "- just\n- a list\n", "a supply plan is a mapping", None),
    ("not yaml", "horizon: [unclosed\n", "not valid YAML", None),
    ("no items", "horizon: 10 weeks\n", "the plan has no items", "items"),
    ("train not found", SMALL + "train: missing.yaml\n", "train file not found", "train"),
    (
        "poisson with sd",
        SMALL.replace("per_batch: 4\n", "demand_per_period: {mean: 3, sd: 1, distribution: poisson}\n"),
        "drop 'sd'",
        "sd",
    ),
    (
        "compare source",
        SMALL.replace("compare: {sources: [local, sea]}", "compare: {sources: [local, moon]}"),
        "unknown source 'moon'",
        "compare",
    ),
    (
        "expedite source",
        SMALL.replace(
            "    plastic_kg: 2\n",
            "    plastic_kg: 2\n    expedite: {source: rocket, when: {projected_stockout_within: 2 weeks}}\n",
        ),
        "unknown source 'rocket'",
        "source",
    ),
    (
        "slip odds",
        SMALL.replace(
            "batches: {per_week: 1, max_batch_delay: 1 week}",
            "batches: {calendar: {start: 0 weeks, every: 1 week, count: 10}, "
            "slip: {probability: 1.5, by: 1 week}}",
        ),
        "at most 1",
        "probability",
    ),
    ("batch target", SMALL + "batch_service: 1.2\n", "at most 1", "batch_service"),
    (
        "negative per batch",
        SMALL.replace("per_batch: 2\n", "per_batch: -2\n"),
        "zero or positive",
        "per_batch",
    ),
    (
        "negative cover",
        SMALL.replace("{type: base-stock, base_stock: 14}", "{cover: -3 weeks}"),
        "must be positive",
        "cover",
    ),
    (
        "negative observation",
        SMALL.replace("local: {route: local}", "local: {route: local, lead_time: [3 weeks, -1 week]}"),
        "zero or positive",
        "lead_time",
    ),
    (
        "all scrapped",
        SMALL.replace("    plastic_kg: 2\n", "    plastic_kg: 2\n    scrap_rate: 1.0\n"),
        "must be below 1",
        "scrap_rate",
    ),
    (
        "min life",
        SMALL.replace(
            "per_batch: 2\n", "per_batch: 2\n    shelf_life: 10 weeks\n    min_shelf_life_at_use: 12 weeks\n"
        ),
        "shorter than the shelf life",
        "min_shelf_life_at_use",
    ),
]


@pytest.mark.parametrize("name,text,message,field", BAD, ids=[b[0] for b in BAD])
def test_bad_plans_exit_2_naming_the_key(tmp_path, name, text, message, field):
    if text is None:  # an item the train does not consume
        (tmp_path / "train.yaml").write_text((EXAMPLES / "train_2000L_mab.yaml").read_text())
        for f in ("cho_harvest_depth_filtration.csv", "mab_sterile_filtration.csv", "virus_filtration.xlsx"):
            (tmp_path / f).write_bytes((EXAMPLES / f).read_bytes())
        text = SMALL + "train: train.yaml\n"
        text = text.replace(
            "  capsule:\n    source: sea\n    per_batch: 2\n", "  Prefilter:\n    source: sea\n"
        )
    plan = write(tmp_path, text)
    r = run("supply", str(plan), "--replications", "20")
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert r.output.startswith("fluxwise: error:") and message in r.output, r.output
    line = r.output.splitlines()[0]
    assert str(plan) in line
    if field is not None:
        assert f"field '{field}'" in line or f"'{field}'" in line, line


@pytest.mark.parametrize(
    "args,field",
    [
        (["--replications", "0"], "--replications"),
        (["--seed", "-1"], "--seed"),
        (["--scheduler", "nonsense"], "scheduler"),
    ],
)
def test_bad_options_exit_2(tmp_path, args, field):
    r = run("supply", str(write(tmp_path, SMALL)), *args)
    assert r.exit_code == 2 and field in r.output and "Traceback" not in r.output


def test_a_missing_plan_file_exits_2(tmp_path):
    r = run("supply", str(tmp_path / "nope.yaml"))
    assert r.exit_code == 2 and "supply plan file not found" in r.output


def test_an_unreachable_target_is_said_not_looped():
    """A source that never ships (closed for the whole horizon) cannot meet any target."""
    plan = parse(
        SMALL.replace(
            "order_cost: 100}", "order_cost: 100, disruptions: [{start: 0 weeks, duration: 60 weeks}]}"
        ).replace("policy: {type: base-stock, base_stock: 14}", "starting_stock: 0")
    )
    from fluxwise.supply.recommend import recommend

    runs = default_runs(plan)
    with pytest.raises(InputError, match="cannot reach a service level"):
        recommend(plan, runs[:1], [0.9], replications=20)
    assert math.isfinite(plan.items[0].per_set)
