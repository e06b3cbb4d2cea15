"""Projects: list, create, share; and what each project holds (uploads, trials, results, saved trains)."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from sqlalchemy import select

from ...errors import InputError
from ...i18n import _
from ...store import deletions as store_deletions
from ...store import invitations as store_invitations
from ...store import projects as store_projects
from ...store import tenancy
from ...store import trains as store_trains
from ...store import uploads as store_uploads
from ...store.models import Organisation, Project, ResultVersion, Upload
from .. import convert, schemas, science
from ..deps import (
    DbDep,
    PrincipalDep,
    ProjectDep,
    ReadSession,
    ScienceDep,
    SettingsDep,
    client_address,
    load_user,
)
from ..upload_checks import (
    CONTENT_TYPES,
    check_upload,
    clean_filename,
    original_filename,
    parse_upload,
    read_limited,
)
from .design import Route, TrainFile, TrainFiles, computed, read_train_upload

router = APIRouter(prefix="/projects", tags=["projects"])
ERRORS = schemas.error_responses(401, 403, 404, 422)


@router.get("", response_model=list[schemas.ProjectOut], responses=ERRORS)
def list_projects(principal: PrincipalDep, s: ReadSession,
                  org_id: Annotated[str | None, Query(max_length=32)] = None):
    """Projects the caller can see: their organisations' and those shared into them."""
    stmt = tenancy.visible_projects(principal.user_id).order_by(Project.created_at, Project.id)
    if org_id is not None:
        stmt = stmt.join(Organisation, Organisation.id == Project.org_id) \
            .where(Organisation.public_id == org_id)
    return [convert.project_out(s, p, principal.user_id) for p in s.scalars(stmt)]


@router.post("", response_model=schemas.ProjectOut, status_code=201, responses=ERRORS)
def create_project(body: schemas.ProjectIn, principal: PrincipalDep, s: ReadSession, db: DbDep):
    org, role = tenancy.get_organisation(s, principal.user_id, body.org_id)
    tenancy.require({role}, "create_project", "creating a project")
    with db.session(write=True) as ws:
        project = store_projects.create_project(ws, ws.get(Organisation, org.id), body.name, body.description,
                                                actor=load_user(ws, principal))
        ws.commit()
        return convert.project_out(ws, project, principal.user_id)


@router.get("/{project_id}", response_model=schemas.ProjectOut, responses=ERRORS)
def get_project(project: ProjectDep, principal: PrincipalDep, s: ReadSession):
    return convert.project_out(s, project, principal.user_id)


@router.post("/{project_id}/shares", response_model=schemas.InvitationSentOut, status_code=202,
             responses=ERRORS)
def share_project(body: schemas.ShareIn, project: ProjectDep, principal: PrincipalDep, s: ReadSession,
                  db: DbDep, request: Request):
    """Offer the project to another organisation (admins of the owning organisation only).

    This makes an invitation that an admin of that organisation accepts; until then its members see
    nothing. The answer is the same whether or not the id names an organisation (only its id differs).
    """
    tenancy.require(tenancy.owner_roles(s, principal.user_id, project), "share", "sharing a project")
    with db.session(write=True) as ws:
        inv = store_invitations.invite_share(ws, ws.get(Project, project.id), body.org_id,
                                             actor=load_user(ws, principal), client=client_address(request))
        ws.commit()
        return convert.invitation_sent_out(inv)


@router.delete("/{project_id}/shares/{org_id}", status_code=204, responses=ERRORS)
def revoke_share(org_id: str, project: ProjectDep, principal: PrincipalDep, s: ReadSession, db: DbDep,
                 request: Request):
    """End the share with an organisation: by an admin of the owning organisation, or by an admin of
    the receiving one (which gives the project up). Audited."""
    with db.session(write=True) as ws:
        store_projects.end_share(ws, ws.get(Project, project.id), org_id, actor=load_user(ws, principal),
                                 client=client_address(request))
        ws.commit()
    return Response(status_code=204)


@router.get("/{project_id}/uploads", response_model=list[schemas.UploadOut], responses=ERRORS)
def list_uploads(project: ProjectDep, s: ReadSession):
    """The project's files (deleted ones: ``GET /api/projects/{id}/deleted``)."""
    rows = list(s.scalars(select(Upload).where(Upload.project_id == project.id)
                          .order_by(Upload.created_at, Upload.id)))
    gone = store_deletions.deleted_ids(s, "upload", [u.public_id for u in rows])
    return [convert.upload_out(s, u) for u in rows if u.public_id not in gone]


@router.get("/{project_id}/deleted", response_model=list[schemas.DeletedOut], responses=ERRORS)
def list_deleted(project: ProjectDep, s: ReadSession):
    """What is deleted in the project (files, trials, results), newest first, with who, when and why; an
    admin of the owning organisation can restore each (``POST .../restore``)."""
    return store_deletions.deleted_in_project(s, project)


def column_mapping(text: str | None) -> dict | None:
    """A column mapping sent as JSON text (a form field): role -> header or [header, unit]."""
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise InputError('must be JSON such as {"time": ["Zeit", "s"]}', field="columns") from None
    if not isinstance(value, dict):
        raise InputError('must map roles to columns, e.g. {"time": ["Zeit", "s"]}', field="columns")
    out = {}
    for role, ref in value.items():
        if isinstance(ref, str) and ref.strip() and "\x00" not in ref:
            out[str(role)] = ref.strip()
        elif (isinstance(ref, list) and len(ref) == 2 and all(isinstance(x, str) and "\x00" not in x
                                                               for x in ref) and ref[0].strip()):
            out[str(role)] = (ref[0].strip(), ref[1].strip() or None) if ref[1].strip() else ref[0].strip()
        else:
            raise InputError(f"the {role} column must be a header, or a header and a unit", field="columns")
    return out or None


@router.post("/{project_id}/uploads", response_model=schemas.UploadCreatedOut, status_code=201,
             responses={**ERRORS, 413: {"model": schemas.ErrorOut}, 415: {"model": schemas.ErrorOut}})
def create_upload(
    project: ProjectDep,
    principal: PrincipalDep,
    s: ReadSession,
    db: DbDep,
    settings: SettingsDep,
    compute: ScienceDep,
    file: Annotated[UploadFile, File(description="A trial export: .csv, .txt, .tsv or .xlsx")],
    area: Annotated[str | None, Form(max_length=100, description="Filter area, e.g. '13.8 cm2' (else "
                                                                 "from the file)")] = None,
    mode: Annotated[str | None, Form(max_length=32, description="constant-pressure or constant-flux "
                                                                "(else detected)")] = None,
    density: Annotated[str | None, Form(max_length=100, description="e.g. '1.02 g/mL'")] = None,
    columns: Annotated[str | None, Form(max_length=4000, description='Column mapping as JSON, role -> '
                                        'header or [header, unit], e.g. {"time": ["Zeit", "s"]} (else '
                                        'detected from the headers)')] = None,
    max_dip: Annotated[str | None, Form(max_length=100, description="Largest dip of the filtrate readings "
                                                                    "to accept as balance noise: a mass or "
                                                                    "volume ('0.5 g') or a fraction of the "
                                                                    "largest reading ('1%'); default 0.2 %")
                       ] = None,
):
    """Upload a trial file into the project; it is kept byte for byte and parsed into a trial.

    Nothing is stored unless the file passes every check and parses: wrong type (415), too large
    (413), empty, broken, a zip bomb or a table that cannot be read (422).
    """
    tenancy.require(tenancy.project_roles(s, principal.user_id, project), "write", "uploading a trial")
    filename, original = clean_filename(file.filename), original_filename(file.filename)
    content = read_limited(file.file, settings.upload.max_bytes)
    content_type = check_upload(filename, content, settings.upload)
    options = {k: (v.strip() or None) if isinstance(v, str) else None
               for k, v in (("area", area), ("mode", mode), ("density", density))}
    for k, v in options.items():
        if v is not None and "\x00" in v:
            raise InputError("must not contain NUL characters", field=k)
    dip = (max_dip or "").strip() or None
    if dip is not None and "\x00" in dip:
        raise InputError(_("must not contain NUL characters"), field="max_dip")
    mapping = column_mapping(columns)
    trial = compute.run(parse_upload, filename, content, columns=mapping, max_dip=dip, **options)
    with db.session(write=True) as ws:
        upload, rec = store_uploads.record_upload(
            ws, ws.get(Project, project.id), actor=load_user(ws, principal), filename=filename,
            content_type=content_type, content=content, trial=trial, original_filename=original,
            columns=mapping, **options)
        ws.commit()
        return schemas.UploadCreatedOut(upload=convert.upload_out(ws, upload), trial=convert.trial_out(rec))


@router.get("/{project_id}/trials", response_model=list[schemas.TrialOut], responses=ERRORS)
def list_trials(project: ProjectDep, s: ReadSession):
    """The project's trials (deleted ones: ``GET /api/projects/{id}/deleted``)."""
    rows = store_uploads.project_trials(s, project.id)
    gone = store_deletions.deleted_ids(s, "trial", [r.public_id for r in rows])
    return [convert.trial_out(r) for r in rows if r.public_id not in gone]


@router.get("/{project_id}/results", response_model=list[schemas.ResultOut], responses=ERRORS)
def list_results(project: ProjectDep, s: ReadSession, include_deleted: bool = False):
    """The latest version of every result in the project (deleted ones only when asked)."""
    rows = list(s.scalars(select(ResultVersion).where(ResultVersion.project_id == project.id)
                          .order_by(ResultVersion.created_at, ResultVersion.id)))
    by_result: dict[str, list[ResultVersion]] = {}
    for rv in rows:
        by_result.setdefault(rv.result_id, []).append(rv)
    gone_trials = store_deletions.deleted_ids(s, "trial")
    out = []
    for versions in by_result.values():
        versions.sort(key=lambda v: v.version)
        trial_gone = versions[-1].trial is not None and versions[-1].trial.public_id in gone_trials
        if include_deleted or (versions[-1].deleted_at is None and not trial_gone):
            out.append(convert.result_out(s, versions))
    return out


@router.post("/{project_id}/trains", response_model=schemas.ResultOut, status_code=201, responses={
    **ERRORS, 413: {"model": schemas.ErrorOut}, 415: {"model": schemas.ErrorOut}})
def save_train(project: ProjectDep, principal: PrincipalDep, s: ReadSession, db: DbDep, settings: SettingsDep,
               train: TrainFile, files: TrainFiles = None, route: Route = None,
               notes: Annotated[str | None, Form(max_length=20_000, description="Notes kept with the design")]
               = None):
    """Design a train (inputs as ``POST /api/design/train``) and save it into the project: the train file
    and its files are kept byte for byte with their SHA-256 and the design's JSON (``fluxwise design
    TRAIN --json``) becomes a result of kind ``train`` — versioned, reportable
    (``GET /api/results/{id}/report``) and signable like every result, and in the audit trail.

    Nothing is stored unless the train is designed.
    """
    tenancy.require(tenancy.project_roles(s, principal.user_id, project), "write", "saving a train design")
    name, content, contents = read_train_upload(train, files or [], settings.upload)
    route = (route or "").strip() or None
    if "\x00" in (route or "") + (notes or ""):
        raise InputError("must not contain NUL characters", field="notes")
    design = computed("train", science.design_train, name, content, contents, route=route)
    data = computed("train", science.train_json, design)
    typed = {n: (c, CONTENT_TYPES.get(PurePosixPath(n).suffix.lower(), store_trains.YAML_TYPE))
             for n, c in contents.items()}  # trial tables (checked on reading), else a factors/catalog YAML
    with db.session(write=True) as ws:
        rv = store_trains.save_train(ws, ws.get(Project, project.id), actor=load_user(ws, principal),
                                     train_name=name, train_bytes=content, files=typed, route=route,
                                     data=data, notes=notes or "")
        ws.commit()
        return convert.result_out(ws, [rv])
