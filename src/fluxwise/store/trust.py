"""What a store trusts outside itself: the audit folder with its key ring and checkpoint logs.

A :class:`Trust` is handed to every session of a :class:`~fluxwise.store.database.Database`
(``session.info["fluxwise_trust"]``): :func:`fluxwise.store.audit.append` takes the key from it, and
after each commit that added entries the newest one is checkpointed into the log (see
:mod:`fluxwise.store.checkpoints`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from .checkpoints import CheckpointLog
from .keyring import ENV_AUDIT_DIR, AuditKeyError, KeyRing, default_audit_dir, is_within

log = logging.getLogger(__name__)

INFO_KEY = "fluxwise_trust"
_PENDING = "fluxwise_checkpoint"


@dataclass
class Trust:
    """The key ring and checkpoint logs of the audit folder ``directory``."""

    keyring: KeyRing

    @property
    def directory(self) -> Path:
        return self.keyring.directory

    @classmethod
    def from_env(cls, audit_dir: str | Path | None = None, *, data_folder: Path | None = None) -> Trust:
        """The audit folder ``audit_dir`` (else ``$FLUXWISE_AUDIT_DIR``, else the user config dir) and the
        key in the environment. ``data_folder`` (a SQLite store's folder) must not contain it."""
        directory = Path(audit_dir).expanduser() if audit_dir is not None else default_audit_dir()
        if data_folder is not None and is_within(directory, data_folder):
            raise AuditKeyError(
                f"the audit folder {directory} is inside the store's data folder {data_folder}: keep the "
                f"audit key and checkpoint log elsewhere (set ${ENV_AUDIT_DIR} to a folder outside it), "
                "so that a copy of the data folder does not carry the key that seals it")
        return cls(KeyRing.from_env(directory))

    def checkpoint_log(self, store_id: str) -> CheckpointLog:
        return CheckpointLog(self.directory, store_id)

    def checkpoint(self, store_id: str, seq: int, entry_hash: str, key_id: str, *,
                   create: bool = False) -> None:
        """Append a checkpoint of entry ``seq`` to the store's log (after its commit); ``create`` starts the
        log (only when the store is sealed)."""
        self.checkpoint_log(store_id).append(self.keyring.get(key_id), seq, entry_hash, create=create)


def trust_of(session: Session) -> Trust:
    trust = session.info.get(INFO_KEY)
    if trust is None:
        raise AuditKeyError("this session has no audit key: open the store with "
                            "fluxwise.store.open_database (its sessions carry the key)")
    return trust


def note_appended(session: Session, store_id: str, seq: int, entry_hash: str, key_id: str) -> None:
    """Remember the newest entry of this transaction; it is checkpointed once the transaction commits."""
    session.info[_PENDING] = (store_id, seq, entry_hash, key_id)


def after_commit(session: Session) -> None:
    """Session hook: checkpoint the newest entry the committed transaction added (never raises: the
    commit has happened; a failed checkpoint is logged, and the next commit covers it)."""
    pending = session.info.pop(_PENDING, None)
    trust = session.info.get(INFO_KEY)
    if pending is None or trust is None:
        return
    try:
        trust.checkpoint(*pending)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not append to the audit checkpoint log of store %s", pending[0])


def after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
