"""Design computations of the CLI as JSON: the UF/DF calculator, filtration trains and design-space sweeps.

Each endpoint answers what the matching command prints with ``--json`` for the same inputs
(``fluxwise ufdf``, ``fluxwise design TRAIN.yaml``, ``fluxwise sweep``). These are computations:
nothing is stored, so any signed-in user may run them (no project, no audit entry). Risk-based sizing
of a stored trial is ``POST /api/trials/{id}/size`` with ``confidence`` and ``feed_cv``; a train is
saved into a project (files, design and audit entry) with ``POST /api/projects/{id}/trains``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ...errors import FluxwiseError, InputError
from .. import schemas, science
from ..deps import PrincipalDep, SettingsDep
from ..headers import report_response
from ..upload_checks import UploadLimits, UploadRejected, check_upload, clean_filename, read_limited

log = logging.getLogger(__name__)
router = APIRouter(prefix="/design", tags=["design"])
ERRORS = schemas.error_responses(401, 403, 422)
#: Files one train may come with (trial files, and a factor file or catalog it names).
MAX_TRAIN_FILES = 50
_YAML = (".yaml", ".yml")


def computed(what: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``; an input nobody foresaw gets a 422 with its message, not a 500."""
    try:
        return fn(*args, **kwargs)
    except FluxwiseError as exc:
        error = exc
    except Exception as exc:
        log.warning("%s failed", what, exc_info=True)
        error = InputError(f"the {what} could not be computed ({type(exc).__name__}: {exc})")
    raise science.printable(error) from None


@router.post("/ufdf", response_model=dict[str, Any], responses={
    **ERRORS, 200: {"description": "The JSON of fluxwise ufdf --json (keys: design.ufdf.UFDFDesign)"}})
def design_ufdf(body: schemas.UFDFIn, principal: PrincipalDep):
    """The quick UF/DF calculator (``fluxwise ufdf``): concentrate to the DF concentration, diafilter at
    constant volume, concentrate to the target (gel-polarisation flux J = k ln(Cg/C)).

    Give exactly one of ``area`` and ``process_time``. Errors name the field.
    """
    return JSONResponse(computed("UF/DF step", science.ufdf, body.model_dump()))


def read_train_upload(train: UploadFile, files: list[UploadFile], limits: UploadLimits):
    from ...io.train import MAX_TRAIN_BYTES

    train_name = clean_filename(train.filename)
    train_bytes = read_limited(train.file, MAX_TRAIN_BYTES)
    if len(files) > MAX_TRAIN_FILES:
        raise UploadRejected(f"a train may come with at most {MAX_TRAIN_FILES} files", status=413)
    contents: dict[str, bytes] = {}
    for item in files:
        name = clean_filename(item.filename)
        if name in contents:
            raise InputError(f"two files are named '{name}'", field="files")
        if Path(name).suffix.lower() in _YAML:  # a factor file or catalog the train names
            content = read_limited(item.file, MAX_TRAIN_BYTES)
        else:
            content = read_limited(item.file, limits.max_bytes)
            check_upload(name, content, limits)
        contents[name] = content
    return train_name, train_bytes, contents


TrainFile = Annotated[UploadFile, File(description="The train file (.yaml or .yml), as for fluxwise design")]
TrainFiles = Annotated[list[UploadFile] | None, File(
    description="The files the train names, by their bare names: trial files (.csv, .txt, .tsv, .xlsx) "
                "and a factors or catalog file (.yaml)")]
Route = Annotated[str | None, Form(max_length=100, description="Supplier route for every step's consumables, "
                                                                "overriding the file (e.g. local)")]


def _design_train(train: UploadFile, files: list[UploadFile] | None, route: str | None, settings):
    name, content, contents = read_train_upload(train, files or [], settings.upload)
    route = (route or "").strip() or None
    return computed("train", science.design_train, name, content, contents, route=route)


@router.post("/train", response_model=dict[str, Any], responses={
    **ERRORS, 413: {"model": schemas.ErrorOut}, 415: {"model": schemas.ErrorOut},
    200: {"description": "The JSON of fluxwise design TRAIN --json (keys: docs/train-json.md)"}})
def design_train(train: TrainFile, principal: PrincipalDep, settings: SettingsDep, files: TrainFiles = None,
                 route: Route = None):
    """Design a filtration train for one batch (``fluxwise design TRAIN.yaml --json``): mass balance,
    sizing, time, buffers, consumables, cost and single-use plastic CO2e.

    Every path the train names (``trial`` of a step, ``factors``, ``catalog``) must be the bare name
    of a file uploaded with it under ``files``; no file of the server can be read.
    """
    design = _design_train(train, files, route, settings)
    return JSONResponse(computed("train", science.train_json, design))


@router.post("/train/report", response_class=HTMLResponse, responses={
    **ERRORS, 413: {"model": schemas.ErrorOut}, 415: {"model": schemas.ErrorOut},
    200: {"description": "Self-contained HTML report", "content": {"text/html": {}}}})
def design_train_report(train: TrainFile, principal: PrincipalDep, settings: SettingsDep,
                        files: TrainFiles = None, route: Route = None):
    """The HTML report of a train (``fluxwise design TRAIN.yaml -o report.html``); inputs as
    ``POST /api/design/train``."""
    design = _design_train(train, files, route, settings)
    html = computed("train report", science.train_report, design)
    stem = Path((train.filename or "train").replace("\\", "/")).stem or "train"
    return report_response(html, filename=f"{stem}-report.html", download=True)


_SWEEP_DOC = f"""A design-space sweep (``fluxwise sweep``), run in this process: every scenario of the spec
sized, as JSON rows or CSV.

At most {science.MAX_SWEEP_SCENARIOS:,} scenarios, and {science.MAX_SWEEP_EVALUATIONS:,} scenarios x
uncertainty draws, per request (413 beyond: run ``fluxwise sweep`` on a pool or a Dask cluster).
"""


@router.post("/sweep", response_model=schemas.SweepOut, description=_SWEEP_DOC, responses={
    **ERRORS, 413: {"model": schemas.ErrorOut},
    200: {"description": "format json: the summary of fluxwise sweep --json with the table inline; "
                         "format csv: the table as fluxwise sweep --out table.csv writes it",
          "content": {"text/csv": {}}}})
def design_sweep(body: schemas.SweepIn, principal: PrincipalDep):
    spec = computed("sweep", science.sweep_spec, body.spec, body.name)
    df, summary = computed("sweep", science.sweep, spec, body.name)
    headers = {"X-Scenarios": str(summary["scenarios"]), "X-Feasible": str(summary["feasible"])}
    if body.format == "csv":
        return Response(computed("sweep", science.sweep_csv, df), media_type="text/csv", headers=headers)
    summary["table"] = computed("sweep", science.sweep_rows, df)
    return JSONResponse(summary, headers=headers)
