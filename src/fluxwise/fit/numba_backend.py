r"""Compiled path of the batched fitter (numba): the same Levenberg-Marquardt, one fused loop per fit.

:mod:`fluxwise.fit.batch` describes the algorithm (bounded steps in p with the Jacobian in ln p,
Nielsen's damping update, the geodesic acceleration, the multi-start of the combined models, the
convergence tests); this module runs exactly that algorithm per trial in compiled code, in
parallel over trials (``numba.prange``). A fit walks over its points once per evaluation and
accumulates GᵀG, Gᵀr and the SSE on the fly, so there are no temporary arrays: on the 2-core
benchmark machine this is several times faster than the numpy path, which remains the reference
and the fallback when numba is not installed.

Optional: imported only when numba is installed (``pip install numba``); :func:`available` tells.
The special functions differ from the numpy path only in rounding: (1 − e^(−x))/x and
ln(1 + x)/x use their Taylor series below x = 0.01 (truncation error < 1e-14) instead of expm1
and log1p.
"""

from __future__ import annotations

import math

import numpy as np

try:  # pragma: no cover - exercised where numba is installed
    import numba
    from numba import njit, prange
    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    _HAVE_NUMBA = False

from ..models.fouling import MODEL_NAMES

__all__ = ["available", "lm_batch"]

# model structure in MODEL_NAMES order: outer law (0 none, 1 complete, 2 intermediate, 3 series),
# inner law (0 none, 1 standard, 2 cake)
_OUTER = np.array([1, 2, 0, 0, 1, 2, 1, 2, 3], dtype=np.int64)
_INNER = np.array([0, 0, 1, 2, 2, 2, 1, 1, 0], dtype=np.int64)
MODEL_ID = {nm: i for i, nm in enumerate(MODEL_NAMES)}


def available() -> bool:
    """True when numba is installed (the compiled path can run)."""
    return _HAVE_NUMBA


if _HAVE_NUMBA:  # pragma: no branch
    _FAST = {"nsz", "arcp", "contract", "reassoc"}  # no "nnan"/"ninf": infinite SSEs must stay infinite
    _jit = njit(cache=True, nogil=True, error_model="numpy", fastmath=_FAST)
    # inlined into their callers, where the model structure is a constant the compiler specialises
    _inl = njit(inline="always", nogil=True, error_model="numpy", fastmath=_FAST)

    @_jit
    def _phi_exp(x, e):
        if x < 1e-2:
            return 1.0 - x * (0.5 - x * (1.0 / 6.0 - x * (1.0 / 24.0 - x * (1.0 / 120.0 - x * (
                1.0 / 720.0 - x / 5040.0)))))
        return (1.0 - e) / x

    @_jit
    def _psi_exp(x, e, phi):
        if x < 1e-2:
            return x * (-0.5 + x * (1.0 / 3.0 + x * (-0.125 + x * (1.0 / 30.0 + x * (-1.0 / 144.0
                                                                                   + x / 840.0)))))
        return e - phi

    @_jit
    def _phi_log(x):
        if x < 1e-2:
            return 1.0 - x * (0.5 - x * (1.0 / 3.0 - x * (0.25 - x * (0.2 - x * (1.0 / 6.0 - x / 7.0)))))
        return math.log(1.0 + x) / x

    @_jit
    def _psi_log(x, phi):
        if x < 1e-2:
            return x * (-0.5 + x * (2.0 / 3.0 + x * (-0.75 + x * (0.8 + x * (-5.0 / 6.0 + x * 6.0 / 7.0)))))
        return 1.0 / (1.0 + x) - phi

    @_inl
    def _point(outer, inner, t, J0, k1, k2, vwarm):
        """V and p·∂V/∂p at one time point (see fluxwise.fit.batch for the equations)."""
        s = J0 * t
        if outer == 3:  # cake-standard, k1 = ks, k2 = kc: Newton on t(V), warm start, from above
            hks = 0.5 * k1
            ub = min(2.0 * s / (math.sqrt(1.0 + 2.0 * k2 * J0 * s) + 1.0), s / (1.0 + hks * s))
            v = min(max(vwarm, 0.0), ub)
            for _ in range(60):
                a = 1.0 - hks * v
                ja = J0 * a
                step = (v / ja + 0.5 * k2 * v * v - t) / (1.0 / (ja * a) + k2 * v)
                v = min(max(v - step, 0.0), ub)
                if abs(step) <= 1e-13 * v + 1e-300:
                    break
            a = 1.0 - hks * v
            ja = J0 * a
            inv_fv = 1.0 / (1.0 / (ja * a) + k2 * v)
            u = v / ja
            return v, u * inv_fv, -(u * (hks * v) / a) * inv_fv, -(0.5 * k2 * v * v) * inv_fv
        kin = k1 if outer == 0 else k2
        if inner == 0:
            v = s
            vj = s
            vk = 0.0
        elif inner == 1:
            ds = 0.5 * kin * s
            d = 1.0 + ds
            v = s / d
            vj = v / d
            vk = -vj * ds
        else:
            z = 2.0 * kin * J0 * s
            q = math.sqrt(1.0 + z)
            v = 2.0 * s / (q + 1.0)
            vj = v / q
            vk = -0.5 * vj * z / (q + 1.0)
        if outer == 0:
            return v, vj, vk, 0.0
        if outer == 1:
            x = (k1 / J0) * v
            e = math.exp(-x)
            phi = _phi_exp(x, e)
            V = v * phi
            dk = v * _psi_exp(x, e, phi)
            return V, e * vj - dk, dk, e * vk
        x = k1 * v
        inv = 1.0 / (1.0 + x)
        phi = _phi_log(x)
        return v * phi, vj * inv, v * _psi_log(x, phi), vk * inv

    @_inl
    def _eval_loop(outer, inner, t, y, npts, J0, k1, k2, vwarm, Vout, C, want_cols, out):
        a00 = a01 = a02 = a11 = a12 = a22 = g0 = g1 = g2 = sse = 0.0
        for k in range(npts):
            V, c0, c1, c2 = _point(outer, inner, t[k], J0, k1, k2, vwarm[k])
            r = V - y[k]
            a00 += c0 * c0
            a01 += c0 * c1
            a02 += c0 * c2
            a11 += c1 * c1
            a12 += c1 * c2
            a22 += c2 * c2
            g0 += c0 * r
            g1 += c1 * r
            g2 += c2 * r
            sse += r * r
            Vout[k] = V
            if want_cols:
                C[0, k] = c0
                C[1, k] = c1
                C[2, k] = c2
        out[0] = a00
        out[1] = a01
        out[2] = a02
        out[3] = a11
        out[4] = a12
        out[5] = a22
        out[6] = g0
        out[7] = g1
        out[8] = g2
        out[9] = sse if math.isfinite(sse) else math.inf

    @_jit
    def _evaluate(outer, inner, t, y, npts, th, vwarm, Vout, C, want_cols, out):
        """One pass over the points: V (and the columns) into buffers, GᵀG, Gᵀr, SSE into ``out``.

        One loop per model structure, with the structure as constants, so that the compiler
        specialises (and vectorises) each loop body.
        """
        J0 = math.exp(th[0])
        k1 = math.exp(th[1]) if th.shape[0] > 1 else 0.0
        k2 = math.exp(th[2]) if th.shape[0] > 2 else 0.0
        _eval_loop(outer, inner, t, y, npts, J0, k1, k2, vwarm, Vout, C, want_cols, out)

    @_inl
    def _value_loop(outer, inner, t, npts, J0, k1, k2, V, C, u0, u1, u2, p, rvv_g):
        h = 0.1
        s0 = s1 = s2 = 0.0
        for k in range(npts):
            vh = _point(outer, inner, t[k], J0, k1, k2, V[k])[0]
            gu = C[0, k] * u0 + C[1, k] * u1 + C[2, k] * u2
            rvv = (2.0 / h) * ((vh - V[k]) / h - gu)
            s0 += C[0, k] * rvv
            s1 += C[1, k] * rvv
            s2 += C[2, k] * rvv
        rvv_g[0] = s0
        rvv_g[1] = s1
        rvv_g[2] = s2

    @_jit
    def _value_sum(outer, inner, t, npts, pv, V, C, u, p, rvv_g):
        """Geodesic acceleration: Gᵀ·r_vv with r_vv = (2/h)((V(p(1 + h·u)) − V)/h − G·u), h = 0.1."""
        J0 = pv[0]
        k1 = pv[1] if p > 1 else 0.0
        k2 = pv[2] if p > 2 else 0.0
        u0 = u[0]
        u1 = u[1] if p > 1 else 0.0
        u2 = u[2] if p > 2 else 0.0
        _value_loop(outer, inner, t, npts, J0, k1, k2, V, C, u0, u1, u2, p, rvv_g)

    @_jit
    def _solve(A, g, lam, p, fixed, value, x):
        """(A + λ·diag A) x = −g with fixed components (closed form, unit-diagonal scaling)."""
        d0, d1, d2 = A[0], A[3], A[5]
        if p == 2:
            d1 = A[2]
        D = np.empty(3)
        gg = np.empty(3)
        good = np.empty(3, dtype=np.bool_)
        dd = (d0, d1, d2)
        for j in range(3):
            D[j] = math.sqrt(dd[j]) if dd[j] > 0 else 1.0
        # right-hand side with the fixed components moved over
        if p == 1:
            a01 = a02 = a12 = 0.0
        elif p == 2:
            a01, a02, a12 = A[1], 0.0, 0.0
        else:
            a01, a02, a12 = A[1], A[2], A[4]
        f0 = value[0] if fixed[0] else 0.0
        f1 = value[1] if (p > 1 and fixed[1]) else 0.0
        f2 = value[2] if (p > 2 and fixed[2]) else 0.0
        gg[0] = g[0] + d0 * f0 + a01 * f1 + a02 * f2
        gg[1] = g[1] + a01 * f0 + d1 * f1 + a12 * f2
        gg[2] = g[2] + a02 * f0 + a12 * f1 + d2 * f2
        for j in range(3):
            good[j] = j < p and dd[j] > 0 and not fixed[j]
            gg[j] = gg[j] / D[j] if good[j] else 0.0
        one = 1.0 + lam
        m01 = a01 / (D[0] * D[1]) if (good[0] and good[1]) else 0.0
        m02 = a02 / (D[0] * D[2]) if (good[0] and good[2]) else 0.0
        m12 = a12 / (D[1] * D[2]) if (good[1] and good[2]) else 0.0
        c00 = one * one - m12 * m12
        c01 = m02 * m12 - m01 * one
        c02 = m01 * m12 - m02 * one
        c11 = one * one - m02 * m02
        c12 = m01 * m02 - one * m12
        c22 = one * one - m01 * m01
        if p == 1:
            x[0] = -gg[0] / one / D[0]
        elif p == 2:
            det = one * one - m01 * m01
            x[0] = -(one * gg[0] - m01 * gg[1]) / det / D[0]
            x[1] = -(one * gg[1] - m01 * gg[0]) / det / D[1]
        else:
            det = one * c00 + m01 * c01 + m02 * c02
            x[0] = -(c00 * gg[0] + c01 * gg[1] + c02 * gg[2]) / det / D[0]
            x[1] = -(c01 * gg[0] + c11 * gg[1] + c12 * gg[2]) / det / D[1]
            x[2] = -(c02 * gg[0] + c12 * gg[1] + c22 * gg[2]) / det / D[2]
        for j in range(p):
            if fixed[j]:
                x[j] = value[j]

    @_jit
    def _quad(A, x, p):
        """xᵀ·A·x for A stored as its upper triangle."""
        if p == 1:
            return A[0] * x[0] * x[0]
        if p == 2:
            return A[0] * x[0] * x[0] + 2 * A[1] * x[0] * x[1] + A[2] * x[1] * x[1]
        return (A[0] * x[0] * x[0] + A[3] * x[1] * x[1] + A[5] * x[2] * x[2]
                + 2 * (A[1] * x[0] * x[1] + A[2] * x[0] * x[2] + A[4] * x[1] * x[2]))

    @_jit
    def _lm_row(outer, inner, t, y, npts, th0, floor, ceil, max_iter, ftol, xtol, gtol, geodesic,
                max_up, pred_tol, th_out):
        """Levenberg-Marquardt for one trial; the port of fluxwise.fit.batch._lm. Returns sse, it, status."""
        p = th0.shape[0]
        m = npts
        ceil = np.maximum(ceil, th0)
        V = np.zeros(m)
        V1 = np.zeros(m)
        C = np.zeros((3, m))
        C1 = np.zeros((3, m))
        cur = np.empty(10)
        trial = np.empty(10)
        th = th0.copy()
        new = np.empty(p)
        u = np.zeros(3)
        a = np.zeros(3)
        gn = np.zeros(3)
        fixed = np.zeros(3, dtype=np.bool_)
        nofix = np.zeros(3, dtype=np.bool_)
        pinned = np.zeros(3, dtype=np.bool_)
        value = np.zeros(3)
        zeros = np.zeros(3)
        rvv_g = np.zeros(3)
        pv = np.zeros(3)
        # with the warm start at 0, cake-standard starts from its upper bound, as the numpy path
        _evaluate(outer, inner, t, y, m, th, V, V, C, geodesic, cur)
        A = np.zeros(6)
        g = np.zeros(3)
        if p == 3:
            A[:] = cur[:6]
        elif p == 2:
            A[0], A[1], A[2] = cur[0], cur[1], cur[3]
        else:
            A[0] = cur[0]
        for j in range(p):
            g[j] = cur[6 + j]
        for j in range(6):
            if not math.isfinite(A[j]):
                A[j] = 0.0
        for j in range(p):
            if not math.isfinite(g[j]):
                g[j] = 0.0
        sse = cur[9]
        lam = 1e-3
        nu = 2.0
        status = 0
        it = 0
        e_up = math.expm1(max_up)
        for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
            # bounded step (see _bounded_step)
            _solve(A, g, lam, p, nofix, zeros, u)
            anyfix = False
            for j in range(p):
                at_floor = th[j] <= floor[j]
                dmax = math.expm1(min(max(ceil[j] - th[j], max_up), 700.0)) if at_floor else e_up
                pinned[j] = at_floor and u[j] < 0
                fixed[j] = pinned[j] or u[j] > dmax or not math.isfinite(u[j])
                value[j] = dmax if u[j] > dmax else 0.0
                anyfix = anyfix or fixed[j]
            if anyfix:
                _solve(A, g, lam, p, fixed, value, u)
            for j in range(p):
                if not math.isfinite(u[j]):
                    u[j] = 0.0
            # gradient test
            cosg = 0.0
            dg = (A[0], A[2] if p == 2 else A[3], A[5])
            for j in range(p):
                if not pinned[j]:
                    cosg = max(cosg, abs(g[j]) / math.sqrt(dg[j] * sse + 1e-300))
            done_g = cosg <= gtol or sse <= 1e-300
            if geodesic:
                ok = True
                for j in range(p):
                    pv[j] = math.exp(th[j]) * max(1.0 + 0.1 * u[j], 0.5)
                    ok = ok and u[j] > -1.0
                if ok:
                    _value_sum(outer, inner, t, m, pv, V, C, u, p, rvv_g)
                    _solve(A, rvv_g, lam, p, fixed, zeros, a)
                    na = 0.0
                    nu_ = 0.0
                    for j in range(p):
                        dj = math.sqrt(max(dg[j], 0.0))
                        na += (dj * a[j]) ** 2
                        nu_ += (dj * u[j]) ** 2
                        ok = ok and math.isfinite(a[j])
                    if ok and 2.0 * math.sqrt(na) <= 0.75 * math.sqrt(nu_):
                        for j in range(p):
                            u[j] += 0.5 * a[j]
            # apply the step: θ' = θ + ln(1 + u), onto the floor for u ≤ −1
            big = 0.0
            for j in range(p):
                if u[j] <= -1.0 + 1e-12:
                    nj = floor[j]
                else:
                    nj = th[j] + math.log1p(max(u[j], -1.0 + 1e-12))
                nj = min(max(max(nj, floor[j]), -700.0), 700.0)
                new[j] = nj
                u[j] = math.expm1(nj - th[j])
                big = max(big, abs(nj - th[j]))
            _evaluate(outer, inner, t, y, m, new, V, V1, C1, geodesic, trial)
            sse1 = trial[9]
            accept = sse1 < sse
            pred_dec = 0.0
            for j in range(p):
                pred_dec -= g[j] * u[j]
            pred_dec -= 0.5 * _quad(A, u, p)
            rho = 0.5 * (sse - sse1) / pred_dec if pred_dec != 0.0 else 0.0
            if not math.isfinite(rho):
                rho = 0.0
            rel = math.inf
            if accept:
                rel = (sse - sse1) / max(sse, 1e-300)
                sse = sse1
                for j in range(p):
                    th[j] = new[j]
                if p == 3:
                    A[:] = trial[:6]
                elif p == 2:
                    A[0], A[1], A[2] = trial[0], trial[1], trial[3]
                else:
                    A[0] = trial[0]
                for j in range(p):
                    g[j] = trial[6 + j]
                V, V1 = V1, V
                C, C1 = C1, C
                lam = max(lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-15)
                nu = 2.0
            else:
                lam = lam * nu
                nu = nu * 2.0
            # convergence tests (see _lm)
            _solve(A, g, 0.0, p, pinned, zeros, gn)
            pred = 0.0
            for j in range(p):
                pred -= 0.5 * g[j] * gn[j]
            pred /= max(sse, 1e-300)
            flat = accept and pred <= pred_tol
            status = 0
            if lam > 1e16:
                status = 4
            if flat and big <= xtol:
                status = 2
            if flat and rel <= ftol:
                status = 1
            if done_g:
                status = 3
            if status > 0:
                break
        for j in range(p):
            th_out[j] = th[j]
        return sse, it, status

    @njit(cache=True, parallel=True, nogil=True, error_model="numpy")
    def _lm_rows(outer, inner, t, shared_t, y, npts, th0, floor, ceil, max_iter, ftol, xtol, gtol,
                 geodesic, max_up, pred_tol, starts, probe_iter, probe_floor, th_out, sse_out, it_out,
                 st_out):
        numba.literally(outer)
        numba.literally(inner)
        n = y.shape[0]
        p = th0.shape[1]
        reps = starts.shape[0]
        for i in prange(n):
            ti = t[0] if shared_t else t[i]
            yi = y[i]
            tmp = np.empty(p)
            if reps > 0:
                # multi-start probe (combined models): a few loose iterations from each start
                best = math.inf
                best_th = th0[i].copy()
                best_fl = floor[i].copy()
                for r in range(reps):
                    s0 = th0[i] + starts[r]
                    fl = s0 - probe_floor
                    fl[0] = -math.inf
                    sse_r, _, _ = _lm_row(outer, inner, ti, yi, npts[i], s0, fl, s0, probe_iter, 1e-6, 1e-6,
                                          1e-8, geodesic, max_up, pred_tol, tmp)
                    if sse_r < best:
                        best = sse_r
                        best_th[:] = tmp
                        best_fl[:] = fl
                sse, it, st = _lm_row(outer, inner, ti, yi, npts[i], best_th, best_fl, th0[i], max_iter, ftol,
                                      xtol, gtol, geodesic, max_up, pred_tol, tmp)
            else:
                sse, it, st = _lm_row(outer, inner, ti, yi, npts[i], th0[i], floor[i], ceil[i], max_iter,
                                      ftol, xtol, gtol, geodesic, max_up, pred_tol, tmp)
            th_out[i] = tmp
            sse_out[i] = sse
            it_out[i] = it
            st_out[i] = st


def lm_batch(name, t, y, n_points, theta0, floor, ceil, *, max_iter, ftol, xtol, gtol, geodesic, max_up,
             pred_tol, multistart=None, probe_iter=5, probe_floor=60.0, threads=None):
    """Run the compiled Levenberg-Marquardt on every row; arrays as in ``fluxwise.fit.batch._lm``.

    ``multistart`` [reps, p] holds log-factors added to ``theta0`` for the probe starts (combined
    models), or None. Returns θ [n, p], SSE [n], iterations [n], status [n].
    """
    mid = MODEL_ID[name]
    n, p = theta0.shape
    th_out = np.empty((n, p))
    sse_out = np.empty(n)
    it_out = np.empty(n, dtype=np.int64)
    st_out = np.empty(n, dtype=np.int8)
    starts = np.zeros((0, p)) if multistart is None else np.ascontiguousarray(multistart, dtype=float)
    t = np.ascontiguousarray(t, dtype=float)
    old = None
    if threads is not None:
        old = numba.get_num_threads()
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        _lm_rows(int(_OUTER[mid]), int(_INNER[mid]), t, t.shape[0] == 1 and n > 1,
                 np.ascontiguousarray(y, dtype=float),
                 np.ascontiguousarray(n_points, dtype=np.int64), np.ascontiguousarray(theta0, dtype=float),
                 np.ascontiguousarray(floor, dtype=float), np.ascontiguousarray(ceil, dtype=float),
                 int(max_iter), float(ftol), float(xtol), float(gtol), bool(geodesic), float(max_up),
                 float(pred_tol), starts, int(probe_iter), float(probe_floor), th_out, sse_out, it_out,
                 st_out)
    finally:
        if old is not None:
            numba.set_num_threads(old)
    return th_out, sse_out, it_out, st_out
