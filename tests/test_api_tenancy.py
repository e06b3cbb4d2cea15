"""Tenancy: a user of organisation B gets 404 for every object of organisation A, on every endpoint.

The endpoints are read from the app's routes, so an endpoint added later is checked without anyone
remembering to add it here; a new kind of path parameter fails the test until it is mapped below.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from test_api import new_project, upload


@pytest.fixture
def two_tenants(client, make_user):
    """Org A with a project, an upload, a trial, a signed fit result and an API token; org B beside it."""
    ua = make_user("ua@a.example", org="Org A", role="admin")
    ub = make_user("ub@b.example", org="Org B", role="admin")
    pid = new_project(client, ua)
    out = upload(client, ua, pid)
    result = client.post(f"/api/trials/{out['trial']['id']}/fit", headers=ua.headers).json()
    sig = client.post(f"/api/results/{result['id']}/signatures", headers=ua.headers,
                      json={"email": ua.email, "password": ua.password, "meaning": "author"})
    assert sig.status_code == 201
    token = client.post("/api/auth/tokens", headers=ua.headers, json={"name": "ua's script"}).json()
    invitation = client.post(f"/api/orgs/{ua.org_id}/members", headers=ua.headers,
                             json={"email": "someone@c.example", "role": "scientist"}).json()
    cohort = client.post(f"/api/lab/orgs/{ua.org_id}/cohorts", headers=ua.headers,
                         json={"name": "Intake", "scenario": "mab-sterile-filtration"}).json()
    attempt = client.post(f"/api/lab/cohorts/{cohort['id']}/attempts", headers=ua.headers).json()
    ran = client.post(f"/api/lab/attempts/{attempt['id']}/runs", headers=ua.headers,
                      json={"filter": "PES 0.2 um", "area": "3.5 cm2", "pressure": "30 psi",
                            "duration": "5 min"})
    assert ran.status_code == 201, ran.text
    ids = {"org_id": ua.org_id, "project_id": pid, "upload_id": out["upload"]["id"],
           "trial_id": out["trial"]["id"], "result_id": result["id"], "token_id": token["id"],
           "version": "1", "user_id": ua.user_id, "invitation_id": invitation["id"],
           "cohort_id": cohort["id"], "attempt_id": attempt["id"], "n": "1"}
    return ua, ub, ids


def _api_routes(routes, prefix=""):
    """(full path, route) of every APIRoute, also inside included routers (newer FastAPI keeps an
    included router as one entry of ``app.routes``, with its prefix in ``include_context``)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            sub_prefix = getattr(getattr(route, "include_context", None), "prefix", "")
            yield from _api_routes(route.original_router.routes, prefix + sub_prefix)


def _routes_with_ids(app):
    for path, route in _api_routes(app.routes):
        if "{" in path:
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                yield method, path, re.findall(r"{(\w+)}", path)


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


def test_every_endpoint_with_an_id_answers_404_to_another_tenant(app, client, two_tenants):
    ua, ub, ids = two_tenants
    checked = []
    for method, path, params in _routes_with_ids(app):
        unknown = set(params) - set(ids)
        assert not unknown, f"{method} {path}: map the path parameter(s) {unknown} to an object of org A"
        url = _fill(path, ids)
        if method == "GET":  # the ids are right: the owner sees the object
            own = client.get(url, headers=ua.headers)
            assert own.status_code == 200, f"owner: GET {url} -> {own.status_code} {own.text}"
        r = client.request(method, url, headers=ub.headers)
        assert r.status_code == 404, f"{method} {path} gave {r.status_code} to another tenant: {r.text}"
        # the same answer as for an id that does not exist (nothing to tell the two apart)
        fake = {k: ("f" * 32 if k not in ("version", "n") else v) for k, v in ids.items()}
        r_fake = client.request(method, _fill(path, fake), headers=ub.headers)
        assert r_fake.status_code == 404 and r_fake.json() == r.json(), (method, path)
        checked.append((method, path))
    spec_paths = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops if "{" in p}
    assert spec_paths <= set(checked)  # the walk found every documented endpoint with an id


def test_ids_in_bodies_and_queries_are_scoped_too(client, two_tenants):
    ua, ub, ids = two_tenants
    r = client.post("/api/projects", headers=ub.headers, json={"org_id": ids["org_id"], "name": "sneaky"})
    assert r.status_code == 404
    assert client.get(f"/api/audit?project_id={ids['project_id']}", headers=ub.headers).status_code == 404
    leaked = client.get(f"/api/audit?object_id={ids['result_id']}", headers=ub.headers).json()
    assert leaked == []
    assert client.get(f"/api/projects?org_id={ids['org_id']}", headers=ub.headers).json() == []


def test_sharing_opens_exactly_that_project(client, make_user, two_tenants):
    ua, ub, ids = two_tenants
    other = new_project(client, ua, "not shared")
    r = client.post(f"/api/projects/{ids['project_id']}/shares", headers=ua.headers,
                    json={"org_id": ub.org_id})
    assert r.status_code == 202
    assert client.get(f"/api/results/{ids['result_id']}", headers=ub.headers).status_code == 404
    (offer,) = client.get("/api/invitations", headers=ub.headers).json()
    assert client.post(f"/api/invitations/{offer['id']}/accept", headers=ub.headers).status_code == 200
    assert client.get(f"/api/results/{ids['result_id']}", headers=ub.headers).status_code == 200
    assert client.get(f"/api/uploads/{ids['upload_id']}/content", headers=ub.headers).status_code == 200
    assert client.get(f"/api/projects/{other}", headers=ub.headers).status_code == 404
    # the share gives no way into org A itself, nor to ua's tokens
    assert client.get(f"/api/orgs/{ids['org_id']}", headers=ub.headers).status_code == 404
    assert client.delete(f"/api/auth/tokens/{ids['token_id']}", headers=ub.headers).status_code == 404
    assert [p["id"] for p in client.get("/api/projects", headers=ub.headers).json()] == [ids["project_id"]]


def test_malformed_ids_are_404_too(client, two_tenants):
    _, ub, _ = two_tenants
    for bad in ("1", "..", "%00", "' OR 1=1 --", "F" * 32, "0" * 33):
        assert client.get(f"/api/projects/{bad}", headers=ub.headers).status_code == 404


def test_another_organisations_supply_plans_give_404(app, client, two_tenants):
    """A supply study saved in org A (its plan an upload, the study a result of kind 'supply'): every
    endpoint with an id answers 404 to org B for it, as for an id that does not exist."""
    from test_api_supply import post_plan

    ua, ub, ids = two_tenants
    saved = post_plan(client, ua, path=f"/api/projects/{ids['project_id']}/supply")
    assert saved.status_code == 201, saved.text
    out = saved.json()
    supply_ids = {**ids, "result_id": out["id"], "upload_id": out["upload_id"]}
    walked = 0
    for method, path, params in _routes_with_ids(app):
        if not {"result_id", "upload_id"} & set(params) and not path.endswith("/supply"):
            continue
        url = _fill(path, supply_ids)
        if method == "GET":
            assert client.get(url, headers=ua.headers).status_code == 200, url
        r = client.request(method, url, headers=ub.headers)
        assert r.status_code == 404, f"{method} {path} gave {r.status_code} to another tenant: {r.text}"
        walked += 1
    assert walked >= 8
    # and a plan posted into org A's project by org B is refused as if the project did not exist
    assert post_plan(client, ub, path=f"/api/projects/{ids['project_id']}/supply").status_code == 404
