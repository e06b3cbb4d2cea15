"""Fit every fouling model to a trial, rank the models, report intervals and the classical Vmax.

Least squares with bounded, positive parameters (scipy ``least_squares``, trust-region reflective)
and starting values derived from the classical linearisations, so no user-supplied guesses:

* t/V vs t — standard blocking, slope ks/2 and intercept 1/J0 (the Vmax plot; Badmington et al.
  1995; Zydney & Ho 2002);
* t/V vs V — cake filtration, slope kc/2;
* J vs V — complete blocking, slope −kb (J = J0 − kb·V);
* ln J vs V — intermediate blocking, slope −ki;
* √J vs V — standard blocking, slope −√J0·ks/2.

At constant flux the same laws are linear in P0/P (complete), ln(P/P0) (intermediate), √(P0/P)
(standard, the "Pmax" plot) and P/P0 (cake) against V.

Intervals: asymptotic 95 % intervals from the Jacobian at the optimum, cov = s²·(JᵀJ)⁻¹ with
s² = SSE/(n − p) and Student's t quantile (Bates & Watts 1988, *Nonlinear Regression Analysis and
Its Applications*, ch. 2). Model selection by AICc (Hurvich & Tsai 1989) and BIC (Schwarz 1978)
for Gaussian errors, AICc = n·ln(SSE/n) + 2k + 2k(k + 1)/(n − k − 1); models within ΔAICc < 2 of
the best cannot be told apart (Burnham & Anderson 2002, §2.6).

Every fit also carries residual diagnostics (:mod:`fluxwise.fit.diagnostics`: lag-1
autocorrelation, Durbin-Watson, runs test). Autocorrelated residuals make the intervals above too
narrow; ``intervals="ar1"`` replaces them by the sandwich intervals of least squares under AR(1)
errors (Seber & Wild 1989, §6.2), same estimate, honest width.

Robust fitting (``robust=True``) for trials with outlying readings (a knocked balance, a spike, a
reading taken while a vessel was swapped): after the least-squares fit, Huber's M-estimate (Huber
1964, Ann. Math. Stat. 35:73) minimises Σρ(eᵢ/σ̂) with ρ quadratic up to k = 1.345 and linear beyond
(95 % efficiency on Gaussian errors), σ̂ = 1.4826·MAD of the least-squares residuals, by scipy's
``least_squares(loss="huber")``. Its covariance is Huber's (1981, *Robust Statistics*, §7.6)
σ̂²·[Σψ(uᵢ)²/(n − p)]/[Σψ'(uᵢ)/n]²·(JᵀJ)⁻¹ with uᵢ = eᵢ/σ̂. The ranking still uses AICc of the
SSE, and noise is not outliers: a noisy balance needs ``max_dip``, not this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, ModelError
from ..models.fouling import MODEL_NAMES, MODELS, get_model, resistance_ratio
from ..trial import CONSTANT_PRESSURE, Trial
from .diagnostics import ar1_covariance, autocorrelation_warning, residual_diagnostics
from .distributions import student_t_quantile
from .linearised import _linfit, pmax_analysis, vmax_analysis, vmax_linearity

__all__ = ["ModelFit", "TrialFit", "fit_trial", "fit_model", "starting_values", "vmax_analysis",
           "vmax_linearity", "pmax_analysis", "information_criteria", "check_fittable", "FIT_RANGE"]

INDISTINGUISHABLE_DAICC = 2.0
INTERVALS = ("ols", "ar1")
HUBER_K = 1.345  # Huber's tuning constant: 95 % efficiency at the normal distribution
#: Ranges (canonical units) within which the fits run in double precision: outside them the
#: linearisations and the normal equations overflow or underflow (t/V, J², JᵀJ), and such values come
#: from a wrong unit, density or area rather than from a filter.
FIT_RANGE = {"time_h": (1e-7, 1e6), "filtrate_L_per_m2": (1e-9, 1e9), "pressure_bar": (1e-9, 1e6)}
_FD_STEP = np.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class ModelFit:
    """One model fitted to one trial. Parameter keys carry their units (``ks_m2_per_L``)."""

    name: str
    params: dict
    ci95: dict
    sse: float
    r2: float
    aicc: float
    bic: float
    n: int
    fixed: tuple = ()
    converged: bool = True
    message: str = ""
    diagnostics: dict = field(default_factory=dict)  # residual_diagnostics of the fit
    intervals: str = "ols"  # how ci95 was computed: "ols" (independent errors) or "ar1"
    loss: str = "linear"  # "linear" (least squares) or "huber" (robust, fit_model(robust=True))

    @property
    def k(self) -> int:
        """Number of fitted parameters."""
        return len(self.params) - len(self.fixed)

    def fouling_constants(self) -> tuple:
        """Fouling constants in model order (after J0), for the ``models.fouling`` functions."""
        return tuple(self.params[p] for p in MODELS[self.name].params)

    def to_dict(self) -> dict:
        return {"name": self.name, "params": dict(self.params),
                "ci95": {k: list(v) for k, v in self.ci95.items()},
                "sse": self.sse, "r2": self.r2, "aicc": self.aicc, "bic": self.bic,
                "fixed": list(self.fixed), "converged": self.converged, "intervals": self.intervals,
                "loss": self.loss, "diagnostics": dict(self.diagnostics)}


@dataclass(frozen=True)
class TrialFit:
    """All models fitted to one trial, ranked by AICc."""

    trial: Trial
    fits: tuple  # ModelFit, best first
    vmax: dict
    indistinguishable: tuple = field(default=())
    #: None, or how a long trial was binned for fitting (:func:`bin_trial`): the parameters, SSE,
    #: R², AICc, BIC and intervals are those of the fit to the bin means
    binning: dict | None = None

    @property
    def best(self) -> ModelFit:
        return self.fits[0]

    @property
    def best_model(self) -> str:
        return self.fits[0].name

    @property
    def warnings(self) -> list[str]:
        """Sentences about the fit a user must read: autocorrelated residuals of the best model."""
        w = autocorrelation_warning(self.best.name, self.best.diagnostics)
        return [w] if w else []

    def get(self, name: str) -> ModelFit:
        for f in self.fits:
            if f.name == name:
                return f
        raise ModelError(f"model '{name}' was not fitted (fitted: {', '.join(f.name for f in self.fits)})")

    def to_dict(self) -> dict:
        best = self.fits[0]
        d_aicc = [f.aicc - best.aicc for f in self.fits]
        models = []
        for f, d in zip(self.fits, d_aicc, strict=True):
            row = f.to_dict()
            row["delta_aicc"] = d
            models.append(row)
        verdict = (f"'{best.name}' fits best" if len(self.indistinguishable) <= 1 else
                   "cannot be told apart (ΔAICc < 2): " + ", ".join(self.indistinguishable))
        return {"trial": self.trial.summary(), "best_model": best.name,
                "indistinguishable": list(self.indistinguishable), "verdict": verdict,
                "models": models, "vmax": dict(self.vmax), "binning": self.binning_note(),
                "warnings": self.warnings}

    def binning_note(self) -> dict | None:
        """How the parameters were fitted, for the doors: None, or :attr:`binning` with a sentence."""
        if self.binning is None:
            return None
        b = self.binning
        return {**b, "note": (f"fitted to {b['bins']:,} means of {b['points_per_bin']:,} (or one more) "
                              f"consecutive points of {b['points']:,}: SSE, R², AICc, BIC and the 95 % "
                              "intervals are those of the bin means")}


def information_criteria(sse: float, n: int, k: int) -> tuple[float, float]:
    """AICc and BIC of a least-squares fit with Gaussian errors (k fitted parameters)."""
    sse = max(sse, np.finfo(float).tiny)
    base = n * np.log(sse / n)
    aicc = base + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else np.inf)
    bic = base + k * np.log(n)
    return float(aicc), float(bic)


def _positive(x, fallback):
    return float(x) if np.isfinite(x) and x > 0 else float(fallback)


def check_fittable(trial: Trial) -> None:
    """Refuse a trial the fouling models cannot be fitted to, with a message naming its source.

    Readings must be finite; the filtrate must rise (a constant-flux trial with no filtrate has no
    set flux); the time span, the filtrate collected and the pressures must lie within
    :data:`FIT_RANGE`.
    """
    t, v, p = trial.t_h, trial.v_L_per_m2, trial.pressure_bar
    cf = trial.mode != CONSTANT_PRESSURE
    arrays = {"time": t, "filtrate volume per area": v}
    if cf and p is not None:
        arrays["pressure"] = p
    for what, x in arrays.items():
        if x.size and not np.isfinite(x).all():
            raise InputError(f"the {what} holds values that are not finite numbers; nothing can be fitted",
                             source=trial.source)
    if t.size < 2:
        raise InputError("a trial needs at least two readings to be fitted", source=trial.source)

    def outside(value: float, key: str, what: str, unit: str, hint: str) -> None:
        lo, hi = FIT_RANGE[key]
        if not lo <= value <= hi:
            raise InputError(f"the {what}, {value:.3g} {unit}, is outside the range the fits work in "
                             f"({lo:g} to {hi:g} {unit}); {hint}", source=trial.source)

    span = float(t[-1] - t[0])
    outside(span, "time_h", "time span of the trial", "h", "check the unit of the time column")
    outside(float(np.max(np.abs(t))), "time_h", "largest time", "h", "check the unit of the time column")
    collected = float(v[-1] - v[0])
    if not collected > 0:
        mode = "constant-flux" if cf else "constant-pressure"
        raise InputError(f"no filtrate was collected (the filtrate stays at {v[0]:.6g} L/m²): a {mode} trial "
                         f"needs a rising filtrate volume to be fitted", source=trial.source)
    hint = "check the unit of the filtrate column, the density and the filter area"
    outside(collected, "filtrate_L_per_m2", "filtrate collected", "L/m²", hint)
    outside(float(np.max(np.abs(v))), "filtrate_L_per_m2", "largest filtrate reading", "L/m²", hint)
    if cf:
        if p is None:
            raise InputError("a constant-flux trial needs a pressure column", source=trial.source)
        outside(float(np.max(np.abs(p))), "pressure_bar", "largest pressure", "bar",
                "check the unit of the pressure column")


def starting_values(trial: Trial, flux_LMH: float | None = None) -> dict:
    """Starting values of J0 (or P0) and every fouling constant from the linearisations.

    Returns a dict with keys ``J0_LMH`` (constant pressure) or ``P0_bar`` (constant flux) and
    ``kb_per_h``, ``ki_m2_per_L``, ``ks_m2_per_L``, ``kc_h_m4_per_L2``.
    """
    t, v = trial.t_h, trial.v_L_per_m2
    vend = max(float(v[-1]), 1e-9)
    if trial.mode == CONSTANT_PRESSURE:
        # one implementation of the linearisations, shared with the batched fitter
        from .batch import starting_values_batch

        batch = starting_values_batch(t[None, :], v[None, :])
        return {k: float(val[0]) for k, val in batch.items()}
    p = trial.pressure_bar
    J = float(flux_LMH)
    p0 = _positive(p[0], np.min(p[p > 0]) if (p > 0).any() else 1.0)
    ratio = p / p0
    okr = ratio > 0
    _, b_c = _linfit(v[okr], 1.0 / ratio[okr])               # P0/P = 1 − σ·V, σ = kb/J
    _, b_i = _linfit(v[okr], np.log(ratio[okr]))             # ln(P/P0) = ki·V
    _, b_s = _linfit(v[okr], 1.0 / np.sqrt(ratio[okr]))      # √(P0/P) = 1 − ks·V/2
    _, b_k = _linfit(v, ratio)                               # P/P0 = 1 + kc·J·V
    return {
        "P0_bar": p0,
        "kb_per_h": _positive(-b_c * J, 1e-3 * J / vend),
        "ki_m2_per_L": _positive(b_i, 1e-3 / vend),
        "ks_m2_per_L": _positive(-2.0 * b_s, 1e-3 / vend),
        "kc_h_m4_per_L2": _positive(b_k / J, 1e-3 / (J * vend)),
    }


def _constant_flux(trial: Trial) -> float:
    """The set flux of a constant-flux trial [L/m²/h]: total throughput over total time."""
    t, v = trial.t_h, trial.v_L_per_m2
    return float((v[-1] - v[0]) / (t[-1] - t[0]))


def _predict_cp(name, t, J0, k):
    return MODELS[name].volume(t, J0, *k)


def _predict_cf(name, v, P0, J, k):
    r = resistance_ratio(name, v, J, *k)
    return P0 * r


@dataclass(frozen=True)
class _Solution:
    """A solution found elsewhere (the batched engine), in the fields of scipy's OptimizeResult used below."""

    x: np.ndarray
    fun: np.ndarray
    jac: np.ndarray
    success: bool
    message: str


def _parent_solutions(model, parent_fits, lead, fit_lead):
    """[(lead value, constants with the other one at 0)] from the parent laws' fits, or []."""
    if not parent_fits or len(model.params) != 2:
        return []
    out = []
    for pf in parent_fits.values():
        (kept,) = MODELS[pf.name].params
        if kept not in model.params:
            continue
        k = np.array([pf.params[kept] if p == kept else 0.0 for p in model.params])
        out.append((float(pf.params[lead]) if fit_lead else float("nan"), k))
    return out


def fit_model(trial: Trial, name: str, *, j0: float | None = None, start: dict | None = None,
              solution=None, flux_LMH: float | None = None, parent_fits: dict | None = None,
              intervals: str = "ols", robust: bool = False) -> ModelFit:
    """Fit one fouling model to a trial.

    Constant pressure: fits V(t) [L/m²] with parameters J0 (unless ``j0`` [L/m²/h] fixes it) and the
    model's constants. Constant flux: fits P(V) = P0·r(V) [bar] with P0 and the constants; J0 is the
    set flux of the trial (fixed).

    Parameters
    ----------
    trial : Trial
    name : str  Model name (see ``fluxwise.models.fouling.MODEL_NAMES``).
    j0 : float, optional  Fixed initial flux [L/m²/h] (constant pressure only).
    start : dict, optional  Starting values; by default from :func:`starting_values`.
    solution : tuple (params, converged), optional  Parameters (J0 or P0, and the constants, in
        model order) found by another engine (the batched fitter, or a fit to the binned trial): no
        optimisation, only the statistics at that point.
    flux_LMH : float, optional  Constant flux: the set flux [L/m²/h] (default: from the trial).
    parent_fits : dict, optional  Combined models: the fits of its parent laws to the same trial
        (name -> ModelFit, see :func:`fluxwise.fit.batch.parent_laws`). Their solutions start the
        multi-start, and the fit ends no worse than either parent (a combined model holds each
        parent law, with its other constant at 0).
    intervals : str  ``"ols"`` (default): asymptotic intervals for independent errors; ``"ar1"``:
        sandwich intervals for AR(1) errors (:func:`fluxwise.fit.diagnostics.ar1_covariance`).
    robust : bool  Huber's M-estimate after the least-squares fit (module docstring), for trials with
        outlying readings; its intervals are Huber's (``intervals`` must be ``"ols"``).
    """
    if intervals not in INTERVALS:
        raise ModelError(f"unknown intervals '{intervals}' (expected one of: {', '.join(INTERVALS)})")
    if robust and intervals != "ols":
        raise ModelError("robust fits have Huber's intervals; AR(1) intervals are for least squares")
    model = get_model(name)
    check_fittable(trial)
    cp = trial.mode == CONSTANT_PRESSURE
    jset = None if cp else (float(flux_LMH) if flux_LMH is not None else _constant_flux(trial))
    s = start or starting_values(trial, jset)
    if cp:
        x, y = trial.t_h, trial.v_L_per_m2
        lead = "J0_LMH"
        lead_start = j0 if j0 is not None else s["J0_LMH"]
        fit_lead = j0 is None
    else:
        if trial.pressure_bar is None:
            raise InputError("a constant-flux trial needs a pressure column", source=trial.source)
        x, y = trial.v_L_per_m2, trial.pressure_bar
        lead = "P0_bar"
        lead_start = s["P0_bar"]
        fit_lead = True
    kstart = np.array([s[p] for p in model.params])
    n = y.size
    yscale = float(np.max(np.abs(y))) or 1.0
    big = 1e3 * yscale

    def predict(lead_value, k):
        if cp:
            return _predict_cp(name, x, lead_value, k)
        return _predict_cf(name, x, lead_value, jset, k)

    def residuals(theta):
        lead_value = theta[0] if fit_lead else lead_start
        k = theta[1:] if fit_lead else theta
        pred = predict(lead_value, k)
        return np.where(np.isfinite(pred), pred - y, big) / yscale

    # a parameter at (or near) its bound 0 still gets a finite-difference step of sensible size
    theta_scale = np.abs(np.concatenate([[lead_start], kstart]) if fit_lead else kstart) * 1e-3

    def jacobian(theta):
        # Forward differences for all parameters in ONE broadcast call of the model (rows: θ, θ + h·e_i)
        # instead of one call per parameter: the models are vectorised over parameter sets.
        h = _FD_STEP * np.maximum(np.abs(theta), theta_scale)
        thetas = np.vstack([theta, theta + np.diag(h)])[:, :, None]
        lead_value = thetas[:, 0] if fit_lead else lead_start
        k = thetas[:, 1:] if fit_lead else thetas
        pred = predict(lead_value, tuple(k[:, i] for i in range(k.shape[1])))
        pred = np.where(np.isfinite(pred), pred, big)
        return ((pred[1:] - pred[0]) / h[:, None]).T / yscale

    # Starts as full parameter vectors θ ([lead,] constants). Combined models: each parent law (its
    # solution where given, else the linearisations) with the other constant 1000x smaller than its
    # estimate, and half of both; keep the best. Single laws: one start.
    def full(lead_value, k):
        return np.concatenate([[lead_value], k]) if fit_lead else np.asarray(k, dtype=float)

    parents = _parent_solutions(model, parent_fits, lead, fit_lead)
    if kstart.size == 2 and parents:
        eps = 1e-3
        starts = [full(lead_value, np.where(k > 0, k, eps * kstart)) for lead_value, k in parents]
        starts.append(full(lead_start, kstart * 0.5))
    elif kstart.size == 2:
        starts = [full(lead_start, kstart * f) for f in ([1.0, 1e-3], [1e-3, 1.0], [0.5, 0.5])]
    else:
        starts = [full(lead_start, kstart)]
    lb = np.zeros(kstart.size + (1 if fit_lead else 0))
    if fit_lead:
        lb[0] = 1e-12
    # ftol 1e-10: SSE converged to ~10 digits, far below what changes an interval or a ranking
    tight = dict(jac=jacobian, bounds=(lb, np.inf), x_scale="jac", method="trf", xtol=1e-10, ftol=1e-10,
                 gtol=1e-10)
    best = None
    if solution is not None:
        theta = np.asarray(solution[0], dtype=float)
        theta = theta if fit_lead else theta[1:]
        best = _Solution(x=theta, fun=residuals(theta), jac=jacobian(theta), success=bool(solution[1]),
                         message="solution given")
        starts = []
    else:
        from scipy import optimize  # only where scipy optimises (its import is slow)
    for theta0 in starts:
        try:
            # several starts: a short, loose run from each, then only the best is polished
            if len(starts) > 1:
                res = optimize.least_squares(residuals, theta0, **{**tight, "ftol": 1e-6, "xtol": 1e-6},
                                             max_nfev=25)
            else:
                res = optimize.least_squares(residuals, theta0, **tight, max_nfev=400)
        except ValueError:  # non-finite start: skip this start
            continue
        if best is None or res.cost < best.cost:
            best = res
    if solution is None and best is not None and len(starts) > 1:
        best = optimize.least_squares(residuals, best.x, **tight, max_nfev=400)
    if solution is None and best is not None:
        # no worse than a parent law: from its solution with the other constant on its bound (0),
        # where the SSE is the parent's, the trust-region steps only lower it
        for lead_value, k in parents:
            theta0 = full(lead_value, k)
            r0 = residuals(theta0)
            if 0.5 * float(r0 @ r0) < best.cost * (1.0 - 1e-12):
                res = optimize.least_squares(residuals, theta0, **tight, max_nfev=400)
                if res.cost < best.cost:
                    best = res
    if best is None:
        raise ModelError(f"model '{name}' could not be evaluated on {trial.source}")
    huber_scale = None
    if robust:
        e0 = best.fun * yscale
        mad = 1.4826 * float(np.median(np.abs(e0 - np.median(e0))))
        if mad > 0:
            from scipy import optimize  # also where the solution was given (the batched engine)

            huber_scale = mad
            best = optimize.least_squares(residuals, best.x, **tight, loss="huber",
                                          f_scale=HUBER_K * mad / yscale, max_nfev=400)
    theta = best.x
    resid = best.fun * yscale
    sse = float(resid @ resid)
    sst = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - sse / sst if sst > 0 else float("nan")
    kfit = theta.size
    dof = max(n - kfit, 1)
    # with a robust loss scipy returns the Jacobian weighted by the loss: the intervals need the model's
    jac = (jacobian(theta) if huber_scale is not None else best.jac) * yscale
    # Column-scale the Jacobian before inverting: J0 ~ 1e3 and kc ~ 1e-6 would otherwise make JᵀJ
    # singular to working precision and zero out an interval.
    norms = np.linalg.norm(jac, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    js = jac / norms
    diagnostics = residual_diagnostics(resid)
    tdof = dof
    try:
        # LAPACK prints to the process's stdout when handed NaN ("On entry to DLASCL ..."): never let it
        if not (np.isfinite(js).all() and np.isfinite(sse)):
            raise np.linalg.LinAlgError("non-finite Jacobian")
        if intervals == "ar1":
            cov, phi, tdof = ar1_covariance(jac, resid)
            diagnostics.update(ar1_phi=phi, ar1_dof=tdof)
        elif huber_scale is not None:
            u = resid / huber_scale
            psi = np.clip(u, -HUBER_K, HUBER_K)
            inside = float(np.mean(np.abs(u) <= HUBER_K))
            factor = huber_scale**2 * float(psi @ psi) / dof / max(inside, 1.0 / n) ** 2
            cov = np.linalg.pinv(js.T @ js) / np.outer(norms, norms) * factor
            diagnostics.update(huber_scale=huber_scale, huber_downweighted=int(np.sum(np.abs(u) > HUBER_K)))
        else:
            cov = np.linalg.pinv(js.T @ js) / np.outer(norms, norms) * (sse / dof)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full(kfit, np.inf)
    tq = student_t_quantile(0.975, tdof)
    names = ([lead] if fit_lead else []) + list(model.params)
    params, ci = {}, {}
    if not fit_lead:
        params[lead] = float(lead_start)
    for nm, val, e in zip(names, theta, se, strict=True):
        params[nm] = float(val)
        lo = max(float(val - tq * e), 0.0)
        ci[nm] = (lo, float(val + tq * e))
    fixed = []
    if cp and not fit_lead:
        fixed.append("J0_LMH")
    if not cp:
        params = {"J0_LMH": jset, **params}
        fixed.append("J0_LMH")
    ordered = {k: params[k] for k in (("J0_LMH", "P0_bar") if not cp else ("J0_LMH",)) + model.params
               if k in params}
    aicc, bic = information_criteria(sse, n, kfit)
    return ModelFit(name=name, params=ordered, ci95=ci, sse=sse, r2=float(r2), aicc=aicc, bic=bic, n=n,
                    fixed=tuple(fixed), converged=bool(best.success), message=str(best.message),
                    diagnostics=diagnostics, intervals=intervals,
                    loss="huber" if huber_scale is not None else "linear")


#: Trials with more points are fitted to the means of consecutive points (at most this many bins)
MAX_FIT_POINTS = 2000


def bin_trial(trial: Trial, max_points: int = MAX_FIT_POINTS) -> tuple[Trial, dict | None]:
    """The trial as means of ``k`` consecutive points, when it has more than ``max_points`` points.

    A rig logging at 1 Hz gives tens of thousands of points along a smooth curve. Their means over
    short runs of consecutive points (time, throughput and pressure alike) carry nearly all of the
    information for a fit of a two- or three-parameter law: for independent errors a bin mean has
    the variance σ²/k, and within a bin the curve is straight to far below the noise (the bias of
    a bin mean is of the order V''·Δt²/24). Bins hold k or k + 1 points (the remainder spread
    over them), so the bin means have nearly equal variances.

    Returns the binned trial (the trial itself when it is short enough) and a description for
    the results (None when not binned): ``points``, ``bins``, ``points_per_bin``.
    """
    n = trial.points
    if n <= max_points:
        return trial, None
    k = -(-n // max_points)
    bins = n // k
    # bins of k or k + 1 consecutive points (the remainder spread over them, as numpy.array_split)
    sizes = np.full(bins, k)
    sizes[: n - bins * k] += 1
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    def means(a):
        return None if a is None else np.add.reduceat(np.asarray(a, dtype=float), starts) / sizes

    binned = Trial(t_h=means(trial.t_h), v_L_per_m2=means(trial.v_L_per_m2), area_m2=trial.area_m2,
                   mode=trial.mode, pressure_bar=means(trial.pressure_bar), source=trial.source,
                   meta=trial.meta)
    return binned, {"points": n, "bins": int(bins), "points_per_bin": int(k),
                    "method": "means of consecutive points"}


def fit_trial(trial: Trial, *, models=None, j0: float | None = None, engine: str = "auto",
              max_fit_points: int | None = MAX_FIT_POINTS, intervals: str = "ols",
              robust: bool = False) -> TrialFit:
    """Fit all (or the named) fouling models to a trial and rank them by AICc.

    Parameters
    ----------
    trial : Trial
    models : iterable of str, optional  Model names; default all nine.
    j0 : float, optional  Fix J0 [L/m²/h] instead of fitting it (constant pressure).
    engine : str
        ``"batch"``: all models in one vectorised Levenberg-Marquardt pass with analytic Jacobians
        (:mod:`fluxwise.fit.batch`, constant pressure with J0 fitted); ``"scipy"``: scipy's
        trust-region ``least_squares`` per model and start; ``"auto"`` (default): batch where it
        applies, else scipy. Both minimise the same objective from the same starts; intervals and
        criteria are computed the same way at the solution.
    max_fit_points : int or None
        Long trials are fitted to the means of consecutive points, at most this many bins
        (:func:`bin_trial`; None: never). Parameters, SSE, R², AICc, BIC and the intervals are then
        those of the fit to the bin means (with s² from the scatter of the bin means about the
        curve, so that errors correlated over a few seconds widen the intervals as they should),
        and the result says so (:attr:`TrialFit.binning`). The classical Vmax/Pmax lines use every
        point.
    intervals : str  ``"ols"`` or ``"ar1"`` (see :func:`fit_model`).
    robust : bool  Huber's M-estimate for every model (see :func:`fit_model`).

    Returns
    -------
    TrialFit  Fits best first, the models indistinguishable from the best (ΔAICc < 2) and the
    classical Vmax (constant pressure) or Pmax (constant flux) analysis.
    """
    from .batch import parent_laws  # the batched engine imports this module

    names = list(models) if models else list(MODEL_NAMES)
    for nm in names:
        get_model(nm)
    check_fittable(trial)
    if engine not in ("auto", "batch", "scipy"):
        raise ModelError(f"unknown fitting engine '{engine}' (expected auto, batch or scipy)")
    batchable = trial.mode == CONSTANT_PRESSURE and j0 is None
    if engine == "batch" and not batchable:
        raise ModelError("the batched engine fits constant-pressure trials with J0 fitted; "
                         "use engine='scipy'")
    if trial.mode != CONSTANT_PRESSURE and trial.pressure_bar is None:
        raise InputError("a constant-flux trial needs a pressure column", source=trial.source)
    jset = None if trial.mode == CONSTANT_PRESSURE else _constant_flux(trial)
    work, binning = (trial, None) if max_fit_points is None else bin_trial(trial, max_fit_points)
    start = starting_values(work, jset)
    if engine != "scipy" and batchable:
        from .batch import fit_batch

        bf = fit_batch(work.t_h[None, :], work.v_L_per_m2[None, :], models=names, backend="numpy")
        fits = [fit_model(work, nm, start=start, solution=(bf[nm].params[0], bf[nm].converged[0]),
                          intervals=intervals, robust=robust) for nm in names]
    else:
        # single laws first: their solutions start the combined models, which end no worse
        needed = set(names) | {par for nm in names for par in parent_laws(nm)}
        fitted = {}
        for nm in sorted(needed, key=lambda nm: (len(MODELS[nm].params), MODEL_NAMES.index(nm))):
            parents = {par: fitted[par] for par in parent_laws(nm)}
            fitted[nm] = fit_model(work, nm, j0=j0, start=start, flux_LMH=jset, parent_fits=parents,
                                   intervals=intervals, robust=robust)
        fits = [fitted[nm] for nm in names]
    fits.sort(key=lambda f: (f.aicc, f.k))
    best = fits[0].aicc
    tied = tuple(f.name for f in fits if f.aicc - best < INDISTINGUISHABLE_DAICC)
    vmax = vmax_analysis(trial) if trial.mode == CONSTANT_PRESSURE else pmax_analysis(trial, jset)
    return TrialFit(trial=trial, fits=tuple(fits), vmax=vmax, indistinguishable=tied, binning=binning)
