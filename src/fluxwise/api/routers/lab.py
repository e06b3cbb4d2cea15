"""The virtual lab over HTTP: ``/api/lab/...`` with the JSON of ``fluxwise lab ... --json``.

Trainees start attempts in their organisation's cohorts, run experiments (each gives a rig file),
record GMP actions and submit an answer; instructors (the organisation's admins and reviewers) add
scenario versions, create cohorts, read the cohort dashboard (JSON or CSV), review attempts with the
truth and sign a passed assessment's training record. Bad scenarios, answers and requests answer 422
naming the key; another organisation's cohort or attempt, and another trainee's attempt, answer 404.
See :mod:`fluxwise.store.lab` for who sees what.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import PlainTextResponse

from ...errors import InputError
from ...store import lab as store_lab
from ...store.models import LAB_RECORD_LABEL
from ...store.tenancy import Forbidden, NotFound
from .. import schemas
from ..deps import DbDep, PrincipalDep, ReadSession, client_address, load_user

JsonBody = Annotated[Any, Body()]
router = APIRouter(prefix="/lab", tags=["virtual lab"])
ERRORS = schemas.error_responses(401, 403, 404, 422)

RUN_KEYS = (
    "filter",
    "area",
    "pressure",
    "flux",
    "duration",
    "stop_flux_decay",
    "stop_pressure",
    "stop_volume",
    "feed",
)


def _seen_org(org_id: str, p: PrincipalDep, s: ReadSession) -> None:
    store_lab.instructor_org(s, p.user_id, org_id)


def _seen_cohort(cohort_id: str, p: PrincipalDep, s: ReadSession) -> None:
    store_lab.get_cohort(s, p.user_id, cohort_id)


def _seen_attempt(attempt_id: str, p: PrincipalDep, s: ReadSession) -> None:
    store_lab.get_attempt(s, p.user_id, attempt_id)


#: Lookups that run before the body is read: another tenant's id is 404 whatever the body.
ORG_SEEN = [Depends(_seen_org)]
COHORT_SEEN = [Depends(_seen_cohort)]
ATTEMPT_SEEN = [Depends(_seen_attempt)]


def _mapping(body, what: str) -> dict:
    if not isinstance(body, dict):
        raise InputError(f"the body is a JSON object of {what}", field="body")
    return body


@router.get("/scenarios", responses=ERRORS)
def list_scenarios(principal: PrincipalDep):
    """The shipped and installed scenarios (``fluxwise lab scenarios --json``)."""
    from ...io.lab_scenario import list_scenarios as found
    from ...training import public_scenario

    return [public_scenario(s) for s in found()]


@router.post("/orgs/{org_id}/scenarios", dependencies=ORG_SEEN, status_code=201, responses=ERRORS)
def add_scenario(org_id: str, principal: PrincipalDep, db: DbDep, body: JsonBody = None):
    """Upload a scenario (``{"yaml": "..."}``): validated (422 naming the key), kept as a version."""
    with db.session(write=True) as ws:
        org = store_lab.instructor_org(ws, principal.user_id, org_id)
        text = _mapping(body, "'yaml'").get("yaml")
        if not isinstance(text, str) or not text.strip():
            raise InputError("give the scenario's YAML text", field="yaml")
        row = store_lab.add_scenario_version(
            ws, org, load_user(ws, principal), text, str(body.get("filename") or "scenario.yaml")[:100]
        )
        out = {
            "record": LAB_RECORD_LABEL,
            "id": row.public_id,
            "scenario": row.scenario_id,
            "title": row.title,
            "level": row.level,
            "version_hash": row.version_hash,
            "locked": row.locked_at is not None,
        }
        ws.commit()
        return out


@router.get("/orgs/{org_id}/scenarios", responses=ERRORS)
def org_scenarios(org_id: str, principal: PrincipalDep, s: ReadSession):
    """The organisation's scenario versions (instructors)."""
    org = store_lab.instructor_org(s, principal.user_id, org_id)
    return [
        {
            "id": v.public_id,
            "scenario": v.scenario_id,
            "title": v.title,
            "level": v.level,
            "version_hash": v.version_hash,
            "locked": v.locked_at is not None,
        }
        for v in store_lab.scenario_versions(s, org)
    ]


@router.get("/cohorts", responses=ERRORS)
def list_cohorts(principal: PrincipalDep, s: ReadSession):
    """The cohorts of the caller's organisations."""
    return [store_lab.cohort_json(c, r) for c, r in store_lab.visible_cohorts(s, principal.user_id)]


@router.post("/orgs/{org_id}/cohorts", dependencies=ORG_SEEN, status_code=201, responses=ERRORS)
def create_cohort(org_id: str, principal: PrincipalDep, db: DbDep, body: JsonBody = None):
    """A cohort (instructors): ``name``, ``scenario`` (a shipped id) or ``scenario_version``, ``mode``
    (practice or assessment), ``attempt_limit``, ``time_limit_h``, ``pass_mark``, ``due_at``."""
    keys = (
        "name",
        "scenario",
        "scenario_version",
        "mode",
        "attempt_limit",
        "time_limit_h",
        "pass_mark",
        "due_at",
    )
    with db.session(write=True) as ws:
        org = store_lab.instructor_org(ws, principal.user_id, org_id)  # 404 before the body is read
        body = _mapping(body, ", ".join(keys))
        for k in body:
            if k not in keys:
                raise InputError(f"unknown key '{k}' (keys: {', '.join(keys)})", field=str(k))
        cohort = store_lab.create_cohort(ws, load_user(ws, principal), org, **body)
        out = store_lab.cohort_json(cohort, "admin")
        ws.commit()
        return out


@router.get("/cohorts/{cohort_id}", responses=ERRORS)
def get_cohort(cohort_id: str, principal: PrincipalDep, s: ReadSession):
    """The cohort, its scenario as trainees see it, and the attempts the caller may see."""
    cohort, role = store_lab.get_cohort(s, principal.user_id, cohort_id)
    out = store_lab.cohort_json(cohort, role)
    out["scenario_public"] = store_lab.lab_of(cohort.scenario_version).public()
    instructor = role in store_lab.INSTRUCTOR_ROLES
    rows = (
        store_lab.cohort_attempts(s, cohort)
        if instructor
        else store_lab.my_attempts(s, principal.user_id, cohort)
    )
    from datetime import UTC, datetime

    show = (
        instructor
        or cohort.mode == "practice"
        or (cohort.due_at is not None and datetime.now(UTC) >= cohort.due_at)
    )
    out["attempts"] = [store_lab.attempt_summary(r, show_score=show) for r in rows]
    return out


def _instructed(s, principal, cohort_id):
    cohort, role = store_lab.get_cohort(s, principal.user_id, cohort_id)
    if role not in store_lab.INSTRUCTOR_ROLES:
        raise Forbidden("the cohort dashboard is for the organisation's instructors")
    return cohort


@router.get("/cohorts/{cohort_id}/dashboard", responses=ERRORS)
def dashboard(cohort_id: str, principal: PrincipalDep, s: ReadSession):
    """The cohort by objective: score distribution, most common mistakes, time and budget used."""
    return store_lab.dashboard(s, _instructed(s, principal, cohort_id))


@router.get("/cohorts/{cohort_id}/dashboard.csv", response_class=PlainTextResponse, responses=ERRORS)
def dashboard_csv(cohort_id: str, principal: PrincipalDep, s: ReadSession):
    """The cohort's attempts as CSV."""
    cohort = _instructed(s, principal, cohort_id)
    text = store_lab.dashboard_csv(store_lab.dashboard(s, cohort))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cohort-{cohort.public_id}.csv"'},
    )


@router.post("/cohorts/{cohort_id}/attempts", dependencies=COHORT_SEEN, status_code=201, responses=ERRORS)
def start_attempt(cohort_id: str, principal: PrincipalDep, db: DbDep):
    """Start an attempt (a new truth each time; refused beyond an assessment's attempt limit)."""
    with db.session(write=True) as ws:
        cohort, _ = store_lab.get_cohort(ws, principal.user_id, cohort_id)
        row, attempt = store_lab.start_attempt(ws, load_user(ws, principal), cohort)
        out = store_lab.view(row, attempt, "trainee")
        ws.commit()
        return out


@router.get("/attempts/{attempt_id}", responses=ERRORS)
def get_attempt(attempt_id: str, principal: PrincipalDep, s: ReadSession):
    """What the caller may see of the attempt now (``fluxwise lab status --json`` and more)."""
    row, role = store_lab.get_attempt(s, principal.user_id, attempt_id)
    _, attempt = store_lab.load(s, row)
    return store_lab.view(row, attempt, role)


def _own(ws, principal, attempt_id):
    row, role = store_lab.get_attempt(ws, principal.user_id, attempt_id)
    if row.trainee_id != principal.user_id:
        raise Forbidden("only the trainee works on their attempt")
    lab, attempt = store_lab.load(ws, row)
    return row, lab, attempt


@router.post("/attempts/{attempt_id}/runs", dependencies=ATTEMPT_SEEN, status_code=201, responses=ERRORS)
def run(attempt_id: str, principal: PrincipalDep, db: DbDep, body: JsonBody = None):
    """Run one experiment (``fluxwise lab run --json``): ``filter``, ``area``, ``pressure`` or ``flux``,
    ``duration``, optional stop criteria and ``feed``. A run the budget cannot pay for is refused (422)."""
    from ...io.lab_files import parse_run_request

    body = _mapping(body, ", ".join(RUN_KEYS))
    for k in body:
        if k not in RUN_KEYS:
            raise InputError(f"unknown key '{k}' (keys: {', '.join(RUN_KEYS)})", field=str(k))
    with db.session(write=True) as ws:
        row, lab, attempt = _own(ws, principal, attempt_id)
        req = parse_run_request(
            lab.scenario,
            **{k: (None if body.get(k) in ("", None) else str(body[k])) for k in RUN_KEYS if k != "filter"},
            filter=str(body.get("filter") or ""),
        )
        r = attempt.run(req)
        f = store_lab.record_run(ws, row, lab, attempt, r)
        store_lab.save(row, attempt)
        out = {
            "record": LAB_RECORD_LABEL,
            "scenario": lab.scenario.id,
            "file": f"/api/lab/attempts/{row.public_id}/runs/{f.run}/file",
            "filename": f.filename,
            "plot": None,
            "run": r.summary(),
            "budget_left": attempt.budget_left.to_dict(),
            "used": attempt.used.to_dict(),
        }
        ws.commit()
        return out


@router.get("/attempts/{attempt_id}/runs/{n}/file", responses=ERRORS)
def run_file(attempt_id: str, n: int, principal: PrincipalDep, s: ReadSession):
    """The rig file of run ``n`` (as ``fluxwise fit`` reads it)."""
    row, _ = store_lab.get_attempt(s, principal.user_id, attempt_id)
    f = store_lab.run_file(s, row, n)
    media = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if f.filename.endswith(".xlsx")
        else "text/csv; charset=utf-8"
    )
    return Response(
        f.content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{f.filename}"'}
    )


@router.post("/attempts/{attempt_id}/actions", dependencies=ATTEMPT_SEEN, status_code=201, responses=ERRORS)
def act(attempt_id: str, principal: PrincipalDep, db: DbDep, body: JsonBody = None):
    """Record one GMP action (``fluxwise lab act --json``): ``{"action": ..., "fields": {...}}``."""
    from ...io.lab_files import parse_action

    body = _mapping(body, "'action' and 'fields'")
    for k in body:
        if k not in ("action", "fields"):
            raise InputError(f"unknown key '{k}' (keys: action, fields)", field=str(k))
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise InputError("name the action (e.g. verify, install, flush, integrity_test)", field="action")
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise InputError("fields is a JSON object of KEY: VALUE", field="fields")
    for k, v in fields.items():
        if not isinstance(v, str | int | float | bool):
            raise InputError("a field's value is text, a number or true/false", field=f"fields.{k}")
    with db.session(write=True) as ws:
        row, lab, attempt = _own(ws, principal, attempt_id)
        result = attempt.act(action, by=principal.name, **parse_action(lab.scenario, action, fields))
        store_lab.save(row, attempt)
        ws.commit()
        return {"record": LAB_RECORD_LABEL, **result}


@router.post("/attempts/{attempt_id}/answer", dependencies=ATTEMPT_SEEN, responses=ERRORS)
def submit(attempt_id: str, principal: PrincipalDep, db: DbDep, body: JsonBody = None):
    """Submit the answer (the keys of an answer file; 422 naming the key) and close the attempt. The
    response is the attempt as the caller may see it: the grade at once in practice, after the due
    date in an assessment."""
    from ...io.lab_files import parse_answer

    with db.session(write=True) as ws:
        row, lab, attempt = _own(ws, principal, attempt_id)
        answer = parse_answer(body, lab.scenario, source="answer")
        store_lab.submit(ws, row, lab, attempt, answer)
        out = store_lab.view(row, attempt, "trainee")
        ws.commit()
        return out


@router.post(
    "/attempts/{attempt_id}/training-record", dependencies=ATTEMPT_SEEN, status_code=201, responses=ERRORS
)
def sign_record(attempt_id: str, request: Request, principal: PrincipalDep, db: DbDep, body: JsonBody = None):
    """Sign a passed assessment's training record (instructors; ``{"password": ...}``)."""
    body = _mapping(body, "'password'")
    with db.session(write=True) as ws:
        row, role = store_lab.get_attempt(ws, principal.user_id, attempt_id)
        if role != "instructor":
            raise (
                NotFound("attempt not found")
                if row.trainee_id != principal.user_id
                else Forbidden("only the organisation's instructors sign training records")
            )
        from ...store.accounts import AuthenticationError
        from ...store.results import SignatureRefused

        try:
            rec = store_lab.sign_training_record(
                ws,
                load_user(ws, principal),
                row,
                password=str(body.get("password") or ""),
                client=client_address(request),
            )
        except AuthenticationError:
            ws.commit()
            raise SignatureRefused("wrong password: the training record was not signed") from None
        out = store_lab.record_json(rec)
        ws.commit()
        return out
