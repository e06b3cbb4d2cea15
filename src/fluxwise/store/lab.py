"""The virtual lab in the store: scenario versions, cohorts, attempts and signed training records.

Who sees what (the same answers for the HTTP API and the pages):

* a cohort belongs to one organisation; its members see it (trainees to start attempts), members of
  other organisations get "not found" (404), as for an id that does not exist;
* instructors are the organisation's admins and reviewers: they create cohorts and see every attempt
  of their organisation's cohorts, with the truth once an attempt is graded;
* a trainee sees only their own attempts, the grade and truth only when the cohort's mode allows
  (practice: after grading; assessment: after the due date).

A trainee's truth is drawn from a seed derived from a server secret (the ``lab_seed_key`` setting)
and the attempt's public id (:func:`fluxwise.training.derive_seed`): it is in no row, no file and no
response. Every record here is marked "TRAINING - SIMULATED" and none of it is written to the project
audit trail. A scenario version is read-only once attempted: a changed scenario is a new version.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import InputError
from ..i18n import _
from . import accounts
from .models import (
    LAB_MODES,
    LAB_RECORD_LABEL,
    LabAttempt,
    LabCohort,
    LabRunFile,
    LabScenarioVersion,
    LabTrainingRecord,
    Membership,
    Organisation,
    User,
    utcnow,
)
from .tenancy import Forbidden, NotFound, is_public_id

INSTRUCTOR_ROLES = frozenset({"admin", "reviewer"})
MAX_SCENARIO_BYTES = 256 * 1024
_LABS: dict[str, object] = {}


# --- scenarios -----------------------------------------------------------------------------------------


def parse_scenario_text(text: str, source: str = "scenario.yaml"):
    """A scenario from its YAML text (errors name ``source`` and the key)."""
    from ..io.lab_scenario import parse_scenario

    if len(text.encode("utf-8")) > MAX_SCENARIO_BYTES:
        raise InputError(f"a scenario is at most {MAX_SCENARIO_BYTES // 1024} KiB", source=source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc.__class__.__name__}: {exc})", source=source) from None
    return parse_scenario(data, source=source)


def lab_of(version: LabScenarioVersion):
    """The :class:`fluxwise.training.Lab` of a stored scenario version (parsed once per process)."""
    from ..io.lab_scenario import scenario_formats
    from ..training import Lab

    key = hashlib.sha256(version.yaml_text.encode("utf-8")).hexdigest()
    lab = _LABS.get(key)
    if lab is None:
        sc = parse_scenario_text(version.yaml_text, source=f"{version.scenario_id}.yaml")
        lab = _LABS[key] = Lab(sc, scenario_formats(sc))
    return lab


def shipped_text(scenario_id: str) -> str:
    """The YAML text of a shipped or installed scenario by id."""
    from ..io.lab_scenario import read_scenario, scenario_dirs

    for d in scenario_dirs():
        for f in sorted(Path(d).glob("*.y*ml")) if Path(d).is_dir() else ():
            if read_scenario(f).id == scenario_id:
                return f.read_text(encoding="utf-8-sig")
    raise InputError(_("no scenario '%(id)s'", id=scenario_id), field="scenario")


def add_scenario_version(
    s: Session, org: Organisation, user: User, text: str, source: str = "scenario.yaml"
) -> LabScenarioVersion:
    """Validate a scenario's YAML and keep it as a version of ``org`` (the same content is the same
    version)."""
    sc = parse_scenario_text(text, source)
    row = s.scalar(
        select(LabScenarioVersion).where(
            LabScenarioVersion.org_id == org.id, LabScenarioVersion.version_hash == sc.version_hash
        )
    )
    if row is None:
        row = LabScenarioVersion(
            org_id=org.id,
            scenario_id=sc.id,
            title=sc.title,
            level=sc.level,
            version_hash=sc.version_hash,
            yaml_text=text,
            created_by_id=user.id,
        )
        s.add(row)
        s.flush()
    return row


def scenario_versions(s: Session, org: Organisation) -> list[LabScenarioVersion]:
    return list(
        s.scalars(
            select(LabScenarioVersion)
            .where(LabScenarioVersion.org_id == org.id)
            .order_by(LabScenarioVersion.created_at, LabScenarioVersion.id)
        )
    )


# --- roles and lookups ---------------------------------------------------------------------------------


def role_in(s: Session, user_id: int, org_id: int) -> str | None:
    return s.scalar(select(Membership.role).where(Membership.user_id == user_id, Membership.org_id == org_id))


def is_instructor(s: Session, user_id: int, org_id: int) -> bool:
    return role_in(s, user_id, org_id) in INSTRUCTOR_ROLES


def instructor_org(s: Session, user_id: int, org_public_id: str) -> Organisation:
    """An organisation the user instructs in (404 when not a member, 403 when not an instructor)."""
    org = (
        s.scalar(select(Organisation).where(Organisation.public_id == org_public_id))
        if is_public_id(org_public_id)
        else None
    )
    role = role_in(s, user_id, org.id) if org is not None else None
    if role is None:
        raise NotFound(_("organisation not found"))
    if role not in INSTRUCTOR_ROLES:
        raise Forbidden(_("only the organisation's instructors (admins and reviewers) manage cohorts"))
    return org


def get_cohort(s: Session, user_id: int, cohort_id: str) -> tuple[LabCohort, str]:
    """A cohort of one of the user's organisations and the user's role in it (else 404)."""
    cohort = (
        s.scalar(select(LabCohort).where(LabCohort.public_id == cohort_id))
        if is_public_id(cohort_id)
        else None
    )
    role = role_in(s, user_id, cohort.org_id) if cohort is not None else None
    if role is None:
        raise NotFound(_("cohort not found"))
    return cohort, role


def visible_cohorts(s: Session, user_id: int) -> list[tuple[LabCohort, str]]:
    rows = s.execute(
        select(LabCohort, Membership.role)
        .join(Membership, Membership.org_id == LabCohort.org_id)
        .where(Membership.user_id == user_id)
        .order_by(LabCohort.created_at, LabCohort.id)
    )
    return [(c, r) for c, r in rows]


def get_attempt(s: Session, user_id: int, attempt_id: str) -> tuple[LabAttempt, str]:
    """An attempt the user may see — their own, or any in a cohort they instruct — and the role they
    see it in (``trainee`` or ``instructor``); else 404."""
    row = (
        s.scalar(select(LabAttempt).where(LabAttempt.public_id == attempt_id))
        if is_public_id(attempt_id)
        else None
    )
    if row is not None:
        if is_instructor(s, user_id, row.cohort.org_id):
            return row, "instructor"
        if row.trainee_id == user_id and role_in(s, user_id, row.cohort.org_id) is not None:
            return row, "trainee"
    raise NotFound(_("attempt not found"))


# --- cohorts -------------------------------------------------------------------------------------------


def _as_utc(when) -> datetime | None:
    if when in (None, ""):
        return None
    if not isinstance(when, str | datetime):
        raise InputError(_("give the due date as ISO text (e.g. 2026-12-01T17:00)"), field="due_at")
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.strip())
        except ValueError:
            raise InputError(
                _("'%(when)s' is not an ISO date (e.g. 2026-12-01 or 2026-12-01T17:00)", when=when),
                field="due_at",
            ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def create_cohort(
    s: Session,
    user: User,
    org: Organisation,
    *,
    name: str = "",
    scenario: str | None = None,
    scenario_version: str | None = None,
    mode: str = "practice",
    attempt_limit=None,
    time_limit_h=None,
    pass_mark=None,
    due_at=None,
) -> LabCohort:
    """A cohort on a shipped scenario (by id: its current text becomes a version of ``org``) or on a
    stored version (by public id)."""
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise InputError(_("give the cohort a name (at most 200 characters)"), field="name")
    if mode not in LAB_MODES:
        raise InputError(
            _("unknown mode '%(mode)s' (expected practice or assessment)", mode=mode), field="mode"
        )
    if scenario_version:
        version = (
            s.scalar(
                select(LabScenarioVersion).where(
                    LabScenarioVersion.public_id == scenario_version, LabScenarioVersion.org_id == org.id
                )
            )
            if is_public_id(scenario_version)
            else None
        )
        if version is None:
            raise InputError(
                f"no scenario version '{scenario_version}' in this organisation", field="scenario_version"
            )
    elif scenario:
        version = add_scenario_version(
            s, org, user, shipped_text(str(scenario).strip()), f"{str(scenario).strip()}.yaml"
        )
    else:
        raise InputError(_("give a scenario (id) or a scenario_version"), field="scenario")
    sc = lab_of(version).scenario

    def number(key, value, *, integer=False, low=0.0, high=None):
        if value in (None, ""):
            return None
        try:
            x = int(value) if integer else float(value)
        except (TypeError, ValueError):
            raise InputError(f"'{value}' is not a {'whole ' if integer else ''}number", field=key) from None
        if x < low or (high is not None and x > high) or x != x:
            raise InputError(
                f"{key} must be between {low:g} and {high if high is not None else 'any'}", field=key
            )
        return x

    if mode == "assessment":
        attempt_limit = number("attempt_limit", attempt_limit, integer=True, low=1, high=1000)
        attempt_limit = attempt_limit if attempt_limit is not None else sc.assessment.attempts
        time_limit_h = number("time_limit_h", time_limit_h, low=0.01, high=1000.0)
        time_limit_h = time_limit_h if time_limit_h is not None else sc.assessment.time_limit_h
    else:
        attempt_limit = time_limit_h = None
    pm = number("pass_mark", pass_mark, low=0.0, high=100.0)
    due = _as_utc(due_at)
    if mode == "assessment" and due is None:
        raise InputError(
            _("an assessment needs a due date (feedback and truth are shown after it)"), field="due_at"
        )
    cohort = LabCohort(
        org_id=org.id,
        instructor_id=user.id,
        scenario_version_id=version.id,
        name=name,
        mode=mode,
        attempt_limit=attempt_limit,
        time_limit_h=time_limit_h,
        pass_mark=pm if pm is not None else sc.grading.pass_mark,
        due_at=due,
    )
    s.add(cohort)
    s.flush()
    return cohort


def cohort_json(c: LabCohort, role: str) -> dict:
    v = c.scenario_version
    return {
        "record": LAB_RECORD_LABEL,
        "id": c.public_id,
        "name": c.name,
        "organisation": c.organisation.name,
        "org_id": c.organisation.public_id,
        "instructor": c.instructor.name,
        "mode": c.mode,
        "attempt_limit": c.attempt_limit,
        "time_limit_h": c.time_limit_h,
        "pass_mark": c.pass_mark,
        "due_at": c.due_at.isoformat() if c.due_at else None,
        "scenario": {
            "id": v.scenario_id,
            "title": v.title,
            "level": v.level,
            "version_hash": v.version_hash,
            "version_id": v.public_id,
        },
        "role": "instructor" if role in INSTRUCTOR_ROLES else "trainee",
    }


# --- attempts ------------------------------------------------------------------------------------------


def _secret(s: Session) -> bytes:
    return accounts.secret_setting(s, "lab_seed_key").encode("utf-8")


def _seed(s: Session, row: LabAttempt) -> int:
    from ..training import derive_seed

    return derive_seed(_secret(s), "lab-attempt", row.public_id)


def _apply_cohort(attempt, cohort: LabCohort) -> None:
    attempt.policy.attempts = cohort.attempt_limit
    attempt.policy.time_limit_h = cohort.time_limit_h
    attempt.policy.pass_mark = cohort.pass_mark


def start_attempt(s: Session, user: User, cohort: LabCohort):
    """A new attempt of ``user`` in ``cohort`` (refused beyond an assessment's attempt limit); each
    attempt has its own truth."""
    from ..errors import RefusedError
    from ..training import ModePolicy

    lab = lab_of(cohort.scenario_version)
    previous = (
        s.scalar(
            select(func.count())
            .select_from(LabAttempt)
            .where(LabAttempt.cohort_id == cohort.id, LabAttempt.trainee_id == user.id)
        )
        or 0
    )
    if cohort.attempt_limit is not None and previous >= cohort.attempt_limit:
        raise RefusedError(
            f"refused (attempts): this assessment allows {cohort.attempt_limit} attempt"
            f"{'s' if cohort.attempt_limit != 1 else ''}",
            reason="attempts",
        )
    ModePolicy(lab.scenario, cohort.mode)  # the mode is one the engine knows
    row = LabAttempt(
        cohort_id=cohort.id,
        trainee_id=user.id,
        number=previous + 1,
        state="{}",
        started_at=utcnow().replace(microsecond=0),
    )
    s.add(row)
    s.flush()
    from ..training import Attempt

    attempt = Attempt(
        lab.scenario,
        _seed(s, row),
        mode=cohort.mode,
        trainee=user.name,
        started_at=row.started_at,
        due_at=cohort.due_at,
        number=row.number,
    )
    _apply_cohort(attempt, cohort)
    save(row, attempt)
    if cohort.scenario_version.locked_at is None:
        cohort.scenario_version.locked_at = utcnow()
    return row, attempt


def load(s: Session, row: LabAttempt):
    """The engine's attempt of a stored row (runs simulated again, actions replayed; the stored grade
    is kept, not graded again)."""
    from ..training import Attempt

    lab = lab_of(row.cohort.scenario_version)
    data = dict(json.loads(row.state), seed=_seed(s, row))
    attempt = Attempt.from_dict(data, lab.scenario, formats=None)
    _apply_cohort(attempt, row.cohort)
    return lab, attempt


def save(row: LabAttempt, attempt) -> None:
    data = attempt.to_dict()
    data.pop("seed", None)  # derived from the server secret, never stored
    row.state = json.dumps(data, sort_keys=True)


def record_run(s: Session, row: LabAttempt, lab, attempt, run) -> LabRunFile:
    """Keep the rig file of the attempt's newest run."""
    from ..io.lab_files import rig_file_bytes

    fmt = "xlsx" if lab.scenario.rig.export == "xlsx" else "csv"
    content = rig_file_bytes(lab.scenario, run, fmt)
    n = len(attempt.runs)
    f = LabRunFile(
        attempt_id=row.id,
        run=n,
        filename=f"{lab.scenario.id}-run{n}.{fmt}",
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    s.add(f)
    s.flush()
    return f


def run_file(s: Session, row: LabAttempt, n: int) -> LabRunFile:
    f = s.scalar(select(LabRunFile).where(LabRunFile.attempt_id == row.id, LabRunFile.run == n))
    if f is None:
        raise NotFound(_("run not found"))
    return f


def submit(s: Session, row: LabAttempt, lab, attempt, answer) -> dict:
    grade = lab.submit(attempt, answer)
    save(row, attempt)
    row.submitted_at = utcnow()
    d = _with_cohort_pass(grade.to_dict(), row.cohort)
    row.score, row.passed = d["score"], d["passed"]
    attempt.stored_grade = d
    return d


def _with_cohort_pass(grade: dict, cohort: LabCohort) -> dict:
    g = dict(grade)
    g["pass_mark"] = cohort.pass_mark
    g["passed"] = not g.get("critical_errors") and g["score"] >= cohort.pass_mark - 1e-9
    return g


def view(row: LabAttempt, attempt, role: str, now: datetime | None = None) -> dict:
    """What ``role`` may see of the attempt now (never the seed)."""
    v = attempt.view(role=role, now=now)
    v.pop("seed", None)
    if role == "instructor" and attempt.submitted and "grade" not in v:
        v["grade"] = attempt.grade_dict()  # instructors review the grade before the due date
    if "grade" in v and v["grade"] is not None:
        v["grade"] = _with_cohort_pass(v["grade"], row.cohort)
    v.update(
        id=row.public_id,
        cohort=row.cohort.public_id,
        cohort_name=row.cohort.name,
        trainee_id=row.trainee.public_id,
        files=[
            {"run": i + 1, "url": f"/api/lab/attempts/{row.public_id}/runs/{i + 1}/file"}
            for i in range(len(attempt.runs))
        ],
    )
    if role == "instructor":
        rec = _record_of(row)
        v["training_record"] = record_json(rec) if rec is not None else None
    return v


def my_attempts(s: Session, user_id: int, cohort: LabCohort) -> list[LabAttempt]:
    return list(
        s.scalars(
            select(LabAttempt)
            .where(LabAttempt.cohort_id == cohort.id, LabAttempt.trainee_id == user_id)
            .order_by(LabAttempt.id)
        )
    )


def attempt_summary(row: LabAttempt, *, show_score: bool) -> dict:
    return {
        "id": row.public_id,
        "trainee": row.trainee.name,
        "number": row.number,
        "started_at": row.started_at.isoformat(),
        "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
        "score": row.score if show_score else None,
        "passed": row.passed if show_score else None,
    }


# --- the instructor's view -----------------------------------------------------------------------------


def cohort_attempts(s: Session, cohort: LabCohort) -> list[LabAttempt]:
    return list(
        s.scalars(select(LabAttempt).where(LabAttempt.cohort_id == cohort.id).order_by(LabAttempt.id))
    )


def dashboard(s: Session, cohort: LabCohort) -> dict:
    """The cohort by objective: score distribution, the most common mistakes, time and budget used."""
    lab = lab_of(cohort.scenario_version)
    sc = lab.scenario
    rows = cohort_attempts(s, cohort)
    graded = [r for r in rows if r.submitted_at is not None]
    by_objective: dict[str, dict] = {}
    mistakes: Counter = Counter()
    people = []
    bins = [0] * 10
    for r in rows:
        data = json.loads(r.state)
        used = data.get("budget_used") or {}
        hours = ((r.submitted_at or utcnow()) - r.started_at).total_seconds() / 3600
        people.append(
            {
                **attempt_summary(r, show_score=True),
                "runs": len(data.get("runs") or []),
                "feed_mL": used.get("feed_mL", 0.0),
                "bench_h": used.get("bench_h", 0.0),
                "money": used.get("money", 0.0),
                "elapsed_h": hours,
                "record": _record_of(r) is not None,
            }
        )
        grade = data.get("grade")
        if not grade:
            continue
        bins[min(int(grade["score"] // 10), 9)] += 1
        for msg in grade.get("critical_errors") or []:
            mistakes[("critical", msg.split(":")[0][:120])] += 1
        for p in grade.get("parts") or []:
            obj = p.get("objective") or p["name"]
            o = by_objective.setdefault(
                obj, {"objective": obj, "text": sc.objectives.get(obj, ""), "scores": [], "max": 0.0}
            )
            o["scores"].append(p["score"])
            o["max"] = max(o["max"], p["max"])
            if p["max"] and p["score"] < 0.8 * p["max"]:
                mistakes[(p["name"], _first_sentence(p["feedback"]))] += 1
    objectives = []
    for o in by_objective.values():
        sc_ = sorted(o["scores"])
        n = len(sc_)
        objectives.append(
            {
                "objective": o["objective"],
                "text": o["text"],
                "attempts": n,
                "max": o["max"],
                "mean": sum(sc_) / n,
                "min": sc_[0],
                "median": sc_[n // 2] if n % 2 else (sc_[n // 2 - 1] + sc_[n // 2]) / 2,
                "max_scored": sc_[-1],
                "share_full": sum(x >= 0.8 * o["max"] for x in sc_) / n if o["max"] else 1.0,
            }
        )
    return {
        "record": LAB_RECORD_LABEL,
        "cohort": cohort_json(cohort, "admin"),
        "attempts": len(rows),
        "graded": len(graded),
        "passed": sum(bool(r.passed) for r in graded),
        "score_distribution": [{"from": 10 * i, "to": 10 * i + 10, "count": c} for i, c in enumerate(bins)],
        "objectives": objectives,
        "common_mistakes": [{"part": k[0], "mistake": k[1], "count": c} for k, c in mistakes.most_common(10)],
        "trainees": people,
        "budget": {
            "feed_mL": sc.budget.feed_mL,
            "bench_h": sc.budget.bench_h,
            "money": sc.budget.money,
            "currency": sc.currency,
        },
    }


def _first_sentence(text: str) -> str:
    text = " ".join(str(text).split())
    cut = text.find(". ")
    return (text if cut < 0 else text[: cut + 1])[:160]


def dashboard_csv(board: dict) -> str:
    """The cohort's attempts as CSV (one row per attempt; score, budget and time used)."""
    out = io.StringIO()
    w = csv.writer(out)
    name = " ".join(board["cohort"]["name"].split()).replace(",", " ")
    out.write(
        f"# {LAB_RECORD_LABEL}: cohort {name}; scenario {board['cohort']['scenario']['id']} "
        f"version {board['cohort']['scenario']['version_hash']}\r\n"
    )
    w.writerow(
        [
            "attempt",
            "trainee",
            "number",
            "started_at",
            "submitted_at",
            "score",
            "passed",
            "runs",
            "feed_used_mL",
            "bench_time_used_h",
            "money_used",
            "elapsed_h",
            "training_record",
        ]
    )
    for p in board["trainees"]:
        w.writerow(
            [
                p["id"],
                _csv_safe(p["trainee"]),
                p["number"],
                p["started_at"],
                p["submitted_at"] or "",
                "" if p["score"] is None else f"{p['score']:.1f}",
                "" if p["passed"] is None else p["passed"],
                p["runs"],
                f"{p['feed_mL']:.4g}",
                f"{p['bench_h']:.4g}",
                f"{p['money']:.4g}",
                f"{p['elapsed_h']:.3g}",
                p["record"],
            ]
        )
    return out.getvalue()


def _csv_safe(text: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# --- training records ----------------------------------------------------------------------------------


def _record_of(row: LabAttempt) -> LabTrainingRecord | None:
    from sqlalchemy.orm import object_session

    return object_session(row).scalar(select(LabTrainingRecord).where(LabTrainingRecord.attempt_id == row.id))


def sign_training_record(
    s: Session, signer: User, row: LabAttempt, *, password: str, client: str = ""
) -> LabTrainingRecord:
    """The instructor's signed training record of a passed assessment (password checked again)."""
    if not is_instructor(s, signer.id, row.cohort.org_id):
        raise Forbidden(_("only the organisation's instructors sign training records"))
    if row.cohort.mode != "assessment":
        raise InputError(_("training records are signed for assessments, not practice"), field="attempt")
    if row.submitted_at is None or not row.passed:
        raise InputError(_("only a passed, graded assessment gives a training record"), field="attempt")
    if _record_of(row) is not None:
        from .results import Conflict

        raise Conflict("this attempt's training record is signed already")
    accounts.check_password(s, signer.email, password, client, purpose="signature", actor=signer)
    data = json.loads(row.state)
    rec = LabTrainingRecord(
        attempt_id=row.id,
        org_id=row.cohort.org_id,
        trainee_id=row.trainee_id,
        trainee_name=row.trainee.name,
        scenario_id=row.cohort.scenario_version.scenario_id,
        version_hash=row.cohort.scenario_version.version_hash,
        grader_version=str(data.get("grader_version", "")),
        score=float(row.score),
        completed_on=row.submitted_at,
        signed_by_id=signer.id,
        signer_name=signer.name,
        label=LAB_RECORD_LABEL,
    )
    s.add(rec)
    s.flush()
    return rec


def record_json(rec: LabTrainingRecord) -> dict:
    return {
        "record": rec.label,
        "id": rec.public_id,
        "trainee": rec.trainee_name,
        "scenario": rec.scenario_id,
        "version_hash": rec.version_hash,
        "grader_version": rec.grader_version,
        "score": rec.score,
        "completed_on": rec.completed_on.date().isoformat(),
        "signed_by": rec.signer_name,
        "signed_at": rec.signed_at.isoformat(),
        "meaning": "instructor: training completed",
    }
