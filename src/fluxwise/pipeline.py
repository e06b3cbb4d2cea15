"""The orchestrator: trial file -> fits of every model -> sizing -> report.

This is the one place the doors (Python API, CLI, HTTP API, web) call for trial analysis, so they
all give the same numbers and the same JSON. Quantities may be given as strings with units
("2000 L", "4 h", "13.8 cm2"); they are converted once, here, through the project's pint registry.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .design.sizing import DEFAULT_SAFETY_FACTOR, Sizing, size_filter
from .errors import InputError
from .fit.fouling import TrialFit, fit_trial
from .trial import CONSTANT_PRESSURE, Trial
from .units import parse_quantity

__all__ = ["Analysis", "analyze", "load_trial", "fit_result", "size_trial", "size_result", "report_html",
           "SizingRequest", "UFDF_INPUTS", "design_ufdf_from_inputs"]


def load_trial(path, *, area=None, mode=None, density=None, columns=None, sheet=None) -> Trial:
    """Read a trial file (CSV or XLSX) into a :class:`Trial` — see :func:`fluxwise.io.read_trial`."""
    from .io import read_trial

    return read_trial(path, area=area, mode=mode, density=density, columns=columns, sheet=sheet)


@dataclass(frozen=True)
class SizingRequest:
    """What to size for, in canonical units (parsed from user strings by :meth:`parse`)."""

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

    @classmethod
    def parse(cls, *, batch_volume="2000 L", process_time=None, safety_factor=DEFAULT_SAFETY_FACTOR,
              model="best", catalog=None, max_pressure=None, flux=None, flux_decay_limit=None,
              format_name=None, confidence=None, feed_cv=None) -> SizingRequest:
        def q(value, kind, field, default_unit=None):
            if value is None:
                return None
            return parse_quantity(value, kind, field=field, default_unit=default_unit)

        try:
            sf = float(safety_factor)
        except (TypeError, ValueError):
            raise InputError(f"'{safety_factor}' is not a number (expected e.g. 1.5)",
                             field="safety-factor") from None
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
        return cls(batch_volume_L=q(batch_volume, "volume", "batch-volume"),
                   process_time_h=q(process_time, "time", "process-time"), safety_factor=sf,
                   model=model or "best", catalog=None if catalog is None else str(catalog),
                   max_pressure_bar=q(max_pressure, "pressure", "max-pressure"),
                   flux_LMH=q(flux, "flux", "flux"), flux_decay_limit=fdl, format_name=format_name,
                   confidence=conf, feed_cv=cv or 0.0)


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


def size_trial(fit: TrialFit, request: SizingRequest) -> Sizing:
    """Size a filter from fitted models for the request (model ``best`` = top of the AICc ranking)."""
    from .io.catalog import read_catalog

    formats = read_catalog(request.catalog)
    chosen = fit.best if request.model in (None, "best") else fit.get(request.model)
    mode = fit.trial.mode
    sizing = size_filter(chosen.name, chosen.params, mode, formats, batch_volume_L=request.batch_volume_L,
                         process_time_h=request.process_time_h, safety_factor=request.safety_factor,
                         flux_decay_limit=request.flux_decay_limit, max_pressure_bar=request.max_pressure_bar,
                         flux_LMH=request.flux_LMH, format_name=request.format_name)
    if request.confidence is None:
        return sizing
    # risk-based area: bootstrap of the fit + lot-to-lot variability, Monte Carlo to the area
    from .design.catalog import choose_format
    from .design.risk import size_with_confidence

    risk = size_with_confidence(fit.trial, chosen.name, chosen.params, batch_volume_L=request.batch_volume_L,
                                process_time_h=request.process_time_h, confidence=request.confidence,
                                feed_cv=request.feed_cv, seed=0)
    if np.isfinite(risk["risk_based_area_m2"]):
        choice = choose_format(formats, risk["risk_based_area_m2"], name=request.format_name)
        risk["format"] = choice.to_dict()
    return dataclasses.replace(sizing, risk=risk)


def analyze(path_or_trial, *, area=None, mode=None, density=None, columns=None, sheet=None, j0=None,
            sizing: SizingRequest | dict | None = None) -> Analysis:
    """Read (if a path), fit all models and, with ``sizing``, size the filter.

    Examples
    --------
    >>> a = analyze("examples/mab_sterile_filtration.csv",
    ...             sizing={"batch_volume": "2000 L", "process_time": "4 h"})   # doctest: +SKIP
    >>> a.fit.best_model, a.sizing.installed_area_m2                          # doctest: +SKIP
    """
    trial = path_or_trial if isinstance(path_or_trial, Trial) else load_trial(
        path_or_trial, area=area, mode=mode, density=density, columns=columns, sheet=sheet)
    fit = fit_trial(trial, j0=j0)
    req = SizingRequest.parse(**sizing) if isinstance(sizing, dict) else sizing
    sz = size_trial(fit, req) if req is not None else None
    return Analysis(trial=trial, fit=fit, sizing=sz, request=req)


def fit_result(trial: Trial, *, j0=None) -> dict:
    """The JSON of ``fluxwise fit --json`` for a trial."""
    return fit_trial(trial, j0=j0).to_dict()


def size_result(trial: Trial, **sizing) -> dict:
    """The JSON of ``fluxwise size --json`` for a trial (keyword arguments as in SizingRequest.parse)."""
    if trial.mode == CONSTANT_PRESSURE:
        sizing.setdefault("process_time", "4 h")
    return size_trial(fit_trial(trial), SizingRequest.parse(**sizing)).to_dict()


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
               "flush_volume_L": "flush", "feed_flux_LMH": "feed_flux", "cassette_area_m2": "cassette_area"}


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
        feed_flux_LMH=quantity("feed_flux", "flux"), cassette_area_m2=quantity("cassette_area", "area"))
    try:
        return design_ufdf(**kwargs)
    except InputError as exc:  # name the input the user gave, not the Python argument
        field = label(UFDF_INPUTS[exc.field]) if exc.field in UFDF_INPUTS else exc.field
        raise type(exc)(exc.message, source=exc.source, row=exc.row, column=exc.column, field=field) from None
