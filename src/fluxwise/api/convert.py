"""From store rows to response models (one place, so every endpoint shows an object the same way)."""

from __future__ import annotations

import json
from datetime import UTC

from sqlalchemy.orm import Session

from ..store import invitations as store_invitations
from ..store import projects as store_projects
from ..store import results as store_results
from ..store import tenancy
from ..store.canonical import loads
from ..store.models import (
    ApiToken,
    AuditEntry,
    Invitation,
    Organisation,
    Project,
    ResultVersion,
    Signature,
    TrialRecord,
    Upload,
    User,
)
from ..store.record_checks import check_signature, record_problems
from ..store.trust import trust_of
from . import schemas


def invitation_out(session: Session, inv: Invitation, *, inviter: bool) -> schemas.InvitationOut:
    """An invitation as the inviting side (``inviter``) or the invited side sees it."""
    status = store_invitations.inviter_status(inv) if inviter else store_invitations.invitee_status(inv)
    project = None if inv.project is None else schemas.OrgRef(id=inv.project.public_id, name=inv.project.name)
    return schemas.InvitationOut(
        id=inv.public_id, kind=inv.kind, status=status,
        org=schemas.OrgRef(id=inv.organisation.public_id, name=inv.organisation.name), email=inv.email,
        role=inv.role, project=project, to_org_id=inv.target_org_public_id, created_at=inv.created_at,
        expires_at=inv.expires_at, created_by=_name(session, inv.created_by_id))


def invitation_sent_out(inv: Invitation) -> schemas.InvitationSentOut:
    """The answer to making ``inv``: nothing in it depends on who or what it names, except its id."""
    who = "whoever signs in with that e-mail" if inv.kind == "member" else "an admin of that organisation"
    return schemas.InvitationSentOut(
        id=inv.public_id, kind=inv.kind, role=inv.role,
        project_id=None if inv.project is None else inv.project.public_id,
        expires_in_days=store_invitations.INVITATION_LIFETIME.days,
        detail=f"invitation made: it takes effect when {who} accepts it; until then nothing is visible on "
               "either side (whether the address or organisation exists is not told)")


def user_out(user: User) -> schemas.UserOut:
    return schemas.UserOut(id=user.public_id, email=user.email, name=user.name)


def token_out(row: ApiToken, token: str | None = None) -> schemas.TokenOut:
    fields = dict(id=row.public_id, name=row.name, prefix=row.prefix, created_at=row.created_at,
                  expires_at=row.expires_at, last_used_at=row.last_used_at, revoked_at=row.revoked_at)
    return schemas.TokenCreatedOut(token=token, **fields) if token else schemas.TokenOut(**fields)


def org_out(org: Organisation, role: str) -> schemas.OrgOut:
    return schemas.OrgOut(id=org.public_id, name=org.name, kind=org.kind, role=role,
                          created_at=org.created_at, default_language=org.default_language)


def project_out(session: Session, project: Project, user_id: int) -> schemas.ProjectOut:
    owner = tenancy.owner_roles(session, user_id, project)
    roles = tenancy.project_roles(session, user_id, project)
    shared = store_projects.shared_with(session, project) if owner else []
    return schemas.ProjectOut(
        id=project.public_id, name=project.name, description=project.description,
        org=schemas.OrgRef(id=project.organisation.public_id, name=project.organisation.name),
        access="owner" if owner else "shared", roles=sorted(roles),
        shared_with=[schemas.OrgRef(id=o.public_id, name=o.name) for o in shared],
        created_at=project.created_at)


def _name(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return None if user is None else user.name


def shown_filename(upload: Upload) -> str:
    """The name the user gave the file (Unicode), or the stored name when they are the same."""
    return upload.original_filename or upload.filename


def report_stem(rv: ResultVersion) -> str:
    """The start of a report's file name: the trial file's (train file's, supply plan's) name without
    extension."""
    if rv.kind in ("train", "supply"):
        name = json.loads(rv.inputs_json)["train" if rv.kind == "train" else "plan"]["filename"]
    else:
        name = shown_filename(rv.trial.upload)
    return name.rsplit(".", 1)[0] or rv.kind


def upload_out(session: Session, upload: Upload) -> schemas.UploadOut:
    return schemas.UploadOut(id=upload.public_id, project_id=upload.project.public_id,
                             filename=upload.filename, original_filename=shown_filename(upload),
                             content_type=upload.content_type,
                             size_bytes=upload.size_bytes, sha256=upload.sha256, created_at=upload.created_at,
                             created_by=_name(session, upload.created_by_id))


def _trial_fields(rec: TrialRecord) -> dict:
    """A trial's fields from its row alone (its data, a JSON text of up to megabytes, is not read)."""
    return dict(id=rec.public_id, project_id=rec.project.public_id, upload_id=rec.upload.public_id,
                source=shown_filename(rec.upload), area_m2=rec.area_m2, mode=rec.mode,
                points=rec.points, revision=rec.revision, area=rec.area_input, mode_requested=rec.mode_input,
                density=rec.density_input, columns=loads(rec.columns_input), created_at=rec.created_at,
                updated_at=rec.updated_at)


def trial_out(rec: TrialRecord) -> schemas.TrialOut:
    return schemas.TrialOut(**_trial_fields(rec))


def trial_data_out(rec: TrialRecord) -> schemas.TrialDataOut:
    data = json.loads(rec.data_json)
    return schemas.TrialDataOut(**_trial_fields(rec), t_h=data["t_h"], v_L_per_m2=data["v_L_per_m2"],
                                pressure_bar=data.get("pressure_bar"), meta=data.get("meta") or {})


def signature_out(session: Session, sig: Signature,
                  problems: list[str] | None = None) -> schemas.SignatureOut:
    """A signature, shown as valid only once checked (``problems``: the result of
    :func:`~fluxwise.store.verify.check_signature`, computed here when not given)."""
    rv = sig.result_version
    if problems is None:
        problems = check_signature(session, sig, trust_of(session))
    return schemas.SignatureOut(id=sig.public_id, result_id=rv.result_id, version=rv.version,
                                meaning=sig.meaning, signer_id=sig.user.public_id,
                                signer_name=sig.signer_name, content_sha256=sig.content_sha256,
                                signed_at=sig.signed_at, audit_seq=sig.audit_seq, valid=not problems,
                                problems=problems)


def result_out(session: Session, versions: list[ResultVersion],
               version: int | None = None) -> schemas.ResultOut:
    """The latest version of a result (or ``version``), with its signatures (checked) and deletion state."""
    latest = versions[-1]
    rv = latest if version is None else next((v for v in versions if v.version == version), None)
    if rv is None:
        raise tenancy.NotFound(f"this result has no version {version} (latest: {latest.version})")
    signatures = store_results.signatures_of(session, rv)
    problems, by_signature = record_problems(session, rv, trust_of(session), signatures)
    return schemas.ResultOut(
        id=rv.result_id, version=rv.version, version_id=rv.public_id, kind=rv.kind,
        project_id=rv.project.public_id, trial_id=None if rv.trial is None else rv.trial.public_id,
        upload_id=rv.upload.public_id, trial_revision=rv.trial_revision,
        stale=rv.trial is not None and rv.trial_revision != rv.trial.revision, origin=rv.origin,
        inputs=loads(rv.inputs_json), data=loads(rv.data_json), notes=rv.notes,
        content_sha256=rv.content_sha256, created_at=rv.created_at,
        created_by=_name(session, rv.created_by_id), deleted=latest.deleted_at is not None,
        deleted_at=latest.deleted_at, delete_reason=latest.delete_reason,
        signatures=[signature_out(session, sig, by_signature[sig.id]) for sig in signatures],
        record_ok=not problems, record_problems=problems)


def version_summary(session: Session, rv: ResultVersion) -> schemas.ResultVersionSummary:
    return schemas.ResultVersionSummary(id=rv.result_id, version=rv.version, version_id=rv.public_id,
                                        origin=rv.origin, content_sha256=rv.content_sha256,
                                        created_at=rv.created_at, created_by=_name(session, rv.created_by_id))


def audit_out(entry: AuditEntry) -> schemas.AuditEntryOut:
    return schemas.AuditEntryOut(
        seq=entry.seq, ts=entry.ts, actor_id=entry.actor_id, actor_name=entry.actor_name, org_id=entry.org_id,
        project_id=entry.project_id, action=entry.action, object_type=entry.object_type,
        object_id=entry.object_id, old_value=loads(entry.old_value), new_value=loads(entry.new_value),
        reason=entry.reason, prev_hash=entry.prev_hash, hash=entry.hash)


def record_block(out: schemas.ResultOut) -> dict:
    """The signature block of a stored result's report (see :func:`fluxwise.report.html.render_report`):
    result id, version, content hash, each signature's signer, meaning, UTC time and validity, and what
    does not match."""
    return {"result_id": out.id, "version": out.version, "content_sha256": out.content_sha256,
            "signatures": [{"signer": sig.signer_name, "meaning": sig.meaning, "valid": sig.valid,
                            "signed_at": sig.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
                           for sig in out.signatures],
            "problems": list(out.record_problems)}
