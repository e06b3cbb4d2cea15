r"""Batched least squares: many constant-pressure trials x all nine fouling models in one pass.

The per-trial fitter (:func:`fluxwise.fit.fouling.fit_trial`) calls scipy once per trial and
model. Screening campaigns and bootstraps need thousands to millions of such fits, so this module
fits a whole batch at once: arrays ``t[n_trials, n_points]`` [h] and ``y[n_trials, n_points]``
(throughput V [L/m²]), one vectorised Levenberg-Marquardt iteration for all trials of a chunk.

The combined-model columns are written without cancellation (e.g. v·e^(−x) − V through its
series for small x), so that the derivative of a constant near 0 stays accurate and can bring it
off its bound.

Problem
-------
For each trial and model, minimise SSE(p) = Σᵢ (V(tᵢ; p) − yᵢ)² over the parameters
p = (J0, k₁[, k₂]) ≥ 0 of :data:`fluxwise.models.fouling.MODELS` — the model, parameterisation and
objective of :func:`~fluxwise.fit.fouling.fit_model` — with the same starting values (the
classical linearisations, :func:`starting_values_batch`). A combined model holds its two parent
laws (:func:`parent_laws`: the model with one constant at 0), and its least-squares surface often
has a minimum near such a boundary and another inside. :func:`fit_batch` therefore fits the
single laws first and starts each combined model from both parents' solutions (the other constant
on its bound) and from half of both linearisation estimates (:func:`probe_starts`; without the
parents' fits, the three starts of the scipy fitter): ``probe_iter`` loose iterations from each
start, then the fit continues from the best; a fit that ends with a constant on or near its
bound (below 1/1000 of its estimate) runs once more from the best other start that ended inside
(:func:`second_chance`), and the lower SSE is kept. Finally a combined fit that ended above one
of its parents' SSE continues from that parent's solution (:func:`reach_parent_laws`), so that
it never ends above it.

Algorithm (Levenberg 1944, Q. Appl. Math. 2:164; Marquardt 1963, SIAM J. Appl. Math. 11:431)
-----------------------------------------------------------------------------------------
With residuals r = V − y and the Jacobian in relative units, G = p·∂V/∂p [n_points x n_params],
each step solves

    (GᵀG + λ·diag(GᵀG)) δ = −Gᵀr

in closed form (n_params ≤ 3, after Marquardt's scaling to a unit diagonal) and moves
p' = p·(1 + δ). A step that would make a constant negative puts it on its bound (the projected
step); a constant on its bound that would go further down is held there and the other components
solve the damped model without it; a rise is limited to a factor e³ per step. A step is kept when
it lowers the SSE; λ follows Nielsen's (1999) gain-ratio update (Madsen, Nielsen & Tingleff 2004,
*Methods for non-linear least squares problems*, eq. 3.15). The model and its Jacobian are
evaluated together at the trial point, so an accepted step costs one evaluation. A fit stops when
the gradient is orthogonal to the residuals within ``gtol`` (Moré 1978), or when an accepted step
changed the SSE by less than ``ftol`` or ln p by less than ``xtol`` *and* the undamped
Gauss-Newton model predicts no worthwhile further decrease (a damped step is small in a curved
valley too). Converged fits leave the working arrays, so later iterations only touch the fits
that still move. The geodesic acceleration (Transtrum & Sethna 2012) is available as an option.

Backends: ``numpy`` (this module; the reference), ``numba`` (:mod:`fluxwise.fit.numba_backend`,
the same algorithm compiled, one pass over the points per evaluation, parallel over trials; used
by ``backend="auto"`` for large batches when numba is installed) and ``jax``
(:mod:`fluxwise.fit.jax_backend`, GPU).

Analytic Jacobians (all as p·∂V/∂p, s = J0·t)
---------------------------------------------
Inner laws v(t):

* none (V = s): J0·∂v/∂J0 = v.
* standard: v = s/d, d = 1 + ks·s/2: J0·∂v/∂J0 = v/d, ks·∂v/∂ks = −v·(d − 1)/d.
* cake: v = 2s/(q + 1), q = √(1 + 2·kc·J0·s); from t = v/J0 + kc·v²/2 and 1/J0 + kc·v = q/J0
  (implicit differentiation): J0·∂v/∂J0 = v/q, kc·∂v/∂kc = −v·(q − 1)/(2q).

Outer laws V = g(v) (chain rule, Bolton et al. 2006 compositions):

* complete, σ = kb/J0, x = σ·v, V = (1 − e^(−x))/σ: ∂V/∂v = e^(−x) and σ·∂V/∂σ = v·e^(−x) − V,
  so J0·∂V/∂J0 = e^(−x)·J0·∂v/∂J0 − (v·e^(−x) − V), kb·∂V/∂kb = v·e^(−x) − V,
  k_in·∂V/∂k_in = e^(−x)·k_in·∂v/∂k_in.
* intermediate, x = ki·v, V = ln(1 + x)/ki: ∂V/∂v = 1/(1 + x), ki·∂V/∂ki = v/(1 + x) − V.

Cake-standard, t = V/(J0·a) + kc·V²/2 with a = 1 − ks·V/2 (no closed-form V(t)): V by Newton's
method on this convex, increasing t(V) (warm-started from the previous iterate, clipped to the
upper bound min(V_cake, V_standard) above the root), and by the implicit-function theorem
p·∂V/∂p = −p·F_p/F_V with F = t(V) − t, F_V = 1/(J0·a²) + kc·V, J0·F_J0 = −V/(J0·a),
ks·F_ks = V·(1 − a)/(J0·a²), kc·F_kc = kc·V²/2.

Ragged trials: pass ``mask[n_trials, n_points]`` (True = measured point) with the measured points
first in each row. Padded points are set to t = 0, V = 0, where every model and every Jacobian
column is exactly 0, so they drop out of the sums without weights.

Memory depends on ``chunk_size`` only (plus the inputs the caller holds and the results, a few
numbers per fit): the chunks are cut from the inputs as they are fitted, so a ``numpy.memmap``
input is read one chunk at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, ModelError
from ..models.fouling import MODEL_NAMES, MODELS

__all__ = ["BatchModelFit", "BatchFit", "fit_batch", "fit_model_batch", "starting_values_batch",
           "model_jacobian", "prepare_batch", "parent_laws", "reach_parent_laws", "MULTISTART_FACTORS"]

# Combined models: start from each parent law (the other constant 1000x smaller) and from half of
# both, the starts of the scipy fitter (fluxwise.fit.fouling.fit_model).
MULTISTART_FACTORS = ((1.0, 1e-3), (1e-3, 1.0), (0.5, 0.5))
# a constant may fall e^-60 ≈ 1e-26 below its start: far below any effect on V, far above underflow
_LOG_FLOOR = 60.0
# A constant below 1e-3 of its linearisation estimate is near its bound: a fit that ends there
# gets a second chance from another start (a boundary minimum can hide a lower one inside).
NEAR_BOUND = math.log(1e3)
# iterations of each start of the multi-start before the best one continues, and their tolerances
PROBE_ITER = 12
_PROBE_TOL = 1e-6
_PROBE_GTOL = 1e-8
# SSE tolerance of "no worse than the parent law" (rounding of the two evaluation paths)
_NESTED_RTOL = 1e-12
_TINY = 1e-300


# ----------------------------------------------------------------------------- model + Jacobian

def _phi_exp(x, xp):
    """(1 − e^(−x))/x, exact as x → 0."""
    small = xp.abs(x) < 1e-8
    xs = xp.where(small, 1.0, x)
    return xp.where(small, 1.0 - x / 2.0, -xp.expm1(-xs) / xs)


def _phi_log(x, xp):
    """ln(1 + x)/x, exact as x → 0."""
    small = xp.abs(x) < 1e-8
    xs = xp.where(small, 1.0, x)
    return xp.where(small, 1.0 - x / 2.0, xp.log1p(xs) / xs)


def _psi_exp(x, xp):
    """e^(−x) − (1 − e^(−x))/x without cancellation (series −x/2 + x²/3 − x³/8 + x⁴/30 for small x)."""
    small = xp.abs(x) < 1e-2
    xs = xp.where(small, 1.0, x)
    series = x * (-0.5 + x * (1.0 / 3.0 + x * (-0.125 + x / 30.0)))
    return xp.where(small, series, xp.exp(-xs) + xp.expm1(-xs) / xs)


def _psi_log(x, xp):
    """1/(1 + x) − ln(1 + x)/x without cancellation (series −x/2 + 2x²/3 − 3x³/4 + 4x⁴/5)."""
    small = xp.abs(x) < 1e-2
    xs = xp.where(small, 1.0, x)
    series = x * (-0.5 + x * (2.0 / 3.0 + x * (-0.75 + x * 0.8)))
    return xp.where(small, series, 1.0 / (1.0 + xs) - xp.log1p(xs) / xs)


def _inner(kind, t, J0, k, xp):
    """Inner law v(t) with J0·∂v/∂J0 and k·∂v/∂k (None when the law has no constant)."""
    s = J0 * t
    if kind == "none":
        return s, s, None
    if kind == "standard":
        ds = (k * 0.5) * s  # d − 1, kept apart so that a tiny ks keeps its derivative
        d = 1.0 + ds
        v = s / d
        vj = v / d
        return v, vj, -vj * ds
    if kind == "cake":
        z = (2.0 * k) * J0 * s
        q = xp.sqrt(1.0 + z)
        v = 2.0 * s / (q + 1.0)
        vj = v / q
        return v, vj, -0.5 * vj * (z / (q + 1.0))  # q − 1 = z/(q + 1), exact for a tiny kc
    raise ValueError(kind)


def _cake_standard_solve(t, J0, ks, kc, xp, v0=None, iterations=None):
    """V(t) of the cake-standard model by safeguarded Newton iterations (see module docstring)."""
    s = J0 * t
    ub = xp.minimum(2.0 * s / (xp.sqrt(1.0 + (2.0 * kc) * J0 * s) + 1.0), s / (1.0 + (ks * 0.5) * s))
    v = ub if v0 is None else xp.minimum(xp.maximum(v0, 0.0), ub)
    n_it = 60 if iterations is None else iterations
    for _ in range(n_it):
        a = 1.0 - (ks * 0.5) * v
        ja = J0 * a
        f = v / ja + (kc * 0.5) * v * v - t
        df = 1.0 / (ja * a) + kc * v
        step = f / df
        v = xp.minimum(xp.maximum(v - step, 0.0), ub)
        # Newton converges quadratically: after a step below 1e-8·V the error is at rounding level
        if iterations is None and xp is np and bool(np.all(np.abs(step) <= 1e-8 * v + 1e-300)):
            break
    return v


def model_jacobian(name, t, params, *, xp=np, v0=None, newton_iterations=None):
    """Model V(t) and its Jacobian with respect to the log-parameters, θ = ln p.

    Parameters
    ----------
    name : str  Model name (``fluxwise.models.fouling.MODEL_NAMES``).
    t : array [n, m] or [1, m]  Time [h].
    params : sequence of arrays [n, 1]  J0 [L/m²/h] and the model's constants in model order.
    xp : module  ``numpy`` or ``jax.numpy``.
    v0 : array, optional  Previous V (cake-standard only): warm start of the Newton solve.
    newton_iterations : int, optional  Fixed number of Newton iterations (for compiled backends).

    Returns
    -------
    V : array [n, m]  Throughput [L/m²].
    cols : list of arrays [n, m]  p_j·∂V/∂p_j [L/m²], in the order of ``params``.
    """
    m = MODELS[name]
    J0 = params[0]
    if m.outer == "series":  # cake-standard
        ks, kc = params[1], params[2]
        V = _cake_standard_solve(t, J0, ks, kc, xp, v0, newton_iterations)
        a = 1.0 - (ks * 0.5) * V
        ja = J0 * a
        inv_fv = 1.0 / (1.0 / (ja * a) + kc * V)
        u = V / ja
        return V, [u * inv_fv, -(u * ((ks * 0.5) * V) / a) * inv_fv, -((kc * 0.5) * V * V) * inv_fv]
    kout = params[1] if m.outer != "none" else None
    kin = params[-1] if m.inner != "none" else None
    v, vj, vk = _inner(m.inner, t, J0, kin, xp)
    if m.outer == "none":
        return v, [vj, vk]
    if m.outer == "complete":
        x = (kout / J0) * v
        e = xp.exp(-x)
        V = v * _phi_exp(x, xp)
        dk = v * _psi_exp(x, xp)  # v·e^(−x) − V
        cols = [e * vj - dk, dk]
        if vk is not None:
            cols.append(e * vk)
        return V, cols
    # intermediate
    x = kout * v
    inv = 1.0 / (1.0 + x)
    V = v * _phi_log(x, xp)
    cols = [vj * inv, v * _psi_log(x, xp)]  # v/(1 + x) − V
    if vk is not None:
        cols.append(vk * inv)
    return V, cols


# ----------------------------------------------------------------------------- inputs

def prepare_batch(t, y, mask=None):
    """Validate and sanitise a batch: float64 arrays, padded points set to t = 0 and y = 0.

    Parameters
    ----------
    t : array_like [n, m], [1, m] or [m]  Time [h]; a single row is shared by all trials.
    y : array_like [n, m]  Throughput [L/m²].
    mask : array_like of bool [n, m], optional  Measured points, first in each row.

    Returns
    -------
    t, y : ndarray  float64, t of shape [n, m] or [1, m].
    n_points : ndarray of int [n]  Measured points per trial.
    """
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2:
        raise InputError(f"y must be a 2-D array [trials, points], got shape {y.shape}", field="y")
    t = np.asarray(t, dtype=float)
    if t.ndim == 1:
        t = t[None, :]
    if t.ndim != 2 or t.shape[1] != y.shape[1] or t.shape[0] not in (1, y.shape[0]):
        raise InputError(f"t of shape {t.shape} does not match y of shape {y.shape}", field="t")
    n, m = y.shape
    if mask is None:
        n_points = np.full(n, m, dtype=np.int64)
        bad = ~(np.isfinite(y).all(axis=1) & np.isfinite(t).all(axis=1))
        if bad.any():
            raise InputError(f"{int(bad.sum())} trial(s) hold non-finite values (first: row "
                             f"{int(np.argmax(bad))}); pass a mask to leave points out", field="y")
        return t, y, n_points
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != y.shape:
        raise InputError(f"mask of shape {mask.shape} does not match y of shape {y.shape}", field="mask")
    if m > 1 and np.any(mask[:, 1:] & ~mask[:, :-1]):
        row = int(np.argmax(np.any(mask[:, 1:] & ~mask[:, :-1], axis=1)))
        raise InputError(f"the measured points of each trial must come first (row {row} has a gap)",
                         field="mask")
    n_points = mask.sum(axis=1).astype(np.int64)
    t = np.where(mask, np.broadcast_to(t, y.shape), 0.0)
    y = np.where(mask, y, 0.0)
    if not (np.isfinite(t).all() and np.isfinite(y).all()):
        raise InputError("measured points hold non-finite values", field="y")
    return t, y, n_points


def _gradient_batch(f, x, last):
    """Row-wise second-order finite-difference derivative df/dx, as ``numpy.gradient(edge_order=2)``.

    ``last`` [n] is the index of each row's last measured point (rows are left-aligned).
    """
    n, m = f.shape
    x = np.broadcast_to(x, f.shape)
    g = np.full(f.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        if m >= 3:
            hs = x[:, 1:-1] - x[:, :-2]
            hd = x[:, 2:] - x[:, 1:-1]
            g[:, 1:-1] = (hs * hs * f[:, 2:] + (hd * hd - hs * hs) * f[:, 1:-1] - hd * hd * f[:, :-2]) / (
                hs * hd * (hd + hs))
            d1, d2 = x[:, 1] - x[:, 0], x[:, 2] - x[:, 1]
            g[:, 0] = (-(2 * d1 + d2) / (d1 * (d1 + d2)) * f[:, 0] + (d1 + d2) / (d1 * d2) * f[:, 1]
                       - d1 / (d2 * (d1 + d2)) * f[:, 2])
            idx = np.stack([last - 2, last - 1, last], axis=1).clip(0, m - 1)
            xs, fs = np.take_along_axis(x, idx, 1), np.take_along_axis(f, idx, 1)
            d1, d2 = xs[:, 1] - xs[:, 0], xs[:, 2] - xs[:, 1]
            end = (d2 / (d1 * (d1 + d2)) * fs[:, 0] - (d2 + d1) / (d1 * d2) * fs[:, 1]
                   + (2 * d2 + d1) / (d2 * (d1 + d2)) * fs[:, 2])
            np.put_along_axis(g, last[:, None].clip(0, m - 1), end[:, None], 1)
        elif m == 2:
            g[:] = ((f[:, 1] - f[:, 0]) / (x[:, 1] - x[:, 0]))[:, None]
    return g


def _linfit_batch(x, y, w):
    """Row-wise least-squares lines y = a + b·x over the points with w; (a, b), NaN where undefined."""
    w = w & np.isfinite(x) & np.isfinite(y)
    x = np.where(w, x, 0.0)
    y = np.where(w, y, 0.0)
    sw = w.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = x.sum(axis=1) / sw
        my = y.sum(axis=1) / sw
        dx = np.where(w, x - mx[:, None], 0.0)
        sxx = np.einsum("ij,ij->i", dx, dx)
        b = np.einsum("ij,ij->i", dx, y) / sxx
        a = my - b * mx
    bad = (sw < 2) | ~(sxx > 0)
    return np.where(bad, np.nan, a), np.where(bad, np.nan, b)


def _positive(x, fallback):
    return np.where(np.isfinite(x) & (x > 0), x, fallback)


def starting_values_batch(t, y, mask=None, *, backend: str = "numpy") -> dict:
    """Starting values for every trial of a batch from the classical linearisations.

    The batched twin of :func:`fluxwise.fit.fouling.starting_values` (constant pressure): J0 from
    the intercept of t/V vs t, ks from its slope (Badmington et al. 1995), kc from the slope of
    t/V vs V, kb from J vs V and ki from ln J vs V, with J = dV/dt by second-order differences.

    ``backend="numba"`` computes the same in one compiled pass per trial.

    Returns
    -------
    dict of ndarray [n]  Keys ``J0_LMH``, ``kb_per_h``, ``ki_m2_per_L``, ``ks_m2_per_L``,
    ``kc_h_m4_per_L2``.
    """
    t, y, n_points = prepare_batch(t, y, mask)
    if backend == "numba":
        from . import numba_backend

        return numba_backend.starting_values(t, y, n_points)
    tb = np.broadcast_to(t, y.shape)
    n, m = y.shape
    valid = np.arange(m)[None, :] < n_points[:, None]
    last = np.maximum(n_points - 1, 0)
    vend = np.maximum(y[np.arange(n), last], 1e-9)
    ok = valid & (tb > 0) & (y > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tv = np.where(ok, tb / np.where(ok, y, 1.0), np.nan)
    a_tv, b_tv = _linfit_batch(tb, tv, ok)
    _, b_cv = _linfit_batch(y, tv, ok)
    jflux = _gradient_batch(y, tb, last)
    good = valid & (jflux > 0)
    jmax = np.max(np.where(good, jflux, -np.inf), axis=1)
    jmax = np.where(np.isfinite(jmax), jmax, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        j0 = _positive(np.where(a_tv > 0, 1.0 / a_tv, np.nan), jmax)
        _, b_c = _linfit_batch(y, jflux, good)
        _, b_i = _linfit_batch(y, np.log(np.where(good, jflux, 1.0)), good)
    return {
        "J0_LMH": j0,
        "kb_per_h": _positive(-b_c, 1e-3 * j0 / vend),
        "ki_m2_per_L": _positive(-b_i, 1e-3 / vend),
        "ks_m2_per_L": _positive(2.0 * b_tv, 1e-3 / vend),
        "kc_h_m4_per_L2": _positive(2.0 * b_cv, 1e-3 / (j0 * vend)),
    }


# ----------------------------------------------------------------------------- LM core (numpy)

def _normal_equations(cols, r):
    """A = GᵀG (upper triangle, flattened row-major) and g = Gᵀr, row-wise."""
    p = len(cols)
    A = [np.einsum("ij,ij->i", cols[a], cols[b]) for a in range(p) for b in range(a, p)]
    g = [np.einsum("ij,ij->i", c, r) for c in cols]
    return np.stack(A, axis=1), np.stack(g, axis=1)


def _diag(A, p):
    return A[:, {1: [0], 2: [0, 2], 3: [0, 3, 5]}[p]]


def _lm_step(A, g, lam, fixed=None, value=None, xp=np):
    """Solve (A + λ·diag A) δ = −g in closed form for p ≤ 3, after scaling A to a unit diagonal.

    Components with ``fixed`` [n, p] (bool) take ``value`` instead and drop out of the system,
    whose right-hand side becomes −(g + A·δ_fixed): the minimum of the damped quadratic model over
    the other components.
    """
    p = g.shape[1]
    d = _diag(A, p)
    if fixed is not None:
        dfix = xp.where(fixed, value, 0.0)
        g = g + _sym_matvec(A, dfix, xp)
        good = (d > 0) & ~fixed
    else:
        good = d > 0
    D = xp.sqrt(xp.where(d > 0, d, 1.0))
    gs = xp.where(good, g / D, 0.0)
    one = 1.0 + lam
    if p == 1:
        x = (-gs[:, 0] / one / D[:, 0])[:, None]
    else:
        f = good.astype(float)
        m01 = A[:, 1] / (D[:, 0] * D[:, 1]) * f[:, 0] * f[:, 1]
        if p == 2:
            det = one * one - m01 * m01
            x0 = -(one * gs[:, 0] - m01 * gs[:, 1]) / det
            x1 = -(one * gs[:, 1] - m01 * gs[:, 0]) / det
            x = xp.stack([x0, x1], axis=1) / D
        else:
            m02 = A[:, 2] / (D[:, 0] * D[:, 2]) * f[:, 0] * f[:, 2]
            m12 = A[:, 4] / (D[:, 1] * D[:, 2]) * f[:, 1] * f[:, 2]
            c00 = one * one - m12 * m12
            c01 = m02 * m12 - m01 * one
            c02 = m01 * m12 - m02 * one
            c11 = one * one - m02 * m02
            c12 = m01 * m02 - one * m12
            c22 = one * one - m01 * m01
            det = one * c00 + m01 * c01 + m02 * c02
            g0, g1, g2 = gs[:, 0], gs[:, 1], gs[:, 2]
            x0 = -(c00 * g0 + c01 * g1 + c02 * g2) / det
            x1 = -(c01 * g0 + c11 * g1 + c12 * g2) / det
            x2 = -(c02 * g0 + c12 * g1 + c22 * g2) / det
            x = xp.stack([x0, x1, x2], axis=1) / D
    if fixed is not None:
        x = xp.where(fixed, value, x)
    return x


def _sym_matvec(A, x, xp=np):
    """A·x for symmetric A stored as its flattened upper triangle (p ≤ 3)."""
    p = x.shape[1]
    if p == 1:
        return A[:, :1] * x
    if p == 2:
        return xp.stack([A[:, 0] * x[:, 0] + A[:, 1] * x[:, 1],
                         A[:, 1] * x[:, 0] + A[:, 2] * x[:, 1]], axis=1)
    return xp.stack([A[:, 0] * x[:, 0] + A[:, 1] * x[:, 1] + A[:, 2] * x[:, 2],
                     A[:, 1] * x[:, 0] + A[:, 3] * x[:, 1] + A[:, 4] * x[:, 2],
                     A[:, 2] * x[:, 0] + A[:, 4] * x[:, 1] + A[:, 5] * x[:, 2]], axis=1)


# the largest rise of ln p in one step (x20): keeps J0 of a degenerate fit from jumping past its optimum
_MAX_UP = 3.0
# relative SSE decrease the Gauss-Newton model may still predict at convergence
_PRED_TOL = 1e-8


def _bounded_step(A, g, lam, th, floor, ceil):
    """The Levenberg-Marquardt step with the bounds of p, as a relative change u = p'/p − 1.

    The step is solved in θ = ln p (the Jacobian columns are p·∂V/∂p) and taken in p itself,
    p' = p·(1 + u), so that a step that would make a constant negative puts it on its bound (the
    floor), as a projected step in p would, instead of creeping towards zero in ln p. A constant on
    its bound that would go further down is held there, and rises are limited to a factor e^3 per
    step (up to its starting value, ``ceil``, for a constant leaving its bound); the other
    components then solve the damped model with those components fixed, so that limiting one
    component does not spoil the others.

    Returns u [n, p], the fixed components and those held on their bound.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        delta = _lm_step(A, g, lam)
        at_floor = th <= floor
        dmax = np.where(at_floor, np.expm1(np.minimum(np.maximum(ceil - th, _MAX_UP), 700.0)),
                        math.expm1(_MAX_UP))
        fixed = (at_floor & (delta < 0)) | (delta > dmax) | ~np.isfinite(delta)
        if fixed.any():
            value = np.where(delta > dmax, dmax, 0.0)
            delta = _lm_step(A, g, lam, fixed, value)
    return np.where(np.isfinite(delta), delta, 0.0), fixed, fixed & at_floor


def _apply_step(th, u, floor):
    """θ' = θ + ln(1 + u); a constant with u ≤ −1 goes onto its bound."""
    with np.errstate(invalid="ignore", divide="ignore"):
        new = np.where(u <= -1.0 + 1e-12, floor, th + np.log1p(np.maximum(u, -1.0 + 1e-12)))
    return np.clip(np.maximum(new, floor), -700.0, 700.0)


def _evaluate(name, t, y, theta, v0=None):
    params = [np.exp(theta[:, j:j + 1]) for j in range(theta.shape[1])]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        V, cols = model_jacobian(name, t, params, v0=v0)
        r = V - y
        sse = np.einsum("ij,ij->i", r, r)
    return V, cols, r, np.where(np.isfinite(sse), sse, np.inf)


@dataclass
class _LMState:
    theta: np.ndarray
    sse: np.ndarray
    n_iter: np.ndarray
    status: np.ndarray


def _geodesic(name, t, th, V, cols, A, lam, u, fixed):
    """Add the geodesic acceleration to the step (Transtrum & Sethna 2012, arXiv:1201.5885).

    The second directional derivative of the model along the step, by a finite difference
    r_vv ≈ (2/h)·((V(p·(1 + h·u)) − V)/h − G·u) with h = 0.1, gives the acceleration
    a = −(GᵀG + λ·diag)⁻¹·Gᵀr_vv and the step u + a/2, kept when 2‖a‖/‖u‖ ≤ 0.75 (scaled norms);
    otherwise the plain step is taken. It follows curved, narrow valleys (two constants that
    trade against each other) in far fewer iterations.
    """
    h = 0.1
    p = u.shape[1]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        ph = [np.exp(th[:, j:j + 1]) * np.maximum(1.0 + h * u[:, j:j + 1], 0.5) for j in range(p)]
        Vh = _model_value(name, t, ph, V)
        gu = cols[0] * u[:, :1]
        for j in range(1, p):
            gu = gu + cols[j] * u[:, j:j + 1]
        rvv = (2.0 / h) * ((Vh - V) / h - gu)
        gv = np.stack([np.einsum("ij,ij->i", c, rvv) for c in cols], axis=1)
        a = _lm_step(A, gv, lam, fixed, np.zeros_like(u))
        d = np.sqrt(np.maximum(_diag(A, p), 0.0))
        ratio = 2.0 * np.sqrt(np.sum((d * a) ** 2, axis=1)) / np.sqrt(np.sum((d * u) ** 2, axis=1))
    # a step that puts a constant on its bound is a projection, not a path to accelerate along
    ok = (ratio <= 0.75) & np.all(np.isfinite(a), axis=1) & np.all(u > -1.0, axis=1)
    return np.where(ok[:, None], u + 0.5 * np.where(np.isfinite(a), a, 0.0), u)


def _model_value(name, t, params, v0=None):
    """V(t) only (the finite difference of the geodesic acceleration)."""
    if name == "cake-standard":
        return _cake_standard_solve(t, params[0], params[1], params[2], np, v0)
    return MODELS[name].volume(t, *params)


def _lm(name, t, y, theta0, *, max_iter, ftol, xtol, gtol, floor, ceil=None, geodesic=False):
    """Levenberg-Marquardt on a batch; returns θ, SSE, iterations and status (0 = not converged,
    1 = ftol, 2 = xtol, 3 = gtol, 4 = no lower SSE within λ ≤ 1e16)."""
    n, p = theta0.shape
    shared_t = t.shape[0] == 1 and n > 1
    out = _LMState(theta0.copy(), np.full(n, np.inf), np.zeros(n, np.int64), np.zeros(n, np.int8))
    idx = np.arange(n)
    th = theta0.copy()
    ceil = theta0.copy() if ceil is None else np.maximum(ceil, theta0)
    V, cols, r, sse = _evaluate(name, t, y, th)
    A, g = _normal_equations(cols, r)
    with np.errstate(invalid="ignore"):
        A = np.where(np.isfinite(A), A, 0.0)
        g = np.where(np.isfinite(g), g, 0.0)
    lam = np.full(n, 1e-3)
    nu = np.full(n, 2.0)
    fl = floor.copy()
    tt, yy = t, y
    out.sse[:] = sse
    for it in range(1, max_iter + 1):
        u, fixed, pinned = _bounded_step(A, g, lam, th, fl, ceil)
        with np.errstate(invalid="ignore", divide="ignore"):
            # gradient test (MINPACK gtol): cosine of residuals and the columns not held on a bound
            cosg = np.max(np.where(pinned, 0.0, np.abs(g)) / np.sqrt(_diag(A, p) * sse[:, None] + _TINY),
                          axis=1)
        done_g = (cosg <= gtol) | (sse <= _TINY)
        if geodesic:
            u = _geodesic(name, tt, th, V, cols, A, lam, u, fixed)
        new = _apply_step(th, u, fl)
        step = new - th
        u = np.expm1(step)
        V1, cols1, r1, sse1 = _evaluate(name, tt, yy, new, V if name == "cake-standard" else None)
        with np.errstate(invalid="ignore"):
            accept = sse1 < sse
        A1, g1 = _normal_equations(cols1, r1)
        A_old, g_old, sse_old = A, g, sse
        acc = accept[:, None]
        th = np.where(acc, new, th)
        A = np.where(acc, A1, A)
        g = np.where(acc, g1, g)
        V = np.where(acc, V1, V)
        if geodesic:
            cols = [np.where(acc, c1, c0) for c0, c1 in zip(cols, cols1, strict=True)]
        rel = np.where(accept, (sse - sse1) / np.maximum(sse, _TINY), np.inf)
        sse = np.where(accept, sse1, sse)
        # gain ratio ρ = actual/predicted decrease of ½·SSE for the step taken, and Nielsen's (1999)
        # update of λ (Madsen, Nielsen & Tingleff 2004, eq. 3.15): no zig-zag in curved valleys
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            pred_dec = -(np.sum(g_old * u, axis=1) + 0.5 * np.sum(u * _sym_matvec(A_old, u), axis=1))
            rho = 0.5 * (sse_old - sse1) / pred_dec
        rho = np.where(np.isfinite(rho), rho, 0.0)
        lam = np.where(accept, np.maximum(lam * np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-15),
                       lam * nu)
        nu = np.where(accept, 2.0, nu * 2.0)
        small_step = np.max(np.abs(step), axis=1) <= xtol
        # a small change is convergence only where the undamped Gauss-Newton model also predicts
        # no worthwhile decrease: a damped step is small in a curved valley too
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            gn = _lm_step(A, g, np.zeros_like(lam), pinned, np.zeros_like(th))
            pred = -0.5 * np.sum(g * gn, axis=1) / np.maximum(sse, _TINY)
        flat = accept & (pred <= _PRED_TOL)
        status = np.zeros(th.shape[0], np.int8)
        status[lam > 1e16] = 4
        status[flat & small_step] = 2
        status[flat & (rel <= ftol)] = 1
        status[done_g] = 3
        done = status > 0
        out.n_iter[idx] = it
        if it == max_iter:
            done[:] = True
        if done.any():
            out.theta[idx[done]] = th[done]
            out.sse[idx[done]] = sse[done]
            out.status[idx[done]] = status[done]
            keep = ~done
            if not keep.any():
                break
            idx = idx[keep]
            th, sse, lam, nu, fl, ceil = th[keep], sse[keep], lam[keep], nu[keep], fl[keep], ceil[keep]
            A, g, V = A[keep], g[keep], V[keep]
            if geodesic:
                cols = [c[keep] for c in cols]
            yy = yy[keep]
            tt = tt if shared_t else tt[keep]
    return out


def _theta_start(name, start):
    keys = MODELS[name].all_params
    return np.log(np.stack([np.asarray(start[k], dtype=float) for k in keys], axis=1))


@dataclass(frozen=True)
class BatchModelFit:
    """One model fitted to every trial of a batch (arrays over trials).

    Attributes
    ----------
    name : str  Model name.
    param_names : tuple of str  ``("J0_LMH", <constants>)`` — JSON keys with units.
    params : ndarray [n, p]  Fitted parameters in the order of ``param_names``; a constant at its
        bound is 0.
    sse : ndarray [n]  Sum of squared residuals [L²/m⁴].
    n_points : ndarray [n]  Points fitted.
    aicc, bic : ndarray [n]  Information criteria (as :func:`fluxwise.fit.fouling.information_criteria`).
    converged : ndarray of bool [n]
    n_iter : ndarray [n]  Levenberg-Marquardt iterations used.
    status : ndarray [n]  0 not converged (iteration limit), 1 SSE, 2 step, 3 gradient, 4 λ limit.
    """

    name: str
    param_names: tuple
    params: np.ndarray
    sse: np.ndarray
    n_points: np.ndarray
    aicc: np.ndarray
    bic: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    status: np.ndarray

    def __len__(self):
        return int(self.sse.shape[0])

    def param(self, key: str) -> np.ndarray:
        """One parameter over all trials, by JSON key (``"ks_m2_per_L"``)."""
        try:
            return self.params[:, self.param_names.index(key)]
        except ValueError:
            raise ModelError(f"model '{self.name}' has no parameter '{key}' "
                             f"(it has: {', '.join(self.param_names)})") from None

    def params_dict(self, i: int) -> dict:
        """Parameters of trial ``i`` as the dict the sizing functions take."""
        return {k: float(v) for k, v in zip(self.param_names, self.params[i], strict=True)}


@dataclass(frozen=True)
class BatchFit:
    """All fitted models of a batch; ``fits[name]`` is a :class:`BatchModelFit`."""

    fits: dict = field(default_factory=dict)

    @property
    def n_trials(self) -> int:
        return len(next(iter(self.fits.values()))) if self.fits else 0

    def __getitem__(self, name: str) -> BatchModelFit:
        try:
            return self.fits[name]
        except KeyError:
            raise ModelError(f"model '{name}' was not fitted (fitted: {', '.join(self.fits)})") from None

    def best_model(self) -> np.ndarray:
        """Name of the model with the lowest AICc for every trial (ties: fewer parameters)."""
        names = list(self.fits)
        aicc = np.stack([self.fits[nm].aicc for nm in names], axis=1)
        k = np.array([len(self.fits[nm].param_names) for nm in names])
        # np.lexsort sorts by the last key first: AICc, then the parameter count
        order = np.lexsort((np.broadcast_to(k, aicc.shape), aicc), axis=1)
        return np.asarray(names, dtype=object)[order[:, 0]]

    def to_frame(self):
        """Long table: one row per trial and model, parameters as columns (NaN where absent)."""
        import pandas as pd

        frames = []
        for nm, f in self.fits.items():
            d = {"trial": np.arange(len(f)), "model": nm}
            d.update({k: f.params[:, j] for j, k in enumerate(f.param_names)})
            d.update(sse=f.sse, n_points=f.n_points, aicc=f.aicc, bic=f.bic, converged=f.converged,
                     n_iter=f.n_iter)
            frames.append(pd.DataFrame(d))
        return pd.concat(frames, ignore_index=True)


def _criteria(sse, n, k):
    sse = np.maximum(sse, np.finfo(float).tiny)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = n * np.log(sse / n)
        dof = n - k - 1
        aicc = base + 2 * k + np.where(dof > 0, 2 * k * (k + 1) / np.where(dof > 0, dof, 1), np.inf)
        bic = base + k * np.log(n)
    return aicc, bic


# "auto" compiles with numba only for batches large enough to repay the one-time compilation
# (seconds per model, cached afterwards)
AUTO_NUMBA_MIN_FITS = 20_000


def _engine(backend, n_fits=None):
    if backend == "auto":
        if n_fits is not None and n_fits < AUTO_NUMBA_MIN_FITS:
            return "numpy"  # without importing numba (most of a second) for a small batch
        from . import numba_backend

        return "numba" if numba_backend.available() else "numpy"
    if backend == "numba":
        from . import numba_backend

        if not numba_backend.available():
            raise InputError("backend 'numba' needs numba (pip install numba)", field="backend")
    elif backend != "numpy":
        raise InputError(f"backend must be 'auto', 'numpy' or 'numba' here, got {backend!r}", field="backend")
    return backend


def fit_model_batch(name: str, t, y, mask=None, *, start=None, max_iter: int = 100, ftol: float = 1e-10,
                    xtol: float = 1e-10, gtol: float = 1e-10, multistart: bool = True,
                    probe_iter: int = PROBE_ITER, parent_fits: dict | None = None, geodesic: bool = False,
                    backend: str = "auto", threads: int | None = None) -> BatchModelFit:
    """Fit one fouling model to every trial of a batch (no chunking: see :func:`fit_batch`).

    Parameters
    ----------
    name : str  Model name.
    t : array [n, m] or [m]  Time [h].
    y : array [n, m]  Throughput [L/m²].
    mask : bool array [n, m], optional  Measured points, first in each row.
    start : dict or array [n, p], optional  Starting values: a dict as returned by
        :func:`starting_values_batch` (all keys), or the model's parameters in model order (e.g. a
        previous fit: the bootstrap starts each resample from the fit of the original trial; no
        multi-start then). Default: the linearisations.
    max_iter : int  Iteration limit per fit.
    ftol, xtol, gtol : float  Convergence tests (relative SSE change, change of ln p, cosine).
    multistart : bool  Combined models from dict starts: try several starts (:func:`probe_starts`)
        for ``probe_iter`` iterations and continue from the best.
    parent_fits : dict, optional  Fits of the combined model's parent laws on the same trials
        (name -> :class:`BatchModelFit`, as :func:`fit_batch` passes them): their solutions are
        starts of the multi-start.
    geodesic : bool  Add the geodesic acceleration (Transtrum & Sethna 2012); off by default: with
        the multi-start probe it saves few iterations and costs an evaluation per iteration.
    backend : ``"auto"`` (numba when installed and the batch has at least ``AUTO_NUMBA_MIN_FITS``
        trials, else numpy), ``"numpy"`` or ``"numba"``.
    threads : int, optional  Threads of the numba backend (default: all cores).
    """
    model = MODELS.get(name)
    if model is None:
        raise ModelError(f"unknown model '{name}' (expected one of: {', '.join(MODEL_NAMES)})")
    t, y, n_points = prepare_batch(t, y, mask)
    n = y.shape[0]
    engine = _engine(backend, n)
    if geodesic and engine == "numba":
        if backend == "numba":
            raise InputError("the numba backend has no geodesic acceleration: use backend='numpy'",
                             field="geodesic")
        engine = "numpy"
    p = len(model.all_params)
    if start is None:
        start = starting_values_batch(t, y, backend=engine)
    if isinstance(start, dict):
        theta0 = _theta_start(name, start)
        combined = multistart and p == 3
    else:
        s = np.asarray(start, dtype=float)
        if s.shape != (n, p):
            raise InputError(f"start must have shape ({n}, {p}) for model '{name}', got {s.shape}",
                             field="start")
        with np.errstate(divide="ignore", invalid="ignore"):
            theta0 = np.log(np.maximum(s, 1e-300))
        combined = False
    theta0 = np.where(np.isfinite(theta0), theta0, 0.0)
    opts = dict(ftol=ftol, xtol=xtol, gtol=gtol, geodesic=geodesic)
    floor = theta0 - _LOG_FLOOR
    floor[:, 0] = -np.inf
    if not combined:
        theta, sse, n_iter, status = _run_lm(engine, name, t, y, n_points, theta0, floor, theta0,
                                             max_iter=max_iter, opts=opts, threads=threads)
        return _result(name, theta, theta0, sse, n_iter, status, n_points)
    pth0, pfl = probe_starts(name, theta0, parent_fits)
    if engine == "numba":
        from . import numba_backend

        theta, sse, n_iter, status = numba_backend.lm_batch(
            name, t, y, n_points, theta0, floor, theta0, max_iter=max_iter, max_up=_MAX_UP,
            pred_tol=_PRED_TOL, multistart=(pth0, pfl), probe_iter=probe_iter, near_bound=NEAR_BOUND,
            threads=threads, **{k: v for k, v in opts.items() if k != "geodesic"})
        return _result(name, theta, theta0, sse, n_iter, status, n_points)
    reps = pth0.shape[0]
    t_all = t if t.shape[0] == 1 else np.tile(t, (reps, 1))
    probe = _lm(name, t_all, np.tile(y, (reps, 1)), pth0.reshape(reps * n, p), max_iter=probe_iter,
                floor=pfl.reshape(reps * n, p), ceil=np.tile(theta0, (reps, 1)), ftol=_PROBE_TOL,
                xtol=_PROBE_TOL, gtol=_PROBE_GTOL, geodesic=geodesic)
    psse = probe.sse.reshape(reps, n)
    pth = probe.theta.reshape(reps, n, p)
    best = np.argmin(psse, axis=0)
    rows = np.arange(n)
    floor = pfl[best, rows]
    res = _lm(name, t, y, pth[best, rows], max_iter=max_iter, floor=floor, ceil=theta0, **opts)
    theta, sse, n_iter, status = res.theta, res.sse, res.n_iter.copy(), res.status.copy()
    redo, alt = second_chance(theta, floor, theta0, pth, pfl, psse, best)
    if redo.size:
        r2 = _lm(name, t if t.shape[0] == 1 else t[redo], y[redo], pth[alt, redo], max_iter=max_iter,
                 floor=pfl[alt, redo], ceil=theta0[redo], **opts)
        n_iter[redo] += r2.n_iter
        better = r2.sse < sse[redo]
        take = redo[better]
        theta[take], sse[take], status[take] = r2.theta[better], r2.sse[better], r2.status[better]
    return _result(name, theta, theta0, sse, n_iter, status, n_points)


def probe_starts(name: str, theta0, parent_fits: dict | None = None):
    """Starts of the multi-start of a combined model, as ln p: arrays [reps, n, p] of starts and floors.

    With the fits of both parent laws (:func:`parent_laws`): each parent's solution with the
    other constant on its bound (there the SSE is the parent's, and the first step can raise the
    constant up to its linearisation estimate), and half of both linearisation estimates. Without
    them: the three starts of the scipy fitter (:data:`MULTISTART_FACTORS`: each parent law from
    the linearisations with the other constant 1000x smaller, and half of both). Floors: 60 below
    the linearisation estimate in ln p (J0 has none).
    """
    n, p = theta0.shape
    floor = theta0 - _LOG_FLOOR
    floor[:, 0] = -np.inf
    parents = parent_laws(name)
    keys = MODELS[name].all_params
    if parent_fits is not None and all(par in parent_fits for par in parents):
        starts = []
        for par in parents:
            pf = parent_fits[par]
            th = floor.copy()
            with np.errstate(divide="ignore", invalid="ignore"):
                for j, k in enumerate(keys):
                    if k in pf.param_names:
                        th[:, j] = np.log(pf.params[:, pf.param_names.index(k)])
            th = np.where(np.isfinite(th) | (floor == -np.inf), th, floor)  # a failed parent fit
            th[:, 0] = np.where(np.isfinite(th[:, 0]), th[:, 0], theta0[:, 0])
            starts.append(np.maximum(th, floor))
        starts.append(theta0 + np.log([1.0, 0.5, 0.5]))
        floors = [floor, floor, starts[-1] - _LOG_FLOOR]
    else:
        starts = [theta0 + np.log([1.0, *f]) for f in MULTISTART_FACTORS]
        floors = [s - _LOG_FLOOR for s in starts]
    floors = np.stack(floors)
    floors[:, :, 0] = -np.inf
    return np.stack(starts), floors


def second_chance(theta, floor, theta0, pth, pfl, psse, best):
    """Fits to run once more: those that ended with a constant on or near its bound (below 1/1000 of
    its linearisation estimate), from the best other probe that ended inside. A boundary minimum can
    hide a lower one inside. Returns the rows and, for each, the probe to start from."""
    n = theta.shape[0]
    rows = np.arange(n)
    near = np.maximum(pfl[:, :, 1:], theta0[None, :, 1:] - NEAR_BOUND)
    inside = np.all(pth[:, :, 1:] > near, axis=2)  # [reps, n]
    inside[best, rows] = False  # the start the fit continued from would lead there again
    alt = np.argmin(np.where(inside, psse, np.inf), axis=0)
    low = np.any(theta[:, 1:] <= np.maximum(floor[:, 1:], theta0[:, 1:] - NEAR_BOUND), axis=1)
    redo = np.flatnonzero(low & inside[alt, rows])
    return redo, alt[redo]


def parent_laws(name: str) -> tuple:
    """The single laws nested in a combined model: the model with one of its constants at 0.

    ``cake-complete`` is complete blocking for kc = 0 and cake filtration for kb = 0, so its
    parents are ``("complete", "cake")`` (in the order of :data:`MODEL_NAMES`); a single law has none.
    """
    consts = MODELS[name].params
    if len(consts) < 2:
        return ()
    return tuple(nm for nm in MODEL_NAMES if len(MODELS[nm].params) == 1 and MODELS[nm].params[0] in consts)


def _run_lm(engine, name, t, y, n_points, theta0, floor, ceil, *, max_iter, opts, threads=None):
    """One Levenberg-Marquardt run per row from explicit starts, bounds and ceilings (no multi-start)."""
    if engine == "numba":
        from . import numba_backend

        return numba_backend.lm_batch(name, t, y, n_points, theta0, floor, ceil, max_iter=max_iter,
                                      max_up=_MAX_UP, pred_tol=_PRED_TOL, threads=threads,
                                      **{k: v for k, v in opts.items() if k != "geodesic"})
    r = _lm(name, t, y, theta0, max_iter=max_iter, floor=floor, ceil=ceil, **opts)
    return r.theta, r.sse, r.n_iter, r.status


def reach_parent_laws(name: str, fit: BatchModelFit, parent_fits: dict, t, y, mask=None, *, start,
                      max_iter: int = 100, ftol: float = 1e-10, xtol: float = 1e-10, gtol: float = 1e-10,
                      backend: str = "auto", threads: int | None = None) -> BatchModelFit:
    """Make a combined model's fits at least as good as those of its parent laws.

    A combined model contains each parent law (its other constant at 0,
    :func:`parent_laws`), so its least-squares fit can be no worse than the parent's. Where a fit
    ended above a parent's SSE (a local minimum of the combined model), it continues from the
    parent's solution with the other constant on its bound, where its SSE is the parent's; the
    Levenberg-Marquardt steps only lower the SSE from there, and the constant may leave its bound
    (up to its linearisation estimate in one step). The lower SSE is kept.

    Parameters
    ----------
    name : str  Combined model.
    fit : BatchModelFit  Its fits.
    parent_fits : dict  Parent law name -> BatchModelFit on the same trials.
    t, y, mask : the batch (as for :func:`fit_model_batch`).
    start : dict  Linearisation starting values (:func:`starting_values_batch`): the bounds.
    """
    t, y, n_points = prepare_batch(t, y, mask)
    engine = _engine(backend, y.shape[0])
    keys = MODELS[name].all_params
    theta0 = _theta_start(name, start)
    theta0 = np.where(np.isfinite(theta0), theta0, 0.0)
    out = {f: np.array(getattr(fit, f)) for f in ("params", "sse", "aicc", "bic", "converged", "n_iter",
                                                   "status")}
    opts = dict(ftol=ftol, xtol=xtol, gtol=gtol, geodesic=False)
    for pf in parent_fits.values():
        with np.errstate(invalid="ignore"):
            worse = np.isfinite(pf.sse) & ~(out["sse"] <= pf.sse * (1.0 + _NESTED_RTOL))
        rows = np.flatnonzero(worse)
        if rows.size == 0:
            continue
        floor = theta0[rows] - _LOG_FLOOR
        floor[:, 0] = -np.inf
        th = floor.copy()  # the other constant on its bound
        with np.errstate(divide="ignore"):
            for j, k in enumerate(keys):
                if k in pf.param_names:
                    th[:, j] = np.log(pf.params[rows, pf.param_names.index(k)])
        th = np.maximum(th, floor)
        tt = t if t.shape[0] == 1 else t[rows]
        res = _run_lm(engine, name, tt, y[rows], n_points[rows], th, floor, theta0[rows],
                      max_iter=max_iter, opts=opts, threads=threads)
        sub = _result(name, res[0], theta0[rows], res[1], res[2], res[3], n_points[rows])
        out["n_iter"][rows] += sub.n_iter
        better = sub.sse < out["sse"][rows]
        take = rows[better]
        for f in ("params", "sse", "aicc", "bic", "converged", "status"):
            out[f][take] = getattr(sub, f)[better]
    return BatchModelFit(name=name, param_names=fit.param_names, n_points=fit.n_points, **out)


def _result(name, theta, theta0, sse, n_iter, status, n_points) -> BatchModelFit:
    """Fitted θ = ln p and the rest into a :class:`BatchModelFit` (shared by all backends)."""
    model = MODELS[name]
    p = len(model.all_params)
    params = np.exp(theta)
    # a constant below 1e-20 of its start (its floor is near 1e-26) has no effect: it is on its bound
    on_bound = theta <= theta0 - 46.0
    on_bound[:, 0] = False
    params = np.where(on_bound, 0.0, params)
    aicc, bic = _criteria(sse, n_points, p)
    too_few = n_points <= p
    return BatchModelFit(name=name, param_names=model.all_params, params=params,
                         sse=np.where(too_few, np.nan, sse), n_points=n_points,
                         aicc=np.where(too_few, np.nan, aicc), bic=np.where(too_few, np.nan, bic),
                         converged=(status > 0) & ~too_few, n_iter=np.asarray(n_iter, dtype=np.int64),
                         status=np.asarray(status, dtype=np.int8))


# ----------------------------------------------------------------------------- chunked driver

_DEFAULT_CHUNK = {"numpy": 512, "numba": 8192, "jax": 131072}


def _fit_chunk(task):
    """Fit one chunk of trials with several models (module level, so that process pools can pickle it).

    The single laws go first; each combined model then reaches its parent laws' SSE
    (:func:`reach_parent_laws`), with the parents fitted here when they were not asked for.
    """
    names, t, y, mask, starts, opts = task
    opts = dict(opts)
    backend = opts.pop("backend", "auto")
    svals = starting_values_batch(t, y, mask, backend="numba" if backend == "numba" else "numpy")
    needed = set(names) | {par for nm in names for par in parent_laws(nm)}
    order = sorted(needed, key=lambda nm: (len(MODELS[nm].params), MODEL_NAMES.index(nm)))
    polish = {k: opts[k] for k in ("max_iter", "ftol", "xtol", "gtol", "threads") if k in opts}
    out = {}
    for nm in order:
        s = starts.get(nm) if starts else None
        parents = {par: out[par] for par in parent_laws(nm)} or None
        if backend == "jax":
            from . import jax_backend

            fit = jax_backend.fit_model_batch_jax(nm, t, y, mask, start=svals if s is None else s,
                                                  parent_fits=parents, **opts)
        else:
            fit = fit_model_batch(nm, t, y, mask, start=svals if s is None else s, backend=backend,
                                  parent_fits=parents, **opts)
        if parents:
            fit = reach_parent_laws(nm, fit, parents, t, y, mask,
                                    start=svals, backend="numba" if backend == "numba" else "numpy",
                                    **polish)
        out[nm] = fit
    return {nm: out[nm] for nm in names}


def _chunks(t, y, mask, names, start, chunk_size, opts):
    """Cut the inputs into tasks; slices of a memmap are read here, one chunk at a time."""
    n = np.shape(y)[0]
    shared_t = np.ndim(t) == 1 or np.shape(t)[0] == 1
    for lo in range(0, n, chunk_size):
        hi = min(n, lo + chunk_size)
        tc = np.asarray(t) if shared_t else np.asarray(t[lo:hi])
        mc = None if mask is None else np.asarray(mask[lo:hi])
        sc = None if start is None else {nm: np.asarray(s[lo:hi]) for nm, s in start.items()}
        yield (names, tc, np.asarray(y[lo:hi]), mc, sc, opts)


def fit_batch(t, y, mask=None, *, models=None, start=None, chunk_size: int | None = None, executor=None,
              backend: str = "auto", progress: bool = False, **options) -> BatchFit:
    """Fit fouling models to a batch of constant-pressure trials, chunk by chunk.

    Parameters
    ----------
    t : array [n, m] or [m]  Time [h]; one row is shared by all trials. ``numpy.memmap`` works.
    y : array [n, m]  Throughput [L/m²].
    mask : bool array [n, m], optional  Measured points, first in each row (ragged trials).
    models : iterable of str, optional  Model names; default all nine.
    start : dict {model: array [n, p]}, optional  Starting parameters per model (model order).
    chunk_size : int, optional  Trials per task; memory scales with it, not with n. Default 512
        (numpy), 8192 (numba), 131072 (jax).
    executor : fluxwise.compute executor, optional  Where the chunks run; default in-process.
    backend : ``"auto"`` (numba when installed and n >= ``AUTO_NUMBA_MIN_FITS``, else numpy),
        ``"numpy"``, ``"numba"`` or ``"jax"``
        (``pip install fluxwise[gpu]``; runs on a GPU when JAX sees one).
    progress : bool  Show a progress bar with ETA.
    **options : passed to :func:`fit_model_batch` (``max_iter``, ``ftol``, ``xtol``, ``gtol``,
        ``multistart``, ``probe_iter``, ``geodesic``, ``threads``). With a process pool or Dask
        workers on the same cores, pass ``threads=1`` (each worker would start a numba thread
        per core otherwise).

    Returns
    -------
    BatchFit
    """
    names = list(models) if models else list(MODEL_NAMES)
    for nm in names:
        if nm not in MODELS:
            raise ModelError(f"unknown model '{nm}' (expected one of: {', '.join(MODEL_NAMES)})")
    if backend == "jax":
        from . import jax_backend

        jax_backend.require()
        engine = "jax"
    else:
        engine = _engine(backend, int(np.shape(y)[0]) if np.ndim(y) == 2 else 1)
    chunk_size = _DEFAULT_CHUNK[engine] if chunk_size is None else int(chunk_size)
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, got {chunk_size}", field="chunk_size")
    if np.ndim(y) == 1:
        y = np.asarray(y)[None, :]
    if np.ndim(y) != 2:
        raise InputError(f"y must be a 2-D array [trials, points], got shape {np.shape(y)}", field="y")
    n = int(np.shape(y)[0])
    if n == 0:
        raise InputError("no trials to fit", field="y")
    opts = {**options, "backend": engine}
    chunks = _chunks(t, y, mask, names, start, chunk_size, opts)
    if executor is None:
        from ..compute import InProcessExecutor

        executor = InProcessExecutor()
    # results go straight into arrays for all n trials: no list of chunk results held at the end
    fields = ("params", "sse", "n_points", "aicc", "bic", "converged", "n_iter", "status")
    out = {nm: {} for nm in names}

    def consume(i, res):
        lo = i * chunk_size
        for nm in names:
            part = res[nm]
            for f in fields:
                a = getattr(part, f)
                if f not in out[nm]:
                    out[nm][f] = np.empty((n,) + a.shape[1:], dtype=a.dtype)
                out[nm][f][lo:lo + a.shape[0]] = a

    executor.map_chunks(_fit_chunk, chunks, progress=progress, total=math.ceil(n / chunk_size),
                        desc="fitting", consume=consume)
    return BatchFit(fits={nm: BatchModelFit(name=nm, param_names=MODELS[nm].all_params, **out[nm])
                          for nm in names})
