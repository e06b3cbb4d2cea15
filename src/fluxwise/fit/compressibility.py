r"""Power laws of pressure fitted over several trials: cake compressibility and medium resistance.

``y = y_ref·(ΔP/ΔP_ref)^s`` is a straight line in logs, ``ln y = ln y_ref + s·ln(ΔP/ΔP_ref)``, fitted by
ordinary least squares over at least three distinct pressures (two points always fit a line exactly
and leave nothing to judge the law by). 95 % intervals use Student's t with n − 2 degrees of freedom
(Draper & Smith 1998, *Applied Regression Analysis*, 3rd ed., §1.4): the exponent's from the slope's
standard error, y_ref's from the intercept's, taken through exp (so its interval is not symmetric).
The default reference pressure is the geometric mean of the pressures tested, where the intercept and
slope estimates are uncorrelated and y_ref is known best; a user's reference is used as given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import InputError

__all__ = ["PowerLawFit", "fit_power_law", "MIN_PRESSURES"]

MIN_PRESSURES = 3


@dataclass(frozen=True)
class PowerLawFit:
    """``value_ref·(ΔP/reference_pressure_bar)^exponent`` with 95 % intervals.

    ``quantity`` names what was fitted (``alpha_m_per_kg``); ``value_ref`` carries its unit;
    ``pressure_range_bar`` is the range tested (the law is not used outside it).
    """

    quantity: str
    value_ref: float
    value_ref_ci95: tuple[float, float]
    exponent: float
    exponent_ci95: tuple[float, float]
    reference_pressure_bar: float
    pressure_range_bar: tuple[float, float]
    n: int
    r2: float

    def at(self, pressure_bar):
        """The fitted law at ``pressure_bar`` [bar]."""
        return self.value_ref * (np.asarray(pressure_bar,
                                            float) / self.reference_pressure_bar) ** self.exponent

    def to_dict(self) -> dict:
        return {"quantity": self.quantity, "value_ref": self.value_ref,
                "value_ref_ci95": list(self.value_ref_ci95),
                "exponent": self.exponent, "exponent_ci95": list(self.exponent_ci95),
                "reference_pressure_bar": self.reference_pressure_bar,
                "pressure_range_bar": list(self.pressure_range_bar), "n": self.n, "r2": self.r2}

    @classmethod
    def from_dict(cls, d: dict) -> PowerLawFit:
        return cls(quantity=str(d["quantity"]), value_ref=float(d["value_ref"]),
                   value_ref_ci95=tuple(float(x) for x in d["value_ref_ci95"]), exponent=float(d["exponent"]),
                   exponent_ci95=tuple(float(x) for x in d["exponent_ci95"]),
                   reference_pressure_bar=float(d["reference_pressure_bar"]),
                   pressure_range_bar=tuple(float(x) for x in d["pressure_range_bar"]), n=int(d["n"]),
                   r2=float(d["r2"]))


def fit_power_law(pressure_bar, values, *, quantity: str, reference_pressure_bar: float | None = None
                  ) -> PowerLawFit:
    """Fit ``values = value_ref·(pressure/reference)^exponent`` by least squares of the logs.

    Parameters
    ----------
    pressure_bar : array_like  Pressures [bar], > 0, at least three distinct.
    values : array_like  The quantity at each pressure (alpha [m/kg], Rm [1/m]), > 0.
    quantity : str  Its name with unit, for messages and JSON.
    reference_pressure_bar : float, optional  ΔP_ref [bar]; default the geometric mean of the pressures.
    """
    p = np.asarray(pressure_bar, float)
    y = np.asarray(values, float)
    if p.shape != y.shape or p.ndim != 1:
        raise InputError("one value per pressure is needed", field=quantity)
    if not (np.all(np.isfinite(p)) and np.all(p > 0) and np.all(np.isfinite(y)) and np.all(y > 0)):
        raise InputError(f"pressures and {quantity} must be positive numbers", field=quantity)
    distinct = np.unique(np.round(p, 12))
    if distinct.size < MIN_PRESSURES:
        raise InputError(f"a power law in pressure needs trials at {MIN_PRESSURES} or more different "
                         f"pressures (got {distinct.size}: {', '.join(f'{x:g} bar' for x in distinct)})",
                         field=quantity)
    p_ref = (float(np.exp(np.mean(np.log(p)))) if reference_pressure_bar is None
             else float(reference_pressure_bar))
    if not p_ref > 0:
        raise InputError(f"the reference pressure must be positive, got {reference_pressure_bar}",
                         field="reference-pressure")
    x = np.log(p / p_ref)
    ly = np.log(y)
    n = p.size
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (ly - ly.mean())) / sxx)
    intercept = float(ly.mean() - slope * xm)
    resid = ly - (intercept + slope * x)
    sse = float(resid @ resid)
    dof = n - 2
    s2 = sse / dof
    se_slope = np.sqrt(s2 / sxx)
    se_int = np.sqrt(s2 * (1.0 / n + xm ** 2 / sxx))
    tq = float(stats.t.ppf(0.975, dof))
    sst = float(np.sum((ly - ly.mean()) ** 2))
    return PowerLawFit(quantity=quantity, value_ref=float(np.exp(intercept)),
                       value_ref_ci95=(float(np.exp(intercept - tq * se_int)),
                                       float(np.exp(intercept + tq * se_int))),
                       exponent=slope, exponent_ci95=(slope - tq * se_slope, slope + tq * se_slope),
                       reference_pressure_bar=p_ref, pressure_range_bar=(float(p.min()), float(p.max())), n=n,
                       r2=1.0 - sse / sst if sst > 0 else 1.0)
