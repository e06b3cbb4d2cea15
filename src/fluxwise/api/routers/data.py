"""Uploaded files and the trials parsed from them; fitting and sizing a trial."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response

from ...errors import InputError
from ...store import deletions as store_deletions
from ...store import tenancy
from ...store import uploads as store_uploads
from ...store.audit import require_reason
from ...store.models import TrialRecord, Upload
from ...store.results import create_result
from .. import convert, schemas, science
from ..deps import DbDep, PrincipalDep, ReadSession, ScienceDep, TrialDep, UploadDep, load_user
from ..headers import content_disposition
from ..upload_checks import parse_upload

router = APIRouter(tags=["data"])
ERRORS = schemas.error_responses(401, 403, 404, 422)


@router.get("/uploads/{upload_id}", response_model=schemas.UploadOut, responses=ERRORS)
def get_upload(upload: UploadDep, s: ReadSession):
    return convert.upload_out(s, upload)


@router.get("/uploads/{upload_id}/content", response_class=Response, responses={
    **ERRORS,
    200: {"description": "The file exactly as uploaded", "content": {"application/octet-stream": {}}}})
def get_upload_content(upload: UploadDep):
    """The uploaded file, byte for byte, as an attachment under the name it was uploaded with (UTF-8 in
    ``filename*``); its SHA-256 is in the ``X-Content-SHA256`` header."""
    return Response(content=upload.content, media_type=upload.content_type, headers={
        "Content-Disposition": content_disposition(upload.original_filename or upload.filename),
        "X-Content-SHA256": upload.sha256})


@router.get("/trials/{trial_id}", response_model=schemas.TrialDataOut, responses=ERRORS)
def get_trial(trial: TrialDep):
    """A trial with its data in canonical units (time h, V/A L/m², pressure bar)."""
    return convert.trial_data_out(trial)


@router.patch("/trials/{trial_id}", response_model=schemas.TrialOut, responses=ERRORS)
def edit_trial(body: schemas.TrialEditIn, trial: TrialDep, principal: PrincipalDep, s: ReadSession,
               db: DbDep, compute: ScienceDep):
    """Read the trial again from its upload (the same bytes) with another area, mode, density or column
    mapping: a new revision of the trial. These are critical values: a reason is required.

    Results computed before stay as they were and show ``stale: true``; recompute them with
    ``PATCH /api/results/{id}`` and ``recompute: true``.
    """
    tenancy.require(tenancy.project_roles(s, principal.user_id, trial.project), "write", "editing a trial")
    sent = body.model_dump(exclude_unset=True)
    values = {k: ((sent[k] or "").strip() or None) if k in sent else getattr(trial, f"{k}_input")
              for k in ("area", "mode", "density")}
    columns = (sent["columns"] or None) if "columns" in sent else store_uploads.trial_columns(trial)
    if columns:
        columns = {role: tuple(ref) if isinstance(ref, list) else ref for role, ref in columns.items()}
    changed = [k for k in values if values[k] != getattr(trial, f"{k}_input")]
    if store_uploads.columns_text(columns) != trial.columns_input:
        changed.append("columns")
    require_reason("trial", changed, body.reason)
    if not changed:
        return convert.trial_out(trial)
    # a dip tolerance given at upload is kept in the trial's metadata and applies to the re-read too
    max_dip = (json.loads(trial.data_json).get("meta") or {}).get("max_dip")
    parsed = compute.run(parse_upload, trial.upload.filename, trial.upload.content, columns=columns,
                         max_dip=max_dip, **values)
    with db.session(write=True) as ws:
        rec = ws.get(TrialRecord, trial.id)
        store_uploads.update_trial(ws, rec, actor=load_user(ws, principal), trial=parsed, reason=body.reason,
                                   columns=columns, **values)
        ws.commit()
        return convert.trial_out(rec)


Reason = Annotated[str, Query(min_length=1, max_length=2000, description="Why (required; kept in the audit "
                                                                         "trail)")]


def _no_nul(reason: str) -> str:
    if "\x00" in reason:
        raise InputError("must not contain NUL characters", field="reason")
    return reason


@router.delete("/trials/{trial_id}", status_code=204, responses=ERRORS)
def delete_trial(trial: TrialDep, principal: PrincipalDep, s: ReadSession, db: DbDep, reason: Reason):
    """Soft-delete a trial: it stays in the store (its results with it), hidden and refused to new work, with
    who, when and why in the audit trail; an admin of the owning organisation can restore it."""
    tenancy.require(tenancy.project_roles(s, principal.user_id, trial.project), "write", "deleting a trial")
    with db.session(write=True) as ws:
        store_deletions.delete_trial(ws, ws.get(TrialRecord, trial.id), actor=load_user(ws, principal),
                                     reason=_no_nul(reason))
        ws.commit()
    return Response(status_code=204)


@router.delete("/uploads/{upload_id}", status_code=204, responses=ERRORS)
def delete_upload(upload: UploadDep, principal: PrincipalDep, s: ReadSession, db: DbDep, reason: Reason):
    """Soft-delete an uploaded file and the trial read from it (kept byte for byte, hidden; restorable by an
    admin). A file of a saved train design is refused: delete the design."""
    tenancy.require(tenancy.project_roles(s, principal.user_id, upload.project), "write", "deleting a file")
    with db.session(write=True) as ws:
        store_deletions.delete_upload(ws, ws.get(Upload, upload.id), actor=load_user(ws, principal),
                                      reason=_no_nul(reason))
        ws.commit()
    return Response(status_code=204)


def _restorer(s, principal, project) -> None:
    tenancy.require(tenancy.owner_roles(s, principal.user_id, project), "restore",
                    "restoring what was deleted")


def _any_trial(trial_id: str, principal: PrincipalDep, s: ReadSession) -> TrialRecord:
    """The trial, deleted or not, that the caller may see (404 otherwise) — a dependency, so that another
    tenant gets its 404 before the body is read."""
    return tenancy.get_trial(s, principal.user_id, trial_id, include_deleted=True)


def _any_upload(upload_id: str, principal: PrincipalDep, s: ReadSession) -> Upload:
    """The uploaded file, deleted or not, that the caller may see (404 otherwise; see :func:`_any_trial`)."""
    return tenancy.get_upload(s, principal.user_id, upload_id, include_deleted=True)


@router.post("/trials/{trial_id}/restore", response_model=schemas.TrialOut, responses=ERRORS)
def restore_trial(trial: Annotated[TrialRecord, Depends(_any_trial)], body: schemas.ReasonIn,
                  principal: PrincipalDep, s: ReadSession, db: DbDep):
    """Restore a deleted trial (admins of the owning organisation; a reason is required)."""
    _restorer(s, principal, trial.project)
    with db.session(write=True) as ws:
        rec = ws.get(TrialRecord, trial.id)
        store_deletions.restore_trial(ws, rec, actor=load_user(ws, principal), reason=body.reason)
        ws.commit()
        return convert.trial_out(rec)


@router.post("/uploads/{upload_id}/restore", response_model=schemas.UploadOut, responses=ERRORS)
def restore_upload(upload: Annotated[Upload, Depends(_any_upload)], body: schemas.ReasonIn,
                   principal: PrincipalDep, s: ReadSession, db: DbDep):
    """Restore a deleted file and the trial deleted with it (admins of the owning organisation; a reason
    is required)."""
    _restorer(s, principal, upload.project)
    with db.session(write=True) as ws:
        up = ws.get(Upload, upload.id)
        store_deletions.restore_upload(ws, up, actor=load_user(ws, principal), reason=body.reason)
        ws.commit()
        return convert.upload_out(ws, up)


def _store_result(db, principal, trial: TrialRecord, kind: str, inputs: dict, data: dict, notes: str):
    with db.session(write=True) as ws:
        rec = ws.get(TrialRecord, trial.id)
        if rec.revision != trial.revision:
            raise InputError("the trial was changed while this was computed; try again")
        rv = create_result(ws, rec, actor=load_user(ws, principal), kind=kind, inputs=inputs, data=data,
                           notes=notes)
        ws.commit()
        return convert.result_out(ws, [rv])


@router.post("/trials/{trial_id}/fit", response_model=schemas.ResultOut, status_code=201, responses=ERRORS)
def fit_trial(trial: TrialDep, principal: PrincipalDep, s: ReadSession, db: DbDep, compute: ScienceDep,
              body: Annotated[schemas.FitIn | None, Body()] = None):
    """Fit every fouling model to the trial and store the ranking as a new result (kind ``fit``)."""
    tenancy.require(tenancy.project_roles(s, principal.user_id, trial.project), "write", "fitting a trial")
    data = compute.run(science.fit, store_uploads.trial_from_record(trial), affinity=science.affinity(trial))
    return _store_result(db, principal, trial, "fit", {}, data, (body or schemas.FitIn()).notes)


@router.post("/trials/{trial_id}/size", response_model=schemas.ResultOut, status_code=201, responses=ERRORS)
def size_trial(body: schemas.SizeRequestIn, trial: TrialDep, principal: PrincipalDep, s: ReadSession,
               db: DbDep, compute: ScienceDep):
    """Size a filter for a batch from the trial's best (or named) model; stored as a result (``sizing``)."""
    tenancy.require(tenancy.project_roles(s, principal.user_id, trial.project), "write", "sizing a filter")
    t = store_uploads.trial_from_record(trial)
    inputs = science.complete_inputs(t, schemas.SizeIn(**body.model_dump(exclude={"notes"})).model_dump())
    data = compute.run(science.size, t, inputs, affinity=science.affinity(trial))
    return _store_result(db, principal, trial, "sizing", inputs, data, body.notes)
