"""Grading against the truth: the true minimum area against closed forms, the mechanism credit, the
area curve, safety factor, format, prefilter cost from the catalog by hand, efficiency gate, critical
errors — and answers that are refused with the key named."""

from __future__ import annotations

import math

import pytest

from fluxwise.errors import InputError
from fluxwise.io.catalog import read_catalog
from fluxwise.io.lab_files import parse_answer
from fluxwise.io.lab_scenario import load_scenario
from fluxwise.training import Answer, Attempt, draw_truth, grade_answer, true_min_area
from fluxwise.training.grading import area_fraction, credited_mechanisms, filter_cost_per_batch
from fluxwise.training.rig import Usage
from lab_trainee import fixed_scenario

PSI = 0.0689475729
FORMATS = read_catalog(None)


@pytest.mark.parametrize(
    "ratio,expected",
    [
        (1.0, 1.0),
        (1.05, 1.0),
        (0.95, 1.0),
        (1.175, 0.5),
        (1.30, 0.0),
        (1.5, 0.0),
        (0.925, 0.5),
        (0.90, 0.0),
        (0.5, 0.0),
        (1.10, 0.8),
        (0.94, 0.8),
        (math.inf, 0.0),
    ],
)
def test_area_curve(ratio, expected):
    # full marks within ±5 %, linear to zero at +30 % and at −10 % (the grading rule)
    assert area_fraction(ratio) == pytest.approx(expected, abs=1e-12)


def test_true_minimum_area_standard_blocking_closed_form():
    sc = fixed_scenario({"mechanism": "standard", "permeability": "1000 LMH/bar", "ks_m2_per_L": 0.002})
    tr = draw_truth(sc, 0)
    j0 = 1000 * 30 * PSI / 1.25
    # A = Vb/Vmax + Vb/(J0·tb), Vmax = 2/ks (Badmington, Wilkins & Honig 1995)
    expected = 2000 * 0.002 / 2 + 2000 / (j0 * 4)
    assert true_min_area(sc, tr, "PES 0.2 um") == pytest.approx(expected, rel=1e-9)


def test_true_minimum_area_complete_blocking_with_a_v90_limit():
    sc = fixed_scenario(
        {"mechanism": "complete", "permeability": "800 LMH/bar", "sigma_m2_per_L": 0.006},
        sid="lv-harvest-filtration",
    )
    tr = draw_truth(sc, 0)
    j0 = 800 * 10 * PSI / 1.25
    v_time = (1 - math.exp(-0.006 * j0 * 1.0)) / 0.006  # V(1 h) = (1 − e^(−σ·J0·t))/σ
    v90 = 0.9 / 0.006  # J/J0 = 1 − σV = 0.1
    assert true_min_area(sc, tr, "PES 0.45 um") == pytest.approx(max(200 / v_time, 200 / v90), rel=1e-9)


def test_true_minimum_area_constant_flux_cake_closed_form():
    sc = fixed_scenario(
        {"mechanism": "cake", "permeability": "1300 LMH/bar", "beta_m2_per_L": 0.01},
        sid="cho-depth-constant-flux",
    )
    tr = draw_truth(sc, 0)
    p0 = 150 * 1.25 / 1300  # P0 = J·μ/Lp
    v_star = (20 * PSI / p0 - 1) / 0.01  # P0·(1 + β·V*) = Pmax
    assert true_min_area(sc, tr, "Depth filter, two-layer") == pytest.approx(2000 / v_star, rel=1e-9)


@pytest.mark.parametrize(
    "sid", ["mab-sterile-filtration", "lv-harvest-filtration", "cho-depth-constant-flux"]
)
def test_the_true_model_is_always_credited(sid):
    sc = load_scenario(sid)
    for seed in (0, 1):
        tr = draw_truth(sc, seed)
        name = sc.task.filters[0]
        ratios = credited_mechanisms(sc, tr, name)
        assert set(ratios) == {
            "complete",
            "intermediate",
            "standard",
            "cake",
            "cake-complete",
            "cake-intermediate",
            "complete-standard",
            "intermediate-standard",
            "cake-standard",
        }
        assert ratios[tr.of(name).mechanism] == pytest.approx(1.0, abs=1e-3)


def test_filter_cost_per_batch_from_the_catalog_by_hand():
    sc = load_scenario("mab-prefilter-decision")
    # 2.0 m² x 1.5 = 3.0 m²: the cheapest catalog choice is 2 x Cartridge 30 in (2.07 m², 1950 USD) = 3900 USD
    # (2 x Capsule 30 in 5800, 3 x Cartridge 20 in 4200, 5 x Cartridge 10 in 4000, ...)
    no = filter_cost_per_batch(sc, FORMATS, "PES 0.2 um", 2.0, 1.5)
    assert (no["format"], no["count"], no["cost"]) == ("Cartridge 30 in", 2, pytest.approx(3900))
    # with the prefilter at 1:1 and 500 USD/m² on the installed 4.14 m²: 3900 + 2070
    pre = filter_cost_per_batch(sc, FORMATS, "PES 0.2 um + 0.45 um prefilter", 2.0, 1.5)
    assert pre["cost"] == pytest.approx(3900 + 4.14 * 500)


def _answer(sc, **kw):
    base = {
        "mechanism": "standard",
        "min_area": "2 m2",
        "format": "Capsule 10 in",
        "count": 5,
        "safety_factor": 1.5,
        "safety_factor_reason": "lot-variability",
    }
    base.update(kw)
    return parse_answer({k: v for k, v in base.items() if v is not None}, sc)


def _grade(sc, ans, usage=None, runs=()):
    return grade_answer(sc, draw_truth(sc, 0), ans, formats=FORMATS, runs=runs, usage=usage)


@pytest.fixture(scope="module")
def standard():
    sc = fixed_scenario({"mechanism": "standard", "permeability": "1000 LMH/bar", "ks_m2_per_L": 0.002})
    a_true = 2000 * 0.001 + 2000 / (1000 * 30 * PSI / 1.25 * 4)  # closed form, as above
    return sc, a_true


def test_parts_points_and_objectives(standard):
    sc, a = standard
    g = _grade(
        sc, _answer(sc, min_area=f"{a:.6g} m2", count=math.ceil(a * 1.5 / 0.69)), usage=Usage(100, 2, 50)
    )
    parts = {p.name: p for p in g.parts}
    assert list(parts) == ["mechanism", "area", "safety_factor", "format", "efficiency", "gmp"]
    assert [p.max for p in g.parts] == [25, 30, 10, 5, 10, 20]  # default weights, sum 100
    assert {p.objective for p in g.parts} <= set(sc.objectives)
    assert parts["mechanism"].score == 25 and parts["area"].score == 30 and parts["safety_factor"].score == 10
    assert parts["format"].score == 5 and parts["efficiency"].score == 10
    assert parts["gmp"].score == 0 and "not from the answer" in parts["gmp"].feedback
    assert g.score == pytest.approx(80) and g.passed and not g.critical_errors


def test_area_feedback_uses_the_trainees_numbers(standard):
    sc, a = standard
    g = _grade(sc, _answer(sc, min_area=f"{1.2 * a:.6g} m2", count=math.ceil(1.2 * a * 1.5 / 0.69)))
    area = next(p for p in g.parts if p.name == "area")
    assert f"{1.2 * a:.4g} m²" in area.feedback and "1.20x the true minimum" in area.feedback
    assert area.score == pytest.approx(30 * (1.30 - 1.2) / 0.25, rel=1e-4)


def test_installed_area_below_the_true_minimum_is_critical(standard):
    sc, a = standard
    g = _grade(
        sc,
        _answer(
            sc,
            min_area=f"{0.6 * a:.6g} m2",
            safety_factor=1.3,
            format="Capsule 10 in",
            count=math.ceil(0.6 * a * 1.3 / 0.69),
        ),
    )
    assert not g.passed and g.score <= sc.grading.critical_cap
    assert "would not finish the batch" in g.critical_errors[0]


@pytest.mark.parametrize(
    "sf,reason,points",
    [(1.5, "scale-up", 10), (2.5, "scale-up", 0), (1.5, "round-number", 0), (1.5, None, 0)],
)
def test_safety_factor_inside_the_range_and_with_a_reason(standard, sf, reason, points):
    sc, a = standard
    g = _grade(
        sc,
        _answer(
            sc,
            min_area=f"{a:.6g} m2",
            safety_factor=sf,
            safety_factor_reason=reason,
            count=math.ceil(a * sf / 0.69),
        ),
    )
    assert next(p for p in g.parts if p.name == "safety_factor").score == points


def test_format_count(standard):
    sc, a = standard
    need = math.ceil(a * 1.5 / 0.69)
    for count, points in ((need, 5), (need + 1, 2.5), (need - 1, 0)):
        g = _grade(sc, _answer(sc, min_area=f"{a:.6g} m2", count=count))
        assert next(p for p in g.parts if p.name == "format").score == points


def test_efficiency_is_gated_on_the_area(standard):
    sc, a = standard
    # 75 % of the bench time used: (1.0 − 0.75)/(1.0 − 0.5) = half the points
    used = Usage(feed_mL=100, bench_h=0.75 * 12, money=50)
    good = _grade(sc, _answer(sc, min_area=f"{a:.6g} m2", count=math.ceil(a * 1.5 / 0.69)), usage=used)
    assert next(p for p in good.parts if p.name == "efficiency").score == pytest.approx(5)
    cheap = _grade(
        sc,
        _answer(
            sc,
            min_area=f"{3 * a:.6g} m2",
            count=math.ceil(3 * a * 1.5 / 0.69) % 10 or 1,
            format="Cartridge 30 in",
        ),
        usage=Usage(0, 0, 0),
    )
    eff = next(p for p in cheap.parts if p.name == "efficiency")
    assert eff.score == 0 and "guessing cheaply earns nothing" in eff.feedback


def test_a_mechanism_that_is_not_credited_earns_nothing(standard):
    sc, a = standard
    ratios = credited_mechanisms(sc, draw_truth(sc, 0), "PES 0.2 um")
    wrong = max(ratios, key=lambda m: abs(ratios[m] - 1))
    assert abs(ratios[wrong] - 1) > 0.05
    g = _grade(sc, _answer(sc, mechanism=wrong, min_area=f"{a:.6g} m2", count=math.ceil(a * 1.5 / 0.69)))
    mech = next(p for p in g.parts if p.name == "mechanism")
    assert mech.score == 0 and f"'{wrong}' is not credited" in mech.feedback


BAD_ANSWERS = [
    ({"colour": "red"}, "colour"),
    ({"mechanism": None}, "mechanism"),
    ({"mechanism": "standart"}, "mechanism"),
    ({"min_area": "2 m3"}, "min_area"),
    ({"min_area": "-2 m2"}, "min_area"),
    ({"count": 2.5}, "count"),
    ({"safety_factor": 0.8}, "safety_factor"),
    ({"safety_factor_reason": "vibes"}, "safety_factor_reason"),
    ({"prefilter": {"name": "PES 0.45 um", "area_ratio": 1}}, "prefilter"),
    ({"vmax": "850 L"}, "vmax"),
    ({"params": {"kc_h_m4_per_L2": 1}}, "params.kc_h_m4_per_L2"),
]


@pytest.mark.parametrize("change,field", BAD_ANSWERS, ids=[b[1] for b in BAD_ANSWERS])
def test_bad_answers_name_the_key(change, field):
    sc = load_scenario("mab-sterile-filtration")
    with pytest.raises(InputError) as e:
        _answer(sc, **change)
    assert e.value.field == field


def test_unknown_format_names_the_key():
    sc = load_scenario("mab-sterile-filtration")
    with pytest.raises(InputError) as e:
        _grade(sc, _answer(sc, format="Capsule 40 in"))
    assert e.value.field == "format" and "Cartridge 30 in" in str(e.value)


def test_prefilter_answers():
    sc = load_scenario("mab-prefilter-decision")
    assert _answer(sc, prefilter="none").filter == "PES 0.2 um"
    ans = _answer(sc, prefilter={"name": "PES 0.45 um", "area_ratio": 1})
    assert ans.filter == "PES 0.2 um + 0.45 um prefilter"
    for bad in ({"name": "PP 1 um", "area_ratio": 1}, {"name": "PES 0.45 um", "area_ratio": 2}, 5):
        with pytest.raises(InputError) as e:
            _answer(sc, prefilter=bad)
        assert e.value.field == "prefilter"
    with pytest.raises(InputError) as e:
        parse_answer(
            {
                "mechanism": "standard",
                "min_area": "2 m2",
                "format": "Capsule 10 in",
                "count": 5,
                "safety_factor": 1.5,
            },
            sc,
        )
    assert e.value.field == "prefilter"


def test_prefilter_part_grades_the_cost_per_batch():
    sc = load_scenario("mab-prefilter-decision")
    tr = draw_truth(sc, 0)
    costs = {
        c: filter_cost_per_batch(sc, FORMATS, c, true_min_area(sc, tr, c), 1.5)["cost"]
        for c in sc.task.filters
    }
    best = min(costs, key=costs.get)
    other = max(costs, key=costs.get)
    for config, full in ((best, True), (other, costs[other] / costs[best] <= 1.05)):
        pre = sc.filter(config).prefilter
        ans = Answer(
            mechanism="complete",
            min_area_m2=true_min_area(sc, tr, config),
            format="Cartridge 30 in",
            count=5,
            safety_factor=1.5,
            safety_factor_reason="scale-up",
            filter=config,
            prefilter=None if pre is None else {"name": pre.name, "area_ratio": pre.area_ratio},
        )
        g = grade_answer(sc, tr, ans, formats=FORMATS)
        part = next(p for p in g.parts if p.name == "prefilter")
        assert (part.score == pytest.approx(part.max)) is full
        assert f"{costs[config]:,.0f} USD per batch" in part.feedback


def test_grade_json_shape():
    sc = load_scenario("mab-sterile-filtration")
    a = Attempt(sc, 1)
    d = a.submit(_answer(sc), formats=FORMATS).to_dict()
    assert {
        "score",
        "parts",
        "passed",
        "pass_mark",
        "critical_errors",
        "grader_version",
        "version_hash",
    } <= set(d)
    assert all(set(p) >= {"name", "score", "max", "feedback", "objective"} for p in d["parts"])
    assert d["record"] == "TRAINING - SIMULATED"
