"""The words of an error at the HTTP door: the API's (JSON field names) or the web pages' (form labels).

One error family (:mod:`fluxwise.errors`) carries one message and, where the fix depends on the door,
advice per door. A request from the workbench's own pages says so with ``X-Fluxwise-Door: web`` (sent
by ``static/app.js``; pages rendered on the server are web by definition); its errors name the form
fields as the pages label them and never a command-line option or a Python argument.
"""

from __future__ import annotations

from starlette.requests import Request

from ..errors import FluxwiseError
from ..i18n import N_, _

DOOR_HEADER = "X-Fluxwise-Door"

#: API field -> the label of its form field in the pages.
FIELD_LABELS = {
    "area": N_("filter area"), "mode": N_("mode"), "density": N_("density"), "columns": N_("columns"),
    "batch_volume": N_("batch volume"), "process_time": N_("process time"),
    "max_pressure": N_("maximum pressure"), "flux": N_("process flux"),
    "flux_decay_limit": N_("flux-decay limit"), "safety_factor": N_("safety factor"),
    "model": N_("model"), "format_name": N_("catalog format"), "reason": N_("reason"),
    "password": N_("password"), "meaning": N_("meaning"), "email": N_("user ID (e-mail)"),
    "file": N_("file"), "train": N_("train file"), "name": N_("name"), "project": N_("project"),
}


def door_of(request: Request | None) -> str:
    """``web`` for the pages (and their script), else ``api``."""
    if request is None:
        return "api"
    return "web" if request.headers.get(DOOR_HEADER, "").strip().lower() == "web" else "api"


def label(field: str) -> str:
    """A field as the pages label it."""
    return _(FIELD_LABELS[field]) if field in FIELD_LABELS else field.lstrip("-").replace("_", " ")


def error_text(exc: FluxwiseError, door: str) -> str:
    """``exc`` in the words of ``door``."""
    return exc.for_door(door, {k: _(v) for k, v in FIELD_LABELS.items()} if door == "web" else None)


def validation_text(errors: list[dict]) -> str:
    """Request-validation errors (pydantic's list) as one sentence naming the form fields."""
    parts = []
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path", "form")]
        where = " › ".join(label(x) for x in loc if not x.isdigit())
        msg = str(e.get("msg") or _("not valid"))
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts) or _("the form is not valid")
