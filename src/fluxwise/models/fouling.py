r"""Normal-flow fouling models: Hermia's four blocking laws and the five combined models.

All functions are pure and vectorised: arguments broadcast against each other like numpy arrays,
so one call can evaluate one trial, many trials or many parameter sets at once. No I/O, no units
objects: plain floats in the canonical units of fluxwise.

Units
-----
``t`` time [h]; ``V`` filtrate volume per filter area, "throughput" [L/m²]; ``J0`` initial (clean)
flux [L/m²/h, LMH]; ``kb`` complete-blocking constant [1/h]; ``ki`` intermediate-blocking constant
[m²/L]; ``ks`` standard-blocking constant [m²/L]; ``kc`` cake-filtration constant [h·m⁴/L²].

The constants are those of Bolton, LaCasse & Kuriyel (2006), *Combined models of membrane
fouling: development and application to microfiltration and ultrafiltration of biological
fluids*, J. Membr. Sci. 277:75-84, who restate the constant-pressure laws of Hermia (1982),
*Constant pressure blocking filtration laws — application to power-law non-Newtonian fluids*,
Trans. IChemE 60:183-187, in terms of throughput:

=================  =============================================  ==============================
model              constant pressure, V(t)                        resistance r(V) = J0/J = P/P0
=================  =============================================  ==============================
complete           V = (J0/kb)(1 − e^(−kb·t))                      1/(1 − σV),   σ = kb/J0
intermediate       V = ln(1 + ki·J0·t)/ki                          e^(ki·V)
standard           V = J0·t/(1 + ks·J0·t/2)                        (1 − ks·V/2)^(−2)
cake               V = (√(1 + 2·kc·J0²·t) − 1)/(kc·J0)             1 + kc·J0·V
=================  =============================================  ==============================

Combined models (Bolton et al. 2006, Table 1). Complete or intermediate blocking closes part of the
membrane; the open part fouls by standard blocking or by a cake, and sees the throughput
``v' = ∫ dV/a(V)`` where ``a`` is the open-area fraction (``a = 1 − σV`` for complete,
``a = e^(−ki·V)`` for intermediate blocking). Writing ``V_c(t)`` and ``V_s(t)`` for the cake and
standard laws above:

* cake-complete:          V = (1/σ)(1 − e^(−σ·V_c(t)))
* cake-intermediate:      V = ln(1 + ki·V_c(t))/ki
* complete-standard:      V = (1/σ)(1 − e^(−σ·V_s(t)))   [= (J0/kb)(1 − exp(−2kb·t/(2 + ks·J0·t)))]
* intermediate-standard:  V = ln(1 + ki·V_s(t))/ki        [= ln(1 + 2ki·J0·t/(2 + ks·J0·t))/ki]
* cake-standard:          t = V/(J0·(1 − ks·V/2)) + kc·V²/2   (a cake in series with a constricting
  membrane; t(V) is explicit, V(t) is found by a monotone Newton iteration, never NaN)

and r(V) = r_inner(v')/a(V) for the four "blocking over inner law" models, r(V) = (1 − ks·V/2)^(−2)
+ kc·J0·V for cake-standard.

Constant flux. The resistance r(V) depends on throughput only, so the same law gives the
pressure rise at constant flux J: P/P0 = r(V), with J0 read as the constant flux (the flux the clean
filter gives at P0). With V = J·t this reduces to the classical constant-flux forms (Ho & Zydney
2000; Bolton et al. 2006): complete P0/P = 1 − kb·t, intermediate P/P0 = e^(ki·J·t), standard
P/P0 = (1 − ks·J·t/2)^(−2), cake P/P0 = 1 + kc·J²·t.

Bolton's Kc (s/m²) is this kc: t = V/J0 + kc·V²/2 for a pure cake, so 1/J = 1/J0 + kc·V.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MODELS", "MODEL_NAMES", "PARAM_UNITS", "FoulingModel", "get_model",
    "complete_blocking", "intermediate_blocking", "standard_blocking", "cake_filtration",
    "cake_complete", "cake_intermediate", "complete_standard", "intermediate_standard",
    "cake_standard", "cake_standard_time",
    "resistance_ratio", "flux", "time_to_throughput",
]

_TINY = 1e-12


def _one_minus_exp_ratio(x):
    """(1 − e^(−x))/x, exact to machine precision also as x → 0."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    xs = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2.0, -np.expm1(-xs) / xs)


def _log1p_ratio(x):
    """ln(1 + x)/x, exact to machine precision also as x → 0."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    xs = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2.0, np.log1p(xs) / xs)


# --- Hermia (1982) laws at constant pressure, in Bolton et al. (2006) notation -------------------

def complete_blocking(t, J0, kb):
    """Complete pore blocking at constant pressure (Hermia 1982, n = 2).

    V = (J0/kb)·(1 − e^(−kb·t)); capacity J0/kb.

    Parameters
    ----------
    t : array_like  Time [h].
    J0 : array_like  Initial flux [L/m²/h].
    kb : array_like  Complete-blocking constant [1/h].

    Returns
    -------
    V : ndarray  Throughput [L/m²].
    """
    t = np.asarray(t, dtype=float)
    return J0 * t * _one_minus_exp_ratio(kb * t)


def intermediate_blocking(t, J0, ki):
    """Intermediate blocking at constant pressure (Hermia 1982, n = 1).

    V = ln(1 + ki·J0·t)/ki.

    Parameters
    ----------
    t : array_like  Time [h].
    J0 : array_like  Initial flux [L/m²/h].
    ki : array_like  Intermediate-blocking constant [m²/L].

    Returns
    -------
    V : ndarray  Throughput [L/m²].
    """
    t = np.asarray(t, dtype=float)
    return J0 * t * _log1p_ratio(ki * J0 * t)


def standard_blocking(t, J0, ks):
    """Standard blocking (pore constriction) at constant pressure (Hermia 1982, n = 3/2).

    V = J0·t/(1 + ks·J0·t/2), i.e. t/V = 1/J0 + t/Vmax with Vmax = 2/ks — the basis of the
    classical Vmax test (Badmington, Wilkins & Honig 1995).

    Parameters
    ----------
    t : array_like  Time [h].
    J0 : array_like  Initial flux [L/m²/h].
    ks : array_like  Standard-blocking constant [m²/L].

    Returns
    -------
    V : ndarray  Throughput [L/m²].
    """
    t = np.asarray(t, dtype=float)
    return J0 * t / (1.0 + ks * J0 * t / 2.0)


def cake_filtration(t, J0, kc):
    """Cake filtration at constant pressure (Hermia 1982, n = 0; Ruth 1935).

    t = V/J0 + kc·V²/2, so V = (√(1 + 2·kc·J0²·t) − 1)/(kc·J0), evaluated in the cancellation-free
    form V = 2·J0·t/(√(1 + 2·kc·J0²·t) + 1).

    Parameters
    ----------
    t : array_like  Time [h].
    J0 : array_like  Initial flux [L/m²/h].
    kc : array_like  Cake constant [h·m⁴/L²].

    Returns
    -------
    V : ndarray  Throughput [L/m²].
    """
    t = np.asarray(t, dtype=float)
    return 2.0 * J0 * t / (np.sqrt(1.0 + 2.0 * kc * J0 * J0 * t) + 1.0)


# --- Bolton, LaCasse & Kuriyel (2006) combined models at constant pressure ---------------------

def cake_complete(t, J0, kb, kc):
    """Cake-complete model at constant pressure (Bolton et al. 2006, Table 1).

    V = (J0/kb)·(1 − exp(−(kb/(kc·J0²))·(√(1 + 2·kc·J0²·t) − 1))).

    Parameters: t [h], J0 [L/m²/h], kb [1/h], kc [h·m⁴/L²]. Returns V [L/m²].
    """
    vc = cake_filtration(t, J0, kc)
    return vc * _one_minus_exp_ratio(kb / J0 * vc)


def cake_intermediate(t, J0, ki, kc):
    """Cake-intermediate model at constant pressure (Bolton et al. 2006, Table 1).

    V = (1/ki)·ln(1 + (ki/(kc·J0))·(√(1 + 2·kc·J0²·t) − 1)).

    Parameters: t [h], J0 [L/m²/h], ki [m²/L], kc [h·m⁴/L²]. Returns V [L/m²].
    """
    vc = cake_filtration(t, J0, kc)
    return vc * _log1p_ratio(ki * vc)


def complete_standard(t, J0, kb, ks):
    """Complete-standard model at constant pressure (Bolton et al. 2006, Table 1).

    V = (J0/kb)·(1 − exp(−2·kb·t/(2 + ks·J0·t))).

    Parameters: t [h], J0 [L/m²/h], kb [1/h], ks [m²/L]. Returns V [L/m²].
    """
    vs = standard_blocking(t, J0, ks)
    return vs * _one_minus_exp_ratio(kb / J0 * vs)


def intermediate_standard(t, J0, ki, ks):
    """Intermediate-standard model at constant pressure (Bolton et al. 2006, Table 1).

    V = (1/ki)·ln(1 + 2·ki·J0·t/(2 + ks·J0·t)).

    Parameters: t [h], J0 [L/m²/h], ki [m²/L], ks [m²/L]. Returns V [L/m²].
    """
    vs = standard_blocking(t, J0, ks)
    return vs * _log1p_ratio(ki * vs)


def cake_standard_time(V, J0, ks, kc):
    """Time to reach throughput V under the cake-standard model (Bolton et al. 2006, Table 1).

    t = V/(J0·(1 − ks·V/2)) + kc·V²/2, infinite at and beyond the standard capacity 2/ks.

    Parameters: V [L/m²], J0 [L/m²/h], ks [m²/L], kc [h·m⁴/L²]. Returns t [h].
    """
    V = np.asarray(V, dtype=float)
    open_frac = 1.0 - ks * V / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(open_frac > 0, V / (J0 * np.where(open_frac > 0, open_frac, 1.0)), np.inf)
    return t + kc * V * V / 2.0


def cake_standard(t, J0, ks, kc, *, iterations=60):
    """Cake-standard model at constant pressure (Bolton et al. 2006): V(t) from the explicit t(V).

    Solves t = V/(J0·(1 − ks·V/2)) + kc·V²/2 for V. The right-hand side is increasing and convex
    in V on [0, 2/ks), and both single laws bound the root from above (V ≤ min(V_cake, V_standard)),
    so Newton's method started there decreases monotonically onto the root: no bracketing failure,
    no overshoot, never NaN.

    Parameters: t [h], J0 [L/m²/h], ks [m²/L], kc [h·m⁴/L²]. Returns V [L/m²].
    """
    t = np.asarray(t, dtype=float)
    J0, ks, kc = (np.asarray(a, dtype=float) for a in (J0, ks, kc))
    v = np.minimum(cake_filtration(t, J0, kc), standard_blocking(t, J0, ks))
    v = np.array(np.broadcast_to(v, np.broadcast_shapes(v.shape, J0.shape, ks.shape, kc.shape)))
    for _ in range(iterations):
        open_frac = 1.0 - ks * v / 2.0
        f = v / (J0 * open_frac) + kc * v * v / 2.0 - t
        df = 1.0 / (J0 * open_frac * open_frac) + kc * v
        step = f / df
        v = np.maximum(v - step, 0.0)
        if np.all(np.abs(step) <= 1e-13 * (np.abs(v) + 1e-300)):
            break
    return v


# --- resistance r(V) = J0/J(V) = P(V)/P0, shared by both operating modes ------------------------

def _inner_r(kind, v, J0, k):
    if kind == "none":
        return np.ones_like(v)
    if kind == "standard":
        open_frac = 1.0 - k * v / 2.0
        with np.errstate(divide="ignore"):
            return np.where(open_frac > 0, 1.0 / np.where(open_frac > 0, open_frac, 1.0) ** 2, np.inf)
    if kind == "cake":
        return 1.0 + k * J0 * v
    raise ValueError(kind)


def _outer(kind, V, J0, k):
    """Open-area fraction a(V) and throughput seen by the open area v'(V)."""
    if kind == "none":
        return np.ones_like(V), V
    if kind == "complete":
        x = k / J0 * V  # σV, σ = kb/J0
        inside = x < 1.0
        xs = np.where(inside, x, 0.0)
        a = np.where(inside, 1.0 - xs, 0.0)
        vprime = np.where(inside, V * _log1p_ratio(-xs), np.inf)  # −ln(1 − σV)/σ
        return a, vprime
    if kind == "intermediate":
        x = k * V
        return np.exp(-x), V * _expm1_ratio(x)  # (e^(ki·V) − 1)/ki
    raise ValueError(kind)


def _expm1_ratio(x):
    """(e^x − 1)/x, exact as x → 0."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    xs = np.where(small, 1.0, x)
    return np.where(small, 1.0 + x / 2.0, np.expm1(xs) / xs)


@dataclass(frozen=True)
class FoulingModel:
    """One fouling mechanism: its name, its constants and its laws in both operating modes.

    Attributes
    ----------
    name : str
        Model name as used in the CLI/JSON (``"cake-standard"``).
    params : tuple of str
        Fouling constants after J0, as JSON keys with units (``"ks_m2_per_L"``).
    volume : callable
        ``volume(t_h, J0, *k) -> V [L/m²]`` at constant pressure.
    outer, inner : str
        Structure used for r(V): blocking law closing area (``none|complete|intermediate``) over
        the law of the open area (``none|standard|cake``); ``"series"`` for cake-standard.
    source : str
        Where the equation comes from.
    """

    name: str
    params: tuple[str, ...]
    volume: Callable
    outer: str
    inner: str
    source: str

    @property
    def all_params(self) -> tuple[str, ...]:
        return ("J0_LMH",) + self.params

    def resistance(self, V, J0, *k):
        """r(V) = J0/J at constant pressure = P/P0 at constant flux [-]."""
        return resistance_ratio(self.name, V, J0, *k)


PARAM_UNITS = {
    "J0_LMH": "L/m²/h",
    "kb_per_h": "1/h",
    "ki_m2_per_L": "m²/L",
    "ks_m2_per_L": "m²/L",
    "kc_h_m4_per_L2": "h·m⁴/L²",
    "P0_bar": "bar",
}

_H = "Hermia (1982) Trans IChemE 60:183; Bolton et al. (2006) J Membr Sci 277:75"
_B = "Bolton, LaCasse & Kuriyel (2006) J Membr Sci 277:75-84"

MODELS: dict[str, FoulingModel] = {m.name: m for m in (
    FoulingModel("complete", ("kb_per_h",), complete_blocking, "complete", "none", _H),
    FoulingModel("intermediate", ("ki_m2_per_L",), intermediate_blocking, "intermediate", "none", _H),
    FoulingModel("standard", ("ks_m2_per_L",), standard_blocking, "none", "standard", _H),
    FoulingModel("cake", ("kc_h_m4_per_L2",), cake_filtration, "none", "cake", _H),
    FoulingModel("cake-complete", ("kb_per_h", "kc_h_m4_per_L2"), cake_complete, "complete", "cake", _B),
    FoulingModel("cake-intermediate", ("ki_m2_per_L", "kc_h_m4_per_L2"), cake_intermediate,
                 "intermediate", "cake", _B),
    FoulingModel("complete-standard", ("kb_per_h", "ks_m2_per_L"), complete_standard,
                 "complete", "standard", _B),
    FoulingModel("intermediate-standard", ("ki_m2_per_L", "ks_m2_per_L"), intermediate_standard,
                 "intermediate", "standard", _B),
    FoulingModel("cake-standard", ("ks_m2_per_L", "kc_h_m4_per_L2"), cake_standard, "series", "series", _B),
)}
MODEL_NAMES = tuple(MODELS)


def get_model(name: str) -> FoulingModel:
    """Look a model up by name; :class:`fluxwise.errors.ModelError` lists the names that exist."""
    try:
        return MODELS[name]
    except KeyError:
        from ..errors import ModelError
        raise ModelError(f"unknown model '{name}' (expected one of: {', '.join(MODEL_NAMES)})") from None


def resistance_ratio(name, V, J0, *k):
    """Hydraulic resistance relative to the clean filter, r(V) = J0/J = P/P0 [-].

    The same law serves both modes (see the module docstring): at constant pressure the flux is
    J = J0/r(V); at constant flux J0 the pressure is P = P0·r(V). Infinite beyond a model's capacity.

    Parameters
    ----------
    name : str  Model name.
    V : array_like  Throughput [L/m²].
    J0 : array_like  Initial flux at constant pressure, or the constant flux [L/m²/h].
    *k : array_like  Fouling constants in the order of ``MODELS[name].params``.
    """
    m = MODELS[name]
    V = np.asarray(V, dtype=float)
    if m.outer == "series":
        ks, kc = k
        return _inner_r("standard", V, J0, ks) + kc * J0 * V
    kouter = k[0] if m.outer != "none" else None
    kinner = k[-1] if m.inner != "none" else None
    a, vprime = _outer(m.outer, V, J0, kouter)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = _inner_r(m.inner, vprime, J0, kinner) / a
    return np.where(np.isfinite(r) & (r > 0), r, np.inf)


def flux(name, V, J0, *k):
    """Flux J = J0/r(V) [L/m²/h] at constant pressure after throughput V [L/m²]."""
    return J0 / resistance_ratio(name, V, J0, *k)


def time_to_throughput(name, V, J0, *k):
    """Time [h] to reach throughput V [L/m²] at constant pressure, t(V) = ∫₀^V r(u)/J0 du.

    Closed form for every model (the inverses of the V(t) laws above); ``inf`` beyond capacity.
    """
    V = np.asarray(V, dtype=float)
    m = MODELS[name]
    if name == "cake-standard":
        return cake_standard_time(V, J0, *k)

    def inner_time(v, kind, kin):
        if kind == "none":
            return v / J0
        if kind == "standard":
            of = 1.0 - kin * v / 2.0
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(of > 0, v / (J0 * np.where(of > 0, of, 1.0)), np.inf)
        return v / J0 + kin * v * v / 2.0  # cake

    kouter = k[0] if m.outer != "none" else None
    kinner = k[-1] if m.inner != "none" else None
    _, vprime = _outer(m.outer, V, J0, kouter)
    return inner_time(vprime, m.inner, kinner)
