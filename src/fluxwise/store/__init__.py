"""The workbench store: SQLAlchemy models, sessions, migrations, tenancy and the audit trail.

Modules, bottom to top: ``models`` (tables), ``canonical`` (hashable JSON), ``database`` (URL, engine,
sessions, Alembic migrations), ``audit`` (hash-chained trail), ``accounts`` (organisations, users,
passwords, sessions, tokens, lockout), ``tenancy`` (scoped lookups), ``projects``, ``invitations``
(consent across organisations), ``uploads``, ``results`` and ``reviews`` (of the audit trail) — the
operations the doors perform, each with its audit entry. The doors commit.
"""

from .audit import VerifyReport, audit_verify_main, verify_chain
from .database import Database, open_database, resolve_database_url

__all__ = ["Database", "VerifyReport", "audit_verify_main", "open_database", "resolve_database_url",
           "verify_chain"]
