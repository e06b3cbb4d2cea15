"""Sizing a scientist can defend: extrapolation, V90, tied models, J0 against the buffer flux, viscosity.

Hand case (issue 11). Standard blocking with J0 = 1000 L/m²/h and Vmax = 2/ks = 500 L/m²:
V(t) = J0·t/(1 + J0·t/Vmax), so a trial of 0.25 h reaches V = 250/1.5 = 166.67 L/m², and the minimum
area for Vb in tb is A = Vb/Vmax + Vb/(J0·tb) (Badmington et al. 1995):

* 1000 L in 2 h: A = 2 + 0.5 = 2.5 m², loading 1000/2.5 = 400 L/m², factor 400/166.67 = 2.40 > 1.5;
  V90 solves (1 − V/Vmax)² = 0.1: V90 = (1 − √0.1)·500 = 341.886 L/m² < 400: both warnings;
* 1000 L in 0.4 h: A = 2 + 2.5 = 4.5 m², loading 222.22 L/m², factor 1.333, below V90: no warning.

Viscosity: at 5 °C against 20 °C, m = 1.518/1.0016 = 1.516 (IAPWS 2008); J0 -> J0/m, so
A = 2 + 0.5·m = 2.758 m².
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from fluxwise.design.sizing_checks import (
    WARNING_GUIDE,
    check_sizing,
    extrapolation_block,
    j0_warning,
    tied_area_range,
)
from fluxwise.errors import DesignError, InputError
from fluxwise.fit.fouling import fit_trial
from fluxwise.models.fouling import MODELS
from fluxwise.models.viscosity import water_viscosity
from fluxwise.pipeline import SizingRequest, analyze, size_trial
from fluxwise.trial import Trial

J0, VMAX = 1000.0, 500.0
STD = {"J0_LMH": J0, "ks_m2_per_L": 2 / VMAX}
V90 = (1 - math.sqrt(0.1)) * VMAX  # 341.886 L/m²


def std_trial(t_end=0.25, n=51, meta=None):
    t = np.linspace(0.0, t_end, n)
    return Trial(t, MODELS["standard"].volume(t, J0, 2 / VMAX), 1e-3, "constant-pressure", meta=meta or {})


def size(trial, models=("standard",), **request):
    fit = fit_trial(trial, models=list(models))
    return size_trial(fit, SizingRequest.parse(**request))


def test_hand_case_extrapolated_and_past_v90():
    s = size(std_trial(), batch_volume="1000 L", process_time="2 h")
    d = s.to_dict()
    assert d["min_area_m2"] == pytest.approx(2.5, rel=1e-8)
    assert d["trial_max_loading_L_per_m2"] == pytest.approx(250 / 1.5, rel=1e-12)
    assert d["extrapolation_factor"] == pytest.approx(2.40, rel=1e-8)
    assert d["time_extrapolation_factor"] == pytest.approx(8.0)
    assert d["v90_L_per_m2"] == pytest.approx(341.886, abs=1e-3) and d["v90_L_per_m2"] == pytest.approx(V90)
    assert d["past_v90"] is True
    assert len(d["warnings"]) == 2
    assert d["warnings"][0].startswith("extrapolated") and "2.40x" in d["warnings"][0]
    assert d["warnings"][1].startswith("past V90") and "341.9 L/m²" in d["warnings"][1]
    assert d["tied_area_range_m2"] == pytest.approx([2.5, 2.5], rel=1e-8)


def test_hand_case_within_the_trial_gives_no_warning():
    s = size(std_trial(), batch_volume="1000 L", process_time="0.4 h")
    d = s.to_dict()
    assert d["min_area_m2"] == pytest.approx(4.5, rel=1e-8)
    assert d["extrapolation_factor"] == pytest.approx((1000 / 4.5) / (250 / 1.5), rel=1e-8)
    assert round(d["extrapolation_factor"], 2) == 1.33
    # the time ratio is 1.6, above 1.5, yet nothing is extrapolated: the laws are laws in V
    assert d["time_extrapolation_factor"] == pytest.approx(1.6)
    assert d["warnings"] == [] and d["past_v90"] is False


def test_extrapolation_limit_is_settable():
    # factor 1.333 passes 1.5 but not 1.3
    s = size(std_trial(), batch_volume="1000 L", process_time="0.4 h", extrapolation_limit="1.3")
    assert [w.split(":")[0] for w in s.warnings] == ["extrapolated"]
    with pytest.raises(InputError, match="at least 1"):
        SizingRequest.parse(extrapolation_limit="0.5")
    with pytest.raises(DesignError):
        extrapolation_block(capacity_L_per_m2=1, trial_max_L_per_m2=1, process_time_h=1, trial_time_h=1,
                            v90_L_per_m2=2, model="x", mode="constant-pressure", limit=0.9)


def test_constant_flux_v90_is_a_tenfold_pressure_rise():
    """Constant flux, standard blocking: P/P0 = (1 − V/Vmax)^(−2) = 10 at V = (1 − √0.1)·Vmax too.

    J 300 LMH, P0 0.1 bar, Pmax 2 bar: capacity (1 − √(0.1/2))·500 = 388.2 L/m² > V90 = 341.9."""
    block, warnings = extrapolation_block(capacity_L_per_m2=(1 - math.sqrt(0.05)) * 500,
                                          trial_max_L_per_m2=400,
                                          process_time_h=2.0, trial_time_h=1.0, v90_L_per_m2=V90,
                                          model="standard", mode="constant-flux")
    assert block["extrapolation_factor"] == pytest.approx((1 - math.sqrt(0.05)) * 500 / 400)
    assert len(warnings) == 1 and warnings[0].startswith("past V90") and "P/P0 = 10" in warnings[0]


def test_tied_range_with_injected_aicc():
    """AICc {0, 1.9, 2.1}: the first two are tied (ΔAICc < 2), the third is not.

    Areas for 1000 L in 2 h by hand: standard 2.5 m² (above); cake with kc = 1.2e-5 h·m⁴/L² reaches
    V(2 h) = 500 L/m² (t = V/J0 + kc·V²/2 = 0.5 + 1.5), so 2.0 m²; complete with kb = 1 /h reaches
    (J0/kb)(1 − e^(−2)) = 864.66 L/m², so 1.157 m².
    """
    from fluxwise.design.sizing import min_area

    def area(name, params):
        return min_area(name, params, "constant-pressure", batch_volume_L=1000.0, process_time_h=2.0)[0]

    cake = {"J0_LMH": J0, "kc_h_m4_per_L2": 1.2e-5}
    complete = {"J0_LMH": J0, "kb_per_h": 1.0}
    assert area("cake", cake) == pytest.approx(2.0, rel=1e-9)
    assert area("complete", complete) == pytest.approx(1000 / (1000 * (1 - math.exp(-2))), rel=1e-9)
    injected = [("cake", cake, 10.0), ("standard", STD, 11.9), ("complete", complete, 12.1)]
    ties = tied_area_range(injected, area)
    assert [r["model"] for r in ties["models"]] == ["cake", "standard"]
    assert ties["tied_area_range_m2"] == pytest.approx([2.0, 2.5], rel=1e-9)
    assert ties["most_conservative"] == "standard"
    assert ties["models"][1]["delta_aicc"] == pytest.approx(1.9)
    # strictly below 2: a model exactly 2 behind is not tied
    exact = tied_area_range([("cake", cake, 0.0), ("standard", STD, 2.0)], area)
    assert [r["model"] for r in exact["models"]] == ["cake"]


def test_best_takes_the_most_conservative_tied_model_and_says_so():
    """Two models tied on a noisy standard trial: 'best' sizes with the larger area, a named model
    with itself, and the sentence names the range."""
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 0.5, 60)
    v = MODELS["standard"].volume(t, J0, 2 / VMAX)
    trial = Trial(t, v + rng.normal(0, 0.004 * v[-1], t.size), 1e-3, "constant-pressure")
    fit = fit_trial(trial, models=["standard", "intermediate-standard", "complete-standard", "cake"])
    tied = [f for f in fit.fits if f.aicc - fit.best.aicc < 2]
    assert len(tied) >= 2  # nested models with a constant near 0 tie with standard blocking
    s = size_trial(fit, SizingRequest.parse(batch_volume="1000 L", process_time="1 h"))
    d = s.to_dict()
    areas = {r["model"]: r["min_area_m2"] for r in d["tied_models"]}
    assert d["min_area_m2"] == pytest.approx(max(areas.values()))
    assert d["tied_area_range_m2"] == pytest.approx([min(areas.values()), max(areas.values())])
    assert d["model"] == max(areas, key=areas.get) and "most conservative" in d["model_choice"]
    assert any(w.startswith("tied models") and "the recommendation takes the largest" in w
               for w in d["warnings"])
    named = size_trial(fit, SizingRequest.parse(batch_volume="1000 L", process_time="1 h", model="cake"))
    assert named.model == "cake" and named.checks["model_choice"] == "chosen by the user"
    assert any("you chose 'cake'" in w for w in named.warnings)


def test_tie_sentence_says_ties_are_unreliable_with_autocorrelated_residuals():
    ties = {"models": [{"model": "a", "delta_aicc": 0.0, "min_area_m2": 1.0},
                       {"model": "b", "delta_aicc": 1.0, "min_area_m2": 2.0}],
            "tied_area_range_m2": [1.0, 2.0]}
    diag = {"autocorrelated": True, "lag1_autocorrelation": 0.8, "durbin_watson": 0.4, "n": 50}
    _, warnings = check_sizing(capacity_L_per_m2=10.0, process_time_h=1.0, v90_L_per_m2=100.0, model="b",
                               mode="constant-pressure", trial_t_h=[0, 1], trial_v_L_per_m2=[0, 20],
                               ties=ties, diagnostics=diag)
    assert len(warnings) == 2
    assert "1-2 m²" in warnings[0] and "unreliable" in warnings[0]
    assert warnings[1].startswith("autocorrelated residuals")


def test_j0_above_the_buffer_flux():
    # J0 1000 against a buffer flux of 800: 25 % above, past a 10 % margin
    w = j0_warning("standard", 1000.0, 800.0, 0.10)
    assert w.startswith("J0 above buffer flux") and "25 %" in w and "--fix-j0" in w
    assert j0_warning("standard", 1000.0, 950.0, 0.10) is None  # 5.3 % above: within the margin
    assert j0_warning("standard", 1100.0, 1000.0, 0.10) is None  # exactly at the margin: no warning
    s = size(std_trial(), batch_volume="1000 L", process_time="0.4 h", buffer_flux="800 LMH")
    assert [x.split(":")[0] for x in s.warnings] == ["J0 above buffer flux"]
    assert s.checks["buffer_flux_LMH"] == 800.0 and s.checks["buffer_flux_source"] == "given"
    # from the file's metadata, with a wider margin: quiet
    meta = {"file_meta": {"Clean buffer flux": "800 L/m2/h"}}
    s = size(std_trial(meta=meta), batch_volume="1000 L", process_time="0.4 h", j0_margin="30%")
    assert s.warnings == () and s.checks["buffer_flux_source"] == "file: Clean buffer flux"


def test_fix_j0_to_the_buffer_flux():
    """With J0 fixed at 900 LMH the standard-blocking fit of an exact J0 = 1000 trial moves ks; the
    sizing uses J0 = 900 and has nothing to warn about J0."""
    a = analyze(std_trial(), sizing={"batch_volume": "1000 L", "process_time": "0.4 h",
                                     "buffer_flux": "900 LMH", "fix_j0": True})
    assert all(f.params["J0_LMH"] == 900.0 and "J0_LMH" in f.fixed for f in a.fit.fits)
    assert a.sizing.params["J0_LMH"] == 900.0
    d = size(std_trial(), batch_volume="1000 L", process_time="0.4 h", buffer_flux="900 LMH",
             fix_j0="yes").to_dict()
    assert d["params"]["J0_LMH"] == 900.0 and d["j0_fixed_to_buffer"] is True
    assert not any(w.startswith("J0 above") for w in d["warnings"])
    ks = d["params"]["ks_m2_per_L"]
    assert d["min_area_m2"] == pytest.approx(1000 * ks / 2 + 1000 / (900 * 0.4), rel=1e-9)
    with pytest.raises(InputError, match="buffer flux"):
        analyze(std_trial(), sizing={"batch_volume": "1000 L", "process_time": "1 h", "fix_j0": True})


def test_viscosity_moves_the_hand_case_from_2_500_to_2_758():
    m = float(water_viscosity(5.0) / water_viscosity(20.0))
    assert m == pytest.approx(1.516, abs=5e-4)
    base = size(std_trial(), batch_volume="1000 L", process_time="2 h")
    cold = size(std_trial(), batch_volume="1000 L", process_time="2 h", process_temperature="5 degC",
                trial_temperature="20 °C")
    assert base.min_area_m2 == pytest.approx(2.500, rel=1e-8)
    assert cold.min_area_m2 == pytest.approx(2 + 0.5 * m, rel=1e-8)
    assert round(cold.min_area_m2, 3) == 2.758
    d = cold.to_dict()
    assert d["viscosity_ratio"] == pytest.approx(m)
    assert d["params"]["J0_LMH"] == pytest.approx(J0 / m)
    assert d["params"]["ks_m2_per_L"] == d["params_at_trial_viscosity"]["ks_m2_per_L"]
    assert d["params_at_trial_viscosity"]["J0_LMH"] == pytest.approx(J0)
    # V90 depends on ks only: unchanged
    assert d["v90_L_per_m2"] == pytest.approx(V90)
    assert any(w.startswith("viscosity") and "hydraulics only" in w and "precipitate" in w
               for w in d["warnings"])
    # the trial's temperature from its file; a user viscosity for other fluids
    warm = size(std_trial(meta={"file_meta": {"Temperature": "20 °C"}}), batch_volume="1000 L",
                process_time="2 h", process_temperature="5")
    assert warm.min_area_m2 == pytest.approx(cold.min_area_m2, rel=1e-12)
    fluid = size(std_trial(), batch_volume="1000 L", process_time="2 h", process_viscosity="3 cP",
                 trial_viscosity="1.5 mPa*s")
    assert fluid.min_area_m2 == pytest.approx(2 + 0.5 * 2.0, rel=1e-8)
    with pytest.raises(InputError, match="trial"):
        size(std_trial(), batch_volume="1000 L", process_time="2 h", process_temperature="5 degC")


def test_vmax_linear_sizes_with_the_classical_linearisation():
    """On exact standard-blocking data t/V = 1/J0 + t/Vmax exactly: the same 2.5 m². On cake data the
    line through t/V vs t (computed here with numpy's polyfit) gives Vmax = 1/slope, J0 = 1/intercept."""
    s = size(std_trial(), batch_volume="1000 L", process_time="2 h", model="vmax-linear")
    assert s.model == "vmax-linear" and s.min_area_m2 == pytest.approx(2.5, rel=1e-9)
    assert "classical linearisation" in s.checks["model_choice"]
    t = np.linspace(0.0, 0.5, 41)
    cake = Trial(t, MODELS["cake"].volume(t, J0, 1e-5), 1e-3, "constant-pressure")
    slope, intercept = np.polyfit(t[1:], t[1:] / cake.v_L_per_m2[1:], 1)
    vmax, j0 = 1 / slope, 1 / intercept
    s = size(cake, models=("cake",), batch_volume="1000 L", process_time="2 h", model="vmax-linear")
    assert s.min_area_m2 == pytest.approx(1000 / vmax + 1000 / (j0 * 2), rel=1e-9)
    # the cake model itself extrapolates differently: 2 = V/J0 + kc·V²/2 -> V = 367.0 L/m²
    v_cake = (math.sqrt(1 + 2 * 1e-5 * J0**2 * 2) - 1) / (1e-5 * J0)
    assert size(cake, models=("cake",), batch_volume="1000 L", process_time="2 h").min_area_m2 == \
        pytest.approx(1000 / v_cake, rel=1e-8)
    with pytest.raises(InputError, match="comparison"):
        size(std_trial(), batch_volume="1000 L", process_time="2 h", model="vmax-linear", confidence="0.95")


def test_vmax_linear_at_constant_flux():
    """√(P0/P) = 1 − V/Vmax at constant flux: V* = (1 − √(P0/Pmax))·Vmax = (1 − √0.05)·500 = 388.2 L/m²."""
    t = np.linspace(0, 1, 50)
    v = 300 * t
    trial = Trial(t, v, 1e-3, "constant-flux", pressure_bar=0.1 * (1 - v / 500) ** -2)
    s = size(trial, batch_volume="1000 L", max_pressure="2 bar", flux="300 LMH", model="vmax-linear")
    assert s.min_area_m2 == pytest.approx(1000 / ((1 - math.sqrt(0.05)) * 500), rel=1e-9)


def test_size_cli_prints_warnings_and_json_has_the_new_keys(tmp_path):
    from fluxwise.cli import main

    f = tmp_path / "std.csv"
    t = np.linspace(0.0, 0.25, 31)
    v = MODELS["standard"].volume(t, J0, 2 / VMAX) * 1e-3  # L on a 10 cm² filter
    f.write_text("Filter area: 10 cm2\nTemperature: 20 degC\n\ntime (h),volume (L)\n"
                 + "".join(f"{a},{b}\n" for a, b in zip(t, v, strict=True)))
    r = CliRunner().invoke(main, ["size", str(f), "--batch-volume", "1000 L", "--process-time", "2 h",
                                  "--model", "standard", "--process-temperature", "5 degC", "--json"])
    assert r.exit_code == 0, r.output
    import json

    d = json.loads(r.output)
    assert {"warnings", "trial_max_loading_L_per_m2", "extrapolation_factor", "tied_area_range_m2"} <= set(d)
    m = float(water_viscosity(5) / water_viscosity(20))
    assert d["min_area_m2"] == pytest.approx(2 + 0.5 * m, rel=1e-6)
    kinds = [w.split(":")[0] for w in d["warnings"]]
    # exact data: the combined models with a constant at 0 tie with standard blocking (and say so); the
    # file's numbers are read correctly rounded, so the residuals are the model's round-off, whose
    # pattern in time is arbitrary (it may read as autocorrelated)
    assert kinds[:2] == ["extrapolated", "past V90"] and kinds[-1] == "viscosity"
    assert set(kinds[2:-1]) <= {"tied models", "autocorrelated residuals"}
    text = CliRunner().invoke(main, ["size", str(f), "--batch-volume", "1000 L", "--process-time", "2 h",
                                     "--model", "vmax-linear"])
    assert text.exit_code == 0 and "WARNING: extrapolated" in text.output and "2.4 x the trial" in text.output


def test_every_warning_kind_has_a_meaning_and_an_action():
    kinds = [k for k, _, _ in WARNING_GUIDE]
    assert kinds == ["extrapolated", "past V90", "tied models", "autocorrelated residuals",
                     "J0 above buffer flux", "viscosity"]
    assert all(meaning and action for _, meaning, action in WARNING_GUIDE)


def test_report_shows_the_warnings_and_what_to_do():
    from fluxwise.pipeline import report_html

    html = report_html(std_trial(), batch_volume="1000 L", process_time="2 h", model="standard")
    assert "What this sizing cannot promise" in html and "extrapolated: the process loads" in html
    assert "What the warnings mean and what to do" in html
    guide = html[html.index("What the warnings mean and what to do"):]
    meaning, action = next((m, a) for k, m, a in WARNING_GUIDE if k == "past V90")
    assert meaning in guide and action in guide
    assert "largest loading of the trial" in html and "Durbin-Watson" in html


def test_risk_based_sizing_moves_the_bootstrap_to_the_process_viscosity():
    """An exact trial has nothing to resample: every bootstrap sample is the estimate, so the
    risk-based area is the deterministic 2 + 0.5·m m² at the process viscosity."""
    from fluxwise.design.risk import size_with_confidence

    m = float(water_viscosity(5.0) / water_viscosity(20.0))
    trial = std_trial()
    params = fit_trial(trial, models=["standard"]).best.params
    r = size_with_confidence(trial, "standard", params, batch_volume_L=1000.0, process_time_h=2.0,
                             n_resamples=50, n_draws=1000, viscosity_ratio=m, backend="numpy")
    assert r["deterministic_min_area_m2"] == pytest.approx(2 + 0.5 * m, rel=1e-8)
    assert r["risk_based_area_m2"] == pytest.approx(2 + 0.5 * m, rel=1e-6)
