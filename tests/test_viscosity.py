"""Water viscosity and what a viscosity ratio does to the fouling laws.

References: the check values of the IAPWS 2008 formulation (IAPWS R12-08, Table 4, μ̄₂ = 1) at given
temperature and density; the viscosity of liquid water at 1 atm tabulated in the CRC Handbook of
Chemistry and Physics (5 °C 1.519, 20 °C 1.002, 25 °C 0.890, 40 °C 0.653 mPa·s, three decimals);
Kell (1975) for the density of water (999.83952 kg/m³ at 0 °C, the leading constant of his
equation, and the maximum, 999.972 kg/m³, near 4 °C).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fluxwise.models.fouling import MODEL_NAMES, MODELS, resistance_ratio, time_to_throughput
from fluxwise.models.viscosity import rescale_for_viscosity, viscosity_ratio, water_density, water_viscosity

CONSTANTS = {"kb_per_h": 0.6, "ki_m2_per_L": 0.004, "ks_m2_per_L": 0.005, "kc_h_m4_per_L2": 3e-6}


def test_iapws_2008_check_values():
    # (T [K], ρ [kg/m³], μ [µPa·s]) from IAPWS R12-08 Table 4
    table = [(298.15, 998.0, 889.735100), (298.15, 1200.0, 1437.649467), (373.15, 1000.0, 307.883622),
             (433.15, 1.0, 14.538324), (433.15, 1000.0, 217.685358), (873.15, 1.0, 32.619287),
             (873.15, 100.0, 35.802262), (873.15, 600.0, 77.430195), (1173.15, 1.0, 44.217245),
             (1173.15, 100.0, 47.640433), (1173.15, 400.0, 64.154608)]
    T, rho, mu = (np.array(c) for c in zip(*table, strict=True))
    assert_allclose(water_viscosity(T - 273.15, rho) * 1000, mu, rtol=1e-7)


def test_liquid_water_at_one_atmosphere_against_the_table():
    assert_allclose(water_density(0.0), 999.83952, rtol=1e-12)
    t = np.linspace(0, 10, 1001)
    assert t[np.argmax(water_density(t))] == pytest.approx(4.0, abs=0.05)
    assert water_density(4.0) == pytest.approx(999.972, abs=2e-3)
    assert_allclose(water_viscosity([5.0, 20.0, 25.0, 40.0]), [1.519, 1.002, 0.890, 0.653], atol=1e-3)
    m = viscosity_ratio(water_viscosity(5.0), water_viscosity(20.0))
    assert m == pytest.approx(1.519 / 1.002, abs=5e-4) and round(float(m), 3) == 1.516


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_time_scales_by_the_viscosity_ratio(name):
    """t_5(V) = m·t_20(V) for all nine models: r(V) does not depend on viscosity, J0 -> J0/m."""
    m = float(water_viscosity(5.0) / water_viscosity(20.0))
    params = {"J0_LMH": 800.0, **{k: CONSTANTS[k] for k in MODELS[name].params}}
    cold = rescale_for_viscosity(params, m)
    k20 = [params[k] for k in MODELS[name].params]
    k5 = [cold[k] for k in MODELS[name].params]
    V = np.linspace(1.0, 150.0, 25)
    assert_allclose(time_to_throughput(name, V, cold["J0_LMH"], *k5),
                    m * time_to_throughput(name, V, 800.0, *k20), rtol=1e-12)
    # the same as a resistance: r(V) unchanged, so the flux at each V falls by m
    assert_allclose(resistance_ratio(name, V, cold["J0_LMH"], *k5), resistance_ratio(name, V, 800.0, *k20),
                    rtol=1e-12)
    # and V(t) at m times the time is the same throughput
    t = np.linspace(0.01, 0.5, 12)
    assert_allclose(MODELS[name].volume(m * t, cold["J0_LMH"], *k5), MODELS[name].volume(t, 800.0, *k20),
                    rtol=1e-9)
    assert cold.get("ki_m2_per_L") == params.get("ki_m2_per_L")
    assert cold.get("ks_m2_per_L") == params.get("ks_m2_per_L")


def test_constant_flux_parameters_scale_the_clean_pressure_only():
    p = {"J0_LMH": 300.0, "P0_bar": 0.3, "kb_per_h": 0.6, "kc_h_m4_per_L2": 3e-6}
    cold = rescale_for_viscosity(p, 1.5)
    assert cold == {"J0_LMH": 300.0, "P0_bar": pytest.approx(0.45), "kb_per_h": 0.6, "kc_h_m4_per_L2": 3e-6}
    # arrays (bootstrap samples) scale element by element
    s = rescale_for_viscosity({"J0_LMH": np.array([100.0, 200.0]), "kb_per_h": np.array([1.0, 2.0])}, 2.0)
    assert_allclose(s["J0_LMH"], [50.0, 100.0]) and assert_allclose(s["kb_per_h"], [0.5, 1.0])
