"""Property-based tests generated from the OpenAPI schema (schemathesis + hypothesis): whatever a
client sends, the API answers without a server error — on SQLite and on PostgreSQL.

Every operation of the schema is exercised three ways, as a signed-in admin who owns a project with
a trial and a result: valid requests on the real ids, invalid requests (negative generation) on the
real ids, and valid requests on generated ids. (The schemathesis pytest plugin is not used: its
fixture loader does not run under the pytest version here; the strategies work the same.)
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from test_api import new_project, upload

EXAMPLES = 10


@pytest.fixture
def seeded(client, make_user):
    ua = make_user("ua@a.example", role="admin")
    pid = new_project(client, ua)
    out = upload(client, ua, pid)
    result = client.post(f"/api/trials/{out['trial']['id']}/fit", headers=ua.headers).json()
    token = client.post("/api/auth/tokens", headers=ua.headers, json={"name": "t"}).json()
    invitation = client.post(f"/api/orgs/{ua.org_id}/members", headers=ua.headers,
                             json={"email": "someone@b.example", "role": "scientist"}).json()
    cohort = client.post(f"/api/lab/orgs/{ua.org_id}/cohorts", headers=ua.headers,
                         json={"name": "Intake", "scenario": "mab-sterile-filtration"}).json()
    attempt = client.post(f"/api/lab/cohorts/{cohort['id']}/attempts", headers=ua.headers).json()
    client.post(f"/api/lab/attempts/{attempt['id']}/runs", headers=ua.headers,
                json={"filter": "PES 0.2 um", "area": "3.5 cm2", "pressure": "30 psi", "duration": "5 min"})
    ids = {"org_id": ua.org_id, "project_id": pid, "upload_id": out["upload"]["id"],
           "trial_id": out["trial"]["id"], "result_id": result["id"], "token_id": token["id"], "version": 1,
           "user_id": ua.user_id, "invitation_id": invitation["id"], "cohort_id": cohort["id"],
           "attempt_id": attempt["id"], "n": 1}
    return ua, ids


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


def test_no_server_errors(app, seeded):
    ua, ids = seeded
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    failures: list[str] = []
    operations = list(_operations(schema))
    assert len(operations) >= 30
    for op in operations:
        if op.method.upper() == "DELETE" and op.path.startswith("/api/auth/tokens/"):
            continue  # revoking the token this test signs in with would end the run early
        real = {name: ids[name] for name in re.findall(r"{(\w+)}", op.path)}
        strategies = [op.as_strategy(GenerationMode.POSITIVE, path_parameters=real or None),
                      op.as_strategy(GenerationMode.NEGATIVE, path_parameters=real or None)]
        if real:
            strategies.append(op.as_strategy(GenerationMode.POSITIVE))
        for strategy in strategies:
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def call(case):
                response = case.call(headers=ua.headers)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} query={case.query} "
                                    f"body={case.body!r:.300} -> {response.status_code} "
                                    f"{response.text[:300]}")

            call()
    assert failures == []

