"""Migrating stores written by earlier versions — on SQLite (tables rebuilt) and on PostgreSQL (ALTER).

A store of revision 0002, written as fluxwise wrote it then (rows and a plain SHA-256 audit chain, a
signed, versioned fit, a deleted result), is upgraded in place: every row kept, foreign keys intact,
its trail verified once and then sealed under a new audit key with a recorded entry, its signatures
given their MACs, the deletion moved to its own row, the protection triggers installed. A trail that
does not verify is not sealed; a pre-migration entry edited afterwards (its SHA-256 chain rebuilt) is
caught by ``fluxwise audit verify``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from fluxwise.cli import main
from fluxwise.store import accounts, projects, protection, trains
from fluxwise.store import supply as store_supply
from fluxwise.store.audit import GENESIS_HASH, legacy_entry_hash
from fluxwise.store.canonical import canonical_json, sha256_hex
from fluxwise.store.database import current_revision, head_revision, make_engine, migrate
from fluxwise.store.models import AuditEntry, AuditHead, ResultVersion, Signature, User
from fluxwise.store.sealing import SealRefused
from fluxwise.store.trust import INFO_KEY, Trust
from fluxwise.store.verify import verify_store

PASSWORD = "a long password"


class _LegacyWriter:
    """Rows and audit entries as fluxwise wrote them at revision 0002 (no keys: plain SHA-256 links)."""

    def __init__(self, conn):
        md = sa.MetaData()
        md.reflect(conn)
        self.t, self.conn = md.tables, conn
        self.seq, self.hash = 0, GENESIS_HASH
        self.t0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
        self.sqlite = conn.dialect.name == "sqlite"

    def ts(self, n: int) -> datetime:
        ts = self.t0 + timedelta(minutes=n)
        return ts.replace(tzinfo=None) if self.sqlite else ts

    def row(self, table: str, **values) -> int:
        return self.conn.execute(self.t[table].insert().values(**values)).inserted_primary_key[0]

    def entry(self, action, object_type, object_id, *, actor=None, org_id=None, project_id=None, old=None,
              new=None, reason=None) -> AuditEntry:
        self.seq += 1
        e = AuditEntry(seq=self.seq, ts=self.t0 + timedelta(minutes=self.seq), actor_id=actor and actor[0],
                       actor_name="system" if actor is None else actor[1], org_id=org_id,
                       project_id=project_id,
                       action=action, object_type=object_type, object_id=object_id,
                       old_value=None if old is None else canonical_json(old),
                       new_value=None if new is None else canonical_json(new), reason=reason,
                       prev_hash=self.hash, key_id=None)
        e.hash = legacy_entry_hash(e)
        values = {c: getattr(e, c) for c in ("seq", "actor_id", "actor_name", "org_id", "project_id",
                                             "action", "object_type", "object_id", "old_value", "new_value",
                                             "reason", "prev_hash", "hash")}
        self.row("audit_entries", ts=self.ts(self.seq), **values)
        self.hash = e.hash
        self.conn.execute(self.t["audit_head"].update().values(seq=self.seq, hash=self.hash))
        return e


def _fill_0002(engine) -> dict:
    """A 0002 store: an organisation, a user, a project, a trial, a fit in two versions with version 2
    signed, and a second fit, deleted."""
    with engine.begin() as conn:
        w = _LegacyWriter(conn)
        org = ("0" * 31 + "1", "Org A")
        user = ("0" * 31 + "2", "UA <ua@a.example>")
        project, upload, trial = "0" * 31 + "3", "0" * 31 + "4", "0" * 31 + "5"
        org_id = w.row("organisations", public_id=org[0], name="Org A", kind="customer", created_at=w.ts(0))
        w.entry("create", "organisation", org[0], org_id=org[0], new={"name": "Org A", "kind": "customer"})
        user_id = w.row("users", public_id=user[0], email="ua@a.example", name="UA", is_active=True,
                        password_hash=accounts.hash_password(PASSWORD), created_at=w.ts(0))
        w.entry("create", "user", user[0], new={"email": "ua@a.example", "name": "UA"})
        w.row("memberships", user_id=user_id, org_id=org_id, role="scientist", created_at=w.ts(0))
        w.entry("create", "membership", f"{org[0]}:{user[0]}", actor=user, org_id=org[0],
                new={"user": "ua@a.example", "role": "scientist"})
        project_id = w.row("projects", public_id=project, org_id=org_id, name="P", description="",
                           created_at=w.ts(0), created_by_id=user_id)
        scope = {"actor": user, "org_id": org[0], "project_id": project}
        w.entry("create", "project", project, **scope, new={"name": "P", "description": ""})
        content = b"t,v\n0,0\n0.5,40\n1,70\n"
        upload_id = w.row("uploads", public_id=upload, project_id=project_id, filename="run.csv",
                          content_type="text/csv", size_bytes=len(content), sha256=sha256_hex(content),
                          content=content, created_at=w.ts(0), created_by_id=user_id)
        trial_id = w.row("trials", public_id=trial, project_id=project_id, upload_id=upload_id,
                         area_m2=1.38e-3, mode="constant-pressure", points=3, revision=1, created_at=w.ts(0),
                         created_by_id=user_id,
                         data_json=canonical_json({"t_h": [0, 0.5, 1], "v_L_per_m2": [0, 40, 70],
                                                   "pressure_bar": None, "source": "run.csv", "meta": {}}))
        w.entry("create", "upload", upload, **scope,
                new={"filename": "run.csv", "content_type": "text/csv", "size_bytes": len(content),
                     "sha256": sha256_hex(content)})
        w.entry("create", "trial", trial, **scope,
                new={"upload": upload, "area": None, "mode": None, "density": None, "area_m2": 1.38e-3,
                     "mode_used": "constant-pressure", "points": 3, "revision": 1})

        def result(result_id, version, notes, supersedes=None):
            c = {"result_id": result_id, "version": version, "kind": "fit", "trial_id": trial,
                 "trial_revision": 1, "upload_sha256": sha256_hex(content), "inputs": {},
                 "data": {"best_model": "standard"}, "origin": "computed", "notes": notes}
            rid = w.row("results", public_id=f"{result_id[:31]}{version}", result_id=result_id,
                        version=version, kind="fit", project_id=project_id, trial_id=trial_id,
                        upload_id=upload_id, trial_revision=1,
                        inputs_json="{}", data_json=canonical_json(c["data"]), origin="computed", notes=notes,
                        content_sha256=sha256_hex(canonical_json(c)), supersedes_id=supersedes,
                        created_at=w.ts(w.seq), created_by_id=user_id)
            return rid, c

        r1 = "a" * 32
        v1, c1 = result(r1, 1, "")
        w.entry("create", "result", r1, **scope, new={"version": 1, **c1})
        v2, c2 = result(r1, 2, "second", supersedes=v1)
        w.entry("update", "result", r1, **scope, old={"version": 1, "notes": ""},
                new={"version": 2, "notes": "second"})
        e = w.entry("sign", "result", r1, **scope,
                    new={"version": 2, "meaning": "author", "signer": "UA", "signer_email": "ua@a.example",
                         "content_sha256": sha256_hex(canonical_json(c2))})
        w.row("signatures", public_id="b" * 32, result_version_id=v2, user_id=user_id, signer_name="UA",
              meaning="author", content_sha256=sha256_hex(canonical_json(c2)), signed_at=w.ts(e.seq),
              audit_seq=e.seq)
        r2 = "c" * 32
        _, c3 = result(r2, 1, "a duplicate")
        w.entry("create", "result", r2, **scope, new={"version": 1, **c3})
        e = w.entry("delete", "result", r2, **scope, reason="duplicate",
                    old={"version": 1, "content_sha256": sha256_hex(canonical_json(c3))})
        conn.execute(w.t["results"].update().where(w.t["results"].c.result_id == r2)
                     .values(deleted_at=w.ts(e.seq), deleted_by_id=user_id, delete_reason="duplicate"))
        return {"entries": w.seq, "head_hash": w.hash, "r1": r1, "r2": r2}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path, audit_dir, monkeypatch):
    monkeypatch.setenv("FLUXWISE_AUDIT_DIR", str(audit_dir))
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'upgrade.sqlite3'}"
    from conftest import _admin_execute

    cluster = request.getfixturevalue("postgres_cluster")
    _admin_execute(cluster.url(), "DROP DATABASE IF EXISTS fluxwise_upgrade WITH (FORCE)",
                   "CREATE DATABASE fluxwise_upgrade")
    return cluster.url("fluxwise_upgrade")


@pytest.fixture
def legacy(empty_url):
    engine = make_engine(empty_url)
    migrate(engine, "0002")
    assert current_revision(engine) == "0002"
    filled = _fill_0002(engine)
    yield engine, filled
    engine.dispose()


def _session(engine) -> Session:
    return Session(engine, info={INFO_KEY: Trust.from_env()})


def test_a_0002_store_is_verified_sealed_and_upgraded_in_place(legacy):
    engine, filled = legacy
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT result_id, version, content_sha256, data_json FROM results "
                                      "ORDER BY id")).all()
    migrate(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute(sa.text("SELECT result_id, version, content_sha256, data_json FROM results "
                                    "ORDER BY id")).all() == before
        assert conn.execute(sa.text("SELECT result_id, version, reason FROM result_deletions")).all() == [
            (filled["r2"], 1, "duplicate")]
        assert protection.missing(conn) == []
    with _session(engine) as s:
        n = filled["entries"]
        seal = s.get(AuditEntry, n + 1)
        sealed = json.loads(seal.new_value)
        assert (seal.object_type, seal.action, seal.prev_hash) == ("audit_key", "create", filled["head_hash"])
        assert sealed["legacy_entries"] == n and sealed["sealed_signatures"] == 1
        assert s.get(AuditEntry, n).key_id is None and seal.key_id == s.get(AuditHead, 1).key_id
        sig = s.scalars(sa.select(Signature)).one()
        assert sig.key_id == seal.key_id and len(sig.mac) == 64
        report = verify_store(s, s.info[INFO_KEY])
        assert report.ok, report.problems
        assert report.checked == n + 1 and report.checkpoint_seq == n + 1
        deleted = s.scalars(sa.select(ResultVersion).where(ResultVersion.result_id == filled["r2"])).one()
        assert deleted.deleted_at is not None and deleted.delete_reason == "duplicate"
        # and the upgraded store takes new records, keyed
        user = s.scalars(sa.select(User)).one()
        rv = trains.save_train(s, s.scalars(sa.select(ResultVersion)).first().project, actor=user,
                               train_name="t.yaml", train_bytes=b"name: t\n", files={}, route=None,
                               data={"summary": {}})
        s.commit()
        assert rv.kind == "train" and rv.trial_id is None
        assert verify_store(s, s.info[INFO_KEY]).ok
    # migrating again changes nothing
    migrate(engine)
    with _session(engine) as s:
        assert s.get(AuditHead, 1).seq == filled["entries"] + 3
    # a fit without a trial is still refused by the database
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text("INSERT INTO results (public_id, result_id, version, kind, project_id, "
                             "upload_id, inputs_json, data_json, origin, notes, content_sha256, created_at) "
                             "SELECT 'd', 'd', 1, 'fit', project_id, upload_id, '{}', '{}', 'computed', '', "
                             "'x', created_at FROM results LIMIT 1"))


def test_verify_asks_for_the_upgrade_of_an_old_store(legacy, empty_url):
    r = CliRunner().invoke(main, ["audit", "verify", "--database-url", empty_url])
    assert r.exit_code == 1 and "revision 0002" in r.output and "fluxwise db upgrade" in r.output


def test_a_legacy_trail_that_does_not_verify_is_not_sealed(legacy):
    engine, filled = legacy
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_entries SET reason = 'tidied up' WHERE seq = 4"))
    with pytest.raises(SealRefused, match="entry 4: content does not match its hash"):
        migrate(engine)
    assert current_revision(engine) == "0002"  # left as it was: the upgrade was rolled back with the seal


def test_a_pre_migration_entry_edited_and_its_chain_rebuilt_is_caught(legacy, empty_url):
    engine, filled = legacy
    migrate(engine)
    n = filled["entries"]
    with engine.begin() as conn, Session(bind=conn) as s:
        if engine.dialect.name == "sqlite":
            protection.remove(conn)
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        entries = list(s.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)))
        entries[2].new_value = entries[2].new_value.replace("scientist", "admin")
        prev = entries[1].hash
        for e in entries[2:n]:  # the plain SHA-256 links before the seal, rebuilt
            e.prev_hash = prev
            e.hash = legacy_entry_hash(e)
            prev = e.hash
        entries[n].prev_hash = prev  # the sealing entry pointed at the old head: make it point at the new one
        s.flush()
        if engine.dialect.name == "sqlite":
            protection.install(conn)
    r = CliRunner().invoke(main, ["audit", "verify", "--database-url", empty_url])
    assert r.exit_code == 1
    assert f"entry {n + 1}: content does not match its MAC" in r.output
    assert f"the sealing entry recorded {n} earlier entries ending in {filled['head_hash']}" in r.output


def _downgrade(engine, revision: str) -> None:
    """Take the store back to ``revision`` with the packaged migrations (foreign keys off on SQLite, as
    for upgrades)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "fluxwise.store:migrations")
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.execution_options(fluxwise_write=True).begin():
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, revision)
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")


def test_a_sealed_protected_store_takes_the_consent_migration(empty_url):
    """0004 (invitations, security events) on a store that is sealed and protected already: the audit
    table is rebuilt (SQLite) or its constraint replaced (PostgreSQL) with the triggers in place, the
    triggers are back afterwards, the trail verifies and takes the new actions."""
    engine = make_engine(empty_url)
    try:
        migrate(engine)
        with _session(engine) as s:
            user = accounts.create_user(s, "ua@a.example", "UA", PASSWORD)
            accounts.create_organisation(s, "Org A", actor=user)
            s.commit()
        _downgrade(engine, "0003")
        with engine.begin() as conn:
            protection.install(conn)  # as a 0003 store is kept
            assert protection.missing(conn) == []
        migrate(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert protection.missing(conn) == []
        with _session(engine) as s:
            accounts.record_failure(s, "ua@a.example", "10.0.0.1")
            s.commit()
            report = verify_store(s, s.info[INFO_KEY])
            assert report.ok, report.problems
            assert s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "login_failed")).one()
    finally:
        engine.dispose()


def test_a_sealed_protected_0004_store_takes_the_supply_migration(empty_url):
    """0005 (results of kind 'supply', without a trial) on a sealed, protected 0004 store: the triggers
    are back afterwards, a supply study is stored and the trail verifies; the schema then refuses to go
    back to 0004, which could not hold the study."""
    engine = make_engine(empty_url)
    try:
        migrate(engine)
        _downgrade(engine, "0004")
        assert current_revision(engine) == "0004"
        with engine.begin() as conn:
            protection.install(conn)  # as a 0004 store is kept
        migrate(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert protection.missing(conn) == []
        with _session(engine) as s:
            user = accounts.create_user(s, "ua@a.example", "UA", PASSWORD)
            org = accounts.create_organisation(s, "Org A", actor=user)
            project = projects.create_project(s, org, "Capsules", actor=user)
            rv = store_supply.save_supply(s, project, actor=user, plan_name="plan.yaml",
                                          plan_bytes=b"horizon: 10 weeks\n", files={},
                                          options={"replications": 10}, data={"campaign": {}})
            s.commit()
            assert (rv.kind, rv.trial_id, rv.version) == ("supply", None, 1)
            report = verify_store(s, s.info[INFO_KEY])
            assert report.ok, report.problems
        with pytest.raises(RuntimeError, match="holds supply studies"):
            _downgrade(engine, "0004")
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
