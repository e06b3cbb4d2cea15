"""Two filters in series: per-filter fits from P1/P2, sizing, the cost-optimal area ratio.

Hand derivations (written out where used):

* each filter carries the whole flow Q; its specific resistance ρ_i(v) = ΔP_i/J_i with J_i = Q/A_i, so
  at constant flow P(Vb) = Q·Σ ρ_i(Vb/A_i)/A_i, and at constant pressure t(Vb) = Σ I_i(Vb/A_i)/P with
  I_i(v) = ∫₀^v ρ_i du; two identical filters at 1:1 on area A each: P = 2·Q·ρ(Vb/A)/A — one filter on
  A at P/2;
* pure cakes with negligible clean resistance: ρ_i(v) ≈ K_i·v, so P = Q·Vb·Σ K_i/A_i² (constant flow)
  and t = Vb²/(2P)·Σ K_i/A_i² (constant pressure): both fix Σ K_i/A_i². Minimising c1·A1 + c2·A2 with
  Lagrange multiplier λ: c_i = 2λK_i/A_i³, so A1/A2 = (K1·c2/(K2·c1))^(1/3); K1 = 8·K2 and c1 = c2 give
  A1/A2 = 8^(1/3) = 2.00.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

from fluxwise.cli import main
from fluxwise.design.catalog import FilterFormat
from fluxwise.design.series import (
    SeriesStage,
    areas_at_ratio,
    choose_series_formats,
    optimal_ratio,
    size_series,
)
from fluxwise.design.sizing import min_area_constant_flux, min_area_constant_pressure
from fluxwise.errors import InputError
from fluxwise.fit.series import fit_series
from fluxwise.pipeline import series_analysis
from fluxwise.trial import Trial

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "series_prefilter_final_filter.csv"
FORMAT = FilterFormat("Capsule 1 m2", "capsule", 1.0, max_count=100, price_usd=1000.0)


@pytest.mark.parametrize("model, params", [("standard", {"ks_m2_per_L": 0.004}),
                                           ("cake", {"kc_h_m4_per_L2": 5e-5})])
def test_identical_filters_at_one_to_one_are_one_filter_at_half_the_pressure(model, params):
    j_ref, p0 = 100.0, 0.1  # the stage law: ρ0 = P0/J_ref = 0.001 bar/LMH
    law = {"J0_LMH": j_ref, "P0_bar": p0, **params}
    stages = (SeriesStage("prefilter", model, law), SeriesStage("final filter", model, law))
    vb, tb, pmax = 1000.0, 2.0, 2.0
    # constant flow Vb/tb to Pmax: each filter as one filter to Pmax/2
    a1, a2 = areas_at_ratio(stages, 1.0, vb, mode="constant-flux", limit=pmax, flow_L_per_h=vb / tb)
    single = min_area_constant_flux(model, law, vb, max_pressure_bar=pmax / 2, process_time_h=tb)
    assert_allclose([a1, a2], [single["min_area_m2"]] * 2, rtol=1e-9)
    # constant pressure P for tb: one filter at P/2, whose clean flux is (P/2)/ρ0 and whose r(v) is the same
    # (cake: kc·J0 kept; standard: ks kept)
    j0_half = (pmax / 2) / (p0 / j_ref)
    single_cp = dict(params, J0_LMH=j0_half)
    if model == "cake":
        single_cp["kc_h_m4_per_L2"] = params["kc_h_m4_per_L2"] * j_ref / j0_half
    a1, a2 = areas_at_ratio(stages, 1.0, vb, mode="constant-pressure", limit=tb, pressure_bar=pmax)
    assert_allclose([a1, a2], [min_area_constant_pressure(model, single_cp, vb, tb)] * 2, rtol=1e-9)


def _pure_cakes(k1, k2, eps=1e-9):
    # ρ_i = ρ0·(1 + kc·J·v) with ρ0 = eps·(bar/LMH) -> 0 and ρ0·kc·J = K_i fixed
    j = 100.0
    law = lambda k: {"J0_LMH": j, "P0_bar": eps * j, "kc_h_m4_per_L2": k / (eps * j)}  # noqa: E731
    return (SeriesStage("prefilter", "cake", law(k1), safety_factor=1.0, formats=(FORMAT,)),
            SeriesStage("final filter", "cake", law(k2), safety_factor=1.0, formats=(FORMAT,)))


@pytest.mark.parametrize("mode, limit, kw", [("constant-flux", 2.0, {"flow_L_per_h": 500.0}),
                                             ("constant-pressure", 2.0, {"pressure_bar": 1.0})])
@pytest.mark.parametrize("c1, c2", [(1.0, 1.0), (8.0, 1.0), (1.0, 3.0)])
def test_cost_optimal_ratio_of_pure_cakes(mode, limit, kw, c1, c2):
    k2 = 1e-3
    stages = _pure_cakes(8 * k2, k2)
    best = optimal_ratio(stages, 1000.0, mode=mode, limit=limit, prices_per_m2=(c1, c2), **kw)
    expected = (8 * k2 * c2 / (k2 * c1)) ** (1 / 3)
    assert_allclose(best["ratio"], expected, rtol=1e-5)
    if (c1, c2) == (1.0, 1.0):
        assert round(best["ratio"], 2) == 2.00
    # and the areas meet the constraint of the derivation: Σ K_i/A_i² = P/(Q·Vb) or 2·P·t/Vb²
    a1, a2 = best["areas_m2"]
    total = 8 * k2 / a1 ** 2 + k2 / a2 ** 2
    if mode == "constant-flux":  # Σ K_i/A_i² = P/(Q·Vb)
        target = limit / (kw["flow_L_per_h"] * 1000.0)
    else:  # Σ K_i/A_i² = 2·P·t/Vb²
        target = 2 * kw["pressure_bar"] * limit / 1000.0 ** 2
    assert_allclose(total, target, rtol=1e-6)


def test_rounding_lists_counts_and_rechecks_the_limit():
    # pure cakes K1 = 8e-3, K2 = 1e-3 at Q = 500 L/h, Vb = 1000 L, Pmax = 2 bar: feasible when
    # 8e-3/A1² + 1e-3/A2² <= 2/(500·1000) = 4e-6, with A_i = n_i·1 m²/SF_i
    stages = _pure_cakes(8e-3, 1e-3)
    stages = tuple(SeriesStage(s.name, s.model, s.params, safety_factor=sf, formats=(FORMAT,))
                   for s, sf in zip(stages, (1.5, 1.2), strict=True))
    pairs = choose_series_formats(stages, 1000.0, mode="constant-flux", limit=2.0, flow_L_per_h=500.0)
    n1, n2 = pairs[0]["counts"]

    def feasible(m1, m2):
        return 8e-3 / (m1 / 1.5) ** 2 + 1e-3 / (m2 / 1.2) ** 2 <= 4e-6 * (1 + 1e-9)

    assert feasible(n1, n2)
    cheapest = min(a + b for a in range(1, 101) for b in range(1, 101) if feasible(a, b))
    assert n1 + n2 == cheapest and pairs[0]["cost_usd"] == 1000.0 * cheapest
    d = size_series(stages, mode="constant-flux", batch_volume_L=1000.0, process_time_h=2.0,
                    max_pressure_bar=2.0,
                    trial_area_ratio=2.0)
    assert d["stages"][0]["format"]["count"] == n1 and d["stages"][1]["format"]["count"] == n2
    assert d["final_pressure_bar"] <= 2.0 * (1 + 1e-9) and d["warnings"] == []
    assert d["stages"][0]["safety_factor"] == 1.5 and d["stages"][1]["safety_factor"] == 1.2
    assert "not to depend on how loaded the prefilter is" in d["assumption"]


def test_ratio_far_from_the_trial_is_flagged():
    stages = _pure_cakes(8e-3, 1e-3)
    d = size_series(stages, mode="constant-flux", batch_volume_L=1000.0, process_time_h=2.0,
                    max_pressure_bar=2.0,
                    ratio=5.0, trial_area_ratio=1.0)
    assert d["ratio_fixed"] and d["area_ratio_cost_optimal"] == 5.0
    assert any("more than 2x from the trial" in w for w in d["warnings"])


# ------------------------------------------------------------------------------- fitting from P1, P2

A1, A2 = 3.5e-4, 7.0e-4  # m²: the prefilter half the final filter's area
RHO1, KCJ1 = 0.5e-3, 0.004  # prefilter: cake, ρ1 = ρ10·(1 + kc·J·v) [bar/LMH], kc·J [m²/L]
RHO2, KS2 = 1.5e-3, 0.004  # final filter: standard, ρ2 = ρ20/(1 − ks·v/2)²


def _rho1(v):
    return RHO1 * (1 + KCJ1 * v)


def _rho2(v):
    return RHO2 / (1 - KS2 * v / 2) ** 2


def _constant_flux_trial(q=0.07):  # L/h
    t = np.linspace(0, 2.0, 61)
    vol = q * t
    p2 = q * _rho2(vol / A2) / A2
    p1 = p2 + q * _rho1(vol / A1) / A1
    return Trial(t_h=t, v_L_per_m2=vol / A1, area_m2=A1, mode="constant-flux", pressure_bar=p1,
                 signals={"p2_bar": p2})


def _constant_pressure_trial(p=1.0):
    # t(V) = (I1(V/A1) + I2(V/A2))/P, I1(v) = ρ10·(v + kc·J·v²/2), I2(v) = ρ20·v/(1 − ks·v/2)
    vol = np.linspace(0, 0.1, 401)
    v1, v2 = vol / A1, vol / A2
    t = (RHO1 * (v1 + KCJ1 * v1 ** 2 / 2) + RHO2 * v2 / (1 - KS2 * v2 / 2)) / p
    share2 = (_rho2(v2) / A2) / (_rho1(v1) / A1 + _rho2(v2) / A2)  # P2 = P·(ρ2/A2)/(ρ1/A1 + ρ2/A2)
    return Trial(t_h=t, v_L_per_m2=v1, area_m2=A1, mode="constant-pressure", pressure_bar=np.full_like(t, p),
                 signals={"p2_bar": p * share2})


def test_fit_each_filter_from_its_own_pressure_drop_at_constant_flux():
    fit = fit_series(_constant_flux_trial(), area1_m2=A1, area2_m2=A2, models=["cake", "standard"])
    pre, final = fit.fits
    assert pre.best_model == "cake" and final.best_model == "standard"
    j1, j2 = 0.07 / A1, 0.07 / A2
    assert_allclose(pre.get("cake").params["P0_bar"], RHO1 * j1, rtol=1e-6)
    assert_allclose(pre.get("cake").params["kc_h_m4_per_L2"] * j1, KCJ1, rtol=1e-6)
    assert_allclose(final.get("standard").params["P0_bar"], RHO2 * j2, rtol=1e-6)
    assert_allclose(final.get("standard").params["ks_m2_per_L"], KS2, rtol=1e-6)
    assert fit.trial_area_ratio == 0.5


def test_fit_at_constant_pressure_where_neither_filter_is_at_constant_pressure():
    trial = _constant_pressure_trial()
    dp1 = trial.pressure_bar - trial.signals["p2_bar"]
    assert np.ptp(dp1) > 0.02  # the split of P1 between the filters shifts as they foul (0.40 -> 0.42 bar)
    fit = fit_series(trial, area1_m2=A1, area2_m2=A2, models=["cake", "standard"])
    final = fit.fits[1].get("standard")
    assert_allclose(final.params["ks_m2_per_L"], KS2, rtol=0.01)  # flux from finite differences
    j_ref = fit.data[1]["reference_flux_LMH"]
    assert_allclose(final.params["P0_bar"] / j_ref, RHO2, rtol=0.01)
    pre = fit.fits[0].get("cake")
    assert_allclose(pre.params["kc_h_m4_per_L2"] * fit.data[0]["reference_flux_LMH"], KCJ1, rtol=0.01)


def test_series_analysis_sizes_both_with_their_own_factors():
    res = series_analysis(_constant_flux_trial(), prefilter_area=A1, filter_area=A2,
                          models=["cake", "standard"],
                          sizing={"batch_volume": "500 L", "process_time": "4 h", "max_pressure": "2 bar",
                                  "prefilter_safety_factor": 2.0, "filter_safety_factor": 1.3,
                                  "prefilter_model": "cake", "filter_model": "standard",
                                  "filter_format": "Capsule 10 in"})
    s = res.to_dict()["sizing"]
    assert [st["model"] for st in s["stages"]] == ["cake", "standard"]
    assert [st["safety_factor"] for st in s["stages"]] == [2.0, 1.3]
    assert s["stages"][1]["format"]["name"] == "Capsule 10 in"
    # the limit re-checked independently with the laws above on installed area / safety factor
    a1 = s["stages"][0]["format"]["installed_area_m2"] / 2.0
    a2 = s["stages"][1]["format"]["installed_area_m2"] / 1.3
    q = 500 / 4
    assert q * (_rho1(500 / a1) / a1 + _rho2(500 / a2) / a2) <= 2.0 * (1 + 1e-6)
    with pytest.raises(InputError):
        series_analysis(_constant_flux_trial(), prefilter_area=A1, filter_area=A2, models=["cake"],
                        sizing={"batch_volume": "500 L", "filter_format": "no such format",
                                "max_pressure": "2 bar"})


def test_cli_series_on_the_example(tmp_path):
    r = CliRunner().invoke(main,
                           ["series", str(EXAMPLE), "--max-pressure", "2 bar", "--batch-volume", "200 L",
                                  "--process-time", "4 h", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert [s["name"] for s in d["stages"]] == ["prefilter", "final filter"]
    assert d["trial_area_ratio"] == 1.0 and d["sizing"]["cost_per_batch_usd"] > 0
    # the example's final filter is standard blocking with ks = 0.004 m²/L (make_process_examples.py)
    final = next(m for m in d["stages"][1]["models"] if m["name"] == "standard")
    lo, hi = final["ci95"]["ks_m2_per_L"]
    assert lo <= 0.004 <= hi
    text = CliRunner().invoke(main, ["series", str(EXAMPLE), "--max-pressure", "2 bar", "--batch-volume",
                                     "200 L"]).output
    assert "assumption:" in text and "area ratio A1/A2" in text


def test_cli_series_bad_input(tmp_path):
    plain = Path(__file__).resolve().parents[1] / "examples" / "mab_sterile_filtration.csv"
    r = CliRunner().invoke(main,
                           ["series", str(plain), "--prefilter-area", "3 cm2", "--filter-area", "3 cm2"])
    assert r.exit_code == 2 and "P2" in r.output
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    no_areas = tmp_path / "no_areas.csv"
    no_areas.write_text("\n".join(ln for ln in lines if "area" not in ln.lower()) + "\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["series", str(no_areas), "--filter-area", "3.5 cm2"])
    assert r.exit_code == 2 and "--prefilter-area" in r.output
