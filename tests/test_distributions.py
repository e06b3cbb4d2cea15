"""The normal and Student's t distributions of :mod:`fluxwise.fit.distributions`.

Expected values: ``scipy.special`` (``stdtr``, ``stdtrit``, ``ndtr``, ``ndtri``) over a grid of
degrees of freedom and of t and p into the tails; closed forms for ν = 1 (Cauchy: CDF ½ + atan(t)/π,
quantile tan(π(p − ½))) and ν = 2 (CDF ½ + t/(2√(2 + t²)); Abramowitz & Stegun 1964, 26.7.3); the
normal quantile Φ⁻¹(0.975) = 1.959963984540054 (A&S 1964, table 26.5); and 40-digit values computed
with mpmath 1.4.1 (``betainc`` and ``findroot``) where scipy itself is less accurate (t and p near
the centre) or to pin the numbers the fits use.
"""

import math

import numpy as np
import pytest
from scipy.special import ndtr, ndtri, stdtr, stdtrit

from fluxwise.fit.distributions import normal_cdf, normal_quantile, student_t_cdf, student_t_quantile

DOFS = [1, 1.5, 2, 2.7, 3, 5, 10, 17.3, 29.9, 30, 30.1, 100, 1e3, 1e5, 1e6, 1e7, 1e9]
RTOL = 1e-12


def _rel(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("dof", DOFS)
def test_t_cdf_matches_scipy_into_the_tails(dof):
    # |t| >= 1e-3: closer to 0 scipy's stdtr with 1 dof is off by up to 3e-9 (see the centre test)
    ts = np.concatenate([-np.logspace(-3, 12, 61), np.logspace(-3, 12, 61)])
    for t in ts:
        expected = stdtr(dof, t)
        if expected < 1e-300:  # underflow: both give (nearly) 0
            assert student_t_cdf(t, dof) < 1e-290
            continue
        assert _rel(student_t_cdf(t, dof), expected) < RTOL, (dof, t)


@pytest.mark.parametrize("dof", DOFS)
def test_t_quantile_matches_scipy_into_the_tails(dof):
    # p down to 1e-100 (below, scipy's stdtrit saturates); |p - ½| >= 0.01 (closer, scipy's stdtrit
    # loses digits: see the centre test)
    ps = np.concatenate([np.logspace(-100, -1, 67), [0.025, 0.05, 0.2, 0.3, 0.4, 0.49, 0.51, 0.6, 0.8],
                         1 - np.logspace(-16, -1, 31)])
    for p in ps:
        assert _rel(student_t_quantile(p, dof), stdtrit(dof, p)) < RTOL, (dof, p)


@pytest.mark.parametrize("dof", DOFS)
def test_t_quantile_inverts_the_cdf(dof):
    for p in [1e-12, 1e-6, 0.001, 0.025, 0.1, 0.3, 0.45, 0.499, 0.5001, 0.7, 0.975, 0.999, 1 - 1e-12]:
        t = student_t_quantile(p, dof)
        assert _rel(student_t_cdf(t, dof), p) < 1e-12, (dof, p)


def test_t_with_one_dof_is_cauchy():
    for t in [-1e12, -1e6, -37.0, -3.0, -1.0, -0.3, -1e-3, -1e-8, -1e-15, 1e-8, 0.5, 2.0, 1e3, 1e9]:
        # ½ + atan(t)/π, for t < 0 as atan(1/|t|)/π, without cancellation
        expected = math.atan(-1.0 / t) / math.pi if t < 0 else 0.5 + math.atan(t) / math.pi
        assert _rel(student_t_cdf(t, 1), expected) < 1e-13, t
    for p in [1e-12, 1e-6, 0.01, 0.2, 0.4, 0.499999, 0.499999999999, 0.500000000001, 0.6, 0.9, 0.975,
              1 - 1e-9]:
        q = min(p, 1 - p)  # exact; in the tails tan(π(p − ½)) = ∓cot(πq), without the pole of tan
        if q < 0.25:
            expected = math.copysign(1.0 / math.tan(math.pi * q), p - 0.5)
        else:
            expected = math.tan(math.pi * (p - 0.5))
        assert _rel(student_t_quantile(p, 1), expected) < 1e-13, p


def test_t_with_two_dof_has_its_closed_form():
    # F(t) = ½ + t/(2√(2 + t²)); the lower tail without cancellation: 1/(√(2 + t²)(√(2 + t²) + |t|))
    for t in [-1e9, -1e4, -30.0, -4.0, -1.0, -0.01, -1e-7, 1e-7, 0.2, 3.0, 1e5]:
        root = math.sqrt(2 + t * t)
        expected = 1 / (root * (root - t)) if t < 0 else 0.5 + t / (2 * root)
        assert _rel(student_t_cdf(t, 2), expected) < 1e-13, t
    for p in [1e-12, 1e-5, 0.025, 0.3, 0.5 + 1e-9, 0.8, 0.975]:
        q = min(p, 1 - p)  # t = (2p − 1)/√(2p(1 − p))
        expected = math.copysign((1 - 2 * q) / math.sqrt(2 * q * (1 - q)), p - 0.5)
        assert _rel(student_t_quantile(p, 2), expected) < 1e-13, p


@pytest.mark.parametrize(("dof", "p", "expected"), [
    # 40-digit values (mpmath), where scipy's stdtrit is off by 7e-12 and 9e-9
    (10, 0.499999, -2.5699780348648433253e-6),
    (5, 0.4999999999, -2.6343057421036887898e-10),
    (3.5, 0.45, -0.1350156501802092489),
    # the quantile of the fits' 95 % intervals, for small, non-integer (AR(1)) and large dof
    (7.25, 0.975, 2.3481948491053716059),
    (178, 0.975, 1.9733808885488241433),
    (1e5, 0.975, 1.9599877075346092587),
    (1e6, 0.975, 1.9599663568141066553),
    (30, 1e-10, -9.377489780407143181),
])
def test_t_quantile_against_high_precision_values(dof, p, expected):
    assert _rel(student_t_quantile(p, dof), expected) < 1e-14


@pytest.mark.parametrize(("dof", "t", "expected"), [
    (10, -1e-8, 0.49999999610891616034),
    (5, -0.01, 0.49620400902129095138),
    (7.25, -2.5, 0.019932760379457289284),
    (40, -3.0, 0.0023150698920780688843),
    (1e5, -1.0, 0.15865646378205500803),
    (1e6, -2.0, 0.022750266925659604211),
    (1e6, -6.0, 9.8692490617721733495e-10),
])
def test_t_cdf_against_high_precision_values(dof, t, expected):
    assert _rel(student_t_cdf(t, dof), expected) < 1e-14


def test_t_edges():
    assert student_t_cdf(0.0, 3) == 0.5
    assert student_t_cdf(-math.inf, 3) == 0.0 and student_t_cdf(math.inf, 3) == 1.0
    assert math.isnan(student_t_cdf(math.nan, 3)) and math.isnan(student_t_cdf(1.0, 0.0))
    assert math.isnan(student_t_cdf(1.0, -2.0)) and math.isnan(student_t_cdf(1.0, math.nan))
    assert student_t_cdf(1.3, math.inf) == normal_cdf(1.3)
    assert student_t_quantile(0.0, 4) == -math.inf and student_t_quantile(1.0, 4) == math.inf
    assert student_t_quantile(0.5, 4) == 0.0
    assert math.isnan(student_t_quantile(1.5, 4)) and math.isnan(student_t_quantile(-0.1, 4))
    assert math.isnan(student_t_quantile(math.nan, 4)) and math.isnan(student_t_quantile(0.9, 0.0))
    assert student_t_quantile(0.975, math.inf) == normal_quantile(0.975)
    # symmetry, and numpy scalars in (the fits pass them)
    assert student_t_quantile(0.125, 12.5) == -student_t_quantile(0.875, 12.5)
    assert student_t_cdf(np.float64(-2.0), np.int64(9)) == student_t_cdf(-2.0, 9)
    # dof below 1 (not used by the fits) still agrees with scipy
    for dof in (0.3, 0.8):
        assert _rel(student_t_cdf(-5.0, dof), stdtr(dof, -5.0)) < 1e-13
        assert _rel(student_t_quantile(0.01, dof), stdtrit(dof, 0.01)) < 1e-12


def test_normal_cdf_matches_scipy_and_the_closed_form():
    for x in np.concatenate([-np.logspace(-10, math.log10(37.5), 101), [0.0], np.logspace(-10, 0.9, 51)]):
        assert _rel(normal_cdf(x), ndtr(x)) < 1e-13, x
    assert normal_cdf(0.0) == 0.5
    assert math.isnan(normal_cdf(math.nan))
    assert normal_cdf(-math.inf) == 0.0 and normal_cdf(math.inf) == 1.0


def test_normal_quantile_matches_scipy_and_the_tables():
    ps = np.concatenate([np.logspace(-300, -1, 100), np.linspace(0.11, 0.49, 20), np.linspace(0.51, 0.89, 20),
                         1 - np.logspace(-16, -1, 31)])
    for p in ps:
        assert _rel(normal_quantile(p), ndtri(p)) < 1e-14, p
    assert _rel(normal_quantile(0.975), 1.959963984540054) < 1e-15
    assert normal_quantile(0.5) == 0.0
    assert normal_quantile(0.0) == -math.inf and normal_quantile(1.0) == math.inf
    assert math.isnan(normal_quantile(1.2)) and math.isnan(normal_quantile(-1e-9))
    assert math.isnan(normal_quantile(math.nan))
