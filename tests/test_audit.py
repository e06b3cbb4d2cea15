"""The audit trail: the keyed chain, the key kept outside the store, the checkpoint log, same-transaction
writes, reasons, concurrency, key rotation and ``fluxwise audit verify`` — on SQLite and PostgreSQL.
(How a reviewer's tampering is caught: ``test_audit_tamper.py``.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import threading
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fluxwise.cli import main
from fluxwise.store import accounts, audit, projects
from fluxwise.store.audit import GENESIS_HASH, ReasonRequiredError, audit_verify_main, verify_chain
from fluxwise.store.checkpoints import CheckpointLog
from fluxwise.store.database import open_database
from fluxwise.store.keyring import AuditKeyError, parse_key
from fluxwise.store.models import AuditEntry, AuditHead, Project


@pytest.fixture
def trail(db):
    """A store with seven audit entries: its seal, an organisation, a user, a membership, three projects."""
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


def _head(db) -> AuditHead:
    with db.session() as s:
        return s.get(AuditHead, 1)


def _verify(database_url, *args):
    return CliRunner().invoke(main, ["audit", "verify", "--database-url", database_url, *args])


def test_intact_chain_verifies_and_starts_with_the_seal(trail):
    report = _report(trail)
    assert report.ok and report.checked == 7 and report.problems == []
    assert report.head_seq == 7 and report.checkpoint_seq == 7
    with trail.session() as s:
        seal = s.get(AuditEntry, 1)
    head = _head(trail)
    assert (seal.action, seal.object_type, seal.object_id) == ("create", "audit_key", head.key_id)
    assert seal.key_id == head.key_id
    sealed = json.loads(seal.new_value)
    assert sealed["store_id"] == head.store_id and sealed["legacy_entries"] == 0


def test_each_hash_is_an_hmac_under_the_key_file_outside_the_store(trail, audit_dir):
    head = _head(trail)
    key_file = audit_dir / "keys" / f"{head.key_id}.key"
    secret = parse_key(key_file.read_text(), "key file").secret
    assert (key_file.stat().st_mode & 0o777) == 0o600
    with trail.session() as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [e.seq for e in entries] == list(range(1, 8))
    assert entries[0].prev_hash == GENESIS_HASH
    for before, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == before.hash
    # recomputed independently of fluxwise: subkey = HMAC(K, label), then HMAC over the canonical JSON
    entry_key = hmac.new(secret, b"fluxwise audit entry v1", hashlib.sha256).digest()
    assert hmac.new(secret, b"fluxwise key id v1", hashlib.sha256).hexdigest()[:16] == head.key_id
    e = entries[4]
    payload = {"seq": e.seq, "ts": e.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "actor_id": e.actor_id,
               "actor_name": e.actor_name, "org_id": e.org_id, "project_id": e.project_id, "action": e.action,
               "object_type": e.object_type, "object_id": e.object_id, "old_value": e.old_value,
               "new_value": e.new_value, "reason": e.reason, "prev_hash": e.prev_hash, "key_id": e.key_id}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hmac.new(entry_key, canonical.encode(), hashlib.sha256).hexdigest() == e.hash
    assert hashlib.sha256(canonical.encode()).hexdigest() != e.hash  # not a plain hash any more
    assert json.loads(e.new_value) == {"name": "P1", "description": ""}


def test_every_commit_is_checkpointed_outside_the_store(trail, audit_dir):
    head = _head(trail)
    log = CheckpointLog(audit_dir, head.store_id)
    lines = [json.loads(x) for x in log.path.read_text().splitlines()]
    assert lines[-1]["seq"] == head.seq and lines[-1]["entry_hash"] == head.hash
    assert lines[0]["prev_checkpoint_hash"] == GENESIS_HASH and lines[0]["seq"] == 1
    assert [ln["seq"] for ln in lines] == sorted(ln["seq"] for ln in lines)
    assert not log.path.is_relative_to(audit_dir / ".." / "store")


def test_a_torn_last_line_is_no_alarm_and_is_cut_off_by_the_next_checkpoint(trail, audit_dir):
    log = CheckpointLog(audit_dir, _head(trail).store_id)
    with open(log.path, "ab") as f:
        f.write(b'{"entry_hash":"ab')  # the machine lost power mid-write
    report = _report(trail)
    assert report.ok and any("cut short" in n for n in report.notes)
    with trail.session(write=True) as s:
        accounts.create_organisation(s, "after the crash")
        s.commit()
    assert log.path.read_bytes().endswith(b"}\n") and _report(trail).ok


def test_entry_and_change_commit_together_or_not_at_all(trail):
    with trail.session(write=True) as s:
        org = accounts.create_organisation(s, "Org B")
        projects.create_project(s, org, "rolled back", actor=None)
        s.rollback()
    with trail.session() as s:
        assert s.scalar(select(AuditHead.seq)) == 7
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


def test_concurrent_appends_keep_one_unbroken_checkpointed_chain(trail, database_url):
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
    assert report.ok and report.checked == 7 + 30 and report.checkpoint_seq == 37
    result = _verify(database_url)
    assert result.exit_code == 0, result.output
    assert "37 entries checked, chain intact" in result.output


def test_audit_verify_main_prints_and_returns_the_exit_code(trail, database_url, capsys, monkeypatch):
    assert audit_verify_main(database_url) == 0
    assert "7 entries checked, chain intact" in capsys.readouterr().out
    monkeypatch.setenv("FLUXWISE_DATABASE_URL", database_url)
    assert audit_verify_main() == 0
    assert "chain intact" in capsys.readouterr().out


def test_audit_verify_main_without_a_store(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FLUXWISE_DATABASE_URL", raising=False)
    assert audit_verify_main(f"sqlite:///{tmp_path / 'none.sqlite3'}") == 1
    assert "no fluxwise store" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite3").exists()  # verifying creates nothing


def test_without_its_key_the_store_is_refused(trail, database_url, audit_dir):
    head = _head(trail)
    key_file = audit_dir / "keys" / f"{head.key_id}.key"
    kept = key_file.read_bytes()
    key_file.unlink()
    try:
        with pytest.raises(AuditKeyError, match=f"audit key {head.key_id} of this store is missing"):
            open_database(database_url)  # what `fluxwise serve` opens: it refuses to start
        result = _verify(database_url)
        assert result.exit_code == 1 and f"audit key {head.key_id} of this store is missing" in result.output
    finally:
        key_file.write_bytes(kept)
    assert _verify(database_url).exit_code == 0


def test_a_key_in_the_environment_must_be_the_stores_key(trail, database_url, monkeypatch):
    monkeypatch.setenv("FLUXWISE_AUDIT_KEY", "A" * 43)  # a valid key, but another one
    with pytest.raises(AuditKeyError, match="FLUXWISE_AUDIT_KEY holds audit key .* but this store"):
        open_database(database_url)
    result = _verify(database_url)
    assert result.exit_code == 1 and "but this store's trail is under key" in result.output
    monkeypatch.setenv("FLUXWISE_AUDIT_KEY", "not a key")
    assert "does not hold an audit key" in _verify(database_url).output


def test_a_new_store_takes_the_key_given_in_the_environment(tmp_path, monkeypatch):
    key_text = "0123456789abcdef" * 4
    monkeypatch.setenv("FLUXWISE_AUDIT_KEY", key_text)
    monkeypatch.setenv("FLUXWISE_AUDIT_DIR", str(tmp_path / "audit"))
    db = open_database(f"sqlite:///{tmp_path / 'data' / 'x.sqlite3'}")
    try:
        assert _head(db).key_id == parse_key(key_text, "test").key_id
        assert not (tmp_path / "audit" / "keys").exists()  # the secret was not copied to disk
        assert _report(db).ok
    finally:
        db.dispose()


def test_the_key_is_never_kept_inside_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FLUXWISE_AUDIT_DIR", str(tmp_path / "data" / "audit"))
    with pytest.raises(AuditKeyError, match="inside the store's data folder"):
        open_database(f"sqlite:///{tmp_path / 'data' / 'x.sqlite3'}")
    assert not (tmp_path / "data" / "audit").exists()


def test_key_rotation_verifies_and_keeps_the_old_key(trail, database_url, audit_dir, tmp_path):
    old = _head(trail).key_id
    out = tmp_path / "rotation.json"
    r = CliRunner().invoke(main, ["audit", "rotate-key", "--database-url", database_url, "-o", str(out),
                                  "--json"])
    assert r.exit_code == 0, r.output
    rotation = json.loads(r.output)
    new = rotation["new_key_id"]
    assert rotation["old_key_id"] == old and new != old and _head(trail).key_id == new
    with trail.session(write=True) as s:  # the application goes on under the new key
        accounts.create_organisation(s, "after the rotation")
        s.commit()
    with trail.session() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.seq >= 8).order_by(AuditEntry.seq)))
    assert [(e.object_type, e.key_id) for e in entries] == [("audit_key", old), ("organisation", new)]
    assert json.loads(entries[0].new_value)["key_id"] == new
    exported = json.loads(out.read_text())["fluxwise_checkpoint"]
    assert exported["seq"] == 8 and exported["entry_hash"] == entries[0].hash
    assert (audit_dir / "keys" / f"{old}.key").is_file() and (audit_dir / "keys" / f"{new}.key").is_file()
    result = _verify(database_url, "--anchor", str(out))
    assert result.exit_code == 0, result.output
    # without the old key, the entries written under it cannot be verified
    shutil.move(audit_dir / "keys" / f"{old}.key", tmp_path / "old.key")
    result = _verify(database_url)
    assert result.exit_code == 1 and f"key {old}, which is not in the key ring" in result.output


def test_checkpoint_command_exports_the_head_and_a_timestamp_request(trail, database_url, tmp_path):
    out = tmp_path / "qa" / "head.json"
    out.parent.mkdir()
    r = CliRunner().invoke(main, ["audit", "checkpoint", "--database-url", database_url, "-o", str(out)])
    assert r.exit_code == 0, r.output
    export = json.loads(out.read_text())
    head = _head(trail)
    assert export["fluxwise_checkpoint"]["seq"] == head.seq
    assert export["fluxwise_checkpoint"]["entry_hash"] == head.hash
    tsq = out.with_name("head.json.tsq").read_bytes()
    assert tsq[0] == 0x30  # a DER TimeStampReq
    assert _verify(database_url, "--anchor", str(out)).exit_code == 0
    # a forged export (another seq, MAC kept) is refused
    export["fluxwise_checkpoint"]["seq"] = 3
    out.write_text(json.dumps(export))
    result = _verify(database_url, "--anchor", str(out))
    assert result.exit_code == 1 and "does not match its MAC" in result.output


def _test_tsa(directory):
    """A timestamp authority of our own (root and TSA certificates), for ``openssl ts -reply``."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def cert(subject, issuer, key, sign_key, *extensions):
        def name(cn):
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

        b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30)))
        for ext, critical in extensions:
            b = b.add_extension(ext, critical=critical)
        return b.sign(sign_key, hashes.SHA256())

    root_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = cert("Test root", "Test root", root_key, root_key,
                (x509.BasicConstraints(ca=True, path_length=None), True))
    tsa = cert("Test TSA", "Test root", tsa_key, root_key,
               (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True))
    pem = serialization.Encoding.PEM
    (directory / "root.pem").write_bytes(root.public_bytes(pem))
    (directory / "tsa.pem").write_bytes(tsa.public_bytes(pem))
    (directory / "tsa.key").write_bytes(tsa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
    (directory / "serial").write_text("01\n")
    (directory / "ts.cnf").write_text(
        "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = serial\nsigner_digest = sha256\n"
        "default_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n"
        "ess_cert_id_chain = no\ntsa_name = yes\nordering = no\n")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_rfc3161_timestamp_token_is_checked_and_attached_to_an_export(trail, database_url, tmp_path):
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl (the timestamp authority of this test) is not installed")
    _test_tsa(tmp_path)
    out = tmp_path / "head.json"
    runner = CliRunner()
    export = ["audit", "checkpoint", "--database-url", database_url, "-o"]
    assert runner.invoke(main, [*export, str(out)]).exit_code == 0

    def reply(query, answer):
        subprocess.run(["openssl", "ts", "-reply", "-queryfile", str(query), "-signer", "tsa.pem", "-inkey",
                        "tsa.key", "-out", str(answer), "-config", "ts.cnf"], cwd=tmp_path, check=True,
                       capture_output=True)

    reply(tmp_path / "head.json.tsq", tmp_path / "head.tsr")
    r = runner.invoke(main, ["audit", "checkpoint", "-o", str(out), "--timestamp-token",
                             str(tmp_path / "head.tsr"), "--tsa-certificate", str(tmp_path / "root.pem")])
    assert r.exit_code == 0, r.output
    assert "(verified)" in r.output
    stamped = json.loads(out.read_text())
    assert stamped["rfc3161"]["gen_time"][:10] == datetime.now(UTC).date().isoformat()
    assert _verify(database_url, "--anchor", str(out)).exit_code == 0
    # a token for something else is refused
    with trail.session(write=True) as s:  # the head moves on: a new export differs
        accounts.create_organisation(s, "later")
        s.commit()
    newer = tmp_path / "newer.json"
    assert runner.invoke(main, [*export, str(newer)]).exit_code == 0
    r = runner.invoke(main, ["audit", "checkpoint", "-o", str(newer), "--timestamp-token",
                             str(tmp_path / "head.tsr")])
    assert r.exit_code == 2 and "does not cover the checkpoint" in r.output
