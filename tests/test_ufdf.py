"""UF/DF: flux models, mass balances, fits and step design.

Expected numbers come from hand derivations written here, from independent numerical integration
written in the tests, or from a published table (Schwartz 2003) — never from running the code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, stats

from fluxwise.design.ufdf import crossflow_rate, design_ufdf
from fluxwise.errors import DesignError, InputError, ModelError
from fluxwise.fit.ufdf import find_limiting_flux, fit_gel_polarization, fit_mass_transfer
from fluxwise.models import ufdf as m

# A representative mAb UF/DF used throughout: gel model with k = 20 LMH, Cg = 250 g/L.
K, CG = 20.0, 250.0
V0, C0, CF = 1000.0, 5.0, 100.0


# ----------------------------------------------------------------------------- models


def test_gel_flux_hand_values():
    # J = k ln(Cg/C): at C = Cg/e the log is 1, so J = k; at C = Cg it is 0
    assert_allclose(m.gel_polarization_flux(CG / math.e, K, CG), K)
    assert_allclose(m.gel_polarization_flux(np.array([CG, 2 * CG]), K, CG), [0.0, 0.0])
    # ln(250/25) = ln 10 = 2.302585
    assert_allclose(m.gel_polarization_flux(25.0, K, CG), 20 * 2.302585093, rtol=1e-9)


def test_mass_transfer_correlation():
    # k = a Q^b: 2 * 100**0.5 = 20
    assert_allclose(m.mass_transfer_coefficient(100.0, 2.0, 0.5), 20.0)


@pytest.mark.parametrize("s", [0.0, 0.05, 0.3])
def test_batch_concentration_matches_integrated_solute_balance(s):
    # d(CV) = S C dV  ->  dC/dV = -(1 - S) C / V ; integrate numerically from V0 = 100 to 20
    sol = integrate.solve_ivp(lambda v, c: -(1 - s) * c / v, (100.0, 20.0), [1.0], rtol=1e-12, atol=1e-14)
    assert_allclose(m.batch_concentration_ratio(100.0, 20.0, s), sol.y[0, -1], rtol=1e-8)
    # and the inverse gives back the volume
    assert_allclose(m.volume_at_concentration(100.0, 1.0, sol.y[0, -1], s), 20.0, rtol=1e-8)


def test_batch_concentration_analytic_form():
    # C/C0 = (V0/V)^(1-S): tenfold volume reduction, S = 0 -> 10; S = 1 -> 1 (nothing retained)
    assert_allclose(m.batch_concentration_ratio(10.0, 1.0, [0.0, 1.0]), [10.0, 1.0])


def test_constant_volume_diafiltration_matches_schwartz_2003_table():
    """Published worked example.

    Schwartz, L. (2003). Diafiltration for desalting or buffer exchange. BioProcess International
    1(5):43-49, table of solute removal by constant-volume diafiltration: for 0 % rejection
    (S = 1) 63, 86, 95, 98.2, 99.3, 99.7, 99.9 % after 1-7 diavolumes; for 25 % rejection
    (S = 0.75) 53, 77, 89, 95, 97.6, 98.9, 99.4, 99.7, 99.9 % after 1-9 diavolumes. The table
    mixes rounding and truncation, so each printed value must lie within one unit of its last
    printed digit (1 % for whole-percent entries, 0.1 % for one-decimal entries).
    """
    removed_s1 = ["63", "86", "95", "98.2", "99.3", "99.7", "99.9"]
    removed_s075 = ["53", "77", "89", "95", "97.6", "98.9", "99.4", "99.7", "99.9"]
    for s, table in ((1.0, removed_s1), (0.75, removed_s075)):
        n = np.arange(1, len(table) + 1)
        model = 100 * (1 - m.diafiltration_concentration_ratio(n, s))
        unit = np.array([0.1 if "." in v else 1.0 for v in table])
        printed = np.array([float(v) for v in table])
        assert np.all(np.abs(model - printed) < unit), (s, model, printed)


def test_diavolumes_for_reduction():
    # 99.9 % exchange of a freely passing buffer: N = ln(1000) = 6.907755
    assert_allclose(m.diavolumes_for_reduction(1e-3, 1.0), 6.907755279, rtol=1e-9)
    # half-passing solute needs twice as many
    assert_allclose(m.diavolumes_for_reduction(1e-3, 0.5), 2 * 6.907755279, rtol=1e-9)


def test_gel_optimum_is_cg_over_e_with_flux_equal_k():
    """Ng, Lundblad & Mitra (1976): DF time ∝ 1/(C ln(Cg/C)), minimal at C* = Cg/e, J(C*) = k."""
    c_star = m.gel_optimal_diafiltration_concentration(CG)
    assert_allclose(c_star, 91.969860292860584, rtol=1e-12)  # 250 / 2.718281828459045
    assert_allclose(m.gel_polarization_flux(c_star, K, CG), K, rtol=1e-12)
    # brute force over a grid, written here: minimise 1/(C ln(Cg/C))
    c = np.linspace(10, 240, 230001)
    assert_allclose(c[np.argmin(1.0 / (c * np.log(CG / c)))], c_star, atol=2e-3)


def _independent_concentration_time(v0, c0, cf, k, cg, area):
    """t = ∫ dV / (A J) with V = C0 V0 / C, dV = -C0 V0 dC / C², by quadrature in C."""
    val, _ = integrate.quad(lambda c: c0 * v0 / (c * c * area * k * math.log(cg / c)), c0, cf,
                            epsabs=0, epsrel=1e-12)
    return val


def test_gel_concentration_time_closed_form_vs_quadrature():
    # closed form with the exponential integral against a quadrature written in the test
    t_closed = m.gel_concentration_time(V0, C0, CF, K, CG, 10.0)
    assert_allclose(t_closed, _independent_concentration_time(V0, C0, CF, K, CG, 10.0), rtol=1e-9)


def test_gel_concentration_time_small_step_hand_limit():
    # a 1 % volume reduction at C0: t ≈ ΔV/(A·J(C0)) = 10 L / (1 m² · 20 ln 50 LMH)
    t = m.gel_concentration_time(1000.0, 5.0, 5.0 * 1000 / 990, 20.0, 250.0, 1.0)
    assert_allclose(t, 10.0 / (20.0 * math.log(50.0)), rtol=2e-3)


def test_osmotic_pressure_flux_inverts_hand_calculation():
    """Wijmans et al. (1984): J = Lp (TMP − π(Cw)), Cw = Cb e^(J/k).

    By hand, with a linear π = a1·C (a1 = 0.01 bar·L/g), Lp = 10 LMH/bar, k = 20 LMH, Cb = 10 g/L
    and J = 30 LMH: Cw = 10 e^1.5 = 44.81689 g/L, π = 0.4481689 bar, TMP = 30/10 + 0.4481689 =
    3.4481689 bar. The model, given that TMP, must return 30 LMH.
    """
    assert_allclose(m.osmotic_pressure_flux(3.4481689070338, 10.0, 20.0, 10.0, 0.01), 30.0, rtol=1e-9)


def test_osmotic_pressure_flux_limits():
    tmp = np.linspace(0.1, 20, 60)
    j = m.osmotic_pressure_flux(tmp, 10.0, 20.0, 50.0, 0.01, 1e-4)
    assert np.all(np.diff(j) > 0)  # rises with pressure
    assert np.all(np.diff(j, 2) < 1e-9)  # with ever smaller gain: concave
    # pure water (Cb = 0): J = Lp·TMP
    assert_allclose(m.osmotic_pressure_flux(tmp, 0.0, 20.0, 50.0, 0.01), 50.0 * tmp)
    # at high TMP the wall concentration approaches π⁻¹(TMP) and J -> k ln(Cw/Cb) (film form):
    # with a1 only, π(Cw) = TMP - J/Lp  =>  J = k ln((TMP - J/Lp)/(a1 Cb)) must hold at the root
    jj = m.osmotic_pressure_flux(200.0, 10.0, 20.0, 50.0, 0.01)
    assert_allclose(jj, 20.0 * math.log((200.0 - jj / 50.0) / (0.01 * 10.0)), rtol=1e-9)


# ----------------------------------------------------------------------------- fits


def test_fit_gel_polarization_exact_and_intervals():
    c = np.array([10, 20, 40, 60, 90, 120.0])
    j_true = K * np.log(CG / c)
    fit = fit_gel_polarization(c, j_true)
    assert_allclose(fit.k_LMH, K, rtol=1e-10)
    assert_allclose(fit.gel_concentration_g_per_L, CG, rtol=1e-10)

    rng = np.random.default_rng(7)
    j = j_true + rng.normal(0, 1.0, c.size)
    fit = fit_gel_polarization(c, j)
    # independent check of the k interval with scipy.stats.linregress
    lr = stats.linregress(np.log(c), j)
    t = stats.t.ppf(0.975, c.size - 2)
    assert_allclose(fit.k_LMH, -lr.slope, rtol=1e-10)
    assert_allclose(fit.k_ci_LMH, (-lr.slope - t * lr.stderr, -lr.slope + t * lr.stderr), rtol=1e-9)
    lo, hi = fit.gel_concentration_ci_g_per_L
    assert lo < fit.gel_concentration_g_per_L < hi
    assert fit.to_dict()["k_LMH"] == fit.k_LMH


def test_fit_gel_polarization_rejects_rising_flux():
    with pytest.raises(ModelError, match="does not fall"):
        fit_gel_polarization([10, 20, 40], [10, 20, 30])
    with pytest.raises(InputError):
        fit_gel_polarization([10, -20, 40], [30, 20, 10])


def test_fit_mass_transfer_log_log():
    q = np.array([100, 200, 300, 450.0])
    k = 3.0 * q ** 0.33
    fit = fit_mass_transfer(q, k * math.log(CG / 30.0), concentration_g_per_L=30.0,
                            gel_concentration_g_per_L=CG)
    assert fit.fitted_quantity == "k_LMH"
    assert_allclose([fit.a, fit.b], [3.0, 0.33], rtol=1e-10)
    # without Cg the limiting flux itself is fitted: same exponent, prefactor includes ln(Cg/C)
    fit2 = fit_mass_transfer(q, k * math.log(CG / 30.0))
    assert_allclose([fit2.a, fit2.b], [3.0 * math.log(CG / 30.0), 0.33], rtol=1e-10)


def test_find_limiting_flux_two_segment_and_slope_fraction():
    # piecewise-linear excursion written here: slope 50 LMH/bar up to 1.2 bar, then 2 LMH/bar
    tmp = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.4, 1.6, 1.8, 2.0, 2.2])
    flux = np.where(tmp <= 1.2, 50 * tmp, 60 + 2 * (tmp - 1.2))
    res = find_limiting_flux(tmp, flux)
    assert_allclose(res.knee_tmp_bar, 1.2, rtol=1e-6)
    assert_allclose(res.knee_flux_LMH, 60.0, rtol=1e-6)
    assert_allclose(res.limiting_flux_LMH, 62.0, rtol=1e-6)  # fitted flux at 2.2 bar
    assert_allclose([res.initial_slope_LMH_per_bar, res.final_slope_LMH_per_bar], [50, 2], rtol=1e-6)
    res2 = find_limiting_flux(tmp, flux, method="slope-fraction", slope_fraction=0.1)
    # interval slopes: 50 up to 1.0 bar, (60.4 - 50)/0.4 = 26 from 1.0 to 1.4 bar, then 2: the first
    # interval below 0.1 × 50 = 5 LMH/bar starts at 1.4 bar (the knee on the tested grid)
    assert res2.knee_tmp_bar == 1.4
    assert_allclose(res2.limiting_flux_LMH, 62.0)


def test_find_limiting_flux_without_knee_warns():
    tmp = np.array([0.5, 1.0, 1.5, 2.0, 2.5])
    res = find_limiting_flux(tmp, 30 * tmp, method="slope-fraction")
    assert res.knee_tmp_bar is None and res.warnings


# ----------------------------------------------------------------------------- design


def _design(**kw):
    base = dict(initial_volume_L=V0, initial_concentration_g_per_L=C0, final_concentration_g_per_L=CF,
                k_LMH=K, gel_concentration_g_per_L=CG)
    base.update(kw)
    return design_ufdf(**base)


def test_design_keys():
    d = _design(area_m2=10.0, diavolumes=7)
    keys = d.to_dict()
    for key in ("optimal_df_concentration_g_per_L", "df_concentration_g_per_L", "product_yield",
                "impurity_remaining_fraction", "process_time_h", "buffer_volume_L", "final_volume_L",
                "area_m2"):
        assert key in keys
    assert set(d.time_course) >= {"t_h", "volume_L", "concentration_g_per_L", "flux_LMH", "phase"}


def test_design_optimal_df_concentration_is_cg_over_e():
    d = _design(area_m2=10.0, diavolumes=7, df_concentration="optimal")
    assert_allclose(d.optimal_df_concentration_g_per_L, CG / math.e, rtol=1e-6)
    assert_allclose(d.df_concentration_g_per_L, CG / math.e, rtol=1e-6)


def test_design_concentration_only_matches_closed_form():
    d = _design(area_m2=10.0, diavolumes=0, df_concentration=C0)
    t_expected = _independent_concentration_time(V0, C0, CF, K, CG, 10.0)
    assert_allclose(d.process_time_h, t_expected, rtol=1e-8)
    assert_allclose(d.final_volume_L, V0 * C0 / CF)  # 50 L, fully retained product
    assert d.time_course["t_h"][-1] == pytest.approx(d.process_time_h, rel=1e-8)


def test_design_phase_times_by_hand():
    """DF at 50 g/L, 7 diavolumes, 10 m².

    V_df = 1000·5/50 = 100 L; t_DF = N·V_df/(A·k·ln(Cg/C)) = 7·100/(10·20·ln 5) = 2.17468 h.
    The two concentration phases together equal one concentration from 5 to 100 g/L.
    """
    d = _design(area_m2=10.0, diavolumes=7, df_concentration=50.0)
    assert_allclose(d.df_volume_L, 100.0)
    assert_allclose(d.diafiltration_time_h, 700.0 / (200.0 * math.log(5.0)), rtol=1e-12)
    t_conc = _independent_concentration_time(V0, C0, CF, K, CG, 10.0)
    assert_allclose(d.concentration_1_time_h + d.concentration_2_time_h, t_conc, rtol=1e-8)
    assert_allclose(d.concentration_1_time_h, _independent_concentration_time(V0, C0, 50.0, K, CG, 10.0),
                    rtol=1e-8)
    # buffer: 7 diavolumes of 100 L, plus no flush
    assert_allclose(d.buffer_volume_L, 700.0)
    assert_allclose(d.permeate_volume_L, 1000 + 700 - 50)


def test_design_optimum_beats_other_df_concentrations():
    opt = _design(area_m2=10.0, diavolumes=7).process_time_h
    for c_df in (10.0, 50.0, 80.0, 100.0):
        assert _design(area_m2=10.0, diavolumes=7, df_concentration=c_df).process_time_h > opt


def test_design_area_for_time_round_trip():
    d = _design(process_time_h=3.0, diavolumes=7)
    assert_allclose(d.process_time_h, 3.0, rtol=1e-12)
    again = _design(area_m2=d.area_m2, diavolumes=7)
    assert_allclose(again.process_time_h, 3.0, rtol=1e-9)


def test_design_impurity_and_diavolumes_from_clearance():
    """Freely passing buffer species (S = 1): concentration keeps V/V0 of it, DF keeps e^(−N).

    Overall mass fraction = (V_f/V0)·e^(−N) = (50/1000)·10⁻³ = 5e-5 for a DF clearance of 10⁻³.
    """
    d = _design(area_m2=10.0, df_remaining_fraction=1e-3)
    assert_allclose(d.diavolumes, math.log(1000.0), rtol=1e-12)
    assert_allclose(d.impurity_remaining_fraction, 0.05 * 1e-3, rtol=1e-9)
    # concentration in the final retentate relative to the load: ×(V0/Vf) = 1e-3
    assert_allclose(d.impurity_concentration_ratio, 1e-3, rtol=1e-9)


def test_design_product_sieving_yield_by_mass_balance():
    """Product with S = 0.01, DF at 50 g/L with 7 DV.

    Mass kept: concentration (V/V0)^S each phase, DF e^(−N·S). The concentration reached at the
    end of DF is 50·e^(−0.07); the final volume follows from C = C_start (V_start/V)^(1−S).
    """
    s = 0.01
    d = _design(area_m2=10.0, diavolumes=7, df_concentration=50.0, product_sieving=s)
    v_df = 1000 * (5 / 50) ** (1 / (1 - s))
    c_after = 50 * math.exp(-7 * s)
    v_f = v_df * (c_after / 100) ** (1 / (1 - s))
    expected = (v_df / 1000) ** s * math.exp(-7 * s) * (v_f / v_df) ** s
    assert_allclose(d.df_volume_L, v_df, rtol=1e-12)
    assert_allclose(d.final_volume_L, v_f, rtol=1e-12)
    assert_allclose(d.product_yield, expected, rtol=1e-10)
    assert_allclose(d.product_yield, 100 * v_f / (5 * 1000), rtol=1e-10)


def test_design_hold_up_and_flush_recovery():
    """Final retentate 50 L at 100 g/L, hold-up 2 L, flush 3 L mixed once with the hold-up.

    Recovered from the hold-up: 3/(2+3) = 60 % of 200 g. Pool = 48 L + 3 L = 51 L holding
    4800 + 120 = 4920 g, so yield = 4920/5000 = 0.984 and 96.47 g/L.
    """
    d = _design(area_m2=10.0, diavolumes=7, hold_up_volume_L=2.0, flush_volume_L=3.0)
    assert_allclose(d.product_yield, 0.984)
    assert_allclose(d.pool_volume_L, 51.0)
    assert_allclose(d.pool_concentration_g_per_L, 4920 / 51)
    assert_allclose(d.buffer_volume_L, d.diafiltration_buffer_volume_L + 3.0)
    assert any("dilutes" in w for w in d.warnings)


def test_crossflow_rate():
    # 300 LMH feed flux on 10 m² = 3000 L/h
    assert crossflow_rate(10.0, feed_flux_LMH=300.0) == (3000.0, None)
    # 2.6 m² on 0.5 m² cassettes -> 6 cassettes; 1.5 L/min each -> 9 L/min = 540 L/h
    rate, n = crossflow_rate(2.6, flow_per_cassette_L_per_min=1.5, cassette_area_m2=0.5)
    assert n == 6 and rate == pytest.approx(540.0)
    d = _design(area_m2=10.0, diavolumes=7, feed_flux_LMH=300.0)
    assert d.crossflow_rate_L_per_h == pytest.approx(3000.0)


def test_design_mass_transfer_correlation_gives_k():
    # k = a·Q^b = 2·400^0.5 = 40 LMH: twice the flux, half the time of k = 20 LMH
    d20 = _design(area_m2=10.0, diavolumes=7)
    d40 = _design(area_m2=10.0, diavolumes=7, k_LMH=None, mass_transfer_a=2.0, mass_transfer_b=0.5,
                  feed_flux_LMH=400.0)
    assert_allclose(d40.process_time_h, d20.process_time_h / 2, rtol=1e-8)


def test_design_user_flux_function_optimum_numeric():
    # a flux law with a different optimum: J = 60 - 0.5 C (linear). DF time ∝ 1/(C J) is minimal where
    # d(C(60 - 0.5C))/dC = 0 -> C = 60 g/L (by hand)
    d = design_ufdf(initial_volume_L=V0, initial_concentration_g_per_L=C0, final_concentration_g_per_L=100.0,
                    flux=lambda c: 60 - 0.5 * c, area_m2=5.0, diavolumes=5)
    assert_allclose(d.optimal_df_concentration_g_per_L, 60.0, rtol=1e-6)


def test_design_time_course_consistent():
    d = _design(area_m2=10.0, diavolumes=7, df_concentration=50.0)
    tc = d.time_course
    assert np.all(np.diff(tc["t_h"]) >= 0)
    assert tc["t_h"][-1] == pytest.approx(d.process_time_h, rel=1e-8)
    assert tc["volume_L"][0] == V0 and tc["volume_L"][-1] == pytest.approx(d.final_volume_L)
    assert tc["concentration_g_per_L"][-1] == pytest.approx(CF)
    assert_allclose(tc["flux_LMH"], m.gel_polarization_flux(tc["concentration_g_per_L"], K, CG))
    assert list(dict.fromkeys(tc["phase"])) == ["concentration-1", "diafiltration", "concentration-2"]
    df = tc["phase"] == "diafiltration"
    assert_allclose(tc["volume_L"][df], 100.0)
    js = d.to_dict(include_time_course=True)
    assert isinstance(js["time_course"]["t_h"], list)


@pytest.mark.parametrize("kw, field", [
    (dict(final_concentration_g_per_L=2.0), "final_concentration_g_per_L"),
    (dict(initial_volume_L=-5.0), "initial_volume_L"),
    (dict(df_concentration=150.0), "df_concentration"),
    (dict(df_concentration="fast"), "df_concentration"),
    (dict(product_sieving=1.0), "product_sieving"),
    (dict(process_time_h=2.0), "area_m2"),  # both area and time
    (dict(diavolumes=None), "diavolumes"),
])
def test_design_input_errors_name_the_field(kw, field):
    base = dict(area_m2=10.0, diavolumes=7)
    base.update(kw)
    with pytest.raises(InputError) as exc:
        _design(**base)
    assert exc.value.field == field


def test_design_target_above_gel_concentration():
    with pytest.raises(DesignError, match="gel concentration"):
        _design(area_m2=10.0, diavolumes=7, final_concentration_g_per_L=260.0)


def test_design_hold_up_larger_than_final_volume():
    with pytest.raises(DesignError, match="hold-up"):
        _design(area_m2=10.0, diavolumes=7, hold_up_volume_L=60.0)
