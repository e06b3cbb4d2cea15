"""Supply studies from the web workbench, on SQLite and PostgreSQL: the form runs a plan uploaded with its
files or one made from a saved train design; a study saved into a project gets its page (from the
stored numbers), its report with the record block, a place on the project page, and is "not found"
for another organisation."""

from __future__ import annotations

import json

from sqlalchemy import select

from fluxwise.store.models import ResultVersion, Upload
from test_api_design import PARAMS_TRAIN
from test_api_supply import PLAN
from test_web import client_for, new_project, sign_in, web_app  # noqa: F401  (web_app: a fixture)

ACCEPT = {"Accept": "application/json"}


def test_a_plan_uploaded_and_saved_from_the_supply_page(web_app, make_user, db):  # noqa: F811
    ua = make_user("ua@a.example")
    ub = make_user("ub@b.example", org="Org B")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf, name="Capsule supply")
    page = client.get(f"/supply?project={pid}")
    assert page.status_code == 200 and 'id="supply-form"' in page.text
    assert f'<option value="{pid}" selected>Capsule supply (Org A)</option>' in page.text

    r = client.post(
        "/supply",
        headers=ACCEPT,
        data={
            "csrf_token": csrf,
            "mode": "upload",
            "project_id": pid,
            "replications": "60",
            "notes": "first look",
        },
        files=[("plan", ("capsules.yaml", PLAN.encode(), "application/yaml"))],
    )
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert url.startswith("/supplies/")
    result_id = url.rsplit("/", 1)[1]
    page = client.get(url)
    assert page.status_code == 200, page.text
    assert "two capsules" in page.text and "Saved in project" in page.text and "Capsule supply" in page.text
    assert 'id="supply-items"' in page.text and "Not signed yet." in page.text and "sign-form" in page.text
    report = client.get(url + "/report?download=true")
    assert report.status_code == 200
    disposition = report.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="capsules-supply-report.html"')
    assert 'id="signature-block"' in report.text and result_id in report.text
    project_page = client.get(f"/projects/{pid}")
    assert f'href="/supplies/{result_id}"' in project_page.text

    with db.session() as s:
        rv = s.scalar(select(ResultVersion).where(ResultVersion.result_id == result_id))
        assert rv.kind == "supply" and rv.notes == "first look"
        assert s.get(Upload, rv.upload_id).content == PLAN.encode()
        assert json.loads(rv.data_json)["plan"]["replications"] == 60

    other = client_for(web_app)
    sign_in(other, ub)
    for path in (url, url + "/report"):
        assert other.get(path).status_code == 404


def test_a_plan_made_from_a_saved_train_design(web_app, make_user, db):  # noqa: F811
    ua = make_user("ua@a.example")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf, name="Small train")
    r = client.post(
        "/train",
        data={"csrf_token": csrf, "project_id": pid},
        files=[("train", ("small.yaml", PARAMS_TRAIN.encode(), "application/yaml"))],
    )
    assert r.status_code == 303, r.text
    train_id = r.headers["location"].rsplit("/", 1)[1]
    page = client.get("/supply")
    assert f'<option value="{train_id}">small train' in page.text

    r = client.post(
        "/supply",
        headers=ACCEPT,
        data={
            "csrf_token": csrf,
            "mode": "train",
            "train_result": train_id,
            "per_week": "2",
            "horizon_weeks": "30",
            "route": "europe-korea-sea",
            "target_service": "0.9",
            "replications": "40",
            "project_id": pid,
        },
    )
    assert r.status_code == 201, r.text
    result_id = r.json()["url"].rsplit("/", 1)[1]
    with db.session() as s:
        rv = s.scalar(select(ResultVersion).where(ResultVersion.result_id == result_id))
        data, inputs = json.loads(rv.data_json), json.loads(rv.inputs_json)
    # the train's two steps are the items; 2 batches a week over 30 weeks; every route compared
    assert {i["name"] for i in data["items"]} == {"Sterile", "UF/DF"}
    assert data["campaign"]["batches_planned"] == 60
    assert {o["source"] for o in data["options"]} == {
        "local",
        "regional-asia",
        "europe-korea-sea",
        "europe-korea-air",
    }
    assert (
        inputs["plan"]["filename"] == "supply_small.yaml" and inputs["files"][0]["filename"] == "small.yaml"
    )

    bad = client.post(
        "/supply", headers=ACCEPT, data={"csrf_token": csrf, "mode": "train", "train_result": "f" * 32}
    )
    assert bad.status_code == 404
    bad = client.post("/supply", headers=ACCEPT, data={"csrf_token": csrf, "mode": "upload"})
    assert bad.status_code == 422 and "choose a plan file" in bad.json()["detail"]
