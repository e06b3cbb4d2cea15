"""Results of fits, sizings and saved train designs: versioned, soft-deleted, signed.

A result is a chain of version rows sharing one ``result_id``. Creating it writes version 1; every
edit writes version n+1 beside the old rows, which stay as they were (the database refuses to update
or delete them). Deletion is soft: a :class:`~.models.ResultDeletion` row records who, when and why.
Each version has a content hash (SHA-256 of the canonical JSON of :func:`result_content`), recorded
in its audit entry — the thing an electronic signature binds to. A signature also carries a keyed MAC
over the canonical JSON of :func:`signature_payload`, so it cannot be pointed at another version or
altered without the audit key.

A train design (kind ``train``) has no trial: it comes from its uploaded train file (``upload_id``)
and the files that names, listed with their SHA-256 in its inputs, so a signature binds every byte.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import FluxwiseError, InputError
from . import accounts, audit
from .canonical import canonical_json, sha256_hex
from .keyring import SIGNATURE, AuditKey
from .models import (
    RESULT_KINDS,
    SIGNATURE_MEANINGS,
    Project,
    ResultDeletion,
    ResultVersion,
    Signature,
    TrialRecord,
    Upload,
    User,
    new_public_id,
)
from .tenancy import Forbidden
from .trust import trust_of

MAX_NOTES_CHARS = 20_000
#: The version of the fields :func:`signature_payload` covers.
SIGNATURE_SCHEMA = 1


class Conflict(FluxwiseError):
    """The request does not fit the result's current state (HTTP 409)."""


class SignatureRefused(FluxwiseError):
    """A signature was not recorded because the password was wrong (HTTP 403)."""


def result_content(rv: ResultVersion) -> dict[str, Any]:
    """What a version says, as hashed and signed: ids, trial and file it came from, inputs, data, notes."""
    return {
        "result_id": rv.result_id,
        "version": rv.version,
        "kind": rv.kind,
        "trial_id": None if rv.trial is None else rv.trial.public_id,
        "trial_revision": rv.trial_revision,
        "upload_sha256": rv.upload.sha256,
        "inputs": json.loads(rv.inputs_json),
        "data": json.loads(rv.data_json),
        "origin": rv.origin,
        "notes": rv.notes,
    }


def content_sha256(rv: ResultVersion) -> str:
    return sha256_hex(canonical_json(result_content(rv)))


def _ts_text(ts) -> str:
    from .checkpoints import utc_text

    return utc_text(ts)


def signature_payload(sig: Signature, rv: ResultVersion, signer_public_id: str) -> dict[str, Any]:
    """What a signature's MAC covers: who signed (id and printed name), what it means, when (UTC), and
    which version with which content hash, at which audit seq."""
    return {"schema": SIGNATURE_SCHEMA, "signature_id": sig.public_id, "signer_id": signer_public_id,
            "printed_name": sig.signer_name, "meaning": sig.meaning, "utc_time": _ts_text(sig.signed_at),
            "result_id": rv.result_id, "version": rv.version, "content_hash": sig.content_sha256,
            "audit_seq": sig.audit_seq}


def signature_mac(sig: Signature, key: AuditKey) -> str:
    """HMAC(K_signature, canonical JSON of :func:`signature_payload`) of a stored signature, recomputed
    from its joined rows (the version it points at, the signer's public id)."""
    return key.mac(SIGNATURE, canonical_json(signature_payload(sig, sig.result_version, sig.user.public_id)))


def _audit_scope(rv: ResultVersion) -> dict[str, str]:
    return {"org_id": rv.project.organisation.public_id, "project_id": rv.project.public_id}


def _check_notes(notes: str | None) -> str:
    notes = notes or ""
    if len(notes) > MAX_NOTES_CHARS:
        raise InputError(f"notes are {len(notes)} characters long; at most {MAX_NOTES_CHARS}", field="notes")
    return notes


def create_result(session: Session, trial: TrialRecord, *, actor: User | None, kind: str,
                  inputs: dict[str, Any], data: dict[str, Any], notes: str = "") -> ResultVersion:
    """Version 1 of a new result computed from ``trial``."""
    if kind not in RESULT_KINDS:
        raise ValueError(f"result kind must be one of {RESULT_KINDS}, not {kind!r}")
    rv = ResultVersion(result_id=new_public_id(), version=1, kind=kind, project_id=trial.project_id,
                       trial_id=trial.id, upload_id=trial.upload_id, trial_revision=trial.revision,
                       inputs_json=canonical_json(inputs), data_json=canonical_json(data), origin="computed",
                       notes=_check_notes(notes), created_by_id=None if actor is None else actor.id)
    rv.trial, rv.upload, rv.project = trial, trial.upload, trial.project
    rv.content_sha256 = content_sha256(rv)
    session.add(rv)
    session.flush()
    audit.append(session, actor=actor, action="create", object_type="result", object_id=rv.result_id,
                 **_audit_scope(rv), new={**result_content(rv), "content_sha256": rv.content_sha256})
    return rv


def create_train_result(session: Session, project: Project, train_upload: Upload, *, actor: User | None,
                        inputs: dict[str, Any], data: dict[str, Any], notes: str = "") -> ResultVersion:
    """Version 1 of a saved train design: ``train_upload`` is its train file (stored already, like the
    files named in ``inputs``), ``data`` the JSON of ``fluxwise design --json``."""
    return create_file_result(session, project, train_upload, kind="train", actor=actor, inputs=inputs,
                              data=data, notes=notes)


def create_file_result(session: Session, project: Project, upload: Upload, *, kind: str, actor: User | None,
                       inputs: dict[str, Any], data: dict[str, Any], notes: str = "") -> ResultVersion:
    """Version 1 of a result that comes from uploaded files, not from a trial (kind ``train`` or
    ``supply``): ``upload`` is its main file (stored already, like the files named in ``inputs``)."""
    if kind not in ("train", "supply"):
        raise ValueError(f"a {kind} result comes from a trial")
    if upload.project_id != project.id:
        raise ValueError("the file belongs to another project")
    train_upload = upload
    rv = ResultVersion(result_id=new_public_id(), version=1, kind=kind, project_id=project.id,
                       trial_id=None, upload_id=train_upload.id, trial_revision=None,
                       inputs_json=canonical_json(inputs), data_json=canonical_json(data), origin="computed",
                       notes=_check_notes(notes), created_by_id=None if actor is None else actor.id)
    rv.trial, rv.upload, rv.project = None, train_upload, project
    rv.content_sha256 = content_sha256(rv)
    session.add(rv)
    session.flush()
    audit.append(session, actor=actor, action="create", object_type="result", object_id=rv.result_id,
                 **_audit_scope(rv), new={**result_content(rv), "content_sha256": rv.content_sha256})
    return rv


def new_version(session: Session, current: ResultVersion, *, actor: User | None,
                inputs: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
                notes: str | None = None, reason: str | None = None,
                trial: TrialRecord | None = None, origin: str = "computed") -> ResultVersion:
    """Version n+1 of a result with the given fields replaced; the old version stays untouched.

    ``inputs`` and ``data`` are critical values (a reason is required when they change); ``trial``
    is passed when the data were recomputed from the trial's current revision. ``origin`` says
    whether new ``data`` were computed or typed in (``edited``); without new data it is inherited.
    """
    if current.deleted_at is not None:
        raise InputError("this result was deleted; deleted results cannot be edited")
    new_inputs = current.inputs_json if inputs is None else canonical_json(inputs)
    new_data = current.data_json if data is None else canonical_json(data)
    new_notes = current.notes if notes is None else _check_notes(notes)
    changed = [name for name, new, old in (("inputs", new_inputs, current.inputs_json),
                                            ("data", new_data, current.data_json),
                                            ("notes", new_notes, current.notes)) if new != old]
    reason = audit.require_reason("result", changed, reason)
    trial = trial or current.trial
    if trial is None:  # a train design or a supply study: its files stay those it was saved with
        if not changed:
            return current
        trial_id, upload, trial_revision = None, current.upload, None
    else:
        if not changed and trial.revision == current.trial_revision:
            return current
        trial_id, upload, trial_revision = trial.id, trial.upload, trial.revision
    rv = ResultVersion(result_id=current.result_id, version=current.version + 1, kind=current.kind,
                       project_id=current.project_id, trial_id=trial_id, upload_id=upload.id,
                       trial_revision=trial_revision, inputs_json=new_inputs, data_json=new_data,
                       notes=new_notes, supersedes_id=current.id,
                       origin=current.origin if data is None else origin,
                       created_by_id=None if actor is None else actor.id)
    rv.trial, rv.upload, rv.project = trial, upload, current.project
    rv.content_sha256 = content_sha256(rv)
    session.add(rv)
    session.flush()
    old_c, new_c = result_content(current), result_content(rv)
    keys = [k for k in ("inputs", "data", "origin", "notes", "trial_revision") if old_c[k] != new_c[k]]
    audit.append(session, actor=actor, action="update", object_type="result", object_id=rv.result_id,
                 **_audit_scope(rv), old={"version": current.version, **{k: old_c[k] for k in keys},
                                          "content_sha256": current.content_sha256},
                 new={"version": rv.version, **{k: new_c[k] for k in keys},
                      "content_sha256": rv.content_sha256},
                 reason=reason)
    return rv


def delete_result(session: Session, current: ResultVersion, *, actor: User | None,
                  reason: str | None) -> ResultDeletion:
    """Soft-delete a result: record who, when and why (a reason is required) in a row of its own."""
    reason = audit.require_reason("result", [], reason, deleting=True)
    if current.deleted_at is not None:
        raise InputError("this result was deleted already")
    entry = audit.append(session, actor=actor, action="delete", object_type="result",
                         object_id=current.result_id, **_audit_scope(current),
                         old={"version": current.version, "content_sha256": current.content_sha256},
                         reason=reason)
    deletion = ResultDeletion(result_id=current.result_id, version=current.version, deleted_at=entry.ts,
                              deleted_by_id=None if actor is None else actor.id, reason=reason)
    session.add(deletion)
    session.flush()
    session.expire(current, ["deletions"])
    return deletion


def signatures_of(session: Session, rv: ResultVersion) -> list[Signature]:
    return list(session.scalars(select(Signature).where(Signature.result_version_id == rv.id)
                                .order_by(Signature.signed_at, Signature.id)))


def sign_result(session: Session, rv: ResultVersion, *, signer: User, password: str, meaning: str,
                client: str = "") -> Signature:
    """Electronically sign one result version after re-checking the signer's password.

    ``meaning`` is ``author``, ``review`` or ``approve`` (21 CFR 11.50: printed name, date and time,
    meaning). The signature records the content hash of the version and is written to the audit trail.
    Someone who signed a version as its author cannot also review or approve it. Wrong passwords count
    towards the login rate limit (commit the session after :class:`~.accounts.AuthenticationError`).
    """
    if meaning not in SIGNATURE_MEANINGS:
        raise InputError(f"meaning must be one of {', '.join(SIGNATURE_MEANINGS)}, not '{meaning}'",
                         field="meaning")
    if rv.deleted_at is not None:
        raise InputError("this result was deleted; deleted results cannot be signed")
    accounts.check_password(session, signer.email, password, client, purpose="signature", actor=signer)
    if content_sha256(rv) != rv.content_sha256:
        raise InputError("the stored content of this result no longer matches its hash; it cannot be signed")
    previous = signatures_of(session, rv)
    if any(s.user_id == signer.id and s.meaning == meaning for s in previous):
        raise InputError(f"you signed version {rv.version} as {meaning} already")
    if meaning != "author" and any(s.user_id == signer.id and s.meaning == "author" for s in previous):
        raise Forbidden(f"you signed version {rv.version} as its author; someone else must {meaning} it")
    signature_id = new_public_id()
    entry = audit.append(session, actor=signer, action="sign", object_type="result", object_id=rv.result_id,
                         **_audit_scope(rv),
                         new={"version": rv.version, "meaning": meaning, "signer": signer.name,
                              "signer_email": signer.email, "signer_id": signer.public_id,
                              "signature_id": signature_id, "content_sha256": rv.content_sha256})
    sig = Signature(public_id=signature_id, result_version_id=rv.id, user_id=signer.id,
                    signer_name=signer.name, meaning=meaning, content_sha256=rv.content_sha256,
                    signed_at=entry.ts, audit_seq=entry.seq)
    sig.result_version, sig.user = rv, signer
    key = trust_of(session).keyring.get(entry.key_id)
    sig.key_id, sig.mac = key.key_id, signature_mac(sig, key)
    session.add(sig)
    session.flush()
    return sig
