"""SQLAlchemy 2 models of the workbench store: tenants, people, projects, data, results, trail.

Every object that appears in a URL has a random ``public_id`` (uuid4 hex); integer primary keys stay
inside the database so that ids cannot be enumerated. JSON payloads that are hashed (results, audit
values) are kept as the exact canonical text that was hashed, so a hash can be recomputed byte for
byte on any backend (see :mod:`fluxwise.store.canonical`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ORG_KINDS = ("customer", "hub")
ROLES = ("admin", "scientist", "reviewer", "trainee")
RESULT_KINDS = ("fit", "sizing", "train", "supply")  # train, supply: from uploaded files (no trial)
RESULT_ORIGINS = ("computed", "edited")  # edited: data typed in by a person, not computed
SIGNATURE_MEANINGS = ("author", "review", "approve")
#: What an audit entry records. Besides changes to records (create, update, delete, sign): security
#: events (sign-in and out, failed password checks at sign-in or signing, an account locked after
#: repeated failures and unlocked by an admin) and the periodic review of the trail itself.
AUDIT_ACTIONS = ("create", "update", "delete", "sign", "login", "logout", "login_failed", "sign_failed",
                 "lockout", "unlock", "review")
INVITATION_KINDS = ("member", "share")  # a person into an organisation; a project into an organisation
INVITATION_STATES = ("pending", "accepted", "declined", "revoked")
DELETABLE = ("upload", "trial")  # soft-deleted through Deletion rows (results: ResultDeletion)
RESTORABLE = ("upload", "trial", "result")


def new_public_id() -> str:
    """A random, non-sequential id for URLs (uuid4, 32 hex digits)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _in(name: str, values: tuple[str, ...]) -> str:
    return f"{name} IN ({', '.join(repr(v) for v in values)})"


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class PublicIdMixin:
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)


class Organisation(PublicIdMixin, Base):
    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_in("kind", ORG_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not unique: a unique name would tell one tenant which names the others use.
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="customer")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The language of its members' pages unless they chose one (``en``, ``ko``); None: the browser's.
    default_language: Mapped[str | None] = mapped_column(String(8), default=None)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organisation")


class User(PublicIdMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The language the user chose for the pages (``en``, ``ko``); None: the organisation's or browser's.
    language: Mapped[str | None] = mapped_column(String(8), default=None)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "org_id", name="uq_memberships_user_org"),
        CheckConstraint(_in("role", ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")


class Project(PublicIdMixin, Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship()
    shares: Mapped[list[ProjectShare]] = relationship(back_populates="project")


class ProjectShare(Base):
    """A project of one organisation made visible to the members of another."""

    __tablename__ = "project_shares"
    __table_args__ = (UniqueConstraint("project_id", "org_id", name="uq_project_shares_project_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    project: Mapped[Project] = relationship(back_populates="shares")
    organisation: Mapped[Organisation] = relationship()


class Upload(PublicIdMixin, Base):
    """An uploaded file, kept byte for byte with its SHA-256."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # the safe name it is stored and parsed under
    # The name as the user's computer gave it (Unicode kept; shown escaped); None before it was kept.
    original_filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    project: Mapped[Project] = relationship()


class TrialRecord(PublicIdMixin, Base):
    """A trial parsed from an upload: its settings and its arrays in canonical units (JSON)."""

    __tablename__ = "trials"
    __table_args__ = (CheckConstraint("revision >= 1", name="revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"), index=True)
    # What the user asked for at parse time (strings with units, as typed), kept to re-parse.
    area_input: Mapped[str | None] = mapped_column(String(100))
    mode_input: Mapped[str | None] = mapped_column(String(32))
    density_input: Mapped[str | None] = mapped_column(String(100))
    # The column mapping as given (role -> header, or [header, unit]; canonical JSON); None: detected.
    columns_input: Mapped[str | None] = mapped_column(Text)
    area_m2: Mapped[float] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    data_json: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship()
    upload: Mapped[Upload] = relationship()


class ResultVersion(PublicIdMixin, Base):
    """One version of a result. Editing adds a row; rows are never overwritten.

    ``result_id`` names the result across its versions (it is what URLs carry); ``public_id``
    names this one version. Soft deletion stamps ``deleted_*`` on the result's latest row. A result
    of kind ``train`` has no trial: ``upload_id`` is its train file, the other files are in its inputs;
    one of kind ``supply`` likewise: ``upload_id`` is its plan file.
    """

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("result_id", "version", name="uq_results_result_version"),
        CheckConstraint(_in("kind", RESULT_KINDS), name="kind"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint(_in("origin", RESULT_ORIGINS), name="origin"),
        # fits and sizings come from a trial; a train design or a supply study from its uploaded files
        CheckConstraint("kind IN ('train', 'supply') OR "
                        "(trial_id IS NOT NULL AND trial_revision IS NOT NULL)",
                        name="trial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    trial_id: Mapped[int | None] = mapped_column(ForeignKey("trials.id"), index=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"))  # a train: its YAML file
    trial_revision: Mapped[int | None] = mapped_column(Integer)
    inputs_json: Mapped[str] = mapped_column(Text)
    data_json: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), default="computed")
    notes: Mapped[str] = mapped_column(Text, default="")
    content_sha256: Mapped[str] = mapped_column(String(64))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("results.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    project: Mapped[Project] = relationship()
    trial: Mapped[TrialRecord | None] = relationship()
    upload: Mapped[Upload] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    deletions: Mapped[list[ResultDeletion]] = relationship(
        primaryjoin="ResultVersion.result_id == foreign(ResultDeletion.result_id)", viewonly=True,
        order_by="ResultDeletion.id")
    restorations: Mapped[list[Restoration]] = relationship(
        primaryjoin="and_(ResultVersion.result_id == foreign(Restoration.object_id), "
                    "Restoration.object_type == 'result')", viewonly=True, order_by="Restoration.id")

    # A deleted result is deleted in every version (its rows are never updated: see ResultDeletion); it
    # is deleted while it has more deletions than restorations (an admin may restore it).
    @property
    def deletion(self) -> ResultDeletion | None:
        return self.deletions[-1] if len(self.deletions) > len(self.restorations) else None

    @property
    def deleted_at(self) -> datetime | None:
        return None if self.deletion is None else self.deletion.deleted_at

    @property
    def deleted_by_id(self) -> int | None:
        return None if self.deletion is None else self.deletion.deleted_by_id

    @property
    def delete_reason(self) -> str | None:
        return None if self.deletion is None else self.deletion.reason


class ResultDeletion(Base):
    """The soft deletion of a result: who, when and why, as a row of its own.

    Result rows are append-only (the database refuses to update them), so deleting a result adds this
    row instead of stamping one; ``version`` is the latest version when it was deleted. A result an admin
    restored (a :class:`Restoration`) can be deleted again: one row per deletion.
    """

    __tablename__ = "result_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)


class Deletion(Base):
    """The soft deletion of an upload or a trial (``object_id``: its public id): who, when and why.

    Nothing is removed: the upload's bytes and the trial's data stay, hidden from lists and refused to
    new work, until an admin restores them (a :class:`Restoration`). ``caused_by_id`` is the deletion of
    the upload that took this trial with it (restoring the upload restores the trial too).
    """

    __tablename__ = "deletions"
    __table_args__ = (CheckConstraint(_in("object_type", DELETABLE), name="object_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(32), index=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    caused_by_id: Mapped[int | None] = mapped_column(ForeignKey("deletions.id"))


class Restoration(Base):
    """An admin's restoration of a soft-deleted upload, trial or result (``object_id``: the public id,
    a result's ``result_id``): who, when and why. An object is deleted while it has more deletions than
    restorations."""

    __tablename__ = "restorations"
    __table_args__ = (CheckConstraint(_in("object_type", RESTORABLE), name="object_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(32), index=True)
    restored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    restored_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)


class ApiToken(PublicIdMixin, Base):
    """A bearer token for scripts; only its SHA-256 is stored (tokens are 256-bit random)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class BrowserSession(Base):
    """A signed-in browser; the cookie carries a signed random key whose SHA-256 is stored here."""

    __tablename__ = "browser_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Last request seen (for the idle timeout; written at most once a minute) and the first signature
    # made in this session (21 CFR 11.200(a)(1)(i): the first signing asks for ID and password).
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """A failed password check, for rate limiting by user and client address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Invitation(PublicIdMixin, Base):
    """An offer across organisations that the other side must accept before anything is visible.

    ``member``: ``org`` invites whoever holds the e-mail ``email`` (an account may or may not exist;
    nothing here tells) to join with ``role``. ``share``: ``org``, owner of ``project``, offers it to
    the organisation whose public id is ``target_org_public_id`` (kept as typed, without a foreign
    key, so an invitation to an id that names no organisation looks like any other).
    """

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(_in("kind", INVITATION_KINDS), name="kind"),
        CheckConstraint(_in("status", INVITATION_STATES), name="status"),
        CheckConstraint("(kind = 'member' AND email IS NOT NULL AND role IS NOT NULL) OR "
                        "(kind = 'share' AND project_id IS NOT NULL AND target_org_public_id IS NOT NULL)",
                        name="target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    target_org_public_id: Mapped[str | None] = mapped_column(String(32), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Organisation] = relationship()
    project: Mapped[Project | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class Signature(PublicIdMixin, Base):
    """An electronic signature of one result version (21 CFR 11.50: name, time, meaning).

    ``content_sha256`` is the content hash of the version signed; ``mac`` a keyed MAC (under the audit
    key ``key_id``) over the canonical JSON of the signature's fields, the version and that hash (see
    :func:`fluxwise.store.results.signature_payload`), so a signature cannot be moved to another
    version or changed without the key.
    """

    __tablename__ = "signatures"
    __table_args__ = (CheckConstraint(_in("meaning", SIGNATURE_MEANINGS), name="meaning"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    result_version_id: Mapped[int] = mapped_column(ForeignKey("results.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(16))
    content_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    audit_seq: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str | None] = mapped_column(String(16))
    mac: Mapped[str | None] = mapped_column(String(64))

    result_version: Mapped[ResultVersion] = relationship()
    user: Mapped[User] = relationship()


class AuditEntry(Base):
    """One link of the append-only, keyed hash chain of the audit trail (see :mod:`fluxwise.store.audit`).

    ``key_id`` names the audit key whose MAC ``hash`` is; entries written before the store was sealed
    under a key (plain SHA-256 links) have none.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (CheckConstraint(_in("action", AUDIT_ACTIONS), name="action"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str | None] = mapped_column(String(32))
    actor_name: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str | None] = mapped_column(String(32), index=True)
    project_id: Mapped[str | None] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(100), index=True)
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditHead(Base):
    """The last link of the trail, the store's id and the id of the key new entries are written under.

    Its single row (id 1) is also the lock that serialises appends on PostgreSQL. It is a convenience:
    what proves the length of the trail is the checkpoint log kept outside the database.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    store_id: Mapped[str | None] = mapped_column(String(32))
    key_id: Mapped[str | None] = mapped_column(String(16))


class Setting(Base):
    """Installation-wide values generated on first run (e.g. the cookie signing key)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --- virtual lab (training records, kept apart from the project audit trail) ---------------------------

LAB_MODES = ("practice", "assessment")
#: Every lab record carries this label (see :data:`fluxwise.training.RECORD_LABEL`).
LAB_RECORD_LABEL = "TRAINING - SIMULATED"


class LabScenarioVersion(PublicIdMixin, Base):
    """One version of a lab scenario in an organisation: its YAML exactly as given and its content hash.
    Read-only once attempted (``locked_at``); a changed scenario is a new version."""

    __tablename__ = "lab_scenario_versions"
    __table_args__ = (UniqueConstraint("org_id", "version_hash", name="uq_lab_scenario_versions_org_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    scenario_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(16))
    version_hash: Mapped[str] = mapped_column(String(64))
    yaml_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LabCohort(PublicIdMixin, Base):
    """A cohort: an organisation's trainees on one scenario version, in one mode, led by an instructor."""

    __tablename__ = "lab_cohorts"
    __table_args__ = (CheckConstraint(_in("mode", LAB_MODES), name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    instructor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario_version_id: Mapped[int] = mapped_column(ForeignKey("lab_scenario_versions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))
    attempt_limit: Mapped[int | None] = mapped_column(Integer)
    time_limit_h: Mapped[float | None] = mapped_column(Float)
    pass_mark: Mapped[float] = mapped_column(Float)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    instructor: Mapped[User] = relationship()
    scenario_version: Mapped[LabScenarioVersion] = relationship()


class LabAttempt(PublicIdMixin, Base):
    """A trainee's attempt: the attempt JSON without its seed (the seed is HMAC(server secret, public id),
    derived when needed and never stored), and the grade's score once submitted."""

    __tablename__ = "lab_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("lab_cohorts.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column()

    cohort: Mapped[LabCohort] = relationship()
    trainee: Mapped[User] = relationship()


class LabRunFile(Base):
    """The rig file one experiment of an attempt gave, byte for byte."""

    __tablename__ = "lab_run_files"
    __table_args__ = (UniqueConstraint("attempt_id", "run", name="uq_lab_run_files_attempt_run"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("lab_attempts.id"), index=True)
    run: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class LabTrainingRecord(PublicIdMixin, Base):
    """A passed assessment signed by an instructor, for the GMP training file ("TRAINING - SIMULATED")."""

    __tablename__ = "lab_training_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("lab_attempts.id"), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    trainee_name: Mapped[str] = mapped_column(String(200))
    scenario_id: Mapped[str] = mapped_column(String(100))
    version_hash: Mapped[str] = mapped_column(String(64))
    grader_version: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    completed_on: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    label: Mapped[str] = mapped_column(String(32), default=LAB_RECORD_LABEL)

    attempt: Mapped[LabAttempt] = relationship()
