"""Results: read, edit (a new version each time), delete (softly), report, sign."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from ...errors import InputError
from ...store import accounts, tenancy
from ...store import deletions as store_deletions
from ...store import results as store_results
from ...store import trains as store_trains
from ...store import uploads as store_uploads
from ...store.audit import require_reason
from ...store.canonical import canonical_json, loads
from ...store.models import ResultVersion, TrialRecord
from .. import convert, schemas, science
from ..deps import (
    DbDep,
    PrincipalDep,
    ReadSession,
    ResultDep,
    ScienceDep,
    client_address,
    load_user,
    signing,
)
from ..headers import content_disposition, report_response
from ..workers import Science

router = APIRouter(prefix="/results", tags=["results"])
ERRORS = schemas.error_responses(401, 403, 404, 422)
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Default: the latest version")]


def saved_train_design(s, rv: ResultVersion):
    """A saved train design designed again from its stored files (checked against their SHA-256)."""
    from .design import computed

    name, content, files, route = store_trains.train_sources(s, rv)
    return computed("train", science.design_train, name, content, files, route=route)


def saved_train_json(s, rv: ResultVersion) -> dict:
    from .design import computed

    return computed("train", science.train_json, saved_train_design(s, rv))


@router.get("/{result_id}", response_model=schemas.ResultOut, responses=ERRORS)
def get_result(versions: ResultDep, s: ReadSession, version: Version = None):
    return convert.result_out(s, versions, version)


@router.get("/{result_id}/versions", response_model=list[schemas.ResultVersionSummary], responses=ERRORS)
def list_versions(versions: ResultDep, s: ReadSession):
    return [convert.version_summary(s, v) for v in versions]


@router.get("/{result_id}/versions/{version}", response_model=schemas.ResultOut, responses=ERRORS)
def get_version(versions: ResultDep, s: ReadSession, version: int):
    return convert.result_out(s, versions, version)


@router.patch("/{result_id}", response_model=schemas.ResultOut,
              responses={**ERRORS, **schemas.error_responses(409)})
def edit_result(body: schemas.ResultEditIn, versions: ResultDep, principal: PrincipalDep, s: ReadSession,
                db: DbDep, compute: ScienceDep):
    """Write a new version: new notes, new sizing inputs (recomputed), values typed in by hand
    (``data``, origin ``edited``) or ``recompute`` from the trial's current revision.

    Inputs and data are critical values: a ``reason`` is required when they change. Earlier versions
    are kept unchanged (``GET /api/results/{id}/versions``).
    """
    current = versions[-1]
    tenancy.require(tenancy.project_roles(s, principal.user_id, current.project), "write", "editing a result")
    if current.deleted_at is not None:
        raise InputError("this result was deleted; deleted results cannot be edited")
    _trial_not_deleted(s, current, "editing it")
    if body.data is not None and (body.inputs is not None or body.recompute):
        raise InputError("give either 'data' (typed-in values) or 'inputs'/'recompute' (computed), not both")
    if body.inputs is not None and current.kind != "sizing":
        raise InputError("only sizing results have inputs; a fit has none", field="inputs")
    inputs = data = None
    origin = "computed"
    trial = current.trial
    if current.kind == "train" and (body.inputs is not None or body.recompute):
        if body.inputs is not None:
            raise InputError("a train design has no inputs to edit: its inputs are its stored files",
                             field="inputs")
        require_reason("result", ["data"], body.reason)
        data = saved_train_json(s, current)
    elif current.kind == "supply" and (body.inputs is not None or body.recompute):
        from .supply import saved_study_rerun

        if body.inputs is not None:
            raise InputError("a supply study has no inputs to edit: its inputs are its stored files",
                             field="inputs")
        require_reason("result", ["data"], body.reason)
        data = saved_study_rerun(s, current)
    elif body.inputs is not None or body.recompute:
        inputs = (body.inputs.model_dump() if body.inputs is not None
                  else store_results.result_content(current)["inputs"])
        changed = ["data"] + (["inputs"] if body.inputs is not None else [])
        require_reason("result", changed, body.reason)  # before the (slow) computation
        t = store_uploads.trial_from_record(trial)
        if current.kind == "sizing":
            inputs = science.complete_inputs(t, inputs)
        on = science.affinity(trial)
        data = compute.run(science.fit, t, affinity=on) if current.kind == "fit" \
            else compute.run(science.size, t, inputs, affinity=on)
        if current.kind == "fit":
            inputs = None
    elif body.data is not None:
        data, origin = body.data, "edited"
    with db.session(write=True) as ws:
        cur = ws.get(ResultVersion, current.id)
        rv = store_results.new_version(ws, cur, actor=load_user(ws, principal), inputs=inputs, data=data,
                                       notes=body.notes, reason=body.reason, origin=origin,
                                       trial=None if trial is None else ws.get(TrialRecord, trial.id))
        ws.commit()
        return convert.result_out(ws, tenancy.get_result_versions(ws, principal.user_id, rv.result_id))


@router.delete("/{result_id}", status_code=204, responses=ERRORS)
def delete_result(versions: ResultDep, principal: PrincipalDep, s: ReadSession, db: DbDep,
                  reason: Annotated[str, Query(min_length=1, max_length=2000, description="Why (required)")]):
    """Soft-delete: the result stays in the store, marked deleted with who, when and why."""
    current = versions[-1]
    roles = tenancy.project_roles(s, principal.user_id, current.project)
    tenancy.require(roles, "write", "deleting a result")
    if "\x00" in reason:
        raise InputError("must not contain NUL characters", field="reason")
    with db.session(write=True) as ws:
        store_results.delete_result(ws, ws.get(ResultVersion, current.id), actor=load_user(ws, principal),
                                    reason=reason)
        ws.commit()
    return Response(status_code=204)


@router.post("/{result_id}/restore", response_model=schemas.ResultOut, responses=ERRORS)
def restore_result(body: schemas.ReasonIn, versions: ResultDep, principal: PrincipalDep, s: ReadSession,
                   db: DbDep):
    """Restore a deleted result (admins of the owning organisation; a reason is required): it is listed,
    reported and signable again; its deletion and this restoration stay in the audit trail."""
    current = versions[-1]
    tenancy.require(tenancy.owner_roles(s, principal.user_id, current.project), "restore",
                    "restoring what was deleted")
    with db.session(write=True) as ws:
        store_deletions.restore_result(ws, ws.get(ResultVersion, current.id), actor=load_user(ws, principal),
                                       reason=body.reason)
        ws.commit()
        return convert.result_out(ws, tenancy.get_result_versions(ws, principal.user_id, current.result_id))


def _trial_not_deleted(s, rv: ResultVersion, what: str) -> None:
    if rv.trial is not None and store_deletions.active_deletion(s, "trial", rv.trial.public_id) is not None:
        raise InputError(f"the trial of this result was deleted; {what} needs the trial restored first")


def record_report_html(s, versions: list[ResultVersion], version: int | None = None,
                       compute: Science | None = None) -> tuple[str, ResultVersion]:
    """The HTML report of a stored result version, with its signature block (and a red banner when the
    record does not match what was stored or signed). It shows the stored numbers: a version whose
    numbers cannot be reproduced from its trial (or train files) is a :class:`~.store_results.Conflict`."""
    out = convert.result_out(s, versions, version)
    rv = next(v for v in versions if v.version == out.version)
    record = convert.record_block(out)
    if rv.origin == "edited":
        raise store_results.Conflict("this version holds values typed in by hand; a report computed again "
                                     "would not show them")
    if rv.kind == "supply":  # the stored study as it was signed (a Monte Carlo is not run again to show it)
        from ...report.supply import render_supply_report

        return render_supply_report(loads(rv.data_json), record=record), rv
    if rv.kind == "train":
        design = saved_train_design(s, rv)
        if loads(canonical_json(science.train_json(design))) != loads(rv.data_json):
            raise store_results.Conflict("designed again from its stored files, this train gives other "
                                         "numbers than this version holds; recompute it (PATCH with "
                                         "recompute: true) and report the new version")
        return science.train_report(design, record), rv
    if out.stale:
        raise store_results.Conflict("the trial was changed after this version was computed; recompute the "
                                     "result (PATCH with recompute: true) and report the new version")
    inputs = out.inputs if rv.kind == "sizing" else None
    key = _report_key(rv, inputs, record)
    cached = _reports.get(key)
    if cached is not None:
        return _generated_now(cached), rv
    html = (compute or Science()).run(science.record_report, store_uploads.trial_from_record(rv.trial),
                                      rv.kind, inputs, loads(rv.data_json), record,
                                      affinity=science.affinity(rv.trial))
    _reports.put(key, html)
    return html, rv


def _report_key(rv: ResultVersion, inputs, record: dict) -> tuple:
    """What a fit's or sizing's report depends on: the version and its stored numbers, the trial's data and
    revision, the inputs, the record block (signatures, problems) it shows, and the language it is
    written in."""
    import hashlib
    import json

    from ... import i18n

    trial = rv.trial
    return (i18n.current(), rv.id, rv.result_id, rv.version, rv.content_sha256, rv.trial_revision, trial.id,
            trial.revision,
            hashlib.blake2b(trial.data_json.encode(), digest_size=16).hexdigest(),
            hashlib.blake2b(rv.data_json.encode(), digest_size=16).hexdigest(),
            json.dumps(inputs, sort_keys=True, default=str), json.dumps(record, sort_keys=True, default=str))


_GENERATED = None


def _generated_now(html: str) -> str:
    """A cached report with the time it says it was generated set to now (the line under its title)."""
    import datetime as dt
    import re

    global _GENERATED
    if _GENERATED is None:
        _GENERATED = re.compile(r"( · )\d{4}-\d\d-\d\d \d\d:\d\d UTC(</p>)")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _GENERATED.sub(lambda m: m.group(1) + now + m.group(2), html, count=1)


class _ReportCache:
    """The last few reports of stored fits and sizings (a report is computed again from its trial, which
    costs a fit; the same version with the same record gives the same report). Thread-safe."""

    def __init__(self, size: int = 16):
        import threading
        from collections import OrderedDict

        self._items: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: tuple) -> str | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: tuple, html: str) -> None:
        with self._lock:
            self._items[key] = html
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_reports = _ReportCache()


ReportFormat = Annotated[Literal["html", "pdf"], Query(
    description="html (self-contained) or pdf (printed from the same HTML, the record on every page)")]


def report_filename(rv: ResultVersion, suffix: str) -> str:
    """``<trial or train file stem>-<kind>-v<version>.<suffix>`` (the name the upload was given)."""
    return f"{convert.report_stem(rv)}-{rv.kind}-v{rv.version}.{suffix}"


def record_report_pdf(s, versions: list[ResultVersion], version: int | None = None,
                      compute: Science | None = None) -> tuple[bytes, ResultVersion]:
    """The PDF of :func:`record_report_html`: the same HTML printed, the record in every page header."""
    from ...report.pdf import html_to_pdf

    html, rv = record_report_html(s, versions, version, compute)
    record = convert.record_block(convert.result_out(s, versions, rv.version))
    title = f"{rv.kind} report — {report_filename(rv, 'pdf').rsplit('-', 2)[0]}"
    return html_to_pdf(html, title=title, record=record), rv


@router.get("/{result_id}/report", response_class=HTMLResponse, responses={
    **ERRORS, 409: {"model": schemas.ErrorOut}, 503: {"model": schemas.ErrorOut},
    200: {"description": "Self-contained HTML report, or its PDF",
          "content": {"text/html": {}, "application/pdf": {}}}})
def get_report(versions: ResultDep, s: ReadSession, compute: ScienceDep, version: Version = None,
               format: ReportFormat = "html",
               download: Annotated[bool, Query(description="As an attachment (else shown inline)")] = False):
    """The report of a result version: computed again from its trial and inputs (a train design from
    its stored files) and given only while that reproduces the numbers the version holds (409 otherwise),
    with a signature block — result id, version, content hash, and each signature's signer, meaning and
    UTC time — so a printed report can be traced back to the record.

    HTML is served sandboxed (``Content-Security-Policy: sandbox allow-scripts; frame-ancestors 'self'``)
    and, with ``download=true``, as an attachment named after the trial file, the kind and the version.
    ``format=pdf``: the same HTML printed by headless Chromium, that record in the header of every page,
    always an attachment (503 when no PDF engine is installed).
    """
    if format == "pdf":
        pdf, rv = record_report_pdf(s, versions, version, compute)
        return Response(pdf, media_type="application/pdf", headers={
            "X-Result-Version": str(rv.version), "X-Content-SHA256": rv.content_sha256,
            "Content-Disposition": content_disposition(report_filename(rv, "pdf")),
            "Cache-Control": "private, no-store"})
    html, rv = record_report_html(s, versions, version, compute)
    return report_response(html, filename=f"{convert.report_stem(rv)}-{rv.kind}-v{rv.version}.html",
                           download=download, headers={"X-Result-Version": str(rv.version),
                                                       "X-Content-SHA256": rv.content_sha256})


@router.get("/{result_id}/signatures", response_model=list[schemas.SignatureOut], responses=ERRORS)
def list_signatures(versions: ResultDep, s: ReadSession):
    """Signatures of every version of the result, oldest first."""
    return [convert.signature_out(s, sig) for v in versions for sig in store_results.signatures_of(s, v)]


@router.post("/{result_id}/signatures", response_model=schemas.SignatureOut, status_code=201,
             responses={**ERRORS, 429: {"model": schemas.ErrorOut}})
def sign_result(body: schemas.SignIn, versions: ResultDep, principal: PrincipalDep, s: ReadSession,
                db: DbDep, request: Request):
    """Sign a version electronically: re-enter your password and state the meaning (author, review,
    approve). The first signature of a browser session, and every one made with an API token, also
    needs your user ID (``email``). The signature binds your name, the time and the content hash of
    that version, and is written to the audit trail; a wrong ID or password is audited too.
    """
    rv = versions[-1] if body.version is None else next(
        (v for v in versions if v.version == body.version), None)
    if rv is None:
        raise tenancy.NotFound(f"this result has no version {body.version}")
    tenancy.require(tenancy.project_roles(s, principal.user_id, rv.project), f"sign:{body.meaning}",
                    f"signing as {body.meaning}")
    if versions[-1].deleted_at is not None:
        raise InputError("this result was deleted; deleted results cannot be signed")
    _trial_not_deleted(s, rv, "signing it")
    with db.session(write=True) as ws:
        signer, client = load_user(ws, principal), client_address(request)
        with signing(ws, principal, "the signature"):
            accounts.check_signer_id(ws, signer, email=body.email, password=body.password, client=client,
                                     first_in_session=principal.first_signing)
            sig = store_results.sign_result(ws, ws.get(ResultVersion, rv.id), signer=signer,
                                            password=body.password, meaning=body.meaning, client=client)
        ws.commit()
        return convert.signature_out(ws, sig)
