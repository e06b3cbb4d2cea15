"""Filters in series: a series trial (P1, P2 and filtrate) -> the fits of both filters -> their sizing."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..design.sizing import DEFAULT_SAFETY_FACTOR
from ..errors import InputError
from ..trial import CONSTANT_PRESSURE, Trial
from ..units import parse_quantity
from .trials import load_trial

__all__ = ["SeriesAnalysis", "load_series_trial", "series_analysis"]


@dataclass(frozen=True)
class SeriesAnalysis:
    """A series trial's two fits and (when asked for) the sizing of both filters."""

    fit: object  # fluxwise.fit.series.SeriesFit
    sizing: dict | None = None

    def to_dict(self) -> dict:
        d = self.fit.to_dict()
        if self.sizing is not None:
            d["sizing"] = self.sizing
        return d


def load_series_trial(path, *, prefilter_area=None, filter_area=None, mode=None, density=None, columns=None,
                      sheet=None):
    """Read a series trial (P1, P2 and filtrate; see :mod:`fluxwise.fit.series`); returns the trial (per
    area of the prefilter) and both areas [m²]."""
    from ..io.conditions import series_areas

    trial = load_trial(path, area=1.0, mode=mode, density=density, columns=columns, sheet=sheet)
    a1, a2 = series_areas(trial.meta.get("file_meta") or {}, prefilter_area=prefilter_area,
                          filter_area=filter_area, source=trial.source)
    meta = {**trial.meta, "area_source": "series areas", "series_areas_m2": [a1, a2]}
    trial = dataclasses.replace(trial, v_L_per_m2=trial.volume_L / a1, area_m2=a1, meta=meta)
    return trial, a1, a2


def series_analysis(path_or_trial, *, prefilter_area=None, filter_area=None, read: dict | None = None,
                    models=None, sizing: dict | None = None) -> SeriesAnalysis:
    """Fit both filters of a series trial and, with ``sizing``, size them for a batch.

    ``path_or_trial``: a file (areas from the options or the file) or a :class:`Trial` (its volume per
    area is per ``prefilter_area``; both areas then required as quantities or floats [m²]).
    ``sizing`` keys (quantities with units): ``batch_volume``, ``process_time``, ``max_pressure``
    (constant flux), ``pressure`` (constant pressure; default the trial's median P1 − P_out),
    ``prefilter_safety_factor``, ``filter_safety_factor``, ``prefilter_format``, ``filter_format``,
    ``prefilter_model``, ``filter_model`` (default the best of each), ``ratio`` (fix A1/A2) and ``catalog``.
    """
    from ..design.series import SeriesStage, size_series
    from ..fit.series import fit_series
    from ..io.catalog import read_catalog

    if isinstance(path_or_trial, Trial):
        trial = path_or_trial
        a1 = parse_quantity(prefilter_area, "area", field="--prefilter-area", default_unit="m**2")
        a2 = parse_quantity(filter_area, "area", field="--filter-area", default_unit="m**2")
    else:
        trial, a1, a2 = load_series_trial(path_or_trial, prefilter_area=prefilter_area,
                                          filter_area=filter_area, **(read or {}))
    fit = fit_series(trial, area1_m2=a1, area2_m2=a2, models=models)
    if sizing is None:
        return SeriesAnalysis(fit=fit)
    s = dict(sizing)
    formats = read_catalog(s.get("catalog"))

    def q(key, kind):
        value = s.get(key)
        return None if value is None else parse_quantity(value, kind, field=key.replace("_", "-"))

    def number(key, default):
        value = s.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InputError(f"'{value}' is not a number", field=key.replace("_", "-")) from None

    stages = []
    for i, key in enumerate(("prefilter", "filter")):
        tf = fit.fits[i]
        model = s.get(f"{key}_model") or "best"
        chosen = tf.best if model == "best" else tf.get(model)
        fmt_name = s.get(f"{key}_format")
        cands = tuple(formats)
        if fmt_name:
            cands = tuple(f for f in formats if f.name.lower() == str(fmt_name).lower())
            if not cands:
                raise InputError(f"format '{fmt_name}' is not in the catalog (formats: "
                                 f"{', '.join(f.name for f in formats)})", field=f"{key}-format")
        stages.append(SeriesStage(name=fit.data[i]["name"], model=chosen.name, params=dict(chosen.params),
                                  safety_factor=number(f"{key}_safety_factor", DEFAULT_SAFETY_FACTOR),
                                  formats=cands))
    pressure = q("pressure", "pressure")
    if trial.mode == CONSTANT_PRESSURE and pressure is None:
        pout = trial.signals.get("p_outlet_bar", np.zeros_like(trial.pressure_bar))
        pressure = float(np.nanmedian(trial.pressure_bar - pout))
    ratio = s.get("ratio")
    result = size_series(tuple(stages), mode=trial.mode, batch_volume_L=q("batch_volume", "volume"),
                         process_time_h=q("process_time", "time"),
                         max_pressure_bar=q("max_pressure", "pressure"),
                         pressure_bar=pressure, ratio=None if ratio is None else number("ratio", None),
                         trial_area_ratio=fit.trial_area_ratio,
                         trial_max_loading_L_per_m2=tuple(float(d["v_L_per_m2"][-1]) for d in fit.data))
    return SeriesAnalysis(fit=fit, sizing=result)
