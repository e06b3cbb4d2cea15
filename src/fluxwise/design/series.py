r"""Two filters in series sized together: the area ratio that minimises filter cost per batch.

Each filter i has a fitted resistance law ρ_i(v) = ρ_i0·r_i(v) [bar/LMH] in its own throughput
v = V/A_i (:mod:`fluxwise.fit.series`; ρ_i0 = P0_i/J0_i of its constant-flux fit). Both carry the
whole flow Q, so for a batch Vb on areas A1, A2:

* at constant flow Q = Vb/tb (constant flux) the pressure rises to
  ``P(Vb) = Q·(ρ1(Vb/A1)/A1 + ρ2(Vb/A2)/A2)``, which must stay at or below Pmax;
* at constant pressure P the flow falls as Q = P/(ρ1/A1 + ρ2/A2), and the batch takes
  ``t(Vb) = (I1(Vb/A1) + I2(Vb/A2))/P`` with I_i(v) = ∫₀^v ρ_i du = P0_i·t_i(v) (t_i the model's
  time-to-throughput at its reference flux), which must stay within tb.

Both limits fall as either area grows. Two identical filters at 1:1 therefore behave like one filter
at half the pressure (each takes half of it).

Cost per batch ``c1·SF1·A1 + c2·SF2·A2`` (c_i price per m² of filter i's formats, SF_i its safety
factor) is minimised over the ratio x = A1/A2 — for each x the smallest scale meeting the limit is a
monotone root (Brent 1973) — by a grid in ln x then bounded scalar minimisation (continuous
optimisation). For pure cakes with negligible clean resistance the constraint is Σ K_i/A_i² = const
and the Lagrange condition gives A1/A2 = (K1·c2/(K2·c1))^(1/3). The installed filters are then found
by listing every pair of formats and unit counts within their maximum counts, re-checking the limit
with each filter's area over its safety factor, and taking the cheapest pair that meets it.

Assumption: resizing keeps each filter's r_i(V_i) as the trial showed it — the final filter's fouling
is taken not to depend on how loaded the prefilter is or on the flux; a ratio far from the trial's
(beyond 2x either way) changes what reaches the final filter, so the result says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..errors import DesignError, InputError
from ..models.fouling import MODELS, resistance_ratio, time_to_throughput
from .catalog import FilterFormat
from .sizing import DEFAULT_SAFETY_FACTOR

__all__ = ["SeriesStage", "series_limit", "areas_at_ratio", "optimal_ratio", "choose_series_formats",
           "size_series", "RATIO_WARNING_FACTOR", "ASSUMPTION"]

RATIO_WARNING_FACTOR = 2.0
ASSUMPTION = ("resizing keeps each filter's resistance r_i(V_i) as the trial showed it: the final filter's "
              "fouling is assumed not to depend on how loaded the prefilter is or on the flux")
_RATIO_RANGE = (1e-3, 1e3)


@dataclass(frozen=True)
class SeriesStage:
    """One filter of the pair: its fitted law (constant-flux parameters ``J0_LMH`` = reference flux,
    ``P0_bar`` and the model's constants), safety factor and candidate formats."""

    name: str
    model: str
    params: dict
    safety_factor: float = DEFAULT_SAFETY_FACTOR
    formats: tuple[FilterFormat, ...] = ()

    def _args(self):
        j0 = float(self.params["J0_LMH"])
        return j0, tuple(float(self.params[p]) for p in MODELS[self.model].params)

    def rho(self, v):
        """Specific resistance ρ(v) = ΔP/J [bar/LMH] after throughput v [L/m²] (inf beyond capacity)."""
        j0, k = self._args()
        return float(self.params["P0_bar"]) / j0 * resistance_ratio(self.model, v, j0, *k)

    def rho_integral(self, v):
        """I(v) = ∫₀^v ρ du [bar·h]: P0·t_model(v)."""
        j0, k = self._args()
        return float(self.params["P0_bar"]) * time_to_throughput(self.model, v, j0, *k)


def series_limit(stages, area1_m2, area2_m2, batch_volume_L: float, *, mode: str,
                 flow_L_per_h: float | None = None,
                 pressure_bar: float | None = None):
    """The pressure [bar] at the end of the batch at constant flow, or the time [h] it takes at
    constant pressure, on areas A1, A2 [m²] (arrays broadcast); inf beyond a filter's capacity."""
    a1, a2 = np.asarray(area1_m2, float), np.asarray(area2_m2, float)
    s1, s2 = stages
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if mode == "constant-flux":
            value = flow_L_per_h * (s1.rho(batch_volume_L / a1) / a1 + s2.rho(batch_volume_L / a2) / a2)
        else:
            value = (s1.rho_integral(batch_volume_L / a1)
                     + s2.rho_integral(batch_volume_L / a2)) / pressure_bar
    return np.where(np.isfinite(value), value, np.inf)


def _limit_args(mode, batch_volume_L, process_time_h, max_pressure_bar, pressure_bar):
    if mode == "constant-flux":
        if process_time_h is None or max_pressure_bar is None:
            raise InputError("filters in series at constant flow need the process time (the flow is Vb/t) "
                             "and the maximum pressure",
                             field="max-pressure" if process_time_h else "process-time")
        return {"flow_L_per_h": batch_volume_L / process_time_h}, max_pressure_bar
    if process_time_h is None or pressure_bar is None:
        raise InputError("filters in series at constant pressure need the process time and the pressure",
                         field="pressure" if process_time_h else "process-time")
    return {"pressure_bar": pressure_bar}, process_time_h


def areas_at_ratio(stages, ratio: float, batch_volume_L: float, *, mode: str, limit: float, **kw):
    """(A1, A2) [m²] with A1/A2 = ``ratio`` that just meet the limit (series_limit = limit)."""
    def excess(log_scale):
        s = math.exp(log_scale)
        return float(np.log(series_limit(stages, ratio * s, s, batch_volume_L, mode=mode, **kw) / limit))

    lo = hi = math.log(batch_volume_L / 1000.0 + 1e-12)
    for _ in range(400):  # a scale too small (limit exceeded) and one large enough
        if excess(lo) > 0:
            break
        lo -= 1.0
    for _ in range(400):
        if excess(hi) < 0:
            break
        hi += 1.0
    else:
        # not reached: the limit falls to 0 as the areas grow
        raise DesignError("no areas meet the limit at this ratio")
    s = math.exp(optimize.brentq(excess, lo, hi, xtol=1e-13, rtol=1e-13, maxiter=500))
    return ratio * s, s


def optimal_ratio(stages, batch_volume_L: float, *, mode: str, limit: float, prices_per_m2, **kw) -> dict:
    """The area ratio A1/A2 minimising c1·SF1·A1 + c2·SF2·A2 subject to the limit (continuous)."""
    c1 = prices_per_m2[0] * stages[0].safety_factor
    c2 = prices_per_m2[1] * stages[1].safety_factor

    def cost(log_ratio):
        a1, a2 = areas_at_ratio(stages, math.exp(log_ratio), batch_volume_L, mode=mode, limit=limit, **kw)
        return c1 * a1 + c2 * a2

    grid = np.linspace(math.log(_RATIO_RANGE[0]), math.log(_RATIO_RANGE[1]), 121)
    values = [cost(x) for x in grid]
    i = int(np.argmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = optimize.minimize_scalar(cost, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    x = float(res.x) if res.fun <= values[i] else float(grid[i])
    a1, a2 = areas_at_ratio(stages, math.exp(x), batch_volume_L, mode=mode, limit=limit, **kw)
    return {"ratio": a1 / a2, "areas_m2": (a1, a2), "cost_rate_usd": c1 * a1 + c2 * a2,
            "at_edge": i in (0, grid.size - 1)}


def choose_series_formats(stages, batch_volume_L: float, *, mode: str, limit: float, **kw) -> list[dict]:
    """Every pair of formats and counts that meets the limit (each filter's installed area over its
    safety factor), cheapest first (then least installed area); the best of each format pair."""
    s1, s2 = stages
    found = []
    for f1 in s1.formats:
        n1 = np.arange(1, f1.max_count + 1)[:, None]
        for f2 in s2.formats:
            n2 = np.arange(1, f2.max_count + 1)[None, :]
            value = series_limit(stages, n1 * f1.area_m2 / s1.safety_factor,
                                 n2 * f2.area_m2 / s2.safety_factor,
                                 batch_volume_L, mode=mode, **kw)
            ok = value <= limit * (1 + 1e-12)
            if not ok.any():
                continue
            cost = n1 * f1.price_usd + n2 * f2.price_usd
            area = n1 * f1.area_m2 + n2 * f2.area_m2
            key = np.where(ok, cost + area * 1e-9, np.inf)  # cheapest, then least area
            i, j = np.unravel_index(int(np.argmin(key)), key.shape)
            found.append({"formats": (f1, f2), "counts": (int(n1[i, 0]), int(n2[0, j])),
                          "cost_usd": float(cost[i, j]), "installed_area_m2": float(area[i, j]),
                          "limit_value": float(value[i, j])})
    found.sort(key=lambda c: (c["cost_usd"], c["installed_area_m2"], c["formats"][0].name,
                              c["formats"][1].name))
    return found


def _price_per_m2(formats) -> float:
    priced = [f.price_usd / f.area_m2 for f in formats if f.price_usd > 0]
    return min(priced) if priced else 0.0


def size_series(stages, *, mode: str, batch_volume_L: float, process_time_h: float | None = None,
                max_pressure_bar: float | None = None, pressure_bar: float | None = None,
                ratio: float | None = None, trial_area_ratio: float | None = None,
                trial_max_loading_L_per_m2=None) -> dict:
    """Size both filters for a batch: continuous optimum (or a fixed ``ratio``), then formats.

    Parameters
    ----------
    stages : (SeriesStage, SeriesStage)  Prefilter and final filter, each with its formats.
    mode : str  ``constant-flux`` (flow Vb/tb, limit ``max_pressure_bar``) or ``constant-pressure``
        (at ``pressure_bar``, limit ``process_time_h``).
    ratio : float, optional  Fix A1/A2 instead of optimising it.
    trial_area_ratio : float, optional  A1/A2 of the trial, for the 2x warning.
    trial_max_loading_L_per_m2 : (float, float), optional  Each filter's last loading in the trial.

    Returns
    -------
    dict  The JSON of ``fluxwise series --json``'s ``sizing``.
    """
    if batch_volume_L is None or not batch_volume_L > 0:
        raise InputError(f"batch volume must be positive, got {batch_volume_L}", field="batch-volume")
    for s in stages:
        if not (s.safety_factor >= 1 and math.isfinite(s.safety_factor)):
            raise InputError(f"safety factor must be at least 1, got {s.safety_factor}",
                             field=f"{s.name.replace(' ', '-')}-safety-factor")
        if not s.formats:
            raise InputError(f"no formats to choose from for the {s.name}", field="catalog")
    kw, limit = _limit_args(mode, batch_volume_L, process_time_h, max_pressure_bar, pressure_bar)
    prices = (_price_per_m2(stages[0].formats), _price_per_m2(stages[1].formats))
    notes = []
    if prices[0] == 0 and prices[1] == 0:
        prices = (1.0, 1.0)
        notes.append("the formats carry no prices: the ratio minimises installed area instead of cost")
    if ratio is not None:
        if not (ratio > 0 and math.isfinite(ratio)):
            raise InputError(f"the area ratio must be positive, got {ratio}", field="ratio")
        a1, a2 = areas_at_ratio(stages, ratio, batch_volume_L, mode=mode, limit=limit, **kw)
        continuous = {"ratio": ratio, "areas_m2": (a1, a2),
                      "cost_rate_usd": prices[0] * stages[0].safety_factor * a1
                      + prices[1] * stages[1].safety_factor * a2, "at_edge": False, "fixed": True}
    else:
        continuous = {**optimal_ratio(stages, batch_volume_L, mode=mode, limit=limit, prices_per_m2=prices,
                                      **kw),
                      "fixed": False}
        if continuous["at_edge"]:
            notes.append("the cheapest ratio lies at the edge of the range searched (1:1000 to 1000:1): one "
                         "filter does almost all the work")
    pairs = choose_series_formats(stages, batch_volume_L, mode=mode, limit=limit, **kw)
    if not pairs:
        raise DesignError("no pair of catalog formats within their maximum counts meets the limit: split the "
                          "batch over parallel trains, add larger formats, or relax the limit")
    best = pairs[0]
    warnings = []
    installed_areas = [n * f.area_m2 for n, f in zip(best["counts"], best["formats"], strict=True)]
    installed_ratio = installed_areas[0] / installed_areas[1]
    if trial_area_ratio:
        ratios = (("cost-optimal", continuous["ratio"]), ("installed", installed_ratio))
        far = [(label, r) for label, r in ratios
               if max(r / trial_area_ratio, trial_area_ratio / r) > RATIO_WARNING_FACTOR]
        if far:
            listed = " and ".join(f"{label} {r:.3g}" for label, r in far)
            warnings.append(f"the area ratio A1/A2 ({listed}) is more than {RATIO_WARNING_FACTOR:g}x from "
                            f"the trial's {trial_area_ratio:.3g}: the resizing keeps each filter's fouling "
                            "as in the trial, but at another ratio the final filter may see a different "
                            "feed; confirm with a trial at about that ratio")
    stage_out = []
    for i, s in enumerate(stages):
        f, n = best["formats"][i], best["counts"][i]
        a_min = continuous["areas_m2"][i]
        installed = n * f.area_m2
        v_design = batch_volume_L / (installed / s.safety_factor)
        entry = {"name": s.name, "model": s.model, "params": dict(s.params), "safety_factor": s.safety_factor,
                 "min_area_m2": a_min, "required_area_m2": a_min * s.safety_factor,
                 "format": {"name": f.name, "kind": f.kind, "area_m2": f.area_m2, "count": n,
                            "installed_area_m2": installed, "price_usd": f.price_usd * n,
                            "plastic_kg": f.plastic_kg * n, "hold_up_mL": f.hold_up_mL * n},
                 "design_loading_L_per_m2": v_design, "price_per_m2_usd": prices[i]}
        if trial_max_loading_L_per_m2 is not None:
            v_trial = trial_max_loading_L_per_m2[i]
            entry["trial_max_loading_L_per_m2"] = v_trial
            if v_design > v_trial * (1 + 1e-9):
                warnings.append(f"the {s.name} is loaded to {v_design:.4g} L/m², {v_design / v_trial:.3g}x "
                                f"the {v_trial:.4g} L/m² of the trial: its law is extrapolated; run the "
                                "trial longer or install more area")
        stage_out.append(entry)
    limit_name = "final_pressure_bar" if mode == "constant-flux" else "process_time_h_needed"
    on_installed = float(series_limit(stages, installed_areas[0], installed_areas[1], batch_volume_L,
                                      mode=mode, **kw))
    return {"mode": mode, "batch_volume_L": batch_volume_L, "process_time_h": process_time_h,
            "max_pressure_bar": max_pressure_bar if mode == "constant-flux" else None,
            "pressure_bar": pressure_bar if mode == "constant-pressure" else None,
            "flow_L_per_h": kw.get("flow_L_per_h"), "stages": stage_out,
            "area_ratio_cost_optimal": continuous["ratio"], "ratio_fixed": continuous["fixed"],
            "area_ratio_installed": installed_ratio, "trial_area_ratio": trial_area_ratio,
            "cost_per_batch_usd": best["cost_usd"], limit_name: best["limit_value"],
            f"{limit_name}_on_installed_area": on_installed,
            "alternatives": [{"formats": [p["formats"][0].name, p["formats"][1].name],
                              "counts": list(p["counts"]),
                              "cost_usd": p["cost_usd"], "installed_area_m2": p["installed_area_m2"]}
                             for p in pairs[1:6]],
            "assumption": ASSUMPTION, "notes": notes, "warnings": warnings}
