"""The pages of the web workbench, server-rendered with Jinja2 over the same store as the HTTP API.

Pages read through :mod:`fluxwise.store.tenancy` (another organisation's object is "not found");
actions in a page (upload, fit, size, sign) call the JSON API from ``static/app.js`` with the session
cookie and the CSRF token; plain forms (sign in and out, new project, train design) post here with
a ``csrf_token`` field. Every asset is served from this package: nothing is fetched from elsewhere.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, or_, select

from .. import __version__
from ..api import convert
from ..api.deps import (
    FormPrincipalDep,
    Principal,
    authenticate,
    clear_session_cookies,
    client_address,
    get_db,
    get_settings,
    set_session_cookies,
)
from ..api.upload_checks import CONTENT_TYPES, UploadRejected, check_upload, clean_filename, read_limited
from ..errors import FluxwiseError, InputError
from ..models.fouling import MODEL_NAMES
from ..store import accounts, tenancy
from ..store import projects as store_projects
from ..store import results as store_results
from ..store import trains as store_trains
from ..store import uploads as store_uploads
from ..store.canonical import canonical_json
from ..store.models import AuditEntry, Membership, Organisation, Project, ResultVersion, TrialRecord, User
from . import present, trains

log = logging.getLogger(__name__)

_env = Environment(loader=PackageLoader("fluxwise", "web/templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)
_env.filters["num"] = present.num
_env.globals["version"] = __version__

#: Pages allow scripts and styles from this server only; plotly styles its plots inline.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
                    "Cache-Control": "private, no-store"}


class SignInRequired(Exception):
    """The page needs a signed-in user."""


def _status_of(exc: FluxwiseError) -> int:
    for cls, status in ((tenancy.NotFound, 404), (tenancy.Forbidden, 403),
                        (accounts.AuthenticationError, 401), (accounts.TooManyAttempts, 429)):
        if isinstance(exc, cls):
            return status
    return exc.status if isinstance(exc, UploadRejected) else 422


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="/")


class PageRoute(APIRoute):
    """A route whose failures are pages (or JSON for the page's own script), not API errors:
    401 sends the browser to the sign-in page, other errors show their message."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInRequired, HTTPException, FluxwiseError) as exc:
                if isinstance(exc, SignInRequired):
                    status, message = 401, "sign in first"
                elif isinstance(exc, HTTPException):
                    status, message = exc.status_code, str(exc.detail)
                else:
                    status, message = _status_of(exc), str(exc)
                if status == 401 and not _wants_json(request):
                    return RedirectResponse(_login_url(request), status_code=303)
                return error_response(request, status, message)

        return page_handler


router = APIRouter(route_class=PageRoute, include_in_schema=False)


def error_response(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    titles = {401: "Not signed in", 403: "Not allowed", 404: "Not found", 413: "Too large",
              429: "Too many attempts"}
    return render(request, "error.html", status=status, title=titles.get(status, "That did not work"),
                  message=message, code=status)


def render(request: Request, template: str, *, status: int = 200, principal: Principal | None = None,
           **context) -> HTMLResponse:
    html = _env.get_template(template).render(
        request=request, me=principal, csrf_token=principal.csrf_token if principal else None,
        path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def page_principal(request: Request) -> Principal:
    """The signed-in user of a page (GET), or :class:`SignInRequired`."""
    try:
        return authenticate(request, get_db(request), None)
    except HTTPException as exc:
        if exc.status_code == 401:
            raise SignInRequired() from None
        raise


def _safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc
            or "\\" in target):
        return "/projects"
    return target


def _check_origin(request: Request) -> None:
    """Refuse a cross-site form post (the sign-in form has no session, hence no CSRF token yet)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(status_code=403, detail="this form can only be sent from this site")


# --- sign in and out ------------------------------------------------------------------------------------

@router.get("/")
def home(request: Request):
    try:
        page_principal(request)
    except SignInRequired:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/projects", status_code=303)


@router.get("/login")
def login_page(request: Request, next: Annotated[str, Query(max_length=2000)] = "/projects"):
    try:
        page_principal(request)
        return RedirectResponse(_safe_next(next), status_code=303)
    except SignInRequired:
        pass
    return render(request, "login.html", next=_safe_next(next), title="Sign in")


@router.post("/login")
def login_submit(request: Request, email: Annotated[str, Form(max_length=320)],
                 password: Annotated[str, Form(max_length=1024)],
                 next: Annotated[str, Form(max_length=2000)] = "/projects"):
    _check_origin(request)
    db, settings = get_db(request), get_settings(request)
    error, status = None, 200
    with db.session(write=True) as ws:
        try:
            user, key, bs = accounts.login(ws, email, password, client_address(request),
                                           lifetime=settings.session_lifetime)
            ws.commit()
        except accounts.AuthenticationError:
            ws.commit()  # the failure counts towards the rate limit
            error, status = "Wrong e-mail or password.", 401
        except accounts.TooManyAttempts as exc:
            error, status = f"Too many failed attempts: {exc}.", 429
    if error:
        return render(request, "login.html", status=status, next=_safe_next(next), email=email, error=error,
                      title="Sign in")
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookies(request, response, key, bs)
    return response


@router.post("/logout")
def logout(request: Request, principal: FormPrincipalDep):
    if principal.session_key:
        with get_db(request).session(write=True) as ws:
            accounts.end_browser_session(ws, principal.session_key)
            ws.commit()
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response)
    return response


# --- projects --------------------------------------------------------------------------------------------

def _projects_context(s, principal: Principal) -> dict:
    projects = list(s.scalars(tenancy.visible_projects(principal.user_id)
                              .order_by(Project.created_at.desc(), Project.id.desc())))
    counts = dict(s.execute(select(TrialRecord.project_id, func.count()).where(
        TrialRecord.project_id.in_([p.id for p in projects])).group_by(TrialRecord.project_id)).all())
    owner_orgs = {o.id for o, _ in accounts.memberships_of(s, principal.user_id)}
    rows = [{"id": p.public_id, "name": p.name, "description": p.description, "org": p.organisation.name,
             "access": "owner" if p.org_id in owner_orgs else "shared", "trials": counts.get(p.id, 0),
             "created": p.created_at} for p in projects]
    orgs = [{"id": o.public_id, "name": o.name, "role": r}
            for o, r in accounts.memberships_of(s, principal.user_id)
            if r in tenancy.PERMISSIONS["create_project"]]
    return {"projects": rows, "orgs": orgs}


@router.get("/projects")
def projects_page(request: Request):
    principal = page_principal(request)
    with get_db(request).session() as s:
        ctx = _projects_context(s, principal)
    return render(request, "projects.html", principal=principal, title="Projects", nav="projects", **ctx)


@router.post("/projects")
def create_project(request: Request, principal: FormPrincipalDep, org_id: Annotated[str, Form(max_length=32)],
                   name: Annotated[str, Form(max_length=200)],
                   description: Annotated[str, Form(max_length=20_000)] = ""):
    db = get_db(request)
    try:
        with db.session() as s:
            org, role = tenancy.get_organisation(s, principal.user_id, org_id)
            tenancy.require({role}, "create_project", "creating a project")
        with db.session(write=True) as ws:
            if "\x00" in name + description:
                raise InputError("must not contain NUL characters", field="name")
            project = store_projects.create_project(ws, ws.get(Organisation, org.id), name, description,
                                                    actor=ws.get(User, principal.user_id))
            ws.commit()
            return RedirectResponse(f"/projects/{project.public_id}", status_code=303)
    except InputError as exc:
        with db.session() as s:
            ctx = _projects_context(s, principal)
        return render(request, "projects.html", status=422, principal=principal, title="Projects",
                      nav="projects", error=str(exc), form={"name": name, "description": description,
                                                             "org_id": org_id}, **ctx)


def _latest_versions(s, where) -> list[list[ResultVersion]]:
    """Every result matching ``where`` as its versions (oldest first), results in creation order."""
    rows = s.scalars(select(ResultVersion).where(where).order_by(ResultVersion.created_at, ResultVersion.id))
    by_result: dict[str, list[ResultVersion]] = {}
    for rv in rows:
        by_result.setdefault(rv.result_id, []).append(rv)
    out = [sorted(v, key=lambda r: r.version) for v in by_result.values()]
    return sorted(out, key=lambda v: (v[-1].created_at, v[-1].id))


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: str):
    principal = page_principal(request)
    with get_db(request).session() as s:
        project = tenancy.get_project(s, principal.user_id, project_id)
        roles = tenancy.project_roles(s, principal.user_id, project)
        best: dict[int, dict] = {}
        for versions in _latest_versions(s, (ResultVersion.project_id == project.id)
                                         & (ResultVersion.kind == "fit")):
            rv = versions[-1]
            if rv.deleted_at is None:
                data = json.loads(rv.data_json)
                best[rv.trial_id] = {"model": data.get("best_model"),
                                     "tied": data.get("indistinguishable") or [],
                                     "stale": rv.trial_revision != rv.trial.revision}
        records = list(s.scalars(select(TrialRecord).where(TrialRecord.project_id == project.id)
                                 .order_by(TrialRecord.created_at.desc(), TrialRecord.id.desc())))
        names = dict(s.execute(select(User.id, User.name).where(
            User.id.in_({t.created_by_id for t in records if t.created_by_id is not None}))).all())
        trials = [{"id": t.public_id, "source": t.upload.filename, "mode": t.mode,
                   "area_cm2": present.num(t.area_m2 * 1e4), "points": t.points, "revision": t.revision,
                   "created": t.created_at, "by": names.get(t.created_by_id), "best": best.get(t.id)}
                  for t in records]
        ctx = {"project": {"id": project.public_id, "name": project.name, "description": project.description,
                           "org": project.organisation.name, "created": project.created_at},
               "roles": sorted(roles), "can_write": bool(roles & tenancy.PERMISSIONS["write"]),
               "trials": trials, "saved_trains": _saved_trains(s, project)}
    return render(request, "project.html", principal=principal, title=ctx["project"]["name"], nav="projects",
                  **ctx)


def _saved_trains(s, project: Project) -> list[dict]:
    """The train designs saved in ``project`` (latest versions, not deleted), newest first."""
    rows = []
    for versions in reversed(_latest_versions(s, (ResultVersion.project_id == project.id)
                                              & (ResultVersion.kind == "train"))):
        rv = versions[-1]
        if rv.deleted_at is not None:
            continue
        data, inputs = json.loads(rv.data_json), json.loads(rv.inputs_json)
        summary = data.get("summary") or {}
        rows.append({"id": rv.result_id, "name": (data.get("train") or {}).get("name") or "train",
                     "filename": inputs["train"]["filename"], "version": rv.version,
                     "total_time_h": summary.get("total_time_h"), "cost_total": summary.get("cost_total"),
                     "currency": summary.get("currency", ""), "created": rv.created_at,
                     "by": rv.created_by.name if rv.created_by else None,
                     "signatures": [f"{sig.signer_name} ({sig.meaning})"
                                    for sig in store_results.signatures_of(s, rv)]})
    return rows


# --- trials -----------------------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^\s*([-+0-9.eE]+)\s*(.*?)\s*$")


def _split_quantity(text: str | None, default_value: str, default_unit: str) -> tuple[str, str]:
    if not text:
        return default_value, default_unit
    m = _QUANTITY.match(str(text))
    return (m.group(1), m.group(2) or default_unit) if m else (str(text), "")


def _sizing_form(trial: TrialRecord, inputs: dict | None) -> dict:
    inputs = inputs or {}
    cp = trial.mode == "constant-pressure"
    bv = _split_quantity(inputs.get("batch_volume"), "2000", "L")
    pt = _split_quantity(inputs.get("process_time"), "4" if cp else "", "h")
    mp = _split_quantity(inputs.get("max_pressure"), "", "bar")
    fdl = inputs.get("flux_decay_limit") or ""
    flux, flux_unit = _split_quantity(inputs.get("flux"), "", "LMH")
    if flux_unit not in ("LMH", "L/m2/h", "L/m²/h"):
        flux = ""  # given in another unit through the API: not prefilled as L/m²/h
    units = {"volume": ["L", "mL", "m3"], "time": ["h", "min"], "pressure": ["bar", "psi", "kPa"]}
    for kind, (_, unit) in (("volume", bv), ("time", pt), ("pressure", mp)):
        if unit and unit not in units[kind]:
            units[kind].append(unit)  # as stored with an earlier sizing
    return {"batch_volume": bv, "process_time": pt, "max_pressure": mp,
            "safety_factor": inputs.get("safety_factor", 1.5), "model": inputs.get("model", "best"),
            "format_name": inputs.get("format_name") or "", "flux_decay_limit": str(fdl).rstrip("%"),
            "flux": flux,
            "units": units}


def _catalog() -> list[dict]:
    from ..io.catalog import read_catalog

    return [{"name": f.name, "area": present.num(f.area_m2), "kind": f.kind, "scale": f.scale}
            for f in read_catalog(None)]


@router.get("/trials/{trial_id}")
def trial_page(request: Request, trial_id: str, result: Annotated[str | None, Query(max_length=32)] = None):
    principal = page_principal(request)
    with get_db(request).session() as s:
        rec = tenancy.get_trial(s, principal.user_id, trial_id)
        roles = tenancy.project_roles(s, principal.user_id, rec.project)
        results = [convert.result_out(s, versions) for versions in
                   _latest_versions(s, ResultVersion.trial_id == rec.id)]
        results = [r for r in results if not r.deleted]
        trial = store_uploads.trial_from_record(rec)
        upload = rec.upload
        info = {"id": rec.public_id, "source": upload.filename, "mode": rec.mode, "area_m2": rec.area_m2,
                "area_cm2": present.num(rec.area_m2 * 1e4), "points": rec.points, "revision": rec.revision,
                "size_kb": present.num(upload.size_bytes / 1024, 3), "sha256": upload.sha256,
                "upload_id": upload.public_id, "created": rec.created_at,
                "density": rec.density_input, "meta": json.loads(rec.data_json).get("meta") or {}}
        project = {"id": rec.project.public_id, "name": rec.project.name,
                   "org": rec.project.organisation.name}
    fits = [r for r in results if r.kind == "fit"]
    sizings = [r for r in results if r.kind == "sizing"]
    fit = next((r for r in reversed(fits) if not r.stale), fits[-1] if fits else None)
    chosen = next((r for r in sizings if r.id == result), None) or (sizings[-1] if sizings else None)
    sizing_inputs = chosen.inputs if chosen is not None and not chosen.stale else None
    figs = present.trial_figures((rec.public_id, info["revision"]), trial, sizing_inputs)
    meanings = [m for m in ("author", "review", "approve") if roles & tenancy.PERMISSIONS[f"sign:{m}"]]
    sizing_form = _sizing_form(rec, chosen.inputs if chosen is not None else None)
    fit_rows = present.model_rows(fit.data) if fit is not None else []
    return render(
        request, "trial.html", principal=principal, title=info["source"], nav="projects", trial=info,
        project=project, figs=figs, fit=fit, fit_rows=fit_rows, sse_unit=present.sse_unit(info["mode"]),
        vmax=(fit.data.get("vmax") if fit is not None else None), results=list(reversed(results)),
        sizing=chosen, sizing_view=present.sizing_view(chosen.data, chosen.inputs) if chosen else None,
        form=sizing_form, models=list(MODEL_NAMES), catalog=_catalog(), meanings=meanings,
        data=present.data_view(trial),
        can_write=bool(roles & tenancy.PERMISSIONS["write"]))


# --- audit trail -----------------------------------------------------------------------------------------

def _pretty(text: str | None) -> str:
    return json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True) if text else ""


def _short(value, limit: int = 100) -> str:
    if value is None:
        return ""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@router.get("/audit")
def audit_page(request: Request, project: Annotated[str | None, Query(max_length=32)] = None,
               before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 100):
    principal = page_principal(request)
    with get_db(request).session() as s:
        visible = list(s.scalars(tenancy.visible_projects(principal.user_id).order_by(Project.name)))
        names = {p.public_id: p.name for p in visible}
        my_orgs = select(Organisation.public_id).join(Membership, Membership.org_id == Organisation.id) \
            .where(Membership.user_id == principal.user_id)
        stmt = select(AuditEntry).where(or_(AuditEntry.org_id.in_(my_orgs),
                                            AuditEntry.project_id.in_([p.public_id for p in visible]),
                                            AuditEntry.actor_id == principal.public_id))
        chosen = None
        if project:
            chosen = tenancy.get_project(s, principal.user_id, project)
            stmt = stmt.where(AuditEntry.project_id == chosen.public_id)
        if before is not None:
            stmt = stmt.where(AuditEntry.seq < before)
        entries = list(s.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(limit + 1)))
        more = len(entries) > limit
        entries = entries[:limit]
        rows = [{"seq": e.seq, "ts": e.ts, "actor": e.actor_name, "action": e.action,
                 "object_type": e.object_type, "object_id": e.object_id,
                 "project": names.get(e.project_id, e.project_id or ""), "project_id": e.project_id,
                 "reason": e.reason or "", "old": _short(json.loads(e.old_value) if e.old_value else None),
                 "new": _short(json.loads(e.new_value) if e.new_value else None),
                 "old_full": _pretty(e.old_value), "new_full": _pretty(e.new_value), "hash": e.hash}
                for e in entries]
    return render(request, "audit.html", principal=principal, title="Audit trail", nav="audit", rows=rows,
                  projects=[{"id": p.public_id, "name": p.name} for p in visible],
                  project=chosen.public_id if chosen else "", next_before=rows[-1]["seq"] if more else None,
                  limit=limit)


# --- train design ----------------------------------------------------------------------------------------

def _routes() -> list[dict]:
    from ..io.train import read_factors

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
    return render(request, "train.html", principal=principal, title="Train design", nav="train",
                  routes=_routes(), example=trains.examples_dir() is not None,
                  example_name=trains.EXAMPLE_TRAIN, projects=projects, project_id=project or "")


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
        train_bytes = await run_in_threadpool(read_limited, train.file, trains.MAX_TRAIN_BYTES)
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
        raise InputError(f"at most {limit} characters", field=name)
    if "\x00" in value:
        raise InputError("must not contain NUL characters", field=name)
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
            return trains.design_example(route=route)
        if example:  # saved as if uploaded: the example's file and the files it names
            name, content, named = trains.example_sources()
            files.clear()
            files.update(named)
            return trains.design_uploaded(name, content, named, route=route), name
        if train_name is None:
            raise InputError("choose a train file (.yaml or .yml), or the example train", field="train")
        return trains.design_uploaded(train_name, train_bytes, files, route=route), train_name

    try:
        design, filename = await run_in_threadpool(run)
    except FluxwiseError:
        raise
    except Exception as exc:  # a file nobody foresaw must get its message, not a 500
        log.warning("train design failed", exc_info=True)
        raise InputError(f"the train could not be designed ({type(exc).__name__}: {exc})") from None
    if project is not None:
        content = trains.example_sources()[1] if example else train_bytes

        def save() -> str:
            from ..api import science

            data = science.train_json(design)
            typed = {n: (c, CONTENT_TYPES.get(Path(n).suffix.lower(), store_trains.YAML_TYPE))
                     for n, c in files.items()}
            with db.session(write=True) as ws:
                rv = store_trains.save_train(
                    ws, ws.get(Project, project.id), actor=ws.get(User, principal.user_id),
                    train_name=filename, train_bytes=content, files=typed, route=route, data=data,
                    notes=notes)
                ws.commit()
                return rv.result_id

        url = f"/trains/{await run_in_threadpool(save)}"
    else:
        kept = trains.keep(principal.user_id, design, filename)
        url = f"/train/{kept.id}"
    if _wants_json(request):
        return JSONResponse({"url": url}, status_code=201)
    return RedirectResponse(url, status_code=303)


@router.get("/train/{run_id}")
def train_result_page(request: Request, run_id: str):
    principal = page_principal(request)
    run = trains.get(run_id, principal.user_id)
    return _train_design_page(request, principal, run.design, run.filename, f"/train/{run.id}/report")


def _saved_train(s, principal: Principal, result_id: str) -> ResultVersion:
    versions = tenancy.get_result_versions(s, principal.user_id, result_id)
    if versions[-1].kind != "train" or versions[-1].deleted_at is not None:
        raise tenancy.NotFound("train design not found")
    return versions[-1]


@router.get("/trains/{result_id}")
def saved_train_page(request: Request, result_id: str):
    """A train design saved in a project, designed again from its stored files."""
    from ..api import science
    from ..api.routers.results import saved_train_design

    principal = page_principal(request)
    with get_db(request).session() as s:
        rv = _saved_train(s, principal, result_id)
        design = saved_train_design(s, rv)
        inputs = json.loads(rv.inputs_json)
        saved = {"id": rv.result_id, "version": rv.version, "project": rv.project.name,
                 "project_id": rv.project.public_id, "by": rv.created_by.name if rv.created_by else None,
                 "created": rv.created_at, "sha256": rv.content_sha256, "notes": rv.notes,
                 "signatures": store_results.signatures_of(s, rv),
                 "differs": json.loads(canonical_json(science.train_json(design)))
                 != json.loads(rv.data_json)}
        return _train_design_page(request, principal, design, inputs["train"]["filename"],
                                  f"/trains/{rv.result_id}/report", saved=saved)


@router.get("/trains/{result_id}/report")
def saved_train_report_page(request: Request, result_id: str, download: bool = False):
    from ..api.routers.results import saved_train_design
    from ..report.train import render_train_report

    principal = page_principal(request)
    with get_db(request).session() as s:
        rv = _saved_train(s, principal, result_id)
        html = render_train_report(saved_train_design(s, rv))
        filename = json.loads(rv.inputs_json)["train"]["filename"]
    return _report_response(html, filename, download)


def _train_design_page(request: Request, principal: Principal, design, filename: str, report_url: str,
                       saved: dict | None = None):
    from ..report import train as train_report

    d = design.to_dict()
    figs = []
    for fid, title, fig in (
            ("fig-mass", "Product mass through the train", train_report.mass_balance_figure(design)),
            ("fig-cost", "Cost by step", train_report.line_items_figure(
                design.cost_items, title=f"Cost per batch by step [{design.train.currency}]",
                unit=design.train.currency)),
            ("fig-co2e", "CO2e by step", train_report.line_items_figure(
                design.co2e_items, title="CO2e per batch by step [kg CO2e]", unit="kg CO2e")),
            ("fig-routes", "Supplier routes", train_report.route_figure(design))):
        fig.update_layout(height=380)
        figs.append({"id": fid, "title": title, "json": present._safe_json(fig)})
    return render(request, "train_result.html", principal=principal, title=f"Train — {design.train.name}",
                  nav="train", filename=filename, report_url=report_url, saved=saved, d=d, s=d["summary"],
                  steps=present.train_steps(design), figs=figs)


@router.get("/train/{run_id}/report")
def train_report_page(request: Request, run_id: str, download: bool = False):
    from ..report.train import render_train_report

    principal = page_principal(request)
    run = trains.get(run_id, principal.user_id)
    return _report_response(render_train_report(run.design), run.filename, download)


def _report_response(html: str, filename: str, download: bool) -> HTMLResponse:
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    if download:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", filename.rsplit(".", 1)[0]) or "train"
        headers["Content-Disposition"] = f'attachment; filename="{stem}-report.html"'
    return HTMLResponse(html, headers=headers)


# --- assets ------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _plotly_js() -> tuple[bytes, bytes, str]:
    from plotly.offline import get_plotlyjs

    raw = get_plotlyjs().encode("utf-8")
    return raw, gzip.compress(raw, compresslevel=6, mtime=0), '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


@router.get("/static/plotly.min.js")
def plotly_js(request: Request):
    """plotly.js of the installed plotly package (gzip when the browser takes it)."""
    raw, gz, etag = _plotly_js()
    headers = {"Cache-Control": "public, max-age=86400", "ETag": etag, "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(gz, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"})
    return Response(raw, media_type="text/javascript", headers=headers)


def install_web(app: FastAPI) -> FastAPI:
    """Add the pages and their static files to ``app`` (an app of :func:`fluxwise.api.create_app`)."""
    app.include_router(router)
    static = resources.files("fluxwise") / "web" / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
