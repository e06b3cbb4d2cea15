"""Fouling laws: limits, closed forms against independent integration, constant-flux forms.

Expected values come from the equations of Hermia (1982) and Bolton, LaCasse & Kuriyel (2006) as
written in these tests, and from an independent ODE integration (scipy solve_ivp) of dV/dt = J.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from fluxwise.models import fouling as F

J0 = 750.0
K = {"kb_per_h": 0.7, "ki_m2_per_L": 0.003, "ks_m2_per_L": 0.004, "kc_h_m4_per_L2": 2.5e-6}
T = np.linspace(0.0, 3.0, 61)


def _k(name):
    return [K[p] for p in F.MODELS[name].params]


def test_single_laws_match_their_textbook_forms():
    t = T
    kb, ki, ks, kc = K["kb_per_h"], K["ki_m2_per_L"], K["ks_m2_per_L"], K["kc_h_m4_per_L2"]
    assert_allclose(F.complete_blocking(t, J0, kb), J0 / kb * (1 - np.exp(-kb * t)), rtol=1e-12)
    assert_allclose(F.intermediate_blocking(t, J0, ki), np.log(1 + ki * J0 * t) / ki, rtol=1e-12)
    # standard: t/V = 1/J0 + (ks/2)·t (the Vmax line)
    v = F.standard_blocking(t[1:], J0, ks)
    assert_allclose(t[1:] / v, 1 / J0 + ks / 2 * t[1:], rtol=1e-12)
    # cake: t = V/J0 + kc·V²/2
    v = F.cake_filtration(t, J0, kc)
    assert_allclose(v / J0 + kc * v**2 / 2, t, rtol=1e-12, atol=1e-15)


def test_combined_models_match_bolton_2006_table_1():
    t = T
    kb, ki, ks, kc = K["kb_per_h"], K["ki_m2_per_L"], K["ks_m2_per_L"], K["kc_h_m4_per_L2"]
    root = np.sqrt(1 + 2 * kc * J0**2 * t) - 1
    assert_allclose(F.cake_complete(t, J0, kb, kc), J0 / kb * (1 - np.exp(-kb / (kc * J0**2) * root)),
                    rtol=1e-10)
    assert_allclose(F.cake_intermediate(t, J0, ki, kc), np.log(1 + ki / (kc * J0) * root) / ki, rtol=1e-10)
    expected = J0 / kb * (1 - np.exp(-2 * kb * t / (2 + ks * J0 * t)))
    assert_allclose(F.complete_standard(t, J0, kb, ks), expected, rtol=1e-10)
    assert_allclose(F.intermediate_standard(t, J0, ki, ks),
                    np.log(1 + 2 * ki * J0 * t / (2 + ks * J0 * t)) / ki, rtol=1e-10)
    v = F.cake_standard(t, J0, ks, kc)
    assert_allclose(v / (J0 * (1 - ks * v / 2)) + kc * v**2 / 2, t, rtol=1e-10, atol=1e-14)


PARENTS = {  # combined model: (constant sent to zero, parent that remains)
    "cake-complete": [("kb_per_h", "cake"), ("kc_h_m4_per_L2", "complete")],
    "cake-intermediate": [("ki_m2_per_L", "cake"), ("kc_h_m4_per_L2", "intermediate")],
    "complete-standard": [("kb_per_h", "standard"), ("ks_m2_per_L", "complete")],
    "intermediate-standard": [("ki_m2_per_L", "standard"), ("ks_m2_per_L", "intermediate")],
    "cake-standard": [("ks_m2_per_L", "cake"), ("kc_h_m4_per_L2", "standard")],
}


@pytest.mark.parametrize("combined,zero,parent", [(c, z, p) for c, lst in PARENTS.items() for z, p in lst])
@pytest.mark.parametrize("eps", [0.0, 1e-12])
def test_combined_model_reduces_to_parent(combined, zero, parent, eps):
    m = F.MODELS[combined]
    k = [eps * K[p] if p == zero else K[p] for p in m.params]
    v_combined = m.volume(T, J0, *k)
    v_parent = F.MODELS[parent].volume(T, J0, *_k(parent))
    assert np.all(np.isfinite(v_combined))
    assert_allclose(v_combined, v_parent, rtol=1e-8, atol=1e-9)
    # and the resistance law too
    vv = np.linspace(0, 150, 31)
    assert_allclose(F.resistance_ratio(combined, vv, J0, *k), F.resistance_ratio(parent, vv, J0, *_k(parent)),
                    rtol=1e-8)


@pytest.mark.parametrize("name", F.MODEL_NAMES)
def test_constant_pressure_law_is_the_integral_of_the_resistance_law(name):
    """Integrate dV/dt = J0/r(V) independently and compare with the closed-form V(t)."""
    k = _k(name)
    sol = solve_ivp(lambda t, v: J0 / F.resistance_ratio(name, v, J0, *k), (0, T[-1]), [0.0], t_eval=T,
                    rtol=1e-10, atol=1e-10, method="DOP853")
    assert_allclose(F.MODELS[name].volume(T, J0, *k), sol.y[0], rtol=1e-7, atol=1e-7)
    # time_to_throughput inverts V(t)
    assert_allclose(F.time_to_throughput(name, F.MODELS[name].volume(T, J0, *k), J0, *k), T, rtol=1e-9,
                    atol=1e-12)


def test_constant_flux_forms_are_the_classical_ones():
    """P/P0 at constant flux J (Ho & Zydney 2000; Bolton et al. 2006), with V = J·t."""
    J, t = 200.0, np.linspace(0, 2.0, 21)
    v = J * t
    kb, ki, ks, kc = K["kb_per_h"], K["ki_m2_per_L"], K["ks_m2_per_L"], K["kc_h_m4_per_L2"]
    inside = t * kb < 1
    assert_allclose(1 / F.resistance_ratio("complete", v, J, kb)[inside], (1 - kb * t)[inside], rtol=1e-12)
    assert_allclose(F.resistance_ratio("intermediate", v, J, ki), np.exp(ki * J * t), rtol=1e-12)
    ok = ks * J * t / 2 < 1
    assert_allclose(F.resistance_ratio("standard", v, J, ks)[ok], (1 - ks * J * t[ok] / 2) ** -2, rtol=1e-12)
    assert_allclose(F.resistance_ratio("cake", v, J, kc), 1 + kc * J**2 * t, rtol=1e-12)
    # beyond capacity the pressure is infinite, never NaN
    assert np.isinf(F.resistance_ratio("standard", [600.0], J, ks)[0])
    assert np.isinf(F.resistance_ratio("complete", [J / kb * 1.01], J, kb)[0])


def test_capacities():
    # complete blocking: V -> J0/kb; standard: V -> Vmax = 2/ks (Hermia 1982)
    assert_allclose(F.complete_blocking(1e4, J0, 0.7), J0 / 0.7, rtol=1e-12)
    assert_allclose(F.standard_blocking(1e9, J0, 0.004), 2 / 0.004, rtol=1e-6)


@pytest.mark.parametrize("ks,kc,t", [(1e-9, 0.0, 1e6), (10.0, 1e-12, 1e-6), (0.0, 1e3, 50.0), (1.0, 1.0, 1e8),
                                     (0.004, 2.5e-6, 0.0)])
def test_cake_standard_never_nan(ks, kc, t):
    v = F.cake_standard(np.array([t]), J0, ks, kc)
    assert np.all(np.isfinite(v)) and np.all(v >= 0)
    if t > 0:
        assert_allclose(F.cake_standard_time(v, J0, ks, kc), t, rtol=1e-6)  # ill-conditioned near 2/ks


def test_broadcasting_many_parameter_sets():
    ks = np.array([[0.001], [0.004], [0.01]])
    v = F.standard_blocking(T[None, :], J0, ks)
    assert v.shape == (3, T.size)
    assert_allclose(v[1], F.standard_blocking(T, J0, 0.004))
    v2 = F.cake_standard(T[None, :], J0, ks, 2e-6)
    assert v2.shape == (3, T.size) and np.all(np.isfinite(v2))


def test_unknown_model_name_is_a_clear_error():
    from fluxwise.errors import ModelError

    with pytest.raises(ModelError, match="expected one of: complete, intermediate"):
        F.get_model("pore-blocking")
