"""Organisations (tenants), their members, the invitations they make, and locked accounts.

Nobody is added to an organisation without agreeing: adding someone who is not a member yet makes an
invitation (``202``) that they accept (``POST /api/invitations/{id}/accept``); the answer is the same
whether or not the e-mail has an account. Accounts are made by the operator (``fluxwise user add``),
not by tenants, so that no organisation can find out which e-mails exist.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import select

from ...store import accounts, tenancy
from ...store import invitations as store_invitations
from ...store.models import Membership, Organisation, User
from .. import convert, schemas
from ..deps import DbDep, OrgDep, PrincipalDep, ReadSession, client_address, load_user

router = APIRouter(prefix="/orgs", tags=["organisations"])
ERRORS = schemas.error_responses(401, 403, 404, 422)


@router.get("", response_model=list[schemas.OrgOut], responses=ERRORS)
def list_orgs(principal: PrincipalDep, s: ReadSession):
    """The organisations the caller belongs to, with their role in each."""
    return [convert.org_out(o, r) for o, r in accounts.memberships_of(s, principal.user_id)]


@router.post("", response_model=schemas.OrgOut, status_code=201, responses=ERRORS)
def create_org(body: schemas.OrgIn, principal: PrincipalDep, db: DbDep):
    """A new organisation; the caller becomes its admin."""
    with db.session(write=True) as ws:
        user = load_user(ws, principal)
        org = accounts.create_organisation(ws, body.name, body.kind, actor=user)
        accounts.add_member(ws, user, org, "admin", actor=user)
        ws.commit()
        return convert.org_out(org, "admin")


@router.get("/{org_id}", response_model=schemas.OrgOut, responses=ERRORS)
def get_org(org: OrgDep):
    return convert.org_out(*org)


@router.put("/{org_id}/language", response_model=schemas.OrgOut, responses=ERRORS)
def set_language(body: schemas.LanguageIn, org: OrgDep, principal: PrincipalDep, db: DbDep):
    """Set the organisation's default language for its members' pages (admins only; audited); a
    member's own choice and ``?lang=`` win over it."""
    tenancy.require({org[1]}, "manage_members", "setting the default language")
    with db.session(write=True) as ws:
        target = ws.get(Organisation, org[0].id)
        accounts.set_default_language(ws, target, body.language, actor=load_user(ws, principal))
        ws.commit()
        return convert.org_out(target, org[1])


def _member(s, org: Organisation, user_id: str) -> tuple[User, Membership]:
    if not tenancy.is_public_id(user_id):
        raise tenancy.NotFound("member not found")
    row = s.execute(select(User, Membership).join(Membership, Membership.user_id == User.id)
                    .where(User.public_id == user_id, Membership.org_id == org.id)).first()
    if row is None:
        raise tenancy.NotFound("member not found")
    return row[0], row[1]


@router.get("/{org_id}/members", response_model=list[schemas.MemberOut], responses=ERRORS)
def list_members(org: OrgDep, s: ReadSession):
    """The members and their roles; admins also see which accounts are locked."""
    rows = s.query(User, Membership.role).join(Membership, Membership.user_id == User.id) \
        .filter(Membership.org_id == org[0].id).order_by(User.name)
    locked = {u.id for _, u in accounts.locked_members(s, [org[0].id])} if org[1] == "admin" else set()
    return [schemas.MemberOut(user=convert.user_out(u), role=r, locked=u.id in locked) for u, r in rows]


@router.post("/{org_id}/members", response_model=schemas.MemberOut, status_code=200, responses={
    **ERRORS, 202: {"model": schemas.InvitationSentOut,
                    "description": "Not a member yet: an invitation was made, to be accepted by the person"}})
def add_member(body: schemas.MemberIn, org: OrgDep, principal: PrincipalDep, db: DbDep, request: Request):
    """Invite a person into the organisation (202), or change the role of a member (200); admins only.

    The invitation is made whether or not an account has the e-mail, and the answer is the same either
    way except for its id: the person sees it when they sign in and accepts or declines it.
    """
    tenancy.require({org[1]}, "manage_members", "managing members")
    client = client_address(request)
    with db.session(write=True) as ws:
        target_org = ws.get(Organisation, org[0].id)
        inv = store_invitations.invite_or_set_role(ws, target_org, body.email, body.role,
                                                   actor=load_user(ws, principal), client=client)
        ws.commit()
        if inv is None:  # already a member: the role was changed
            member = accounts.find_user(ws, body.email)
            return schemas.MemberOut(user=convert.user_out(member), role=body.role)
        return JSONResponse(jsonable_encoder(convert.invitation_sent_out(inv)), status_code=202)


@router.put("/{org_id}/members/{user_id}", response_model=schemas.MemberOut, responses=ERRORS)
def set_role(user_id: str, body: schemas.RoleIn, org: OrgDep, principal: PrincipalDep, s: ReadSession,
             db: DbDep):
    """Change a member's role (admins only; the last admin stays admin)."""
    tenancy.require({org[1]}, "manage_members", "managing members")
    user, _ = _member(s, org[0], user_id)
    with db.session(write=True) as ws:
        accounts.add_member(ws, ws.get(User, user.id), ws.get(Organisation, org[0].id), body.role,
                            actor=load_user(ws, principal))
        ws.commit()
    return schemas.MemberOut(user=convert.user_out(user), role=body.role)


@router.delete("/{org_id}/members/{user_id}", status_code=204, responses=ERRORS)
def remove_member(user_id: str, org: OrgDep, principal: PrincipalDep, s: ReadSession, db: DbDep,
                  request: Request):
    """Remove a member (admins; or a member leaving). The last admin cannot be removed. Audited."""
    user, _ = _member(s, org[0], user_id)
    if user.id != principal.user_id:
        tenancy.require({org[1]}, "manage_members", "removing a member")
    with db.session(write=True) as ws:
        accounts.remove_member(ws, ws.get(User, user.id), ws.get(Organisation, org[0].id),
                               actor=load_user(ws, principal), client=client_address(request))
        ws.commit()
    return Response(status_code=204)


@router.post("/{org_id}/members/{user_id}/unlock", status_code=204, responses=ERRORS)
def unlock_member(user_id: str, org: OrgDep, principal: PrincipalDep, s: ReadSession, db: DbDep,
                  request: Request):
    """Unlock a member's account locked after repeated failed password checks (admins only; audited)."""
    tenancy.require({org[1]}, "manage_members", "unlocking an account")
    user, _ = _member(s, org[0], user_id)
    with db.session(write=True) as ws:
        accounts.unlock_account(ws, ws.get(User, user.id), actor=load_user(ws, principal), org=org[0],
                                client=client_address(request))
        ws.commit()
    return Response(status_code=204)


@router.get("/{org_id}/alerts", response_model=list[schemas.LockedMemberOut], responses=ERRORS)
def list_alerts(org: OrgDep, s: ReadSession):
    """Members whose account is locked now (admins only): unlock them with ``.../unlock``."""
    tenancy.require({org[1]}, "manage_members", "seeing locked accounts")
    return [schemas.LockedMemberOut(org=schemas.OrgRef(id=o.public_id, name=o.name), user=convert.user_out(u))
            for o, u in accounts.locked_members(s, [org[0].id])]


@router.get("/{org_id}/invitations", response_model=list[schemas.InvitationOut], responses=ERRORS)
def list_invitations(org: OrgDep, s: ReadSession):
    """Invitations the organisation made (people and project shares), newest first; admins only."""
    tenancy.require({org[1]}, "manage_members", "seeing the organisation's invitations")
    return [convert.invitation_out(s, inv, inviter=True) for inv in store_invitations.outgoing(s, org[0])]


@router.delete("/{org_id}/invitations/{invitation_id}", status_code=204, responses={
    **ERRORS, 409: {"model": schemas.ErrorOut}})
def revoke_invitation(invitation_id: str, org: OrgDep, principal: PrincipalDep, s: ReadSession, db: DbDep,
                      request: Request):
    """Withdraw an invitation that was not accepted yet (admins only; audited)."""
    tenancy.require({org[1]}, "manage_members", "withdrawing an invitation")
    inv = store_invitations.get_outgoing(s, org[0], invitation_id)
    with db.session(write=True) as ws:
        store_invitations.revoke(ws, ws.get(type(inv), inv.id), actor=load_user(ws, principal),
                                 client=client_address(request))
        ws.commit()
    return Response(status_code=204)
