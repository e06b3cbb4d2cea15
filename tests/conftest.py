"""Shared fixtures: a fresh, migrated store on SQLite or on a throwaway PostgreSQL cluster.

``database_url`` is parametrised over both backends; a test that takes it (directly or through a
fixture) runs once on each. Every store's audit key and checkpoint log live in an audit folder outside
its data folder: ``FLUXWISE_AUDIT_DIR`` points at a temporary one for the whole session, and each
``database_url`` store gets its own copy of its template's (same key, same log). The PostgreSQL
cluster is started once per session on a free loopback
port from the binaries of the Debian ``postgresql`` package (as the ``postgres`` user when running as
root) and stopped at the end. Without the binaries the PostgreSQL cases are skipped — or fail when
``CI`` is set, so CI cannot go green without them (``scripts/test-services.sh`` installs them).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session", autouse=True)
def _audit_dir(tmp_path_factory):
    """A temporary audit folder (keys, checkpoint logs) for stores the tests make: never the user's."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("FLUXWISE_AUDIT_KEY", "FLUXWISE_AUDIT_KEY_FILE"):
            mp.delenv(name, raising=False)
        directory = tmp_path_factory.mktemp("audit")
        mp.setenv("FLUXWISE_AUDIT_DIR", str(directory))
        yield directory


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """Argon2id with minimal cost: the suite logs in hundreds of times (production hashes use
    ``accounts.PASSWORD_HASH_PARAMETERS``)."""
    from argon2 import PasswordHasher

    from fluxwise.store import accounts

    previous = accounts.set_password_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    accounts.set_password_hasher(previous)


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """A PostgreSQL cluster in a temporary directory, on 127.0.0.1, trusting local connections."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        self.root = Path(tempfile.mkdtemp(prefix="fluxwise-pg-"))
        self.datadir = self.root / "data"
        self.port = _free_port()
        self.log = self.root / "server.log"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}\n{log}")

    def start(self) -> None:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._run("pg_ctl", "-D", str(self.datadir), "-l", str(self.log), "-o", opts, "-w", "-t", "60",
                  "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"


@pytest.fixture(scope="session")
def postgres_cluster():
    """A running throwaway PostgreSQL cluster (skipped without binaries, unless CI is set)."""
    bindir = _pg_bindir()
    if bindir is None:
        message = "PostgreSQL binaries (initdb, pg_ctl) not found; run scripts/test-services.sh"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(message + " — CI must test PostgreSQL", pytrace=False)
        pytest.skip(message)
    cluster = PostgresCluster(bindir)
    cluster.start()
    yield cluster
    cluster.stop()


def _admin_execute(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> tuple[Path, Path]:
    """A migrated SQLite store and its audit folder, copied for each test (migrating every time would be
    slower)."""
    from fluxwise.store.database import open_database

    directory = tmp_path_factory.mktemp("sqlite-template")
    audit_dir = tmp_path_factory.mktemp("sqlite-template-audit")
    db = open_database(f"sqlite:///{directory / 'fluxwise.sqlite3'}", audit_dir=audit_dir)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return directory / "fluxwise.sqlite3", audit_dir


@pytest.fixture(scope="session")
def _postgres_template(postgres_cluster, tmp_path_factory) -> tuple[str, Path]:
    """Name of a migrated PostgreSQL database that each test's database is created from, and its
    audit folder."""
    from fluxwise.store.database import open_database

    audit_dir = tmp_path_factory.mktemp("postgres-template-audit")
    _admin_execute(postgres_cluster.url(), "CREATE DATABASE fluxwise_template")
    open_database(postgres_cluster.url("fluxwise_template"), audit_dir=audit_dir).dispose()
    return "fluxwise_template", audit_dir


_counter = itertools.count()


@pytest.fixture
def audit_dir(tmp_path_factory) -> Path:
    """This test's audit folder (``$FLUXWISE_AUDIT_DIR`` while a ``database_url`` store is in use)."""
    return tmp_path_factory.mktemp("audit")


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path, audit_dir, monkeypatch):
    """URL of a fresh, migrated, empty store — once on SQLite, once on PostgreSQL; its audit folder
    (key and checkpoint log) is :func:`audit_dir`, set as ``$FLUXWISE_AUDIT_DIR``."""
    monkeypatch.setenv("FLUXWISE_AUDIT_DIR", str(audit_dir))
    if request.param == "postgresql":
        cluster = request.getfixturevalue("postgres_cluster")
        template, template_audit = request.getfixturevalue("_postgres_template")
        shutil.copytree(template_audit, audit_dir, dirs_exist_ok=True)
        name = f"fluxwise_test_{os.getpid()}_{next(_counter)}"
        _admin_execute(cluster.url(), f"CREATE DATABASE {name} TEMPLATE {template}")
        yield cluster.url(name)
        _admin_execute(cluster.url(), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        template, template_audit = request.getfixturevalue("_sqlite_template")
        shutil.copytree(template_audit, audit_dir, dirs_exist_ok=True)
        target = tmp_path / "store" / "fluxwise.sqlite3"
        target.parent.mkdir()
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"


@pytest.fixture
def db(database_url):
    """An open :class:`fluxwise.store.database.Database` on ``database_url`` (disposed afterwards)."""
    from fluxwise.store.database import open_database

    database = open_database(database_url, create=False)
    yield database
    database.dispose()


@pytest.fixture
def app(db):
    """The HTTP API (``create_app``) on a fresh store of each backend."""
    from fluxwise.api import create_app
    from fluxwise.api.deps import ApiSettings

    return create_app(db=db, settings=ApiSettings(secret_key="test-secret"))


@pytest.fixture
def client(app):
    """A ``fastapi.testclient.TestClient`` on :func:`app`."""
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@dataclass
class Member:
    """A user made by :func:`make_user`: credentials, public ids and a ready API token."""

    email: str
    password: str
    user_id: str
    org_id: str | None
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_user(db):
    """Factory ``make_user(email, org="Org A", role="scientist", kind="customer") -> Member``.

    Creates the organisation (by name, once per test) and the user, makes them a member with
    ``role`` and gives them an API token. The password is ``"correct horse " + email``.
    """
    from sqlalchemy import select

    from fluxwise.store import accounts
    from fluxwise.store.models import Organisation

    orgs: dict[str, str] = {}

    def make(email: str, org: str | None = "Org A", role: str = "scientist",
             kind: str = "customer") -> Member:
        password = "correct horse " + email
        with db.session(write=True) as s:
            user = accounts.create_user(s, email, email.split("@")[0].upper(), password)
            org_id = None
            if org is not None:
                if org not in orgs:
                    orgs[org] = accounts.create_organisation(s, org, kind).public_id
                organisation = s.scalar(select(Organisation).where(Organisation.public_id == orgs[org]))
                accounts.add_member(s, user, organisation, role)
                org_id = organisation.public_id
            token, _ = accounts.create_api_token(s, user, "tests")
            s.commit()
            return Member(email, password, user.public_id, org_id, token)

    return make
