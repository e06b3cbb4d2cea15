"""The database refuses to change the record: triggers (and, on PostgreSQL, privileges).

Protected tables — the audit trail, signatures, result versions, result deletions, the deletions of
uploads and trials and the restorations — take new rows only. On PostgreSQL a trigger refuses every
UPDATE and DELETE (row level) and TRUNCATE (statement level) whoever runs them, and ``fluxwise db
upgrade --app-role ROLE`` grants the application's role SELECT and INSERT on them but never UPDATE,
DELETE or TRUNCATE; the tables belong to the role that ran the upgrade (an owner can disable triggers,
so the application should not be it). On SQLite triggers refuse UPDATE and DELETE, and a BEFORE INSERT
trigger on the trail refuses any ``seq`` other than max + 1: ``INSERT OR REPLACE`` deletes the row it
replaces without firing DELETE triggers, so without it one could overwrite an entry. SQLite triggers
stop a program (ours, or a bug in it) from changing the record; anyone who can write the database file
can drop them — which is why the trail is also keyed and checkpointed.

:func:`install` is idempotent and is run at the end of every migration (a SQLite table rebuild drops a
table's triggers with it), so the triggers survive migrations. :func:`missing` lists what is absent;
``fluxwise audit verify`` reports it.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

#: Tables that take new rows only.
PROTECTED_TABLES = ("audit_entries", "signatures", "results", "result_deletions", "deletions",
                    "restorations")
_PG_FUNCTION = "fluxwise_refuse_change"
_PG_SEQ_FUNCTION = "fluxwise_audit_next_seq"


def _tables(conn: Connection) -> tuple[str, ...]:
    """The protected tables this store has (an older revision lacks the newer ones)."""
    from sqlalchemy import inspect

    have = set(inspect(conn).get_table_names())
    return tuple(t for t in PROTECTED_TABLES if t in have)


def _names(dialect: str, tables: tuple[str, ...] = PROTECTED_TABLES) -> list[str]:
    names = []
    for table in tables:
        if dialect == "sqlite":
            names += [f"{table}_no_update", f"{table}_no_delete"]
        else:
            names += [f"{table}_append_only", f"{table}_no_truncate"]
    names.append("audit_entries_next_seq")
    return names


def _sqlite_statements(tables: tuple[str, ...] = PROTECTED_TABLES) -> list[str]:
    out = []
    for table in tables:
        for op in ("update", "delete"):
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table} BEGIN "
                f"SELECT RAISE(ABORT, 'fluxwise: {table} rows are never changed or removed ({op.upper()} "
                "refused)'); END")
    out.append(
        "CREATE TRIGGER IF NOT EXISTS audit_entries_next_seq BEFORE INSERT ON audit_entries "
        "WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_entries) BEGIN "
        "SELECT RAISE(ABORT, 'fluxwise: audit entries are appended with seq = max(seq) + 1 only'); END")
    return out


def _pg_statements(tables: tuple[str, ...] = PROTECTED_TABLES) -> list[str]:
    out = [
        f"""CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'fluxwise: % on % refused: its rows are never changed or removed', TG_OP, TG_TABLE_NAME;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {_PG_SEQ_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq IS DISTINCT FROM (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_entries) THEN
    RAISE EXCEPTION 'fluxwise: audit entries are appended with seq = max(seq) + 1 only';
  END IF;
  RETURN NEW;
END $$""",
    ]
    for table in tables:
        out += [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()"]
    out += ["DROP TRIGGER IF EXISTS audit_entries_next_seq ON audit_entries",
            "CREATE TRIGGER audit_entries_next_seq BEFORE INSERT ON audit_entries "
            f"FOR EACH ROW EXECUTE FUNCTION {_PG_SEQ_FUNCTION}()"]
    return out


def present(conn: Connection) -> set[str]:
    """Names of the protection triggers that exist (enabled, on PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
    else:
        rows = conn.exec_driver_sql(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relnamespace = "
            "to_regnamespace(current_schema())::oid").scalars()
    return set(rows)


def missing(conn: Connection) -> list[str]:
    """Protection triggers that are absent (or disabled), by name."""
    have = present(conn)
    return [name for name in _names(conn.dialect.name, _tables(conn)) if name not in have]


def install(conn: Connection) -> None:
    """Create the protection triggers that are missing (run by the owner of the tables), on the
    protected tables this store's revision has."""
    tables = _tables(conn)
    if conn.dialect.name == "sqlite":
        for statement in _sqlite_statements(tables):
            conn.exec_driver_sql(statement)
        return
    if not missing(conn):
        return
    for statement in _pg_statements(tables):
        conn.exec_driver_sql(statement.replace("%", "%%"))  # psycopg reads % as a placeholder


def remove(conn: Connection) -> None:
    """Drop the protection triggers (for a migration that must rewrite a protected table; the next
    :func:`install` puts them back)."""
    dialect = conn.dialect.name
    for table in _tables(conn):
        if dialect == "sqlite":
            for op in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
        else:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    if dialect == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_entries_next_seq")
    else:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_entries_next_seq ON audit_entries")


def grant_app_role(conn: Connection, role: str) -> None:
    """PostgreSQL: let ``role`` (the application's login role) read everything and add rows, change
    only unprotected tables, and never UPDATE, DELETE or TRUNCATE a protected one."""
    if conn.dialect.name != "postgresql":
        raise ValueError("roles and grants exist on PostgreSQL only")
    quoted = conn.dialect.identifier_preparer.quote(role)
    tables = conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars().all()
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {conn.dialect.identifier_preparer.quote_schema('public')} "
                         f"TO {quoted}")
    for table in tables:
        t = conn.dialect.identifier_preparer.quote(table)
        conn.exec_driver_sql(f"REVOKE ALL ON {t} FROM PUBLIC")
        if table == "alembic_version":
            conn.exec_driver_sql(f"REVOKE ALL ON {t} FROM {quoted}")
            conn.exec_driver_sql(f"GRANT SELECT ON {t} TO {quoted}")
        elif table in PROTECTED_TABLES:
            conn.exec_driver_sql(f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {t} FROM {quoted}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT ON {t} TO {quoted}")
        else:
            conn.exec_driver_sql(f"REVOKE TRUNCATE, TRIGGER ON {t} FROM {quoted}")
            conn.exec_driver_sql(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {quoted}")
    conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")


def owns_tables(conn: Connection) -> bool:
    """PostgreSQL: whether the connected role owns the trail's table or is a superuser (and so could
    disable the triggers)."""
    if conn.dialect.name != "postgresql":
        return False
    row = conn.exec_driver_sql(
        "SELECT pg_has_role(current_user, tableowner, 'USAGE'), "
        "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user) "
        "FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'audit_entries'").first()
    return bool(row and (row[0] or row[1]))
