r"""Compiled path of the batched fitter (numba): the same Levenberg-Marquardt, one fused loop per fit.

:mod:`fluxwise.fit.batch` describes the algorithm (bounded steps in p with the Jacobian in ln p,
Nielsen's damping update, the multi-start of the combined models, the convergence tests; not the
optional geodesic acceleration); this module runs exactly that algorithm per trial in compiled code, in
parallel over trials (``numba.prange``). A fit walks over its points once per evaluation and
accumulates GᵀG, Gᵀr and the SSE on the fly, so there are no temporary arrays: on the 2-core
benchmark machine this is several times faster than the numpy path, which remains the reference
and the fallback when numba is not installed.

Optional: imported only when numba is installed (``pip install numba``); :func:`available` tells.
The first use compiles the kernels of all nine models (about 20 s on the benchmark machine) and
caches them on disk (``__pycache__``, or ``NUMBA_CACHE_DIR``), so later processes load them in a
fraction of a second; ``backend="auto"`` therefore uses numba only for large batches.
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

__all__ = ["available", "lm_batch", "starting_values"]

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
        """V and p·∂V/∂p at one time point (see fluxwise.fit.batch for the equations).

        ``vwarm`` is a close guess of V for cake-standard (the previous V moved along the Jacobian).
        """
        s = J0 * t
        if outer == 3:  # cake-standard, k1 = ks, k2 = kc: Newton on the convex, increasing t(V)
            hks = 0.5 * k1
            v = vwarm if vwarm > 0.0 else 0.0
            ub = -1.0
            if hks * v >= 1.0:  # beyond the standard capacity: start from the upper bound
                ub = min(2.0 * s / (math.sqrt(1.0 + 2.0 * k2 * J0 * s) + 1.0), s / (1.0 + hks * s))
                v = ub
            for _ in range(60):
                # Newton step F/F' with F = v/(J0·a) + kc·v²/2 − t, F' = 1/(J0·a²) + kc·v, both
                # multiplied by J0·a² (one division per step: this loop is bound by divisions)
                a = 1.0 - hks * v
                jaa = J0 * a * a
                step = (v * a + jaa * (0.5 * k2 * v * v - t)) / (1.0 + k2 * v * jaa)
                vn = v - step
                if vn < 0.0 or hks * vn >= 1.0:
                    # a Newton step from below the root may leave the domain: the upper bound
                    # min(V_cake, V_standard) lies above the root, and Newton descends from there
                    if ub < 0.0:
                        ub = min(2.0 * s / (math.sqrt(1.0 + 2.0 * k2 * J0 * s) + 1.0), s / (1.0 + hks * s))
                    vn = ub
                v = vn
                # quadratic convergence: after a step below 1e-7·V the error is ~(1e-7)²·V
                if abs(step) <= 1e-7 * v + 1e-300:
                    break
            # p·∂V/∂p = −p·F_p/F_V with F_V = 1/(J0·a²) + kc·v, again over J0·a²: D = 1 + kc·v·J0·a²
            a = 1.0 - hks * v
            jaa = J0 * a * a
            inv_d = 1.0 / (1.0 + k2 * v * jaa)
            return v, v * a * inv_d, -hks * v * v * inv_d, -0.5 * k2 * v * v * jaa * inv_d
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
    def _eval_loop(outer, inner, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out):
        a00 = a01 = a02 = a11 = a12 = a22 = g0 = g1 = g2 = sse = 0.0
        vprev = 0.0
        tprev = 0.0
        for k in range(npts):
            vw = 0.0
            if outer == 3:
                if warm:
                    vw = V[k] + C[0, k] * u0 + C[1, k] * u1 + C[2, k] * u2
                else:
                    # cold: an Euler step from the previous point, V + (dt/dV)⁻¹·Δt, lies above the
                    # root (V(t) is concave), where Newton descends monotonically
                    a = 1.0 - 0.5 * k1 * vprev
                    vw = vprev + (t[k] - tprev) / (1.0 / (J0 * a * a) + k2 * vprev)
            Vk, c0, c1, c2 = _point(outer, inner, t[k], J0, k1, k2, vw)
            vprev = Vk
            tprev = t[k]
            r = Vk - y[k]
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
            Vout[k] = Vk
            Cout[0, k] = c0
            Cout[1, k] = c1
            Cout[2, k] = c2
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
    def _evaluate(outer, inner, t, y, npts, th, V, C, u, warm, Vout, Cout, out):
        """One pass over the points: V and the columns into Vout/Cout, GᵀG, Gᵀr and SSE into ``out``.

        For cake-standard with ``warm``, V + G·u (the current state moved along the step u) starts
        the Newton solve of each point. The model structure is a compile-time constant (one
        branch below), so every model gets its own specialised, vectorisable loop.
        """
        p = th.shape[0]
        J0 = math.exp(th[0])
        k1 = math.exp(th[1]) if p > 1 else 0.0
        k2 = math.exp(th[2]) if p > 2 else 0.0
        u0 = u[0]
        u1 = u[1] if p > 1 else 0.0
        u2 = u[2] if p > 2 else 0.0
        if outer == 1 and inner == 0:
            _eval_loop(1, 0, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)
        elif outer == 2 and inner == 0:
            _eval_loop(2, 0, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)
        elif outer == 0 and inner == 1:
            _eval_loop(0, 1, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)
        elif outer == 0 and inner == 2:
            _eval_loop(0, 2, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)
        elif outer == 1 and inner == 2:
            _eval_loop(1, 2, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)
        elif outer == 2 and inner == 2:
            _eval_loop(2, 2, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)
        elif outer == 1 and inner == 1:
            _eval_loop(1, 1, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)
        elif outer == 2 and inner == 1:
            _eval_loop(2, 1, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)
        else:
            _eval_loop(3, 0, t, y, npts, J0, k1, k2, V, C, u0, u1, u2, warm, Vout, Cout, out)

    @_jit
    def _solve(A, g, lam, p, fixed, value, x):
        """(A + λ·diag A) x = −g with fixed components (closed form, unit-diagonal scaling).

        ``A`` is the upper triangle: p = 3: a00 a01 a02 a11 a12 a22; p = 2: a00 a01 a11; p = 1: a00.
        """
        if p == 3:
            d0, d1, d2, a01, a02, a12 = A[0], A[3], A[5], A[1], A[2], A[4]
        elif p == 2:
            d0, d1, d2, a01, a02, a12 = A[0], A[2], 0.0, A[1], 0.0, 0.0
        else:
            d0, d1, d2, a01, a02, a12 = A[0], 0.0, 0.0, 0.0, 0.0, 0.0
        f0 = value[0] if fixed[0] else 0.0
        f1 = value[1] if (p > 1 and fixed[1]) else 0.0
        f2 = value[2] if (p > 2 and fixed[2]) else 0.0
        # right-hand side with the fixed components moved over
        h0 = g[0] + d0 * f0 + a01 * f1 + a02 * f2
        h1 = (g[1] if p > 1 else 0.0) + a01 * f0 + d1 * f1 + a12 * f2
        h2 = (g[2] if p > 2 else 0.0) + a02 * f0 + a12 * f1 + d2 * f2
        ok0 = d0 > 0 and not fixed[0]
        ok1 = p > 1 and d1 > 0 and not fixed[1]
        ok2 = p > 2 and d2 > 0 and not fixed[2]
        D0 = math.sqrt(d0) if d0 > 0 else 1.0
        D1 = math.sqrt(d1) if d1 > 0 else 1.0
        D2 = math.sqrt(d2) if d2 > 0 else 1.0
        g0 = h0 / D0 if ok0 else 0.0
        g1 = h1 / D1 if ok1 else 0.0
        g2 = h2 / D2 if ok2 else 0.0
        one = 1.0 + lam
        m01 = a01 / (D0 * D1) if (ok0 and ok1) else 0.0
        m02 = a02 / (D0 * D2) if (ok0 and ok2) else 0.0
        m12 = a12 / (D1 * D2) if (ok1 and ok2) else 0.0
        if p == 1:
            x[0] = -g0 / one / D0
        elif p == 2:
            det = one * one - m01 * m01
            x[0] = -(one * g0 - m01 * g1) / det / D0
            x[1] = -(one * g1 - m01 * g0) / det / D1
        else:
            c00 = one * one - m12 * m12
            c01 = m02 * m12 - m01 * one
            c02 = m01 * m12 - m02 * one
            c11 = one * one - m02 * m02
            c12 = m01 * m02 - one * m12
            c22 = one * one - m01 * m01
            det = one * c00 + m01 * c01 + m02 * c02
            x[0] = -(c00 * g0 + c01 * g1 + c02 * g2) / det / D0
            x[1] = -(c01 * g0 + c11 * g1 + c12 * g2) / det / D1
            x[2] = -(c02 * g0 + c12 * g1 + c22 * g2) / det / D2
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
    def _take(out, src, p):
        """GᵀG (upper triangle in the layout of p) and Gᵀr from an evaluation record."""
        if p == 3:
            for j in range(6):
                out[j] = src[j]
        elif p == 2:
            out[0], out[1], out[2] = src[0], src[1], src[3]
        else:
            out[0] = src[0]

    @_jit
    def _lm_row(outer, inner, t, y, npts, th0, floor, ceil_in, max_iter, ftol, xtol, gtol,
                max_up, pred_tol, th_out, V, V1, C, C1, fw, bw):
        """Levenberg-Marquardt for one trial; the port of fluxwise.fit.batch._lm. Returns sse, it, status.

        V, V1 [m], C, C1 [3, m], fw (float, 64) and bw (bool, 9) are work buffers of the caller.
        """
        p = th0.shape[0]
        m = npts
        cur = fw[0:10]
        trial = fw[10:20]
        A = fw[20:26]
        g = fw[26:29]
        u = fw[29:32]
        gn = fw[35:38]
        value = fw[38:41]
        zeros = fw[41:44]
        th = fw[50:50 + p]
        new = fw[53:53 + p]
        ceil = fw[56:56 + p]
        fixed = bw[0:3]
        nofix = bw[3:6]
        pinned = bw[6:9]
        fw[:] = 0.0
        bw[:] = False
        for j in range(p):
            th[j] = th0[j]
            ceil[j] = max(ceil_in[j], th0[j])
        # cold start (no warm V): cake-standard starts from its upper bound
        _evaluate(outer, inner, t, y, m, th, V, C, zeros, False, V, C, cur)
        _take(A, cur, p)
        for j in range(6):
            if not math.isfinite(A[j]):
                A[j] = 0.0
        for j in range(p):
            g[j] = cur[6 + j] if math.isfinite(cur[6 + j]) else 0.0
        sse = cur[9]
        dg0 = A[0]
        lam = 1e-3
        nu = 2.0
        status = 0
        it = 0
        e_up = math.expm1(max_up)
        for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
            dg1 = A[2] if p == 2 else A[3]
            dg2 = A[5]
            dg0 = A[0]
            # bounded step (see fluxwise.fit.batch._bounded_step)
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
            else:
                for j in range(3):
                    fixed[j] = False
            for j in range(p):
                if not math.isfinite(u[j]):
                    u[j] = 0.0
            # gradient test
            cosg = 0.0
            for j in range(p):
                dj = dg0 if j == 0 else (dg1 if j == 1 else dg2)
                if not pinned[j]:
                    cosg = max(cosg, abs(g[j]) / math.sqrt(dj * sse + 1e-300))
            done_g = cosg <= gtol or sse <= 1e-300
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
            _evaluate(outer, inner, t, y, m, new, V, C, u, True, V1, C1, trial)
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
                _take(A, trial, p)
                for j in range(p):
                    g[j] = trial[6 + j]
                V, V1 = V1, V
                C, C1 = C1, C
                lam = max(lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-15)
                nu = 2.0
            else:
                lam = lam * nu
                nu = nu * 2.0
            # convergence tests (see fluxwise.fit.batch._lm)
            status = 0
            if lam > 1e16:
                status = 4
            if accept and (big <= xtol or rel <= ftol):
                _solve(A, g, 0.0, p, pinned, zeros, gn)
                pred = 0.0
                for j in range(p):
                    pred -= 0.5 * g[j] * gn[j]
                if pred / max(sse, 1e-300) <= pred_tol:
                    status = 1 if rel <= ftol else 2
            if done_g:
                status = 3
            if status > 0:
                break
        for j in range(p):
            th_out[j] = th[j]
        return sse, it, status

    @njit(cache=True, parallel=True, nogil=True, error_model="numpy")
    def _lm_rows(outer, inner, t, shared_t, y, npts, th0, floor, ceil, max_iter, ftol, xtol, gtol,
                 max_up, pred_tol, pstart, pfloor, probe_iter, near_bound, th_out, sse_out, it_out, st_out,
                 n_blocks):
        n = y.shape[0]
        m = y.shape[1]
        p = th0.shape[1]
        reps = pstart.shape[0]
        # blocks of rows share work buffers: no allocation per fit
        for b in prange(n_blocks):
            lo = b * n // n_blocks
            hi = (b + 1) * n // n_blocks
            V = np.zeros(m)
            V1 = np.zeros(m)
            C = np.zeros((3, m))
            C1 = np.zeros((3, m))
            fw = np.zeros(64)
            bw = np.zeros(9, dtype=np.bool_)
            tmp = np.empty(p)
            best_th = np.empty(p)
            best_fl = np.empty(p)
            s0 = np.empty(p)
            fl = np.empty(p)
            ce = np.empty(p)
            cl = np.empty(p)
            tmp2 = np.empty(p)
            pth = np.empty((max(reps, 1), p))
            pfl = np.empty((max(reps, 1), p))
            psse = np.empty(max(reps, 1))
            for i in range(lo, hi):
                ti = t[0] if shared_t else t[i]
                yi = y[i]
                # runs 0..reps-1: multi-start probe (combined models), a few loose iterations from
                # each start; run reps: the fit itself, from the best probe
                best = math.inf
                best_r = -1
                for j in range(p):
                    best_th[j] = th0[i, j]
                    best_fl[j] = floor[i, j]
                    cl[j] = ceil[i, j]
                sse = math.inf
                it = 0
                st = 0
                for r in range(reps + 1):
                    probe = r < reps
                    if probe:
                        for j in range(p):
                            s0[j] = pstart[r, i, j]
                            fl[j] = pfloor[r, i, j]
                            ce[j] = cl[j]
                    else:
                        for j in range(p):
                            s0[j] = best_th[j]
                            fl[j] = best_fl[j]
                            ce[j] = cl[j]
                    sse, it, st = _lm_row(outer, inner, ti, yi, npts[i], s0, fl, ce,
                                          probe_iter if probe else max_iter, 1e-6 if probe else ftol,
                                          1e-6 if probe else xtol, 1e-8 if probe else gtol, max_up, pred_tol,
                                          tmp, V, V1, C, C1, fw, bw)
                    if probe:
                        psse[r] = sse
                        for j in range(p):
                            pth[r, j] = tmp[j]
                            pfl[r, j] = fl[j]
                        if sse < best:
                            best = sse
                            best_r = r
                            for j in range(p):
                                best_th[j] = tmp[j]
                                best_fl[j] = fl[j]
                # a fit that ended with a constant on or near its bound (below 1/1000 of its
                # linearisation estimate) gets a second chance from the best other probe that ended
                # inside (see fluxwise.fit.batch.second_chance)
                low = False
                for j in range(1, p):
                    low = low or tmp[j] <= max(fl[j], cl[j] - near_bound)
                if reps > 0 and low:
                    alt = -1
                    for r in range(reps):
                        inside = r != best_r
                        for j in range(1, p):
                            inside = inside and pth[r, j] > max(pfl[r, j], cl[j] - near_bound)
                        if inside and (alt < 0 or psse[r] < psse[alt]):
                            alt = r
                    if alt >= 0:
                        for j in range(p):
                            s0[j] = pth[alt, j]
                            fl[j] = pfl[alt, j]
                            ce[j] = cl[j]
                        sse2, it2, st2 = _lm_row(outer, inner, ti, yi, npts[i], s0, fl, ce, max_iter, ftol,
                                                 xtol, gtol, max_up, pred_tol, tmp2, V, V1, C, C1, fw, bw)
                        it += it2
                        if sse2 < sse:
                            sse = sse2
                            st = st2
                            for j in range(p):
                                tmp[j] = tmp2[j]
                for j in range(p):
                    th_out[i, j] = tmp[j]
                sse_out[i] = sse
                it_out[i] = it
                st_out[i] = st

    @_jit
    def _linfit_acc(x, y, w, m):
        """Least-squares line through the points with w: (a, b), NaN where undefined (two passes)."""
        sw = 0.0
        sx = 0.0
        sy = 0.0
        for k in range(m):
            if w[k]:
                sw += 1.0
                sx += x[k]
                sy += y[k]
        if sw < 2:
            return math.nan, math.nan
        mx = sx / sw
        my = sy / sw
        sxx = 0.0
        sxy = 0.0
        for k in range(m):
            if w[k]:
                dx = x[k] - mx
                sxx += dx * dx
                sxy += dx * y[k]
        if not sxx > 0:
            return math.nan, math.nan
        b = sxy / sxx
        return my - b * mx, b

    @njit(cache=True, parallel=True, nogil=True, error_model="numpy")
    def _starts_rows(t, shared_t, y, npts, out, n_blocks):
        """The linearisation starts of fluxwise.fit.batch.starting_values_batch, one pass per trial."""
        n = y.shape[0]
        m = y.shape[1]
        for b in prange(n_blocks):
            lo = b * n // n_blocks
            hi = (b + 1) * n // n_blocks
            tv = np.empty(m)
            jf = np.empty(m)
            lj = np.empty(m)
            ok = np.empty(m, dtype=np.bool_)
            good = np.empty(m, dtype=np.bool_)
            for i in range(lo, hi):
                ti = t[0] if shared_t else t[i]
                yi = y[i]
                L = npts[i]
                for k in range(m):
                    ok[k] = k < L and ti[k] > 0 and yi[k] > 0
                    tv[k] = ti[k] / yi[k] if ok[k] else 0.0
                    jf[k] = math.nan
                a_tv, b_tv = _linfit_acc(ti, tv, ok, m)
                _, b_cv = _linfit_acc(yi, tv, ok, m)
                # flux by second-order differences (numpy.gradient, edge_order=2)
                if L >= 3:
                    for k in range(1, L - 1):
                        hs = ti[k] - ti[k - 1]
                        hd = ti[k + 1] - ti[k]
                        jf[k] = (hs * hs * yi[k + 1] + (hd * hd - hs * hs) * yi[k] - hd * hd * yi[k - 1]) / (
                            hs * hd * (hd + hs))
                    d1 = ti[1] - ti[0]
                    d2 = ti[2] - ti[1]
                    jf[0] = (-(2 * d1 + d2) / (d1 * (d1 + d2)) * yi[0] + (d1 + d2) / (d1 * d2) * yi[1]
                             - d1 / (d2 * (d1 + d2)) * yi[2])
                    e = L - 1
                    d1 = ti[e - 1] - ti[e - 2]
                    d2 = ti[e] - ti[e - 1]
                    jf[e] = (d2 / (d1 * (d1 + d2)) * yi[e - 2] - (d2 + d1) / (d1 * d2) * yi[e - 1]
                             + (2 * d2 + d1) / (d2 * (d1 + d2)) * yi[e])
                elif L == 2:
                    jf[0] = jf[1] = (yi[1] - yi[0]) / (ti[1] - ti[0])
                jmax = -math.inf
                for k in range(m):
                    good[k] = k < L and jf[k] > 0
                    lj[k] = math.log(jf[k]) if good[k] else 0.0
                    if good[k] and jf[k] > jmax:
                        jmax = jf[k]
                if not math.isfinite(jmax):
                    jmax = 1.0
                _, b_c = _linfit_acc(yi, jf, good, m)
                _, b_i = _linfit_acc(yi, lj, good, m)
                vend = max(yi[max(L - 1, 0)], 1e-9)
                j0 = 1.0 / a_tv if a_tv > 0 else math.nan
                j0 = j0 if (math.isfinite(j0) and j0 > 0) else jmax
                kb = -b_c
                ki = -b_i
                ks = 2.0 * b_tv
                kc = 2.0 * b_cv
                out[i, 0] = j0
                out[i, 1] = kb if (math.isfinite(kb) and kb > 0) else 1e-3 * j0 / vend
                out[i, 2] = ki if (math.isfinite(ki) and ki > 0) else 1e-3 / vend
                out[i, 3] = ks if (math.isfinite(ks) and ks > 0) else 1e-3 / vend
                out[i, 4] = kc if (math.isfinite(kc) and kc > 0) else 1e-3 / (j0 * vend)


def _blocks(n):
    """Blocks of rows for the threads (several per thread, for balance); each shares work buffers."""
    return max(1, min(n, 8 * numba.get_num_threads()))


def starting_values(t, y, n_points) -> dict:
    """:func:`fluxwise.fit.batch.starting_values_batch` compiled (arrays as from ``prepare_batch``)."""
    n = y.shape[0]
    out = np.empty((n, 5))
    t = np.ascontiguousarray(t, dtype=float)
    _starts_rows(t, t.shape[0] == 1 and n > 1, np.ascontiguousarray(y, dtype=float),
                 np.ascontiguousarray(n_points, dtype=np.int64), out, _blocks(n))
    keys = ("J0_LMH", "kb_per_h", "ki_m2_per_L", "ks_m2_per_L", "kc_h_m4_per_L2")
    return {k: out[:, j].copy() for j, k in enumerate(keys)}


def lm_batch(name, t, y, n_points, theta0, floor, ceil, *, max_iter, ftol, xtol, gtol, max_up, pred_tol,
             geodesic=False, multistart=None, probe_iter=12, near_bound=6.907755278982137, threads=None):
    """Run the compiled Levenberg-Marquardt on every row; arrays as in ``fluxwise.fit.batch._lm``.

    ``multistart`` is None or the probe starts and floors of :func:`fluxwise.fit.batch.probe_starts`
    (arrays [reps, n, p] of ln p) for the combined models; ``near_bound`` (ln 1000) is the distance
    below the linearisation estimate (``ceil``) at which a constant counts as near its bound (the
    second chance of :func:`fluxwise.fit.batch.second_chance`). Returns θ [n, p], SSE [n], iterations [n],
    status [n].
    """
    if geodesic:
        raise ValueError("the numba backend has no geodesic acceleration: use the numpy backend")
    mid = MODEL_ID[name]
    n, p = theta0.shape
    th_out = np.empty((n, p))
    sse_out = np.empty(n)
    it_out = np.empty(n, dtype=np.int64)
    st_out = np.empty(n, dtype=np.int8)
    if multistart is None:
        pstart = pfloor = np.zeros((0, n, p))
    else:
        pstart = np.ascontiguousarray(multistart[0], dtype=float)
        pfloor = np.ascontiguousarray(multistart[1], dtype=float)
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
                 int(max_iter), float(ftol), float(xtol), float(gtol), float(max_up),
                 float(pred_tol), pstart, pfloor, int(probe_iter), float(near_bound), th_out, sse_out, it_out,
                 st_out, _blocks(n))
    finally:
        if old is not None:
            numba.set_num_threads(old)
    return th_out, sse_out, it_out, st_out
