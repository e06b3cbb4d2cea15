"""A reviewer with a copy of the store tries to change the record unnoticed — on SQLite and on PostgreSQL.

Each attack first gets past the database's own refusal the way such a person would (dropping the
SQLite triggers, which anyone who can write the file can do, then putting them back; on PostgreSQL a
superuser's ``session_replication_role = replica``), and ``fluxwise audit verify`` must then exit 1 and
name the problem. The database's refusal itself is tested at the end.
"""

from __future__ import annotations

import contextlib
import json
import secrets

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fluxwise.cli import main
from fluxwise.store import accounts, audit, deletions, projects, protection, results, uploads
from fluxwise.store.canonical import canonical_json
from fluxwise.store.keyring import AuditKey
from fluxwise.store.models import AuditEntry, AuditHead, ResultVersion, Signature, TrialRecord
from fluxwise.trial import Trial

PASSWORD = "a long password"


@pytest.fixture
def record(db, audit_dir):
    """A signed record: a trial's upload, a fit result in two versions, version 2 signed by its author
    and reviewed — 13 audit entries. ``log_at_11`` is the checkpoint log as it was before the signatures."""
    trial = Trial(t_h=np.array([0.0, 0.5, 1.0, 1.5]), v_L_per_m2=np.array([0.0, 40.0, 70.0, 90.0]),
                  area_m2=1.38e-3, mode="constant-pressure")
    with db.session(write=True) as s:
        org = accounts.create_organisation(s, "Org A")
        author = accounts.create_user(s, "author@a.example", "Author", PASSWORD)
        reviewer = accounts.create_user(s, "reviewer@a.example", "Reviewer", PASSWORD)
        accounts.add_member(s, author, org, "scientist")
        accounts.add_member(s, reviewer, org, "reviewer")
        project = projects.create_project(s, org, "P", actor=author)
        _, rec = uploads.record_upload(s, project, actor=author, filename="run.csv", content_type="text/csv",
                                       content=b"t,v\n0,0\n0.5,40\n1,70\n1.5,90\n", trial=trial)
        v1 = results.create_result(s, rec, actor=author, kind="fit", inputs={},
                                   data={"best_model": "standard", "vmax_L_per_m2": 120.0})
        v2 = results.new_version(s, v1, actor=author, notes="checked against the bench log")
        s.commit()
        ids = {"v1": v1.id, "v2": v2.id, "result_id": v1.result_id}
    store_id = _head(db).store_id
    log = audit_dir / "checkpoints" / f"{store_id}.jsonl"
    ids["log"], ids["log_at_11"] = log, log.read_bytes()
    for user, meaning in ((author, "author"), (reviewer, "review")):
        with db.session(write=True) as s:
            results.sign_result(s, s.get(ResultVersion, ids["v2"]), signer=s.merge(user), password=PASSWORD,
                                meaning=meaning)
            s.commit()
    with db.session() as s:
        ids["signatures"] = [sig.id for sig in s.scalars(select(Signature).order_by(Signature.id))]
    assert _head(db).seq == 13
    return ids


def _head(db) -> AuditHead:
    with db.session() as s:
        return s.get(AuditHead, 1)


def _verify(database_url, *args) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["audit", "verify", "--database-url", database_url, *args])
    return r.exit_code, r.output


@contextlib.contextmanager
def bypassing_the_database(db):
    """A transaction in which the protection triggers do not fire, left with them in place again."""
    with db.engine.begin() as conn:
        if db.backend == "sqlite":
            protection.remove(conn)
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield conn
        if db.backend == "sqlite":
            protection.install(conn)


def _tamper(db, *statements: str, **params) -> None:
    with bypassing_the_database(db) as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def _rebuild_chain(db, from_seq: int, edit, hash_entry) -> None:
    """Edit entry ``from_seq`` and rebuild every link from it on with ``hash_entry``; move the head."""
    with bypassing_the_database(db) as conn, Session(bind=conn) as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        prev = entries[from_seq - 2].hash
        for e in entries[from_seq - 1:]:
            if e.seq == from_seq:
                edit(e)
            e.prev_hash = prev
            hash_entry(e)
            prev = e.hash
        head = s.get(AuditHead, 1)
        head.seq, head.hash = entries[-1].seq, prev
        s.flush()


def test_intact_record_verifies(record, database_url):
    code, out = _verify(database_url)
    assert code == 0, out
    assert "13 entries checked, chain intact" in out and "2 signatures, 2 result versions" in out


def test_removing_the_newest_entries_and_moving_the_head_is_caught_by_the_checkpoint_log(record, db,
                                                                                        database_url):
    _tamper(db, "DELETE FROM audit_entries WHERE seq > 10",
            "UPDATE audit_head SET seq = 10, hash = (SELECT hash FROM audit_entries WHERE seq = 10)")
    code, out = _verify(database_url)
    assert code == 1
    assert "records entry 13" in out and "entries 11-13 were removed" in out


def test_removing_entries_with_an_older_checkpoint_log_put_back_is_caught(record, db, database_url, tmp_path):
    qa = tmp_path / "qa-head.json"  # QA exported the head after the signatures, and kept it elsewhere
    r = CliRunner().invoke(main, ["audit", "checkpoint", "--database-url", database_url, "-o", str(qa)])
    assert r.exit_code == 0, r.output
    _tamper(db, "DELETE FROM audit_entries WHERE seq > 11",
            "UPDATE audit_head SET seq = 11, hash = (SELECT hash FROM audit_entries WHERE seq = 11)")
    record["log"].write_bytes(record["log_at_11"])  # the log as it was when entry 11 was the newest
    code, out = _verify(database_url)
    assert code == 1  # the signatures are still there, without their entries
    assert "no sign entry at seq 12" in out and "no sign entry at seq 13" in out
    # a thorough reviewer removes the signatures too: the store alone cannot tell, QA's export can
    _tamper(db, "DELETE FROM signatures")
    code, out = _verify(database_url, "--anchor", str(qa))
    assert code == 1 and "exported checkpoint" in out and "entries 12-13 were removed" in out


def test_a_deleted_checkpoint_log_fails_verification_and_is_not_begun_again_unnoticed(
        record, db, database_url, audit_dir):
    from fluxwise.store.checkpoints import CheckpointLog
    from fluxwise.store.database import open_database
    from fluxwise.store.keyring import AuditKeyError

    record["log"].unlink()
    code, out = _verify(database_url)
    assert code == 1 and "checkpoint log" in out and "is missing" in out
    with pytest.raises(AuditKeyError, match="checkpoint log .* is missing: restore it"):
        open_database(database_url)  # `fluxwise serve` refuses to start without it
    # someone with the key begins a new log at the head: its first line seals nothing
    head = _head(db)
    CheckpointLog(audit_dir, head.store_id).append(db.trust.keyring.get(head.key_id), head.seq, head.hash,
                                                   create=True)
    code, out = _verify(database_url)
    assert code == 1 and "the checkpoint log starts at entry 13" in out and "begun again" in out
    # lost for good: a new log started on the record is accepted, with a note
    record["log"].unlink()
    r = CliRunner().invoke(main, ["audit", "checkpoint", "--database-url", database_url, "--restart-log",
                                  "--reason", "disk of the audit folder failed; no backup"])
    assert r.exit_code == 0, r.output
    code, out = _verify(database_url)
    assert code == 0, out
    assert "the checkpoint log was restarted (disk of the audit folder failed; no backup) at entry 14" in out


def test_an_entry_edited_and_the_chain_rebuilt_with_plain_sha256_is_caught(record, db, database_url):
    def edit(e):
        e.new_value = e.new_value.replace('"vmax_L_per_m2":120.0', '"vmax_L_per_m2":150.0')
        e.key_id = None

    def plain(e):
        e.key_id = None
        e.hash = audit.legacy_entry_hash(e)

    _rebuild_chain(db, 10, edit, plain)
    code, out = _verify(database_url)
    assert code == 1
    assert "entry 10: a plain SHA-256 link after the trail was sealed" in out
    assert "checkpoint log line" in out and "another hash than the trail holds" in out


@pytest.mark.parametrize("claims_the_real_key", [True, False], ids=["real-key-id", "own-key-id"])
def test_an_entry_edited_and_the_chain_rebuilt_with_a_random_key_is_caught(record, db, database_url,
                                                                          claims_the_real_key):
    forged = AuditKey.from_secret(secrets.token_bytes(32))
    real_id = _head(db).key_id

    def edit(e):
        e.reason = "tidied up"

    def keyed(e):
        e.key_id = real_id if claims_the_real_key else forged.key_id
        e.hash = forged.mac("fluxwise audit entry v1", canonical_json(audit.entry_payload(e)))

    _rebuild_chain(db, 5, edit, keyed)
    code, out = _verify(database_url)
    assert code == 1
    if claims_the_real_key:
        assert "entry 5: content does not match its MAC" in out
    else:
        assert f"entry 5 is under key {forged.key_id}, which is not in the key ring" in out


def test_insert_or_replace_over_an_existing_entry_is_refused_then_caught(record, db, database_url):
    with db.session() as s:
        e = s.get(AuditEntry, 5)
        row = {c.name: getattr(e, c.name) for c in AuditEntry.__table__.columns}
    columns = ", ".join(row)
    values = ", ".join(f":{c}" for c in row)
    replace = (f"INSERT OR REPLACE INTO audit_entries ({columns}) VALUES ({values})" if db.backend == "sqlite"
               else f"INSERT INTO audit_entries ({columns}) VALUES ({values}) ON CONFLICT (seq) DO UPDATE "
                    "SET reason = EXCLUDED.reason")
    row = {**row, "reason": "replaced", "ts": row["ts"].replace(tzinfo=None) if db.backend == "sqlite"
           else row["ts"]}
    with pytest.raises(sa.exc.DatabaseError, match="fluxwise"):
        with db.engine.begin() as conn:
            conn.execute(text(replace), row)
    _tamper(db, replace, **row)
    with db.session() as s:
        assert s.get(AuditEntry, 5).reason == "replaced"
    code, out = _verify(database_url)
    assert code == 1 and "entry 5: content does not match its MAC" in out


def test_swapped_entries_are_caught(record, db, database_url):
    _tamper(db, "UPDATE audit_entries SET seq = 1000 WHERE seq = 5",
            "UPDATE audit_entries SET seq = 5 WHERE seq = 6",
            "UPDATE audit_entries SET seq = 6 WHERE seq = 1000")
    code, out = _verify(database_url)
    assert code == 1
    assert "entry 5: its prev_hash does not match" in out and "entry 5: content does not match its MAC" in out


def test_a_signature_pointed_at_another_version_is_caught(record, db, database_url):
    _tamper(db, "UPDATE signatures SET result_version_id = :v1 WHERE id = :sig", v1=record["v1"],
            sig=record["signatures"][0])
    code, out = _verify(database_url)
    assert code == 1
    assert "its MAC does not match its fields (pointed at another version" in out
    assert "differs from its sign entry 12 in version" in out


def test_signed_content_edited_with_its_hash_columns_recomputed_is_caught(record, db, database_url):
    with db.session() as s:
        rv = s.get(ResultVersion, record["v2"])
        assert rv.trial is not None and rv.upload is not None  # loaded before the row is taken away
        s.expunge(rv)
    rv.data_json = rv.data_json.replace("120.0", "150.0")
    assert rv.data_json != '{"best_model":"standard","vmax_L_per_m2":120.0}'
    new_hash = results.content_sha256(rv)
    _tamper(db, "UPDATE results SET data_json = :data, content_sha256 = :h WHERE id = :id",
            "UPDATE signatures SET content_sha256 = :h", data=rv.data_json, h=new_hash, id=record["v2"])
    code, out = _verify(database_url)
    assert code == 1
    assert (f"result {record['result_id']} version 2: its content does not match the content hash its audit "
            "entry 11 recorded") in out
    assert out.count("its MAC does not match its fields") == 2


def test_a_deleted_signature_is_caught(record, db, database_url):
    _tamper(db, "DELETE FROM signatures WHERE id = :sig", sig=record["signatures"][1])
    code, out = _verify(database_url)
    assert code == 1
    assert "audit entry 13 records a signature (review of result" in out
    assert "missing from the signatures table" in out


def test_a_dropped_trigger_is_reported(record, db, database_url):
    if db.backend == "sqlite":
        _tamper(db)  # (puts them back)
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER audit_entries_no_delete")
        gone = "audit_entries_no_delete"
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE signatures DISABLE TRIGGER signatures_append_only")
        gone = "signatures_append_only"
    code, out = _verify(database_url)
    assert code == 1 and f"the database trigger {gone}" in out


# --- the database's own refusal ----------------------------------------------------------------------------

def test_update_delete_and_truncate_of_the_record_fail_at_the_database(record, db):
    with db.session(write=True) as s:  # so that every protected table has a row
        results.delete_result(s, s.get(ResultVersion, record["v2"]), actor=None, reason="duplicate")
        rec = s.scalars(select(TrialRecord)).one()  # a trial deleted and restored: deletions, restorations
        deletions.delete_trial(s, rec, actor=None, reason="wrong file")
        deletions.restore_trial(s, rec, actor=None, reason="the right file after all")
        s.commit()
    with db.session() as s:
        assert all(s.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in protection.PROTECTED_TABLES)
        entries = s.scalar(select(sa.func.count()).select_from(AuditEntry))
    assert entries == 16  # the record's 14, the trial's deletion and its restoration
    statements = []
    for table in protection.PROTECTED_TABLES:
        statements += [f"UPDATE {table} SET id = id" if table != "audit_entries"
                       else "UPDATE audit_entries SET reason = 'x'",
                       f"DELETE FROM {table}"]
        if db.backend == "postgresql":
            statements.append(f"TRUNCATE {table} CASCADE")
    statements += ["INSERT INTO audit_entries SELECT * FROM audit_entries WHERE seq = 3",  # a seq taken
                   "INSERT INTO audit_entries (seq, ts, actor_name, action, object_type, object_id, "
                   "prev_hash, hash) VALUES (20, CURRENT_TIMESTAMP, 'x', 'create', 'x', 'x', 'x', 'x')"]
    # (the last leaves a gap)
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError, match="fluxwise"), db.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    with db.session() as s:
        assert s.scalar(select(sa.func.count()).select_from(AuditEntry)) == entries
        assert s.scalar(select(sa.func.count()).select_from(Signature)) == 2


def test_on_postgresql_the_application_role_may_add_to_the_record_but_never_change_it(postgres_cluster,
                                                                                      audit_dir, monkeypatch):
    from conftest import _admin_execute
    from fluxwise.store.database import durability_warnings, open_database
    from fluxwise.store.models import Organisation

    monkeypatch.setenv("FLUXWISE_AUDIT_DIR", str(audit_dir))
    admin = postgres_cluster.url()
    _admin_execute(admin, "DROP DATABASE IF EXISTS fluxwise_roles WITH (FORCE)",
                   "DROP ROLE IF EXISTS fluxwise_app", "CREATE ROLE fluxwise_app LOGIN",
                   "CREATE DATABASE fluxwise_roles")
    owner_url = postgres_cluster.url("fluxwise_roles")
    app_url = owner_url.replace("//postgres@", "//fluxwise_app@")
    db = None
    try:
        r = CliRunner().invoke(main, ["db", "upgrade", "--database-url", owner_url,
                                      "--app-role", "fluxwise_app", "--json"])
        assert r.exit_code == 0, r.output
        upgraded = json.loads(r.output)
        assert upgraded["key_id"] and upgraded["app_role"] == "fluxwise_app"
        # the throwaway test cluster runs without fsync: start-up says so
        assert any("fsync = off" in w for w in upgraded["warnings"])
        db = open_database(app_url)  # up to date: the application opens it without any DDL
        assert any("synchronous_commit = off" in w for w in durability_warnings(db.engine))
        with db.session(write=True) as s:
            org = accounts.create_organisation(s, "Org A")
            user = accounts.create_user(s, "ua@a.example", "UA", PASSWORD)
            accounts.add_member(s, user, org, "admin")
            s.commit()
        with db.engine.connect() as conn:
            assert protection.owns_tables(conn) is False
        for statement in ("UPDATE audit_entries SET reason = 'x'", "DELETE FROM audit_entries",
                          "TRUNCATE audit_entries", "UPDATE signatures SET meaning = 'review'",
                          "DELETE FROM results", "TRUNCATE results CASCADE",
                          "ALTER TABLE audit_entries DISABLE TRIGGER ALL",
                          "DROP TRIGGER audit_entries_append_only ON audit_entries"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"), \
                    db.engine.begin() as conn:
                conn.exec_driver_sql(statement)
        with db.engine.begin() as conn:  # what it may change, it can
            conn.execute(sa.update(Organisation).values(name="Org A, renamed"))
        code, out = _verify(app_url)
        assert code == 0, out
        assert "4 entries checked, chain intact" in out
    finally:
        if db is not None:
            db.dispose()
        _admin_execute(admin, "DROP DATABASE IF EXISTS fluxwise_roles WITH (FORCE)",
                       "DROP ROLE IF EXISTS fluxwise_app")
