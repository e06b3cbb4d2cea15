"""Train designs saved into a project (``POST /api/projects/{id}/trains``): the train file and its files
kept byte for byte with their SHA-256, the design's JSON as a result of kind ``train`` — listed with the
project's results, versioned, reportable, signable, in the audit trail, still there when the app is made
again on the same store, and "not found" for another organisation. On SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select

from fluxwise.store.audit import verify_chain
from fluxwise.store.models import AuditEntry
from test_api import new_project
from test_api_design import EXAMPLES, PARAMS_TRAIN, TRAIN, TRAIN_FILES, cli_json, post_train, train_files


def save(client, member, project_id, text=PARAMS_TRAIN, name="small.yaml", files=(), **data):
    return post_train(client, member, text, name=name, files=files, path=f"/api/projects/{project_id}/trains",
                      **data)


def test_a_saved_train_is_a_stored_result_with_its_files(client, make_user, db, tmp_path):
    ua = make_user("ua@a.example")
    pid = new_project(client, ua)
    r = save(client, ua, pid, route="local", notes="first look")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["kind"] == "train" and out["version"] == 1 and out["trial_id"] is None
    assert out["notes"] == "first look" and not out["stale"] and out["origin"] == "computed"
    # the same JSON as the API's design endpoint (and so as fluxwise design --json)
    assert out["data"] == post_train(client, ua, PARAMS_TRAIN, name="small.yaml", route="local").json()
    (tmp_path / "small.yaml").write_text(PARAMS_TRAIN)
    assert out["data"]["summary"] == cli_json("design", str(tmp_path / "small.yaml"), "--route",
                                              "local")["summary"]
    assert out["inputs"]["route"] == "local" and out["inputs"]["files"] == []
    ref = out["inputs"]["train"]
    assert ref["upload_id"] == out["upload_id"] and ref["filename"] == "small.yaml"
    assert ref["sha256"] == hashlib.sha256(PARAMS_TRAIN.encode()).hexdigest()
    content = client.get(f"/api/uploads/{ref['upload_id']}/content", headers=ua.headers)
    assert content.content == PARAMS_TRAIN.encode() and content.headers["x-content-sha256"] == ref["sha256"]

    listed = client.get(f"/api/projects/{pid}/results", headers=ua.headers).json()
    assert [x["id"] for x in listed] == [out["id"]]
    # audit: the file and the result, and the chain holds
    with db.session() as s:
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.project_id == pid)
                                 .order_by(AuditEntry.seq)))
        kinds = [(e.action, e.object_type) for e in entries]
        assert kinds[-2:] == [("create", "upload"), ("create", "result")]
        assert entries[-1].object_id == out["id"]
        assert json.loads(entries[-1].new_value)["kind"] == "train"
        assert verify_chain(s).ok


def test_a_train_with_trial_files_keeps_every_file_and_reports(client, make_user):
    ua = make_user("ua@a.example")
    pid = new_project(client, ua)
    r = save(client, ua, pid, text=TRAIN.read_bytes(), name=TRAIN.name, files=train_files())
    assert r.status_code == 201, r.text
    out = r.json()
    designed = post_train(client, ua, TRAIN.read_bytes(), name=TRAIN.name, files=train_files())
    assert out["data"] == designed.json()
    refs = {f["filename"]: f for f in out["inputs"]["files"]}
    assert sorted(refs) == sorted(TRAIN_FILES)
    for name in TRAIN_FILES:
        raw = (EXAMPLES / name).read_bytes()
        assert refs[name]["sha256"] == hashlib.sha256(raw).hexdigest()
        got = client.get(f"/api/uploads/{refs[name]['upload_id']}/content", headers=ua.headers)
        assert got.content == raw
    uploads = client.get(f"/api/projects/{pid}/uploads", headers=ua.headers).json()
    assert len(uploads) == 1 + len(TRAIN_FILES)
    assert client.get(f"/api/projects/{pid}/trials", headers=ua.headers).json() == []
    report = client.get(f"/api/results/{out['id']}/report", headers=ua.headers)
    assert report.status_code == 200, report.text
    assert report.headers["x-content-sha256"] == out["content_sha256"]
    assert "Harvest clarification" in report.text


def test_a_saved_train_is_versioned_signed_and_deleted_like_any_result(client, make_user, db):
    ua = make_user("ua@a.example", role="admin")
    rb = make_user("rb@a.example", role="reviewer")
    pid = new_project(client, ua)
    out = save(client, ua, pid).json()
    rid = out["id"]
    r = client.patch(f"/api/results/{rid}", headers=ua.headers, json={"notes": "checked the titre"})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["data"] == out["data"]
    r = client.patch(f"/api/results/{rid}", headers=ua.headers, json={"recompute": True})
    assert r.status_code == 422 and "reason" in r.text
    r = client.patch(f"/api/results/{rid}", headers=ua.headers, json={"recompute": True, "reason": "check"})
    assert r.status_code == 200 and r.json()["version"] == 2  # designed again: the same numbers
    r = client.patch(f"/api/results/{rid}", headers=ua.headers, json={"inputs": {"batch_volume": "1 L"}})
    assert r.status_code == 422
    versions = client.get(f"/api/results/{rid}/versions", headers=ua.headers).json()
    assert [v["version"] for v in versions] == [1, 2]
    for member, meaning in ((ua, "author"), (rb, "approve")):
        r = client.post(f"/api/results/{rid}/signatures", headers=member.headers,
                        json={"email": member.email, "password": member.password, "meaning": meaning})
        assert r.status_code == 201, r.text
        assert r.json()["content_sha256"] == client.get(f"/api/results/{rid}", headers=ua.headers).json()[
            "content_sha256"]
    edited = client.patch(f"/api/results/{rid}", headers=ua.headers,
                          json={"data": {"summary": {}}, "reason": "typed in"}).json()
    assert edited["version"] == 3 and edited["origin"] == "edited"
    assert client.get(f"/api/results/{rid}/report", headers=ua.headers).status_code == 409
    assert client.get(f"/api/results/{rid}/report?version=2", headers=ua.headers).status_code == 200
    r = client.delete(f"/api/results/{rid}", headers=ua.headers, params={"reason": "superseded"})
    assert r.status_code == 204
    assert client.get(f"/api/projects/{pid}/results", headers=ua.headers).json() == []
    every = client.get(f"/api/projects/{pid}/results?include_deleted=true", headers=ua.headers).json()
    assert len(every) == 1
    with db.session() as s:
        assert verify_chain(s).ok


def test_saved_trains_survive_a_restart(db, make_user):
    from fastapi.testclient import TestClient

    from fluxwise.api import create_app
    from fluxwise.api.deps import ApiSettings
    from fluxwise.store.database import open_database

    ua = make_user("ua@a.example")
    with TestClient(create_app(db=db, settings=ApiSettings(secret_key="test-secret"))) as client:
        pid = new_project(client, ua)
        out = save(client, ua, pid).json()
    url = db.engine.url.render_as_string(hide_password=False)
    again = open_database(url, create=False)
    try:
        with TestClient(create_app(db=again, settings=ApiSettings(secret_key="test-secret"))) as client:
            got = client.get(f"/api/results/{out['id']}", headers=ua.headers)
            assert got.status_code == 200 and got.json() == out
            assert [x["id"] for x in client.get(f"/api/projects/{pid}/results", headers=ua.headers).json()] \
                == [out["id"]]
            assert client.get(f"/api/results/{out['id']}/report", headers=ua.headers).status_code == 200
    finally:
        again.dispose()


def test_another_organisation_cannot_save_or_see_a_train(client, make_user, db):
    ua = make_user("ua@a.example")
    ub = make_user("ub@b.example", org="Org B")
    rv = make_user("rv@a.example", role="reviewer")
    pid = new_project(client, ua)
    out = save(client, ua, pid).json()
    assert save(client, ub, pid).status_code == 404
    assert save(client, ub, "f" * 32).status_code == 404
    for path in (f"/api/results/{out['id']}", f"/api/results/{out['id']}/report",
                 f"/api/uploads/{out['upload_id']}/content"):
        assert client.get(path, headers=ub.headers).status_code == 404, path
    assert save(client, rv, pid).status_code == 403  # a reviewer reads but does not write
    # a train that cannot be designed stores nothing
    n = len(client.get(f"/api/projects/{pid}/uploads", headers=ua.headers).json())
    r = save(client, ua, pid, text="steps: [", name="bad.yaml")
    assert r.status_code == 422
    r = save(client, ua, pid, text=PARAMS_TRAIN.replace("params: {J0_LMH: 800, ks_m2_per_L: 0.004}",
                                                        "trial: /etc/passwd"))
    assert r.status_code == 422
    assert len(client.get(f"/api/projects/{pid}/uploads", headers=ua.headers).json()) == n
