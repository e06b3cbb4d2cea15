"""Attempts as plain JSON and back, and what practice and assessment let each role see when."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from fluxwise.errors import InputError, RefusedError
from fluxwise.io.catalog import read_catalog
from fluxwise.io.lab_files import parse_answer, parse_run_request
from fluxwise.io.lab_scenario import load_scenario
from fluxwise.training import Attempt, ModePolicy, attempt_seed, derive_seed, public_scenario
from lab_trainee import Desk, sop

FORMATS = read_catalog(None)
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
ANSWER = {
    "mechanism": "standard",
    "min_area": "2 m2",
    "format": "Capsule 10 in",
    "count": 5,
    "safety_factor": 1.5,
    "safety_factor_reason": "lot-variability",
}


@pytest.fixture(scope="module")
def worked(tmp_path_factory):
    sc = load_scenario("mab-sterile-filtration")
    desk = Desk(sc, 9, tmp_path_factory.mktemp("att"))
    desk.run(filter="PES 0.2 um", area="3.5 cm2", pressure="30 psi", duration="30 min")
    desk.run(filter="PES 0.2 um", area="13.8 cm2", pressure="30 psi", duration="10 min")
    sop(desk)
    desk.submit(ANSWER)
    return sc, desk._attempt


def test_an_attempt_rebuilds_from_its_json(worked):
    sc, a = worked
    data = json.loads(json.dumps(a.to_dict()))
    b = Attempt.from_dict(data, sc, formats=FORMATS)
    assert b.to_dict() == a.to_dict()
    assert [r.columns[1][2].tolist() for r in b.runs] == [r.columns[1][2].tolist() for r in a.runs]
    assert b.budget_left == a.budget_left and b.grade.to_dict() == a.grade.to_dict()
    assert data["record"] == "TRAINING - SIMULATED" and data["grade"]["score"] == a.grade.to_dict()["score"]


def test_a_rebuilt_run_must_give_the_same_data(worked):
    sc, a = worked
    data = copy.deepcopy(a.to_dict())
    data["runs"][0]["request"]["duration_h"] = 0.4
    with pytest.raises(InputError) as e:
        Attempt.from_dict(data, sc)
    assert e.value.field == "runs[0]"


def test_an_attempt_belongs_to_one_scenario_version(worked):
    sc, a = worked
    data = copy.deepcopy(a.to_dict())
    data["scenario"]["version_hash"] = "0" * 16
    with pytest.raises(InputError) as e:
        Attempt.from_dict(data, sc)
    assert e.value.field == "scenario.version_hash"
    with pytest.raises(InputError) as e:
        Attempt.from_dict({"format": "something else"}, sc)
    assert e.value.field == "format"


def test_one_submission_per_attempt(worked):
    sc, a = worked
    with pytest.raises(RefusedError) as e:
        a.submit(parse_answer(ANSWER, sc), formats=FORMATS)
    assert e.value.reason == "graded"
    with pytest.raises(RefusedError):
        a.run(
            parse_run_request(sc, filter="PES 0.2 um", area="3.5 cm2", pressure="30 psi", duration="10 min")
        )


def test_practice_shows_grade_and_truth_after_grading():
    sc = load_scenario("mab-sterile-filtration")
    a = Attempt(sc, 2, started_at=T0)
    assert "truth" not in a.view(role="trainee") and "truth" not in a.view(role="instructor")
    a.submit(parse_answer(ANSWER, sc), formats=FORMATS, at=T0 + dt.timedelta(hours=1))
    v = a.view(role="trainee", now=T0 + dt.timedelta(hours=1))
    assert "grade" in v and "truth" in v and "seed" not in v
    assert "seed" in a.view(role="instructor")


def test_assessment_hides_feedback_and_truth_until_the_due_date():
    sc = load_scenario("mab-sterile-filtration")
    due = T0 + dt.timedelta(days=2)
    a = Attempt(sc, 3, mode="assessment", started_at=T0, due_at=due)
    a.submit(parse_answer(ANSWER, sc), formats=FORMATS, at=T0 + dt.timedelta(hours=1))
    before = a.view(role="trainee", now=T0 + dt.timedelta(days=1))
    assert before["submitted"] and "grade" not in before and "truth" not in before
    assert "truth" in a.view(role="instructor", now=T0 + dt.timedelta(days=1))
    after = a.view(role="trainee", now=due)
    assert "grade" in after and "truth" in after


def test_assessment_limits_time_and_attempts():
    sc = load_scenario("mab-sterile-filtration")  # assessment: 3 attempts, 8 h
    a = Attempt(sc, 4, mode="assessment", started_at=T0)
    with pytest.raises(RefusedError) as e:
        a.act("install", by="kim", at=T0 + dt.timedelta(hours=9), vented=True)
    assert e.value.reason == "time_limit"
    policy = ModePolicy(sc, "assessment")
    policy.may_start(2)
    with pytest.raises(RefusedError) as e:
        policy.may_start(3)
    assert e.value.reason == "attempts"
    ModePolicy(sc, "practice").may_start(1000)


def test_seeds_for_retakes_and_from_a_server_secret():
    assert derive_seed(b"secret", "org1", "cohort2", "trainee3", 1) == derive_seed(
        b"secret", "org1", "cohort2", "trainee3", 1
    )
    assert derive_seed(b"secret", "trainee3", 1) != derive_seed(b"secret", "trainee3", 2)
    assert derive_seed(b"other", "trainee3", 1) != derive_seed(b"secret", "trainee3", 1)
    assert attempt_seed(77, 1) == 77 and len({attempt_seed(77, n) for n in range(1, 6)}) == 5
    sc = load_scenario("mab-sterile-filtration")
    t1, t2 = (Attempt(sc, attempt_seed(77, n)).truth for n in (1, 2))
    assert t1.of("PES 0.2 um").constants != t2.of("PES 0.2 um").constants


def test_public_scenario_json_shape():
    sc = load_scenario("cho-depth-constant-flux")
    v = public_scenario(sc)
    assert {"id", "title", "level", "filters", "modes", "budget", "task"} <= set(v)
    assert v["filters"][0]["areas"] == ["5 cm2", "23 cm2"]
    assert {"batch_volume", "process_time", "catalog"} <= set(v["task"]) and v["task"][
        "batch_volume"
    ] == "2000 L"
    assert v["modes"] == ["constant-flux"] and v["budget"]["feed"] == "800 mL"
    assert "truth" not in json.dumps(v)


def test_the_lab_facade_starts_resumes_and_grades():
    from fluxwise.io.lab_scenario import open_lab

    lab = open_lab("mab-sterile-filtration")
    assert lab.public()["id"] == "mab-sterile-filtration" and len(lab.formats) == len(FORMATS)
    a = lab.start(5, mode="assessment", trainee="kim", previous_attempts=1, started_at=T0)
    assert a.number == 2 and a.policy.mode == "assessment"
    with pytest.raises(RefusedError):
        lab.start(5, mode="assessment", previous_attempts=3)
    with pytest.raises(InputError):  # a format the catalog lacks: refused, and the attempt stays open
        lab.submit(a, parse_answer({**ANSWER, "format": "Capsule 40 in"}, lab.scenario), at=T0)
    assert not a.submitted
    g = lab.submit(a, parse_answer(ANSWER, lab.scenario), at=T0 + dt.timedelta(hours=1))
    b = lab.resume(json.loads(json.dumps(a.to_dict())))
    assert b.grade.to_dict() == g.to_dict() and b.submitted
    c = Attempt.from_dict(a.to_dict(), lab.scenario)  # rebuilt without a catalog: closed, grade as stored
    assert c.grade_dict() == g.to_dict()
    with pytest.raises(RefusedError):
        c.run(
            parse_run_request(
                lab.scenario, filter="PES 0.2 um", area="3.5 cm2", pressure="30 psi", duration="10 min"
            )
        )
    assert lab.reveal(5)["mechanism"] == "standard"
