"""The checkpoint log: the length of the audit trail, written down outside the database.

A keyed chain alone cannot show that its newest entries were cut off: what remains (and an older
head) still verifies. So after every commit that added entries, one line is appended to
``checkpoints/<store_id>.jsonl`` in the audit folder and fsynced::

    {"v": 1, "store_id", "seq", "entry_hash", "time" (UTC), "key_id", "prev_checkpoint_hash", "mac"}

``mac`` is HMAC(K_checkpoint, canonical JSON of the other fields) under the key ``key_id``, and
``prev_checkpoint_hash`` the SHA-256 of the previous line (all 64 zeros for the first), so lines
cannot be forged, edited, dropped or reordered without the key. The line is written *after* the
commit: a crash in between leaves a trail a little longer than its last checkpoint, which is fine,
never a checkpoint naming an entry that is not there. Writers take an exclusive ``flock`` on the
file; a line for a seq at or below the last one is not written (a later commit already covered it).

``fluxwise audit checkpoint`` exports the head as one such line (plus ``checkpoint_sha256``) for QA to
keep elsewhere, optionally with an RFC 3161 timestamp token over it; ``fluxwise audit verify --anchor``
checks exported lines against the trail.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .canonical import canonical_json, sha256_hex
from .keyring import CHECKPOINT, AuditKey, AuditKeyError, KeyRing, _fsync_dir

try:  # POSIX; elsewhere a single writer is assumed
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)

GENESIS = "0" * 64
FORMAT_VERSION = 1
FIELDS = ("v", "store_id", "seq", "entry_hash", "time", "key_id", "prev_checkpoint_hash")


def utc_text(ts: datetime) -> str:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line_hash(line: dict[str, Any]) -> str:
    """SHA-256 of a checkpoint line (all its fields, the MAC included): the next line's ``prev``."""
    return sha256_hex(canonical_json({k: line[k] for k in (*FIELDS, "mac")}))


def make_line(key: AuditKey, *, store_id: str, seq: int, entry_hash: str, prev: str,
              time: datetime | None = None) -> dict[str, Any]:
    body = {"v": FORMAT_VERSION, "store_id": store_id, "seq": int(seq), "entry_hash": entry_hash,
            "time": utc_text(time or datetime.now(UTC)), "key_id": key.key_id, "prev_checkpoint_hash": prev}
    return {**body, "mac": key.mac(CHECKPOINT, canonical_json(body))}


def line_problem(line: Any, keyring: KeyRing, store_id: str | None) -> str | None:
    """Why ``line`` is not a valid checkpoint of store ``store_id`` (None when it is)."""
    if not isinstance(line, dict) or any(k not in line for k in (*FIELDS, "mac")):
        return "is not a checkpoint (fields missing)"
    if line["v"] != FORMAT_VERSION:
        return f"has format version {line['v']!r}, not {FORMAT_VERSION}"
    if store_id is not None and line["store_id"] != store_id:
        return f"belongs to another store ({line['store_id']})"
    if not isinstance(line["seq"], int) or line["seq"] < 0:
        return "has no valid seq"
    key = keyring.find(line["key_id"]) if isinstance(line["key_id"], str) else None
    if key is None:
        return f"is under key {line['key_id']!r}, which is not in the key ring"
    body = {k: line[k] for k in FIELDS}
    if not isinstance(line["mac"], str) or key.mac(CHECKPOINT, canonical_json(body)) != line["mac"]:
        return "does not match its MAC (forged or altered)"
    return None


class CheckpointLogMissing(AuditKeyError):
    """The store's checkpoint log is not where it should be."""


@dataclass
class ReadLog:
    """The lines of a checkpoint log as read: parsed lines (with their line numbers) and problems."""

    lines: list[tuple[int, dict[str, Any]]]
    problems: list[str]
    torn_tail: bool = False


class CheckpointLog:
    """The checkpoint log of one store in the audit folder."""

    def __init__(self, directory: Path, store_id: str):
        self.store_id = store_id
        self.path = Path(directory) / "checkpoints" / f"{store_id}.jsonl"

    # --- writing ----------------------------------------------------------------------------------------

    def append(self, key: AuditKey, seq: int, entry_hash: str, *,
               create: bool = False) -> dict[str, Any] | None:
        """Append a checkpoint of entry ``seq`` (fsynced); returns the line, or None when the log already
        ends at ``seq`` or beyond. The log is started only with ``create`` (when a store is sealed, or
        its log restarted on the record): a missing log is never silently begun again."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        created = not self.path.exists()
        if created and not create:
            raise CheckpointLogMissing(self.missing_message())
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            last = self._last_line(fd)
            if last is not None and isinstance(last.get("seq"), int) and last["seq"] >= seq:
                return None
            prev = GENESIS if last is None else line_hash(last)
            line = make_line(key, store_id=self.store_id, seq=seq, entry_hash=entry_hash, prev=prev)
            os.write(fd, (canonical_json(line) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)  # releases the lock
        if created:
            _fsync_dir(self.path.parent)
        return line

    @staticmethod
    def _last_line(fd: int) -> dict[str, Any] | None:
        """The last complete line of the open log; a torn last line (a crash mid-write) is cut off."""
        size = os.lseek(fd, 0, os.SEEK_END)
        if size == 0:
            return None
        chunk, pos = b"", size
        while pos > 0:
            step = min(4096, pos)
            pos -= step
            os.lseek(fd, pos, os.SEEK_SET)
            chunk = os.read(fd, step) + chunk
            if chunk.count(b"\n") >= 2 or (pos == 0 and b"\n" in chunk):
                break
        if not chunk.endswith(b"\n"):  # torn tail: drop it so the next line starts clean
            cut = chunk.rfind(b"\n")
            os.ftruncate(fd, pos + cut + 1 if cut >= 0 else 0)
            chunk = chunk[:cut + 1] if cut >= 0 else b""
            if not chunk:
                return None
        lines = chunk.rstrip(b"\n").split(b"\n")
        try:
            return json.loads(lines[-1])
        except ValueError:
            return {"seq": None}

    # --- reading ----------------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_file()

    def missing_message(self) -> str:
        return (f"the checkpoint log {self.path} of store {self.store_id} is missing: restore it from its "
                "backup (without it, removal of the newest audit entries cannot be ruled out); if it is lost "
                "for good, `fluxwise audit checkpoint --restart-log --reason ...` starts a new one, on the "
                "record")

    def read(self, keyring: KeyRing) -> ReadLog:
        """Every line, checked: MACs, the chain of ``prev_checkpoint_hash``, seqs and times in order."""
        problems: list[str] = []
        out: list[tuple[int, dict[str, Any]]] = []
        data = self.path.read_bytes()
        torn = bool(data) and not data.endswith(b"\n")
        raw = data.split(b"\n")
        if torn:
            raw = raw[:-1]  # a line cut by a crash while it was written: not counted, not an alarm
        prev, prev_seq, prev_time = GENESIS, -1, ""
        for number, text in enumerate(raw, start=1):
            if not text.strip():
                continue
            where = f"checkpoint log line {number}"
            try:
                line = json.loads(text)
            except ValueError:
                problems.append(f"{where} is not JSON (the log was edited)")
                continue
            why = line_problem(line, keyring, self.store_id)
            if why is not None:
                problems.append(f"{where} {why}")
                continue
            if line["prev_checkpoint_hash"] != prev:
                problems.append(f"{where} does not follow the line before it (lines were removed, "
                                "inserted or reordered)")
            if line["seq"] < prev_seq:
                problems.append(f"{where}: seq {line['seq']} comes after seq {prev_seq}")
            if line["time"] < prev_time:
                problems.append(f"{where}: its time {line['time']} is before the previous line's {prev_time}")
            prev, prev_seq, prev_time = line_hash(line), line["seq"], line["time"]
            out.append((number, line))
        return ReadLog(out, problems, torn)


def export_line(line: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint line as exported for safe keeping elsewhere (``fluxwise audit checkpoint``)."""
    body = {k: line[k] for k in (*FIELDS, "mac")}
    return {"fluxwise_checkpoint": body, "checkpoint_sha256": sha256_hex(canonical_json(body))}


def checkpoint_bytes(line: dict[str, Any]) -> bytes:
    """The bytes an RFC 3161 timestamp of an exported checkpoint covers: its canonical JSON."""
    return canonical_json({k: line[k] for k in (*FIELDS, "mac")}).encode("utf-8")
