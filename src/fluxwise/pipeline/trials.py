"""Trial analysis: a trial file -> fits of every model -> sizing -> report.

The core of :mod:`fluxwise.pipeline`: reading a trial, the sizing request (parsed from user strings
with units), the fits of every model (remembered for the last few trials: :func:`fit_cached`), the
sizing with its checks, and the JSON and HTML the doors give.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..design.sizing import DEFAULT_SAFETY_FACTOR, Sizing, min_area, size_filter
from ..design.sizing_checks import (
    DEFAULT_EXTRAPOLATION_LIMIT,
    DEFAULT_J0_MARGIN,
    check_sizing,
    tied_area_range,
)
from ..errors import DesignError, InputError
from ..fit.fouling import TrialFit, fit_trial
from ..models.fouling import MODEL_NAMES
from ..models.viscosity import rescale_for_viscosity
from ..trial import CONSTANT_PRESSURE, Trial
from ..units import parse_quantity
from .cake import _size_with_cake_study, _turbidity_value, _with_turbidity_limit

__all__ = ["Analysis", "analyze", "load_trial", "fit_result", "size_trial", "size_result", "report_html",
           "report_analysis", "fit_cached", "SizingRequest", "VMAX_LINEAR", "BOOTSTRAP_METHODS",
           "buffer_flux", "viscosity_ratio", "vmax_linear_params"]

#: ``--model vmax-linear``: size with the classical linearised Vmax/Pmax (standard blocking), for comparison
VMAX_LINEAR = "vmax-linear"


def load_trial(path, *, area=None, mode=None, density=None, columns=None, sheet=None, max_dip=None) -> Trial:
    """Read a trial file (CSV or XLSX) into a :class:`Trial` — see :func:`fluxwise.io.read_trial`."""
    from ..io import read_trial

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
    from ..models.viscosity import VISCOSITY_RANGE_C, water_viscosity

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
    from ..io.catalog import read_catalog

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
    from ..design.catalog import choose_format
    from ..design.risk import size_with_confidence

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
    from ..report.html import render_report

    return render_report(report_analysis(trial, **sizing), record=record)
