r"""The normal and Student's t distributions: CDFs and quantiles from the standard library alone.

The fits need Student's t quantile (parameter intervals), its CDF (the curvature test of the Vmax
line) and the normal CDF and quantile (residual diagnostics). ``scipy.special`` has them, but
importing it costs about a third of a second (more than the fit of a small trial), so they are
written here with :mod:`math` and :mod:`statistics`, to double precision. Scalars in, floats out.

Normal distribution
    Φ(x) = ½[1 + erf(x/√2)] = ½·erfc(−x/√2) (Abramowitz & Stegun 1964, *Handbook of Mathematical
    Functions*, 26.2.29),
    accurate in relative terms in the lower tail; the quantile Φ⁻¹(p) is Wichura's algorithm AS 241
    (Wichura 1988, Appl. Stat. 37:477), :meth:`statistics.NormalDist.inv_cdf`, relative error about
    1e-16.

Student's t with ν > 0 degrees of freedom (ν need not be an integer)
    For s ≥ 0, with x = ν/(ν + s²) and 1 − x = s²/(ν + s²) (Abramowitz & Stegun 1964, 26.7.1 and
    26.5.27),

        P(T > s) = ½·I_x(ν/2, ½),      P(0 < T < s) = ½·I_{1−x}(½, ν/2),

    where I is the regularised incomplete beta function (26.5.1), evaluated by its continued
    fraction (26.5.8)

        I_x(a, b) = x^a (1 − x)^b / (a·B(a, b)) · 1/(1 + d₁/(1 + d₂/(1 + …))),
        d₂ₘ₊₁ = −(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1)),  d₂ₘ = m(b − m)x / ((a + 2m − 1)(a + 2m)),

    with the modified Lentz method (Press, Teukolsky, Vetterling & Flannery 2007, *Numerical
    Recipes*, 3rd ed., §5.2 and §6.4; Lentz 1976, Appl. Opt. 15:668). The fraction converges fast
    for x < (a + 1)/(a + b + 2); beyond it the other of the two probabilities is the one computed,
    and the two add up to ½. Either way the probability computed directly is at least about 0.04
    where it is subtracted from ½, so both the tail and the centre keep their relative precision.
    The prefactor is taken in logarithms, ln[Γ(a + ½)/Γ(a)] for a ≥ 10 by Stirling's series of ln Γ
    (A&S 1964, 6.1.40) in a difference that keeps its digits for large a (large ν).

    For ν ≥ 30 and a tail with 1.5/(ν/2 + 2.5) ≤ 1 − x < 0.29, x is so close to 1 that it no longer
    carries the digits of 1 − x, and the fraction in x would lose about ν·ε/2 (1e-11 at ν = 1e6);
    there P(T > s) comes from the asymptotic expansion of I_x(a, b) for large a and b ≤ 1 of
    DiDonato & Morris (1992, ACM Trans. Math. Softw. 18:360, §9, their BGRAT), which needs only
    ln x = −ln(1 + s²/ν) and, with b = ½, erfc.

    The quantile t_p solves P(T ≤ t) = p from the start of Hill's algorithm 396 (Hill 1970, Commun.
    ACM 13:619) by Newton steps with the density f(t) = Γ((ν+1)/2)/(√(νπ)Γ(ν/2))·(1 + t²/ν)^(−(ν+1)/2):
    on ln P(T > s) against ln s in the tails (a power law there: one step from far away) and on
    P(0 < T < s) against s near the centre, inside a bracket that halves when a step leaves it.

Accuracy (``tests/test_distributions.py``), for ν from 1 to 1e9 and probabilities down to 1e-100:
relative differences from ``scipy.special`` (``stdtr``, ``stdtrit``, ``ndtr``, ``ndtri``) below 1e-13,
except where the probability itself is below about 1e-200 (up to 3e-13: exp of a logarithm of size
|L| carries |L|·ε) and where scipy is the less accurate one, checked against 40-digit values
(mpmath): ``stdtr`` with ν = 1 within about 1e-4 of 0 (errors up to 3e-9) and ``stdtrit`` for p
within about 1e-3 of ½ (up to 1e-5 at p = ½ ± 1e-12), where these functions agree with the
exact values to a few ε. ν = ∞ is the normal distribution.
"""

from __future__ import annotations

import math
import sys
from statistics import NormalDist

__all__ = ["normal_cdf", "normal_quantile", "student_t_cdf", "student_t_quantile"]

_EPS = sys.float_info.epsilon
_TINY = 1e-300  # the modified Lentz method's stand-in for a zero denominator
_MAX_TERMS = 1000  # of the continued fraction; where it is used, 25 at most are needed
_SQRT1_2 = math.sqrt(0.5)
_LN_SQRT_PI = 0.5 * math.log(math.pi)
_STANDARD_NORMAL = NormalDist()
# B₂ₖ/(2k(2k − 1)), k = 1..9: Stirling's series ln Γ(x) − [(x − ½)ln x − x + ½ln 2π] = Σ cₖ/x^(2k−1)
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400,
             43867 / 244188)


# --- normal -----------------------------------------------------------------------------------------

def normal_cdf(x: float) -> float:
    """Φ(x) = ½·erfc(−x/√2), the standard normal CDF (A&S 1964, 26.2.29); NaN for NaN."""
    return 0.5 * math.erfc(-float(x) * _SQRT1_2)


def normal_quantile(p: float) -> float:
    """Φ⁻¹(p), the standard normal quantile (Wichura 1988, AS 241, through
    :meth:`statistics.NormalDist.inv_cdf`): −∞ at p = 0, +∞ at p = 1, NaN outside [0, 1]."""
    p = float(p)
    if 0.0 < p < 1.0:
        return _STANDARD_NORMAL.inv_cdf(p)
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    return math.nan


# --- Student's t --------------------------------------------------------------------------------------

def _stirling_remainder(x: float) -> float:
    """ln Γ(x) − [(x − ½)ln x − x + ½ln 2π] by Stirling's series (A&S 1964, 6.1.40), x ≥ 10
    (the ninth term is below 2e-18 there)."""
    inv2 = 1.0 / (x * x)
    total = 0.0
    for c in reversed(_STIRLING):
        total = total * inv2 + c
    return total / x


def _log_gamma_ratio_half(a: float) -> float:
    """ln[Γ(a + ½)/(Γ(a)·√a)], which tends to 0 as a grows (it is −1/(8a) + …), to a few units of the
    last place: for a ≥ 10 by Stirling's series in a difference that keeps its digits, where
    ``lgamma(a + ½) − lgamma(a)`` would lose those of two numbers of size a·ln a."""
    if a < 10.0:
        return math.lgamma(a + 0.5) - math.lgamma(a) - 0.5 * math.log(a)
    return (a * math.log1p(0.5 / a) - 0.5) + _stirling_remainder(a + 0.5) - _stirling_remainder(a)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (A&S 1964, 26.5.8) by the modified Lentz method (Press et
    al. 2007, §6.4, ``betacf``); converges fast for x < (a + 1)/(a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) <= _EPS:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def _erfcx(w: float) -> float:
    """exp(w²)·erfc(w) for w ≥ 0: from :func:`math.erfc` below 26, beyond by the asymptotic series
    1/(w√π)·Σ (−1)ᵏ(2k − 1)!!/(2w²)ᵏ (A&S 1964, 7.1.23), whose terms fall below 1e-17 long before
    they grow again."""
    if w < 26.0:
        return math.erfc(w) * math.exp(w * w)
    x2 = 2.0 * w * w
    term, total, k = 1.0, 1.0, 1
    while abs(term) > 1e-17:
        term *= -(2 * k - 1) / x2
        total += term
        k += 1
    return total / (w * math.sqrt(math.pi))


def _t_tail_large_dof(a: float, ln_1pr: float) -> float:
    """½·I_x(a, ½) = P(T > s) for a = ν/2 ≥ 15 by the asymptotic expansion of DiDonato & Morris (1992,
    ACM Trans. Math. Softw. 18:360, §9) for I_x(a, b) with a large and b ≤ 1, here b = ½:

        I_x(a, b) = Γ(a + b)/(Γ(a)·Tᵇ) · e^(−z) zᵇ/Γ(b) · Σₙ dₙ Jₙ,   T = a + (b − 1)/2,  z = −T·ln x,

    d₀ = 1, dₙ = (b − 1)/(2n + 1)! + (1/n)·Σᵢ₌₁ⁿ⁻¹ (i·b − n)·dₙ₋ᵢ/(2i + 1)!, J₀ = Γ(b, z)·e^z/zᵇ and
    Jₙ = [(b + 2n − 2)(b + 2n − 1)·Jₙ₋₁ + (z + b + 2n − 1)·(ln x/2)^(2n−2)]/(4T²). With b = ½,
    Γ(½, z)/Γ(½) = erfc(√z). Where x is close to 1 (1 − x below about 0.3) and a is large, x itself
    no longer carries the digits of 1 − x, and the continued fraction in x loses about a·ε; the
    expansion works from ln x = −ln(1 + s²/ν) alone. ``ln_1pr`` is ln(1 + s²/ν)."""
    b = 0.5
    t_big = a - 0.25
    z = t_big * ln_1pr
    w = math.sqrt(z)
    # ln[Γ(a + ½)/(Γ(a)√T)] + ln[e^(−z)·√z/Γ(½)], and J₀ = √π·erfcx(√z)/√z
    ln_front = (_log_gamma_ratio_half(a) - 0.5 * math.log1p(-0.25 / a)) - z + math.log(w) - _LN_SQRT_PI
    j = math.sqrt(math.pi) * _erfcx(w) / w
    total = j
    v = 0.25 / (t_big * t_big)
    t2 = 0.25 * ln_1pr * ln_1pr
    power = 1.0  # (ln x/2)^(2n − 2)
    inv_factorials: list[float] = []  # 1/(2n + 1)!
    d: list[float] = []
    inv_fact = 1.0
    for n in range(1, 31):
        bp2n = b + 2 * (n - 1)
        j = (bp2n * (bp2n + 1.0) * j + (z + bp2n + 1.0) * power) * v
        power *= t2
        inv_fact /= (2 * n) * (2 * n + 1)
        inv_factorials.append(inv_fact)
        acc = 0.0
        for i in range(1, n):
            acc += (i * b - n) * inv_factorials[i - 1] * d[n - i - 1]
        d.append((b - 1.0) * inv_fact + acc / n)
        dj = d[-1] * j
        total += dj
        if abs(dj) <= _EPS * total:
            break
    return 0.5 * math.exp(ln_front) * total


def _t_parts(s: float, nu: float) -> tuple[float, float]:
    """(P(T > s), P(0 < T < s)) for Student's t with ``nu`` degrees of freedom and s ≥ 0, each with
    its own relative precision (A&S 1964, 26.7.1 with 26.5.27; the module docstring)."""
    if s == 0.0:
        return 0.5, 0.0
    if math.isinf(s):
        return 0.0, 0.5
    a = 0.5 * nu
    u = s / math.sqrt(nu)  # s²/ν = u², taken in logarithms so that no square overflows or underflows
    if u < 1e150:
        r = u * u
        ln_1pr = math.log1p(r)  # ln(1 + s²/ν) = −ln x
        x = 1.0 / (1.0 + r)
        y = r / (1.0 + r)
    else:
        ln_1pr = 2.0 * math.log(u) + math.log1p(1.0 / u / u)
        x, y = 0.0, 1.0  # x is below 1e-300: the fraction's terms vanish
    if a >= 15.0 and 1.5 / (a + 2.5) <= y < 0.29:
        tail = _t_tail_large_dof(a, ln_1pr)
        return tail, 0.5 - tail
    # ln[x^a·(1 − x)^½/B(a, ½)] = −(a + ½)·ln(1 + s²/ν) + ln s − ½ln 2 + ln[Γ(a + ½)/(Γ(a)√a)] − ½ln π
    ln_prefactor = (-(a + 0.5) * ln_1pr + math.log(s) - 0.5 * math.log(2.0) + _log_gamma_ratio_half(a)
                    - _LN_SQRT_PI)
    if x < (a + 1.0) / (a + 2.5):
        tail = 0.5 * math.exp(ln_prefactor) * _beta_fraction(a, 0.5, x) / a
        return tail, 0.5 - tail
    centre = math.exp(ln_prefactor) * _beta_fraction(0.5, a, y)  # ½·I_y(½, a), the 1/b = 2 cancelled
    return 0.5 - centre, centre


def _t_log_density_constant(nu: float) -> float:
    """ln[Γ((ν + 1)/2)/(√(νπ)·Γ(ν/2))], the logarithm of the density's constant."""
    return _log_gamma_ratio_half(0.5 * nu) - 0.5 * math.log(2.0) - _LN_SQRT_PI


def _t_log_density(s: float, nu: float, log_constant: float) -> float:
    """ln f(s), the logarithm of the density (f itself underflows far out in a heavy tail)."""
    u = s / math.sqrt(nu)
    ln_1pr = math.log1p(u * u) if u < 1e150 else 2.0 * math.log(u) + math.log1p(1.0 / u / u)
    return log_constant - 0.5 * (nu + 1.0) * ln_1pr


def _valid_dof(dof) -> float:
    nu = float(dof)
    return nu if nu > 0.0 else math.nan  # NaN stays NaN


def student_t_cdf(t: float, dof: float) -> float:
    """P(T ≤ t) for Student's t with ``dof`` > 0 degrees of freedom (real; ∞ is the normal), as
    ``scipy.special.stdtr(dof, t)`` (the module docstring has the method). NaN for NaN or dof ≤ 0."""
    t, nu = float(t), _valid_dof(dof)
    if math.isnan(t) or math.isnan(nu):
        return math.nan
    if math.isinf(nu):
        return normal_cdf(t)
    tail, centre = _t_parts(abs(t), nu)
    return tail if t < 0 else 0.5 + centre


def _hill_start(q: float, nu: float) -> float:
    """A start for s with P(T > s) = q < ½: Hill's algorithm 396 (Hill 1970, Commun. ACM 13:619, as
    in R's ``qt``), with P = 2q the two-sided probability; exact for ν = 1 and ν = 2."""
    p2 = 2.0 * q
    if nu == 1.0:
        return 1.0 / math.tan(0.5 * math.pi * p2) if q < 0.25 else math.tan(0.5 * math.pi * (1.0 - p2))
    if nu == 2.0:
        return math.sqrt(2.0 / (p2 * (2.0 - p2)) - 2.0)
    a = 1.0 / (nu - 0.5)
    b = 48.0 / (a * a)
    c = ((20700.0 * a / b - 98.0) * a - 16.0) * a + 96.36
    d = ((94.5 / (b + c) - 3.0) / b + 1.0) * math.sqrt(a * math.pi / 2.0) * nu
    y = (d * p2) ** (2.0 / nu)
    if y > 0.05 + a or (nu < 2.1 and p2 > 0.5):
        x = normal_quantile(0.5 * p2)  # asymptotic inverse expansion about the normal
        y = x * x
        if nu < 5.0:
            c += 0.3 * (nu - 4.5) * (x + 0.6)
        c = (((0.05 * d * x - 5.0) * x - 7.0) * x - 2.0) * x + b + c
        y = (((((0.4 * y + 6.3) * y + 36.0) * y + 94.5) / c - y - 3.0) / b + 1.0) * x
        y = math.expm1(a * y * y)
    elif y > 0.0:
        y = ((1.0 / (((nu + 6.0) / (nu * y) - 0.089 * d - 0.822) * (nu + 2.0) * 3.0) + 0.5 / (nu + 4.0))
             * y - 1.0) * (nu + 1.0) / (nu + 2.0) + 1.0 / y
    else:
        return math.nan
    return math.sqrt(nu * y)


def _tail_start(q: float, nu: float, log_constant: float) -> float:
    """s with P(T > s) = q from the tail's power law P(T > s) ≈ K·ν^((ν−1)/2)·s^(−ν) (the integral of
    the density's leading term, K its constant), for when Hill's start under- or overflows."""
    return math.exp((log_constant + 0.5 * (nu + 1.0) * math.log(nu) - math.log(nu) - math.log(q)) / nu)


def student_t_quantile(p: float, dof: float) -> float:
    """The t with P(T ≤ t) = p for Student's t with ``dof`` > 0 degrees of freedom (real; ∞ is the
    normal), as ``scipy.special.stdtrit(dof, p)``: −∞ at p = 0, +∞ at p = 1, NaN for p outside
    [0, 1], for NaN and for dof ≤ 0. Hill's (1970) start refined by safeguarded Newton steps (the
    module docstring)."""
    p, nu = float(p), _valid_dof(dof)
    if math.isnan(p) or math.isnan(nu) or not 0.0 <= p <= 1.0:
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p == 0.5:
        return 0.0
    if math.isinf(nu):
        return normal_quantile(p)
    q = p if p < 0.5 else 1.0 - p  # the upper tail's probability; 1 − p is exact for p ≥ ½
    sign = -1.0 if p < 0.5 else 1.0
    log_constant = _t_log_density_constant(nu)
    s = _hill_start(q, nu) if nu >= 1.0 else math.nan  # Hill's start is made for ν ≥ 1
    if not (math.isfinite(s) and s > 0.0):
        s = _tail_start(q, nu, log_constant)
    # Newton with a bracket [lo, hi] on s: in the tails on g = ln P(T > s) − ln q against w = ln s
    # (g' = −s·f/P(T > s)), near the centre on g = P(0 < T < s) − (½ − q) against s (g' = f).
    in_tail = q < 0.25
    ln_q, centre_target = math.log(q), 0.5 - q
    lo, hi = 0.0, math.inf
    polish = False
    for _ in range(200):
        tail, centre = _t_parts(s, nu)
        ln_f = _t_log_density(s, nu, log_constant)
        if in_tail:
            if tail <= 0.0:  # beyond the range of doubles: come back in
                hi = s
                s = 0.5 * (lo + hi) if lo > 0.0 else s / 1e3
                continue
            g = math.log(tail) - ln_q
            if g > 0.0:
                lo = s
            else:
                hi = s
            slope = math.exp(math.log(s) + ln_f - math.log(tail))  # s·f/P(T > s)
            new = s * math.exp(g / slope)
        else:
            g = centre - centre_target
            if g < 0.0:
                lo = s
            else:
                hi = s
            new = s - g / math.exp(ln_f)
        if g == 0.0:
            break
        if not lo <= new <= hi:  # the step left the bracket: halve it (geometrically in the tails)
            if math.isinf(hi):
                new = 2.0 * lo if lo > 0.0 else 1.0
            elif in_tail and lo > 0.0:
                new = math.sqrt(lo) * math.sqrt(hi)
            else:
                new = 0.5 * (lo + hi)
        if polish:
            s = new
            break
        polish = abs(new - s) <= 1e-9 * new  # Newton's error squares: one more step is the last
        s = new
    return sign * s
