"""Lab scenarios: the shipped files, the YAML reader's errors (naming the key), the version hash, and
the truth drawn per seed — distributions and the pressure-invariant constants checked against hand
formulas."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

from fluxwise.errors import InputError
from fluxwise.io.lab_scenario import list_scenarios, load_scenario, parse_scenario, shipped_scenarios_dir
from fluxwise.models.fouling import MODEL_NAMES, resistance_ratio
from fluxwise.training import draw_truth
from fluxwise.training.scenario import Dist

PSI = 0.0689475729  # bar per psi (NIST SP 811: 1 psi = 6894.757 Pa)


def _data(sid="mab-sterile-filtration"):
    return yaml.safe_load((shipped_scenarios_dir() / f"{sid}.yaml").read_text(encoding="utf-8"))


def test_shipped_scenarios_easy_to_hard():
    found = list_scenarios()
    ids = [s.id for s in found]
    assert len(found) >= 5 and len(set(ids)) == len(ids)
    levels = [s.level for s in found]
    assert levels == sorted(levels, key=["easy", "medium", "hard"].index)
    assert {"easy", "medium", "hard"} <= set(levels)
    hard = [s for s in found if s.level == "hard"]
    # the hard features: a combined model, a prefilter decision, a constant-flux rig
    assert any(s.task.prefilter_decision for s in hard)
    assert any(s.rig.modes == ("constant-flux",) for s in hard)
    assert all(all("-" in v.mechanism for f in s.filters for v in f.variants) for s in hard)
    easy = [s for s in found if s.level == "easy"]
    assert all(len({v.mechanism for f in s.filters for v in f.variants}) == 1 for s in easy)
    for s in found:
        assert len(s.version_hash) == 16
        assert set(s.grading.objectives.values()) <= set(s.objectives)


def test_version_hash_follows_content_not_layout():
    data = _data()
    a = parse_scenario(data)
    b = parse_scenario(yaml.safe_load(yaml.safe_dump(data, default_flow_style=True, sort_keys=True)))
    assert a.version_hash == b.version_hash
    changed = copy.deepcopy(data)
    changed["budget"]["money"] = 601
    assert parse_scenario(changed).version_hash != a.version_hash


def test_truth_is_reproducible_per_seed_and_differs_between_seeds():
    sc = load_scenario("mab-prefilter-decision")
    a, b, c = draw_truth(sc, 11), draw_truth(sc, 11), draw_truth(sc, 12)
    assert a == b
    assert a.viscosity_cP != c.viscosity_cP


def test_distributions_against_their_definitions():
    # lognormal: median a, ln-sd s = sqrt(ln(1 + cv²)); quantile u maps to a·exp(s·Φ⁻¹(u))
    d = Dist("lognormal", 2.0, 0.3)
    s = math.sqrt(math.log(1 + 0.3**2))
    assert d.at(0.5) == pytest.approx(2.0, rel=1e-12)
    assert d.at(0.8413447460685429) == pytest.approx(2.0 * math.exp(s), rel=1e-9)  # Φ(1)
    # log-uniform: ln x uniform between ln a and ln b; the median is the geometric mean
    lu = Dist("loguniform", 1e-3, 4e-3)
    assert lu.at(0.5) == pytest.approx(2e-3, rel=1e-12)
    assert lu.at(0.25) == pytest.approx(1e-3 * 4**0.25, rel=1e-12)
    assert Dist("uniform", 17.0, 26.0).at(0.5) == pytest.approx(21.5)
    rng = np.random.default_rng(0)
    draws = np.array([d.draw(rng) for _ in range(4000)])
    assert np.median(draws) == pytest.approx(2.0, rel=0.03)
    assert np.std(np.log(draws)) == pytest.approx(s, rel=0.05)


def test_truth_stays_inside_the_scenario_ranges():
    sc = load_scenario("mab-sterile-filtration")
    ks = [draw_truth(sc, seed).of("PES 0.2 um").constants["ks_m2_per_L"] for seed in range(200)]
    assert min(ks) >= 1.0e-3 and max(ks) <= 4.0e-3
    assert {draw_truth(sc, s).of("PES 0.2 um").mechanism for s in range(20)} == {"standard"}
    hard = load_scenario("cho-depth-constant-flux")
    mechs = [draw_truth(hard, s).of("Depth filter, two-layer").mechanism for s in range(40)]
    assert set(mechs) == {"cake-standard", "cake-intermediate"}


def test_fit_params_follow_darcy_and_the_invariant_constants():
    sc = load_scenario("mab-prefilter-decision")
    tr = draw_truth(sc, 3)
    name = "PES 0.2 um"
    ft = tr.of(name)
    p_bar = 30 * PSI
    p = tr.fit_params(name, pressure_bar=p_bar)
    j0 = ft.permeability_LMH_per_bar * p_bar / tr.viscosity_cP  # Darcy: J0 = Lp·ΔP/μ
    assert p["J0_LMH"] == pytest.approx(j0, rel=1e-12)
    if "sigma_m2_per_L" in ft.constants:
        assert p["kb_per_h"] == pytest.approx(ft.constants["sigma_m2_per_L"] * j0, rel=1e-12)  # kb = σ·J0
    if "beta_m2_per_L" in ft.constants:
        assert p["kc_h_m4_per_L2"] == pytest.approx(
            ft.constants["beta_m2_per_L"] / j0, rel=1e-12
        )  # kc = β/J0
    cf = tr.fit_params(name, flux_LMH=150.0)
    assert cf["P0_bar"] == pytest.approx(150.0 * tr.viscosity_cP / ft.permeability_LMH_per_bar, rel=1e-12)
    # the resistance r(V) does not depend on the operating point: the same at 10 psi and at 40 psi
    v = np.linspace(0, 300, 7)
    lo, hi = tr.fit_params(name, pressure_bar=10 * PSI), tr.fit_params(name, pressure_bar=40 * PSI)
    r_lo = resistance_ratio(ft.mechanism, v, lo["J0_LMH"], *[lo[k] for k in list(lo)[1:]])
    r_hi = resistance_ratio(ft.mechanism, v, hi["J0_LMH"], *[hi[k] for k in list(hi)[1:]])
    np.testing.assert_allclose(r_lo, r_hi, rtol=1e-12)


def test_solids_scale_the_fouling_constants():
    sc = load_scenario("cho-centrate-clarification")
    for seed in range(5):
        tr = draw_truth(sc, seed)
        beta = tr.of("PES 0.45/0.2 um").constants["beta_m2_per_L"]
        # beta drawn in [0.05, 0.15] at the reference solids (1 % = 0.01), then scaled by solids/0.01
        load = tr.solids / 0.01
        assert sc.feed.reference_solids == pytest.approx(0.01)
        assert 0.05 * load <= beta * (1 + 1e-12) and beta <= 0.15 * load * (1 + 1e-12)


def _mutate(path, value):
    data = _data()
    node = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


_DELETE = object()

BAD = [
    ("typo", "colour", "blue", "colour"),
    ("missing id", "id", _DELETE, "id"),
    ("level", "level", "expert", "level"),
    ("unknown model", "filters.0.truth.mechanism", "standart", "filters[0].truth.mechanism"),
    ("missing constant", "filters.0.truth.ks_m2_per_L", _DELETE, "filters[0].truth.ks_m2_per_L"),
    ("unused constant", "filters.0.truth.kc_h_m4_per_L2", 1e-3, "filters[0].truth.kc_h_m4_per_L2"),
    ("no unit", "filters.0.truth.permeability", 1000, "filters[0].truth.permeability"),
    ("wrong unit", "task.pressure", "30 L", "task.pressure"),
    ("negative", "budget.money", -5, "budget.money"),
    ("range", "safety_factor.range", [2.0, 1.3], "safety_factor.range"),
    ("cv", "feed.viscosity", {"median": "1.3 cP", "cv": -1}, "feed.viscosity.cv"),
    ("rig mode", "rig.modes", ["constant-flux"], "rig.modes"),
    ("flux on pressure task", "task.flux", "100 LMH", "task.flux"),
    ("task filter", "task.filters", ["PES 0.3 um"], "task.filters"),
    ("objective", "grading", {"objectives": {"area": "nowhere"}}, "grading.objectives.area"),
    ("draws", "gmp.draws", {"not_wetted": 1.5}, "gmp.draws.not_wetted"),
    ("disc", "filters.0.discs", [{"area": "3.5 cm3"}], "filters[0].discs[0].area"),
]


@pytest.mark.parametrize("what,path,value,field", BAD, ids=[b[0] for b in BAD])
def test_bad_scenarios_name_the_key(what, path, value, field):
    with pytest.raises(InputError) as e:
        parse_scenario(_mutate(path, value), source="bad.yaml")
    assert e.value.field == field
    assert "bad.yaml" in str(e.value) and field in str(e.value)


def test_every_model_can_be_a_truth():
    data = _data()
    consts = {"sigma_m2_per_L": 0.002, "ki_m2_per_L": 0.002, "ks_m2_per_L": 0.002, "beta_m2_per_L": 0.01}
    data["filters"][0]["truth"] = {
        "mechanism": {"choice": list(MODEL_NAMES)},
        "permeability": "1000 LMH/bar",
        **consts,
    }
    sc = parse_scenario(data)
    seen = {draw_truth(sc, s).of("PES 0.2 um").mechanism for s in range(300)}
    assert seen == set(MODEL_NAMES)
