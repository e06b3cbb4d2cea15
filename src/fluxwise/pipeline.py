"""The orchestrator: trial file -> fits of every model -> sizing -> report.

This is the one place the doors (Python API, CLI, HTTP API, web) call for trial analysis, so they
all give the same numbers and the same JSON. Quantities may be given as strings with units
("2000 L", "4 h", "13.8 cm2"); they are converted once, here, through the project's pint registry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .design.sizing import DEFAULT_SAFETY_FACTOR, Sizing, min_area, size_filter
from .design.sizing_checks import (
    DEFAULT_EXTRAPOLATION_LIMIT,
    DEFAULT_J0_MARGIN,
    check_sizing,
    tied_area_range,
)
from .errors import DesignError, InputError
from .fit.fouling import TrialFit, fit_trial
from .models.fouling import MODEL_NAMES
from .models.viscosity import rescale_for_viscosity
from .trial import CONSTANT_PRESSURE, Trial
from .units import parse_quantity

__all__ = ["Analysis", "analyze", "load_trial", "fit_result", "size_trial", "size_result", "report_html",
           "SizingRequest", "UFDF_INPUTS", "design_ufdf_from_inputs", "VMAX_LINEAR", "buffer_flux",
           "viscosity_ratio", "vmax_linear_params", "supply_study", "run_supply_plan",
           "supply_study_uploaded", "supply_starter_plan", "MAX_SERVED_REPLICATIONS", "MAX_SERVED_PERIODS"]

#: ``--model vmax-linear``: size with the classical linearised Vmax/Pmax (standard blocking), for comparison
VMAX_LINEAR = "vmax-linear"


def load_trial(path, *, area=None, mode=None, density=None, columns=None, sheet=None, max_dip=None) -> Trial:
    """Read a trial file (CSV or XLSX) into a :class:`Trial` — see :func:`fluxwise.io.read_trial`."""
    from .io import read_trial

    kwargs = {} if max_dip is None else {"max_dip": max_dip}
    return read_trial(path, area=area, mode=mode, density=density, columns=columns, sheet=sheet, **kwargs)


#: How ``size --confidence`` resamples the fit (see :func:`fluxwise.fit.uncertainty.resample_residuals`)
BOOTSTRAP_METHODS = ("residual", "block")


@dataclass(frozen=True)
class SizingRequest:
    """What to size for, in canonical units (parsed from user strings by :meth:`parse`).

    ``model`` is ``best`` (the most conservative of the models tied with the best by AICc), a model
    name, or ``vmax-linear`` (the classical linearised Vmax or Pmax, for comparison).
    """

    batch_volume_L: float
    process_time_h: float | None = None
    safety_factor: float = DEFAULT_SAFETY_FACTOR
    model: str = "best"
    catalog: str | None = None
    max_pressure_bar: float | None = None
    flux_LMH: float | None = None
    flux_decay_limit: float | None = None
    format_name: str | None = None
    confidence: float | None = None
    feed_cv: float = 0.0
    #: size at this pressure with the laws of a cake study (``cake_study``: a CakeStudy, its JSON as a
    #: dict, or the path of a ``fluxwise cake --json`` file)
    process_pressure_bar: float | None = None
    cake_study: object = None
    #: Tmax: the filtrate turbidity limit [NTU] and the flush volume before it counts [L/m²]
    turbidity_limit_NTU: float | None = None
    turbidity_flush_L_per_m2: float = 0.0
    bootstrap_method: str = "residual"
    extrapolation_limit: float = DEFAULT_EXTRAPOLATION_LIMIT
    buffer_flux_LMH: float | None = None
    j0_margin: float = DEFAULT_J0_MARGIN
    fix_j0: bool = False
    trial_temperature_C: float | None = None
    process_temperature_C: float | None = None
    trial_viscosity_mPa_s: float | None = None
    process_viscosity_mPa_s: float | None = None

    @classmethod
    def parse(cls, *, batch_volume="2000 L", process_time=None, safety_factor=DEFAULT_SAFETY_FACTOR,
              model="best", catalog=None, max_pressure=None, flux=None, flux_decay_limit=None,
              format_name=None, confidence=None, feed_cv=None, process_pressure=None, cake_study=None,
              turbidity_limit=None, turbidity_flush=None, bootstrap_method=None, extrapolation_limit=None,
              buffer_flux=None, j0_margin=None, fix_j0=False, trial_temperature=None,
              process_temperature=None, trial_viscosity=None, process_viscosity=None) -> SizingRequest:
        def q(value, kind, field, default_unit=None):
            if value is None:
                return None
            return parse_quantity(value, kind, field=field, default_unit=default_unit)

        def number(value, field, example):
            try:
                return float(value)
            except (TypeError, ValueError):
                raise InputError(f"'{value}' is not a number (expected e.g. {example})",
                                 field=field) from None

        sf = number(safety_factor, "safety-factor", "1.5")
        fdl = None
        if flux_decay_limit is not None:
            try:
                fdl = float(str(flux_decay_limit).rstrip("%")) / (100.0 if str(flux_decay_limit).endswith("%")
                                                                  else 1.0)
            except ValueError:
                raise InputError(f"'{flux_decay_limit}' is not a fraction (expected e.g. 0.9 or 90%)",
                                 field="flux-decay-limit") from None
        def fraction(value, field, low, high):
            if value is None:
                return None
            try:
                text = str(value).strip()
                x = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
            except ValueError:
                raise InputError(f"'{value}' is not a number (expected e.g. 0.95 or 95%)",
                                 field=field) from None
            if not low <= x < high:
                raise InputError(f"{value} is out of range (expected {low} to below {high})", field=field)
            return x

        conf = fraction(confidence, "confidence", 0.5, 1.0)
        cv = fraction(feed_cv, "feed-cv", 0.0, 5.0)
        ntu = None
        if turbidity_limit is not None:
            ntu = _turbidity_value(turbidity_limit, "turbidity-limit")
        flush_v = q(turbidity_flush, "specific_volume", "turbidity-flush") or 0.0
        if process_pressure is not None and cake_study is None:
            raise InputError("sizing at another process pressure needs the cake study that carries the fit "
                             "there (--cake-study cake.json from fluxwise cake --json)",
                             field="process-pressure")
        margin = fraction(j0_margin, "j0-margin", 0.0, 10.0)
        limit = None
        if extrapolation_limit is not None:
            limit = number(extrapolation_limit, "extrapolation-limit", "1.5")
            if not (limit >= 1.0 and np.isfinite(limit)):
                raise InputError(f"{extrapolation_limit} is not a factor of at least 1 (e.g. 1.5)",
                                 field="extrapolation-limit")
        method = str(bootstrap_method or "residual").strip().lower()
        if method not in BOOTSTRAP_METHODS:
            raise InputError(f"'{bootstrap_method}' is not a bootstrap method (expected one of: "
                             f"{', '.join(BOOTSTRAP_METHODS)})", field="bootstrap-method")
        model = str(model or "best")
        if model not in ("best", VMAX_LINEAR) and model not in MODEL_NAMES:
            raise InputError(f"unknown model '{model}' (expected best, {VMAX_LINEAR} or one of: "
                             f"{', '.join(MODEL_NAMES)})", field="model")
        return cls(batch_volume_L=q(batch_volume, "volume", "batch-volume"),
                   process_time_h=q(process_time, "time", "process-time"), safety_factor=sf,
                   model=model, catalog=None if catalog is None else str(catalog),
                   max_pressure_bar=q(max_pressure, "pressure", "max-pressure"),
                   flux_LMH=q(flux, "flux", "flux"), flux_decay_limit=fdl, format_name=format_name,
                   confidence=conf, feed_cv=cv or 0.0,
                   process_pressure_bar=q(process_pressure, "pressure", "process-pressure"),
                   cake_study=cake_study, turbidity_limit_NTU=ntu, turbidity_flush_L_per_m2=flush_v,
                   bootstrap_method=method,
                   extrapolation_limit=DEFAULT_EXTRAPOLATION_LIMIT if limit is None else limit,
                   buffer_flux_LMH=_positive(q(buffer_flux, "flux", "buffer-flux", "LMH"), "buffer-flux"),
                   j0_margin=DEFAULT_J0_MARGIN if margin is None else margin, fix_j0=_flag(fix_j0, "fix-j0"),
                   trial_temperature_C=q(trial_temperature, "temperature", "trial-temperature", "degC"),
                   process_temperature_C=q(process_temperature, "temperature", "process-temperature", "degC"),
                   trial_viscosity_mPa_s=_positive(q(trial_viscosity, "viscosity", "trial-viscosity"),
                                                   "trial-viscosity"),
                   process_viscosity_mPa_s=_positive(q(process_viscosity, "viscosity", "process-viscosity"),
                                                     "process-viscosity"))


def _positive(value, field):
    if value is not None and not (value > 0 and np.isfinite(value)):
        raise InputError(f"must be positive, got {value:g}", field=field)
    return value


def _flag(value, field) -> bool:
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    raise InputError(f"'{value}' is not yes or no", field=field)


@dataclass(frozen=True)
class Analysis:
    """A trial, its fits and (when asked for) its sizing."""

    trial: Trial
    fit: TrialFit
    sizing: Sizing | None = None
    request: SizingRequest | None = None

    def to_dict(self) -> dict:
        d = self.fit.to_dict()
        if self.sizing is not None:
            d["sizing"] = self.sizing.to_dict()
        return d


def _metadata_text(trial: Trial, pattern: str):
    """(key, text) of the first metadata line of the trial's file whose key matches ``pattern``."""
    import re

    for key, value in ((trial.meta or {}).get("file_meta") or {}).items():
        if re.search(pattern, str(key).lower()):
            return key, str(value).strip()
    return None, None


def buffer_flux(trial: Trial, request: SizingRequest) -> tuple[float | None, str | None]:
    """The clean-buffer flux at the trial's pressure [L/m²/h] and where it came from: the request,
    else a metadata line of the trial file ("Buffer flux: 5000 LMH", "Clean water flux: ...")."""
    if request.buffer_flux_LMH is not None:
        return request.buffer_flux_LMH, "given"
    key, text = _metadata_text(trial, r"(buffer|water|clean).*flux|\bnwf\b")
    if key is None:
        return None, None
    return _positive(parse_quantity(text, "flux", field=key, source=trial.source), key), f"file: {key}"


def viscosity_ratio(trial: Trial, request: SizingRequest) -> tuple[float, str]:
    """m = μ_process/μ_trial and a phrase saying where both came from (1.0 and "" when the request
    names no process temperature or viscosity). Water viscosity from
    :func:`fluxwise.models.viscosity.water_viscosity`; the trial's temperature may come from a
    "Temperature" metadata line of its file."""
    from .models.viscosity import VISCOSITY_RANGE_C, water_viscosity

    def water(t, field):
        lo, hi = VISCOSITY_RANGE_C
        if not lo <= t <= hi:
            raise InputError(f"{t:g} °C is outside {lo:g}-{hi:g} °C, where the water viscosity holds (give a "
                             f"viscosity instead)", field=field)
        return float(water_viscosity(t))

    if request.process_viscosity_mPa_s is not None:
        mu_p, p_text = request.process_viscosity_mPa_s, f"process {request.process_viscosity_mPa_s:.4g} mPa·s"
    elif request.process_temperature_C is not None:
        mu_p = water(request.process_temperature_C, "process-temperature")
        p_text = f"water at {request.process_temperature_C:g} °C, {mu_p:.4g} mPa·s"
    else:
        return 1.0, ""
    if request.trial_viscosity_mPa_s is not None:
        mu_t, t_text = request.trial_viscosity_mPa_s, f"trial {request.trial_viscosity_mPa_s:.4g} mPa·s"
    else:
        t_c = request.trial_temperature_C
        where = ""
        if t_c is None:
            key, text = _metadata_text(trial, r"\btemp(erature)?\b")
            if key is None:
                raise InputError("a process temperature or viscosity needs the trial's too: give the trial "
                                 "temperature (e.g. --trial-temperature \"20 degC\") or viscosity, or add a "
                                 "line \"Temperature: 20 °C\" above the trial's table",
                                 field="trial-temperature")
            t_c = parse_quantity(text, "temperature", field=key, source=trial.source, default_unit="degC")
            where = f" (file: {key})"
        mu_t = water(t_c, "trial-temperature")
        t_text = f"trial in water at {t_c:g} °C{where}, {mu_t:.4g} mPa·s"
    return mu_p / mu_t, f"{p_text}; {t_text}"


def vmax_linear_params(fit: TrialFit) -> dict:
    """Standard-blocking parameters of the classical linearisation (``--model vmax-linear``): J0 and
    ks = 2/Vmax from t/V vs t (constant pressure) or P0 and ks from √(P0/P) vs V (constant flux)."""
    vm = fit.vmax
    vmax = float(vm["vmax_L_per_m2"])
    ks = 2.0 / vmax if vmax > 0 else float("nan")
    params = {"J0_LMH": float(vm["J0_LMH"])}
    if "P0_bar" in vm:
        params["P0_bar"] = float(vm["P0_bar"])
    params["ks_m2_per_L"] = ks
    if not all(np.isfinite(v) and v >= 0 for v in params.values()) or params["J0_LMH"] <= 0:
        raise DesignError(f"the classical linearisation ({vm['method']}) of this trial has no positive Vmax "
                          f"and J0 (Vmax {vmax:.4g} L/m²): --model {VMAX_LINEAR} cannot size it")
    return params


def size_trial(fit: TrialFit, request: SizingRequest) -> Sizing:
    """Size a filter from fitted models for the request, with the checks of
    :mod:`fluxwise.design.sizing_checks` (extrapolation, tied models, J0, viscosity) in its warnings.

    Model ``best``: the most conservative (largest minimum area) of the models tied with the best by
    AICc (ΔAICc < 2); a named model: that one; ``vmax-linear``: the classical linearisation.
    """
    from .io.catalog import read_catalog

    formats = read_catalog(request.catalog)
    trial = fit.trial
    mode = trial.mode
    cp = mode == CONSTANT_PRESSURE
    jb, jb_source = buffer_flux(trial, request) if cp else (None, None)
    if request.fix_j0:
        if not cp:
            raise InputError("J0 can be fixed at constant pressure only (at constant flux J0 is the set "
                             "flux)", field="fix-j0")
        if jb is None:
            raise InputError("fixing J0 needs the clean-buffer flux at the trial's pressure (e.g. "
                             '--buffer-flux "5000 LMH", or a line "Buffer flux: 5000 LMH" above the table)',
                             field="buffer-flux")
        if not (fit.best.fixed and fit.best.params["J0_LMH"] == jb):
            fit = fit_trial(trial, j0=jb, models=[f.name for f in fit.fits], intervals=fit.best.intervals,
                            robust=fit.best.loss == "huber")
    m, m_basis = viscosity_ratio(trial, request)
    if request.cake_study is not None:
        if request.model == VMAX_LINEAR:
            raise InputError(f"the cake study carries a fitted model to the process pressure; --model "
                             f"{VMAX_LINEAR} is for comparison only", field="model")
        if m != 1.0:
            raise InputError("the cake study carries the fit to the process pressure at the viscosity of its "
                             "trials; leave out the process temperature or viscosity with --cake-study",
                             field="process-temperature" if request.process_viscosity_mPa_s is None
                             else "process-viscosity")

    def scaled(params):
        return rescale_for_viscosity(params, m) if m != 1.0 else dict(params)

    targets = dict(batch_volume_L=request.batch_volume_L, process_time_h=request.process_time_h,
                   flux_decay_limit=request.flux_decay_limit, max_pressure_bar=request.max_pressure_bar,
                   flux_LMH=request.flux_LMH)
    ties = tied_area_range(((f.name, f.params, f.aicc) for f in fit.fits),
                           lambda name, params: min_area(name, scaled(params), mode, **targets)[0])
    user_model = request.model not in (None, "best")
    if request.model == VMAX_LINEAR:
        name, label, params, diagnostics = "standard", VMAX_LINEAR, vmax_linear_params(fit), None
        choice = f"classical linearisation ({fit.vmax['method']}), standard blocking, for comparison"
    else:
        chosen = (fit.get(request.model) if user_model
                  else fit.get(ties["most_conservative"] or fit.best_model))
        name = label = chosen.name
        params, diagnostics = chosen.params, chosen.diagnostics
        choice = ("chosen by the user" if user_model else
                  "best by AICc" if len(ties["models"]) < 2 else
                  f"most conservative of the {len(ties['models'])} models tied with the best (ΔAICc < 2)")
    if request.cake_study is not None:
        sizing = _size_with_cake_study(fit, chosen, request, formats)
        label = sizing.model  # a pure cake at constant flux
    else:
        sizing = size_filter(name, scaled(params), mode, formats, safety_factor=request.safety_factor,
                             format_name=request.format_name, **targets)
    # turbidity may govern (a larger area): the checks below see the loading the process really has
    sizing = _with_turbidity_limit(trial, sizing, request, formats)
    block, warnings = check_sizing(
        capacity_L_per_m2=sizing.batch_volume_L / sizing.min_area_m2, process_time_h=sizing.process_time_h,
        v90_L_per_m2=sizing.endpoints.get("v90_L_per_m2", np.inf), model=label, mode=mode,
        trial_t_h=trial.t_h, trial_v_L_per_m2=trial.v_L_per_m2, ties=ties, user_model=user_model,
        diagnostics=diagnostics, j0_LMH=params["J0_LMH"] if cp else None, buffer_flux_LMH=jb,
        j0_margin=request.j0_margin, j0_fixed=request.fix_j0, viscosity_ratio=m, viscosity_basis=m_basis,
        extrapolation_limit=request.extrapolation_limit)
    block.update(model_choice=choice, buffer_flux_source=jb_source)
    if m != 1.0:
        block["params_at_trial_viscosity"] = dict(params)
    # the checks' warnings first, then those of the cake study and turbidity
    sizing = dataclasses.replace(sizing, model=label, warnings=tuple(warnings) + tuple(sizing.warnings),
                                 checks=block)
    if request.confidence is None:
        return sizing
    if request.model == VMAX_LINEAR:
        raise InputError(f"risk-based sizing bootstraps a fitted model; --model {VMAX_LINEAR} is for "
                         "comparison only", field="confidence")
    if request.fix_j0:
        raise InputError("risk-based sizing bootstraps J0 with the other parameters; it cannot keep J0 fixed "
                         "(leave out --fix-j0 or --confidence)", field="confidence")
    # risk-based area: bootstrap of the fit + lot-to-lot variability, Monte Carlo to the area
    from .design.catalog import choose_format
    from .design.risk import size_with_confidence

    risk = size_with_confidence(trial, name, params, batch_volume_L=request.batch_volume_L,
                                process_time_h=request.process_time_h, confidence=request.confidence,
                                feed_cv=request.feed_cv, bootstrap_method=request.bootstrap_method,
                                viscosity_ratio=m, seed=0)
    if np.isfinite(risk["risk_based_area_m2"]):
        choice = choose_format(formats, risk["risk_based_area_m2"], name=request.format_name)
        risk["format"] = choice.to_dict()
    return dataclasses.replace(sizing, risk=risk)


_FITS_KEPT = 32
_fits: OrderedDict[tuple, TrialFit] = OrderedDict()
_fits_lock = threading.Lock()


def _trial_key(trial: Trial) -> tuple:
    """Everything of a trial a fit can depend on, as a hashable key (its arrays by content)."""
    def arr(a):
        if a is None:
            return None
        a = np.ascontiguousarray(a)
        return (a.dtype.str, a.shape, hashlib.blake2b(a.tobytes(), digest_size=16).hexdigest())

    return (arr(trial.t_h), arr(trial.v_L_per_m2), arr(trial.pressure_bar), float(trial.area_m2), trial.mode,
            str(trial.source), json.dumps(trial.meta, sort_keys=True, default=str),
            tuple(sorted((k, arr(v)) for k, v in (trial.signals or {}).items())))


def fit_cached(trial: Trial, *, j0=None, intervals: str = "ols", robust: bool = False,
               fresh: bool = False) -> TrialFit:
    """:func:`~fluxwise.fit.fouling.fit_trial`, remembered for the last few trials of this process: a
    workbench user fits a trial, then sizes it, opens its page and downloads its report — each needs the
    same fit of the same data (deterministic), which is computed once. The fit returned carries ``trial``
    itself. ``fresh``: fit anyway (and remember it) — what an explicit fit request does, so a fit is
    never answered from memory of an earlier upload of the same file."""
    try:
        key = (_trial_key(trial), None if j0 is None else float(j0), intervals, bool(robust))
    except (TypeError, ValueError):
        return fit_trial(trial, j0=j0, intervals=intervals, robust=robust)
    with _fits_lock:
        hit = None if fresh else _fits.get(key)
        if hit is not None:
            _fits.move_to_end(key)
    if hit is not None:
        return hit if hit.trial is trial else dataclasses.replace(hit, trial=trial)
    fit = fit_trial(trial, j0=j0, intervals=intervals, robust=robust)
    with _fits_lock:
        _fits[key] = fit
        while len(_fits) > _FITS_KEPT:
            _fits.popitem(last=False)
    return fit


def analyze(path_or_trial, *, area=None, mode=None, density=None, columns=None, sheet=None, j0=None,
            sizing: SizingRequest | dict | None = None, intervals: str = "ols", max_dip=None,
            robust: bool = False) -> Analysis:
    """Read (if a path), fit all models and, with ``sizing``, size the filter.

    ``intervals``: ``"ols"`` or ``"ar1"`` and ``robust`` (Huber's M-estimate, for outlying
    readings) as in :func:`fluxwise.fit.fouling.fit_trial`; ``max_dip``: the
    largest dip of the filtrate readings to accept (:func:`fluxwise.io.read_trial`). A sizing
    request with ``fix_j0`` fits every model with J0 fixed at the clean-buffer flux.

    Examples
    --------
    >>> a = analyze("examples/mab_sterile_filtration.csv",
    ...             sizing={"batch_volume": "2000 L", "process_time": "4 h"})   # doctest: +SKIP
    >>> a.fit.best_model, a.sizing.installed_area_m2                          # doctest: +SKIP
    """
    trial = path_or_trial if isinstance(path_or_trial, Trial) else load_trial(
        path_or_trial, area=area, mode=mode, density=density, columns=columns, sheet=sheet, max_dip=max_dip)
    req = SizingRequest.parse(**sizing) if isinstance(sizing, dict) else sizing
    if req is not None and req.fix_j0 and j0 is None and trial.mode == CONSTANT_PRESSURE:
        j0 = buffer_flux(trial, req)[0]
    fit = fit_cached(trial, j0=j0, intervals=intervals, robust=robust)
    sz = size_trial(fit, req) if req is not None else None
    return Analysis(trial=trial, fit=fit, sizing=sz, request=req)


def fit_result(trial: Trial, *, j0=None, intervals: str = "ols") -> dict:
    """The JSON of ``fluxwise fit --json`` for a trial."""
    return fit_cached(trial, j0=j0, intervals=intervals, fresh=True).to_dict()


def size_result(trial: Trial, **sizing) -> dict:
    """The JSON of ``fluxwise size --json`` for a trial (keyword arguments as in SizingRequest.parse)."""
    if trial.mode == CONSTANT_PRESSURE:
        sizing.setdefault("process_time", "4 h")
    return analyze(trial, sizing=SizingRequest.parse(**sizing)).sizing.to_dict()


def report_analysis(trial: Trial, **sizing) -> Analysis:
    """The analysis a report shows: the fit and, with ``sizing`` (as for :func:`size_result`), the sizing —
    computed as :func:`fit_result` and :func:`size_result` compute them."""
    if sizing and trial.mode == CONSTANT_PRESSURE:
        sizing.setdefault("process_time", "4 h")
    req = SizingRequest.parse(**sizing) if sizing else None
    return analyze(trial, sizing=req)


def report_html(trial: Trial, *, record: dict | None = None, **sizing) -> str:
    """A self-contained HTML report (data, fits, plots, model table, sizing) for a trial; ``record`` adds
    the signature block of a stored result (see :func:`fluxwise.report.html.render_report`)."""
    from .report.html import render_report

    return render_report(report_analysis(trial, **sizing), record=record)


#: design_ufdf's arguments -> the inputs of the UF/DF calculator: the JSON fields of
#: POST /api/design/ufdf, and the options of ``fluxwise ufdf`` (``--`` + the name with ``-`` for ``_``)
UFDF_INPUTS = {"initial_volume_L": "volume", "initial_concentration_g_per_L": "concentration",
               "final_concentration_g_per_L": "target_concentration", "k_LMH": "k",
               "gel_concentration_g_per_L": "cg", "area_m2": "area", "process_time_h": "process_time",
               "df_concentration": "df_concentration", "diavolumes": "diavolumes",
               "df_remaining_fraction": "df_remaining", "product_sieving": "sieving",
               "impurity_sieving": "impurity_sieving", "hold_up_volume_L": "hold_up",
               "flush_volume_L": "flush", "feed_flux_LMH": "feed_flux", "cassette_area_m2": "cassette_area",
               "df_mode": "df_mode", "dilution_factor": "dilution_factor", "df_cycles": "cycles"}


def design_ufdf_from_inputs(inputs: dict, *, label=lambda name: name):
    """The UF/DF calculator: :func:`fluxwise.design.ufdf.design_ufdf` from user inputs with units.

    ``inputs`` is keyed by the names of :data:`UFDF_INPUTS` (``volume="100 L"``, ``k="20 LMH"``,
    ``df_concentration="optimal"`` or ``"80 g/L"``, ...); missing inputs take design_ufdf's defaults.
    Errors name ``label(input name)``: the JSON field for the API, the option for the CLI.
    """
    from .design.ufdf import design_ufdf

    def quantity(key, kind, value=None):
        value = inputs.get(key) if value is None else value
        return None if value is None else parse_quantity(value, kind, field=label(key))

    def number(key, default=None):
        value = inputs.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InputError(f"'{value}' is not a number", field=label(key)) from None

    if (inputs.get("area") is None) == (inputs.get("process_time") is None):
        raise InputError(f'give exactly one of {label("area")} (e.g. "1 m2") and {label("process_time")} '
                         f'(e.g. "4 h")', field=label("area"))
    dfc = str(inputs.get("df_concentration") or "optimal").strip()
    kwargs = dict(
        initial_volume_L=quantity("volume", "volume"),
        initial_concentration_g_per_L=quantity("concentration", "concentration"),
        final_concentration_g_per_L=quantity("target_concentration", "concentration"),
        k_LMH=quantity("k", "flux"), gel_concentration_g_per_L=quantity("cg", "concentration"),
        area_m2=quantity("area", "area"), process_time_h=quantity("process_time", "time"),
        df_concentration=("optimal" if dfc.lower() == "optimal"
                          else quantity("df_concentration", "concentration", dfc)),
        diavolumes=number("diavolumes"), df_remaining_fraction=number("df_remaining"),
        product_sieving=number("sieving", 0.0), impurity_sieving=number("impurity_sieving", 1.0),
        hold_up_volume_L=quantity("hold_up", "volume") or 0.0,
        flush_volume_L=quantity("flush", "volume") or 0.0,
        feed_flux_LMH=quantity("feed_flux", "flux"), cassette_area_m2=quantity("cassette_area", "area"),
        df_mode=str(inputs.get("df_mode") or "continuous"), dilution_factor=number("dilution_factor"),
        df_cycles=number("cycles"))
    try:
        return design_ufdf(**kwargs)
    except InputError as exc:  # name the input the user gave, not the Python argument
        field = label(UFDF_INPUTS[exc.field]) if exc.field in UFDF_INPUTS else exc.field
        raise type(exc)(exc.message, source=exc.source, row=exc.row, column=exc.column, field=field) from None


def supply_study(plan_path, *, replications=None, seed=None, scheduler=None, compare: bool = True,
                 progress=None, train_design=None):
    """The supply study of a plan file (``fluxwise supply``): read the plan (and design its train), then
    :func:`fluxwise.supply.run.run_supply` on the executor ``scheduler`` names. Returns the
    :class:`~fluxwise.supply.run.SupplyResult`; its ``to_dict()`` is the JSON of
    ``fluxwise supply --json``."""
    from .io.supply import read_plan

    plan = read_plan(plan_path, replications=replications, seed=seed, train_design=train_design)
    return run_supply_plan(plan, scheduler=scheduler, compare=compare, progress=progress)


def run_supply_plan(plan, *, scheduler=None, compare: bool = True, progress=None):
    """:func:`fluxwise.supply.run.run_supply` on the executor ``scheduler`` names (None: in-process)."""
    from .compute import get_executor
    from .supply.run import run_supply

    if scheduler is None or str(scheduler).strip() in ("inprocess", "in-process", "sync", "local", ""):
        import os

        from .compute.executors import SCHEDULER_ENV
        if scheduler is None and os.environ.get(SCHEDULER_ENV):
            scheduler = os.environ[SCHEDULER_ENV]
        else:
            return run_supply(plan, executor=None, compare=compare, progress=progress)
    with get_executor(scheduler) as ex:
        return run_supply(plan, executor=ex, compare=compare, progress=progress)


#: Most replications and periods one request of the HTTP API or the web page may simulate
#: (``fluxwise supply`` on a pool or a Dask cluster for more).
MAX_SERVED_REPLICATIONS = 20_000
MAX_SERVED_PERIODS = 520


def supply_study_uploaded(plan_name: str, plan_bytes: bytes, files: dict[str, bytes], *, replications=None,
                          seed=None, compare: bool = True, train_design=None, progress=None):
    """The supply study of a plan uploaded with the files it names (bare name -> bytes), read with
    :func:`fluxwise.io.supply.parse_uploaded_plan` (no file of the server can be read), bounded to
    :data:`MAX_SERVED_REPLICATIONS` replications and :data:`MAX_SERVED_PERIODS` periods."""
    from .io.supply import parse_uploaded_plan
    from .supply.run import run_supply

    plan = parse_uploaded_plan(plan_name, plan_bytes, files, replications=replications, seed=seed,
                               train_design=train_design)
    if plan.replications > MAX_SERVED_REPLICATIONS:
        raise InputError(f"{plan.replications:,} replications; a request may run at most "
                         f"{MAX_SERVED_REPLICATIONS:,} (fewer replications, or fluxwise supply)",
                         source=plan_name, field="replications")
    if plan.horizon > MAX_SERVED_PERIODS:
        raise InputError(f"{plan.horizon:,} periods; a request may simulate at most {MAX_SERVED_PERIODS:,}",
                         source=plan_name, field="horizon")
    return run_supply(plan, compare=compare, progress=progress)


def supply_starter_plan(train_name: str, *, per_week: float = 1.0, horizon_weeks: float = 104,
                        route: str | None = None, target: float = 0.95, name: str | None = None) -> str:
    """A plan file (YAML text) for the train ``train_name``: ``per_week`` batches a week over the horizon,
    every item bought over ``route`` (default: the factors file's default route) with its default lead
    time, compared with the other routes — a starting point to edit (docs/supply.md)."""
    import yaml

    from .io.train import read_factors

    factors = read_factors(None)
    route = route or factors.default_route
    if route not in factors.routes:
        raise InputError(f"unknown route '{route}' (routes: {', '.join(factors.routes)})", field="route")
    if not 0 < target < 1:
        raise InputError(f"the target service must be between 0 and 1, got {target:g}",
                         field="target_service")
    if not per_week > 0:
        raise InputError(f"batches per week must be positive, got {per_week:g}", field="per_week")
    plan = {
        "name": name or f"supply of {train_name}",
        "train": train_name,
        "horizon": f"{horizon_weeks:g} weeks",
        "replications": 2000,
        "seed": 1,
        "target_service": target,
        "batches": {"per_week": per_week, "max_batch_delay": "2 weeks"},
        "sources": {"current": {"route": route, "qc_release": "1 week"}},
        "default_source": "current",
        "compare": {"sources": list(factors.routes)},
    }
    head = ("# A starting supply plan for the train, made by fluxwise: every item bought over the route\n"
            f"# '{route}' with its default lead time (a planning assumption of the factors file). Edit it:\n"
            "# lead times, disruptions, shelf lives, policies (docs/supply.md).\n")
    return head + yaml.safe_dump(plan, sort_keys=False, allow_unicode=True)


# --- cake properties --------------------------------------------------------------------------------------


def cake_analysis(trials, *, model: str = "cake", pressure=None, viscosity=None, solids=None,
                  reference_pressure=None, read: dict | None = None):
    """Cake properties of each trial and, over three or more pressures, their compressibility.

    ``trials`` are paths or :class:`Trial` objects; each is fitted with ``model`` (a model with a cake
    term, or ``"best"``: the best-ranked of those); its pressure, viscosity and cake solids come from
    the options (quantities with units: ``"0.89 mPa s"``, ``"23.5 kg/m3"``), else from the file
    (:func:`fluxwise.io.conditions.trial_conditions`). ``pressure`` is for a single trial only.
    Returns a :class:`fluxwise.design.cake.CakeStudy` (``to_dict`` is ``fluxwise cake --json``).
    """
    from .design.cake import CAKE_MODELS, cake_properties, cake_study
    from .io.conditions import trial_conditions

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

    from .design.cake import CakeStudy

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
    from .design.cake import params_at_pressure, size_constant_flux
    from .design.catalog import choose_format, format_options
    from .io.conditions import trial_conditions
    from .models.cake import medium_pressure_fraction

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
    from .design.tmax import combine_with_turbidity, turbidity_breakthrough

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


# --- filters in series ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesAnalysis:
    """A series trial's two fits and (when asked for) the sizing of both filters."""

    fit: object  # fluxwise.fit.series.SeriesFit
    sizing: dict | None = None

    def to_dict(self) -> dict:
        d = self.fit.to_dict()
        if self.sizing is not None:
            d["sizing"] = self.sizing
        return d


def load_series_trial(path, *, prefilter_area=None, filter_area=None, mode=None, density=None, columns=None,
                      sheet=None):
    """Read a series trial (P1, P2 and filtrate; see :mod:`fluxwise.fit.series`); returns the trial (per
    area of the prefilter) and both areas [m²]."""
    from .io.conditions import series_areas

    trial = load_trial(path, area=1.0, mode=mode, density=density, columns=columns, sheet=sheet)
    a1, a2 = series_areas(trial.meta.get("file_meta") or {}, prefilter_area=prefilter_area,
                          filter_area=filter_area, source=trial.source)
    meta = {**trial.meta, "area_source": "series areas", "series_areas_m2": [a1, a2]}
    trial = dataclasses.replace(trial, v_L_per_m2=trial.volume_L / a1, area_m2=a1, meta=meta)
    return trial, a1, a2


def series_analysis(path_or_trial, *, prefilter_area=None, filter_area=None, read: dict | None = None,
                    models=None, sizing: dict | None = None) -> SeriesAnalysis:
    """Fit both filters of a series trial and, with ``sizing``, size them for a batch.

    ``path_or_trial``: a file (areas from the options or the file) or a :class:`Trial` (its volume per
    area is per ``prefilter_area``; both areas then required as quantities or floats [m²]).
    ``sizing`` keys (quantities with units): ``batch_volume``, ``process_time``, ``max_pressure``
    (constant flux), ``pressure`` (constant pressure; default the trial's median P1 − P_out),
    ``prefilter_safety_factor``, ``filter_safety_factor``, ``prefilter_format``, ``filter_format``,
    ``prefilter_model``, ``filter_model`` (default the best of each), ``ratio`` (fix A1/A2) and ``catalog``.
    """
    from .design.series import SeriesStage, size_series
    from .fit.series import fit_series
    from .io.catalog import read_catalog

    if isinstance(path_or_trial, Trial):
        trial = path_or_trial
        a1 = parse_quantity(prefilter_area, "area", field="--prefilter-area", default_unit="m**2")
        a2 = parse_quantity(filter_area, "area", field="--filter-area", default_unit="m**2")
    else:
        trial, a1, a2 = load_series_trial(path_or_trial, prefilter_area=prefilter_area,
                                          filter_area=filter_area, **(read or {}))
    fit = fit_series(trial, area1_m2=a1, area2_m2=a2, models=models)
    if sizing is None:
        return SeriesAnalysis(fit=fit)
    s = dict(sizing)
    formats = read_catalog(s.get("catalog"))

    def q(key, kind):
        value = s.get(key)
        return None if value is None else parse_quantity(value, kind, field=key.replace("_", "-"))

    def number(key, default):
        value = s.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InputError(f"'{value}' is not a number", field=key.replace("_", "-")) from None

    stages = []
    for i, key in enumerate(("prefilter", "filter")):
        tf = fit.fits[i]
        model = s.get(f"{key}_model") or "best"
        chosen = tf.best if model == "best" else tf.get(model)
        fmt_name = s.get(f"{key}_format")
        cands = tuple(formats)
        if fmt_name:
            cands = tuple(f for f in formats if f.name.lower() == str(fmt_name).lower())
            if not cands:
                raise InputError(f"format '{fmt_name}' is not in the catalog (formats: "
                                 f"{', '.join(f.name for f in formats)})", field=f"{key}-format")
        stages.append(SeriesStage(name=fit.data[i]["name"], model=chosen.name, params=dict(chosen.params),
                                  safety_factor=number(f"{key}_safety_factor", DEFAULT_SAFETY_FACTOR),
                                  formats=cands))
    pressure = q("pressure", "pressure")
    if trial.mode == CONSTANT_PRESSURE and pressure is None:
        pout = trial.signals.get("p_outlet_bar", np.zeros_like(trial.pressure_bar))
        pressure = float(np.nanmedian(trial.pressure_bar - pout))
    ratio = s.get("ratio")
    result = size_series(tuple(stages), mode=trial.mode, batch_volume_L=q("batch_volume", "volume"),
                         process_time_h=q("process_time", "time"),
                         max_pressure_bar=q("max_pressure", "pressure"),
                         pressure_bar=pressure, ratio=None if ratio is None else number("ratio", None),
                         trial_area_ratio=fit.trial_area_ratio,
                         trial_max_loading_L_per_m2=tuple(float(d["v_L_per_m2"][-1]) for d in fit.data))
    return SeriesAnalysis(fit=fit, sizing=result)


# --- screening: trials compared side by side --------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Several trials sized for one batch and ranked (``rows`` ranked; ``analyses`` by trial name)."""

    rows: list
    analyses: dict
    request: SizingRequest
    economics: object  # fluxwise.design.screening.Economics

    def to_dict(self) -> dict:
        return {"batch_volume_L": self.request.batch_volume_L, "process_time_h": self.request.process_time_h,
                "max_pressure_bar": self.request.max_pressure_bar,
                "safety_factor": self.request.safety_factor,
                "economics": self.economics.to_dict(),
                "ranking": [r["trial"] for r in self.rows if r["rank"]],
                "rows": list(self.rows)}

    def figure(self):
        """One overlay of flux decay against loading for every trial (:func:`fluxwise.report.figures`)."""
        import plotly.graph_objects as go

        from .report.figures import flux_decay_overlay_figure

        # a plotly Figure: ``fluxwise compare --plot`` writes it with its to_html
        return flux_decay_overlay_figure(list(self.analyses.values()), figure=go.Figure)


def screening_economics(*, titre=None, product_value=None, chase=None, product_flush=None, pre_use_flush=None,
                        factors=None):
    """:class:`fluxwise.design.screening.Economics` from user strings (``"5 g/L"``, ``"120"`` USD/g,
    ``"2 L"``, ``"10 L/m2"``); the pre-use flush defaults to the factor file's sterile-filter flush, at
    its WFI price."""
    from .design.screening import Economics
    from .io.train import read_factors

    f = read_factors(factors)
    wfi = f.costs["wfi_per_L"]
    flush_default = f.flush_L_per_m2["sterile"]
    value = None
    if product_value is not None:
        text = str(product_value).strip()
        for suffix in ("USD/g", "usd/g", "$/g"):
            text = text[: -len(suffix)].strip() if text.endswith(suffix) else text
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"'{product_value}' is not a price per gram (expected e.g. '120 USD/g')",
                             field="product-value") from None
        if not value >= 0:
            raise InputError(f"must be 0 or more, got {product_value!r}", field="product-value")

    def q(v, kind, fieldname):
        return None if v is None else parse_quantity(v, kind, field=fieldname)

    flush = q(pre_use_flush, "specific_volume", "pre-use-flush")
    return Economics(titre_g_per_L=q(titre, "concentration", "titre"), product_value_per_g=value,
                     chase_L=q(chase, "volume", "chase") or 0.0,
                     product_flush_L_per_m2=q(product_flush, "specific_volume", "product-flush") or 0.0,
                     pre_use_flush_L_per_m2=flush_default.value if flush is None else flush,
                     wfi_per_L=wfi.value,
                     sources={"pre_use_flush_L_per_m2": ("option" if flush is not None
                                                         else flush_default.cite()),
                              "wfi_per_L": wfi.cite()})


def compare_trials(trials, *, sizing: SizingRequest | dict, economics=None, names=None) -> Comparison:
    """Fit and size every trial for the same batch, cost each batch and rank them.

    ``trials``: paths or :class:`Trial` objects (``names`` labels them; default the file names);
    ``sizing``: a :class:`SizingRequest` or its keyword arguments (``batch_volume``, ``process_time``,
    ``max_pressure`` for constant-flux trials, ``safety_factor``, ...); ``economics``: a
    :class:`fluxwise.design.screening.Economics` or the keywords of :func:`screening_economics`.
    """
    from .design.screening import Economics, rank_rows, screening_row
    from .errors import FluxwiseError

    req = SizingRequest.parse(**sizing) if isinstance(sizing, dict) else sizing
    econ = economics if isinstance(economics, Economics) else screening_economics(**(economics or {}))
    items = list(trials)
    if len(items) < 1:
        raise InputError("give at least one trial to compare", field="trials")
    labels = list(names) if names is not None else [
        t.source if isinstance(t, Trial) else str(getattr(t, "name", t)).rsplit("/", 1)[-1] for t in items]
    if len(set(labels)) != len(labels):
        labels = [f"{i + 1}: {label}" for i, label in enumerate(labels)]
    rows, analyses = [], {}
    for label, item in zip(labels, items, strict=True):
        trial = item if isinstance(item, Trial) else load_trial(item)
        fit = fit_trial(trial)
        analyses[label] = Analysis(trial=trial, fit=fit)
        r = req
        if trial.mode == CONSTANT_PRESSURE and req.process_time_h is None:
            r = dataclasses.replace(req, process_time_h=4.0)
        try:
            if trial.mode != CONSTANT_PRESSURE and req.max_pressure_bar is None:
                raise InputError("a constant-flux trial is sized to a maximum pressure: give max_pressure "
                                 "(--max-pressure)", field="max-pressure")
            sz = size_trial(fit, r)
        except FluxwiseError as exc:
            rows.append({"trial": label, "mode": trial.mode, "best_model": fit.best_model,
                         "tied_models": list(fit.indistinguishable), "error": str(exc)})
            continue
        analyses[label] = Analysis(trial=trial, fit=fit, sizing=sz, request=r)
        rows.append(screening_row(label, sz, mode=trial.mode, best_model=fit.best_model,
                                  tied=list(fit.indistinguishable), j0_LMH=float(fit.best.params["J0_LMH"]),
                                  econ=econ))
    return Comparison(rows=rank_rows(rows), analyses=analyses, request=req, economics=econ)
