r"""Bootstrap intervals of the fouling-model parameters, with the batched fitter.

Residual bootstrap (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, §9.5; Davison &
Hinkley 1997, *Bootstrap Methods and their Application*, Algorithm 6.1). Fit the model, keep the
fitted curve V̂(tᵢ) and the residuals eᵢ = yᵢ − V̂(tᵢ); centre them and inflate them by
√(n/(n − p)) (the "modified residuals", which undo the shrinkage of least-squares residuals,
Davison & Hinkley eq. 6.9 with equal leverages); then for b = 1..B draw e*ᵢ with replacement,
build the resampled trial y*ᵢ = V̂(tᵢ) + e*ᵢ and refit it. The B refits are one batch for
:func:`fluxwise.fit.batch.fit_model_batch` (same times, B rows), each started from the original
estimate, so they cost a few iterations each.

Block bootstrap (``method="block"``): the residuals of a cumulative filtrate curve are often
correlated in time (balance drift, a model that is nearly but not exactly right). The moving-block
bootstrap (Künsch 1989, Ann. Statist. 17:1217) resamples blocks of ``block_length`` consecutive
residuals (default ⌈n^(1/3)⌉, Hall, Horowitz & Jing 1995) and concatenates them, which keeps that
correlation inside each block.

Intervals are percentile intervals of the refitted parameters (Efron & Tibshirani 1993, §13.3):
the (1 − c)/2 and (1 + c)/2 quantiles of the B estimates. The samples themselves feed the Monte
Carlo sizing of :mod:`fluxwise.design.risk`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ModelError
from ..models.fouling import MODEL_NAMES, MODELS
from ..trial import CONSTANT_PRESSURE
from .batch import fit_model_batch, prepare_batch, starting_values_batch

__all__ = ["BootstrapResult", "bootstrap_fit", "bootstrap_trial", "resample_residuals", "METHODS"]

METHODS = ("residual", "block")


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap of one model fitted to one trial.

    Attributes
    ----------
    model : str
    param_names : tuple of str  ``("J0_LMH", <constants>)``.
    estimate : ndarray [p]  The fit of the trial itself.
    samples : ndarray [B, p]  Refitted parameters of the resampled trials that converged.
    n_resamples : int  Resamples drawn (B plus those that did not converge).
    method : str  ``"residual"`` or ``"block"``.
    block_length : int or None
    confidence : float  Level of :attr:`ci`.
    ci : dict  Parameter key -> (low, high), percentile interval.
    sse : float  SSE of the fit of the trial [L²/m⁴].
    """

    model: str
    param_names: tuple
    estimate: np.ndarray
    samples: np.ndarray
    n_resamples: int
    method: str
    block_length: int | None
    confidence: float
    ci: dict
    sse: float

    def interval(self, confidence: float) -> dict:
        """Percentile intervals at another level: key -> (low, high)."""
        return _percentile_ci(self.samples, self.param_names, confidence)

    def samples_dict(self) -> dict:
        """Samples by parameter key (the form :func:`fluxwise.design.risk.risk_based_sizing` takes)."""
        return {k: self.samples[:, j] for j, k in enumerate(self.param_names)}

    def std(self) -> dict:
        """Bootstrap standard errors by parameter key."""
        return {k: float(np.std(self.samples[:, j], ddof=1)) for j, k in enumerate(self.param_names)}

    def to_dict(self) -> dict:
        return {"model": self.model, "method": self.method, "block_length": self.block_length,
                "n_resamples": self.n_resamples, "n_converged": int(self.samples.shape[0]),
                "confidence": self.confidence,
                "estimate": {k: float(v) for k, v in zip(self.param_names, self.estimate, strict=True)},
                "ci": {k: [float(a), float(b)] for k, (a, b) in self.ci.items()},
                "std": self.std(), "sse": self.sse}


def _percentile_ci(samples, names, confidence):
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1, got {confidence}", field="confidence")
    lo, hi = (1 - confidence) / 2, (1 + confidence) / 2
    if samples.shape[0] == 0:
        return {k: (math.nan, math.nan) for k in names}
    q = np.quantile(samples, [lo, hi], axis=0)
    return {k: (float(q[0, j]), float(q[1, j])) for j, k in enumerate(names)}


def resample_residuals(residuals, n_resamples: int, *, method: str = "residual",
                       block_length: int | None = None, rng=None) -> np.ndarray:
    """Resampled residual series [B, n] (see the module docstring).

    Parameters
    ----------
    residuals : array [n]  Modified (centred, inflated) residuals.
    n_resamples : int  B.
    method : ``"residual"`` (i.i.d. draws) or ``"block"`` (moving blocks).
    block_length : int, optional  Block length; default ⌈n^(1/3)⌉.
    rng : numpy Generator, optional
    """
    rng = np.random.default_rng(rng)
    e = np.asarray(residuals, dtype=float)
    n = e.size
    if method == "residual":
        return e[rng.integers(0, n, size=(n_resamples, n))]
    if method == "block":
        L = int(block_length or math.ceil(n ** (1.0 / 3.0)))
        if not 1 <= L <= n:
            raise InputError(f"block length must be between 1 and the number of points ({n}), got {L}",
                             field="block_length")
        n_blocks = math.ceil(n / L)
        starts = rng.integers(0, n - L + 1, size=(n_resamples, n_blocks))
        idx = (starts[:, :, None] + np.arange(L)[None, None, :]).reshape(n_resamples, n_blocks * L)[:, :n]
        return e[idx]
    raise InputError(f"bootstrap method must be one of {', '.join(METHODS)}, got {method!r}", field="method")


def bootstrap_fit(t, y, model: str, *, params=None, n_resamples: int = 1000, method: str = "residual",
                  block_length: int | None = None, confidence: float = 0.95, seed=None, backend: str = "auto",
                  **fit_options) -> BootstrapResult:
    """Bootstrap one model on one constant-pressure trial.

    Parameters
    ----------
    t : array [m]  Time [h].
    y : array [m]  Throughput [L/m²].
    model : str  Model name.
    params : dict or array [p], optional  The fit to resample around (keys as in ``fit --json``,
        e.g. from :func:`fluxwise.fit.fouling.fit_trial`); default: fitted here with the batched
        fitter.
    n_resamples : int  B (default 1000).
    method : ``"residual"`` or ``"block"``.
    block_length : int, optional  Moving-block length (block method).
    confidence : float  Level of the percentile intervals.
    seed : int or numpy Generator, optional  Random stream (reproducible intervals).
    backend : str  Backend of the batched fitter.
    **fit_options : passed to :func:`fluxwise.fit.batch.fit_model_batch`.
    """
    if model not in MODELS:
        raise ModelError(f"unknown model '{model}' (expected one of: {', '.join(MODEL_NAMES)})")
    if n_resamples < 2:
        raise InputError(f"the bootstrap needs at least 2 resamples, got {n_resamples}", field="n_resamples")
    t, y, n_points = prepare_batch(np.ravel(t), np.ravel(y)[None, :])
    m = MODELS[model]
    names = m.all_params
    p = len(names)
    n = int(n_points[0])
    if n <= p + 1:
        raise InputError(f"model '{model}' has {p} parameters: the bootstrap needs more than {p + 1} points, "
                         f"got {n}", field="points")
    if params is None:
        fit = fit_model_batch(model, t, y, backend=backend, **fit_options)
        est = fit.params[0]
    elif isinstance(params, dict):
        try:
            est = np.array([float(params[k]) for k in names])
        except KeyError as exc:
            raise InputError(f"parameters of model '{model}' lack {exc.args[0]!r}", field="params") from None
    else:
        est = np.asarray(params, dtype=float).reshape(p)
    V = m.volume(t[0], *est)
    resid = y[0] - V
    sse = float(resid @ resid)
    mod = (resid - resid.mean()) * math.sqrt(n / (n - p))
    rng = np.random.default_rng(seed)
    ystar = V[None, :] + resample_residuals(mod, n_resamples, method=method, block_length=block_length,
                                            rng=rng)
    # a constant on its bound (0) starts just above it, at 1/1000 of its linearisation estimate
    # (as the scipy fitter's starts): the log-parameter fitter needs p > 0, and a resample may
    # move the constant off its bound
    start = est.copy()
    if np.any(start[1:] <= 0):
        lin = starting_values_batch(t, y)
        for j, k in enumerate(names[1:], start=1):
            if start[j] <= 0:
                start[j] = 1e-3 * float(lin[k][0])
    fits = fit_model_batch(model, t, ystar, start=np.tile(start, (n_resamples, 1)), backend=backend,
                           **fit_options)
    ok = fits.converged & np.all(np.isfinite(fits.params), axis=1)
    samples = fits.params[ok]
    L = int(block_length or math.ceil(n ** (1 / 3))) if method == "block" else None
    return BootstrapResult(model=model, param_names=names, estimate=est, samples=samples,
                           n_resamples=n_resamples, method=method, block_length=L,
                           confidence=confidence, ci=_percentile_ci(samples, names, confidence), sse=sse)


def bootstrap_trial(trial, models=None, *, fit=None, n_resamples: int = 1000, method: str = "residual",
                    block_length: int | None = None, confidence: float = 0.95, seed=None,
                    backend: str = "auto", **fit_options) -> dict:
    """Bootstrap every (or the named) model of a constant-pressure :class:`~fluxwise.trial.Trial`.

    Parameters
    ----------
    trial : Trial
    models : iterable of str, optional  Default all nine.
    fit : TrialFit, optional  Resample around these fits (:func:`fluxwise.fit.fouling.fit_trial`);
        default: fitted here with the batched fitter.
    n_resamples, method, block_length, confidence, seed, backend : see :func:`bootstrap_fit`.

    Returns
    -------
    dict  Model name -> :class:`BootstrapResult`.
    """
    if trial.mode != CONSTANT_PRESSURE:
        raise InputError("the bootstrap of the batched fitter needs a constant-pressure trial",
                         source=trial.source)
    names = list(models) if models else list(MODEL_NAMES)
    rng = np.random.default_rng(seed)
    out = {}
    for nm in names:
        params = fit.get(nm).params if fit is not None else None
        out[nm] = bootstrap_fit(trial.t_h, trial.v_L_per_m2, nm, params=params, n_resamples=n_resamples,
                                method=method, block_length=block_length, confidence=confidence, seed=rng,
                                backend=backend, **fit_options)
    return out
