"""The audit trail: append-only, keyed hash-chained entries written in the same transaction as the change.

Each entry carries ``seq`` (1, 2, 3, ... without gaps), a UTC timestamp (never earlier than the entry
before it), the actor, the organisation and project it concerns, the action (create, update, delete,
sign, login), the object, its old and new values as canonical JSON, the reason, the hash of the entry
before it, the id of the audit key and its own hash::

    hash = HMAC-SHA-256( K_entry, canonical_json({every field above, prev_hash, key_id}) )

under the store's audit key (see :mod:`fluxwise.store.keyring`), so that changing, removing or
reordering an entry breaks the chain, and nobody without the key can rebuild it. Entries written
before a store was sealed under a key keep their plain SHA-256 links (``key_id`` null); sealing
verified them once and recorded their head in the sealing entry. The newest link is also kept in
``audit_head``, whose row is locked while appending, so two transactions cannot fork the chain on
PostgreSQL (on SQLite, write transactions already start with ``BEGIN IMMEDIATE``); after the commit
the newest entry is checkpointed into a log outside the database (:mod:`fluxwise.store.checkpoints`).
This follows 21 CFR 11.10(e): secure, computer-generated, time-stamped trails that record who did
what, when and why, without obscuring earlier values.

A change to a *critical value* (see :data:`CRITICAL_FIELDS`) needs a reason; :func:`require_reason`
raises :class:`ReasonRequiredError` (an :class:`~fluxwise.errors.InputError`, HTTP 422) without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import FluxwiseError, InputError
from .canonical import canonical_json, sha256_hex
from .keyring import ENTRY, AuditKey
from .models import AUDIT_ACTIONS, AuditEntry, AuditHead, User, utcnow
from .trust import note_appended, trust_of

GENESIS_HASH = "0" * 64

#: Values whose change needs a reason, by object type. Result ``data`` holds the fitted parameters
#: and sizing numbers, result ``inputs`` the sizing inputs (batch volume, process time, safety factor,
#: model); a trial's area, mode, density and column mapping change every number computed from it.
CRITICAL_FIELDS: dict[str, frozenset[str]] = {
    "result": frozenset({"data", "inputs"}),
    "trial": frozenset({"area", "mode", "density", "columns"}),
}
#: The object type of the audit key's own entries: ``create`` seals a store under its first key,
#: ``update`` rotates to the key named in its new value.
KEY_OBJECT = "audit_key"
#: The object type of the entry that starts a new checkpoint log when the old one was lost.
LOG_OBJECT = "checkpoint_log"
#: Deleting any of these needs a reason too.
REASON_ON_DELETE = frozenset({"result", "trial", "upload", "project"})
MAX_REASON_CHARS = 2000


class ReasonRequiredError(InputError):
    """A critical value was changed (or an object deleted) without a reason."""


class StoreNotSealed(FluxwiseError):
    """The store's trail is not (yet) under an audit key: run ``fluxwise db upgrade``."""


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
    """The fields of ``entry`` that its hash covers, as hashed (``prev_hash`` and ``key_id`` included;
    an entry from before the store was sealed has no ``key_id`` field)."""
    payload = {
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
    if entry.key_id is not None:
        payload["key_id"] = entry.key_id
    return payload


def legacy_entry_hash(entry: AuditEntry) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`entry_payload`: the links written before sealing."""
    return sha256_hex(canonical_json(entry_payload(entry)))


def keyed_entry_hash(entry: AuditEntry, key: AuditKey) -> str:
    """HMAC-SHA-256 (hex) under ``key``'s entry subkey of the canonical JSON of :func:`entry_payload`."""
    if entry.key_id != key.key_id:
        raise ValueError(f"entry {entry.seq} names key {entry.key_id}, not {key.key_id}")
    return key.mac(ENTRY, canonical_json(entry_payload(entry)))


def actor_label(user: User | None) -> str:
    return "system" if user is None else f"{user.name} <{user.email}>"


def lock_head(session: Session) -> AuditHead:
    """The head row, locked for this transaction (PostgreSQL ``SELECT ... FOR UPDATE``)."""
    return session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def append(session: Session, *, actor: User | None, action: str, object_type: str, object_id: str,
           org_id: str | None = None, project_id: str | None = None, old: Any = None, new: Any = None,
           reason: str | None = None, key: AuditKey | None = None) -> AuditEntry:
    """Add the next entry to the trail in ``session``'s transaction and return it (flushed).

    ``old`` and ``new`` are any JSON-able values (None for none); they are stored as canonical JSON.
    The entry is MACed under the key the head names (taken from the session's
    :class:`~fluxwise.store.trust.Trust`; ``key`` only while sealing or rotating). The caller commits:
    the entry and the change it records land together or not at all, and the commit checkpoints it.
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"audit action must be one of {AUDIT_ACTIONS}, not {action!r}")
    head = lock_head(session)
    if key is None:
        if head.key_id is None:
            raise StoreNotSealed("the audit trail of this store is not sealed under an audit key yet; run "
                                 "`fluxwise db upgrade` (it verifies the trail and seals it)")
        key = trust_of(session).keyring.get(head.key_id)
    elif head.key_id is not None and key.key_id != head.key_id:
        raise ValueError(f"the trail is under key {head.key_id}, not {key.key_id}")
    now = utcnow()
    if head.seq:  # a clock stepping back must not make the trail go back in time
        prev_ts = session.scalar(select(AuditEntry.ts).where(AuditEntry.seq == head.seq))
        if prev_ts is not None and prev_ts > now:
            now = prev_ts
    entry = AuditEntry(
        seq=head.seq + 1,
        ts=now,
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
        key_id=key.key_id,
    )
    entry.hash = keyed_entry_hash(entry, key)
    session.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    if head.store_id is not None:
        note_appended(session, head.store_id, entry.seq, entry.hash, key.key_id)
    return entry


def count_entries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def verify_chain(session: Session):
    """:func:`fluxwise.store.verify.verify_store` with the session's trust (kept under this name)."""
    from .verify import verify_store

    return verify_store(session, trust_of(session))


def audit_verify_main(database_url: str | None = None, anchors=()) -> int:
    """``fluxwise audit verify`` (see :func:`fluxwise.store.verify.audit_verify_main`)."""
    from .verify import audit_verify_main as main

    return main(database_url, anchors=anchors)
