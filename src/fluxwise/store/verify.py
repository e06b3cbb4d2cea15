"""``fluxwise audit verify``: everything the store's record can be checked against, checked.

What is checked (each failure is reported, and any failure means exit 1):

- **The chain.** Entries numbered 1, 2, 3, ... without gaps; each ``prev_hash`` is the hash of the
  entry before; each hash is the HMAC of its content under the key it names (entries from before the
  store was sealed: the plain SHA-256 they were written with, and only before the sealing entry, which
  must record their count and head); keys change only through a rotation entry written under the old
  key; times never go backwards; the head row agrees with the last entry.
- **The checkpoint log** outside the database (:mod:`fluxwise.store.checkpoints`) must exist; every
  line's MAC and link is checked, and every checkpointed entry must still be there with the hash the
  log recorded — so removing the newest entries, or rebuilding the trail, shows. Exported checkpoints
  (``--anchor``) are checked the same way.
- **Signatures**: each signature row's MAC is recomputed from the joined rows (signer, version, content
  hash, audit seq); its content hash must be what the signed version hashes to now; sign entries and
  signature rows must match one to one, both ways.
- **Results, uploads and trials**: each one's content is hashed again (uploads: every byte) and
  compared with the hash its audit entry recorded; result deletions match their entries.
- **The database's own refusal**: the triggers that refuse UPDATE and DELETE on protected tables exist.

What it cannot prove: that nobody with the key and write access rewrote everything after the last
checkpoint kept out of their reach (see the README).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from . import protection
from .audit import GENESIS_HASH, KEY_OBJECT, LOG_OBJECT, keyed_entry_hash, legacy_entry_hash
from .canonical import canonical_json, sha256_hex
from .checkpoints import line_problem
from .keyring import AuditKeyError
from .models import (
    RESTORABLE,
    AuditEntry,
    AuditHead,
    Deletion,
    Restoration,
    ResultDeletion,
    ResultVersion,
    Signature,
    TrialRecord,
    Upload,
)
from .record_checks import signature_problems
from .trust import Trust


@dataclass
class VerifyReport:
    """Outcome of :func:`verify_store`: ``ok`` when no problem was found."""

    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    notes: list[str] = field(default_factory=list)
    store_id: str | None = None
    key_id: str | None = None
    checkpoint_seq: int | None = None
    checkpoint_log: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        checked = ", ".join(f"{n} {what}" for what, n in self.counts.items())
        lines = [f"audit trail: {self.checked} entries checked, "
                 + ("chain intact" if self.ok else f"{len(self.problems)} problem(s)"),
                 f"head: seq {self.head_seq} hash {self.head_hash}",
                 f"store {self.store_id} under key {self.key_id}; checkpoint log {self.checkpoint_log}"
                 + ("" if self.checkpoint_seq is None
                    else f" (last checkpoint: entry {self.checkpoint_seq})")]
        if checked:
            lines.append(f"also checked: {checked}")
        lines += [f"  - {p}" for p in self.problems]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": list(self.problems),
                "notes": list(self.notes), "head_seq": self.head_seq, "head_hash": self.head_hash,
                "store_id": self.store_id, "key_id": self.key_id, "checkpoint_seq": self.checkpoint_seq,
                "checkpoint_log": self.checkpoint_log, "counts": dict(self.counts)}


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


@dataclass
class _Walk:
    """What the chain walk learnt about the objects its entries recorded."""

    hashes: dict[int, str] = field(default_factory=dict)
    sealed_at: int | None = None
    seal: dict[str, Any] = field(default_factory=dict)
    key_id: str | None = None
    results: dict[tuple[str, int], tuple[int, str | None]] = field(default_factory=dict)
    deletions: dict[str, int] = field(default_factory=dict)
    signs: dict[int, tuple[AuditEntry, dict]] = field(default_factory=dict)
    uploads: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    trials: dict[str, tuple[int, int | None, str | None]] = field(default_factory=dict)
    # (object type, id) -> how many delete and restore entries the trail holds
    deleted: Counter = field(default_factory=Counter)
    restored: Counter = field(default_factory=Counter)
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    checked: int = 0
    log_starts: dict[int, str] = field(default_factory=dict)  # seq -> why a checkpoint log may begin there


def _record_object(walk: _Walk, entry: AuditEntry, new: Any) -> None:
    if not isinstance(new, dict):
        new = {}
    keyed = entry.key_id is not None
    kind, action, oid = entry.object_type, entry.action, entry.object_id
    if kind in RESTORABLE and action == "delete":
        walk.deleted[(kind, oid)] += 1
    elif kind in RESTORABLE and action == "update" and new.get("restored") is True:
        walk.restored[(kind, oid)] += 1
        if kind != "trial":
            return
    if kind == "result":
        if action in ("create", "update") and isinstance(new.get("version"), int):
            sha = new.get("content_sha256")
            if sha is None and not keyed and action == "create":
                sha = sha256_hex(canonical_json(new))  # written before sealing: the whole content
            walk.results[(oid, new["version"])] = (entry.seq, sha)
        elif action == "delete":
            walk.deletions[oid] = entry.seq
        elif action == "sign":
            walk.signs[entry.seq] = (entry, new)
    elif kind == "upload" and action == "create":
        walk.uploads[oid] = (entry.seq, new.get("sha256"))
    elif kind == "trial" and action in ("create", "update"):
        walk.trials[oid] = (entry.seq, new.get("revision"), new.get("content_sha256"))


def _walk_chain(session: Session, trust: Trust, head: AuditHead | None, problems: list[str]) -> _Walk:
    walk = _Walk()
    prev_hash, expected_seq, prev_ts = GENESIS_HASH, 1, None
    missing_keys: set[str] = set()
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=500))
    for entry in rows:
        walk.checked += 1
        seq = entry.seq
        if seq != expected_seq:
            if seq > expected_seq:
                gap = (f"entry {expected_seq}" if seq == expected_seq + 1
                       else f"entries {expected_seq}-{seq - 1}")
                problems.append(f"{gap} missing (removed)")
            else:
                problems.append(f"entry {seq} out of order")
        if entry.prev_hash != prev_hash:
            problems.append(f"entry {seq}: its prev_hash does not match the hash of the entry before it "
                            "(an entry was removed, inserted or reordered)")
        if prev_ts is not None and entry.ts < prev_ts:
            problems.append(f"entry {seq}: its time {entry.ts.isoformat()} is before the time of the entry "
                            f"before it ({prev_ts.isoformat()}): time went backwards")
        new = _loads(entry.new_value)
        if entry.key_id is None:
            if walk.sealed_at is not None:
                problems.append(f"entry {seq}: a plain SHA-256 link after the trail was sealed under a key "
                                f"at entry {walk.sealed_at} (the trail was rebuilt without the key)")
            elif legacy_entry_hash(entry) != entry.hash:
                problems.append(f"entry {seq}: content does not match its hash (altered after writing)")
        else:
            if walk.sealed_at is None:
                _check_seal(entry, new, head, problems)
                walk.sealed_at, walk.key_id = seq, entry.key_id
                walk.seal = new if isinstance(new, dict) else {}
            elif entry.key_id != walk.key_id:
                problems.append(f"entry {seq} is under key {entry.key_id}, but the trail is under key "
                                f"{walk.key_id} there (a key changes only by a rotation entry)")
            key = trust.keyring.find(entry.key_id)
            if key is None:
                if entry.key_id not in missing_keys:
                    missing_keys.add(entry.key_id)
                    problems.append(f"entry {seq} is under key {entry.key_id}, which is not in the key ring "
                                    f"({trust.keyring.path_of(entry.key_id)}): its entries cannot be "
                                    "verified")
            elif keyed_entry_hash(entry, key) != entry.hash:
                problems.append(f"entry {seq}: content does not match its MAC (altered after writing, or the "
                                "chain was rebuilt without the key)")
            if (entry.object_type == KEY_OBJECT and entry.action == "update" and isinstance(new, dict)
                    and isinstance(new.get("key_id"), str)):
                walk.key_id = new["key_id"]  # rotation: the entries after this one are under the new key
        _record_object(walk, entry, new)
        if entry.key_id is not None and walk.sealed_at == seq:
            walk.log_starts[seq] = "sealed"
        elif entry.key_id is not None and entry.object_type == LOG_OBJECT and entry.action == "create":
            walk.log_starts[seq] = f"restarted ({entry.reason})"
        walk.hashes[seq] = entry.hash
        prev_hash, expected_seq, prev_ts = entry.hash, seq + 1, entry.ts
    walk.last_seq, walk.last_hash = expected_seq - 1, prev_hash
    return walk


def _check_seal(entry: AuditEntry, new: Any, head: AuditHead | None, problems: list[str]) -> None:
    """The first keyed entry must be the sealing entry, and it must say what it sealed."""
    seq = entry.seq
    if entry.object_type != KEY_OBJECT or entry.action != "create" or not isinstance(new, dict):
        problems.append(f"entry {seq} is the first entry under a key, but not the entry that sealed the "
                        "trail")
        return
    if new.get("key_id") != entry.key_id:
        problems.append(f"entry {seq}: the sealing entry names key {new.get('key_id')} but is under key "
                        f"{entry.key_id}")
    if new.get("legacy_entries") != seq - 1 or new.get("legacy_head_hash") != entry.prev_hash:
        problems.append(f"entry {seq}: the sealing entry recorded {new.get('legacy_entries')} earlier "
                        f"entries ending in {new.get('legacy_head_hash')}, but {seq - 1} come before it "
                        f"ending in {entry.prev_hash} (the entries before the seal were changed)")
    if head is not None and head.store_id is not None and new.get("store_id") != head.store_id:
        problems.append(f"entry {seq}: the trail was sealed for store {new.get('store_id')}, but this is "
                        f"store {head.store_id}")


def _check_head(walk: _Walk, head: AuditHead | None, problems: list[str]) -> None:
    if head is None:
        problems.append("the audit head record is missing")
        return
    if head.seq != walk.last_seq or head.hash != walk.last_hash:
        problems.append(f"the trail ends at entry {walk.last_seq} but its head records entry {head.seq}: "
                        "the newest entries were removed or the head was altered")
    if head.key_id is None:
        problems.append("the trail is not sealed under an audit key: run `fluxwise db upgrade`")
    elif walk.key_id is not None and head.key_id != walk.key_id:
        problems.append(f"the head names key {head.key_id}, but the trail's last key is {walk.key_id}")


def _check_checkpoint(where: str, line: dict, walk: _Walk, problems: list[str]) -> None:
    seq = line["seq"]
    if seq == 0:
        return
    if seq > walk.last_seq:
        problems.append(f"{where} records entry {seq} (written {line['time']}), but the trail ends at entry "
                        f"{walk.last_seq}: entries {walk.last_seq + 1}-{seq} were removed")
    elif walk.hashes.get(seq) != line["entry_hash"]:
        problems.append(f"{where} records entry {seq} with another hash than the trail holds now: the entry "
                        "was replaced or the trail rebuilt")


def _check_checkpoints(trust: Trust, head: AuditHead | None, walk: _Walk, anchors: Sequence[tuple[str, Any]],
                       report: dict, problems: list[str], notes: list[str]) -> None:
    if head is None or head.store_id is None:
        return
    log = trust.checkpoint_log(head.store_id)
    report["checkpoint_log"] = str(log.path)
    highest = None
    if not log.exists():
        problems.append(f"the checkpoint log {log.path} is missing: without it, removal of the newest "
                        "entries cannot be ruled out")
    else:
        read = log.read(trust.keyring)
        problems.extend(read.problems)
        if read.torn_tail:
            notes.append("the checkpoint log ends in a line cut short (a crash while it was written)")
        if not read.lines and not read.problems:
            problems.append(f"the checkpoint log {log.path} holds no checkpoint")
        if read.lines:
            first = read.lines[0][1]
            if first["seq"] not in walk.log_starts:
                problems.append(f"the checkpoint log starts at entry {first['seq']}, which neither sealed "
                                "the trail nor restarted the log on the record: the log was begun again")
            elif walk.log_starts[first["seq"]] != "sealed":
                notes.append(f"the checkpoint log was {walk.log_starts[first['seq']]} at entry "
                             f"{first['seq']}: for entries before it, only exported checkpoints rule out "
                             "removals")
        for number, line in read.lines:
            _check_checkpoint(f"checkpoint log line {number}", line, walk, problems)
            highest = line if highest is None or line["seq"] >= highest["seq"] else highest
    for name, anchor in anchors:
        line = anchor.get("fluxwise_checkpoint") if isinstance(anchor, dict) else None
        why = line_problem(line, trust.keyring, head.store_id)
        if why is not None:
            problems.append(f"exported checkpoint {name} {why}")
            continue
        _check_checkpoint(f"exported checkpoint {name}", line, walk, problems)
        if highest is None or line["seq"] > highest["seq"]:
            highest = line
    if highest is not None:
        report["checkpoint_seq"] = highest["seq"]
        if walk.last_seq > highest["seq"]:
            notes.append(f"entries {highest['seq'] + 1}-{walk.last_seq} come after the last checkpoint "
                         "(normal right after a crash; otherwise the checkpoint log was put back)")


def _recorded_sha(walk: _Walk, seq: int, sha: str | None, sealed_key: str) -> str | None:
    if sha is None and walk.sealed_at is not None and seq < walk.sealed_at:
        return (walk.seal.get("sealed_content") or {}).get(sealed_key)
    return sha


def _check_results(session: Session, walk: _Walk, problems: list[str]) -> int:
    from .results import content_sha256

    seen: set[tuple[str, int]] = set()
    n = 0
    rows = session.scalars(select(ResultVersion).options(joinedload(ResultVersion.trial),
                                                         joinedload(ResultVersion.upload))
                           .order_by(ResultVersion.id))
    for rv in rows:
        n += 1
        name = f"result {rv.result_id} version {rv.version}"
        seen.add((rv.result_id, rv.version))
        actual = content_sha256(rv)
        if actual != rv.content_sha256:
            problems.append(f"{name}: its content does not match its stored content hash (edited after "
                            "writing)")
        seq, sha = walk.results.get((rv.result_id, rv.version), (None, None))
        if seq is None:
            sealed = (walk.seal.get("sealed_content") or {}).get(f"result:{rv.public_id}")
            if sealed is None:
                problems.append(f"{name}: no audit entry records it (added behind the application's back, "
                                "or its entry was removed)")
            elif sealed != actual:
                problems.append(f"{name}: its content does not match the hash recorded when the trail was "
                                "sealed")
            continue
        recorded = _recorded_sha(walk, seq, sha, f"result:{rv.public_id}")
        if recorded is None:
            problems.append(f"{name}: its audit entry {seq} records no content hash")
        elif recorded != actual:
            problems.append(f"{name}: its content does not match the content hash its audit entry {seq} "
                            "recorded (the stored result was edited, hash columns and all)")
    for (result_id, version), (seq, _) in walk.results.items():
        if (result_id, version) not in seen:
            problems.append(f"result {result_id} version {version}, recorded by audit entry {seq}, is "
                            "missing from the results table")
    deleted = {d.result_id: d for d in session.scalars(select(ResultDeletion))}
    for result_id in deleted:
        if result_id not in walk.deletions:
            problems.append(f"result {result_id} is marked deleted, but no audit entry records its deletion")
    for result_id, seq in walk.deletions.items():
        if result_id not in deleted:
            problems.append(f"audit entry {seq} deleted result {result_id}, but the result is not marked "
                            "deleted")
    return n


def _check_signatures(session: Session, trust: Trust, walk: _Walk, problems: list[str], *,
                      macs: bool = True) -> int:
    from .results import content_sha256

    matched: set[int] = set()
    n = 0
    rows = session.scalars(select(Signature).options(joinedload(Signature.result_version),
                                                     joinedload(Signature.user)).order_by(Signature.id))
    for sig in rows:
        n += 1
        rv = sig.result_version
        name = (f"signature {sig.public_id} ({sig.meaning} by {sig.signer_name}, result {rv.result_id} "
                f"version {rv.version})")
        for problem in signature_problems(sig, trust, content=content_sha256(rv), mac=macs):
            problems.append(f"{name}: {problem}")
        found = walk.signs.get(sig.audit_seq)
        if found is None:
            problems.append(f"{name}: the audit trail has no sign entry at seq {sig.audit_seq} (the "
                            "signature was added behind the application's back, or its entry was removed)")
            continue
        matched.add(sig.audit_seq)
        entry, new = found
        differ = [what for what, ok in (
            ("result", entry.object_id == rv.result_id),
            ("version", new.get("version") == rv.version),
            ("meaning", new.get("meaning") == sig.meaning),
            ("content hash", new.get("content_sha256") == sig.content_sha256),
            ("signature id", new.get("signature_id", sig.public_id) == sig.public_id),
            ("signer", entry.actor_id == sig.user.public_id),
            ("time", entry.ts == sig.signed_at)) if not ok]
        if differ:
            problems.append(f"{name}: differs from its sign entry {entry.seq} in {', '.join(differ)}")
    for seq, (entry, new) in sorted(walk.signs.items()):
        if seq not in matched:
            problems.append(f"audit entry {seq} records a signature ({new.get('meaning')} of result "
                            f"{entry.object_id} version {new.get('version')}) that is missing from the "
                            "signatures table (deleted)")
    return n


def _check_uploads(session: Session, walk: _Walk, problems: list[str]) -> int:
    n = 0
    ids = session.scalars(select(Upload.id).order_by(Upload.id)).all()
    for start in range(0, len(ids), 100):  # bytes in batches: memory stays bounded
        for up in session.scalars(select(Upload).where(Upload.id.in_(ids[start:start + 100]))
                                  .options(_undefer_content()).order_by(Upload.id)):
            n += 1
            name = f"upload {up.public_id} ({up.filename})"
            actual = sha256_hex(up.content)
            if actual != up.sha256:
                problems.append(f"{name}: its bytes do not match its stored SHA-256 (changed after upload)")
            seq, sha = walk.uploads.get(up.public_id, (None, None))
            if seq is None:
                problems.append(f"{name}: no audit entry records it")
            elif sha != actual:
                problems.append(f"{name}: its bytes do not match the SHA-256 its audit entry {seq} recorded")
        session.expunge_all()
    return n


def _undefer_content():
    from sqlalchemy.orm import undefer

    return undefer(Upload.content)


def _check_trials(session: Session, walk: _Walk, problems: list[str]) -> int:
    from .uploads import trial_sha256

    n = 0
    for rec in session.scalars(select(TrialRecord).options(joinedload(TrialRecord.upload))
                               .order_by(TrialRecord.id)):
        n += 1
        name = f"trial {rec.public_id}"
        seq, revision, sha = walk.trials.get(rec.public_id, (None, None, None))
        actual = trial_sha256(rec)
        if seq is None:
            problems.append(f"{name}: no audit entry records it")
            continue
        if revision != rec.revision:
            problems.append(f"{name} is at revision {rec.revision}, but its latest audit entry {seq} records "
                            f"revision {revision}")
            continue
        recorded = _recorded_sha(walk, seq, sha, f"trial:{rec.public_id}")
        if recorded is None:
            problems.append(f"{name}: its audit entry {seq} records no content hash")
        elif recorded != actual:
            problems.append(f"{name}: its content does not match the hash its audit entry {seq} recorded")
    return n


def _check_deletions(session: Session, walk: _Walk, problems: list[str]) -> None:
    """Every deletion and restoration row is recorded by an entry of the trail, and the other way round."""
    rows: Counter = Counter()
    for object_type, object_id in session.execute(select(Deletion.object_type, Deletion.object_id)):
        rows[(object_type, object_id)] += 1
    for (result_id,) in session.execute(select(ResultDeletion.result_id)):
        rows[("result", result_id)] += 1
    restored: Counter = Counter(session.execute(select(Restoration.object_type,
                                                       Restoration.object_id)).all())
    for what, stored, recorded in (("deletion", rows, walk.deleted),
                                   ("restoration", restored, walk.restored)):
        for key in sorted(set(stored) | set(recorded)):
            if key[0] == "result" and what == "deletion":
                continue  # checked with the results (entries before these counts existed included)
            if stored.get(key, 0) != recorded.get(key, 0):
                n = recorded.get(key, 0)
                problems.append(f"{key[0]} {key[1]}: {stored.get(key, 0)} {what} row(s) but {n} audit "
                                f"entr{'y' if n == 1 else 'ies'} recording one")


def verify_store(session: Session, trust: Trust, anchors: Iterable[tuple[str, Any]] = ()) -> VerifyReport:
    """Check the trail, the checkpoint log (and ``anchors``: (name, exported checkpoint) pairs),
    signatures, results, uploads, trials and the protection triggers; see the module docstring."""
    problems: list[str] = []
    notes: list[str] = []
    head = session.get(AuditHead, 1)
    walk = _walk_chain(session, trust, head, problems)
    _check_head(walk, head, problems)
    extra: dict[str, Any] = {}
    _check_checkpoints(trust, head, walk, list(anchors), extra, problems, notes)
    counts = {"signatures": _check_signatures(session, trust, walk, problems),
              "result versions": _check_results(session, walk, problems),
              "trials": _check_trials(session, walk, problems),
              "uploads": _check_uploads(session, walk, problems)}
    _check_deletions(session, walk, problems)
    for name in protection.missing(session.connection()):
        problems.append(f"the database trigger {name}, which refuses changes to the record, is missing or "
                        "disabled (run `fluxwise db upgrade` as the owner of the tables)")
    return VerifyReport(ok=not problems, checked=walk.checked, problems=problems,
                        head_seq=walk.last_seq if head is None else head.seq,
                        head_hash=walk.last_hash if head is None else head.hash, notes=notes,
                        store_id=None if head is None else head.store_id,
                        key_id=None if head is None else head.key_id,
                        checkpoint_seq=extra.get("checkpoint_seq"),
                        checkpoint_log=extra.get("checkpoint_log"),
                        counts=counts)


def legacy_problems(session: Session, trust: Trust) -> list[str]:
    """What is wrong with a trail written before keys (plain SHA-256 links), checked once before it is
    sealed: the chain and head, results against the content their create entries recorded, signatures
    against the content they signed and their sign entries, uploads against their bytes."""
    problems: list[str] = []
    head = session.get(AuditHead, 1)
    walk = _walk_chain(session, trust, head, problems)
    if head is None or head.seq != walk.last_seq or head.hash != walk.last_hash:
        problems.append(f"the trail ends at entry {walk.last_seq} but its head records entry "
                        f"{None if head is None else head.seq}: the newest entries were removed or the head "
                        "was altered")
    own: list[str] = []
    _check_results(session, walk, own)
    # entries written before keys recorded whole contents on creation only: other versions are sealed
    problems += [p for p in own if "records no content hash" not in p]
    _check_signatures(session, trust, walk, problems, macs=False)
    _check_uploads(session, walk, problems)
    return problems


def current_key_problem(session: Session, trust: Trust) -> str | None:
    """Why the store cannot be used with ``trust``'s keys (None when it can): the key the head names is
    missing, or the key given in the environment is not the store's."""
    head = session.get(AuditHead, 1)
    if head is None or head.key_id is None:
        return None
    ring = trust.keyring
    if ring.env_key is not None and ring.env_key.key_id != head.key_id:
        return (f"{ring.env_source} holds audit key {ring.env_key.key_id}, but this store's trail is under "
                f"key {head.key_id}: give the store's own key")
    try:
        ring.get(head.key_id)
    except AuditKeyError as exc:
        return str(exc)
    return None


def read_anchor(path: str | Path) -> tuple[str, Any]:
    """An exported checkpoint file, as (its name, its JSON) for :func:`verify_store`."""
    p = Path(path)
    try:
        return str(p), json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return str(p), {"error": str(exc)}


def run_verify(database_url: str | None = None, anchors: Sequence[str | Path] = ()) -> tuple[int, dict]:
    """(exit code, JSON report) of ``fluxwise audit verify``: 0 when everything checks out, 1 when not
    (or when the store, its key or its checkpoint log cannot be read). Nothing is created or changed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from .database import current_revision, head_revision, make_engine, resolve_database_url, sqlite_folder

    url = resolve_database_url(database_url)
    sa_url = make_url(url)
    store = sa_url.render_as_string(hide_password=True)
    if sa_url.get_backend_name() == "sqlite" and not Path(sa_url.database or "").is_file():
        return 1, {"ok": False, "store": store, "error": f"no fluxwise store at {sa_url.database}"}
    try:
        trust = Trust.from_env(data_folder=sqlite_folder(url))
    except AuditKeyError as exc:
        return 1, {"ok": False, "store": store, "error": str(exc)}
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
        if revision is None:
            return 1, {"ok": False, "store": store, "error": "this database holds no fluxwise store"}
        if revision != head_revision():
            return 1, {"ok": False, "store": store,
                       "error": f"the store's schema is at revision {revision}, not {head_revision()} "
                                "(this fluxwise's): run `fluxwise db upgrade` first (it verifies the trail "
                                "once and seals it under an audit key)"}
        with Session(engine) as session:
            refusal = current_key_problem(session, trust)
            if refusal is not None:
                return 1, {"ok": False, "store": store, "error": refusal}
            report = verify_store(session, trust, [read_anchor(a) for a in anchors])
    except SQLAlchemyError as exc:
        first_line = f"{exc.__class__.__name__}: {exc}".splitlines()[0]
        return 1, {"ok": False, "store": store, "error": f"cannot read the audit trail: {first_line}"}
    finally:
        engine.dispose()
    return (0 if report.ok else 1), {"store": store, **report.to_dict(), "text": report.text()}


def audit_verify_main(database_url: str | None = None, anchors: Sequence[str | Path] = ()) -> int:
    """Print the report of :func:`run_verify` and return its exit code."""
    code, report = run_verify(database_url, anchors)
    if "error" in report:
        print(report["error"], file=sys.stderr)
    else:
        print(report["text"])
    return code
