"""Request dependencies: settings, database sessions, who is calling, and scoped object lookups.

Authentication, in this order:

1. ``Authorization: Bearer fw_...`` — an API token (for scripts); no CSRF check.
2. The ``fluxwise_session`` cookie (signed, HttpOnly, SameSite=Lax) set by ``POST /api/auth/login``.
   A session ends after :attr:`ApiSettings.idle_timeout` without a request (audited as a logout with
   reason ``idle timeout``), or at its lifetime. Unsafe methods (POST, PUT, PATCH, DELETE) must also
   send ``X-CSRF-Token`` equal to the session's CSRF token, which the login response returns and
   which is also in the readable ``fluxwise_csrf`` cookie (double submit, bound to the server-side
   session). HTML form endpoints may depend on :func:`form_principal` instead, which also accepts
   the token as a ``csrf_token`` form field.

Object lookups (``ProjectDep``, ``TrialDep``, ...) go through :mod:`fluxwise.store.tenancy` and
answer 404 for anything the caller may not see. They run before the request body is validated, so
another tenant's id gives 404 whatever the body.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, Header, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InputError
from ..store import accounts, tenancy
from ..store.database import Database
from ..store.models import (
    ApiToken,
    BrowserSession,
    Organisation,
    Project,
    ResultVersion,
    TrialRecord,
    Upload,
    User,
    utcnow,
)
from .upload_checks import UploadLimits
from .workers import Science

SESSION_COOKIE = "fluxwise_session"
CSRF_COOKIE = "fluxwise_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ENV_SECRET_KEY = "FLUXWISE_SECRET_KEY"
ENV_MAX_UPLOAD_MB = "FLUXWISE_MAX_UPLOAD_MB"
ENV_COOKIE_SECURE = "FLUXWISE_COOKIE_SECURE"
ENV_IDLE_TIMEOUT_MIN = "FLUXWISE_IDLE_TIMEOUT_MIN"
#: How often a browser session's last-seen time is written (the idle timeout is this precise).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiSettings:
    """What an installation may tune; :meth:`from_env` reads the ``FLUXWISE_*`` variables."""

    upload: UploadLimits = field(default_factory=UploadLimits)
    session_lifetime: timedelta = timedelta(hours=12)
    #: A browser session unused this long is ended (Part 11 / Annex 11: no unattended open session).
    idle_timeout: timedelta = timedelta(minutes=30)
    cookie_secure: bool = False
    secret_key: str | None = None

    @classmethod
    def from_env(cls) -> ApiSettings:
        upload = UploadLimits()
        if os.environ.get(ENV_MAX_UPLOAD_MB):
            upload = UploadLimits(max_bytes=int(float(os.environ[ENV_MAX_UPLOAD_MB]) * 1024 * 1024))
        secure = os.environ.get(ENV_COOKIE_SECURE, "").strip().lower() in ("1", "true", "yes", "on")
        idle = cls.idle_timeout
        if os.environ.get(ENV_IDLE_TIMEOUT_MIN, "").strip():
            text = os.environ[ENV_IDLE_TIMEOUT_MIN].strip()
            try:
                minutes = float(text)
            except ValueError:
                minutes = -1.0
            if not 1 <= minutes <= 24 * 60:
                raise InputError(f"{ENV_IDLE_TIMEOUT_MIN}={text!r}: give minutes between 1 and 1440",
                                 field=ENV_IDLE_TIMEOUT_MIN)
            idle = timedelta(minutes=minutes)
        return cls(upload=upload, cookie_secure=secure, idle_timeout=idle,
                   secret_key=os.environ.get(ENV_SECRET_KEY) or None)


@dataclass(frozen=True)
class Principal:
    """Who is calling (a snapshot taken at authentication; load the ``User`` row to change it)."""

    user_id: int
    public_id: str
    email: str
    name: str
    via: Literal["session", "token"]
    csrf_token: str | None = None
    session_key: str | None = None
    #: A signature was made in this browser session already (later ones need only the password).
    session_signed: bool = False

    @property
    def first_signing(self) -> bool:
        """Whether a signature now must give the user ID as well as the password (21 CFR
        11.200(a)(1)(i)): the first in a browser session, and every one made with an API token."""
        return self.via != "session" or not self.session_signed


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def read_session(request: Request) -> Iterator[Session]:
    """A read session for the request (writes open their own: see ``Database.session(write=True)``)."""
    with get_db(request).session() as session:
        yield session


_IN_THREAD = Science()


def get_science(request: Request) -> Science:
    """Where the request's science runs: the app's worker pool (``fluxwise serve``), else its own thread."""
    return getattr(request.app.state, "science", None) or _IN_THREAD


DbDep = Annotated[Database, Depends(get_db)]
ScienceDep = Annotated[Science, Depends(get_science)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
ReadSession = Annotated[Session, Depends(read_session)]


def session_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret_key, salt="fluxwise-session")


_bearer = HTTPBearer(auto_error=False, description="An API token from POST /api/auth/tokens")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="Browser session from POST /api/auth/login (needs X-CSRF-Token on "
                                   "unsafe methods)")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def authenticate(request: Request, db: Database, csrf_token: str | None) -> Principal:
    """Who sent ``request`` (bearer token first, then session cookie), or 401; for a cookie request
    with an unsafe method, 403 unless ``csrf_token`` is the session's CSRF token."""
    auth_header = request.headers.get("authorization")
    if auth_header is not None:
        scheme, _, credentials = auth_header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise _unauthorized("use 'Authorization: Bearer <API token>'")
        with db.session() as s:
            row = accounts.api_token(s, credentials.strip())
            if row is None:
                raise _unauthorized("invalid, expired or revoked API token")
            user = row.user
            principal = Principal(user.id, user.public_id, user.email, user.name, "token")
            stale = row.last_used_at is None or utcnow() - row.last_used_at > timedelta(minutes=10)
            token_id = row.id
        if stale:
            with db.session(write=True) as ws:
                ws.get(ApiToken, token_id).last_used_at = utcnow()
                ws.commit()
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            key = session_serializer(request).loads(cookie, max_age=int(
                get_settings(request).session_lifetime.total_seconds()))
        except BadSignature:
            raise _unauthorized("your session is not valid; sign in again") from None
        idle_timeout = get_settings(request).idle_timeout
        with db.session() as s:
            bs = accounts.browser_session(s, key) if isinstance(key, str) else None
            if bs is None:
                raise _unauthorized("your session has ended; sign in again")
            now = utcnow()
            last_seen = accounts.idle_since(bs)
            user = bs.user
            principal = Principal(user.id, user.public_id, user.email, user.name, "session",
                                  csrf_token=bs.csrf_token, session_key=key,
                                  session_signed=bs.first_signed_at is not None)
            session_id = bs.id
        if now - last_seen > idle_timeout:
            with db.session(write=True) as ws:
                accounts.end_browser_session(ws, key, client=client_address(request), reason="idle timeout")
                ws.commit()
            minutes = int(idle_timeout.total_seconds() // 60)
            raise _unauthorized(f"your session ended after {minutes} minutes without activity; sign in again")
        if now - last_seen > TOUCH_EVERY:
            with db.session(write=True) as ws:
                row = ws.get(BrowserSession, session_id)
                if row is not None:
                    row.last_seen_at = now
                    ws.commit()
        if request.method not in SAFE_METHODS:
            check_csrf(principal, csrf_token)
        return principal
    raise _unauthorized("not signed in: log in, or send 'Authorization: Bearer <API token>'")


def current_principal(
    request: Request,
    db: DbDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
    x_csrf_token: Annotated[str | None, Header(alias=CSRF_HEADER, include_in_schema=False)] = None,
) -> Principal:
    """The caller of a JSON endpoint (see :func:`authenticate`; the CSRF token comes in the header).

    ``bearer`` and ``cookie`` are declared so that OpenAPI documents both ways to authenticate.
    """
    return authenticate(request, db, x_csrf_token)


async def form_principal(request: Request, db: DbDep) -> Principal:
    """The caller of an HTML form endpoint: like :func:`current_principal`, but the CSRF token may
    also come as a ``csrf_token`` form field (a plain HTML form cannot send headers)."""
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.method not in SAFE_METHODS:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FORM_FIELD)
            token = value if isinstance(value, str) else None
    return await run_in_threadpool(authenticate, request, db, token)


def set_session_cookies(request: Request, response: Response, key: str, browser_session) -> None:
    """Put a session opened by :func:`fluxwise.store.accounts.login` into ``response``'s cookies:
    the signed key (HttpOnly, SameSite=Lax) and the CSRF token (readable by the page's script)."""
    settings = get_settings(request)
    max_age = int(settings.session_lifetime.total_seconds())
    response.set_cookie(SESSION_COOKIE, session_serializer(request).dumps(key), max_age=max_age, path="/",
                        httponly=True, samesite="lax", secure=settings.cookie_secure)
    response.set_cookie(CSRF_COOKIE, browser_session.csrf_token, max_age=max_age, path="/", httponly=False,
                        samesite="lax", secure=settings.cookie_secure)


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def check_csrf(principal: Principal, token: str | None) -> None:
    """403 unless ``token`` is the CSRF token of the caller's browser session (tokens need none)."""
    if principal.via != "session":
        return
    if not token or not principal.csrf_token or not hmac.compare_digest(token.encode(),
                                                                         principal.csrf_token.encode()):
        raise HTTPException(status_code=403, detail=f"missing or wrong {CSRF_HEADER} header: send the "
                                                    "csrf_token from the login response")


PrincipalDep = Annotated[Principal, Depends(current_principal)]
FormPrincipalDep = Annotated[Principal, Depends(form_principal)]


def load_user(session: Session, principal: Principal) -> User:
    return session.get(User, principal.user_id)


def client_address(request: Request) -> str:
    """The client's address as uvicorn gives it: the peer, or with ``--forwarded-allow-ips`` the
    nearest address in ``X-Forwarded-For`` that is not one of the trusted proxies."""
    return request.client.host if request.client else ""


@contextmanager
def signing(session: Session, principal: Principal, what: str) -> Iterator[None]:
    """Around an electronic signing in ``session`` (a signature, an audit-trail review): a wrong user ID
    or password is committed (it is audited and counts towards the lockout) and answered 403; a
    signing that succeeds is noted in the caller's browser session (later ones need only the password).
    The caller commits the signing itself."""
    from ..store.results import SignatureRefused

    try:
        yield
    except accounts.AuthenticationError:
        session.commit()
        raise SignatureRefused(f"wrong user ID or password: {what} was not recorded") from None
    mark_session_signed(session, principal)


def mark_session_signed(session: Session, principal: Principal) -> None:
    """Note in the caller's browser session that it has signed (later signings need only the password)."""
    if principal.via == "session" and principal.session_key:
        from ..store.canonical import sha256_hex

        bs = session.scalar(select(BrowserSession).where(
            BrowserSession.key_sha256 == sha256_hex(principal.session_key)))
        if bs is not None and bs.first_signed_at is None:
            bs.first_signed_at = utcnow()
            session.flush()


# --- scoped lookups --------------------------------------------------------------------------------------

def org_dep(org_id: str, p: PrincipalDep, s: ReadSession) -> tuple[Organisation, str]:
    return tenancy.get_organisation(s, p.user_id, org_id)


def project_dep(project_id: str, p: PrincipalDep, s: ReadSession) -> Project:
    return tenancy.get_project(s, p.user_id, project_id)


def upload_dep(upload_id: str, p: PrincipalDep, s: ReadSession) -> Upload:
    return tenancy.get_upload(s, p.user_id, upload_id)


def trial_dep(trial_id: str, p: PrincipalDep, s: ReadSession) -> TrialRecord:
    return tenancy.get_trial(s, p.user_id, trial_id)


def result_dep(result_id: str, p: PrincipalDep, s: ReadSession) -> list[ResultVersion]:
    return tenancy.get_result_versions(s, p.user_id, result_id)


def token_dep(token_id: str, p: PrincipalDep, s: ReadSession) -> ApiToken:
    return tenancy.get_api_token(s, p.user_id, token_id)


OrgDep = Annotated[tuple[Organisation, str], Depends(org_dep)]
ProjectDep = Annotated[Project, Depends(project_dep)]
UploadDep = Annotated[Upload, Depends(upload_dep)]
TrialDep = Annotated[TrialRecord, Depends(trial_dep)]
ResultDep = Annotated[list[ResultVersion], Depends(result_dep)]
TokenDep = Annotated[ApiToken, Depends(token_dep)]
