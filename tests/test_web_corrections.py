"""Fixing a trial in the pages: the correction form, deletion with a reason, an admin's restore, error
pages in the site's layout, and error messages that speak of form fields, never of command-line options.

The pages' script calls the JSON API with ``X-Fluxwise-Door: web``; these tests send what it sends.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from test_corrections import CSV
from test_web import STERILE, client_for, new_project, sign_in, web_app  # noqa: F401 (fixture)

WEB = "web"
# What a command-line user or a Python user would read, and a web user must never see.
CLI_SPELLINGS = re.compile(r"--[a-z]|columns=\{|\w+=\"|meter \*\* |liter / |in Python|\bfluxwise [a-z]+ ")


def _door(csrf: str) -> dict:
    return {"X-CSRF-Token": csrf, "X-Fluxwise-Door": WEB, "Accept": "application/json"}


def test_correct_delete_and_restore_in_the_pages(web_app, make_user):  # noqa: F811
    sci, admin = make_user("sci@a.example"), make_user("adm@a.example", role="admin")
    client = client_for(web_app)
    csrf = sign_in(client, sci)
    pid = new_project(client, sci, csrf)
    h = _door(csrf)
    # the upload form's column mapping: the second balance is this disc's, time in seconds
    r = client.post(f"/api/projects/{pid}/uploads", headers=h, files={"file": ("rig.csv", CSV, "text/csv")},
                    data={"columns": '{"time": ["time (min)", "s"]}', "area": "13.8 cm2"})
    assert r.status_code == 201, r.text
    trial_id, upload_id = r.json()["trial"]["id"], r.json()["upload"]["id"]
    page = client.get(f"/trials/{trial_id}").text
    # the form starts from the file's headers and the mapping the trial was read with
    assert 'id="correct-form"' in page and '<option value="filtrate B (g)">' in page
    assert 'id="col-time" name="col-time" list="file-headers" value="time (min)"' in page
    assert 'name="unit-time" list="units-time" value="s"' in page
    assert 'id="col-mass" name="col-mass" list="file-headers" value=""' in page  # given mapping: not detected
    assert 'name="area" value="13.8 cm2"' in page and "Read again as revision 2" in page

    # what the form sends: the mass column and a reason -> revision 2, the reason in the audit trail
    body = {"columns": {"time": ["time (min)", "s"], "mass": "filtrate B (g)"},
            "reason": "the filtrate balance is column B"}
    r = client.patch(f"/api/trials/{trial_id}", headers=h, json=body)
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    page = client.get(f"/trials/{trial_id}").text
    assert "revision 2" in page
    assert 'id="col-mass" name="col-mass" list="file-headers" value="filtrate B (g)"' in page
    audit = client.get(f"/audit?project={pid}").text
    assert "the filtrate balance is column B" in audit

    # delete a result, then the trial, each with a reason (the forms carry the reason as the API wants it)
    fit = client.post(f"/api/trials/{trial_id}/fit", headers=h, json={}).json()
    page = client.get(f"/trials/{trial_id}").text
    assert f'data-url="/api/results/{fit["id"]}"' in page and f'value="/api/uploads/{upload_id}"' in page
    assert client.delete(f"/api/results/{fit['id']}", headers=h, params={"reason": "fitted too early"}
                         ).status_code == 204
    assert f'id="result-{fit["id"]}"' not in client.get(f"/trials/{trial_id}").text
    assert client.delete(f"/api/trials/{trial_id}", headers=h, params={"reason": "wrong filter lot"}
                         ).status_code == 204
    # the deleted trial: a 404 page with the navigation and the reason; gone from the project's list
    r = client.get(f"/trials/{trial_id}")
    assert r.status_code == 404 and 'href="/audit"' in r.text and "wrong filter lot" in r.text
    project = client.get(f"/projects/{pid}").text
    assert f'href="/trials/{trial_id}"' not in project
    assert 'id="deleted-table"' in project and "wrong filter lot" in project and "fitted too early" in project
    assert "restore-form" not in project  # a scientist sees what was deleted, cannot restore it

    # an admin restores the trial from the project page's form (its API call), with a reason
    admin_client = client_for(web_app)
    admin_csrf = sign_in(admin_client, admin)
    project = admin_client.get(f"/projects/{pid}").text
    assert f'data-url="/api/trials/{trial_id}/restore"' in project
    r = admin_client.post(f"/api/trials/{trial_id}/restore", headers=_door(admin_csrf), json={"reason": ""})
    assert r.status_code == 422 and "reason" in r.json()["detail"] and isinstance(r.json()["detail"], str)
    r = admin_client.post(f"/api/trials/{trial_id}/restore", headers=_door(admin_csrf),
                          json={"reason": "the lot was right"})
    assert r.status_code == 200, r.text
    assert client.get(f"/trials/{trial_id}").status_code == 200
    assert f'id="deleted-{trial_id}"' not in client.get(f"/projects/{pid}").text


def test_error_pages_keep_the_navigation(web_app, make_user):  # noqa: F811
    sci = make_user("sci@a.example")
    client = TestClient(web_app, follow_redirects=False, raise_server_exceptions=False)
    sign_in(client, sci)
    for path, status in (("/no/such/page", 404), ("/trials/" + "b" * 32, 404),
                         ("/projects/" + "c" * 32, 404)):
        r = client.get(path)
        assert r.status_code == status and r.headers["content-type"].startswith("text/html"), path
        assert '<nav>' in r.text and 'href="/projects"' in r.text and 'href="/train"' in r.text, path
        assert f"HTTP {status}" in r.text
    r = client.get("/api/no/such/thing")  # the API keeps its JSON
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}

    @web_app.get("/boom-for-the-test")
    def boom():
        raise RuntimeError("an internal detail nobody should see")

    r = client.get("/boom-for-the-test")
    assert r.status_code == 500 and "<nav>" in r.text and "Server error" in r.text
    assert "internal detail" not in r.text


def test_web_errors_name_form_fields_not_command_line_options(web_app, make_user):  # noqa: F811
    """Bad inputs fed to the upload, correction and sizing forms, as their script sends them: every
    message names the form field (or the file, row or column) and no command-line spelling."""
    sci = make_user("sci@a.example")
    client = client_for(web_app)
    csrf = sign_in(client, sci)
    pid = new_project(client, sci, csrf)
    h = _door(csrf)
    no_area = "time (min),filtrate (g)\n0,0\n1,1\n2,1.9\n3,2.7\n"
    no_time = "Filter area: 13.8 cm2\nZeit,filtrate (g)\n0,0\n1,1\n2,1.9\n"
    no_unit = "Filter area: 13.8 cm2\ntime (min),filtrate\n0,0\n1,1\n2,1.9\n"
    messages = {}
    for name, text, data in (("no area", no_area, {}), ("no time", no_time, {}), ("no unit", no_unit, {}),
                             ("area unit", no_area, {"area": "13.8 psi"}),
                             ("area text", no_area, {"area": "large"}),
                             ("columns json", no_area, {"area": "13.8 cm2", "columns": "{time"}),
                             ("columns header", no_area, {"area": "13.8 cm2",
                                                          "columns": '{"time": "Zeit [s]"}'})):
        r = client.post(f"/api/projects/{pid}/uploads", headers=h, data=data,
                        files={"file": ("t.csv", text.encode(), "text/csv")})
        assert r.status_code == 422, (name, r.text)
        messages[name] = r.json()["detail"]
    assert "“filter area”" in messages["no area"] and "13.8 cm2" in messages["no area"]
    assert "“Columns”" in messages["no time"] and "“Columns”" in messages["no unit"]
    assert "'cm2'" in messages["area unit"] and "“filter area”" in messages["area text"]
    assert "“columns”" in messages["columns json"] and "'Zeit [s]'" in messages["columns header"]

    r = client.post(f"/api/projects/{pid}/uploads", headers=h,
                    files={"file": (STERILE.name, STERILE.read_bytes(), "text/csv")})
    trial_id = r.json()["trial"]["id"]
    for name, method, url, body in (
            ("size no time", "POST", "size", {"batch_volume": "2000 L", "process_time": "four hours"}),
            ("size bad unit", "POST", "size", {"batch_volume": "2000 kg", "process_time": "4 h"}),
            ("size not a number", "POST", "size", {"batch_volume": "2000 L", "process_time": "4 h",
                                                   "safety_factor": "lots"}),
            ("correct area", "PATCH", "", {"area": "13.8 L", "reason": "area"}),
            ("correct column", "PATCH", "", {"columns": {"time": "Zeit [s]"}, "reason": "x"}),
            ("correct no reason", "PATCH", "", {"area": "13.8 cm2"})):
        target = f"/api/trials/{trial_id}" + (f"/{url}" if url else "")
        r = client.request(method, target, headers=h, json=body)
        assert r.status_code == 422, (name, r.text)
        assert isinstance(r.json()["detail"], str), (name, r.json())
        messages[name] = r.json()["detail"]
    assert "“process time”" in messages["size no time"] and "safety factor" in messages["size not a number"]
    assert "“batch volume”" in messages["size bad unit"] and "“filter area”" in messages["correct area"]
    assert "reason" in messages["correct no reason"]
    for name, message in messages.items():
        assert not CLI_SPELLINGS.search(message), (name, message)

    # the same error at the API door names the JSON field; at the command line, the option
    r = client.post(f"/api/projects/{pid}/uploads", headers={"X-CSRF-Token": csrf},
                    files={"file": ("t.csv", no_area.encode(), "text/csv")})
    assert "field 'area'" in r.json()["detail"] and '"area": "13.8 cm2"' in r.json()["detail"]
    assert "--area" not in r.json()["detail"]
