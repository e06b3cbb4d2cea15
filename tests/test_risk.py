"""Risk-based sizing by Monte Carlo.

Known answer (derived here): under standard blocking V(t) = J0·t/(1 + t·J0/Vmax), so the area
that filters Vb in tb is A = Vb/(J0·tb) + Vb/Vmax. With lot-to-lot variability the capacity of a
lot is f·Vmax, f log-normal with median 1 and CV c (σ = √(ln(1 + c²))); A decreases with f, so
P(A ≤ a) = P(f ≥ Vb/(Vmax·(a − Vb/(J0·tb)))) and the area met with probability q is
a_q = Vb/(J0·tb) + (Vb/Vmax)·exp(σ·z_q), z_q the standard normal quantile. Badmington et al.
(1995) give the deterministic part: Vmax 500 L/m², J0 1000 LMH, 1000 L in 2 h -> 2.5 m².
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from fluxwise.design.risk import draw_scenarios, lot_factors, risk_based_sizing, size_with_confidence
from fluxwise.errors import DesignError, InputError
from fluxwise.models.fouling import MODELS
from fluxwise.trial import Trial

STD = {"J0_LMH": 1000.0, "ks_m2_per_L": 2.0 / 500.0}


@pytest.mark.parametrize("q,cv", [(0.95, 0.2), (0.9, 0.3), (0.99, 0.1)])
def test_feed_variability_alone_gives_the_closed_form_quantile(q, cv):
    res = risk_based_sizing("standard", STD, None, 1000.0, 2.0, confidence=q, feed_cv=cv, n_draws=200_000,
                            seed=7)
    sigma = math.sqrt(math.log(1 + cv * cv))
    expected = 1000.0 / (1000.0 * 2.0) + 1000.0 / 500.0 * math.exp(sigma * stats.norm.ppf(q))
    assert_allclose(res["risk_based_area_m2"], expected, rtol=0.01)
    assert_allclose(res["deterministic_min_area_m2"], 2.5, rtol=1e-9)
    assert_allclose(res["implied_safety_factor"], expected / 2.5, rtol=0.01)
    assert res["confidence"] == q


def test_without_any_uncertainty_the_risk_area_is_the_minimum_area():
    res = risk_based_sizing("standard", STD, None, 1000.0, 2.0, confidence=0.95, n_draws=1000, seed=1)
    assert_allclose(res["risk_based_area_m2"], 2.5, rtol=1e-12)
    assert_allclose(res["implied_safety_factor"], 1.0, rtol=1e-12)
    assert res["probability_conventional_meets"] == 1.0


def test_batch_volume_range_shifts_the_area_by_its_upper_quantile():
    # A is proportional to Vb: with Vb ~ U(800, 1200) and nothing else uncertain the q-quantile of
    # A is 2.5 m² x (800 + 400 q)/1000
    res = risk_based_sizing("standard", STD, None, (800.0, 1200.0), 2.0, confidence=0.9, n_draws=200_000,
                            seed=3)
    assert_allclose(res["risk_based_area_m2"], 2.5 * (800 + 400 * 0.9) / 1000, rtol=0.005)
    assert res["nominal_batch_volume_L"] == 1000.0


def test_parameter_samples_are_resampled_rows():
    # two equally likely parameter sets: the 0.9-quantile area is that of the worse set
    samples = np.array([[1000.0, 2 / 500.0], [1000.0, 2 / 250.0]])
    res = risk_based_sizing("standard", STD, samples, 1000.0, 2.0, confidence=0.9, n_draws=10_000, seed=2)
    assert_allclose(res["risk_based_area_m2"], 0.5 + 1000 / 250, rtol=1e-12)
    d = draw_scenarios("standard", STD, {"J0_LMH": samples[:, 0], "ks_m2_per_L": samples[:, 1]},
                       batch_volume_L=1000.0, process_time_h=2.0, n_draws=1000, seed=2)
    assert set(np.unique(d["ks_m2_per_L"])) == {2 / 500.0, 2 / 250.0}
    with pytest.raises(InputError, match="shape"):
        risk_based_sizing("standard", STD, np.ones((3, 3)), 1000.0, 2.0)


def test_lot_factors_have_median_one_and_the_stated_cv():
    f = lot_factors(0.25, 400_000, np.random.default_rng(0))
    assert_allclose(np.median(f), 1.0, rtol=0.01)
    assert_allclose(np.std(f) / np.mean(f), 0.25, rtol=0.02)
    with pytest.raises(InputError):
        lot_factors(-0.1, 10, np.random.default_rng(0))


def test_output_keys_histogram_and_errors():
    res = risk_based_sizing("cake-standard", {"J0_LMH": 800.0, "ks_m2_per_L": 0.004, "kc_h_m4_per_L2": 2e-6},
                            None, (500.0, 1500.0), (1.0, 3.0), feed_cv=0.2, n_draws=20_000, seed=4)
    for k in ("confidence", "risk_based_area_m2", "implied_safety_factor", "area_quantiles_m2", "histogram"):
        assert k in res
    h = res["histogram"]
    assert len(h["edges_m2"]) == len(h["counts"]) + 1 and sum(h["counts"]) > 0.99 * 20_000
    qs = res["area_quantiles_m2"]
    assert qs["0.05"] <= qs["0.5"] <= qs["0.95"] <= qs["0.99"]
    with pytest.raises(InputError, match="confidence"):
        risk_based_sizing("standard", STD, None, 1000.0, 2.0, confidence=1.5)
    with pytest.raises(InputError, match="range"):
        risk_based_sizing("standard", STD, None, (1200.0, 800.0), 2.0)
    with pytest.raises(DesignError):
        risk_based_sizing("standard", STD, None, 1000.0, None)


def test_size_with_confidence_bootstraps_the_trial():
    t = np.linspace(0.05, 2.0, 40)
    true = (1000.0, 0.004)
    v = MODELS["standard"].volume(t, *true)
    y = v + np.random.default_rng(5).normal(0.0, 0.005 * v[-1], t.size)
    trial = Trial(t_h=t, v_L_per_m2=y, area_m2=1e-3, mode="constant-pressure")
    from fluxwise.fit.fouling import fit_model

    params = fit_model(trial, "standard").params
    res = size_with_confidence(trial, "standard", params, batch_volume_L=1000.0, process_time_h=2.0,
                               confidence=0.95, feed_cv=0.0, n_resamples=200, n_draws=20_000, seed=1,
                               backend="numpy")
    # parameter uncertainty alone: a little above the deterministic area, far below 1.5x
    assert 1.0 < res["implied_safety_factor"] < 1.2
    assert res["bootstrap"]["n_converged"] >= 190
    with pytest.raises(DesignError, match="constant pressure"):
        size_with_confidence(Trial(t_h=t, v_L_per_m2=y, area_m2=1e-3, mode="constant-flux",
                                   pressure_bar=np.ones_like(t)), "standard", params,
                             batch_volume_L=1000.0, process_time_h=2.0)
