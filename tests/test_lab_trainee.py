"""Scripted trainees against every shipped scenario (see ``lab_trainee.py``): a good one scores at least
90 on at least 95 % of the seeds; the classical wrong strategies score below the pass mark with
feedback that names the mistake; a short run on a hard scenario leaves the models undecided.

Seeds: 50 per scenario. Constant-pressure trials are fitted 50 at a time by the batched fitter; the
constant-flux scenario fits with scipy per trial (no batched fitter exists for constant flux) and
costs about a minute of CPU on its own.
"""

from __future__ import annotations

import numpy as np
import pytest

from fluxwise.fit.fouling import fit_trial
from fluxwise.io import read_trial
from fluxwise.io.lab_scenario import list_scenarios, load_scenario
from fluxwise.training import draw_truth
from fluxwise.training.grading import credited_mechanisms_batch
from lab_trainee import (
    Desk,
    accepts_failed_tests,
    good_trainees,
    linear_vmax,
    random_mechanism,
    short_run,
    size,
)

SCENARIOS = [s.id for s in list_scenarios()]


def _seeds(sc) -> range:
    return range(50)


def _warm_grader(sc, seeds) -> None:
    """The grader refits each truth noise-free; do the whole class in one batched call (as a server would
    for a cohort) instead of one at a time. Only the grader's cache sees the truth."""
    for f in sc.task.filters:
        credited_mechanisms_batch(sc, [draw_truth(sc, s) for s in seeds], f)


@pytest.mark.parametrize("sid", SCENARIOS)
def test_a_good_scripted_trainee_scores_at_least_90_on_95_percent_of_seeds(sid, tmp_path):
    sc = load_scenario(sid)
    seeds = _seeds(sc)
    _warm_grader(sc, seeds)
    results = good_trainees(sc, seeds, tmp_path)
    scores = np.array([g["score"] for _, g in results])
    assert np.mean(scores >= 90) >= 0.95, sorted(scores)[:5]
    for desk, g in results:
        left = desk.budget_left()
        assert min(left.values()) >= -1e-9  # within budget
        gmp = next(p for p in g["parts"] if p["name"] == "gmp")
        assert gmp["score"] == gmp["max"] and not g["critical_errors"], gmp[
            "feedback"
        ]  # GMP steps done right
        assert g["passed"] == (g["score"] >= g["pass_mark"])


def test_a_random_mechanism_fails_when_it_is_not_credited(tmp_path):
    rng = np.random.default_rng(2026)
    caught = 0
    for sid in (
        "lv-harvest-filtration",
        "mab-prefilter-decision",
        "cho-centrate-clarification",
        "mab-sterile-filtration",
    ):
        sc = load_scenario(sid)
        seeds = range(100, 112)
        _warm_grader(sc, seeds)
        for _, g, model in random_mechanism(sc, seeds, tmp_path, rng):
            mech = next(p for p in g["parts"] if p["name"] == "mechanism")
            if mech["score"] == 0:
                caught += 1
                assert g["score"] < g["pass_mark"] and not g["passed"]
                assert f"'{model}' is not credited" in mech["feedback"]
    assert caught >= 8  # the random picks that a fit of the truth does not support (about a quarter)


@pytest.mark.parametrize(
    "sid,mistake",
    [
        ("cho-centrate-clarification", "assumes a plateau that a cake never reaches"),
        ("lv-harvest-filtration", "overstates capacity, and this filter would not finish the batch"),
    ],
)
def test_a_linear_vmax_fails_on_cake_and_on_complete_blocking(sid, mistake, tmp_path):
    sc = load_scenario(sid)
    for _, g in linear_vmax(sc, range(5), tmp_path):
        area = next(p for p in g["parts"] if p["name"] == "area")
        assert g["score"] < g["pass_mark"] and not g["passed"]
        assert "straight Vmax line" in area["feedback"] and mistake in area["feedback"], area["feedback"]


def test_accepting_a_failed_integrity_test_fails_the_attempt(tmp_path):
    sc = load_scenario("mab-sterile-filtration")
    seeds = range(20)
    _warm_grader(sc, seeds)
    failed = 0
    for _, g, happened in accepts_failed_tests(sc, seeds, tmp_path):
        if happened.get("accepted"):
            failed += 1
            assert not g["passed"] and g["score"] < g["pass_mark"]
            assert any("accepting a failed integrity test" in c for c in g["critical_errors"])
            gmp = next(p for p in g["parts"] if p["name"] == "gmp")
            assert gmp["score"] == 0 and "Critical" in gmp["feedback"]
        else:
            assert g["passed"]  # nothing failed, so nothing was wrongly accepted
    assert failed >= 3


@pytest.mark.parametrize("sid", [s.id for s in list_scenarios() if s.level == "hard"])
def test_one_short_run_on_a_hard_scenario_leaves_the_models_undecided(sid, tmp_path):
    sc = load_scenario(sid)
    undecided = 0
    for seed in range(10):
        desk = Desk(sc, seed, tmp_path)
        fit = fit_trial(read_trial(short_run(desk, 10)))  # 10 minutes at the process conditions
        areas = [size(desk.public, f.name, f.params) for f in fit.fits if f.name in fit.indistinguishable]
        areas = [a for a in areas if np.isfinite(a)]
        # at least two models within ΔAICc 2 whose areas differ by more than 10 %
        undecided += len(areas) >= 2 and max(areas) / min(areas) > 1.10
    assert undecided >= 8
