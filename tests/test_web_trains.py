"""Train designs saved from the web workbench into a project, on SQLite and PostgreSQL: the train page
offers the projects the user may write to, a saved design gets its own page and report, is listed on
the project page, survives a restart of the app, and is 'not found' for another organisation."""

from __future__ import annotations

import json

from sqlalchemy import select

from fluxwise.api.deps import ApiSettings
from fluxwise.store.audit import verify_chain
from fluxwise.store.models import AuditEntry, ResultVersion, Upload
from fluxwise.web import create_web_app
from test_api_design import PARAMS_TRAIN
from test_web import client_for, new_project, sign_in, web_app  # noqa: F401  (web_app: a fixture)

ACCEPT = {"Accept": "application/json"}


def test_a_design_saved_from_the_train_page(web_app, make_user, db):  # noqa: F811
    ua = make_user("ua@a.example")
    ub = make_user("ub@b.example", org="Org B")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf, name="Harvest train")
    page = client.get(f"/train?project={pid}")
    assert page.status_code == 200 and 'name="project_id"' in page.text
    assert f'<option value="{pid}" selected>Harvest train (Org A)</option>' in page.text

    r = client.post("/train", data={"csrf_token": csrf, "project_id": pid, "route": "local", "notes": "v1"},
                    files=[("train", ("small.yaml", PARAMS_TRAIN.encode(), "application/yaml"))])
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    assert url.startswith("/trains/")
    result_id = url.rsplit("/", 1)[1]
    page = client.get(url)
    assert page.status_code == 200, page.text
    assert "small train" in page.text and "Saved in project" in page.text and "Harvest train" in page.text
    assert "other numbers" not in page.text
    report = client.get(url + "/report?download=true")
    assert report.status_code == 200 and report.headers["content-disposition"].startswith("attachment")
    assert "small train" in report.text
    project_page = client.get(f"/projects/{pid}")
    assert project_page.status_code == 200 and f'href="/trains/{result_id}"' in project_page.text

    with db.session() as s:
        rv = s.scalar(select(ResultVersion).where(ResultVersion.result_id == result_id))
        assert rv.kind == "train" and rv.notes == "v1" and rv.trial_id is None
        assert json.loads(rv.inputs_json)["route"] == "local"
        upload = s.get(Upload, rv.upload_id)
        assert upload.content == PARAMS_TRAIN.encode() and upload.filename == "small.yaml"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.object_id == result_id)).one()
        assert entry.action == "create" and entry.actor_name == "UA <ua@a.example>"
        assert verify_chain(s).ok

    # a restart: a new app on the same store still has it
    again = client_for(create_web_app(db=db, settings=ApiSettings(secret_key="test-secret")))
    sign_in(again, ua)
    assert again.get(url).status_code == 200
    assert f'href="/trains/{result_id}"' in again.get(f"/projects/{pid}").text

    # another organisation: not found, and cannot save into the project
    other = client_for(web_app)
    csrf_b = sign_in(other, ub)
    assert pid not in other.get("/train").text
    for path in (url, url + "/report", f"/projects/{pid}"):
        assert other.get(path, headers=ACCEPT).status_code == 404, path
    r = other.post("/train", data={"csrf_token": csrf_b, "project_id": pid}, headers=ACCEPT,
                   files=[("train", ("small.yaml", PARAMS_TRAIN.encode(), "application/yaml"))])
    assert r.status_code == 404
    # no project: designed and kept in memory only, as before
    r = client.post("/train", data={"csrf_token": csrf, "project_id": ""}, headers=ACCEPT,
                    files=[("train", ("small.yaml", PARAMS_TRAIN.encode(), "application/yaml"))])
    assert r.status_code == 201 and r.json()["url"].startswith("/train/")
    # a train that cannot be designed stores nothing
    with db.session() as s:
        n = len(s.scalars(select(Upload)).all())
    r = client.post("/train", data={"csrf_token": csrf, "project_id": pid}, headers=ACCEPT,
                    files=[("train", ("bad.yaml", b"steps: [", "application/yaml"))])
    assert r.status_code == 422
    with db.session() as s:
        assert len(s.scalars(select(Upload)).all()) == n


def test_the_example_train_saved_with_its_trial_files(web_app, make_user, db):  # noqa: F811
    ua = make_user("ua@a.example")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf)
    r = client.post("/train", data={"csrf_token": csrf, "project_id": pid, "example": "1"}, headers=ACCEPT)
    assert r.status_code == 201, r.text
    page = client.get(r.json()["url"])
    assert page.status_code == 200 and "Harvest clarification" in page.text
    assert "other numbers" not in page.text
    result_id = r.json()["url"].rsplit("/", 1)[1]
    out = client.get(f"/api/results/{result_id}").json()
    assert out["inputs"]["train"]["filename"] == "train_2000L_mab.yaml"
    assert sorted(f["filename"] for f in out["inputs"]["files"]) == [
        "cho_harvest_depth_filtration.csv", "mab_sterile_filtration.csv", "virus_filtration.xlsx"]
