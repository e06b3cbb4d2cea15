r"""Closed-form inventory results: the normal approximation a recommendation starts from, and the
exact results the simulation is tested against.

Periodic review, backorders, lead time L whole periods, a base stock S protecting L + 1 periods
(Axsäter 2015, *Inventory Control*, 3rd ed., §5.3; Snyder & Shen 2019, *Fundamentals of Supply
Chain Theory*, 2nd ed., §4.3):

* cycle service level (Type 1, the share of periods ending with no backorder), demand
  N(μ, σ²) per period:

  .. math:: α = Φ\!\left(\frac{S − μ(L+1)}{σ\sqrt{L+1}}\right)

* fill rate (Type 2), from the expected backorders at the end and at the start of a period, with
  the standard normal loss function G(z) = φ(z) − z(1 − Φ(z)):

  .. math:: β = 1 − \frac{σ\sqrt{L+1}\,G(z) − σ\sqrt{L}\,G(z_L)}{μ},\quad
            z = \frac{S − μ(L+1)}{σ\sqrt{L+1}},\; z_L = \frac{S − μL}{σ\sqrt{L}}

* base stock for a target α with a random lead time (mean L, sd σ_L) and demand sd σ_D
  (Silver, Pyke & Thomas 2017, *Inventory and Production Management in Supply Chains*, 4th ed.,
  eq. 6.6 with the review period added to the lead time) — an approximation, exact only for normal
  demand and constant L:

  .. math:: S = μ(L+1) + z_α\sqrt{(L+1)σ_D^2 + μ^2σ_L^2}

* (r, Q) reviewed every period, integer demand (Hadley & Whitin 1963; Axsäter 2015, §5.5): the
  inventory position after ordering is uniform on r+1..r+Q, so

  .. math:: α = \frac1Q\sum_{y=r+1}^{r+Q} F_{L+1}(y)

  with F_{L+1} the distribution function of the demand of L + 1 periods;
* economic order quantity (Harris 1913): Q* = √(2KD/h).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = [
    "normal_loss",
    "base_stock_csl_normal",
    "base_stock_fill_rate_normal",
    "base_stock_normal_approximation",
    "rq_csl",
    "eoq",
    "demand_per_period",
]


def normal_loss(z):
    """Standard normal loss function G(z) = E[(Z − z)⁺] = φ(z) − z(1 − Φ(z))."""
    z = np.asarray(z, dtype=float)
    return stats.norm.pdf(z) - z * stats.norm.sf(z)


def base_stock_csl_normal(S: float, mu: float, sigma: float, L: int) -> float:
    """P(no backorder at the end of a period) with base stock S, N(μ, σ²) demand, lead time L periods."""
    return float(stats.norm.cdf((S - mu * (L + 1)) / (sigma * math.sqrt(L + 1))))


def base_stock_fill_rate_normal(S: float, mu: float, sigma: float, L: int) -> float:
    """Share of demand met from stock: 1 − [σ√(L+1)·G(z) − σ√L·G(z_L)]/μ."""
    z = (S - mu * (L + 1)) / (sigma * math.sqrt(L + 1))
    end = sigma * math.sqrt(L + 1) * float(normal_loss(z))
    start = (
        0.0 if L == 0 else sigma * math.sqrt(L) * float(normal_loss((S - mu * L) / (sigma * math.sqrt(L))))
    )
    return 1.0 - (end - start) / mu


def base_stock_normal_approximation(
    mu: float, sigma_d: float, lead: float, sigma_lead: float, target: float
) -> float:
    """S = μ(L+1) + z·√((L+1)σ_D² + μ²σ_L²), z = Φ⁻¹(target) [units]."""
    z = float(stats.norm.ppf(target))
    return mu * (lead + 1) + z * math.sqrt(max((lead + 1) * sigma_d**2 + mu**2 * sigma_lead**2, 0.0))


def rq_csl(r: int, Q: int, cdf) -> float:
    """(1/Q)·Σ_{y=r+1}^{r+Q} F(y), ``cdf`` the distribution function of the demand over L + 1 periods."""
    y = np.arange(r + 1, r + Q + 1)
    return float(np.mean(cdf(y)))


def eoq(order_cost: float, demand_per_period: float, holding_per_unit_period: float) -> float:
    """Economic order quantity √(2KD/h) (Harris 1913), per period units throughout."""
    if order_cost <= 0 or demand_per_period <= 0 or holding_per_unit_period <= 0:
        return 0.0
    return math.sqrt(2.0 * order_cost * demand_per_period / holding_per_unit_period)


def demand_per_period(item, batches, horizon: int) -> tuple[float, float]:
    """Mean and sd of an item's requirement per period [units]: independent demand plus a compound
    batch process (batches per period N, units per batch X independent of N):
    Var = E[N]·Var[X] + Var[N]·E[X]², with Var[N] = E[N] for Poisson starts and the variance of
    the planned counts over the horizon for a fixed or calendar schedule."""
    mu, var = float(item.demand_mean), float(item.demand_sd) ** 2
    if item.demand_dist == "poisson":
        var = float(item.demand_mean)
    if batches is not None and item.batch_driven:
        ex, ex2 = item.usage_moments()
        n = batches.expected_per_period(horizon)
        en = float(n.mean())
        vn = en if batches.kind == "poisson" else float(n.var())
        mu += en * ex
        var += en * (ex2 - ex * ex) + vn * ex * ex
    return mu, math.sqrt(max(var, 0.0))
