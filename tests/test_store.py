"""The store: where it lives, migrations, engine settings, binary fidelity, tenancy queries, result
versions and login throttling — on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import select, update

from fluxwise.errors import InputError
from fluxwise.store import accounts, projects, results, tenancy, uploads
from fluxwise.store.canonical import canonical_json
from fluxwise.store.database import (
    SQLITE_FILENAME,
    current_revision,
    head_revision,
    make_engine,
    open_database,
    resolve_database_url,
)
from fluxwise.store.models import AuditEntry, LoginFailure, Project, ResultVersion, Upload, User
from fluxwise.trial import Trial

HEAD = head_revision()


def _trial(area_m2=3.5e-4) -> Trial:
    t = np.linspace(0, 1, 11)
    return Trial(t_h=t, v_L_per_m2=100 * t / (1 + t), area_m2=area_m2, mode="constant-pressure",
                 pressure_bar=np.full(11, 1.0), source="x.csv", meta={"note": "made up", "nan": float("nan")})


# --- where the store lives ---------------------------------------------------------------------------

def test_database_url_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("FLUXWISE_DATABASE_URL", raising=False)
    monkeypatch.setenv("FLUXWISE_DATA_DIR", str(tmp_path / "env"))
    assert resolve_database_url() == f"sqlite:///{tmp_path / 'env' / SQLITE_FILENAME}"
    arg = tmp_path / "arg"
    assert resolve_database_url(data_dir=arg) == f"sqlite:///{arg / SQLITE_FILENAME}"
    monkeypatch.setenv("FLUXWISE_DATABASE_URL", "postgresql://u:p@db.example/fw")
    assert resolve_database_url() == "postgresql+psycopg://u:p@db.example/fw"
    assert resolve_database_url("postgres://h/x") == "postgresql+psycopg://h/x"
    assert resolve_database_url("sqlite:///a.db") == "sqlite:///a.db"


def test_default_data_dir_is_the_platform_user_data_dir(monkeypatch):
    import platformdirs

    from fluxwise.store.database import default_data_dir

    monkeypatch.delenv("FLUXWISE_DATA_DIR", raising=False)
    assert str(default_data_dir()) == platformdirs.user_data_dir("fluxwise", appauthor=False)


def test_unsupported_url_is_an_input_error():
    with pytest.raises(InputError, match="unsupported database URL"):
        make_engine("mysql://x/y")


def test_first_run_creates_and_migrates_the_sqlite_file(tmp_path, monkeypatch):
    from fluxwise.api import create_app

    monkeypatch.delenv("FLUXWISE_DATABASE_URL", raising=False)
    monkeypatch.setenv("FLUXWISE_DATA_DIR", str(tmp_path / "data"))
    app = create_app()
    try:
        assert (tmp_path / "data" / SQLITE_FILENAME).is_file()
        assert current_revision(app.state.db.engine) == HEAD
    finally:
        app.state.db.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        db.dispose()


def test_sqlite_write_sessions_take_the_write_lock_up_front(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    statements = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        with db.session(write=True) as s:
            s.execute(sa.text("SELECT 1"))
        with db.session() as s:
            s.execute(sa.text("SELECT 1"))
    finally:
        db.dispose()
    begins = [x for x in statements if x.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


def test_migrations_are_idempotent_and_safe_to_race(database_url):
    # database_url is migrated already: running again, from several threads at once, changes nothing
    db = open_database(database_url, create=False)
    errors = []

    def migrate():
        try:
            db.migrate()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert current_revision(db.engine) == HEAD
        names = set(sa.inspect(db.engine).get_table_names())
        assert names >= {"organisations", "users", "memberships", "projects", "project_shares", "uploads",
                         "trials", "results", "api_tokens", "signatures", "audit_entries", "audit_head"}
    finally:
        db.dispose()


def test_fresh_postgresql_database_is_migrated_on_first_run(postgres_cluster):
    from conftest import _admin_execute

    _admin_execute(postgres_cluster.url(), "CREATE DATABASE fluxwise_fresh")
    db = open_database(postgres_cluster.url("fluxwise_fresh"))
    try:
        assert current_revision(db.engine) == HEAD
    finally:
        db.dispose()


def test_models_match_the_migration(database_url):
    """The packaged migration creates exactly what the models describe (autogenerate finds nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from fluxwise.store.models import Base

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}),
                                    Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


# --- data fidelity ---------------------------------------------------------------------------------------

@pytest.fixture
def tenant(db):
    with db.session(write=True) as s:
        org = accounts.create_organisation(s, "Org A")
        user = accounts.create_user(s, "ua@a.example", "UA", "a long password")
        accounts.add_member(s, user, org, "scientist", actor=user)
        project = projects.create_project(s, org, "P", actor=user)
        s.commit()
        return org.id, user.id, project.id


def test_uploads_keep_every_byte(db, tenant):
    _, user_id, project_id = tenant
    content = bytes(range(256)) * 64 + b"\x00\r\n\xff"
    with db.session(write=True) as s:
        up, rec = uploads.record_upload(s, s.get(Project, project_id), actor=s.get(User, user_id),
                                        filename="all bytes.csv", content_type="text/csv", content=content,
                                        trial=_trial())
        s.commit()
        upload_id = up.id
    with db.session() as s:
        stored = s.get(Upload, upload_id)
        assert stored.content == content and stored.sha256 == hashlib.sha256(content).hexdigest()
        assert stored.size_bytes == len(content)
        back = uploads.trial_from_record(rec)
    np.testing.assert_array_equal(back.t_h, _trial().t_h)
    assert back.area_m2 == 3.5e-4 and back.meta["nan"] is None and back.source == "all bytes.csv"


def test_timestamps_come_back_as_utc(db, tenant):
    from fluxwise.store.models import Project

    with db.session() as s:
        created = s.get(Project, tenant[2]).created_at
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)


def test_canonical_json_is_stable_and_strict():
    assert canonical_json({"b": 1, "a": [np.float64(1.5), np.nan, np.inf]}) == '{"a":[1.5,null,null],"b":1}'
    assert canonical_json({"µ": np.int64(3), "t": np.array([1, 2])}) == '{"t":[1,2],"µ":3}'


# --- tenancy -----------------------------------------------------------------------------------------------

def test_visible_projects_follow_membership_and_shares(db):
    with db.session(write=True) as s:
        a, b, hub = (accounts.create_organisation(s, n) for n in ("A", "B", "Hub"))
        ua = accounts.create_user(s, "ua@a.example", "UA", "a long password")
        ub = accounts.create_user(s, "ub@b.example", "UB", "a long password")
        hub_user = accounts.create_user(s, "hub@h.example", "HUB", "a long password")
        accounts.add_member(s, ua, a, "admin")
        accounts.add_member(s, ub, b, "scientist")
        accounts.add_member(s, hub_user, hub, "reviewer")
        p1 = projects.create_project(s, a, "P1", actor=ua)
        p2 = projects.create_project(s, a, "P2", actor=ua)
        projects.share_project(s, p1, hub, actor=ua)
        projects.share_project(s, p1, hub, actor=ua)  # idempotent
        with pytest.raises(InputError):
            projects.share_project(s, p1, a, actor=ua)
        s.commit()

        def names(user):
            return sorted(p.name for p in s.scalars(tenancy.visible_projects(user.id)))

        assert names(ua) == ["P1", "P2"] and names(ub) == [] and names(hub_user) == ["P1"]
        with pytest.raises(tenancy.NotFound):
            tenancy.get_project(s, hub_user.id, p2.public_id)
        with pytest.raises(tenancy.NotFound):
            tenancy.get_project(s, ub.id, p1.public_id)
        assert tenancy.project_roles(s, hub_user.id, p1) == {"reviewer"}
        assert tenancy.owner_roles(s, hub_user.id, p1) == set()
        with pytest.raises(tenancy.Forbidden, match="admin"):
            tenancy.require(tenancy.project_roles(s, hub_user.id, p1), "write", "uploading")


# --- results ---------------------------------------------------------------------------------------------

def test_result_versions_are_added_never_overwritten(db, tenant):
    _, user_id, project_id = tenant
    with db.session(write=True) as s:
        user = s.get(User, user_id)
        _, rec = uploads.record_upload(s, s.get(Project, project_id), actor=user, filename="t.csv",
                                       content_type="text/csv", content=b"x", trial=_trial())
        v1 = results.create_result(s, rec, actor=user, kind="sizing", inputs={"batch_volume": "2000 L"},
                                   data={"installed_area_m2": 1.2})
        with pytest.raises(InputError, match="reason"):
            results.new_version(s, v1, actor=user, data={"installed_area_m2": 1.3})
        same = results.new_version(s, v1, actor=user, notes="")
        assert same is v1  # nothing changed: no new version
        v2 = results.new_version(s, v1, actor=user, data={"installed_area_m2": 1.3}, reason="typo",
                                 origin="edited")
        s.commit()
        assert (v2.version, v2.result_id, v2.supersedes_id, v2.origin) == (2, v1.result_id, v1.id, "edited")
        assert v1.content_sha256 != v2.content_sha256
        assert v2.content_sha256 == results.content_sha256(v2)
        results.delete_result(s, v2, actor=user, reason="duplicate")
        s.commit()
    with db.session() as s:
        rows = list(s.scalars(select(ResultVersion).order_by(ResultVersion.version)))
        assert [r.version for r in rows] == [1, 2]
        assert canonical_json({"installed_area_m2": 1.2}) == rows[0].data_json
        assert rows[1].deleted_at is not None and rows[1].delete_reason == "duplicate"


# --- passwords and throttling -----------------------------------------------------------------------------

def test_password_checks_lock_the_account_across_addresses(db):
    with db.session(write=True) as s:
        accounts.create_user(s, "ua@a.example", "UA", "a long password")
        s.commit()
    for i in range(accounts.LOCKOUT_FAILURES):  # each from another address
        with db.session(write=True) as s:
            with pytest.raises(accounts.AuthenticationError):
                accounts.check_password(s, "ua@a.example", "wrong", f"10.0.0.{i}")
            s.commit()
    with db.session(write=True) as s:
        with pytest.raises(accounts.TooManyAttempts) as info:  # even the right password, from anywhere
            accounts.check_password(s, "ua@a.example", "a long password", "10.0.9.9")
        assert 0 < info.value.retry_after_s <= accounts.LOCKOUT_WINDOW.total_seconds() + 1
        # an e-mail without an account locks the same way (the lock tells nothing about existence)
        for _ in range(accounts.LOCKOUT_FAILURES):
            with pytest.raises(accounts.AuthenticationError):
                accounts.check_password(s, "nobody@a.example", "wrong", "10.0.0.1")
        with pytest.raises(accounts.TooManyAttempts):
            accounts.check_password(s, "nobody@a.example", "wrong", "10.0.0.1")
        s.commit()
    with db.session() as s:
        actions = [(e.action, e.object_type) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions.count(("login_failed", "user")) == accounts.LOCKOUT_FAILURES
    assert actions.count(("lockout", "user")) == 1 and ("lockout", "email") not in actions
    assert actions.count(("login_failed", "email")) == accounts.LOCKOUT_FAILURES
    with db.session(write=True) as s:
        # failures older than the window no longer count
        s.execute(update(LoginFailure).values(at=datetime.now(UTC) - accounts.LOCKOUT_WINDOW
                                              - timedelta(minutes=1)))
        s.commit()
    with db.session(write=True) as s:
        assert accounts.check_password(s, "ua@a.example", "a long password", "10.0.0.1").name == "UA"


def test_short_passwords_and_duplicate_emails_are_refused(db):
    with db.session(write=True) as s:
        with pytest.raises(InputError, match="8"):
            accounts.create_user(s, "ua@a.example", "UA", "short")
        accounts.create_user(s, "ua@a.example", "UA", "a long password")
        with pytest.raises(InputError, match="exists"):
            accounts.create_user(s, "UA@a.example", "UA 2", "a long password")
        with pytest.raises(InputError, match="e-mail"):
            accounts.create_user(s, "not-an-email", "X", "a long password")
