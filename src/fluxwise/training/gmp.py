r"""The GMP exercise: installing, testing and using a filter by the SOP, graded from the action log.

An attempt's GMP record is an ordered, append-only list of actions (who, when, what, with which
values). :class:`GmpState` replays that list: it produces what the simulated equipment answers (the
device label, the integrity-test readings) and it notes every departure from the SOP. The same
replay grades the attempt, so the grade comes from what was recorded, in the order it was recorded,
never from what an answer claims.

SOP (in order; PDA Technical Report 26, sterilizing filtration of liquids, and EU GMP Annex 1 §8.87
for the pre-use post-sterilisation integrity test)
----------------------------------------------------------------------------------------------
1. ``verify`` identity (part number), lot and expiry against the label; reject what does not match.
2. ``install`` the device and vent it.
3. ``flush`` (wet) with at least the vendor's volume.
4. ``sterilise`` where the scenario says so.
5. ``integrity_test`` pre-use, and ``record_result`` with the specification *corrected* to the test's
   fluid and temperature (:func:`fluxwise.design.integrity.check_bubble_point`: ratio of γ·cosθ, IAPWS
   water surface tension) or, for a diffusion test, scaled to the installed area
   (:func:`~fluxwise.design.integrity.check_diffusion`).
   On a failure: ``check_setup`` (leaks, o-ring, test parameters) first, ``rewet`` by the vendor's
   method (larger flush, back-pressure), retest. A filter that still fails is rejected
   (``reject``: quarantined), a ``deviation`` raised per the SOP, and ``replace``\ d; the replacement
   starts again at step 1. The failed result stays in the record beside the retest.
6. ``filter`` the batch.
7. ``flush_out`` the product.
8. ``integrity_test`` post-use and ``record_result``. A post-use failure means a ``deviation`` and
   ``quarantine_batch``; replacing the filter does not fix it.
9. ``sign`` the record.

Critical errors (the attempt fails whatever its score): accepting a failed integrity test (a "pass"
recorded against a reading that fails the corrected specification), overwriting a recorded result
(recording a test twice instead of a ``correct``\ ion with a reason), filtering through a filter that
has not passed its pre-use test or that is expired, and signing a batch record after a post-use
failure without quarantining the batch.

Draws (per attempt, from the scenario's probabilities): an expired first device, a first device that
is not fully wetted (fails its first test, passes after a re-wet), a defect or unseated o-ring (fails
again after the re-wet), a post-use failure. Devices after the second are always sound, so every
attempt can be finished.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from ..errors import InputError
from .scenario import RECORD_LABEL, STREAM_GMP, Scenario, rng_for
from .sop import ACTIONS, SOP_STEPS, Mistake, correct_limit, integrity_reading

__all__ = ["GmpState"]


@dataclass
class _Unit:
    index: int
    label: dict
    expired: bool
    state: str  # ok | not_wetted | defect
    verified: str | None = None  # accept | reject
    installed: bool = False
    vented: bool = False
    flushed: float = 0.0
    sterilised: bool = False
    rewets: int = 0
    setup_checked: bool = False
    failed_pre: int = 0
    passed_pre: bool = False  # the latest pre-use test truly passed
    recorded_pass: bool = False
    rejected: bool = False
    deviation_needed: str | None = None


@dataclass
class _Test:
    seq: int
    unit: int
    stage: str
    measured: float
    limit: float
    passed: bool
    temperature_c: float
    recorded: int | None = None  # seq of its record


@dataclass
class GmpState:
    """Replays (or receives one by one) the GMP actions of an attempt; see the module docstring.

    ``process_date`` is the attempt's date (expiry is judged against it).
    """

    scenario: Scenario
    seed: int
    process_date: _dt.date
    units: list = field(default_factory=list)
    tests: dict = field(default_factory=dict)
    mistakes: list = field(default_factory=list)
    done: dict = field(default_factory=dict)
    filtered: bool = False
    flushed_out: bool = False
    post_failed: bool = False
    batch_quarantined: bool = False
    deviations: list = field(default_factory=list)
    signed: int | None = None
    last_at: _dt.datetime | None = None
    seq: int = 0

    def __post_init__(self):
        g = self.scenario.gmp
        rng = rng_for(self.scenario.id, self.seed, STREAM_GMP)
        u = rng.random(8)
        self._draw = {
            "expired": u[0] < g.p_expired,
            "first": self._state(u[1], g),
            "second": self._state(u[2], g),
            "post": u[3] < g.p_post_failure,
            "lots": [int(x) for x in rng.integers(100000, 999999, 6)],
            "days": [int(x) for x in rng.integers(90, 720, 6)],
            "expired_days": int(rng.integers(3, 120)),
        }
        self._rng = rng
        self.units.append(self._new_unit())

    @staticmethod
    def _state(u: float, g) -> str:
        if u < g.p_defect:
            return "defect"
        if u < g.p_defect + g.p_not_wetted:
            return "not_wetted"
        return "ok"

    def _new_unit(self) -> _Unit:
        i = len(self.units)
        expired = i == 0 and self._draw["expired"]
        days = -self._draw["expired_days"] if expired else self._draw["days"][i % 6]
        g = self.scenario.gmp
        label = {
            "device": g.device,
            "part_number": g.part_number,
            "lot": f"TR{self._draw['lots'][i % 6]}",
            "expiry": (self.process_date + _dt.timedelta(days=days)).isoformat(),
        }
        state = (
            "ok" if expired else (self._draw["first"] if i == 0 else self._draw["second"] if i == 1 else "ok")
        )
        return _Unit(index=i, label=label, expired=expired, state=state)

    @property
    def unit(self) -> _Unit:
        return self.units[-1]

    def label(self) -> dict:
        """The label of the device in hand (what the trainee reads before ``verify``)."""
        return {**self.unit.label, "process_date": self.process_date.isoformat(), "record": RECORD_LABEL}

    # ------------------------------------------------------------------------------ bookkeeping

    def _mistake(self, code: str, text: str, *, critical: bool = False, seq: int | None = None) -> Mistake:
        m = Mistake(code, self.seq if seq is None else seq, text, critical)
        self.mistakes.append(m)
        return m

    def _order(self, ok: bool, text: str):
        if not ok:
            self._mistake("order", text)

    @property
    def critical(self) -> list:
        return [m for m in self.mistakes if m.critical]

    # ------------------------------------------------------------------------------ one action

    def apply(self, action: str, params: dict, *, at: _dt.datetime) -> dict:
        """Apply one recorded action; return what the equipment shows (may be empty) and the
        mistakes this action made (``"mistakes"``: list of dicts; the doors decide who may see them)."""
        if action not in ACTIONS:
            raise InputError(f"unknown action '{action}' (actions: {', '.join(ACTIONS)})", field="action")
        self.seq += 1
        before = len(self.mistakes)
        if self.last_at is not None and at < self.last_at:
            self._mistake(
                "backdated",
                f"action {self.seq} ({action}) is dated {at.isoformat()}, before the "
                f"previous entry ({self.last_at.isoformat()}): records are written "
                f"when the work is done",
            )
        self.last_at = max(at, self.last_at) if self.last_at else at
        if self.signed is not None and action != "correct":
            self._mistake(
                "after_signature",
                f"action {self.seq} ({action}) was added after the record was signed (action {self.signed})",
            )
        result = getattr(self, f"_do_{action}")(dict(params or {})) or {}
        result["mistakes"] = [m.to_dict() for m in self.mistakes[before:]]
        return result

    def _text(self, params, key, *, required=True) -> str:
        v = params.get(key)
        if v is None or str(v).strip() == "":
            if required:
                raise InputError(f"this action needs '{key}'", field=key)
            return ""
        return str(v).strip()

    def _number(self, params, key, *, required=True) -> float | None:
        v = params.get(key)
        if v is None:
            if required:
                raise InputError(f"this action needs '{key}' (a number)", field=key)
            return None
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise InputError(f"'{v}' is not a number", field=key) from None
        if not x >= 0:
            raise InputError(f"must be zero or positive, got {v}", field=key)
        return x

    def _choice(self, params, key, options) -> str:
        v = self._text(params, key).lower()
        if v not in options:
            raise InputError(f"'{v}' is not one of: {', '.join(options)}", field=key)
        return v

    def _do_verify(self, p):
        u = self.unit
        given = {k: self._text(p, k) for k in ("part_number", "lot", "expiry")}
        decision = self._choice(p, "decision", ("accept", "reject"))
        wrong = [k for k, v in given.items() if v.casefold() != str(u.label[k]).casefold()]
        if wrong:
            self._mistake(
                "transcription",
                "the record does not match the label: "
                + "; ".join(f"{k} recorded '{given[k]}', label '{u.label[k]}'" for k in wrong),
            )
        if decision == "accept" and u.expired:
            self._mistake(
                "accepted_expired",
                f"device lot {u.label['lot']} expired on {u.label['expiry']}, "
                f"before the process date {self.process_date}: it must be "
                f"rejected and replaced",
            )
        if (
            decision == "accept"
            and given["part_number"].casefold() != self.scenario.gmp.part_number.casefold()
        ):
            self._mistake(
                "transcription",
                f"part number {given['part_number']} is not the SOP's {self.scenario.gmp.part_number}",
            )
        u.verified = decision
        self.done.setdefault("verify", self.seq)

    def _do_install(self, p):
        u = self.unit
        self._order(
            u.verified == "accept",
            f"action {self.seq}: device installed before its identity, lot "
            f"and expiry were verified and accepted",
        )
        u.installed = True
        u.vented = bool(p.get("vented", False))
        if not u.vented:
            self._mistake(
                "not_vented",
                f"action {self.seq}: the housing was not vented (air left upstream "
                f"blinds the membrane and falsifies the integrity test)",
            )
        self.done.setdefault("install", self.seq)

    def _do_flush(self, p):
        u = self.unit
        vol = self._number(p, "volume_L")
        self._order(u.installed, f"action {self.seq}: flush before the device was installed")
        need = self.scenario.gmp.flush_L
        if vol + 1e-9 < need:
            self._mistake("flush_short", f"flush of {vol:g} L is below the vendor's {need:g} L")
        u.flushed = max(u.flushed, vol)
        self.done.setdefault("flush", self.seq)

    def _do_sterilise(self, p):
        u = self.unit
        self._order(u.flushed > 0, f"action {self.seq}: sterilised before the device was flushed")
        u.sterilised = True
        self.done.setdefault("sterilise", self.seq)

    def _do_check_setup(self, p):
        self.unit.setup_checked = True
        return {
            "finding": "no leak found at the connections; o-ring seated as far as can be seen; test "
            "parameters as in the SOP"
        }

    def _do_rewet(self, p):
        u, g = self.unit, self.scenario.gmp
        vol = self._number(p, "volume_L")
        bp = self._number(p, "back_pressure_bar", required=False) or 0.0
        if u.failed_pre == 0:
            self._order(False, f"action {self.seq}: re-wet without a failed pre-use test")
        elif not u.setup_checked:
            self._mistake(
                "no_setup_check",
                f"action {self.seq}: re-wetted before checking the set-up (leaks, "
                f"o-ring, specification corrected for fluid and temperature)",
            )
        if vol + 1e-9 < g.rewet_L or bp + 1e-9 < g.back_pressure_bar:
            self._mistake(
                "rewet_method",
                f"re-wet with {vol:g} L at {bp:g} bar back-pressure; the vendor's "
                f"method is at least {g.rewet_L:g} L at {g.back_pressure_bar:g} bar",
            )
        u.rewets += 1
        if u.rewets > 1:
            self._mistake(
                "extra_rewet",
                f"action {self.seq}: a second re-wet of the same device: the SOP allows "
                f"one re-wet and retest, then the device is rejected (testing into "
                f"compliance)",
            )
        if u.state == "not_wetted":
            u.state = "ok"

    def _do_integrity_test(self, p):
        stage = self._choice(p, "stage", ("pre", "post"))
        u, g, spec = self.unit, self.scenario.gmp, self.scenario.gmp.integrity
        if stage == "pre":
            self._order(
                u.installed and u.flushed > 0,
                f"action {self.seq}: pre-use test before the device was installed and flushed",
            )
            if g.sterilise and not u.sterilised:
                self._mistake(
                    "not_sterilised",
                    f"action {self.seq}: pre-use test before sterilisation: the "
                    f"SOP requires the test after sterilisation",
                )
            fails = u.state != "ok"
        else:
            self._order(self.filtered, f"action {self.seq}: post-use test before the batch was filtered")
            if self.filtered and not self.flushed_out:
                self._order(False, f"action {self.seq}: post-use test before the product was flushed out")
            # a device that was only short of wetting is wet with product by now; a defect stays a defect
            fails = self._draw["post"] or u.state == "defect"
        temp = float(spec.test_temperature_c.draw(self._rng))
        limit = correct_limit(spec, temp)
        measured = integrity_reading(self._rng, spec, limit, fails)
        t = _Test(self.seq, u.index, stage, measured, limit, not fails, temp)
        self.tests[self.seq] = t
        if stage == "pre":
            u.passed_pre = t.passed
            if fails:
                u.failed_pre += 1
        else:
            self.post_failed = self.post_failed or fails
            self.done.setdefault("post_use_test", self.seq)
        out = {
            "test": self.seq,
            "stage": stage,
            "method": spec.method,
            "fluid": spec.test_fluid,
            "temperature_c": round(temp, 1),
            "device_lot": u.label["lot"],
        }
        if spec.method == "bubble-point":
            out.update(measured=round(measured, 3), unit="bar")
        else:
            out.update(measured=round(measured * 1000 / 60, 2), unit="mL/min")
        return out

    def _record(self, test: _Test, limit: float, verdict: str):
        spec = self.scenario.gmp.integrity
        bubble = spec.method == "bubble-point"
        # the limit is recorded in the unit of the reading: bar (bubble point) or mL/min (diffusion)
        correct = test.limit if bubble else test.limit * 1000 / 60
        unit_txt = "bar" if bubble else "mL/min"
        if not limit > 0 or abs(limit / correct - 1.0) > 0.01:
            why = "corrected for the test fluid and temperature" if bubble else "scaled to the installed area"
            self._mistake(
                "limit_uncorrected",
                f"test {test.seq}: limit recorded {limit:.4g} {unit_txt}; the "
                f"specification {why} is {correct:.4g} {unit_txt}",
            )
        measured_txt = f"{test.measured:.3f} bar" if bubble else f"{test.measured * 1000 / 60:.2f} mL/min"
        if verdict == "pass" and not test.passed:
            self._mistake(
                "accepted_failed_test",
                f"test {test.seq} ({test.stage}-use): 'pass' recorded, but "
                f"{measured_txt} fails the corrected limit of {correct:.4g} "
                f"{unit_txt}: accepting a failed integrity test",
                critical=True,
            )
        if verdict == "fail" and test.passed:
            self._mistake(
                "rejected_passing",
                f"test {test.seq}: 'fail' recorded, but {measured_txt} passes the "
                f"corrected limit of {correct:.4g} {unit_txt}",
            )
        u = self.units[test.unit]
        if (
            test.stage == "pre"
            and test.unit == self.unit.index
            and test.seq == max(s for s, x in self.tests.items() if x.unit == test.unit and x.stage == "pre")
        ):
            u.recorded_pass = verdict == "pass"
            if verdict == "pass" and u.failed_pre and "rewet" in self.scenario.gmp.deviation_on:
                u.deviation_needed = "rewet"

    def _do_record_result(self, p):
        seq = int(self._number(p, "test"))
        test = self.tests.get(seq)
        if test is None:
            raise InputError(f"action {seq} is not an integrity test", field="test")
        verdict = self._choice(p, "verdict", ("pass", "fail"))
        limit = self._number(p, "limit")
        if test.recorded is not None:
            self._mistake(
                "overwrite",
                f"test {seq} already has a result (action {test.recorded}); recording it "
                f"again overwrites it: correct a record with 'correct' and a reason",
                critical=True,
            )
        test.recorded = self.seq
        self._record(test, limit, verdict)
        self.done.setdefault("pre_use_test" if test.stage == "pre" else "post_use_record", self.seq)

    def _do_correct(self, p):
        target = int(self._number(p, "of"))
        reason = self._text(p, "reason", required=False)
        if not reason:
            self._mistake(
                "correction_reason",
                f"action {self.seq}: a correction without a reason (good "
                f"documentation practice: original kept, reason, date, signature)",
            )
        tests = [t for t in self.tests.values() if t.recorded == target]
        if tests and "verdict" in p:
            verdict = self._choice(p, "verdict", ("pass", "fail"))
            self._record(tests[0], self._number(p, "limit"), verdict)

    def _do_reject(self, p):
        self._text(p, "reason")
        self.unit.rejected = True
        u = self.unit
        if u.failed_pre and "rejection" in self.scenario.gmp.deviation_on:
            u.deviation_needed = "rejection"
        return {"quarantined": u.label["lot"]}

    def _do_replace(self, p):
        old = self.unit
        if self.filtered and self.post_failed:
            self._mistake(
                "replace_after_post",
                f"action {self.seq}: the device was replaced after a post-use "
                f"failure; that does not fix it: the batch went through the "
                f"failed filter (deviation and batch quarantine)",
            )
        if not old.rejected:
            self._mistake(
                "not_rejected",
                f"action {self.seq}: device lot {old.label['lot']} replaced without "
                f"being rejected and quarantined",
            )
        self.units.append(self._new_unit())
        return {"label": self.label()}

    def _do_deviation(self, p):
        text = self._text(p, "description")
        number = f"DEV-TR-{len(self.deviations) + 1:03d}"
        covered = {d["unit"] for d in self.deviations}
        after_post = self.post_failed and not any(d["after_post"] for d in self.deviations)
        # a deviation covers the post-use failure, else the latest device that needs one, else the
        # device in use
        pending = [u.index for u in self.units if u.deviation_needed and u.index not in covered]
        unit = self.unit.index if after_post or not pending else pending[-1]
        self.deviations.append(
            {"id": number, "unit": unit, "seq": self.seq, "description": text, "after_post": after_post}
        )
        return {"deviation": number}

    def _do_filter(self, p):
        u, g = self.unit, self.scenario.gmp
        if self.filtered:
            self._order(False, f"action {self.seq}: the batch was already filtered")
            return {}
        if u.expired and u.verified == "accept":
            self._mistake(
                "expired_used",
                f"action {self.seq}: the batch was filtered through an expired device "
                f"(lot {u.label['lot']}, expiry {u.label['expiry']})",
                critical=True,
            )
        if u.verified is None:
            self._mistake(
                "not_verified",
                f"action {self.seq}: the device used was never verified (identity, lot, expiry)",
            )
        self._order(
            u.installed and u.vented, f"action {self.seq}: filtered through a device not installed and vented"
        )
        if u.flushed <= 0:
            self._order(False, f"action {self.seq}: filtered through a device that was not flushed")
        if g.sterilise and not u.sterilised:
            self._mistake(
                "not_sterilised", f"action {self.seq}: filtered through a device that was not sterilised"
            )
        pre = [t for t in self.tests.values() if t.unit == u.index and t.stage == "pre"]
        if not pre:
            self._mistake(
                "no_pre_use_test",
                f"action {self.seq}: filtered without a pre-use integrity test",
                critical=True,
            )
        elif not pre[-1].passed:
            self._mistake(
                "used_failed_filter",
                f"action {self.seq}: filtered through a device whose last pre-use "
                f"test failed (test {pre[-1].seq})",
                critical=True,
            )
        elif pre[-1].recorded is None:
            self._mistake(
                "unrecorded_test", f"action {self.seq}: filtered before the pre-use test result was recorded"
            )
        self.filtered = True
        self.done.setdefault("filter", self.seq)

    def _do_flush_out(self, p):
        vol = self._number(p, "volume_L")
        self._order(self.filtered, f"action {self.seq}: product flush-out before the batch was filtered")
        if vol + 1e-9 < self.scenario.gmp.flush_out_L:
            self._mistake(
                "flush_out_short",
                f"flush-out of {vol:g} L is below the SOP's "
                f"{self.scenario.gmp.flush_out_L:g} L (product left in the device)",
            )
        self.flushed_out = True
        self.done.setdefault("flush_out", self.seq)

    def _do_quarantine_batch(self, p):
        self._text(p, "reason")
        if not self.post_failed:
            self._mistake(
                "needless_quarantine", f"action {self.seq}: batch quarantined without a failed post-use test"
            )
        self.batch_quarantined = True
        return {"batch": "quarantined"}

    def _do_sign(self, p):
        self._text(p, "meaning")
        if self.signed is None:
            self.signed = self.seq
            self.done.setdefault("sign", self.seq)
            if self.post_failed and not self.batch_quarantined:
                self._mistake(
                    "released_failed_batch",
                    f"action {self.seq}: the record was signed after a post-use "
                    f"failure without quarantining the batch",
                    critical=True,
                )
        return {"signed": True}

    # ------------------------------------------------------------------------------ the end

    def finish(self) -> list:
        """Mistakes of the record as a whole (missing steps, deviations); call once after the replay."""
        out = []

        def miss(code, text, critical=False):
            out.append(self._mistake(code, text, critical=critical, seq=0))

        if "verify" not in self.done:
            miss("not_verified", "identity, lot and expiry were never verified")
        if not self.filtered:
            miss("not_filtered", "the batch was never filtered")
        else:
            if not self.flushed_out:
                miss("flush_out_short", "the product was not flushed out after filtration")
            post = [t for t in self.tests.values() if t.stage == "post"]
            if not post:
                miss("no_post_test", "no post-use integrity test")
            elif any(t.recorded is None for t in post):
                miss("unrecorded_test", "a post-use test result was never recorded")
            if self.post_failed:
                if not any(d["after_post"] for d in self.deviations):
                    miss("no_deviation", "no deviation raised for the post-use integrity failure")
                if not self.batch_quarantined and not any(
                    m.code == "released_failed_batch" for m in self.mistakes
                ):
                    miss(
                        "released_failed_batch",
                        "the batch was not quarantined after the post-use integrity failure",
                        critical=True,
                    )
        covered = {d["unit"] for d in self.deviations if not d["after_post"]}
        for u in self.units:
            if u.deviation_needed and u.index not in covered:
                why = (
                    "re-wet after a failed pre-use test"
                    if u.deviation_needed == "rewet"
                    else "rejected after failing its integrity test"
                )
                miss(
                    "no_deviation",
                    f"no deviation raised for device lot {u.label['lot']} ({why}), as the SOP requires",
                )
        if self.signed is None:
            miss("not_signed", "the record was not signed")
        return out

    def steps(self) -> list[dict]:
        """The SOP steps with the first action that did each (None when never done)."""
        names = {"pre_use_test": "pre_use_test", "post_use_test": "post_use_record"}
        out = []
        for k, text in SOP_STEPS:
            if k == "sterilise" and not self.scenario.gmp.sterilise:
                continue
            out.append({"step": k, "text": text, "action": self.done.get(names.get(k, k))})
        return out
