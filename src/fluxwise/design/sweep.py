r"""Design-space sweeps: area, format, count, cost and time over a grid or a Latin hypercube of scenarios.

A sweep varies process parameters — feed pressure, process time, batch volume, filter format,
flux, maximum pressure — around a fitted fouling model and sizes the filter for every scenario,
vectorised over chunks of scenarios that an executor (:mod:`fluxwise.compute`) runs in-process,
on a process pool or on a Dask cluster; the results come back as one table, in scenario order.

Sampling: the full factorial ``grid`` of the axes' values, or a ``latin-hypercube`` of
``n_samples`` scenarios (McKay, Beckman & Conover 1979, Technometrics 21:239; scipy.stats.qmc),
continuous axes spread linearly or logarithmically between their bounds, categorical axes
(formats, lists of values) drawn uniformly among their values.

Constant pressure (the trial ran at ``reference_pressure_bar``). Darcy's law gives the clean flux
J0(P) = J0_ref·P/P_ref; the blocking constants per unit throughput (σ = kb/J0, ki, ks) do not
depend on pressure, so kb = σ·J0 scales with P; the cake constant of an incompressible cake
varies as kc ∝ 1/P (Ruth 1935, t/V = μRm/ΔP + μαc·V/(2ΔP)), generally kc ∝ P^(s − 1) with the
cake compressibility s (α ∝ ΔP^s; Tiller & Leu 1980). The minimum area is A = Vb/V(tb) with the
closed-form V(t) of :data:`fluxwise.models.fouling.MODELS`; the process time with the installed
area A_inst follows from the model's t(V) at V = Vb/A_inst.

Constant flux (parameters of a constant-flux fit: ``J0_LMH`` = trial flux, ``P0_bar``). At flux J
the clean pressure is P0(J) = P0·J/J_trial (Darcy) and the capacity V* solves r(V*) = Pmax/P0(J)
(Zydney & Ho 2002, as :func:`fluxwise.design.sizing.min_area_constant_flux`), here by vectorised
bisection; A = Vb/V*, at least Vb/(J·tb) when a process time is given; time = Vb/(J·A_inst).

Installed area: A x ``safety_factor``; with ``uncertainty`` (constant pressure) the risk-based
area of :mod:`fluxwise.design.risk` instead — the quantile at ``confidence`` of the required area
over ``n_draws`` draws of lot variability (``feed_cv``) and parameter uncertainty (``param_cv``,
log-normal per parameter), the same draws for every scenario (common random numbers, smooth
contours). Format and count: the named format, or the catalog format with the least installed
area within its maximum count; cost and single-use plastic per batch from the catalog.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from ..errors import InputError
from ..models.fouling import MODEL_NAMES, MODELS, resistance_ratio, time_to_throughput
from ..trial import CONSTANT_FLUX, CONSTANT_PRESSURE, MODES
from .sizing import DEFAULT_SAFETY_FACTOR

__all__ = ["Axis", "SweepSpec", "spec_from_dict", "scenarios", "run_sweep", "evaluate_scenarios",
           "contour_table", "AXES", "SAMPLINGS"]

#: sweepable process parameters and their meaning
AXES = {
    "pressure_bar": "feed pressure at constant pressure [bar]",
    "process_time_h": "process time [h] (constant flux: the longest allowed)",
    "batch_volume_L": "batch volume [L]",
    "flux_LMH": "process flux at constant flux [L/m²/h]",
    "max_pressure_bar": "maximum pressure at constant flux [bar]",
    "format": "filter format (catalog name)",
}
SAMPLINGS = ("grid", "latin-hypercube")
_BLOCK_ELEMENTS = 16_384
_MODE_AXES = {CONSTANT_PRESSURE: ("pressure_bar", "process_time_h", "batch_volume_L", "format"),
              CONSTANT_FLUX: ("flux_LMH", "max_pressure_bar", "batch_volume_L", "process_time_h", "format")}


@dataclass(frozen=True)
class Axis:
    """One swept parameter: explicit ``values`` or bounds ``low``..``high`` (``n`` grid points).

    ``scale`` is ``linear`` or ``log`` (bounds only).
    """

    name: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    scale: str = "linear"

    @property
    def categorical(self) -> bool:
        return self.values is not None

    def grid(self) -> list:
        if self.values is not None:
            return list(self.values)
        if self.scale == "log":
            return list(np.geomspace(self.low, self.high, self.n))
        return list(np.linspace(self.low, self.high, self.n))

    def sample(self, u: np.ndarray):
        """Map uniform numbers in [0, 1) onto the axis."""
        if self.values is not None:
            idx = np.minimum((u * len(self.values)).astype(int), len(self.values) - 1)
            return np.asarray(self.values, dtype=object if self.name == "format" else float)[idx]
        if self.scale == "log":
            return np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        return self.low + u * (self.high - self.low)


@dataclass(frozen=True)
class SweepSpec:
    """A design-space sweep (see the module docstring). Build it with :func:`spec_from_dict`."""

    model: str
    params: dict
    mode: str = CONSTANT_PRESSURE
    axes: tuple = ()
    fixed: dict = field(default_factory=dict)
    sampling: str = "grid"
    n_samples: int | None = None
    seed: int = 0
    reference_pressure_bar: float | None = None
    cake_compressibility: float = 0.0
    safety_factor: float = DEFAULT_SAFETY_FACTOR
    formats: tuple = ()
    confidence: float | None = None
    feed_cv: float = 0.0
    param_cv: dict = field(default_factory=dict)
    n_draws: int = 2000
    chunk_size: int | None = None

    @property
    def n_scenarios(self) -> int:
        if self.sampling == "grid":
            return int(np.prod([len(a.grid()) for a in self.axes])) if self.axes else 1
        return int(self.n_samples)

    def to_dict(self) -> dict:
        """The spec as plain data (for reports and the audit trail)."""
        return {"model": self.model, "params": dict(self.params), "mode": self.mode,
                "axes": {a.name: (list(a.values) if a.values is not None else
                                  {"min": a.low, "max": a.high, "n": a.n, "scale": a.scale})
                         for a in self.axes},
                "fixed": dict(self.fixed), "sampling": self.sampling, "n_samples": self.n_samples,
                "seed": self.seed, "reference_pressure_bar": self.reference_pressure_bar,
                "cake_compressibility": self.cake_compressibility, "safety_factor": self.safety_factor,
                "formats": [f.name for f in self.formats],
                "uncertainty": None if self.confidence is None else {
                    "confidence": self.confidence, "feed_cv": self.feed_cv, "param_cv": dict(self.param_cv),
                    "n_draws": self.n_draws}}


# ----------------------------------------------------------------------------- parsing

def _num(d, key, where, *, positive=True, integer=False, default=None, src=None):
    v = d.get(key, default)
    if v is None:
        return None
    try:
        x = int(v) if integer else float(v)
    except (TypeError, ValueError):
        raise InputError(f"must be a {'whole ' if integer else ''}number, got {v!r}", source=src,
                         field=f"{where}{key}") from None
    if integer and float(v) != x:
        raise InputError(f"must be a whole number, got {v!r}", source=src, field=f"{where}{key}")
    if not math.isfinite(x) or (positive and x <= 0):
        raise InputError(f"must be a positive number, got {v!r}", source=src, field=f"{where}{key}")
    return x


def _parse_axis(name, v, src, formats):
    where = f"axes.{name}"
    if name not in AXES:
        raise InputError(f"unknown axis (expected one of: {', '.join(AXES)})", source=src, field=where)
    if isinstance(v, (list, tuple)):
        if not v:
            raise InputError("needs at least one value", source=src, field=where)
        if name == "format":
            names = {f.name.lower(): f.name for f in formats}
            vals = []
            for x in v:
                if str(x).lower() not in names:
                    raise InputError(f"format '{x}' is not in the catalog (formats: "
                                     f"{', '.join(names.values())})", source=src, field=where)
                vals.append(names[str(x).lower()])
            return Axis(name, values=tuple(vals))
        vals = []
        for i, x in enumerate(v):
            try:
                fx = float(x)
            except (TypeError, ValueError):
                raise InputError(f"value {x!r} is not a number", source=src, field=f"{where}[{i}]") from None
            if not (fx > 0 and math.isfinite(fx)):
                raise InputError(f"value {x!r} must be positive", source=src, field=f"{where}[{i}]")
            vals.append(fx)
        return Axis(name, values=tuple(vals))
    if name == "format":
        if v == "all":
            return Axis(name, values=tuple(f.name for f in formats))
        raise InputError("give a list of catalog formats, or 'all'", source=src, field=where)
    if not isinstance(v, dict):
        raise InputError("give a list of values or a mapping {min, max, n, scale}", source=src, field=where)
    unknown = set(v) - {"min", "max", "n", "scale"}
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(sorted(unknown))} (expected min, max, n, scale)",
                         source=src, field=where)
    lo = _num(v, "min", where + ".", src=src)
    hi = _num(v, "max", where + ".", src=src)
    if lo is None or hi is None:
        raise InputError("needs both 'min' and 'max'", source=src, field=where)
    if hi < lo:
        raise InputError(f"'max' ({hi}) is below 'min' ({lo})", source=src, field=where)
    n = _num(v, "n", where + ".", integer=True, src=src, default=None)
    scale = v.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise InputError(f"scale must be 'linear' or 'log', got {scale!r}", source=src,
                         field=where + ".scale")
    return Axis(name, low=lo, high=hi, n=n, scale=scale)


def spec_from_dict(d: dict, *, formats=(), source: str | None = None) -> SweepSpec:
    """Build and check a :class:`SweepSpec` from plain data (a parsed YAML file).

    Errors are :class:`~fluxwise.errors.InputError` naming the field (``axes.pressure_bar.max``).

    Keys: ``model``, ``params`` (fitted parameters, keys as in ``fit --json``), ``mode``
    (``constant-pressure`` default, or ``constant-flux``), ``axes`` (name -> list of values, or
    {min, max, n, scale}), ``fixed`` (values of the parameters not swept), ``sampling`` (``grid``
    or ``latin-hypercube``), ``n_samples``, ``seed``, ``reference_pressure_bar``,
    ``cake_compressibility``, ``safety_factor``, ``uncertainty`` ({confidence, feed_cv,
    param_cv: {param: cv}, n_draws}), ``chunk_size``. ``formats`` is the catalog (a list of
    :class:`~fluxwise.design.catalog.FilterFormat`).
    """
    src = source
    if not isinstance(d, dict):
        raise InputError("a sweep spec must be a mapping", source=src)
    known = {"model", "params", "mode", "axes", "fixed", "sampling", "n_samples", "seed",
             "reference_pressure_bar", "cake_compressibility", "safety_factor", "uncertainty", "chunk_size",
             "catalog", "description"}
    unknown = sorted(set(d) - known)
    if unknown:
        raise InputError(f"unknown key(s): {', '.join(unknown)} (expected: {', '.join(sorted(known))})",
                         source=src, field=unknown[0])
    model = d.get("model")
    if model not in MODELS:
        raise InputError(f"unknown model {model!r} (expected one of: {', '.join(MODEL_NAMES)})", source=src,
                         field="model")
    mode = d.get("mode", CONSTANT_PRESSURE)
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}", source=src, field="mode")
    params = d.get("params")
    if not isinstance(params, dict):
        raise InputError("give the fitted parameters as a mapping (keys as in fit --json)", source=src,
                         field="params")
    needed = MODELS[model].all_params + (("P0_bar",) if mode == CONSTANT_FLUX else ())
    pv = {}
    for k in needed:
        if k not in params:
            raise InputError(f"model '{model}' needs parameter '{k}'", source=src, field=f"params.{k}")
        pv[k] = _num(params, k, "params.", positive=k in ("J0_LMH", "P0_bar"), src=src)
        if pv[k] < 0:
            raise InputError("must not be negative", source=src, field=f"params.{k}")
    formats = tuple(formats)
    axes_d = d.get("axes") or {}
    if not isinstance(axes_d, dict):
        raise InputError("axes must be a mapping name -> values", source=src, field="axes")
    axes = tuple(_parse_axis(k, v, src, formats) for k, v in axes_d.items())
    for a in axes:
        if a.name not in _MODE_AXES[mode]:
            raise InputError(f"axis '{a.name}' does not apply at {mode} (axes there: "
                             f"{', '.join(_MODE_AXES[mode])})", source=src, field=f"axes.{a.name}")
    if "format" in axes_d and not formats:
        raise InputError("a format axis needs a catalog", source=src, field="axes.format")
    fixed_d = d.get("fixed") or {}
    if not isinstance(fixed_d, dict):
        raise InputError("fixed must be a mapping name -> value", source=src, field="fixed")
    fixed = {}
    for k in fixed_d:
        if k not in AXES or k == "format":
            raise InputError(f"unknown fixed parameter (expected one of: "
                             f"{', '.join(a for a in AXES if a != 'format')})", source=src,
                             field=f"fixed.{k}")
        fixed[k] = _num(fixed_d, k, "fixed.", src=src)
    swept = {a.name for a in axes}
    both = swept & set(fixed)
    if both:
        raise InputError("is both swept and fixed", source=src, field=f"fixed.{sorted(both)[0]}")
    have = swept | set(fixed)
    required = (("process_time_h", "batch_volume_L") if mode == CONSTANT_PRESSURE else
                ("batch_volume_L", "max_pressure_bar", "flux_LMH"))
    for k in required:
        if k not in have:
            raise InputError(f"{AXES[k]} is needed: sweep it under 'axes' or give it under 'fixed'",
                             source=src, field=f"fixed.{k}")
    ref_p = _num(d, "reference_pressure_bar", "", src=src)
    if mode == CONSTANT_PRESSURE and "pressure_bar" in have and ref_p is None:
        raise InputError("a pressure axis needs the pressure of the trial the parameters come from",
                         source=src, field="reference_pressure_bar")
    sampling = d.get("sampling", "grid")
    if sampling in ("lhs", "latin_hypercube"):
        sampling = "latin-hypercube"
    if sampling not in SAMPLINGS:
        raise InputError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}", source=src,
                         field="sampling")
    n_samples = _num(d, "n_samples", "", integer=True, src=src)
    if sampling == "latin-hypercube":
        if n_samples is None:
            raise InputError("a Latin hypercube needs n_samples", source=src, field="n_samples")
    else:
        for a in axes:
            if not a.categorical and a.n is None:
                raise InputError("a grid needs the number of points 'n'", source=src,
                                 field=f"axes.{a.name}.n")
    seed = _num(d, "seed", "", integer=True, positive=False, src=src, default=0)
    comp = _num(d, "cake_compressibility", "", positive=False, src=src, default=0.0)
    if not 0 <= comp < 1:
        raise InputError(f"cake compressibility s must be in [0, 1), got {comp}", source=src,
                         field="cake_compressibility")
    sf = _num(d, "safety_factor", "", src=src, default=DEFAULT_SAFETY_FACTOR)
    if sf < 1:
        raise InputError(f"safety factor must be at least 1, got {sf}", source=src, field="safety_factor")
    unc = d.get("uncertainty")
    conf, feed_cv, param_cv, n_draws = None, 0.0, {}, 2000
    if unc is not None:
        if not isinstance(unc, dict):
            raise InputError("uncertainty must be a mapping {confidence, feed_cv, param_cv, n_draws}",
                             source=src, field="uncertainty")
        bad = set(unc) - {"confidence", "feed_cv", "param_cv", "n_draws"}
        if bad:
            raise InputError(f"unknown key(s) {', '.join(sorted(bad))}", source=src,
                             field=f"uncertainty.{sorted(bad)[0]}")
        if mode != CONSTANT_PRESSURE:
            raise InputError("risk-based sweeps are available at constant pressure", source=src,
                             field="uncertainty")
        conf = _num(unc, "confidence", "uncertainty.", src=src, default=0.95)
        if not conf < 1:
            raise InputError(f"must be below 1, got {conf}", source=src, field="uncertainty.confidence")
        feed_cv = _num(unc, "feed_cv", "uncertainty.", positive=False, src=src, default=0.0)
        n_draws = _num(unc, "n_draws", "uncertainty.", integer=True, src=src, default=2000)
        pcv = unc.get("param_cv") or {}
        if not isinstance(pcv, dict):
            raise InputError("param_cv must be a mapping parameter -> CV", source=src,
                             field="uncertainty.param_cv")
        for k in pcv:
            if k not in MODELS[model].all_params:
                raise InputError(f"model '{model}' has no parameter '{k}'", source=src,
                                 field=f"uncertainty.param_cv.{k}")
            param_cv[k] = _num(pcv, k, "uncertainty.param_cv.", positive=False, src=src)
    chunk = _num(d, "chunk_size", "", integer=True, src=src)
    spec = SweepSpec(model=model, params=pv, mode=mode, axes=axes, fixed=fixed, sampling=sampling,
                     n_samples=n_samples, seed=seed, reference_pressure_bar=ref_p, cake_compressibility=comp,
                     safety_factor=sf, formats=formats, confidence=conf, feed_cv=feed_cv, param_cv=param_cv,
                     n_draws=n_draws, chunk_size=chunk)
    return spec


# ----------------------------------------------------------------------------- scenarios

def scenarios(spec: SweepSpec) -> dict:
    """The scenario table as columns (name -> array), in a fixed order."""
    n = spec.n_scenarios
    cols = {}
    if spec.sampling == "grid":
        grids = [a.grid() for a in spec.axes]
        if grids:
            prod = list(itertools.product(*grids))
            for j, a in enumerate(spec.axes):
                kind = object if a.name == "format" else float
                cols[a.name] = np.asarray([row[j] for row in prod], dtype=kind)
    else:
        from scipy.stats import qmc

        if spec.axes:
            u = qmc.LatinHypercube(d=len(spec.axes), seed=spec.seed).random(n)
            for j, a in enumerate(spec.axes):
                cols[a.name] = a.sample(u[:, j])
    for k, v in spec.fixed.items():
        cols[k] = np.full(n, float(v))
    return cols


def _catalog_arrays(formats):
    return (np.array([f.area_m2 for f in formats]), np.array([f.max_count for f in formats]),
            np.array([f.price_usd for f in formats]), np.array([f.plastic_kg for f in formats]))


def _choose_formats(required, formats, names=None):
    """Format, count, installed area, cost and plastic per scenario (vectorised over formats)."""
    n = required.size
    out_name = np.full(n, "", dtype=object)
    count = np.zeros(n, dtype=np.int64)
    inst = np.full(n, np.nan)
    cost = np.full(n, np.nan)
    plastic = np.full(n, np.nan)
    if not formats:
        return out_name, count, inst, cost, plastic
    area, maxc, price, plas = _catalog_arrays(formats)
    ok_req = np.isfinite(required) & (required > 0)
    req = np.where(ok_req, required, 1.0)
    cnt = np.maximum(1, np.ceil(req[:, None] / area[None, :] - 1e-9)).astype(np.int64)  # [n, F]
    if names is not None:
        index = {f.name: i for i, f in enumerate(formats)}
        fi = np.array([index[x] for x in names])
        c = cnt[np.arange(n), fi]
        feasible = ok_req & (c <= maxc[fi])
        out_name[:] = names
    else:
        installed = np.where(cnt <= maxc[None, :], cnt * area[None, :], np.inf)
        # least installed area, then fewest units (as fluxwise.design.catalog.format_options)
        key = installed + cnt * 1e-12 * installed.min(axis=1, initial=np.inf)[:, None]
        fi = np.argmin(np.where(np.isfinite(key), key, np.inf), axis=1)
        c = cnt[np.arange(n), fi]
        feasible = ok_req & np.isfinite(installed[np.arange(n), fi])
        out_name[:] = np.where(feasible, np.array([f.name for f in formats], dtype=object)[fi], "")
    count = np.where(feasible, c, 0)
    inst = np.where(feasible, c * area[fi], np.nan)
    cost = np.where(feasible, c * price[fi], np.nan)
    plastic = np.where(feasible, c * plas[fi], np.nan)
    return out_name, count, inst, cost, plastic


def _scaled_params(spec, P):
    """J0 and constants at feed pressure P (constant pressure; see the module docstring)."""
    m = MODELS[spec.model]
    J0 = spec.params["J0_LMH"]
    k = [spec.params[nm] for nm in m.params]
    if P is None or spec.reference_pressure_bar is None:
        return np.asarray(J0, dtype=float), [np.asarray(x, dtype=float) for x in k]
    ratio = np.asarray(P, dtype=float) / spec.reference_pressure_bar
    out = []
    for nm, x in zip(m.params, k, strict=True):
        if nm == "kb_per_h":
            out.append(x * ratio)  # kb = σ·J0, σ independent of pressure
        elif nm == "kc_h_m4_per_L2":
            out.append(x * ratio ** (spec.cake_compressibility - 1.0))
        else:
            out.append(x * np.ones_like(ratio))
    return J0 * ratio, out


def _uncertainty_draws(spec):
    """Common random numbers: lot factor and parameter multipliers [n_draws] (same for all scenarios)."""
    from .risk import lot_factors

    rng = np.random.default_rng(spec.seed + 7919)
    f = lot_factors(spec.feed_cv, spec.n_draws, rng)
    mult = {}
    for nm in MODELS[spec.model].all_params:
        cv = spec.param_cv.get(nm, 0.0)
        s = math.sqrt(math.log1p(cv * cv)) if cv > 0 else 0.0
        mult[nm] = np.exp(s * rng.standard_normal(spec.n_draws)) if s > 0 else np.ones(spec.n_draws)
    return f, mult


def _bisect_capacity(model, target, J, k, hi0):
    """V* with r(V*) = target, vectorised: expand a bracket, then 80 bisection steps."""
    n = target.size
    lo = np.zeros(n)
    hi = np.full(n, float(hi0))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(200):
            r = resistance_ratio(model, hi, J, *k)
            grow = np.isfinite(r) & (r < target)
            if not grow.any():
                break
            lo = np.where(grow, hi, lo)
            hi = np.where(grow, hi * 2.0, hi)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            r = resistance_ratio(model, mid, J, *k)
            below = np.isfinite(r) & (r < target)
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def evaluate_scenarios(spec: SweepSpec, cols: dict):
    """Size every scenario of a chunk; returns a :class:`pandas.DataFrame` (scenario columns first)."""
    import pandas as pd

    n = len(next(iter(cols.values()))) if cols else spec.n_scenarios
    model = spec.model
    vb = np.asarray(cols["batch_volume_L"], dtype=float)
    out = dict(cols)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if spec.mode == CONSTANT_PRESSURE:
            P = np.asarray(cols["pressure_bar"], dtype=float) if "pressure_bar" in cols else None
            tb = np.asarray(cols["process_time_h"], dtype=float)
            J0, k = _scaled_params(spec, P)
            J0 = np.broadcast_to(J0, (n,)).astype(float)
            k = [np.broadcast_to(x, (n,)).astype(float) for x in k]
            cap = MODELS[model].volume(tb, J0, *k)
            amin = np.where(cap > 0, vb / cap, np.inf)
            out["capacity_L_per_m2"] = cap
            out["min_area_m2"] = amin
            if spec.confidence is not None:
                f, mult = _uncertainty_draws(spec)
                names = MODELS[model].all_params
                risk = np.empty(n)
                # a few scenarios at a time: the [scenarios x draws] temporaries stay near 128 kB, in
                # cache and on the heap (Dask workers trim the heap, which makes big temporaries slow)
                step = max(1, _BLOCK_ELEMENTS // spec.n_draws)
                for lo in range(0, n, step):
                    s = slice(lo, min(n, lo + step))
                    J0d = J0[s, None] * mult[names[0]][None, :]
                    kd = [kk[s, None] * mult[nm][None, :] / f[None, :]
                          for nm, kk in zip(names[1:], k, strict=True)]
                    capd = MODELS[model].volume(tb[s, None], J0d, *kd)
                    ad = np.where(capd > 0, vb[s, None] / capd, np.inf)
                    risk[s] = np.quantile(ad, spec.confidence, axis=1, method="inverted_cdf")
                out["risk_area_m2"] = risk
                out["implied_safety_factor"] = risk / amin
                required = risk
            else:
                required = amin * spec.safety_factor
        else:
            J_trial = spec.params["J0_LMH"]
            P0 = spec.params["P0_bar"]
            k = [np.full(n, spec.params[nm]) for nm in MODELS[model].params]
            J = np.asarray(cols["flux_LMH"], dtype=float)
            pmax = np.asarray(cols["max_pressure_bar"], dtype=float)
            p0 = P0 * J / J_trial
            ok = p0 < pmax
            target = np.where(ok, pmax / p0, 2.0)
            vstar = _bisect_capacity(model, target, J_trial, k, 1.0)
            amin = np.where(ok, vb / vstar, np.inf)
            if "process_time_h" in cols:
                amin = np.maximum(amin, vb / (J * np.asarray(cols["process_time_h"], dtype=float)))
            out["clean_pressure_bar"] = p0
            out["capacity_L_per_m2"] = np.where(ok, vstar, 0.0)
            out["min_area_m2"] = amin
            required = amin * spec.safety_factor
        out["required_area_m2"] = required
        names = cols.get("format")
        fmt, count, inst, cost, plastic = _choose_formats(np.asarray(required, dtype=float), spec.formats,
                                                          None if names is None else list(names))
        if spec.formats:
            out["format"] = fmt
            out["count"] = count
            out["installed_area_m2"] = inst
            out["cost_usd"] = cost
            out["plastic_kg"] = plastic
        else:
            inst = np.asarray(required, dtype=float)
            out["installed_area_m2"] = inst
        # process time with the installed area: the model's t(V) at V = Vb/A_inst
        v_inst = vb / inst
        if spec.mode == CONSTANT_PRESSURE:
            out["time_h"] = time_to_throughput(model, v_inst, J0, *k)
        else:
            out["time_h"] = vb / (J * inst)
        out["feasible"] = np.isfinite(inst) & np.isfinite(np.asarray(required, dtype=float))
    return pd.DataFrame(out)


def _evaluate_chunk(spec, cols):
    return evaluate_scenarios(spec, cols)


def run_sweep(spec: SweepSpec, executor=None, *, progress: bool = False, chunk_size: int | None = None):
    """Run a sweep: every scenario sized, in chunks on ``executor`` (default in-process).

    Parameters
    ----------
    spec : SweepSpec
    executor : fluxwise.compute executor, optional  In-process, process pool or Dask.
    progress : bool  Progress bar with ETA.
    chunk_size : int, optional  Scenarios per task (default: the spec's, else 200,000, or
        2,000,000/n_draws with uncertainty: tasks of a few tenths of a second).

    Returns
    -------
    pandas.DataFrame  One row per scenario in scenario order: the swept and fixed parameters, then
    ``capacity_L_per_m2``, ``min_area_m2``, [``risk_area_m2``, ``implied_safety_factor``],
    ``required_area_m2``, [``format``, ``count``, ``installed_area_m2``, ``cost_usd``,
    ``plastic_kg``], ``time_h`` and ``feasible``.
    """
    import pandas as pd

    cols = scenarios(spec)
    n = spec.n_scenarios
    # tasks of a few tenths of a second: scheduling (milliseconds per task) stays negligible
    default = max(1, 2_000_000 // max(spec.n_draws, 1)) if spec.confidence else 200_000
    size = chunk_size or spec.chunk_size or default
    bounds = [(lo, min(n, lo + size)) for lo in range(0, n, size)]
    chunks = ({k: v[lo:hi] for k, v in cols.items()} for lo, hi in bounds)
    if executor is None:
        from ..compute import InProcessExecutor

        executor = InProcessExecutor()
    parts = executor.map_chunks(partial(_evaluate_chunk, spec), chunks, progress=progress, total=len(bounds),
                                desc="scenarios")
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    df.index.name = "scenario"
    return df


def contour_table(df, x: str, y: str, value: str, *, agg: str = "min"):
    """Pivot a sweep for a contour plot: rows ``y``, columns ``x``, cells ``value`` aggregated with
    ``agg`` over the other axes (e.g. the least area over formats)."""
    for c in (x, y, value):
        if c not in df.columns:
            raise InputError(f"column '{c}' is not in the sweep (columns: {', '.join(map(str, df.columns))})",
                             field=c)
    return df.pivot_table(index=y, columns=x, values=value, aggfunc=agg)

