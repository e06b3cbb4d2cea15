"""The HTTP door's only way into the science: :mod:`fluxwise.pipeline`, plus what it needs around it.

Every function returns what the matching CLI command prints with ``--json`` (the same keys and
numbers; non-finite numbers as null), from inputs given as the CLI takes them: quantities are
strings with units (``"100 L"``, ``"5 g/L"``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..errors import FluxwiseError, InputError
from ..store.canonical import to_jsonable
from ..trial import CONSTANT_PRESSURE, Trial
from .upload_checks import UploadRejected

#: What :func:`fluxwise.pipeline.size_result` assumes at constant pressure when no process time is
#: given; written into the stored inputs so that the result and its report say what was used.
DEFAULT_PROCESS_TIME = "4 h"

#: Sizing inputs the API passes on to :func:`fluxwise.pipeline.size_result` (``catalog`` is a file
#: path there, so it is not offered over HTTP: the installation's catalog is used).
SIZING_KEYS = ("batch_volume", "process_time", "safety_factor", "model", "max_pressure", "flux",
               "flux_decay_limit", "format_name", "confidence", "feed_cv", "turbidity_limit",
               "turbidity_flush", "bootstrap_method", "extrapolation_limit", "buffer_flux", "j0_margin",
               "fix_j0", "process_temperature", "trial_temperature", "process_viscosity", "trial_viscosity")
#: Inputs left out of the stored inputs when not given (results sized without them keep the inputs,
#: and so the content hash, they always had): risk-based sizing, Tmax's turbidity limit and flush, the
#: checks' settings, J0, viscosity.
OPTIONAL_KEYS = ("confidence", "feed_cv", "turbidity_limit", "turbidity_flush", "bootstrap_method",
                 "extrapolation_limit", "buffer_flux", "j0_margin", "fix_j0", "process_temperature",
                 "trial_temperature", "process_viscosity", "trial_viscosity")


def sizing_kwargs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: inputs[k] for k in SIZING_KEYS if inputs.get(k) is not None and inputs.get(k) is not False}


def complete_inputs(trial: Trial, inputs: dict[str, Any]) -> dict[str, Any]:
    """``inputs`` with the defaults the pipeline would apply made explicit (stored with the result)."""
    out = dict(inputs)
    if trial.mode == CONSTANT_PRESSURE and out.get("process_time") is None:
        out["process_time"] = DEFAULT_PROCESS_TIME
    for key in OPTIONAL_KEYS:
        if out.get(key) is None or out.get(key) is False:
            out.pop(key, None)
    return out


def _printable(text):
    # JSON may carry lone UTF-16 surrogates ("\ud800"); a message quoting one could not be sent as UTF-8
    return text.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(text, str) else text


def printable(exc: FluxwiseError) -> FluxwiseError:
    """``exc``, or the same error with any lone surrogate it quotes escaped (so that it can be sent)."""
    if _printable(str(exc)) == str(exc):
        return exc
    if isinstance(exc, InputError):
        return type(exc)(_printable(exc.message), source=_printable(exc.source), row=exc.row,
                         column=_printable(exc.column), field=_printable(exc.field))
    if isinstance(exc, UploadRejected):
        return UploadRejected(_printable(str(exc)), status=exc.status)
    return InputError(_printable(str(exc)))


def _json_field(exc: InputError, names: Mapping[str, str]) -> FluxwiseError:
    """``exc`` naming the JSON field of the request instead of a CLI option or Python argument."""
    field = names.get(exc.field, exc.field) if exc.field else exc.field
    return printable(type(exc)(exc.message, source=exc.source, row=exc.row, column=exc.column, field=field))


def affinity(rec) -> tuple:
    """What a computation on the stored trial ``rec`` is about, for the worker pool: its id and
    revision (:meth:`fluxwise.api.workers.SciencePool.run` sends them to the worker that already fitted
    that trial, as :func:`fluxwise.web.present.trial_figures` keys its figures)."""
    return (rec.public_id, rec.revision)


def fit(trial: Trial) -> dict:
    from .. import pipeline

    return pipeline.fit_result(trial)


#: pipeline.SizingRequest names fields as the CLI options; the request's JSON keys instead
_SIZING_FIELDS = {key.replace("_", "-"): key for key in SIZING_KEYS}


def size(trial: Trial, inputs: dict[str, Any]) -> dict:
    """``fluxwise size --json`` (with ``confidence``: also ``risk_based_area_m2``,
    ``implied_safety_factor`` and ``risk``)."""
    from .. import pipeline

    try:
        return pipeline.size_result(trial, **sizing_kwargs(inputs))
    except InputError as exc:
        raise _json_field(exc, _SIZING_FIELDS) from None


def report(trial: Trial, inputs: dict[str, Any] | None) -> str:
    from .. import pipeline

    return pipeline.report_html(trial, **sizing_kwargs(inputs or {}))


def record_report(trial: Trial, kind: str, inputs: dict[str, Any] | None, stored: dict, record: dict) -> str:
    """The report of a stored fit or sizing: computed again from its trial and inputs, and shown only
    when that gives the numbers the version holds (else :class:`~fluxwise.store.results.Conflict`), with
    the record's signature block."""
    from .. import pipeline
    from ..report.html import render_report
    from ..store.canonical import same_numbers
    from ..store.results import Conflict

    analysis = pipeline.report_analysis(trial, **(sizing_kwargs(inputs or {}) if kind == "sizing" else {}))
    computed = analysis.fit.to_dict() if kind == "fit" else analysis.sizing.to_dict()
    if kind == "sizing" and isinstance(stored, dict) and "warnings" not in stored:
        # sizings stored before every sizing carried its warnings left the key out when there were none
        stored = {**stored, "warnings": []}
    if not same_numbers(computed, stored):
        raise Conflict("computed again from its trial, this result gives other numbers than the stored "
                       "version holds; the report would not show what was stored (and signed). Recompute it "
                       "(PATCH with recompute: true) and report the new version")
    return render_report(analysis, record=record)


#: compare's sizing and cost inputs, by JSON field
COMPARE_SIZING = ("batch_volume", "process_time", "max_pressure", "flux", "safety_factor")
COMPARE_ECONOMICS = ("titre", "product_value", "chase", "product_flush", "pre_use_flush")


def comparison(trials: list[Trial], names: list[str], inputs: dict[str, Any]):
    """:func:`fluxwise.pipeline.compare_trials` of stored trials (the installation's catalog and factors)."""
    from .. import pipeline

    fields = {k.replace("_", "-"): k for k in COMPARE_SIZING + COMPARE_ECONOMICS}
    try:
        return pipeline.compare_trials(
            trials, names=names, sizing={k: inputs[k] for k in COMPARE_SIZING if inputs.get(k) is not None},
            economics={k: inputs[k] for k in COMPARE_ECONOMICS if inputs.get(k) is not None})
    except InputError as exc:
        raise _json_field(exc, fields) from None


def comparison_json(result) -> dict:
    """``fluxwise compare --json`` of a comparison."""
    return to_jsonable(result.to_dict())


# --- UF/DF ------------------------------------------------------------------------------------------------

def ufdf(inputs: dict[str, Any]) -> dict:
    """``fluxwise ufdf --json`` for ``inputs`` keyed by the JSON fields (``volume``, ``k``, ``cg``,
    ``target_concentration``, ...; ``time_course`` as ``--time-course``)."""
    from ..pipeline import design_ufdf_from_inputs

    try:
        design = design_ufdf_from_inputs(inputs)
    except InputError as exc:
        raise printable(exc) from None
    return to_jsonable(design.to_dict(include_time_course=bool(inputs.get("time_course"))))


# --- trains -----------------------------------------------------------------------------------------------

def design_train(train_name: str, train_bytes: bytes, files: dict[str, bytes], route: str | None = None):
    """Design a train uploaded as YAML bytes with the files it names (bare name -> bytes), read with
    :func:`fluxwise.io.train.parse_uploaded_train` as the web page does (no server file can be read)."""
    from ..design.train import design_train as design
    from ..io.train import parse_uploaded_train

    return design(parse_uploaded_train(train_name, train_bytes, files, route=route))


def train_json(design) -> dict:
    """``fluxwise design TRAIN --json`` of a designed train."""
    return to_jsonable(design.to_dict())


def train_report(design, record: dict | None = None) -> str:
    """The self-contained HTML report of ``fluxwise design TRAIN -o report.html`` (``record``: the
    signature block of a saved design)."""
    from ..report.train import render_train_report

    return render_train_report(design, record=record)


# --- sweeps -----------------------------------------------------------------------------------------------

#: Most scenarios one request may sweep (larger sweeps: ``fluxwise sweep`` on a pool or a Dask cluster).
MAX_SWEEP_SCENARIOS = 200_000
#: Most scenarios x uncertainty draws one request may evaluate (about 4 s on one core), and most draws.
MAX_SWEEP_EVALUATIONS = 200_000_000
MAX_SWEEP_DRAWS = 100_000
MAX_SWEEP_SPEC_CHARS = 256 * 1024


def _scenario_count(spec) -> int:
    """The number of scenarios of ``spec``, without building any axis (a grid of 10^12 points stays a
    number here)."""
    if spec.sampling != "grid":
        return int(spec.n_samples)
    count = 1
    for axis in spec.axes:
        count *= len(axis.values) if axis.values is not None else int(axis.n)
    return count


def sweep_spec(spec: str | Mapping[str, Any], source: str = "<request>"):
    """Parse a sweep spec sent over HTTP (YAML text, or the mapping itself) with
    :func:`fluxwise.io.sweep_spec.parse_sweep_spec` and check that one request can run it.

    The spec cannot name a ``catalog`` file (that would read a file of the server): the installation's
    catalog is used. Too many scenarios or draws: :class:`UploadRejected` with status 413.
    """
    import dataclasses

    import yaml

    from ..io.sweep_spec import parse_sweep_spec

    text = spec if isinstance(spec, str) else json.dumps(spec, ensure_ascii=False)
    if len(text) > MAX_SWEEP_SPEC_CHARS:
        raise UploadRejected(f"the sweep spec is longer than {MAX_SWEEP_SPEC_CHARS // 1024} kB", status=413)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None  # parse_sweep_spec says what is wrong
    if isinstance(data, Mapping) and data.get("catalog") is not None:
        raise InputError("a sweep sent to the API cannot name a catalog file: the installation's catalog is "
                         "used (run fluxwise sweep for your own catalog)", source=source, field="catalog")
    parsed = parse_sweep_spec(text, source=source)
    n = _scenario_count(parsed)
    if n > MAX_SWEEP_SCENARIOS:
        raise UploadRejected(f"{source}: the sweep has {n:,} scenarios; one request may sweep at most "
                             f"{MAX_SWEEP_SCENARIOS:,} (fewer grid points or n_samples, or run fluxwise "
                             "sweep on a pool or a Dask cluster)", status=413)
    if parsed.confidence is not None:
        if parsed.n_draws > MAX_SWEEP_DRAWS:
            raise UploadRejected(f"{source}: uncertainty.n_draws is {parsed.n_draws:,}; at most "
                                 f"{MAX_SWEEP_DRAWS:,} per request", status=413)
        if n * parsed.n_draws > MAX_SWEEP_EVALUATIONS:
            raise UploadRejected(f"{source}: {n:,} scenarios x {parsed.n_draws:,} uncertainty draws is more "
                                 f"than the {MAX_SWEEP_EVALUATIONS:,} one request may evaluate (fewer "
                                 "scenarios or n_draws, or run fluxwise sweep)", status=413)
    # how to split the work is the server's business, not the spec's
    return dataclasses.replace(parsed, chunk_size=None)


def sweep(spec, source: str = "<request>"):
    """Run a checked spec (:func:`sweep_spec`) in this process; returns the table (a DataFrame, as
    ``fluxwise sweep --out`` writes it) and the summary of ``fluxwise sweep --json``, whose ``table``
    and ``plot`` (file paths there) the caller fills in."""
    from ..compute import InProcessExecutor
    from ..design.sweep import run_sweep

    t0 = time.perf_counter()
    executor = InProcessExecutor()
    df = run_sweep(spec, executor)
    seconds = time.perf_counter() - t0
    feasible = df[df["feasible"]] if "feasible" in df.columns else df
    summary: dict[str, Any] = {"spec": source, "scenarios": int(len(df)), "feasible": int(len(feasible)),
                               "seconds": seconds, "executor": type(executor).__name__, "table": None,
                               "plot": None}
    if "required_area_m2" in df.columns and len(feasible):
        summary["required_area_m2"] = {"min": float(feasible["required_area_m2"].min()),
                                       "max": float(feasible["required_area_m2"].max())}
    if "cost_usd" in df.columns and len(feasible):
        best = feasible.loc[feasible["cost_usd"].idxmin()]
        summary["cheapest"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
    return df, to_jsonable(summary)


def sweep_rows(df) -> dict:
    """The table of a sweep as JSON: ``columns`` (``scenario`` first, as in the CSV) and ``rows``."""
    table = df.reset_index()
    return {"columns": [str(c) for c in table.columns], "rows": to_jsonable(table.values.tolist())}


def sweep_csv(df) -> str:
    """The table of a sweep as ``fluxwise sweep --out table.csv`` writes it."""
    return df.to_csv(index=True)
