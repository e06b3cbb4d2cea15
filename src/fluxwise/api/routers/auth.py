"""Sign in and out, who am I, the caller's password and API tokens (every step audited with the client
address)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from ...store import accounts, tenancy
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

    Five failed password checks of one account within 15 minutes, from any addresses, lock it (429
    with Retry-After) until the oldest is 15 minutes old or an admin unlocks it; the answer is the same
    for an e-mail that has no account. Failures and the lockout are in the audit trail.
    """
    client = client_address(request)
    with db.session() as s:  # the slow password check outside the write transaction
        precheck = accounts.precheck_password(s, body.email, body.password)
    with db.session(write=True) as ws:
        accounts.purge_browser_sessions(ws, settings.idle_timeout)
        try:
            user, key, bs = accounts.login(ws, body.email, body.password, client,
                                           lifetime=settings.session_lifetime, precheck=precheck)
        except accounts.AuthenticationError:
            ws.commit()  # keep the failure: it counts towards the rate limit
            raise
        ws.commit()
    set_session_cookies(request, response, key, bs)
    return schemas.LoginOut(user=convert.user_out(user), csrf_token=bs.csrf_token, expires_at=bs.expires_at)


@router.post("/logout", status_code=204, responses=ERRORS)
def logout(principal: PrincipalDep, response: Response, db: DbDep, request: Request):
    """End the browser session (for an API token this does nothing: revoke the token instead)."""
    if principal.session_key:
        with db.session(write=True) as ws:
            accounts.end_browser_session(ws, principal.session_key, client=client_address(request))
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
def create_token(body: schemas.TokenIn, principal: PrincipalDep, db: DbDep, request: Request):
    """A new API token for scripts (``Authorization: Bearer <token>``); the token is shown only here."""
    expires = None if body.expires_in_days is None else utcnow() + timedelta(days=body.expires_in_days)
    with db.session(write=True) as ws:
        token, row = accounts.create_api_token(ws, load_user(ws, principal), body.name, expires_at=expires,
                                               client=client_address(request))
        ws.commit()
        return convert.token_out(row, token)


@router.delete("/tokens/{token_id}", status_code=204, responses={**ERRORS, 404: {"model": schemas.ErrorOut}})
def revoke_token(token: TokenDep, principal: PrincipalDep, db: DbDep, request: Request):
    with db.session(write=True) as ws:
        accounts.revoke_api_token(ws, ws.get(ApiToken, token.id), actor=load_user(ws, principal),
                                  client=client_address(request))
        ws.commit()
    return Response(status_code=204)


@router.post("/password", status_code=204, responses={**ERRORS, 422: {"model": schemas.ErrorOut},
                                                      429: {"model": schemas.ErrorOut}})
def change_password(body: schemas.PasswordChangeIn, principal: PrincipalDep, db: DbDep, request: Request):
    """Change your password (the current one is checked). Your other browser sessions end; this one
    stays. Audited; a wrong current password counts towards the lockout."""
    with db.session(write=True) as ws:
        try:
            accounts.change_password(ws, load_user(ws, principal), body.current_password, body.new_password,
                                     client=client_address(request), keep_session_key=principal.session_key)
        except accounts.AuthenticationError:
            ws.commit()  # the failure counts towards the lockout and is audited
            raise tenancy.Forbidden("wrong current password: the password was not changed") from None
        ws.commit()
    return Response(status_code=204)
