"""``fluxwise integrity``: PASS/FAIL with exit codes 0/1, bad input exit 2, numbers derived by hand.

Hand derivations (written out where used):

* 1 psi = 1 lbf/in² = 0.45359237 kg × 9.80665 m/s² / (0.0254 m)² = 6894.757 Pa (NIST SP 811);
* bubble point P = 4kγcosθ/d (ASTM F316-03), so a specification carries to another fluid or
  temperature by the ratio of γ·cosθ; cos 60° = 1/2 halves it;
* water surface tension, IAPWS R1-76(2014): γ = 235.8 τ^1.256 (1 − 0.625 τ) mN/m, τ = 1 − T/647.096 K;
* diffusion limits scale with area: 13.3 mL/min per 0.69 m² is 26.6 mL/min on 1.38 m²;
* pressure decay as a flow (isothermal ideal gas): Q = ΔP·Vu/(Patm·Δt).
"""

import json
import math

import pytest
from click.testing import CliRunner

from fluxwise.cli import main

PSI = 0.45359237 * 9.80665 / 0.0254 ** 2 / 1e5  # bar


def _gamma_water(t_c):
    tau = 1 - (t_c + 273.15) / 647.096
    return 235.8 * tau ** 1.256 * (1 - 0.625 * tau)


def _run(*args):
    return CliRunner().invoke(main, ["integrity", *args])


def _json(*args):
    r = _run(*args, "--json")
    return r, json.loads(r.output)


# -------------------------------------------------------------------------------- bubble point

def test_bubble_point_above_the_spec_passes_with_exit_0():
    r = _run("bubble-point", "--measured", "52 psi", "--spec", "50 psi")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("PASS")
    # 52 psi = 3.585 bar, 50 psi = 3.447 bar
    assert f"{52 * PSI:.4g} bar" in r.output and f"{50 * PSI:.4g} bar" in r.output


def test_bubble_point_below_the_spec_fails_with_exit_1():
    r, d = _json("bubble-point", "--measured", "48 psi", "--spec", "50 psi")
    assert r.exit_code == 1
    assert d["passed"] is False and d["result"] == "fail" and d["exit_code"] == 1
    assert d["measured"] == pytest.approx(48 * PSI, rel=1e-6)
    assert d["limit"] == pytest.approx(50 * PSI, rel=1e-6)
    assert "FAILS" in d["reason"]
    human = _run("bubble-point", "--measured", "48 psi", "--spec", "50 psi")
    assert human.exit_code == 1 and human.output.startswith("FAIL")


@pytest.mark.parametrize("measured, code", [("26 psi", 0), ("24 psi", 1)])
def test_half_the_gamma_cos_theta_of_water_is_half_the_water_spec(measured, code):
    # a test fluid with γ = γ_water/2 (both at 20 °C): the 50 psi water minimum becomes 25 psi
    half = _gamma_water(20.0) / 2
    r, d = _json("bubble-point", "--measured", measured, "--spec", "50 psi", "--fluid", "test mix",
                 "--surface-tension", f"{half:.10f} mN/m")
    assert r.exit_code == code, r.output
    assert d["limit"] == pytest.approx(25 * PSI, rel=1e-9)
    assert d["gamma_cos_theta_ratio"] == pytest.approx(0.5, rel=1e-9)
    assert d["spec_surface_tension_mN_per_m"] == pytest.approx(_gamma_water(20.0), rel=1e-9)


def test_a_contact_angle_of_60_degrees_halves_the_minimum():
    # cos 60° = 1/2 with the same fluid: 50 psi -> 25 psi
    r, d = _json("bubble-point", "--measured", "26 psi", "--spec", "50 psi", "--contact-angle", "60 deg")
    assert r.exit_code == 0
    assert d["limit"] == pytest.approx(25 * PSI, rel=1e-9)


def test_a_spec_stated_in_another_fluid():
    # spec 1.2 bar with a fluid of 21.7 mN/m, tested in water at 25 °C: 1.2 × γw(25)/21.7
    limit = 1.2 * _gamma_water(25.0) / 21.7
    r, d = _json("bubble-point", "--measured", "4 bar", "--spec", "1.2 bar", "--spec-fluid", "IPA",
                 "--spec-surface-tension", "21.7 mN/m", "--temperature", "25 degC")
    assert r.exit_code == (0 if 4 >= limit else 1)
    assert d["limit"] == pytest.approx(limit, rel=1e-9)
    assert d["spec_fluid"] == "IPA" and d["test_fluid"] == "water"


@pytest.mark.parametrize("measured, code", [("3.40 bar", 1), ("3.42 bar", 0)])
def test_water_spec_carried_to_the_test_temperature(measured, code):
    # 3.45 bar at 20 °C, tested at 25 °C: 3.45 × γw(25)/γw(20) = 3.4135 bar
    limit = 3.45 * _gamma_water(25.0) / _gamma_water(20.0)
    r, d = _json("bubble-point", "--measured", measured, "--spec", "3.45 bar", "--temperature", "25 degC",
                 "--spec-temperature", "20 degC")
    assert r.exit_code == code, r.output
    assert d["limit"] == pytest.approx(limit, rel=1e-9)
    assert f"{limit:.4g} bar" in d["reason"]


def test_one_temperature_alone_corrects_nothing():
    # the specification's temperature defaults to the test's: the same conditions, no correction
    r, d = _json("bubble-point", "--measured", "3.5 bar", "--spec", "3.45 bar", "--temperature", "25 degC")
    assert r.exit_code == 0 and d["limit"] == pytest.approx(3.45)


# ------------------------------------------------------------------------------------ diffusion

@pytest.mark.parametrize("measured, code", [("12 mL/min", 0), ("26.6 mL/min", 0), ("30 mL/min", 1),
                                            ("0.72 L/h", 0)])
def test_diffusion_limit_scales_with_area(measured, code):
    r, d = _json("diffusion", "--measured", measured, "--limit", "13.3 mL/min", "--limit-area", "0.69 m2",
                 "--area", "1.38 m2")
    assert r.exit_code == code, r.output
    assert d["limit_mL_per_min"] == pytest.approx(26.6, rel=1e-9)  # 13.3 × 1.38/0.69
    assert "26.6 mL/min" in d["reason"]


def test_diffusion_human_output_cites_the_numbers():
    r = _run("diffusion", "--measured", "12 mL/min", "--limit", "13.3 mL/min")
    assert r.exit_code == 0
    assert r.output.startswith("PASS") and "12 mL/min" in r.output and "13.3 mL/min" in r.output


# ------------------------------------------------------------------------------- pressure decay

def test_pressure_decay_becomes_a_flow_by_hand():
    # Q = 0.02 bar × 2 L / (1.01325 bar × 5/60 h) = 0.47372 L/h = 7.895 mL/min ≤ 13.3 mL/min;
    # allowed decay = 13.3 mL/min × 0.06 × 1.01325 × (5/60) / 2 = 0.03369 bar
    r, d = _json("pressure-decay", "--decay", "0.02 bar", "--time", "5 min", "--upstream-volume", "2 L",
                 "--limit", "13.3 mL/min")
    assert r.exit_code == 0
    q = 0.02 * 2 / (1.01325 * 5 / 60)
    assert d["measured"] == pytest.approx(q, rel=1e-9)
    assert d["measured_mL_per_min"] == pytest.approx(q * 1000 / 60, rel=1e-9)
    assert d["allowed_pressure_drop_bar"] == pytest.approx(13.3 * 0.06 * 1.01325 * (5 / 60) / 2, rel=1e-9)
    assert "7.895 mL/min" in d["reason"] and "33.69 mbar" in d["reason"]


def test_pressure_decay_above_the_allowed_decay_fails():
    # 40 mbar > 33.69 mbar allowed: 15.79 mL/min > 13.3 mL/min
    r = _run("pressure-decay", "--decay", "40 mbar", "--time", "5 min", "--upstream-volume", "2 L",
             "--limit", "13.3 mL/min")
    assert r.exit_code == 1 and r.output.startswith("FAIL") and "15.79 mL/min" in r.output


def test_pressure_decay_at_altitude():
    # a lower ambient pressure means more gas per mbar of decay: Q = ΔP·Vu/(0.9·Δt)
    r, d = _json("pressure-decay", "--decay", "0.02 bar", "--time", "5 min", "--upstream-volume", "2 L",
                 "--limit", "13.3 mL/min", "--atmospheric-pressure", "0.9 bar")
    assert d["measured"] == pytest.approx(0.02 * 2 / (0.9 * 5 / 60), rel=1e-9)


# ------------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize("args, words", [
    (["bubble-point", "--measured", "52 L", "--spec", "50 psi"], "--measured"),
    (["bubble-point", "--measured", "52 psi"], "--spec"),
    (["bubble-point", "--measured", "-5 psi", "--spec", "50 psi"], "--measured"),
    (["bubble-point", "--measured", "52 psi", "--spec", "0 psi"], "--spec"),
    (["bubble-point", "--measured", "52 psi", "--spec", "50 psi", "--fluid", "60 % IPA"],
     "--surface-tension"),
    (["bubble-point", "--measured", "52 psi", "--spec", "50 psi", "--surface-tension", "23 bar"],
     "--surface-tension"),
    (["bubble-point", "--measured", "52 psi", "--spec", "50 psi", "--contact-angle", "wet"],
     "--contact-angle"),
    (["bubble-point", "--measured", "52 psi", "--spec", "50 psi", "--contact-angle", "95"],
     "--contact-angle"),
    (["bubble-point", "--measured", "52 psi", "--spec", "50 psi", "--temperature", "25 bar"],
     "--temperature"),
    (["diffusion", "--measured", "12 mL/min", "--limit", "13.3 mL/min", "--limit-area", "0.69 m2"],
     "--limit-area"),
    (["diffusion", "--measured", "12 mL", "--limit", "13.3 mL/min"], "--measured"),
    (["diffusion", "--measured", "12 mL/min", "--limit", "0 mL/min"], "--limit"),
    (["pressure-decay", "--decay", "0.02 bar", "--time", "5 L", "--upstream-volume", "2 L", "--limit",
      "13.3 mL/min"], "--time"),
    (["pressure-decay", "--decay", "0.02 bar", "--time", "5 min", "--upstream-volume", "0 L", "--limit",
      "13.3 mL/min"], "--upstream-volume"),
])
def test_bad_input_exits_2_naming_the_option(args, words):
    r = _run(*args)
    assert r.exit_code == 2, r.output
    assert words in r.output, r.output
    assert "Traceback" not in r.output


def test_the_exit_codes_are_documented():
    r = _run("--help")
    assert r.exit_code == 0 and "0 pass, 1 fail, 2 bad input" in r.output
    for cmd in ("bubble-point", "diffusion", "pressure-decay"):
        h = _run(cmd, "--help")
        assert "0 pass, 1 fail, 2 bad input" in " ".join(h.output.split()), h.output


def test_ratio_of_surface_tensions_is_the_only_fluid_correction():
    # an independent check of the ratio rule: γ·cosθ of 22 mN/m at 0° vs 44 mN/m at 60° are equal,
    # so the minimum is unchanged
    r, d = _json("bubble-point", "--measured", "50.01 psi", "--spec", "50 psi", "--spec-fluid", "a",
                 "--spec-surface-tension", "22 mN/m", "--fluid", "b", "--surface-tension", "44 mN/m",
                 "--contact-angle", "60")
    assert r.exit_code == 0
    assert d["limit"] == pytest.approx(50 * PSI, rel=1e-9)
    assert math.isclose(d["gamma_cos_theta_ratio"], 1.0, rel_tol=1e-12)
