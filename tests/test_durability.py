"""Durability of the served store and ``fluxwise audit verify``, on SQLite and PostgreSQL.

The short form of the kill test of ``scripts/loadtest.py`` (whose helpers it uses): ``fluxwise serve``
in a child process, a few uploaders (some streaming their files slowly, so that bodies are in flight),
SIGKILL, restart — every upload acknowledged before the kill must be there byte for byte, no upload
may lack its trial, and the audit chain must verify. Then the CLI: exit 0 and JSON for an intact
chain, exit 1 naming the entry for an altered one or a missing store.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from fluxwise.cli import main
from test_audit_tamper import bypassing_the_database

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "loadtest.py"


@pytest.fixture(scope="module")
def loadtest():
    spec = importlib.util.spec_from_file_location("fluxwise_loadtest", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_acknowledged_uploads_survive_sigkill(loadtest, database_url, tmp_path):
    accounts = loadtest.make_accounts(database_url, users=6, projects=2)
    env = {**os.environ, "FLUXWISE_DATABASE_URL": database_url, "FLUXWISE_DATA_DIR": str(tmp_path)}
    server = loadtest.Server(tmp_path, env, tmp_path / "server.log")
    try:
        server.start()
        killed = asyncio.run(loadtest.run_kill(server, accounts, seed=7, kill_after=1.5))
        assert killed["acked"], "no upload was acknowledged before the kill"
        assert killed["in_flight_at_kill"] > 0  # the slow uploaders at least
        assert not killed["refused"], killed["refused"]
        server.start()  # the same store, after SIGKILL
        bad = asyncio.run(loadtest.fetch_all(server.url, accounts, killed["acked"]))
        server.stop()
    finally:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()
    assert bad == [], f"acknowledged uploads missing or changed after the restart: {bad}"
    store = loadtest.check_store(database_url, killed["acked"])
    assert store["missing"] == [] and store["corrupt"] == []
    assert store["uploads_without_trial"] == 0
    code, output = loadtest.audit_verify(database_url, env)
    assert code == 0, output
    assert "chain intact" in output


def test_audit_verify_command(db, database_url, make_user, tmp_path):
    make_user("ua@example.org")
    make_user("ub@example.org", org="Org B")
    runner = CliRunner()
    r = runner.invoke(main, ["audit", "verify", "--database-url", database_url])
    assert r.exit_code == 0, r.output
    assert "chain intact" in r.output
    r = runner.invoke(main, ["audit", "verify", "--database-url", database_url, "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["ok"] is True and report["problems"] == [] and report["checked"] == report["head_seq"] >= 6

    with pytest.raises(DatabaseError, match="refused"), db.engine.begin() as conn:  # the database refuses
        conn.execute(text("UPDATE audit_entries SET reason = 'tidied up' WHERE seq = 2"))
    with bypassing_the_database(db) as conn:  # someone edits the trail behind the application's back
        conn.execute(text("UPDATE audit_entries SET reason = 'tidied up' WHERE seq = 2"))
    r = runner.invoke(main, ["audit", "verify", "--database-url", database_url])
    assert r.exit_code == 1 and "entry 2" in r.output
    r = runner.invoke(main, ["audit", "verify", "--database-url", database_url, "--json"])
    assert r.exit_code == 1
    report = json.loads(r.output)
    assert report["ok"] is False and any("entry 2" in p for p in report["problems"])

    r = runner.invoke(main, ["audit", "verify", "--data-dir", str(tmp_path / "nothing-here"), "--json"],
                      env={"FLUXWISE_DATABASE_URL": ""})
    assert r.exit_code == 1 and "no fluxwise store" in json.loads(r.output)["error"]
