"""Tmax: turbidity breakthrough from a turbidity (NTU) column, combined with the pressure limit.

Hand numbers (derived here):

* NTU(V) = 1 + 49/(1 + exp(−(V − 200)/20)) passes 10 NTU where 49/(1 + e^(−x)) = 9, e^(−x) = 40/9,
  V = 200 − 20·ln(40/9) = 170.17 L/m² (instantaneous);
* the pooled filtrate, ∫₀^V NTU dV/V = [V + 49·20·ln((1 + e^((V−200)/20))/(1 + e^(−10)))]/V, passes
  10 NTU at 242.2 L/m² (root found below with brentq on that closed form);
* a cake at constant flux, P = P0·(1 + kc·J·V) with P0 = 0.2 bar and kc·J = 0.01 m²/L, reaches
  0.7 bar at V = (0.7/0.2 − 1)/0.01 = 250 L/m²: turbidity (170.2) governs, A_min = Vb/170.17.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose
from scipy import optimize

from fluxwise.cli import main
from fluxwise.design.tmax import turbidity_breakthrough
from fluxwise.errors import InputError
from fluxwise.io import read_trial

V_T = 200 - 20 * math.log(40 / 9)  # 170.17 L/m²


def _ntu(v):
    return 1 + 49 / (1 + np.exp(-(np.asarray(v, float) - 200) / 20))


def _pooled_root():
    def pooled_minus_limit(v):
        integral = v + 49 * 20 * math.log((1 + math.exp((v - 200) / 20)) / (1 + math.exp(-10)))
        return integral / v - 10

    return optimize.brentq(pooled_minus_limit, 150, 300, xtol=1e-10)


def test_instantaneous_and_pooled_breakthrough_of_the_issue():
    v = np.arange(0.0, 301.0, 1.0)
    r = turbidity_breakthrough(v, _ntu(v), 10.0)
    assert round(V_T, 1) == 170.2 and round(_pooled_root(), 1) == 242.2
    assert abs(r["breakthrough_L_per_m2"] - V_T) < 0.05  # linear interpolation on a 1 L/m² grid
    assert abs(r["pooled_breakthrough_L_per_m2"] - _pooled_root()) < 0.1  # trapezoids on the same grid
    assert r["beyond_trial"] is False and r["trial_max_loading_L_per_m2"] == 300.0


def test_interpolation_is_linear_between_the_two_readings_around_the_limit():
    v = np.array([0.0, 10.0, 20.0, 30.0])
    r = turbidity_breakthrough(v, [2.0, 4.0, 8.0, 16.0], 5.0)
    assert_allclose(r["breakthrough_L_per_m2"], 10.0 + (5 - 4) / (8 - 4) * 10.0)


def test_flush_readings_do_not_count():
    # fines: 50 NTU over the first 10 L/m², then the clean curve; a 20 L/m² flush discards them
    v = np.arange(0.0, 301.0, 1.0)
    ntu = np.where(v < 10, 50.0, _ntu(v))
    assert turbidity_breakthrough(v, ntu, 10.0)["breakthrough_L_per_m2"] == 0.0
    r = turbidity_breakthrough(v, ntu, 10.0, flush_L_per_m2=20.0)
    assert abs(r["breakthrough_L_per_m2"] - V_T) < 0.05 and r["flush_L_per_m2"] == 20.0
    # already above the limit when the flush ends: V_T is the flush, with a warning
    r = turbidity_breakthrough(v, ntu, 10.0, flush_L_per_m2=5.0)
    assert r["breakthrough_L_per_m2"] == 5.0 and "flush" in r["warnings"][0]


def test_never_extrapolated():
    v = np.arange(0.0, 301.0, 1.0)
    r = turbidity_breakthrough(v, _ntu(v), 60.0)  # the curve never exceeds 50 NTU
    assert r["breakthrough_L_per_m2"] is None and r["beyond_trial"] is True
    r = turbidity_breakthrough(v[:150], _ntu(v[:150]), 10.0)  # trial stopped at 149 L/m², below V_T
    assert r["breakthrough_L_per_m2"] is None and r["trial_max_loading_L_per_m2"] == 149.0


def test_missing_readings_are_skipped_and_bad_input_named():
    v = np.arange(0.0, 301.0, 1.0)
    ntu = _ntu(v)
    ntu[::2] = np.nan  # a meter logging every other balance reading
    assert abs(turbidity_breakthrough(v, ntu, 10.0)["breakthrough_L_per_m2"] - V_T) < 0.2
    with pytest.raises(InputError) as e:
        turbidity_breakthrough(v, _ntu(v), 10.0, flush_L_per_m2=400.0)
    assert e.value.field == "turbidity-flush"


# ----------------------------------------------------------------------------- file -> size -> report

J, P0, KCJ = 100.0, 0.2, 0.01  # LMH, bar, kc·J [m²/L]
AREA_CM2 = 10.0


def _trial_file(tmp_path, *, turbidity_header="Filtrate turbidity (NTU)", blank_every=0, bad_cell=None):
    v = np.arange(0.0, 301.0, 2.0)  # L/m²
    lines = ["Depth filter trial at constant flux", f"Filter area: {AREA_CM2} cm2", "Mode: constant flux", "",
             f"time (min),filtrate volume (mL),pressure (bar),{turbidity_header}"]
    for i, vi in enumerate(v):
        ntu = f"{_ntu(vi):.6f}"
        if blank_every and i % blank_every == 1:
            ntu = ""
        if bad_cell is not None and i == bad_cell:
            ntu = "n/a"
        lines.append(f"{vi / J * 60:.6f},{vi * AREA_CM2 * 1e-4 * 1000:.6f},{P0 * (1 + KCJ * vi):.8f},{ntu}")
    path = tmp_path / "depth.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reader_takes_the_turbidity_column(tmp_path):
    t = read_trial(_trial_file(tmp_path, blank_every=3))
    ntu = t.signals["turbidity_NTU"]
    assert ntu.shape == t.t_h.shape and np.isnan(ntu[1]) and abs(ntu[0] - _ntu(0.0)) < 1e-6
    assert t.meta["columns"]["turbidity"] == "Filtrate turbidity (NTU)"
    assert t.meta["units"]["turbidity"] == "NTU"
    assert read_trial(_trial_file(tmp_path, turbidity_header="NTU")).meta["units"]["turbidity"] == "NTU"
    with pytest.raises(InputError) as e:
        read_trial(_trial_file(tmp_path, bad_cell=4))
    assert e.value.column == "Filtrate turbidity (NTU)" and e.value.row is not None and "n/a" in str(e.value)
    with pytest.raises(InputError) as e:
        read_trial(_trial_file(tmp_path, turbidity_header="Turbidity (mg/L)"))
    assert "NTU" in str(e.value)


def _size(path, *extra):
    flux = () if "--flux" in extra else ("--flux", f"{J} LMH")
    r = CliRunner().invoke(main, ["size", str(path), "--model", "cake", "--batch-volume", "1000 L",
                                  "--max-pressure", "0.7 bar", *flux, "--json", *extra])
    return r


def test_size_names_turbidity_as_the_limit(tmp_path):
    path = _trial_file(tmp_path)
    r = _size(path, "--turbidity-limit", "10 NTU")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    t = d["turbidity"]
    assert t["governing"] == "turbidity" and abs(t["breakthrough_L_per_m2"] - V_T) < 0.2
    assert abs(t["pressure_limit_loading_L_per_m2"] - 250.0) < 1e-3  # the cake's capacity at 0.7 bar
    assert_allclose(d["min_area_m2"], 1000.0 / t["breakthrough_L_per_m2"], rtol=1e-12)
    assert_allclose(d["process_time_h"], t["breakthrough_L_per_m2"] / J, rtol=1e-6)  # flux kept: 100 LMH
    assert_allclose(d["final_pressure_bar"], P0 * (1 + KCJ * t["breakthrough_L_per_m2"]), rtol=1e-6)
    # without the turbidity limit the pressure limit sizes: 1000 L / 250 L/m² = 4 m²
    plain = json.loads(_size(path).output)
    assert_allclose(plain["min_area_m2"], 4.0, rtol=1e-6) and "turbidity" not in plain
    # a limit the filtrate never passes: the pressure limit governs, no warning (250 < trial max 300)
    d = json.loads(_size(path, "--turbidity-limit", "60 NTU").output)
    assert d["turbidity"]["governing"] == "pressure" and d["turbidity"]["breakthrough_L_per_m2"] is None
    assert_allclose(d["min_area_m2"], 4.0, rtol=1e-6) and d["warnings"] == []  # none: an empty list


def test_report_says_which_limit_governs(tmp_path):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["report", str(_trial_file(tmp_path)), "--model", "cake", "--batch-volume",
                                  "1000 L", "--max-pressure", "0.7 bar", "--flux", "100 LMH",
                                  "--turbidity-limit", "10 NTU", "-o", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "Governing limit: turbidity." in html and "pooled filtrate would pass the limit" in html


def test_process_flux_far_from_the_trial_flux_is_flagged(tmp_path):
    d = json.loads(_size(_trial_file(tmp_path), "--turbidity-limit", "10 NTU", "--flux", "150 LMH").output)
    assert any("measured at the trial's flux" in w for w in d["warnings"])


def test_turbidity_limit_without_a_turbidity_column_exits_2(tmp_path):
    path = tmp_path / "plain.csv"
    lines = ["Filter area: 10 cm2", "time (min),filtrate volume (mL),pressure (bar)"]
    lines += [f"{i},{i * 1.5},{0.2 + 0.01 * i}" for i in range(10)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    base = ["size", str(path), "--max-pressure", "1 bar", "--flux", "100 LMH"]
    r = CliRunner().invoke(main, [*base, "--turbidity-limit", "10 NTU"])
    assert r.exit_code == 2 and "turbidity column" in r.output
    r = CliRunner().invoke(main, [*base, "--turbidity-limit", "ten"])
    assert r.exit_code == 2 and "turbidity-limit" in r.output
