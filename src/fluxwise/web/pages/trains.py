"""Train design from the browser: the form, a design kept for a while or saved into a project, its
page and its report (the designs themselves are kept by :mod:`fluxwise.web.trains`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ...api import convert
from ...api.deps import FormPrincipalDep, Principal, get_db, get_settings
from ...api.headers import content_disposition, report_response
from ...api.upload_checks import CONTENT_TYPES, check_upload, clean_filename, read_limited
from ...errors import FluxwiseError, InputError
from ...i18n import _
from ...store import tenancy
from ...store import trains as store_trains
from ...store.canonical import canonical_json
from ...store.models import Project, ResultVersion, User
from .. import present
from .. import trains as train_runs
from .base import page_principal, page_router, render, wants_json

log = logging.getLogger(__name__)

router = page_router()


def _routes() -> list[dict]:
    from ...io.train import read_factors

    factors = read_factors(None)
    return [{"id": r.id, "label": r.label, "default": r.id == factors.default_route}
            for r in factors.routes.values()]


def _writable_projects(s, principal: Principal) -> list[dict]:
    """Projects the user may save a train design into."""
    projects = s.scalars(tenancy.visible_projects(principal.user_id).order_by(Project.name, Project.id))
    return [{"id": p.public_id, "name": p.name, "org": p.organisation.name} for p in projects
            if tenancy.project_roles(s, principal.user_id, p) & tenancy.PERMISSIONS["write"]]


@router.get("/train")
def train_page(request: Request, project: Annotated[str | None, Query(max_length=32)] = None):
    principal = page_principal(request)
    with get_db(request).session() as s:
        projects = _writable_projects(s, principal)
    return render(request, "train.html", principal=principal, title=_("Train design"), nav="train",
                  routes=_routes(), example=train_runs.examples_dir() is not None,
                  example_name=train_runs.EXAMPLE_TRAIN, projects=projects, project_id=project or "")


async def _read_train_form(request: Request) -> tuple[str | None, bytes, dict[str, bytes], bool, str | None]:
    form = await request.form()
    limits = get_settings(request).upload
    example = form.get("example") in ("1", "true", "on")
    route = form.get("route") or None
    if route is not None and not isinstance(route, str):
        route = None
    train = form.get("train")
    train_name, train_bytes = None, b""
    if train is not None and not isinstance(train, str) and train.filename:
        train_name = clean_filename(train.filename)
        train_bytes = await run_in_threadpool(read_limited, train.file, train_runs.MAX_TRAIN_BYTES)
    files: dict[str, bytes] = {}
    for item in form.getlist("files"):
        if isinstance(item, str) or not item.filename:
            continue
        name = clean_filename(item.filename)
        content = await run_in_threadpool(read_limited, item.file, limits.max_bytes)
        check_upload(name, content, limits)
        files[name] = content
    return train_name, train_bytes, files, example, route


def _form_text(form, name: str, limit: int) -> str:
    value = form.get(name)
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > limit:
        raise InputError(_("at most %(n)s characters", n=limit), field=name)
    if "\x00" in value:
        raise InputError(_("must not contain NUL characters"), field=name)
    return value


@router.post("/train")
async def train_submit(request: Request, principal: FormPrincipalDep):
    train_name, train_bytes, files, example, route = await _read_train_form(request)
    form = await request.form()
    project_id, notes = _form_text(form, "project_id", 32), _form_text(form, "notes", 20_000)
    db = get_db(request)
    project = None
    if project_id:
        with db.session() as s:
            project = tenancy.get_project(s, principal.user_id, project_id)
            tenancy.require(tenancy.project_roles(s, principal.user_id, project), "write",
                            "saving a train design")

    def run():
        if example and project is None:
            return train_runs.design_example(route=route)
        if example:  # saved as if uploaded: the example's file and the files it names
            name, content, named = train_runs.example_sources()
            files.clear()
            files.update(named)
            return train_runs.design_uploaded(name, content, named, route=route), name
        if train_name is None:
            raise InputError(_("choose a train file (.yaml or .yml), or the example train"), field="train")
        return train_runs.design_uploaded(train_name, train_bytes, files, route=route), train_name

    content = (lambda: train_runs.example_sources()[1]) if example else (lambda: train_bytes)
    return await _design_and_keep(request, principal, db, project, run, files, content, route, notes)


async def _design_and_keep(request: Request, principal: Principal, db, project: Project | None, run,
                           files: dict[str, bytes], content, route: str | None, notes: str):
    """Design (``run`` returns the design and the train file's name) and keep it: saved into
    ``project`` with the train file (``content()``) and ``files``, else kept here for a while."""
    try:
        design, filename = await run_in_threadpool(run)
    except FluxwiseError:
        raise
    except Exception as exc:  # a file nobody foresaw must get its message, not a 500
        log.warning("train design failed", exc_info=True)
        error = type(exc).__name__ + ": " + str(exc)
        raise InputError(_("the train could not be designed (%(error)s)", error=error)) from None
    if project is not None:
        train_bytes = content()

        def save() -> str:
            from ...api import science

            data = science.train_json(design)
            typed = {n: (c, CONTENT_TYPES.get(Path(n).suffix.lower(), store_trains.YAML_TYPE))
                     for n, c in files.items()}
            with db.session(write=True) as ws:
                rv = store_trains.save_train(
                    ws, ws.get(Project, project.id), actor=ws.get(User, principal.user_id),
                    train_name=filename, train_bytes=train_bytes, files=typed, route=route, data=data,
                    notes=notes)
                ws.commit()
                return rv.result_id

        url = f"/trains/{await run_in_threadpool(save)}"
    else:
        kept = train_runs.keep(principal.user_id, design, filename)
        url = f"/train/{kept.id}"
    if wants_json(request):
        return JSONResponse({"url": url}, status_code=201)
    return RedirectResponse(url, status_code=303)


@router.get("/train/new")
def designer_page(request: Request, project: Annotated[str | None, Query(max_length=32)] = None):
    """The train designer: a train built step by step from a project's trials."""
    from .. import designer

    principal = page_principal(request)
    with get_db(request).session() as s:
        projects = _writable_projects(s, principal)
        chosen = next((p for p in projects if p["id"] == project), projects[0] if projects else None)
        trials = _project_trials(s, principal, chosen["id"]) if chosen else []
    spec = {**designer.page_spec(),
            "trials": [{"id": t["id"], "file": t["file"], "mode": t["mode"]} for t in trials],
            "formats": [c["name"] for c in _catalog_names()]}
    return render(request, "train_designer.html", principal=principal, title=_("Train designer"), nav="train",
                  projects=projects, project=chosen, trials=trials, routes=_routes(),
                  spec=json.dumps(spec).replace("<", "\\u003c"))


def _catalog_names() -> list[dict]:
    from ...io.catalog import read_catalog

    return [{"name": f.name} for f in read_catalog(None)]


def _project_trials(s, principal: Principal, project_id: str) -> list[dict]:
    """The trials of a project a train can name (not deleted), with their file names and bytes' ids."""
    from sqlalchemy import select

    from ...store import deletions
    from ...store.models import TrialRecord

    project = tenancy.get_project(s, principal.user_id, project_id)
    records = list(s.scalars(select(TrialRecord).where(TrialRecord.project_id == project.id)
                             .order_by(TrialRecord.created_at, TrialRecord.id)))
    gone = deletions.deleted_ids(s, "trial", [r.public_id for r in records])
    return [{"id": r.public_id, "file": r.upload.filename, "mode": r.mode, "upload_id": r.upload_id,
             "area_cm2": present.num(r.area_m2 * 1e4)} for r in records if r.public_id not in gone]


@router.post("/train/new")
async def designer_submit(request: Request, principal: FormPrincipalDep):
    """Design the train the designer sends (JSON in ``design``): as its YAML, with the project's trials as
    its files; saved into the project unless ``save`` is 0 (then kept here for a while)."""
    from ...store.models import Upload
    from .. import designer

    form = await request.form()
    project_id, notes = _form_text(form, "project_id", 32), _form_text(form, "notes", 20_000)
    route = _form_text(form, "route", 64) or None
    save = form.get("save", "1") != "0"
    if not project_id:
        raise InputError("choose the project whose trials the steps use", field="project")
    db = get_db(request)
    with db.session() as s:
        project = tenancy.get_project(s, principal.user_id, project_id)
        if save:
            tenancy.require(tenancy.project_roles(s, principal.user_id, project), "write",
                            "saving a train design")
        trials = _project_trials(s, principal, project_id)
        name, content, used = designer.train_yaml(_form_text(form, "design", 200_000),
                                                  {t["id"]: t["file"] for t in trials})
        files: dict[str, bytes] = {}
        for t in trials:
            if t["id"] in used:
                if t["file"] in files and s.get(Upload, t["upload_id"]).content != files[t["file"]]:
                    raise InputError(f"two trials of the project are files named '{t['file']}'; a train "
                                     "names its trials by file name", field="trial")
                files[t["file"]] = s.get(Upload, t["upload_id"]).content

    def run():
        return train_runs.design_uploaded(name, content, files, route=route), name

    return await _design_and_keep(request, principal, db, project if save else None, run, files,
                                  lambda: content, route, notes)


@router.get("/trains/{result_id}/train.yaml")
def saved_train_file(request: Request, result_id: str):
    """The train file of a saved design, as it was uploaded or made by the designer."""
    principal = page_principal(request)
    with get_db(request).session() as s:
        rv = _saved_train(s, principal, result_id)
        name, content, _, _ = store_trains.train_sources(s, rv)
    return Response(content, media_type="application/yaml; charset=utf-8", headers={
        "Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"})


@router.get("/train/{run_id}")
def train_result_page(request: Request, run_id: str):
    principal = page_principal(request)
    run = train_runs.get(run_id, principal.user_id)
    return _train_design_page(request, principal, run.design, run.filename, f"/train/{run.id}/report")


def _saved_train(s, principal: Principal, result_id: str) -> ResultVersion:
    versions = tenancy.get_result_versions(s, principal.user_id, result_id)
    if versions[-1].kind != "train" or versions[-1].deleted_at is not None:
        raise tenancy.NotFound(_("train design not found"))
    return versions[-1]


@router.get("/trains/{result_id}")
def saved_train_page(request: Request, result_id: str):
    """A train design saved in a project, designed again from its stored files."""
    from ...api import science
    from ...api.routers.results import saved_train_design

    principal = page_principal(request)
    with get_db(request).session() as s:
        rv = _saved_train(s, principal, result_id)
        design = saved_train_design(s, rv)
        inputs = json.loads(rv.inputs_json)
        checked = convert.result_out(s, tenancy.get_result_versions(s, principal.user_id, result_id))
        roles = tenancy.project_roles(s, principal.user_id, rv.project)
        saved = {"id": rv.result_id, "version": rv.version, "project": rv.project.name,
                 "meanings": [m for m in ("author", "review", "approve")
                              if roles & tenancy.PERMISSIONS[f"sign:{m}"]],
                 "can_write": bool(roles & tenancy.PERMISSIONS["write"]),
                 "project_id": rv.project.public_id, "by": rv.created_by.name if rv.created_by else None,
                 "created": rv.created_at, "sha256": rv.content_sha256, "notes": rv.notes,
                 "signatures": checked.signatures, "problems": checked.record_problems,
                 "differs": json.loads(canonical_json(science.train_json(design)))
                 != json.loads(rv.data_json)}
        return _train_design_page(request, principal, design, inputs["train"]["filename"],
                                  f"/trains/{rv.result_id}/report", saved=saved)


@router.get("/trains/{result_id}/report")
def saved_train_report_page(request: Request, result_id: str, download: bool = False,
                            format: Annotated[Literal["html", "pdf"], Query()] = "html"):
    from ...api.routers.results import record_report_html, record_report_pdf, report_filename

    principal = page_principal(request)
    with get_db(request).session() as s:
        rv = _saved_train(s, principal, result_id)
        versions = tenancy.get_result_versions(s, principal.user_id, result_id)
        if format == "pdf":  # the same HTML printed, the record in every page header
            pdf, rv = record_report_pdf(s, versions)
            return _pdf_response(pdf, report_filename(rv, "pdf"))
        # with its signature block (and a red banner when the record does not match)
        html, _problems = record_report_html(s, versions)
        filename = json.loads(rv.inputs_json)["train"]["filename"]
    return _report_response(html, filename, download)


def _train_design_page(request: Request, principal: Principal, design, filename: str, report_url: str,
                       saved: dict | None = None):
    from ...report import train as train_report

    d = design.to_dict()
    figs = []
    for fid, title, fig in (
            ("fig-mass", _("Product mass through the train"), train_report.mass_balance_figure(design)),
            ("fig-cost", _("Cost by step"), train_report.line_items_figure(
                design.cost_items,
                title=_("Cost per batch by step [%(currency)s]", currency=design.train.currency),
                unit=design.train.currency)),
            ("fig-co2e", _("CO2e by step"), train_report.line_items_figure(
                design.co2e_items, title=_("CO2e per batch by step [kg CO2e]"), unit="kg CO2e")),
            ("fig-routes", _("Supplier routes"), train_report.route_figure(design))):
        fig.update_layout(height=380)
        figs.append({"id": fid, "title": title, "json": present._safe_json(fig)})
    return render(request, "train_result.html", principal=principal,
                  title=_("Train — %(name)s", name=design.train.name),
                  nav="train", filename=filename, report_url=report_url, saved=saved, d=d, s=d["summary"],
                  steps=present.train_steps(design), figs=figs)


@router.get("/train/{run_id}/report")
def train_report_page(request: Request, run_id: str, download: bool = False,
                      format: Annotated[Literal["html", "pdf"], Query()] = "html"):
    from ...report.train import render_train_report

    principal = page_principal(request)
    run = train_runs.get(run_id, principal.user_id)
    html = render_train_report(run.design)
    if format == "pdf":
        from ...report.pdf import html_to_pdf

        pdf = html_to_pdf(html, title=f"Filtration train — {run.design.train.name}")
        return _pdf_response(pdf, f"{run.filename.rsplit('.', 1)[0] or 'train'}-report.pdf")
    return _report_response(html, run.filename, download)


def _pdf_response(pdf: bytes, filename: str) -> Response:
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": content_disposition(filename), "Cache-Control": "private, no-store"})


def _report_response(html: str, filename: str, download: bool, *, kind: str = "train",
                     suffix: str = "report") -> HTMLResponse:
    """A report (:func:`fluxwise.api.headers.report_response`); downloaded as ``<stem>-<suffix>.html``
    (``kind`` is the stem when the upload's name has none)."""
    return report_response(html, filename=f"{filename.rsplit('.', 1)[0] or kind}-{suffix}.html",
                           download=download)
