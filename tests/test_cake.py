"""Cake properties in engineering units, compressibility over several pressures, sizing at another
pressure.

Published data: Geankoplis, C. J. (2003), *Transport Processes and Separation Process Principles*,
4th ed., Problem 14.2-1 (CaCO3 slurry at 25 °C, plate-and-frame press, A = 0.0439 m², −Δp = 46.2 kN/m²,
c = 23.47 kg solid/m³ filtrate; t [s] vs V [10⁻³ m³]: 17.3/0.5, 41.3/1.0, 72.0/1.5, 108.3/2.0,
152.0/2.5, 201.7/3.0; answer alpha = 1.106e11 m/kg, Rm = 6.40e10 1/m with μ = 0.8937e-3 Pa·s).
The problem statement with its table as published:
https://askfilo.com/user-question-answers-smart-solutions/14-2-1-constant-pressure-filtration-and-filtration-constants-3432373135383832

Hand derivations written below: Ruth's law per area, t = μαc·v²/(2ΔP) + μRm·v/ΔP (v = V/A [m]), gives
fluxwise's t = V/J0 + kc·V²/2 [h, L/m²] with kc = αμc/(3.6e9·ΔP) and J0 = 3.6e6·ΔP/(μRm); a pure cake
at constant pressure reaches V(t) = (√(1 + 2kc·J0²·t) − 1)/(kc·J0); at constant flux J, Darcy's law
ΔP = μJ/3.6e6·(Rm + αcV/1000).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

from fluxwise.cli import main
from fluxwise.design.cake import CakeConditions, CakeProperties, cake_study, params_at_pressure
from fluxwise.design.sizing import throughput_at_time
from fluxwise.errors import DesignError
from fluxwise.models import cake as mc
from fluxwise.pipeline import cake_analysis
from fluxwise.trial import Trial

GEANKOPLIS_T_S = [17.3, 41.3, 72.0, 108.3, 152.0, 201.7]
GEANKOPLIS_V_L = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]


def _geankoplis_file(tmp_path, *, with_conditions=True):
    meta = ["Filter area: 0.0439 m2"]
    if with_conditions:
        meta += ["Pressure: 46.2 kPa", "Viscosity: 0.8937 mPa s", "Solids: 23.47 kg/m3"]
    rows = [f"{t},{v}" for t, v in zip(GEANKOPLIS_T_S, GEANKOPLIS_V_L, strict=True)]
    path = tmp_path / "geankoplis_14_2_1.csv"
    path.write_text("\n".join(meta + ["time (s),filtrate volume (L)"] + rows) + "\n", encoding="utf-8")
    return path


def test_geankoplis_problem_14_2_1(tmp_path):
    r = CliRunner().invoke(main, ["cake", str(_geankoplis_file(tmp_path)), "--json"])
    assert r.exit_code == 0, r.output
    t = json.loads(r.output)["trials"][0]
    assert abs(t["alpha_m_per_kg"] / 1.106e11 - 1) < 0.015
    assert abs(t["Rm_per_m"] / 6.40e10 - 1) < 0.015
    assert t["alpha_ci95"][0] < 1.106e11 < t["alpha_ci95"][1] and t["Rm_ci95"][0] < 6.40e10 < t["Rm_ci95"][1]
    assert t["pressure_bar"] == pytest.approx(0.462) and t["apparent"] is False
    # medium's share at the end (V = 3 L/0.0439 m² = 68.34 L/m²) with the published alpha and Rm:
    # 6.40e10/(6.40e10 + 1.106e11·23.47·0.06834) = 0.265
    share = 6.40e10 / (6.40e10 + 1.106e11 * 23.47 * 3.0 / 0.0439 / 1000)
    assert abs(t["medium_pressure_share_end"] - share) < 0.01
    # the same with the conditions as options instead of metadata lines; text output too
    r = CliRunner().invoke(main, ["cake", str(_geankoplis_file(tmp_path, with_conditions=False)),
                                  "--pressure",
                                  "46.2 kPa", "--viscosity", "0.8937 cP", "--solids", "23.47 g/L"])
    assert r.exit_code == 0 and "1.1" in r.output and "3 or more different pressures" in r.output


def test_missing_conditions_exit_2_naming_the_option(tmp_path):
    path = _geankoplis_file(tmp_path, with_conditions=False)
    r = CliRunner().invoke(main, ["cake", str(path), "--pressure", "46.2 kPa", "--solids", "23.47 kg/m3"])
    assert r.exit_code == 2 and "--viscosity" in r.output
    r = CliRunner().invoke(main, ["cake", str(path), str(path), "--pressure", "46.2 kPa"])
    assert r.exit_code == 2 and "single trial" in r.output


# ----------------------------------------------------------------------------- synthetic pressures

MU_MPA_S, C_KG_M3 = 1.0, 10.0
ALPHA_REF, S, RM_REF, N_RM = 2.0e12, 0.4, 5.0e10, 0.1  # at 1 bar
AREA_M2 = 1e-3


def _alpha(p_bar):
    return ALPHA_REF * p_bar ** S


def _rm(p_bar):
    return RM_REF * p_bar ** N_RM


def _kc_j0(p_bar):
    dp, mu = p_bar * 1e5, MU_MPA_S * 1e-3
    return _alpha(p_bar) * mu * C_KG_M3 / (3.6e9 * dp), 3.6e6 * dp / (mu * _rm(p_bar))


def _cake_v(t_h, kc, j0):
    return (np.sqrt(1 + 2 * kc * j0 ** 2 * np.asarray(t_h)) - 1) / (kc * j0)


def _trial(p_bar, *, hours=1.0):
    kc, j0 = _kc_j0(p_bar)
    t = np.linspace(hours / 20, hours, 20)
    meta = {"file_meta": {"Pressure": f"{p_bar} bar", "Viscosity": f"{MU_MPA_S} mPa s",
                          "Solids": f"{C_KG_M3} kg/m3"}}
    return Trial(t_h=t, v_L_per_m2=_cake_v(t, kc, j0), area_m2=AREA_M2, mode="constant-pressure",
                 source=f"cake_{p_bar}bar", meta=meta)


def test_s_and_alpha_ref_recovered_from_three_pressures():
    study = cake_analysis([_trial(p) for p in (0.5, 1.0, 2.0)], reference_pressure="1 bar")
    a, m = study.alpha, study.medium
    assert a.reference_pressure_bar == 1.0 and a.n == 3
    assert_allclose([a.exponent, a.value_ref], [S, ALPHA_REF], rtol=1e-6)
    assert_allclose([m.exponent, m.value_ref], [N_RM, RM_REF], rtol=1e-6)
    assert a.exponent_ci95[0] <= S <= a.exponent_ci95[1]
    for t, p in zip(study.trials, (0.5, 1.0, 2.0), strict=True):
        assert_allclose([t.alpha_m_per_kg, t.Rm_per_m], [_alpha(p), _rm(p)], rtol=1e-6)
    assert study.pressure_range_bar == (0.5, 2.0)
    # default reference: the geometric mean of the pressures, 1 bar here as well
    assert_allclose(cake_analysis([_trial(p) for p in (0.5, 1.0, 2.0)]).alpha.reference_pressure_bar, 1.0)


def test_power_law_intervals_by_hand():
    # three points off a line in logs: ln y = [0, 1.1, 1.9] at ln(P/1 bar) = [-1, 0, 1]
    from fluxwise.fit.compressibility import fit_power_law

    x = np.array([-1.0, 0.0, 1.0])
    ly = np.array([0.0, 1.1, 1.9])
    fit = fit_power_law(np.exp(x), np.exp(ly), quantity="y", reference_pressure_bar=1.0)
    slope = 0.95  # Σxy/Σx² = 1.9/2
    intercept = 1.0  # mean(ly) with mean(x) = 0
    sse = float(np.sum((ly - intercept - slope * x) ** 2))  # 0.015
    se = math.sqrt(sse / 1 / 2.0)
    t975 = 12.706204736174707  # Student's t, 1 degree of freedom
    assert_allclose([fit.exponent, fit.value_ref], [slope, math.e], rtol=1e-12)
    assert_allclose(fit.exponent_ci95, [slope - t975 * se, slope + t975 * se], rtol=1e-9)


def _props(p, alpha, rm):
    return CakeProperties(source=f"{p}", mode="constant-pressure", model="cake", apparent=False,
                          pressure_bar=p, viscosity_mPa_s=MU_MPA_S, solids_g_per_L=C_KG_M3,
                          alpha_m_per_kg=alpha, alpha_ci95=(alpha, alpha), Rm_per_m=rm, Rm_ci95=(rm, rm),
                          trial_max_loading_L_per_m2=100, medium_pressure_share_end=0.5)


@pytest.mark.parametrize("s", [1.0, 0.0])
def test_negligible_medium_throughput_at_fixed_time(s):
    # Rm -> 0: V(t) = sqrt(2t/kc), kc ∝ alpha/ΔP ∝ ΔP^(s-1): s = 1 -> V independent of ΔP; s = 0 -> V ∝ √ΔP.
    # Rm = 1e7 1/m against alpha·c·V/1000 ≈ 4e12 1/m: the medium's term V/J0 moves V by ~1e-6 relative.
    study = cake_study([_props(p, 1e12 * p ** s, 1e7) for p in (0.5, 1.0, 2.0)])
    cond = CakeConditions(pressure_bar=1.0, viscosity_mPa_s=MU_MPA_S, solids_g_per_L=C_KG_M3)
    kc_t = 1e12 * MU_MPA_S * 1e-3 * C_KG_M3 / (3.6e9 * 1e5)
    params = {"J0_LMH": 3.6e6 * 1e5 / (1e-3 * 1e7), "kc_h_m4_per_L2": kc_t}
    v = {}
    for p in (0.6, 1.8):
        new, info, warnings = params_at_pressure(study, "cake", params, cond, p)
        assert warnings == [] and info["process_pressure_bar"] == p
        v[p] = throughput_at_time("cake", new, 2.0)
    if s == 1.0:
        assert_allclose(v[0.6], v[1.8], rtol=1e-5)
        assert_allclose(v[0.6], math.sqrt(2 * 2.0 / kc_t), rtol=1e-5)
    else:
        assert_allclose(v[1.8] / v[0.6], math.sqrt(1.8 / 0.6), rtol=1e-5)


def test_no_extrapolation_outside_the_tested_pressures():
    study = cake_study([_props(p, 1e12 * p ** 0.5, 1e10) for p in (0.5, 1.0, 2.0)])
    cond = CakeConditions(pressure_bar=1.0, viscosity_mPa_s=MU_MPA_S, solids_g_per_L=C_KG_M3)
    with pytest.raises(DesignError, match="not extrapolated"):
        params_at_pressure(study, "cake", {"J0_LMH": 100.0, "kc_h_m4_per_L2": 1e-3}, cond, 2.5)
    # a combined model keeps its blocking constants, with a warning; σ = kb/J0 is what is kept
    params = {"J0_LMH": 100.0, "kb_per_h": 5.0, "kc_h_m4_per_L2": 1e-3}
    new, _, warnings = params_at_pressure(study, "cake-complete", params, cond, 2.0)
    assert_allclose(new["kb_per_h"] / new["J0_LMH"], 5.0 / 100.0) and "blocking" in warnings[0]
    # two pressures are not a law
    two = cake_study([_props(p, 1e12, 1e10) for p in (0.5, 1.0)])
    assert two.alpha is None and "3 or more" in two.notes[0]
    with pytest.raises(DesignError, match="three or more"):
        params_at_pressure(two, "cake", {"J0_LMH": 100.0, "kc_h_m4_per_L2": 1e-3}, cond, 0.7)


def _write_trial(tmp_path, p_bar):
    t = _trial(p_bar)
    lines = ["Filter area: 10 cm2", f"Pressure: {p_bar} bar", f"Viscosity: {MU_MPA_S} mPa s",
             f"Solids: {C_KG_M3} kg/m3", "time (h),filtrate volume (L)"]
    lines += [f"{ti:.10g},{vi * AREA_M2:.12g}" for ti, vi in zip(t.t_h, t.v_L_per_m2, strict=True)]
    path = tmp_path / f"cake_{p_bar}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def study_file(tmp_path):
    files = [str(_write_trial(tmp_path, p)) for p in (0.5, 1.0, 2.0)]
    r = CliRunner().invoke(main, ["cake", *files, "--reference-pressure", "1 bar", "--json"])
    assert r.exit_code == 0, r.output
    path = tmp_path / "cake.json"
    path.write_text(r.output, encoding="utf-8")
    return path, files


def test_size_at_another_pressure_by_hand(study_file):
    path, files = study_file
    r = CliRunner().invoke(main, ["size", files[1], "--model", "cake", "--batch-volume", "100 L",
                                  "--process-time", "2 h", "--cake-study", str(path), "--process-pressure",
                                  "1.5 bar", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    kc, j0 = _kc_j0(1.5)  # alpha(1.5 bar), Rm(1.5 bar) of the laws the trials were made with
    v_star = float(_cake_v(2.0, kc, j0))
    assert_allclose(d["min_area_m2"], 100.0 / v_star, rtol=1e-5)
    c = d["cake"]
    assert_allclose([c["alpha_m_per_kg"], c["Rm_per_m"], c["compressibility_s"]], [_alpha(1.5), _rm(1.5), S],
                    rtol=1e-5)
    share = _rm(1.5) / (_rm(1.5) + _alpha(1.5) * C_KG_M3 * v_star / 1000)
    assert_allclose(c["medium_pressure_share_at_batch_loading"], share, rtol=1e-5)
    bad = CliRunner().invoke(main, ["size", files[1], "--model", "cake", "--cake-study", str(path),
                                    "--process-pressure", "3 bar"])
    assert bad.exit_code == 2 and "not extrapolated" in bad.output
    bad = CliRunner().invoke(main, ["size", files[1], "--process-pressure", "1.5 bar"])
    assert bad.exit_code == 2 and "--cake-study" in bad.output


def test_constant_flux_pressure_and_capacity_by_hand():
    laws = dict(alpha_ref=ALPHA_REF, s=S, rm_ref=RM_REF, n=N_RM, dp_ref_pa=1e5)
    mu, j = MU_MPA_S * 1e-3, 100.0
    # capacity at 1.5 bar from Darcy's law with the resistances of 1.5 bar
    v_cap = 1000 * (3.6e6 * 1.5e5 / (mu * j) - _rm(1.5)) / (_alpha(1.5) * C_KG_M3)
    assert_allclose(mc.constant_flux_capacity(1.5e5, j, mu, C_KG_M3, **laws), v_cap, rtol=1e-12)
    # the implicit pressure law gives back 1.5 bar there, and satisfies Darcy's law at any loading
    assert_allclose(mc.constant_flux_pressure(v_cap, j, mu, C_KG_M3, **laws), 1.5e5, rtol=1e-9)
    p = mc.constant_flux_pressure(np.array([0.0, 10.0, 50.0]), j, mu, C_KG_M3, **laws)
    p_bar = p / 1e5
    darcy = mu * j / 3.6e6 * (_rm(p_bar) + _alpha(p_bar) * C_KG_M3 * np.array([0.0, 10.0, 50.0]) / 1000)
    assert_allclose(p, darcy, rtol=1e-9)


def test_size_constant_flux_with_the_cake_study(study_file, tmp_path):
    path, _ = study_file
    # a constant-flux trial of the same slurry (its own fit is not needed: the study's laws size it)
    lines = ["Filter area: 10 cm2", "Mode: constant flux", f"Viscosity: {MU_MPA_S} mPa s", "Solids: "
                                                                                           f"{C_KG_M3} kg/m3",
             "time (h),filtrate volume (L),pressure (bar)"]
    mu = MU_MPA_S * 1e-3
    laws = dict(alpha_ref=ALPHA_REF, s=S, rm_ref=RM_REF, n=N_RM, dp_ref_pa=1e5)
    for i in range(12):
        v = 10.0 * i
        p = mc.constant_flux_pressure(v, 100.0, mu, C_KG_M3, **laws) / 1e5
        lines.append(f"{v / 100.0:.8g},{v * AREA_M2:.10g},{p:.10g}")
    cf = tmp_path / "cf.csv"
    cf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["size", str(cf), "--model", "cake", "--batch-volume", "100 L",
                                  "--max-pressure",
                                  "1.5 bar", "--flux", "100 LMH", "--cake-study", str(path), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    v_cap = 1000 * (3.6e6 * 1.5e5 / (mu * 100.0) - _rm(1.5)) / (_alpha(1.5) * C_KG_M3)
    assert_allclose(d["min_area_m2"], 100.0 / v_cap, rtol=1e-5)
    assert_allclose(d["final_pressure_bar"], 1.5, rtol=1e-5)
    # with a process time only, V solves alpha·c·V²/1000 + Rm·V = 3.6e6·ΔP·t/μ at ΔPmax
    r = CliRunner().invoke(main, ["size", str(cf), "--model", "cake", "--batch-volume", "100 L",
                                  "--max-pressure",
                                  "1.5 bar", "--process-time", "1 h", "--cake-study", str(path), "--json"])
    d = json.loads(r.output)
    a, b, c = _alpha(1.5) * C_KG_M3 / 1000, _rm(1.5), -3.6e6 * 1.5e5 * 1.0 / mu
    v = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert_allclose(d["min_area_m2"], 100.0 / v, rtol=1e-5)
    assert_allclose([d["flux_LMH"], d["final_pressure_bar"]], [v / 1.0, 1.5], rtol=1e-5)


def test_example_study_recovers_its_stated_laws():
    """examples/cake_*.csv are made (make_process_examples.py) with alpha = 1.0e11·(ΔP/1 bar)^0.35 m/kg and
    Rm = 6.0e10·(ΔP/1 bar)^0.05 1/m; the 95 % intervals of the study contain them."""
    from pathlib import Path

    ex = Path(__file__).resolve().parents[1] / "examples"
    study = cake_analysis([ex / f"cake_{p}bar.csv" for p in ("0.5", "1", "2")], reference_pressure="1 bar")
    a, m = study.alpha, study.medium
    assert a.exponent_ci95[0] <= 0.35 <= a.exponent_ci95[1]
    assert a.value_ref_ci95[0] <= 1.0e11 <= a.value_ref_ci95[1]
    assert m.exponent_ci95[0] <= 0.05 <= m.exponent_ci95[1]


def test_cake_study_refuses_vmax_linear_and_another_viscosity(study_file):
    """The cake study carries a fitted model at its trials' viscosity: the classical linearisation and a
    process temperature or viscosity are refused with it (exit 2 naming the option), and the sizing it
    gives carries the checks and their warnings like any other."""
    path, files = study_file
    base = ["size", files[1], "--batch-volume", "100 L", "--process-time", "2 h", "--cake-study", str(path),
            "--process-pressure", "1.5 bar"]
    bad = CliRunner().invoke(main, [*base, "--model", "vmax-linear"])
    assert bad.exit_code == 2 and "--model" in bad.output and "vmax-linear" in bad.output
    bad = CliRunner().invoke(main, [*base, "--model", "cake", "--process-temperature", "5 degC",
                                    "--trial-temperature", "20 degC"])
    assert bad.exit_code == 2 and "process-temperature" in bad.output and "viscosity" in bad.output
    d = json.loads(CliRunner().invoke(main, [*base, "--model", "cake", "--json"]).output)
    assert isinstance(d["warnings"], list) and d["model"] == "cake" and d["extrapolation_factor"] > 0
