"""People and consent: your account (password, API tokens, invitations to answer), an organisation's
members and invitations (admins invite, change roles, remove, unlock), sharing a project into another
organisation, and the audit-trail review. Plain forms posting back here with the CSRF token; every
step is audited by the store functions they call."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from ...api import convert
from ...api.deps import FormPrincipalDep, client_address, get_db, signing
from ...errors import InputError
from ...i18n import N_, _
from ...store import accounts, reviews, tenancy
from ...store import invitations as store_invitations
from ...store import projects as store_projects
from ...store.models import ApiToken, Invitation, Membership, Organisation, Project, User
from .base import page_principal, page_router, render

router = page_router()

#: Notices shown after a form succeeded (``?done=...``); fixed texts, so nothing in a URL is echoed.
NOTICES = {
    "invited": N_("Invitation made. It takes effect when it is accepted; until then nothing is visible on "
                  "either side. (Whether the e-mail has an account is not told.)"),
    "shared": N_("Invitation made. The project is shared when an admin of that organisation accepts it; "
                 "until then they see nothing. (Whether the id names an organisation is not told.)"),
    "role": N_("Role changed."), "removed": N_("Member removed."), "unlocked": N_("Account unlocked."),
    "revoked": N_("Invitation withdrawn."), "unshared": N_("Share ended."),
    "password": N_("Password changed; your other sessions were signed out."),
    "accepted": N_("Invitation accepted."), "declined": N_("Invitation declined."),
    "token_revoked": N_("Token revoked."), "reviewed": N_("Review recorded in the audit trail."),
    "language": N_("Default language saved."),
}


def _done(url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?done={notice}", status_code=303)


def _notice(request: Request) -> str | None:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return _(notice) if notice else None


def _text(value: str, field: str) -> str:
    if "\x00" in value:
        raise InputError(_("must not contain NUL characters"), field=field)
    return value


# --- your account -------------------------------------------------------------------------------------------

def _invitation_row(s, inv: Invitation) -> dict:
    out = convert.invitation_out(s, inv, inviter=False)
    return {"id": out.id, "kind": out.kind, "org": out.org.name, "role": out.role, "email": out.email,
            "project": out.project.name if out.project else None, "by": out.created_by,
            "created": out.created_at, "expires": out.expires_at}


@router.get("/account")
def account_page(request: Request):
    principal = page_principal(request)
    with get_db(request).session() as s:
        user = s.get(User, principal.user_id)
        invitations = [_invitation_row(s, inv) for inv in store_invitations.incoming(s, user)]
        orgs = [{"id": o.public_id, "name": o.name, "kind": o.kind, "role": r}
                for o, r in accounts.memberships_of(s, user.id)]
        tokens = [convert.token_out(t) for t in s.scalars(select(ApiToken).where(
            ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc()))]
    return render(request, "account.html", principal=principal, title=_("Your account"), nav="account",
                  invitations=invitations, orgs=orgs, tokens=tokens, notice=_notice(request))


@router.post("/account/password")
def change_password(request: Request, principal: FormPrincipalDep,
                    current_password: Annotated[str, Form(max_length=1024)],
                    new_password: Annotated[str, Form(max_length=1024)],
                    new_password_again: Annotated[str, Form(max_length=1024)]):
    if new_password != new_password_again:
        raise InputError(_("the two new passwords differ"), field="new_password_again")
    with get_db(request).session(write=True) as ws:
        try:
            accounts.change_password(ws, ws.get(User, principal.user_id), current_password, new_password,
                                     client=client_address(request), keep_session_key=principal.session_key)
        except accounts.AuthenticationError:
            ws.commit()  # audited; counts towards the lockout
            raise tenancy.Forbidden(_("wrong current password: the password was not changed")) from None
        ws.commit()
    return _done("/account", "password")


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: str, principal: FormPrincipalDep):
    with get_db(request).session(write=True) as ws:
        row = tenancy.get_api_token(ws, principal.user_id, token_id)
        accounts.revoke_api_token(ws, row, actor=ws.get(User, principal.user_id),
                                  client=client_address(request))
        ws.commit()
    return _done("/account", "token_revoked")


@router.post("/invitations/{invitation_id}/{answer}")
def answer_invitation(request: Request, invitation_id: str, answer: str, principal: FormPrincipalDep):
    if answer not in ("accept", "decline"):
        raise tenancy.NotFound(_("page not found"))
    with get_db(request).session(write=True) as ws:
        user = ws.get(User, principal.user_id)
        inv = store_invitations.get_incoming(ws, user, invitation_id)
        if answer == "accept":
            store_invitations.accept(ws, inv, user=user, client=client_address(request))
            target = (f"/projects/{inv.project.public_id}" if inv.kind == "share"
                      else f"/orgs/{inv.organisation.public_id}")
        else:
            store_invitations.decline(ws, inv, user=user, client=client_address(request))
            target = "/account"
        ws.commit()
    return _done(target, "accepted" if answer == "accept" else "declined")


# --- an organisation ----------------------------------------------------------------------------------------

@router.get("/orgs/{org_id}")
def org_page(request: Request, org_id: str):
    principal = page_principal(request)
    with get_db(request).session() as s:
        org, role = tenancy.get_organisation(s, principal.user_id, org_id)
        admin = role == "admin"
        locked = {u.id for _org, u in accounts.locked_members(s, [org.id])} if admin else set()
        rows = s.execute(select(User, Membership.role).join(Membership, Membership.user_id == User.id)
                         .where(Membership.org_id == org.id).order_by(User.name))
        members = [{"id": u.public_id, "name": u.name, "email": u.email, "role": r, "locked": u.id in locked,
                    "me": u.id == principal.user_id} for u, r in rows]
        invitations = [convert.invitation_out(s, inv, inviter=True)
                       for inv in store_invitations.outgoing(s, org)] if admin else []
        review = reviews.review_status(s, org)
        ctx = {"org": {"id": org.public_id, "name": org.name, "kind": org.kind, "created": org.created_at,
                       "default_language": org.default_language},
               "role": role, "admin": admin, "members": members, "invitations": invitations,
               "review": review, "can_review": role in tenancy.PERMISSIONS["review_audit"]}
    return render(request, "org.html", principal=principal, title=ctx["org"]["name"], nav="account",
                  notice=_notice(request), roles=list(tenancy.PERMISSIONS["read"]), **ctx)


def _admin_org(s, principal, org_id: str) -> Organisation:
    org, role = tenancy.get_organisation(s, principal.user_id, org_id)
    tenancy.require({role}, "manage_members", "managing members")
    return org


def _member_of(s, org: Organisation, user_id: str) -> User:
    if not tenancy.is_public_id(user_id):
        raise tenancy.NotFound(_("member not found"))
    user = s.scalar(select(User).join(Membership, Membership.user_id == User.id)
                    .where(User.public_id == user_id, Membership.org_id == org.id))
    if user is None:
        raise tenancy.NotFound(_("member not found"))
    return user


@router.post("/orgs/{org_id}/language")
def set_language(request: Request, org_id: str, principal: FormPrincipalDep,
                 language: Annotated[str, Form(max_length=16)] = ""):
    """Set the organisation's default language (admins): as ``PUT /api/orgs/{id}/language``."""
    with get_db(request).session(write=True) as ws:
        org = _admin_org(ws, principal, org_id)
        accounts.set_default_language(ws, org, language, actor=ws.get(User, principal.user_id))
        ws.commit()
    return _done(f"/orgs/{org_id}", "language")


@router.post("/orgs/{org_id}/members")
def invite_member(request: Request, org_id: str, principal: FormPrincipalDep,
                  email: Annotated[str, Form(max_length=320)], role: Annotated[str, Form(max_length=16)]):
    """Invite by e-mail, or change the role of a member: as ``POST /api/orgs/{id}/members``."""
    with get_db(request).session(write=True) as ws:
        org = _admin_org(ws, principal, org_id)
        inv = store_invitations.invite_or_set_role(ws, org, _text(email, "email"), role,
                                                   actor=ws.get(User, principal.user_id),
                                                   client=client_address(request))
        notice = "role" if inv is None else "invited"
        ws.commit()
    return _done(f"/orgs/{org_id}", notice)


@router.post("/orgs/{org_id}/members/{user_id}/{action}")
def member_action(request: Request, org_id: str, user_id: str, action: str, principal: FormPrincipalDep,
                  role: Annotated[str | None, Form(max_length=16)] = None):
    """``role`` (change), ``remove`` (or leave, for yourself) or ``unlock`` a member."""
    if action not in ("role", "remove", "unlock"):
        raise tenancy.NotFound(_("page not found"))
    client = client_address(request)
    with get_db(request).session(write=True) as ws:
        org, my_role = tenancy.get_organisation(ws, principal.user_id, org_id)
        user = _member_of(ws, org, user_id)
        actor = ws.get(User, principal.user_id)
        leaving = action == "remove" and user.id == principal.user_id
        if not leaving:
            tenancy.require({my_role}, "manage_members", "managing members")
        if action == "role":
            accounts.add_member(ws, user, org, role or "", actor=actor)
        elif action == "remove":
            accounts.remove_member(ws, user, org, actor=actor, client=client)
        else:
            accounts.unlock_account(ws, user, actor=actor, org=org, client=client)
        ws.commit()
    if leaving:
        return _done("/account", "removed")
    return _done(f"/orgs/{org_id}", {"role": "role", "remove": "removed", "unlock": "unlocked"}[action])


@router.post("/orgs/{org_id}/invitations/{invitation_id}/revoke")
def revoke_invitation(request: Request, org_id: str, invitation_id: str, principal: FormPrincipalDep):
    with get_db(request).session(write=True) as ws:
        org = _admin_org(ws, principal, org_id)
        inv = store_invitations.get_outgoing(ws, org, invitation_id)
        store_invitations.revoke(ws, inv, actor=ws.get(User, principal.user_id),
                                 client=client_address(request))
        ws.commit()
    return _done(f"/orgs/{org_id}", "revoked")


# --- sharing a project --------------------------------------------------------------------------------------

def project_shares(s, principal, project: Project) -> dict:
    """The shares section of a project page: for owner admins, whom it is shared with and the open
    share invitations; nothing for others (recipients do not see other recipients)."""
    owner_admin = "admin" in tenancy.owner_roles(s, principal.user_id, project)
    if not owner_admin:
        return {"can_share": False, "shared_with": [], "invitations": []}
    shared = [{"id": o.public_id, "name": o.name} for o in store_projects.shared_with(s, project)]
    invs = [convert.invitation_out(s, inv, inviter=True)
            for inv in store_invitations.outgoing(s, project.organisation, project=project)]
    return {"can_share": True, "shared_with": shared, "invitations": [i for i in invs if i.status == "open"]}


@router.post("/projects/{project_id}/shares")
def share_project(request: Request, project_id: str, principal: FormPrincipalDep,
                  org_id: Annotated[str, Form(max_length=100)]):
    with get_db(request).session(write=True) as ws:
        project = tenancy.get_project(ws, principal.user_id, project_id)
        tenancy.require(tenancy.owner_roles(ws, principal.user_id, project), "share", "sharing a project")
        store_invitations.invite_share(ws, project, _text(org_id, "org_id"),
                                       actor=ws.get(User, principal.user_id), client=client_address(request))
        ws.commit()
    return _done(f"/projects/{project_id}", "shared")


@router.post("/projects/{project_id}/shares/{org_id}/revoke")
def revoke_share(request: Request, project_id: str, org_id: str, principal: FormPrincipalDep):
    with get_db(request).session(write=True) as ws:
        project = tenancy.get_project(ws, principal.user_id, project_id)
        receiving_admin = store_projects.end_share(ws, project, org_id, actor=ws.get(User, principal.user_id),
                                                   client=client_address(request))
        ws.commit()
    return _done("/projects" if receiving_admin else f"/projects/{project_id}", "unshared")


# --- reviewing the audit trail ------------------------------------------------------------------------------

@router.post("/orgs/{org_id}/reviews")
def record_review(request: Request, org_id: str, principal: FormPrincipalDep,
                  password: Annotated[str, Form(max_length=1024)],
                  email: Annotated[str | None, Form(max_length=320)] = None,
                  comment: Annotated[str, Form(max_length=4000)] = ""):
    """As ``POST /api/audit/reviews``: signed with user ID and password (the ID only for the first
    signing of the session)."""
    client = client_address(request)
    with get_db(request).session(write=True) as ws:
        org, role = tenancy.get_organisation(ws, principal.user_id, org_id)
        tenancy.require({role}, "review_audit", "recording an audit-trail review")
        with signing(ws, principal, "the review"):
            reviews.sign_and_record(ws, org, reviewer=ws.get(User, principal.user_id), email=email,
                                    password=password, comment=_text(comment, "comment"), client=client,
                                    first_in_session=principal.first_signing)
        ws.commit()
    return _done(f"/orgs/{org_id}", "reviewed")
