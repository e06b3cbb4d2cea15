"""The editable integrity-spec table by filter type (``--filter``, ``--specs``) and the altitude of a
pressure-decay test.

Hand numbers:

* ISO 2533 / ICAO standard atmosphere tables, by geometric altitude: 1013.25 hPa at 0 m, 898.76 hPa
  at 1000 m, 795.01 hPa at 2000 m, 540.48 hPa at 5000 m (ICAO Doc 7488);
* pressure decay as a flow: Q = ΔP·Vu/(Patm·Δt) — lower Patm, larger Q for the same decay;
* diffusion limits scale with area; a bubble point carries to another fluid by the ratio of surface
  tensions (P = 4kγcosθ/d, ASTM F316-03);
* the limits asserted for the shipped rows are the numbers written in data/integrity_specs.csv.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

from fluxwise.cli import main
from fluxwise.design.integrity import find_spec
from fluxwise.errors import InputError
from fluxwise.io.integrity_specs import read_integrity_specs
from fluxwise.models.integrity import atmospheric_pressure_at_altitude


def _run(*args):
    return CliRunner().invoke(main, ["integrity", *args])


def _json(*args):
    r = _run(*args, "--json")
    return r, json.loads(r.output)


@pytest.mark.parametrize("h, hpa", [(0, 1013.25), (1000, 898.76), (2000, 795.01), (5000, 540.48)])
def test_standard_atmosphere_table(h, hpa):
    assert_allclose(atmospheric_pressure_at_altitude(h) * 1000, hpa, atol=0.01)


def test_shipped_table_reads_and_finds_by_name():
    specs = read_integrity_specs()
    spec = find_spec(specs, "  pvdf 0.22 UM   10-inch ")
    assert spec.min_bubble_point_bar == 3.45 and spec.wetting_fluid == "water"
    assert_allclose(spec.max_diffusion_L_per_h * 1000 / 60, 13.3)
    assert spec.diffusion_area_m2 == 0.69 and "planning assumption" in spec.source
    with pytest.raises(InputError, match="PES 0.2 um 10-inch"):
        find_spec(specs, "no such filter")


def test_bubble_point_exactly_at_the_table_minimum_passes_and_just_below_fails():
    r, d = _json("bubble-point", "--measured", "3.45 bar", "--filter", "PVDF 0.22 um 10-inch")
    assert r.exit_code == 0 and d["result"] == "pass" and d["limit"] == 3.45
    assert d["filter"]["name"] == "PVDF 0.22 um 10-inch"
    r, d = _json("bubble-point", "--measured", "3.449 bar", "--filter", "PVDF 0.22 um 10-inch")
    assert r.exit_code == 1 and d["result"] == "fail"
    # an explicit --spec wins over the table
    r, d = _json("bubble-point", "--measured", "3.3 bar", "--spec", "3.2 bar", "--filter",
                 "PVDF 0.22 um 10-inch")
    assert r.exit_code == 0 and d["limit"] == 3.2


def test_table_bubble_point_carried_to_the_test_temperature():
    # the row is stated at 20 °C in water; a test at 30 °C: limit x γ(30)/γ(20) (IAPWS R1-76)
    def gamma(t_c):
        tau = 1 - (t_c + 273.15) / 647.096
        return 235.8 * tau ** 1.256 * (1 - 0.625 * tau)

    r, d = _json("bubble-point", "--measured", "3.4 bar", "--filter", "PVDF 0.22 um 10-inch",
                 "--temperature", "30 degC")
    assert_allclose(d["limit"], 3.45 * gamma(30) / gamma(20), rtol=1e-9)


def test_user_table_with_another_wetting_fluid(tmp_path):
    table = tmp_path / "specs.csv"
    table.write_text("# our filters\nname,filter_type,min_bubble_point_bar,wetting_fluid,"
                     "surface_tension_mN_per_m,temperature_c,max_diffusion_mL_per_min,diffusion_area_m2,source\n"
                     "Our 0.2,sterile,1.2,60 % IPA,23,20,10,0.5,validation report VR-12\n", encoding="utf-8")
    # spec 1.2 bar in a 23 mN/m fluid, test in water at 20 °C: 1.2 x 72.74/23 = 3.795 bar
    tau = 1 - 293.15 / 647.096
    g_water = 235.8 * tau ** 1.256 * (1 - 0.625 * tau)
    r, d = _json("bubble-point", "--measured", "3.9 bar", "--filter", "our 0.2", "--specs", str(table))
    assert r.exit_code == 0
    assert_allclose(d["limit"], 1.2 * g_water / 23.0, rtol=1e-9)
    r, d = _json("diffusion", "--measured", "20 mL/min", "--filter", "Our 0.2", "--specs", str(table),
                 "--area", "1 m2")
    assert_allclose(d["limit_mL_per_min"], 20.0)  # 10 mL/min per 0.5 m² on 1 m²
    assert r.exit_code == 0


def test_diffusion_from_the_table_scales_to_the_installed_area():
    # 13.3 mL/min per 0.69 m², two 10-inch cartridges (1.38 m²): 26.6 mL/min
    pvdf = ("--filter", "PVDF 0.22 um 10-inch")
    r, d = _json("diffusion", "--measured", "26.6 mL/min", *pvdf, "--area", "1.38 m2")
    assert r.exit_code == 0 and abs(d["limit_mL_per_min"] - 26.6) < 1e-9
    r, _ = _json("diffusion", "--measured", "26.7 mL/min", *pvdf, "--area", "1.38 m2")
    assert r.exit_code == 1
    # without --area: one unit of the area the row states
    r, d = _json("diffusion", "--measured", "13 mL/min", *pvdf)
    assert abs(d["limit_mL_per_min"] - 13.3) < 1e-9
    assert "2.76 bar" in _run("diffusion", "--measured", "13 mL/min", *pvdf).output


def test_pressure_decay_at_altitude_by_hand():
    # 30 mbar in 10 min, 2 L upstream, at 2000 m (795.01 hPa): Q = 0.030·2/(0.79501·(1/6)) L/h
    patm = 0.79501
    q = 0.030 * 2.0 / (patm / 6.0) * 1000 / 60  # mL/min
    r, d = _json("pressure-decay", "--decay", "30 mbar", "--time", "10 min", "--upstream-volume", "2 L",
                 "--filter", "PES 0.2 um 10-inch", "--altitude", "2000 m")
    assert_allclose(d["measured_mL_per_min"], q, rtol=2e-5)
    assert_allclose(d["atmospheric_pressure_bar"], patm, rtol=2e-5)
    assert d["altitude_m"] == 2000 and r.exit_code == 0  # 9.06 mL/min <= 20 mL/min
    # the same decay judged at sea level gives a smaller flow
    _, sea = _json("pressure-decay", "--decay", "30 mbar", "--time", "10 min", "--upstream-volume", "2 L",
                   "--filter", "PES 0.2 um 10-inch")
    assert_allclose(sea["measured_mL_per_min"] / d["measured_mL_per_min"], patm / 1.01325, rtol=2e-5)


@pytest.mark.parametrize("args, words", [
    (("bubble-point", "--measured", "3.5 bar", "--spec", "3 bar", "--altitude", "1500 m"), "gauge"),
    (("bubble-point", "--measured", "3.5 bar"), "--spec"),
    (("bubble-point", "--measured", "3.5 bar", "--filter", "unknown"), "PES 0.2 um 10-inch"),
    (("pressure-decay", "--decay", "30 mbar", "--time", "10 min", "--upstream-volume", "2 L", "--limit",
      "10 mL/min", "--altitude", "1000 m", "--atmospheric-pressure", "0.9 bar"), "not both"),
    (("pressure-decay", "--decay", "30 mbar", "--time", "10 min", "--upstream-volume", "2 L", "--limit",
      "10 mL/min", "--altitude", "20 km"), "troposphere"),
    (("diffusion", "--measured", "3 mL/min"), "--limit"),
])
def test_bad_input_exits_2(args, words):
    r = _run(*args)
    assert r.exit_code == 2 and words in r.output, r.output


def test_bad_table_names_row_and_column(tmp_path):
    table = tmp_path / "specs.csv"
    table.write_text("name,min_bubble_point_bar\nA,3.1\nB,high\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_integrity_specs(table)
    assert "row 3" in str(e.value) and e.value.field == "min_bubble_point_bar"
    r = _run("bubble-point", "--measured", "3 bar", "--filter", "B", "--specs", str(table))
    assert r.exit_code == 2 and "row 3" in r.output


def test_specs_lists_the_table():
    r = _run("specs", "--json")
    d = json.loads(r.output)
    assert r.exit_code == 0 and any(f["name"] == "PES 0.2 um 10-inch" for f in d["filters"])
    assert "PVDF 0.22 um 10-inch" in _run("specs").output
