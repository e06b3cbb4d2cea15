r"""JAX backend of the batched fitter: the same Levenberg-Marquardt on a GPU (optional).

Install with ``pip install fluxwise[gpu]`` (JAX with CUDA); select with
``fit_batch(..., backend="jax")``. This module is imported only then. It runs the algorithm of
:mod:`fluxwise.fit.batch` — the same models and analytic Jacobians (shared code, evaluated with
``jax.numpy``), bounded steps in p with the Jacobian in ln p, Nielsen's damping update, the
geodesic acceleration, the multi-start of the combined models and the convergence tests — in
float64, over a whole chunk of trials at once. The differences are those a fixed-shape compiled
program needs: converged fits are masked instead of removed (the loop ends when all of a chunk
have converged, ``jax.lax.while_loop``), and the cake-standard Newton solve takes a fixed number of
iterations from its warm start (``newton_iterations``).

JAX runs on the GPU when it sees one and on the CPU otherwise; ``benchmarks/gpu_check.py``
compares it with the numpy path and times it. Float64 must be enabled in JAX
(``jax_enable_x64``); :func:`require` does that, for the whole process.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from ..errors import InputError, ModelError
from ..models.fouling import MODEL_NAMES, MODELS
from . import batch as _b

__all__ = ["require", "fit_model_batch_jax", "devices"]


def require():
    """Import JAX with float64 enabled, or raise an error that says how to install it."""
    try:
        import jax
    except ImportError:
        raise InputError("backend 'jax' needs JAX: pip install 'fluxwise[gpu]' (or jax[cuda12])",
                         field="backend") from None
    jax.config.update("jax_enable_x64", True)
    return jax


def devices() -> list:
    """The devices JAX would run on (GPU first when there is one)."""
    return [str(d) for d in require().devices()]


def _make_lm(name, p, max_iter, ftol, xtol, gtol, geodesic, newton_iterations):
    """A jitted batched LM for one model and fixed settings."""
    jax = require()
    import jax.numpy as jnp
    from jax import lax

    is_cs = name == "cake-standard"
    max_up = _b._MAX_UP
    e_up = math.expm1(max_up)

    def evaluate(t, y, th, v0, first):
        params = [jnp.exp(th[:, j:j + 1]) for j in range(p)]
        V, cols = _b.model_jacobian(name, t, params, xp=jnp, v0=None if (first or not is_cs) else v0,
                                    newton_iterations=(40 if first else newton_iterations) if is_cs else None)
        r = V - y
        sse = jnp.sum(r * r, axis=1)
        sse = jnp.where(jnp.isfinite(sse), sse, jnp.inf)
        A = jnp.stack([jnp.sum(cols[a] * cols[b], axis=1) for a in range(p) for b in range(a, p)], axis=1)
        g = jnp.stack([jnp.sum(c * r, axis=1) for c in cols], axis=1)
        A = jnp.where(jnp.isfinite(A), A, 0.0)
        g = jnp.where(jnp.isfinite(g), g, 0.0)
        return V, jnp.stack(cols, axis=0), sse, A, g

    def bounded_step(A, g, lam, th, floor, ceil):
        delta = _b._lm_step(A, g, lam, xp=jnp)
        at_floor = th <= floor
        dmax = jnp.where(at_floor, jnp.expm1(jnp.minimum(jnp.maximum(ceil - th, max_up), 700.0)), e_up)
        fixed = (at_floor & (delta < 0)) | (delta > dmax) | ~jnp.isfinite(delta)
        value = jnp.where(delta > dmax, dmax, 0.0)
        delta = _b._lm_step(A, g, lam, fixed, value, xp=jnp)
        return jnp.where(jnp.isfinite(delta), delta, 0.0), fixed, fixed & at_floor

    def accel(t, th, V, C, A, lam, u, fixed):
        h = 0.1
        ph = [jnp.exp(th[:, j:j + 1]) * jnp.maximum(1.0 + h * u[:, j:j + 1], 0.5) for j in range(p)]
        if is_cs:
            Vh = _b._cake_standard_solve(t, ph[0], ph[1], ph[2], jnp, V, newton_iterations)
        else:
            Vh = _b.model_jacobian(name, t, ph, xp=jnp)[0]
        gu = jnp.einsum("jnm,nj->nm", C, u)
        rvv = (2.0 / h) * ((Vh - V) / h - gu)
        gv = jnp.einsum("jnm,nm->nj", C, rvv)
        a = _b._lm_step(A, gv, lam, fixed, jnp.zeros_like(u), xp=jnp)
        d = jnp.sqrt(jnp.maximum(_b._diag(A, p), 0.0))
        ratio = 2.0 * jnp.sqrt(jnp.sum((d * a) ** 2, axis=1)) / jnp.sqrt(jnp.sum((d * u) ** 2, axis=1))
        ok = (ratio <= 0.75) & jnp.all(jnp.isfinite(a), axis=1) & jnp.all(u > -1.0, axis=1)
        return jnp.where(ok[:, None], u + 0.5 * jnp.where(jnp.isfinite(a), a, 0.0), u)

    def run(t, y, th0, floor, ceil):
        n = y.shape[0]
        ceil = jnp.maximum(ceil, th0)
        V, C, sse, A, g = evaluate(t, y, th0, None, True)
        state = dict(th=th0, sse=sse, A=A, g=g, V=V, C=C, lam=jnp.full(n, 1e-3), nu=jnp.full(n, 2.0),
                     status=jnp.zeros(n, jnp.int8), n_iter=jnp.zeros(n, jnp.int64),
                     active=jnp.ones(n, bool), it=jnp.int64(0))

        def cond(s):
            return (s["it"] < max_iter) & jnp.any(s["active"])

        def body(s):
            th, sse, A, g, V, C, lam, nu = (s[k] for k in ("th", "sse", "A", "g", "V", "C", "lam", "nu"))
            u, fixed, pinned = bounded_step(A, g, lam, th, floor, ceil)
            scale = jnp.sqrt(_b._diag(A, p) * sse[:, None] + 1e-300)
            cosg = jnp.max(jnp.where(pinned, 0.0, jnp.abs(g)) / scale, axis=1)
            done_g = (cosg <= gtol) | (sse <= 1e-300)
            if geodesic:
                u = accel(t, th, V, C, A, lam, u, fixed)
            new = jnp.where(u <= -1.0 + 1e-12, floor, th + jnp.log1p(jnp.maximum(u, -1.0 + 1e-12)))
            new = jnp.clip(jnp.maximum(new, floor), -700.0, 700.0)
            step = new - th
            u = jnp.expm1(step)
            V1, C1, sse1, A1, g1 = evaluate(t, y, new, V, False)
            accept = (sse1 < sse) & s["active"]
            pred_dec = -(jnp.sum(g * u, axis=1) + 0.5 * jnp.sum(u * _b._sym_matvec(A, u, jnp), axis=1))
            rho = 0.5 * (sse - sse1) / pred_dec
            rho = jnp.where(jnp.isfinite(rho), rho, 0.0)
            acc = accept[:, None]
            rel = jnp.where(accept, (sse - sse1) / jnp.maximum(sse, 1e-300), jnp.inf)
            th = jnp.where(acc, new, th)
            A = jnp.where(acc, A1, A)
            g = jnp.where(acc, g1, g)
            V = jnp.where(acc, V1, V)
            C = jnp.where(accept[None, :, None], C1, C)
            sse = jnp.where(accept, sse1, sse)
            lam = jnp.where(accept, jnp.maximum(lam * jnp.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3),
                                                1e-15), lam * nu)
            nu = jnp.where(accept, 2.0, nu * 2.0)
            gn = _b._lm_step(A, g, jnp.zeros_like(lam), pinned, jnp.zeros_like(th), xp=jnp)
            pred = -0.5 * jnp.sum(g * gn, axis=1) / jnp.maximum(sse, 1e-300)
            flat = accept & (pred <= _b._PRED_TOL)
            small = jnp.max(jnp.abs(step), axis=1) <= xtol
            status = jnp.where(done_g, 3, jnp.where(flat & (rel <= ftol), 1, jnp.where(
                flat & small, 2, jnp.where(lam > 1e16, 4, 0)))).astype(jnp.int8)
            active = s["active"]
            it = s["it"] + 1
            n_iter = jnp.where(active, it, s["n_iter"])
            new_status = jnp.where(active, status, s["status"])
            keep = active & (status == 0)
            # a fit that has stopped keeps its state: only the active rows take the update
            out = dict(th=th, sse=sse, A=A, g=g, V=V, C=C, lam=lam, nu=nu)
            old = {k: s[k] for k in out}
            for k in out:
                mask = active.reshape((-1,) + (1,) * (out[k].ndim - 1)) if k != "C" else active[None, :, None]
                out[k] = jnp.where(mask, out[k], old[k])
            return dict(out, status=new_status, n_iter=n_iter, active=keep, it=it)

        s = lax.while_loop(cond, body, state)
        return s["th"], s["sse"], s["n_iter"], s["status"]

    return jax.jit(run)


_CACHE = {}


def _lm_jax(name, t, y, th0, floor, ceil, *, max_iter, ftol, xtol, gtol, geodesic, newton_iterations):
    key = (name, th0.shape[1], max_iter, ftol, xtol, gtol, geodesic, newton_iterations)
    if key not in _CACHE:
        _CACHE[key] = _make_lm(name, th0.shape[1], max_iter, ftol, xtol, gtol, geodesic, newton_iterations)
    out = _CACHE[key](t, y, th0, floor, ceil)
    return tuple(np.asarray(o) for o in out)


def _bucket(k, full):
    """Padded size of a round: the chunk, an eighth or a 64th of it (few shapes, few compilations)."""
    for size in (max(full // 64, 256), max(full // 8, 256), full):
        if k <= size:
            return size
    return full


def _lm_jax_rounds(name, t, y, th0, floor, ceil, *, max_iter, round_iter, **kw):
    """The main fit in rounds of ``round_iter`` iterations; after each round the converged fits
    leave and the rest are packed into a smaller padded batch, so that a few slow fits do not keep
    the whole chunk iterating on the device (each round restarts λ, from the current θ)."""
    n, p = th0.shape
    shared = t.shape[0] == 1
    th = np.array(th0)
    sse = np.full(n, np.inf)
    n_iter = np.zeros(n, np.int64)
    status = np.zeros(n, np.int8)
    active = np.arange(n)
    done_it = 0
    while active.size and done_it < max_iter:
        k = min(round_iter, max_iter - done_it)
        size = _bucket(active.size, n)
        idx = np.concatenate([active, np.full(size - active.size, active[-1])])
        out = _lm_jax(name, t if shared else t[idx], y[idx], th[idx], floor[idx], ceil[idx], max_iter=k, **kw)
        th_r, sse_r, it_r, st_r = (o[:active.size] for o in out)
        th[active] = th_r
        sse[active] = sse_r
        n_iter[active] += it_r
        status[active] = st_r
        active = active[st_r == 0]
        done_it += k
    return th, sse, n_iter, status


def fit_model_batch_jax(name: str, t, y, mask=None, *, start=None, max_iter: int = 100, ftol: float = 1e-10,
                        xtol: float = 1e-10, gtol: float = 1e-10, multistart: bool = True,
                        probe_iter: int = _b.PROBE_ITER, parent_fits: dict | None = None,
                        geodesic: bool = False, newton_iterations: int = 8, round_iter: int = 12,
                        threads=None):
    """:func:`fluxwise.fit.batch.fit_model_batch` on JAX (GPU when present). Same arguments and result.

    ``newton_iterations``: fixed Newton steps of the cake-standard solve from the previous iterate.
    ``round_iter``: iterations per round on the device before the converged fits are taken out.
    ``threads`` is accepted for a uniform call and ignored.
    """
    jax = require()
    import jax.numpy as jnp

    model = MODELS.get(name)
    if model is None:
        raise ModelError(f"unknown model '{name}' (expected one of: {', '.join(MODEL_NAMES)})")
    t, y, n_points = _b.prepare_batch(t, y, mask)
    n = y.shape[0]
    p = len(model.all_params)
    if start is None:
        start = _b.starting_values_batch(t, y)
    if isinstance(start, dict):
        theta0 = _b._theta_start(name, start)
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
    run = partial(_lm_jax, name, geodesic=geodesic, newton_iterations=newton_iterations)
    with jax.default_device(jax.devices()[0]):
        tj, yj = jnp.asarray(t), jnp.asarray(y)
        if combined:
            pth0, pfl = _b.probe_starts(name, theta0, parent_fits)
            reps = pth0.shape[0]
            t_all = tj if t.shape[0] == 1 else jnp.tile(tj, (reps, 1))
            flat = pth0.reshape(reps * n, p)
            th_p, sse_p, _, _ = run(t_all, jnp.tile(yj, (reps, 1)), jnp.asarray(flat),
                                    jnp.asarray(pfl.reshape(reps * n, p)),
                                    jnp.asarray(np.maximum(np.tile(theta0, (reps, 1)), flat)),
                                    max_iter=probe_iter, ftol=_b._PROBE_TOL, xtol=_b._PROBE_TOL,
                                    gtol=_b._PROBE_GTOL)
            psse = np.asarray(sse_p).reshape(reps, n)
            pth = np.asarray(th_p).reshape(reps, n, p)
            best = np.argmin(psse, axis=0)
            start_main = pth[best, np.arange(n)]
            floor = pfl[best, np.arange(n)]
        else:
            start_main = theta0
            floor = theta0 - _b._LOG_FLOOR
            floor[:, 0] = -np.inf
        kw = dict(max_iter=max_iter, round_iter=round_iter, ftol=ftol, xtol=xtol, gtol=gtol,
                  geodesic=geodesic, newton_iterations=newton_iterations)
        theta, sse, n_iter, status = _lm_jax_rounds(name, tj, yj, start_main, floor,
                                                    np.maximum(theta0, start_main), **kw)
        if combined:
            # second chance for a fit that ended on or near a bound (as fluxwise.fit.batch)
            redo, alt = _b.second_chance(theta, floor, theta0, pth, pfl, psse, best)
            if redo.size:
                s2 = pth[alt, redo]
                th2, sse2, it2, st2 = _lm_jax_rounds(name, tj if t.shape[0] == 1 else tj[redo], yj[redo], s2,
                                                     pfl[alt, redo], np.maximum(theta0[redo], s2), **kw)
                n_iter[redo] += it2
                better = sse2 < sse[redo]
                take = redo[better]
                theta[take], sse[take], status[take] = th2[better], sse2[better], st2[better]
    return _b._result(name, theta, theta0, sse, n_iter, status, n_points)
