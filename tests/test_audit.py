"""The audit trail: hash chain, tamper detection, same-transaction writes, reasons, concurrency and the
``fluxwise audit verify`` entry point — on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from sqlalchemy import select, text, update

from fluxwise.store import accounts, audit, projects
from fluxwise.store.audit import GENESIS_HASH, ReasonRequiredError, audit_verify_main, verify_chain
from fluxwise.store.models import AuditEntry, AuditHead, Project


@pytest.fixture
def trail(db):
    """A store with six audit entries: an organisation, a user, a membership and three projects."""
    with db.session(write=True) as s:
        org = accounts.create_organisation(s, "Org A")
        user = accounts.create_user(s, "ua@a.example", "UA", "a long password")
        accounts.add_member(s, user, org, "admin", actor=user)
        for name in ("P1", "P2", "P3"):
            projects.create_project(s, org, name, actor=user)
        s.commit()
    return db


def _report(db):
    with db.session() as s:
        return verify_chain(s)


def _sql(db, statement: str, **params) -> None:
    with db.session(write=True) as s:
        s.execute(text(statement), params)
        s.commit()


def test_intact_chain_verifies(trail):
    report = _report(trail)
    assert report.ok and report.checked == 6 and report.problems == []
    assert report.head_seq == 6


def test_each_hash_is_sha256_of_the_canonical_entry_and_links_to_the_one_before(trail):
    with trail.session() as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == before.hash
    # recomputed independently of audit.entry_hash: sorted keys, no spaces, UTF-8
    e = entries[3]
    payload = {"seq": e.seq, "ts": e.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "actor_id": e.actor_id,
               "actor_name": e.actor_name, "org_id": e.org_id, "project_id": e.project_id, "action": e.action,
               "object_type": e.object_type, "object_id": e.object_id, "old_value": e.old_value,
               "new_value": e.new_value, "reason": e.reason, "prev_hash": e.prev_hash}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == e.hash
    assert e.ts.utcoffset().total_seconds() == 0
    assert json.loads(e.new_value) == {"name": "P1", "description": ""}


def test_altered_new_value_is_detected(trail):
    _sql(trail, "UPDATE audit_entries SET new_value = :v WHERE seq = 4", v='{"description":"","name":"P9"}')
    report = _report(trail)
    assert not report.ok
    assert report.problems == ["entry 4: content does not match its hash (altered after writing)"]


def test_altered_entry_with_recomputed_hash_is_detected_by_the_next_link(trail):
    with trail.session(write=True) as s:
        e = s.get(AuditEntry, 3)
        e.reason = "backdated excuse"
        e.hash = audit.entry_hash(e)
        s.commit()
    report = _report(trail)
    assert not report.ok and any(p.startswith("entry 4: its prev_hash") for p in report.problems)


def test_removed_entry_is_detected(trail):
    _sql(trail, "DELETE FROM audit_entries WHERE seq = 3")
    report = _report(trail)
    assert not report.ok and report.checked == 5
    assert "entry 3 missing (removed)" in report.problems
    assert any(p.startswith("entry 4: its prev_hash") for p in report.problems)


def test_removed_newest_entries_are_detected_by_the_head(trail):
    _sql(trail, "DELETE FROM audit_entries WHERE seq >= 5")
    report = _report(trail)
    assert not report.ok
    assert report.problems == ["the trail ends at entry 4 but its head records entry 6: the newest entries "
                               "were removed or the head was altered"]


def test_reordered_entries_are_detected(trail):
    # swap the positions of entries 2 and 5 (content moves, seq numbers stay)
    _sql(trail, "UPDATE audit_entries SET seq = 1000 WHERE seq = 2")
    _sql(trail, "UPDATE audit_entries SET seq = 2 WHERE seq = 5")
    _sql(trail, "UPDATE audit_entries SET seq = 5 WHERE seq = 1000")
    report = _report(trail)
    assert not report.ok
    assert any(p.startswith("entry 2: content does not match") for p in report.problems)
    assert any(p.startswith("entry 3: its prev_hash") for p in report.problems)


def test_entry_and_change_commit_together_or_not_at_all(trail):
    with trail.session(write=True) as s:
        org = accounts.create_organisation(s, "Org B")
        projects.create_project(s, org, "rolled back", actor=None)
        s.rollback()
    with trail.session() as s:
        assert s.scalar(select(AuditHead.seq)) == 6
        assert s.scalar(select(Project).where(Project.name == "rolled back")) is None
    assert _report(trail).ok


def test_reason_is_required_for_critical_values_and_deletes():
    with pytest.raises(ReasonRequiredError, match="reason is required to change area"):
        audit.require_reason("trial", ["area"], None)
    with pytest.raises(ReasonRequiredError, match="inputs"):
        audit.require_reason("result", ["notes", "inputs"], "   ")
    with pytest.raises(ReasonRequiredError, match="delete"):
        audit.require_reason("result", [], "", deleting=True)
    assert audit.require_reason("result", ["notes"], None) is None
    assert audit.require_reason("trial", ["area"], "  re-measured ") == "re-measured"
    assert set(audit.CRITICAL_FIELDS) == {"result", "trial"}


def test_concurrent_appends_keep_one_unbroken_chain(trail):
    errors = []

    def work(i):
        try:
            for j in range(5):
                with trail.session(write=True) as s:
                    org = accounts.create_organisation(s, f"T{i}-{j}")
                    s.commit()
                    assert org.public_id
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = _report(trail)
    assert report.ok and report.checked == 6 + 30


def test_audit_verify_main_prints_and_returns_the_exit_code(trail, database_url, capsys):
    assert audit_verify_main(database_url) == 0
    out = capsys.readouterr().out
    assert "6 entries checked, chain intact" in out
    with trail.session(write=True) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor_name="someone else"))
        s.commit()
    assert audit_verify_main(database_url) == 1
    assert "entry 2: content does not match its hash" in capsys.readouterr().out


def test_audit_verify_main_uses_the_environment(trail, database_url, monkeypatch, capsys):
    monkeypatch.setenv("FLUXWISE_DATABASE_URL", database_url)
    assert audit_verify_main() == 0
    assert "chain intact" in capsys.readouterr().out


def test_audit_verify_main_without_a_store(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FLUXWISE_DATABASE_URL", raising=False)
    assert audit_verify_main(f"sqlite:///{tmp_path / 'none.sqlite3'}") == 1
    assert "no fluxwise store" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite3").exists()  # verifying creates nothing
