"""Security headers and file names (issue "Trust", items 6 and 7), on the web app over SQLite.

Every answer — pages, JSON, errors, static files, a refused upload — carries the headers of
:mod:`fluxwise.api.headers` (the check walks the app's routes, so a page added later is covered);
no template runs inline script; reports are sandboxed and downloaded as attachments under their
Unicode name (RFC 8187 ``filename*``); an upload keeps the name it was sent with (``ünïcödé.csv``)
beside the safe name it is stored under, and a name that hides characters is shown escaped.
"""

from __future__ import annotations

import re
from importlib import resources
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from fluxwise.api.deps import CSRF_COOKIE, ApiSettings
from fluxwise.api.headers import API_CSP, PAGE_CSP, REPORT_CSP, content_disposition
from fluxwise.api.upload_checks import clean_filename, display_filename, original_filename
from fluxwise.web import create_web_app
from test_api import TRIAL_CSV
from test_api_tenancy import _api_routes


@pytest.fixture
def web(tmp_path):
    from fluxwise.store import accounts
    from fluxwise.store.database import open_database

    db = open_database(f"sqlite:///{tmp_path / 'fluxwise.sqlite3'}")
    with db.session(write=True) as s:
        user = accounts.create_user(s, "ua@a.example", "UA", "correct horse battery")
        org = accounts.create_organisation(s, "Org A")
        accounts.add_member(s, user, org, "admin")
        s.commit()
        org_id = org.public_id
    app = create_web_app(db=db, settings=ApiSettings(secret_key="headers-test"))
    client = TestClient(app, follow_redirects=False)
    r = client.post("/login", data={"email": "ua@a.example", "password": "correct horse battery"})
    assert r.status_code == 303
    yield app, client, client.cookies[CSRF_COOKIE], org_id
    db.dispose()


def _check(r, *, csp: str | None = None, static: bool = False) -> None:
    h = r.headers
    where = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
    assert h["x-content-type-options"] == "nosniff", where
    assert h["referrer-policy"] == "same-origin", where
    assert h["x-frame-options"] in ("DENY", "SAMEORIGIN"), where
    if csp is not None:
        assert h["content-security-policy"] == csp, where
    if not static:
        assert h["cache-control"] == "no-store", where


def test_every_answer_carries_the_security_headers(web):
    app, client, csrf, org_id = web
    h = {"X-CSRF-Token": csrf}
    pid = client.post("/api/projects", headers=h, json={"org_id": org_id, "name": "P"}).json()["id"]
    # every page and API route without an id in its path, as a signed-in user
    seen = 0
    for path, route in _api_routes(app.routes):
        if "GET" in route.methods and "{" not in path:
            r = client.get(path)
            _check(r, csp=API_CSP if path.startswith("/api") else PAGE_CSP, static=path.startswith("/static"))
            seen += 1
    assert seen >= 10
    for path in (f"/projects/{pid}", f"/orgs/{org_id}", "/account", "/projects/" + "0" * 32, "/nowhere"):
        _check(client.get(path), csp=PAGE_CSP)
    page = client.get(f"/projects/{pid}")
    assert page.headers["x-frame-options"] == "DENY"
    script_src = re.search(r"script-src ([^;]*)", page.headers["content-security-policy"]).group(1)
    assert script_src == "'self'" and "frame-ancestors 'none'" in PAGE_CSP
    for r in (client.get(f"/api/projects/{pid}"), client.get("/api/projects/" + "0" * 32),
              TestClient(app).get("/api/projects"),  # 401
              client.post(f"/api/projects/{pid}/uploads", headers={**h, "Content-Length": str(1 << 40)})):
        _check(r, csp=API_CSP)
    _check(client.get("/static/app.css"), csp=PAGE_CSP, static=True)


def test_no_template_runs_inline_script():
    templates = resources.files("fluxwise") / "web" / "templates"
    for template in templates.iterdir():
        if not template.name.endswith(".html"):
            continue
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, re.IGNORECASE):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert not re.search(r"\son[a-z]+\s*=", text, re.IGNORECASE), template.name  # onclick=...
        assert "javascript:" not in text.lower(), template.name


def test_reports_are_sandboxed_and_downloaded_under_their_unicode_name(web):
    app, client, csrf, org_id = web
    h = {"X-CSRF-Token": csrf}
    pid = client.post("/api/projects", headers=h, json={"org_id": org_id, "name": "P"}).json()["id"]
    r = client.post(f"/api/projects/{pid}/uploads", headers=h,
                    files={"file": ("ünïcödé.csv", TRIAL_CSV, "text/csv")})
    assert r.status_code == 201, r.text
    upload, trial = r.json()["upload"], r.json()["trial"]
    assert (upload["filename"], upload["original_filename"]) == ("unicode.csv", "ünïcödé.csv")
    fit = client.post(f"/api/trials/{trial['id']}/fit", headers=h, json={}).json()
    inline = client.get(f"/api/results/{fit['id']}/report")
    assert inline.status_code == 200 and "content-disposition" not in inline.headers
    _check(inline, csp=REPORT_CSP)
    assert inline.headers["x-frame-options"] == "SAMEORIGIN"
    download = client.get(f"/api/results/{fit['id']}/report", params={"download": "true"})
    expected = "ünïcödé-fit-v1.html"
    assert download.headers["content-disposition"] == (
        f"attachment; filename=\"unicode-fit-v1.html\"; filename*=UTF-8''{quote(expected)}")
    _check(download, csp=REPORT_CSP)
    content = client.get(f"/api/uploads/{upload['id']}/content")
    assert content.content == TRIAL_CSV
    assert content.headers["content-disposition"].endswith("filename*=UTF-8''%C3%BCn%C3%AFc%C3%B6d%C3%A9.csv")
    _check(content, csp=API_CSP)
    # the pages show the name as sent, and the one it is stored under
    page = client.get(f"/trials/{trial['id']}").text
    assert "<h1>ünïcödé.csv</h1>" in page and "stored as unicode.csv" in page
    assert "ünïcödé.csv" in client.get(f"/projects/{pid}").text
    # a name that reverses the text after it is shown with the override escaped
    r = client.post(f"/api/projects/{pid}/uploads", headers=h,
                    files={"file": ("report\u202evsc.exe.csv", TRIAL_CSV, "text/csv")})
    tricky = r.json()
    assert tricky["upload"]["original_filename"] == "report\u202evsc.exe.csv"
    page = client.get(f"/trials/{tricky['trial']['id']}").text
    assert "report\\u202evsc.exe.csv" in page and "\u202e" not in page


def test_file_names_stored_safe_kept_whole_and_shown_escaped():
    assert clean_filename("ünïcödé.csv") == "unicode.csv"
    assert clean_filename("C:\\fakepath\\..\\여과 시험.csv") == "upload.csv"  # nothing of the name is ASCII
    assert clean_filename("../../etc/passwd") == "passwd"
    assert original_filename("C:\\fakepath\\여과 시험.csv") == "여과 시험.csv"
    assert original_filename("a\x00b\ud800.csv") == "ab\\ud800.csv"  # NUL and an unpaired surrogate
    assert display_filename("x\u202eyz\u200b.csv") == "x\\u202eyz\\u200b.csv"
    assert content_disposition("여과.html") == (
        "attachment; filename=\"download.html\"; filename*=UTF-8''%EC%97%AC%EA%B3%BC.html")
    assert content_disposition('a"b\r\n.csv').startswith('attachment; filename="a_b.csv"')


def test_an_unexpected_error_is_a_500_with_the_headers_and_is_still_raised(web):
    """A bug in a handler: the answer is a 500 carrying every security header (JSON under /api, the
    error page with the navigation elsewhere), and the error still reaches the server (which logs it)."""
    app, _client, _csrf, _org_id = web

    def broken():
        raise RuntimeError("a bug")

    app.add_api_route("/api/broken-for-test", broken)
    app.add_api_route("/broken-for-test", broken)
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    r = client.get("/api/broken-for-test")
    assert r.status_code == 500 and "internal error" in r.json()["detail"] and "a bug" not in r.text
    _check(r, csp=API_CSP)
    r = client.get("/broken-for-test")  # the web app's error page (its navigation: test_web_corrections)
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/html")
    assert "a bug" not in r.text and "HTTP 500" in r.text
    _check(r, csp=PAGE_CSP)
    with pytest.raises(RuntimeError, match="a bug"):
        TestClient(app).get("/api/broken-for-test")


def test_an_app_without_an_error_handler_still_answers_500_with_the_headers():
    """The plain API app (no ``Exception`` handler of its own) gets the middleware's plain answers."""
    from fastapi import FastAPI

    from fluxwise.api.headers import SecurityHeaders

    app = FastAPI()

    @app.get("/api/broken")
    def broken_api():
        raise RuntimeError("a bug")

    @app.get("/broken")
    def broken_page():
        raise RuntimeError("a bug")

    app.add_middleware(SecurityHeaders)
    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/api/broken")
    assert r.status_code == 500 and "internal server error" in r.json()["detail"]
    _check(r, csp=API_CSP)
    r = client.get("/broken")
    assert r.status_code == 500 and 'href="/projects"' in r.text and "a bug" not in r.text
    _check(r, csp=PAGE_CSP)
