"""The classical linearised analyses of a trial: Vmax from the t/V line, Pmax at constant flux, and
whether the t/V line is straight enough for Vmax to mean anything.

These read one slope off a straight line (no model fitting): quick, familiar from vendor calculators
and the literature, and valid for standard blocking only. :mod:`fluxwise.fit.fouling` reports them
beside the fitted models and uses the same lines for its starting values.
"""

from __future__ import annotations

import numpy as np

from ..trial import CONSTANT_PRESSURE, Trial
from .distributions import student_t_cdf

__all__ = ["vmax_analysis", "pmax_analysis", "vmax_linearity", "VMAX_MIN_R2", "VMAX_CURVATURE_P",
           "VMAX_MAX_BEND"]


def _linfit(x, y):
    """Least-squares line y = a + b·x on finite points; (a, b) or (nan, nan)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return np.nan, np.nan
    b, a = np.polyfit(x[ok], y[ok], 1)
    return float(a), float(b)


def vmax_analysis(trial: Trial) -> dict:
    """Classical Vmax from the t/V vs t line (standard-blocking linearisation).

    t/V = 1/J0 + t/Vmax (Badmington, Wilkins & Honig 1995, Pharm. Technol. 19:64), so the slope is
    1/Vmax [m²/L] and the intercept 1/J0 [h·m²/L].
    """
    t, v = trial.t_h, trial.v_L_per_m2
    ok = (t > 0) & (v > 0)
    a, b = _linfit(t[ok], t[ok] / v[ok])
    vmax = 1.0 / b if b > 0 else float("inf")
    j0 = 1.0 / a if a > 0 else float("nan")
    return {"method": "t/V vs t", "vmax_L_per_m2": float(vmax), "J0_LMH": float(j0),
            "slope_m2_per_L": b, "intercept_h_m2_per_L": a}


def pmax_analysis(trial: Trial, flux_LMH: float) -> dict:
    """Constant-flux "Pmax" analysis: √(P0/P) = 1 − V/Vmax (standard blocking at constant flux).

    Regresses 1/√P on V: intercept 1/√P0, slope −1/(√P0·Vmax) (Zydney & Ho 2002, Biotechnol.
    Bioeng. 83:537). Returns Vmax [L/m²] and P0 [bar].
    """
    v, p = trial.v_L_per_m2, trial.pressure_bar
    ok = p > 0
    a, b = _linfit(v[ok], 1.0 / np.sqrt(p[ok]))
    vmax = -a / b if b < 0 else float("inf")
    p0 = 1.0 / a**2 if a > 0 else float("nan")
    return {"method": "sqrt(P0/P) vs V", "vmax_L_per_m2": float(vmax), "J0_LMH": float(flux_LMH),
            "P0_bar": float(p0)}


#: The t/V line is taken as straight when its R² is at least this (Badmington et al. 1995 read Vmax off
#: a straight line; below it the slope is no longer one number).
VMAX_MIN_R2 = 0.99
#: Curvature test: a quadratic term significant at this level ...
VMAX_CURVATURE_P = 1e-3
#: ... that bends t/V by more than this fraction of its mean over the trial.
VMAX_MAX_BEND = 0.01


def vmax_linearity(trial: Trial) -> dict | None:
    """Whether the classical Vmax holds: is the t/V vs t line of a constant-pressure trial straight?

    Vmax = 1/slope of t/V = 1/J0 + t/Vmax holds for standard blocking only (Badmington, Wilkins &
    Honig 1995); data of another mechanism bend the line and the slope, hence Vmax, depends on how long
    the trial ran (Zydney & Ho 2002 show the bias). Two tests, either one failing says "not
    applicable":

    - R² of the straight line below :data:`VMAX_MIN_R2`;
    - a curvature test: the quadratic t/V = a + b·t + c·t² fitted by least squares, c tested against 0
      with Student's t on n − 3 degrees of freedom; the line counts as curved when p <
      :data:`VMAX_CURVATURE_P` *and* the quadratic departs from the line by more than
      :data:`VMAX_MAX_BEND` of the mean t/V somewhere in the trial (a significant but negligible bend
      of a long, quiet trial does not count).

    Returns ``{"r2", "curvature_p", "bend", "applicable", "reason"}`` (``bend`` as a fraction), or None
    at constant flux or with fewer than 4 usable points.
    """
    if trial.mode != CONSTANT_PRESSURE:
        return None
    t, v = trial.t_h, trial.v_L_per_m2
    ok = (t > 0) & (v > 0) & np.isfinite(t) & np.isfinite(v)
    t, y = t[ok], t[ok] / v[ok]
    n = t.size
    if n < 4 or np.ptp(t) == 0:
        return None
    scale = t.max()  # fit in t/t_max: a well-conditioned design matrix
    x = t / scale
    line_x = np.column_stack([np.ones(n), x])
    line_coef = np.linalg.lstsq(line_x, y, rcond=None)[0]
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - line_x @ line_coef) ** 2)) / ss_tot if ss_tot > 0 else 1.0
    quad_x = np.column_stack([np.ones(n), x, x * x])
    quad_coef = np.linalg.lstsq(quad_x, y, rcond=None)[0]
    resid = y - quad_x @ quad_coef
    dof = n - 3
    s2 = float(resid @ resid) / dof
    var_c = s2 * float(np.linalg.inv(quad_x.T @ quad_x)[2, 2])
    if var_c > 0:
        p = 2.0 * student_t_cdf(-abs(quad_coef[2]) / np.sqrt(var_c), dof)
    else:
        p = 0.0 if quad_coef[2] != 0 else 1.0
    bend = float(np.max(np.abs(quad_x @ quad_coef - line_x @ line_coef)) / abs(y.mean()))
    curved = p < VMAX_CURVATURE_P and bend > VMAX_MAX_BEND
    reasons = []
    if r2 < VMAX_MIN_R2:
        reasons.append(f"R² of the line {r2:.4f} < {VMAX_MIN_R2}")
    if curved:
        reasons.append(f"curvature test: quadratic term p = {p:.2g}, the line misses the trend by up to "
                       f"{bend * 100:.2g} % of t/V")
    return {"r2": r2, "curvature_p": p, "bend": bend, "applicable": not reasons,
            "reason": "; ".join(reasons)}
