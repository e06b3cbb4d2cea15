"""People and how they prove who they are: organisations, users, memberships, passwords, sessions,
API tokens, lockout after failed password checks, and the security events of the audit trail.

Passwords are hashed with Argon2id (RFC 9106, 2021) at OWASP's recommended minimum for it: 19 MiB of
memory, 2 passes, 1 lane (OWASP Password Storage Cheat Sheet, 2023; :data:`PASSWORD_HASH_PARAMETERS`).
That is about 40 ms of one core per check, where argon2-cffi's default (RFC 9106's second profile, 64
MiB, 3 passes, 4 lanes) takes about 0.3 s of CPU: 50 people signing in within a few seconds then held
a 2-core server for over ten seconds, their pages and uploads with it. Hashes made with other
parameters still verify (the parameters are in the hash) and are re-hashed at the next sign-in. Browser
session keys and API tokens are 256-bit random strings, so a plain SHA-256 of them is stored (a slow
hash adds nothing to a secret that cannot be guessed); the clear values exist only with the client.

Lockout is per account, across every client address (21 CFR 11.300(d): attempts at unauthorised use
are detected and reported): :data:`LOCKOUT_FAILURES` failed password checks for one e-mail within
:data:`LOCKOUT_WINDOW`, at sign-in or when signing, lock it until the oldest of them is that old or an
admin of one of its organisations unlocks it (audited). The failures are counted by a hash of the
e-mail, whether an account has it or not, so the lock answers the same for unknown e-mails and cannot
be used to find out which exist. Failed checks, the lockout, the unlock, sign-in and out, and token
creation and revocation are audit entries with the client address; a lockout also logs a warning and
shows an alert to the account's organisation admins (:func:`locked_members`).

Functions here add rows and audit entries to the given session and flush; the caller commits.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import FluxwiseError, InputError
from ..i18n import _
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
#: Failed password checks of one account (any client address) within LOCKOUT_WINDOW that lock it.
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
#: What a failed password check was for, and the audit action it is recorded as.
CHECK_PURPOSES = {"sign-in": "login_failed", "password change": "login_failed", "signature": "sign_failed",
                  "audit review": "sign_failed"}
TOKEN_PREFIX = "fw_"
log = logging.getLogger(__name__)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

#: Argon2id parameters of new password hashes (OWASP Password Storage Cheat Sheet, 2023: m = 19 MiB,
#: t = 2, p = 1; see the module documentation)
PASSWORD_HASH_PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}


def default_password_hasher() -> PasswordHasher:
    """The Argon2id hasher of :data:`PASSWORD_HASH_PARAMETERS`."""
    return PasswordHasher(**PASSWORD_HASH_PARAMETERS)


_hasher = default_password_hasher()
# A hash of a random password, checked against when the e-mail is unknown so that the answer takes
# as long as for a known user (no user enumeration by timing).
_dummy_hash: str | None = None


class AuthenticationError(FluxwiseError):
    """Wrong e-mail or password, or an unknown, revoked or expired credential."""


class TooManyAttempts(FluxwiseError):
    """The account is locked after too many failed password checks (from any address)."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


def set_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Replace the Argon2 hasher (tests use cheap parameters); returns the previous one."""
    global _hasher, _dummy_hash
    previous, _hasher, _dummy_hash = _hasher, hasher, None
    return previous


#: argon2 checks running at once: each takes 19 MiB and a core for tens of milliseconds, so a burst
#: of sign-ins beyond the cores only thrashes memory and slows every one of them (and the server).
_argon2_turns = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))


def hash_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InputError(f"a password needs {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
                         field="password")
    with _argon2_turns:
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        with _argon2_turns:
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
            if _admins(session, org) <= 1:
                raise InputError(f"{user.email} is the only admin of {org.name}; make someone else admin "
                                 "first", field="role")
        old, m.role, action = {"user": user.email, "role": m.role}, role, "update"
    session.flush()
    audit.append(session, actor=actor, action=action, object_type="membership",
                 object_id=f"{org.public_id}:{user.public_id}", org_id=org.public_id, old=old,
                 new={"user": user.email, "role": role})
    return m


def _admins(session: Session, org: Organisation) -> int:
    return session.scalar(select(func.count()).select_from(Membership).where(
        Membership.org_id == org.id, Membership.role == "admin")) or 0


def remove_member(session: Session, user: User, org: Organisation, *, actor: User | None,
                  client: str = "") -> None:
    """End ``user``'s membership of ``org`` (audited); the last admin cannot be removed."""
    m = session.scalar(select(Membership).where(Membership.user_id == user.id, Membership.org_id == org.id))
    if m is None:
        from .tenancy import NotFound

        raise NotFound("member not found")
    if m.role == "admin" and _admins(session, org) <= 1:
        raise InputError(f"{user.email} is the only admin of {org.name}; make someone else admin first",
                         field="user_id")
    old = {"user": user.email, "role": m.role}
    session.delete(m)
    session.flush()
    audit.append(session, actor=actor, action="delete", object_type="membership",
                 object_id=f"{org.public_id}:{user.public_id}", org_id=org.public_id, old=old,
                 new={"client": client})


def memberships_of(session: Session, user_id: int) -> list[tuple[Organisation, str]]:
    """The organisations ``user_id`` belongs to, with the role in each, by name."""
    rows = session.execute(select(Organisation, Membership.role)
                           .join(Membership, Membership.org_id == Organisation.id)
                           .where(Membership.user_id == user_id).order_by(Organisation.name))
    return [(org, role) for org, role in rows]


def set_default_language(session: Session, org: Organisation, language: str | None, *,
                         actor: User | None) -> None:
    """Set the language of ``org``'s members' pages unless they chose one (None: the browser's);
    audited as an update of the organisation."""
    from ..i18n import LANGUAGES

    language = (language or "").strip().lower() or None
    if language is not None and language not in LANGUAGES:
        raise InputError(_("unknown language '%(lang)s' (expected one of %(known)s)", lang=language,
                           known=", ".join(LANGUAGES)), field="language")
    if org.default_language == language:
        return
    audit.append(session, actor=actor, action="update", object_type="organisation", object_id=org.public_id,
                 org_id=org.public_id, old={"default_language": org.default_language},
                 new={"default_language": language})
    org.default_language = language


# --- password checks, lockout and sign-in -------------------------------------------------------------

def _account_key(email: str) -> str:
    return sha256_hex(f"account\0{(email or '').strip().lower()}")


def _recent_failures(session: Session, email: str) -> tuple[int, datetime | None]:
    since = utcnow() - LOCKOUT_WINDOW
    count, first = session.execute(
        select(func.count(), func.min(LoginFailure.at))
        .where(LoginFailure.key_sha256 == _account_key(email), LoginFailure.at > since)).one()
    return count, first


def check_rate_limit(session: Session, email: str, client: str = "") -> None:
    """Raise :class:`TooManyAttempts` while the account of ``email`` is locked (see module docstring)."""
    count, first = _recent_failures(session, email)
    if count >= LOCKOUT_FAILURES:
        retry = max(1, int((first + LOCKOUT_WINDOW - utcnow()).total_seconds()) + 1)
        raise TooManyAttempts(_("this account is locked after %(n)s failed password checks; try again in "
                                "%(retry)s s, or ask an admin of your organisation to unlock it",
                                n=LOCKOUT_FAILURES, retry=retry), retry_after_s=retry)


def _audit_target(session: Session, email: str) -> tuple[str, str, User | None]:
    user = find_user(session, email)
    if user is not None:
        return "user", user.public_id, user
    # no account: the attempt is kept under a hash of the e-mail (a typed password is never stored)
    return "email", _account_key(email)[:32], None


def record_failure(session: Session, email: str, client: str, *, purpose: str = "sign-in",
                   actor: User | None = None) -> None:
    """Note a failed password check for ``email`` from ``client``, audited (action ``login_failed`` or
    ``sign_failed``), and lock the account when it is the :data:`LOCKOUT_FAILURES`-th in the window.

    The caller commits even though its request fails (the failure must count).
    """
    session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - LOCKOUT_WINDOW))
    session.add(LoginFailure(key_sha256=_account_key(email)))
    session.flush()
    object_type, object_id, user = _audit_target(session, email)
    audit.append(session, actor=actor, action=CHECK_PURPOSES[purpose], object_type=object_type,
                 object_id=object_id, new={"purpose": purpose, "client": client})
    count, _first = _recent_failures(session, email)
    if count == LOCKOUT_FAILURES and user is not None:
        audit.append(session, actor=None, action="lockout", object_type="user", object_id=user.public_id,
                     new={"failures": count, "window_min": int(LOCKOUT_WINDOW.total_seconds() // 60),
                          "client": client})
        # the admin alert: the server log, and the pages of the account's organisation admins
        log.warning("account %s locked after %d failed password checks in %s (last from %s)",
                    user.public_id, count, LOCKOUT_WINDOW, client or "unknown address")


def clear_failures(session: Session, email: str, client: str = "") -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key_sha256 == _account_key(email)))


def is_locked(session: Session, user: User) -> bool:
    return _recent_failures(session, user.email)[0] >= LOCKOUT_FAILURES


def locked_members(session: Session, org_ids: list[int]) -> list[tuple[Organisation, User]]:
    """Members of the organisations ``org_ids`` whose account is locked now (the admins' alert)."""
    if not org_ids:
        return []
    rows = list(session.execute(
        select(Organisation, User).join(Membership, Membership.org_id == Organisation.id)
        .join(User, User.id == Membership.user_id)
        .where(Organisation.id.in_(org_ids)).order_by(Organisation.name, User.name)))
    if not rows:
        return []
    keys = {_account_key(u.email): u.id for _org, u in rows}
    since = utcnow() - LOCKOUT_WINDOW
    locked_keys = set(session.scalars(
        select(LoginFailure.key_sha256).where(LoginFailure.key_sha256.in_(keys), LoginFailure.at > since)
        .group_by(LoginFailure.key_sha256).having(func.count() >= LOCKOUT_FAILURES)))
    locked_ids = {keys[k] for k in locked_keys}
    return [(o, u) for o, u in rows if u.id in locked_ids]


def unlock_account(session: Session, user: User, *, actor: User | None, org: Organisation | None,
                   client: str = "") -> None:
    """Lift the lock of ``user`` (clear its recent failures), audited: by an admin of ``org``, or by the
    operator (``actor`` and ``org`` None: ``fluxwise user unlock``)."""
    count, _first = _recent_failures(session, user.email)
    clear_failures(session, user.email)
    audit.append(session, actor=actor, action="unlock", object_type="user", object_id=user.public_id,
                 org_id=None if org is None else org.public_id, old={"failures": count},
                 new={"client": client})


@dataclass(frozen=True)
class PasswordPrecheck:
    """A password checked against the hash read in a read session (:func:`precheck_password`)."""

    email: str
    password_hash: str | None  # None: no active user with that e-mail (the check's time was burnt)
    ok: bool


def precheck_password(session: Session, email: str, password: str) -> PasswordPrecheck:
    """Check ``password`` in a read session, before the write transaction of :func:`check_password` or
    :func:`login` starts: the argon2 check takes tens of milliseconds of CPU, and on SQLite a write
    transaction holds the store's only write lock. The write transaction uses the outcome only if the
    hash it reads is the one checked here; the rate limit and the audit of failures stay there."""
    user = find_user(session, email)
    if user is None or not user.is_active:
        _burn_time(password or "")
        return PasswordPrecheck(email, None, False)
    return PasswordPrecheck(email, user.password_hash, verify_password(user.password_hash, password or ""))


def check_password(session: Session, email: str, password: str, client: str = "", *,
                   purpose: str = "sign-in", actor: User | None = None,
                   precheck: PasswordPrecheck | None = None) -> User:
    """The active user with this e-mail and password; the account must not be locked.

    Raises :class:`TooManyAttempts` (before checking anything) or :class:`AuthenticationError` (after
    recording and auditing the failure in the session: commit it). ``purpose`` (a key of
    :data:`CHECK_PURPOSES`) says what the check was for in the audit entry of a failure. Does not log
    in: see :func:`login`. ``precheck``: the password already checked (:func:`precheck_password`) against
    the hash this session finds (else it is checked again here).
    """
    check_rate_limit(session, email, client)
    user = find_user(session, email)
    current = precheck is not None and precheck.email == email
    if user is None or not user.is_active:
        if not (current and precheck.password_hash is None):
            _burn_time(password or "")
        ok = False
    elif current and precheck.password_hash == user.password_hash:
        ok = precheck.ok
    else:
        ok = verify_password(user.password_hash, password or "")
    if not ok:
        record_failure(session, email, client, purpose=purpose, actor=actor)
        raise AuthenticationError("wrong e-mail or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    clear_failures(session, email, client)
    return user


def check_signer_id(session: Session, signer: User, *, email: str | None, password: str, client: str = "",
                    first_in_session: bool, purpose: str = "signature") -> None:
    """Check the user ID part of an electronic signature (21 CFR 11.200(a)(1)): the first signing of a
    session (and every signing with an API token) gives the user ID (e-mail) as well as the password;
    later signings of the same session at least the password (checked by the caller with
    :func:`check_password` and the same ``purpose``).

    Raises :class:`~fluxwise.errors.InputError` when the e-mail is needed and missing,
    :class:`AuthenticationError` (failure recorded and audited: commit) when it is not the signer's,
    :class:`TooManyAttempts` while the account is locked.
    """
    email = (email or "").strip()
    if first_in_session and not email:
        raise InputError("the first signature of a session needs your user ID (e-mail) as well as your "
                         "password", field="email")
    if email and email.lower() != signer.email:
        check_rate_limit(session, signer.email, client)
        _burn_time(password or "")
        record_failure(session, signer.email, client, purpose=purpose, actor=signer)
        raise AuthenticationError("wrong e-mail or password")


def login(session: Session, email: str, password: str, client: str = "", *,
          lifetime: timedelta = timedelta(hours=12),
          precheck: PasswordPrecheck | None = None) -> tuple[User, str, BrowserSession]:
    """Check the password and open a browser session; returns (user, session key, session row).

    The key goes into the (signed) cookie; only its SHA-256 is stored. The login is audited.
    ``precheck``: see :func:`check_password`.
    """
    user = check_password(session, email, password, client, precheck=precheck)
    key = secrets.token_urlsafe(32)
    now = utcnow()
    bs = BrowserSession(key_sha256=sha256_hex(key), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                        expires_at=now + lifetime, last_seen_at=now)
    session.add(bs)
    session.flush()
    audit.append(session, actor=user, action="login", object_type="user", object_id=user.public_id,
                 new={"via": "password", "client": client})
    return user, key, bs


def browser_session(session: Session, key: str) -> BrowserSession | None:
    """The live session for a cookie key (not expired, not revoked, user active), or None.

    The idle timeout is the caller's: see :func:`idle_since`.
    """
    bs = session.scalar(select(BrowserSession).where(BrowserSession.key_sha256 == sha256_hex(key)))
    if bs is None or bs.revoked_at is not None or bs.expires_at <= utcnow() or not bs.user.is_active:
        return None
    return bs


def idle_since(bs: BrowserSession) -> datetime:
    """When the session was last used (as far as recorded: at most a minute behind)."""
    return bs.last_seen_at or bs.created_at


def end_browser_session(session: Session, key: str, *, client: str = "", reason: str = "sign-out") -> None:
    """Revoke the session of ``key`` and audit the logout (``reason``: sign-out, idle timeout, ...)."""
    bs = session.scalar(select(BrowserSession).where(BrowserSession.key_sha256 == sha256_hex(key)))
    if bs is not None and bs.revoked_at is None:
        bs.revoked_at = utcnow()
        session.flush()
        audit.append(session, actor=bs.user, action="logout", object_type="user", object_id=bs.user.public_id,
                     new={"reason": reason, "client": client})


def purge_browser_sessions(session: Session, idle_timeout: timedelta | None = None) -> int:
    """Delete the rows of sessions that can no longer be used: expired, revoked, or idle longer than
    ``idle_timeout``; returns how many. A session that ended without a sign-out gets its ``logout``
    audit entry now (reason ``expired`` or ``idle timeout``, with when it was last used)."""
    now = utcnow()
    dead = (BrowserSession.expires_at <= now) | BrowserSession.revoked_at.is_not(None)
    if idle_timeout is not None:
        last_seen = func.coalesce(BrowserSession.last_seen_at, BrowserSession.created_at)
        dead = dead | (last_seen < now - idle_timeout)
    rows = list(session.scalars(select(BrowserSession).where(dead)))
    for bs in rows:
        if bs.revoked_at is None:
            reason = "expired" if bs.expires_at <= now else "idle timeout"
            audit.append(session, actor=bs.user, action="logout", object_type="user",
                         object_id=bs.user.public_id,
                         new={"reason": reason, "last_seen": audit_time(idle_since(bs))})
        session.delete(bs)
    session.flush()
    return len(rows)


def audit_time(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def change_password(session: Session, user: User, current: str, new: str, *, client: str = "",
                    keep_session_key: str | None = None) -> int:
    """Replace ``user``'s password after checking the current one; every other browser session of the
    user is ended (a stolen session does not outlive the change). Audited; returns sessions ended."""
    check_password(session, user.email, current, client, purpose="password change", actor=user)
    if new == current:
        raise InputError("the new password must differ from the current one", field="new_password")
    user.password_hash = hash_password(new)
    keep = sha256_hex(keep_session_key) if keep_session_key else None
    others = list(session.scalars(select(BrowserSession).where(
        BrowserSession.user_id == user.id, BrowserSession.revoked_at.is_(None),
        BrowserSession.key_sha256 != (keep or ""))))
    for bs in others:
        bs.revoked_at = utcnow()
    session.flush()
    audit.append(session, actor=user, action="update", object_type="user", object_id=user.public_id,
                 new={"password": "changed", "sessions_ended": len(others), "client": client})
    return len(others)


# --- API tokens ----------------------------------------------------------------------------------------

def create_api_token(session: Session, user: User, name: str, *,
                     expires_at: datetime | None = None, client: str = "") -> tuple[str, ApiToken]:
    """A new bearer token for ``user``; returns (clear token — shown once, row)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=_check_name(name, "token name"), token_sha256=sha256_hex(token),
                   prefix=token[:8], expires_at=expires_at)
    session.add(row)
    session.flush()
    audit.append(session, actor=user, action="create", object_type="api_token", object_id=row.public_id,
                 new={"name": row.name, "prefix": row.prefix,
                      "expires_at": None if expires_at is None else expires_at.isoformat(), "client": client})
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


def revoke_api_token(session: Session, row: ApiToken, *, actor: User, client: str = "") -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        audit.append(session, actor=actor, action="delete", object_type="api_token",
                     object_id=row.public_id, old={"name": row.name, "prefix": row.prefix},
                     new={"client": client})


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
