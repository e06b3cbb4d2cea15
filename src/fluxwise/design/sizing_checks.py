r"""What a sizing cannot promise: extrapolation, tied models, a J0 above the buffer flux, viscosity.

A fitted fouling model sizes a filter for any batch, and that is the danger: the number comes out
as confidently 3x beyond the trial as inside it. This module computes, in one place for every door
(CLI, API, web, report), the figures and the plain sentences that say how far a sizing leans on
the model rather than on the data. :func:`check_sizing` returns them as a :class:`SizingChecks`,
whose ``to_dict`` keys join the JSON of ``fluxwise size --json``.

Extrapolation in loading. The process filter must take V* = Vb/A_min per m² (the capacity at the
process time, before the safety factor: the factor is margin, not data). The trial reached
V_trial = max V of its points, so

    extrapolation factor = (Vb/A_min)/V_trial,max,

reported with the time ratio t_batch/t_trial. The factor in loading is the one that decides
(every fouling law is a law in V; a longer process time at a loading the trial covered is
interpolation). Past ``extrapolation_limit`` (default 1.5x) a warning says so.

Past V90. V90 is the throughput at which the flux of the fitted model has fallen to 10 % of J0
(r(V) = 10; at constant flux, P/P0 = 10): 0.684·Vmax under standard blocking, since
(1 − V/Vmax)² = 0.1 gives V = (1 − √0.1)·Vmax — not 0.9·Vmax. A sizing that runs the filter past it
spends most of its time at a few per cent of the initial flux, where a small error in the model is
a large error in time.

Tied models. Models within ΔAICc < 2 of the best (strictly; Burnham & Anderson 2002, §2.6) fit
the trial equally well but may extrapolate very differently. The minimum area under each is
reported as a range, and the recommendation takes the largest (most conservative) unless the user
names a model. AICc assumes independent errors: with autocorrelated residuals
(:mod:`fluxwise.fit.diagnostics`) ties and rankings mean less, and the sentence says so.

J0 against the clean-buffer flux. No fouling law lets a filter start faster than it passes clean
buffer at the same pressure and viscosity, so a fitted J0 above the buffer flux J_buffer by more
than ``j0_margin`` (default 10 %) means the early points or the model are off; refitting with J0
fixed at J_buffer is offered. (A finite-difference flux of the first points is no bound: it lies
below J0 by construction.)

Viscosity. A process at another temperature than the trial scales every time by m = μ_p/μ_t
(:func:`fluxwise.models.viscosity.rescale_for_viscosity`); that is hydraulics only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from ..errors import DesignError

__all__ = ["DEFAULT_EXTRAPOLATION_LIMIT", "DEFAULT_J0_MARGIN", "TIE_DAICC", "tied_area_range",
           "extrapolation_block", "j0_warning", "viscosity_warning", "tie_warning", "check_sizing",
           "WARNING_GUIDE"]

DEFAULT_EXTRAPOLATION_LIMIT = 1.5
DEFAULT_J0_MARGIN = 0.10
TIE_DAICC = 2.0

#: What each warning means and what to do about it (README, report and web page show this table).
WARNING_GUIDE = (
    ("extrapolated", "The batch loads the filter further (L/m²) than the trial went; beyond the trial the "
     "fouling mechanism is a guess.", "Run the trial to at least the process loading, or size for more "
     "area or a shorter process time; raise --extrapolation-limit only with evidence."),
    ("past V90", "The filter would run past the throughput where the flux has fallen to 10 % of its "
     "start (at constant flux: the pressure has risen 10-fold); there the time (or pressure) is very "
     "sensitive to the model.", "Add area (at constant pressure e.g. --flux-decay-limit 0.9; at constant "
     "flux a lower maximum pressure or flux), or a prefilter."),
    ("tied models", "Several models fit equally well (ΔAICc < 2) but predict different areas; the "
     "recommendation takes the largest.", "Choose with --model only on mechanistic grounds; a longer "
     "trial separates the models."),
    ("autocorrelated residuals", "Residuals follow each other in time (drift, pulsation, temperature, "
     "or a model that is nearly right): the 95 % intervals are too narrow and AICc favours extra "
     "parameters.", "Use fit --intervals ar1 or size --confidence with --bootstrap-method block; "
     "check the rig."),
    ("J0 above buffer flux", "The fitted initial flux is higher than clean buffer passes at the same "
     "pressure, which no fouling law allows.", "Check the first points and the pressure; refit "
     "with J0 fixed at the buffer flux (--fix-j0)."),
    ("viscosity", "The sizing was moved to the process temperature or viscosity by the viscosity "
     "ratio: hydraulics only.", "Cold processing can also precipitate or aggregate the feed; "
     "confirm with a trial at process temperature."),
)


def tied_area_range(candidates: Iterable, area_of: Callable[[str, dict], float], *,
                    threshold: float = TIE_DAICC) -> dict:
    """Minimum areas of the models tied with the best (ΔAICc < ``threshold``, strictly).

    Parameters
    ----------
    candidates : iterable of (model name, params, AICc)  E.g. every fit of a trial.
    area_of : callable (model, params) -> minimum area [m²]
    threshold : float  ΔAICc below which a model is tied with the best (default 2).

    Returns
    -------
    dict  ``models`` (list of ``{model, delta_aicc, min_area_m2}``, best first; the area is None
    where the model cannot meet the batch), ``tied_area_range_m2`` ([lo, hi] over the models that
    can) and ``most_conservative`` (the model of the largest area).
    """
    rows = sorted(((str(m), dict(p), float(a)) for m, p, a in candidates), key=lambda r: r[2])
    if not rows:
        raise DesignError("no fitted model to size with")
    best = rows[0][2]
    tied = []
    for name, params, aicc in rows:
        if not aicc - best < threshold:
            continue
        try:
            area = float(area_of(name, params))
        except DesignError:
            area = None
        tied.append({"model": name, "delta_aicc": aicc - best, "min_area_m2": area})
    areas = [(r["min_area_m2"], r["model"]) for r in tied if r["min_area_m2"] is not None]
    if not areas:
        return {"models": tied, "tied_area_range_m2": None, "most_conservative": None}
    return {"models": tied, "tied_area_range_m2": [min(a for a, _ in areas), max(a for a, _ in areas)],
            "most_conservative": max(areas)[1]}


def extrapolation_block(*, capacity_L_per_m2: float, trial_max_L_per_m2: float, process_time_h: float | None,
                        trial_time_h: float, v90_L_per_m2: float, model: str, mode: str,
                        limit: float = DEFAULT_EXTRAPOLATION_LIMIT) -> tuple[dict, list[str]]:
    """How far the sizing extrapolates the trial, and the warnings (see the module docstring).

    Parameters
    ----------
    capacity_L_per_m2 : float  Vb/A_min, the loading of the process filter before the safety factor.
    trial_max_L_per_m2 : float  Largest throughput of the trial [L/m²].
    process_time_h, trial_time_h : float  Process time and the trial's last time [h].
    v90_L_per_m2 : float  V90 of the model used [L/m²].
    model, mode : str  For the sentences.
    limit : float  Extrapolation factor past which to warn (default 1.5).
    """
    if not (limit >= 1.0 and math.isfinite(limit)):
        raise DesignError(f"the extrapolation limit must be a factor of at least 1, got {limit}")
    factor = capacity_L_per_m2 / trial_max_L_per_m2 if trial_max_L_per_m2 > 0 else math.inf
    time_factor = (process_time_h / trial_time_h if process_time_h is not None and trial_time_h > 0
                   else None)
    block = {"trial_max_loading_L_per_m2": trial_max_L_per_m2, "extrapolation_factor": factor,
             "time_extrapolation_factor": time_factor, "extrapolation_limit": limit,
             "trial_time_h": trial_time_h, "past_v90": bool(capacity_L_per_m2 > v90_L_per_m2)}
    warnings = []
    if factor > limit:
        warnings.append(
            f"extrapolated: the process loads the filter to {capacity_L_per_m2:.4g} L/m² (before the safety "
            f"factor), {factor:.2f}x the {trial_max_L_per_m2:.4g} L/m² the trial reached (limit {limit:g}x); "
            f"beyond the trial the fouling mechanism is a guess: run the trial to at least "
            f"{capacity_L_per_m2:.4g} L/m², or size for more area or a shorter process time")
    if capacity_L_per_m2 > v90_L_per_m2:
        cf = mode == "constant-flux"
        what = "the pressure has risen 10-fold (P/P0 = 10)" if cf else "the flux has fallen to 10 % of J0"
        do = ("add area (a lower maximum pressure or flux) or a prefilter" if cf
              else "add area (e.g. --flux-decay-limit 0.9) or a prefilter")
        warnings.append(
            f"past V90: the process runs the filter to {capacity_L_per_m2:.4g} L/m², beyond V90 = "
            f"{v90_L_per_m2:.4g} L/m² of '{model}', where {what}; there the "
            f"{'pressure' if cf else 'time'} depends steeply on the model: {do}")
    return block, warnings


def tie_warning(ties: dict, chosen: str, user_model: bool, autocorrelated: bool) -> str | None:
    """The sentence about models tied with the best, or None when only one model fits best."""
    rows = [r for r in ties.get("models", []) if r["min_area_m2"] is not None]
    if len(ties.get("models", [])) < 2:
        return None
    lo, hi = ties["tied_area_range_m2"] or (math.nan, math.nan)
    names = ", ".join(f"{r['model']} {r['min_area_m2']:.4g} m²" for r in rows)
    if user_model:
        pick = f"you chose '{chosen}'"
    else:
        pick = f"the recommendation takes the largest, '{chosen}'"
    text = (f"tied models: {len(ties['models'])} models fit the trial equally well (ΔAICc < 2) and give "
            f"minimum areas of {lo:.4g}-{hi:.4g} m² ({names}); {pick}; a longer trial separates them")
    if autocorrelated:
        text += ("; the residuals are autocorrelated, which makes AICc ties and the ranking itself "
                 "unreliable")
    return text


def j0_warning(model: str, j0_LMH: float, buffer_flux_LMH: float, margin: float) -> str | None:
    """The sentence when the fitted J0 exceeds the clean-buffer flux by more than ``margin``."""
    if not (margin >= 0 and math.isfinite(margin)):
        raise DesignError(f"the J0 margin must be zero or a positive fraction, got {margin}")
    if not j0_LMH > buffer_flux_LMH * (1.0 + margin):
        return None
    return (f"J0 above buffer flux: the fitted J0 of '{model}', {j0_LMH:.4g} L/m²/h, is "
            f"{(j0_LMH / buffer_flux_LMH - 1) * 100:.0f} % above the clean-buffer flux {buffer_flux_LMH:.4g} "
            f"L/m²/h at the trial's pressure (margin {margin * 100:g} %); no fouling law starts faster than "
            f"clean buffer: check the first points and the pressure, or refit with J0 fixed at the buffer "
            f"flux (--fix-j0)")


def viscosity_warning(ratio: float, basis: str) -> str | None:
    """The sentence of a viscosity correction (none when the ratio is 1)."""
    if ratio == 1.0:
        return None
    return (f"viscosity: sized for a viscosity {ratio:.4g}x the trial's ({basis}), every time scaled by it; "
            f"this corrects the hydraulics only: a colder or warmer feed can also precipitate, aggregate or "
            f"foul differently, which it does not cover: confirm with a trial at process temperature")


def check_sizing(*, capacity_L_per_m2: float, process_time_h: float | None, v90_L_per_m2: float, model: str,
                 mode: str, trial_t_h, trial_v_L_per_m2, ties: dict | None = None, user_model: bool = False,
                 diagnostics: dict | None = None, j0_LMH: float | None = None,
                 buffer_flux_LMH: float | None = None, j0_margin: float = DEFAULT_J0_MARGIN,
                 j0_fixed: bool = False, viscosity_ratio: float = 1.0, viscosity_basis: str = "",
                 extrapolation_limit: float = DEFAULT_EXTRAPOLATION_LIMIT) -> tuple[dict, list[str]]:
    """All checks of one sizing: the JSON block and the warnings, in the order a user should read them.

    Parameters
    ----------
    capacity_L_per_m2 : float  Vb/A_min of the sizing [L/m²].
    process_time_h : float or None  Process time [h].
    v90_L_per_m2 : float  V90 of the model used [L/m²].
    model, mode : str  Model used and operating mode.
    trial_t_h, trial_v_L_per_m2 : arrays  The trial's times [h] and throughputs [L/m²].
    ties : dict, optional  :func:`tied_area_range` of the trial's fits.
    user_model : bool  The user named the model (the tie sentence says so).
    diagnostics : dict, optional  Residual diagnostics of the model used (fit.diagnostics).
    j0_LMH, buffer_flux_LMH : float, optional  Fitted J0 and the clean-buffer flux at the trial's
        pressure and viscosity [L/m²/h]; with both, J0 is checked.
    j0_margin : float  Fraction by which J0 may exceed the buffer flux (default 0.10).
    j0_fixed : bool  J0 was fixed at the buffer flux (recorded, nothing to warn about).
    viscosity_ratio : float  m = μ_process/μ_trial used; ``viscosity_basis`` says where it came from.
    extrapolation_limit : float  See :func:`extrapolation_block`.

    Returns
    -------
    (dict, list of str)  Keys ``trial_max_loading_L_per_m2``, ``extrapolation_factor``,
    ``time_extrapolation_factor``, ``extrapolation_limit``, ``trial_time_h``, ``past_v90``,
    ``tied_area_range_m2``, ``tied_models``, ``residuals_autocorrelated``, ``buffer_flux_LMH``,
    ``j0_margin``, ``j0_fixed_to_buffer``, ``viscosity_ratio``; and the warnings.
    """
    t_max = float(max(trial_t_h)) if len(trial_t_h) else 0.0
    v_max = float(max(trial_v_L_per_m2)) if len(trial_v_L_per_m2) else 0.0
    block, warnings = extrapolation_block(capacity_L_per_m2=capacity_L_per_m2, trial_max_L_per_m2=v_max,
                                          process_time_h=process_time_h, trial_time_h=t_max,
                                          v90_L_per_m2=v90_L_per_m2, model=model, mode=mode,
                                          limit=extrapolation_limit)
    autocorrelated = bool((diagnostics or {}).get("autocorrelated"))
    ties = ties or {"models": [], "tied_area_range_m2": None}
    block["tied_area_range_m2"] = ties.get("tied_area_range_m2")
    block["tied_models"] = list(ties.get("models", []))
    block["residuals_autocorrelated"] = autocorrelated
    tw = tie_warning(ties, model, user_model, autocorrelated)
    if tw:
        warnings.append(tw)
    if autocorrelated:
        from ..fit.diagnostics import autocorrelation_warning

        warnings.append(autocorrelation_warning(model, diagnostics))
    block.update(buffer_flux_LMH=buffer_flux_LMH, j0_margin=j0_margin, j0_fixed_to_buffer=bool(j0_fixed))
    if j0_LMH is not None and buffer_flux_LMH is not None and not j0_fixed:
        jw = j0_warning(model, j0_LMH, buffer_flux_LMH, j0_margin)
        if jw:
            warnings.append(jw)
    block["viscosity_ratio"] = float(viscosity_ratio)
    vw = viscosity_warning(float(viscosity_ratio), viscosity_basis)
    if vw:
        warnings.append(vw)
    return block, warnings
