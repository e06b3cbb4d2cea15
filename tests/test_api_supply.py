"""Supply studies over HTTP, on SQLite and on PostgreSQL: ``POST /api/supply`` answers what
``fluxwise supply --json`` prints for the same plan; a study saved into a project keeps its plan and
files byte for byte, is a versioned, reportable, signable result with audit entries, runs again to the
same numbers (same seed, same random numbers). Another organisation's studies: test_api_tenancy.py."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select

from fluxwise.store.audit import verify_chain
from fluxwise.store.models import AuditEntry
from test_api import new_project
from test_api_design import EXAMPLES, TRAIN, TRAIN_FILES, cli_json, train_files
from test_supply_plan import SMALL

PLAN = SMALL.replace("replications: 200", "replications: 80").replace(
    "compare: {sources: [local, sea]}\n", ""
)
#: computations that store nothing: one backend is enough
COMPUTATION = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def post_plan(client, member, text=PLAN, name="plan.yaml", files=(), path="/api/supply", **data):
    content = text.encode() if isinstance(text, str) else text
    return client.post(
        path, headers=member.headers, data=data, files=[("plan", (name, content, "application/yaml")), *files]
    )


@COMPUTATION
def test_the_api_answers_what_the_cli_prints(client, make_user, tmp_path):
    ua = make_user("ua@a.example")
    r = post_plan(client, ua, seed="4")
    assert r.status_code == 200, r.text
    out = r.json()
    (tmp_path / "plan.yaml").write_text(PLAN)
    cli = cli_json("supply", str(tmp_path / "plan.yaml"), "--seed", "4")
    for key in ("campaign", "items", "recommendations"):
        assert out[key] == cli[key]
    assert out["plan"]["seed"] == 4 and out["plan"]["replications"] == 80


@COMPUTATION
def test_a_plan_on_the_example_train_with_its_files(client, make_user):
    ua = make_user("ua@a.example")
    text = (
        (EXAMPLES / "supply_2000L_mab.yaml")
        .read_text()
        .replace("train: train_2000L_mab.yaml", f"train: {TRAIN.name}")
    )
    files = train_files((*TRAIN_FILES,)) + [("files", (TRAIN.name, TRAIN.read_bytes(), "application/yaml"))]
    r = post_plan(client, ua, text=text, name="supply.yaml", files=files, replications="60", compare="false")
    assert r.status_code == 200, r.text
    d = r.json()
    assert {i["name"] for i in d["items"]} == {
        "Harvest clarification",
        "Bioburden reduction",
        "Virus filtration",
        "UF/DF to formulation",
        "Final sterile filtration",
    }
    assert d["source_comparison"] == [] and d["campaign"]["batches_planned"] == 156


@COMPUTATION
def test_bad_plans_get_422_naming_the_key(client, make_user):
    ua = make_user("ua@a.example")
    r = post_plan(client, ua, text=PLAN.replace("source: sea\n", "source: nowhere\n"))
    assert r.status_code == 422 and "unknown source 'nowhere'" in r.json()["detail"]
    r = post_plan(client, ua, text=PLAN + "train: ../../etc/train.yaml\n")
    assert r.status_code == 422 and "not among the uploaded files" in r.json()["detail"]
    r = post_plan(client, ua, text=PLAN.replace("replications: 80", "replications: 50000"))
    assert r.status_code == 422 and "at most 20,000" in r.json()["detail"]
    r = post_plan(client, ua, replications="0")
    assert r.status_code == 422
    r = post_plan(client, ua, name="plan.txt")
    assert r.status_code == 422 and "YAML" in r.json()["detail"]


def test_a_saved_study_is_a_signable_versioned_result(client, make_user, db):
    ua = make_user("ua@a.example", role="admin")
    pid = new_project(client, ua)
    r = post_plan(client, ua, path=f"/api/projects/{pid}/supply", notes="first look", seed="2")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["kind"] == "supply" and out["version"] == 1 and out["trial_id"] is None
    assert out["inputs"]["options"] == {"replications": 80, "seed": 2, "compare": True}
    ref = out["inputs"]["plan"]
    assert ref["sha256"] == hashlib.sha256(PLAN.encode()).hexdigest() and ref["upload_id"] == out["upload_id"]
    content = client.get(f"/api/uploads/{ref['upload_id']}/content", headers=ua.headers)
    assert content.content == PLAN.encode()
    assert out["data"] == post_plan(client, ua, seed="2").json()  # the stored JSON is the study's

    listed = client.get(f"/api/projects/{pid}/results", headers=ua.headers).json()
    assert [x["id"] for x in listed] == [out["id"]]
    report = client.get(f"/api/results/{out['id']}/report", headers=ua.headers)
    assert (
        report.status_code == 200 and 'id="signature-block"' in report.text and "Not signed." in report.text
    )
    assert "Local or imported" not in report.text and "Stock of capsule" in report.text
    download = client.get(f"/api/results/{out['id']}/report?download=true", headers=ua.headers)
    assert download.headers["content-disposition"].startswith('attachment; filename="plan-supply-v1.html"')

    sig = client.post(
        f"/api/results/{out['id']}/signatures",
        headers=ua.headers,
        json={"email": ua.email, "password": ua.password, "meaning": "author"},
    )
    assert sig.status_code == 201, sig.text
    report = client.get(f"/api/results/{out['id']}/report", headers=ua.headers).text
    assert "author" in report and "Not signed." not in report

    # run again from the stored files (a reason is needed): the same seed gives the same numbers, so the
    # result stays at version 1
    no_reason = client.patch(f"/api/results/{out['id']}", headers=ua.headers, json={"recompute": True})
    assert no_reason.status_code == 422
    again = client.patch(
        f"/api/results/{out['id']}",
        headers=ua.headers,
        json={"recompute": True, "reason": "rerun on the stored plan"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 1 and again.json()["data"] == out["data"]
    # new notes make version 2, and the report follows it
    v2 = client.patch(f"/api/results/{out['id']}", headers=ua.headers, json={"notes": "checked"}).json()
    assert v2["version"] == 2 and v2["data"] == out["data"]

    with db.session() as s:
        entries = list(
            s.scalars(select(AuditEntry).where(AuditEntry.object_id == out["id"]).order_by(AuditEntry.seq))
        )
        assert [e.action for e in entries] == ["create", "sign", "update"]  # the update: the notes
        assert json.loads(entries[0].new_value)["kind"] == "supply"
        assert verify_chain(s).ok
