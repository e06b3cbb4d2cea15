"""Screening: trials compared for one batch (``fluxwise compare``, ``POST /api/projects/{id}/compare``, the
project's compare page).

Hand numbers: standard blocking sizes in closed form, A = Vb/Vmax + Vb/(J0·tb) (Badmington et al. 1995);
capacity = Vb/A; product left in a hold-up V_h after one well-mixed chase V_c is C·V_h·V_h/(V_h + V_c).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

from fluxwise.cli import main
from fluxwise.design.catalog import FilterFormat, FormatChoice
from fluxwise.design.screening import Economics, rank_rows, screening_row
from fluxwise.design.sizing import Sizing
from fluxwise.pipeline import compare_trials
from fluxwise.trial import Trial

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _sizing(fmt, count, min_area=2.0, batch=1000.0, time_h=4.0):
    return Sizing(model="standard", mode="constant-pressure", batch_volume_L=batch, process_time_h=time_h,
                  min_area_m2=min_area, safety_factor=1.5, choice=FormatChoice(fmt, count, min_area * 1.5),
                  endpoints={}, params={})


def test_cost_per_batch_by_hand():
    fmt = FilterFormat("Capsule 10 in", "capsule", 0.69, max_count=10, price_usd=1200.0, hold_up_mL=150.0)
    econ = Economics(titre_g_per_L=5.0, product_value_per_g=100.0, chase_L=0.9, product_flush_L_per_m2=2.0,
                     pre_use_flush_L_per_m2=20.0, wfi_per_L=0.2)
    row = screening_row("a", _sizing(fmt, 5), mode="constant-pressure", best_model="standard", tied=[],
                        j0_LMH=800.0, econ=econ)
    installed = 5 * 0.69  # 3.45 m²
    hold_up = 5 * 0.150  # 0.75 L
    unrecovered = hold_up * hold_up / (hold_up + 0.9)  # 0.3409 L
    lost_L = unrecovered + 2.0 * installed
    assert_allclose([row["filters_usd"], row["pre_use_flush_L"], row["pre_use_flush_usd"]],
                    [6000.0, 20 * installed, 20 * installed * 0.2])
    assert_allclose([row["hold_up_L"], row["product_lost_L"], row["product_lost_g"], row["product_lost_usd"]],
                    [hold_up, lost_L, 5 * lost_L, 500 * lost_L])
    assert_allclose(row["cost_per_batch_usd"], 6000 + 20 * installed * 0.2 + 500 * lost_L)
    assert_allclose([row["capacity_L_per_m2"], row["average_flux_LMH"]], [500.0, 125.0])
    # without a product value the product is counted in litres and grams, not in the cost
    plain = screening_row("b", _sizing(fmt, 5), mode="constant-pressure", best_model="standard", tied=[],
                          j0_LMH=800.0, econ=Economics(titre_g_per_L=5.0))
    assert plain["product_lost_usd"] is None and plain["cost_per_batch_usd"] == 6000.0
    assert plain["cost_includes_product"] is False
    ranked = rank_rows([row, plain, {"trial": "c", "error": "cannot be sized"}])
    assert [r["trial"] for r in ranked] == ["b", "a", "c"] and [r["rank"] for r in ranked] == [1, 2, None]


def _standard_trial(name, j0, vmax, hours=1.0):
    t = np.linspace(0, hours, 41)
    v = j0 * t / (1 + j0 * t / vmax)  # t/V = 1/J0 + t/Vmax
    return Trial(t_h=t, v_L_per_m2=v, area_m2=13.8e-4, mode="constant-pressure", source=name)


def test_compare_trials_ranks_by_cost_with_hand_areas():
    trials = [_standard_trial("tight.csv", 800.0, 250.0), _standard_trial("open.csv", 800.0, 600.0)]
    # exact data: the combined models fit as well (a constant near 0), so size with the generating model
    c = compare_trials(trials, sizing={"batch_volume": "1000 L", "process_time": "4 h", "model": "standard"})
    rows = {r["trial"]: r for r in c.rows}
    for name, vmax in (("tight.csv", 250.0), ("open.csv", 600.0)):
        area = 1000 / vmax + 1000 / (800 * 4)  # the trials are exact: standard blocking fits them exactly
        assert rows[name]["model"] == "standard"
        assert_allclose(rows[name]["min_area_m2"], area, rtol=1e-5)
        assert_allclose(rows[name]["capacity_L_per_m2"], 1000 / area, rtol=1e-5)
    assert c.to_dict()["ranking"] == ["open.csv", "tight.csv"]
    assert rows["open.csv"]["cost_per_batch_usd"] < rows["tight.csv"]["cost_per_batch_usd"]
    fig = c.figure()
    assert len(fig.data) == 4 and "Flux decay vs loading" in fig.layout.title.text


def test_cli_compare_examples(tmp_path):
    plot = tmp_path / "overlay.html"
    files = [str(EXAMPLES / n) for n in ("mab_sterile_filtration.csv", "virus_filtration.xlsx",
                                         "cho_harvest_depth_filtration.csv")]
    r = CliRunner().invoke(main, ["compare", *files, "--titre", "5 g/L", "--product-value", "100 USD/g",
                                  "-o", str(plot), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert len(d["rows"]) == 3 and d["ranking"] == [r["trial"] for r in d["rows"][:2]]
    failed = d["rows"][2]
    assert failed["trial"] == "cho_harvest_depth_filtration.csv" and failed["rank"] is None
    assert "maximum pressure" in failed["error"]
    assert all(r["cost_includes_product"] for r in d["rows"][:2])
    html = plot.read_text(encoding="utf-8")
    assert "Flux decay vs loading" in html and "plotly" in html.lower()
    # with a maximum pressure the depth filter is sized too; the text table shows every trial
    r = CliRunner().invoke(main, ["compare", *files, "--max-pressure", "25 psi", "--flux", "150 LMH"])
    assert r.exit_code == 0 and r.output.count("Capsule") + r.output.count("Cartridge") >= 3
    bad = CliRunner().invoke(main, ["compare", files[0], "--product-value", "lots"])
    assert bad.exit_code == 2 and "product-value" in bad.output


# ------------------------------------------------------------------------------------------- API and page

def _upload(client, project_id, path, headers):
    r = client.post(f"/api/projects/{project_id}/uploads", headers=headers,
                    files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    assert r.status_code == 201, r.text
    return r.json()["trial"]["id"]


@pytest.fixture
def project_with_trials(app, make_user):
    from fastapi.testclient import TestClient

    member = make_user("ua@example.org")
    client = TestClient(app)
    h = {"Authorization": f"Bearer {member.token}"}
    r = client.post("/api/projects", headers=h, json={"org_id": member.org_id, "name": "Screening"})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    ids = [_upload(client, pid, EXAMPLES / n, h) for n in ("mab_sterile_filtration.csv",
                                                           "virus_filtration.xlsx")]
    return client, h, pid, ids, member


def test_api_and_page_compare(project_with_trials, make_user):
    client, h, pid, ids, member = project_with_trials
    body = {"trials": ids, "batch_volume": "2000 L", "process_time": "4 h", "titre": "5 g/L",
            "product_value": 100}
    r = client.post(f"/api/projects/{pid}/compare", headers=h, json=body)
    assert r.status_code == 200, r.text
    d = r.json()
    assert {row["trial"] for row in d["rows"]} == {"mab_sterile_filtration.csv", "virus_filtration.xlsx"}
    assert d["rows"][0]["rank"] == 1
    assert d["rows"][0]["cost_per_batch_usd"] <= d["rows"][1]["cost_per_batch_usd"]
    # the same numbers as the CLI on the same files
    cli = json.loads(CliRunner().invoke(main, ["compare", str(EXAMPLES / "mab_sterile_filtration.csv"),
                                               str(EXAMPLES / "virus_filtration.xlsx"), "--titre", "5 g/L",
                                               "--product-value", "100", "--json"]).output)
    assert [r["cost_per_batch_usd"] for r in d["rows"]] == pytest.approx([r["cost_per_batch_usd"]
                                                                          for r in cli["rows"]], rel=1e-9)
    r = client.post(f"/api/projects/{pid}/compare", headers=h, json={**body, "batch_volume": "lots"})
    assert r.status_code == 422 and "batch_volume" in r.text
    # another organisation cannot compare (or see) these trials
    other = make_user("ub@example.org", org="Org B")
    ho = {"Authorization": f"Bearer {other.token}"}
    r = client.post("/api/projects", headers=ho, json={"org_id": other.org_id, "name": "Mine"})
    r = client.post(f"/api/projects/{r.json()['id']}/compare", headers=ho, json=body)
    assert r.status_code == 404

    # Tmax over the API: a depth-filter trial with a turbidity column, sized with a turbidity limit (the
    # example's generating laws: breakthrough at 170.2 L/m², pressure capacity 250 L/m² at 0.7 bar)
    depth = _upload(client, pid, EXAMPLES / "depth_filter_turbidity.csv", h)
    r = client.post(f"/api/trials/{depth}/size", headers=h,
                    json={"batch_volume": "1000 L", "max_pressure": "0.7 bar", "flux": "100 LMH",
                          "model": "cake",
                          "turbidity_limit": "10 NTU"})
    assert r.status_code == 201, r.text
    t = r.json()["data"]["turbidity"]
    assert t["governing"] == "turbidity" and abs(t["breakthrough_L_per_m2"] - 170.2) < 2.0
    assert r.json()["inputs"]["turbidity_limit"] == "10 NTU"

    # the project's compare page (same store)
    from fastapi.testclient import TestClient

    from fluxwise.api.deps import ApiSettings
    from fluxwise.web import create_web_app

    web = TestClient(create_web_app(db=client.app.state.db, settings=ApiSettings(secret_key="t")),
                     follow_redirects=False)
    r = web.post("/login", data={"email": member.email, "password": member.password, "next": "/projects"})
    assert r.status_code == 303
    assert f'href="/projects/{pid}/compare"' in web.get(f"/projects/{pid}").text
    empty = web.get(f"/projects/{pid}/compare")
    assert empty.status_code == 200 and 'name="trial"' in empty.text
    r = web.get(f"/projects/{pid}/compare",
                params={"trial": ids, "batch_volume": "2000 L", "process_time": "4 h"})
    assert r.status_code == 200, r.text
    assert r.text.count("<tr") >= 3 and "fig-overlay-data" in r.text and "Flux decay vs loading" in r.text
    assert re.search(r"mab_sterile_filtration\.csv</a>", r.text)
    bad = web.get(f"/projects/{pid}/compare", params={"trial": ids, "batch_volume": "lots"})
    assert bad.status_code == 422 and "batch_volume" in bad.text
