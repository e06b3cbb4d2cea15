"""Invitations addressed to the caller: to join an organisation (by their e-mail), or to receive a
project shared into an organisation they are an admin of. Accepting is what makes it happen."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ...store import invitations as store_invitations
from ...store.models import Invitation
from .. import convert, schemas
from ..deps import DbDep, PrincipalDep, ReadSession, client_address, load_user

router = APIRouter(prefix="/invitations", tags=["invitations"])
ERRORS = schemas.error_responses(401, 404, 409)


@router.get("", response_model=list[schemas.InvitationOut], responses=ERRORS)
def list_incoming(principal: PrincipalDep, s: ReadSession, include_answered: bool = False):
    """Open invitations to the caller (and, with ``include_answered``, those answered or withdrawn)."""
    user = load_user(s, principal)
    return [convert.invitation_out(s, inv, inviter=False)
            for inv in store_invitations.incoming(s, user, pending_only=not include_answered)]


def _answer(invitation_id: str, principal, s, db, request: Request,
            accept: bool) -> schemas.InvitationAnswerOut:
    inv = store_invitations.get_incoming(s, load_user(s, principal), invitation_id)
    with db.session(write=True) as ws:
        row, user = ws.get(Invitation, inv.id), load_user(ws, principal)
        if accept:
            store_invitations.accept(ws, row, user=user, client=client_address(request))
        else:
            store_invitations.decline(ws, row, user=user, client=client_address(request))
        ws.commit()
        org = schemas.OrgRef(id=row.organisation.public_id, name=row.organisation.name)
        project = (None if row.project is None
                   else schemas.OrgRef(id=row.project.public_id, name=row.project.name))
        return schemas.InvitationAnswerOut(id=row.public_id, status=row.status,
                                           org=org if accept and row.kind == "member" else None,
                                           project=project if accept else None)


@router.post("/{invitation_id}/accept", response_model=schemas.InvitationAnswerOut, responses=ERRORS)
def accept(invitation_id: str, principal: PrincipalDep, s: ReadSession, db: DbDep, request: Request):
    """Accept: join the organisation with the role offered, or open the project to your organisation."""
    return _answer(invitation_id, principal, s, db, request, accept=True)


@router.post("/{invitation_id}/decline", response_model=schemas.InvitationAnswerOut, responses=ERRORS)
def decline(invitation_id: str, principal: PrincipalDep, s: ReadSession, db: DbDep, request: Request):
    """Decline (the inviting side is not told; to them it stays open until it expires)."""
    return _answer(invitation_id, principal, s, db, request, accept=False)
