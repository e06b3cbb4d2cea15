r"""Cake properties of fitted trials, their compressibility over several pressures, and sizing at another
process pressure from them.

1. **One trial** (:func:`cake_properties`): the cake term of a fitted model (kc) and its clean flux J0
   give the specific cake resistance alpha [m/kg] and the medium resistance Rm [1/m] at the trial's
   pressure, viscosity and cake solids (:mod:`fluxwise.models.cake`); their 95 % intervals follow
   from those of kc and J0 (alpha ∝ kc, Rm ∝ 1/J0). Under a combined model (cake-complete,
   cake-intermediate, cake-standard) alpha is *apparent*: the cake term of a law that also blocks
   pores. At constant flux ΔP is the clean pressure P0 of the fit (Rm = 3.6e6·P0/(μJ)) and alpha
   averages the cake over the pressures the trial passed through. The medium's share of the pressure
   drop at the end of the trial, Rm/(Rm + alpha·c·V/1000), says how much of the resistance the cake
   had built.
2. **Several trials at different pressures** (:func:`cake_study`): alpha = alpha_ref·(ΔP/ΔP_ref)^s and
   Rm = Rm_ref·(ΔP/ΔP_ref)^n by least squares of the logs over at least three pressures
   (:mod:`fluxwise.fit.compressibility`), with intervals.
3. **Sizing at another pressure** within the tested range, never outside it
   (:func:`params_at_pressure`): kc = kc_t·(ΔP/ΔP_t)^(s − 1) (from alpha ∝ ΔP^s and kc ∝ alpha/ΔP),
   J0 = 3.6e6·ΔP/(μ·Rm(ΔP)); blocking constants are kept (the blocked area per volume σ = kb/J0,
   and ki, ks), with a warning, because nothing in cake theory says how blocking depends on
   pressure. At constant flux the pressure of a compressible cake solves an implicit Darcy law
   (:func:`fluxwise.models.cake.constant_flux_pressure`); :func:`size_constant_flux` sizes a pure
   cake to a maximum pressure with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DesignError, InputError, ModelError
from ..fit.compressibility import MIN_PRESSURES, PowerLawFit, fit_power_law
from ..models import cake as mc
from ..models.fouling import MODELS

__all__ = ["CakeConditions", "CakeProperties", "CakeStudy", "cake_properties", "cake_study",
           "params_at_pressure", "size_constant_flux", "CAKE_MODELS"]

_PA_PER_BAR = 1e5
_PA_S_PER_MPA_S = 1e-3
#: Models with a cake term (kc): the ones that give a specific cake resistance.
CAKE_MODELS = tuple(name for name, m in MODELS.items() if "kc_h_m4_per_L2" in m.params)
_TOL = 1e-9


@dataclass(frozen=True)
class CakeConditions:
    """The conditions of a trial that cake properties need, in fluxwise units, with their sources.

    ``pressure_bar`` [bar] (None at constant flux: the fit's P0 is used), ``viscosity_mPa_s`` [mPa·s],
    ``solids_g_per_L`` [g/L = kg/m³], dry cake solids per filtrate volume; ``sources`` maps each to
    ``argument``, ``metadata`` or ``pressure column``.
    """

    pressure_bar: float | None
    viscosity_mPa_s: float
    solids_g_per_L: float
    sources: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CakeProperties:
    """alpha and Rm of one trial (keys of ``to_dict`` carry units)."""

    source: str
    mode: str
    model: str
    apparent: bool
    pressure_bar: float
    viscosity_mPa_s: float
    solids_g_per_L: float
    alpha_m_per_kg: float
    alpha_ci95: tuple[float, float]
    Rm_per_m: float
    Rm_ci95: tuple[float, float]
    trial_max_loading_L_per_m2: float
    medium_pressure_share_end: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d.update(alpha_ci95=list(self.alpha_ci95), Rm_ci95=list(self.Rm_ci95), notes=list(self.notes))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> CakeProperties:
        kw = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        kw.update(alpha_ci95=tuple(d["alpha_ci95"]), Rm_ci95=tuple(d["Rm_ci95"]),
                  notes=tuple(d.get("notes", ())))
        return cls(**kw)


def cake_properties(model: str, params: dict, ci95: dict, conditions: CakeConditions, *, mode: str,
                    trial_max_loading_L_per_m2: float, source: str = "<memory>") -> CakeProperties:
    """alpha [m/kg] and Rm [1/m] of one fitted trial (see the module docstring).

    Parameters
    ----------
    model : str  A model with a cake term (:data:`CAKE_MODELS`).
    params, ci95 : dict  The fit's parameters and 95 % intervals (keys as in ``fit --json``).
    conditions : CakeConditions  Pressure (constant pressure), viscosity and cake solids.
    mode : str  ``constant-pressure`` or ``constant-flux``.
    trial_max_loading_L_per_m2 : float  The trial's last throughput [L/m²].
    """
    if model not in CAKE_MODELS:
        raise ModelError(f"model '{model}' has no cake term: cake properties need one of "
                         f"{', '.join(CAKE_MODELS)}")
    mu = conditions.viscosity_mPa_s * _PA_S_PER_MPA_S
    c = conditions.solids_g_per_L
    kc = float(params["kc_h_m4_per_L2"])
    kc_lo, kc_hi = ci95.get("kc_h_m4_per_L2", (kc, kc))
    notes = []
    if mode == "constant-flux":
        p_bar = float(params["P0_bar"])
        j = float(params["J0_LMH"])
        rm = float(mc.medium_resistance(j, p_bar * _PA_PER_BAR, mu))
        p_lo, p_hi = ci95.get("P0_bar", (p_bar, p_bar))
        rm_ci = (float(mc.medium_resistance(j, p_lo * _PA_PER_BAR, mu)),
                 float(mc.medium_resistance(j, p_hi * _PA_PER_BAR, mu)))
        notes.append(f"constant flux: ΔP is the clean pressure P0 = {p_bar:.4g} bar of the fit; alpha "
                     "averages the cake over the pressures the trial passed through")
    else:
        if conditions.pressure_bar is None:
            raise InputError("cake properties need the trial's pressure: a pressure column, a 'Pressure:' "
                             "line above the table, or --pressure", field="pressure")
        p_bar = float(conditions.pressure_bar)
        j0 = float(params["J0_LMH"])
        rm = float(mc.medium_resistance(j0, p_bar * _PA_PER_BAR, mu))
        j_lo, j_hi = ci95.get("J0_LMH", (j0, j0))
        rm_ci = (float(mc.medium_resistance(j_hi, p_bar * _PA_PER_BAR, mu)),
                 float(mc.medium_resistance(j_lo, p_bar * _PA_PER_BAR, mu)) if j_lo > 0 else math.inf)
    dp = p_bar * _PA_PER_BAR
    alpha = float(mc.specific_cake_resistance(kc, dp, mu, c))
    alpha_ci = (float(mc.specific_cake_resistance(kc_lo, dp, mu, c)),
                float(mc.specific_cake_resistance(kc_hi, dp, mu, c)))
    apparent = model != "cake"
    if apparent:
        notes.append(f"'{model}' blocks pores as well as building a cake: alpha is apparent (the cake term "
                     "of a combined law)")
    share = float(mc.medium_pressure_fraction(rm, alpha, c, trial_max_loading_L_per_m2))
    return CakeProperties(source=source, mode=mode, model=model, apparent=apparent, pressure_bar=p_bar,
                          viscosity_mPa_s=conditions.viscosity_mPa_s, solids_g_per_L=c, alpha_m_per_kg=alpha,
                          alpha_ci95=alpha_ci, Rm_per_m=rm, Rm_ci95=rm_ci,
                          trial_max_loading_L_per_m2=float(trial_max_loading_L_per_m2),
                          medium_pressure_share_end=share, notes=tuple(notes))


@dataclass(frozen=True)
class CakeStudy:
    """Cake properties of several trials and, over three or more pressures, their power laws."""

    trials: tuple[CakeProperties, ...]
    alpha: PowerLawFit | None
    medium: PowerLawFit | None
    notes: tuple[str, ...] = ()

    @property
    def pressure_range_bar(self) -> tuple[float, float]:
        p = [t.pressure_bar for t in self.trials]
        return (min(p), max(p))

    def to_dict(self) -> dict:
        return {"trials": [t.to_dict() for t in self.trials],
                "compressibility": None if self.alpha is None else self.alpha.to_dict(),
                "medium_resistance": None if self.medium is None else self.medium.to_dict(),
                "compressibility_s": None if self.alpha is None else self.alpha.exponent,
                "tested_pressure_range_bar": list(self.pressure_range_bar), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict) -> CakeStudy:
        """The study back from the JSON of ``fluxwise cake --json``."""
        try:
            return cls(trials=tuple(CakeProperties.from_dict(t) for t in d["trials"]),
                       alpha=(None if d.get("compressibility") is None
                              else PowerLawFit.from_dict(d["compressibility"])),
                       medium=(None if d.get("medium_resistance") is None
                               else PowerLawFit.from_dict(d["medium_resistance"])),
                       notes=tuple(d.get("notes", ())))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not the JSON of fluxwise cake --json (missing or wrong {exc})") from None


def cake_study(properties, *, reference_pressure_bar: float | None = None) -> CakeStudy:
    """Fit alpha(ΔP) and Rm(ΔP) over the trials' pressures (needs three or more different pressures
    at constant pressure; with fewer, the study holds the trials' own values and says why not)."""
    props = tuple(properties)
    if not props:
        raise InputError("no trials to study")
    notes = []
    cp = [t for t in props if t.mode == "constant-pressure"]
    pressures = {round(t.pressure_bar, 12) for t in cp}
    if len(cp) < len(props):
        notes.append("constant-flux trials are listed but left out of the pressure laws (their pressure is "
                     "not one value)")
    if len(pressures) < MIN_PRESSURES:
        notes.append(f"compressibility needs constant-pressure trials at {MIN_PRESSURES} or more different "
                     f"pressures (got {len(pressures)}): alpha and Rm are given per trial only")
        return CakeStudy(trials=props, alpha=None, medium=None, notes=tuple(notes))
    if len({(t.viscosity_mPa_s, t.solids_g_per_L) for t in cp}) > 1:
        notes.append("the trials differ in viscosity or cake solids: each alpha and Rm uses its own trial's "
                     "values")
    p = np.array([t.pressure_bar for t in cp])
    alpha = fit_power_law(p, [t.alpha_m_per_kg for t in cp], quantity="alpha_m_per_kg",
                          reference_pressure_bar=reference_pressure_bar)
    medium = fit_power_law(p, [t.Rm_per_m for t in cp], quantity="Rm_per_m",
                           reference_pressure_bar=alpha.reference_pressure_bar)
    if alpha.exponent >= 1:
        notes.append(f"s = {alpha.exponent:.3g} ≥ 1: more pressure gives no more throughput (a highly "
                     "compressible cake); filter at low pressure")
    return CakeStudy(trials=props, alpha=alpha, medium=medium, notes=tuple(notes))


def _check_range(study: CakeStudy, pressure_bar: float, what: str) -> None:
    if study.alpha is None or study.medium is None:
        raise DesignError("sizing at another pressure needs a cake study over three or more pressures "
                          "(fluxwise cake TRIAL TRIAL TRIAL ...)")
    lo, hi = study.alpha.pressure_range_bar
    if not lo * (1 - _TOL) <= pressure_bar <= hi * (1 + _TOL):
        raise DesignError(f"the {what} {pressure_bar:.4g} bar is outside the pressures tested, {lo:.4g} to "
                          f"{hi:.4g} bar: cake properties are not extrapolated (run a trial at that "
                          "pressure)")


def params_at_pressure(study: CakeStudy, model: str, params: dict, conditions: CakeConditions,
                       process_pressure_bar: float) -> tuple[dict, dict, list[str]]:
    """A constant-pressure fit carried to another process pressure with the study's power laws.

    Returns (parameters for :func:`fluxwise.design.sizing.size_filter`, a ``cake`` block for the JSON,
    warnings). The trial's pressure is ``conditions.pressure_bar``.
    """
    if model not in CAKE_MODELS:
        raise DesignError(f"model '{model}' has no cake term to carry to another pressure (use one of "
                          f"{', '.join(CAKE_MODELS)})")
    if conditions.pressure_bar is None:
        raise InputError("the trial's pressure is needed to carry its fit to another pressure",
                         field="pressure")
    _check_range(study, process_pressure_bar, "process pressure")
    p_t, p = float(conditions.pressure_bar), float(process_pressure_bar)
    s = study.alpha.exponent
    mu = conditions.viscosity_mPa_s * _PA_S_PER_MPA_S
    rm = float(study.medium.at(p))
    j0 = float(mc.clean_flux(rm, p * _PA_PER_BAR, mu))
    out = dict(params)
    out["kc_h_m4_per_L2"] = float(params["kc_h_m4_per_L2"]) * (p / p_t) ** (s - 1.0)
    out["J0_LMH"] = j0
    warnings = []
    kept = [k for k in MODELS[model].params if k != "kc_h_m4_per_L2"]
    if "kb_per_h" in kept:
        out["kb_per_h"] = float(params["kb_per_h"]) * j0 / float(params["J0_LMH"])  # σ = kb/J0 kept
    if kept:
        names = ", ".join("σ = kb/J0" if k == "kb_per_h" else k.split("_")[0] for k in kept)
        warnings.append(f"cake properties carry '{model}' from {p_t:.4g} to {p:.4g} bar, but its blocking "
                        f"constants ({names}) are kept as fitted at {p_t:.4g} bar: pore blocking may change "
                        "with pressure; confirm with a trial at the process pressure")
    info = {"trial_pressure_bar": p_t, "process_pressure_bar": p, "compressibility_s": s,
            "alpha_m_per_kg": float(study.alpha.at(p)), "Rm_per_m": rm, "J0_LMH": j0,
            "kc_h_m4_per_L2": out["kc_h_m4_per_L2"],
            "tested_pressure_range_bar": list(study.pressure_range_bar),
            "trial_params": dict(params)}
    return out, info, warnings


def size_constant_flux(study: CakeStudy, conditions: CakeConditions, *, batch_volume_L: float,
                       max_pressure_bar: float, flux_LMH: float | None = None,
                       process_time_h: float | None = None) -> dict:
    """Minimum area [m²] of a compressible cake filtered at constant flux up to ``max_pressure_bar``.

    The maximum pressure must lie within the pressures tested. With a flux, V* = capacity at ΔPmax
    (closed form, :func:`fluxwise.models.cake.constant_flux_capacity`); with a process time only, the
    flux follows from the area, J = V*/t, and V* solves alpha·c·V²/1000 + Rm·V = 3.6e6·ΔPmax·t/μ (at
    ΔPmax the resistances are those of ΔPmax). The final pressure is recomputed with the implicit
    Darcy law (:func:`fluxwise.models.cake.constant_flux_pressure`). Returns area, flux, time and pressures.
    """
    _check_range(study, max_pressure_bar, "maximum pressure")
    mu = conditions.viscosity_mPa_s * _PA_S_PER_MPA_S
    c = conditions.solids_g_per_L
    dp = max_pressure_bar * _PA_PER_BAR
    laws = dict(alpha_ref=study.alpha.value_ref, s=study.alpha.exponent, rm_ref=study.medium.value_ref,
                n=study.medium.exponent, dp_ref_pa=study.alpha.reference_pressure_bar * _PA_PER_BAR)
    if flux_LMH is not None:
        v = float(mc.constant_flux_capacity(dp, flux_LMH, mu, c, **laws))
        if v <= 0:
            raise DesignError(f"at {flux_LMH:.4g} LMH the clean medium alone needs more than "
                              f"{max_pressure_bar:.4g} bar: lower the flux")
        area = batch_volume_L / v
        if process_time_h is not None:
            area = max(area, batch_volume_L / (flux_LMH * process_time_h))
        j = flux_LMH
    elif process_time_h is not None:
        alpha = float(study.alpha.at(max_pressure_bar))
        rm = float(study.medium.at(max_pressure_bar))
        a = alpha * c / 1000.0
        v = (-rm + math.sqrt(rm * rm + 4.0 * a * 3.6e6 * dp * process_time_h / mu)) / (2.0 * a)
        area = batch_volume_L / v
        j = v / process_time_h
    else:
        raise DesignError("constant-flux sizing needs a process flux or a process time")
    v_end = batch_volume_L / area
    p_end = float(mc.constant_flux_pressure(v_end, j, mu, c, **laws)) / _PA_PER_BAR
    p_start = float(mc.constant_flux_pressure(0.0, j, mu, c, **laws)) / _PA_PER_BAR
    return {"min_area_m2": area, "flux_LMH": j, "process_time_h": v_end / j, "final_pressure_bar": p_end,
            "initial_pressure_bar": p_start, "max_pressure_bar": max_pressure_bar}
