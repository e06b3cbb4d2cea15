"""Consent across organisations (issue "Trust", item 3), through the HTTP API on SQLite and PostgreSQL:
another organisation's admin cannot pull a user in or push a project out without the other side
accepting; nothing is visible on either side before; the answer to an invitation is the same for an
e-mail with and without an account, and for an organisation id that names one or none; removing a
member, ending a share and changing a password are audited."""

from __future__ import annotations

import json

from sqlalchemy import select

from fluxwise.store.models import AuditEntry, Invitation
from test_api import login, new_project


def _entries(db, **where) -> list[AuditEntry]:
    with db.session() as s:
        stmt = select(AuditEntry).order_by(AuditEntry.seq)
        for k, v in where.items():
            stmt = stmt.where(getattr(AuditEntry, k) == v)
        return list(s.scalars(stmt))


def _same_answer(r1, r2) -> None:
    """Two answers that must not be told apart: status, headers (but the date) and body but the id."""
    assert r1.status_code == r2.status_code
    h1, h2 = dict(r1.headers), dict(r2.headers)
    h1.pop("date", None), h2.pop("date", None)
    assert h1 == h2
    b1, b2 = r1.json(), r2.json()
    assert b1.pop("id") != b2.pop("id")
    assert b1 == b2


def test_an_admin_cannot_pull_a_user_of_another_organisation_without_their_acceptance(client, make_user, db):
    ua = make_user("ua@a.example", org="Org A", role="admin")
    ub = make_user("ub@b.example", org="Org B", role="admin")
    pid = new_project(client, ua, "A's project")
    # the same answer for an e-mail with an account and for one without
    known = client.post(f"/api/orgs/{ua.org_id}/members", headers=ua.headers,
                        json={"email": "UB@b.example", "role": "admin"})
    unknown = client.post(f"/api/orgs/{ua.org_id}/members", headers=ua.headers,
                          json={"email": "nobody-at-all@b.example", "role": "admin"})
    assert known.status_code == 202, known.text
    _same_answer(known, unknown)
    assert known.json()["status"] == "open" and known.json()["kind"] == "member"
    # nothing visible on either side before the answer
    members = client.get(f"/api/orgs/{ua.org_id}/members", headers=ua.headers).json()
    assert [m["user"]["email"] for m in members] == ["ua@a.example"]
    assert [o["id"] for o in client.get("/api/orgs", headers=ub.headers).json()] == [ub.org_id]
    assert client.get("/api/projects", headers=ub.headers).json() == []
    assert client.get(f"/api/projects/{pid}", headers=ub.headers).status_code == 404
    assert client.get(f"/api/orgs/{ua.org_id}", headers=ub.headers).status_code == 404
    # the inviting side sees both invitations alike
    outgoing = client.get(f"/api/orgs/{ua.org_id}/invitations", headers=ua.headers).json()
    assert sorted((i["email"], i["status"]) for i in outgoing) == [("nobody-at-all@b.example", "open"),
                                                                  ("ub@b.example", "open")]
    # the invited person sees who invites them, and nobody else can answer for them
    (inv,) = client.get("/api/invitations", headers=ub.headers).json()
    assert inv["org"] == {"id": ua.org_id, "name": "Org A"} and inv["role"] == "admin"
    assert inv["status"] == "pending" and inv["created_by"] == "UA"
    uc = make_user("uc@c.example", org="Org C", role="admin")
    assert client.post(f"/api/invitations/{inv['id']}/accept", headers=uc.headers).status_code == 404
    assert client.post(f"/api/invitations/{inv['id']}/accept", headers=ua.headers).status_code == 404
    r = client.post(f"/api/invitations/{inv['id']}/accept", headers=ub.headers)
    assert r.status_code == 200 and r.json() == {"id": inv["id"], "status": "accepted",
                                                 "org": {"id": ua.org_id, "name": "Org A"}, "project": None}
    assert client.post(f"/api/invitations/{inv['id']}/accept", headers=ub.headers).status_code == 409
    assert [p["id"] for p in client.get("/api/projects", headers=ub.headers).json()] == [pid]
    members = client.get(f"/api/orgs/{ua.org_id}/members", headers=ua.headers).json()
    assert {m["user"]["email"]: m["role"] for m in members} == {"ua@a.example": "admin",
                                                                "ub@b.example": "admin"}
    outgoing = client.get(f"/api/orgs/{ua.org_id}/invitations", headers=ua.headers).json()
    assert {i["email"]: i["status"] for i in outgoing} == {"ub@b.example": "accepted",
                                                           "nobody-at-all@b.example": "open"}
    # audited: the invitation, the acceptance and the membership it made, with the client address
    entries = _entries(db, object_type="invitation")
    assert [(e.action, json.loads(e.new_value).get("status")) for e in entries] == [
        ("create", None), ("create", None), ("update", "accepted")]
    assert all(json.loads(e.new_value)["client"] == "testclient" for e in entries)
    (joined,) = [e for e in _entries(db, object_type="membership", org_id=ua.org_id)
                 if "ub@b.example" in (e.new_value or "")]
    assert joined.action == "create" and joined.actor_name.startswith("UB")


def test_an_admin_cannot_push_a_project_into_another_organisation_without_its_acceptance(client, make_user,
                                                                                        db):
    ua = make_user("ua@a.example", org="Org A", role="admin")
    ub = make_user("ub@b.example", org="Org B", role="admin")
    sb = make_user("sb@b.example", org="Org B", role="scientist")
    pid = new_project(client, ua, "A's project")
    to_b = client.post(f"/api/projects/{pid}/shares", headers=ua.headers, json={"org_id": ub.org_id})
    to_nobody = client.post(f"/api/projects/{pid}/shares", headers=ua.headers, json={"org_id": "e" * 32})
    assert to_b.status_code == 202, to_b.text
    _same_answer(to_b, to_nobody)
    # before the answer: B's members see nothing, A does not list B as a recipient
    for member in (ub, sb):
        assert client.get("/api/projects", headers=member.headers).json() == []
        assert client.get(f"/api/projects/{pid}", headers=member.headers).status_code == 404
    assert client.get(f"/api/projects/{pid}", headers=ua.headers).json()["shared_with"] == []
    # only an admin of the receiving organisation sees and answers the offer
    assert client.get("/api/invitations", headers=sb.headers).json() == []
    (offer,) = client.get("/api/invitations", headers=ub.headers).json()
    assert offer["kind"] == "share" and offer["project"] == {"id": pid, "name": "A's project"}
    assert client.post(f"/api/invitations/{offer['id']}/accept", headers=sb.headers).status_code == 404
    r = client.post(f"/api/invitations/{offer['id']}/accept", headers=ub.headers)
    assert r.status_code == 200 and r.json()["project"]["id"] == pid
    for member in (ub, sb):
        assert [p["id"] for p in client.get("/api/projects", headers=member.headers).json()] == [pid]
    assert [o["id"] for o in client.get(f"/api/projects/{pid}", headers=ua.headers).json()["shared_with"]] \
        == [ub.org_id]
    # ending the share (by the owner) closes it again, audited
    assert client.delete(f"/api/projects/{pid}/shares/{ub.org_id}", headers=sb.headers).status_code == 403
    assert client.delete(f"/api/projects/{pid}/shares/{ub.org_id}", headers=ua.headers).status_code == 204
    assert client.get(f"/api/projects/{pid}", headers=sb.headers).status_code == 404
    assert client.delete(f"/api/projects/{pid}/shares/{ub.org_id}", headers=ua.headers).status_code == 404
    kinds = [(e.action, e.object_type) for e in _entries(db, project_id=pid)]
    assert ("create", "project_share") in kinds and ("delete", "project_share") in kinds


def test_a_decline_is_not_told_to_the_inviting_side_and_invitations_can_be_withdrawn(client, make_user, db):
    ua = make_user("ua@a.example", org="Org A", role="admin")
    ub = make_user("ub@b.example", org="Org B")
    uc = make_user("uc@c.example", org="Org C")
    for who in (ub, uc):
        r = client.post(f"/api/orgs/{ua.org_id}/members", headers=ua.headers,
                        json={"email": who.email, "role": "reviewer"})
        assert r.status_code == 202
    (for_b,) = client.get("/api/invitations", headers=ub.headers).json()
    (for_c,) = client.get("/api/invitations", headers=uc.headers).json()
    r = client.post(f"/api/invitations/{for_b['id']}/decline", headers=ub.headers)
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert client.post(f"/api/invitations/{for_b['id']}/accept", headers=ub.headers).status_code == 409
    outgoing = {i["email"]: i["status"] for i in
                client.get(f"/api/orgs/{ua.org_id}/invitations", headers=ua.headers).json()}
    assert outgoing == {"ub@b.example": "open", "uc@c.example": "open"}  # declined reads as unanswered
    # nor does A's audit trail tell: the decline is an entry of B's person, not of Org A
    a_trail = client.get("/api/audit", headers=ua.headers, params={"limit": 1000}).json()
    assert not any("declined" in json.dumps(e["new_value"]) for e in a_trail)
    b_trail = client.get("/api/audit", headers=ub.headers, params={"limit": 1000}).json()
    assert any((e["new_value"] or {}).get("status") == "declined" for e in b_trail)
    # withdrawn: gone from the invitee's list, and can no longer be accepted
    assert client.delete(f"/api/orgs/{ua.org_id}/invitations/{for_c['id']}", headers=ua.headers).status_code \
        == 204
    assert client.get("/api/invitations", headers=uc.headers).json() == []
    assert client.post(f"/api/invitations/{for_c['id']}/accept", headers=uc.headers).status_code == 409
    assert client.get(f"/api/orgs/{ua.org_id}", headers=uc.headers).status_code == 404
    with db.session() as s:
        assert {i.status for i in s.scalars(select(Invitation))} == {"declined", "revoked"}


def test_removing_a_member_and_changing_a_password_are_audited(client, make_user, db):
    ua = make_user("ua@a.example", org="Org A", role="admin")
    sa = make_user("sa@a.example", org="Org A", role="scientist")
    pid = new_project(client, ua)
    assert client.delete(f"/api/orgs/{ua.org_id}/members/{ua.user_id}", headers=ua.headers).status_code \
        == 422  # the last admin stays
    assert client.delete(f"/api/orgs/{ua.org_id}/members/{ua.user_id}", headers=sa.headers).status_code \
        == 403  # a scientist removes nobody but themselves
    assert client.delete(f"/api/orgs/{ua.org_id}/members/{sa.user_id}", headers=ua.headers).status_code == 204
    assert client.get(f"/api/projects/{pid}", headers=sa.headers).status_code == 404
    (removed,) = [e for e in _entries(db, object_type="membership") if e.action == "delete"]
    assert json.loads(removed.old_value) == {"user": "sa@a.example", "role": "scientist"}
    # the password: the current one is checked (a wrong one is a failed check, audited); other
    # sessions end, this one stays
    csrf = login(client, ua)
    from fastapi.testclient import TestClient

    with TestClient(client.app) as other:
        login(other, ua)
        h = {"X-CSRF-Token": csrf}
        r = client.post("/api/auth/password", headers=h,
                        json={"current_password": "not it", "new_password": "a brand new password"})
        assert r.status_code == 403
        r = client.post("/api/auth/password", headers=h,
                        json={"current_password": ua.password, "new_password": "a brand new password"})
        assert r.status_code == 204, r.text
        assert client.get("/api/auth/me").status_code == 200
        assert other.get("/api/auth/me").status_code == 401
    old_password = client.post("/api/auth/login", json={"email": ua.email, "password": ua.password})
    assert old_password.status_code == 401
    assert client.post("/api/auth/login",
                       json={"email": ua.email, "password": "a brand new password"}).status_code == 200
    values = [(e.action, json.loads(e.new_value or "{}")) for e in _entries(db, object_id=ua.user_id)]
    actions = [(a, v.get("purpose"), v.get("password")) for a, v in values]
    assert ("login_failed", "password change", None) in actions
    assert ("update", None, "changed") in actions
