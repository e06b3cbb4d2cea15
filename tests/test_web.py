"""Web workbench pages with the TestClient, on SQLite and PostgreSQL: signing in and out, every page
rendering for a signed-in user, redirects to the sign-in page otherwise, tenancy (another
organisation's project, trial or audit filter is 'not found'), no asset from another site, train
design (example and uploaded, refusing paths outside the upload), the demo data and the plotly route."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fluxwise.api.deps import CSRF_COOKIE, ApiSettings
from fluxwise.store.models import ResultVersion, TrialRecord, Upload, User
from fluxwise.web import create_web_app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STERILE = EXAMPLES / "mab_sterile_filtration.csv"
# An <script src> or <link href> that leaves this server: absolute (http:, https:) or protocol-relative.
EXTERNAL = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*"
                      r"(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


@pytest.fixture
def web_app(db):
    return create_web_app(db=db, settings=ApiSettings(secret_key="test-secret"))


def client_for(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def sign_in(client: TestClient, member, next_url: str = "/projects") -> str:
    r = client.post("/login", data={"email": member.email, "password": member.password, "next": next_url})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == next_url
    return client.cookies[CSRF_COOKIE]


def new_project(client: TestClient, member, csrf: str, name: str = "Sterile filtration") -> str:
    r = client.post("/projects", data={"csrf_token": csrf, "org_id": member.org_id, "name": name,
                                       "description": "0.2 um PES"})
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/projects/([0-9a-f]{32})", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


def upload_fit_size(client: TestClient, csrf: str, project_id: str) -> tuple[str, str, str]:
    """Upload the sterile-filtration example through the API (as the page's script does), fit and size."""
    h = {"X-CSRF-Token": csrf}
    r = client.post(f"/api/projects/{project_id}/uploads", headers=h,
                    files={"file": (STERILE.name, STERILE.read_bytes(), "text/csv")})
    assert r.status_code == 201, r.text
    trial_id = r.json()["trial"]["id"]
    r = client.post(f"/api/trials/{trial_id}/fit", headers=h, json={})
    assert r.status_code == 201, r.text
    fit_id = r.json()["id"]
    r = client.post(f"/api/trials/{trial_id}/size", headers=h,
                    json={"batch_volume": "2000 L", "process_time": "4 h", "safety_factor": 1.5})
    assert r.status_code == 201, r.text
    return trial_id, fit_id, r.json()["id"]


def test_signed_out_pages_redirect_to_sign_in(web_app):
    client = client_for(web_app)
    for path in ("/projects", "/projects/" + "a" * 32, "/trials/" + "b" * 32, "/audit?project=x", "/train",
                 "/train/" + "c" * 32):
        r = client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=/"), r.headers["location"]
    assert client.get("/").headers["location"] == "/login"
    r = client.get("/login")
    assert r.status_code == 200 and 'name="password"' in r.text


def test_sign_in_out_and_safe_redirects(web_app, make_user):
    ua = make_user("ua@example.org")
    client = client_for(web_app)
    r = client.post("/login", data={"email": ua.email, "password": "wrong password"})
    assert r.status_code == 401 and "Wrong e-mail or password" in r.text
    assert CSRF_COOKIE not in client.cookies
    # a next= that leaves the site is replaced by the projects page
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        r = client.post("/login", data={"email": ua.email, "password": ua.password, "next": evil})
        assert r.status_code == 303 and r.headers["location"] == "/projects", evil
    r = client.post("/login", data={"email": ua.email, "password": ua.password},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    csrf = sign_in(client, ua, "/audit")
    assert client.get("/login").headers["location"] == "/projects"  # signed in already
    assert client.post("/logout", data={}).status_code == 403  # no CSRF token
    r = client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.cookies.clear()
    assert client.get("/projects").status_code == 303


def test_pages_render_for_a_signed_in_user(web_app, make_user):
    ua = make_user("ua@example.org")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    assert "No projects yet" in client.get("/projects").text
    r = client.post("/projects", data={"org_id": ua.org_id, "name": "no token"})
    assert r.status_code == 403  # a form post without the CSRF token
    r = client.post("/projects", data={"csrf_token": csrf, "org_id": ua.org_id, "name": "   "})
    assert r.status_code == 422 and "project name" in r.text
    project_id = new_project(client, ua, csrf)
    page = client.get(f"/projects/{project_id}")
    assert page.status_code == 200
    assert 'id="dropzone"' in page.text and 'type="file"' in page.text and "No trials yet" in page.text
    trial_id, fit_id, sizing_id = upload_fit_size(client, csrf, project_id)

    page = client.get(f"/projects/{project_id}").text
    assert STERILE.name in page and "cake-complete" in page and "[cm²]" in page

    r = client.get(f"/trials/{trial_id}")
    assert r.status_code == 200
    t = r.text
    # the four interactive plots come first, then the model table with units, then sizing and results
    figures = re.findall(r'data-figure="(fig-[a-z-]+)-data"', t)
    assert figures == ["fig-fits", "fig-flux-decay", "fig-vmax", "fig-residuals"]
    assert t.index("data-figure") < t.index("Model comparison") < t.index("Size the process filter")
    for fid in figures:
        m = re.search(rf'<script type="application/json" id="{fid}-data">(.*?)</script>', t, re.S)
        fig = json.loads(m.group(1))
        assert fig["data"] and fig["layout"]["xaxis"]["title"]["text"].endswith("]")  # axis with its unit
    rows = re.findall(r'<tr class="[^"]*"\s+title="[^"]*">', t)
    assert len(rows) == 9  # one row per fouling model
    assert 'class="best' in t and "L/m²/h" in t and "ΔAICc" in t and "R²" in t and "95 %" in t
    assert re.search(r"J₀</span> = <span class=\"pval\">[0-9.]+</span> <span class=\"u\">L/m²/h</span> "
                     r"<span class=\"ci\">\[[0-9.]+, [0-9.]+\]</span>", t)
    assert re.search(r'id="sizing-format">\d+ × Capsule', t)
    assert re.search(r'id="sizing-area">[0-9.]+ <span class="u">m²</span>', t)
    assert re.search(r'id="sizing-v90">[0-9.]+ <span class="u">L/m²</span>', t)
    # 2000 L in 4 h loads the filter 2.09x past the 0.75 h trial and beyond V90: both warnings shown,
    # with what they mean; the tied-model stat says there is no tie
    warnings = re.search(r'id="sizing-warnings".*?</div>', t, re.S).group(0)
    assert "extrapolated:" in warnings and "past V90:" in warnings and "What each warning means" in warnings
    assert re.search(r'id="sizing-tied">[0-9.]+ <span class="u">m²</span>', t) and "no tie" in t
    assert f'href="/api/results/{fit_id}/report?version=1&amp;download=true&amp;lang=en"' in t
    assert f'href="/api/results/{sizing_id}/report?version=1&amp;download=true&amp;lang=en"' in t
    assert 'class="sign-form' in t and 'value="author"' in t
    assert client.get(f"/trials/{trial_id}?result={sizing_id}").status_code == 200

    audit = client.get("/audit")
    assert audit.status_code == 200 and "upload" in audit.text and "sign" not in re.findall(
        r'class="badge act-(\w+)"', audit.text)
    filtered = client.get(f"/audit?project={project_id}&limit=2")
    assert filtered.status_code == 200 and "Older entries" in filtered.text
    assert client.get("/train").status_code == 200
    assert client.get("/projects/" + "0" * 32).status_code == 404
    assert client.get("/trials/not-an-id").status_code == 404


def test_sizing_card_shows_the_tied_range(web_app, make_user):
    """A noisy standard-blocking trial (J0 1000 L/m²/h, Vmax 500 L/m², 0.5 h) that three models fit
    equally well: the card shows the range of their minimum areas (near the 2 + 1 = 3 m² of the
    closed form for 1000 L in 1 h) and the tie warning."""
    import numpy as np

    from fluxwise.models.fouling import MODELS

    ua = make_user("ua@example.org")
    client = client_for(web_app)
    csrf = sign_in(client, ua)
    project_id = new_project(client, ua, csrf)
    t = np.linspace(0, 0.5, 60)
    v = MODELS["standard"].volume(t, 1000.0, 0.004)
    v = v + np.random.default_rng(0).normal(0, 0.004 * v[-1], t.size)
    v[0] = 0.0
    csv = "Filter area: 10 cm2\n\ntime (h),volume (mL)\n" + "".join(
        f"{a:.6f},{b:.6f}\n" for a, b in zip(t, v, strict=True))  # L/m² x 10 cm² = mL
    h = {"X-CSRF-Token": csrf}
    r = client.post(f"/api/projects/{project_id}/uploads", headers=h,
                    files={"file": ("tied.csv", csv.encode(), "text/csv")})
    assert r.status_code == 201, r.text
    trial_id = r.json()["trial"]["id"]
    r = client.post(f"/api/trials/{trial_id}/size", headers=h,
                    json={"batch_volume": "1000 L", "process_time": "1 h"})
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    lo, hi = data["tied_area_range_m2"]
    assert len(data["tied_models"]) >= 2 and 2.9 < lo < hi < 3.1
    page = client.get(f"/trials/{trial_id}").text
    shown = re.search(r'id="sizing-tied">([0-9.]+)–([0-9.]+) <span class="u">m²</span>', page)
    assert shown and float(shown.group(1)) == pytest.approx(lo, rel=1e-3)
    assert float(shown.group(2)) == pytest.approx(hi, rel=1e-3)
    assert "tied models:" in re.search(r'id="sizing-warnings".*?</div>', page, re.S).group(0)
    assert "most conservative" in page


def test_another_organisation_gets_404(web_app, make_user):
    ua, ub = make_user("ua@example.org", org="Org A"), make_user("ub@example.org", org="Org B")
    a = client_for(web_app)
    csrf = sign_in(a, ua)
    project_id = new_project(a, ua, csrf)
    trial_id, _, _ = upload_fit_size(a, csrf, project_id)
    b = client_for(web_app)
    sign_in(b, ub)
    for path in (f"/projects/{project_id}", f"/trials/{trial_id}", f"/audit?project={project_id}"):
        r = b.get(path)
        assert r.status_code == 404, path
        assert "Sterile filtration" not in r.text and STERILE.name not in r.text
    assert "Sterile filtration" not in b.get("/projects").text
    audit = b.get("/audit").text
    assert project_id not in audit and trial_id not in audit
    csrf_b = b.cookies[CSRF_COOKIE]
    r = b.post(f"/api/trials/{trial_id}/size", headers={"X-CSRF-Token": csrf_b}, json={})
    assert r.status_code == 404


def test_no_page_loads_anything_from_another_site(web_app, make_user):
    ua = make_user("ua@example.org")
    client = client_for(web_app)
    assert not EXTERNAL.search(client.get("/login").text)
    csrf = sign_in(client, ua)
    project_id = new_project(client, ua, csrf)
    trial_id, fit_id, _ = upload_fit_size(client, csrf, project_id)
    pages = ["/projects", f"/projects/{project_id}", f"/trials/{trial_id}", "/audit", "/train",
             f"/audit?project={project_id}"]
    assets = set()
    for path in pages:
        r = client.get(path)
        assert r.status_code == 200, path
        assert not EXTERNAL.search(r.text), path
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assets |= set(re.findall(r'(?:src|href)="(/static/[^"?]+)', r.text))
    assert {"/static/app.css", "/static/app.js", "/static/plotly.min.js"} <= assets
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200, asset
        if asset.endswith((".css", ".js")) and "plotly" not in asset:
            assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", r.text, re.IGNORECASE), asset
    report = client.get(f"/api/results/{fit_id}/report")  # the downloadable report is self-contained too
    assert report.status_code == 200 and not EXTERNAL.search(report.text)


def test_plotly_is_served_from_the_package():
    from plotly.offline import get_plotlyjs

    from fluxwise.web.pages.static import router

    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    r = client.get("/static/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.text == get_plotlyjs()
    again = client.get("/static/plotly.min.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


@pytest.fixture
def sqlite_web(tmp_path):
    from fluxwise.store.database import open_database

    db = open_database(f"sqlite:///{tmp_path / 'fluxwise.sqlite3'}")
    yield db, create_web_app(db=db, settings=ApiSettings(secret_key="test-secret"))
    db.dispose()


def _sqlite_member(db, email="ua@example.org"):
    from fluxwise.store import accounts

    password = "correct horse " + email
    with db.session(write=True) as s:
        user = accounts.create_user(s, email, "UA", password)
        org = accounts.create_organisation(s, "Org A")
        accounts.add_member(s, user, org, "scientist")
        s.commit()
    return type("M", (), {"email": email, "password": password, "org_id": org.public_id})()


def test_train_design_example_and_uploaded(sqlite_web):
    db, app = sqlite_web
    client, other = client_for(app), client_for(app)
    csrf = sign_in(client, _sqlite_member(db))
    accept = {"Accept": "application/json"}
    r = client.post("/train", data={"csrf_token": csrf, "example": "1", "route": "local"}, headers=accept)
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    page = client.get(url)
    assert page.status_code == 200
    for text in ("Total time", "Cost per batch", "Harvest clarification",
                 "Yield <span class=\"u\">[%]</span>", "kg CO2e", "route local"):
        assert text in page.text, text
    report = client.get(url + "/report?download=true")
    assert report.status_code == 200 and report.headers["content-disposition"].startswith("attachment")
    assert "Filtration train" in report.text
    # designs are kept for the user who made them only
    sign_in(other, _sqlite_member(db, "ub@example.org"))
    assert other.get(url).status_code == 404

    yaml_text = ("name: one step\nbatch_volume: 500 L\ntitre: 2 g/L\nsteps:\n"
                 "  - name: Sterile filtration\n    type: sterile\n    trial: mab_sterile_filtration.csv\n"
                 "    process_time: 1 h\n")
    files = [("train", ("one.yaml", yaml_text.encode(), "application/yaml")),
             ("files", (STERILE.name, STERILE.read_bytes(), "text/csv"))]
    r = client.post("/train", data={"csrf_token": csrf}, files=files, headers=accept)
    assert r.status_code == 201, r.text
    page = client.get(r.json()["url"])
    assert page.status_code == 200 and "Sterile filtration" in page.text and "× Capsule" in page.text

    for bad in ("../../etc/passwd", "/etc/passwd", "other.csv"):
        evil = yaml_text.replace("mab_sterile_filtration.csv", bad)
        r = client.post("/train", data={"csrf_token": csrf}, headers=accept,
                        files=[("train", ("evil.yaml", evil.encode(), "application/yaml")),
                               ("files", (STERILE.name, STERILE.read_bytes(), "text/csv"))])
        assert r.status_code == 422, bad
        assert "not among the uploaded files" in r.json()["detail"] and "step 1" in r.json()["detail"]
    r = client.post("/train", data={"csrf_token": csrf}, headers=accept,
                    files=[("train", ("bad.yaml", b"steps: [", "application/yaml"))])
    assert r.status_code == 422 and "not valid YAML" in r.json()["detail"]
    r = client.post("/train", data={"csrf_token": csrf}, headers=accept)
    assert r.status_code == 422 and "train file" in r.json()["detail"]
    r = client.post("/train", data={"example": "1"}, headers=accept)
    assert r.status_code == 403  # no CSRF token


def test_demo_data_is_made_once(db, tmp_path):
    from fluxwise.web.demo import DEMO_EMAIL, seed_demo

    first = seed_demo(db, tmp_path, EXAMPLES)
    second = seed_demo(db, tmp_path, EXAMPLES)
    assert first.created and not second.created
    assert (first.email, first.password, first.project_id) == (second.email, second.password,
                                                                second.project_id)
    assert (tmp_path / "demo-login.txt").stat().st_mode & 0o077 == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.email == DEMO_EMAIL)) == 1
        assert s.scalar(select(func.count()).select_from(Upload)) == 3
        assert s.scalar(select(func.count()).select_from(TrialRecord)) == 3
        kinds = sorted(s.scalars(select(ResultVersion.kind)))
    assert kinds == ["fit"] * 3 + ["sizing"] * 3
    # a data folder without the password file gets a new password, and it works
    (tmp_path / "demo-login.txt").unlink()
    third = seed_demo(db, tmp_path, EXAMPLES)
    assert third.password != first.password
    client = client_for(create_web_app(db=db, settings=ApiSettings(secret_key="test-secret")))
    r = client.post("/login", data={"email": third.email, "password": third.password})
    assert r.status_code == 303
    page = client.get(f"/projects/{third.project_id}").text
    cho = re.search(r'href="/trials/([0-9a-f]{32})"><b>cho_harvest_depth_filtration.csv', page).group(1)
    t = client.get(f"/trials/{cho}").text  # constant flux: maximum pressure (as sized: 25 psi) and flux
    assert 'name="max_pressure"' in t and 'name="flux"' in t and "<option selected>psi</option>" in t
    assert 'name="flux_decay_limit"' not in t and "cake-standard" in t
