"""The audit trail: append-only, hash-chained entries written in the same transaction as the change.

Each entry carries ``seq`` (1, 2, 3, ... without gaps), a UTC timestamp, the actor, the organisation
and project it concerns, the action (create, update, delete, sign, login), the object, its old and new
values as canonical JSON, the reason, the hash of the entry before it and its own hash::

    hash = SHA-256( canonical_json({every field above, prev_hash}) )

so that changing, removing or reordering an entry breaks the chain. The newest link is also kept in
``audit_head``, which catches removal of the newest entries; its row is locked while appending, so
two transactions cannot fork the chain on PostgreSQL (on SQLite, write transactions already start
with ``BEGIN IMMEDIATE``). This follows the intent of 21 CFR 11.10(e): secure, computer-generated,
time-stamped trails that record who did what, when and why, without obscuring earlier values.

A change to a *critical value* (see :data:`CRITICAL_FIELDS`) needs a reason; :func:`require_reason`
raises :class:`ReasonRequiredError` (an :class:`~fluxwise.errors.InputError`, HTTP 422) without one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InputError
from .canonical import canonical_json, sha256_hex
from .models import AUDIT_ACTIONS, AuditEntry, AuditHead, User, utcnow

GENESIS_HASH = "0" * 64

#: Values whose change needs a reason, by object type. Result ``data`` holds the fitted parameters
#: and sizing numbers, result ``inputs`` the sizing inputs (batch volume, process time, safety factor,
#: model); a trial's area, mode and density change every number computed from it.
CRITICAL_FIELDS: dict[str, frozenset[str]] = {
    "result": frozenset({"data", "inputs"}),
    "trial": frozenset({"area", "mode", "density"}),
}
#: Deleting any of these needs a reason too.
REASON_ON_DELETE = frozenset({"result", "trial", "upload", "project"})
MAX_REASON_CHARS = 2000


class ReasonRequiredError(InputError):
    """A critical value was changed (or an object deleted) without a reason."""


def require_reason(object_type: str, changed: Iterable[str], reason: str | None, *,
                   deleting: bool = False) -> str | None:
    """Check that ``reason`` is given when ``changed`` touches a critical value; return it stripped.

    Raises
    ------
    ReasonRequiredError
        When a critical field of ``object_type`` is among ``changed`` (or ``deleting`` an object of
        a type in :data:`REASON_ON_DELETE`) and ``reason`` is empty.
    """
    reason = (reason or "").strip() or None
    critical = sorted(CRITICAL_FIELDS.get(object_type, frozenset()) & set(changed))
    if reason is None:
        if deleting and object_type in REASON_ON_DELETE:
            raise ReasonRequiredError(f"a reason is required to delete a {object_type}; it is kept in "
                                      "the audit trail", field="reason")
        if critical:
            raise ReasonRequiredError(
                f"a reason is required to change {', '.join(critical)} of a {object_type} (critical "
                "values); it is kept in the audit trail with the old and new values", field="reason")
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise InputError(f"the reason is {len(reason)} characters long; at most {MAX_REASON_CHARS}",
                         field="reason")
    return reason


def _ts_text(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_payload(entry: AuditEntry) -> dict[str, Any]:
    """The fields of ``entry`` that its hash covers, as hashed (``prev_hash`` included)."""
    return {
        "seq": entry.seq,
        "ts": _ts_text(entry.ts),
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "org_id": entry.org_id,
        "project_id": entry.project_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "old_value": entry.old_value,
        "new_value": entry.new_value,
        "reason": entry.reason,
        "prev_hash": entry.prev_hash,
    }


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`entry_payload`."""
    return sha256_hex(canonical_json(entry_payload(entry)))


def actor_label(user: User | None) -> str:
    return "system" if user is None else f"{user.name} <{user.email}>"


def append(session: Session, *, actor: User | None, action: str, object_type: str, object_id: str,
           org_id: str | None = None, project_id: str | None = None, old: Any = None, new: Any = None,
           reason: str | None = None) -> AuditEntry:
    """Add the next entry to the trail in ``session``'s transaction and return it (flushed).

    ``old`` and ``new`` are any JSON-able values (None for none); they are stored as canonical JSON.
    The caller commits: the entry and the change it records land together or not at all.
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"audit action must be one of {AUDIT_ACTIONS}, not {action!r}")
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    entry = AuditEntry(
        seq=head.seq + 1,
        ts=utcnow(),
        actor_id=None if actor is None else actor.public_id,
        actor_name=actor_label(actor),
        org_id=org_id,
        project_id=project_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        old_value=None if old is None else canonical_json(old),
        new_value=None if new is None else canonical_json(new),
        reason=reason,
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of :func:`verify_chain`: ``ok`` when no problem was found in ``checked`` entries."""

    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    head_seq: int = 0
    head_hash: str = GENESIS_HASH

    def text(self) -> str:
        lines = [f"audit trail: {self.checked} entries checked, "
                 + ("chain intact" if self.ok else f"{len(self.problems)} problem(s)"),
                 f"head: seq {self.head_seq} hash {self.head_hash}"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def verify_chain(session: Session) -> VerifyReport:
    """Recompute every link of the trail and report altered, removed or reordered entries.

    Checks, in ``seq`` order: the numbering has no gaps and starts at 1, each ``prev_hash`` equals the
    stored hash of the entry before it, each stored hash equals the hash recomputed from the entry's
    content, and the last entry matches ``audit_head``.
    """
    problems: list[str] = []
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=500))
    for entry in rows:
        checked += 1
        if entry.seq != expected_seq:
            if entry.seq > expected_seq:
                gap = (f"entry {expected_seq}" if entry.seq == expected_seq + 1
                       else f"entries {expected_seq}-{entry.seq - 1}")
                problems.append(f"{gap} missing (removed)")
            else:
                problems.append(f"entry {entry.seq} out of order")
        if entry.prev_hash != prev_hash:
            problems.append(f"entry {entry.seq}: its prev_hash does not match the hash of the entry "
                            "before it (an entry was removed, inserted or reordered)")
        if entry_hash(entry) != entry.hash:
            problems.append(f"entry {entry.seq}: content does not match its hash (altered after writing)")
        prev_hash, expected_seq = entry.hash, entry.seq + 1
    head = session.get(AuditHead, 1)
    last_seq = expected_seq - 1
    if head is None:
        problems.append("the audit head record is missing")
        head_seq, head_hash = last_seq, prev_hash
    else:
        head_seq, head_hash = head.seq, head.hash
        if head.seq != last_seq or head.hash != prev_hash:
            problems.append(f"the trail ends at entry {last_seq} but its head records entry {head.seq}: "
                            "the newest entries were removed or the head was altered")
    return VerifyReport(ok=not problems, checked=checked, problems=problems, head_seq=head_seq,
                        head_hash=head_hash)


def count_entries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def audit_verify_main(database_url: str | None = None) -> int:
    """``fluxwise audit verify``: check the trail of the store, print a report, return 0 (intact) or 1.

    The store is the one the doors use (``database_url``, else ``$FLUXWISE_DATABASE_URL``, else the
    SQLite file in the data dir). Nothing is created or changed.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from .database import current_revision, make_engine, resolve_database_url

    url = resolve_database_url(database_url)
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite" and not Path(sa_url.database or "").is_file():
        print(f"no fluxwise store at {sa_url.database}", file=sys.stderr)
        return 1
    engine = make_engine(url)
    try:
        if current_revision(engine) is None:
            print(f"{sa_url.render_as_string(hide_password=True)} holds no fluxwise store", file=sys.stderr)
            return 1
        with Session(engine) as session:
            report = verify_chain(session)
    except SQLAlchemyError as exc:
        first_line = f"{exc.__class__.__name__}: {exc}".splitlines()[0]
        print(f"cannot read the audit trail: {first_line}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(report.text())
    return 0 if report.ok else 1
