"""The audit trail, as far as the caller may see it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import or_, select

from ...store import tenancy
from ...store.models import AuditEntry, Membership, Organisation, Project
from .. import convert, schemas
from ..deps import PrincipalDep, ReadSession

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[schemas.AuditEntryOut],
            responses={401: {"model": schemas.ErrorOut}, 404: {"model": schemas.ErrorOut}})
def list_audit(
    principal: PrincipalDep,
    s: ReadSession,
    project_id: Annotated[str | None, Query(max_length=32, description="Only this project")] = None,
    object_id: Annotated[str | None, Query(max_length=100, description="Only entries of this object")] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**31 - 1, description="Entries after this seq (paging)")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """Entries about the caller's organisations, the projects they can see, and their own actions,
    oldest first. Page with ``after_seq`` = the last ``seq`` received.
    """
    my_orgs = select(Organisation.public_id).join(Membership, Membership.org_id == Organisation.id) \
        .where(Membership.user_id == principal.user_id)
    my_projects = tenancy.visible_projects(principal.user_id).with_only_columns(Project.public_id)
    stmt = select(AuditEntry).where(or_(AuditEntry.org_id.in_(my_orgs),
                                        AuditEntry.project_id.in_(my_projects),
                                        AuditEntry.actor_id == principal.public_id))
    if project_id is not None:
        project = tenancy.get_project(s, principal.user_id, project_id)
        stmt = stmt.where(AuditEntry.project_id == project.public_id)
    if object_id is not None:
        if "\x00" in object_id:
            return []
        stmt = stmt.where(AuditEntry.object_id == object_id)
    stmt = stmt.where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
    return [convert.audit_out(e) for e in s.scalars(stmt)]
