"""Signed records over HTTP — on SQLite and on PostgreSQL: the downloaded report of a signed result
carries its signature block (result id, version, content hash, each signer, meaning and UTC time),
signatures are shown valid only once checked, a record changed behind the application's back gets a
red banner, and a report that would not show the stored numbers is refused (409)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import text

from fluxwise.store.models import ResultVersion
from test_api import new_project, upload
from test_audit_tamper import bypassing_the_database


@pytest.fixture
def signed(client, make_user):
    """A sizing result signed by its author and reviewed."""
    ua = make_user("ua@a.example")
    reviewer = make_user("reviewer@a.example", role="reviewer")
    pid = new_project(client, ua)
    trial_id = upload(client, ua, pid)["trial"]["id"]
    res = client.post(f"/api/trials/{trial_id}/size", headers=ua.headers,
                      json={"batch_volume": "200 L", "process_time": "2 h"})
    assert res.status_code == 201, res.text
    rid = res.json()["id"]
    for who, meaning in ((ua, "author"), (reviewer, "review")):
        r = client.post(f"/api/results/{rid}/signatures", headers=who.headers,
                        json={"email": who.email, "password": who.password, "meaning": meaning})
        assert r.status_code == 201, r.text
        assert r.json()["valid"] is True and r.json()["problems"] == []
    return ua, rid


def _block(html: str) -> str:
    m = re.search(r'<section class="record" id="signature-block">(.*?)</section>', html, re.S)
    assert m, "no signature block in the report"
    return unescape(m.group(1))


def test_the_downloaded_report_of_a_signed_result_carries_the_signature_block(client, db, signed):
    ua, rid = signed
    result = client.get(f"/api/results/{rid}", headers=ua.headers).json()
    assert result["record_ok"] is True and result["record_problems"] == []
    assert [s["valid"] for s in result["signatures"]] == [True, True]
    r = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    assert r.status_code == 200, r.text
    block = _block(r.text)
    with db.session() as s:
        stored = s.query(ResultVersion).filter_by(result_id=rid).one().content_sha256
    shown = re.search(r'class="content-sha256">([0-9a-f]{64})<', block).group(1)
    assert shown == stored == result["content_sha256"] == r.headers["x-content-sha256"]
    assert rid in block and re.search(r"<th>version</th><td>1</td>", block)
    for sig in result["signatures"]:
        when = sig["signed_at"][:19].replace("T", " ") + " UTC"
        assert re.search(rf"<td>{sig['signer_name']}</td><td>{sig['meaning']}</td><td>{when}</td>\s*"
                         r'<td class="sig-ok">valid</td>', block), (sig, block)
    assert 'id="record-mismatch"' not in r.text


def test_a_record_changed_behind_the_applications_back_gets_a_red_banner(client, db, signed):
    ua, rid = signed
    with db.session() as s:
        rv = s.query(ResultVersion).filter_by(result_id=rid).one()
        assert rv.trial is not None and rv.upload is not None
        s.expunge(rv)
    rv.notes = "approved by the QA head"  # words the signers never saw, hash column recomputed
    from fluxwise.store.results import content_sha256

    with bypassing_the_database(db) as conn:
        conn.execute(text("UPDATE results SET notes = :n, content_sha256 = :h WHERE id = :id"),
                     {"n": rv.notes, "h": content_sha256(rv), "id": rv.id})
    result = client.get(f"/api/results/{rid}", headers=ua.headers).json()
    assert result["record_ok"] is False
    assert any("does not match the hash its audit entry" in p for p in result["record_problems"])
    assert [s["valid"] for s in result["signatures"]] == [False, False]
    assert "the signed content was changed" in result["signatures"][0]["problems"][0]
    listed = client.get(f"/api/results/{rid}/signatures", headers=ua.headers).json()
    assert [s["valid"] for s in listed] == [False, False]
    r = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    assert r.status_code == 200
    assert 'id="record-mismatch"' in r.text and "NOT VALID" in _block(r.text)


def test_a_signed_report_is_refused_when_it_would_not_show_the_stored_numbers(client, db, signed):
    ua, rid = signed
    with bypassing_the_database(db) as conn:
        data = conn.execute(text("SELECT data_json FROM results WHERE result_id = :r"), {"r": rid}).scalar()
        changed = re.sub(r'"installed_area_m2":([0-9.e+-]+)',
                         lambda m: f'"installed_area_m2":{float(m.group(1)) / 2}', data, count=1)
        assert changed != data
        conn.execute(text("UPDATE results SET data_json = :d WHERE result_id = :r"), {"d": changed, "r": rid})
    r = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    assert r.status_code == 409 and "other numbers than the stored version holds" in r.json()["detail"]


def test_a_sizing_stored_without_warnings_reads_as_one_with_none(client, db, make_user):
    """Sizings stored before every sizing carried ``warnings`` left the key out when there were none:
    their report is computed again and shown (the key reads as an empty list); warnings that the stored
    version does not hold are still other content (409)."""
    ua = make_user("ub@a.example")
    pid = new_project(client, ua)
    trial_id = upload(client, ua, pid)["trial"]["id"]
    res = client.post(f"/api/trials/{trial_id}/size", headers=ua.headers,
                      json={"batch_volume": "1 L", "process_time": "0.5 h"})
    assert res.status_code == 201, res.text
    rid = res.json()["id"]
    with bypassing_the_database(db) as conn:
        data = conn.execute(text("SELECT data_json FROM results WHERE result_id = :r"), {"r": rid}).scalar()
    assert '"warnings":[]' in data  # always there, an empty list when there are none
    assert client.get(f"/api/results/{rid}/report", headers=ua.headers).status_code == 200

    def store(new):
        with bypassing_the_database(db) as conn:
            conn.execute(text("UPDATE results SET data_json = :d WHERE result_id = :r"), {"d": new, "r": rid})

    store(data.replace(',"warnings":[]', "").replace('"warnings":[],', ""))
    r = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    assert r.status_code == 200, r.text
    store(data.replace('"warnings":[]', '"warnings":["extrapolated: stored, not computed"]'))
    r = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    assert r.status_code == 409 and "other numbers than the stored version holds" in r.json()["detail"]


def test_a_reports_second_request_is_served_from_the_cache_until_the_record_changes(client, db, signed,
                                                                                    monkeypatch):
    from fluxwise.api import science
    from fluxwise.api.routers import results

    monkeypatch.setattr(results, "_reports", results._ReportCache())
    computed = []
    real = science.record_report
    monkeypatch.setattr(science, "record_report", lambda *a: computed.append(1) or real(*a))
    ua, rid = signed
    first = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    second = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    assert first.status_code == second.status_code == 200
    assert len(results._reports._items) == 1
    same_time = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC</p>")
    assert same_time.sub("", first.text) == same_time.sub("", second.text)
    # the same report asked for in Korean is another key, written in Korean
    korean = client.get(f"/api/results/{rid}/report", headers={**ua.headers, "Accept-Language": "ko"})
    assert korean.status_code == 200 and '<html lang="ko"' in korean.text
    assert '<html lang="ko"' not in first.text
    assert len(results._reports._items) == 2
    # a record that changed (a tampered note, the hash recomputed) is another key: computed again, red banner
    with db.session() as s:
        rv = s.query(ResultVersion).filter_by(result_id=rid).one()
        assert rv.trial is not None and rv.upload is not None
        s.expunge(rv)
    rv.notes = "changed"
    from fluxwise.store.results import content_sha256

    with bypassing_the_database(db) as conn:
        conn.execute(text("UPDATE results SET notes = :n, content_sha256 = :h WHERE id = :id"),
                     {"n": rv.notes, "h": content_sha256(rv), "id": rv.id})
    third = client.get(f"/api/results/{rid}/report", headers=ua.headers)
    assert third.status_code == 200 and 'id="record-mismatch"' in third.text
    assert len(results._reports._items) == 3
    if computed:  # the science runs in this process (no worker pool in the tests): once per key
        assert len(computed) == 3
