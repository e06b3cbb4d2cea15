"""Where the store lives and how to talk to it: URL resolution, engines, sessions, migrations.

By default the store is one SQLite file in a data directory (``FLUXWISE_DATA_DIR``, else the user data
directory of the platform), in WAL mode with a busy timeout, so that a laptop needs no server. When
``FLUXWISE_DATABASE_URL`` is set (``postgresql+psycopg://user:pw@host/db``) that database is used
instead. Either way the schema is created or upgraded by Alembic on first use, from the migrations
shipped inside this package; every upgrade to the newest schema then seals the audit trail under its
key if it has none (:mod:`fluxwise.store.sealing`) and (re)installs the triggers that refuse changes
to the record (:mod:`fluxwise.store.protection`).

Durability: SQLite runs with ``synchronous = FULL``, so the WAL is fsynced at every commit and an
acknowledged upload or signature survives the machine losing power (``NORMAL`` would only protect
against the process crashing). On PostgreSQL that is the server's business: :func:`durability_warnings`
says when it runs with ``fsync`` or ``synchronous_commit`` off, and ``fluxwise serve`` prints it.

SQLite transactions: pysqlite's own transaction handling is switched off and ``BEGIN`` is emitted
here. Sessions that will write start with ``BEGIN IMMEDIATE``, which takes SQLite's write lock up
front (waiting up to the busy timeout) instead of failing half-way when two writers meet; read
sessions start a plain deferred ``BEGIN`` and never block on writers in WAL mode.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from ..errors import FluxwiseError, InputError

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
        cur.execute("PRAGMA synchronous = FULL")  # fsync the WAL at every commit (see module docstring)
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


class StoreBusy(FluxwiseError):
    """No write transaction could be started in time (the store is overloaded): try again."""

    retry_after_s = 5


#: Longest a write session waits for this process's other writers on SQLite (see Database.session).
WRITE_WAIT_S = 30.0


class MigrationRefused(FluxwiseError):
    """The store needs a migration that this connection may not (or should not) run."""


def sqlite_folder(url: str) -> Path | None:
    """The folder of a SQLite store's file (None for PostgreSQL or an in-memory database)."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite" or not sa_url.database or sa_url.database == ":memory:":
        return None
    return Path(sa_url.database).expanduser().resolve().parent


def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    return cfg


def head_revision() -> str:
    """The newest revision among the packaged migrations."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def _up_to_date(conn) -> bool:
    """Schema at the newest revision, trail sealed, protection in place: nothing for a migration to do."""
    from alembic.runtime.migration import MigrationContext

    from . import protection

    if MigrationContext.configure(conn).get_current_revision() != head_revision():
        return False
    key_id = conn.exec_driver_sql("SELECT key_id FROM audit_head WHERE id = 1").scalar()
    return key_id is not None and not protection.missing(conn)


def migrate(engine: Engine, revision: str = "head", *, trust=None) -> None:
    """Create or upgrade the schema to ``revision`` with the packaged Alembic migrations; at the newest
    revision, also seal the trail under its key (``trust``: default from the environment) and install
    the protection triggers, in the same transaction.

    Safe when several processes start at once: SQLite's write lock (``BEGIN IMMEDIATE``) or a
    PostgreSQL advisory lock lets one migrate while the others wait and then find nothing to do. A store
    that is up to date is left alone without any DDL, so an application role that does not own the
    tables can open it; one that is behind needs ``fluxwise db upgrade`` as the owner.
    """
    from alembic import command
    from sqlalchemy.exc import ProgrammingError

    from . import protection, sealing
    from .trust import Trust

    cfg = _alembic_config()
    to_head = revision == "head" or revision == head_revision()
    if to_head and trust is None:
        trust = Trust.from_env(data_folder=sqlite_folder(str(engine.url)))
    sealed: list = []

    def upgrade(conn) -> None:
        if to_head and _up_to_date(conn):
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        if to_head:
            checkpoint = sealing.seal(conn, trust)
            if checkpoint is not None:
                sealed.append(checkpoint)
            protection.install(conn)

    if engine.dialect.name == "sqlite":
        _migrate_sqlite(engine, upgrade)
    else:
        try:
            with engine.execution_options(fluxwise_write=True).begin() as conn:
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
                upgrade(conn)
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
                raise
            raise MigrationRefused(
                f"the store at {engine.url.render_as_string(hide_password=True)} needs a migration that this "
                "role may not run; run `fluxwise db upgrade --database-url <owner URL> --app-role <this "
                "role>` "
                f"as the owner of its tables ({str(exc.orig).splitlines()[0]})") from None
    for cp in sealed:  # after the commit, as every checkpoint
        trust.checkpoint(cp.store_id, cp.seq, cp.entry_hash, cp.key_id, create=True)


def _migrate_sqlite(engine: Engine, upgrade) -> None:
    """Migrate SQLite with foreign keys off, as SQLite asks for table rebuilds (copy, drop, rename:
    rows of other tables point at the dropped table's rows). They are checked before the commit."""
    with engine.connect() as conn:
        dbapi_conn = conn.connection.dbapi_connection
        dbapi_conn.execute("PRAGMA foreign_keys = OFF")  # only outside a transaction
        try:
            with conn.execution_options(fluxwise_write=True).begin():
                upgrade(conn)
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
    """An engine, the audit folder it trusts, and its two session factories: read and write sessions.

    Use ``with db.session(write=True) as s: ...; s.commit()`` for changes. Objects stay readable
    after commit (``expire_on_commit=False``) so that responses can be built from them. Every session
    carries the :class:`~fluxwise.store.trust.Trust` (audit keys), and a commit that added audit entries
    checkpoints the newest one.
    """

    url: str
    engine: Engine
    trust: object = None

    def __post_init__(self):
        from . import trust as trust_module

        if self.trust is None:
            self.trust = trust_module.Trust.from_env(data_folder=sqlite_folder(self.url))
        info = {trust_module.INFO_KEY: self.trust}
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False, info=info)
        self._write = sessionmaker(bind=self.engine.execution_options(fluxwise_write=True),
                                   expire_on_commit=False, info=info)
        self._sqlite_writers = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        for factory in (self._read, self._write):
            event.listen(factory, "after_commit", trust_module.after_commit)
            event.listen(factory, "after_rollback", trust_module.after_rollback)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def new_session(self, *, write: bool = False) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session (``write``: one that takes the write lock at its first statement).

        On SQLite, write sessions of this process also take turns on a lock of their own: SQLite's
        busy handler polls with growing sleeps, so under a burst of writers one can wait out the busy
        timeout while the lock is free most of the time; waiting threads queue here instead, up to
        :data:`WRITE_WAIT_S` (then :class:`StoreBusy`, a 503 with Retry-After at the HTTP door).
        """
        lock = self._sqlite_writers if write else None
        if lock is not None and not lock.acquire(timeout=WRITE_WAIT_S):
            raise StoreBusy(f"the store is busy: no write could start within {WRITE_WAIT_S:.0f} s; try again "
                            "shortly")
        try:
            s = self.new_session(write=write)
            try:
                yield s
            finally:
                s.close()
        finally:
            if lock is not None:
                lock.release()

    def migrate(self) -> None:
        migrate(self.engine, trust=self.trust)

    def check_key(self) -> None:
        """Raise :class:`~fluxwise.store.keyring.AuditKeyError` unless the store's current audit key is at
        hand (and any key given in the environment is that key) and its checkpoint log is there."""
        from .keyring import AuditKeyError
        from .models import AuditHead
        from .verify import current_key_problem

        if current_revision(self.engine) is None:
            return
        with self.session() as s:
            problem = current_key_problem(s, self.trust)
            head = s.get(AuditHead, 1)
        if problem is not None:
            raise AuditKeyError(problem)
        if head is not None and head.store_id is not None:
            log = self.trust.checkpoint_log(head.store_id)
            if not log.exists():
                raise AuditKeyError(log.missing_message())

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(database_url: str | None = None, data_dir: str | os.PathLike | None = None, *,
                  create: bool = True, audit_dir: str | os.PathLike | None = None,
                  **engine_kwargs) -> Database:
    """Open the store (see :func:`resolve_database_url`), creating or upgrading its schema if ``create``.

    ``audit_dir`` is the folder of its audit keys and checkpoint log (default: ``$FLUXWISE_AUDIT_DIR``,
    else the user config dir; see :mod:`fluxwise.store.keyring`). Raises
    :class:`~fluxwise.store.keyring.AuditKeyError` when the store's key is not at hand.
    """
    from .trust import Trust

    url = resolve_database_url(database_url, data_dir)
    trust = Trust.from_env(audit_dir, data_folder=sqlite_folder(url))
    db = Database(url=url, engine=make_engine(url, **engine_kwargs), trust=trust)
    try:
        if create:
            db.migrate()
        db.check_key()
    except BaseException:
        db.dispose()
        raise
    return db


def durability_warnings(engine: Engine) -> list[str]:
    """PostgreSQL settings under which an acknowledged commit can be lost on a power cut."""
    if engine.dialect.name != "postgresql":
        return []
    out = []
    with engine.connect() as conn:
        for name in ("fsync", "synchronous_commit"):
            value = conn.exec_driver_sql(f"SHOW {name}").scalar()
            if str(value).lower() == "off":
                out.append(f"PostgreSQL runs with {name} = off: a record acknowledged just before a crash or "
                           "power cut can be lost; turn it on for production")
    return out
