"""``fluxwise integrity bubble-point|diffusion|pressure-decay``: an integrity test against its specification.

Each command prints PASS or FAIL and the reason with the numbers compared (the functions of
:mod:`fluxwise.design.integrity`), or ``--json``. Exit codes: 0 the filter passes, 1 it fails, 2 the
input is wrong (the message names the option). Scripts can branch on the exit code alone.
"""

from __future__ import annotations

import math
import re

import click

from ..design.integrity import check_bubble_point, check_diffusion, check_pressure_decay
from ..errors import InputError
from ..models.integrity import STANDARD_ATMOSPHERE_BAR, water_surface_tension
from ..units import Q_, parse_quantity, parse_unit
from . import main
from .common import echo_json

EXIT_PASS, EXIT_FAIL = 0, 1
DEFAULT_WATER_TEMPERATURE_C = 20.0
"""Temperature at which water's surface tension is taken when no temperature is given [°C]."""

# check_* argument names -> the options a user typed
_FIELDS = {"measured_bar": "--measured", "spec_min_bar": "--spec", "measured_L_per_h": "--measured",
           "limit_L_per_h": "--limit", "reference_area_m2": "--limit-area", "area_m2": "--area",
           "pressure_drop_bar": "--decay", "duration_h": "--time", "upstream_volume_L": "--upstream-volume",
           "diffusion_limit_L_per_h": "--limit", "atmospheric_pressure_bar": "--atmospheric-pressure",
           "spec_surface_tension_mN_per_m": "--spec-surface-tension",
           "test_surface_tension_mN_per_m": "--surface-tension", "spec_temperature_c": "--spec-temperature",
           "test_temperature_c": "--temperature"}
_ANGLE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(°|deg|degs|degree|degrees)?\s*$")


@main.group()
def integrity():
    """Filter integrity tests judged against the specification: PASS or FAIL with the numbers.

    Exit codes: 0 pass, 1 fail, 2 bad input."""


def _q(value, kind, option):
    return None if value is None else parse_quantity(value, kind, field=option)


def _angle(value, option) -> float:
    if value is None:
        return 0.0
    m = _ANGLE.match(str(value))
    if not m:
        raise InputError(f"'{value}' is not an angle (expected degrees, e.g. '0 deg' or '30')", field=option)
    a = float(m.group(1))
    if not 0 <= a < 90:
        raise InputError(f"a wetting liquid has a contact angle from 0 to below 90°, got {value}",
                         field=option)
    return a


def _run(check, **kwargs):
    try:
        return check(**kwargs)
    except InputError as exc:  # name the option the user typed, not the Python argument
        raise type(exc)(exc.message, source=exc.source, field=_FIELDS.get(exc.field, exc.field)) from None


def _finish(result, as_json: bool, lines=(), extra=None) -> None:
    code = EXIT_PASS if result.passed else EXIT_FAIL
    if as_json:
        echo_json({**result.to_dict(), **(extra or {}), "result": "pass" if result.passed else "fail",
                   "exit_code": code})
    else:
        click.echo(f"{'PASS' if result.passed else 'FAIL'}: {result.reason}")
        for line in lines:
            click.echo(f"  {line}")
    click.get_current_context().exit(code)


def _unit_of(text: str, kind: str, option: str):
    m = re.match(r"^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*(.*?)\s*$", str(text))
    return parse_unit(m.group(1), kind, field=option) if m and m.group(1) else None


def _in_unit(value_canonical: float, canonical: str, unit) -> str:
    return f"{Q_(value_canonical, canonical).to(unit).magnitude:.4g} {unit:~P}"


# --------------------------------------------------------------------------------- bubble point

def _is_water(name: str | None) -> bool:
    return name is None or name.strip().lower() in ("water", "wfi", "h2o", "purified water")


def _fluid(name, gamma_text, temperature_c, *, gamma_option: str, default_temperature: float | None):
    """(label, surface tension [mN/m], sentence) of a wetting fluid."""
    if gamma_text is not None:
        gamma = parse_quantity(gamma_text, "surface_tension", field=gamma_option)
        if not gamma > 0:
            raise InputError(f"must be positive, got {gamma_text!r}", field=gamma_option)
        label = name or "test fluid"
        return label, gamma, f"{label}: {gamma:.4g} mN/m (given)"
    if not _is_water(name):
        raise InputError(f"fluid '{name}': give its surface tension with {gamma_option}, e.g. '23 mN/m' "
                         "(fluxwise knows water only, from IAPWS R1-76)", field=gamma_option)
    t = temperature_c if temperature_c is not None else default_temperature
    gamma = float(water_surface_tension(t))
    return "water", gamma, f"water at {t:g} °C: {gamma:.4g} mN/m (IAPWS R1-76)"


@integrity.command("bubble-point")
@click.option("--measured", required=True, help='Measured bubble point, e.g. "52 psi".')
@click.option("--spec", required=True, help='Minimum bubble point of the specification, e.g. "50 psi".')
@click.option("--fluid", help='Wetting fluid of the test: water (default), or a name such as "60 % IPA" '
                              "with --surface-tension.")
@click.option("--surface-tension", help='Surface tension of the test fluid, e.g. "23 mN/m".')
@click.option("--contact-angle", help="Contact angle of the test fluid on the membrane [°] (default 0).")
@click.option("--temperature", help='Test temperature, e.g. "25 degC" (water\'s surface tension follows it).')
@click.option("--spec-fluid", help="Wetting fluid of the specification (default water).")
@click.option("--spec-surface-tension",
              help='Surface tension of the specification\'s fluid, e.g. "72.8 mN/m".')
@click.option("--spec-contact-angle", help="Contact angle of the specification's fluid [°] (default 0).")
@click.option("--spec-temperature", help="Temperature of the specification (default: the test temperature).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def bubble_point(measured, spec, fluid, surface_tension, contact_angle, temperature, spec_fluid,
                 spec_surface_tension, spec_contact_angle, spec_temperature, as_json):
    """Bubble point against its minimum, corrected to the test's wetting fluid and temperature by the
    ratio of γ·cosθ (P = 4kγcosθ/d). Exit code 0 pass, 1 fail, 2 bad input."""
    measured_bar = _q(measured, "pressure", "--measured")
    spec_bar = _q(spec, "pressure", "--spec")
    t_test = _q(temperature, "temperature", "--temperature")
    t_spec = _q(spec_temperature, "temperature", "--spec-temperature")
    if t_spec is None:
        t_spec = t_test
    th_test = _angle(contact_angle, "--contact-angle")
    th_spec = _angle(spec_contact_angle, "--spec-contact-angle")
    both_water = (_is_water(fluid) and _is_water(spec_fluid) and surface_tension is None
                  and spec_surface_tension is None and th_test == 0 and th_spec == 0)
    lines, extra = [], {}
    if both_water:
        kwargs = {}
        if t_test is not None and t_spec is not None and t_test != t_spec:
            kwargs = {"spec_temperature_c": t_spec, "test_temperature_c": t_test}
            g_spec, g_test = float(water_surface_tension(t_spec)), float(water_surface_tension(t_test))
            lines.append(f"water surface tension (IAPWS R1-76): {g_spec:.4g} mN/m at {t_spec:g} °C, "
                         f"{g_test:.4g} mN/m at {t_test:g} °C")
        r = _run(check_bubble_point, measured_bar=measured_bar, spec_min_bar=spec_bar, **kwargs)
        extra.update(test_fluid="water", spec_fluid="water", test_temperature_c=t_test,
                     spec_temperature_c=t_spec)
    else:
        default_t = DEFAULT_WATER_TEMPERATURE_C
        spec_label, g_spec, spec_line = _fluid(spec_fluid, spec_surface_tension, t_spec,
                                               gamma_option="--spec-surface-tension",
                                               default_temperature=default_t)
        test_label, g_test, test_line = _fluid(fluid, surface_tension, t_test,
                                               gamma_option="--surface-tension",
                                               default_temperature=default_t if t_spec is None else t_spec)
        r = _run(check_bubble_point, measured_bar=measured_bar, spec_min_bar=spec_bar,
                 spec_surface_tension_mN_per_m=g_spec, test_surface_tension_mN_per_m=g_test,
                 spec_contact_angle_deg=th_spec, test_contact_angle_deg=th_test)
        ratio = g_test * math.cos(math.radians(th_test)) / (g_spec * math.cos(math.radians(th_spec)))
        lines += [f"specification fluid: {spec_line}" + (f", contact angle {th_spec:g}°" if th_spec else ""),
                  f"test fluid: {test_line}" + (f", contact angle {th_test:g}°" if th_test else ""),
                  f"γ·cosθ ratio test/specification: {ratio:.4g}"]
        extra.update(test_fluid=test_label, spec_fluid=spec_label, test_surface_tension_mN_per_m=g_test,
                     spec_surface_tension_mN_per_m=g_spec, test_contact_angle_deg=th_test,
                     spec_contact_angle_deg=th_spec, gamma_cos_theta_ratio=ratio)
    unit = _unit_of(measured, "pressure", "--measured")
    if unit is not None and unit != parse_unit("bar"):
        lines.append(f"in the unit measured: {_in_unit(r.measured, 'bar', unit)} against a minimum of "
                     f"{_in_unit(r.limit, 'bar', unit)}")
    _finish(r, as_json, lines, extra)


# ------------------------------------------------------------------------- diffusion, pressure decay

def _area_options(f):
    opts = [
        click.option("--limit-area", help='Membrane area the limit is stated for, e.g. "0.69 m2" (one '
                                          "10-inch cartridge); with --area the limit scales by their ratio."),
        click.option("--area", help='Installed membrane area, e.g. "1.38 m2".'),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _flow_lines(r, measured_text, extra_lines=()) -> list[str]:
    lines = list(extra_lines)
    unit = _unit_of(measured_text, "flow", "--measured") if measured_text is not None else None
    if unit is not None and unit != parse_unit("mL/min"):
        lines.append(f"in the unit measured: {_in_unit(r.measured, 'L/h', unit)} against a maximum of "
                     f"{_in_unit(r.limit, 'L/h', unit)}")
    return lines


@integrity.command("diffusion")
@click.option("--measured", required=True, help='Measured diffusion (forward) flow, e.g. "12 mL/min".')
@click.option("--limit", required=True,
              help='Maximum diffusion flow of the specification, e.g. "13.3 mL/min".')
@_area_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def diffusion(measured, limit, limit_area, area, as_json):
    """Diffusion (forward-flow) test against its maximum, scaled to the installed area
    (Q_max(A) = Q_max,ref·A/A_ref). Exit code 0 pass, 1 fail, 2 bad input."""
    r = _run(check_diffusion, measured_L_per_h=_q(measured, "flow", "--measured"),
             limit_L_per_h=_q(limit, "flow", "--limit"),
             reference_area_m2=_q(limit_area, "area", "--limit-area"), area_m2=_q(area, "area", "--area"))
    _finish(r, as_json, _flow_lines(r, measured))


@integrity.command("pressure-decay")
@click.option("--decay", required=True, help='Pressure decay during the hold, e.g. "0.02 bar" or "20 mbar".')
@click.option("--time", "hold_time", required=True, help='Hold time, e.g. "5 min".')
@click.option("--upstream-volume", required=True,
              help='Upstream gas volume (housing and piping), e.g. "2 L".')
@click.option("--limit", required=True, help='Maximum diffusion flow, e.g. "13.3 mL/min".')
@_area_options
@click.option("--atmospheric-pressure", help=f'Ambient pressure, e.g. "0.95 bar" (default '
                                             f"{STANDARD_ATMOSPHERE_BAR} bar, sea level).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def pressure_decay(decay, hold_time, upstream_volume, limit, limit_area, area, atmospheric_pressure, as_json):
    """Pressure-decay (pressure-hold) test: the decay becomes a gas flow Q = ΔP·Vu/(Patm·Δt)
    (isothermal ideal gas), judged against the diffusion limit. Exit code 0 pass, 1 fail, 2 bad input."""
    patm = _q(atmospheric_pressure, "pressure", "--atmospheric-pressure")
    r = _run(check_pressure_decay, pressure_drop_bar=_q(decay, "pressure", "--decay"),
             duration_h=_q(hold_time, "time", "--time"),
             upstream_volume_L=_q(upstream_volume, "volume", "--upstream-volume"),
             diffusion_limit_L_per_h=_q(limit, "flow", "--limit"),
             reference_area_m2=_q(limit_area, "area", "--limit-area"), area_m2=_q(area, "area", "--area"),
             atmospheric_pressure_bar=STANDARD_ATMOSPHERE_BAR if patm is None else patm)
    lines = []
    unit = _unit_of(decay, "pressure", "--decay")
    if unit is not None and unit not in (parse_unit("bar"), parse_unit("mbar")):  # the reason is in mbar
        lines.append(f"allowed decay in the unit measured: "
                     f"{_in_unit(r.details['allowed_pressure_drop_bar'], 'bar', unit)}")
    _finish(r, as_json, lines)
