"""Screening in the workbench: a project's trials compared side by side for one batch, ranked by filter
cost per batch, with one overlay plot of flux decay vs loading (the numbers of ``fluxwise compare``)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select

from ...api import science, wording
from ...api.deps import get_db
from ...errors import FluxwiseError, InputError
from ...i18n import _
from ...store import tenancy
from ...store import uploads as store_uploads
from ...store.models import TrialRecord
from .. import present
from .base import page_principal, page_router, render

router = page_router()

#: The form's fields and their defaults (quantities as text with units, as the CLI takes them).
FORM_FIELDS = {"batch_volume": "2000 L", "process_time": "4 h", "max_pressure": "", "flux": "",
               "safety_factor": "1.5", "titre": "", "product_value": "", "chase": "", "product_flush": "",
               "pre_use_flush": ""}
MAX_TRIALS = 20


def _rows(data: dict, ids: dict) -> list[dict]:
    out = []
    for r in data["rows"]:
        row = {"rank": r["rank"], "trial": r["trial"], "trial_id": ids.get(r["trial"]),
               "best": r["best_model"],
               "tied": [m for m in r.get("tied_models") or [] if m != r["best_model"]],
               "error": r.get("error")}
        if r.get("error") is None:
            lost = (f"{present.num(r['product_lost_g'])} g" if r["product_lost_g"] is not None
                    else f"{present.num(r['product_lost_L'])} L")
            row.update(capacity=present.num(r["capacity_L_per_m2"]), flux=present.num(r["average_flux_LMH"]),
                       j0=present.num(r["J0_LMH"]), min_area=present.num(r["min_area_m2"]),
                       installed=present.num(r["installed_area_m2"]), format=r["format_label"],
                       filters=f"{r['filters_usd']:,.0f}", lost=lost,
                       cost=f"{r['cost_per_batch_usd']:,.0f}", warnings=r.get("warnings") or [])
        out.append(row)
    return out


@router.get("/projects/{project_id}/compare")
def compare_page(request: Request, project_id: str):
    principal = page_principal(request)
    params = request.query_params
    chosen = list(dict.fromkeys(params.getlist("trial")))[:MAX_TRIALS]
    form = {k: (params.get(k) if params.get(k) is not None else v) for k, v in FORM_FIELDS.items()}
    with get_db(request).session() as s:
        project = tenancy.get_project(s, principal.user_id, project_id)
        records = list(s.scalars(select(TrialRecord).where(TrialRecord.project_id == project.id)
                                 .order_by(TrialRecord.created_at, TrialRecord.id)))
        options = [{"id": t.public_id, "source": t.upload.filename, "mode": t.mode,
                    "checked": t.public_id in chosen} for t in records]
        by_id = {t.public_id: t for t in records}
        trials, names, ids = [], [], {}
        for tid in chosen:
            if tid not in by_id:
                continue
            name = by_id[tid].upload.filename
            if name in ids:  # two uploads of one file name: tell them apart
                name = f"{name} ({sum(n.startswith(by_id[tid].upload.filename) for n in names) + 1})"
            trials.append(store_uploads.trial_from_record(by_id[tid]))
            names.append(name)
            ids[name] = tid
        info = {"id": project.public_id, "name": project.name}
    error = data = figure = None
    if chosen and not trials:
        error = "none of the trials chosen is in this project"
    elif trials:
        inputs = {k: (str(v).strip() or None) for k, v in form.items()}
        try:
            if inputs["safety_factor"] is not None:
                try:
                    inputs["safety_factor"] = float(inputs["safety_factor"])
                except ValueError:
                    raise InputError(_("'%(value)s' is not a number", value=form["safety_factor"]),
                                     field="safety_factor") from None
            result = science.comparison(trials, names, inputs)
            data = science.comparison_json(result)
            fig = result.figure()
            fig.update_layout(height=460, margin=dict(l=64, r=16, t=48, b=56))
            figure = {"id": "fig-overlay", "title": _("Flux decay vs loading"),
                      "json": present.figure_json(fig)}
        except FluxwiseError as exc:
            error = wording.error_text(exc, "web")
    rows = _rows(data, ids) if data else []
    return render(request, "compare.html", principal=principal,
                  title=_("Compare trials — %(name)s", name=info["name"]),
                  nav="projects", project=info, options=options, form=form, data=data, rows=rows,
                  figure=figure, error=error, status=422 if error else 200)
