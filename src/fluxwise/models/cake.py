r"""Cake filtration in engineering units: specific cake resistance, medium resistance, compressibility.

Pure, vectorised functions; no I/O. Unlike the rest of :mod:`fluxwise.models` these take SI values
where the textbook equations are written in them: pressure difference ``dp`` [Pa], viscosity ``mu``
[Pa·s], cake solids ``c`` [kg/m³ of filtrate] (dry cake solids per filtrate volume, not packed cell
volume); the fouling constants keep the units of :mod:`fluxwise.models.fouling` (J0 [L/m²/h], kc
[h·m⁴/L²], throughput V [L/m²]).

Ruth's constant-pressure filtration equation (Ruth 1935; Geankoplis 2003, §14.2; per unit area with
v = V/A [m]):

.. math:: t = \frac{\mu\,\alpha\,c}{2\,\Delta P}\,v^2 + \frac{\mu\,R_m}{\Delta P}\,v

matches fluxwise's cake law t = V/J0 + kc·V²/2 (V in L/m² = 1000·v, t in h = 3600·t_s) term by term:

.. math:: \alpha = \frac{3.6\times10^9\,k_c\,\Delta P}{\mu\,c}\ [\mathrm{m/kg}], \qquad
          R_m = \frac{3.6\times10^6\,\Delta P}{\mu\,J_0}\ [\mathrm{1/m}]

(3.6e9 = 3600 s/h × 10⁶ (L/m³)²/(m³/m²)…: kc·(1000 v)²/2 h = μαc v²/(2ΔP) s; 3.6e6 = 3600 × 1000).
Under a combined model these are *apparent* values (the cake term of a cake-plus-blocking fit).

Compressibility. A compressible cake's specific resistance grows with pressure as a power law
(alpha = alpha0·(−Δp)^s; Geankoplis 2003, §14.2; McCabe, Smith & Harriott 2005, ch. 29), written here with
a stated reference pressure so that alpha_ref keeps its unit, ``alpha = alpha_ref·(ΔP/ΔP_ref)^s``;
s = 0 is incompressible. The medium resistance is given the same form, ``Rm = Rm_ref·(ΔP/ΔP_ref)^n``
(n = 0: a rigid medium), fitted rather than assumed constant.

At constant flux J the pressure solves the implicit Darcy law (the resistances depend on it)

.. math:: \Delta P = \frac{\mu J}{3.6\times10^6}
          \left(R_m(\Delta P) + \frac{\alpha(\Delta P)\,c\,V}{1000}\right)

which :func:`constant_flux_pressure` solves by a bracketed root search in ln ΔP.

References
----------
Ruth, B. F. (1935). Studies in filtration III. Derivation of general filtration equations. Ind. Eng.
Chem. 27:708-723.
McCabe, W. L., Smith, J. C., Harriott, P. (2005). Unit Operations of Chemical Engineering, 7th ed.,
McGraw-Hill, ch. 29 (filtration; compressible cakes).
Geankoplis, C. J. (2003). Transport Processes and Separation Process Principles, 4th ed., Prentice
Hall, §14.2.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

__all__ = ["specific_cake_resistance", "medium_resistance", "cake_constant", "clean_flux", "power_law",
           "medium_pressure_fraction", "constant_flux_pressure", "constant_flux_capacity"]

_ALPHA = 3.6e9  # (s/h)·(L/m³)² per (m³/m²): kc [h·m⁴/L²] -> μαc/ΔP [s/m²]
_RM = 3.6e6  # (s/h)·(L/m³): 1/J0 [h·m²/L] -> μRm/ΔP [s/m]


def specific_cake_resistance(kc, dp_pa, mu_pa_s, c_kg_per_m3):
    r"""Specific cake resistance from the cake constant, ``alpha = 3.6e9·kc·ΔP/(μ·c)``.

    Parameters
    ----------
    kc : array_like  Cake constant [h·m⁴/L²] (:func:`fluxwise.models.fouling.cake_filtration`).
    dp_pa : array_like  Pressure difference across filter and cake [Pa].
    mu_pa_s : array_like  Filtrate viscosity [Pa·s].
    c_kg_per_m3 : array_like  Dry cake solids per filtrate volume [kg/m³].

    Returns
    -------
    ndarray  alpha [m/kg].
    """
    return _ALPHA * np.asarray(kc, float) * np.asarray(dp_pa, float) / (
        np.asarray(mu_pa_s, float) * np.asarray(c_kg_per_m3, float))


def medium_resistance(j0, dp_pa, mu_pa_s):
    r"""Filter medium resistance from the clean flux, ``Rm = 3.6e6·ΔP/(μ·J0)``.

    Parameters
    ----------
    j0 : array_like  Initial (clean) flux [L/m²/h].
    dp_pa : array_like  Pressure difference [Pa].
    mu_pa_s : array_like  Viscosity [Pa·s].

    Returns
    -------
    ndarray  Rm [1/m].
    """
    return _RM * np.asarray(dp_pa, float) / (np.asarray(mu_pa_s, float) * np.asarray(j0, float))


def cake_constant(alpha, dp_pa, mu_pa_s, c_kg_per_m3):
    """The cake constant kc [h·m⁴/L²] of a specific resistance alpha [m/kg] (inverse of
    :func:`specific_cake_resistance`)."""
    return np.asarray(alpha, float) * np.asarray(mu_pa_s, float) * np.asarray(c_kg_per_m3, float) / (
        _ALPHA * np.asarray(dp_pa, float))


def clean_flux(rm, dp_pa, mu_pa_s):
    """The clean flux J0 = 3.6e6·ΔP/(μ·Rm) [L/m²/h] (inverse of :func:`medium_resistance`)."""
    return _RM * np.asarray(dp_pa, float) / (np.asarray(mu_pa_s, float) * np.asarray(rm, float))


def power_law(dp, value_ref, dp_ref, exponent):
    """``value_ref·(dp/dp_ref)^exponent`` — alpha(ΔP) or Rm(ΔP) of a compressibility fit (any one
    pressure unit for dp and dp_ref)."""
    return np.asarray(value_ref, float) * (np.asarray(dp, float) / np.asarray(dp_ref, float)) ** np.asarray(
        exponent, float)


def medium_pressure_fraction(rm, alpha, c_kg_per_m3, v_L_per_m2):
    r"""Share of the pressure drop taken by the filter medium after throughput V,
    ``Rm/(Rm + alpha·c·V/1000)`` [-] (1 on the clean filter, falling as the cake grows).

    Parameters
    ----------
    rm : array_like  Medium resistance [1/m].
    alpha : array_like  Specific cake resistance [m/kg].
    c_kg_per_m3 : array_like  Cake solids per filtrate volume [kg/m³].
    v_L_per_m2 : array_like  Throughput [L/m²].
    """
    rm = np.asarray(rm, float)
    return rm / (rm + np.asarray(alpha, float) * np.asarray(c_kg_per_m3, float) * np.asarray(v_L_per_m2,
                                                                                             float)
                 / 1000.0)


def _resistance_sum(dp, v, c, alpha_ref, s, rm_ref, n, dp_ref):
    return power_law(dp, rm_ref, dp_ref, n) + power_law(dp, alpha_ref, dp_ref, s) * c * v / 1000.0


def constant_flux_pressure(v_L_per_m2, flux_LMH, mu_pa_s, c_kg_per_m3, *, alpha_ref, s, rm_ref, n, dp_ref_pa):
    r"""Pressure [Pa] of a compressible cake filtered at constant flux, after throughput V.

    Solves ΔP = μJ/3.6e6·(Rm(ΔP) + alpha(ΔP)·c·V/1000) with the power laws of the module docstring,
    for ΔP > 0, by Brent's method on ln ΔP. The root is unique when s < 1 and n < 1 (the right side
    grows more slowly than ΔP); beyond that a cake can need ever more pressure (no root: ``inf``).

    Parameters
    ----------
    v_L_per_m2 : array_like  Throughput [L/m²].
    flux_LMH : float  Constant flux [L/m²/h].
    mu_pa_s, c_kg_per_m3 : float  Viscosity [Pa·s] and cake solids [kg/m³].
    alpha_ref, s : float  Specific resistance at dp_ref [m/kg] and its compressibility [-].
    rm_ref, n : float  Medium resistance at dp_ref [1/m] and its exponent [-].
    dp_ref_pa : float  Reference pressure [Pa].

    Returns
    -------
    ndarray  ΔP [Pa].
    """
    v = np.atleast_1d(np.asarray(v_L_per_m2, float))
    k = mu_pa_s * flux_LMH / _RM
    out = np.empty_like(v)
    for i, vi in enumerate(v):
        def g(lnp, vi=vi):
            p = np.exp(lnp)
            return np.log(k * _resistance_sum(p, vi, c_kg_per_m3, alpha_ref, s, rm_ref, n, dp_ref_pa)) - lnp

        lo, hi = np.log(dp_ref_pa) - 1.0, np.log(dp_ref_pa) + 1.0
        for _ in range(200):  # widen until g changes sign: g > 0 at small ΔP, < 0 at large
            if g(lo) > 0 and g(hi) < 0:
                break
            lo, hi = (lo - 1.0 if g(lo) <= 0 else lo), (hi + 1.0 if g(hi) >= 0 else hi)
        else:
            out[i] = np.inf
            continue
        out[i] = np.exp(optimize.brentq(g, lo, hi, xtol=1e-14, rtol=1e-13))
    return out if np.ndim(v_L_per_m2) else out[0]


def constant_flux_capacity(max_dp_pa, flux_LMH, mu_pa_s, c_kg_per_m3, *, alpha_ref, s, rm_ref, n, dp_ref_pa):
    r"""Throughput [L/m²] at which constant-flux filtration of a compressible cake reaches ΔPmax.

    At ΔP = ΔPmax the resistances are fixed, so Darcy's law gives V in closed form:
    ``V = 1000·(3.6e6·ΔPmax/(μJ) − Rm(ΔPmax))/(alpha(ΔPmax)·c)``; 0 when the clean medium alone
    needs ΔPmax at that flux. The same V solves :func:`constant_flux_pressure` = ΔPmax.
    """
    rm = power_law(max_dp_pa, rm_ref, dp_ref_pa, n)
    alpha = power_law(max_dp_pa, alpha_ref, dp_ref_pa, s)
    v = 1000.0 * (_RM * np.asarray(max_dp_pa, float) / (mu_pa_s * np.asarray(flux_LMH, float)) - rm) / (
        alpha * c_kg_per_m3)
    return np.maximum(v, 0.0)
