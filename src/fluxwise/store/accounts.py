"""People and how they prove who they are: organisations, users, memberships, passwords, sessions,
API tokens and login rate limiting.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile). Browser
session keys and API tokens are 256-bit random strings, so a plain SHA-256 of them is stored (a slow
hash adds nothing to a secret that cannot be guessed); the clear values exist only with the client.

Functions here add rows and audit entries to the given session and flush; the caller commits.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import FluxwiseError, InputError
from . import audit
from .canonical import sha256_hex
from .models import (
    ORG_KINDS,
    ROLES,
    ApiToken,
    BrowserSession,
    LoginFailure,
    Membership,
    Organisation,
    Setting,
    User,
    utcnow,
)

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=5)
TOKEN_PREFIX = "fw_"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

_hasher = PasswordHasher()
# A hash of a random password, checked against when the e-mail is unknown so that the answer takes
# as long as for a known user (no user enumeration by timing).
_dummy_hash: str | None = None


class AuthenticationError(FluxwiseError):
    """Wrong e-mail or password, or an unknown, revoked or expired credential."""


class TooManyAttempts(FluxwiseError):
    """Too many failed password checks for this user from this address."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


def set_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Replace the Argon2 hasher (tests use cheap parameters); returns the previous one."""
    global _hasher, _dummy_hash
    previous, _hasher, _dummy_hash = _hasher, hasher, None
    return previous


def hash_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InputError(f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
                         field="password")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _burn_time(password: str) -> None:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    verify_password(_dummy_hash, password)


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise InputError(f"'{email}' is not an e-mail address", field="email")
    return email


def _check_name(name: str, what: str, max_chars: int = 200) -> str:
    name = (name or "").strip()
    if not name:
        raise InputError(f"the {what} must not be empty", field="name")
    if len(name) > max_chars:
        raise InputError(f"the {what} has {len(name)} characters; at most {max_chars}", field="name")
    return name


# --- organisations, users, memberships ------------------------------------------------------------

def create_organisation(session: Session, name: str, kind: str = "customer", *,
                        actor: User | None = None) -> Organisation:
    """A new organisation (tenant); ``kind`` is ``customer`` or ``hub``."""
    if kind not in ORG_KINDS:
        raise InputError(f"organisation kind must be one of {', '.join(ORG_KINDS)}, not '{kind}'",
                         field="kind")
    org = Organisation(name=_check_name(name, "organisation name"), kind=kind)
    session.add(org)
    session.flush()
    audit.append(session, actor=actor, action="create", object_type="organisation",
                 object_id=org.public_id, org_id=org.public_id, new={"name": org.name, "kind": org.kind})
    return org


def create_user(session: Session, email: str, name: str, password: str, *,
                actor: User | None = None) -> User:
    """A new user with an Argon2id-hashed password; the e-mail must be new."""
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise InputError(f"a user with e-mail {email} exists already", field="email")
    user = User(email=email, name=_check_name(name, "user name"), password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.append(session, actor=actor, action="create", object_type="user", object_id=user.public_id,
                 new={"email": user.email, "name": user.name})
    return user


def find_user(session: Session, email: str) -> User | None:
    try:
        email = normalise_email(email)
    except InputError:
        return None
    return session.scalar(select(User).where(User.email == email))


def add_member(session: Session, user: User, org: Organisation, role: str, *,
               actor: User | None = None) -> Membership:
    """Make ``user`` a member of ``org`` with ``role`` (or change the role of an existing member)."""
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not '{role}'", field="role")
    m = session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                Membership.org_id == org.id))
    old = None
    if m is None:
        m = Membership(user_id=user.id, org_id=org.id, role=role)
        session.add(m)
        action = "create"
    else:
        if m.role == "admin" and role != "admin":
            admins = session.scalar(select(func.count()).select_from(Membership).where(
                Membership.org_id == org.id, Membership.role == "admin"))
            if admins <= 1:
                raise InputError(f"{user.email} is the only admin of {org.name}; make someone else admin "
                                 "first", field="role")
        old, m.role, action = {"user": user.email, "role": m.role}, role, "update"
    session.flush()
    audit.append(session, actor=actor, action=action, object_type="membership",
                 object_id=f"{org.public_id}:{user.public_id}", org_id=org.public_id, old=old,
                 new={"user": user.email, "role": role})
    return m


def memberships_of(session: Session, user_id: int) -> list[tuple[Organisation, str]]:
    """The organisations ``user_id`` belongs to, with the role in each, by name."""
    rows = session.execute(select(Organisation, Membership.role)
                           .join(Membership, Membership.org_id == Organisation.id)
                           .where(Membership.user_id == user_id).order_by(Organisation.name))
    return [(org, role) for org, role in rows]


# --- login and rate limiting -------------------------------------------------------------------------

def _throttle_key(email: str, client: str) -> str:
    return sha256_hex(f"{(email or '').strip().lower()}\0{client}")


def check_rate_limit(session: Session, email: str, client: str) -> None:
    """Raise :class:`TooManyAttempts` after :data:`LOGIN_MAX_FAILURES` failures in :data:`LOGIN_WINDOW`."""
    since = utcnow() - LOGIN_WINDOW
    key = _throttle_key(email, client)
    count, first = session.execute(
        select(func.count(), func.min(LoginFailure.at))
        .where(LoginFailure.key_sha256 == key, LoginFailure.at > since)).one()
    if count >= LOGIN_MAX_FAILURES:
        retry = max(1, int((first + LOGIN_WINDOW - utcnow()).total_seconds()) + 1)
        raise TooManyAttempts(f"too many failed attempts; try again in {retry} s", retry_after_s=retry)


def record_failure(session: Session, email: str, client: str) -> None:
    """Note a failed password check (the caller commits even though the request fails)."""
    session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - LOGIN_WINDOW))
    session.add(LoginFailure(key_sha256=_throttle_key(email, client)))
    session.flush()


def clear_failures(session: Session, email: str, client: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key_sha256 == _throttle_key(email, client)))


def check_password(session: Session, email: str, password: str, client: str = "") -> User:
    """The active user with this e-mail and password, rate limited per (e-mail, client address).

    Raises :class:`TooManyAttempts` (before checking anything) or :class:`AuthenticationError` (after
    recording the failure in the session: commit it). Does not log in or audit: see :func:`login`.
    """
    check_rate_limit(session, email, client)
    user = find_user(session, email)
    if user is None or not user.is_active:
        _burn_time(password or "")
        ok = False
    else:
        ok = verify_password(user.password_hash, password or "")
    if not ok:
        record_failure(session, email, client)
        raise AuthenticationError("wrong e-mail or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    clear_failures(session, email, client)
    return user


def login(session: Session, email: str, password: str, client: str = "", *,
          lifetime: timedelta = timedelta(hours=12)) -> tuple[User, str, BrowserSession]:
    """Check the password and open a browser session; returns (user, session key, session row).

    The key goes into the (signed) cookie; only its SHA-256 is stored. The login is audited.
    """
    user = check_password(session, email, password, client)
    key = secrets.token_urlsafe(32)
    bs = BrowserSession(key_sha256=sha256_hex(key), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                        expires_at=utcnow() + lifetime)
    session.add(bs)
    session.flush()
    audit.append(session, actor=user, action="login", object_type="user", object_id=user.public_id,
                 new={"via": "password", "client": client})
    return user, key, bs


def browser_session(session: Session, key: str) -> BrowserSession | None:
    """The live session for a cookie key (not expired, not revoked, user active), or None."""
    bs = session.scalar(select(BrowserSession).where(BrowserSession.key_sha256 == sha256_hex(key)))
    if bs is None or bs.revoked_at is not None or bs.expires_at <= utcnow() or not bs.user.is_active:
        return None
    return bs


def end_browser_session(session: Session, key: str) -> None:
    bs = session.scalar(select(BrowserSession).where(BrowserSession.key_sha256 == sha256_hex(key)))
    if bs is not None and bs.revoked_at is None:
        bs.revoked_at = utcnow()
        session.flush()


# --- API tokens ----------------------------------------------------------------------------------------

def create_api_token(session: Session, user: User, name: str, *,
                     expires_at: datetime | None = None) -> tuple[str, ApiToken]:
    """A new bearer token for ``user``; returns (clear token — shown once, row)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=_check_name(name, "token name"), token_sha256=sha256_hex(token),
                   prefix=token[:8], expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.append(session, actor=user, action="create", object_type="api_token", object_id=row.public_id,
                 new={"name": row.name, "prefix": row.prefix,
                      "expires_at": None if expires_at is None else expires_at.isoformat()})
    return token, row


def api_token(session: Session, token: str) -> ApiToken | None:
    """The live token row for a clear bearer token (not expired or revoked, user active), or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == sha256_hex(token)))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return row


def revoke_api_token(session: Session, row: ApiToken, *, actor: User) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.append(session, actor=actor, action="delete", object_type="api_token",
                     object_id=row.public_id, old={"name": row.name, "prefix": row.prefix})


# --- installation settings -----------------------------------------------------------------------------

def secret_setting(session: Session, key: str) -> str:
    """A random secret stored under ``key`` in the settings table, created on first use."""
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=secrets.token_urlsafe(48)))
        try:
            session.commit()
        except Exception:  # another process created it first
            session.rollback()
        row = session.get(Setting, key)
    return row.value
