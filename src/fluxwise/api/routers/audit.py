"""The audit trail, as far as the caller may see it, and its periodic reviews (signed entries)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from ...store import reviews, tenancy
from ...store.models import AuditEntry
from .. import convert, schemas
from ..deps import DbDep, PrincipalDep, ReadSession, client_address, load_user, signing

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
    """Entries about the caller's organisations, the projects they can see, their own actions and
    account, and (for admins) the security events of their organisations' members, oldest first.
    Page with ``after_seq`` = the last ``seq`` received.
    """
    stmt = select(AuditEntry).where(tenancy.visible_audit(principal.user_id, principal.public_id))
    if project_id is not None:
        project = tenancy.get_project(s, principal.user_id, project_id)
        stmt = stmt.where(AuditEntry.project_id == project.public_id)
    if object_id is not None:
        if "\x00" in object_id:
            return []
        stmt = stmt.where(AuditEntry.object_id == object_id)
    stmt = stmt.where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq).limit(limit)
    return [convert.audit_out(e) for e in s.scalars(stmt)]


def review_out(org, r) -> schemas.AuditReviewOut:
    return schemas.AuditReviewOut(seq=r.seq, org_id=org.public_id, reviewer=r.reviewer,
                                  reviewed_at=r.reviewed_at, from_seq=r.from_seq, through_seq=r.through_seq,
                                  entries=r.entries,
                                  through_hash=r.through_hash, comment=r.comment, next_due=r.next_due)


@router.get("/reviews", response_model=list[schemas.AuditReviewOut],
            responses=schemas.error_responses(401, 404))
def list_reviews(principal: PrincipalDep, s: ReadSession,
                 org_id: Annotated[str, Query(max_length=32, description="The organisation")]):
    """The recorded reviews of an organisation's audit trail, newest first."""
    org, _ = tenancy.get_organisation(s, principal.user_id, org_id)
    return [review_out(org, r) for r in reviews.reviews_of(s, org)]


@router.post("/reviews", response_model=schemas.AuditReviewOut, status_code=201,
             responses=schemas.error_responses(401, 403, 404, 422, 429))
def record_review(body: schemas.AuditReviewIn, principal: PrincipalDep, s: ReadSession, db: DbDep,
                  request: Request):
    """Record a review of the organisation's audit trail up to its newest entry, signed with your user
    ID and password (admins and reviewers). It becomes an audit entry of action ``review``."""
    org, role = tenancy.get_organisation(s, principal.user_id, body.org_id)
    tenancy.require({role}, "review_audit", "recording an audit-trail review")
    with db.session(write=True) as ws:
        with signing(ws, principal, "the review"):
            review = reviews.sign_and_record(ws, ws.get(type(org), org.id), reviewer=load_user(ws, principal),
                                             email=body.email, password=body.password, comment=body.comment,
                                             client=client_address(request),
                                             first_in_session=principal.first_signing)
        ws.commit()
        return review_out(org, review)
