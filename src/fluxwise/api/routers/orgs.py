"""Organisations (tenants) and their members."""

from __future__ import annotations

from fastapi import APIRouter

from ...errors import InputError
from ...store import accounts, tenancy
from ...store.models import Membership, Organisation, User
from .. import convert, schemas
from ..deps import DbDep, OrgDep, PrincipalDep, ReadSession, load_user

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


@router.get("/{org_id}/members", response_model=list[schemas.MemberOut], responses=ERRORS)
def list_members(org: OrgDep, s: ReadSession):
    rows = s.query(User, Membership.role).join(Membership, Membership.user_id == User.id) \
        .filter(Membership.org_id == org[0].id).order_by(User.name)
    return [schemas.MemberOut(user=convert.user_out(u), role=r) for u, r in rows]


@router.post("/{org_id}/members", response_model=schemas.MemberOut, status_code=201, responses=ERRORS)
def add_member(body: schemas.MemberIn, org: OrgDep, principal: PrincipalDep, db: DbDep):
    """Add a user to the organisation (or change their role); admins only.

    An unknown e-mail creates the user when ``name`` and ``password`` are given.
    """
    tenancy.require({org[1]}, "manage_members", "managing members")
    with db.session(write=True) as ws:
        actor = load_user(ws, principal)
        target_org = ws.get(Organisation, org[0].id)
        user = accounts.find_user(ws, body.email)
        if user is None:
            if not body.name or not body.password:
                raise InputError(f"there is no user with e-mail {body.email}; give 'name' and 'password' "
                                 "to create one", field="email")
            user = accounts.create_user(ws, body.email, body.name, body.password, actor=actor)
        accounts.add_member(ws, user, target_org, body.role, actor=actor)
        ws.commit()
        return schemas.MemberOut(user=convert.user_out(user), role=body.role)
