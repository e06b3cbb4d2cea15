"""One trial: its plots, data, model table, sizing form and results, and the signatures they carry."""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import Query, Request

from ...api import convert
from ...api.deps import get_db, get_science
from ...api.upload_checks import display_filename
from ...i18n import N_, _
from ...models.fouling import MODEL_NAMES
from ...store import tenancy
from ...store import uploads as store_uploads
from ...store.models import ResultVersion, TrialRecord
from .. import present
from .base import latest_versions, page_principal, page_router, render

router = page_router()


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
    for kind, (_value, unit) in (("volume", bv), ("time", pt), ("pressure", mp)):
        if unit and unit not in units[kind]:
            units[kind].append(unit)  # as stored with an earlier sizing
    def celsius(key):
        value, unit = _split_quantity(inputs.get(key), "", "degC")
        return value if unit in ("degC", "°C", "C") else ""

    buffer, buffer_unit = _split_quantity(inputs.get("buffer_flux"), "", "LMH")
    return {"batch_volume": bv, "process_time": pt, "max_pressure": mp,
            "process_temperature": celsius("process_temperature"),
            "trial_temperature": celsius("trial_temperature"),
            "buffer_flux": buffer if buffer_unit in ("LMH", "L/m2/h", "L/m²/h") else "",
            "fix_j0": bool(inputs.get("fix_j0")),
            "safety_factor": inputs.get("safety_factor", 1.5), "model": inputs.get("model", "best"),
            "format_name": inputs.get("format_name") or "", "flux_decay_limit": str(fdl).rstrip("%"),
            "flux": flux,
            "units": units}


def _catalog() -> list[dict]:
    from ...io.catalog import read_catalog

    return [{"name": f.name, "area": present.num(f.area_m2), "kind": f.kind, "scale": f.scale}
            for f in read_catalog(None)]


@router.get("/trials/{trial_id}")
def trial_page(request: Request, trial_id: str, result: Annotated[str | None, Query(max_length=32)] = None):
    principal = page_principal(request)
    with get_db(request).session() as s:
        rec = tenancy.get_trial(s, principal.user_id, trial_id)
        roles = tenancy.project_roles(s, principal.user_id, rec.project)
        results = [convert.result_out(s, versions) for versions in
                   latest_versions(s, ResultVersion.trial_id == rec.id)]
        results = [r for r in results if not r.deleted]
        trial = store_uploads.trial_from_record(rec)
        upload = rec.upload
        info = {"id": rec.public_id, "source": display_filename(convert.shown_filename(upload)),
                "stored_as": upload.filename if upload.original_filename else None, "mode": rec.mode,
                "area_m2": rec.area_m2,
                "area_cm2": present.num(rec.area_m2 * 1e4), "points": rec.points, "revision": rec.revision,
                "size_kb": present.num(upload.size_bytes / 1024, 3), "sha256": upload.sha256,
                "upload_id": upload.public_id, "created": rec.created_at,
                "density": rec.density_input, "meta": json.loads(rec.data_json).get("meta") or {}}
        project = {"id": rec.project.public_id, "name": rec.project.name,
                   "org": rec.project.organisation.name}
        correction = _correction_form(rec, info["meta"])
    fits = [r for r in results if r.kind == "fit"]
    sizings = [r for r in results if r.kind == "sizing"]
    fit = next((r for r in reversed(fits) if not r.stale), fits[-1] if fits else None)
    chosen = next((r for r in sizings if r.id == result), None) or (sizings[-1] if sizings else None)
    sizing_inputs = chosen.inputs if chosen is not None and not chosen.stale else None
    figs = present.trial_figures((rec.public_id, info["revision"]), trial, sizing_inputs,
                                 get_science(request))
    from ...fit.linearised import vmax_linearity
    meanings = [m for m in ("author", "review", "approve") if roles & tenancy.PERMISSIONS[f"sign:{m}"]]
    sizing_form = _sizing_form(rec, chosen.inputs if chosen is not None else None)
    fit_rows = present.model_rows(fit.data) if fit is not None else []
    return render(
        request, "trial.html", principal=principal, title=info["source"], nav="projects", trial=info,
        project=project, figs=figs, fit=fit, fit_rows=fit_rows, sse_unit=present.sse_unit(info["mode"]),
        vmax=(fit.data.get("vmax") if fit is not None else None), vmax_check=vmax_linearity(trial),
        results=list(reversed(results)),
        sizing=chosen, sizing_view=present.sizing_view(chosen.data, chosen.inputs) if chosen else None,
        form=sizing_form, models=list(MODEL_NAMES), catalog=_catalog(), meanings=meanings,
        data=present.data_view(trial), correction=correction,
        can_write=bool(roles & tenancy.PERMISSIONS["write"]))


#: The columns a correction can name, with the units offered for each (any other may be typed).
CORRECTION_ROLES = (
    ("time", N_("Time"), ("s", "min", "h")),
    ("mass", N_("Filtrate mass"), ("g", "kg")),
    ("volume", N_("Filtrate volume"), ("mL", "L")),
    ("pressure", N_("Pressure"), ("bar", "psi", "kPa", "mbar")),
    ("flow", N_("Flow or flux"), ("mL/min", "L/h", "LMH")),
    ("turbidity", N_("Turbidity"), ("NTU", "FNU")),
)


def _correction_form(rec: TrialRecord, meta: dict) -> dict:
    """What the correction form on the trial page starts from: the file's headers, the mapping the
    trial was read with (given, else detected), and the area, density and mode as given."""
    given = store_uploads.trial_columns(rec) or {}
    detected, units = meta.get("columns") or {}, meta.get("units") or {}
    headers = list(dict.fromkeys([*detected.values(), *(meta.get("ignored_columns") or [])]))
    rows = []
    for role, label, offered in CORRECTION_ROLES:
        ref = given.get(role)
        if ref is not None:
            header, unit = (ref[0], ref[1] or "") if isinstance(ref, list | tuple) else (ref, "")
        elif not given and role in detected:
            header, unit = detected[role], units.get(role) or ""
        else:
            header, unit = "", ""
        rows.append({"role": role, "label": _(label), "header": header, "unit": unit,
                     "units": list(dict.fromkeys([*offered, *([unit] if unit else [])]))})
    return {"headers": headers, "rows": rows, "area": rec.area_input or "",
            "density": rec.density_input or "", "mode": rec.mode_input or "", "given": bool(given)}
