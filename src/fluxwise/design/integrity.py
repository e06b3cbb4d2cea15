"""Pass/fail evaluation of filter integrity tests against a specification.

Each check returns an :class:`IntegrityTestResult` whose ``reason`` cites the numbers compared, in
the units of filter data sheets (bar and mL/min) — the sentence a batch record needs. The physics
(bubble point, surface tension, pressure decay) lives in :mod:`fluxwise.models.integrity`.

Conventions: a bubble point passes when the measured value is at or above the minimum
specification (corrected to the wetting fluid and temperature of the test); a diffusion (forward
flow) or pressure-decay test passes when the measured value is at or below the maximum, scaled to
the installed membrane area.

References
----------
PDA Technical Report 26 (revised 2008). Sterilizing filtration of liquids.
ASTM F316-03 (2019); IAPWS R1-76(2014) — see :mod:`fluxwise.models.integrity`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import InputError
from ..models import integrity as mi

__all__ = ["IntegrityTestResult", "IntegritySpec", "find_spec", "check_bubble_point", "check_diffusion",
           "check_pressure_decay"]

_ML_MIN_PER_L_H = 1000.0 / 60.0


@dataclass(frozen=True)
class IntegrityTestResult:
    """Outcome of one integrity test. ``measured`` and ``limit`` are in ``unit``."""

    test: str
    passed: bool
    reason: str
    measured: float
    limit: float
    unit: str
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"test": self.test, "passed": self.passed, "reason": self.reason, "measured": self.measured,
                "limit": self.limit, "unit": self.unit, **self.details}


@dataclass(frozen=True)
class IntegritySpec:
    """The integrity-test limits of one filter type, as a row of the editable spec table
    (``fluxwise/data/integrity_specs.csv`` or a user's copy).

    Attributes
    ----------
    name : str  What ``--filter`` names.
    filter_type : str  ``sterile``, ``bioburden``, ``virus``, ...
    min_bubble_point_bar : float or None  Minimum bubble point [bar, gauge] in ``wetting_fluid``.
    wetting_fluid : str  ``water`` or another fluid's name.
    surface_tension_mN_per_m : float or None  The wetting fluid's surface tension (fluids other than water).
    temperature_c : float or None  Temperature the bubble point is stated for [°C].
    diffusion_test_pressure_bar : float or None  Test pressure of the diffusion limit [bar, gauge].
    max_diffusion_L_per_h : float or None  Maximum diffusion [L/h] for ``diffusion_area_m2``.
    diffusion_area_m2 : float or None  Area the diffusion limit is stated for [m²].
    source : str  Where the numbers come from.
    """

    name: str
    filter_type: str = ""
    min_bubble_point_bar: float | None = None
    wetting_fluid: str = "water"
    surface_tension_mN_per_m: float | None = None
    temperature_c: float | None = None
    diffusion_test_pressure_bar: float | None = None
    max_diffusion_L_per_h: float | None = None
    diffusion_area_m2: float | None = None
    source: str = ""

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["max_diffusion_mL_per_min"] = (None if self.max_diffusion_L_per_h is None
                                         else self.max_diffusion_L_per_h * _ML_MIN_PER_L_H)
        return d


def find_spec(specs, name: str, *, source: str = "integrity spec table") -> IntegritySpec:
    """The spec named ``name`` (case and spacing do not matter); the error lists the names there are."""
    wanted = " ".join(str(name).split()).casefold()
    for spec in specs:
        if " ".join(spec.name.split()).casefold() == wanted:
            return spec
    names = ", ".join(f"'{s.name}'" for s in specs) or "none"
    raise InputError(f"no filter named '{name}' in the {source} (filters: {names}); add a row for it or "
                     "give the limits directly", field="--filter")


def _number(value, name: str, *, positive: bool = True) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"must be a number, got {value!r}", field=name) from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        kind = "positive" if positive else "zero or positive"
        raise InputError(f"must be {kind}, got {value!r}", field=name)
    return v


def check_bubble_point(measured_bar: float, spec_min_bar: float, *,
                       spec_surface_tension_mN_per_m: float | None = None,
                       test_surface_tension_mN_per_m: float | None = None,
                       spec_contact_angle_deg: float = 0.0, test_contact_angle_deg: float = 0.0,
                       spec_temperature_c: float | None = None,
                       test_temperature_c: float | None = None) -> IntegrityTestResult:
    """Compare a measured bubble point with the minimum specification.

    The specification is first carried to the test conditions: to another wetting fluid by the
    ratio of γ·cosθ (when both surface tensions are given), or, for water, to another temperature
    by the ratio of IAPWS surface tensions (when both temperatures are given).

    Parameters
    ----------
    measured_bar : float
        Measured bubble point [bar].
    spec_min_bar : float
        Minimum bubble point of the specification [bar].
    spec_surface_tension_mN_per_m, test_surface_tension_mN_per_m : float, optional
        Surface tension of the specification's and of the test's wetting fluid [mN/m].
    spec_contact_angle_deg, test_contact_angle_deg : float
        Contact angles [°] (0 for fully wetting liquids).
    spec_temperature_c, test_temperature_c : float, optional
        Temperatures of the specification and the test, water-wet [°C].

    Returns
    -------
    IntegrityTestResult
    """
    measured = _number(measured_bar, "measured_bar", positive=False)
    spec = _number(spec_min_bar, "spec_min_bar")
    limit = spec
    basis = f"specification {spec:.4g} bar"
    if spec_surface_tension_mN_per_m is not None or test_surface_tension_mN_per_m is not None:
        if spec_surface_tension_mN_per_m is None or test_surface_tension_mN_per_m is None:
            raise InputError("a fluid correction needs the surface tension of both fluids",
                             field="spec_surface_tension_mN_per_m")
        g1 = _number(spec_surface_tension_mN_per_m, "spec_surface_tension_mN_per_m")
        g2 = _number(test_surface_tension_mN_per_m, "test_surface_tension_mN_per_m")
        limit = float(mi.bubble_point_for_fluid(spec, g1, g2, spec_contact_angle_deg, test_contact_angle_deg))
        basis += f" with a fluid of {g1:.4g} mN/m, corrected to {g2:.4g} mN/m: {limit:.4g} bar"
    elif spec_temperature_c is not None or test_temperature_c is not None:
        if spec_temperature_c is None or test_temperature_c is None:
            raise InputError("a temperature correction needs both temperatures", field="spec_temperature_c")
        t1, t2 = float(spec_temperature_c), float(test_temperature_c)
        limit = float(mi.bubble_point_at_temperature(spec, t1, t2))
        basis += f" in water at {t1:g} °C, corrected to {t2:g} °C: {limit:.4g} bar"
    passed = measured >= limit
    verdict = "passes" if passed else "FAILS"
    sign = "≥" if passed else "<"
    reason = f"bubble point {measured:.4g} bar {sign} minimum {limit:.4g} bar ({basis}): {verdict}"
    return IntegrityTestResult(test="bubble point", passed=passed, reason=reason, measured=measured,
                               limit=limit, unit="bar", details={"specification_bar": spec})


def check_diffusion(measured_L_per_h: float, limit_L_per_h: float, *, reference_area_m2: float | None = None,
                    area_m2: float | None = None) -> IntegrityTestResult:
    """Compare a measured diffusion (forward flow) with its maximum, scaled to the installed area.

    Parameters
    ----------
    measured_L_per_h : float
        Measured gas flow [L/h] (mL/min × 0.06).
    limit_L_per_h : float
        Maximum flow for ``reference_area_m2`` (or for the installed filter when no areas given) [L/h].
    reference_area_m2, area_m2 : float, optional
        Area the limit is stated for and the installed area [m²]; the limit scales by their ratio.

    Returns
    -------
    IntegrityTestResult
    """
    measured = _number(measured_L_per_h, "measured_L_per_h", positive=False)
    ref_limit = _number(limit_L_per_h, "limit_L_per_h")
    limit, basis = ref_limit, f"limit {ref_limit * _ML_MIN_PER_L_H:.4g} mL/min"
    if reference_area_m2 is not None or area_m2 is not None:
        if reference_area_m2 is None or area_m2 is None:
            raise InputError("scaling a diffusion limit needs the reference and the installed area",
                             field="reference_area_m2")
        a_ref = _number(reference_area_m2, "reference_area_m2")
        a = _number(area_m2, "area_m2")
        limit = float(mi.scale_to_area(ref_limit, a_ref, a))
        basis += f" per {a_ref:.4g} m², scaled to {a:.4g} m²"
    passed = measured <= limit
    reason = (f"diffusion {measured * _ML_MIN_PER_L_H:.4g} mL/min {'≤' if passed else '>'} maximum "
              f"{limit * _ML_MIN_PER_L_H:.4g} mL/min ({basis}): {'passes' if passed else 'FAILS'}")
    return IntegrityTestResult(test="diffusion", passed=passed, reason=reason, measured=measured, limit=limit,
                               unit="L/h", details={"measured_mL_per_min": measured * _ML_MIN_PER_L_H,
                                                    "limit_mL_per_min": limit * _ML_MIN_PER_L_H})


def check_pressure_decay(pressure_drop_bar: float, duration_h: float, upstream_volume_L: float,
                         diffusion_limit_L_per_h: float, *, reference_area_m2: float | None = None,
                         area_m2: float | None = None,
                         atmospheric_pressure_bar: float = mi.STANDARD_ATMOSPHERE_BAR) -> IntegrityTestResult:
    """Pressure-decay (pressure-hold) test judged against a diffusion limit.

    The decay is turned into a flow ``Q = ΔP·Vu/(Patm·Δt)`` (isothermal ideal gas) and compared
    with the diffusion limit scaled to the installed area; the equivalent allowed decay is reported
    too.

    Parameters
    ----------
    pressure_drop_bar : float
        Observed pressure decay [bar].
    duration_h : float
        Hold time [h] (10 min = 1/6 h).
    upstream_volume_L : float
        Upstream gas volume [L].
    diffusion_limit_L_per_h : float
        Maximum diffusion flow [L/h] for ``reference_area_m2`` (or the installed filter).
    reference_area_m2, area_m2 : float, optional
        Area basis of the limit and installed area [m²].
    atmospheric_pressure_bar : float
        Ambient pressure [bar].

    Returns
    -------
    IntegrityTestResult
        ``measured`` and ``limit`` as flows [L/h]; details hold the decay and the allowed decay.
    """
    dp = _number(pressure_drop_bar, "pressure_drop_bar", positive=False)
    dt = _number(duration_h, "duration_h")
    vu = _number(upstream_volume_L, "upstream_volume_L")
    patm = _number(atmospheric_pressure_bar, "atmospheric_pressure_bar")
    diff = check_diffusion(float(mi.pressure_decay_flow(dp, vu, dt, patm)), diffusion_limit_L_per_h,
                           reference_area_m2=reference_area_m2, area_m2=area_m2)
    allowed = float(mi.allowed_pressure_decay(diff.limit, vu, dt, patm))
    passed = diff.passed
    reason = (f"pressure decay {dp * 1000:.4g} mbar in {dt * 60:.4g} min with {vu:.4g} L upstream = "
              f"{diff.measured * _ML_MIN_PER_L_H:.4g} mL/min {'≤' if passed else '>'} maximum "
              f"{diff.limit * _ML_MIN_PER_L_H:.4g} mL/min (allowed decay {allowed * 1000:.4g} mbar): "
              f"{'passes' if passed else 'FAILS'}")
    return IntegrityTestResult(test="pressure decay", passed=passed, reason=reason, measured=diff.measured,
                               limit=diff.limit, unit="L/h",
                               details={"pressure_drop_bar": dp, "allowed_pressure_drop_bar": allowed,
                                        "measured_mL_per_min": diff.measured * _ML_MIN_PER_L_H,
                                        "limit_mL_per_min": diff.limit * _ML_MIN_PER_L_H})
