"""The periodic review of the audit trail, recorded as a signed entry of the trail itself.

EU GMP Annex 11 §9 asks that audit trails be reviewed regularly; 21 CFR 11.10(e) that they be
available for review. An admin or reviewer of an organisation reviews the entries about it since the
last review and records that with an electronic signature (user ID and password, as for signing a
result): an audit entry of action ``review`` naming the range reviewed (``from_seq`` to
``through_seq``, the newest entry of the trail when the review was recorded), how many entries of
the organisation it held, the hash of the newest one (so the review is bound to exactly that trail),
the comment and the signer. The next review is due :data:`REVIEW_INTERVAL` later; pages show when.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..errors import InputError
from . import accounts, audit
from .accounts import audit_time
from .models import AuditEntry, Organisation, Project, User, new_public_id, utcnow

REVIEW_INTERVAL = timedelta(days=30)
MAX_COMMENT_CHARS = 4000


@dataclass(frozen=True)
class AuditReview:
    seq: int
    reviewer: str
    reviewed_at: datetime
    from_seq: int
    through_seq: int
    entries: int
    through_hash: str
    comment: str

    @property
    def next_due(self) -> datetime:
        return self.reviewed_at + REVIEW_INTERVAL


def _about(org: Organisation):
    projects = select(Project.public_id).where(Project.org_id == org.id)
    return or_(AuditEntry.org_id == org.public_id, AuditEntry.project_id.in_(projects))


def reviews_of(session: Session, org: Organisation) -> list[AuditReview]:
    """The recorded reviews of ``org``'s trail, newest first."""
    rows = session.scalars(select(AuditEntry).where(
        AuditEntry.action == "review", AuditEntry.object_type == "audit_review",
        AuditEntry.org_id == org.public_id).order_by(AuditEntry.seq.desc()))
    out = []
    for e in rows:
        v = json.loads(e.new_value or "{}")
        out.append(AuditReview(seq=e.seq, reviewer=e.actor_name, reviewed_at=e.ts, from_seq=v["from_seq"],
                               through_seq=v["through_seq"], entries=v["entries"],
                               through_hash=v["through_hash"], comment=v.get("comment", "")))
    return out


def record_review(session: Session, org: Organisation, *, reviewer: User, comment: str = "",
                  client: str = "") -> AuditReview:
    """Record that ``reviewer`` reviewed ``org``'s entries up to the newest of the trail.

    The caller has checked the reviewer's role and signature (user ID and password); commit after.
    """
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InputError(f"the comment is {len(comment)} characters long; at most {MAX_COMMENT_CHARS}",
                         field="comment")
    previous = reviews_of(session, org)
    from_seq = previous[0].through_seq + 1 if previous else 1
    newest = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    through_seq = newest.seq if newest is not None else 0
    through_hash = newest.hash if newest is not None else audit.GENESIS_HASH
    entries = session.scalar(select(func.count()).select_from(AuditEntry).where(
        _about(org), AuditEntry.seq >= from_seq, AuditEntry.seq <= through_seq)) or 0
    now = utcnow()
    entry = audit.append(session, actor=reviewer, action="review", object_type="audit_review",
                         object_id=new_public_id(), org_id=org.public_id,
                         new={"from_seq": from_seq, "through_seq": through_seq, "entries": entries,
                              "through_hash": through_hash, "comment": comment, "meaning": "review",
                              "signer": reviewer.name, "signer_email": reviewer.email, "client": client,
                              "next_due": audit_time(now + REVIEW_INTERVAL)})
    return AuditReview(seq=entry.seq, reviewer=entry.actor_name, reviewed_at=entry.ts, from_seq=from_seq,
                       through_seq=through_seq, entries=entries, through_hash=through_hash, comment=comment)


def sign_and_record(session: Session, org: Organisation, *, reviewer: User, email: str | None, password: str,
                    comment: str = "", client: str = "", first_in_session: bool) -> AuditReview:
    """Check the reviewer's signature (user ID and password, as for a result: see
    :func:`fluxwise.store.accounts.check_signer_id`) and record the review.

    Raises :class:`~fluxwise.store.accounts.AuthenticationError` after recording the failed check
    (commit it), and what the checks raise.
    """
    accounts.check_signer_id(session, reviewer, email=email, password=password, client=client,
                             first_in_session=first_in_session, purpose="audit review")
    accounts.check_password(session, reviewer.email, password, client, purpose="audit review", actor=reviewer)
    return record_review(session, org, reviewer=reviewer, comment=comment, client=client)


def review_status(session: Session, org: Organisation) -> dict:
    """For pages: the last review (or None), when the next is due, whether it is overdue."""
    previous = reviews_of(session, org)
    last = previous[0] if previous else None
    due = last.next_due if last else org.created_at + REVIEW_INTERVAL
    return {"last": last, "due": due, "overdue": due <= utcnow()}
