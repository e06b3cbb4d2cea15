r"""Residual diagnostics of a fit: are the residuals independent, as least squares assumes?

The intervals of :func:`fluxwise.fit.fouling.fit_model` and the AICc ranking assume independent
errors. Bench rigs break that: a balance that drifts, a pump that pulses, a temperature that
creeps, or a model that is nearly but not exactly right all leave residuals that follow each other
in time. Positively correlated residuals make the intervals too narrow and inflate the likelihood
gain of every extra parameter, so AICc favours the combined models and "ties" mean less.

Statistics of the residuals e₁..eₙ in time order:

* lag-1 autocorrelation r₁ = Σₜ₌₂ (eₜ − ē)(eₜ₋₁ − ē) / Σₜ (eₜ − ē)² (Box, Jenkins & Reinsel 2008,
  *Time Series Analysis*, §2.1.4);
* Durbin-Watson d = Σₜ₌₂ (eₜ − eₜ₋₁)² / Σₜ eₜ² (Durbin & Watson 1950, Biometrika 37:409),
  about 2(1 − r₁): 2 for independent residuals, towards 0 for positive correlation;
* the Wald-Wolfowitz runs test on the signs of the residuals (Wald & Wolfowitz 1940, Ann. Math.
  Stat. 11:147): with n₊ positive and n₋ negative residuals, R runs have mean
  μ = 2n₊n₋/n + 1 and variance σ² = (μ − 1)(μ − 2)/(n − 1); z = (R − μ)/σ, and too few runs
  (z < 0) mean positively correlated residuals.

The decision: residuals are called autocorrelated when r₁ exceeds z₁₋α/√n, the one-sided test of
zero autocorrelation at level α = 5 % with Bartlett's (1946) large-sample standard error 1/√n of
r₁ under independence. One-sided, because positive correlation is what narrows the intervals;
the residuals of a fitted model are slightly negatively correlated (about −p/n) when the errors are
independent, so the level stays at or below α.

What to do about it: intervals that allow for AR(1) errors (``intervals="ar1"`` in
:func:`fluxwise.fit.fouling.fit_trial`, :func:`ar1_covariance` here) or the moving-block bootstrap
(:func:`fluxwise.fit.uncertainty.bootstrap_fit` with ``method="block"``).

AR(1) covariance of least squares (Seber & Wild 1989, *Nonlinear Regression*, §6.2): with errors
εₜ = φεₜ₋₁ + uₜ the error covariance is Σᵢⱼ = σ²φ^|i−j| (σ² the variance of εₜ), and the least-squares
estimate has the sandwich covariance

    cov = (JᵀJ)⁻¹ JᵀΣJ (JᵀJ)⁻¹,

with φ estimated from the residuals by the method of moments, the φ whose expected residual lag-1
correlation under the fitted curve's hat matrix equals the observed one (:func:`ar1_phi`; the
lag-1 correlation of residuals is biased low, the fit takes up part of it), and σ² by
SSE/tr((I − H)R) = SSE/(n − tr((JᵀJ)⁻¹JᵀRJ)), R = Σ/σ², H the hat matrix: the unbiased
estimate when the errors are correlated (SSE/(n − p) is too small, the fit takes up the slow part
of correlated noise; Seber & Wild 1989, §6.2.2). The intervals use Student's t with the effective
degrees of freedom n(1 − φ)/(1 + φ) − p. ΣJ is computed without forming Σ: for a column x,
(Σx)ᵢ/σ² = fᵢ + bᵢ − xᵢ with the forward and backward recursions fᵢ = xᵢ + φfᵢ₋₁ and
bᵢ = xᵢ + φbᵢ₊₁ (two linear filters, :func:`scipy.signal.lfilter`).
"""

from __future__ import annotations

import math

import numpy as np

from .distributions import normal_cdf, normal_quantile

__all__ = ["durbin_watson", "lag1_autocorrelation", "runs_test", "residual_diagnostics",
           "ar1_phi", "ar1_covariance", "autocorrelation_warning", "ALPHA", "MIN_POINTS"]

ALPHA = 0.05
MIN_POINTS = 8  # fewer residuals say nothing about their correlation
_PHI_MAX = 0.98


def durbin_watson(e) -> float:
    """Durbin-Watson statistic d = Σ(eₜ − eₜ₋₁)²/Σeₜ² [-] (2 for independent residuals)."""
    e = np.asarray(e, dtype=float)
    ss = float(e @ e)
    return float(np.sum(np.diff(e) ** 2) / ss) if ss > 0 else float("nan")


def lag1_autocorrelation(e) -> float:
    """Lag-1 autocorrelation r₁ of a series [-]."""
    e = np.asarray(e, dtype=float)
    d = e - e.mean()
    ss = float(d @ d)
    return float(d[1:] @ d[:-1] / ss) if ss > 0 else float("nan")


def runs_test(e) -> dict:
    """Wald-Wolfowitz runs test on the signs of ``e`` (zeros left out).

    Returns ``runs``, ``expected_runs``, ``z`` and ``p_fewer`` (one-sided p-value of as few runs or
    fewer, the sign of positive autocorrelation).
    """
    s = np.sign(np.asarray(e, dtype=float))
    s = s[s != 0]
    n = s.size
    npos, nneg = int(np.sum(s > 0)), int(np.sum(s < 0))
    if n < 2 or npos == 0 or nneg == 0:
        return {"runs": int(n > 0), "expected_runs": float("nan"), "z": float("nan"), "p_fewer": float("nan")}
    runs = 1 + int(np.sum(s[1:] != s[:-1]))
    mu = 2.0 * npos * nneg / n + 1.0
    var = (mu - 1.0) * (mu - 2.0) / (n - 1.0)
    z = (runs - mu) / math.sqrt(var) if var > 0 else float("nan")
    return {"runs": runs, "expected_runs": mu, "z": z, "p_fewer": normal_cdf(z)}


def residual_diagnostics(residuals, *, alpha: float = ALPHA) -> dict:
    """Independence diagnostics of residuals in time order (see the module docstring).

    Returns a JSON-ready dict: ``n``, ``lag1_autocorrelation``, ``durbin_watson``, ``runs``,
    ``expected_runs``, ``runs_z``, ``runs_p``, ``threshold`` (the r₁ above which the residuals are
    called autocorrelated, z₁₋α/√n) and ``autocorrelated`` (bool; False with fewer than
    :data:`MIN_POINTS` residuals, which cannot tell).
    """
    e = np.asarray(residuals, dtype=float)
    e = e[np.isfinite(e)]
    n = int(e.size)
    r1 = lag1_autocorrelation(e) if n >= 3 else float("nan")
    runs = runs_test(e)
    threshold = normal_quantile(1.0 - alpha) / math.sqrt(n) if n > 0 else float("nan")
    flagged = bool(n >= MIN_POINTS and math.isfinite(r1) and r1 > threshold)
    return {"n": n, "lag1_autocorrelation": r1, "durbin_watson": durbin_watson(e) if n >= 2 else float("nan"),
            "runs": runs["runs"], "expected_runs": runs["expected_runs"], "runs_z": runs["z"],
            "runs_p": runs["p_fewer"], "threshold": threshold, "alpha": alpha, "autocorrelated": flagged}


def autocorrelation_warning(model: str, diagnostics: dict) -> str | None:
    """The sentence a user reads when the residuals of ``model`` are autocorrelated, else None."""
    if not diagnostics or not diagnostics.get("autocorrelated"):
        return None
    d = diagnostics
    return (f"autocorrelated residuals: the residuals of '{model}' follow each other in time (lag-1 r = "
            f"{d['lag1_autocorrelation']:.2f}, Durbin-Watson {d['durbin_watson']:.2f}, n = {d['n']}; "
            f"independent residuals give r near 0 and Durbin-Watson near 2): the ordinary 95 % intervals are "
            f"too narrow and AICc favours models with more parameters, so treat the ranking and any tie "
            f"with caution; use intervals that allow for it (fit --intervals ar1, or size --confidence with "
            f"--bootstrap-method block) and check the rig for drift, pulsation or temperature change")


def _ar1_filter(x, phi):
    """R·x for the AR(1) correlation matrix Rᵢⱼ = φ^|i−j| (columns of x), in O(n)."""
    from scipy import signal  # AR(1) intervals only: a slow import the plain fit does not pay

    fwd = signal.lfilter([1.0], [1.0, -phi], x, axis=0)
    bwd = signal.lfilter([1.0], [1.0, -phi], x[::-1], axis=0)[::-1]
    return fwd + bwd - x


def _shift(x):
    """(Lx)ₜ = xₜ₋₁, x₀ -> 0."""
    out = np.zeros_like(x)
    out[1:] = x[:-1]
    return out


def expected_residual_r1(phi: float, q) -> float:
    """E[Σ eₜeₜ₋₁]/E[Σ eₜ²] of least-squares residuals e = (I − QQᵀ)ε under AR(1) errors.

    ``q`` [n, p] is an orthonormal basis of the Jacobian's columns. With M = I − QQᵀ and L the lag
    operator the ratio is tr(MLMR)/tr(MR), expanded into n x p products so that no n x n matrix is
    formed.
    """
    n = q.shape[0]
    rq = _ar1_filter(q, phi)
    num = ((n - 1) * phi - np.trace(q.T @ _shift(rq)) - np.trace(rq.T @ _shift(q))
           + np.trace((q.T @ _shift(q)) @ (q.T @ rq)))
    den = n - np.trace(q.T @ rq)
    return float(num / den)


def ar1_phi(residuals, jac=None) -> float:
    """AR(1) coefficient of the errors behind least-squares residuals, in [0, 0.98].

    Without ``jac``: r₁ with the Marriott-Pope (1954) bias correction r₁ + (1 + 3r₁)/n (the bias
    of a series about its mean). With the Jacobian [n, p] of the fit: the φ whose expected residual
    lag-1 correlation (:func:`expected_residual_r1`, the ratio of expected quadratic forms of
    Durbin & Watson 1950, §3) equals the observed Σeₜeₜ₋₁/Σeₜ², which also undoes the part of the
    correlation the fitted curve takes up.
    """
    e = np.asarray(residuals, dtype=float)
    n = e.size
    if n < 3 or not float(e @ e) > 0:
        return 0.0
    if jac is None:
        r1 = lag1_autocorrelation(e)
        return float(min(max(r1 + (1.0 + 3.0 * r1) / n, 0.0), _PHI_MAX)) if math.isfinite(r1) else 0.0
    q, _ = np.linalg.qr(np.asarray(jac, dtype=float))
    r_obs = float(e[1:] @ e[:-1] / (e @ e))
    lo, hi = expected_residual_r1(0.0, q), expected_residual_r1(_PHI_MAX, q)
    if r_obs <= lo:
        return 0.0
    if r_obs >= hi:
        return _PHI_MAX
    from scipy import optimize  # AR(1) intervals only

    return float(optimize.brentq(lambda ph: expected_residual_r1(ph, q) - r_obs, 0.0, _PHI_MAX, xtol=1e-6))


def ar1_covariance(jac, residuals, phi: float | None = None) -> tuple[np.ndarray, float, float]:
    """Covariance of least-squares parameters under AR(1) errors (sandwich; module docstring).

    Parameters
    ----------
    jac : array [n, p]  Jacobian of the model at the estimate (rows in time order).
    residuals : array [n]  Residuals at the estimate.
    phi : float, optional  AR(1) coefficient; default :func:`ar1_phi` of the residuals and ``jac``.

    Returns
    -------
    (cov [p, p], phi, dof) with dof the degrees of freedom for Student's t:
    n·(1 − φ)/(1 + φ) − p, the effective number of independent points of an AR(1) series
    (Bayley & Hammersley 1946, J. R. Stat. Soc. Suppl. 8:184) less the parameters, at least 1.
    """
    J = np.asarray(jac, dtype=float)
    e = np.asarray(residuals, dtype=float)
    n = e.size
    norms = np.linalg.norm(J, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    Js = J / norms  # column scaling keeps JᵀJ invertible in working precision (J0 ~ 1e3, kc ~ 1e-6)
    phi = ar1_phi(e, Js) if phi is None else float(phi)
    meat = Js.T @ _ar1_filter(Js, phi)  # JᵀRJ, R the AR(1) correlation matrix
    bread = np.linalg.pinv(Js.T @ Js)
    # E[SSE] = σ²·tr((I − H)R) = σ²·(n − tr((JᵀJ)⁻¹JᵀRJ)): the unbiased σ² under correlated errors
    # (SSE/(n − p) underestimates it, the fit absorbs the slow part of correlated noise)
    s2 = float(e @ e) / max(n - float(np.trace(bread @ meat)), 1.0)
    cov = s2 * (bread @ meat @ bread)
    dof_eff = max(n * (1.0 - phi) / (1.0 + phi) - J.shape[1], 1.0)
    return cov / np.outer(norms, norms), phi, float(dof_eff)
