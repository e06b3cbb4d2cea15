"""The GMP exercise: SOP order, integrity limits corrected by hand formulas (IAPWS R1-76 surface
tension, γ·cosθ ratio, area scaling), each draw handled by the SOP, and the critical errors."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml

from fluxwise.errors import InputError
from fluxwise.io.lab_scenario import parse_scenario, shipped_scenarios_dir
from fluxwise.training import Attempt, GmpState
from fluxwise.training.sop import correct_limit
from lab_trainee import Desk, sop

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def gamma_water(t_c):
    """IAPWS R1-76(2014): γ = 235.8·τ^1.256·(1 − 0.625·τ) mN/m, τ = 1 − T/647.096 K (hand formula)."""
    tau = 1 - (t_c + 273.15) / 647.096
    return 235.8 * tau**1.256 * (1 - 0.625 * tau)


def _scenario(draws=None, sid="mab-sterile-filtration", integrity=None, **gmp):
    data = yaml.safe_load((shipped_scenarios_dir() / f"{sid}.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["gmp"]["draws"] = {
        "expired": 0,
        "not_wetted": 0,
        "defect": 0,
        "post_use_failure": 0,
        **(draws or {}),
    }
    if integrity:
        data["gmp"]["integrity"].update(integrity)
    data["gmp"].update(gmp)
    return parse_scenario(data, source="gmp.yaml")


def _replay(a: Attempt) -> GmpState:
    g = GmpState(a.scenario, a.seed, a.started_at.date())
    for act in a.actions:
        g.apply(act["action"], act["params"], at=dt.datetime.fromisoformat(act["at"]))
    g.finish()
    return g


def test_bubble_point_limit_corrected_for_temperature_by_iapws():
    sc = _scenario(integrity={"test_temperature": "25 degC"})
    spec = sc.gmp.integrity
    expected = 3.45 * gamma_water(25) / gamma_water(20)  # P ∝ γ·cosθ (Young-Laplace, ASTM F316)
    assert correct_limit(spec, 25.0) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(3.45 * 71.97 / 72.74, rel=2e-4)  # IAPWS table: 72.74 and 71.97 mN/m


def test_bubble_point_limit_for_another_wetting_fluid():
    sc = _scenario(integrity={"test_fluid": {"name": "25 % t-butanol", "surface_tension": "30 mN/m"}})
    assert correct_limit(sc.gmp.integrity, 22.0) == pytest.approx(3.45 * 30 / gamma_water(20), rel=1e-9)


def test_diffusion_limit_scaled_to_the_installed_area():
    sc = _scenario(sid="plasma-virus-filtration")
    # 6 mL/min per 0.5 m², installed 1 m²: 12 mL/min = 0.72 L/h
    assert correct_limit(sc.gmp.integrity, 20.0) == pytest.approx(0.72, rel=1e-12)


@pytest.mark.parametrize(
    "draws,expect",
    [
        ({}, {"failures": 0, "replaced": 0, "post_failed": False}),
        ({"not_wetted": 1}, {"failures": 1, "replaced": 0, "post_failed": False}),
        (
            {"defect": 1},
            {"failures": 4, "replaced": 2, "post_failed": False},
        ),  # two defective devices, the third sound
        ({"expired": 1}, {"failures": 0, "replaced": 1, "post_failed": False}),
        ({"post_use_failure": 1}, {"failures": 0, "replaced": 0, "post_failed": True}),
    ],
    ids=["sound", "not-wetted", "defect", "expired", "post-use-failure"],
)
def test_the_sop_handles_every_draw_without_a_mistake(tmp_path, draws, expect):
    sc = _scenario(draws)
    desk = Desk(sc, 5, tmp_path)
    assert sop(desk) == expect
    g = _replay(desk._attempt)
    assert g.mistakes == []
    assert [s["action"] is not None for s in g.steps()] == [True] * len(g.steps())
    if expect["post_failed"]:
        assert g.batch_quarantined and any(d["after_post"] for d in g.deviations)


def test_failed_result_stays_beside_the_retest(tmp_path):
    desk = Desk(_scenario({"not_wetted": 1}), 1, tmp_path)
    sop(desk)
    tests = [a for a in desk._attempt.actions if a["action"] == "record_result"]
    assert [a["params"]["verdict"] for a in tests[:2]] == ["fail", "pass"]
    assert all(a["record"] == "TRAINING - SIMULATED" for a in desk._attempt.actions)


def test_accepting_a_failed_test_is_critical(tmp_path):
    desk = Desk(_scenario({"not_wetted": 1}), 2, tmp_path)
    sop(desk, accept_failed=True)
    g = _replay(desk._attempt)
    assert [m.code for m in g.critical] == ["accepted_failed_test", "used_failed_filter"]
    assert "accepting a failed integrity test" in g.critical[0].text


def _start(a: Attempt, by="kim"):
    clock = iter(T0 + dt.timedelta(minutes=5 * i) for i in range(1, 1000))
    lab = a.device_label()

    def act(action, **kw):
        return a.act(action, by=by, at=next(clock), **kw)

    act("verify", part_number=lab["part_number"], lot=lab["lot"], expiry=lab["expiry"], decision="accept")
    act("install", vented=True)
    act("flush", volume_L=a.scenario.gmp.flush_L)
    return act


def test_overwriting_a_result_is_critical_a_correction_with_a_reason_is_not():
    sc = _scenario(integrity={"test_temperature": "20 degC"})
    a = Attempt(sc, 3, started_at=T0)
    act = _start(a)
    t = act("integrity_test", stage="pre")
    act("record_result", test=t["test"], limit=3.45, verdict="pass")
    act("correct", of=t["seq"] + 1, reason="typing error in the limit", limit=3.45, verdict="pass")
    assert not _replay(a).critical
    act("record_result", test=t["test"], limit=3.45, verdict="pass")
    assert [m.code for m in _replay(a).critical] == ["overwrite"]


def test_filtering_without_a_pre_use_test_is_critical():
    a = Attempt(_scenario(), 3, started_at=T0)
    act = _start(a)
    act("filter")
    assert [m.code for m in _replay(a).critical] == ["no_pre_use_test"]


def test_mistakes_are_named():
    sc = _scenario({"not_wetted": 1, "post_use_failure": 1}, integrity={"test_temperature": "25 degC"})
    a = Attempt(sc, 4, started_at=T0)
    act = _start(a)
    t = act("integrity_test", stage="pre")
    act("record_result", test=t["test"], limit=3.45, verdict="fail")  # the uncorrected specification
    act("rewet", volume_L=5, back_pressure_bar=0.5)  # no set-up check, too little volume
    t = act("integrity_test", stage="pre")
    act(
        "record_result", test=t["test"], limit=round(correct_limit(sc.gmp.integrity, 25.0), 4), verdict="pass"
    )
    act("filter")
    t = act("integrity_test", stage="post")  # before the product was flushed out
    act(
        "record_result", test=t["test"], limit=round(correct_limit(sc.gmp.integrity, 25.0), 4), verdict="fail"
    )
    act("replace")  # does not fix a post-use failure
    act("sign", meaning="performed")
    codes = {m.code for m in _replay(a).mistakes}
    assert {
        "limit_uncorrected",
        "no_setup_check",
        "rewet_method",
        "order",
        "replace_after_post",
        "not_rejected",
        "no_deviation",
        "flush_out_short",
        "released_failed_batch",
    } <= codes
    g = _replay(a)
    assert [m.code for m in g.critical] == ["released_failed_batch"]


def test_records_are_contemporaneous_and_closed_by_the_signature():
    a = Attempt(_scenario(), 6, started_at=T0)
    lab = a.device_label()
    a.act(
        "verify",
        by="kim",
        at=T0 + dt.timedelta(hours=1),
        part_number=lab["part_number"],
        lot=lab["lot"],
        expiry=lab["expiry"],
        decision="accept",
    )
    a.act(
        "install", by="kim", at=T0 + dt.timedelta(minutes=30), vented=True
    )  # dated before the previous entry
    a.act("sign", by="kim", at=T0 + dt.timedelta(hours=2), meaning="performed")
    a.act("flush", by="kim", at=T0 + dt.timedelta(hours=3), volume_L=10)
    codes = [m.code for m in _replay(a).mistakes]
    assert "backdated" in codes and "after_signature" in codes


def test_practice_shows_step_feedback_assessment_does_not():
    for mode, shown in (("practice", True), ("assessment", False)):
        a = Attempt(_scenario(), 7, mode=mode, started_at=T0)
        r = a.act("install", by="kim", at=T0 + dt.timedelta(minutes=1), vented=False)
        assert ("feedback" in r) is shown
        if shown:
            assert any("before its identity" in f for f in r["feedback"])
            assert any("not vented" in f for f in r["feedback"])


def test_bad_actions_name_the_field():
    a = Attempt(_scenario(), 8, started_at=T0)
    with pytest.raises(InputError) as e:
        a.act("dance", by="kim")
    assert e.value.field == "action"
    with pytest.raises(InputError) as e:
        a.act("install", by=" ", vented=True)
    assert e.value.field == "by"
    t = a.act("integrity_test", by="kim", stage="pre")
    with pytest.raises(InputError) as e:
        a.act("record_result", by="kim", test=t["seq"], limit=3.4, verdict="maybe")
    assert e.value.field == "verdict"
