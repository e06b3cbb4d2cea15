"""The parts of a supply plan: batches, sources with their lead times and outages, items with their
demand, and stock policies — each read from its mapping of the plan file.

:func:`fluxwise.io.supply.parse_plan` reads the plan-level keys and calls these readers; ``_Plan`` is
the reading state they share (the file, the review period, the assumptions to report). Every error
names the file, the place (plan, source or item) and the key, and says what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..errors import InputError, UnitError
from ..supply.model import (
    LEAD_TIME_KINDS,
    POLICY_TYPES,
    Allocation,
    Batches,
    Expedite,
    Item,
    LeadTime,
    Outage,
    Policy,
    Source,
    Window,
)
from ..units import parse_quantity
from .train import _Fields

_BATCH = {
    "per_week",
    "per_period",
    "schedule",
    "calendar",
    "slip",
    "failure_probability",
    "shutdowns",
    "max_batch_delay",
    "batch_value",
}
_SOURCE = {
    "label",
    "route",
    "lead_time",
    "qc_release",
    "crossing",
    "outage",
    "upstream",
    "disruptions",
    "allocation",
    "unit_price",
    "price_factor",
    "order_cost",
    "moq",
    "pack_size",
    "remaining_shelf_life_at_receipt",
    "qualified",
    "qualification_time",
    "notes",
}
_ITEM = {
    "source",
    "split",
    "rule",
    "per_batch",
    "reuses",
    "spares_per_batch",
    "scrap_rate",
    "demand_per_period",
    "shelf_life",
    "min_shelf_life_at_use",
    "starting_stock",
    "holding_rate",
    "shortage_cost",
    "unit_price",
    "plastic_kg",
    "co2e_kg_per_unit",
    "policy",
    "expedite",
    "notes",
}
_POLICY = {
    "type",
    "base_stock",
    "S",
    "s",
    "r",
    "Q",
    "cover",
    "weeks",
    "periods",
    "safety_stock",
    "target_service",
}


class _Plan:
    """Reading state: the file, the period, the factors and the routes' defaults."""

    def __init__(self, source: str, period_h: float):
        self.source, self.period_h = source, period_h
        self.assumptions: list[dict] = []

    def fields(self, data, label: str, allowed: set[str]) -> _Fields:
        if not isinstance(data, Mapping):
            raise InputError(f"{label}: expected a mapping, got {data!r}", source=self.source)
        f = _Fields(data, source=self.source, label=label, allowed=allowed)
        f.check_keys()
        return f

    def periods(self, f: _Fields, key: str, *, required=False, allow_zero=True, what="") -> float | None:
        """A time quantity in review periods."""
        h = f.quantity(key, "time", required=required, allow_zero=allow_zero, what=what)
        return None if h is None else h / self.period_h

    def whole_periods(self, f: _Fields, key: str, **kw) -> int | None:
        v = self.periods(f, key, **kw)
        return None if v is None else int(round(v))

    def fraction(self, f: _Fields, key: str, *, allow_zero=False) -> float | None:
        """A number in (0, 1) — [0, 1) with ``allow_zero`` — as 0.95 or '95 %'."""
        v = f.number(key, allow_zero=allow_zero, upper=1.0)
        if v is not None and v >= 1.0:
            raise f.error(key, f"must be below 1, got {f.raw(key)!r}")
        return v

    def window(self, raw, label: str, key: str) -> Window:
        w = self.fields(raw, label, {"start", "duration", "end"})
        start = self.whole_periods(w, "start", required=True, what="e.g. '30 weeks'")
        if w.has("duration") == w.has("end"):
            raise w.error("duration", "give the window's 'duration' (e.g. '12 weeks') or its 'end'")
        end = (
            start + self.whole_periods(w, "duration", allow_zero=False)
            if w.has("duration")
            else self.whole_periods(w, "end")
        )
        if end <= start:
            raise w.error("end", "a window must end after it starts")
        return Window(start, end)


def _positive_int(f: _Fields, key: str, default: int | None = None) -> int | None:
    v = f.number(key, integer=True)
    if v is None:
        return default
    if v < 1:
        raise f.error(key, f"must be at least 1, got {f.raw(key)!r}")
    return int(v)


def _batches(P: _Plan, top: _Fields, has_train: bool) -> Batches | None:
    raw = top.raw("batches")
    value = top.number("batch_value", allow_zero=True)
    if raw is None:
        return None
    b = P.fields(raw, "batches", _BATCH)
    if value is None:
        value = b.number("batch_value", allow_zero=True)
    per = b.number("per_week", allow_zero=True)
    if per is not None:
        per = per * P.period_h / 168.0
    per_p = b.number("per_period", allow_zero=True)
    if per is not None and per_p is not None:
        raise b.error("per_period", "give per_week or per_period, not both")
    per = per if per is not None else per_p
    schedule = b.text("schedule", choices=("fixed", "poisson"), default="fixed")
    cal_raw = b.raw("calendar")
    shutdowns = tuple(
        P.window(w, f"batches, shutdown {k}", "shutdowns")
        for k, w in enumerate(_list(b, "shutdowns"), start=1)
    )
    slip_p, slip_by = 0.0, 1
    slip = b.raw("slip")
    if slip is not None:
        sf = P.fields(slip, "batches.slip", {"probability", "by"})
        slip_p = sf.number("probability", allow_zero=True, upper=1.0) or 0.0
        slip_by = P.whole_periods(sf, "by", allow_zero=False) or 1
    fail_p = b.number("failure_probability", allow_zero=True, upper=1.0) or 0.0
    delay = P.periods(b, "max_batch_delay")
    common = dict(
        shutdowns=shutdowns,
        max_delay=math.inf if delay is None else delay,
        value=value or 0.0,
        slip_probability=slip_p,
        slip_periods=slip_by,
        failure_probability=fail_p,
    )
    if cal_raw is not None:
        if per is not None:
            raise b.error("calendar", "give a calendar or a rate (per_week), not both")
        return Batches(kind="calendar", calendar=_calendar(P, b, cal_raw), **common)
    if per is None:
        raise b.error("per_week", "missing the batch starts: per_week (e.g. 1.5) or a calendar")
    if slip is not None or fail_p:
        raise b.error("slip", "slip and failure odds apply to a calendar of batches")
    return Batches(kind=schedule, per_period=per, **common)


def _calendar(P: _Plan, b: _Fields, raw) -> tuple[int, ...]:
    if isinstance(raw, Mapping):
        c = P.fields(raw, "batches.calendar", {"start", "every", "count", "until"})
        start = P.whole_periods(c, "start") or 0
        every = P.periods(c, "every", required=True, allow_zero=False, what="e.g. '1 week'")
        count = c.number("count", integer=True)
        until = P.periods(c, "until")
        if (count is None) == (until is None):
            raise c.error("count", "give the number of batches ('count') or the calendar's end ('until')")
        if count is None:
            count = int(math.floor((until - start) / every + 1e-9)) + 1
        return tuple(int(round(start + k * every)) for k in range(int(count)))
    if not isinstance(raw, list) or not raw:
        raise b.error(
            "calendar",
            "expected a list of batch start times (e.g. ['0 weeks', '1 week']) or {start, every, count}",
        )
    out = []
    for k, v in enumerate(raw, start=1):
        try:
            out.append(int(round(parse_quantity(v, "time", field="calendar") / P.period_h)))
        except UnitError as exc:
            raise b.error("calendar", f"entry {k}: {exc.message}", UnitError) from None
    return tuple(sorted(out))


def _list(f: _Fields, key: str) -> list:
    raw = f.raw(key)
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        return [raw]
    if not isinstance(raw, list):
        raise f.error(key, "expected a list of windows, e.g. [{start: 30 weeks, duration: 12 weeks}]")
    return raw


def _outage(P: _Plan, raw, label: str) -> Outage:
    o = P.fields(raw, label, {"mtbf", "mttr"})
    mtbf = P.periods(
        o, "mtbf", required=True, allow_zero=False, what="mean time between failures, e.g. '26 weeks'"
    )
    mttr = P.periods(o, "mttr", required=True, allow_zero=False, what="mean time to repair, e.g. '3 weeks'")
    for key, v in (("mtbf", mtbf), ("mttr", mttr)):
        if v < 1:
            raise o.error(key, f"must be at least one period ({P.period_h:g} h), got {o.raw(key)!r}")
    return Outage(mtbf, mttr)


def _lead_time(P: _Plan, f: _Fields, raw, route_lt: dict | None, label: str) -> LeadTime:
    """A lead time from a plan or a route default: a mapping, a list of observations, a quantity."""
    if isinstance(raw, list):
        if not raw:
            raise f.error("lead_time", "an empirical lead time needs at least one observed lead time")
        vals = []
        for k, v in enumerate(raw, start=1):
            try:
                vals.append(parse_quantity(v, "time", field="lead_time") / P.period_h)
            except UnitError as exc:
                raise f.error("lead_time", f"observation {k}: {exc.message}", UnitError) from None
        if any(v < 0 for v in vals):
            raise f.error("lead_time", "observed lead times must be zero or positive")
        return LeadTime.empirical(vals, source=f"{P.source}: {len(vals)} observed lead times")
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        h = f.quantity("lead_time", "time", allow_zero=True)
        return LeadTime("constant", h / P.period_h, 0.0, source=f"{P.source}: {label}")
    lt = P.fields(raw, f"{label}, lead_time", {"distribution", "mean", "sd", "cv", "source"})
    kind = lt.text("distribution", default="normal")
    if kind not in LEAD_TIME_KINDS or kind == "empirical":
        raise lt.error(
            "distribution",
            f"'{kind}' is not one of normal, gamma, lognormal, constant (or give a "
            "list of observed lead times)",
        )
    mean = P.periods(lt, "mean", required=True, what="e.g. '10 weeks'")
    if lt.has("sd") and lt.has("cv"):
        raise lt.error("cv", "give sd or cv, not both")
    if lt.has("cv"):
        sd = mean * lt.number("cv", allow_zero=True)
    else:
        sd = P.periods(lt, "sd")
        if sd is None:
            if kind != "constant":
                raise lt.error("sd", "missing 'sd' (e.g. '2 weeks') or 'cv' (e.g. 0.25) of the lead time")
            sd = 0.0
    if kind in ("gamma", "lognormal") and sd > 0 and mean <= 0:
        raise lt.error("mean", f"a {kind} lead time needs a positive mean")
    return LeadTime(kind, mean, sd, source=str(lt.raw("source") or f"{P.source}: {label}"))


def _source(P: _Plan, name: str, raw, factors, routes: dict, upstreams: dict) -> Source:
    f = P.fields(raw or {}, f"source '{name}'", _SOURCE)
    route = f.text("route")
    if route is not None and route not in factors.routes:
        raise f.error("route", f"unknown route '{route}' (routes: {', '.join(factors.routes)})")
    rdef = routes.get(route or "", {}) if route else {}
    lt_raw = f.raw("lead_time")
    if lt_raw is None or (isinstance(lt_raw, str) and lt_raw.strip() in ("route", "disrupted")):
        which = (
            "lead_time_disrupted"
            if isinstance(lt_raw, str) and lt_raw.strip() == "disrupted"
            else "lead_time"
        )
        if route is None or not isinstance(rdef.get(which), Mapping):
            raise f.error(
                "lead_time",
                "missing the lead time (e.g. {distribution: gamma, mean: 10 weeks, sd: "
                "2 weeks}), or a 'route' of the factors file with a default "
                f"{which}",
            )
        rf = _Fields(rdef[which], source=str(factors.source), label=f"routes.{route}.{which}")
        lt = _lead_time(P, rf, dict(rdef[which]), None, f"route {route}")
    else:
        lt = _lead_time(P, f, lt_raw, None, f"source '{name}'")
    outage = _outage(P, f.raw("outage"), f"source '{name}', outage") if f.has("outage") else None
    upstream = f.text("upstream")
    if upstream is not None and upstream not in upstreams:
        raise f.error(
            "upstream", f"unknown upstream '{upstream}' (upstreams: {', '.join(upstreams) or 'none'})"
        )
    windows = tuple(
        P.window(w, f"source '{name}', disruption {k}", "disruptions")
        for k, w in enumerate(_list(f, "disruptions"), start=1)
    )
    alloc = None
    if f.has("allocation"):
        a = P.fields(
            f.raw("allocation"),
            f"source '{name}', allocation",
            {"fraction", "window", "start", "duration", "end"},
        )
        frac = a.number(
            "fraction",
            required=True,
            allow_zero=True,
            upper=1.0,
            what="share of the usual requirement the source still ships, e.g. 0.5",
        )
        w_raw = a.raw("window") if a.has("window") else {k: v for k, v in a.data.items() if k != "fraction"}
        w = P.window(w_raw, f"source '{name}', allocation window", "allocation")
        alloc = Allocation(frac, w.start, w.end)
    price = f.number("unit_price", allow_zero=True)
    pf = f.number("price_factor")
    if price is not None and pf is not None:
        raise f.error("price_factor", "give unit_price or price_factor, not both")
    fr_co2 = fr_cost = 0.0
    if route is not None:
        r = factors.routes[route]
        pack = factors.assumptions["shipping_mass_per_plastic_kg"].value
        fr_co2 = pack / 1000.0 * sum(km * factors.freight[m].value for m, km in r.km.items())
        fc = rdef.get("freight_cost_per_kg")
        if isinstance(fc, Mapping) and fc.get("value") is not None:
            fr_cost = float(fc["value"]) * pack
    pack_size = f.number("pack_size") or 1.0
    if pack_size != int(pack_size):
        raise f.error("pack_size", f"expected a whole number of units, got {f.raw('pack_size')!r}")
    moq = f.number("moq", allow_zero=True) or 0.0
    qualified = f.flag("qualified", default=True)
    qt = P.periods(f, "qualification_time") or 0.0
    if qualified and qt:
        raise f.error(
            "qualification_time",
            "a qualified source needs no qualification time (set qualified: "
            "false for a backup that is not qualified yet)",
        )
    return Source(
        name=name,
        lead_time=lt,
        qc_release=P.periods(f, "qc_release") or 0.0,
        crossing=f.flag("crossing"),
        outage=outage,
        upstream=upstream,
        windows=windows,
        allocation=alloc,
        unit_price=price,
        price_factor=1.0 if pf is None else pf,
        order_cost=f.number("order_cost", allow_zero=True) or 0.0,
        moq=moq,
        pack_size=pack_size,
        remaining_shelf_life=P.periods(f, "remaining_shelf_life_at_receipt"),
        qualified=qualified,
        qualification_time=qt,
        route=route,
        freight_kg_co2e_per_kg=fr_co2,
        freight_cost_per_kg=fr_cost,
        label=f.text("label") or (factors.routes[route].label if route else name),
    )


def _policy(P: _Plan, raw, label: str, default_target: float) -> Policy:
    if raw is None:
        return Policy("base-stock", target_service=default_target)
    if isinstance(raw, str):
        t = raw.strip()
        if t not in POLICY_TYPES:
            raise InputError(
                f"{label}: unknown policy '{t}' (one of {', '.join(POLICY_TYPES)}, or cover: N weeks)",
                source=P.source,
                field="policy",
            )
        return Policy(t, target_service=default_target)
    f = P.fields(raw, f"{label}, policy", _POLICY)
    t = f.text("type") or ("cover" if f.has("cover") else None)
    if t is None:
        raise f.error("type", f"missing the policy type ({', '.join(POLICY_TYPES)})")
    if t not in POLICY_TYPES:
        raise f.error("type", f"unknown policy '{t}' (one of {', '.join(POLICY_TYPES)})")
    target = P.fraction(f, "target_service")

    def units(key):
        return f.number(key, allow_zero=True, positive=key not in ("s", "r", "safety_stock"))

    p = Policy(
        t,
        base_stock=units("base_stock"),
        s=units("s"),
        S=units("S"),
        r=units("r"),
        Q=units("Q"),
        safety_stock=units("safety_stock"),
        target_service=target,
    )
    allowed = {
        "base-stock": {"base_stock"},
        "s-S": {"s", "S"},
        "r-Q": {"r", "Q"},
        "cover": {"cover", "weeks", "periods", "safety_stock"},
    }[t]
    for key in ("base_stock", "s", "S", "r", "Q", "cover", "weeks", "periods", "safety_stock"):
        if f.has(key) and key not in allowed:
            raise f.error(
                key, f"'{key}' is not a number of a {t} policy (its numbers: {', '.join(sorted(allowed))})"
            )
    if t == "cover":
        n = None
        given = [k for k in ("cover", "weeks", "periods") if f.has(k)]
        if len(given) > 1:
            raise f.error(given[1], "give the cover once (cover: 8 weeks)")
        if given:
            k = given[0]
            if k == "cover":
                n = P.periods(f, "cover", allow_zero=False)
            elif k == "weeks":
                n = f.number("weeks") * 168.0 / P.period_h
            else:
                n = f.number("periods")
        if n is not None and p.safety_stock is not None:
            raise f.error(
                "safety_stock", "give the cover in weeks or a safety stock over the lead time, not both"
            )
        p = Policy("cover", cover_periods=n, safety_stock=p.safety_stock, target_service=target)
    if not p.complete and target is None:
        p = Policy(
            p.type,
            base_stock=p.base_stock,
            s=p.s,
            S=p.S,
            r=p.r,
            Q=p.Q,
            cover_periods=p.cover_periods,
            safety_stock=p.safety_stock,
            target_service=default_target,
        )
    if t == "s-S" and p.s is not None and p.S is not None and p.S < p.s:
        raise f.error("S", f"S ({p.S:g}) must be at least s ({p.s:g})")
    if t == "s-S" and (p.S is not None) and p.s is None:
        raise f.error("s", "give s with S (or neither, with a target_service)")
    if t == "r-Q" and p.Q is not None and p.Q <= 0:
        raise f.error("Q", "must be positive")
    return p


def _item(
    P: _Plan,
    name: str,
    raw,
    from_train: dict | None,
    default_source,
    default_target,
    known_source,
    batches,
    train_items,
) -> Item:
    label = f"item '{name}'"
    f = P.fields(raw, label, _ITEM)
    explicit = f.has("per_batch") or f.has("demand_per_period")
    if from_train is None and not explicit:
        consumed = ", ".join(train_items) or "none (no train)"
        raise f.error(
            "items",
            f"'{name}' is not consumed by the train (its consumables: {consumed}) and has no "
            "per_batch or demand_per_period",
        )
    if from_train is not None and f.has("per_batch"):
        raise f.error(
            "per_batch",
            "the train says what this item takes per batch; drop per_batch (or name the "
            "item differently to add another one)",
        )
    src_raw = f.raw("source")
    if src_raw is None:
        if default_source is None:
            raise f.error("source", "missing the item's source (or a plan-wide default_source)")
        src_raw = default_source
    srcs = [src_raw] if isinstance(src_raw, str) else src_raw
    if not isinstance(srcs, list) or not srcs or not all(isinstance(s, str) for s in srcs):
        raise f.error("source", "expected a source name or a list of source names")
    srcs = [known_source(s, f, "source") for s in srcs]
    split = f.raw("split")
    rule = f.text("rule", choices=("single", "split", "backup"))
    fractions: tuple[float, ...] = ()
    if split is not None:
        if not isinstance(split, list) or len(split) != len(srcs):
            raise f.error("split", f"expected one fraction per source ({len(srcs)})")
        try:
            fractions = tuple(float(x) for x in split)
        except (TypeError, ValueError):
            raise f.error("split", "expected numbers, e.g. [0.7, 0.3]") from None
        if any(x < 0 for x in fractions) or abs(sum(fractions) - 1) > 1e-6:
            raise f.error("split", f"fractions must be zero or positive and add up to 1, got {split}")
        if rule not in (None, "split"):
            raise f.error("rule", "a split is the 'split' rule")
        rule = "split"
    if rule is None:
        rule = "single" if len(srcs) == 1 else "backup"
    if rule == "single" and len(srcs) > 1:
        raise f.error("rule", "one source for the 'single' rule")
    if rule == "split" and not fractions:
        raise f.error("split", "the split rule needs its fractions, e.g. split: [0.7, 0.3]")
    per_set = f.number("per_batch", allow_zero=True) if from_train is None else from_train["per_set"]
    reuses = _positive_int(f, "reuses", from_train["reuses"] if from_train else 1)
    dmean = dsd = 0.0
    ddist = "normal"
    if f.has("demand_per_period"):
        d = P.fields(
            f.raw("demand_per_period"), f"{label}, demand_per_period", {"mean", "sd", "distribution"}
        )
        dmean = d.number("mean", required=True, allow_zero=True, what="units per period")
        ddist = d.text("distribution", choices=("normal", "poisson"), default="normal")
        dsd = d.number("sd", allow_zero=True)
        if ddist == "normal" and dsd is None:
            raise d.error("sd", "missing 'sd' (units per period) of a normal demand")
        if ddist == "poisson" and dsd is not None:
            raise d.error("sd", "a Poisson demand has sd √mean; drop 'sd'")
        dsd = dsd or 0.0
    shelf = P.periods(f, "shelf_life", allow_zero=False)
    min_life = P.periods(f, "min_shelf_life_at_use") or 0.0
    if shelf is not None and min_life >= shelf:
        raise f.error("min_shelf_life_at_use", "must be shorter than the shelf life")
    holding = f.number("holding_rate", allow_zero=True)
    holding = 0.2 if holding is None else holding
    start = f.raw("starting_stock")
    start = (
        None
        if start is None or (isinstance(start, str) and start.strip() == "policy")
        else f.number("starting_stock", allow_zero=True)
    )
    exp = None
    if f.has("expedite"):
        e = P.fields(f.raw("expedite"), f"{label}, expedite", {"source", "when", "within"})
        es = known_source(
            e.text("source", required=True, what="the faster source, e.g. europe-korea-air"), e, "source"
        )
        when = e.raw("when")
        if when is not None:
            w = P.fields(when, f"{label}, expedite.when", {"projected_stockout_within"})
            within = P.periods(w, "projected_stockout_within", required=True, allow_zero=False)
        else:
            within = P.periods(
                e,
                "within",
                required=True,
                allow_zero=False,
                what="expedite when a stock-out is projected within this time, e.g. '4 weeks'",
            )
        exp = Expedite(es, max(int(math.ceil(within - 1e-9)), 1))
    price = f.number("unit_price", allow_zero=True)
    plastic = f.number("plastic_kg", allow_zero=True)
    co2 = f.number("co2e_kg_per_unit", allow_zero=True)
    base = from_train or {}
    return Item(
        name=name,
        sources=tuple(srcs),
        policy=_policy(P, f.raw("policy"), label, default_target),
        rule=rule,
        split=fractions,
        per_set=float(per_set or 0.0),
        reuses=reuses,
        spares_per_batch=f.number("spares_per_batch", allow_zero=True) or 0.0,
        scrap_rate=P.fraction(f, "scrap_rate", allow_zero=True) or 0.0,
        demand_mean=dmean,
        demand_sd=dsd,
        demand_dist=ddist,
        shelf_life=shelf,
        min_shelf_life_at_use=min_life,
        starting_stock=start,
        holding_rate=holding * P.period_h / 8766.0,
        shortage_cost=f.number("shortage_cost", allow_zero=True) or 0.0,
        unit_price=price if price is not None else base.get("unit_price", 0.0),
        plastic_kg=plastic if plastic is not None else base.get("plastic_kg", 0.0),
        co2e_kg_per_unit=co2 if co2 is not None else base.get("co2e_kg_per_unit", 0.0),
        expedite=exp,
        step=base.get("step", ""),
        description=base.get("what", ""),
    )
