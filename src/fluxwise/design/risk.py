r"""Risk-based sizing: the filter area that finishes the batch in time with a stated probability.

Conventional sizing multiplies the minimum area by a fixed safety factor (about 1.5). This module
replaces the factor by an explicit probability. At constant pressure a filter of area A filters
the batch Vb within the process time tb when Vb/A ≤ V(tb), i.e. when A ≥ Vb/V(tb), with V(t) the
throughput of the fitted model (:data:`fluxwise.models.fouling.MODELS`, closed form). Monte Carlo
(Metropolis & Ulam 1949) over what is uncertain gives the distribution of the required area

    A_i = Vb_i / V(tb_i; J0_i, k_i/f_i),   i = 1..N,

and the risk-based area is its quantile at the confidence c: the area that meets the batch in a
fraction c of the draws (the empirical quantile, ``numpy.quantile(method="inverted_cdf")``). The
implied safety factor is that area over the deterministic minimum area of
:func:`fluxwise.design.sizing.min_area_constant_pressure` at the nominal batch.

Sources of uncertainty, combined draw by draw:

* Parameters: rows drawn with replacement from ``param_samples`` (e.g. the bootstrap of
  :mod:`fluxwise.fit.uncertainty`), which carries the trial's own noise and the correlation of
  the parameters.
* Feed variability between lots: a lot factor f, log-normal with median 1 and coefficient of
  variation ``feed_cv`` (σ_ln = √(ln(1 + cv²))), divides every fouling constant. All Hermia and
  Bolton constants are proportional to the foulant load of the feed (Hermia 1982; Bolton et al.
  2006), so k/f multiplies every capacity (Vmax = 2/ks, V90, ...) by f: ``feed_cv`` is the CV of
  Vmax between lots. The trial's lot is taken as a typical (median) lot.
* Batch volume and process time: a number, or a range (lo, hi) drawn uniformly.

Known answer used by the tests: standard blocking with only lot variability has
A = Vb/(J0·tb) + Vb/(f·Vmax), decreasing in f, so its c-quantile is
Vb/(J0·tb) + (Vb/Vmax)·exp(σ_ln·z_c) with z_c the standard normal quantile.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DesignError, InputError
from ..models.fouling import MODELS, get_model
from .sizing import DEFAULT_SAFETY_FACTOR, min_area_constant_pressure

__all__ = ["risk_based_sizing", "size_with_confidence", "draw_scenarios", "lot_factors"]

QUANTILES = (0.05, 0.5, 0.9, 0.95, 0.99)


def _range(value, name):
    """A number or a (lo, hi) range -> (lo, hi, nominal)."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise InputError(f"a range needs two numbers (low, high), got {list(value)}", field=name)
        lo, hi = float(value[0]), float(value[1])
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise InputError(f"range must satisfy 0 < low <= high, got ({lo}, {hi})", field=name)
        return lo, hi, 0.5 * (lo + hi)
    v = float(value)
    if not (v > 0 and math.isfinite(v)):
        raise InputError(f"must be a positive number, got {value!r}", field=name)
    return v, v, v


def _as_json(value):
    return [float(v) for v in value] if isinstance(value, (tuple, list, np.ndarray)) else float(value)


def lot_factors(feed_cv: float, n: int, rng) -> np.ndarray:
    """Lot-to-lot capacity factors f: log-normal, median 1, coefficient of variation ``feed_cv``."""
    if feed_cv < 0 or not math.isfinite(feed_cv):
        raise InputError(f"feed CV must be zero or positive, got {feed_cv}", field="feed_cv")
    if feed_cv == 0:
        return np.ones(n)
    sigma = math.sqrt(math.log1p(feed_cv * feed_cv))
    return np.exp(sigma * rng.standard_normal(n))


def _param_matrix(model, params, param_samples):
    names = MODELS[model].all_params
    try:
        point = np.array([float(params[k]) for k in names])
    except KeyError as exc:
        raise InputError(f"parameters of model '{model}' lack {exc.args[0]!r}", field="params") from None
    if param_samples is None:
        return point, None
    if hasattr(param_samples, "samples_dict"):  # a BootstrapResult
        param_samples = param_samples.samples_dict()
    if isinstance(param_samples, dict):
        try:
            cols = [np.asarray(param_samples[k], dtype=float).ravel() for k in names]
        except KeyError as exc:
            raise InputError(f"parameter samples lack {exc.args[0]!r}", field="param_samples") from None
        if len({c.size for c in cols}) != 1:
            raise InputError("parameter samples must all have the same length", field="param_samples")
        S = np.stack(cols, axis=1)
    else:
        S = np.asarray(param_samples, dtype=float)
        if S.ndim != 2 or S.shape[1] != len(names):
            raise InputError(f"parameter samples must have shape (n, {len(names)}) in the order "
                             f"{', '.join(names)}, got {S.shape}", field="param_samples")
    S = S[np.all(np.isfinite(S), axis=1) & (S[:, 0] > 0)]
    if S.shape[0] == 0:
        raise InputError("no usable parameter samples (all non-finite)", field="param_samples")
    return point, S


def draw_scenarios(model: str, params: dict, param_samples=None, *, batch_volume_L, process_time_h,
                   feed_cv: float = 0.0, n_draws: int = 100_000, seed=None) -> dict:
    """The Monte Carlo draws and the required area of each [m²] (see the module docstring).

    Returns a dict of arrays: ``J0_LMH`` and the constants (after the lot factor), ``lot_factor``,
    ``batch_volume_L``, ``process_time_h``, ``capacity_L_per_m2`` (V(tb)) and ``area_m2`` (inf where
    the draw cannot filter anything in the time).
    """
    get_model(model)
    if n_draws < 1:
        raise InputError(f"at least one draw is needed, got {n_draws}", field="n_draws")
    rng = np.random.default_rng(seed)
    names = MODELS[model].all_params
    point, S = _param_matrix(model, params, param_samples)
    if S is None:
        P = np.broadcast_to(point, (n_draws, point.size))
    else:
        P = S[rng.integers(0, S.shape[0], n_draws)]
    f = lot_factors(feed_cv, n_draws, rng)
    vlo, vhi, _ = _range(batch_volume_L, "batch_volume_L")
    tlo, thi, _ = _range(process_time_h, "process_time_h")
    vb = rng.uniform(vlo, vhi, n_draws) if vhi > vlo else np.full(n_draws, vlo)
    tb = rng.uniform(tlo, thi, n_draws) if thi > tlo else np.full(n_draws, tlo)
    J0 = P[:, 0]
    k = [P[:, j] / f for j in range(1, P.shape[1])]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        cap = MODELS[model].volume(tb, J0, *k)
        area = np.where(np.isfinite(cap) & (cap > 0), vb / np.where(cap > 0, cap, 1.0), np.inf)
    out = {names[0]: J0}
    out.update({nm: kk for nm, kk in zip(names[1:], k, strict=True)})
    out.update(lot_factor=f, batch_volume_L=vb, process_time_h=tb, capacity_L_per_m2=cap, area_m2=area)
    return out


def risk_based_sizing(model: str, params: dict, param_samples=None, batch_volume_L=None,
                      process_time_h=None, *, confidence: float = 0.95, feed_cv: float = 0.0,
                      n_draws: int = 100_000, seed=None, bins: int = 60,
                      conventional_safety_factor: float = DEFAULT_SAFETY_FACTOR) -> dict:
    """Area that filters the batch in time with probability ``confidence`` (constant pressure).

    Parameters
    ----------
    model : str  Fouling model name.
    params : dict  Fitted parameters (keys as in ``fit --json``: ``J0_LMH``, constants).
    param_samples : BootstrapResult, dict {key: array} or array [n, p], optional  Parameter
        uncertainty (model order ``J0_LMH``, constants); None: the parameters are taken as exact.
    batch_volume_L : float or (lo, hi)  Batch volume [L]; a range is drawn uniformly.
    process_time_h : float or (lo, hi)  Process time [h]; a range is drawn uniformly.
    confidence : float  Probability that the area meets the batch, e.g. 0.95.
    feed_cv : float  Lot-to-lot coefficient of variation of the feed's capacity (Vmax) [-].
    n_draws : int  Monte Carlo draws (default 100,000).
    seed : int, optional  Random stream (reproducible results).
    bins : int  Bins of the histogram of the required area (for the report's plot).
    conventional_safety_factor : float  The fixed factor whose probability of success is reported.

    Returns
    -------
    dict (JSON-ready) with keys ``confidence``, ``risk_based_area_m2``, ``implied_safety_factor``
    (= risk-based area / deterministic minimum area), ``deterministic_min_area_m2``,
    ``nominal_batch_volume_L``, ``nominal_process_time_h``, ``feed_cv``, ``n_draws``,
    ``n_param_samples``, ``area_quantiles_m2`` (quantile -> area), ``conventional_safety_factor``,
    ``probability_conventional_meets``, ``infeasible_fraction`` and ``histogram`` (``edges_m2``,
    ``counts``: the distribution of the required area, for a plot).
    """
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}",
                         field="confidence")
    if batch_volume_L is None or process_time_h is None:
        raise DesignError("risk-based sizing needs a batch volume and a process time")
    _, _, vnom = _range(batch_volume_L, "batch_volume_L")
    _, _, tnom = _range(process_time_h, "process_time_h")
    draws = draw_scenarios(model, params, param_samples, batch_volume_L=batch_volume_L,
                           process_time_h=process_time_h, feed_cv=feed_cv, n_draws=n_draws, seed=seed)
    area = draws["area_m2"]
    det = min_area_constant_pressure(model, params, vnom, tnom)
    risk = float(np.quantile(area, confidence, method="inverted_cdf"))
    qs = {f"{q:g}": float(np.quantile(area, q, method="inverted_cdf")) for q in QUANTILES}
    finite = area[np.isfinite(area)]
    if finite.size:
        lo, hi = np.quantile(finite, [0.001, 0.999])
        hi = hi if hi > lo else lo * 1.01
        counts, edges = np.histogram(finite, bins=bins, range=(float(lo), float(hi)))
    else:
        counts, edges = np.zeros(bins, dtype=int), np.linspace(0, 1, bins + 1)
    n_samples = 0 if param_samples is None else _param_matrix(model, params, param_samples)[1].shape[0]
    return {
        "model": model,
        "confidence": float(confidence),
        "risk_based_area_m2": risk,
        "implied_safety_factor": risk / det if math.isfinite(risk) else math.inf,
        "deterministic_min_area_m2": det,
        "nominal_batch_volume_L": vnom,
        "nominal_process_time_h": tnom,
        "batch_volume_L": _as_json(batch_volume_L),
        "process_time_h": _as_json(process_time_h),
        "feed_cv": float(feed_cv),
        "n_draws": int(n_draws),
        "n_param_samples": int(n_samples),
        "area_quantiles_m2": qs,
        "conventional_safety_factor": float(conventional_safety_factor),
        "probability_conventional_meets": float(np.mean(area <= conventional_safety_factor * det)),
        "infeasible_fraction": float(np.mean(~np.isfinite(area))),
        "histogram": {"edges_m2": [float(e) for e in edges], "counts": [int(c) for c in counts]},
    }


def size_with_confidence(trial, model: str, params: dict, *, batch_volume_L, process_time_h,
                         confidence: float = 0.95, feed_cv: float = 0.0, n_resamples: int = 1000,
                         n_draws: int = 100_000, bootstrap_method: str = "residual", seed=0,
                         backend: str = "auto", viscosity_ratio: float = 1.0) -> dict:
    """Bootstrap the fitted model on its trial, then :func:`risk_based_sizing` (``size --confidence``).

    Parameters
    ----------
    trial : Trial  The constant-pressure trial the parameters were fitted to.
    model, params : the fitted model and its parameters (e.g. ``fit_trial(trial).best``).
    batch_volume_L, process_time_h, confidence, feed_cv, n_draws : see :func:`risk_based_sizing`.
    n_resamples : int  Bootstrap resamples (default 1000).
    bootstrap_method : ``"residual"`` or ``"block"``.
    seed : int  One seed for the bootstrap and the draws (reproducible output).
    viscosity_ratio : float  m = μ_process/μ_trial: the fitted parameters and every bootstrap sample
        are moved to the process viscosity (:func:`fluxwise.models.viscosity.rescale_for_viscosity`)
        before the Monte Carlo.

    Returns
    -------
    dict  :func:`risk_based_sizing`'s keys, plus ``bootstrap`` (the intervals of the parameters).
    """
    from ..fit.fouling import bin_trial
    from ..fit.uncertainty import bootstrap_fit
    from ..trial import CONSTANT_PRESSURE

    if trial.mode != CONSTANT_PRESSURE:
        raise DesignError("risk-based sizing (--confidence) is available at constant pressure only")
    # a long trial is resampled as the bin means it was fitted to (fluxwise.fit.fouling.fit_trial)
    trial, binning = bin_trial(trial)
    rng = np.random.default_rng(seed)
    boot = bootstrap_fit(trial.t_h, trial.v_L_per_m2, model, params=params, n_resamples=n_resamples,
                         method=bootstrap_method, confidence=confidence, seed=rng, backend=backend)
    samples = boot
    if viscosity_ratio != 1.0:
        from ..models.viscosity import rescale_for_viscosity

        params = rescale_for_viscosity(params, viscosity_ratio)
        samples = rescale_for_viscosity(boot.samples_dict(), viscosity_ratio)
    out = risk_based_sizing(model, params, samples, batch_volume_L, process_time_h, confidence=confidence,
                            feed_cv=feed_cv, n_draws=n_draws, seed=rng)
    out["bootstrap"] = {**boot.to_dict(), "binning": binning}
    return out
