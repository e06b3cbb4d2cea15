r"""Tmax: the loading at which the filtrate turbidity passes a limit, combined with the pressure (or time)
limit of a sizing.

Depth filters are sized to whichever endpoint comes first: the pressure limit (or, at constant
pressure, the throughput reached in the process time) or turbidity breakthrough, the loading V_T
[L/m²] at which the *instantaneous* filtrate turbidity first passes the limit (Tmax); clarification
reviews size depth filters on both endpoints (Yavorsky et al. 2003).

* Only readings after the flush volume count (the first filtrate carries fines and is discarded);
  the turbidity at the end of the flush is interpolated between the readings around it.
* V_T is interpolated linearly between the last reading at or below the limit and the first above
  it, never extrapolated: when no reading passes the limit, V_T is "beyond the trial's maximum
  loading" (``None`` with ``beyond_trial``) and a design loading the filter further than the trial
  is flagged.
* The *pooled* turbidity (of all filtrate collected after the flush, ∫NTU dV/ΔV) lags the
  instantaneous one and passes the limit later; it is reported for comparison, never used — a
  filter sized on it would let turbid filtrate through well before the pool says so.
* Turbidity breakthrough depends on flux; it is measured at the trial's flux, so a process flux far
  from it is flagged.

References
----------
Yavorsky, D., Blanck, R., Lambalot, C., Brunkow, R. (2003). The clarification of bioreactor cell
cultures for biopharmaceuticals. Pharm. Technol. 27(3):62-76.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.integrate import cumulative_trapezoid

from ..errors import InputError
from ..models.fouling import MODELS, resistance_ratio
from .catalog import choose_format, format_options

__all__ = ["turbidity_breakthrough", "pooled_turbidity", "combine_with_turbidity", "FLUX_TOLERANCE"]

#: Relative difference between process and trial flux beyond which the breakthrough is flagged.
FLUX_TOLERANCE = 0.10


def _first_crossing(v, y, limit):
    """Loading where y first passes ``limit`` (y > limit), linearly interpolated; None if never."""
    above = np.flatnonzero(y > limit)
    if above.size == 0:
        return None
    i = int(above[0])
    if i == 0:
        return float(v[0])
    v0, v1, y0, y1 = v[i - 1], v[i], y[i - 1], y[i]
    return float(v0 + (limit - y0) * (v1 - v0) / (y1 - y0))


def _after_flush(v, ntu, flush):
    """Readings from the end of the flush on, the turbidity at the flush interpolated between readings."""
    if flush <= v[0]:
        return v, ntu
    if flush > v[-1]:
        raise InputError(f"the flush volume {flush:.4g} L/m² is beyond the last turbidity reading at "
                         f"{v[-1]:.4g} L/m²", field="turbidity-flush")
    keep = v > flush
    at = float(np.interp(flush, v, ntu))
    return np.concatenate([[flush], v[keep]]), np.concatenate([[at], ntu[keep]])


def pooled_turbidity(v_L_per_m2, ntu):
    """Turbidity of all filtrate collected from the first reading to each reading [NTU]:
    ∫NTU dV/(V − V₀), trapezoidal; the first point is the first reading itself."""
    v = np.asarray(v_L_per_m2, float)
    y = np.asarray(ntu, float)
    integral = cumulative_trapezoid(y, v, initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.where(v > v[0], integral / (v - v[0]), y[0])
    return pooled


def turbidity_breakthrough(v_L_per_m2, ntu, limit_NTU: float, *, flush_L_per_m2: float = 0.0) -> dict:
    """V_T [L/m²]: where the instantaneous filtrate turbidity first passes ``limit_NTU`` after the flush.

    Parameters
    ----------
    v_L_per_m2 : array_like  Throughput of each reading [L/m²], non-decreasing.
    ntu : array_like  Filtrate turbidity [NTU]; NaN where a row has no reading.
    limit_NTU : float  The turbidity limit [NTU].
    flush_L_per_m2 : float  Loading flushed to waste before the filtrate counts [L/m²].

    Returns
    -------
    dict  ``breakthrough_L_per_m2`` (None when the limit is not passed within the data),
    ``beyond_trial``, ``trial_max_loading_L_per_m2`` (last turbidity reading),
    ``pooled_breakthrough_L_per_m2`` (for comparison; None if not passed), ``limit_NTU``,
    ``flush_L_per_m2``, ``readings``, ``warnings``.
    """
    v = np.asarray(v_L_per_m2, float)
    y = np.asarray(ntu, float)
    ok = np.isfinite(v) & np.isfinite(y)
    v, y = v[ok], y[ok]
    if v.size < 2:
        raise InputError(f"the turbidity column has {v.size} reading(s); at least 2 are needed",
                         field="turbidity")
    if np.any(np.diff(v) < 0):
        raise InputError("turbidity readings must come in order of loading", field="turbidity")
    flush = float(flush_L_per_m2 or 0.0)
    if flush < 0:
        raise InputError(f"the flush volume must be 0 or more, got {flush_L_per_m2}", field="turbidity-flush")
    vf, yf = _after_flush(v, y, flush)
    warnings = []
    vt = _first_crossing(vf, yf, limit_NTU)
    if vt is not None and vt == vf[0]:
        warnings.append(f"the filtrate is already above {limit_NTU:g} NTU at the end of the flush "
                        f"({vf[0]:.4g} L/m²): a longer flush, a tighter depth filter or a lower flux")
    pooled = _first_crossing(vf, pooled_turbidity(vf, yf), limit_NTU) if vf.size > 1 else None
    return {"limit_NTU": float(limit_NTU), "flush_L_per_m2": flush, "breakthrough_L_per_m2": vt,
            "beyond_trial": vt is None, "trial_max_loading_L_per_m2": float(v[-1]),
            "pooled_breakthrough_L_per_m2": pooled, "readings": int(v.size),
            "basis": "instantaneous filtrate turbidity after the flush, interpolated between readings",
            "warnings": warnings}


def combine_with_turbidity(sizing, tmax: dict, formats, *, format_name: str | None = None,
                           trial_flux_LMH: float | None = None):
    """The sizing with turbidity breakthrough as a second endpoint: the smaller loading governs.

    The other limit is the sizing's loading Vb/A_min (the pressure limit at constant flux, the
    throughput reached in the process time at constant pressure). When turbidity governs, the minimum
    area becomes Vb/V_T; at constant flux the flux is kept and the time and final pressure follow.
    Returns a new :class:`fluxwise.design.sizing.Sizing` with a ``turbidity`` block that names the
    governing limit, and warnings.
    """
    other_name = "pressure" if sizing.mode == "constant-flux" else "process time"
    v_other = sizing.batch_volume_L / sizing.min_area_m2
    vt = tmax["breakthrough_L_per_m2"]
    warnings = list(tmax.get("warnings", ()))
    block = {k: v for k, v in tmax.items() if k != "warnings"}
    block[f"{other_name.replace(' ', '_')}_limit_loading_L_per_m2"] = v_other
    extra = dict(sizing.extra)
    process_time = sizing.process_time_h
    if vt is not None and vt < v_other:
        governing = "turbidity"
        area = sizing.batch_volume_L / vt
        statement = (f"turbidity governs: the filtrate passes {tmax['limit_NTU']:g} NTU at {vt:.4g} L/m², "
                     f"before the {other_name} limit at {v_other:.4g} L/m²")
        if sizing.mode == "constant-flux" and "flux_LMH" in extra:
            j = extra["flux_LMH"]
            process_time = vt / j
            extra["process_time_h"] = process_time
            if "P0_bar" in sizing.params and sizing.model in MODELS:
                k = tuple(float(sizing.params[p]) for p in MODELS[sizing.model].params)
                j_t = float(sizing.params["J0_LMH"])
                extra["final_pressure_bar"] = float(sizing.params["P0_bar"] * j / j_t
                                                    * resistance_ratio(sizing.model, vt, j_t, *k))
    else:
        governing = other_name
        area = sizing.min_area_m2
        if vt is None:
            statement = (f"the {other_name} limit governs ({v_other:.4g} L/m²): the filtrate stayed below "
                         f"{tmax['limit_NTU']:g} NTU up to the trial's last reading "
                         f"({tmax['trial_max_loading_L_per_m2']:.4g} L/m²)")
            if v_other > tmax["trial_max_loading_L_per_m2"]:
                warnings.append(f"the design loads the filter to {v_other:.4g} L/m², beyond the trial's last "
                                f"turbidity reading at {tmax['trial_max_loading_L_per_m2']:.4g} L/m²: "
                                "turbidity there is unknown; run the trial further or size to that loading")
        else:
            statement = (f"the {other_name} limit governs: it is reached at {v_other:.4g} L/m², before the "
                         f"filtrate passes {tmax['limit_NTU']:g} NTU at {vt:.4g} L/m²")
    block.update(governing=governing, statement=statement)
    j_process = extra.get("flux_LMH")
    if trial_flux_LMH and j_process and abs(j_process / trial_flux_LMH - 1) > FLUX_TOLERANCE:
        warnings.append(f"turbidity breakthrough was measured at the trial's flux {trial_flux_LMH:.4g} LMH; "
                        f"the process runs at {j_process:.4g} LMH: breakthrough depends on flux, confirm it "
                        "with a trial at the process flux")
    installed = area * sizing.safety_factor
    choice = choose_format(formats, installed, name=format_name)
    return dataclasses.replace(sizing, min_area_m2=area, process_time_h=process_time, extra=extra,
                               choice=choice, options=tuple(format_options(formats, installed)[:5]),
                               turbidity=block,
                               warnings=tuple(sizing.warnings) + tuple(warnings))
