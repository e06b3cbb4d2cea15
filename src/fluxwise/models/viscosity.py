r"""Viscosity of water, and what a change of viscosity does to the fouling constants.

Pure, vectorised functions: temperature °C, density kg/m³, viscosity mPa·s.

Water viscosity (IAPWS R12-08, the IAPWS formulation 2008; Huber et al. 2009, J. Phys. Chem. Ref.
Data 38:101-125)
------------------------------------------------------------------------------------------------
.. math:: \mu = \mu^*\,\bar\mu_0(\bar T)\,\bar\mu_1(\bar T, \bar\rho), \qquad
          \bar\mu_0 = \frac{100\sqrt{\bar T}}{\sum_{i=0}^{3} H_i/\bar T^i}, \qquad
          \bar\mu_1 = \exp\Big[\bar\rho \sum_{i=0}^{5}\sum_{j=0}^{6}
                      H_{ij}\,\big(\tfrac{1}{\bar T} - 1\big)^i (\bar\rho - 1)^j\Big]

with T̄ = T/647.096 K, ρ̄ = ρ/322 kg/m³, μ* = 1 µPa·s and the coefficients of the release's
Tables 1 and 2. The critical enhancement μ̄₂ is 1 away from the critical point and is left out, as
the release recommends for industrial use. The density of liquid water at 1 atm comes from
Kell's (1975) correlation, J. Chem. Eng. Data 20:97-105, eq. 16,

.. math:: \rho = \frac{999.83952 + 16.945176\,t - 7.9870401\cdot10^{-3}t^2
          - 46.170461\cdot10^{-6}t^3 + 105.56302\cdot10^{-9}t^4 - 280.54253\cdot10^{-12}t^5}
          {1 + 16.879850\cdot10^{-3}\,t}

(t in °C, 0-150 °C). Together they give 1.518 mPa·s at 5 °C, 1.002 at 20 °C and 0.890 at 25 °C,
within 0.001 mPa·s of the tabulated 1.519, 1.002 and 0.890 at atmospheric pressure (CRC Handbook of
Chemistry and Physics, "Viscosity of liquid water"), and m = μ(5 °C)/μ(20 °C) = 1.516.

Viscosity and the fouling constants
-----------------------------------
The resistance r(V) = J0/J = P/P0 of every fouling law (:mod:`fluxwise.models.fouling`) is a
property of the filter and of the foulant per volume filtered, not of the liquid's viscosity: by
Darcy's law J = ΔP/(μ·R(V)), so at a viscosity m times the trial's the clean flux at the same
pressure is J0/m and, at constant pressure, every time to reach a throughput is m times longer,
t_process(V) = m·t_trial(V). Written in the constants of Bolton et al. (2006) that is

    J0 -> J0/m, kb -> kb/m, kc -> kc·m;  ki, ks (and so Vmax, V50, V75, V90) unchanged,

which keeps kb/J0 (the blocked area per volume) and kc·J0 (the cake resistance over the medium's)
as they were. At constant flux the pressure of the clean filter at the same flux is m times
higher and the rise r(V) is unchanged: P0 -> P0·m, the set flux and the constants kept. Only the
hydraulics change: a colder feed can also precipitate, aggregate or change its fouling, which
no viscosity ratio describes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["water_density", "water_viscosity", "viscosity_ratio", "rescale_for_viscosity",
           "VISCOSITY_RANGE_C"]

#: Where the density correlation (and so this water viscosity) holds [°C]
VISCOSITY_RANGE_C = (0.0, 150.0)

_T_STAR = 647.096  # K
_RHO_STAR = 322.0  # kg/m³
_H = (1.67752, 2.20462, 0.6366564, -0.241605)
# (i, j) -> H_ij, IAPWS R12-08 Table 2 (the 21 non-zero coefficients)
_HIJ = {(0, 0): 5.20094e-1, (1, 0): 8.50895e-2, (2, 0): -1.08374, (3, 0): -2.89555e-1,
        (0, 1): 2.22531e-1, (1, 1): 9.99115e-1, (2, 1): 1.88797, (3, 1): 1.26613, (5, 1): 1.20573e-1,
        (0, 2): -2.81378e-1, (1, 2): -9.06851e-1, (2, 2): -7.72479e-1, (3, 2): -4.89837e-1,
        (4, 2): -2.57040e-1, (0, 3): 1.61913e-1, (1, 3): 2.57399e-1, (0, 4): -3.25372e-2,
        (3, 4): 6.98452e-2, (4, 5): 8.72102e-3, (3, 6): -4.35673e-3, (5, 6): -5.93264e-4}


def water_density(t_c):
    """Density of air-free liquid water at 1 atm [kg/m³] (Kell 1975, eq. 16; 0-150 °C).

    Parameters
    ----------
    t_c : array_like  Temperature [°C].
    """
    t = np.asarray(t_c, dtype=float)
    num = (999.83952 + 16.945176 * t - 7.9870401e-3 * t**2 - 46.170461e-6 * t**3
           + 105.56302e-9 * t**4 - 280.54253e-12 * t**5)
    return num / (1.0 + 16.879850e-3 * t)


def water_viscosity(t_c, density_kg_per_m3=None):
    """Dynamic viscosity of water [mPa·s] (IAPWS R12-08 without the critical enhancement).

    Parameters
    ----------
    t_c : array_like  Temperature [°C].
    density_kg_per_m3 : array_like, optional  Density [kg/m³]; default liquid water at 1 atm
        (:func:`water_density`).
    """
    t_c = np.asarray(t_c, dtype=float)
    rho = water_density(t_c) if density_kg_per_m3 is None else np.asarray(density_kg_per_m3, dtype=float)
    tb = (t_c + 273.15) / _T_STAR
    rb = rho / _RHO_STAR
    mu0 = 100.0 * np.sqrt(tb) / sum(h / tb**i for i, h in enumerate(_H))
    x, y = 1.0 / tb - 1.0, rb - 1.0
    s = sum(h * x**i * y**j for (i, j), h in _HIJ.items())
    return mu0 * np.exp(rb * s) / 1000.0  # µPa·s -> mPa·s


def viscosity_ratio(process_mPa_s, trial_mPa_s):
    """m = μ_process/μ_trial [-]."""
    return np.asarray(process_mPa_s, dtype=float) / np.asarray(trial_mPa_s, dtype=float)


def rescale_for_viscosity(params: dict, m) -> dict:
    """Fouling parameters at a viscosity ``m`` times the trial's (see the module docstring).

    ``params`` are keyed as in ``fit --json`` (``J0_LMH``, ``kb_per_h``, ``ki_m2_per_L``,
    ``ks_m2_per_L``, ``kc_h_m4_per_L2``, and ``P0_bar`` for a constant-flux fit); values may be
    numbers or arrays (e.g. bootstrap samples). Constant pressure (no ``P0_bar``): J0/m, kb/m, kc·m.
    Constant flux (``P0_bar`` present): P0·m, the set flux ``J0_LMH`` and the constants kept.
    """
    out = dict(params)
    if "P0_bar" in params:
        out["P0_bar"] = params["P0_bar"] * m
        return out
    for key, power in (("J0_LMH", -1), ("kb_per_h", -1), ("kc_h_m4_per_L2", 1)):
        if key in params:
            out[key] = params[key] * m**power
    return out
