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

This module reads the file (or an upload) and the plan-level keys — horizon, period, replications,
seed, factors, train, target service, upstreams, compare — and assembles the plan; the parts of a
plan (batches, sources with their lead times and outages, items with their demand, policies) are
read by :mod:`fluxwise.io.supply_parts`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from ..errors import FluxwiseError, InputError
from ..supply.model import SupplyPlan
from .supply_parts import _batches, _item, _outage, _Plan, _positive_int, _source
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
