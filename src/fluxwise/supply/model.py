"""What a supply simulation is run on: sources, items, policies and the campaign's batches, in periods.

Every time here is a number of review periods (a week by default; :attr:`SupplyPlan.period_h` says
how long one is), every quantity a number of units (capsules, cartridges, cassettes), every price
in the plan's currency. The plan reader (:mod:`fluxwise.io.supply`) converts a user's file into
these objects once, through the project's pint registry; nothing below reads a file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from ..errors import InputError

__all__ = [
    "LEAD_TIME_KINDS",
    "POLICY_TYPES",
    "SOURCE_RULES",
    "LeadTime",
    "Outage",
    "Window",
    "Allocation",
    "Source",
    "Policy",
    "Expedite",
    "Item",
    "Batches",
    "SupplyPlan",
    "QUANTILE_POINTS",
]

LEAD_TIME_KINDS = ("constant", "normal", "gamma", "lognormal", "empirical")
POLICY_TYPES = ("base-stock", "s-S", "r-Q", "cover")
SOURCE_RULES = ("single", "split", "backup")

#: Points of the inverse-CDF table a lead time is sampled from (stratified at (j + 1/2)/n).
QUANTILE_POINTS = 4096


@dataclass(frozen=True)
class LeadTime:
    """Order-to-dock lead time of a source [periods]: a distribution with its mean and sd.

    ``normal`` is truncated at zero (a lead time cannot be negative); ``gamma`` has shape
    (mean/sd)² and scale sd²/mean; ``lognormal`` has σ² = ln(1 + cv²), μ = ln(mean) − σ²/2;
    ``empirical`` resamples the observed lead times with equal weights (a bootstrap of the
    supplier's record).
    """

    kind: str = "constant"
    mean: float = 0.0
    sd: float = 0.0
    values: tuple[float, ...] = ()
    source: str = ""

    def __post_init__(self):
        if self.kind not in LEAD_TIME_KINDS:
            raise InputError(
                f"unknown lead-time distribution '{self.kind}' (one of {', '.join(LEAD_TIME_KINDS)})",
                field="lead_time",
            )
        if self.kind == "empirical":
            if not self.values or any(not math.isfinite(v) or v < 0 for v in self.values):
                raise InputError(
                    "an empirical lead time needs a list of observed lead times, each zero or positive",
                    field="lead_time",
                )
        elif not (math.isfinite(self.mean) and self.mean >= 0 and math.isfinite(self.sd) and self.sd >= 0):
            raise InputError(
                f"lead time mean and sd must be zero or positive, got mean {self.mean:g}, sd {self.sd:g}",
                field="lead_time",
            )
        if self.kind in ("gamma", "lognormal") and self.sd > 0 and self.mean <= 0:
            raise InputError(f"a {self.kind} lead time needs a positive mean", field="lead_time")

    @classmethod
    def empirical(cls, values, source: str = "") -> LeadTime:
        v = tuple(float(x) for x in values)
        return cls("empirical", float(np.mean(v)) if v else 0.0, float(np.std(v)) if v else 0.0, v, source)

    def quantile_table(self, n: int = QUANTILE_POINTS) -> np.ndarray:
        """Lead times L_j = F⁻¹((j + ½)/n), j = 0..n−1 (empirical: the sorted observations).

        Sampling ``table[floor(u·len(table))]`` with u uniform on [0, 1) draws from the distribution
        stratified into n equal-probability cells: the mean is exact to O(1/n²) away from the
        tails, the extreme tail beyond F⁻¹(1/(2n)) is cut (3.5 sd for a normal at n = 4096).
        The table is computed once per distribution (read-only).
        """
        return _quantile_table(self.kind, float(self.mean), float(self.sd), tuple(self.values), int(n))

    def describe(self, period: str = "periods") -> str:
        if self.kind == "empirical":
            return f"empirical ({len(self.values)} observations, mean {self.mean:.3g} {period})"
        if self.kind == "constant" or self.sd == 0:
            return f"{self.mean:.3g} {period}"
        return f"{self.kind}, mean {self.mean:.3g} {period}, sd {self.sd:.3g}"

    def to_dict(self) -> dict:
        d = {
            "distribution": self.kind,
            "mean_periods": self.mean,
            "sd_periods": self.sd,
            "source": self.source,
        }
        if self.kind == "empirical":
            d["values_periods"] = list(self.values)
        return d


@lru_cache(maxsize=256)
def _quantile_table(kind: str, mean: float, sd: float, values: tuple, n: int) -> np.ndarray:
    from scipy import stats

    if kind == "empirical":
        out = np.sort(np.asarray(values, dtype=float))
    elif kind == "constant" or sd == 0:
        out = np.array([mean])
    else:
        p = (np.arange(n) + 0.5) / n
        if kind == "normal":
            q = stats.norm.ppf(p, loc=mean, scale=sd)
        elif kind == "gamma":
            k = (mean / sd) ** 2
            q = stats.gamma.ppf(p, k, scale=sd**2 / mean)
        else:
            s2 = math.log1p((sd / mean) ** 2)
            q = stats.lognorm.ppf(p, math.sqrt(s2), scale=math.exp(math.log(mean) - s2 / 2))
        out = np.maximum(q, 0.0)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Outage:
    """A two-state up/down supplier: mean time between failures and mean time to repair [periods].

    Up and down spells are geometric with these means (the discrete-time analogue of exponential
    spells), so the long-run availability is mtbf/(mtbf + mttr); the first period's state is drawn
    from that stationary distribution.
    """

    mtbf: float
    mttr: float

    def __post_init__(self):
        for name in ("mtbf", "mttr"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 1:
                raise InputError(
                    f"outage {name} must be at least one period, got {v:g}", field=f"outage.{name}"
                )

    @property
    def availability(self) -> float:
        return self.mtbf / (self.mtbf + self.mttr)


@dataclass(frozen=True)
class Window:
    """A deterministic disruption window [start, end) in whole periods: nothing ships from the source
    during it, and shipments due to arrive in it arrive at its end."""

    start: int
    end: int


@dataclass(frozen=True)
class Allocation:
    """Partial supply in [start, end): the source ships at most ``fraction`` of the item's expected
    requirement per period (unused allowance carries over inside the window); the rest of each
    order is cut (cancelled) and the policy orders again."""

    fraction: float
    start: int
    end: int


@dataclass(frozen=True)
class Source:
    """A named supply option. ``unit_price`` None takes the item's price times ``price_factor``;
    ``remaining_shelf_life`` None means units arrive fresh (the item's whole shelf life);
    ``freight_kg_co2e_per_kg`` and ``freight_cost_per_kg`` are the freight CO2e and cost of one kg of
    device plastic over the source's route (from the factors file, packaging included)."""

    name: str
    lead_time: LeadTime
    qc_release: float = 0.0
    crossing: bool = False
    outage: Outage | None = None
    upstream: str | None = None
    windows: tuple[Window, ...] = ()
    allocation: Allocation | None = None
    unit_price: float | None = None
    price_factor: float = 1.0
    order_cost: float = 0.0
    moq: float = 0.0
    pack_size: float = 1.0
    remaining_shelf_life: float | None = None
    qualified: bool = True
    qualification_time: float = 0.0
    route: str | None = None
    freight_kg_co2e_per_kg: float = 0.0
    freight_cost_per_kg: float = 0.0
    label: str = ""

    def price_for(self, item: Item) -> float:
        """Landed price of one unit of ``item``: the source's ``unit_price``, else the item's price
        times ``price_factor`` plus the freight of its plastic (``freight_cost_per_kg`` per kg of
        device plastic)."""
        if self.unit_price is not None:
            return float(self.unit_price)
        return item.unit_price * self.price_factor + item.plastic_kg * self.freight_cost_per_kg


@dataclass(frozen=True)
class Policy:
    """An inventory policy, in units (``cover_periods`` in periods).

    * ``base-stock``: every period, order up to S (inventory position = on hand + on order −
      backorders − the requirements of batches waiting to start);
    * ``s-S``: when the inventory position is at or below s, order up to S;
    * ``r-Q``: when it is at or below r, order the smallest multiple n·Q that lifts it above r;
    * ``cover``: a time-varying base stock, the expected requirements of the next
      ``cover_periods`` periods (or, with ``safety_stock`` / a target, of the next L + 1 periods
      plus that safety stock).

    A number left None with ``target_service`` set is recommended by :mod:`fluxwise.supply.recommend`.
    """

    type: str = "base-stock"
    base_stock: float | None = None
    s: float | None = None
    S: float | None = None
    r: float | None = None
    Q: float | None = None
    cover_periods: float | None = None
    safety_stock: float | None = None
    target_service: float | None = None

    def __post_init__(self):
        if self.type not in POLICY_TYPES:
            raise InputError(
                f"unknown policy '{self.type}' (one of {', '.join(POLICY_TYPES)})", field="policy"
            )
        if self.target_service is not None and not 0 < self.target_service < 1:
            raise InputError(
                f"target_service must be between 0 and 1, got {self.target_service:g}",
                field="policy.target_service",
            )

    @property
    def complete(self) -> bool:
        """Whether every number the policy needs is given (no recommendation needed)."""
        t = self.type
        if t == "base-stock":
            return self.base_stock is not None
        if t == "s-S":
            return self.s is not None and self.S is not None
        if t == "r-Q":
            return self.r is not None and self.Q is not None
        return self.cover_periods is not None or self.safety_stock is not None

    def to_dict(self) -> dict:
        d: dict = {"type": self.type}
        if self.type == "base-stock":
            d["base_stock"] = self.base_stock
        elif self.type == "s-S":
            d.update(s=self.s, S=self.S)
        elif self.type == "r-Q":
            d.update(r=self.r, Q=self.Q)
        else:
            d.update(cover_periods=self.cover_periods, safety_stock=self.safety_stock)
        if self.target_service is not None:
            d["target_service"] = self.target_service
        return d


@dataclass(frozen=True)
class Expedite:
    """Switch an order to the (faster) ``source`` when the projected stock — on hand, less
    backorders and waiting batches, plus what arrives in the next ``within`` periods, less the
    expected requirements of those periods — falls below zero."""

    source: str
    within: int


@dataclass(frozen=True)
class Item:
    """A consumable: what a batch takes, other demand, shelf life, sources, costs and policy.

    Batch requirement: a set of ``per_set`` units every ``reuses`` batches (``reuses`` = 1: every
    batch), plus ``spares_per_batch``; each unit fails its pre-use integrity test with probability
    ``scrap_rate`` and is replaced from stock (the batch needs the replacements on hand too).
    Independent demand: ``demand_mean``/``demand_sd`` units per period, normal (truncated at 0) or
    Poisson; rounded to whole units when ``whole_units``.
    ``holding_rate`` is per period, as a fraction of the unit price; ``shortage_cost`` per unit
    and period backordered. ``starting_stock`` None starts at the policy's order-up-to level.
    """

    name: str
    sources: tuple[str, ...]
    policy: Policy = field(default_factory=Policy)
    rule: str = "single"
    split: tuple[float, ...] = ()
    per_set: float = 0.0
    reuses: int = 1
    spares_per_batch: float = 0.0
    scrap_rate: float = 0.0
    demand_mean: float = 0.0
    demand_sd: float = 0.0
    demand_dist: str = "normal"
    whole_units: bool = True
    shelf_life: float | None = None
    min_shelf_life_at_use: float = 0.0
    starting_stock: float | None = 0.0
    holding_rate: float = 0.0
    shortage_cost: float = 0.0
    unit_price: float = 0.0
    plastic_kg: float = 0.0
    co2e_kg_per_unit: float = 0.0
    expedite: Expedite | None = None
    step: str = ""
    description: str = ""

    def __post_init__(self):
        if self.rule not in SOURCE_RULES:
            raise InputError(
                f"unknown source rule '{self.rule}' (one of {', '.join(SOURCE_RULES)})",
                field=f"items.{self.name}.rule",
            )
        if not self.sources:
            raise InputError("an item needs at least one source", field=f"items.{self.name}.source")
        if self.reuses < 1:
            raise InputError("reuses must be at least 1", field=f"items.{self.name}.reuses")
        if not 0 <= self.scrap_rate < 1:
            raise InputError("scrap_rate must be in [0, 1)", field=f"items.{self.name}.scrap_rate")

    @property
    def batch_driven(self) -> bool:
        return self.per_set > 0 or self.spares_per_batch > 0

    @property
    def usage_per_batch(self) -> float:
        """Expected units taken per batch, scrap replacements included (negative binomial mean)."""
        good = self.per_set / self.reuses + self.spares_per_batch
        return good / (1.0 - self.scrap_rate)

    def usage_moments(self) -> tuple[float, float]:
        """(E[X], E[X²]) of the units one batch takes, X = good units + integrity-test failures.

        Good units g = per_set on every reuses-th batch plus the spares; failures before g
        successes are negative binomial: mean g·p/(1−p), variance g·p/(1−p)².
        """
        p = self.scrap_rate
        out1 = out2 = 0.0
        for g, w in (
            (self.per_set + self.spares_per_batch, 1.0 / self.reuses),
            (self.spares_per_batch, 1.0 - 1.0 / self.reuses),
        ):
            if w <= 0:
                continue
            m = g / (1 - p)
            v = g * p / (1 - p) ** 2
            out1 += w * m
            out2 += w * (v + m * m)
        return out1, out2


@dataclass(frozen=True)
class Batches:
    """When the campaign's batches are planned to start.

    ``kind``: ``fixed`` (``per_period`` batches a period, spread evenly: ⌊rate·(t+1)⌋ − ⌊rate·t⌋),
    ``poisson`` (Poisson counts with that mean) or ``calendar`` (the periods in ``calendar``; each
    planned batch slips by ``slip_periods`` with probability ``slip_probability`` and is cancelled
    with probability ``failure_probability``). No batch is planned in a ``shutdowns`` window.
    A batch that has waited more than ``max_delay`` periods for its consumables is lost.
    """

    kind: str = "fixed"
    per_period: float = 0.0
    calendar: tuple[int, ...] = ()
    slip_probability: float = 0.0
    slip_periods: int = 1
    failure_probability: float = 0.0
    shutdowns: tuple[Window, ...] = ()
    max_delay: float = math.inf
    value: float = 0.0

    def __post_init__(self):
        if self.kind not in ("fixed", "poisson", "calendar"):
            raise InputError(f"unknown batch schedule '{self.kind}'", field="batches")

    def expected_per_period(self, horizon: int) -> np.ndarray:
        """Expected planned batch starts in each period 0..horizon−1."""
        t = np.arange(horizon)
        if self.kind == "calendar":
            out = np.zeros(horizon)
            for c in self.calendar:
                for k, w in ((c, 1 - self.slip_probability), (c + self.slip_periods, self.slip_probability)):
                    if 0 <= k < horizon:
                        out[k] += w * (1 - self.failure_probability)
        elif self.kind == "fixed":
            out = np.floor(self.per_period * (t + 1) + 1e-9) - np.floor(self.per_period * t + 1e-9)
        else:
            out = np.full(horizon, float(self.per_period))
        for w in self.shutdowns:
            out[max(w.start, 0) : max(min(w.end, horizon), 0)] = 0.0
        return out


@dataclass(frozen=True)
class SupplyPlan:
    """A whole supply plan: horizon, replications, seed, sources, items and batches (in periods)."""

    horizon: int
    items: tuple[Item, ...]
    sources: Mapping[str, Source]
    batches: Batches | None = None
    replications: int = 10_000
    seed: int = 0
    search_replications_max: int = 2000
    period_h: float = 168.0
    period_label: str = "1 week"
    warmup: int = 0
    upstreams: Mapping[str, Outage] = field(default_factory=dict)
    batch_service: float | None = None
    batch_service_kind: str = "per-batch"
    currency: str = "USD"
    compare_sources: tuple[str, ...] = ()
    compare_target: float = 0.95
    source: str = "<memory>"
    name: str = ""
    notes: tuple[str, ...] = ()
    assumptions: tuple[dict, ...] = ()

    def __post_init__(self):
        if self.horizon < 1:
            raise InputError("the horizon must be at least one period", field="horizon")
        if self.replications < 1:
            raise InputError("at least one replication is needed", field="replications")
        names = [i.name for i in self.items]
        if len(set(names)) != len(names):
            raise InputError("two items have the same name", field="items")
        for item in self.items:
            for s in item.sources + ((item.expedite.source,) if item.expedite else ()):
                if s not in self.sources:
                    raise InputError(
                        f"unknown source '{s}' (sources: {', '.join(self.sources)})",
                        field=f"items.{item.name}.source",
                    )
        for s in self.sources.values():
            if s.upstream is not None and s.upstream not in self.upstreams:
                raise InputError(f"unknown upstream '{s.upstream}'", field=f"sources.{s.name}.upstream")
        if any(i.batch_driven for i in self.items) and self.batches is None:
            raise InputError("items are taken per batch but the plan has no batches", field="batches")

    @property
    def search_replications(self) -> int:
        """Replications each candidate of a recommendation search (and of the comparison) is simulated
        with: the first ``search_replications_max`` of the plan's (common random numbers)."""
        return max(min(self.replications, self.search_replications_max), 1)

    @property
    def period_weeks(self) -> float:
        return self.period_h / 168.0

    @property
    def periods_per_year(self) -> float:
        return 8766.0 / self.period_h

    def item(self, name: str) -> Item:
        for i in self.items:
            if i.name == name:
                return i
        raise KeyError(name)

    def with_items(self, items) -> SupplyPlan:
        return replace(self, items=tuple(items))
