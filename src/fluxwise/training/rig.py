r"""Simulated filterability runs on a bench rig, and the budget they consume (pure: no I/O).

A run is what a trainee would do at the bench: a filter type and test-disc size, constant pressure
or constant flux at a set point, a duration and optional stop criteria. The data come from the same
functions the fitter uses (:mod:`fluxwise.models.fouling`) at the trainee's hidden truth
(:class:`~fluxwise.training.scenario.Truth`), then pass through the rig's instruments.

Physics of one run
------------------
Constant pressure P: the clean flux is J0 = Lp·P/μ and the resistance ratio r(V) depends on the
throughput V only (see :mod:`fluxwise.training.scenario`), so dV/dt = J0·(P(t)/P)/r(V). With the
start-up pressurisation P(t) = P·(1 − e^(−t/τ)) this is the model's own V(t) in the warped time

    s(t) = ∫₀ᵗ P(u)/P du = t − τ·(1 − e^(−t/τ)),   V(t) = V_model(s(t); J0, k),

exact for every model (no ODE solver, no error of its own). Constant flux J: the pump ramps the same
way, V(t) = J·s(t), and the pressure is P(t) = (J(t)·μ/Lp)·r(V(t)).

Instruments (the rig section of the scenario): a balance logs ρ·V·A plus a tare left on it at the
start, a linear zero drift and Gaussian noise, rounded to its readability; the rig software logs the
cumulative filtrate as its running maximum (a balance reading never goes back, as in the example
files of ``examples/make_examples.py``). The pressure transducer adds Gaussian noise and rounds to
its resolution; a pump's flow reading carries a relative noise. Readings are taken every logging
interval from t = 0.

Budget
------
Every run costs the rig's set-up time plus its duration (bench hours), the filtrate collected plus
the rig's hold-up (feed), and one test device plus the feed used (money). A run is refused before
it starts when its set-up and requested duration exceed the bench time left, when the device and the
hold-up cannot be paid, or when less feed is left than the hold-up; a run that empties the feed
vessel stops there ("feed exhausted"), so the budget is never exceeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, RefusedError
from ..models.fouling import MODELS, resistance_ratio
from ..trial import CONSTANT_FLUX, CONSTANT_PRESSURE, MODES
from .scenario import RECORD_LABEL, STREAM_RUN, Scenario, Truth, rng_for

__all__ = [
    "RunRequest",
    "Usage",
    "RigRun",
    "simulate_run",
    "check_request",
    "remaining",
    "quick_views",
    "MIN_LOG_POINTS",
]

MIN_LOG_POINTS = 5  # the trial reader needs five rows


@dataclass(frozen=True)
class RunRequest:
    """One experiment, in canonical units: filter, disc area [m²], mode, set point (pressure [bar] or
    flux [L/m²/h]), maximum duration [h] and optional stops: flux decay (0.9 = stop at 10 % of the
    initial flux), pressure [bar], filtrate volume [mL]; ``feed_mL`` caps the feed charged."""

    filter: str
    area_m2: float
    mode: str
    duration_h: float
    pressure_bar: float | None = None
    flux_LMH: float | None = None
    stop_flux_decay: float | None = None
    stop_pressure_bar: float | None = None
    stop_volume_mL: float | None = None
    feed_mL: float | None = None

    def to_dict(self) -> dict:
        return {
            "filter": self.filter,
            "area_m2": self.area_m2,
            "mode": self.mode,
            "duration_h": self.duration_h,
            "pressure_bar": self.pressure_bar,
            "flux_LMH": self.flux_LMH,
            "stop_flux_decay": self.stop_flux_decay,
            "stop_pressure_bar": self.stop_pressure_bar,
            "stop_volume_mL": self.stop_volume_mL,
            "feed_mL": self.feed_mL,
        }

    @classmethod
    def from_dict(cls, d: dict) -> RunRequest:
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Usage:
    """Budget consumed: feed [mL], bench time [h], money [scenario currency]."""

    feed_mL: float = 0.0
    bench_h: float = 0.0
    money: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.feed_mL + other.feed_mL, self.bench_h + other.bench_h, self.money + other.money)

    def to_dict(self) -> dict:
        return {"feed_mL": self.feed_mL, "bench_h": self.bench_h, "money": self.money}

    @classmethod
    def from_dict(cls, d: dict) -> Usage:
        return cls(float(d["feed_mL"]), float(d["bench_h"]), float(d["money"]))


def remaining(scenario: Scenario, used: Usage) -> Usage:
    """Budget left after ``used``."""
    b = scenario.budget
    return Usage(b.feed_mL - used.feed_mL, b.bench_h - used.bench_h, b.money - used.money)


@dataclass(frozen=True)
class RigRun:
    """One simulated run as the rig exports it.

    ``columns``: ``(header with unit, decimals, values)`` in file order; ``metadata``: ``(key, value)``
    lines above the table (no hidden value among them); ``stopped``: why the run ended.
    """

    index: int
    request: RunRequest
    columns: tuple
    metadata: tuple
    stopped: str
    duration_h: float
    collected_mL: float
    usage: Usage

    def column(self, header_start: str) -> np.ndarray:
        for h, _, v in self.columns:
            if h.lower().startswith(header_start.lower()):
                return v
        raise KeyError(header_start)

    def summary(self) -> dict:
        """What the trainee is told about the run besides the file (nothing hidden)."""
        r = self.request
        return {
            "run": self.index + 1,
            "filter": r.filter,
            "area_m2": r.area_m2,
            "mode": r.mode,
            "pressure_bar": r.pressure_bar,
            "flux_LMH": r.flux_LMH,
            "duration_h": self.duration_h,
            "points": int(self.columns[0][2].size),
            "stopped": self.stopped,
            "filtrate_mL": self.collected_mL,
            "usage": self.usage.to_dict(),
        }


def _fmt_area(a_m2: float) -> str:
    return f"{a_m2 * 1e4:.4g} cm2" if a_m2 < 0.01 else f"{a_m2:.4g} m2"


def check_request(scenario: Scenario, request: RunRequest, used: Usage) -> float:
    """Check a run against the scenario and the budget left; return the feed it may use [mL].

    Raises
    ------
    InputError
        A filter, disc, mode or set point the rig does not have (the field names the option).
    RefusedError
        A run the budget cannot pay for; ``reason`` is ``bench_time``, ``feed`` or ``money``.
    """
    rig = scenario.rig
    f = scenario.filter(request.filter)
    if f is None:
        names = ", ".join(x.name for x in scenario.filters)
        raise InputError(f"no filter '{request.filter}' in this scenario (filters: {names})", field="filter")
    disc = f.disc(request.area_m2)
    if disc is None:
        sizes = ", ".join(d.label for d in f.discs)
        raise InputError(f"'{f.name}' comes in {sizes}, not {_fmt_area(request.area_m2)}", field="area")
    if request.mode not in MODES:
        raise InputError(f"unknown mode '{request.mode}' (expected {' or '.join(MODES)})", field="mode")
    if request.mode not in rig.modes:
        raise InputError(f"this rig runs {' and '.join(rig.modes)} only, not {request.mode}", field="mode")
    if request.mode == CONSTANT_PRESSURE:
        if request.pressure_bar is None or not request.pressure_bar > 0:
            raise InputError(
                "a constant-pressure run needs a positive pressure (e.g. --pressure '30 psi')",
                field="pressure",
            )
        if f.max_pressure_bar is not None and request.pressure_bar > f.max_pressure_bar * (1 + 1e-9):
            raise InputError(
                f"{request.pressure_bar:.4g} bar is above the rating of '{f.name}' "
                f"({f.max_pressure_bar:.4g} bar)",
                field="pressure",
            )
    else:
        if request.flux_LMH is None or not request.flux_LMH > 0:
            raise InputError(
                "a constant-flux run needs a positive flux (e.g. --flux '150 LMH')", field="flux"
            )
    if not (request.duration_h > 0 and math.isfinite(request.duration_h)):
        raise InputError("the duration must be positive (e.g. --duration '45 min')", field="duration")
    if request.duration_h > rig.max_duration_h:
        raise InputError(f"the rig logs at most {rig.max_duration_h:.4g} h per run", field="duration")
    if request.duration_h < (MIN_LOG_POINTS - 1) * rig.log_interval_h * (1 - 1e-9):
        raise InputError(
            f"a run needs at least {MIN_LOG_POINTS} readings: at least "
            f"{(MIN_LOG_POINTS - 1) * rig.log_interval_h * 60:.4g} min with this rig's "
            f"{rig.log_interval_h * 3600:.4g} s logging interval",
            field="duration",
        )
    if request.stop_flux_decay is not None and not 0 < request.stop_flux_decay < 1:
        raise InputError(
            "the flux-decay stop is a fraction between 0 and 1 (0.9 stops at 10 % of the initial flux)",
            field="stop_flux_decay",
        )
    left = remaining(scenario, used)
    need_h = rig.setup_time_h + request.duration_h
    if need_h > left.bench_h + 1e-9:
        raise RefusedError(
            f"refused (bench time): this run needs up to {need_h:.3g} h ({rig.setup_time_h:.3g} h "
            f"set-up + {request.duration_h:.3g} h), {max(left.bench_h, 0):.3g} h of bench time "
            f"left",
            reason="bench_time",
        )
    price = scenario.feed.price_per_mL
    fixed_cost = disc.price + rig.hold_up_mL * price
    if fixed_cost > left.money + 1e-9:
        raise RefusedError(
            f"refused (money): a run on a {disc.label} '{f.name}' costs at least "
            f"{fixed_cost:.4g} {scenario.currency} (device and rig hold-up), "
            f"{max(left.money, 0):.4g} {scenario.currency} left",
            reason="money",
        )
    charge = left.feed_mL
    if price > 0:
        charge = min(charge, (left.money - disc.price) / price)
    if request.feed_mL is not None:
        if request.feed_mL > left.feed_mL + 1e-9:
            raise RefusedError(
                f"refused (feed): {request.feed_mL:.4g} mL asked, {max(left.feed_mL, 0):.4g} mL of feed left",
                reason="feed",
            )
        charge = min(charge, request.feed_mL)
    if charge <= rig.hold_up_mL + 1e-9:
        raise RefusedError(
            f"refused (feed): {max(left.feed_mL, 0):.4g} mL of feed left, not more than the "
            f"rig's hold-up of {rig.hold_up_mL:.4g} mL",
            reason="feed",
        )
    return float(charge)


def _warp(t, tau):
    """s(t) = ∫ ramp: the time the run has spent at full pressure (or flow) equivalent."""
    if tau <= 0:
        return t, np.ones_like(t)
    ramp = -np.expm1(-t / tau)
    return t - tau * ramp, ramp


def _round_to(x, step):
    return np.round(x / step) * step if step > 0 else x


def _decimals(step: float) -> int:
    if step <= 0:
        return 4
    return max(0, int(math.ceil(-math.log10(step) - 1e-9)))


def simulate_run(
    scenario: Scenario, truth: Truth, request: RunRequest, index: int, *, feed_limit_mL: float
) -> RigRun:
    """Simulate run number ``index`` (from 0) of an attempt; the noise is drawn from its own stream.

    ``feed_limit_mL`` is the feed the run may use (:func:`check_request`).
    """
    rig, feed = scenario.rig, scenario.feed
    f = scenario.filter(request.filter)
    disc = f.disc(request.area_m2)
    ft = truth.of(f.name)
    rng = rng_for(scenario.id, truth.seed, STREAM_RUN, index)
    area = disc.area_m2
    dt = rig.log_interval_h
    n = int(math.floor(request.duration_h / dt + 1e-9)) + 1
    t = np.arange(n) * dt
    s, ramp = _warp(t, rig.startup_h)
    if request.mode == CONSTANT_PRESSURE:
        J0 = truth.clean_flux(f.name, request.pressure_bar)
        k = truth.model_constants(f.name, J0)
        v = MODELS[ft.mechanism].volume(s, J0, *k)
        r = resistance_ratio(ft.mechanism, v, J0, *k)
        p_true = request.pressure_bar * ramp
    else:
        J = request.flux_LMH
        k = truth.model_constants(f.name, J)
        v = J * s
        r = resistance_ratio(ft.mechanism, v, J, *k)
        p_true = truth.clean_pressure(f.name, J) * ramp * r
    collected = v * area * 1000.0  # mL
    # stops: the first reading at which a criterion is met ends the run (that reading is logged)
    stops = [(n - 1, "duration reached")]
    usable = feed_limit_mL - rig.hold_up_mL
    over = np.flatnonzero(collected > usable)
    if over.size:
        stops.append((int(over[0]) - 1, "feed exhausted"))
    if request.stop_flux_decay is not None:
        hit = np.flatnonzero(r >= 1.0 / (1.0 - request.stop_flux_decay))
        if hit.size:
            stops.append((int(hit[0]), f"flux fell by {request.stop_flux_decay:.0%}"))
    stop_p = request.stop_pressure_bar
    if request.mode == CONSTANT_FLUX:
        limit = f.max_pressure_bar if f.max_pressure_bar is not None else 5.0
        stop_p = min(stop_p, limit) if stop_p is not None else limit
    if stop_p is not None:
        hit = np.flatnonzero(~np.isfinite(p_true) | (p_true >= stop_p))
        if hit.size:
            stops.append(
                (int(hit[0]), f"pressure reached {stop_p / rig.pressure_unit_bar:.4g} {rig.pressure_unit}")
            )
    if request.stop_volume_mL is not None:
        hit = np.flatnonzero(collected >= request.stop_volume_mL)
        if hit.size:
            stops.append((int(hit[0]), f"{request.stop_volume_mL:.4g} mL collected"))
    last, why = min(stops, key=lambda x: x[0])
    last = max(last, 0)
    m = last + 1
    t, v, collected, p_true, ramp = t[:m], v[:m], collected[:m], p_true[:m], ramp[:m]
    p_true = np.where(np.isfinite(p_true), p_true, stop_p if stop_p is not None else 0.0)

    # instruments
    time_col = _round_to(t / rig.time_unit_h, 1e-6)
    cols = [(f"Time ({rig.time_unit})", _decimals(dt / rig.time_unit_h / 100), time_col)]
    if request.mode == CONSTANT_FLUX:
        flow = (
            request.flux_LMH * area * 1000.0 / 60.0 * ramp * (1.0 + rig.flow_noise * rng.standard_normal(m))
        )
        cols.append(("Feed flow (mL/min)", 3, np.round(np.maximum(flow, 0.0), 3)))
    res = rig.balance_resolution
    if rig.filtrate == "mass":
        reading = (
            collected * feed.density_g_per_mL
            + rig.tare
            + rig.balance_drift_per_h * t
            + rig.balance_noise * rng.standard_normal(m)
        )
        reading = np.maximum.accumulate(_round_to(reading, res))
        cols.append(("Filtrate mass (g)", _decimals(res), reading))
    else:
        reading = (
            collected + rig.tare + rig.balance_drift_per_h * t + rig.balance_noise * rng.standard_normal(m)
        )
        reading = np.maximum.accumulate(_round_to(np.maximum(reading, 0.0), res))
        cols.append(("Filtrate volume (mL)", _decimals(res), reading))
    p_unit = rig.pressure_unit_bar
    p_read = (p_true + rig.pressure_noise_bar * rng.standard_normal(m)) / p_unit
    p_step = rig.pressure_resolution_bar / p_unit
    p_header = "P1" if rig.pressure_unit.lower().startswith("psi") else "Pressure"
    cols.append(
        (
            f"{p_header} ({rig.pressure_unit})",
            _decimals(p_step) if p_step > 0 else 3,
            np.maximum(_round_to(p_read, p_step) if p_step > 0 else np.round(p_read, 3), 0.0),
        )
    )

    set_point = (
        f"{request.pressure_bar / p_unit:.4g} {rig.pressure_unit}"
        if request.mode == CONSTANT_PRESSURE
        else f"{request.flux_LMH:.4g} L/m2/h ({request.flux_LMH * area * 1000 / 60:.4g} mL/min)"
    )
    meta = [
        ("Record", f"{RECORD_LABEL} (fluxwise virtual lab; not a GMP record)"),
        ("Scenario", f"{scenario.id} (version {scenario.version_hash})"),
        ("Run", str(index + 1)),
        ("Sample", feed.name),
        (
            "Filter",
            f.name
            if f.prefilter is None
            else f"{f.name} (prefilter {f.prefilter.name} at {f.prefilter.area_ratio:g}:1 area)",
        ),
        ("Filter area", disc.label),
        ("Mode", request.mode.replace("-", " ")),
        ("Set point", set_point),
    ]
    if rig.filtrate == "mass":
        meta.append(("Density", f"{feed.density_g_per_mL:.4g} g/mL"))
        meta.append(("Balance", f"readability {res:g} g; filtrate logged as running maximum"))
    meta.append(("Stopped", why))
    duration = float(t[-1])
    collected_mL = float(collected[-1])
    feed_mL = collected_mL + rig.hold_up_mL
    usage = Usage(
        feed_mL=feed_mL, bench_h=rig.setup_time_h + duration, money=disc.price + feed_mL * feed.price_per_mL
    )
    return RigRun(
        index=index,
        request=request,
        columns=tuple(cols),
        metadata=tuple(meta),
        stopped=why,
        duration_h=duration,
        collected_mL=collected_mL,
        usage=usage,
    )


def quick_views(scenario: Scenario, run: RigRun) -> dict:
    """The quick plots of a run from its logged readings only (what the trainee sees, no fit):
    time [h], throughput V [L/m²] (tare subtracted), flux [L/m²/h], t/V [h·m²/L], pressure [bar].
    """
    rig = scenario.rig
    t = run.columns[0][2] * rig.time_unit_h
    header, _, reading = run.columns[-2]
    ml = reading / scenario.feed.density_g_per_mL if header.startswith("Filtrate mass") else reading
    v = (ml - ml[0]) / 1000.0 / run.request.area_m2
    flux = np.gradient(v, t) if t.size > 2 else np.zeros_like(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_over_v = np.where(v > 0, t / v, np.nan)
    p_bar = run.columns[-1][2] * rig.pressure_unit_bar
    return {
        "time_h": t,
        "throughput_L_per_m2": v,
        "flux_LMH": flux,
        "t_over_V_h_m2_per_L": t_over_v,
        "pressure_bar": p_bar,
    }
