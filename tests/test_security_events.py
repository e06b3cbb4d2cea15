"""Security events in the audit trail (issue "Trust", item 4), through the HTTP API on SQLite and
PostgreSQL: failed sign-ins and the per-account lockout (whatever the address), the admins' alert and
the audited unlock; sign-out, API tokens and wrong signature passwords with the client address; the
first signing of a session asking for the user ID; the idle timeout; expired sessions purged; and the
periodic review of the trail recorded as a signed entry."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from fluxwise.store import accounts
from fluxwise.store.models import AuditEntry, BrowserSession
from test_api import login, new_project, upload
from test_consent import _entries


def _new(entry: AuditEntry) -> dict:
    return json.loads(entry.new_value or "{}")


def test_failed_sign_ins_lock_the_account_alert_its_admins_and_the_unlock_is_audited(client, make_user, db):
    ua = make_user("ua@a.example", org="Org A", role="admin")
    sa = make_user("sa@a.example", org="Org A", role="scientist")
    ub = make_user("ub@b.example", org="Org B", role="admin")
    for _ in range(accounts.LOCKOUT_FAILURES):
        r = client.post("/api/auth/login", json={"email": sa.email, "password": "wrong password"})
        assert r.status_code == 401
    locked = client.post("/api/auth/login", json={"email": sa.email, "password": sa.password})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # an e-mail without an account answers the same way, so the lock does not tell which exist
    for _ in range(accounts.LOCKOUT_FAILURES):
        r = client.post("/api/auth/login", json={"email": "no@a.example", "password": "x"})
        assert r.status_code == 401
    nobody = client.post("/api/auth/login", json={"email": "no@a.example", "password": "x"})
    assert nobody.status_code == 429
    assert re.sub(r"\d+", "N", nobody.json()["detail"]) == re.sub(r"\d+", "N", locked.json()["detail"])
    failed = _entries(db, action="login_failed", object_id=sa.user_id)
    assert len(failed) == accounts.LOCKOUT_FAILURES
    assert all(_new(e) == {"purpose": "sign-in", "client": "testclient"} for e in failed)
    (lockout,) = _entries(db, action="lockout")
    assert lockout.object_id == sa.user_id and _new(lockout)["failures"] == accounts.LOCKOUT_FAILURES
    # the alert: admins of the account's organisation see it, nobody else does
    alerts = client.get(f"/api/orgs/{ua.org_id}/alerts", headers=ua.headers).json()
    assert [a["user"]["email"] for a in alerts] == [sa.email]
    members = client.get(f"/api/orgs/{ua.org_id}/members", headers=ua.headers).json()
    assert {m["user"]["email"]: m["locked"] for m in members} == {ua.email: False, sa.email: True}
    assert client.get(f"/api/orgs/{ua.org_id}/alerts", headers=sa.headers).status_code == 403
    a_trail = {(e["action"], e["object_id"]) for e in client.get("/api/audit", headers=ua.headers,
                                                                 params={"limit": 1000}).json()}
    assert ("lockout", sa.user_id) in a_trail and ("login_failed", sa.user_id) in a_trail
    b_trail = {e["object_id"] for e in client.get("/api/audit", headers=ub.headers,
                                                  params={"limit": 1000}).json()}
    assert sa.user_id not in b_trail
    # the unlock, audited with who and from where
    assert client.post(f"/api/orgs/{ua.org_id}/members/{sa.user_id}/unlock", headers=sa.headers).status_code \
        == 403
    assert client.post(f"/api/orgs/{ua.org_id}/members/{sa.user_id}/unlock", headers=ua.headers).status_code \
        == 204
    (unlock,) = _entries(db, action="unlock")
    assert (unlock.object_id, unlock.org_id, unlock.actor_id) == (sa.user_id, ua.org_id, ua.user_id)
    assert json.loads(unlock.old_value) == {"failures": accounts.LOCKOUT_FAILURES}
    r = client.post("/api/auth/login", json={"email": sa.email, "password": sa.password})
    assert r.status_code == 200


def test_sign_out_tokens_and_signatures_are_audited_and_the_first_signing_needs_the_user_id(client,
                                                                                          make_user, db):
    ua = make_user("ua@a.example", org="Org A", role="admin")
    pid = new_project(client, ua)
    trial_id = upload(client, ua, pid)["trial"]["id"]
    fits = [client.post(f"/api/trials/{trial_id}/fit", headers=ua.headers).json()["id"] for _ in range(2)]
    # with an API token every signing needs the user ID
    r = client.post(f"/api/results/{fits[0]}/signatures", headers=ua.headers,
                    json={"password": ua.password, "meaning": "author"})
    assert r.status_code == 422 and "email" in r.text
    csrf = login(client, ua)
    h = {"X-CSRF-Token": csrf}
    token = client.post("/api/auth/tokens", headers=h, json={"name": "notebook"}).json()
    assert client.delete(f"/api/auth/tokens/{token['id']}", headers=h).status_code == 204
    made, revoked = (_entries(db, object_type="api_token", object_id=token["id"], action=a)
                     for a in ("create", "delete"))
    assert _new(made[0])["client"] == "testclient" and _new(revoked[0])["client"] == "testclient"
    # the first signing of the session: user ID and password; a wrong ID is a failed check
    sign = f"/api/results/{fits[0]}/signatures"
    r = client.post(sign, headers=h, json={"password": ua.password, "meaning": "author"})
    assert r.status_code == 422 and "user ID" in r.json()["detail"]
    r = client.post(sign, headers=h, json={"email": "ub@b.example", "password": ua.password,
                                           "meaning": "author"})
    assert r.status_code == 403 and "not recorded" in r.json()["detail"]
    r = client.post(sign, headers=h, json={"email": ua.email, "password": "wrong password",
                                           "meaning": "author"})
    assert r.status_code == 403
    wrong = _entries(db, action="sign_failed")
    assert len(wrong) == 2 and all(e.actor_id == ua.user_id and _new(e)["client"] == "testclient"
                                   for e in wrong)
    r = client.post(sign, headers=h, json={"email": "UA@a.example", "password": ua.password,
                                           "meaning": "author"})
    assert r.status_code == 201, r.text
    # later signings of the same session: the password is enough
    r = client.post(f"/api/results/{fits[1]}/signatures", headers=h,
                    json={"password": ua.password, "meaning": "author"})
    assert r.status_code == 201, r.text
    assert client.post("/api/auth/logout", headers=h).status_code == 204
    (logout,) = _entries(db, action="logout")
    assert logout.object_id == ua.user_id and _new(logout) == {"reason": "sign-out", "client": "testclient"}


def test_idle_sessions_end_and_dead_sessions_are_purged(client, make_user, db):
    ua = make_user("ua@a.example")
    login(client, ua)
    with db.session(write=True) as s:
        s.execute(update(BrowserSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=5)))
        s.commit()
    assert client.get("/api/auth/me").status_code == 200
    with db.session() as s:  # the request was noted (at most once a minute)
        seen = s.scalar(select(BrowserSession.last_seen_at))
    assert datetime.now(UTC) - seen < timedelta(minutes=1)
    with db.session(write=True) as s:
        s.execute(update(BrowserSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31)))
        s.commit()
    r = client.get("/api/auth/me")
    assert r.status_code == 401 and "without activity" in r.json()["detail"]
    assert client.get("/api/auth/me").status_code == 401  # ended for good
    (idle,) = _entries(db, action="logout")
    assert _new(idle)["reason"] == "idle timeout"
    # an expired session and the ended one are deleted at the next sign-in (with a logout entry for the
    # expired one, which nobody signed out of)
    login(client, ua)
    with db.session(write=True) as s:
        s.add(BrowserSession(key_sha256="0" * 64, user_id=s.scalar(select(BrowserSession.user_id)),
                             csrf_token="x", expires_at=datetime.now(UTC) - timedelta(hours=1)))
        s.commit()
    login(client, ua)
    with db.session() as s:
        assert s.scalar(select(BrowserSession).where(BrowserSession.key_sha256 == "0" * 64)) is None
        assert len(list(s.scalars(select(BrowserSession)))) == 2  # the two live sign-ins
    assert sorted(_new(e)["reason"] for e in _entries(db, action="logout")) == ["expired", "idle timeout"]


def test_the_periodic_review_of_the_trail_is_a_signed_entry(client, make_user, db):
    ua = make_user("ua@a.example", org="Org A", role="admin")
    sa = make_user("sa@a.example", org="Org A", role="scientist")
    rv = make_user("rv@a.example", org="Org A", role="reviewer")
    ub = make_user("ub@b.example", org="Org B", role="admin")
    new_project(client, ua)
    body = {"org_id": ua.org_id, "comment": "monthly review: nothing unusual", "password": ua.password}
    assert client.post("/api/audit/reviews", headers=ua.headers, json=body).status_code == 422  # user ID
    r = client.post("/api/audit/reviews", headers=ua.headers, json={**body, "email": ua.email,
                                                                      "password": "wrong password"})
    assert r.status_code == 403
    assert client.post("/api/audit/reviews", headers=sa.headers,
                       json={**body, "email": sa.email, "password": sa.password}).status_code == 403
    assert client.post("/api/audit/reviews", headers=ub.headers,
                       json={**body, "email": ub.email, "password": ub.password}).status_code == 404
    with db.session() as s:
        head = max(e.seq for e in s.scalars(select(AuditEntry)))
        head_hash = s.get(AuditEntry, head).hash
    r = client.post("/api/audit/reviews", headers=ua.headers, json={**body, "email": ua.email})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["from_seq"] == 1 and first["through_seq"] == head and first["through_hash"] == head_hash
    assert first["entries"] > 0 and first["comment"] == body["comment"]
    reviewed_at = datetime.fromisoformat(first["reviewed_at"])
    assert datetime.fromisoformat(first["next_due"]) - reviewed_at == timedelta(days=30)
    (entry,) = _entries(db, action="review")
    assert entry.seq == first["seq"] and entry.actor_id == ua.user_id and entry.org_id == ua.org_id
    assert _new(entry)["meaning"] == "review" and _new(entry)["signer_email"] == ua.email
    r = client.post("/api/audit/reviews", headers=rv.headers, json={**body, "email": rv.email,
                                                                      "password": rv.password})
    assert r.status_code == 201 and r.json()["from_seq"] == head + 1
    listed = client.get("/api/audit/reviews", headers=sa.headers, params={"org_id": ua.org_id}).json()
    assert [x["reviewer"] for x in listed] == ["RV <rv@a.example>", "UA <ua@a.example>"]


def test_accounts_are_made_and_unlocked_by_the_operator(tmp_path):
    from click.testing import CliRunner

    from fluxwise.cli import main
    from fluxwise.store.database import open_database

    runner = CliRunner()
    where = ["--data-dir", str(tmp_path)]
    r = runner.invoke(main, ["user", "add", "op@a.example", "--name", "OP", "--password-stdin", "--json",
                             *where], input="a long password\n")
    assert r.exit_code == 0, r.output
    made = json.loads(r.output)
    assert made["email"] == "op@a.example" and re.fullmatch(r"[0-9a-f]{32}", made["id"])
    again = runner.invoke(main, ["user", "add", "OP@a.example", "--name", "OP", "--password-stdin", *where],
                          input="a long password\n")
    assert again.exit_code == 2 and "exists already" in again.output
    db = open_database(None, tmp_path)
    try:
        with db.session(write=True) as s:
            for _ in range(accounts.LOCKOUT_FAILURES):
                try:
                    accounts.check_password(s, "op@a.example", "wrong", "10.0.0.1")
                except accounts.AuthenticationError:
                    pass
            s.commit()
        r = runner.invoke(main, ["user", "unlock", "op@a.example", *where])
        assert r.exit_code == 0 and "unlocked" in r.output
        with db.session(write=True) as s:
            assert accounts.check_password(s, "op@a.example", "a long password").email == "op@a.example"
        (unlock,) = _entries(db, action="unlock")
        assert unlock.actor_name == "system" and _new(unlock)["client"] == "command line"
    finally:
        db.dispose()
    assert runner.invoke(main, ["user", "unlock", "nobody@a.example", *where]).exit_code == 2


def test_the_idle_timeout_is_a_setting(monkeypatch):
    import pytest

    from fluxwise.api.deps import ENV_IDLE_TIMEOUT_MIN, ApiSettings
    from fluxwise.errors import InputError

    assert ApiSettings.from_env().idle_timeout == timedelta(minutes=30)
    monkeypatch.setenv(ENV_IDLE_TIMEOUT_MIN, "5")
    assert ApiSettings.from_env().idle_timeout == timedelta(minutes=5)
    for bad in ("0", "soon", "100000"):
        monkeypatch.setenv(ENV_IDLE_TIMEOUT_MIN, bad)
        with pytest.raises(InputError, match=ENV_IDLE_TIMEOUT_MIN):
            ApiSettings.from_env()
