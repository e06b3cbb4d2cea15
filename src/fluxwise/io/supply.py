"""Read a supply plan (one YAML file) into :class:`fluxwise.supply.model.SupplyPlan`.

Every key is documented in ``docs/supply.md``. Quantities carry their units (``"104 weeks"``,
``"3 months"``, ``"2 weeks"``) and are converted here, once, through the project's pint registry,
into review periods; counts are whole units. The consumables a batch takes come from the train
(``train: TRAIN.yaml``, designed with :func:`fluxwise.design.train.design_train`: the filters of
each step, the UF cassettes with their reuses, their prices, plastic and CO2e); explicit items may
be added or replace them. Default lead times, freight CO2e and freight cost per route come from
the factors file (``routes.<id>.lead_time``), each with its source.

Every error names the file, the place (plan, source or item) and the key, and says what was
expected: an unknown source, a negative sd, an item the train does not consume, a key that is not
understood (a typo would otherwise be ignored).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from ..errors import FluxwiseError, InputError, UnitError
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
    SupplyPlan,
    Window,
)
from ..units import parse_quantity
from .train import _Fields, _unprefixed, default_factors_path, load_uploaded_yaml, read_factors

__all__ = [
    "read_plan",
    "parse_plan",
    "parse_uploaded_plan",
    "plan_references",
    "MAX_PLAN_BYTES",
    "PLAN_EXTENSIONS",
    "route_defaults",
]

MAX_PLAN_BYTES = 1024 * 1024
PLAN_EXTENSIONS = (".yaml", ".yml")

_TOP = {
    "name",
    "description",
    "notes",
    "horizon",
    "period",
    "replications",
    "search_replications",
    "seed",
    "warmup",
    "currency",
    "factors",
    "train",
    "batches",
    "batch_value",
    "target_service",
    "batch_service",
    "batch_service_kind",
    "default_source",
    "sources",
    "upstreams",
    "items",
    "compare",
}
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


# ---------------------------------------------------------------------------------- routes


def route_defaults(factors_path) -> dict[str, dict]:
    """Supply defaults of each route of a factors file: ``lead_time``, ``lead_time_disrupted``
    (mappings as in a plan) and ``freight_cost_per_kg`` (a factor), with their sources."""
    path = Path(factors_path) if factors_path is not None else default_factors_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    routes = data.get("routes") if isinstance(data, Mapping) else None
    out = {}
    for rid, r in (routes or {}).items():
        if rid == "default" or not isinstance(r, Mapping):
            continue
        out[str(rid)] = {k: r.get(k) for k in ("lead_time", "lead_time_disrupted", "freight_cost_per_kg")}
    return out


# --------------------------------------------------------------------------------- reading


def read_plan(path, *, replications=None, seed=None, train_design=None) -> SupplyPlan:
    """Read a supply plan file (YAML); the train and factors it names are relative to its folder."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputError("supply plan file not found", source=src)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", source=src) from None
    except UnicodeDecodeError:
        raise InputError("the plan file is not UTF-8 text", source=src) from None
    return parse_plan(
        data,
        source=src,
        base_dir=path.parent,
        replications=replications,
        seed=seed,
        train_design=train_design,
    )


def plan_references(data) -> list[str]:
    """The files a plan names (train, factors): for uploads, each must be uploaded with it."""
    if not isinstance(data, Mapping):
        return []
    return [str(data[k]) for k in ("train", "factors") if isinstance(data.get(k), str)]


def parse_uploaded_plan(
    plan_name: str,
    plan_bytes: bytes,
    files: Mapping[str, bytes],
    *,
    replications=None,
    seed=None,
    train_design=None,
) -> SupplyPlan:
    """A plan uploaded as YAML bytes with the files it names (its train, the train's trial files, a
    factors file), by their bare names: nothing of the server's file system can be read. The files
    live in a temporary folder only while the plan is read."""
    if not plan_name.lower().endswith(PLAN_EXTENSIONS):
        raise InputError("a supply plan is YAML (.yaml or .yml)", source=plan_name)
    data = load_uploaded_yaml(plan_name, plan_bytes, files, what="plan", max_bytes=MAX_PLAN_BYTES)
    for key, ref in (
        ("train", data.get("train") if isinstance(data, Mapping) else None),
        ("factors", data.get("factors") if isinstance(data, Mapping) else None),
    ):
        if ref is not None and str(ref) not in files and not (key == "train" and train_design is not None):
            raise InputError(
                f"'{ref}' is not among the uploaded files (upload it with the plan, by its bare name)",
                source=plan_name,
                field=key,
            )
    with tempfile.TemporaryDirectory(prefix="fluxwise-supply-") as tmp:
        base = Path(tmp)
        prefix = f"{base}{os.sep}"
        for name, content in files.items():
            (base / name).write_bytes(content)
        try:
            return parse_plan(
                data,
                source=plan_name,
                base_dir=base,
                replications=replications,
                seed=seed,
                train_design=train_design,
            )
        except InputError as exc:
            raise type(exc)(
                _unprefixed(exc.message, prefix),
                source=_unprefixed(exc.source, prefix),
                row=exc.row,
                column=exc.column,
                field=exc.field,
            ) from None
        except FluxwiseError as exc:
            raise InputError(_unprefixed(str(exc), prefix), source=plan_name) from None


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


def parse_plan(
    data, *, source: str = "<plan>", base_dir=".", replications=None, seed=None, train_design=None
) -> SupplyPlan:
    """A :class:`SupplyPlan` from the mapping of a plan file (see :func:`read_plan` and docs/supply.md).

    ``replications`` and ``seed`` override the file's (the CLI's options); ``train_design`` is a
    designed train to take the consumables from instead of the file's ``train``.
    """
    if not isinstance(data, Mapping):
        raise InputError(
            "a supply plan is a mapping with horizon, sources and items (see docs/supply.md)", source=source
        )
    base = Path(base_dir)
    top = _Fields(data, source=source, label="plan", allowed=_TOP)
    top.check_keys()
    period_h = top.quantity("period", "time") or 168.0
    P = _Plan(source, period_h)
    horizon = P.periods(top, "horizon", required=True, allow_zero=False, what="e.g. '104 weeks'")
    if horizon < 1 - 1e-9:
        raise top.error("horizon", "must be at least one period")
    R = _positive_int(top, "replications", 10_000) if replications is None else replications
    if isinstance(R, int | float) and (R < 1 or int(R) != R):
        raise InputError(f"must be a whole number of at least 1, got {R!r}", field="replications")
    sd = top.number("seed", integer=True, allow_zero=True) if seed is None else seed
    try:
        sd = int(sd or 0)
    except (TypeError, ValueError):
        raise InputError(f"the seed must be a whole number, got {seed!r}", field="seed") from None
    if sd < 0:
        raise InputError(f"the seed must be zero or positive, got {sd}", field="seed")
    warmup = P.whole_periods(top, "warmup") or 0
    if warmup >= horizon:
        raise top.error("warmup", "the warm-up must be shorter than the horizon")
    search = _positive_int(top, "search_replications", 2000)
    factors_path = top.text("factors")
    factors_file = base / factors_path if factors_path else None
    if factors_file is not None and not factors_file.is_file():
        raise top.error("factors", f"factors file not found: {factors_path}")
    factors = read_factors(factors_file)
    routes = route_defaults(factors_file)

    # ---- the train: what each batch consumes
    design = train_design
    train_path = top.text("train")
    if design is None and train_path is not None:
        design = _design(base / train_path, top)
    train_items = _train_items(design) if design is not None else {}
    currency = top.text("currency") or (design.train.currency if design is not None else "USD")
    if design is not None and currency != design.train.currency:
        raise top.error(
            "currency", f"the train is costed in {design.train.currency}; the plan says {currency}"
        )

    batches = _batches(P, top, design is not None)
    default_target = P.fraction(top, "target_service")
    default_target = 0.95 if default_target is None else default_target
    if not 0 < default_target < 1:
        raise top.error("target_service", "must be between 0 and 1 (exclusive)")
    batch_service = P.fraction(top, "batch_service")
    kind = top.text("batch_service_kind", choices=("per-batch", "horizon"), default="per-batch")

    upstreams = {}
    up_raw = top.raw("upstreams")
    if up_raw is not None:
        if not isinstance(up_raw, Mapping):
            raise top.error("upstreams", "expected a mapping of name to {mtbf, mttr}")
        for name, raw in up_raw.items():
            upstreams[str(name)] = _outage(P, raw, f"upstream '{name}'")

    # ---- sources (named, plus routes used by name)
    src_raw = top.raw("sources") or {}
    if not isinstance(src_raw, Mapping):
        raise top.error("sources", "expected a mapping of source name to its settings")
    sources = {}
    for name, raw in src_raw.items():
        sources[str(name)] = _source(P, str(name), raw, factors, routes, upstreams)
    compare_raw = top.raw("compare")
    compare, compare_target = (), default_target
    if compare_raw is not None:
        cf = P.fields(compare_raw, "compare", {"sources", "target_service"})
        names = cf.raw("sources", required=True, what="a list of source or route names")
        if not isinstance(names, list) or not names:
            raise cf.error(
                "sources", "expected a list of source or route names, e.g. [local, europe-korea-sea]"
            )
        compare = tuple(str(n) for n in names)
        t = P.fraction(cf, "target_service")
        compare_target = default_target if t is None else t
    default_source = top.text("default_source")

    def known_source(name: str, where: _Fields, key: str) -> str:
        if name not in sources:
            if name in factors.routes:  # a route of the factors file used as a source with its defaults
                sources[name] = _source(P, name, {"route": name}, factors, routes, upstreams)
            else:
                raise where.error(
                    key,
                    f"unknown source '{name}' (sources: {', '.join(sources) or 'none'}; "
                    f"routes of the factors file: {', '.join(factors.routes)})",
                )
        return name

    if default_source is not None:
        known_source(default_source, top, "default_source")
    for name in compare:
        known_source(name, top, "compare")

    # ---- items
    items_raw = top.raw("items") or {}
    if isinstance(items_raw, list):
        listed = {}
        for k, entry in enumerate(items_raw, start=1):
            if not isinstance(entry, Mapping) or not entry.get("name"):
                raise top.error("items", f"item {k}: expected a mapping with a 'name'")
            listed[str(entry["name"])] = {key: v for key, v in entry.items() if key != "name"}
        items_raw = listed
    if not isinstance(items_raw, Mapping):
        raise top.error("items", "expected a mapping of item name to its settings")
    for n, raw in items_raw.items():  # names first: a typo in a step name is the likeliest mistake
        if str(n) not in train_items and not (
            isinstance(raw, Mapping)
            and (raw.get("per_batch") is not None or raw.get("demand_per_period") is not None)
        ):
            consumed = ", ".join(train_items) or "none (no train)"
            raise InputError(
                f"item '{n}': not consumed by the train (its consumables: {consumed}) and no "
                "per_batch or demand_per_period",
                source=source,
                field="items",
            )
    names = list(train_items) + [n for n in map(str, items_raw) if n not in train_items]
    if not names:
        raise top.error(
            "items", "the plan has no items: give a 'train' or 'items' with demand_per_period or per_batch"
        )
    items = []
    for name in names:
        raw = items_raw.get(name, {}) or {}
        items.append(
            _item(
                P,
                name,
                raw,
                train_items.get(name),
                default_source,
                default_target,
                known_source,
                batches,
                train_items,
            )
        )
    if any(i.batch_driven for i in items) and batches is None:
        raise top.error(
            "batches", "items are taken per batch: give the batch starts, e.g. batches: {per_week: 1.5}"
        )
    for s in sources.values():
        P.assumptions.append(
            {
                "what": f"lead time of source '{s.name}'",
                "value": s.lead_time.describe(),
                "source": s.lead_time.source or "plan file",
            }
        )
    if design is not None:
        P.assumptions.append(
            {
                "what": "consumables per batch",
                "value": f"train '{design.train.name}'",
                "source": design.train.source,
            }
        )
    P.assumptions.append(
        {
            "what": "freight CO2e factors",
            "value": ", ".join(f"{m} {f.value:g} kg CO2e/(t·km)" for m, f in factors.freight.items()),
            "source": "; ".join(sorted({f.cite() for f in factors.freight.values()})),
        }
    )
    notes = top.raw("notes")
    plan = SupplyPlan(
        horizon=int(round(horizon)),
        items=tuple(items),
        sources=dict(sources),
        batches=batches,
        replications=int(R),
        seed=sd,
        search_replications_max=search,
        period_h=period_h,
        period_label=_period_label(period_h),
        warmup=warmup,
        upstreams=upstreams,
        batch_service=batch_service,
        batch_service_kind=kind,
        currency=currency,
        compare_sources=compare,
        compare_target=compare_target,
        source=source,
        name=top.text("name") or Path(source).stem,
        notes=tuple([str(notes)] if isinstance(notes, str) else [str(n) for n in notes or []]),
        assumptions=tuple(P.assumptions),
    )
    return plan


def _period_label(period_h: float) -> str:
    for h, label in ((168.0, "1 week"), (24.0, "1 day"), (730.5, "1 month")):
        if abs(period_h - h) < 1e-9:
            return label
    if abs(period_h / 168.0 - round(period_h / 168.0)) < 1e-9:
        return f"{round(period_h / 168.0)} weeks"
    return f"{period_h:g} h"


def _design(path: Path, top: _Fields):
    from ..design.train import design_train
    from .train import read_train

    if not path.is_file():
        raise top.error("train", f"train file not found: {path.name}")
    try:
        return design_train(read_train(path))
    except InputError as exc:
        raise type(exc)(
            f"train '{path.name}': {exc.message}",
            source=exc.source or str(path),
            row=exc.row,
            column=exc.column,
            field=exc.field,
        ) from None
    except FluxwiseError as exc:
        raise top.error("train", f"the train '{path.name}' could not be designed: {exc}") from None


def _train_items(design) -> dict[str, dict]:
    """What each step of a designed train consumes, per unit: count, reuses, price, plastic, CO2e."""
    out = {}
    for st in design.steps:
        if not st.consumables:
            continue
        c = st.consumables[0]
        co2 = sum(i.amount for i in st.co2e_items if i.category in ("resin", "end-of-life"))
        plastic = sum(i.amount for i in st.plastic_items)
        if st.type == "ufdf":
            reuses = int(st.design.get("reuses", 1))
            count = int(c.get("count") or 1)
            area_unit = (c["installed_area_m2"] / count) if c.get("count") else c["installed_area_m2"]
            per_batch_area = c["installed_area_m2"] / reuses
            mem = next((i for i in st.cost_items if i.category == "membrane"), None)
            price = mem.unit_price * area_unit if mem else 0.0
            plastic_u = plastic / per_batch_area * area_unit if per_batch_area > 0 else 0.0
            co2_u = co2 / per_batch_area * area_unit if per_batch_area > 0 else 0.0
            what = (
                f"UF cassette, {area_unit:.3g} m2"
                if c.get("count")
                else f"UF membrane set, {area_unit:.3g} m2"
            )
        else:
            reuses, count = 1, int(c["count"])
            filt = next((i for i in st.cost_items if i.category == "filters"), None)
            price = filt.unit_price if filt else 0.0
            plastic_u, co2_u = plastic / count, co2 / count
            what = f"{c['item']} ({c['kind']})"
        out[st.name] = {
            "per_set": count,
            "reuses": reuses,
            "unit_price": price,
            "plastic_kg": plastic_u,
            "co2e_kg_per_unit": co2_u,
            "what": what,
            "step": f"{st.index}. {st.name}",
        }
    return out


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
