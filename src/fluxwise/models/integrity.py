r"""Integrity tests of sterilising-grade (and other wetted) membrane filters.

Pure, vectorised functions in canonical units: pressure bar, pore diameter m, surface tension
mN/m, temperature °C, volume L, time h, gas flow L/h (at atmospheric pressure).

Bubble point (capillary / Young-Laplace model of ASTM F316-03)
------------------------------------------------------------------
The gas pressure that empties a wetted cylindrical pore of diameter d:

.. math:: P = \frac{4\,k\,\gamma\cos\theta}{d}

with γ the surface tension of the wetting liquid, θ its contact angle on the membrane and k an
empirical shape correction for non-cylindrical, tortuous pores (k = 1 for an ideal capillary;
real sterilising membranes give bubble points well below the ideal value for their rating, PDA
Technical Report 26). Since P ∝ γ·cosθ, a bubble-point specification is carried to another wetting
fluid or temperature by the ratio of γ·cosθ.

Water surface tension (IAPWS R1-76(2014))
------------------------------------------
.. math:: \gamma = B\,\tau^{\mu}(1 + b\,\tau), \quad \tau = 1 - T/T_c

with B = 235.8 mN/m, b = −0.625, μ = 1.256, Tc = 647.096 K, valid from the triple point to the
critical point (and reasonable down to −25 °C).

Pressure decay (isothermal ideal gas)
-------------------------------------
Gas leaving an isolated upstream volume Vu through the wetted membrane lowers its pressure by ΔP
in Δt. At constant temperature the amount lost is ΔP·Vu/(R·T); expressed as gas volume at
atmospheric pressure:

.. math:: Q = \frac{\Delta P\,V_u}{P_{atm}\,\Delta t}

The atmospheric pressure at the test site enters only here, where a pressure change becomes a gas
volume at ambient pressure; a bubble point is a gauge pressure difference across the wetted membrane
and does not depend on altitude. At altitude h the International Standard Atmosphere (ISO
2533:1975; ICAO Doc 7488, troposphere, h ≤ 11 km) gives

.. math:: P_{atm} = 101.325\,\mathrm{kPa}\,(1 - 2.25577\times10^{-5}\,h/\mathrm{m})^{5.25588}

Diffusion (forward-flow) limits are properties of the membrane area: a limit stated per device
(e.g. per 10-inch cartridge) scales with the area ratio.

References
----------
ASTM F316-03 (2019). Standard test methods for pore size characteristics of membrane filters by
bubble point and mean flow pore test.
PDA Technical Report 26 (revised 2008). Sterilizing filtration of liquids.
IAPWS R1-76(2014). Revised release on surface tension of ordinary water substance.
ISO 2533:1975. Standard Atmosphere (identical to the ICAO Standard Atmosphere, Doc 7488).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "STANDARD_ATMOSPHERE_BAR", "water_surface_tension", "bubble_point_pressure",
    "pore_diameter_from_bubble_point", "bubble_point_for_fluid", "bubble_point_at_temperature",
    "pressure_decay_flow", "allowed_pressure_decay", "scale_to_area", "atmospheric_pressure_at_altitude",
]

STANDARD_ATMOSPHERE_BAR = 1.01325

_IAPWS_B = 235.8  # mN/m
_IAPWS_b = -0.625
_IAPWS_MU = 1.256
_IAPWS_TC = 647.096  # K


def water_surface_tension(temperature_c):
    r"""Surface tension of water against its vapour, IAPWS R1-76(2014).

    .. math:: \gamma = 235.8\,\tau^{1.256}(1 - 0.625\,\tau)\ \mathrm{mN/m},
              \quad \tau = 1 - T/(647.096\,\mathrm{K})

    Parameters
    ----------
    temperature_c : array_like
        Temperature [°C], from −25 °C (metastable extrapolation) to 373.946 °C.

    Returns
    -------
    ndarray
        Surface tension [mN/m].
    """
    t_k = np.asarray(temperature_c, dtype=float) + 273.15
    tau = 1.0 - t_k / _IAPWS_TC
    return _IAPWS_B * np.abs(tau) ** _IAPWS_MU * (1.0 + _IAPWS_b * tau) * (tau > 0)


def bubble_point_pressure(pore_diameter_m, surface_tension_mN_per_m, contact_angle_deg=0.0, shape_factor=1.0):
    r"""Bubble-point pressure of a wetted pore, ``P = 4·k·γ·cosθ/d``.

    Parameters
    ----------
    pore_diameter_m : array_like
        Limiting pore diameter [m] (0.2 µm = 0.2e-6 m).
    surface_tension_mN_per_m : array_like
        Surface tension of the wetting liquid [mN/m].
    contact_angle_deg : array_like
        Contact angle of the liquid on the membrane [°]; 0 for a fully wetting liquid.
    shape_factor : array_like
        Pore shape correction k [-]; 1 for a cylindrical capillary.

    Returns
    -------
    ndarray
        Differential gas pressure [bar].

    References
    ----------
    ASTM F316-03; PDA TR26.
    """
    gamma = np.asarray(surface_tension_mN_per_m, dtype=float) * 1e-3  # N/m
    cos_t = np.cos(np.deg2rad(np.asarray(contact_angle_deg, dtype=float)))
    d = np.asarray(pore_diameter_m, dtype=float)
    p_pa = 4.0 * np.asarray(shape_factor, dtype=float) * gamma * cos_t / d
    return p_pa / 1e5


def pore_diameter_from_bubble_point(pressure_bar, surface_tension_mN_per_m, contact_angle_deg=0.0,
                                    shape_factor=1.0):
    r"""Largest (limiting) pore diameter from a bubble point, ``d = 4·k·γ·cosθ/P``.

    Parameters
    ----------
    pressure_bar : array_like
        Bubble-point pressure [bar].
    surface_tension_mN_per_m, contact_angle_deg, shape_factor : array_like
        As in :func:`bubble_point_pressure`.

    Returns
    -------
    ndarray
        Pore diameter [m].
    """
    gamma = np.asarray(surface_tension_mN_per_m, dtype=float) * 1e-3
    cos_t = np.cos(np.deg2rad(np.asarray(contact_angle_deg, dtype=float)))
    p_pa = np.asarray(pressure_bar, dtype=float) * 1e5
    return 4.0 * np.asarray(shape_factor, dtype=float) * gamma * cos_t / p_pa


def bubble_point_for_fluid(bubble_point_bar, surface_tension_from, surface_tension_to,
                           contact_angle_from_deg=0.0, contact_angle_to_deg=0.0):
    r"""Carry a bubble point to another wetting fluid, ``P2 = P1·(γ2 cosθ2)/(γ1 cosθ1)``.

    Parameters
    ----------
    bubble_point_bar : array_like
        Bubble point with the first fluid [bar].
    surface_tension_from, surface_tension_to : array_like
        Surface tensions of the first and the second fluid [mN/m].
    contact_angle_from_deg, contact_angle_to_deg : array_like
        Their contact angles on the membrane [°].

    Returns
    -------
    ndarray
        Bubble point with the second fluid [bar].
    """
    num = np.asarray(surface_tension_to, dtype=float) * np.cos(np.deg2rad(contact_angle_to_deg))
    den = np.asarray(surface_tension_from, dtype=float) * np.cos(np.deg2rad(contact_angle_from_deg))
    return np.asarray(bubble_point_bar, dtype=float) * num / den


def bubble_point_at_temperature(bubble_point_bar, temperature_from_c, temperature_to_c):
    r"""Carry a water bubble point to another temperature by the ratio of water surface tensions.

    .. math:: P(T_2) = P(T_1)\,\gamma_w(T_2)/\gamma_w(T_1)

    with γ_w from :func:`water_surface_tension` (IAPWS R1-76(2014)).

    Parameters
    ----------
    bubble_point_bar : array_like
        Bubble point at ``temperature_from_c`` [bar].
    temperature_from_c, temperature_to_c : array_like
        Temperatures [°C].

    Returns
    -------
    ndarray
        Bubble point at ``temperature_to_c`` [bar].
    """
    return np.asarray(bubble_point_bar, dtype=float) * water_surface_tension(temperature_to_c) / \
        water_surface_tension(temperature_from_c)


def pressure_decay_flow(pressure_drop_bar, upstream_volume_L, duration_h,
                        atmospheric_pressure_bar=STANDARD_ATMOSPHERE_BAR):
    r"""Gas flow through the membrane from an upstream pressure decay, ``Q = ΔP·Vu/(Patm·Δt)``.

    Isothermal ideal gas; Q is the gas volume at atmospheric pressure per unit time.

    Parameters
    ----------
    pressure_drop_bar : array_like
        Pressure decay during the test [bar].
    upstream_volume_L : array_like
        Gas volume upstream of the membrane (housing, piping, less liquid) [L].
    duration_h : array_like
        Test (hold) time [h].
    atmospheric_pressure_bar : array_like
        Ambient pressure [bar] (1.01325 at sea level; lower at altitude).

    Returns
    -------
    ndarray
        Flow [L/h] at atmospheric pressure.
    """
    return (np.asarray(pressure_drop_bar, dtype=float) * np.asarray(upstream_volume_L, dtype=float)
            / (np.asarray(atmospheric_pressure_bar, dtype=float) * np.asarray(duration_h, dtype=float)))


def allowed_pressure_decay(flow_L_per_h, upstream_volume_L, duration_h,
                           atmospheric_pressure_bar=STANDARD_ATMOSPHERE_BAR):
    r"""Pressure decay that corresponds to a flow limit, ``ΔP = Q·Patm·Δt/Vu`` (inverse of the above).

    Parameters
    ----------
    flow_L_per_h : array_like
        Allowed diffusion flow [L/h].
    upstream_volume_L, duration_h, atmospheric_pressure_bar : array_like
        As in :func:`pressure_decay_flow`.

    Returns
    -------
    ndarray
        Pressure decay [bar].
    """
    return (np.asarray(flow_L_per_h, dtype=float) * np.asarray(atmospheric_pressure_bar, dtype=float)
            * np.asarray(duration_h, dtype=float) / np.asarray(upstream_volume_L, dtype=float))


def scale_to_area(limit_per_reference, reference_area_m2, area_m2):
    r"""Scale an area-proportional limit (diffusion / forward flow) to another membrane area.

    .. math:: Q_{max}(A) = Q_{max,ref}\,A / A_{ref}

    Parameters
    ----------
    limit_per_reference : array_like
        Limit for the reference area (e.g. per 10-inch cartridge) [L/h].
    reference_area_m2 : array_like
        Area the limit is stated for [m²].
    area_m2 : array_like
        Installed area [m²].

    Returns
    -------
    ndarray
        Limit for ``area_m2`` [L/h].
    """
    return np.asarray(limit_per_reference, dtype=float) * np.asarray(area_m2, dtype=float) / np.asarray(
        reference_area_m2, dtype=float)


def atmospheric_pressure_at_altitude(altitude_m):
    r"""Atmospheric pressure of the International Standard Atmosphere at an altitude above sea level.

    .. math:: P = 1.01325\,\mathrm{bar}\,\left(1 - \frac{L\,H}{T_0}\right)^{g_0 M/(R L)},
              \qquad H = \frac{r_0\,h}{r_0 + h}

    with T0 = 288.15 K, L = 0.0065 K/m, g0·M/(R·L) = 5.25588, i.e. L/T0 = 2.25577e-5 1/m, and the
    geopotential altitude H from the geometric altitude h (a site's elevation) with r0 = 6,356,766 m
    (ISO 2533:1975; ICAO Doc 7488). Valid in the troposphere, −610 m to 11,000 m; 1000 m gives
    898.76 hPa, as the ICAO table.

    Parameters
    ----------
    altitude_m : array_like
        Geometric altitude above mean sea level [m].

    Returns
    -------
    ndarray
        Atmospheric pressure [bar, absolute].
    """
    h = np.asarray(altitude_m, dtype=float)
    geopotential = 6356766.0 * h / (6356766.0 + h)
    return STANDARD_ATMOSPHERE_BAR * (1.0 - 2.25577e-5 * geopotential) ** 5.25588
