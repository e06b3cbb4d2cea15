"""Corrections of an upload and soft deletion, through the HTTP API on SQLite and PostgreSQL.

A rig file whose columns are misread (the balance of the feed taken for the filtrate, seconds written
as minutes) and whose area is wrong is corrected with a column mapping with units and a new area: a new
revision of the trial, read from the very bytes uploaded, with the reason in the audit trail. Then
trials, files and results are deleted with a reason (soft: hidden, kept, audited) and restored by an
admin; the trail verifies throughout.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from fluxwise.store.audit import verify_chain
from fluxwise.store.models import AuditEntry, Deletion, Restoration, TrialRecord
from test_api import new_project

# Standard blocking (Hermia 1982): V = Q0·t/(1 + Q0·t/Vmax), Q0 = 0.5 mL/min, Vmax = 60 mL, logged every
# 60 s, but the time column says "(min)"; "mass (g)" is the balance of a second disc run beside it (twice
# the area), "filtrate B (g)" the balance of this one (1 g = 1 mL at the default density 1.0 g/mL). The
# file claims 3.5 cm²; the disc is 13.8 cm².
_T_S = np.arange(0.0, 2460.0, 60.0)
_V_ML = 0.5 * (_T_S / 60) / (1 + 0.5 * (_T_S / 60) / 60.0)
CSV = ("Filter area: 3.5 cm2\ntime (min),mass (g),filtrate B (g)\n" + "".join(
    f"{t:g},{2 * v:.5f},{v:.5f}\n" for t, v in zip(_T_S, _V_ML, strict=True))).encode()


def _entries(db, object_id: str) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.object_id == object_id)
                              .order_by(AuditEntry.seq)))


def test_correct_columns_and_area_then_delete_and_restore(client, make_user, db):
    sci = make_user("sci@a.example")
    admin = make_user("adm@a.example", role="admin")
    pid = new_project(client, sci)
    r = client.post(f"/api/projects/{pid}/uploads", headers=sci.headers,
                    files={"file": ("rig.csv", CSV, "text/csv")})
    assert r.status_code == 201, r.text
    trial_id, upload_id = r.json()["trial"]["id"], r.json()["upload"]["id"]
    first = client.get(f"/api/trials/{trial_id}", headers=sci.headers).json()
    assert first["revision"] == 1 and first["columns"] is None
    assert first["meta"]["columns"] == {"time": "time (min)", "mass": "mass (g)"}  # detected: the wrong one
    assert first["t_h"][-1] == pytest.approx(_T_S[-1] / 60)  # seconds read as minutes: 60 times too long

    # the mapping (time in seconds) and the area, corrected: a reason is required
    fix = {"columns": {"time": ["time (min)", "s"], "mass": "filtrate B (g)"}, "area": "13.8 cm2"}
    r = client.patch(f"/api/trials/{trial_id}", headers=sci.headers, json=fix)
    assert r.status_code == 422 and "reason is required" in r.json()["detail"]
    r = client.patch(f"/api/trials/{trial_id}", headers=sci.headers,
                     json={**fix, "reason": "time logged in s; area of the 47 mm disc"})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2 and r.json()["columns"] == {"time": ["time (min)", "s"],
                                                                   "mass": "filtrate B (g)"}
    data = client.get(f"/api/trials/{trial_id}", headers=sci.headers).json()
    assert data["area_m2"] == pytest.approx(13.8e-4)
    assert np.allclose(data["t_h"], _T_S / 3600)
    assert np.allclose(data["v_L_per_m2"], _V_ML / 1000 / 13.8e-4, rtol=1e-5)
    assert data["meta"]["units"]["time"] == "s"
    # the original bytes are kept as uploaded
    assert client.get(f"/api/uploads/{upload_id}/content", headers=sci.headers).content == CSV
    update = [e for e in _entries(db, trial_id) if e.action == "update"][-1]
    assert update.reason == "time logged in s; area of the 47 mm disc"
    old, new = json.loads(update.old_value), json.loads(update.new_value)
    assert old["revision"] == 1 and "columns" not in old and len(old["content_sha256"]) == 64
    assert new["revision"] == 2 and new["columns"]["mass"] == "filtrate B (g)" and new["area"] == "13.8 cm2"
    # a mapping naming a column the file does not have: the message names it, nothing changes
    r = client.patch(f"/api/trials/{trial_id}", headers=sci.headers,
                     json={"columns": {"time": "Zeit [s]"}, "reason": "typo"})
    assert r.status_code == 422 and "'Zeit [s]'" in r.json()["detail"]

    fit = client.post(f"/api/trials/{trial_id}/fit", headers=sci.headers, json={}).json()

    # delete the trial: a reason is required; then it is hidden, kept and audited
    assert client.delete(f"/api/trials/{trial_id}", headers=sci.headers).status_code == 422
    r = client.delete(f"/api/trials/{trial_id}", headers=sci.headers, params={"reason": "wrong filter lot"})
    assert r.status_code == 204
    r = client.get(f"/api/trials/{trial_id}", headers=sci.headers)
    assert r.status_code == 404
    assert "was deleted" in r.json()["detail"] and "wrong filter lot" in r.json()["detail"]
    assert client.get(f"/api/projects/{pid}/trials", headers=sci.headers).json() == []
    assert client.get(f"/api/projects/{pid}/results", headers=sci.headers).json() == []
    gone = client.get(f"/api/projects/{pid}/deleted", headers=sci.headers).json()
    assert [(g["type"], g["id"], g["reason"]) for g in gone] == [("trial", trial_id, "wrong filter lot")]
    r = client.post(f"/api/results/{fit['id']}/signatures", headers=sci.headers,
                    json={"password": sci.password, "meaning": "author"})
    assert r.status_code == 422 and "trial of this result was deleted" in r.json()["detail"]
    # only an admin restores, with a reason
    r = client.post(f"/api/trials/{trial_id}/restore", headers=sci.headers, json={"reason": "mistake"})
    assert r.status_code == 403
    assert client.post(f"/api/trials/{trial_id}/restore", headers=admin.headers, json={}).status_code == 422
    r = client.post(f"/api/trials/{trial_id}/restore", headers=admin.headers, json={"reason": "right lot"})
    assert r.status_code == 200 and r.json()["revision"] == 2
    listed = client.get(f"/api/projects/{pid}/trials", headers=sci.headers).json()
    assert [t["id"] for t in listed] == [trial_id]

    # delete the file: its trial goes with it and comes back with it
    r = client.delete(f"/api/uploads/{upload_id}", headers=sci.headers, params={"reason": "duplicate run"})
    assert r.status_code == 204
    assert client.get(f"/api/trials/{trial_id}", headers=sci.headers).status_code == 404
    assert client.get(f"/api/projects/{pid}/uploads", headers=sci.headers).json() == []
    r = client.post(f"/api/trials/{trial_id}/restore", headers=admin.headers, json={"reason": "x"})
    assert r.status_code == 422 and "restore the file" in r.json()["detail"]
    r = client.post(f"/api/uploads/{upload_id}/restore", headers=admin.headers, json={"reason": "not a dup"})
    assert r.status_code == 200, r.text
    assert client.get(f"/api/trials/{trial_id}", headers=sci.headers).status_code == 200

    # a result: deleted, restored, deleted again
    rid = fit["id"]
    r = client.delete(f"/api/results/{rid}", headers=sci.headers, params={"reason": "r1"})
    assert r.status_code == 204
    assert client.get(f"/api/results/{rid}", headers=sci.headers).json()["deleted"] is True
    r = client.post(f"/api/results/{rid}/restore", headers=admin.headers, json={"reason": "needed"})
    assert r.status_code == 200 and r.json()["deleted"] is False
    r = client.delete(f"/api/results/{rid}", headers=sci.headers, params={"reason": "r2"})
    assert r.status_code == 204
    assert client.get(f"/api/results/{rid}", headers=sci.headers).json()["delete_reason"] == "r2"

    with db.session() as s:
        assert {(d.object_type, d.reason) for d in s.scalars(select(Deletion))} == {
            ("trial", "wrong filter lot"), ("upload", "duplicate run"), ("trial", "duplicate run")}
        assert len(s.scalars(select(Restoration)).all()) == 4  # trial, upload, its trial, result
        assert s.scalar(select(TrialRecord).where(TrialRecord.public_id == trial_id)).revision == 2
        report = verify_chain(s)
        assert report.ok, report.problems
    restores = [e for e in _entries(db, trial_id) if e.action == "update" and e.reason == "right lot"]
    assert json.loads(restores[0].old_value)["deleted"] is True and restores[0].actor_name.startswith("ADM")
