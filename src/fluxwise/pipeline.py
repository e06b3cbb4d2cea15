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
           "SizingRequest", "UFDF_INPUTS", "design_ufdf_from_inputs", "supply_study", "run_supply_plan",
           "supply_study_uploaded", "supply_starter_plan", "MAX_SERVED_REPLICATIONS", "MAX_SERVED_PERIODS"]


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
