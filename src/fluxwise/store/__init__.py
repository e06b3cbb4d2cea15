"""The workbench store: SQLAlchemy models, sessions, migrations, tenancy and the audit trail.

Modules, bottom to top: ``models`` (tables), ``canonical`` (hashable JSON), ``keyring`` (audit keys
outside the database), ``checkpoints`` (the checkpoint log), ``trust`` (both, handed to sessions),
``protection`` (triggers that refuse changes), ``database`` (URL, engine, sessions, Alembic
migrations), ``audit`` (the keyed hash chain), ``sealing`` (a store's first key, rotation),
``accounts`` (organisations, users, passwords, sessions, tokens, lockout), ``tenancy`` (scoped
lookups), ``projects``, ``invitations`` (consent across organisations), ``uploads``, ``results`` and
``reviews`` (of the audit trail) — the operations the doors perform, each with its audit entry —,
``verify`` (``fluxwise audit verify``) and ``record_checks`` (one record, checked whenever it is
shown). The doors commit.
"""

from .audit import audit_verify_main, verify_chain
from .database import Database, open_database, resolve_database_url
from .verify import VerifyReport, verify_store

__all__ = ["Database", "VerifyReport", "audit_verify_main", "open_database", "resolve_database_url",
           "verify_chain", "verify_store"]
