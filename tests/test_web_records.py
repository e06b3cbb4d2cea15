"""The trial page shows a signature as valid only once checked, and a red banner when the record was
changed behind the application's back — on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import text

from test_audit_tamper import bypassing_the_database
from test_web import client_for, new_project, sign_in, upload_fit_size, web_app  # noqa: F401 (a fixture)


def test_a_signature_is_shown_valid_only_once_checked_and_a_changed_record_gets_a_banner(
        web_app, make_user, db):  # noqa: F811
    ua = make_user("ua@a.example")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf)
    trial_id, fit_id, _ = upload_fit_size(client, csrf, pid)
    r = client.post(f"/api/results/{fit_id}/signatures", headers={"X-CSRF-Token": csrf},
                    json={"email": ua.email, "password": ua.password, "meaning": "author"})
    assert r.status_code == 201, r.text
    page = client.get(f"/trials/{trial_id}").text
    row = re.search(rf'<tr id="result-{fit_id}".*?</tr>', page, re.S).group(0)
    assert 'class="badge ok sig-valid"' in row and "record-mismatch" not in page
    with bypassing_the_database(db) as conn:  # the fit's notes changed in the database, hash and all
        conn.execute(text("UPDATE results SET notes = 'approved' WHERE result_id = :r"), {"r": fit_id})
    page = client.get(f"/trials/{trial_id}").text
    row = re.search(rf'<tr id="result-{fit_id}".*?</tr>', page, re.S).group(0)
    assert 'class="badge bad sig-invalid"' in row and "sig-valid" not in row
    banner = re.search(rf'<div class="alert error record-mismatch" role="alert" id="mismatch-{fit_id}">'
                       r"(.*?)</div>", page, re.S)
    assert banner and "does not match its stored content hash" in banner.group(1)
