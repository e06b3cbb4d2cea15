"""Sign in and out, who am I, API tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from ...store import accounts
from ...store.models import ApiToken, utcnow
from .. import convert, schemas
from ..deps import (
    DbDep,
    PrincipalDep,
    ReadSession,
    SettingsDep,
    TokenDep,
    clear_session_cookies,
    client_address,
    load_user,
    set_session_cookies,
)

router = APIRouter(prefix="/auth", tags=["auth"])
ERRORS = {401: {"model": schemas.ErrorOut}, 403: {"model": schemas.ErrorOut}}


@router.post("/login", response_model=schemas.LoginOut,
             responses={401: {"model": schemas.ErrorOut}, 429: {"model": schemas.ErrorOut}})
def login(body: schemas.LoginIn, request: Request, response: Response, db: DbDep, settings: SettingsDep):
    """Check e-mail and password; set the session cookie (HttpOnly) and the CSRF cookie.

    Five wrong passwords for one e-mail from one address within 5 minutes lock further tries
    for the rest of those 5 minutes (429 with Retry-After).
    """
    client = client_address(request)
    with db.session(write=True) as ws:
        try:
            user, key, bs = accounts.login(ws, body.email, body.password, client,
                                           lifetime=settings.session_lifetime)
        except accounts.AuthenticationError:
            ws.commit()  # keep the failure: it counts towards the rate limit
            raise
        ws.commit()
    set_session_cookies(request, response, key, bs)
    return schemas.LoginOut(user=convert.user_out(user), csrf_token=bs.csrf_token, expires_at=bs.expires_at)


@router.post("/logout", status_code=204, responses=ERRORS)
def logout(principal: PrincipalDep, response: Response, db: DbDep):
    """End the browser session (for an API token this does nothing: revoke the token instead)."""
    if principal.session_key:
        with db.session(write=True) as ws:
            accounts.end_browser_session(ws, principal.session_key)
            ws.commit()
    clear_session_cookies(response)
    response.status_code = 204
    return None


@router.get("/me", response_model=schemas.MeOut, responses=ERRORS)
def me(principal: PrincipalDep, s: ReadSession):
    """The caller, their organisations and roles, and (for a browser session) the CSRF token."""
    user = load_user(s, principal)
    return schemas.MeOut(
        user=convert.user_out(user),
        memberships=[schemas.MembershipOut(org_id=o.public_id, org_name=o.name, org_kind=o.kind, role=r)
                     for o, r in accounts.memberships_of(s, user.id)],
        auth=principal.via, csrf_token=principal.csrf_token)


@router.get("/tokens", response_model=list[schemas.TokenOut], responses=ERRORS)
def list_tokens(principal: PrincipalDep, s: ReadSession):
    rows = s.query(ApiToken).filter(ApiToken.user_id == principal.user_id).order_by(ApiToken.created_at)
    return [convert.token_out(r) for r in rows]


@router.post("/tokens", response_model=schemas.TokenCreatedOut, status_code=201, responses=ERRORS)
def create_token(body: schemas.TokenIn, principal: PrincipalDep, db: DbDep):
    """A new API token for scripts (``Authorization: Bearer <token>``); the token is shown only here."""
    expires = None if body.expires_in_days is None else utcnow() + timedelta(days=body.expires_in_days)
    with db.session(write=True) as ws:
        token, row = accounts.create_api_token(ws, load_user(ws, principal), body.name, expires_at=expires)
        ws.commit()
        return convert.token_out(row, token)


@router.delete("/tokens/{token_id}", status_code=204, responses={**ERRORS, 404: {"model": schemas.ErrorOut}})
def revoke_token(token: TokenDep, principal: PrincipalDep, db: DbDep):
    with db.session(write=True) as ws:
        accounts.revoke_api_token(ws, ws.get(ApiToken, token.id), actor=load_user(ws, principal))
        ws.commit()
    return Response(status_code=204)
