r"""A filtration train designed per batch: mass balance, sizing, consumables, cost and CO2e.

Each step runs the three phases of a BioSTEAM unit (``_run``, ``_design``, ``_cost``), in order,
on the stream the step before it delivers:

1. **Balance and sizing** — volume and product in, the step's own additions (chase or DF buffer,
   recovery flush) and removals (filter hold-up, permeate, volume taken away), volume and product
   out. Normal-flow steps (depth, bioburden/sterile, virus) are sized with
   :func:`fluxwise.design.sizing.size_filter` for the volume that reaches them; UF/DF steps with
   :func:`fluxwise.design.ufdf.design_ufdf`; hold steps stand for anything the train does not
   design (a hold, a chromatography step) by their time, yield and outlet concentration.
2. **Consumables** — filter formats and counts, UF membrane area per batch (area / reuses), pre-use
   flushes and buffers.
3. **Cost and CO2e** — line items, each with quantity, unit, unit price (or factor), amount and the
   source of the price or factor, so that every total of the summary is the sum of its items.

Product left in a filter's hold-up after one well-mixed buffer chase of volume ``V_c`` (the same
recovery model as the UF/DF flush of :mod:`fluxwise.design.ufdf`):

.. math:: m_{lost} = C_{in} V_h \frac{V_h}{V_h + V_c}

unless the step states its yield, which then sets the loss. Volume balance of every step:
``V_in + V_added = V_out + V_removed``; product balance: ``m_in = m_out + m_lost``.

CO2e of single-use plastic per batch (kg CO2e), per step:

* resin, cradle to gate: ``m_plastic · EF_resin``;
* end of life: incineration releases the fossil carbon, ``m_plastic · w_C · OF · 44.01/12.011``
  (IPCC 2006, Vol. 5, Ch. 5, Eq. 5.1); landfill ``m_plastic · EF_landfill``;
* freight: ``m_shipped/1000 · Σ_mode km_mode · EF_mode`` with ``m_shipped`` the plastic mass times
  a packaging factor, over the step's supplier route.

Every factor comes from :class:`Factors` (read from ``fluxwise/data/factors.yaml`` or a user's copy),
with its source and year; nothing is hard-coded here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DesignError, FluxwiseError, InputError
from .catalog import FilterFormat
from .sizing import DEFAULT_SAFETY_FACTOR, Sizing, size_filter
from .ufdf import UFDFDesign, design_ufdf
from .virus import LRVStep, lrv_summary, size_virus_filter

__all__ = ["STEP_TYPES", "NORMAL_FLOW_TYPES", "DISPOSAL_ROUTES", "FREIGHT_MODES", "SCHEMA", "Factor", "Resin",
           "Route", "Factors", "FoulingBasis", "NormalFlowStep", "UFDFStep", "HoldStep", "Train", "LineItem",
           "StepResult", "TrainDesign", "design_train", "incineration_factor"]

SCHEMA = "fluxwise.train/1"
NORMAL_FLOW_TYPES = ("depth", "bioburden", "sterile", "virus")
STEP_TYPES = (*NORMAL_FLOW_TYPES, "ufdf", "hold")
DISPOSAL_ROUTES = ("incineration", "landfill")
FREIGHT_MODES = ("road", "sea", "air")

_M_CO2, _M_C = 44.0095, 12.011  # g/mol (IUPAC standard atomic weights)


# --------------------------------------------------------------------------------------- factors

@dataclass(frozen=True)
class Factor:
    """One editable number with its unit and where it comes from."""

    value: float
    unit: str
    source: str
    year: int | None = None

    def cite(self) -> str:
        return f"{self.source} ({self.year})" if self.year else self.source

    def to_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit, "source": self.source, "year": self.year}


@dataclass(frozen=True)
class Resin:
    """A polymer: cradle-to-gate CO2e [kg CO2e/kg] and carbon mass fraction [-]."""

    name: str
    kg_co2e_per_kg: Factor
    carbon_fraction: float


@dataclass(frozen=True)
class Route:
    """A supplier route: distance [km] by freight mode."""

    id: str
    label: str
    km: Mapping[str, float]
    source: str = ""

    def to_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "km": dict(self.km), "source": self.source}


@dataclass(frozen=True)
class Factors:
    """Prices, emission factors and routes a train is costed with (see ``data/factors.yaml``).

    ``costs`` keys: ``buffer_per_L``, ``wfi_per_L`` [USD/L], ``ufdf_membrane_per_m2`` [USD/m²];
    ``flush_L_per_m2`` by step type; ``assumptions``: ``shipping_mass_per_plastic_kg`` [kg/kg],
    ``ufdf_plastic_kg_per_m2``; ``end_of_life``: ``incineration`` (value = oxidation factor × fossil
    carbon fraction) and ``landfill`` [kg CO2e/kg]; ``freight`` by mode [kg CO2e/(t·km)].
    """

    costs: Mapping[str, Factor]
    flush_L_per_m2: Mapping[str, Factor]
    assumptions: Mapping[str, Factor]
    resins: Mapping[str, Resin]
    default_resin: str
    end_of_life: Mapping[str, Factor]
    freight: Mapping[str, Factor]
    routes: Mapping[str, Route]
    default_route: str
    source: str = "<memory>"


def incineration_factor(resin: Resin, eol: Factor) -> float:
    """Fossil CO2 of burning 1 kg of plastic [kg CO2/kg]: w_C · OF · FCF · 44.01/12.011.

    IPCC (2006) Guidelines, Vol. 5, Ch. 5, Eq. 5.1 with dry-matter fraction 1; ``eol.value`` is the
    product of the oxidation factor and the fossil carbon fraction (1 for fossil plastics burnt in
    an incinerator). Polypropylene, w_C = 0.856: 3.14 kg CO2/kg.
    """
    return resin.carbon_fraction * eol.value * _M_CO2 / _M_C


# ------------------------------------------------------------------------------------------ steps

@dataclass(frozen=True)
class FoulingBasis:
    """What a normal-flow step is sized with: a fouling model, its parameters and the mode.

    ``fit`` is the :class:`fluxwise.fit.fouling.TrialFit` when the parameters come from a trial file
    (kept for reports); ``source`` names that file, or ``"params"``.
    """

    model: str
    params: Mapping[str, float]
    mode: str
    source: str = "params"
    fit: Any = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        d = {"model": self.model, "mode": self.mode, "params": dict(self.params), "source": self.source}
        if self.fit is not None:
            d["best_model"] = self.fit.best_model
            d["indistinguishable"] = list(self.fit.indistinguishable)
        return d


@dataclass(frozen=True)
class NormalFlowStep:
    """A depth, bioburden, sterile or virus filtration step (units in the field names).

    ``flush_L_per_m2`` None takes the default of :class:`Factors` for the step type;
    ``yield_fraction`` None computes the product loss from the filters' hold-up and the chase.

    Virus steps only: ``process_pauses`` planned flow/pressure interruptions and whether the
    clearance study covered them (``pauses_validated``); ``operating_pressure_bar``, the lowest
    pressure the step may run at, and ``validated_min_pressure_bar``, the lowest pressure of the
    clearance study. They give the worst-case warnings of
    :func:`fluxwise.design.virus.size_virus_filter`. With ``validated_min_pressure_bar`` and no
    ``operating_pressure_bar``, a constant-pressure step sized from a trial runs at the trial's
    (median) pressure.
    """

    name: str
    type: str
    basis: FoulingBasis
    process_time_h: float | None = None
    max_pressure_bar: float | None = None
    flux_LMH: float | None = None
    flux_decay_limit: float | None = None
    safety_factor: float = DEFAULT_SAFETY_FACTOR
    format_name: str | None = None
    kind: str | None = None
    yield_fraction: float | None = None
    flush_L_per_m2: float | None = None
    chase_volume_L: float = 0.0
    setup_time_h: float = 0.0
    route: str | None = None
    resin: str | None = None
    lrv: tuple[LRVStep, ...] = ()
    process_pauses: int = 0
    pauses_validated: bool = False
    operating_pressure_bar: float | None = None
    validated_min_pressure_bar: float | None = None


@dataclass(frozen=True)
class UFDFStep:
    """A tangential-flow UF/DF step (inputs of :func:`design_ufdf`).

    Flux model: the gel model with ``k_LMH`` and ``gel_concentration_g_per_L``, or with k from
    ``k = a·Q^b`` (``mass_transfer_a``, ``mass_transfer_b`` and ``feed_flux_LMH``), or a constant
    permeate flux ``flux_LMH``. Membrane cost and plastic per batch are the installed area's over
    ``reuses`` (1 = single use). ``membrane_price_per_m2`` is in the train's currency (None: the
    factor default in USD).
    """

    name: str
    target_concentration_g_per_L: float
    k_LMH: float | None = None
    gel_concentration_g_per_L: float | None = None
    flux_LMH: float | None = None
    mass_transfer_a: float | None = None
    mass_transfer_b: float | None = None
    diavolumes: float | None = None
    df_remaining_fraction: float | None = None
    df_concentration: float | str = "optimal"
    df_mode: str = "continuous"
    dilution_factor: float | None = None
    df_cycles: int | None = None
    product_sieving: float = 0.0
    impurity_sieving: float = 1.0
    area_m2: float | None = None
    process_time_h: float | None = None
    hold_up_volume_L: float = 0.0
    recovery_flush_L: float = 0.0
    feed_flux_LMH: float | None = None
    cassette_area_m2: float | None = None
    membrane_price_per_m2: float | None = None
    reuses: int = 1
    plastic_kg_per_m2: float | None = None
    flush_L_per_m2: float | None = None
    setup_time_h: float = 0.0
    route: str | None = None
    resin: str | None = None
    lrv: tuple[LRVStep, ...] = ()
    type: str = "ufdf"


@dataclass(frozen=True)
class HoldStep:
    """A hold, or an operation the train does not design (e.g. chromatography), by its time, yield
    and outlet concentration or volume (neither: the volume passes unchanged)."""

    name: str
    time_h: float = 0.0
    yield_fraction: float = 1.0
    concentration_g_per_L: float | None = None
    volume_L: float | None = None
    lrv: tuple[LRVStep, ...] = ()
    type: str = "hold"


@dataclass(frozen=True)
class Train:
    """A train for one batch. ``usd_exchange_rate`` converts catalog/factor prices (USD) to ``currency``."""

    name: str
    batch_volume_L: float
    titre_g_per_L: float
    steps: tuple
    formats: tuple[FilterFormat, ...]
    factors: Factors
    product: str = "product"
    currency: str = "USD"
    usd_exchange_rate: float = 1.0
    disposal: str = "incineration"
    route: str | None = None
    source: str = "<memory>"
    catalog_source: str = "default catalog"


# ---------------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class LineItem:
    """One traceable line: ``amount = quantity × unit_price`` (cost, CO2e or plastic)."""

    step_index: int
    step: str
    category: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    unit_price_unit: str
    amount: float
    amount_unit: str
    source: str

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _item(step_index, step, category, item, quantity, unit, unit_price, unit_price_unit, amount_unit,
          source) -> LineItem:
    return LineItem(step_index, step, category, item, float(quantity), unit, float(unit_price),
                    unit_price_unit, float(quantity) * float(unit_price), amount_unit, source)


@dataclass(frozen=True)
class StepResult:
    """One designed step: balance, time, design, consumables and line items."""

    index: int
    name: str
    type: str
    time_h: float
    volume_in_L: float
    volume_added_L: float
    volume_removed_L: float
    volume_out_L: float
    product_in_g: float
    product_out_g: float
    product_loss_g: float
    streams: tuple[dict, ...]
    design: dict
    route: Route | None
    consumables: tuple[dict, ...] = ()
    liquids: tuple[dict, ...] = ()
    cost_items: tuple[LineItem, ...] = ()
    plastic_items: tuple[LineItem, ...] = ()
    co2e_items: tuple[LineItem, ...] = ()
    lrv: tuple[LRVStep, ...] = ()
    warnings: tuple[str, ...] = ()
    basis: FoulingBasis | None = None
    sizing: Sizing | None = field(default=None, repr=False)
    ufdf: UFDFDesign | None = field(default=None, repr=False)

    @property
    def yield_fraction(self) -> float:
        return self.product_out_g / self.product_in_g if self.product_in_g > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "index": self.index, "name": self.name, "type": self.type, "time_h": self.time_h,
            "volume_in_L": self.volume_in_L, "volume_added_L": self.volume_added_L,
            "volume_removed_L": self.volume_removed_L, "volume_out_L": self.volume_out_L,
            "product_in_g": self.product_in_g, "product_out_g": self.product_out_g,
            "product_loss_g": self.product_loss_g, "yield": self.yield_fraction,
            "concentration_in_g_per_L": self.product_in_g / self.volume_in_L,
            "concentration_out_g_per_L": self.product_out_g / self.volume_out_L,
            "streams": [dict(s) for s in self.streams],
            "basis": self.basis.to_dict() if self.basis is not None else None,
            "design": dict(self.design),
            "route": self.route.to_dict() if self.route is not None else None,
            "consumables": [dict(c) for c in self.consumables],
            "lrv": [{"virus": s.virus, "lrv": s.lrv, "mechanism": s.mechanism, "lower_bound": s.lower_bound}
                    for s in self.lrv],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class TrainDesign:
    """A designed train; :meth:`to_dict` is the JSON of ``fluxwise design --json`` (docs/train-json.md)."""

    train: Train
    steps: tuple[StepResult, ...]
    summary: dict
    mass_balance: dict
    route_comparison: tuple[dict, ...]
    virus_clearance: dict | None
    warnings: tuple[str, ...] = ()

    @property
    def cost_items(self) -> list[LineItem]:
        return [i for s in self.steps for i in s.cost_items]

    @property
    def co2e_items(self) -> list[LineItem]:
        return [i for s in self.steps for i in s.co2e_items]

    @property
    def plastic_items(self) -> list[LineItem]:
        return [i for s in self.steps for i in s.plastic_items]

    @property
    def liquids(self) -> list[dict]:
        return [dict(x) for s in self.steps for x in s.liquids]

    @property
    def consumables(self) -> list[dict]:
        return [dict(x) for s in self.steps for x in s.consumables]

    def to_dict(self) -> dict:
        t = self.train
        used = {s.route.id for s in self.steps if s.route is not None}
        return {
            "schema": SCHEMA,
            "train": {"name": t.name, "product": t.product, "source": t.source,
                      "batch_volume_L": t.batch_volume_L, "titre_g_per_L": t.titre_g_per_L,
                      "currency": t.currency, "usd_exchange_rate": t.usd_exchange_rate,
                      "disposal": t.disposal, "route": t.route or t.factors.default_route,
                      "factors_source": t.factors.source, "catalog_source": t.catalog_source},
            "steps": [s.to_dict() for s in self.steps],
            "mass_balance": dict(self.mass_balance),
            "consumables": self.consumables,
            "liquids": self.liquids,
            "cost_items": [i.to_dict() for i in self.cost_items],
            "plastic_items": [i.to_dict() for i in self.plastic_items],
            "co2e_items": [i.to_dict() for i in self.co2e_items],
            "summary": dict(self.summary),
            "route_comparison": [dict(r) for r in self.route_comparison],
            "routes": {rid: t.factors.routes[rid].to_dict() for rid in sorted(used)},
            "virus_clearance": self.virus_clearance,
            "warnings": list(self.warnings),
        }


# ------------------------------------------------------------------------------------- the design

class _StepContext:
    """Everything a step needs from the train, and its errors named with the step."""

    def __init__(self, train: Train, index: int, step):
        self.train, self.index, self.step = train, index, step
        self.label = f"step {index} '{step.name}'"
        self.rate = train.usd_exchange_rate
        self.cur = train.currency

    def fail(self, exc: FluxwiseError) -> FluxwiseError:
        if isinstance(exc, InputError):
            return type(exc)(f"{self.label}: {exc.message}", source=exc.source or self.train.source,
                             row=exc.row, column=exc.column, field=exc.field)
        return type(exc)(f"{self.label}: {exc}")

    def route(self) -> Route:
        f = self.train.factors
        rid = getattr(self.step, "route", None) or self.train.route or f.default_route
        try:
            return f.routes[rid]
        except KeyError:
            raise InputError(f"{self.label}: unknown supplier route '{rid}' (routes: {', '.join(f.routes)})",
                             source=self.train.source, field="route") from None

    def resin(self) -> Resin:
        f = self.train.factors
        name = getattr(self.step, "resin", None) or f.default_resin
        try:
            return f.resins[name]
        except KeyError:
            raise InputError(f"{self.label}: unknown resin '{name}' (resins: {', '.join(f.resins)})",
                             source=self.train.source, field="resin") from None

    def flush_per_m2(self, value: float | None) -> tuple[float, str]:
        if value is not None:
            return value, "train file"
        fac = self.train.factors.flush_L_per_m2.get(self.step.type)
        if fac is None:
            return 0.0, "none"
        return fac.value, fac.cite()

    # -- line items for what every consumable-using step shares: liquids, plastic, CO2e
    def liquid(self, fluid: str, use: str, volume_L: float, basis: str) -> tuple[dict, LineItem | None]:
        costs = self.train.factors.costs
        key = "wfi_per_L" if fluid == "wfi" else "buffer_per_L"
        fac = costs[key]
        liq = {"step_index": self.index, "step": self.step.name, "fluid": fluid, "use": use,
               "volume_L": volume_L, "basis": basis}
        if volume_L <= 0:
            return liq, None
        what = f"{use} ({'WFI' if fluid == 'wfi' else fluid})"
        return liq, _item(self.index, self.step.name, fluid, what, volume_L, "L", fac.value * self.rate,
                          f"{self.cur}/L", self.cur, fac.cite())

    def plastic_and_co2e(self, item: str, count: float, kg_per_unit: float, count_unit: str, source: str):
        """Plastic line item and its resin, end-of-life and freight CO2e items."""
        t, f = self.train, self.train.factors
        plastic = _item(self.index, self.step.name, "single-use plastic", item, count, count_unit,
                        kg_per_unit, f"kg/{count_unit.rstrip('s')}", "kg", source)
        kg = plastic.amount
        if kg <= 0:
            return plastic, []
        resin = self.resin()
        co2 = [_item(self.index, self.step.name, "resin", f"{resin.name} resin, cradle to gate ({item})", kg,
                     "kg", resin.kg_co2e_per_kg.value, "kg CO2e/kg", "kg CO2e", resin.kg_co2e_per_kg.cite())]
        if t.disposal == "incineration":
            eol = f.end_of_life["incineration"]
            co2.append(_item(self.index, self.step.name, "end-of-life",
                             f"incineration of {resin.name} ({item})", kg, "kg",
                             incineration_factor(resin, eol), "kg CO2e/kg", "kg CO2e",
                             f"{eol.cite()}; carbon fraction {resin.carbon_fraction:g}"))
        else:
            eol = f.end_of_life["landfill"]
            co2.append(_item(self.index, self.step.name, "end-of-life", f"landfill ({item})", kg, "kg",
                             eol.value, "kg CO2e/kg", "kg CO2e", eol.cite()))
        co2.extend(self.freight(item, kg, self.route()))
        return plastic, co2

    def freight(self, item: str, plastic_kg: float, route: Route) -> list[LineItem]:
        f = self.train.factors
        pack = f.assumptions["shipping_mass_per_plastic_kg"]
        tonnes = plastic_kg * pack.value / 1000.0
        out = []
        for mode in FREIGHT_MODES:
            km = float(route.km.get(mode, 0.0))
            if km <= 0:
                continue
            ef = f.freight[mode]
            what = f"{mode} freight, {route.label} ({item}: {tonnes * 1000:.4g} kg shipped x {km:g} km)"
            out.append(_item(self.index, self.step.name, "freight", what, tonnes * km, "t·km", ef.value,
                             "kg CO2e/(t·km)", "kg CO2e",
                             f"{ef.cite()}; route: {route.source}; packaging: {pack.cite()}"))
        return out


def _stream(name: str, direction: str, volume_L: float, product_g: float) -> dict:
    return {"stream": name, "direction": direction, "volume_L": float(volume_L),
            "product_g": float(product_g)}


def _normal_flow(ctx: _StepContext, step: NormalFlowStep, v_in: float, m_in: float) -> StepResult:
    t = ctx.train
    formats = [f for f in t.formats if step.kind is None or f.kind.lower() == step.kind.lower()]
    if not formats:
        raise InputError(f"no catalog format of kind '{step.kind}' (kinds: "
                         f"{', '.join(sorted({f.kind for f in t.formats}))})", field="kind")
    b = step.basis
    sizing = size_filter(b.model, b.params, b.mode, formats, batch_volume_L=v_in,
                         process_time_h=step.process_time_h, safety_factor=step.safety_factor,
                         flux_decay_limit=step.flux_decay_limit, max_pressure_bar=step.max_pressure_bar,
                         flux_LMH=step.flux_LMH, format_name=step.format_name)
    choice = sizing.choice
    fmt, count = choice.format, choice.count
    c_in = m_in / v_in
    hold_up = fmt.hold_up_mL * count / 1000.0
    chase = step.chase_volume_L
    if v_in + chase - hold_up <= 0:
        raise DesignError(f"the filters' hold-up ({hold_up:.4g} L) takes the whole feed ({v_in:.4g} L)")
    if step.yield_fraction is None:
        loss = c_in * hold_up * (hold_up / (hold_up + chase)) if hold_up > 0 else 0.0
        loss_name = "hold-up left in the filters" + (" after the chase" if chase > 0 else "")
    else:
        loss = (1.0 - step.yield_fraction) * m_in
        loss_name = "hold-up and losses (stated step yield)"
    v_out, m_out = v_in + chase - hold_up, m_in - loss
    time_h = float(sizing.process_time_h) + step.setup_time_h
    streams = [_stream("feed", "in", v_in, m_in)]
    if chase > 0:
        streams.append(_stream("chase buffer", "in", chase, 0.0))
    streams += [_stream(loss_name, "out", hold_up, loss),
                _stream("filtrate to the next step", "out", v_out, m_out)]

    per_m2, flush_src = ctx.flush_per_m2(step.flush_L_per_m2)
    installed = choice.installed_area_m2
    liquids, costs = [], []
    for fluid, use, vol, basis in (("wfi", "pre-use flush", per_m2 * installed,
                                    f"{per_m2:g} L/m2 x {installed:.4g} m2 ({flush_src})"),
                                   ("buffer", "product chase", chase, "train file")):
        liq, cost = ctx.liquid(fluid, use, vol, basis)
        if vol > 0:
            liquids.append(liq)
        if cost is not None:
            costs.append(cost)
    costs.insert(0, _item(ctx.index, step.name, "filters", f"{fmt.name} ({fmt.kind}, {fmt.area_m2:g} m2)",
                          count, "units", fmt.price_usd * ctx.rate, f"{ctx.cur}/unit", ctx.cur,
                          f"catalog ({t.catalog_source}): price_usd"))
    plastic, co2e = ctx.plastic_and_co2e(fmt.name, count, fmt.plastic_kg, "units",
                                         f"catalog ({t.catalog_source}): plastic_kg")
    consumable = {"step_index": ctx.index, "step": step.name, "item": fmt.name, "kind": fmt.kind,
                  "count": count, "area_m2": fmt.area_m2, "installed_area_m2": installed, "single_use": True,
                  "uses_per_batch": 1.0, "plastic_kg": plastic.amount, "hold_up_L": hold_up}
    design = sizing.to_dict()
    design["time_at_design_h"] = sizing.process_time_h
    design["setup_time_h"] = step.setup_time_h
    design["pre_use_flush_L"] = per_m2 * installed
    design["chase_volume_L"] = chase
    design["hold_up_volume_L"] = hold_up
    warnings = []
    if choice.count >= fmt.max_count and step.format_name is None:
        warnings.append(f"{ctx.label}: {count} x {fmt.name} is the most one housing takes; a larger batch "
                        "needs another format or parallel trains")
    if step.type == "virus":
        warnings.extend(f"{ctx.label}: {w}" for w in _virus_worst_cases(step, sizing, design))
    lrv = tuple(step.lrv)
    return StepResult(index=ctx.index, name=step.name, type=step.type, time_h=time_h, volume_in_L=v_in,
                      volume_added_L=chase, volume_removed_L=hold_up, volume_out_L=v_out, product_in_g=m_in,
                      product_out_g=m_out, product_loss_g=loss, streams=tuple(streams), design=design,
                      route=ctx.route(), consumables=(consumable,), liquids=tuple(liquids),
                      cost_items=tuple(costs), plastic_items=(plastic,), co2e_items=tuple(co2e), lrv=lrv,
                      warnings=tuple(warnings), basis=b, sizing=sizing)


def _virus_worst_cases(step: NormalFlowStep, sizing: Sizing, design: dict) -> tuple[str, ...]:
    """Warnings of :func:`size_virus_filter` for the step's pauses and lowest pressure; fills ``design``."""
    p_op = step.operating_pressure_bar
    p_src = "train file" if p_op is not None else None
    b = step.basis
    if p_op is None and step.validated_min_pressure_bar is not None:
        trial = getattr(b.fit, "trial", None)
        if b.mode == "constant-pressure" and trial is not None and trial.pressure_bar is not None:
            p_op, p_src = float(np.median(trial.pressure_bar)), "trial pressure (constant pressure)"
        else:
            raise InputError("validated_min_pressure needs the lowest pressure the step runs at to compare "
                             "with: give 'operating_pressure', e.g. '2 bar'", field="operating_pressure")
    # the capacity at the sizing's minimum area gives back the same area; only the warnings are new
    check = size_virus_filter(sizing.batch_volume_L, sizing.batch_volume_L / sizing.min_area_m2,
                              safety_factor=step.safety_factor, process_pauses=step.process_pauses,
                              pauses_validated=step.pauses_validated, operating_pressure_bar=p_op,
                              validated_min_pressure_bar=step.validated_min_pressure_bar)
    design.update(process_pauses=step.process_pauses, pauses_validated=step.pauses_validated,
                  operating_pressure_bar=p_op, operating_pressure_source=p_src,
                  validated_min_pressure_bar=step.validated_min_pressure_bar)
    return check.warnings


def _ufdf(ctx: _StepContext, step: UFDFStep, v_in: float, m_in: float) -> StepResult:
    f = ctx.train.factors
    c_in = m_in / v_in
    flux_fn = None
    if step.flux_LMH is not None:
        j = float(step.flux_LMH)

        def flux_fn(c):  # constant permeate flux, whatever the concentration
            return np.full(np.shape(c), j)

    d = design_ufdf(initial_volume_L=v_in, initial_concentration_g_per_L=c_in,
                    final_concentration_g_per_L=step.target_concentration_g_per_L, flux=flux_fn,
                    k_LMH=step.k_LMH, gel_concentration_g_per_L=step.gel_concentration_g_per_L,
                    mass_transfer_a=step.mass_transfer_a, mass_transfer_b=step.mass_transfer_b,
                    feed_flux_LMH=step.feed_flux_LMH,
                    area_m2=step.area_m2, process_time_h=step.process_time_h,
                    df_concentration=step.df_concentration, diavolumes=step.diavolumes,
                    df_remaining_fraction=step.df_remaining_fraction, product_sieving=step.product_sieving,
                    impurity_sieving=step.impurity_sieving, cassette_area_m2=step.cassette_area_m2,
                    hold_up_volume_L=step.hold_up_volume_L, flush_volume_L=step.recovery_flush_L,
                    df_mode=step.df_mode, dilution_factor=step.dilution_factor, df_cycles=step.df_cycles)
    m_retentate = d.final_concentration_g_per_L * d.final_volume_L
    m_pool = d.pool_concentration_g_per_L * d.pool_volume_L
    streams = [_stream("feed", "in", v_in, m_in),
               _stream("diafiltration buffer", "in", d.diafiltration_buffer_volume_L, 0.0)]
    if d.flush_volume_L > 0:
        streams.append(_stream("recovery flush buffer", "in", d.flush_volume_L, 0.0))
    streams += [_stream("permeate", "out", d.permeate_volume_L, m_in - m_retentate),
                _stream("hold-up left in the system", "out", d.hold_up_volume_L, m_retentate - m_pool),
                _stream("retentate pool to the next step", "out", d.pool_volume_L, m_pool)]
    installed = d.installed_area_m2 if d.installed_area_m2 is not None else d.area_m2
    uses = float(step.reuses)
    per_m2, flush_src = ctx.flush_per_m2(step.flush_L_per_m2)
    liquids, costs = [], []
    for fluid, use, vol, basis in (
            ("wfi", "pre-use flush", per_m2 * installed,
             f"{per_m2:g} L/m2 x {installed:.4g} m2 ({flush_src})"),
            ("buffer", "diafiltration buffer", d.diafiltration_buffer_volume_L,
             (f"{d.diavolumes:.4g} diavolumes x {d.df_volume_L:.4g} L" if d.df_mode == "continuous" else
              f"{d.df_cycles} {d.df_mode} cycles of k = {d.dilution_factor:g} at {d.df_volume_L:.4g} L")),
            ("buffer", "recovery flush", d.flush_volume_L, "train file")):
        liq, cost = ctx.liquid(fluid, use, vol, basis)
        if vol > 0:
            liquids.append(liq)
        if cost is not None:
            costs.append(cost)
    if step.membrane_price_per_m2 is not None:
        price, price_src = step.membrane_price_per_m2, "train file: membrane_price_per_m2"
    else:
        fac = f.costs["ufdf_membrane_per_m2"]
        price, price_src = fac.value * ctx.rate, fac.cite()
    area_per_batch = installed / uses
    use_txt = "single use" if step.reuses == 1 else f"1/{step.reuses} of its uses"
    costs.insert(0, _item(ctx.index, step.name, "membrane",
                          f"UF membrane, {installed:.4g} m2 installed ({use_txt})", area_per_batch, "m2",
                          price, f"{ctx.cur}/m2", ctx.cur, price_src))
    if step.plastic_kg_per_m2 is not None:
        kg_m2, kg_src = step.plastic_kg_per_m2, "train file: plastic_kg_per_m2"
    else:
        fac = f.assumptions["ufdf_plastic_kg_per_m2"]
        kg_m2, kg_src = fac.value, fac.cite()
    plastic, co2e = ctx.plastic_and_co2e("UF membrane", area_per_batch, kg_m2, "m2", kg_src)
    consumable = {"step_index": ctx.index, "step": step.name, "item": "UF membrane", "kind": "cassette",
                  "count": d.n_cassettes, "area_m2": step.cassette_area_m2 or installed,
                  "installed_area_m2": installed, "single_use": step.reuses == 1,
                  "uses_per_batch": 1.0 / uses, "plastic_kg": plastic.amount, "hold_up_L": d.hold_up_volume_L}
    design = d.to_dict()
    design["setup_time_h"] = step.setup_time_h
    design["pre_use_flush_L"] = per_m2 * installed
    design["reuses"] = step.reuses
    lrv = tuple(step.lrv)
    return StepResult(index=ctx.index, name=step.name, type="ufdf",
                      time_h=d.process_time_h + step.setup_time_h, volume_in_L=v_in,
                      volume_added_L=d.diafiltration_buffer_volume_L + d.flush_volume_L,
                      volume_removed_L=d.permeate_volume_L + d.hold_up_volume_L, volume_out_L=d.pool_volume_L,
                      product_in_g=m_in, product_out_g=m_pool, product_loss_g=m_in - m_pool,
                      streams=tuple(streams), design=design, route=ctx.route(), consumables=(consumable,),
                      liquids=tuple(liquids), cost_items=tuple(costs), plastic_items=(plastic,),
                      co2e_items=tuple(co2e), lrv=lrv,
                      warnings=tuple(f"{ctx.label}: {w}" for w in d.warnings), ufdf=d)


def _hold(ctx: _StepContext, step: HoldStep, v_in: float, m_in: float) -> StepResult:
    m_out = step.yield_fraction * m_in
    if step.concentration_g_per_L is not None:
        v_out = m_out / step.concentration_g_per_L
    elif step.volume_L is not None:
        v_out = step.volume_L
    else:
        v_out = v_in
    added, removed = max(v_out - v_in, 0.0), max(v_in - v_out, 0.0)
    loss = m_in - m_out
    streams = [_stream("feed", "in", v_in, m_in)]
    liquids, costs = [], []
    if added > 0:
        streams.append(_stream("buffer added (dilution)", "in", added, 0.0))
        liq, cost = ctx.liquid("buffer", "dilution", added, "outlet concentration or volume")
        liquids.append(liq)
        costs.append(cost)
    if removed > 0 or loss > 0:
        streams.append(_stream("volume and product taken away (to waste)", "out", removed, loss))
    streams.append(_stream("to the next step", "out", v_out, m_out))
    design = {"time_h": step.time_h, "yield": step.yield_fraction,
              "concentration_out_g_per_L": m_out / v_out, "volume_out_L": v_out}
    return StepResult(index=ctx.index, name=step.name, type="hold", time_h=step.time_h, volume_in_L=v_in,
                      volume_added_L=added, volume_removed_L=removed, volume_out_L=v_out, product_in_g=m_in,
                      product_out_g=m_out, product_loss_g=loss, streams=tuple(streams), design=design,
                      route=None, liquids=tuple(liquids), cost_items=tuple(costs), lrv=tuple(step.lrv))


_DESIGNERS = {"ufdf": _ufdf, "hold": _hold, **{t: _normal_flow for t in NORMAL_FLOW_TYPES}}


def _sum(items, attr="amount") -> float:
    return float(math.fsum(getattr(i, attr) for i in items))


def _by(items, key: str) -> dict:
    out: dict[str, list] = {}
    for i in items:
        out.setdefault(getattr(i, key), []).append(i)
    return {k: _sum(v) for k, v in out.items()}


def _by_step(items, results) -> dict:
    """Totals per step, keyed "index. name" (unique), every step listed (0 when it has no items)."""
    return {f"{r.index}. {r.name}": _sum([i for i in items if i.step_index == r.index]) for r in results}


def _route_freight(train: Train, steps, route: Route) -> float:
    """Freight CO2e [kg] of the train's consumables if every step were supplied over ``route``."""
    total = []
    for s in steps:
        if not s.plastic_items:
            continue
        ctx = _StepContext(train, s.index, train.steps[s.index - 1])
        for p in s.plastic_items:
            total.extend(i.amount for i in ctx.freight(p.item, p.amount, route))
    return float(math.fsum(total))


def design_train(train: Train) -> TrainDesign:
    """Design every step of ``train`` for one batch, in order, and total the line items.

    Parameters
    ----------
    train : Train
        Batch inputs, steps (:class:`NormalFlowStep`, :class:`UFDFStep`, :class:`HoldStep`), the
        filter catalog and the factors.

    Returns
    -------
    TrainDesign
        Per-step results; ``summary`` totals are sums of the line items (tests check this).
    """
    if not train.steps:
        raise InputError("the train has no steps", source=train.source, field="steps")
    if train.disposal not in DISPOSAL_ROUTES:
        raise InputError(f"disposal must be one of {', '.join(DISPOSAL_ROUTES)}, got '{train.disposal}'",
                         source=train.source, field="disposal")
    v, m = train.batch_volume_L, train.batch_volume_L * train.titre_g_per_L
    results: list[StepResult] = []
    for n, step in enumerate(train.steps, start=1):
        ctx = _StepContext(train, n, step)
        try:
            r = _DESIGNERS[step.type](ctx, step, v, m)
        except FluxwiseError as exc:
            if ctx.label in getattr(exc, "message", str(exc)):  # already names the step
                raise
            raise ctx.fail(exc) from None
        results.append(r)
        v, m = r.volume_out_L, r.product_out_g

    m_in = train.batch_volume_L * train.titre_g_per_L
    cost = [i for r in results for i in r.cost_items]
    co2e = [i for r in results for i in r.co2e_items]
    plastic = [i for r in results for i in r.plastic_items]
    liquids = [x for r in results for x in r.liquids]
    co2e_total = _sum(co2e)
    freight_now = _sum([i for i in co2e if i.category == "freight"])
    cost_total = _sum(cost)
    summary = {
        "total_time_h": float(math.fsum(r.time_h for r in results)),
        "step_time_h": {f"{r.index}. {r.name}": r.time_h for r in results},
        "product_in_g": m_in, "product_out_g": m, "overall_yield": m / m_in,
        "final_volume_L": v, "final_concentration_g_per_L": m / v,
        "buffer_L": float(math.fsum(x["volume_L"] for x in liquids if x["fluid"] == "buffer")),
        "wfi_L": float(math.fsum(x["volume_L"] for x in liquids if x["fluid"] == "wfi")),
        "currency": train.currency,
        "cost_total": cost_total, "cost_per_g": cost_total / m,
        "cost_by_category": _by(cost, "category"), "cost_by_step": _by_step(cost, results),
        "plastic_kg": _sum(plastic), "plastic_by_step_kg": _by_step(plastic, results),
        "co2e_kg": co2e_total, "co2e_kg_per_kg_product": co2e_total / (m / 1000.0),
        "co2e_by_category_kg": _by(co2e, "category"), "co2e_by_step_kg": _by_step(co2e, results),
    }
    vol_added = float(math.fsum(r.volume_added_L for r in results))
    vol_removed = float(math.fsum(r.volume_removed_L for r in results))
    loss = float(math.fsum(r.product_loss_g for r in results))
    mass_balance = {
        "volume_in_L": train.batch_volume_L, "volume_added_L": vol_added, "volume_removed_L": vol_removed,
        "volume_out_L": v, "volume_closure_L": train.batch_volume_L + vol_added - vol_removed - v,
        "product_in_g": m_in, "product_loss_g": loss, "product_out_g": m,
        "product_closure_g": m_in - loss - m,
    }
    comparison = []
    for rid, route in train.factors.routes.items():
        fr = _route_freight(train, results, route)
        comparison.append({"route": rid, "label": route.label, "freight_co2e_kg": fr,
                           "co2e_kg": co2e_total - freight_now + fr})
    claims = [s for r in results for s in r.lrv]
    clearance = None
    warnings = [w for r in results for w in r.warnings]
    if claims:
        lrv = lrv_summary(claims)
        clearance = lrv.to_dict()
        warnings.extend(lrv.warnings)
    return TrainDesign(train=train, steps=tuple(results), summary=summary, mass_balance=mass_balance,
                       route_comparison=tuple(comparison), virus_clearance=clearance,
                       warnings=tuple(warnings))
