"""The pages of consent and account security (issue "Trust", items 3 and 4), on SQLite: an admin invites
from the organisation page and the invited person accepts from their account page (told by a banner on
every page); a project is offered to another organisation from its page and accepted by that
organisation's admin; a locked member is shown to admins on every page and unlocked from the
organisation page; a member is removed and a share ended; the audit-trail review is signed from the
organisation page (the first signing of the session asks for the user ID)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from fluxwise.api.deps import CSRF_COOKIE, ApiSettings
from fluxwise.store import accounts
from fluxwise.web import create_web_app


@pytest.fixture
def site(tmp_path):
    from fluxwise.store.database import open_database

    db = open_database(f"sqlite:///{tmp_path / 'fluxwise.sqlite3'}")
    people = {}
    with db.session(write=True) as s:
        for email, org_name in (("ua@a.example", "Org A"), ("ub@b.example", "Org B")):
            user = accounts.create_user(s, email, email[:2].upper(), "correct horse " + email)
            org = accounts.create_organisation(s, org_name)
            accounts.add_member(s, user, org, "admin")
            people[email[:2]] = (email, org.public_id)
        s.commit()
    yield db, create_web_app(db=db, settings=ApiSettings(secret_key="people-test")), people
    db.dispose()


def _signed_in(app, email: str) -> tuple[TestClient, str]:
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", data={"email": email, "password": "correct horse " + email})
    assert r.status_code == 303, r.text
    return client, client.cookies[CSRF_COOKIE]


def _post(client, url: str, csrf: str, **form) -> str:
    r = client.post(url, data={"csrf_token": csrf, **form})
    assert r.status_code == 303, (url, r.status_code, r.text[:500])
    return r.headers["location"]


def test_inviting_accepting_sharing_unlocking_and_reviewing_in_the_pages(site):
    db, app, people = site
    (a_email, a_org), (b_email, b_org) = people["ua"], people["ub"]
    a, a_csrf = _signed_in(app, a_email)
    b, b_csrf = _signed_in(app, b_email)

    # A invites B's admin into Org A; B is told on every page and accepts from the account page
    assert _post(a, f"/orgs/{a_org}/members", a_csrf, email=b_email, role="reviewer") \
        == f"/orgs/{a_org}?done=invited"
    page = a.get(f"/orgs/{a_org}?done=invited").text
    assert "Invitation made" in page and b_email in page  # listed as an open invitation, not as a member
    assert len(re.findall(r"<tr data-member=", page)) == 1
    banner = b.get("/projects").text
    assert "1 invitation waiting for your answer" in banner
    account = b.get("/account").text
    (inv_id,) = re.findall(r'action="/invitations/([0-9a-f]{32})/accept"', account)
    assert "Org A" in account and "reviewer" in account
    assert b.get(f"/orgs/{a_org}").status_code == 404  # nothing visible before accepting
    assert _post(b, f"/invitations/{inv_id}/accept", b_csrf) == f"/orgs/{a_org}?done=accepted"
    page = b.get(f"/orgs/{a_org}").text
    assert len(re.findall(r"<tr data-member=", page)) == 2 and "invitation waiting" not in page

    # A offers a project to Org B from the project page; B's admin accepts
    r = a.post("/projects", data={"csrf_token": a_csrf, "org_id": a_org, "name": "Harvest"})
    pid = r.headers["location"].rsplit("/", 1)[1]
    assert _post(a, f"/projects/{pid}/shares", a_csrf, org_id=b_org) == f"/projects/{pid}?done=shared"
    assert b_org in a.get(f"/projects/{pid}").text  # offered, not accepted yet
    (share_id,) = re.findall(r'action="/invitations/([0-9a-f]{32})/accept"', b.get("/account").text)
    assert _post(b, f"/invitations/{share_id}/accept", b_csrf) == f"/projects/{pid}?done=accepted"
    assert 'id="share-list"' in a.get(f"/projects/{pid}").text
    assert _post(a, f"/projects/{pid}/shares/{b_org}/revoke", a_csrf) == f"/projects/{pid}?done=unshared"

    # B is locked out after failed sign-ins: A (admin of an organisation of B's) is alerted and unlocks
    for _ in range(accounts.LOCKOUT_FAILURES):
        assert TestClient(app).post("/login", data={"email": b_email, "password": "wrong"}).status_code == 401
    assert "is locked after repeated failed password checks" in a.get("/projects").text
    page = a.get(f"/orgs/{a_org}").text
    (b_id,) = re.findall(r'action="/orgs/[0-9a-f]{32}/members/([0-9a-f]{32})/unlock"', page)
    assert _post(a, f"/orgs/{a_org}/members/{b_id}/unlock", a_csrf) == f"/orgs/{a_org}?done=unlocked"
    assert "is locked" not in a.get("/projects").text
    audit = a.get("/audit").text
    for action in ("login_failed", "lockout", "unlock"):
        assert f"act-{action}" in audit, action

    # the review of the trail, signed: the first signing of the session asks for the user ID
    page = a.get(f"/orgs/{a_org}").text
    assert "Not reviewed yet" in page and 'name="email"' in page.split('id="review-form"')[1]
    r = a.post(f"/orgs/{a_org}/reviews", data={"csrf_token": a_csrf, "password": "correct horse " + a_email,
                                                "comment": "first review"})
    assert r.status_code == 422  # no user ID
    assert _post(a, f"/orgs/{a_org}/reviews", a_csrf, email=a_email, password="correct horse " + a_email,
                 comment="first review") == f"/orgs/{a_org}?done=reviewed"
    page = a.get(f"/orgs/{a_org}").text
    assert "Last reviewed" in page and 'name="email"' not in page.split('id="review-form"')[1]
    assert "last " in a.get("/audit").text.split('id="review-status"')[1][:400]

    # removing a member; a password change whose two new values differ is refused
    assert _post(a, f"/orgs/{a_org}/members/{b_id}/remove", a_csrf) == f"/orgs/{a_org}?done=removed"
    assert b.get(f"/orgs/{a_org}").status_code == 404
    r = a.post("/account/password", data={"csrf_token": a_csrf, "new_password": "new password 1",
                                          "current_password": "correct horse " + a_email,
                                          "new_password_again": "new password 2"})
    assert r.status_code == 422 and "differ" in r.text
