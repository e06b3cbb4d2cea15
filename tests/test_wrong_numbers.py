"""Numbers a plausible bug gets almost right, pinned where a loose tolerance would let it through.

Each test names the bug it catches: the equality cases of pass/fail rules, counts that must round
up, a quantile that must be exact, and the branch of constant-flux sizing where the process time,
not the pressure, sets the area. Expected values are derived by hand in each test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from fluxwise.design.integrity import check_bubble_point, check_diffusion
from fluxwise.design.risk import lot_factors, risk_based_sizing
from fluxwise.design.sizing import min_area_constant_flux
from fluxwise.design.virus import lrv_summary, size_virus_filter


def test_risk_lot_factor_sigma_is_sqrt_ln_1_plus_cv2_not_the_cv():
    """Log-normal lot factor with CV c: σ = √(ln(1 + c²)). At c = 1 that is √ln 2 = 0.8326, not 1.

    Standard blocking, Vmax 500 L/m², J0 1000 L/m²/h, 1000 L in 2 h (Badmington et al. 1995): the
    area met with probability q is a_q = 0.5 + 2·exp(σ·z_q) m² (tests/test_risk.py derives it). At
    q = 0.95, z = 1.6449: 0.5 + 2·e^1.3694 = 8.366 m²; with σ = CV it would be 0.5 + 2·e^1.6449 = 10.86.
    """
    sigma = math.sqrt(math.log(2.0))
    expected = 0.5 + 2.0 * math.exp(sigma * stats.norm.ppf(0.95))
    assert expected == pytest.approx(8.366, abs=1e-3)
    res = risk_based_sizing("standard", {"J0_LMH": 1000.0, "ks_m2_per_L": 2 / 500}, None, 1000.0, 2.0,
                            confidence=0.95, feed_cv=1.0, n_draws=200_000, seed=11)
    assert_allclose(res["risk_based_area_m2"], expected, rtol=0.01)
    # the draws themselves: f = exp(σ·Z) with Z the stream's standard normals, exactly
    f = lot_factors(1.0, 1000, np.random.default_rng(3))
    z = np.random.default_rng(3).standard_normal(1000)
    assert_allclose(f, np.exp(sigma * z), rtol=1e-14)
    assert_allclose(np.log(f).std(), sigma * z.std(), rtol=1e-12)


def test_bubble_point_exactly_at_the_minimum_passes():
    """The specification is a minimum: a measured bubble point equal to it passes (≥), 1 mbar less fails."""
    r = check_bubble_point(3.45, 3.45)
    assert r.passed and "≥" in r.reason and "passes" in r.reason
    assert not check_bubble_point(3.449, 3.45).passed
    # the diffusion limit is a maximum: equal passes, more fails
    assert check_diffusion(0.798, 0.798).passed
    assert not check_diffusion(0.7981, 0.798).passed


def test_a_step_of_exactly_one_log_is_not_counted():
    """ICH Q5A(R2): reductions of the order of 1 log10 or less are not counted in the overall claim."""
    s = lrv_summary([{"name": "filter", "lrv": 4.0, "mechanism": "size exclusion", "virus": "MVM"},
                     {"name": "depth", "lrv": 1.0, "mechanism": "adsorption", "virus": "MVM"},
                     {"name": "AEX", "lrv": 1.01, "mechanism": "anion exchange", "virus": "MVM"}])
    mvm = s.viruses["MVM"]
    assert mvm["excluded_steps"] == ["depth"]
    assert mvm["claimable_lrv"] == pytest.approx(5.01)
    assert mvm["total_lrv"] == pytest.approx(6.01)


def test_virus_filter_device_count_rounds_up():
    """2000 L at 400 L/m² with a factor 1.5 needs 7.5 m²: 2.2 m² devices give 3.41 -> 4 (rounding would
    give 3, 6.6 m², too little); an exact multiple (7.5/2.5 = 3, 7.5/1.5 = 5) takes no extra device."""
    s = size_virus_filter(2000.0, 400.0, safety_factor=1.5, filter_area_m2=2.2)
    assert s.area_m2 == pytest.approx(7.5)
    assert s.n_filters == 4 and s.installed_area_m2 == pytest.approx(8.8)
    assert size_virus_filter(2000.0, 400.0, safety_factor=1.5, filter_area_m2=2.5).n_filters == 3
    assert size_virus_filter(2000.0, 400.0, safety_factor=1.5, filter_area_m2=1.5).n_filters == 5


def test_constant_flux_with_both_flux_and_process_time_where_the_time_binds():
    """Standard blocking, trial 300 L/m²/h at P0 0.3 bar, ks 0.005 m²/L (Vmax 400 L/m²), Pmax 2 bar.

    At 300 L/m²/h the pressure allows V* = (1 − √(0.3/2))·400 = 245.08 L/m²: 2000/245.08 = 8.161 m².
    In 0.5 h the same flux filters only 150 L/m², so 2000 L need 2000/150 = 13.333 m²: the time binds.
    The filter then ends at V = 150 L/m², P = 0.3·(1 − 0.005·150/2)^(−2) = 0.3/0.625² = 0.768 bar.
    """
    p = {"J0_LMH": 300.0, "P0_bar": 0.3, "ks_m2_per_L": 0.005}
    pressure_bound = min_area_constant_flux("standard", p, 2000.0, max_pressure_bar=2.0, flux_LMH=300.0)
    assert pressure_bound["min_area_m2"] == pytest.approx(2000 / ((1 - math.sqrt(0.15)) * 400), rel=1e-9)
    r = min_area_constant_flux("standard", p, 2000.0, max_pressure_bar=2.0, flux_LMH=300.0,
                               process_time_h=0.5)
    assert r["min_area_m2"] == pytest.approx(2000 / 150, rel=1e-12)
    assert r["flux_LMH"] == 300.0
    assert r["process_time_h"] == pytest.approx(0.5, rel=1e-12)
    assert r["final_pressure_bar"] == pytest.approx(0.768, rel=1e-12)
    # a long process time does not bind: the pressure does
    r = min_area_constant_flux("standard", p, 2000.0, max_pressure_bar=2.0, flux_LMH=300.0,
                               process_time_h=4.0)
    assert r["min_area_m2"] == pytest.approx(pressure_bound["min_area_m2"], rel=1e-12)
    assert r["process_time_h"] == pytest.approx(245.08 / 300, rel=1e-4)
