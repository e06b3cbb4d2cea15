"""One trainee's attempt at a scenario: runs, GMP actions, answer, grade — and what each role may see.

:class:`Attempt` is the engine the doors drive (CLI now; store, HTTP API and web pages later). It
holds only plain data that rebuilds it exactly — the scenario's id and version hash, the seed, the
mode, the run requests, the GMP actions with their timestamps, the answer — and :meth:`Attempt.to_dict`
/ :meth:`Attempt.from_dict` turn it into JSON and back: runs are simulated again from their requests
(same seed, same index, same data; the stored SHA-256 of each run's readings proves it) and the GMP
actions are replayed.

Modes (:class:`ModePolicy`): *practice* — unlimited attempts, the equipment's answer and the SOP
feedback after every step, the grade and feedback at once, the truth after grading; *assessment* —
a limit on attempts and on time, a pass mark, critical errors, no step feedback, grade, feedback and
truth only after the due date; each retake draws a new truth (:func:`attempt_seed`). In the web app
the seed is derived from a server secret and the attempt (:func:`derive_seed`) and never shown.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac

import numpy as np

from ..errors import InputError, RefusedError
from ..trial import CONSTANT_PRESSURE
from .gmp import GmpState
from .grading import GRADER_VERSION, Answer, Grade, grade_answer, true_min_area
from .rig import RigRun, RunRequest, Usage, check_request, remaining, simulate_run
from .scenario import RECORD_LABEL, Scenario, draw_truth
from .sop import ACTIONS, Mistake, sop_steps

__all__ = [
    "Lab",
    "PRACTICE",
    "ASSESSMENT",
    "MODES",
    "ModePolicy",
    "Attempt",
    "attempt_seed",
    "derive_seed",
    "public_scenario",
    "reveal",
    "ATTEMPT_FORMAT",
]

PRACTICE, ASSESSMENT = "practice", "assessment"
MODES = (PRACTICE, ASSESSMENT)
ATTEMPT_FORMAT = "fluxwise-lab-attempt"
ROLES = ("trainee", "instructor")


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


def _when(at) -> _dt.datetime:
    if at is None:
        return _now()
    if isinstance(at, str):
        try:
            at = _dt.datetime.fromisoformat(at)
        except ValueError:
            raise InputError(
                f"'{at}' is not an ISO date and time (e.g. 2026-03-01T09:30:00+00:00)", field="at"
            ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=_dt.UTC)
    return at


def derive_seed(secret: bytes, *parts) -> int:
    """A trainee's seed from a server secret and the attempt's identity (HMAC-SHA256, 63 bits):
    reproducible for the server, unguessable for the trainee."""
    msg = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hmac.new(secret, msg, hashlib.sha256).digest()[:8], "big") >> 1


def attempt_seed(base_seed: int, attempt_number: int) -> int:
    """The seed of retake ``attempt_number`` (1, 2, ...): each retake draws a new truth."""
    if attempt_number <= 1:
        return int(base_seed)
    return int(
        np.random.SeedSequence([int(base_seed), int(attempt_number)]).generate_state(1, np.uint64)[0] >> 1
    )


class ModePolicy:
    """What a mode allows: attempts, time, feedback and truth, and when (see the module docstring)."""

    def __init__(self, scenario: Scenario, mode: str):
        if mode not in MODES:
            raise InputError(f"unknown mode '{mode}' (expected practice or assessment)", field="mode")
        self.mode = mode
        a = scenario.assessment
        self.attempts = None if mode == PRACTICE else a.attempts
        self.time_limit_h = None if mode == PRACTICE else a.time_limit_h
        self.pass_mark = scenario.grading.pass_mark

    @property
    def step_feedback(self) -> bool:
        """SOP feedback after each step (practice only)."""
        return self.mode == PRACTICE

    def show_grade(self, *, now: _dt.datetime, due: _dt.datetime | None) -> bool:
        """Score, parts and feedback: at once in practice, after the due date in assessment."""
        return self.mode == PRACTICE or (due is not None and now >= due)

    def show_truth(self, *, role: str, graded: bool, now: _dt.datetime, due: _dt.datetime | None) -> bool:
        """Instructors after grading; trainees after grading in practice, after the due date in assessment."""
        if role not in ROLES:
            raise InputError(f"unknown role '{role}' (expected trainee or instructor)", field="role")
        if not graded:
            return False
        if role == "instructor" or self.mode == PRACTICE:
            return True
        return due is not None and now >= due

    def may_start(self, previous_attempts: int) -> None:
        """Refuse an attempt beyond the assessment's limit."""
        if self.attempts is not None and previous_attempts >= self.attempts:
            raise RefusedError(
                f"refused (attempts): this assessment allows {self.attempts} attempt"
                f"{'s' if self.attempts != 1 else ''}",
                reason="attempts",
            )

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "attempts": self.attempts,
            "time_limit_h": self.time_limit_h,
            "pass_mark": self.pass_mark,
            "step_feedback": self.step_feedback,
        }


def _q(x, unit, digits=4) -> str | None:
    return None if x is None else f"{x:.{digits}g} {unit}"


def _area(a_m2: float) -> str:
    return f"{a_m2 * 1e4:.4g} cm2" if a_m2 < 0.01 else f"{a_m2:.4g} m2"


def public_scenario(scenario: Scenario) -> dict:
    """Everything a trainee may know about a scenario (the JSON of ``fluxwise lab scenarios``)."""
    t, b, rig = scenario.task, scenario.budget, scenario.rig
    sf = scenario.safety_factor
    filters = []
    for f in scenario.filters:
        d = {
            "name": f.name,
            "description": f.description,
            "areas": [d.label for d in f.discs],
            "device_prices": {d.label: d.price for d in f.discs},
        }
        if f.prefilter is not None:
            d["prefilter"] = {
                "name": f.prefilter.name,
                "area_ratio": f.prefilter.area_ratio,
                "price_per_m2": f.prefilter.price_per_m2,
            }
        if f.max_pressure_bar is not None:
            d["max_pressure"] = _q(f.max_pressure_bar, "bar")
        filters.append(d)
    task = {
        "text": t.text,
        "mode": t.mode,
        "batch_volume": _q(t.batch_volume_L, "L"),
        "process_time": _q(t.process_time_h, "h"),
        "catalog": t.catalog,
        "filters": list(t.filters),
        "temperature": f"{t.temperature_c:g} degC",
        "prefilter_decision": t.prefilter_decision,
    }
    if t.mode == CONSTANT_PRESSURE:
        task["pressure"] = _q(t.pressure_bar, "bar")
    else:
        task.update(flux=_q(t.flux_LMH, "LMH"), max_pressure=_q(t.max_pressure_bar, "bar"))
    if t.flux_decay_limit is not None:
        task["flux_decay_limit"] = t.flux_decay_limit
    out = {
        "id": scenario.id,
        "title": scenario.title,
        "level": scenario.level,
        "description": scenario.description,
        "version_hash": scenario.version_hash,
        "feed": {"name": scenario.feed.name, "price_per_mL": scenario.feed.price_per_mL},
        "filters": filters,
        "modes": list(rig.modes),
        "budget": {
            "feed": _q(b.feed_mL, "mL"),
            "bench_time": _q(b.bench_h, "h"),
            "money": f"{b.money:g} {scenario.currency}",
        },
        "rig": {
            "log_interval": f"{rig.log_interval_h * 3600:g} s",
            "hold_up": _q(rig.hold_up_mL, "mL"),
            "setup_time": _q(rig.setup_time_h, "h"),
            "filtrate": rig.filtrate,
            "pressure_unit": rig.pressure_unit,
            "export": rig.export,
        },
        "task": task,
        "safety_factor": {
            "reasons": {k: v[0] for k, v in sf.reasons.items()},
            **({"range": [sf.low, sf.high]} if sf.show_range else {}),
        },
        "sop": sop_steps(scenario),
        "gmp": _public_gmp(scenario),
        "objectives": dict(scenario.objectives),
        "parts": {
            p: {"points": round(v, 2), "objective": scenario.grading.objectives.get(p, "")}
            for p, v in scenario.points().items()
        },
        "pass_mark": scenario.grading.pass_mark,
        "currency": scenario.currency,
    }
    if rig.filtrate == "mass":
        out["feed"]["density"] = f"{scenario.feed.density_g_per_mL:g} g/mL"
    return out


def _public_gmp(scenario: Scenario) -> dict:
    """The SOP's numbers and the device's integrity data sheet (what the trainee works with)."""
    g, i = scenario.gmp, scenario.gmp.integrity
    spec = {"method": i.method, "spec_fluid": i.spec_fluid, "test_fluid": i.test_fluid}
    if i.method == "bubble-point":
        spec.update(spec=f"{i.spec:.4g} bar", spec_temperature=f"{i.spec_temperature_c:g} degC")
        if i.spec_surface_tension is not None:
            spec["spec_surface_tension"] = f"{i.spec_surface_tension:g} mN/m"
        if i.test_surface_tension is not None:
            spec["test_surface_tension"] = f"{i.test_surface_tension:g} mN/m"
    else:
        spec.update(
            spec=f"{i.spec * 1000 / 60:.4g} mL/min",
            reference_area=_area(i.reference_area_m2),
            area=_area(i.area_m2),
        )
    if i.test_pressure_bar is not None:
        spec["test_pressure"] = f"{i.test_pressure_bar:.4g} bar"
    return {
        "device": g.device,
        "part_number": g.part_number,
        "sterilise": g.sterilise,
        "flush": f"{g.flush_L:g} L",
        "rewet": f"{g.rewet_L:g} L",
        "back_pressure": f"{g.back_pressure_bar:g} bar",
        "flush_out": f"{g.flush_out_L:g} L",
        "integrity": spec,
        "deviation_on": list(g.deviation_on),
        "actions": list(ACTIONS),
    }


def reveal(scenario: Scenario, seed: int) -> dict:
    """The truth for authors and instructors: ``{"mechanism", "params"}`` of the task's first filter in the
    keys of ``fluxwise fit`` at the task's operating point, every filter, and the true minimum areas."""
    truth = draw_truth(scenario, seed)
    t = scenario.task

    def at_task(name):
        if t.mode == CONSTANT_PRESSURE:
            return truth.fit_params(name, pressure_bar=t.pressure_bar)
        return truth.fit_params(name, flux_LMH=t.flux_LMH)

    first = t.filters[0]
    filters = {}
    for f in scenario.filters:
        d = {"mechanism": truth.of(f.name).mechanism, "params": at_task(f.name), **truth.of(f.name).to_dict()}
        if f.name in t.filters:
            d["min_area_m2"] = true_min_area(scenario, truth, f.name)
        filters[f.name] = d
    return {
        "record": RECORD_LABEL,
        "scenario": scenario.id,
        "version_hash": scenario.version_hash,
        "seed": seed,
        "mechanism": filters[first]["mechanism"],
        "params": filters[first]["params"],
        "min_area_m2": filters[first]["min_area_m2"],
        "viscosity_cP": truth.viscosity_cP,
        "solids": truth.solids,
        "filters": filters,
    }


class Attempt:
    """One attempt: see the module docstring. Quantities are canonical floats (the doors parse units).

    Parameters
    ----------
    scenario : Scenario
    seed : int  The truth's seed (kept out of every trainee view).
    mode : ``"practice"`` or ``"assessment"``.
    trainee : str  Who makes the attempt (records are attributable).
    started_at, due_at : datetime, optional  Start (default now, UTC) and due date (assessment).
    number : int  Attempt number of this trainee on this scenario (1 for the first).
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        *,
        mode: str = PRACTICE,
        trainee: str = "",
        started_at=None,
        due_at=None,
        number: int = 1,
    ):
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise InputError(f"the seed must be a whole number 0 or more, got {seed!r}", field="seed")
        self.scenario = scenario
        self.seed = int(seed)
        self.policy = ModePolicy(scenario, mode)
        self.mode = mode
        self.trainee = str(trainee)
        self.started_at = _when(started_at)
        self.due_at = None if due_at is None else _when(due_at)
        self.number = int(number)
        self.truth = draw_truth(scenario, self.seed)
        self.runs: list[RigRun] = []
        self._run_records: list[dict] = []
        self.actions: list[dict] = []
        self.gmp = GmpState(scenario, self.seed, self.started_at.date())
        self.answer: Answer | None = None
        self.grade: Grade | None = None
        self.graded_at: _dt.datetime | None = None
        self.stored_grade: dict | None = None  # the grade JSON of a rebuilt attempt not graded again

    # ------------------------------------------------------------------------------- budget

    @property
    def used(self) -> Usage:
        total = Usage()
        for r in self.runs:
            total = total + r.usage
        return total

    @property
    def budget_left(self) -> Usage:
        return remaining(self.scenario, self.used)

    @property
    def submitted(self) -> bool:
        return self.answer is not None

    def grade_dict(self) -> dict | None:
        """The grade's JSON (graded now, or as stored when rebuilt without a catalog)."""
        return self.grade.to_dict() if self.grade is not None else self.stored_grade

    def _open(self, at: _dt.datetime) -> None:
        if self.submitted:
            raise RefusedError(
                "refused (graded): this attempt has been submitted; start a new attempt", reason="graded"
            )
        lim = self.policy.time_limit_h
        if lim is not None and at > self.started_at + _dt.timedelta(hours=lim):
            raise RefusedError(
                f"refused (time limit): the attempt's {lim:g} h ran out at "
                f"{(self.started_at + _dt.timedelta(hours=lim)).isoformat()}",
                reason="time_limit",
            )

    # ------------------------------------------------------------------------------- experiments

    def run(self, request: RunRequest, *, at=None) -> RigRun:
        """Run one experiment (refused with the reason when the budget or the time cannot take it)."""
        at = _when(at)
        self._open(at)
        limit = check_request(self.scenario, request, self.used)
        run = simulate_run(self.scenario, self.truth, request, len(self.runs), feed_limit_mL=limit)
        self.runs.append(run)
        self._run_records.append(
            {
                "at": at.isoformat(),
                "request": request.to_dict(),
                "feed_limit_mL": limit,
                "sha256": _run_digest(run),
                "summary": run.summary(),
            }
        )
        return run

    # ------------------------------------------------------------------------------- GMP

    def device_label(self) -> dict:
        """The label of the filter device in hand (for ``verify``)."""
        return self.gmp.label()

    def act(self, action: str, *, by: str, at=None, **params) -> dict:
        """Record one GMP action (append-only) and return what the equipment shows; in practice mode
        the SOP feedback on this step too (``"feedback"``)."""
        at = _when(at)
        self._open(at)
        if not str(by or "").strip():
            raise InputError("every record is attributable: say who did it", field="by")
        clean = {k: v for k, v in params.items() if v is not None}
        result = self.gmp.apply(action, clean, at=at)
        mistakes = result.pop("mistakes")
        entry = {
            "seq": len(self.actions) + 1,
            "at": at.isoformat(),
            "by": str(by).strip(),
            "action": action,
            "params": clean,
            "result": result,
            "record": RECORD_LABEL,
        }
        self.actions.append(entry)
        shown = dict(result, seq=entry["seq"])
        if self.policy.step_feedback:
            shown["feedback"] = [m["text"] for m in mistakes]
        return shown

    # ------------------------------------------------------------------------------- answer

    def submit(self, answer: Answer, *, formats, at=None) -> Grade:
        """Grade the answer against the truth and close the attempt (one submission per attempt)."""
        at = _when(at)
        self._open(at)
        grade = self._grade(formats, answer)  # an answer the grader refuses leaves the attempt open
        self.answer, self.grade, self.graded_at = answer, grade, at
        return grade

    def _grade(self, formats, answer: Answer | None = None) -> Grade:
        answer = answer if answer is not None else self.answer
        replay = GmpState(self.scenario, self.seed, self.started_at.date())
        for a in self.actions:
            replay.apply(a["action"], a["params"], at=_when(a["at"]))
        has_record = bool(self.actions)
        if has_record:
            replay.finish()
        extra = _integrity_summary_check(answer, replay) if has_record else []
        return grade_answer(
            self.scenario,
            self.truth,
            answer,
            formats=formats,
            runs=self.runs,
            usage=self.used,
            gmp=replay if has_record else None,
            gmp_extra=extra,
        )

    # ------------------------------------------------------------------------------- views

    def view(self, *, role: str = "trainee", now=None) -> dict:
        """What a role may see now (the doors show this and nothing else)."""
        now = _when(now)
        graded = self.submitted
        out = {
            "record": RECORD_LABEL,
            "scenario": self.scenario.id,
            "version_hash": self.scenario.version_hash,
            "mode": self.policy.to_dict(),
            "trainee": self.trainee,
            "number": self.number,
            "started_at": self.started_at.isoformat(),
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
            "runs": [r["summary"] for r in self._run_records],
            "budget_left": self.budget_left.to_dict(),
            "used": self.used.to_dict(),
            "device_label": self.device_label(),
            "actions": [],
            "answer": None if self.answer is None else self.answer.to_dict(),
            "submitted": graded,
        }
        for a in self.actions:
            out["actions"].append({k: a[k] for k in ("seq", "at", "by", "action", "params", "result")})
        if graded and self.policy.show_grade(now=now, due=self.due_at):
            out["grade"] = self.grade_dict()
        if self.policy.show_truth(role=role, graded=graded, now=now, due=self.due_at):
            out["truth"] = reveal(self.scenario, self.seed)
        if role == "instructor":
            out["seed"] = self.seed
        return out

    # ------------------------------------------------------------------------------- persistence

    def to_dict(self) -> dict:
        """Plain JSON that rebuilds this attempt with :meth:`from_dict` (keep it server-side: it holds
        the seed)."""
        return {
            "format": ATTEMPT_FORMAT,
            "version": 1,
            "record": RECORD_LABEL,
            "scenario": {"id": self.scenario.id, "version_hash": self.scenario.version_hash},
            "grader_version": GRADER_VERSION,
            "seed": self.seed,
            "mode": self.mode,
            "trainee": self.trainee,
            "number": self.number,
            "started_at": self.started_at.isoformat(),
            "due_at": None if self.due_at is None else self.due_at.isoformat(),
            "runs": [dict(r) for r in self._run_records],
            "actions": [dict(a) for a in self.actions],
            "budget_used": self.used.to_dict(),
            "answer": None if self.answer is None else self.answer.to_dict(),
            "grade": None if self.grade is None else self.grade.to_dict(),
            "graded_at": None if self.graded_at is None else self.graded_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict, scenario: Scenario, *, formats=None) -> Attempt:
        """Rebuild an attempt from :meth:`to_dict`'s JSON: the runs are simulated again and checked
        against their stored digests, the actions replayed; with ``formats`` a stored answer is graded
        again (else the stored grade is kept as its JSON in ``stored_grade``)."""
        if not isinstance(data, dict) or data.get("format") != ATTEMPT_FORMAT:
            raise InputError(f'not a lab attempt (expected "format": "{ATTEMPT_FORMAT}")', field="format")
        sc = data.get("scenario") or {}
        if sc.get("id") != scenario.id:
            raise InputError(
                f"the attempt is for scenario '{sc.get('id')}', not '{scenario.id}'", field="scenario"
            )
        if sc.get("version_hash") != scenario.version_hash:
            raise InputError(
                f"the attempt was made on version {sc.get('version_hash')} of '{scenario.id}', this "
                f"is version {scenario.version_hash}: attempts are graded on the version they used",
                field="scenario.version_hash",
            )
        a = cls(
            scenario,
            data["seed"],
            mode=data.get("mode", PRACTICE),
            trainee=data.get("trainee", ""),
            started_at=data.get("started_at"),
            due_at=data.get("due_at"),
            number=data.get("number", 1),
        )
        for i, rec in enumerate(data.get("runs") or []):
            req = RunRequest.from_dict(rec["request"])
            run = simulate_run(scenario, a.truth, req, i, feed_limit_mL=float(rec["feed_limit_mL"]))
            if rec.get("sha256") and rec["sha256"] != _run_digest(run):
                raise InputError(
                    f"run {i + 1} does not rebuild to the data it gave (stored digest differs)",
                    field=f"runs[{i}]",
                )
            a.runs.append(run)
            a._run_records.append(dict(rec))
        for i, act in enumerate(data.get("actions") or []):
            try:
                result = a.gmp.apply(act["action"], act.get("params") or {}, at=_when(act["at"]))
            except InputError as exc:
                raise InputError(exc.message, field=f"actions[{i}].{exc.field or 'action'}") from None
            result.pop("mistakes")
            a.actions.append({**act, "result": result})
        if data.get("answer"):
            a.answer = Answer.from_dict(data["answer"])
            a.graded_at = _when(data["graded_at"]) if data.get("graded_at") else None
            if formats is not None:
                a.grade = a._grade(formats)
        a.stored_grade = data.get("grade")
        return a


def _run_digest(run: RigRun) -> str:
    h = hashlib.sha256()
    for header, _, values in run.columns:
        h.update(header.encode("utf-8"))
        h.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return h.hexdigest()


def _integrity_summary_check(answer: Answer | None, gmp: GmpState) -> list:
    """The answer's optional integrity summary must agree with the signed record (it earns nothing)."""
    if answer is None or not answer.integrity:
        return []
    claim = answer.integrity
    pre = [t for t in gmp.tests.values() if t.stage == "pre" and t.recorded is not None]
    if not pre:
        return [
            Mistake(
                "answer_mismatch", 0, "the answer reports an integrity test that the record does not hold"
            )
        ]
    verdict = str(claim.get("result", claim.get("verdict", ""))).lower()
    last = pre[-1]
    if verdict and verdict not in ("pass", "fail"):
        return []
    if verdict and (verdict == "pass") != last.passed:
        return [
            Mistake(
                "answer_mismatch",
                0,
                f"the answer says the pre-use test {verdict}ed; the record's last "
                f"pre-use test (action {last.seq}) says otherwise",
            )
        ]
    return []


class Lab:
    """A scenario with the catalog its task sizes from: the entry point of the doors.

    ``Lab(scenario, formats)``; :func:`fluxwise.io.lab_scenario.open_lab` reads both. Attempts are
    started with :meth:`start` (assessment limits checked), kept as :meth:`Attempt.to_dict` JSON and
    rebuilt with :meth:`resume`.
    """

    def __init__(self, scenario: Scenario, formats):
        self.scenario = scenario
        self.formats = tuple(formats)

    def public(self) -> dict:
        """What a trainee may know about the scenario (``fluxwise lab scenarios --json``)."""
        return public_scenario(self.scenario)

    def start(
        self,
        seed: int,
        *,
        mode: str = PRACTICE,
        trainee: str = "",
        previous_attempts: int = 0,
        started_at=None,
        due_at=None,
    ) -> Attempt:
        """A new attempt; refused beyond the assessment's attempt limit. Retakes should get a new seed
        (:func:`attempt_seed`, :func:`derive_seed`)."""
        ModePolicy(self.scenario, mode).may_start(previous_attempts)
        return Attempt(
            self.scenario,
            seed,
            mode=mode,
            trainee=trainee,
            started_at=started_at,
            due_at=due_at,
            number=previous_attempts + 1,
        )

    def resume(self, data: dict) -> Attempt:
        """An attempt from its JSON (a submitted one is graded again with this catalog)."""
        return Attempt.from_dict(data, self.scenario, formats=self.formats)

    def submit(self, attempt: Attempt, answer: Answer, *, at=None) -> Grade:
        return attempt.submit(answer, formats=self.formats, at=at)

    def reveal(self, seed: int) -> dict:
        """The truth of a seed (instructors and authors only)."""
        return reveal(self.scenario, seed)
