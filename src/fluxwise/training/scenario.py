r"""Lab scenarios and the hidden truth drawn from them for one trainee (pure: no I/O).

A :class:`Scenario` describes a feed, the candidate filters (each with a *distribution* of fouling
behaviour), the simulated rig, the budget, the task and the GMP exercise. Its YAML reader is
:func:`fluxwise.io.lab_scenario.read_scenario`; every key is documented in ``docs/lab-scenarios.md``.
:func:`draw_truth` turns a scenario and a trainee's seed into a :class:`Truth`: the mechanism and
constants of every filter, the viscosity, the solids. Two seeds give two feeds, so two trainees'
answers differ.

Pressure-invariant constants
----------------------------
A trainee may run the rig at any pressure or flux, so the truth is stored in the form that does not
change with the operating point: the resistance ratio r(V) = J0/J = P/P0 of
:mod:`fluxwise.models.fouling` is a function of the throughput V alone when the constants are

* ``sigma_m2_per_L`` σ — membrane area closed per filtrate volume (complete blocking, kb = σ·J0;
  Bolton et al. 2006 write the complete law with σ = kb/J0),
* ``ki_m2_per_L`` ki and ``ks_m2_per_L`` ks — as in the fit (intermediate and standard blocking are
  laws in V already, Hermia 1982),
* ``beta_m2_per_L`` β — cake resistance over membrane resistance per throughput (kc = β/J0: for an
  incompressible cake 1/J = 1/J0 + kc·V with kc = μ·α·c/ΔP and J0 = ΔP/(μ·Rm), so kc·J0 = α·c/Rm;
  Ruth 1935),

and the clean flux follows Darcy's law, J0 = Lp·ΔP/μ, with Lp the membrane's water permeability
[L/m²/h/bar at 1 cP] and μ the feed viscosity [cP]. At constant flux J the clean-filter pressure is
P0 = J·μ/Lp and the pressure P = P0·r(V). Approximations: incompressible cakes and pressure-
independent blocking constants (the classical Hermia setting); fouling constants proportional to the
feed's solids (``solids``/``reference_solids``), as each Hermia constant is proportional to the
foulant concentration.

The truth in the keys of ``fluxwise fit`` (``J0_LMH``, ``kb_per_h``, ``kc_h_m4_per_L2``, ...)
at an operating point is :meth:`Truth.fit_params`.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from ..fit.distributions import normal_quantile
from ..models.fouling import MODELS

__all__ = [
    "LEVELS",
    "PARTS",
    "CONSTANT_KEYS",
    "FIT_KEY_OF",
    "Dist",
    "Disc",
    "Prefilter",
    "TruthVariant",
    "FilterSpec",
    "Feed",
    "Rig",
    "Budget",
    "Task",
    "SafetyFactorSpec",
    "IntegritySpec",
    "GMPSpec",
    "GradingSpec",
    "AssessmentSpec",
    "Scenario",
    "FilterTruth",
    "Truth",
    "draw_truth",
    "constants_for",
    "rng_for",
    "RECORD_LABEL",
]

LEVELS = ("easy", "medium", "hard")
PARTS = ("mechanism", "area", "safety_factor", "format", "prefilter", "efficiency", "gmp")
CONSTANT_KEYS = ("sigma_m2_per_L", "ki_m2_per_L", "ks_m2_per_L", "beta_m2_per_L")
#: pressure-invariant constant -> the fit key it becomes at an operating point
FIT_KEY_OF = {
    "sigma_m2_per_L": "kb_per_h",
    "ki_m2_per_L": "ki_m2_per_L",
    "ks_m2_per_L": "ks_m2_per_L",
    "beta_m2_per_L": "kc_h_m4_per_L2",
}
_INVARIANT_OF = {v: k for k, v in FIT_KEY_OF.items()}
#: printed on every file, record and answer of the lab
RECORD_LABEL = "TRAINING - SIMULATED"

# independent random streams of one attempt (the truth, each rig run, the GMP exercise)
STREAM_TRUTH, STREAM_RUN, STREAM_GMP = 1, 2, 3


def constants_for(mechanism: str) -> tuple[str, ...]:
    """The pressure-invariant constants a mechanism needs, in the model's order."""
    return tuple(_INVARIANT_OF[p] for p in MODELS[mechanism].params)


def rng_for(scenario_id: str, seed: int, stream: int, *more: int) -> np.random.Generator:
    """The random generator of one stream of one trainee's attempt (reproducible, independent)."""
    key = zlib.crc32(scenario_id.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence([int(seed), key, stream, *map(int, more)]))


@dataclass(frozen=True)
class Dist:
    """A number drawn per trainee: ``fixed`` (a), ``lognormal`` (median a, coefficient of variation
    b), ``uniform`` or ``loguniform`` (between a and b). Values in the canonical unit of the key."""

    kind: str
    a: float
    b: float = float("nan")

    def draw(self, rng: np.random.Generator) -> float:
        return self.at(float(rng.random()))

    def at(self, u: float) -> float:
        """The value at quantile ``u`` (0 < u < 1) of the distribution (inverse CDF)."""
        if self.kind == "fixed":
            return float(self.a)
        if self.kind == "lognormal":
            s = math.sqrt(math.log1p(self.b * self.b))
            return float(self.a * math.exp(s * normal_quantile(u)))
        if self.kind == "uniform":
            return self.a + (self.b - self.a) * u
        return float(math.exp(math.log(self.a) + (math.log(self.b) - math.log(self.a)) * u))

    @property
    def nominal(self) -> float:
        """Median of the distribution (what a data sheet would state)."""
        if self.kind in ("fixed", "lognormal"):
            return float(self.a)
        if self.kind == "uniform":
            return (self.a + self.b) / 2.0
        return math.sqrt(self.a * self.b)

    def to_dict(self) -> dict:
        if self.kind == "fixed":
            return {"fixed": self.a}
        if self.kind == "lognormal":
            return {"median": self.a, "cv": self.b}
        return {"low": self.a, "high": self.b, "scale": "linear" if self.kind == "uniform" else "log"}


@dataclass(frozen=True)
class Disc:
    """A test filter size of the rig: area [m²], price of one device, the label the trainee uses."""

    area_m2: float
    price: float
    label: str


@dataclass(frozen=True)
class Prefilter:
    """A prefilter in series before the filter: name, area over the filter's area, price [per m²]."""

    name: str
    area_ratio: float
    price_per_m2: float


@dataclass(frozen=True)
class TruthVariant:
    """One possible behaviour of a filter on this feed: a mechanism and its constants, with a weight."""

    mechanism: str
    weight: float
    permeability: Dist  # L/m²/h/bar at 1 cP
    constants: dict  # invariant key -> Dist [m²/L]


@dataclass(frozen=True)
class FilterSpec:
    """A filter (or a prefilter + filter configuration) the trainee can test and size."""

    name: str
    description: str
    discs: tuple  # Disc
    variants: tuple  # TruthVariant
    prefilter: Prefilter | None = None
    max_pressure_bar: float | None = None

    def disc(self, area_m2: float) -> Disc | None:
        for d in self.discs:
            if abs(d.area_m2 / area_m2 - 1.0) < 0.01:
                return d
        return None


@dataclass(frozen=True)
class Feed:
    name: str
    viscosity_cP: Dist
    density_g_per_mL: float
    price_per_mL: float = 0.0
    solids: Dist | None = None
    reference_solids: float | None = None
    solids_unit: str = ""


@dataclass(frozen=True)
class Rig:
    """The simulated bench rig: what it can do, how it logs, and its instruments' imperfections.

    Noise terms are standard deviations; ``startup_h`` the time constant of the pressure (or pump)
    ramp, P(t) = P·(1 − e^(−t/τ)); balance values in g (mass logging) or mL (volume logging).
    """

    modes: tuple
    log_interval_h: float
    time_unit: str = "min"
    time_unit_h: float = 1.0 / 60.0  # hours per time unit
    filtrate: str = "mass"  # mass | volume
    pressure_unit: str = "psi"
    pressure_unit_bar: float = 0.0689475729  # bar per pressure unit
    balance_resolution: float = 0.01
    balance_noise: float = 0.0
    balance_drift_per_h: float = 0.0
    tare: float = 0.0
    pressure_noise_bar: float = 0.0
    pressure_resolution_bar: float = 0.0
    flow_noise: float = 0.0
    startup_h: float = 0.0
    hold_up_mL: float = 0.0
    setup_time_h: float = 0.0
    export: str = "csv"
    max_duration_h: float = 24.0


@dataclass(frozen=True)
class Budget:
    feed_mL: float
    bench_h: float
    money: float

    def to_dict(self) -> dict:
        return {"feed_mL": self.feed_mL, "bench_h": self.bench_h, "money": self.money}


@dataclass(frozen=True)
class Task:
    """What the trainee must size. ``mode`` is the process's operating mode."""

    text: str
    filters: tuple  # names of the configurations the answer may choose from
    batch_volume_L: float
    mode: str
    process_time_h: float | None = None
    pressure_bar: float | None = None
    flux_LMH: float | None = None
    max_pressure_bar: float | None = None
    temperature_c: float = 20.0
    flux_decay_limit: float | None = None
    catalog: str = "default"
    prefilter_decision: bool = False


@dataclass(frozen=True)
class SafetyFactorSpec:
    low: float
    high: float
    reasons: dict  # id -> (text, accepted)
    show_range: bool = True


@dataclass(frozen=True)
class IntegritySpec:
    """The integrity test of the GMP exercise and its specification (the filter's data sheet).

    ``bubble-point``: ``spec`` is the minimum bubble point [bar] for ``spec_fluid`` (surface tension
    ``spec_surface_tension`` [mN/m], None = water at ``spec_temperature_c``); the test runs with
    ``test_fluid`` (None = water) at a temperature drawn from ``test_temperature_c``.
    ``diffusion``: ``spec`` is the maximum diffusion flow [L/h] per ``reference_area_m2``; the
    installed filter has ``area_m2``.
    """

    method: str
    spec: float
    spec_temperature_c: float = 20.0
    spec_fluid: str = "water"
    spec_surface_tension: float | None = None
    test_fluid: str = "water"
    test_surface_tension: float | None = None
    test_temperature_c: Dist = field(default_factory=lambda: Dist("fixed", 20.0))
    test_pressure_bar: float | None = None
    reference_area_m2: float | None = None
    area_m2: float | None = None


@dataclass(frozen=True)
class GMPSpec:
    """The GMP exercise: the device, the SOP's volumes and the draws that make it go wrong."""

    device: str
    part_number: str
    integrity: IntegritySpec
    sterilise: bool = False
    flush_L: float = 0.0
    rewet_L: float = 0.0
    back_pressure_bar: float = 0.0
    flush_out_L: float = 0.0
    p_expired: float = 0.0
    p_not_wetted: float = 0.0
    p_defect: float = 0.0
    p_post_failure: float = 0.0
    deviation_on: tuple = ("rejection", "post_use_failure")


@dataclass(frozen=True)
class GradingSpec:
    weights: dict  # part -> points before normalisation
    objectives: dict  # part -> objective id
    pass_mark: float = 80.0
    critical_cap: float = 40.0
    efficiency_full_at: float = 0.5
    efficiency_zero_at: float = 1.0


@dataclass(frozen=True)
class AssessmentSpec:
    attempts: int = 3
    time_limit_h: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A lab scenario as read from YAML (see ``docs/lab-scenarios.md``); ``version_hash`` identifies
    its content (SHA-256 of the canonical JSON of the file's data, 16 hex digits)."""

    id: str
    title: str
    level: str
    description: str
    feed: Feed
    filters: tuple  # FilterSpec
    rig: Rig
    budget: Budget
    task: Task
    safety_factor: SafetyFactorSpec
    gmp: GMPSpec
    grading: GradingSpec
    assessment: AssessmentSpec
    objectives: dict  # id -> text
    currency: str = "USD"
    version_hash: str = ""
    source: str = ""

    def filter(self, name: str) -> FilterSpec | None:
        for f in self.filters:
            if f.name.casefold() == str(name).strip().casefold():
                return f
        return None

    @property
    def parts(self) -> tuple:
        """Grading parts of this scenario (prefilter only with a prefilter decision)."""
        return tuple(p for p in PARTS if p != "prefilter" or self.task.prefilter_decision)

    def points(self) -> dict:
        """Points of each part, normalised to a total of 100."""
        w = {p: float(self.grading.weights.get(p, 0.0)) for p in self.parts}
        total = sum(w.values())
        return {p: 100.0 * v / total for p, v in w.items()}


# ------------------------------------------------------------------------------------ the truth


@dataclass(frozen=True)
class FilterTruth:
    """The hidden behaviour of one filter: mechanism, water permeability, invariant constants."""

    filter: str
    mechanism: str
    permeability_LMH_per_bar: float
    constants: dict  # invariant key -> value [m²/L], the mechanism's constants only

    def to_dict(self) -> dict:
        return {
            "mechanism": self.mechanism,
            "permeability_LMH_per_bar": self.permeability_LMH_per_bar,
            "constants": dict(self.constants),
        }


@dataclass(frozen=True)
class Truth:
    """What one trainee's feed really does (never shown to the trainee)."""

    scenario_id: str
    seed: int
    viscosity_cP: float
    solids: float | None
    filters: dict  # name -> FilterTruth

    def of(self, filter_name: str) -> FilterTruth:
        return self.filters[filter_name]

    def clean_flux(self, filter_name: str, pressure_bar: float) -> float:
        """Darcy: J0 = Lp·ΔP/μ [L/m²/h]."""
        return self.of(filter_name).permeability_LMH_per_bar * pressure_bar / self.viscosity_cP

    def clean_pressure(self, filter_name: str, flux_LMH: float) -> float:
        """Pressure of the clean filter at a flux, P0 = J·μ/Lp [bar]."""
        return flux_LMH * self.viscosity_cP / self.of(filter_name).permeability_LMH_per_bar

    def model_constants(self, filter_name: str, J0: float) -> tuple:
        """The fouling constants in :mod:`fluxwise.models.fouling` order at initial (or constant) flux J0."""
        ft = self.of(filter_name)
        out = []
        for key in constants_for(ft.mechanism):
            v = ft.constants[key]
            out.append(v * J0 if key == "sigma_m2_per_L" else v / J0 if key == "beta_m2_per_L" else v)
        return tuple(out)

    def fit_params(
        self, filter_name: str, *, pressure_bar: float | None = None, flux_LMH: float | None = None
    ) -> dict:
        """The truth in the keys of ``fluxwise fit --json`` at a constant pressure or a constant flux."""
        ft = self.of(filter_name)
        if pressure_bar is not None:
            J0 = self.clean_flux(filter_name, pressure_bar)
            params = {"J0_LMH": J0}
        else:
            J0 = float(flux_LMH)
            params = {"J0_LMH": J0, "P0_bar": self.clean_pressure(filter_name, J0)}
        params.update(zip(MODELS[ft.mechanism].params, self.model_constants(filter_name, J0), strict=True))
        return params

    def to_dict(self) -> dict:
        return {
            "scenario": self.scenario_id,
            "seed": self.seed,
            "viscosity_cP": self.viscosity_cP,
            "solids": self.solids,
            "filters": {k: v.to_dict() for k, v in self.filters.items()},
        }


def draw_truth(scenario: Scenario, seed: int) -> Truth:
    """Draw one trainee's truth from a scenario's distributions (same seed, same truth)."""
    rng = rng_for(scenario.id, seed, STREAM_TRUTH)
    feed = scenario.feed
    viscosity = feed.viscosity_cP.draw(rng)
    solids, load = None, 1.0
    if feed.solids is not None:
        solids = feed.solids.draw(rng)
        load = solids / feed.reference_solids
    # common random numbers: one quantile per quantity, shared by every filter, so a feed that fouls
    # one filter strongly fouls the others strongly too (the same feed behind each configuration)
    u = {k: float(rng.random()) for k in ("variant", "permeability", *CONSTANT_KEYS)}
    filters = {}
    for f in scenario.filters:
        weights = np.cumsum([v.weight for v in f.variants])
        variant = f.variants[
            min(int(np.searchsorted(weights / weights[-1], u["variant"], side="right")), len(f.variants) - 1)
        ]
        lp = variant.permeability.at(u["permeability"])
        used = {k: variant.constants[k].at(u[k]) * load for k in constants_for(variant.mechanism)}
        filters[f.name] = FilterTruth(f.name, variant.mechanism, lp, used)
    return Truth(
        scenario_id=scenario.id, seed=int(seed), viscosity_cP=viscosity, solids=solids, filters=filters
    )
