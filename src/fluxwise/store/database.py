"""Where the store lives and how to talk to it: URL resolution, engines, sessions, migrations.

By default the store is one SQLite file in a data directory (``FLUXWISE_DATA_DIR``, else the user data
directory of the platform), in WAL mode with a busy timeout, so that a laptop needs no server. When
``FLUXWISE_DATABASE_URL`` is set (``postgresql+psycopg://user:pw@host/db``) that database is used
instead. Either way the schema is created or upgraded by Alembic on first use, from the migrations
shipped inside this package.

SQLite transactions: pysqlite's own transaction handling is switched off and ``BEGIN`` is emitted
here. Sessions that will write start with ``BEGIN IMMEDIATE``, which takes SQLite's write lock up
front (waiting up to the busy timeout) instead of failing half-way when two writers meet; read
sessions start a plain deferred ``BEGIN`` and never block on writers in WAL mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from ..errors import InputError

ENV_DATABASE_URL = "FLUXWISE_DATABASE_URL"
ENV_DATA_DIR = "FLUXWISE_DATA_DIR"
SQLITE_FILENAME = "fluxwise.sqlite3"
BUSY_TIMEOUT_MS = 10_000
MIGRATIONS = "fluxwise.store:migrations"
# Any constant; it keys the PostgreSQL advisory lock that serialises concurrent first-run migrations.
_MIGRATION_LOCK_KEY = 7_146_925_013


def default_data_dir() -> Path:
    """``$FLUXWISE_DATA_DIR``, else the platform's user data directory for fluxwise."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("fluxwise", appauthor=False))


def resolve_database_url(database_url: str | None = None, data_dir: str | os.PathLike | None = None) -> str:
    """The database URL to use: the argument, else ``$FLUXWISE_DATABASE_URL``, else SQLite in the data dir.

    A ``postgresql://`` or ``postgres://`` URL is given the psycopg 3 driver.
    """
    url = database_url or os.environ.get(ENV_DATABASE_URL)
    if not url:
        directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        return f"sqlite:///{directory / SQLITE_FILENAME}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain):]
    return url


def _install_sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = conn.get_execution_options().get("fluxwise_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with the settings fluxwise relies on (see module docstring)."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        if sa_url.database and sa_url.database != ":memory:":
            Path(sa_url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = sa.create_engine(sa_url, **kwargs)
        _install_sqlite_events(engine)
        return engine
    if sa_url.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(sa_url, **kwargs)
    raise InputError(f"unsupported database URL scheme '{sa_url.drivername}': use sqlite:/// or "
                     "postgresql+psycopg://", field=ENV_DATABASE_URL)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` with the packaged Alembic migrations.

    Safe when several processes start at once: SQLite's write lock (``BEGIN IMMEDIATE``) or a
    PostgreSQL advisory lock lets one migrate while the others wait and then find nothing to do.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    if engine.dialect.name == "sqlite":
        _migrate_sqlite(engine, cfg, revision)
        return
    with engine.execution_options(fluxwise_write=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _migrate_sqlite(engine: Engine, cfg, revision: str) -> None:
    """Migrate SQLite with foreign keys off, as SQLite asks for table rebuilds (copy, drop, rename:
    rows of other tables point at the dropped table's rows). They are checked before the commit."""
    from alembic import command

    with engine.connect() as conn:
        dbapi_conn = conn.connection.dbapi_connection
        dbapi_conn.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction
        try:
            with conn.execution_options(fluxwise_write=True).begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows that point nowhere: {broken[:5]}")
        finally:
            dbapi_conn.execute("PRAGMA foreign_keys = ON")


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclass
class Database:
    """An engine and its two session factories: read sessions and write sessions.

    Use ``with db.session(write=True) as s: ...; s.commit()`` for changes. Objects stay readable
    after commit (``expire_on_commit=False``) so that responses can be built from them.
    """

    url: str
    engine: Engine

    def __post_init__(self):
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write = sessionmaker(bind=self.engine.execution_options(fluxwise_write=True),
                                   expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def new_session(self, *, write: bool = False) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        s = self.new_session(write=write)
        try:
            yield s
        finally:
            s.close()

    def migrate(self) -> None:
        migrate(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(database_url: str | None = None, data_dir: str | os.PathLike | None = None, *,
                  create: bool = True, **engine_kwargs) -> Database:
    """Open the store (see :func:`resolve_database_url`), creating or upgrading its schema if ``create``."""
    url = resolve_database_url(database_url, data_dir)
    db = Database(url=url, engine=make_engine(url, **engine_kwargs))
    if create:
        db.migrate()
    return db
