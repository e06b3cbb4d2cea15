r"""Fits for tangential-flow UF/DF development data.

* :func:`fit_gel_polarization` — k and Cg from limiting flux against bulk concentration. The gel
  model ``J = k ln(Cg/C) = k ln Cg − k ln C`` is a straight line in ln C: slope −k, x-intercept
  ln Cg (where J = 0). Ordinary least squares; the 95 % interval of k from the t distribution of
  the slope, the interval of Cg from Fieller's theorem for the x-intercept (a ratio of two fitted
  coefficients), which stays honest when Cg is a long extrapolation beyond the data.
* :func:`fit_mass_transfer` — a and b of ``k = a Q^b`` by log-log regression of k (or of the
  limiting flux itself, which is proportional to k at fixed bulk concentration) against crossflow.
* :func:`find_limiting_flux` — the knee of a TMP excursion (flux against TMP at fixed crossflow and
  concentration): the TMP beyond which more pressure buys little flux. Two documented methods,
  see the function.

Units: concentration g/L, flux and k LMH, TMP bar, crossflow as given (LMH of feed per membrane
area in fluxwise).

References
----------
Blatt, W. F., Dravid, A., Michaels, A. S., Nelsen, L. (1970), in Flinn (ed.), Membrane Science
and Technology, Plenum, 47-97 (the ln C plot of limiting flux).
Fieller, E. C. (1954). Some problems in interval estimation. J. R. Stat. Soc. B 16(2):175-185.
Muggeo, V. M. R. (2003). Estimating regression models with unknown break-points. Stat. Med.
22:3055-3071 (continuous two-segment regression; here solved by profiling the breakpoint).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, stats

from ..errors import InputError, ModelError
from ..models.ufdf import gel_polarization_flux

__all__ = [
    "GelPolarizationFit", "MassTransferFit", "LimitingFluxResult",
    "fit_gel_polarization", "fit_mass_transfer", "find_limiting_flux",
]


def _as_1d(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(arr)):
        raise InputError("contains a missing or non-numeric value", field=name)
    return arr


def _ols(x: np.ndarray, y: np.ndarray):
    """Straight-line least squares y = b0 + b1·x; returns coefficients, covariance, dof, R²."""
    design = np.column_stack([np.ones_like(x), x])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    dof = len(x) - 2
    s2 = float(resid @ resid) / dof if dof > 0 else np.nan
    cov = s2 * np.linalg.inv(design.T @ design)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else 1.0
    return beta, cov, dof, r2, resid


def _fieller_x_intercept(b0, b1, cov, tcrit):
    """Fieller interval for θ = −b0/b1 (where the line crosses y = 0); (−inf, inf) if unbounded."""
    v00, v01, v11 = cov[0, 0], cov[0, 1], cov[1, 1]
    t2 = tcrit ** 2
    qa = b1 * b1 - t2 * v11
    if qa <= 0:  # slope not significantly different from zero: interval unbounded
        return -np.inf, np.inf
    qb = b0 * b1 - t2 * v01
    qc = b0 * b0 - t2 * v00
    disc = qb * qb - qa * qc
    if disc < 0:
        return -np.inf, np.inf
    root = np.sqrt(disc)
    r1, r2 = (-qb - root) / qa, (-qb + root) / qa
    return min(r1, r2), max(r1, r2)


@dataclass(frozen=True)
class GelPolarizationFit:
    """Result of :func:`fit_gel_polarization` (fitted state; immutable)."""

    k_LMH: float
    k_ci_LMH: tuple[float, float]
    gel_concentration_g_per_L: float
    gel_concentration_ci_g_per_L: tuple[float, float]
    r_squared: float
    n_points: int
    confidence: float

    def flux(self, c):
        """Flux [LMH] predicted by the fitted model at concentration ``c`` [g/L]."""
        return gel_polarization_flux(c, self.k_LMH, self.gel_concentration_g_per_L)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class MassTransferFit:
    """Result of :func:`fit_mass_transfer`: ``k = a·Q^b`` (or ``J_lim = a·Q^b``)."""

    a: float
    a_ci: tuple[float, float]
    b: float
    b_ci: tuple[float, float]
    r_squared: float
    n_points: int
    confidence: float
    fitted_quantity: str  # "k_LMH" or "limiting_flux_LMH"

    def predict(self, q):
        """``a·q^b`` at crossflow ``q`` (same unit as the fit)."""
        return self.a * np.asarray(q, dtype=float) ** self.b

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LimitingFluxResult:
    """Result of :func:`find_limiting_flux`.

    ``knee_tmp_bar`` is None when the data show no knee in the tested range.
    """

    method: str
    knee_tmp_bar: float | None
    knee_flux_LMH: float | None
    limiting_flux_LMH: float
    initial_slope_LMH_per_bar: float
    final_slope_LMH_per_bar: float
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return d


def fit_gel_polarization(concentration_g_per_L, flux_LMH, *, confidence: float = 0.95) -> GelPolarizationFit:
    r"""Fit k and Cg of ``J = k ln(Cg/C)`` to limiting-flux data.

    Linear least squares of J on ln C: ``J = β0 + β1 ln C`` gives ``k = −β1`` and
    ``ln Cg = −β0/β1``. The interval of k is ``k ± t·se(β1)``; that of Cg is exp of the Fieller
    interval of the x-intercept ``−β0/β1``.

    Parameters
    ----------
    concentration_g_per_L : array_like
        Bulk concentration of each point [g/L], > 0, at least two distinct values.
    flux_LMH : array_like
        Limiting (pressure-independent) flux at each point [LMH].
    confidence : float
        Confidence level of the intervals (default 0.95).

    Returns
    -------
    GelPolarizationFit

    Raises
    ------
    InputError
        Fewer than three points, non-positive concentrations, or arrays of different length.
    ModelError
        Flux does not fall with concentration, so the model does not describe the data.
    """
    c = _as_1d(concentration_g_per_L, "concentration_g_per_L")
    j = _as_1d(flux_LMH, "flux_LMH")
    if c.shape != j.shape:
        raise InputError(f"has {j.size} values but concentration has {c.size}", field="flux_LMH")
    if c.size < 3:
        raise InputError(f"needs at least 3 points to fit k and Cg with an interval, got {c.size}",
                         field="concentration_g_per_L")
    if np.any(c <= 0):
        raise InputError("concentrations must be positive (the gel model uses ln C)",
                         field="concentration_g_per_L")
    if np.unique(c).size < 2:
        raise InputError("all points are at one concentration: vary the concentration",
                         field="concentration_g_per_L")
    beta, cov, dof, r2, _ = _ols(np.log(c), j)
    b0, b1 = float(beta[0]), float(beta[1])
    if b1 >= 0:
        raise ModelError(f"flux does not fall with concentration (slope {b1:+.3g} LMH per unit ln C): "
                         "the gel-polarisation model does not describe these data; are they limiting "
                         "(pressure-independent) fluxes?")
    tcrit = stats.t.ppf(0.5 + confidence / 2.0, dof) if dof > 0 else np.inf
    k = -b1
    se_k = float(np.sqrt(cov[1, 1]))
    lo, hi = _fieller_x_intercept(b0, b1, cov, tcrit)
    with np.errstate(over="ignore"):
        cg_ci = (float(np.exp(lo)), float(np.exp(hi)))
    return GelPolarizationFit(
        k_LMH=k, k_ci_LMH=(k - tcrit * se_k, k + tcrit * se_k),
        gel_concentration_g_per_L=float(np.exp(-b0 / b1)), gel_concentration_ci_g_per_L=cg_ci,
        r_squared=r2, n_points=int(c.size), confidence=confidence)


def fit_mass_transfer(crossflow, limiting_flux_LMH, *, concentration_g_per_L=None,
                      gel_concentration_g_per_L=None, confidence: float = 0.95) -> MassTransferFit:
    r"""Fit ``k = a·Q^b`` from limiting fluxes measured at several crossflows.

    ``ln k = ln a + b ln Q`` by least squares. When the bulk concentration and the gel
    concentration are given, each limiting flux is turned into ``k = J_lim / ln(Cg/C)`` first;
    otherwise the limiting flux itself is fitted (at fixed C it is proportional to k, so b is the
    same and a absorbs ``ln(Cg/C)``).

    Parameters
    ----------
    crossflow : array_like
        Crossflow of each point (feed flow per membrane area [LMH], or velocity, or flow), > 0.
    limiting_flux_LMH : array_like
        Limiting flux at each crossflow [LMH], > 0.
    concentration_g_per_L : float or array_like, optional
        Bulk concentration of the points [g/L].
    gel_concentration_g_per_L : float, optional
        Gel concentration [g/L], e.g. from :func:`fit_gel_polarization`.
    confidence : float
        Confidence level of the intervals.

    Returns
    -------
    MassTransferFit
        ``a`` with an interval from exp of the interval of ln a, ``b`` with a t interval.
    """
    q = _as_1d(crossflow, "crossflow")
    j = _as_1d(limiting_flux_LMH, "limiting_flux_LMH")
    if q.shape != j.shape:
        raise InputError(f"has {j.size} values but crossflow has {q.size}", field="limiting_flux_LMH")
    if q.size < 3:
        raise InputError(f"needs at least 3 crossflows to fit a and b with an interval, got {q.size}",
                         field="crossflow")
    if np.any(q <= 0) or np.any(j <= 0):
        raise InputError("crossflow and limiting flux must be positive for a log-log fit",
                         field="crossflow" if np.any(q <= 0) else "limiting_flux_LMH")
    if np.unique(q).size < 2:
        raise InputError("all points are at one crossflow: vary the crossflow", field="crossflow")
    quantity = "limiting_flux_LMH"
    y = j
    if concentration_g_per_L is not None and gel_concentration_g_per_L is not None:
        c = np.broadcast_to(np.asarray(concentration_g_per_L, dtype=float), j.shape)
        cg = float(gel_concentration_g_per_L)
        if np.any(c <= 0) or np.any(c >= cg):
            raise InputError(f"bulk concentration must be positive and below the gel concentration "
                             f"{cg:g} g/L", field="concentration_g_per_L")
        y = j / np.log(cg / c)
        quantity = "k_LMH"
    beta, cov, dof, r2, _ = _ols(np.log(q), np.log(y))
    tcrit = stats.t.ppf(0.5 + confidence / 2.0, dof) if dof > 0 else np.inf
    se = np.sqrt(np.diag(cov))
    ln_a, b = float(beta[0]), float(beta[1])
    return MassTransferFit(
        a=float(np.exp(ln_a)),
        a_ci=(float(np.exp(ln_a - tcrit * se[0])), float(np.exp(ln_a + tcrit * se[0]))),
        b=b, b_ci=(b - tcrit * float(se[1]), b + tcrit * float(se[1])),
        r_squared=r2, n_points=int(q.size), confidence=confidence, fitted_quantity=quantity)


def _hinge_sse(x, y, x0):
    design = np.column_stack([np.ones_like(x), x, np.maximum(x - x0, 0.0)])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    return float(resid @ resid), beta


def find_limiting_flux(tmp_bar, flux_LMH, *, method: str = "two-segment",
                       slope_fraction: float = 0.1) -> LimitingFluxResult:
    r"""Find the knee (start of the pressure-independent region) of a TMP excursion.

    Methods
    -------
    ``"two-segment"`` (default)
        Continuous piecewise-linear regression with one breakpoint x0:
        ``J = β0 + β1·TMP + β2·max(TMP − x0, 0)``. For each x0 the fit is linear least squares;
        x0 is the value that minimises the residual sum of squares (a scan over the data range,
        refined by bounded scalar minimisation). The knee is x0; the knee flux is the fitted flux
        there; the limiting flux is the fitted flux at the highest TMP tested. Needs ≥ 4 points.
    ``"slope-fraction"``
        Local slopes between neighbouring TMP levels (replicates averaged). The initial slope is
        that of the first interval; the knee is the first TMP level whose following interval has a
        slope below ``slope_fraction`` times the initial slope. The limiting flux is the largest
        mean flux measured. Needs ≥ 3 TMP levels.

    Parameters
    ----------
    tmp_bar : array_like
        Transmembrane pressure of each point [bar].
    flux_LMH : array_like
        Steady flux at each TMP [LMH].
    method : {"two-segment", "slope-fraction"}
        See above.
    slope_fraction : float
        Fraction of the initial slope that marks the knee (slope-fraction method; default 0.1).

    Returns
    -------
    LimitingFluxResult
    """
    x = _as_1d(tmp_bar, "tmp_bar")
    y = _as_1d(flux_LMH, "flux_LMH")
    if x.shape != y.shape:
        raise InputError(f"has {y.size} values but TMP has {x.size}", field="flux_LMH")
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    warnings: list[str] = []
    if method == "two-segment":
        levels = np.unique(x)
        if levels.size < 4:
            raise InputError(f"the two-segment method needs at least 4 TMP levels, got {levels.size}",
                             field="tmp_bar")
        # breakpoints strictly inside the data so that each segment has at least two levels
        lo, hi = levels[1], levels[-2]
        grid = np.linspace(lo, hi, 201)
        sse = np.array([_hinge_sse(x, y, g)[0] for g in grid])
        i = int(np.argmin(sse))
        a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        if b > a:
            res = optimize.minimize_scalar(lambda g: _hinge_sse(x, y, g)[0], bounds=(a, b),
                                           method="bounded", options={"xatol": 1e-10 * max(hi, 1.0)})
            x0 = float(res.x) if res.fun <= sse[i] else float(grid[i])
        else:
            x0 = float(grid[i])
        _, beta = _hinge_sse(x, y, x0)
        s1, s2 = float(beta[1]), float(beta[1] + beta[2])
        knee_flux = float(beta[0] + beta[1] * x0)
        lim = float(beta[0] + beta[1] * x[-1] + beta[2] * max(x[-1] - x0, 0.0))
        if s1 <= 0:
            warnings.append("flux does not rise with TMP in the first segment: the excursion may have "
                            "started above the limiting TMP; test lower pressures")
        if s1 > 0 and s2 > 0.5 * s1:
            warnings.append(f"no clear knee: the slope after the break ({s2:.3g} LMH/bar) is more than "
                            f"half the initial slope ({s1:.3g} LMH/bar); test higher TMP")
        return LimitingFluxResult(method=method, knee_tmp_bar=x0, knee_flux_LMH=knee_flux,
                                  limiting_flux_LMH=lim, initial_slope_LMH_per_bar=s1,
                                  final_slope_LMH_per_bar=s2, warnings=tuple(warnings))
    if method == "slope-fraction":
        if not 0 < slope_fraction < 1:
            raise InputError(f"must be between 0 and 1, got {slope_fraction}", field="slope_fraction")
        levels, inverse = np.unique(x, return_inverse=True)
        if levels.size < 3:
            raise InputError(f"the slope-fraction method needs at least 3 TMP levels, got {levels.size}",
                             field="tmp_bar")
        means = np.bincount(inverse, weights=y) / np.bincount(inverse)
        slopes = np.diff(means) / np.diff(levels)
        s0 = float(slopes[0])
        if s0 <= 0:
            raise ModelError("flux does not rise between the first two TMP levels: the knee cannot be "
                             "found; start the excursion at a lower TMP")
        below = np.nonzero(slopes < slope_fraction * s0)[0]
        if below.size == 0:
            warnings.append(f"no knee in the tested range: every local slope stays above "
                            f"{slope_fraction:g} × the initial slope; test higher TMP")
            knee_tmp = knee_flux = None
        else:
            knee_tmp, knee_flux = float(levels[below[0]]), float(means[below[0]])
        return LimitingFluxResult(method=method, knee_tmp_bar=knee_tmp, knee_flux_LMH=knee_flux,
                                  limiting_flux_LMH=float(means.max()), initial_slope_LMH_per_bar=s0,
                                  final_slope_LMH_per_bar=float(slopes[-1]), warnings=tuple(warnings))
    raise InputError(f"unknown method '{method}' (expected 'two-segment' or 'slope-fraction')",
                     field="method")
