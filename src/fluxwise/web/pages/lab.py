"""The virtual lab in the browser: cohorts, an attempt (experiments, GMP steps, answer, graded feedback)
and the instructor's cohort dashboard, attempt review and training-record signing.

Plain HTML forms post here with a ``csrf_token`` field and come back to the page (303); what the page
shows is what :mod:`fluxwise.store.lab` lets the signed-in user see — the same as ``/api/lab``. Every
quick plot comes with its data table.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import RedirectResponse

from ...api.deps import FormPrincipalDep, Principal, client_address, get_db, load_user
from ...errors import FluxwiseError, InputError
from ...i18n import _
from ...store import accounts
from ...store import lab as store_lab
from ...store.models import LAB_RECORD_LABEL
from ...store.tenancy import Forbidden, NotFound
from .. import present
from .base import page_principal, page_router, render

router = page_router()

#: The fields of the GMP action form (text as the CLI takes it; empty ones are left out).
ACTION_FIELDS = (
    "part_number",
    "lot",
    "expiry",
    "decision",
    "volume",
    "back_pressure",
    "method",
    "stage",
    "test",
    "limit",
    "verdict",
    "of",
    "reason",
    "description",
    "meaning",
)
RUN_FIELDS = (
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


def _text(form, key: str, limit: int = 2000) -> str:
    v = form.get(key)
    return v.strip()[:limit] if isinstance(v, str) else ""


@router.get("/lab")
def lab_home(request: Request):
    principal = page_principal(request)
    from ...io.lab_scenario import list_scenarios

    with get_db(request).session() as s:
        cohorts = [store_lab.cohort_json(c, r) for c, r in store_lab.visible_cohorts(s, principal.user_id)]
        orgs = [
            {"id": o.public_id, "name": o.name}
            for o, r in accounts.memberships_of(s, principal.user_id)
            if r in store_lab.INSTRUCTOR_ROLES
        ]
    scenarios = [{"id": sc.id, "title": sc.title, "level": sc.level} for sc in list_scenarios()]
    return render(
        request,
        "lab.html",
        principal=principal,
        title=_("Virtual lab"),
        nav="lab",
        cohorts=cohorts,
        orgs=orgs,
        scenarios=scenarios,
        label=LAB_RECORD_LABEL,
        error=None,
    )


@router.post("/lab/cohorts")
async def lab_new_cohort(request: Request, principal: FormPrincipalDep):
    form = await request.form()
    db = get_db(request)
    with db.session(write=True) as ws:
        org = store_lab.instructor_org(ws, principal.user_id, _text(form, "org_id", 32))
        cohort = store_lab.create_cohort(
            ws,
            load_user(ws, principal),
            org,
            name=_text(form, "name", 200),
            scenario=_text(form, "scenario", 100),
            mode=_text(form, "mode", 16) or "practice",
            attempt_limit=_text(form, "attempt_limit", 10) or None,
            time_limit_h=_text(form, "time_limit_h", 20) or None,
            pass_mark=_text(form, "pass_mark", 20) or None,
            due_at=_text(form, "due_at", 40) or None,
        )
        cid = cohort.public_id
        ws.commit()
    return RedirectResponse(f"/lab/cohorts/{cid}", status_code=303)


@router.get("/lab/cohorts/{cohort_id}")
def lab_cohort(request: Request, cohort_id: str):
    principal = page_principal(request)
    with get_db(request).session() as s:
        cohort, role = store_lab.get_cohort(s, principal.user_id, cohort_id)
        info = store_lab.cohort_json(cohort, role)
        public = store_lab.lab_of(cohort.scenario_version).public()
        instructor = info["role"] == "instructor"
        board = store_lab.dashboard(s, cohort) if instructor else None
        now = datetime.now(UTC)
        show = cohort.mode == "practice" or (cohort.due_at is not None and now >= cohort.due_at)
        mine = [
            store_lab.attempt_summary(r, show_score=show)
            for r in store_lab.my_attempts(s, principal.user_id, cohort)
        ]
    return render(
        request,
        "lab_cohort.html",
        principal=principal,
        title=_("Cohort %(name)s", name=info["name"]),
        nav="lab",
        cohort=info,
        public=public,
        board=board,
        mine=mine,
        label=LAB_RECORD_LABEL,
    )


@router.post("/lab/cohorts/{cohort_id}/attempts")
async def lab_start(request: Request, cohort_id: str, principal: FormPrincipalDep):
    with get_db(request).session(write=True) as ws:
        cohort, _role = store_lab.get_cohort(ws, principal.user_id, cohort_id)
        row, _role = store_lab.start_attempt(ws, load_user(ws, principal), cohort)
        aid = row.public_id
        ws.commit()
    return RedirectResponse(f"/lab/attempts/{aid}", status_code=303)


def _figures(lab, attempt) -> list[dict]:
    from ...report.lab import run_figures

    out = []
    for run in attempt.runs:
        figs = []
        for k, (title, fig, headers, rows) in enumerate(run_figures(lab.scenario, run)):
            fig.update_layout(height=300, margin=dict(l=64, r=16, t=40, b=50))
            figs.append(
                {
                    "id": f"fig-run{run.index + 1}-{k}",
                    "title": _("Run %(n)s: %(title)s", n=run.index + 1, title=title),
                    "json": present.figure_json(fig),
                    "headers": headers,
                    "rows": rows,
                }
            )
        out.append(figs)
    return out


def _attempt_page(
    request: Request,
    principal: Principal,
    attempt_id: str,
    *,
    error: str | None = None,
    form: dict | None = None,
):
    with get_db(request).session() as s:
        row, role = store_lab.get_attempt(s, principal.user_id, attempt_id)
        lab, attempt = store_lab.load(s, row)
        view = store_lab.view(row, attempt, role)
        cohort = store_lab.cohort_json(row.cohort, "admin" if role == "instructor" else "trainee")
        own = row.trainee_id == principal.user_id
    public = lab.public()
    figures = _figures(lab, attempt)
    feedback: dict[int, list[str]] = {}
    if attempt.policy.step_feedback:  # practice: the SOP's feedback on each step, as it was recorded
        for m in attempt.gmp.mistakes:
            feedback.setdefault(m.seq, []).append(m.text)
    return render(
        request,
        "lab_attempt.html",
        principal=principal,
        title=_("Attempt — %(title)s", title=public["title"]),
        nav="lab",
        view=view,
        public=public,
        cohort=cohort,
        role=role,
        own=own,
        figures=figures,
        feedback=feedback,
        actions=_actions(),
        action_fields=ACTION_FIELDS,
        error=error,
        form=form or {},
        label=LAB_RECORD_LABEL,
        status=422 if error else 200,
    )


def _actions():
    from ...training import ACTIONS

    return ACTIONS


@router.get("/lab/attempts/{attempt_id}")
def lab_attempt(request: Request, attempt_id: str):
    return _attempt_page(request, page_principal(request), attempt_id)


def _own(ws, principal, attempt_id):
    row, _role = store_lab.get_attempt(ws, principal.user_id, attempt_id)
    if row.trainee_id != principal.user_id:
        raise Forbidden(_("only the trainee works on their attempt"))
    lab, attempt = store_lab.load(ws, row)
    return row, lab, attempt


async def _post(request: Request, principal: Principal, attempt_id: str, work, anchor: str):
    form = await request.form()
    try:
        with get_db(request).session(write=True) as ws:
            row, lab, attempt = _own(ws, principal, attempt_id)
            work(ws, row, lab, attempt, form)
            store_lab.save(row, attempt)
            ws.commit()
    except (NotFound, Forbidden):
        raise
    except FluxwiseError as exc:
        return _attempt_page(
            request,
            principal,
            attempt_id,
            error=str(exc),
            form={k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str)},
        )
    return RedirectResponse(f"/lab/attempts/{attempt_id}#{anchor}", status_code=303)


@router.post("/lab/attempts/{attempt_id}/run")
async def lab_run(request: Request, attempt_id: str, principal: FormPrincipalDep):
    from ...io.lab_files import parse_run_request

    def work(ws, row, lab, attempt, form):
        fields = {k: (_text(form, k, 100) or None) for k in RUN_FIELDS}
        if fields["pressure"] and fields["flux"]:
            raise InputError(_("give a pressure or a flux, not both"), field="flux")
        req = parse_run_request(
            lab.scenario, **{k: v for k, v in fields.items() if k != "filter"}, filter=fields["filter"] or ""
        )
        r = attempt.run(req)
        store_lab.record_run(ws, row, lab, attempt, r)

    return await _post(request, principal, attempt_id, work, "runs")


@router.post("/lab/attempts/{attempt_id}/act")
async def lab_act(request: Request, attempt_id: str, principal: FormPrincipalDep):
    from ...io.lab_files import parse_action

    def work(ws, row, lab, attempt, form):
        action = _text(form, "action", 40)
        if not action:
            raise InputError(_("choose the action"), field="action")
        fields = {k: _text(form, k, 500) for k in ACTION_FIELDS if _text(form, k, 500)}
        if form.get("vented"):
            fields["vented"] = True
        attempt.act(action, by=principal.name, **parse_action(lab.scenario, action, fields))

    return await _post(request, principal, attempt_id, work, "gmp")


@router.post("/lab/attempts/{attempt_id}/answer")
async def lab_answer(request: Request, attempt_id: str, principal: FormPrincipalDep):
    from ...io.lab_files import parse_answer

    def work(ws, row, lab, attempt, form):
        data = {}
        for k in (
            "mechanism",
            "min_area",
            "format",
            "count",
            "safety_factor",
            "safety_factor_reason",
            "vmax",
            "prefilter",
        ):
            v = _text(form, k, 200)
            if v:
                data[k] = v
        for k in ("count", "safety_factor"):
            if k in data:
                try:
                    data[k] = int(data[k]) if k == "count" else float(data[k])
                except ValueError:
                    raise InputError(_("'%(value)s' is not a number", value=data[k]), field=k) from None
        store_lab.submit(ws, row, lab, attempt, parse_answer(data, lab.scenario, source="answer"))

    return await _post(request, principal, attempt_id, work, "grade")


@router.post("/lab/attempts/{attempt_id}/sign")
async def lab_sign(request: Request, attempt_id: str, principal: FormPrincipalDep):
    form = await request.form()
    db = get_db(request)
    with db.session(write=True) as ws:
        row, role = store_lab.get_attempt(ws, principal.user_id, attempt_id)
        if role != "instructor":
            raise Forbidden(_("only the organisation's instructors sign training records"))
        try:
            store_lab.sign_training_record(
                ws,
                load_user(ws, principal),
                row,
                password=_text(form, "password", 500),
                client=client_address(request),
            )
        except accounts.AuthenticationError:
            ws.commit()
            return _attempt_page(
                request, principal, attempt_id, error=_("wrong password: the training record was not signed")
            )
        except FluxwiseError as exc:
            return _attempt_page(request, principal, attempt_id, error=str(exc))
        ws.commit()
    return RedirectResponse(f"/lab/attempts/{attempt_id}#record", status_code=303)
