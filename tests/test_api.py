"""HTTP API: sign-in and CSRF, tokens, organisations and projects, uploads, trials, fits, sizing,
versioned results, reports, signatures and the audit list — on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from fastapi import Form
from sqlalchemy import func, select

from fluxwise.api.deps import FormPrincipalDep
from fluxwise.store.models import AuditEntry, ResultVersion, TrialRecord, Upload

# Standard blocking at constant pressure, V(t) = Q0·t / (1 + Q0·t/Vmax) (Hermia 1982), sampled each
# minute for 40 min: Q0 = 0.5 mL/min, Vmax = 60 mL, on a 3.5 cm² disc at 1 bar.
_T = np.arange(41.0)
_V = 0.5 * _T / (1 + 0.5 * _T / 60.0)
TRIAL_CSV = ("Filter area: 3.5 cm2\ntime (min),filtrate volume (mL),pressure (bar)\n"
             + "".join(f"{t:g},{v:.5f},1.0\n" for t, v in zip(_T, _V, strict=True))).encode()


def trial_xlsx() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Filter area", "3.5 cm2"])
    ws.append(["time (min)", "filtrate volume (mL)", "pressure (bar)"])
    for t, v in zip(_T, _V, strict=True):
        ws.append([float(t), round(float(v), 5), 1.0])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def login(client, member) -> str:
    r = client.post("/api/auth/login", json={"email": member.email, "password": member.password})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]


def new_project(client, member, name="Harvest clarification") -> str:
    r = client.post("/api/projects", json={"org_id": member.org_id, "name": name}, headers=member.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def upload(client, member, project_id, content=TRIAL_CSV, filename="run1.csv", **form) -> dict:
    r = client.post(f"/api/projects/{project_id}/uploads", headers=member.headers,
                    files={"file": (filename, content, "text/csv")}, data=form)
    assert r.status_code == 201, r.text
    return r.json()


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


# --- sign-in, sessions, CSRF, tokens -------------------------------------------------------------------

def test_login_sets_httponly_lax_cookie_and_me_works(client, make_user):
    ua = make_user("ua@a.example")
    r = client.post("/api/auth/login", json={"email": "UA@a.example", "password": ua.password})
    assert r.status_code == 200
    cookies = r.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("fluxwise_session="))
    assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower()
    csrf_cookie = next(c for c in cookies if c.startswith("fluxwise_csrf="))
    assert "HttpOnly" not in csrf_cookie
    me = client.get("/api/auth/me").json()
    assert me["user"]["email"] == "ua@a.example" and me["auth"] == "session"
    assert me["csrf_token"] == r.json()["csrf_token"]
    assert me["memberships"][0]["role"] == "scientist"


def test_unsafe_cookie_requests_need_the_csrf_header(client, make_user):
    ua = make_user("ua@a.example")
    csrf = login(client, ua)
    body = {"org_id": ua.org_id, "name": "P"}
    assert client.post("/api/projects", json=body).status_code == 403
    assert client.post("/api/projects", json=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post("/api/projects", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert client.get("/api/projects").status_code == 200  # safe methods need none


def test_bearer_tokens_need_no_csrf_and_can_be_revoked(client, make_user):
    ua = make_user("ua@a.example")
    r = client.post("/api/auth/tokens", json={"name": "notebook"}, headers=ua.headers)
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["id"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=headers).json()["auth"] == "token"
    r = client.post("/api/projects", json={"org_id": ua.org_id, "name": "P"}, headers=headers)
    assert r.status_code == 201
    assert client.delete(f"/api/auth/tokens/{token_id}", headers=ua.headers).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_tokens_are_stored_hashed(client, make_user, db):
    from fluxwise.store.models import ApiToken

    ua = make_user("ua@a.example")
    with db.session() as s:
        stored = [row.token_sha256 for row in s.scalars(select(ApiToken))]
    assert ua.token not in stored
    assert hashlib.sha256(ua.token.encode()).hexdigest() in stored


def test_passwords_are_argon2id_hashes(make_user, db):
    from fluxwise.store.models import User

    ua = make_user("ua@a.example")
    with db.session() as s:
        user = s.scalar(select(User))
    assert user.password_hash.startswith("$argon2id$") and ua.password not in user.password_hash


def test_new_hashes_use_owasp_argon2id_parameters_and_old_ones_are_rehashed_at_sign_in(client, make_user, db):
    """Production hashes: Argon2id, m = 19 MiB, t = 2, p = 1 (OWASP's minimum); an account hashed with
    argon2-cffi's default (64 MiB, t = 3, p = 4) still signs in and gets the new parameters."""
    from argon2 import PasswordHasher

    from fluxwise.store import accounts
    from fluxwise.store.models import User

    ua = make_user("ua@a.example")
    previous = accounts.set_password_hasher(accounts.default_password_hasher())
    try:
        with db.session(write=True) as s:
            user = s.scalar(select(User))
            user.password_hash = PasswordHasher().hash(ua.password)
            assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
            s.commit()
        r = client.post("/api/auth/login", json={"email": ua.email, "password": ua.password})
        assert r.status_code == 200, r.text
        with db.session() as s:
            rehashed = s.scalar(select(User)).password_hash
        assert rehashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert PasswordHasher().verify(rehashed, ua.password)
        assert accounts.hash_password("a new long password").startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    finally:
        accounts.set_password_hasher(previous)


def test_logout_ends_the_session(client, make_user):
    ua = make_user("ua@a.example")
    csrf = login(client, ua)
    cookie = client.cookies.get("fluxwise_session")
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    client.cookies.set("fluxwise_session", cookie)  # replaying the old cookie does not work
    assert client.get("/api/auth/me").status_code == 401


def test_tampered_session_cookie_is_refused(client, make_user):
    login(client, make_user("ua@a.example"))
    cookie = client.cookies.get("fluxwise_session")
    client.cookies.set("fluxwise_session", cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert client.get("/api/auth/me").status_code == 401


def test_login_is_rate_limited_per_user_and_address(client, make_user):
    ua = make_user("ua@a.example")
    for _ in range(5):
        r = client.post("/api/auth/login", json={"email": ua.email, "password": "wrong password"})
        assert r.status_code == 401
        assert r.json()["detail"] == "wrong e-mail or password"
    r = client.post("/api/auth/login", json={"email": ua.email, "password": ua.password})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    ub = make_user("ub@a.example")  # another user from the same address is not locked out
    r = client.post("/api/auth/login", json={"email": ub.email, "password": ub.password})
    assert r.status_code == 200


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    r = client.post("/api/auth/login", json={"email": "nobody@x.example", "password": "whatever1"})
    assert r.status_code == 401 and r.json()["detail"] == "wrong e-mail or password"


def test_unauthenticated_requests_get_401(client):
    assert client.get("/api/projects").status_code == 401
    assert client.get("/api/projects", headers={"Authorization": "Bearer fw_nope"}).status_code == 401
    assert client.get("/api/projects", headers={"Authorization": "Basic abc"}).status_code == 401


# --- organisations, members, projects, sharing ---------------------------------------------------------

def test_org_creation_membership_and_roles(client, make_user):
    ua = make_user("ua@a.example", org=None)
    r = client.post("/api/orgs", json={"name": "Contoso Bio", "kind": "customer"}, headers=ua.headers)
    assert r.status_code == 201 and r.json()["role"] == "admin"
    org_id = r.json()["id"]
    # tenants do not make accounts (that would tell them which e-mails exist): only invitations
    r = client.post(f"/api/orgs/{org_id}/members", headers=ua.headers,
                    json={"email": "reviewer@c.example", "role": "reviewer", "name": "REVIEWER",
                          "password": "reviewer pw"})
    assert r.status_code == 422
    reviewer = make_user("reviewer@c.example", org=None)
    r = client.post(f"/api/orgs/{org_id}/members", headers=ua.headers,
                    json={"email": "reviewer@c.example", "role": "reviewer"})
    assert r.status_code == 202
    invitation = client.get("/api/invitations", headers=reviewer.headers).json()
    assert [(i["org"]["id"], i["role"]) for i in invitation] == [(org_id, "reviewer")]
    r = client.post(f"/api/invitations/{invitation[0]['id']}/accept", headers=reviewer.headers)
    assert r.status_code == 200 and r.json()["org"]["id"] == org_id
    members = client.get(f"/api/orgs/{org_id}/members", headers=ua.headers).json()
    assert {m["user"]["email"]: m["role"] for m in members} == {"ua@a.example": "admin",
                                                                "reviewer@c.example": "reviewer"}
    # a reviewer can neither add members nor create projects
    rev_csrf = login(client, reviewer)
    h = {"X-CSRF-Token": rev_csrf}
    assert client.post(f"/api/orgs/{org_id}/members", json={"email": "x@c.example", "role": "admin"},
                       headers=h).status_code == 403
    assert client.post("/api/projects", json={"org_id": org_id, "name": "P"}, headers=h).status_code == 403


def test_projects_are_visible_to_their_org_and_to_orgs_they_are_shared_with(client, make_user):
    ua = make_user("ua@a.example", org="Org A", role="admin")
    ub = make_user("ub@b.example", org="Org B")
    hub = make_user("hub@h.example", org="Filtration hub", kind="hub")
    pid = new_project(client, ua)
    assert [p["id"] for p in client.get("/api/projects", headers=ua.headers).json()] == [pid]
    assert client.get("/api/projects", headers=ub.headers).json() == []
    assert client.get(f"/api/projects/{pid}", headers=hub.headers).status_code == 404
    r = client.post(f"/api/projects/{pid}/shares", json={"org_id": hub.org_id}, headers=ua.headers)
    assert r.status_code == 202 and r.json()["status"] == "open"
    assert client.get(f"/api/projects/{pid}", headers=hub.headers).status_code == 404  # not accepted yet
    hub_admin = make_user("admin@h.example", org="Filtration hub", role="admin", kind="hub")
    (offer,) = client.get("/api/invitations", headers=hub_admin.headers).json()
    assert client.post(f"/api/invitations/{offer['id']}/accept", headers=hub_admin.headers).status_code == 200
    assert [o["id"] for o in client.get(f"/api/projects/{pid}", headers=ua.headers).json()["shared_with"]] \
        == [hub.org_id]
    shared = client.get(f"/api/projects/{pid}", headers=hub.headers).json()
    assert shared["access"] == "shared" and shared["shared_with"] == []  # recipients do not see other shares
    assert client.get(f"/api/projects/{pid}", headers=ub.headers).status_code == 404
    # only admins of the owning organisation share
    r = client.post(f"/api/projects/{pid}/shares", json={"org_id": ub.org_id}, headers=hub.headers)
    assert r.status_code == 403


def test_sharing_with_an_unknown_org_is_an_invitation_like_any_other(client, make_user):
    ua = make_user("ua@a.example", role="admin")
    pid = new_project(client, ua)
    r = client.post(f"/api/projects/{pid}/shares", json={"org_id": "f" * 32}, headers=ua.headers)
    assert r.status_code == 202 and r.json()["status"] == "open"
    assert client.post(f"/api/projects/{pid}/shares", json={"org_id": "not an id"},
                       headers=ua.headers).status_code == 422


def test_public_ids_are_random_not_sequential(client, make_user):
    ua = make_user("ua@a.example")
    ids = [new_project(client, ua, f"P{i}") for i in range(3)]
    assert all(len(i) == 32 and int(i, 16) for i in ids)
    assert len({i[:8] for i in ids}) == 3


# --- uploads ---------------------------------------------------------------------------------------------

def test_upload_keeps_the_file_byte_for_byte_and_parses_the_trial(client, make_user, db):
    ua = make_user("ua@a.example")
    pid = new_project(client, ua)
    content = b"\xef\xbb\xbf" + TRIAL_CSV.replace(b"\n", b"\r\n")  # BOM and CRLF must survive
    out = upload(client, ua, pid, content=content, filename="rig export (1).csv")
    assert out["upload"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert out["upload"]["size_bytes"] == len(content)
    assert out["upload"]["filename"] == "rig export (1).csv"
    r = client.get(f"/api/uploads/{out['upload']['id']}/content", headers=ua.headers)
    assert r.content == content
    assert r.headers["x-content-sha256"] == hashlib.sha256(content).hexdigest()
    trial = client.get(f"/api/trials/{out['trial']['id']}", headers=ua.headers).json()
    assert trial["area_m2"] == pytest.approx(3.5e-4)
    assert trial["mode"] == "constant-pressure" and trial["points"] == 41
    # 40 min = 2/3 h; V(40 min) = 20/(1 + 1/3) mL = 15 mL -> 0.015 L / 3.5e-4 m²
    assert trial["t_h"][-1] == pytest.approx(40 / 60)
    assert trial["v_L_per_m2"][-1] == pytest.approx(0.015 / 3.5e-4, rel=1e-5)


def test_trials_are_listed_under_the_names_of_the_files_sent(client, make_user):
    """A trial's ``source`` is the file the user sent (not where the server parsed it), in the upload's
    answer, the trial and the project's listing alike."""
    ua = make_user("ua@a.example")
    pid = new_project(client, ua)
    names = ["rig export (1).csv", "필터 시험 2.csv"]
    ids = [upload(client, ua, pid, filename=name)["trial"] for name in names]
    assert [t["source"] for t in ids] == names
    listed = client.get(f"/api/projects/{pid}/trials", headers=ua.headers).json()
    assert [(t["id"], t["source"]) for t in listed] == [(t["id"], n) for t, n in zip(ids, names, strict=True)]
    one = client.get(f"/api/trials/{ids[1]['id']}", headers=ua.headers).json()
    assert one["source"] == names[1] and one["points"] == 41


def test_xlsx_upload_round_trips(client, make_user):
    ua = make_user("ua@a.example")
    pid = new_project(client, ua)
    content = trial_xlsx()
    out = upload(client, ua, pid, content=content, filename="run.xlsx")
    assert client.get(f"/api/uploads/{out['upload']['id']}/content", headers=ua.headers).content == content
    assert out["trial"]["points"] == 41


def test_upload_form_settings_override_the_file(client, make_user):
    ua = make_user("ua@a.example")
    pid = new_project(client, ua)
    out = upload(client, ua, pid, area="13.8 cm2", density="1.02 g/mL")
    assert out["trial"]["area_m2"] == pytest.approx(13.8e-4)
    assert out["trial"]["area"] == "13.8 cm2" and out["trial"]["density"] == "1.02 g/mL"


def _zip_bomb() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (50 * 1024 * 1024))
    return buf.getvalue()


def _broken_zip() -> bytes:
    return b"PK\x03\x04" + b"\x00" * 200


@pytest.mark.parametrize("filename, content, status, words", [
    ("run.exe", b"MZ\x90\x00", 415, "unsupported file type"),
    ("run.xls", b"\xd0\xcf\x11\xe0", 415, ".xls"),
    ("run.csv", b"", 422, "empty"),
    ("run.csv", b"\x00\x01\x02binary\x00", 415, "binary"),
    ("run.csv", b"PK\x03\x04rest-of-a-zip", 415, "zip"),
    ("run.xlsx", b"time,volume\n1,2\n", 415, "not an Excel workbook"),
    ("run.xlsx", _broken_zip(), 422, "broken"),
    ("run.xlsx", _zip_bomb(), 422, "zip bomb"),
    ("run.csv", b"just some words\nno numbers here\n", 422, "run.csv"),
    ("run.csv", TRIAL_CSV.replace(b"Filter area: 3.5 cm2\n", b""), 422, "area"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(client, make_user, db, filename, content, status,
                                                       words):
    ua = make_user("ua@a.example")
    pid = new_project(client, ua)
    before = count(db, AuditEntry)
    r = client.post(f"/api/projects/{pid}/uploads", headers=ua.headers,
                    files={"file": (filename, content, "application/octet-stream")})
    assert r.status_code == status, r.text
    assert words.lower() in r.json()["detail"].lower()
    assert "/tmp" not in r.json()["detail"]  # the server's temporary folder is not shown
    assert count(db, Upload) == 0 and count(db, TrialRecord) == 0
    assert count(db, AuditEntry) == before


def test_upload_size_limit(db, make_user):
    from fastapi.testclient import TestClient

    from fluxwise.api import create_app
    from fluxwise.api.deps import ApiSettings
    from fluxwise.api.upload_checks import UploadLimits

    app = create_app(db=db, settings=ApiSettings(secret_key="k", upload=UploadLimits(max_bytes=1000)))
    ua = make_user("ua@a.example")
    with TestClient(app) as client:
        pid = new_project(client, ua)
        big = TRIAL_CSV + b"#" * 1000
        r = client.post(f"/api/projects/{pid}/uploads", headers=ua.headers,
                        files={"file": ("big.csv", big, "text/csv")})
        assert r.status_code == 413 and "limit" in r.json()["detail"]
        # a declared body far over the limit is refused before it is read
        r = client.post(f"/api/projects/{pid}/uploads", headers=ua.headers,
                        files={"file": ("big.csv", b"0" * (2 * 1024 * 1024), "text/csv")})
        assert r.status_code == 413
    assert count(db, Upload) == 0


def test_reviewers_cannot_upload(client, make_user):
    ua = make_user("ua@a.example")
    reviewer = make_user("reviewer@a.example", role="reviewer")
    pid = new_project(client, ua)
    r = client.post(f"/api/projects/{pid}/uploads", headers=reviewer.headers,
                    files={"file": ("run.csv", TRIAL_CSV, "text/csv")})
    assert r.status_code == 403


# --- trials, results, versions ----------------------------------------------------------------------------

@pytest.fixture
def trial_setup(client, make_user):
    ua = make_user("ua@a.example")
    pid = new_project(client, ua)
    out = upload(client, ua, pid)
    return ua, pid, out["trial"]["id"], out["upload"]["id"]


def test_fit_stores_the_same_json_as_the_pipeline(client, trial_setup):
    from fluxwise import pipeline
    from fluxwise.io import read_trial

    ua, pid, trial_id, upload_id = trial_setup
    r = client.post(f"/api/trials/{trial_id}/fit", headers=ua.headers)
    assert r.status_code == 201, r.text
    res = r.json()
    assert res["kind"] == "fit" and res["version"] == 1 and res["upload_id"] == upload_id
    assert res["data"]["best_model"] == "standard"  # the data were made with the standard blocking law
    # the same numbers as the pipeline gives for the file read directly
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run1.csv"
        path.write_bytes(TRIAL_CSV)
        direct = pipeline.fit_result(read_trial(str(path)))
    assert res["data"]["models"][0]["params"] == pytest.approx(direct["models"][0]["params"])
    listed = client.get(f"/api/projects/{pid}/results", headers=ua.headers).json()
    assert [x["id"] for x in listed] == [res["id"]]


def test_size_then_edit_inputs_creates_a_new_version_and_keeps_the_old(client, trial_setup, db):
    ua, pid, trial_id, _ = trial_setup
    r = client.post(f"/api/trials/{trial_id}/size", headers=ua.headers,
                    json={"batch_volume": "200 L", "process_time": "2 h"})
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["kind"] == "sizing" and v1["inputs"]["batch_volume"] == "200 L"
    assert v1["data"]["batch_volume_L"] == pytest.approx(200)
    rid = v1["id"]
    # critical value without a reason: 422, nothing written
    r = client.patch(f"/api/results/{rid}", headers=ua.headers, json={"inputs": {"batch_volume": "400 L"}})
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = client.patch(f"/api/results/{rid}", headers=ua.headers,
                     json={"inputs": {"batch_volume": "400 L", "process_time": "2 h"},
                           "reason": "batch size raised for the 500 L campaign"})
    assert r.status_code == 200, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["data"]["batch_volume_L"] == pytest.approx(400)
    assert v2["content_sha256"] != v1["content_sha256"]
    old = client.get(f"/api/results/{rid}/versions/1", headers=ua.headers).json()
    assert old["data"] == v1["data"] and old["content_sha256"] == v1["content_sha256"]
    versions = client.get(f"/api/results/{rid}/versions", headers=ua.headers).json()
    assert [v["version"] for v in versions] == [1, 2]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ResultVersion)) == 2
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.reason == "batch size raised for the 500 L campaign"
    assert '"batch_volume":"200 L"' in entry.old_value and '"batch_volume":"400 L"' in entry.new_value


def test_notes_need_no_reason_but_hand_edited_data_do(client, trial_setup):
    ua, _, trial_id, _ = trial_setup
    rid = client.post(f"/api/trials/{trial_id}/fit", headers=ua.headers).json()["id"]
    r = client.patch(f"/api/results/{rid}", headers=ua.headers, json={"notes": "first look"})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["origin"] == "computed"
    r = client.patch(f"/api/results/{rid}", headers=ua.headers, json={"data": {"best_model": "cake"}})
    assert r.status_code == 422
    r = client.patch(f"/api/results/{rid}", headers=ua.headers,
                     json={"data": {"best_model": "cake"}, "reason": "expert judgement"})
    assert r.status_code == 200 and r.json()["origin"] == "edited" and r.json()["version"] == 3
    # a report computed from the trial would not show the typed-in values
    assert client.get(f"/api/results/{rid}/report", headers=ua.headers).status_code == 409


def test_trial_edit_needs_a_reason_and_marks_results_stale(client, trial_setup):
    ua, _, trial_id, _ = trial_setup
    rid = client.post(f"/api/trials/{trial_id}/fit", headers=ua.headers).json()["id"]
    r = client.patch(f"/api/trials/{trial_id}", headers=ua.headers, json={"area": "4.0 cm2"})
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = client.patch(f"/api/trials/{trial_id}", headers=ua.headers,
                     json={"area": "4.0 cm2", "reason": "disc measured again: 4.0 cm²"})
    assert r.status_code == 200, r.text
    assert r.json()["area_m2"] == pytest.approx(4e-4) and r.json()["revision"] == 2
    res = client.get(f"/api/results/{rid}", headers=ua.headers).json()
    assert res["stale"] is True
    assert client.get(f"/api/results/{rid}/report", headers=ua.headers).status_code == 409
    r = client.patch(f"/api/results/{rid}", headers=ua.headers,
                     json={"recompute": True, "reason": "area corrected"})
    assert r.status_code == 200 and r.json()["stale"] is False and r.json()["trial_revision"] == 2


def test_soft_delete_needs_a_reason_and_keeps_the_rows(client, trial_setup, db):
    ua, pid, trial_id, _ = trial_setup
    rid = client.post(f"/api/trials/{trial_id}/fit", headers=ua.headers).json()["id"]
    assert client.delete(f"/api/results/{rid}", headers=ua.headers).status_code == 422
    assert client.delete(f"/api/results/{rid}?reason=%20", headers=ua.headers).status_code == 422
    assert client.delete(f"/api/results/{rid}?reason=wrong%20trial", headers=ua.headers).status_code == 204
    assert client.get(f"/api/projects/{pid}/results", headers=ua.headers).json() == []
    listed = client.get(f"/api/projects/{pid}/results?include_deleted=true", headers=ua.headers).json()
    assert listed[0]["deleted"] is True and listed[0]["delete_reason"] == "wrong trial"
    assert client.patch(f"/api/results/{rid}", headers=ua.headers, json={"notes": "x"}).status_code == 422
    assert count(db, ResultVersion) == 1


def test_report_is_html_of_the_result(client, trial_setup):
    ua, _, trial_id, _ = trial_setup
    rid = client.post(f"/api/trials/{trial_id}/size", headers=ua.headers,
                      json={"batch_volume": "200 L", "process_time": "2 h"}).json()["id"]
    r = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html") and "<html" in r.text.lower()
    assert r.headers["x-result-version"] == "1"


def test_science_errors_are_422_with_the_message(client, trial_setup):
    ua, _, trial_id, _ = trial_setup
    r = client.post(f"/api/trials/{trial_id}/size", headers=ua.headers, json={"batch_volume": "3 kg·m"})
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)
    r = client.post(f"/api/trials/{trial_id}/size", headers=ua.headers, json={"model": "no-such-model"})
    assert r.status_code == 422 and "no-such-model" in r.json()["detail"]


# --- signatures -----------------------------------------------------------------------------------------

def test_signatures_record_name_meaning_and_content_hash(client, make_user, trial_setup, db):
    ua, pid, trial_id, _ = trial_setup
    reviewer = make_user("reviewer@a.example", role="reviewer")
    res = client.post(f"/api/trials/{trial_id}/fit", headers=ua.headers).json()
    rid = res["id"]
    r = client.post(f"/api/results/{rid}/signatures", headers=ua.headers,
                    json={"email": ua.email, "password": "wrong password", "meaning": "author"})
    assert r.status_code == 403 and "not recorded" in r.json()["detail"]
    r = client.post(f"/api/results/{rid}/signatures", headers=ua.headers,
                    json={"email": ua.email, "password": ua.password, "meaning": "author"})
    assert r.status_code == 201, r.text
    sig = r.json()
    assert sig["signer_name"] == "UA" and sig["meaning"] == "author"
    assert sig["content_sha256"] == res["content_sha256"] and sig["version"] == 1
    # the author cannot also approve; a trainee-free reviewer can
    r = client.post(f"/api/results/{rid}/signatures", headers=ua.headers,
                    json={"email": ua.email, "password": ua.password, "meaning": "approve"})
    assert r.status_code == 403
    r = client.post(f"/api/results/{rid}/signatures", headers=reviewer.headers,
                    json={"email": reviewer.email, "password": reviewer.password, "meaning": "approve"})
    assert r.status_code == 201
    sigs = client.get(f"/api/results/{rid}", headers=ua.headers).json()["signatures"]
    assert [(s["signer_name"], s["meaning"]) for s in sigs] == [("UA", "author"), ("REVIEWER", "approve")]
    with db.session() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "sign")))
    assert len(entries) == 2 and all(res["content_sha256"] in e.new_value for e in entries)
    # a new version is not covered by the old signatures
    v2 = client.patch(f"/api/results/{rid}", headers=ua.headers, json={"notes": "typo"}).json()
    assert v2["signatures"] == []


def test_signature_meaning_is_limited_by_role(client, make_user, trial_setup):
    ua, _, trial_id, _ = trial_setup
    rid = client.post(f"/api/trials/{trial_id}/fit", headers=ua.headers).json()["id"]
    trainee = make_user("tr@a.example", role="trainee")
    r = client.post(f"/api/results/{rid}/signatures", headers=trainee.headers,
                    json={"email": trainee.email, "password": trainee.password, "meaning": "approve"})
    assert r.status_code == 403 and "approve" in r.json()["detail"]


# --- audit list -------------------------------------------------------------------------------------------

def test_audit_list_shows_own_tenant_only(client, make_user, trial_setup):
    ua, pid, trial_id, _ = trial_setup
    ub = make_user("ub@b.example", org="Org B")
    new_project(client, ub, "B's")
    mine = client.get("/api/audit?limit=1000", headers=ua.headers).json()
    theirs = client.get("/api/audit?limit=1000", headers=ub.headers).json()
    assert {e["project_id"] for e in mine} - {None} == {pid}
    assert pid not in {e["project_id"] for e in theirs}
    assert {e["action"] for e in mine} >= {"create"}
    seqs = [e["seq"] for e in mine]
    assert seqs == sorted(seqs)
    page = client.get(f"/api/audit?after_seq={seqs[0]}&limit=1", headers=ua.headers).json()
    assert page[0]["seq"] == seqs[1]
    only = client.get(f"/api/audit?project_id={pid}", headers=ua.headers).json()
    assert only and all(e["project_id"] == pid for e in only)
    assert client.get(f"/api/audit?project_id={pid}", headers=ub.headers).status_code == 404


def test_openapi_schema_is_served_and_complete(client):
    spec = client.get("/api/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert {"200", "201", "202", "204"} & set(op["responses"]), (path, method)
            if "{" in path:
                assert "404" in op["responses"], (path, method)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_sizing_defaults_are_stored_with_the_result_and_the_report_uses_them(client, trial_setup):
    ua, _, trial_id, _ = trial_setup
    r = client.post(f"/api/trials/{trial_id}/size", headers=ua.headers, json={"batch_volume": "200 L"})
    assert r.status_code == 201, r.text
    res = r.json()
    # constant pressure: the pipeline sizes for 4 h when no time is given; the result says so
    assert res["inputs"]["process_time"] == "4 h" and res["data"]["process_time_h"] == pytest.approx(4)
    assert res["inputs"]["safety_factor"] == 1.5 and res["inputs"]["model"] == "best"
    assert client.get(f"/api/results/{res['id']}/report", headers=ua.headers).status_code == 200


def test_the_last_admin_cannot_be_demoted(client, make_user):
    ua = make_user("ua@a.example", role="admin")
    r = client.post(f"/api/orgs/{ua.org_id}/members", headers=ua.headers,
                    json={"email": ua.email, "role": "scientist"})
    assert r.status_code == 422 and "only admin" in r.json()["detail"]


def test_html_form_endpoints_can_take_the_csrf_token_as_a_form_field(app, client, make_user):
    @app.post("/web/echo")
    def echo(principal: FormPrincipalDep, text: str = Form()):
        return {"user": principal.email, "text": text}

    ua = make_user("ua@a.example")
    csrf = login(client, ua)
    assert client.post("/web/echo", data={"text": "hi"}).status_code == 403
    assert client.post("/web/echo", data={"text": "hi", "csrf_token": "nope"}).status_code == 403
    r = client.post("/web/echo", data={"text": "hi", "csrf_token": csrf})
    assert r.status_code == 200 and r.json() == {"user": ua.email, "text": "hi"}
    assert client.post("/web/echo", data={"text": "hi"}, headers={"X-CSRF-Token": csrf}).status_code == 200


def test_lone_surrogate_in_json_is_a_422_not_a_500(client):
    # the raw JSON text "\ud800" decodes to a lone surrogate that cannot be encoded back
    r = client.post("/api/auth/login", content=b'{"email": "\\ud800", "password": 5}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "detail" in r.json()
