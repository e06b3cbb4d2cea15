"""Cake properties: cake studies of trials, and the sizing steps that use them.

:func:`cake_analysis` (``fluxwise cake``); :func:`read_cake_study`; and two steps of
:func:`fluxwise.pipeline.trials.size_trial`: sizing at a process pressure with a cake study and the
filtrate turbidity limit (Tmax). This module does not import :mod:`.trials` when it loads (that module
imports these steps).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from ..design.sizing import Sizing, size_filter
from ..errors import InputError
from ..fit.fouling import TrialFit, fit_trial
from ..trial import CONSTANT_PRESSURE, Trial
from ..units import parse_quantity

if TYPE_CHECKING:
    from .trials import SizingRequest

__all__ = ["cake_analysis", "read_cake_study"]


def cake_analysis(trials, *, model: str = "cake", pressure=None, viscosity=None, solids=None,
                  reference_pressure=None, read: dict | None = None):
    """Cake properties of each trial and, over three or more pressures, their compressibility.

    ``trials`` are paths or :class:`Trial` objects; each is fitted with ``model`` (a model with a cake
    term, or ``"best"``: the best-ranked of those); its pressure, viscosity and cake solids come from
    the options (quantities with units: ``"0.89 mPa s"``, ``"23.5 kg/m3"``), else from the file
    (:func:`fluxwise.io.conditions.trial_conditions`). ``pressure`` is for a single trial only.
    Returns a :class:`fluxwise.design.cake.CakeStudy` (``to_dict`` is ``fluxwise cake --json``).
    """
    from ..design.cake import CAKE_MODELS, cake_properties, cake_study
    from ..io.conditions import trial_conditions
    from .trials import load_trial  # here: .trials imports this module's sizing steps

    items = list(trials)
    if not items:
        raise InputError("give at least one trial", field="trials")
    if pressure is not None and len(items) > 1:
        raise InputError("--pressure applies to a single trial; with several, each file gives its own "
                         "pressure (a pressure column or a 'Pressure:' line)", field="--pressure")
    if model != "best" and model not in CAKE_MODELS:
        raise InputError(f"'{model}' has no cake term (use best or one of {', '.join(CAKE_MODELS)})",
                         field="--model")
    ref = None if reference_pressure is None else parse_quantity(reference_pressure, "pressure",
                                                                 field="--reference-pressure")
    props = []
    for item in items:
        trial = item if isinstance(item, Trial) else load_trial(item, **(read or {}))
        fit = fit_trial(trial, models=list(CAKE_MODELS) if model == "best" else [model])
        chosen = fit.best
        cond = trial_conditions(trial, pressure=pressure, viscosity=viscosity, solids=solids)
        props.append(cake_properties(chosen.name, chosen.params, chosen.ci95, cond, mode=trial.mode,
                                     trial_max_loading_L_per_m2=float(trial.v_L_per_m2[-1]),
                                     source=trial.source))
    return cake_study(props, reference_pressure_bar=ref)


def _turbidity_value(value, field: str) -> float:
    """A turbidity in NTU (or FNU/FTU, read as the same scale): ``10``, ``"10 NTU"``."""
    text = str(value).strip()
    for unit in ("NTU", "FNU", "FTU"):
        if text.upper().endswith(unit):
            text = text[: -len(unit)].strip()
            break
    try:
        x = float(text)
    except ValueError:
        raise InputError(f"'{value}' is not a turbidity (expected e.g. '10 NTU')", field=field) from None
    if not (x > 0 and np.isfinite(x)):
        raise InputError(f"must be positive, got {value!r}", field=field)
    return x


def read_cake_study(value):
    """A :class:`fluxwise.design.cake.CakeStudy` from itself, its JSON (dict) or a ``fluxwise cake --json``
    file."""
    import json
    from pathlib import Path

    from ..design.cake import CakeStudy

    if isinstance(value, CakeStudy):
        return value
    if isinstance(value, dict):
        return CakeStudy.from_dict(value)
    path = Path(str(value))
    if not path.is_file():
        raise InputError("cake study file not found (write one with fluxwise cake TRIAL... --json > "
                         "cake.json)",
                         source=str(path), field="cake-study")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InputError("not JSON (expected the output of fluxwise cake --json)", source=str(path),
                         field="cake-study") from None
    if not isinstance(data, dict):
        raise InputError("expected the JSON object of fluxwise cake --json", source=str(path),
                         field="cake-study")
    try:
        return CakeStudy.from_dict(data)
    except InputError as exc:
        raise InputError(exc.message, source=str(path), field="cake-study") from None


def _size_with_cake_study(fit: TrialFit, chosen, request: SizingRequest, formats) -> Sizing:
    """Size at ``request.process_pressure_bar`` with the laws of a cake study (fluxwise.design.cake)."""
    from ..design.cake import params_at_pressure, size_constant_flux
    from ..design.catalog import choose_format, format_options
    from ..io.conditions import trial_conditions
    from ..models.cake import medium_pressure_fraction

    study = read_cake_study(request.cake_study)
    trial = fit.trial
    uniform = {(t.viscosity_mPa_s, t.solids_g_per_L) for t in study.trials}
    defaults = {}
    if len(uniform) == 1:
        mu, c = next(iter(uniform))
        defaults = {"viscosity": f"{mu} mPa*s", "solids": f"{c} g/L"}
    try:
        cond = trial_conditions(trial)
    except InputError as exc:
        if exc.field not in ("--viscosity", "--solids") or not defaults:
            raise
        cond = trial_conditions(trial, **defaults)
    if trial.mode == CONSTANT_PRESSURE:
        if request.process_pressure_bar is None:
            raise InputError("give the process pressure to size at with the cake study",
                             field="process-pressure")
        params, info, warnings = params_at_pressure(study, chosen.name, chosen.params, cond,
                                                    request.process_pressure_bar)
        sizing = size_filter(chosen.name, params, trial.mode, formats, batch_volume_L=request.batch_volume_L,
                             process_time_h=request.process_time_h, safety_factor=request.safety_factor,
                             flux_decay_limit=request.flux_decay_limit, format_name=request.format_name)
        v = request.batch_volume_L / sizing.min_area_m2
        info["medium_pressure_share_at_batch_loading"] = float(medium_pressure_fraction(
            info["Rm_per_m"], info["alpha_m_per_kg"], cond.solids_g_per_L, v))
        return dataclasses.replace(sizing, cake=info, warnings=tuple(sizing.warnings) + tuple(warnings))
    if request.max_pressure_bar is None:
        raise InputError("constant-flux sizing needs a maximum pressure", field="max-pressure")
    if request.process_pressure_bar is not None and request.process_pressure_bar != request.max_pressure_bar:
        raise InputError("at constant flux the cake study sizes to the maximum pressure: give --max-pressure "
                         "only", field="process-pressure")
    res = size_constant_flux(study, cond, batch_volume_L=request.batch_volume_L,
                             max_pressure_bar=request.max_pressure_bar, flux_LMH=request.flux_LMH,
                             process_time_h=request.process_time_h)
    area = res.pop("min_area_m2")
    installed = area * request.safety_factor
    choice = choose_format(formats, installed, name=request.format_name)
    info = {"compressibility_s": study.alpha.exponent,
            "tested_pressure_range_bar": list(study.pressure_range_bar),
            "alpha_at_max_pressure_m_per_kg": float(study.alpha.at(request.max_pressure_bar)),
            "Rm_at_max_pressure_per_m": float(study.medium.at(request.max_pressure_bar)),
            "initial_pressure_bar": res.pop("initial_pressure_bar")}
    warnings = []
    if chosen.name != "cake":
        warnings.append("at constant flux the cake study sizes a pure cake; the trial's best model "
                        f"'{chosen.name}' also blocks pores, which the study's laws do not carry")
    lo = study.pressure_range_bar[0]
    if info["initial_pressure_bar"] < lo:
        warnings.append(f"the run starts at {info['initial_pressure_bar']:.3g} bar, below the lowest "
                        f"pressure tested ({lo:.3g} bar): the early, low-pressure part uses the laws outside "
                        "their range")
    return Sizing(model="cake", mode=trial.mode, batch_volume_L=request.batch_volume_L,
                  process_time_h=res["process_time_h"], min_area_m2=area, safety_factor=request.safety_factor,
                  choice=choice, endpoints={}, params={},
                  options=tuple(format_options(formats, installed)[:5]), extra=res, cake=info,
                  warnings=tuple(warnings))


def _with_turbidity_limit(trial: Trial, sizing: Sizing, request: SizingRequest, formats) -> Sizing:
    """Tmax: the trial's turbidity breakthrough combined with the sizing's limit (fluxwise.design.tmax)."""
    if request.turbidity_limit_NTU is None:
        return sizing
    from ..design.tmax import combine_with_turbidity, turbidity_breakthrough

    ntu = trial.signals.get("turbidity_NTU") if trial.signals else None
    if ntu is None:
        raise InputError("a turbidity limit needs a turbidity column in the trial, e.g. 'filtrate turbidity "
                         "(NTU)'",
                         source=trial.source, field="turbidity-limit")
    tmax = turbidity_breakthrough(trial.v_L_per_m2, ntu, request.turbidity_limit_NTU,
                                  flush_L_per_m2=request.turbidity_flush_L_per_m2)
    trial_flux = None
    if trial.mode != CONSTANT_PRESSURE:
        t, v = trial.t_h, trial.v_L_per_m2
        trial_flux = float((v[-1] - v[0]) / (t[-1] - t[0]))
    return combine_with_turbidity(sizing, tmax, formats, format_name=request.format_name,
                                  trial_flux_LMH=trial_flux)
