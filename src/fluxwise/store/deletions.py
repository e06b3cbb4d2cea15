"""Soft deletion of uploads, trials and results, and their restoration by an admin: rows of their own.

Nothing is removed or updated. Deleting an upload or a trial adds a :class:`~.models.Deletion` row
(a result: a :class:`~.models.ResultDeletion`, see :func:`fluxwise.store.results.delete_result`);
restoring adds a :class:`~.models.Restoration`. An object is deleted while it has more deletions than
restorations. Each deletion and restoration is written to the audit trail with its reason (required),
in the same transaction: a deletion as action ``delete`` with the object's old state, a restoration as
action ``update`` from ``{"deleted": true, ...}`` to ``{"deleted": false, ...}``.

What goes with what: deleting an upload deletes the trial read from it (``caused_by_id``), and
restoring the upload restores that trial again; a trial cannot be restored while its file is deleted,
nor a result while its trial is. Results of a deleted trial are hidden with it; a train file cannot be
deleted while a saved train design uses it (delete the design instead).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from ..errors import InputError
from ..i18n import _
from . import audit
from .models import (
    Deletion,
    Project,
    Restoration,
    ResultDeletion,
    ResultVersion,
    TrialRecord,
    Upload,
    User,
)
from .uploads import project_trials, trial_sha256


def _counts(session: Session, model, type_column, id_column, object_type: str | None,
            ids: Iterable[str] | None) -> Counter:
    stmt = select(id_column, func.count()).group_by(id_column)
    if type_column is not None:
        stmt = stmt.where(type_column == object_type)
    if ids is not None:
        stmt = stmt.where(id_column.in_(list(ids)))
    return Counter(dict(session.execute(stmt).all()))


def deleted_ids(session: Session, object_type: str, ids: Iterable[str] | None = None) -> set[str]:
    """The public ids (a result's ``result_id``) among ``ids`` (all when None) of the objects of
    ``object_type`` (``upload``, ``trial`` or ``result``) that are deleted now."""
    ids = None if ids is None else list(ids)
    if object_type == "result":
        deleted = _counts(session, ResultDeletion, None, ResultDeletion.result_id, None, ids)
    else:
        deleted = _counts(session, Deletion, Deletion.object_type, Deletion.object_id, object_type, ids)
    restored = _counts(session, Restoration, Restoration.object_type, Restoration.object_id, object_type,
                       ids)
    return {oid for oid, n in deleted.items() if n > restored.get(oid, 0)}


def active_deletion(session: Session, object_type: str, object_id: str) -> Deletion | None:
    """The deletion that holds an upload or trial deleted now, or None."""
    if object_id not in deleted_ids(session, object_type, [object_id]):
        return None
    return session.scalars(select(Deletion).where(Deletion.object_type == object_type,
                                                  Deletion.object_id == object_id)
                           .order_by(Deletion.id.desc()).limit(1)).first()


def _scope(project: Project) -> dict[str, str]:
    return {"org_id": project.organisation.public_id, "project_id": project.public_id}


def _deletion_text(d: Deletion | ResultDeletion) -> dict:
    from .checkpoints import utc_text

    return {"deleted": True, "deleted_at": utc_text(d.deleted_at), "delete_reason": d.reason}


def _trial_state(rec: TrialRecord) -> dict:
    return {"upload": rec.upload.public_id, "revision": rec.revision, "content_sha256": trial_sha256(rec)}


def _delete(session: Session, object_type: str, object_id: str, project: Project, *, actor: User | None,
            reason: str, old: dict, caused_by: Deletion | None = None) -> Deletion:
    entry = audit.append(session, actor=actor, action="delete", object_type=object_type, object_id=object_id,
                         **_scope(project), old=old, reason=reason)
    deletion = Deletion(object_type=object_type, object_id=object_id, deleted_at=entry.ts, reason=reason,
                        deleted_by_id=None if actor is None else actor.id,
                        caused_by_id=None if caused_by is None else caused_by.id)
    session.add(deletion)
    session.flush()
    return deletion


def delete_trial(session: Session, rec: TrialRecord, *, actor: User | None,
                 reason: str | None) -> Deletion:
    """Soft-delete a trial (a reason is required); its results are hidden with it."""
    reason = audit.require_reason("trial", [], reason, deleting=True)
    if active_deletion(session, "trial", rec.public_id) is not None:
        raise InputError(_("this trial was deleted already"))
    return _delete(session, "trial", rec.public_id, rec.project, actor=actor, reason=reason,
                   old=_trial_state(rec))


def _train_users(session: Session, upload: Upload) -> list[str]:
    """Result ids of the saved train designs (not deleted) that use ``upload`` as a file."""
    rows = session.scalars(select(ResultVersion).where(ResultVersion.project_id == upload.project_id,
                                                       ResultVersion.kind == "train"))
    users = {rv.result_id for rv in rows if upload.public_id in rv.inputs_json
             and any(ref.get("upload_id") == upload.public_id for ref in _file_refs(rv))}
    return sorted(users - deleted_ids(session, "result", users))


def _file_refs(rv: ResultVersion) -> list[dict]:
    inputs = json.loads(rv.inputs_json)
    return [inputs.get("train") or {}, *(inputs.get("files") or [])]


def delete_upload(session: Session, upload: Upload, *, actor: User | None, reason: str | None) -> Deletion:
    """Soft-delete an uploaded file and the trial read from it (a reason is required)."""
    reason = audit.require_reason("upload", [], reason, deleting=True)
    if active_deletion(session, "upload", upload.public_id) is not None:
        raise InputError(_("this file was deleted already"))
    users = _train_users(session, upload)
    if users:
        raise InputError(_("'%(file)s' is a file of a saved train design (%(designs)s); delete the design "
                           "instead", file=upload.filename, designs=", ".join(users)))
    deletion = _delete(session, "upload", upload.public_id, upload.project, actor=actor, reason=reason,
                       old={"filename": upload.filename, "sha256": upload.sha256})
    trials = session.scalars(select(TrialRecord).where(TrialRecord.upload_id == upload.id)
                             .order_by(TrialRecord.id)).all()
    for rec in trials:
        if active_deletion(session, "trial", rec.public_id) is None:
            _delete(session, "trial", rec.public_id, rec.project, actor=actor, reason=reason,
                    old={**_trial_state(rec), "with_upload": upload.public_id}, caused_by=deletion)
    return deletion


def _restore(session: Session, object_type: str, object_id: str, project: Project, *, actor: User | None,
             reason: str, old: dict, new: dict) -> Restoration:
    entry = audit.append(session, actor=actor, action="update", object_type=object_type, object_id=object_id,
                         **_scope(project), old=old, new={"deleted": False, "restored": True, **new},
                         reason=reason)
    row = Restoration(object_type=object_type, object_id=object_id, restored_at=entry.ts, reason=reason,
                      restored_by_id=None if actor is None else actor.id)
    session.add(row)
    session.flush()
    return row


def _restore_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise audit.ReasonRequiredError(_("a reason is required to restore what was deleted; it is kept in "
                                          "the audit trail"), field="reason")
    return audit.require_reason("restore", [], reason)


def restore_trial(session: Session, rec: TrialRecord, *, actor: User | None,
                  reason: str | None) -> Restoration:
    """Restore a deleted trial (admins; a reason is required). Its file must not be deleted."""
    reason = _restore_reason(reason)
    deletion = active_deletion(session, "trial", rec.public_id)
    if deletion is None:
        raise InputError(_("this trial is not deleted"))
    if active_deletion(session, "upload", rec.upload.public_id) is not None:
        raise InputError(_("the file '%(file)s' of this trial is deleted: restore the file, which restores "
                           "the trial with it", file=rec.upload.filename))
    return _restore(session, "trial", rec.public_id, rec.project, actor=actor, reason=reason,
                    old=_deletion_text(deletion), new=_trial_state(rec))


def restore_upload(session: Session, upload: Upload, *, actor: User | None,
                   reason: str | None) -> Restoration:
    """Restore a deleted file and the trial that was deleted with it (admins; a reason is required)."""
    reason = _restore_reason(reason)
    deletion = active_deletion(session, "upload", upload.public_id)
    if deletion is None:
        raise InputError(_("this file is not deleted"))
    row = _restore(session, "upload", upload.public_id, upload.project, actor=actor, reason=reason,
                   old=_deletion_text(deletion), new={"sha256": upload.sha256})
    trials = session.scalars(select(TrialRecord).where(TrialRecord.upload_id == upload.id)).all()
    for rec in trials:
        taken = active_deletion(session, "trial", rec.public_id)
        if taken is not None and taken.caused_by_id == deletion.id:
            _restore(session, "trial", rec.public_id, rec.project, actor=actor, reason=reason,
                     old=_deletion_text(taken), new={**_trial_state(rec), "with_upload": upload.public_id})
    return row


def restore_result(session: Session, latest: ResultVersion, *, actor: User | None,
                   reason: str | None) -> Restoration:
    """Restore a deleted result (admins; a reason is required). Its trial must not be deleted."""
    reason = _restore_reason(reason)
    deletion = latest.deletion
    if deletion is None:
        raise InputError(_("this result is not deleted"))
    if latest.trial is not None and active_deletion(session, "trial", latest.trial.public_id) is not None:
        raise InputError(_("the trial of this result is deleted: restore the trial first"))
    row = _restore(session, "result", latest.result_id, latest.project, actor=actor, reason=reason,
                   old={**_deletion_text(deletion), "version": deletion.version},
                   new={"latest_version": latest.version, "content_sha256": latest.content_sha256})
    session.expire(latest, ["restorations"])
    return row


def deleted_in_project(session: Session, project: Project) -> list[dict]:
    """What is deleted in ``project`` now, newest first: uploads, trials and results, each with who
    deleted it, when and why (for the project page and ``GET /api/projects/{id}/deleted``)."""
    users = {}

    def name(user_id):
        if user_id is None:
            return None
        if user_id not in users:
            user = session.get(User, user_id)
            users[user_id] = None if user is None else user.name
        return users[user_id]

    out = []
    uploads = {u.public_id: u for u in session.scalars(select(Upload).where(Upload.project_id == project.id))}
    trials = {t.public_id: t for t in project_trials(session, project.id)}
    for kind, objects in (("upload", uploads), ("trial", trials)):
        for oid in deleted_ids(session, kind, objects):
            d = active_deletion(session, kind, oid)
            obj = objects[oid]
            label = obj.filename if kind == "upload" else obj.upload.filename
            out.append({"type": kind, "id": oid, "label": label, "deleted_at": d.deleted_at,
                        "deleted_by": name(d.deleted_by_id), "reason": d.reason,
                        "with_upload": d.caused_by_id is not None})
    results = session.scalars(select(ResultVersion).where(ResultVersion.project_id == project.id)
                              .options(defer(ResultVersion.data_json)).order_by(ResultVersion.version)).all()
    latest = {}
    for rv in results:
        latest[rv.result_id] = rv
    for rid in deleted_ids(session, "result", latest):
        rv = latest[rid]
        d = rv.deletion
        label = (rv.trial.upload.filename if rv.trial is not None
                 else json.loads(rv.inputs_json)["train"]["filename"])
        out.append({"type": "result", "id": rid, "label": f"{rv.kind} v{rv.version} of {label}",
                    "deleted_at": d.deleted_at, "deleted_by": name(d.deleted_by_id), "reason": d.reason,
                    "with_upload": False})
    return sorted(out, key=lambda r: r["deleted_at"], reverse=True)
