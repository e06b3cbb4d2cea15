"""``fluxwise integrity bubble-point|diffusion|pressure-decay|specs``: an integrity test against its
specification.

Each test prints PASS or FAIL and the reason with the numbers compared (the functions of
:mod:`fluxwise.design.integrity`), or ``--json``. Exit codes: 0 the filter passes, 1 it fails, 2 the
input is wrong (the message names the option). Scripts can branch on the exit code alone. The limits
come from the options, or from a row of the editable spec table by filter type (``--filter NAME``,
``--specs FILE``; ``fluxwise integrity specs`` lists it).
"""

from __future__ import annotations

import math
import re

import click

from ..design.integrity import check_bubble_point, check_diffusion, check_pressure_decay
from ..errors import InputError
from ..models.integrity import (
    STANDARD_ATMOSPHERE_BAR,
    atmospheric_pressure_at_altitude,
    water_surface_tension,
)
from ..units import Q_, parse_quantity, parse_unit
from . import main
from .common import echo_json, g, table

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


def _filter_spec(name, specs_path):
    """The row of the spec table ``--filter`` names (None without --filter)."""
    if name is None:
        if specs_path is not None:
            raise InputError("--specs gives the table --filter looks up: give --filter NAME too",
                             field="--specs")
        return None
    from ..design.integrity import find_spec
    from ..io.integrity_specs import read_integrity_specs

    return find_spec(read_integrity_specs(specs_path), name,
                     source=(f"spec table {specs_path}" if specs_path
                             else "shipped spec table (edit it with --specs)"))


def _spec_options(f):
    opts = [
        click.option("--filter", "filter_name",
                     help="Take the limits from this row of the integrity spec table, e.g. "
                          '"PES 0.2 um 10-inch" '
                          "(fluxwise integrity specs lists them); an explicit limit option wins."),
        click.option("--specs", "specs_path", type=click.Path(dir_okay=False),
                     help="Your own spec table (CSV or YAML, columns as in fluxwise integrity specs) for "
                          "--filter."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _missing(spec, what: str, column: str, option: str):
    raise InputError(f"filter '{spec.name}' has no {what} in the spec table (column {column}): give {option}",
                     field=option)


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
@click.option("--spec", help='Minimum bubble point of the specification, e.g. "50 psi" (or --filter).')
@_spec_options
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
@click.option("--altitude", hidden=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def bubble_point(measured, spec, filter_name, specs_path, fluid, surface_tension, contact_angle, temperature,
                 spec_fluid, spec_surface_tension, spec_contact_angle, spec_temperature, altitude, as_json):
    """Bubble point against its minimum, corrected to the test's wetting fluid and temperature by the
    ratio of γ·cosθ (P = 4kγcosθ/d). A bubble point is a gauge pressure difference across the wetted
    membrane: altitude does not change it. Exit code 0 pass, 1 fail, 2 bad input."""
    if altitude is not None:
        raise InputError("a bubble point is a gauge pressure difference across the wetted membrane, so the "
                         "altitude (atmospheric pressure) does not change it; --altitude belongs to "
                         "pressure-decay, where a pressure drop becomes a gas volume at ambient pressure",
                         field="--altitude")
    measured_bar = _q(measured, "pressure", "--measured")
    row = _filter_spec(filter_name, specs_path)
    spec_bar = _q(spec, "pressure", "--spec")
    if spec_bar is None:
        if row is None:
            raise InputError('give the minimum bubble point with --spec (e.g. "50 psi") or a filter of the '
                             'spec '
                             "table with --filter", field="--spec")
        if row.min_bubble_point_bar is None:
            _missing(row, "minimum bubble point", "min_bubble_point_bar", "--spec")
        spec_bar = row.min_bubble_point_bar
        if spec_fluid is None and spec_surface_tension is None and not _is_water(row.wetting_fluid):
            spec_fluid, spec_surface_tension = row.wetting_fluid, f"{row.surface_tension_mN_per_m} mN/m"
        if spec_temperature is None and row.temperature_c is not None and temperature is not None:
            spec_temperature = f"{row.temperature_c} degC"
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
    _with_spec(row, lines, extra)
    _finish(r, as_json, lines, extra)


def _with_spec(row, lines, extra) -> None:
    """Name the spec-table row used, in the text and the JSON."""
    if row is None:
        return
    lines.append(f"limits of '{row.name}' from the spec table ({row.source or 'no source given'})")
    extra["filter"] = row.to_dict()


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


def _diffusion_limit(row, limit, limit_area, area):
    """(limit [L/h], limit area [m²], installed area [m²]) from the options, else from the spec row."""
    limit_l_h = _q(limit, "flow", "--limit")
    ref_area = _q(limit_area, "area", "--limit-area")
    installed = _q(area, "area", "--area")
    if limit_l_h is None:
        if row is None:
            raise InputError('give the maximum diffusion with --limit (e.g. "13.3 mL/min") or a filter of '
                             'the '
                             "spec table with --filter", field="--limit")
        if row.max_diffusion_L_per_h is None:
            _missing(row, "diffusion limit", "max_diffusion_mL_per_min", "--limit")
        limit_l_h = row.max_diffusion_L_per_h
        if ref_area is None:
            ref_area = row.diffusion_area_m2
            if installed is None:  # one unit of the area the row states
                installed = ref_area
    return limit_l_h, ref_area, installed


def _test_pressure_line(row, lines) -> None:
    if row is not None and row.diffusion_test_pressure_bar is not None:
        lines.append(f"the limit of '{row.name}' holds at a test pressure of "
                     f"{row.diffusion_test_pressure_bar:g} "
                     "bar (gauge): test at that pressure")


@integrity.command("diffusion")
@click.option("--measured", required=True, help='Measured diffusion (forward) flow, e.g. "12 mL/min".')
@click.option("--limit",
              help='Maximum diffusion flow of the specification, e.g. "13.3 mL/min" (or --filter).')
@_area_options
@_spec_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def diffusion(measured, limit, limit_area, area, filter_name, specs_path, as_json):
    """Diffusion (forward-flow) test against its maximum, scaled to the installed area
    (Q_max(A) = Q_max,ref·A/A_ref). Exit code 0 pass, 1 fail, 2 bad input."""
    row = _filter_spec(filter_name, specs_path)
    limit_l_h, ref_area, installed = _diffusion_limit(row, limit, limit_area, area)
    r = _run(check_diffusion, measured_L_per_h=_q(measured, "flow", "--measured"), limit_L_per_h=limit_l_h,
             reference_area_m2=ref_area, area_m2=installed)
    lines, extra = _flow_lines(r, measured), {}
    _test_pressure_line(row, lines)
    _with_spec(row, lines, extra)
    _finish(r, as_json, lines, extra)


@integrity.command("pressure-decay")
@click.option("--decay", required=True, help='Pressure decay during the hold, e.g. "0.02 bar" or "20 mbar".')
@click.option("--time", "hold_time", required=True, help='Hold time, e.g. "5 min".')
@click.option("--upstream-volume", required=True,
              help='Upstream gas volume (housing and piping), e.g. "2 L".')
@click.option("--limit", help='Maximum diffusion flow, e.g. "13.3 mL/min" (or --filter).')
@_area_options
@_spec_options
@click.option("--atmospheric-pressure", help=f'Ambient pressure, e.g. "0.95 bar" (default '
                                             f"{STANDARD_ATMOSPHERE_BAR} bar, sea level).")
@click.option("--altitude", help='Instead of --atmospheric-pressure: the site\'s altitude, e.g. "1500 m" '
                                 "(ISO 2533 standard atmosphere).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def pressure_decay(decay, hold_time, upstream_volume, limit, limit_area, area, filter_name, specs_path,
                   atmospheric_pressure, altitude, as_json):
    """Pressure-decay (pressure-hold) test: the decay becomes a gas flow Q = ΔP·Vu/(Patm·Δt)
    (isothermal ideal gas), judged against the diffusion limit. Patm is absolute: give it, or the
    altitude. Exit code 0 pass, 1 fail, 2 bad input."""
    patm = _q(atmospheric_pressure, "pressure", "--atmospheric-pressure")
    lines, extra = [], {}
    if altitude is not None:
        if patm is not None:
            raise InputError("give the atmospheric pressure or the altitude, not both", field="--altitude")
        h = _q(altitude, "length", "--altitude")
        if not -610.0 <= h <= 11000.0:
            raise InputError(f"{altitude} is outside the troposphere of the standard atmosphere (-610 m to "
                             "11,000 m)", field="--altitude")
        patm = float(atmospheric_pressure_at_altitude(h))
        lines.append(f"atmospheric pressure at {h:g} m: {patm:.4g} bar (ISO 2533 standard atmosphere)")
        extra.update(altitude_m=h)
    row = _filter_spec(filter_name, specs_path)
    limit_l_h, ref_area, installed = _diffusion_limit(row, limit, limit_area, area)
    r = _run(check_pressure_decay, pressure_drop_bar=_q(decay, "pressure", "--decay"),
             duration_h=_q(hold_time, "time", "--time"),
             upstream_volume_L=_q(upstream_volume, "volume", "--upstream-volume"),
             diffusion_limit_L_per_h=limit_l_h, reference_area_m2=ref_area, area_m2=installed,
             atmospheric_pressure_bar=STANDARD_ATMOSPHERE_BAR if patm is None else patm)
    extra["atmospheric_pressure_bar"] = STANDARD_ATMOSPHERE_BAR if patm is None else patm
    _test_pressure_line(row, lines)
    _with_spec(row, lines, extra)
    unit = _unit_of(decay, "pressure", "--decay")
    if unit is not None and unit not in (parse_unit("bar"), parse_unit("mbar")):  # the reason is in mbar
        lines.append(f"allowed decay in the unit measured: "
                     f"{_in_unit(r.details['allowed_pressure_drop_bar'], 'bar', unit)}")
    _finish(r, as_json, lines, extra)


@integrity.command("specs")
@click.option("--specs", "specs_path", type=click.Path(dir_okay=False),
              help="Your own spec table (CSV or YAML) instead of the shipped one.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def specs(specs_path, as_json):
    """List the integrity spec table by filter type (what --filter can name). The shipped table holds
    editable planning values: copy it, put your filters' validated limits in, and give it with --specs."""
    from ..io.integrity_specs import default_integrity_specs_path, read_integrity_specs

    rows = read_integrity_specs(specs_path)
    path = str(specs_path or default_integrity_specs_path())
    if as_json:
        echo_json({"table": path, "filters": [r.to_dict() for r in rows]})
        return
    click.echo(f"Integrity specs from {path}")
    click.echo(table([[r.name, r.filter_type, g(r.min_bubble_point_bar), r.wetting_fluid,
                       g(r.temperature_c), g(r.diffusion_test_pressure_bar),
                       g(None if r.max_diffusion_L_per_h is None else r.max_diffusion_L_per_h / 0.06),
                       g(r.diffusion_area_m2)] for r in rows],
                     ["filter", "type", "min BP [bar]", "fluid", "T [°C]", "diffusion test [bar]",
                      "max diffusion [mL/min]", "per area [m²]"], ["<", "<", ">", "<", ">", ">", ">", ">"]))
    sources = sorted({r.source for r in rows if r.source})
    for src in sources:
        click.echo(f"source: {src}")
