"""The projects of the signed-in user, a new project, and one project with its trials and saved
train designs."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import func, select

from ...api import convert, wording
from ...api.deps import FormPrincipalDep, Principal, get_db
from ...api.upload_checks import display_filename
from ...errors import InputError
from ...i18n import _
from ...store import accounts, tenancy
from ...store import deletions as store_deletions
from ...store import projects as store_projects
from ...store import uploads as store_uploads
from ...store.models import Organisation, Project, ResultVersion, TrialRecord, User
from .. import present
from .base import latest_versions, page_principal, page_router, render
from .people import _notice, project_shares
from .trials import CORRECTION_ROLES

router = page_router()


def _projects_context(s, principal: Principal) -> dict:
    projects = list(s.scalars(tenancy.visible_projects(principal.user_id)
                              .order_by(Project.created_at.desc(), Project.id.desc())))
    counts = dict(s.execute(select(TrialRecord.project_id, func.count()).where(
        TrialRecord.project_id.in_([p.id for p in projects])).group_by(TrialRecord.project_id)).all())
    owner_orgs = {o.id for o, _role in accounts.memberships_of(s, principal.user_id)}
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
    return render(request, "projects.html", principal=principal, title=_("Projects"), nav="projects", **ctx)


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
                raise InputError(_("must not contain NUL characters"), field="name")
            project = store_projects.create_project(ws, ws.get(Organisation, org.id), name, description,
                                                    actor=ws.get(User, principal.user_id))
            ws.commit()
            return RedirectResponse(f"/projects/{project.public_id}", status_code=303)
    except InputError as exc:
        with db.session() as s:
            ctx = _projects_context(s, principal)
        return render(request, "projects.html", status=422, principal=principal, title=_("Projects"),
                      nav="projects", error=wording.error_text(exc, "web"),
                      form={"name": name, "description": description, "org_id": org_id}, **ctx)


@router.get("/projects/{project_id}")
def project_page(request: Request, project_id: str):
    principal = page_principal(request)
    with get_db(request).session() as s:
        project = tenancy.get_project(s, principal.user_id, project_id)
        roles = tenancy.project_roles(s, principal.user_id, project)
        records = store_uploads.project_trials(s, project.id, newest_first=True)
        revision = {t.id: t.revision for t in records}
        best: dict[int, dict] = {}
        for versions in latest_versions(s, (ResultVersion.project_id == project.id)
                                        & (ResultVersion.kind == "fit")):
            rv = versions[-1]
            if rv.deleted_at is None and rv.trial_id in revision:
                data = json.loads(rv.data_json)
                best[rv.trial_id] = {"model": data.get("best_model"),
                                     "tied": data.get("indistinguishable") or [],
                                     "stale": rv.trial_revision != revision[rv.trial_id]}
        gone = store_deletions.deleted_ids(s, "trial", [t.public_id for t in records])
        records = [t for t in records if t.public_id not in gone]
        names = dict(s.execute(select(User.id, User.name).where(
            User.id.in_({t.created_by_id for t in records if t.created_by_id is not None}))).all())
        trials = [{"id": t.public_id, "source": display_filename(convert.shown_filename(t.upload)),
                   "mode": t.mode,
                   "area_cm2": present.num(t.area_m2 * 1e4), "points": t.points, "revision": t.revision,
                   "created": t.created_at, "by": names.get(t.created_by_id), "best": best.get(t.id)}
                  for t in records]
        ctx = {"project": {"id": project.public_id, "name": project.name, "description": project.description,
                           "org": project.organisation.name, "created": project.created_at},
               "roles": sorted(roles), "can_write": bool(roles & tenancy.PERMISSIONS["write"]),
               "trials": trials, "saved_trains": _saved_trains(s, project),
               "saved_supplies": _saved_supplies(s, project), "shares": project_shares(s, principal, project),
               "deleted": store_deletions.deleted_in_project(s, project),
               "can_restore": bool(roles & tenancy.PERMISSIONS["restore"]), "mapping_roles": CORRECTION_ROLES}
    return render(request, "project.html", principal=principal, title=ctx["project"]["name"], nav="projects",
                  notice=_notice(request), **ctx)


def _saved_supplies(s, project: Project) -> list[dict]:
    """The supply studies saved in ``project`` (latest versions, not deleted), newest first."""
    rows = []
    for versions in reversed(latest_versions(s, (ResultVersion.project_id == project.id)
                                             & (ResultVersion.kind == "supply"))):
        rv = versions[-1]
        if rv.deleted_at is not None:
            continue
        data, inputs = json.loads(rv.data_json), json.loads(rv.inputs_json)
        plan, camp = data.get("plan") or {}, data.get("campaign") or {}
        checked = convert.result_out(s, versions)
        rows.append({"id": rv.result_id, "name": plan.get("name") or "supply study",
                     "filename": inputs["plan"]["filename"], "version": rv.version,
                     "batches_lost": camp.get("batches_lost_mean"),
                     "batch_service": camp.get("batch_service"),
                     "replications": plan.get("replications"), "created": rv.created_at,
                     "by": rv.created_by.name if rv.created_by else None,
                     "signatures": checked.signatures, "record_ok": checked.record_ok})
    return rows


def _saved_trains(s, project: Project) -> list[dict]:
    """The train designs saved in ``project`` (latest versions, not deleted), newest first."""
    rows = []
    for versions in reversed(latest_versions(s, (ResultVersion.project_id == project.id)
                                             & (ResultVersion.kind == "train"))):
        rv = versions[-1]
        if rv.deleted_at is not None:
            continue
        data, inputs = json.loads(rv.data_json), json.loads(rv.inputs_json)
        summary = data.get("summary") or {}
        checked = convert.result_out(s, versions)  # signatures shown valid only once checked
        rows.append({"id": rv.result_id, "name": (data.get("train") or {}).get("name") or "train",
                     "filename": inputs["train"]["filename"], "version": rv.version,
                     "total_time_h": summary.get("total_time_h"), "cost_total": summary.get("cost_total"),
                     "currency": summary.get("currency", ""), "created": rv.created_at,
                     "by": rv.created_by.name if rv.created_by else None,
                     "signatures": checked.signatures, "record_ok": checked.record_ok})
    return rows
