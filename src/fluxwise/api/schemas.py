"""Request and response models of the HTTP API (they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..store.models import AUDIT_ACTIONS
from .science import MAX_SWEEP_SPEC_CHARS


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def Text(max_length: int, min_length: int = 0):  # noqa: N802 - a type factory
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)]


Number = Annotated[float, Field(allow_inf_nan=False)]
Role = Literal["admin", "scientist", "reviewer", "trainee"]
Language = Literal["en", "ko"]
OrgKind = Literal["customer", "hub"]
Meaning = Literal["author", "review", "approve"]
PublicId = Annotated[str, Field(description="Random public id (32 hex digits)", examples=["0" * 32])]


class ErrorOut(BaseModel):
    detail: Any = Field(description="What is wrong, for a person to read (or a list of field errors)")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` argument of a route: these statuses answer ``{"detail": ...}``."""
    return {status: {"model": ErrorOut} for status in statuses}


# --- auth ---------------------------------------------------------------------------------------------

class LoginIn(BaseModel):
    email: Text(320, 1)
    password: Text(1024, 1)


class UserOut(BaseModel):
    id: PublicId
    email: str
    name: str


class MembershipOut(BaseModel):
    org_id: PublicId
    org_name: str
    org_kind: OrgKind
    role: Role


class MeOut(BaseModel):
    user: UserOut
    memberships: list[MembershipOut]
    auth: Literal["session", "token"]
    csrf_token: str | None = Field(None, description="Send it as X-CSRF-Token on unsafe requests "
                                                     "authenticated by the session cookie")


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="Send it as X-CSRF-Token with POST/PATCH/PUT/DELETE requests")
    expires_at: datetime


class TokenIn(BaseModel):
    name: Text(200, 1)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenOut(BaseModel):
    id: PublicId
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The bearer token; shown once, store it now")


# --- organisations and projects -------------------------------------------------------------------

class OrgIn(BaseModel):
    name: Text(200, 1)
    kind: OrgKind = "customer"


class OrgOut(BaseModel):
    id: PublicId
    name: str
    kind: OrgKind
    role: Role
    created_at: datetime
    #: The language of the members' pages unless they choose one; None: the browser's.
    default_language: Language | None = None


class LanguageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: ``en`` or ``ko``; null for "the browser's language".
    language: Language | None


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # no name or password: accounts are not made by tenants

    email: Text(320, 3)
    role: Role


class RoleIn(BaseModel):
    role: Role


class MemberOut(BaseModel):
    user: UserOut
    role: Role
    locked: bool = Field(False, description="Locked after repeated failed password checks (admins see it)")


class InvitationSentOut(BaseModel):
    """The answer to an invitation: the same whether or not the e-mail has an account or the id names
    an organisation, whatever their length (only ``id`` differs; ``GET /api/orgs/{id}/invitations``
    lists whom each invitation names)."""

    id: PublicId
    kind: Literal["member", "share"]
    status: Literal["open"] = "open"
    role: Role | None = None
    project_id: PublicId | None = None
    expires_in_days: int
    detail: str


class InvitationOut(BaseModel):
    id: PublicId
    kind: Literal["member", "share"]
    status: Literal["open", "pending", "accepted", "declined", "revoked", "expired"] = Field(
        description="To the inviting side: open (not answered, or declined: not told apart), accepted, "
                    "revoked or expired; to the invited side: pending, accepted, declined, revoked or "
                    "expired")
    org: OrgRef = Field(description="The inviting organisation")
    email: str | None = None
    role: Role | None = None
    project: OrgRef | None = Field(None, description="The project offered (share invitations)")
    to_org_id: PublicId | None = None
    created_at: datetime
    expires_at: datetime
    created_by: str | None = None


class InvitationAnswerOut(BaseModel):
    id: PublicId
    status: Literal["accepted", "declined"]
    org: OrgRef | None = Field(None, description="The organisation joined (member invitations)")
    project: OrgRef | None = Field(None, description="The project now shared (share invitations)")


class PasswordChangeIn(BaseModel):
    current_password: Text(1024, 1)
    new_password: Text(1024, 8)


class AuditReviewIn(BaseModel):
    org_id: PublicId
    comment: Text(4000) = ""
    email: Text(320, 1) | None = Field(None, description="Your user ID: needed for the first signing "
                                                         "of a browser session and with an API token")
    password: Text(1024, 1)


class AuditReviewOut(BaseModel):
    seq: int = Field(description="The audit entry that records the review")
    org_id: PublicId
    reviewer: str
    reviewed_at: datetime
    from_seq: int
    through_seq: int
    entries: int = Field(description="Entries of the organisation in the reviewed range")
    through_hash: str = Field(description="Hash of the newest entry reviewed")
    comment: str
    next_due: datetime


class LockedMemberOut(BaseModel):
    org: OrgRef
    user: UserOut


class OrgRef(BaseModel):
    id: PublicId
    name: str


class ProjectIn(BaseModel):
    org_id: PublicId
    name: Text(200, 1)
    description: Text(20_000) = ""


class ProjectOut(BaseModel):
    id: PublicId
    name: str
    description: str
    org: OrgRef
    access: Literal["owner", "shared"]
    roles: list[Role]
    shared_with: list[OrgRef] = Field(default_factory=list,
                                      description="Only shown to members of the owning organisation")
    created_at: datetime


class ShareIn(BaseModel):
    org_id: PublicId


# --- uploads and trials -----------------------------------------------------------------------------

class UploadOut(BaseModel):
    id: PublicId
    project_id: PublicId
    filename: str = Field(description="The safe name the file is stored and read under")
    original_filename: str = Field(description="The name as uploaded (Unicode kept)")
    content_type: str
    size_bytes: int
    sha256: str
    created_at: datetime
    created_by: str | None


class TrialOut(BaseModel):
    id: PublicId
    project_id: PublicId
    upload_id: PublicId
    source: str = Field(description="The name of the file the trial was read from, as the user sent it")
    area_m2: float
    mode: str
    points: int
    revision: int
    area: str | None = Field(description="Area as given at upload (None: from the file)")
    mode_requested: str | None
    density: str | None
    columns: dict[str, Any] | None = Field(None, description="The column mapping given (None: detected)")
    created_at: datetime
    updated_at: datetime | None


class TrialDataOut(TrialOut):
    t_h: list[float | None]
    v_L_per_m2: list[float | None]
    pressure_bar: list[float | None] | None
    meta: dict[str, Any]


class UploadCreatedOut(BaseModel):
    upload: UploadOut
    trial: TrialOut


#: A column of the file: its header as written (the unit read from it), or [header, unit].
ColumnRef = Text(300, 1) | Annotated[list[Text(300)], Field(min_length=2, max_length=2)]


class TrialEditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    area: Text(100) | None = Field(None, description="e.g. '13.8 cm2'; omit to keep")
    mode: Text(32) | None = None
    density: Text(100) | None = None
    columns: dict[Text(32, 1), ColumnRef] | None = Field(
        None, max_length=16, description="Column mapping, role -> header or [header, unit] (roles: time, "
        "mass, volume, pressure, flow, ...); null or {} to detect the columns again; omit to keep",
        examples=[{"time": ["Zeit", "s"], "mass": "Gewicht [g]"}])
    reason: Text(2000) | None = Field(None, description="Required: area, mode, density and the columns are "
                                                        "critical")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text(2000, 1) = Field(description="Why (kept in the audit trail)")


class DeletedOut(BaseModel):
    type: Literal["upload", "trial", "result"]
    id: PublicId = Field(description="The upload's or trial's id, or the result's id")
    label: str
    deleted_at: datetime
    deleted_by: str | None
    reason: str
    with_upload: bool = Field(description="A trial deleted with its file (restored with it)")


# --- results --------------------------------------------------------------------------------------------

class FitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notes: Text(20_000) = ""


class SizeIn(BaseModel):
    """Sizing inputs; quantities are strings with units (``"2000 L"``, ``"4 h"``)."""

    model_config = ConfigDict(extra="forbid")
    batch_volume: Text(100, 1) = "2000 L"
    process_time: Text(100, 1) | None = Field(None, description="Default 4 h at constant pressure")
    safety_factor: float = Field(1.5, ge=1.0, le=100.0, allow_inf_nan=False)
    model: Text(100, 1) = "best"
    max_pressure: Text(100, 1) | None = None
    flux: Text(100, 1) | None = None
    flux_decay_limit: Text(100, 1) | None = None
    format_name: Text(200, 1) | None = None
    confidence: Number | Text(20, 1) | None = Field(
        None, description="Risk-based sizing (constant pressure): the area that meets the batch with this "
                          "probability, e.g. 0.95 or '95%', from a bootstrap of the fit and Monte Carlo "
                          "draws; the result then has confidence, risk_based_area_m2, "
                          "implied_safety_factor and risk")
    feed_cv: Number | Text(20, 1) | None = Field(
        None, description="With confidence: lot-to-lot coefficient of variation of the feed's capacity, "
                          "e.g. 0.2")
    turbidity_limit: Number | Text(50, 1) | None = Field(
        None, description="Tmax: also stop where the filtrate turbidity passes this limit, e.g. '10 NTU' "
                          "(needs a turbidity column in the trial); the result's turbidity block names the "
                          "governing limit")
    turbidity_flush: Text(100, 1) | None = Field(None, description="Tmax: filtrate flushed to waste before "
                                                                   "turbidity counts, e.g. '20 L/m2'")
    bootstrap_method: Literal["residual", "block"] | None = Field(
        None, description="With confidence: resample residuals one by one (residual, default) or in moving "
                          "blocks (block, for autocorrelated residuals)")
    extrapolation_limit: Number | Text(20, 1) | None = Field(
        None, description="Warn when the process loading exceeds the trial's by more than this factor "
                          "(default 1.5)")
    buffer_flux: Text(100, 1) | None = Field(
        None, description="Clean-buffer flux at the trial's pressure and temperature, e.g. '5000 LMH' (else "
                          "a 'Buffer flux' line of the trial file): the fitted J0 is checked against it")
    j0_margin: Number | Text(20, 1) | None = Field(
        None, description="How far J0 may exceed the buffer flux before a warning, e.g. 0.1 or '10%'")
    fix_j0: bool = Field(False, description="Fit every model with J0 fixed at the buffer flux")
    process_temperature: Text(100, 1) | None = Field(
        None, description="Process temperature, e.g. '5 degC': times scale by the water viscosity ratio")
    trial_temperature: Text(100, 1) | None = Field(
        None, description="Trial temperature, e.g. '20 degC' (else a 'Temperature' line of the trial file)")
    process_viscosity: Text(100, 1) | None = Field(
        None, description="Process fluid viscosity, e.g. '1.8 mPa*s' (instead of a temperature)")
    trial_viscosity: Text(100, 1) | None = Field(None, description="Trial fluid viscosity, e.g. '1.2 cP'")


class CompareIn(BaseModel):
    """Inputs of ``fluxwise compare``: the project's trials to compare and what to size them for;
    quantities are strings with units."""

    model_config = ConfigDict(extra="forbid")
    trials: list[PublicId] = Field(min_length=1, max_length=20, description="Trial ids of this project")
    batch_volume: Text(100, 1) = "2000 L"
    process_time: Text(100, 1) = "4 h"
    max_pressure: Text(100, 1) | None = Field(None, description="Constant-flux trials: maximum pressure")
    flux: Text(100, 1) | None = Field(None, description="Constant-flux trials: process flux")
    safety_factor: float = Field(1.5, ge=1.0, le=100.0, allow_inf_nan=False)
    titre: Text(100, 1) | None = Field(None, description="Product concentration, e.g. '5 g/L'")
    product_value: Number | Text(50, 1) | None = Field(None, description="USD per gram of product, e.g. 120")
    chase: Text(100, 1) | None = Field(None, description="Buffer chasing the hold-up, e.g. '2 L'")
    product_flush: Text(100, 1) | None = Field(None, description="First filtrate to waste, e.g. '5 L/m2'")
    pre_use_flush: Text(100, 1) | None = Field(None, description="Water flushed before use, e.g. '20 L/m2' "
                                                                 "(default: factors.yaml)")


class SizeRequestIn(SizeIn):
    notes: Text(20_000) = ""


class ResultEditIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notes: Text(20_000) | None = None
    inputs: SizeIn | None = Field(None, description="New sizing inputs; the sizing is recomputed")
    data: dict[str, Any] | None = Field(None, description="Values typed in by hand (origin 'edited')")
    recompute: bool = Field(False, description="Recompute from the trial's current revision")
    reason: Text(2000) | None = Field(None, description="Required when inputs or data change")


class SignIn(BaseModel):
    email: Text(320, 1) | None = Field(None, description="Your user ID: needed for the first signing of a "
                                                         "browser session and for every signing with an "
                                                         "API token (21 CFR 11.200(a)(1))")
    password: Text(1024, 1)
    meaning: Meaning
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="Default: the latest version")


class SignatureOut(BaseModel):
    id: PublicId
    result_id: PublicId
    version: int
    meaning: Meaning
    signer_id: PublicId
    signer_name: str
    content_sha256: str
    signed_at: datetime
    audit_seq: int
    valid: bool = Field(description="True only when checked just now: its keyed MAC matches its fields, the "
                                    "version still has the content it signed, and its audit entry matches")
    problems: list[str] = Field(default_factory=list, description="Why it is not valid (empty when it is)")


class ResultOut(BaseModel):
    id: PublicId = Field(description="The result, across its versions")
    version: int
    version_id: PublicId
    kind: Literal["fit", "sizing", "train", "supply"]
    project_id: PublicId
    trial_id: PublicId | None = Field(description="The trial it was computed from (none for a train or a "
                                                  "supply study)")
    upload_id: PublicId = Field(description="The trial's file, a train's train file or a supply study's plan")
    trial_revision: int | None
    stale: bool = Field(description="The trial was changed after this version was computed")
    origin: Literal["computed", "edited"]
    inputs: dict[str, Any]
    data: dict[str, Any]
    notes: str
    content_sha256: str
    created_at: datetime
    created_by: str | None
    deleted: bool
    deleted_at: datetime | None
    delete_reason: str | None
    signatures: list[SignatureOut]
    record_ok: bool = Field(description="The version's content matches its stored hash and the hash its "
                                        "audit entry recorded, and every signature of it is valid")
    record_problems: list[str] = Field(default_factory=list,
                                       description="What does not match (shown as a red banner)")


class ResultVersionSummary(BaseModel):
    id: PublicId
    version: int
    version_id: PublicId
    origin: Literal["computed", "edited"]
    content_sha256: str
    created_at: datetime
    created_by: str | None


# --- design: UF/DF, trains, sweeps (computations; nothing is stored) ----------------------------------

class UFDFIn(BaseModel):
    """Inputs of ``fluxwise ufdf``, one field per option (``--target-concentration`` ->
    ``target_concentration``); quantities are strings with units."""

    model_config = ConfigDict(extra="forbid")
    volume: Text(100, 1) = Field(description="Load volume", examples=["100 L"])
    concentration: Text(100, 1) = Field(description="Product concentration of the load", examples=["5 g/L"])
    target_concentration: Text(100, 1) = Field(description="Final product concentration",
                                               examples=["150 g/L"])
    k: Text(100, 1) = Field(description="Gel-model mass-transfer coefficient", examples=["20 LMH"])
    cg: Text(100, 1) = Field(description="Gel concentration", examples=["250 g/L"])
    diavolumes: Number | Text(50, 1) | None = Field(None, description="Diavolumes N (0: concentrate only)")
    df_remaining: Number | Text(50, 1) | None = Field(
        None, description="Instead of N: impurity fraction DF must leave, e.g. 0.001")
    df_concentration: Text(100, 1) = Field("optimal", description="Product concentration during DF, e.g. "
                                                                  "'80 g/L', or 'optimal' (least time)")
    sieving: Number | Text(50, 1) = Field(0.0, description="Product sieving coefficient, in [0, 1)")
    impurity_sieving: Number | Text(50, 1) = Field(1.0, description="Impurity sieving coefficient, in [0, 1]")
    area: Text(100, 1) | None = Field(None, description="Membrane area, e.g. '1 m2' (or give process_time)")
    process_time: Text(100, 1) | None = Field(None, description="Process time to meet, e.g. '4 h'; the area "
                                                                "follows (or give area)")
    hold_up: Text(100, 1) | None = Field(None, description="Undrainable system hold-up, e.g. '0.5 L'")
    flush: Text(100, 1) | None = Field(None, description="Buffer flush of the hold-up into the pool, "
                                                         "e.g. '1 L'")
    feed_flux: Text(100, 1) | None = Field(None, description="Crossflow per membrane area, e.g. '300 LMH'")
    cassette_area: Text(100, 1) | None = Field(None, description="Area of one cassette, e.g. '0.11 m2'")
    df_mode: Literal["continuous", "sequential-dilution", "volume-reduction"] = Field(
        "continuous", description="Constant-volume DF, or discontinuous DF in cycles: sequential dilution "
                                  "(add (k-1)V, concentrate back) or volume reduction (to V/k, add (1-1/k)V)")
    dilution_factor: Number | Text(50, 1) | None = Field(None,
                                                         description="k of a discontinuous cycle, e.g. 2")
    cycles: Number | Text(50, 1) | None = Field(None, description="Number of discontinuous cycles (or give "
                                                                  "df_remaining)")
    time_course: bool = Field(False, description="Include the time course (V, C, J over t)")


class SweepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spec: Text(MAX_SWEEP_SPEC_CHARS, 1) | dict[str, Any] = Field(
        description="A sweep spec as for fluxwise sweep (see examples/sweep.yaml): its YAML text, or the "
                    "mapping itself. It cannot name a catalog file: the installation's catalog is used")
    name: Text(200, 1) = Field("sweep spec", description="Name of the spec in messages and the summary")
    format: Literal["json", "csv"] = Field("json", description="json: the summary of fluxwise sweep --json "
                                                               "with the table inline; csv: the table as "
                                                               "fluxwise sweep --out table.csv writes it")


class SweepTableOut(BaseModel):
    columns: list[str] = Field(description="scenario, the swept and fixed parameters, then the results")
    rows: list[list[Any]] = Field(description="One row per scenario, in scenario order (null: not finite)")


class SweepOut(BaseModel):
    """The summary of ``fluxwise sweep --json``; ``table`` holds the table instead of its file name."""

    spec: str
    scenarios: int
    feasible: int
    seconds: float
    executor: str
    table: SweepTableOut
    plot: None = Field(None, description="Contour plots: fluxwise sweep --plot only")
    required_area_m2: dict[str, float | None] | None = Field(
        None, description="min and max over the feasible scenarios (absent without any)")
    cheapest: dict[str, Any] | None = Field(None, description="The feasible scenario of least cost_usd "
                                                              "(absent without a catalog or any)")


# --- audit ------------------------------------------------------------------------------------------------

class AuditEntryOut(BaseModel):
    seq: int
    ts: datetime
    actor_id: str | None
    actor_name: str
    org_id: str | None
    project_id: str | None
    action: Literal[AUDIT_ACTIONS]
    object_type: str
    object_id: str
    old_value: Any
    new_value: Any
    reason: str | None
    prev_hash: str
    hash: str
