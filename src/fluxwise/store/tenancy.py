"""Tenancy: which objects a user may see, and the only way to look them up.

A user sees the projects of the organisations they belong to and the projects shared into one of
those organisations; uploads, trials and results are seen through their project. Every lookup by
public id goes through a query scoped this way, and an object outside the scope is reported as
:class:`NotFound` — the same answer as for an id that does not exist, so ids of other tenants
cannot be probed. :class:`Forbidden` is only raised for objects the user can see but not change.
"""

from __future__ import annotations

import re

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ..errors import FluxwiseError
from .models import (
    ApiToken,
    AuditEntry,
    Membership,
    Organisation,
    Project,
    ProjectShare,
    ResultVersion,
    Signature,
    TrialRecord,
    Upload,
    User,
)

#: Roles allowed to do each thing in a project (through any organisation that gives access to it).
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset({"admin", "scientist", "reviewer", "trainee"}),
    "write": frozenset({"admin", "scientist", "trainee"}),  # upload, fit, size, edit, delete results
    "create_project": frozenset({"admin", "scientist"}),
    "share": frozenset({"admin"}),  # in the owning organisation
    "manage_members": frozenset({"admin"}),
    "review_audit": frozenset({"admin", "reviewer"}),  # record the periodic review of the trail
    "sign:author": frozenset({"admin", "scientist", "trainee"}),
    "sign:review": frozenset({"admin", "scientist", "reviewer"}),
    "sign:approve": frozenset({"admin", "reviewer"}),
    "restore": frozenset({"admin"}),  # what was soft-deleted, in the owning organisation
}

_PUBLIC_ID = re.compile(r"^[0-9a-f]{32}$")


class NotFound(FluxwiseError):
    """No such object among those the user may see (HTTP 404)."""


class Forbidden(FluxwiseError):
    """The user sees the object but their role does not allow this (HTTP 403)."""


def is_public_id(value: str) -> bool:
    return isinstance(value, str) and bool(_PUBLIC_ID.match(value))


def _member_org_ids(user_id: int):
    return select(Membership.org_id).where(Membership.user_id == user_id)


def visible_projects(user_id: int) -> Select:
    """SELECT of the projects ``user_id`` may see (own organisations' and shared into them)."""
    shared = select(ProjectShare.project_id).where(ProjectShare.org_id.in_(_member_org_ids(user_id)))
    return select(Project).where(or_(Project.org_id.in_(_member_org_ids(user_id)),
                                     Project.id.in_(shared)))


def visible_audit(user_id: int, user_public_id: str):
    """WHERE clause of the audit entries ``user_id`` may read: about their organisations, about the
    projects they see, their own actions, security events of their own account, and security events of
    the members of organisations they are an admin of."""
    my_orgs = select(Organisation.public_id).join(Membership, Membership.org_id == Organisation.id) \
        .where(Membership.user_id == user_id)
    admin_orgs = select(Membership.org_id).where(Membership.user_id == user_id, Membership.role == "admin")
    members = select(User.public_id).join(Membership, Membership.user_id == User.id) \
        .where(Membership.org_id.in_(admin_orgs))
    return or_(AuditEntry.org_id.in_(my_orgs),
               AuditEntry.project_id.in_(visible_projects(user_id).with_only_columns(Project.public_id)),
               AuditEntry.actor_id == user_public_id,
               (AuditEntry.object_type == "user") & (AuditEntry.object_id == user_public_id),
               (AuditEntry.object_type == "user") & AuditEntry.object_id.in_(members))


def _one(session: Session, stmt: Select, what: str):
    obj = session.scalars(stmt.limit(1)).first()
    if obj is None:
        raise NotFound(f"{what} not found")
    return obj


def get_organisation(session: Session, user_id: int, public_id: str) -> tuple[Organisation, str]:
    """An organisation ``user_id`` belongs to, and their role in it."""
    if not is_public_id(public_id):
        raise NotFound("organisation not found")
    row = session.execute(select(Organisation, Membership.role)
                          .join(Membership, Membership.org_id == Organisation.id)
                          .where(Membership.user_id == user_id, Organisation.public_id == public_id)).first()
    if row is None:
        raise NotFound("organisation not found")
    return row[0], row[1]


def get_project(session: Session, user_id: int, public_id: str) -> Project:
    if not is_public_id(public_id):
        raise NotFound("project not found")
    return _one(session, visible_projects(user_id).where(Project.public_id == public_id), "project")


def _in_visible_projects(column, user_id: int):
    return column.in_(visible_projects(user_id).with_only_columns(Project.id))


def _not_deleted(session: Session, kind: str, obj, what: str, include_deleted: bool):
    if include_deleted:
        return obj
    from .deletions import active_deletion

    deletion = active_deletion(session, kind, obj.public_id)
    if deletion is not None:
        raise NotFound(f"this {what} was deleted ({deletion.deleted_at:%Y-%m-%d %H:%M} UTC: "
                       f"{deletion.reason}); an admin of its organisation can restore it")
    return obj


def get_upload(session: Session, user_id: int, public_id: str, *, include_deleted: bool = False) -> Upload:
    """An upload the user may see; a deleted one is "not found" (saying so) unless ``include_deleted``."""
    if not is_public_id(public_id):
        raise NotFound("upload not found")
    upload = _one(session, select(Upload).where(Upload.public_id == public_id,
                                                _in_visible_projects(Upload.project_id, user_id)), "upload")
    return _not_deleted(session, "upload", upload, "file", include_deleted)


def get_trial(session: Session, user_id: int, public_id: str, *,
              include_deleted: bool = False) -> TrialRecord:
    """A trial the user may see; a deleted one is "not found" (saying so) unless ``include_deleted``."""
    if not is_public_id(public_id):
        raise NotFound("trial not found")
    rec = _one(session, select(TrialRecord).where(
        TrialRecord.public_id == public_id, _in_visible_projects(TrialRecord.project_id, user_id)), "trial")
    return _not_deleted(session, "trial", rec, "trial", include_deleted)


def get_result_versions(session: Session, user_id: int, result_id: str) -> list[ResultVersion]:
    """All versions of a result, oldest first (deleted ones included: the caller decides)."""
    if not is_public_id(result_id):
        raise NotFound("result not found")
    rows = list(session.scalars(select(ResultVersion).where(
        ResultVersion.result_id == result_id, _in_visible_projects(ResultVersion.project_id, user_id))
        .order_by(ResultVersion.version)))
    if not rows:
        raise NotFound("result not found")
    return rows


def get_signature(session: Session, user_id: int, public_id: str) -> Signature:
    if not is_public_id(public_id):
        raise NotFound("signature not found")
    return _one(session, select(Signature)
                .join(ResultVersion, Signature.result_version_id == ResultVersion.id)
                .where(Signature.public_id == public_id,
                       _in_visible_projects(ResultVersion.project_id, user_id)), "signature")


def get_api_token(session: Session, user_id: int, public_id: str) -> ApiToken:
    """One of ``user_id``'s own tokens (nobody sees another user's tokens)."""
    if not is_public_id(public_id):
        raise NotFound("token not found")
    return _one(session, select(ApiToken).where(ApiToken.public_id == public_id,
                                                ApiToken.user_id == user_id), "token")


def project_roles(session: Session, user_id: int, project: Project) -> set[str]:
    """The user's roles in every organisation that gives them access to ``project``."""
    via = select(ProjectShare.org_id).where(ProjectShare.project_id == project.id)
    rows = session.scalars(select(Membership.role).where(
        Membership.user_id == user_id, or_(Membership.org_id == project.org_id, Membership.org_id.in_(via))))
    return set(rows)


def owner_roles(session: Session, user_id: int, project: Project) -> set[str]:
    """The user's role in the organisation that owns ``project`` (empty if they see it by a share)."""
    return set(session.scalars(select(Membership.role).where(Membership.user_id == user_id,
                                                              Membership.org_id == project.org_id)))


def require(roles: set[str], permission: str, what: str) -> None:
    """Raise :class:`Forbidden` unless one of ``roles`` has ``permission``."""
    allowed = PERMISSIONS[permission]
    if not roles & allowed:
        have = ", ".join(sorted(roles)) or "no role"
        raise Forbidden(f"{what} needs the role {' or '.join(sorted(allowed))}; you have {have}")
