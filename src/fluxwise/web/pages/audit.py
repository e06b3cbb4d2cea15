"""The audit trail of the organisations and projects the signed-in user can see."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Query, Request
from sqlalchemy import select

from ...api.deps import get_db
from ...i18n import _
from ...store import accounts, reviews, tenancy
from ...store.models import AuditEntry, Project
from .base import page_principal, page_router, render

router = page_router()


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
        stmt = select(AuditEntry).where(tenancy.visible_audit(principal.user_id, principal.public_id))
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
        review_rows = []
        for org, _role in accounts.memberships_of(s, principal.user_id):
            status = reviews.review_status(s, org)
            review_rows.append({"org_id": org.public_id, "org": org.name, "overdue": status["overdue"],
                                "last": status["last"].reviewed_at if status["last"] else None})
    return render(request, "audit.html", principal=principal, reviews=review_rows, title=_("Audit trail"),
                  nav="audit", rows=rows,
                  projects=[{"id": p.public_id, "name": p.name} for p in visible],
                  project=chosen.public_id if chosen else "", next_before=rows[-1]["seq"] if more else None,
                  limit=limit)
