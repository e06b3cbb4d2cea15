"""Sizing against hand-derived cases (Badmington et al. 1995 closed form; flux-decay endpoints)."""

import math

import numpy as np
import pytest

from fluxwise.design.catalog import FilterFormat, choose_format, format_options
from fluxwise.design.sizing import (
    endpoints,
    min_area_constant_flux,
    min_area_constant_pressure,
    size_filter,
    standard_blocking_area,
    throughput_at_time,
)
from fluxwise.errors import DesignError, InputError
from fluxwise.io.catalog import read_catalog


def test_issue_hand_case_vmax_500_j0_1000():
    """Vmax 500 L/m², J0 1000 LMH, 1000 L in 2 h: A = 1000/500 + 1000/(1000·2) = 2.5 m²."""
    params = {"J0_LMH": 1000.0, "ks_m2_per_L": 2 / 500}
    assert min_area_constant_pressure("standard", params, 1000.0, 2.0) == pytest.approx(2.5, rel=1e-10)
    assert standard_blocking_area(500, 1000, 1000, 2) == pytest.approx(2.5)
    s = size_filter("standard", params, "constant-pressure", read_catalog(), batch_volume_L=1000,
                    process_time_h=2)
    assert s.min_area_m2 == pytest.approx(2.5, rel=1e-10)
    assert s.installed_area_m2 == pytest.approx(3.75, rel=1e-10)
    d = s.to_dict()
    assert {"model", "min_area_m2", "safety_factor", "installed_area_m2", "format", "v90_L_per_m2"} <= set(d)
    assert {"name", "area_m2", "count"} <= set(d["format"])
    assert d["format"]["count"] * d["format"]["area_m2"] >= 3.75


@pytest.mark.parametrize("vb,tb,vmax,j0", [(2000, 4, 800, 400), (50, 0.5, 120, 2500), (1e4, 8, 3000, 90)])
def test_standard_blocking_closed_form_matches_root_solve(vb, tb, vmax, j0):
    params = {"J0_LMH": j0, "ks_m2_per_L": 2 / vmax}
    assert min_area_constant_pressure("standard", params, vb, tb) == pytest.approx(
        vb / vmax + vb / (j0 * tb), rel=1e-10)


def test_complete_blocking_area_by_hand():
    """V(tb) = (J0/kb)(1 − e^(−kb·tb)); A = Vb/V(tb)."""
    j0, kb, vb, tb = 500.0, 0.8, 2000.0, 3.0
    v = j0 / kb * (1 - math.exp(-kb * tb))
    assert min_area_constant_pressure("complete", {"J0_LMH": j0, "kb_per_h": kb}, vb, tb) == pytest.approx(
        vb / v, rel=1e-10)


def test_cake_standard_area_is_consistent_with_its_time_law():
    p = {"J0_LMH": 700.0, "ks_m2_per_L": 0.003, "kc_h_m4_per_L2": 4e-6}
    v = throughput_at_time("cake-standard", p, 2.0)
    assert v / (700 * (1 - 0.003 * v / 2)) + 4e-6 * v**2 / 2 == pytest.approx(2.0, rel=1e-10)


def test_flux_decay_endpoints_by_hand():
    # complete: J/J0 = 1 − (kb/J0)V  -> V_x = x·J0/kb
    e = endpoints("complete", {"J0_LMH": 600.0, "kb_per_h": 0.6})
    assert e["v50_L_per_m2"] == pytest.approx(500) and e["v90_L_per_m2"] == pytest.approx(900)
    # standard: J/J0 = (1 − ks·V/2)²  -> V_x = (1 − √(1 − x))·2/ks
    e = endpoints("standard", {"J0_LMH": 600.0, "ks_m2_per_L": 0.005})
    for x in (0.5, 0.75, 0.9):
        assert e[f"v{int(x * 100)}_L_per_m2"] == pytest.approx((1 - math.sqrt(1 - x)) * 400, rel=1e-10)
    # intermediate: J/J0 = e^(−ki·V)  -> V_x = −ln(1 − x)/ki
    e = endpoints("intermediate", {"J0_LMH": 600.0, "ki_m2_per_L": 0.004})
    assert e["v90_L_per_m2"] == pytest.approx(math.log(10) / 0.004, rel=1e-10)


def test_flux_decay_limit_raises_area():
    p = {"J0_LMH": 600.0, "kb_per_h": 0.6}
    a_time = min_area_constant_pressure("complete", p, 2000, 10)
    a_lim = min_area_constant_pressure("complete", p, 2000, 10, flux_decay_limit=0.5)
    assert a_lim == pytest.approx(max(a_time, 2000 / 500))


def test_constant_flux_standard_by_hand():
    """P/P0 = (1 − ks·V/2)^(−2) = Pmax/P0 -> V* = (1 − √(P0/Pmax))·2/ks; A = Vb/V*."""
    p = {"J0_LMH": 300.0, "P0_bar": 0.3, "ks_m2_per_L": 0.005}
    r = min_area_constant_flux("standard", p, 2000, max_pressure_bar=2.0, flux_LMH=300.0)
    v = (1 - math.sqrt(0.3 / 2.0)) * 400
    assert r["min_area_m2"] == pytest.approx(2000 / v, rel=1e-9)
    # at half the flux the clean pressure halves (Darcy): P0 = 0.15 bar
    r2 = min_area_constant_flux("standard", p, 2000, max_pressure_bar=2.0, flux_LMH=150.0)
    assert r2["min_area_m2"] == pytest.approx(2000 / ((1 - math.sqrt(0.15 / 2.0)) * 400), rel=1e-9)
    # with a process time instead: J = V*/tb and P0·(J/J_trial)·r(V*) = Pmax
    r3 = min_area_constant_flux("standard", p, 2000, max_pressure_bar=2.0, process_time_h=4.0)
    v3 = 2000 / r3["min_area_m2"]
    assert 0.3 * (v3 / 4.0) / 300 * (1 - 0.005 * v3 / 2) ** -2 == pytest.approx(2.0, rel=1e-9)
    assert r3["process_time_h"] == pytest.approx(4.0)


def test_constant_flux_too_high_for_pressure_is_a_clear_error():
    with pytest.raises(DesignError, match="lower the flux"):
        min_area_constant_flux("standard", {"J0_LMH": 300.0, "P0_bar": 0.3, "ks_m2_per_L": 0.005}, 2000,
                               max_pressure_bar=1.0, flux_LMH=1500.0)


def test_format_choice_and_margin():
    fmts = [FilterFormat("A 10in", "cartridge", 0.69, 30), FilterFormat("B 30in", "cartridge", 2.07, 30)]
    c = choose_format(fmts, 3.75)  # 2 x 2.07 = 4.14 vs 6 x 0.69 = 4.14: tie -> fewer units
    assert (c.format.name, c.count) == ("B 30in", 2)
    assert c.margin == pytest.approx(4.14 / 3.75 - 1)
    assert [o.count for o in format_options(fmts, 0.5)] == [1, 1]
    with pytest.raises(DesignError, match="no catalog format provides"):
        choose_format([FilterFormat("tiny", "disc", 0.001, 1)], 3.0)


def test_bad_sizing_inputs():
    p = {"J0_LMH": 1000.0, "ks_m2_per_L": 0.004}
    with pytest.raises(DesignError, match="batch volume must be positive"):
        min_area_constant_pressure("standard", p, -5, 2)
    with pytest.raises(DesignError, match="process time must be positive"):
        min_area_constant_pressure("standard", p, 100, 0)
    with pytest.raises(DesignError, match="safety factor"):
        size_filter("standard", p, "constant-pressure", read_catalog(), batch_volume_L=100, process_time_h=1,
                    safety_factor=0.5)


def test_shipped_catalog_has_lab_capsule_and_cartridge_formats():
    fmts = read_catalog()
    names = {f.name for f in fmts}
    assert {"Cartridge 10 in", "Cartridge 20 in", "Cartridge 30 in", "Disc 47 mm"} <= names
    by = {f.name: f.area_m2 for f in fmts}
    assert by["Cartridge 20 in"] == pytest.approx(2 * by["Cartridge 10 in"])
    assert all(np.isfinite(f.area_m2) and f.area_m2 > 0 for f in fmts)


def test_catalog_errors_name_row_and_field(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text("name,area_m2\nGood,0.5\nBad,zero\n")
    with pytest.raises(InputError) as e:
        read_catalog(p)
    assert "cat.csv" in str(e.value) and "row 3" in str(e.value) and "area_m2" in str(e.value)
    y = tmp_path / "cat.yaml"
    y.write_text("formats:\n  - name: X\n    area_m2: 0.1\n  - name: Y\n")
    with pytest.raises(InputError, match="item 2: missing 'area_m2'"):
        read_catalog(y)
    y.write_text("formats:\n  - name: X\n    area_m2: 0.1\n    max_count: 3\n")
    assert read_catalog(y)[0].max_count == 3
