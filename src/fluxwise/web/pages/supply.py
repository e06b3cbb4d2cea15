"""Supply studies in the browser: the form (a plan with its files, a plan made from a saved train design,
or the example), a study kept for a while or saved into a project, its page (campaign, the sources
compared, items, recommendations, plots, signatures) and its report."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse

from ...api import convert
from ...api.deps import FormPrincipalDep, Principal, get_db, get_settings
from ...api.upload_checks import CONTENT_TYPES, check_upload, clean_filename, read_limited
from ...errors import FluxwiseError, InputError
from ...i18n import _
from ...store import supply as store_supply
from ...store import tenancy
from ...store import trains as store_trains
from ...store.models import Project, ResultVersion, User
from .. import present
from .. import supply as supply_runs
from .base import latest_versions, page_principal, page_router, render, wants_json
from .trains import _report_response, _routes, _writable_projects

log = logging.getLogger(__name__)

router = page_router()


def _saved_trains(s, principal: Principal) -> list[dict]:
    """Train designs the user can see, to make a plan from (latest versions, not deleted)."""
    out = []
    for p in s.scalars(tenancy.visible_projects(principal.user_id).order_by(Project.name, Project.id)):
        for versions in latest_versions(
            s, (ResultVersion.project_id == p.id) & (ResultVersion.kind == "train")
        ):
            rv = versions[-1]
            if rv.deleted_at is not None:
                continue
            name = (json.loads(rv.data_json).get("train") or {}).get("name") or "train"
            out.append({"id": rv.result_id, "name": name, "project": p.name, "version": rv.version})
    return out


@router.get("/supply")
def supply_page(request: Request, project: Annotated[str | None, Query(max_length=32)] = None):
    principal = page_principal(request)
    with get_db(request).session() as s:
        projects = _writable_projects(s, principal)
        trains = _saved_trains(s, principal)
    return render(
        request,
        "supply.html",
        principal=principal,
        title=_("Supply resilience"),
        nav="supply",
        projects=projects,
        project_id=project or "",
        trains=trains,
        routes=_routes(),
        example=supply_runs.example_available(),
        example_name=supply_runs.EXAMPLE_PLAN,
        default_replications=supply_runs.DEFAULT_REPLICATIONS,
    )


def _text(form, name: str, limit: int = 200) -> str:
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > limit:
        raise InputError(_("at most %(n)s characters", n=limit), field=name)
    if "\x00" in value:
        raise InputError(_("must not contain NUL characters"), field=name)
    return value


def _number(form, name: str, *, integer=False, default=None, low=None, high=None):
    text = _text(form, name, 40)
    if not text:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        message = _("'%(value)s' is not a whole number") if integer else _("'%(value)s' is not a number")
        raise InputError(message % {"value": text}, field=name) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError(_("must be between %(low)s and %(high)s, got %(value)s", low=format(low, "g"),
                           high=format(high, "g"), value=text), field=name)
    return value


@router.post("/supply")
async def supply_submit(request: Request, principal: FormPrincipalDep):
    from ... import pipeline

    form = await request.form()
    limits = get_settings(request).upload
    mode = _text(form, "mode", 20) or "upload"
    if mode not in ("upload", "train", "example"):
        raise InputError(_("choose a plan file, a saved train design or the example"), field="mode")
    project_id, notes = _text(form, "project_id", 32), _text(form, "notes", 20_000)
    replications = _number(
        form,
        "replications",
        integer=True,
        default=supply_runs.DEFAULT_REPLICATIONS,
        low=1,
        high=pipeline.MAX_SERVED_REPLICATIONS,
    )
    seed = _number(form, "seed", integer=True, low=0, high=2**31 - 1)
    plan_name, plan_bytes, files, train_result = None, b"", {}, None
    if mode == "upload":
        plan = form.get("plan")
        if plan is None or isinstance(plan, str) or not plan.filename:
            raise InputError(
                _("choose a plan file (.yaml or .yml), a saved train design or the example"), field="plan"
            )
        plan_name = clean_filename(plan.filename)
        plan_bytes = await run_in_threadpool(read_limited, plan.file, supply_runs_max_plan_bytes())
        for item in form.getlist("files"):
            if isinstance(item, str) or not item.filename:
                continue
            name = clean_filename(item.filename)
            content = await run_in_threadpool(read_limited, item.file, limits.max_bytes)
            if Path(name).suffix.lower() not in (".yaml", ".yml"):
                check_upload(name, content, limits)
            files[name] = content
    db = get_db(request)
    project = None
    with db.session() as s:
        if project_id:
            project = tenancy.get_project(s, principal.user_id, project_id)
            tenancy.require(
                tenancy.project_roles(s, principal.user_id, project), "write", "saving a supply study"
            )
        if mode == "train":
            train_result = _text(form, "train_result", 32)
            if not train_result:
                raise InputError(_("choose a saved train design"), field="train_result")
            versions = tenancy.get_result_versions(s, principal.user_id, train_result)
            if versions[-1].kind != "train" or versions[-1].deleted_at is not None:
                raise tenancy.NotFound(_("train design not found"))
            train_name, train_bytes, train_files, _design = store_trains.train_sources(s, versions[-1])
            plan_name, plan_bytes, files = supply_runs.plan_from_train(
                train_name,
                train_bytes,
                train_files,
                per_week=_number(form, "per_week", default=1.0, low=0.01, high=50),
                horizon_weeks=_number(form, "horizon_weeks", default=104, low=1, high=520),
                route=_text(form, "route", 100) or None,
                target=_number(form, "target_service", default=0.95, low=0.5, high=0.9999),
            )
    if mode == "example":
        plan_name, plan_bytes, files = supply_runs.example_sources()

    def run():
        return pipeline.supply_study_uploaded(
            plan_name, plan_bytes, files, replications=replications, seed=seed
        )

    try:
        result = await run_in_threadpool(run)
    except FluxwiseError:
        raise
    except Exception as exc:  # a plan nobody foresaw must get its message, not a 500
        log.warning("supply study failed", exc_info=True)
        error = type(exc).__name__ + ": " + str(exc)
        raise InputError(_("the supply study could not be run (%(error)s)", error=error)) from None
    from ...store.canonical import to_jsonable

    data = to_jsonable(result.to_dict())
    if project is not None:

        def save() -> str:
            typed = {
                n: (c, CONTENT_TYPES.get(Path(n).suffix.lower(), store_supply.YAML_TYPE))
                for n, c in files.items()
            }
            with db.session(write=True) as ws:
                rv = store_supply.save_supply(
                    ws,
                    ws.get(Project, project.id),
                    actor=ws.get(User, principal.user_id),
                    plan_name=plan_name,
                    plan_bytes=plan_bytes,
                    files=typed,
                    data=data,
                    notes=notes,
                    train_result=train_result,
                    options={
                        "replications": result.plan.replications,
                        "seed": result.plan.seed,
                        "compare": True,
                    },
                )
                ws.commit()
                return rv.result_id

        url = f"/supplies/{await run_in_threadpool(save)}"
    else:
        url = f"/supply/{supply_runs.keep(principal.user_id, data, plan_name).id}"
    if wants_json(request):
        return JSONResponse({"url": url}, status_code=201)
    return RedirectResponse(url, status_code=303)


def supply_runs_max_plan_bytes() -> int:
    from ...io.supply import MAX_PLAN_BYTES

    return MAX_PLAN_BYTES


@router.get("/supply/{run_id}")
def supply_result_page(request: Request, run_id: str):
    principal = page_principal(request)
    run = supply_runs.get(run_id, principal.user_id)
    return _study_page(request, principal, run.data, run.filename, f"/supply/{run.id}/report")


def _saved(s, principal: Principal, result_id: str) -> list[ResultVersion]:
    versions = tenancy.get_result_versions(s, principal.user_id, result_id)
    if versions[-1].kind != "supply" or versions[-1].deleted_at is not None:
        raise tenancy.NotFound(_("supply study not found"))
    return versions


@router.get("/supplies/{result_id}")
def saved_supply_page(request: Request, result_id: str):
    """A supply study saved in a project: the stored numbers, as signed."""
    principal = page_principal(request)
    with get_db(request).session() as s:
        versions = _saved(s, principal, result_id)
        rv = versions[-1]
        checked = convert.result_out(s, versions)
        roles = tenancy.project_roles(s, principal.user_id, rv.project)
        meanings = [m for m in ("author", "review", "approve") if roles & tenancy.PERMISSIONS[f"sign:{m}"]]
        saved = {
            "id": rv.result_id,
            "version": rv.version,
            "project": rv.project.name,
            "project_id": rv.project.public_id,
            "by": rv.created_by.name if rv.created_by else None,
            "created": rv.created_at,
            "sha256": rv.content_sha256,
            "notes": rv.notes,
            "signatures": checked.signatures,
            "record_ok": checked.record_ok,
            "problems": checked.record_problems,
            "meanings": meanings,
        }
        filename = json.loads(rv.inputs_json)["plan"]["filename"]
        return _study_page(
            request,
            principal,
            json.loads(rv.data_json),
            filename,
            f"/supplies/{rv.result_id}/report",
            saved=saved,
        )


@router.get("/supplies/{result_id}/report")
def saved_supply_report(request: Request, result_id: str, download: bool = False):
    from ...api.routers.results import record_report_html

    principal = page_principal(request)
    with get_db(request).session() as s:
        versions = _saved(s, principal, result_id)
        html, rv = record_report_html(s, versions)
        filename = json.loads(rv.inputs_json)["plan"]["filename"]
    return _report_response(html, filename, download, kind="supply", suffix="supply-report")


@router.get("/supply/{run_id}/report")
def supply_report_page(request: Request, run_id: str, download: bool = False):
    from ...report.supply import render_supply_report

    principal = page_principal(request)
    run = supply_runs.get(run_id, principal.user_id)
    return _report_response(render_supply_report(run.data), run.filename, download, kind="supply",
                            suffix="supply-report")


def _study_page(
    request: Request, principal: Principal, d: dict, filename: str, report_url: str, saved: dict | None = None
):
    from ...report import supply as supply_report

    figs = []
    for fid, title, fig in supply_report.figures(d):
        fig.update_layout(height=360)
        figs.append({"id": fid, "title": title, "json": present._safe_json(fig)})
    heading = d["plan"].get("name") or filename
    return render(
        request,
        "supply_result.html",
        principal=principal,
        title=_("Supply — %(name)s", name=heading),
        nav="supply",
        d=d,
        c=d["campaign"],
        filename=filename,
        report_url=report_url,
        saved=saved,
        figs=figs,
        heading=heading,
    )
