"""Virus filtration sizing and LRV bookkeeping; expected numbers derived by hand here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fluxwise.design.virus import (
    LRVStep,
    endpoint_capacity,
    log_reduction_value,
    lrv_summary,
    size_virus_filter,
)
from fluxwise.errors import DesignError, InputError


def test_size_on_throughput_endpoint():
    # 2000 L at 400 L/m² with SF 1.5: 2000/400 × 1.5 = 7.5 m²; 2 m² devices -> 4
    s = size_virus_filter(2000.0, 400.0, safety_factor=1.5, filter_area_m2=2.0)
    assert s.area_m2 == pytest.approx(7.5)
    assert s.limiting_criterion == "endpoint throughput"
    assert s.n_filters == 4 and s.installed_area_m2 == pytest.approx(8.0)


def test_size_limited_by_mass_loading():
    # 2000 L × 5 g/L = 10 kg over 1000 g/m² = 10 m² > 2000/400 = 5 m²; × 1.5 = 15 m², 667 g/m²
    s = size_virus_filter(2000.0, 400.0, loading_limit_g_per_m2=1000.0, protein_g_per_L=5.0)
    assert s.limiting_criterion == "mass loading"
    assert s.area_m2 == pytest.approx(15.0)
    assert s.mass_loading_g_per_m2 == pytest.approx(10000 / 15)
    with pytest.raises(InputError):
        size_virus_filter(2000.0, 400.0, loading_limit_g_per_m2=1000.0)


def test_endpoint_capacity_standard_blocking_by_hand():
    """Standard blocking at constant pressure: V = J0 t/(1 + ks J0 t/2), J = J0/(1 + ks J0 t/2)².

    At 75 % flux decay J/J0 = 1/4, so 1 + ks J0 t/2 = 2, t = 2/(ks J0) and V = J0 t/2 = 1/ks.
    With ks = 0.01 m²/L, J0 = 200 LMH: V = 100 L/m² at t = 1 h.
    """
    ks, j0 = 0.01, 200.0

    def v(t):
        return j0 * t / (1 + ks * j0 * t / 2)

    assert_allclose(endpoint_capacity(v, flux_decay=0.75), 100.0, rtol=1e-6)
    # time endpoint: V(0.5 h) = 100/(1 + 0.5) = 66.667 L/m²
    assert_allclose(endpoint_capacity(v, time_h=0.5), 200 / 3, rtol=1e-12)
    with pytest.raises(DesignError):
        endpoint_capacity(lambda t: 100.0 * np.asarray(t), flux_decay=0.5, t_max_h=10.0)  # no decay


def test_process_pause_and_low_pressure_warnings():
    s = size_virus_filter(1000.0, 500.0, process_pauses=1, operating_pressure_bar=1.5,
                          validated_min_pressure_bar=2.0)
    assert len(s.warnings) == 2
    assert any("pause" in w for w in s.warnings) and any("1.5 bar" in w for w in s.warnings)
    quiet = size_virus_filter(1000.0, 500.0, process_pauses=1, pauses_validated=True,
                              operating_pressure_bar=2.5, validated_min_pressure_bar=2.0)
    assert quiet.warnings == ()


def test_log_reduction_value_ich_q5a_formula_by_hand():
    # 100 mL at 10^7 /mL in, 110 mL at 10^2.5 /mL out: R = 7 − 2.5 + log10(100/110) = 4.458607
    assert_allclose(log_reduction_value(100.0, 7.0, 110.0, 2.5), 4.5 - math.log10(1.1), rtol=1e-12)
    assert_allclose(log_reduction_value(100.0, 7.0, 110.0, 2.5), 4.458607, atol=1e-6)


def test_lrv_summary_orthogonality_and_small_steps():
    steps = [
        LRVStep("low pH hold", 4.5, "low-pH inactivation", "X-MuLV"),
        LRVStep("virus filter", 4.0, "size exclusion", "X-MuLV", lower_bound=True),
        LRVStep("AEX", 3.0, "anion-exchange adsorption", "X-MuLV"),
        {"name": "AEX repeat", "lrv": 2.5, "mechanism": "Anion-exchange adsorption", "virus": "X-MuLV"},
        LRVStep("depth filter", 0.8, "adsorption (depth filter)", "X-MuLV"),
        LRVStep("virus filter", 4.2, "size exclusion", "MVM"),
        LRVStep("AEX", 3.5, "anion-exchange adsorption", "MVM"),
    ]
    summary = lrv_summary(steps)
    x = summary.viruses["X-MuLV"]
    # plain sum 4.5 + 4.0 + 3.0 + 2.5 + 0.8 = 14.8; claimable 4.5 + 4.0 + 3.0 = 11.5
    assert x["total_lrv"] == pytest.approx(14.8)
    assert x["claimable_lrv"] == pytest.approx(11.5)
    assert x["overall_reduction_factor"] == pytest.approx(10 ** 11.5)
    assert set(x["excluded_steps"]) == {"AEX repeat", "depth filter"}
    assert x["lower_bound"] is True
    mvm = summary.viruses["MVM"]
    assert mvm["claimable_lrv"] == pytest.approx(7.7) and mvm["lower_bound"] is False
    assert len(summary.warnings) == 2
    assert any("not orthogonal" in w for w in summary.warnings)
    assert summary.to_dict()["viruses"]["MVM"]["counted_steps"] == ["virus filter", "AEX"]


def test_lrv_summary_input_errors():
    with pytest.raises(InputError):
        lrv_summary([])
    with pytest.raises(InputError):
        lrv_summary([{"name": "x", "lrv": -1, "mechanism": "m"}])
    with pytest.raises(InputError):
        lrv_summary([{"name": "x", "log_reduction": 3}])
