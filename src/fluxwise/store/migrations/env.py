"""Alembic environment for the fluxwise store.

Run programmatically by :func:`fluxwise.store.database.migrate`, which hands over an open connection
in ``config.attributes["connection"]``. The ``sqlalchemy.url`` option is used only when a developer
runs Alembic by hand (``alembic -x`` style tooling) without one.
"""

from __future__ import annotations

from alembic import context

from fluxwise.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from fluxwise.store.database import make_engine, resolve_database_url

    engine = make_engine(resolve_database_url(config.get_main_option("sqlalchemy.url") or None))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("fluxwise migrations run online only (fluxwise.store.database.migrate)")
run_migrations_online()
