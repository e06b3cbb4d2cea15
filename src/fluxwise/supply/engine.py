r"""Monte Carlo simulation of a campaign's consumable supply: every replication of every item as arrays.

What is simulated
-----------------
A campaign of batches runs over a horizon of T review periods (weeks by default). Each item (a
filter capsule, a cartridge, a UF cassette set, a virus filter) is replenished from one or more
sources by an inventory policy, and consumed by batches and by any independent demand. Per
replication the engine follows, period by period (:mod:`fluxwise.supply.kernel`):

1. **Orders** at the start of period t, on the inventory position
   IP = on hand + on order − backorders − requirements of the batches waiting to start:

   * base stock S: order S − IP when IP < S (Axsäter 2015, *Inventory Control*, 3rd ed., §5.3);
   * (s, S): when IP ≤ s order S − IP (Scarf 1960; Zheng & Federgruen 1991, Oper. Res. 39:654);
   * (r, Q), periodic review: when IP ≤ r order the smallest n·Q with IP + n·Q > r
     (Hadley & Whitin 1963; Axsäter 2015, §5.5);
   * cover: a base stock that follows the expected requirements of the next periods.

   Base-stock and (s, S) orders are rounded up to whole units, the minimum order quantity and the
   pack size. The order goes to the item's source (or is split across sources by fractions, or goes
   to a qualified backup while the primary cannot ship; a backup that is not qualified becomes
   usable ``qualification_time`` after the primary first failed), or to the expedite source when
   the projected stock over the next periods falls below zero.
2. **Shipping and lead time.** An order leaves when its source is up (a two-state supplier: orders
   placed while it is down queue and leave, in order, when it recovers) and outside its disruption
   windows (an order placed inside one leaves at the window's end). It draws a continuous lead time
   L from the source's distribution and is received at the start of period ⌈t_ship + L + t_QC⌉;
   a receipt that falls inside a window is received at its end. Orders on one lane do not overtake
   each other (arrival = max(previous arrival, drawn); ``crossing`` lifts this). Inside an
   allocation window a source ships at most its allowance (a fraction of the item's expected
   requirement per period, carried over inside the window) and cuts the rest of the order.
3. **Receipts and expiry.** Units arrive as a lot that is usable until
   t + remaining shelf life at receipt − minimum shelf life at use; lots are kept sorted by that
   date, issued first-expiry-first-out, and written off (expired: waste, cost, plastic, CO2e)
   when it comes. Backorders are filled first.
4. **Independent demand** is served from stock on hand; what is missing is backordered.
5. **Batches.** Batches planned in the period join a FIFO queue; a batch starts only when every
   item of its bill of materials is on hand — its set (a reused set every ``reuses`` batches),
   spares, and replacements for units that fail their pre-use integrity test — and then takes them
   all at once; a batch that has waited more than ``max_batch_delay`` periods is lost and takes
   nothing.
6. **End of the period:** stock on hand and backorders are recorded.

With a constant whole-number lead time L, backlog and a base stock S, the inventory level at the end
of period t ≥ L is IL = S − D[t−L..t], the demand of L + 1 periods: a base stock protects L + 1
periods (the tests check this and the formulas of :mod:`fluxwise.supply.formulas` against it).

Figures (per item, over replications r = 1..R, each a batch of periods for the standard errors)
-------------------------------------------------------------------------------------------
* fill rate β = Σ units served from stock when demanded / Σ units demanded (a batch's units count
  as served when the item had them on hand at the batch's planned start);
* cycle service level α = share of periods that end with no backorder and no batch waiting for
  the item (Type 1: P(IL ≥ 0) with independent demand);
* probability of at least one stock-out, expected stock-out periods;
* batches delayed (started late or still waiting at the horizon), lost and on time for the
  campaign: a batch needs *all* its items, so these are the joint figures (twenty items at 0.95
  each give a batch about 0.95²⁰ ≈ 0.36 of the time if they fail independently);
* mean and 95th-percentile stock on hand, holding cost, orders, units expired with their cost,
  plastic and CO2e, freight CO2e, a percentile fan of the stock over time.

Every mean carries its standard error, the sample standard deviation of the per-replication
figure over √R (ratios by the delta method). Replications are independent batches of T periods
(the method of batch means with one batch per replication; Law 2015, *Simulation Modeling and
Analysis*, 5th ed., §9.5).

Performance: the period loop is compiled with numba and runs replications in parallel threads; the
random numbers (:mod:`fluxwise.supply.draws`) and the statistics are numpy arrays. Replications run
in chunks of random blocks on any :mod:`fluxwise.compute` executor with the same results.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import InputError
from . import kernel as K
from .draws import BLOCK, Draws, draw_block
from .model import Item, Policy, SupplyPlan

__all__ = [
    "ItemRun",
    "Simulation",
    "default_runs",
    "simulate",
    "lane_lead_moments",
    "forecast",
    "FAN_PERCENTILES",
    "CHUNK_BLOCKS",
]

FAN_PERCENTILES = (5, 25, 50, 75, 95)
#: Random blocks per chunk of work (2,000 replications).
CHUNK_BLOCKS = 8
_POL = {"base-stock": K.POL_BASE, "cover": K.POL_BASE, "s-S": K.POL_SS, "r-Q": K.POL_RQ}
_RULE = {"single": K.RULE_SINGLE, "split": K.RULE_SPLIT, "backup": K.RULE_BACKUP}


@dataclass(frozen=True)
class ItemRun:
    """One simulated item: the plan's item with the policy numbers, sources and batch group it runs with.

    ``rand`` is the item's random stream (its index in the plan): copies of an item (other policies,
    other sources) reuse it, so they are compared with common random numbers. ``group``: items of
    one group start batches together (-1: not taken by batches).
    """

    item: Item
    rand: int
    policy: Policy
    sources: tuple[str, ...]
    rule: str = "single"
    split: tuple[float, ...] = ()
    group: int = -1
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.item.name


def default_runs(
    plan: SupplyPlan, policies: dict[str, Policy] | None = None, *, coupled: bool = True
) -> list:
    """The plan's items as they are (``policies`` by item name replaces theirs); batch-driven items
    share group 0 (``coupled``) or each have their own (every item seen alone)."""
    runs = []
    for k, item in enumerate(plan.items):
        pol = (policies or {}).get(item.name, item.policy)
        group = (0 if coupled else k) if item.batch_driven else -1
        runs.append(
            ItemRun(
                item=item,
                rand=k,
                policy=pol,
                sources=item.sources,
                rule=item.rule,
                split=item.split,
                group=group,
            )
        )
    return runs


def forecast(plan: SupplyPlan, item: Item, extra: int = 0) -> np.ndarray:
    """Expected requirement of ``item`` per period, periods 0..T+extra−1 (after the horizon: the
    batch rate continues for rate-based plans; a calendar ends)."""
    T = plan.horizon
    out = np.full(T + extra, float(item.demand_mean))
    if plan.batches is not None and item.batch_driven:
        b = plan.batches
        per = b.expected_per_period(T)
        after = 0.0 if b.kind == "calendar" else float(b.per_period)
        out += item.usage_per_batch * np.concatenate([per, np.full(extra, after)])
    return out


def lane_lead_moments(plan: SupplyPlan, source: str) -> tuple[float, float]:
    """Mean and sd [periods] of the effective lead time ⌈L + t_QC⌉ of a source in normal times."""
    s = plan.sources[source]
    tab = s.lead_time.quantile_table()
    eff = np.ceil(tab + s.qc_release - 1e-9)
    return float(eff.mean()), float(eff.std())


def _policy_numbers(plan: SupplyPlan, run: ItemRun, fc: np.ndarray) -> tuple[int, float, float, np.ndarray]:
    """(policy code, p1, p2, level[T]) of a run; raises when a number is missing."""
    p, T = run.policy, plan.horizon
    level = np.zeros(T)
    label = f"items.{run.item.name}.policy"
    if p.type == "base-stock":
        if p.base_stock is None:
            raise InputError("the base stock has not been set (give it or a target_service)", field=label)
        return K.POL_BASE, float(p.base_stock), 0.0, level
    if p.type == "s-S":
        if p.s is None or p.S is None:
            raise InputError("s and S have not been set", field=label)
        if p.S < p.s:
            raise InputError(f"S ({p.S:g}) must be at least s ({p.s:g})", field=label)
        return K.POL_SS, float(p.s), float(p.S - p.s), level
    if p.type == "r-Q":
        if p.r is None or p.Q is None or p.Q <= 0:
            raise InputError("r and a positive Q have not been set", field=label)
        return K.POL_RQ, float(p.r), float(p.Q), level
    # cover: the expected requirements of the next N periods (+ a safety stock)
    if p.safety_stock is not None:
        n = lane_lead_moments(plan, run.sources[0])[0] + 1.0
        ss = float(p.safety_stock)
    elif p.cover_periods is not None:
        n, ss = float(p.cover_periods), 0.0
    else:
        raise InputError("cover needs its number of periods or a safety stock", field=label)
    whole, frac = int(math.floor(n)), n - math.floor(n)
    csum = np.concatenate([[0.0], np.cumsum(fc)])
    t = np.arange(T)
    level = csum[t + whole] - csum[t] + frac * fc[t + whole]
    return K.POL_BASE, ss, 0.0, level


@dataclass
class _Arrays:
    itm_f: np.ndarray
    itm_i: np.ndarray
    level: np.ndarray
    fc: np.ndarray
    ln_f: np.ndarray
    ln_i: np.ndarray
    src_f: np.ndarray
    src_i: np.ndarray
    src_tab: np.ndarray
    wadj: np.ndarray
    grp_items: np.ndarray
    grp_n: np.ndarray
    dem_cols: np.ndarray
    max_delay: float
    lanes: list = field(default_factory=list)


def _compile(plan: SupplyPlan, runs: list[ItemRun]) -> _Arrays:
    T = plan.horizon
    names = list(plan.sources)
    sidx = {n: k for k, n in enumerate(names)}
    NS = len(names)
    tables = [plan.sources[n].lead_time.quantile_table() for n in names]
    src_tab = np.zeros((NS, max(len(t) for t in tables)))
    src_i = np.zeros((NS, K.N_SRC_I), dtype=np.int64)
    src_f = np.zeros((NS, K.N_SRC_F))
    # wadj[s, t]: t, or the end of the (chained) disruption windows t falls in
    wadj = np.tile(np.arange(T, dtype=np.int64), (NS, 1))
    for k, n in enumerate(names):
        s = plan.sources[n]
        src_tab[k, : len(tables[k])] = tables[k]
        src_i[k] = (len(tables[k]), int(s.crossing), len(s.windows))
        a = s.allocation
        src_f[k] = (
            s.qc_release,
            0.0 if s.qualified else max(s.qualification_time, 0.0),
            a.start if a else 0.0,
            a.end if a else 0.0,
        )
        for wd in s.windows:
            wadj[k, max(wd.start, 0) : max(min(wd.end, T), 0)] = wd.end
        for t in range(T - 1, -1, -1):
            if wadj[k, t] != t and wadj[k, t] < T:
                wadj[k, t] = wadj[k, wadj[k, t]]
    I = len(runs)
    KL = max(len(r.sources) + (1 if r.item.expedite else 0) for r in runs)
    extra = 2 + max(
        [int(math.ceil(r.policy.cover_periods or 0)) for r in runs]
        + [r.item.expedite.within for r in runs if r.item.expedite]
        + [int(lane_lead_moments(plan, r.sources[0])[0]) + 2 for r in runs]
    )
    itm_f = np.zeros((I, K.N_ITEM_F))
    itm_i = np.zeros((I, K.N_ITEM_I), dtype=np.int64)
    level = np.zeros((I, T))
    fc = np.zeros((I, T + extra))
    ln_f = np.zeros((I, KL, K.N_LANE_F))
    ln_i = np.zeros((I, KL, K.N_LANE_I), dtype=np.int64)
    dem_cols = sorted({r.rand for r in runs if r.item.demand_mean > 0 or r.item.demand_sd > 0})
    dcol = {c: j for j, c in enumerate(dem_cols)}
    lanes = []
    for i, run in enumerate(runs):
        it = run.item
        fc[i] = forecast(plan, it, extra)
        pol, p1, p2, level[i] = _policy_numbers(plan, run, fc[i])
        primary = plan.sources[run.sources[0]]
        start_life = it.shelf_life if primary.remaining_shelf_life is None else primary.remaining_shelf_life
        start_life = math.inf if start_life is None else start_life - it.min_shelf_life_at_use
        start = it.starting_stock
        if start is None:  # the policy's order-up-to level
            start = max(level[i][0] + p1 + (p2 if pol != K.POL_BASE else 0.0), 0.0)
        itm_f[i] = (
            p1,
            p2,
            it.per_set,
            it.spares_per_batch,
            it.usage_per_batch,
            start,
            1e300 if math.isinf(start_life) else start_life,
        )
        lane_sources = list(run.sources) + ([it.expedite.source] if it.expedite else [])
        itm_i[i] = (
            pol,
            it.reuses,
            run.group,
            run.rand,
            dcol.get(run.rand, -1) + 1,
            int(it.whole_units),
            len(run.sources) if it.expedite else -1,
            it.expedite.within if it.expedite else 0,
            _RULE[run.rule],
            len(run.sources),
        )
        mean_req = float(np.mean(fc[i][:T]))
        fr = list(run.split) if run.rule == "split" else [1.0] * len(run.sources)
        for l, sname in enumerate(lane_sources):
            s = plan.sources[sname]
            life = it.shelf_life if s.remaining_shelf_life is None else s.remaining_shelf_life
            life = math.inf if life is None else life - it.min_shelf_life_at_use
            frac = fr[l] if l < len(fr) else 1.0
            alloc = s.allocation.fraction * mean_req * frac if s.allocation else 0.0
            ln_f[i, l] = (frac, 1e300 if math.isinf(life) else life, s.moq, max(s.pack_size, 1.0), alloc)
            ln_i[i, l] = (sidx[sname], l)
        lanes.append(lane_sources)
    groups = sorted({r.group for r in runs if r.group >= 0})
    gmap = {g: k for k, g in enumerate(groups)}
    for i, run in enumerate(runs):
        itm_i[i, K.I_GROUP] = gmap.get(run.group, -1)
    grp_n = np.zeros(len(groups), dtype=np.int64)
    grp_items = np.zeros((max(len(groups), 1), max(I, 1)), dtype=np.int64)
    for i in range(I):
        g = itm_i[i, K.I_GROUP]
        if g >= 0:
            grp_items[g, grp_n[g]] = i
            grp_n[g] += 1
    max_delay = plan.batches.max_delay if plan.batches is not None else math.inf
    return _Arrays(
        itm_f,
        itm_i,
        level,
        fc,
        ln_f,
        ln_i,
        src_f,
        src_i,
        src_tab,
        wadj,
        grp_items,
        grp_n,
        np.asarray(dem_cols, dtype=np.int64),
        float(min(max_delay, 1e18)),
        lanes,
    )


def _draws(plan: SupplyPlan, lo: int, hi: int) -> Draws:
    """The random inputs of replications lo..hi−1."""
    parts = []
    for b in range(lo // BLOCK, (hi - 1) // BLOCK + 1):
        d = draw_block(plan, b)
        a, z = max(lo - b * BLOCK, 0), min(hi - b * BLOCK, BLOCK)
        parts.append(Draws(z - a, d.u_lead[a:z], d.demand[a:z], d.planned[a:z], d.up[a:z], d.fail_pos[a:z]))
    return Draws.concat(parts)


def threads() -> int:
    """Threads the compiled loop runs on: ``FLUXWISE_THREADS``, else the CPUs this process may use."""
    env = os.environ.get("FLUXWISE_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _outputs(a: _Arrays, n: int, T: int, keep_inv: bool, trace: bool) -> dict:
    I, G = a.itm_f.shape[0], len(a.grp_n)
    tr = (n, T, I) if trace else (1, 1, 1)
    return {
        "item": np.zeros((n, I, K.N_STAT)),
        "lane": np.zeros((n, I, a.ln_f.shape[1], K.N_LANE_STAT)),
        "group": np.zeros((n, max(G, 1), K.N_GROUP_STAT)),
        "inventory": np.zeros((n, T, I) if keep_inv else (1, 1, 1), dtype=np.float32),
        "receipts": np.zeros(tr, dtype=np.float32),
        "level": np.zeros(tr, dtype=np.float32),
    }


def _simulate_block(
    plan: SupplyPlan,
    a: _Arrays,
    lo: int,
    hi: int,
    out: dict,
    off: int,
    keep_inv: bool,
    trace: bool,
    python: bool = False,
) -> None:
    """Draw the random numbers of replications lo..hi−1 and simulate them into ``out`` rows lo−off..hi−off
    (numpy draws and the compiled loop both release the GIL, so blocks run in parallel threads)."""
    d = _draws(plan, lo, hi)
    n = hi - lo
    demand = d.demand[:, :, a.dem_cols] if len(a.dem_cols) else np.zeros((n, 1, 1))
    rows = slice(lo - off, hi - off)
    kept = (
        {"item", "lane", "group"}
        | ({"inventory"} if keep_inv else set())
        | ({"receipts", "level"} if trace else set())
    )
    view = {k: (v[rows] if k in kept else v) for k, v in out.items()}
    args = (
        plan.horizon,
        int(plan.warmup),
        a.max_delay,
        a.itm_f,
        a.itm_i,
        a.level,
        a.fc,
        a.ln_f,
        a.ln_i,
        a.src_f,
        a.src_i,
        a.src_tab,
        a.wadj,
        a.grp_items,
        a.grp_n,
        d.u_lead,
        np.ascontiguousarray(demand),
        d.planned,
        d.up,
        d.fail_pos,
        view["item"],
        view["lane"],
        view["group"],
        view["inventory"],
        view["receipts"],
        view["level"],
        keep_inv,
        trace,
    )
    if python:  # the plain per-replication Python loop (benchmark baseline)
        for r in range(n):
            K.simulate_rep.py_func(r, *args)
    else:
        K.simulate_range(0, n, *args)


def _blocks(lo: int, hi: int) -> list[tuple[int, int]]:
    """lo..hi−1 cut at the random blocks' edges."""
    out, b = [], lo
    while b < hi:
        e = min((b // BLOCK + 1) * BLOCK, hi)
        out.append((b, e))
        b = e
    return out


def _run_chunk(task) -> dict:
    """Simulate replications lo..hi−1 on one thread (a module-level function, so that process pools
    and Dask can run it; the executor gives the parallelism)."""
    plan, arrays, lo, hi, keep_inv, trace = task
    out = _outputs(arrays, hi - lo, plan.horizon, keep_inv, trace)
    for a, b in _blocks(lo, hi):
        _simulate_block(plan, arrays, a, b, out, lo, keep_inv, trace)
    return out


@dataclass
class Simulation:
    """Per-replication outputs of one simulation and the figures computed from them."""

    plan: SupplyPlan
    runs: list
    item: np.ndarray  # [R, I, N_STAT]
    lane: np.ndarray  # [R, I, K, N_LANE_STAT]
    group: np.ndarray  # [R, G, N_GROUP_STAT]
    lanes: list
    inventory: np.ndarray | None = None  # [R, T, I] stock on hand at the end of each period
    starting_stock: np.ndarray | None = None  # [I] units on hand at the start (resolved from the policy)
    receipts: np.ndarray | None = None
    level: np.ndarray | None = None

    @property
    def replications(self) -> int:
        return self.item.shape[0]

    def stat(self, i: int, s: int) -> np.ndarray:
        return self.item[:, i, s]

    # -- figures with standard errors
    def service(self, i: int) -> dict:
        """Fill rate, cycle service level, batch availability, stock-out figures of run i (with SEs)."""
        R = self.replications
        dem, srv = self.stat(i, K.S_DEMAND), self.stat(i, K.S_SERVED)
        per, so = self.stat(i, K.S_PERIODS), self.stat(i, K.S_STOCKOUT)
        fr, fr_se = _ratio(srv, dem)
        csl_r = 1.0 - so / np.maximum(per, 1)
        needs, short = self.stat(i, K.S_BATCH_NEEDS), self.stat(i, K.S_BATCH_SHORT)
        ba, ba_se = _ratio(needs - short, needs)
        p_so = float(np.mean(so > 0))
        return {
            "fill_rate": fr,
            "fill_rate_se": fr_se,
            "cycle_service_level": float(csl_r.mean()),
            "cycle_service_level_se": _se(csl_r),
            "batch_availability": ba,
            "batch_availability_se": ba_se,
            "p_stockout": p_so,
            "p_stockout_se": math.sqrt(p_so * (1 - p_so) / R),
            "stockout_periods_mean": float(so.mean()),
            "stockout_periods_mean_se": _se(so),
        }

    def csl(self) -> np.ndarray:
        """Cycle service level of every run (vector)."""
        so, per = self.item[:, :, K.S_STOCKOUT], self.item[:, :, K.S_PERIODS]
        return 1.0 - np.mean(so / np.maximum(per, 1), axis=0)

    def campaign(self, g: int = 0) -> dict:
        """Joint batch figures of group ``g`` (per replication means with SEs)."""
        R = self.replications
        if self.group.shape[1] <= g:
            return {}
        x = self.group[:, g, :]
        planned, ontime = x[:, K.G_PLANNED], x[:, K.G_ONTIME]
        delayed = x[:, K.G_DELAYED] + x[:, K.G_WAITING]
        lost = x[:, K.G_LOST]
        anyd = (delayed + lost) > 0
        p = float(anyd.mean())
        bs, bs_se = _ratio(ontime, planned)
        return {
            "batches_planned": float(planned.mean()),
            "batches_planned_se": _se(planned),
            "batches_started_mean": float(x[:, K.G_STARTED].mean()),
            "batches_on_time_mean": float(ontime.mean()),
            "batches_delayed_mean": float(delayed.mean()),
            "batches_delayed_mean_se": _se(delayed),
            "batches_lost_mean": float(lost.mean()),
            "batches_lost_mean_se": _se(lost),
            "batches_waiting_at_end_mean": float(x[:, K.G_WAITING].mean()),
            "delay_periods_per_delayed_batch": (
                float(x[:, K.G_DELAY_SUM].sum() / x[:, K.G_DELAYED].sum())
                if x[:, K.G_DELAYED].sum() > 0
                else 0.0
            ),
            "p_any_batch_delayed": p,
            "p_any_batch_delayed_se": math.sqrt(p * (1 - p) / R),
            "p_no_batch_delay": 1.0 - p,
            "p_no_batch_delay_se": math.sqrt(p * (1 - p) / R),
            "batch_service": bs,
            "batch_service_se": bs_se,
        }


def _se(x: np.ndarray) -> float:
    n = len(x)
    return float(np.std(x, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


def _ratio(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """Σnum/Σden and its delta-method standard error over replications."""
    n, d = float(num.sum()), float(den.sum())
    if d <= 0:
        return float("nan"), float("nan")
    q = n / d
    if len(num) < 2:
        return q, float("nan")
    resid = num - q * den
    return q, float(np.std(resid, ddof=1) / math.sqrt(len(num)) / np.mean(den))


def simulate(
    plan: SupplyPlan,
    runs: list[ItemRun] | None = None,
    *,
    replications: int | None = None,
    executor=None,
    progress: bool = False,
    keep_inventory: bool = False,
    trace: bool = False,
    python: bool = False,
    desc: str = "supply",
) -> Simulation:
    """Simulate ``runs`` (default: the plan's items, coupled) over ``replications`` (default: the plan's).

    Parameters
    ----------
    executor : fluxwise.compute.Executor, optional
        Where chunks of 2,000 replications run (default: in this process, replications in parallel
        threads). The results do not depend on it.
    keep_inventory : bool
        Keep the stock on hand of every period (``Simulation.inventory``, for fans and percentiles).
    trace : bool
        Also keep receipts and inventory levels per period (tests).
    python : bool
        Run the uncompiled per-replication loop instead (benchmark baseline; slow).
    """
    runs = default_runs(plan) if runs is None else list(runs)
    R = int(plan.replications if replications is None else replications)
    arrays = _compile(plan, runs)
    T = plan.horizon
    if executor is None or python:
        out = _outputs(arrays, R, T, keep_inventory, trace)
        blocks = _blocks(0, R)
        bar = None
        if progress and len(blocks) > 1:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(blocks), desc=desc, unit="block", dynamic_ncols=True)
        nt = 1 if python else min(threads(), len(blocks))
        try:
            if nt == 1:
                for lo, hi in blocks:
                    _simulate_block(plan, arrays, lo, hi, out, 0, keep_inventory, trace, python=python)
                    if bar is not None:
                        bar.update(1)
            else:
                with ThreadPoolExecutor(max_workers=nt) as pool:
                    futures = [
                        pool.submit(_simulate_block, plan, arrays, lo, hi, out, 0, keep_inventory, trace)
                        for lo, hi in blocks
                    ]
                    for f in futures:
                        f.result()
                        if bar is not None:
                            bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    else:
        size = CHUNK_BLOCKS * BLOCK
        tasks = [(plan, arrays, lo, min(lo + size, R), keep_inventory, trace) for lo in range(0, R, size)]
        parts = executor.map_chunks(_run_chunk, tasks, progress=progress, total=len(tasks), desc=desc)
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    G = len(arrays.grp_n)
    return Simulation(
        plan=plan,
        runs=runs,
        item=out["item"],
        lane=out["lane"],
        group=out["group"][:, :G],
        lanes=arrays.lanes,
        inventory=out["inventory"] if keep_inventory else None,
        receipts=out["receipts"] if trace else None,
        level=out["level"] if trace else None,
        starting_stock=arrays.itm_f[:, K.F_START].copy(),
    )


def replace_policy(run: ItemRun, **numbers) -> ItemRun:
    return replace(run, policy=replace(run.policy, **numbers))
