"""Putting a store's trail under an audit key (once) and moving it to a new key (rotation).

**Sealing** happens once per store, inside the migration that brings it to the current schema: an
empty store gets its first key and entry 1, which names the store and the key; an existing store's
trail — plain SHA-256 links written before keys existed — is verified first (chain, head, every
signature against the content it signed, every upload's bytes), and only if it is intact is it sealed:
its signatures get their MACs, the content hashes of its results and trials are recorded, and an entry
under the new key records how many entries came before and the hash of the last one. A trail that does
not verify is not sealed (the migration stops, naming the problems): sealing it would bless the damage.

**Rotation** writes an entry under the old key that names the new one, switches the head to the new
key, checkpoints that entry and exports the checkpoint. Old keys stay in the key ring: entries written
under them are verified with them for as long as the records are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, joinedload

from ..errors import FluxwiseError
from . import audit
from .audit import KEY_OBJECT, lock_head
from .keyring import AuditKey
from .models import ResultVersion, Signature, TrialRecord, User, new_public_id
from .trust import INFO_KEY, Trust

SCHEME = "HMAC-SHA-256 keyed chain v1"


class SealRefused(FluxwiseError):
    """The existing trail does not verify, so it is not sealed under a key."""


@dataclass(frozen=True)
class Checkpoint:
    """An entry to checkpoint once its transaction has committed."""

    store_id: str
    seq: int
    entry_hash: str
    key_id: str


def seal(conn: Connection, trust: Trust) -> Checkpoint | None:
    """Seal the trail of the store on ``conn`` (inside the migration's transaction) if it has no key yet.

    Returns the sealing entry to checkpoint after the commit, or None when the store was sealed already.
    Raises :class:`SealRefused` when the existing trail does not verify.
    """
    from .results import content_sha256, signature_mac
    from .uploads import trial_sha256
    from .verify import legacy_problems

    with Session(bind=conn, info={INFO_KEY: trust}, autoflush=False) as s:
        head = lock_head(s)
        if head.key_id is not None:
            return None
        legacy_seq, legacy_hash = head.seq, head.hash
        problems = legacy_problems(s, trust) if legacy_seq else []
        if problems:
            more = f"; and {len(problems) - 10} more" if len(problems) > 10 else ""
            shown = "; ".join(problems[:10]) + more
            raise SealRefused(f"the existing audit trail does not verify, so it was not sealed under a key "
                              f"(the store is left as it was): {shown}")
        head = lock_head(s)  # the checks let go of the rows they read
        versions = list(s.scalars(select(ResultVersion).options(joinedload(ResultVersion.trial),
                                                                joinedload(ResultVersion.upload))))
        trials = list(s.scalars(select(TrialRecord).options(joinedload(TrialRecord.upload))))
        sealed_content = {f"result:{rv.public_id}": content_sha256(rv) for rv in versions}
        sealed_content.update({f"trial:{rec.public_id}": trial_sha256(rec) for rec in trials})
        signatures = list(s.scalars(select(Signature).options(joinedload(Signature.result_version),
                                                              joinedload(Signature.user))))
        key = trust.keyring.create()
        store_id = new_public_id()
        entry = audit.append(s, actor=None, action="create", object_type=KEY_OBJECT, object_id=key.key_id,
                             new={"store_id": store_id, "key_id": key.key_id, "scheme": SCHEME,
                                  "legacy_entries": legacy_seq, "legacy_head_hash": legacy_hash,
                                  "sealed_signatures": len(signatures), "sealed_content": sealed_content},
                             key=key)
        head.store_id, head.key_id = store_id, key.key_id  # after append: it reloads the head
        for sig in signatures:
            sig.key_id, sig.mac = key.key_id, signature_mac(sig, key)
        s.flush()
        return Checkpoint(store_id, entry.seq, entry.hash, key.key_id)


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    seq: int
    checkpoint: dict


def rotate_key(db, *, actor: User | None = None, reason: str | None = None) -> Rotation:
    """Move the store of ``db`` to a new audit key: an entry under the old key names the new one, the
    head switches, the entry is checkpointed; returns the rotation with that checkpoint line."""
    from .keyring import AuditKeyError

    trust: Trust = db.trust
    with db.session(write=True) as s:
        head = lock_head(s)
        if head.key_id is None:
            raise audit.StoreNotSealed("this store is not sealed under a key yet; run `fluxwise db upgrade`")
        old: AuditKey = trust.keyring.get(head.key_id)
        trust.keyring.keep(old)  # kept for verifying the entries written under it
        new = trust.keyring.new_key()
        entry = audit.append(s, actor=actor, action="update", object_type=KEY_OBJECT, object_id=new.key_id,
                             old={"key_id": old.key_id},
                             new={"key_id": new.key_id, "store_id": head.store_id},
                             reason=reason or "audit key rotation", key=old)
        head.key_id = new.key_id
        store_id = head.store_id
        s.commit()  # checkpoints the entry (see Database)
    log = trust.checkpoint_log(store_id)
    line = log.append(old, entry.seq, entry.hash)
    if line is None:  # the commit hook wrote it: take it from the log
        lines = log.read(trust.keyring).lines
        line = next((ln for _, ln in reversed(lines) if ln["seq"] >= entry.seq), None)
        if line is None:
            raise AuditKeyError("the rotation was recorded but its checkpoint could not be found in the log")
    return Rotation(old.key_id, new.key_id, entry.seq, line)


def checkpoint_head(db) -> dict:
    """Checkpoint the head of the trail now (if the log does not end there already) and return the log's
    line for it: what ``fluxwise audit checkpoint`` exports."""
    from .models import AuditEntry, AuditHead

    trust: Trust = db.trust
    with db.session() as s:
        head = s.get(AuditHead, 1)
        if head is None or head.key_id is None or head.store_id is None:
            raise audit.StoreNotSealed("this store is not sealed under a key yet; run `fluxwise db upgrade`")
        entry = s.get(AuditEntry, head.seq)
        if entry is None or entry.hash != head.hash:
            raise SealRefused(f"the head names entry {head.seq}, which the trail does not hold as named; run "
                              "`fluxwise audit verify`")
        key = trust.keyring.get(entry.key_id)
    log = trust.checkpoint_log(head.store_id)
    line = log.append(key, entry.seq, entry.hash)
    if line is not None:
        return line
    for _, ln in reversed(log.read(trust.keyring).lines):
        if ln["seq"] == entry.seq and ln["entry_hash"] == entry.hash:
            return ln
    raise SealRefused(f"the checkpoint log {log.path} already goes beyond entry {entry.seq}, the head; run "
                      "`fluxwise audit verify`")


def restart_checkpoint_log(db, *, reason: str, actor: User | None = None) -> dict:
    """Start a new checkpoint log for a store whose log is lost for good, on the record: an entry says
    so (and why), and the new log begins with it. ``fluxwise audit verify`` then notes that removals of
    entries before it are ruled out only by checkpoints exported earlier."""
    from ..errors import InputError
    from .trust import after_rollback

    reason = (reason or "").strip()
    if not reason:
        raise InputError("say why the checkpoint log is restarted (--reason); it is kept in the audit trail",
                         field="reason")
    trust: Trust = db.trust
    with db.session(write=True) as s:
        head = lock_head(s)
        if head.key_id is None or head.store_id is None:
            raise audit.StoreNotSealed("this store is not sealed under a key yet; run `fluxwise db upgrade`")
        log = trust.checkpoint_log(head.store_id)
        if log.exists():
            raise InputError(f"the checkpoint log {log.path} is there: there is nothing to restart")
        entry = audit.append(s, actor=actor, action="create", object_type=audit.LOG_OBJECT,
                             object_id=head.store_id, new={"after_seq": head.seq, "path": str(log.path)},
                             reason=reason)
        after_rollback(s)  # this entry starts the new log below, not through the commit hook
        key = trust.keyring.get(entry.key_id)
        s.commit()
    return log.append(key, entry.seq, entry.hash, create=True)
