r"""Size a normal-flow filter from a fitted fouling model: minimum area, endpoints, formats.

Constant pressure. The trial's test filter and the process filter see the same throughput V(t)
per area, so a batch of volume Vb must reach V* = Vb/A within the process time tb. The minimum
area solves t_model(V*) = tb for V* by a bracketed continuous root solve (Brent 1973) on the
monotone time-to-throughput law t(V) = ∫₀^V r(u)/J0 du, then A_min = Vb/V*. Under standard
blocking this has the closed form (Badmington et al. 1995; Zydney & Ho 2002)

    A_min = Vb/Vmax + Vb/(J0·tb),   Vmax = 2/ks,

which the tests use as a check (Vmax 500 L/m², J0 1000 LMH, 1000 L in 2 h -> 2.5 m²).

Constant flux. At flux J the clean-filter pressure scales as P0(J) = P0,trial·J/J_trial (Darcy)
and the pressure rises as P = P0(J)·r(V). With a maximum pressure Pmax the capacity V* solves
r(V*) = Pmax/P0(J); when the process time is given instead of the flux, J = V*/tb and V* solves
P0,trial·(V*/tb)/J_trial·r(V*) = Pmax (Zydney & Ho 2002; Bolton et al. 2006).

Flux-decay endpoints. V_x is the throughput at which the flux has fallen by x (J/J0 = 1 − x), the
usual capacity figures V50, V75, V90 of sterile and virus filter sizing (PDA TR 26; PDA TR 41).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DesignError
from ..models.fouling import MODELS, resistance_ratio, time_to_throughput
from .catalog import FilterFormat, FormatChoice, choose_format, format_options

__all__ = ["throughput_at_time", "throughput_at_flux_decay", "endpoints", "min_area_constant_pressure",
           "min_area_constant_flux", "standard_blocking_area", "min_area", "Sizing", "size_filter"]

DEFAULT_SAFETY_FACTOR = 1.5


def _params(model: str, params: dict) -> tuple[float, tuple]:
    m = MODELS[model]
    return float(params["J0_LMH"]), tuple(float(params[p]) for p in m.params)


def _solve_increasing(f, target: float, hi0: float) -> float:
    """Root of f(V) = target for an increasing f with f(0) < target: expand a bracket, then Brent."""
    from scipy.optimize import brentq  # imported when sizing, not with the module (slow import)

    lo, hi = 0.0, max(hi0, 1e-9)
    for _ in range(200):
        fh = f(hi)
        if not np.isfinite(fh) or fh >= target:
            break
        lo, hi = hi, hi * 2.0
    else:  # pragma: no cover - f grows at least linearly for every model
        raise DesignError("throughput could not be bracketed")
    # inf beyond a capacity: shrink the upper end onto finite values without losing the root
    g = lambda v: (min(f(v), 1e300) if np.isfinite(f(v)) else 1e300) - target  # noqa: E731
    return float(brentq(g, lo, hi, xtol=1e-12 * max(hi, 1.0), rtol=4 * np.finfo(float).eps,
                     maxiter=500))


def throughput_at_time(model: str, params: dict, time_h: float) -> float:
    """V* [L/m²] reached at constant pressure after ``time_h`` [h]: root of t_model(V) = time_h."""
    J0, k = _params(model, params)
    if time_h <= 0:
        raise DesignError(f"process time must be positive, got {time_h} h")

    def t_of_v(v):
        return float(time_to_throughput(model, v, J0, *k))

    # no fouling is the fastest possible: V* <= J0·t, a bracket that always contains the root
    return _solve_increasing(t_of_v, time_h, J0 * time_h)


def throughput_at_flux_decay(model: str, params: dict, decay: float) -> float:
    """Throughput V_x [L/m²] at which the flux has decayed by the fraction ``decay`` (0.9 -> V90).

    Solves r(V) = 1/(1 − decay); the same V at constant flux is where P/P0 = 1/(1 − decay).
    """
    if not 0 < decay < 1:
        raise DesignError(f"flux decay must be between 0 and 1, got {decay}")
    J0, k = _params(model, params)
    target = 1.0 / (1.0 - decay)
    guess = 1.0
    return _solve_increasing(lambda v: float(resistance_ratio(model, v, J0, *k)), target, guess)


def endpoints(model: str, params: dict) -> dict:
    """V50, V75 and V90 [L/m²]."""
    return {f"v{int(x * 100)}_L_per_m2": throughput_at_flux_decay(model, params, x) for x in (0.5, 0.75, 0.9)}


def min_area_constant_pressure(model: str, params: dict, batch_volume_L: float, process_time_h: float,
                               *, flux_decay_limit: float | None = None) -> float:
    """Minimum filter area [m²] to filter ``batch_volume_L`` [L] in ``process_time_h`` [h].

    With ``flux_decay_limit`` (e.g. 0.9) the filter must also not foul past that flux decay:
    A >= Vb/V_x.
    """
    if batch_volume_L <= 0:
        raise DesignError(f"batch volume must be positive, got {batch_volume_L} L")
    area = batch_volume_L / throughput_at_time(model, params, process_time_h)
    if flux_decay_limit is not None:
        area = max(area, batch_volume_L / throughput_at_flux_decay(model, params, flux_decay_limit))
    return area


def standard_blocking_area(vmax_L_per_m2: float, J0_LMH: float, batch_volume_L: float,
                           process_time_h: float) -> float:
    """Closed form under standard blocking: A = Vb/Vmax + Vb/(J0·tb) [m²] (Badmington et al. 1995)."""
    return batch_volume_L / vmax_L_per_m2 + batch_volume_L / (J0_LMH * process_time_h)


def min_area_constant_flux(model: str, params: dict, batch_volume_L: float, *, max_pressure_bar: float,
                           flux_LMH: float | None = None, process_time_h: float | None = None) -> dict:
    """Minimum area [m²] at constant flux under a maximum pressure.

    ``params`` are those of a constant-flux fit: ``J0_LMH`` (the trial's flux), ``P0_bar`` and the
    fouling constants. Give the process flux, or the process time (the flux then follows from the
    area), or both (the larger area wins). Returns area, flux, time and final pressure.
    """
    J_trial = float(params["J0_LMH"])
    P0_trial = float(params["P0_bar"])
    k = tuple(float(params[p]) for p in MODELS[model].params)
    if batch_volume_L <= 0:
        raise DesignError(f"batch volume must be positive, got {batch_volume_L} L")
    if max_pressure_bar <= 0:
        raise DesignError(f"maximum pressure must be positive, got {max_pressure_bar} bar")

    def r(v):
        return float(resistance_ratio(model, v, J_trial, *k))

    candidates = []
    if flux_LMH is not None:
        p0 = P0_trial * flux_LMH / J_trial
        if p0 >= max_pressure_bar:
            raise DesignError(f"at {flux_LMH:.4g} LMH the clean filter already needs {p0:.3g} bar, above the "
                              f"maximum {max_pressure_bar:.3g} bar: lower the flux")
        v_cap = _solve_increasing(r, max_pressure_bar / p0, 1.0)
        a = batch_volume_L / v_cap
        if process_time_h is not None:
            a = max(a, batch_volume_L / (flux_LMH * process_time_h))
        candidates.append((a, flux_LMH))
    elif process_time_h is not None:
        v_star = _solve_increasing(lambda v: P0_trial * (v / process_time_h) / J_trial * r(v),
                                   max_pressure_bar, 1.0)
        a = batch_volume_L / v_star
        candidates.append((a, v_star / process_time_h))
    else:
        raise DesignError("constant-flux sizing needs a process flux or a process time", advice={
            "cli": "e.g. --process-time '2 h'", "api": 'e.g. "process_time": "2 h"',
            "web": "fill in the process time, e.g. 2 h, or the process flux"})
    area, J = max(candidates)
    v = batch_volume_L / area
    return {"min_area_m2": area, "flux_LMH": J, "process_time_h": v / J,
            "final_pressure_bar": P0_trial * J / J_trial * r(v), "max_pressure_bar": max_pressure_bar}


def min_area(model: str, params: dict, mode: str, *, batch_volume_L: float,
             process_time_h: float | None = None, flux_decay_limit: float | None = None,
             max_pressure_bar: float | None = None,
             flux_LMH: float | None = None) -> tuple[float, float | None, dict]:
    """Minimum area [m²] in either mode: (area, process time [h], extra figures of the mode).

    Constant pressure: :func:`min_area_constant_pressure` (extra: the flux-decay limit when given);
    constant flux: :func:`min_area_constant_flux` (extra: flux, final and maximum pressure, and the
    process time that follows).
    """
    extra = {}
    if mode == "constant-pressure":
        if process_time_h is None:
            raise DesignError("constant-pressure sizing needs a process time", advice={
                "cli": "e.g. --process-time '4 h'", "api": 'e.g. "process_time": "4 h"',
                "web": "fill in the process time, e.g. 4 h"})
        area = min_area_constant_pressure(model, params, batch_volume_L, process_time_h,
                                          flux_decay_limit=flux_decay_limit)
        if flux_decay_limit is not None:
            extra["flux_decay_limit"] = flux_decay_limit
        return area, process_time_h, extra
    if max_pressure_bar is None:
        raise DesignError("constant-flux sizing needs a maximum pressure", advice={
            "cli": "e.g. --max-pressure '2 bar'", "api": 'e.g. "max_pressure": "2 bar"',
            "web": "fill in the maximum pressure, e.g. 2 bar"})
    res = min_area_constant_flux(model, params, batch_volume_L, max_pressure_bar=max_pressure_bar,
                                 flux_LMH=flux_LMH, process_time_h=process_time_h)
    area = res.pop("min_area_m2")
    extra.update(res)
    return area, res["process_time_h"], extra


@dataclass(frozen=True)
class Sizing:
    """A sizing recommendation; ``to_dict`` gives the JSON of ``fluxwise size --json``."""

    model: str
    mode: str
    batch_volume_L: float
    process_time_h: float | None
    min_area_m2: float
    safety_factor: float
    choice: FormatChoice
    endpoints: dict
    params: dict
    options: tuple = field(default=())
    extra: dict = field(default_factory=dict)
    risk: dict | None = None  # risk-based sizing (fluxwise.design.risk), when a confidence was asked for
    warnings: tuple = ()  # sentences: what the user must know about this sizing, and what to do
    checks: dict = field(default_factory=dict)  # the extrapolation block (fluxwise.design.sizing_checks)
    cake: dict | None = None  # fit carried to another process pressure (fluxwise.design.cake)
    turbidity: dict | None = None  # turbidity breakthrough with the other limit (fluxwise.design.tmax)

    @property
    def installed_area_m2(self) -> float:
        """Required installed area = minimum area x safety factor [m²]."""
        return self.min_area_m2 * self.safety_factor

    def to_dict(self) -> dict:
        d = {"model": self.model, "mode": self.mode, "batch_volume_L": self.batch_volume_L,
             "process_time_h": self.process_time_h, "min_area_m2": self.min_area_m2,
             "safety_factor": self.safety_factor, "installed_area_m2": self.installed_area_m2,
             "format": self.choice.to_dict(), **self.endpoints,
             "capacity_at_process_time_L_per_m2": self.batch_volume_L / self.min_area_m2,
             "params": dict(self.params),
             "alternatives": [c.to_dict() for c in self.options]}
        d.update(self.extra)
        d.update(self.checks)
        d["warnings"] = list(self.warnings)  # always there: an empty list when there are none
        for key in ("cake", "turbidity"):
            if getattr(self, key) is not None:
                d[key] = dict(getattr(self, key))
        if self.risk is not None:
            d.update({k: self.risk[k] for k in ("confidence", "risk_based_area_m2", "implied_safety_factor")})
            d["risk"] = dict(self.risk)
        return d


def size_filter(model: str, params: dict, mode: str, formats: list[FilterFormat], *, batch_volume_L: float,
                process_time_h: float | None = None, safety_factor: float = DEFAULT_SAFETY_FACTOR,
                flux_decay_limit: float | None = None, max_pressure_bar: float | None = None,
                flux_LMH: float | None = None, format_name: str | None = None) -> Sizing:
    """Size the filter for a batch: minimum area, installed area with a safety factor, format, count.

    Parameters
    ----------
    model : str  Fouling model name.
    params : dict  Fitted parameters (keys as in ``fit --json``).
    mode : str  ``constant-pressure`` or ``constant-flux``.
    formats : list of FilterFormat  The catalog.
    batch_volume_L : float  Batch volume [L].
    process_time_h : float  Process time [h] (required at constant pressure).
    safety_factor : float  Installed over minimum area [-], default 1.5.
    flux_decay_limit : float, optional  Constant pressure: do not foul past this flux decay (0.9 = V90).
    max_pressure_bar : float  Constant flux: the maximum pressure [bar].
    flux_LMH : float, optional  Constant flux: the process flux [L/m²/h].
    format_name : str, optional  Use this catalog format instead of the best one.
    """
    if not (safety_factor >= 1.0 and math.isfinite(safety_factor)):
        raise DesignError(f"safety factor must be at least 1, got {safety_factor}")
    area, process_time_h, extra = min_area(model, params, mode, batch_volume_L=batch_volume_L,
                                           process_time_h=process_time_h, flux_decay_limit=flux_decay_limit,
                                           max_pressure_bar=max_pressure_bar, flux_LMH=flux_LMH)
    ends = endpoints(model, params)
    installed = area * safety_factor
    choice = choose_format(formats, installed, name=format_name)
    options = tuple(format_options(formats, installed)[:5])
    return Sizing(model=model, mode=mode, batch_volume_L=batch_volume_L, process_time_h=process_time_h,
                  min_area_m2=area, safety_factor=safety_factor, choice=choice, endpoints=ends,
                  params=dict(params), options=options, extra=extra)
