"""The supply simulation against analytic results, published numbers and hand derivations.

Every expected number below comes from a closed form (written out in the test or in
``fluxwise.supply.formulas``, whose formulas are checked here against the simulation and, where a
book prints a value, against that value), from Snyder & Shen (2019), or from a hand derivation in
the test's docstring. Tolerances are three standard errors of the simulated figure: the per-
replication figures are independent batch means (one batch of periods per replication).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from fluxwise.supply import formulas
from fluxwise.supply.draws import outage_states
from fluxwise.supply.engine import ItemRun, default_runs, simulate
from fluxwise.supply.kernel import S_BACKLOG, S_EXPIRED, S_ONHAND, S_ORDERS, S_PERIODS
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
from fluxwise.supply.recommend import recommend

MU, SIGMA, L = 100.0, 20.0, 4


def normal_plan(S=574.0, replications=4000, horizon=60, **kw):
    """Backlog, constant L = 4, N(100, 20²) demand (continuous), the first L + 1 periods discarded."""
    src = {"s": Source("s", LeadTime("constant", float(L)))}
    item = Item(
        "x",
        ("s",),
        policy=Policy("base-stock", base_stock=S),
        demand_mean=MU,
        demand_sd=SIGMA,
        whole_units=False,
        starting_stock=S,
        **kw,
    )
    return SupplyPlan(
        horizon=horizon, items=(item,), sources=src, replications=replications, seed=11, warmup=L + 1
    )


def copies(plan, values):
    """The plan's item at several base stocks, all on the same random numbers."""
    item = plan.items[0]
    return [
        ItemRun(
            item=item,
            rand=0,
            policy=Policy("base-stock", base_stock=float(v)),
            sources=item.sources,
            label=f"S={v}",
        )
        for v in values
    ]


def test_base_stock_cycle_service_and_fill_rate_match_the_normal_formulas():
    """P(IL ≥ 0) = Φ((S − μ(L+1))/(σ√(L+1))) and β = 1 − [σ√(L+1)G(z) − σ√L G(z_L)]/μ."""
    plan = normal_plan()
    values = (520.0, 560.0, 574.0, 600.0)
    sim = simulate(plan, copies(plan, values))
    for k, S in enumerate(values):
        s = sim.service(k)
        csl = stats.norm.cdf((S - MU * (L + 1)) / (SIGMA * math.sqrt(L + 1)))
        z, zl = (S - MU * (L + 1)) / (SIGMA * math.sqrt(L + 1)), (S - MU * L) / (SIGMA * math.sqrt(L))
        g = lambda x: stats.norm.pdf(x) - x * stats.norm.sf(x)  # noqa: E731  standard normal loss
        fill = 1 - (SIGMA * math.sqrt(L + 1) * g(z) - SIGMA * math.sqrt(L) * g(zl)) / MU
        assert abs(s["cycle_service_level"] - csl) < 3 * s["cycle_service_level_se"], (S, s, csl)
        assert abs(s["fill_rate"] - fill) < 3 * s["fill_rate_se"], (S, s, fill)
        # the library's formulas are the same expressions
        assert formulas.base_stock_csl_normal(S, MU, SIGMA, L) == pytest.approx(csl, rel=1e-12)
        assert formulas.base_stock_fill_rate_normal(S, MU, SIGMA, L) == pytest.approx(fill, rel=1e-12)


def test_the_inventory_level_is_the_base_stock_less_the_demand_of_L_plus_1_periods():
    """Hand derivation: orders at the start of u ≥ 1 replace D[u−1] and arrive at u + L, so for t ≥ L
    IL(t) = S − Σ_{u=0}^{t} D[u] + Σ_{u=1}^{t−L} D[u−1] = S − Σ_{u=t−L}^{t} D[u]."""
    plan = normal_plan(replications=3, horizon=30)
    sim = simulate(plan, trace=True)
    from fluxwise.supply.engine import _draws

    d = _draws(plan, 0, 3).demand[:, :, 0]
    for t in range(L, 30):
        expected = 574.0 - d[:, t - L : t + 1].sum(axis=1)
        np.testing.assert_allclose(sim.level[:, t, 0], expected, rtol=1e-5)


def test_the_recommended_base_stock_is_the_formula_within_one_unit():
    """Normal demand, constant L: S = μ(L+1) + z·σ√(L+1) is exact, and the simulation finds it."""
    plan = normal_plan(replications=20000, horizon=45)
    run = replace(default_runs(plan)[0], policy=Policy("base-stock", target_service=0.95))
    (rec,) = recommend(plan, [run], [0.95], replications=plan.replications)
    formula = MU * (L + 1) + stats.norm.ppf(0.95) * SIGMA * math.sqrt(L + 1)  # 573.56
    assert rec.formula == pytest.approx(formula, rel=1e-9)
    assert abs(rec.value - formula) <= 1.0
    assert rec.achieved >= 0.95


def test_s_S_expected_cost_is_snyder_and_shen_example_4_7():
    """(s, S) = (4, 10), L = 0, Poisson(6) demand, h = 1, p = 4, K = 5: 8.034 per period (Snyder &
    Shen 2019, Example 4.7). The same number by hand (Zheng & Federgruen 1991): with m(0) = 1/(1 − p0),
    m(j) = Σ_{l=1}^{j} p_l m(j−l)/(1 − p0), M = Σ_{j<S−s} m(j) and G(y) = E[h(y − D)⁺ + p(D − y)⁺],
    c(s, S) = [K + Σ_{j<S−s} m(j) G(S − j)]/M."""
    h, p, K, lam, s, S = 1.0, 4.0, 5.0, 6.0, 4, 10
    d = np.arange(200)
    pm = stats.poisson.pmf(d, lam)
    G = lambda y: float(np.sum(pm * (h * np.maximum(y - d, 0) + p * np.maximum(d - y, 0))))  # noqa: E731
    m = [1 / (1 - pm[0])]
    for j in range(1, S - s):
        m.append(sum(pm[k] * m[j - k] for k in range(1, j + 1)) / (1 - pm[0]))
    by_hand = (K + sum(m[j] * G(S - j) for j in range(S - s))) / sum(m)
    assert by_hand == pytest.approx(8.034, abs=5e-4)

    src = {"s": Source("s", LeadTime("constant", 0.0))}
    item = Item(
        "x", ("s",), policy=Policy("s-S", s=s, S=S), demand_mean=lam, demand_dist="poisson", starting_stock=S
    )
    plan = SupplyPlan(horizon=200, items=(item,), sources=src, replications=2000, seed=3, warmup=10)
    sim = simulate(plan)
    per = sim.item[:, 0, S_PERIODS]
    cost = (h * sim.item[:, 0, S_ONHAND] + p * sim.item[:, 0, S_BACKLOG] + K * sim.item[:, 0, S_ORDERS]) / per
    se = cost.std(ddof=1) / math.sqrt(len(cost))
    assert abs(cost.mean() - 8.034) < 3 * se, (cost.mean(), se)


def test_r_Q_is_periodic_r_nQ_with_its_cycle_service_level():
    """(r, nQ) reviewed every period, Poisson(6) demand, L = 2: the position after ordering is uniform
    on r+1..r+Q, so CSL = (1/Q) Σ_{y=r+1}^{r+Q} F_{L+1}(y), F_{L+1} the Poisson(18) distribution."""
    lam, lead = 6.0, 2
    src = {"s": Source("s", LeadTime("constant", float(lead)))}
    item = Item(
        "x",
        ("s",),
        policy=Policy("r-Q", r=16, Q=10),
        demand_mean=lam,
        demand_dist="poisson",
        starting_stock=26,
    )
    plan = SupplyPlan(horizon=150, items=(item,), sources=src, replications=3000, seed=5, warmup=20)
    runs = [
        ItemRun(item=item, rand=0, policy=Policy("r-Q", r=r, Q=q), sources=("s",))
        for r, q in ((16, 10), (20, 10), (12, 25))
    ]
    sim = simulate(plan, runs)
    for k, run in enumerate(runs):
        r, q = int(run.policy.r), int(run.policy.Q)
        expected = np.mean([stats.poisson.cdf(y, lam * (lead + 1)) for y in range(r + 1, r + q + 1)])
        s = sim.service(k)
        assert abs(s["cycle_service_level"] - expected) < 3 * s["cycle_service_level_se"], (r, q, s, expected)
        assert formulas.rq_csl(r, q, lambda y: stats.poisson.cdf(y, lam * (lead + 1))) == pytest.approx(
            expected
        )


def test_a_two_state_supplier_is_up_mtbf_over_mtbf_plus_mttr_of_the_time():
    """Geometric up and down spells with means mtbf and mttr: availability mtbf/(mtbf + mttr), from
    the first period on (the chain starts from its stationary distribution)."""
    rng = np.random.default_rng(1)
    for mtbf, mttr in ((20.0, 5.0), (52.0, 4.0), (3.0, 3.0)):
        up = outage_states(rng, Outage(mtbf, mttr), 4000, 300)
        a = mtbf / (mtbf + mttr)
        assert abs(up.mean() - a) / a < 0.01
        assert abs(up[:, 0].mean() - a) / a < 0.03  # the first period too (4000 draws: 3 SE < 3 %)
        spells = np.diff(up[:200].astype(int), axis=1)
        assert spells.any()


def test_a_disruption_window_stops_deliveries_exactly_in_that_window():
    """L = 2, window [30, 42): orders of periods 28 and 29 would arrive at 30 and 31 — they arrive at
    42; orders placed in 30..41 leave at 42 and arrive at 44 with the order of period 42. Base stock:
    the order at the start of u replaces the demand D[u−1]."""
    src = {"s": Source("s", LeadTime("constant", 2.0), windows=(Window(30, 42),))}
    item = Item(
        "x",
        ("s",),
        policy=Policy("base-stock", base_stock=5000),
        demand_mean=50,
        demand_sd=10,
        starting_stock=5000,
    )
    plan = SupplyPlan(horizon=60, items=(item,), sources=src, replications=4, seed=2)
    sim = simulate(plan, trace=True)
    from fluxwise.supply.engine import _draws

    d = _draws(plan, 0, 4).demand[:, :, 0]
    rec = sim.receipts[:, :, 0]
    assert np.all(rec[:, 30:42] == 0)
    np.testing.assert_allclose(rec[:, 42], d[:, 27] + d[:, 28])  # orders of 28 and 29
    np.testing.assert_allclose(rec[:, 43], 0.0)
    np.testing.assert_allclose(rec[:, 44], d[:, 29:42].sum(axis=1))  # orders of 30..42
    np.testing.assert_allclose(rec[:, 45], d[:, 42])  # order of 43, on time again
    np.testing.assert_allclose(rec[:, 29], d[:, 26])  # order of 27, before the window


def _two_item_plan(windows_a, windows_b, **batches):
    src = {
        "a": Source("a", LeadTime("constant", 0.0), windows=windows_a),
        "b": Source("b", LeadTime("constant", 0.0), windows=windows_b),
    }
    items = tuple(
        Item(n, (n,), policy=Policy("base-stock", base_stock=1), per_set=1, starting_stock=1)
        for n in ("a", "b")
    )
    return SupplyPlan(
        horizon=100,
        items=items,
        sources=src,
        replications=3,
        seed=1,
        batches=Batches("fixed", per_period=1, max_delay=0, **batches),
    )


def test_the_batch_figure_is_the_joint_one():
    """One batch a period needs one unit of a and one of b; both are replaced with lead time 0 from a
    base stock of 1. a's source is closed in [20, 25), b's in [60, 65): each item is on hand for 95
    of the 100 batches, but a batch needs both, so 90 start and 10 are lost (max delay 0: a batch not
    started in its period is lost). Two items each 95 % available do not make a 95 % batch."""
    plan = _two_item_plan((Window(20, 25),), (Window(60, 65),))
    sim = simulate(plan)
    for i in range(2):
        s = sim.service(i)
        assert s["batch_availability"] == pytest.approx(0.95)
    c = sim.campaign()
    assert c["batches_planned"] == 100
    assert c["batches_on_time_mean"] == 90 and c["batches_lost_mean"] == 10
    assert c["batch_service"] == pytest.approx(0.90)
    assert c["p_any_batch_delayed"] == 1.0
    # the same windows at the same time cost only 5 batches
    same = simulate(_two_item_plan((Window(20, 25),), (Window(20, 25),)))
    assert same.campaign()["batches_lost_mean"] == 5


def test_stock_expires_first_expiry_first_out():
    """Shelf life 10 periods, 2 needed at use: a lot is usable for 8 periods. Starting stock 30 and one
    batch a period taking 2 from period 0 on, nothing reordered (base stock 0): 16 units are used in
    periods 0..7 and the other 14 expire at the start of period 8."""
    src = {"s": Source("s", LeadTime("constant", 1.0))}
    item = Item(
        "x",
        ("s",),
        policy=Policy("base-stock", base_stock=0),
        per_set=2,
        starting_stock=30,
        shelf_life=10,
        min_shelf_life_at_use=2,
    )
    plan = SupplyPlan(
        horizon=20, items=(item,), sources=src, replications=2, seed=1, batches=Batches("fixed", per_period=1)
    )
    sim = simulate(plan, keep_inventory=True)
    assert sim.item[0, 0, S_EXPIRED] == 14
    np.testing.assert_allclose(sim.inventory[0, :9, 0], [28, 26, 24, 22, 20, 18, 16, 14, 0])


def test_integrity_test_failures_add_negative_binomial_replacements():
    """A batch needs 9 good units, each fails its pre-use test with p = 0.1: the units taken per batch
    are 9 + failures before the 9th success, mean 9/(1 − p) = 10 (negative binomial)."""
    from fluxwise.supply.kernel import S_CONSUMED, S_SCRAPPED

    src = {"s": Source("s", LeadTime("constant", 1.0))}
    item = Item(
        "x", ("s",), policy=Policy("base-stock", base_stock=60), per_set=9, scrap_rate=0.1, starting_stock=60
    )
    plan = SupplyPlan(
        horizon=50,
        items=(item,),
        sources=src,
        replications=1000,
        seed=4,
        batches=Batches("fixed", per_period=1),
    )
    sim = simulate(plan)
    per_batch = sim.item[:, 0, S_CONSUMED] / sim.group[:, 0, 1]
    se = per_batch.std(ddof=1) / math.sqrt(len(per_batch))
    assert abs(per_batch.mean() - 10.0) < 3 * se
    assert np.all(sim.item[:, 0, S_CONSUMED] - sim.item[:, 0, S_SCRAPPED] == 9 * sim.group[:, 0, 1])


def test_orders_do_not_overtake_unless_crossing_is_allowed():
    """With a very variable lead time the receipts keep the order of the orders: a later order never
    arrives before an earlier one, so the cumulative receipts never pass the cumulative orders of an
    earlier period plus... (checked directly: no receipt before the first order's lead time)."""
    lt = LeadTime("gamma", 6.0, 4.0)
    base = dict(
        policy=Policy("base-stock", base_stock=700), demand_mean=100, demand_sd=20, starting_stock=700
    )
    plans = [
        SupplyPlan(
            horizon=80,
            items=(Item("x", ("s",), **base),),
            replications=300,
            seed=9,
            sources={"s": Source("s", lt, crossing=c)},
        )
        for c in (False, True)
    ]
    a, b = (simulate(p, trace=True) for p in plans)
    # without crossing, receipts come in batches at the (monotone) arrival times: fewer receipt periods
    n_a = (a.receipts[:, :, 0] > 0).sum()
    n_b = (b.receipts[:, :, 0] > 0).sum()
    assert n_a < n_b
    # the same units arrive over the horizon on average, give or take the orders still in transit
    assert a.item[:, 0, S_PERIODS].sum() == b.item[:, 0, S_PERIODS].sum()


def test_results_do_not_depend_on_how_many_replications_run_or_how_they_are_chunked():
    plan = normal_plan(replications=2600, horizon=30)
    big = simulate(plan)
    small = simulate(plan, replications=300)
    np.testing.assert_array_equal(big.item[:300], small.item)


def test_the_python_loop_is_the_same_algorithm():
    """The benchmark's baseline (the uncompiled per-replication loop) gives the same numbers."""
    src = {
        "s": Source("s", LeadTime("gamma", 3.0, 1.0), outage=Outage(10, 2), remaining_shelf_life=30),
        "t": Source("t", LeadTime("normal", 1.0, 0.3)),
    }
    items = (
        Item(
            "a",
            ("s",),
            policy=Policy("base-stock", base_stock=12),
            per_set=3,
            scrap_rate=0.05,
            shelf_life=40,
            min_shelf_life_at_use=4,
            starting_stock=12,
        ),
        Item(
            "b",
            ("s", "t"),
            rule="backup",
            policy=Policy("s-S", s=4, S=12),
            per_set=2,
            reuses=3,
            spares_per_batch=1,
            starting_stock=8,
        ),
        Item("c", ("t",), policy=Policy("r-Q", r=5, Q=6), demand_mean=2, demand_sd=1, starting_stock=9),
    )
    plan = SupplyPlan(
        horizon=40,
        items=items,
        sources=src,
        replications=8,
        seed=6,
        batches=Batches("poisson", per_period=1.2, max_delay=2),
    )
    fast = simulate(plan)
    slow = simulate(plan, python=True)
    np.testing.assert_allclose(fast.item, slow.item)
    np.testing.assert_allclose(fast.group, slow.group)
