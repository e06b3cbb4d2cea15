"""Korean and English (on SQLite): the main pages rendered in the pseudo-language ``xx`` show no text
left out of translation; the language is chosen from ``Accept-Language``, ``?lang=`` (stored with the
user and winning over the header) and the organisation's default; a web upload error and an API
validation error read in Korean; the catalogues are complete and in step with the source."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fluxwise import i18n
from fluxwise.api.deps import CSRF_COOKIE
from fluxwise.store.models import Organisation, User
from test_web import STERILE, client_for, new_project, sign_in, upload_fit_size, web_app  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
KO = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _workbench(web_app, make_user):  # noqa: F811
    """A signed-in admin with a project holding a fitted, sized and signed trial and a saved train."""
    ua = make_user("ua@example.org", role="admin")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf)
    trial_id, fit_id, sizing_id = upload_fit_size(client, csrf, pid)
    r = client.post(f"/api/results/{sizing_id}/signatures", headers={"X-CSRF-Token": csrf},
                    json={"email": ua.email, "password": ua.password, "meaning": "author"})
    assert r.status_code == 201, r.text
    r = client.post("/train", data={"csrf_token": csrf, "project_id": pid, "example": "1"},
                    headers={"Accept": "application/json"})
    assert r.status_code == 201, r.text
    train = r.json()["url"]
    r = client.post("/supply", headers={"Accept": "application/json"},
                    data={"csrf_token": csrf, "mode": "train", "train_result": train.rsplit("/", 1)[1],
                          "per_week": "1", "horizon_weeks": "20", "route": "europe-korea-sea",
                          "target_service": "0.9", "replications": "20", "project_id": pid})
    assert r.status_code == 201, r.text
    return client, ua, csrf, {"project": pid, "trial": trial_id, "train": train, "supply": r.json()["url"],
                              "sizing": sizing_id}


def main_pages(ids: dict, org_id: str) -> list[str]:
    return ["/projects", f"/projects/{ids['project']}", f"/trials/{ids['trial']}", "/audit", "/train",
            ids["train"], f"/projects/{ids['project']}/compare?trial={ids['trial']}", "/account",
            f"/orgs/{org_id}", "/supply", ids["supply"], "/train/new", f"/train/new?project={ids['project']}"]


#: What the user gave (names, e-mail, project and file names, the example train's own texts): not
#: translated, so not looked for.
USER_DATA = ("UA", "ua@example.org", "Org A", "Sterile filtration", "0.2 um PES", STERILE.name,
             "2,000 L mAb batch", "train_2000L_mab.yaml")


@SQLITE
def test_main_pages_have_no_text_left_out_of_translation(web_app, make_user):  # noqa: F811
    client, ua, csrf, ids = _workbench(web_app, make_user)
    left = {}
    for path in main_pages(ids, ua.org_id):
        r = client.get(path + ("&" if "?" in path else "?") + "lang=xx")
        assert r.status_code == 200, (path, r.text[:300])
        assert '<html lang="xx">' in r.text
        if found := i18n.untranslated_text(r.text, USER_DATA):
            left[path] = found
    r = client_for(web_app).get("/login?lang=xx")
    if found := i18n.untranslated_text(r.text, USER_DATA):
        left["/login"] = found
    # the trial report of a sizing: no text left out (the data's own texts aside)
    r = client.get(f"/api/results/{ids['sizing']}/report?lang=xx")
    assert r.status_code == 200 and '<html lang="xx">' in r.text
    if found := i18n.untranslated_text(r.text, USER_DATA):
        left["sizing report"] = found
    if os.environ.get("FLUXWISE_I18N_DUMP"):  # while marking pages: where the text left out is
        Path(os.environ["FLUXWISE_I18N_DUMP"]).write_text(json.dumps(left, indent=1, ensure_ascii=False))
    assert not left, left
    # the reports (trial and train) in Korean: the page language, Hangul, the record's language line
    train_id = ids["train"].rsplit("/", 1)[1]
    r = client.get(f"/api/results/{train_id}/report?lang=ko")
    assert r.status_code == 200 and '<html lang="ko">' in r.text and "물질 수지" in r.text
    assert '<code class="report-language">ko</code>' in r.text
    supply_id = ids["supply"].rsplit("/", 1)[1]
    r = client.get(f"/api/results/{supply_id}/report?lang=ko")
    assert r.status_code == 200 and '<html lang="ko">' in r.text and "가정과 그 출처" in r.text
    # the checker itself finds unmarked text
    page = '<p>⟦Projects⟧</p><p>Trials</p><td translate="no">x.csv</td><h3>⟦Classical V<sub>max</sub>⟧</h3>'
    assert i18n.untranslated_text(page) == ["Trials"]


def lab_workbench(web_app, make_user):  # noqa: F811
    """An instructor's practice cohort and a trainee's attempt with one experiment run and one GMP step:
    (instructor client, trainee client, the lab's pages of each)."""
    inst = make_user("teacher@example.org", role="admin")
    trainee = make_user("learner@example.org", role="trainee")
    ic, tc = client_for(web_app), client_for(web_app)
    icsrf, tcsrf = sign_in(ic, inst, "/lab"), sign_in(tc, trainee, "/lab")
    r = ic.post("/lab/cohorts", data={"csrf_token": icsrf, "org_id": inst.org_id, "name": "March intake",
                                      "scenario": "mab-sterile-filtration"})
    assert r.status_code == 303, r.text
    cohort = r.headers["location"]
    r = tc.post(cohort + "/attempts", data={"csrf_token": tcsrf})
    assert r.status_code == 303, r.text
    attempt = r.headers["location"]
    public = tc.get("/api" + cohort).json()["scenario_public"]
    r = tc.post(attempt + "/run", data={"csrf_token": tcsrf, "filter": public["filters"][0]["name"],
                                        "area": public["filters"][0]["areas"][0],
                                        "pressure": public["task"]["pressure"], "duration": "20 min"})
    assert r.status_code == 303, r.text
    r = tc.post(attempt + "/act", data={"csrf_token": tcsrf, "action": "verify", "part_number": "X-1",
                                        "lot": "L1", "expiry": "2030-01-01"})
    assert r.status_code in (303, 422), r.text
    return ic, tc, {"instructor": ["/lab", cohort, attempt], "trainee": ["/lab", cohort, attempt]}


#: The scenario's and the trainee's own texts in the lab (names, lots, the scenario's title and task
#: come from the scenario file, in English; the records' label stays as GMP writes it).
LAB_DATA = ("March intake", "teacher@example.org", "learner@example.org", "X-1", "L1", "Org A",
            "TRAINING - SIMULATED")


@SQLITE
def test_lab_pages_have_no_text_left_out_of_translation(web_app, make_user):  # noqa: F811
    ic, tc, pages = lab_workbench(web_app, make_user)
    left = {}
    for who, client in (("instructor", ic), ("trainee", tc)):
        for path in pages[who]:
            r = client.get(path + "?lang=xx")
            assert r.status_code == 200, (who, path, r.text[:300])
            assert '<html lang="xx">' in r.text
            if found := i18n.untranslated_text(r.text, LAB_DATA):
                left[f"{who} {path}"] = found
    if os.environ.get("FLUXWISE_I18N_DUMP"):
        Path(os.environ["FLUXWISE_I18N_DUMP"]).write_text(json.dumps(left, indent=1, ensure_ascii=False))
    assert not left, left
    r = tc.get(pages["trainee"][2] + "?lang=ko")
    assert '<html lang="ko">' in r.text and "실험" in r.text
    # a refused experiment, explained in Korean on the page
    r = tc.post(pages["trainee"][2] + "/run", headers=KO,
                data={"csrf_token": tc.cookies[CSRF_COOKIE], "pressure": "30 psi", "flux": "100 LMH",
                      "duration": "20 min"})
    assert r.status_code == 422 and "압력과 플럭스 중 하나만 입력하십시오" in r.text


@SQLITE
def test_language_from_the_browser_then_the_users_choice_wins(web_app, make_user, db):  # noqa: F811
    ua = make_user("ua@example.org", role="admin")
    anonymous = client_for(web_app)
    page = anonymous.get("/login", headers=KO)
    assert '<html lang="ko">' in page.text and HANGUL.search(page.text)
    assert page.headers["content-language"] == "ko"
    assert '<html lang="en">' in anonymous.get("/login", headers={"Accept-Language": "fr-FR, en;q=0.5"}).text
    assert '<html lang="en">' in anonymous.get("/login?lang=en", headers=KO).text

    client = client_for(web_app)
    sign_in(client, ua)
    assert '<html lang="ko">' in client.get("/projects", headers=KO).text  # no choice stored: the browser's
    assert '<html lang="en">' in client.get("/projects").text
    assert '<html lang="ko">' in client.get("/projects?lang=ko").text  # the switch in the navigation
    with db.session() as s:
        assert s.query(User).filter_by(email=ua.email).one().language == "ko"
    page = client.get("/account", headers={"Accept-Language": "en"})  # the stored choice wins
    assert '<html lang="ko">' in page.text and "내 계정" in page.text
    assert 'href="/account?lang=en"' in page.text  # the way back
    assert '<html lang="en">' in client.get("/account?lang=en", headers=KO).text
    assert '<html lang="en">' in client.get("/projects", headers=KO).text

    # an organisation's default applies to a member who chose nothing, and the member's choice wins
    ub = make_user("ub@example.org", role="scientist")
    other = client_for(web_app)
    sign_in(other, ub)
    csrf = client.cookies["fluxwise_csrf"]
    r = client.post(f"/orgs/{ua.org_id}/language", data={"csrf_token": csrf, "language": "ko"})
    assert r.status_code == 303
    with db.session() as s:
        assert s.query(Organisation).filter_by(public_id=ua.org_id).one().default_language == "ko"
    assert '<html lang="ko">' in other.get("/projects", headers={"Accept-Language": "en"}).text
    assert '<html lang="en">' in other.get("/projects?lang=en").text
    assert '<html lang="en">' in other.get("/projects").text
    r = client.put(f"/api/orgs/{ua.org_id}/language", headers={"X-CSRF-Token": csrf}, json={"language": "xx"})
    assert r.status_code == 422
    r = client.put(f"/api/orgs/{ua.org_id}/language", headers={"X-CSRF-Token": csrf}, json={"language": None})
    assert r.status_code == 200 and r.json()["default_language"] is None
    r = other.put(f"/api/orgs/{ua.org_id}/language", headers={"X-CSRF-Token": other.cookies["fluxwise_csrf"]},
                  json={"language": "ko"})
    assert r.status_code == 403  # admins only


BAD_CELL = b"time (min),filtrate mass (g)\n0,0\n1,x\n2,3\n3,4\n"


@SQLITE
def test_upload_and_validation_errors_in_korean(web_app, make_user):  # noqa: F811
    ua = make_user("ua@example.org")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf)
    h = {"X-CSRF-Token": csrf}
    # a web upload error (the page's script sends the page's language)
    r = client.post(f"/api/projects/{pid}/uploads", headers={**h, **KO},
                    files={"file": ("bench.csv", b"   \n", "text/csv")})
    assert r.status_code == 422
    assert r.json()["detail"] == "'bench.csv' 파일이 비어 있습니다" and r.headers["content-language"] == "ko"
    r = client.post(f"/api/projects/{pid}/uploads", headers=h,
                    files={"file": ("bench.csv", b"   \n", "text/csv")})
    assert r.json()["detail"] == "'bench.csv' is empty"
    r = client.post(f"/api/projects/{pid}/uploads", headers={**h, **KO},
                    files={"file": ("notes.csv", b"just,a,note\nwithout,numbers,here\n", "text/csv")})
    assert r.status_code == 422 and r.json()["detail"].startswith("notes.csv: 머리글 행을 찾을 수 없습니다")
    r = client.post(f"/api/projects/{pid}/uploads", headers={**h, **KO},
                    data={"area": "13.8 cm2"}, files={"file": ("bench.csv", BAD_CELL, "text/csv")})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("bench.csv, 행 3, 열 'filtrate mass (g)': 'x'은(는) 숫자가 아닙니다")
    r = client.post(f"/api/projects/{pid}/uploads", headers={**h, **KO},
                    files={"file": ("bench.xls", b"x", "application/vnd.ms-excel")})
    assert r.status_code == 415 and HANGUL.search(r.json()["detail"]) and ".xlsx" in r.json()["detail"]
    # an API validation error: the message in Korean, keys, type and location in English
    r = client.post(f"/api/projects/{pid}/uploads", headers=h,
                    files={"file": (STERILE.name, STERILE.read_bytes(), "text/csv")})
    trial_id = r.json()["trial"]["id"]
    r = client.post(f"/api/trials/{trial_id}/size", headers={**h, **KO}, json={"safety_factor": "many"})
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["type"] == "float_parsing" and error["loc"] == ["body", "safety_factor"]
    assert error["msg"] == "올바른 숫자여야 합니다. 문자열을 숫자로 읽을 수 없습니다"
    r = client.post("/api/projects", headers={**h, **KO}, json={"org_id": ua.org_id})
    assert r.status_code == 422
    missing = next(e for e in r.json()["detail"] if e["type"] == "missing")
    assert missing["msg"] == "필수 항목입니다" and missing["loc"] == ["body", "name"]
    r = client.post("/api/projects", headers=h, json={"org_id": ua.org_id})
    assert next(e for e in r.json()["detail"] if e["type"] == "missing")["msg"] == "Field required"


@SQLITE
def test_a_report_in_either_language_has_the_same_content_hash_and_signature(web_app, make_user):  # noqa: F811
    ua = make_user("ua@example.org")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    pid = new_project(client, ua, csrf)
    _trial, _fit, sizing_id = upload_fit_size(client, csrf, pid)
    r = client.post(f"/api/results/{sizing_id}/signatures", headers={"X-CSRF-Token": csrf, **KO},
                    json={"email": ua.email, "password": ua.password, "meaning": "author"})
    assert r.status_code == 201, r.text
    ko = client.get(f"/api/results/{sizing_id}/report?lang=ko")
    en = client.get(f"/api/results/{sizing_id}/report", headers={"Accept-Language": "en"})
    assert ko.status_code == en.status_code == 200
    assert '<html lang="ko">' in ko.text and '<html lang="en">' in en.text
    assert '<code class="report-language">ko</code>' in ko.text and "최소 면적" in ko.text
    assert '<code class="report-language">en</code>' in en.text and "Minimum area" in en.text
    assert ko.headers["x-content-sha256"] == en.headers["x-content-sha256"]
    sha = en.headers["x-content-sha256"]
    for page, valid in ((ko, "유효"), (en, "valid")):
        assert f'<code class="content-sha256">{sha}</code>' in page.text
        block = re.search(r'<table class="signatures">.*?</table>', page.text, re.S).group(0)
        assert f'class="sig-ok">{valid}<' in block
    # the signature verifies whatever language the record is read in
    for headers in (KO, {"Accept-Language": "en"}):
        sigs = client.get(f"/api/results/{sizing_id}/signatures", headers=headers).json()
        assert [s["valid"] for s in sigs] == [True]


def test_the_catalogue_check_finds_untranslated_fuzzy_and_stale_messages(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import i18n as tool
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    pot = tmp_path / "fluxwise.pot"
    pot.write_text('msgid ""\nmsgstr ""\n\nmsgid "Projects"\nmsgstr ""\n\nmsgid "Trials"\nmsgstr ""\n\n'
                   'msgid "Sign in"\nmsgstr ""\n', encoding="utf-8")
    po = tmp_path / "ko" / "LC_MESSAGES" / "fluxwise.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
                  'msgid "Projects"\nmsgstr "프로젝트"\n\n#, fuzzy\nmsgid "Trials"\nmsgstr "시험"\n\n'
                  'msgid "Gone"\nmsgstr "사라짐"\n', encoding="utf-8")
    found = "\n".join(tool.problems(pot, po))
    assert "not in the catalogue" in found and "'Sign in'" in found
    assert "fuzzy" in found and "'Trials'" in found
    assert "no longer in the source" in found and "'Gone'" in found
    assert "'Projects'" not in found
    # and the real catalogues pass it (as `make i18n-check` does in CI)
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "i18n.py"), "check"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]


def test_numbers_and_dates_for_the_language():
    import datetime as dt

    t = dt.datetime(2026, 3, 1, 14, 5, tzinfo=dt.UTC)
    with i18n.using("en"):
        assert i18n.format_datetime(t, zone=True) == "2026-03-01 14:05 UTC"
        assert i18n.format_number(12345.6, 6) == "12345.6"
        assert i18n.ngettext("%(num)d point", "%(num)d points", 2) == "2 points"
    with i18n.using("ko"):
        assert i18n.format_datetime(t, zone=True) == "2026. 3. 1. 14:05 UTC"
        assert i18n.format_number(12345.6, 6) == "12,345.6"  # Babel's grouping for ko
        assert i18n.format_number(1.5e-7) == "1.5e-07"
        assert i18n.ngettext("%(num)d point", "%(num)d points", 2) == "2개 점"
        assert i18n._("Projects") == "프로젝트"
    assert i18n.negotiate("en-US,en;q=0.9,ko;q=0.8") == "en"
    assert i18n.negotiate("ko-KR;q=0.9, de;q=1") == "ko"
    assert i18n.negotiate("de, fr") is None and i18n.choose(accept_language="de") == "en"
    assert i18n.choose(asked="en", user="ko", accept_language="ko") == "en"
    assert i18n.choose(user="ko", org="en", accept_language="en") == "ko"
    assert i18n.choose(org="ko", accept_language="en") == "ko"


def test_science_workers_answer_in_the_requests_language():
    """The server's worker processes (fits, uploads' parsing, reports, figures) speak the language of
    the request that sent the work, and English outside one."""
    from fluxwise.api.workers import SciencePool

    pool = SciencePool(1, timeout_s=300)
    try:
        with i18n.using("ko"):
            assert pool.run(i18n.current) == "ko"
            assert pool.run(i18n.gettext, "Projects") == "프로젝트"
        assert pool.run(i18n.current) == "en"
        assert pool.run(i18n.gettext, "Projects") == "Projects"
    finally:
        pool.close()


def test_the_pdf_header_carries_the_language():
    """Every page of a PDF report names the language it was made in (its content hash does not)."""
    from fluxwise.report import pdf

    record = {"result_id": "r" * 32, "version": 3, "content_sha256": "c" * 64, "signatures": []}
    with i18n.using("ko"):
        header, footer = pdf.header_html(record, "T"), pdf.footer_html()
    assert "언어: ko" in header and "버전 3" in header and "c" * 64 in header and "서명 없음" in header
    assert '<span class="pageNumber"></span>쪽' in header and HANGUL.search(footer)
    assert "language: en" in pdf.header_html(record, "T")
