"""Supply studies over HTTP: ``fluxwise supply PLAN --json`` as a computation (nothing stored), its report,
and a study saved into a project as a versioned, signable result of kind ``supply``.

A plan is uploaded with the files it names, by their bare names — its train file, the train's trial
files, a factors file — so no file of the server can be read. A request may run at most
:data:`fluxwise.pipeline.MAX_SERVED_REPLICATIONS` replications over
:data:`fluxwise.pipeline.MAX_SERVED_PERIODS` periods; larger studies run with ``fluxwise supply`` on a
process pool or a Dask cluster.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse

from ... import pipeline
from ...errors import InputError
from ...store import supply as store_supply
from ...store import tenancy
from ...store.models import Project
from .. import convert, schemas
from ..deps import DbDep, PrincipalDep, ProjectDep, ReadSession, SettingsDep, load_user
from ..upload_checks import CONTENT_TYPES, UploadRejected, check_upload, clean_filename, read_limited
from .design import computed

router = APIRouter(tags=["supply"])
ERRORS = schemas.error_responses(401, 403, 422)
#: Files one plan may come with (its train, the train's trial files, a factors file).
MAX_PLAN_FILES = 50
_YAML = (".yaml", ".yml")

PlanFile = Annotated[UploadFile, File(description="The supply plan (.yaml or .yml), as for fluxwise supply")]
PlanFiles = Annotated[
    list[UploadFile] | None,
    File(
        description="The files the plan names, by their bare names: its train file and the train's trial "
        "files (.csv, .txt, .tsv, .xlsx), a factors file (.yaml)"
    ),
]
Replications = Annotated[
    int | None,
    Form(ge=1, le=pipeline.MAX_SERVED_REPLICATIONS, description="Replications (default: the plan's)"),
]
Seed = Annotated[int | None, Form(ge=0, le=2**63 - 1, description="Seed (default: the plan's)")]
Compare = Annotated[bool, Form(description="Compare the plan's candidate sources (compare: in the plan)")]


def read_plan_upload(
    plan: UploadFile, files: list[UploadFile], limits
) -> tuple[str, bytes, dict[str, bytes]]:
    """The plan's name and bytes and the files uploaded with it (bounded reads, checked like uploads)."""
    from ...io.supply import MAX_PLAN_BYTES

    name = clean_filename(plan.filename)
    content = read_limited(plan.file, MAX_PLAN_BYTES)
    if len(files) > MAX_PLAN_FILES:
        raise UploadRejected(f"a plan may come with at most {MAX_PLAN_FILES} files", status=413)
    contents: dict[str, bytes] = {}
    for item in files:
        fname = clean_filename(item.filename)
        if fname in contents:
            raise InputError(f"two files are named '{fname}'", field="files")
        if Path(fname).suffix.lower() in _YAML:  # the train or a factors file the plan names
            data = read_limited(item.file, MAX_PLAN_BYTES)
        else:
            data = read_limited(item.file, limits.max_bytes)
            check_upload(fname, data, limits)
        contents[fname] = data
    return name, content, contents


def _study(plan: UploadFile, files, replications, seed, compare, settings):
    name, content, contents = read_plan_upload(plan, files or [], settings.upload)
    result = computed(
        "supply study",
        pipeline.supply_study_uploaded,
        name,
        content,
        contents,
        replications=replications,
        seed=seed,
        compare=compare,
    )
    return name, content, contents, result


@router.post(
    "/supply",
    response_model=dict[str, Any],
    responses={
        **ERRORS,
        413: {"model": schemas.ErrorOut},
        415: {"model": schemas.ErrorOut},
        200: {"description": "The JSON of fluxwise supply PLAN --json (keys: docs/supply.md)"},
    },
)
def supply_study(
    plan: PlanFile,
    principal: PrincipalDep,
    settings: SettingsDep,
    files: PlanFiles = None,
    replications: Replications = None,
    seed: Seed = None,
    compare: Compare = True,
):
    """Simulate a campaign's consumable supply (``fluxwise supply PLAN --json``): batches delayed and lost,
    service levels, stock, expiry and CO2e per item, recommendations (formula and simulation) and the
    comparison of sources. Every Monte Carlo figure comes with its standard error (``…_se``).

    Every path the plan names (``train``, ``factors``, and the train's trial files) must be the bare name of
    a file uploaded with it under ``files``. Nothing is stored.
    """
    *_, result = _study(plan, files, replications, seed, compare, settings)
    return JSONResponse(schemas_safe(result.to_dict()))


@router.post(
    "/supply/report",
    response_class=HTMLResponse,
    responses={
        **ERRORS,
        413: {"model": schemas.ErrorOut},
        415: {"model": schemas.ErrorOut},
        200: {"description": "Self-contained HTML report", "content": {"text/html": {}}},
    },
)
def supply_report(
    plan: PlanFile,
    principal: PrincipalDep,
    settings: SettingsDep,
    files: PlanFiles = None,
    replications: Replications = None,
    seed: Seed = None,
    compare: Compare = True,
):
    """The HTML report of a supply study (``fluxwise supply PLAN -o report.html``); inputs as
    ``POST /api/supply``."""
    from ...report.supply import render_supply_report

    *_, result = _study(plan, files, replications, seed, compare, settings)
    return HTMLResponse(computed("supply report", render_supply_report, result))


@router.post(
    "/projects/{project_id}/supply",
    response_model=schemas.ResultOut,
    status_code=201,
    responses={
        **ERRORS,
        404: {"model": schemas.ErrorOut},
        413: {"model": schemas.ErrorOut},
        415: {"model": schemas.ErrorOut},
    },
)
def save_supply(
    project: ProjectDep,
    principal: PrincipalDep,
    s: ReadSession,
    db: DbDep,
    settings: SettingsDep,
    plan: PlanFile,
    files: PlanFiles = None,
    replications: Replications = None,
    seed: Seed = None,
    compare: Compare = True,
    notes: Annotated[str | None, Form(max_length=20_000, description="Notes kept with the study")] = None,
):
    """Run a supply study (inputs as ``POST /api/supply``) and save it into the project: the plan and its
    files are kept byte for byte with their SHA-256, the study's JSON becomes a result of kind ``supply`` —
    versioned, reportable (``GET /api/results/{id}/report``), signable like every result, and in the audit
    trail. Nothing is stored unless the study runs.
    """
    tenancy.require(tenancy.project_roles(s, principal.user_id, project), "write", "saving a supply study")
    if "\x00" in (notes or ""):
        raise InputError("must not contain NUL characters", field="notes")
    name, content, contents, result = _study(plan, files, replications, seed, compare, settings)
    data = schemas_safe(result.to_dict())
    options = {"replications": result.plan.replications, "seed": result.plan.seed, "compare": compare}
    typed = {
        n: (c, CONTENT_TYPES.get(PurePosixPath(n).suffix.lower(), store_supply.YAML_TYPE))
        for n, c in contents.items()
    }
    with db.session(write=True) as ws:
        rv = store_supply.save_supply(
            ws,
            ws.get(Project, project.id),
            actor=load_user(ws, principal),
            plan_name=name,
            plan_bytes=content,
            files=typed,
            options=options,
            data=data,
            notes=notes or "",
        )
        ws.commit()
        return convert.result_out(ws, [rv])


def schemas_safe(d: dict) -> dict:
    """The study's JSON as strict JSON (no NaN or infinity: null, as ``--json`` prints them)."""
    from ...store.canonical import to_jsonable

    return to_jsonable(d)


def saved_study_rerun(s, rv) -> dict:
    """The study of a saved result run again from its stored files (checked against their SHA-256), with
    the replications and seed it was saved with: the JSON of a new version."""
    name, content, files, options = store_supply.supply_sources(s, rv)
    result = computed(
        "supply study",
        pipeline.supply_study_uploaded,
        name,
        content,
        files,
        replications=options.get("replications"),
        seed=options.get("seed"),
        compare=options.get("compare", True),
    )
    return schemas_safe(result.to_dict())
