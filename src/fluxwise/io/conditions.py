"""Conditions of a trial that cake properties need — pressure, viscosity, cake solids — from options, the
metadata lines above the table (``Pressure: 46.2 kPa``, ``Viscosity: 0.8937 mPa s``,
``Solids: 23.47 kg/m3``) or, for the pressure, the trial's pressure column.

Order: an option wins; then, for the pressure of a constant-pressure trial, the median of its pressure
column; then the metadata line. The solids are the dry cake solids per filtrate volume [kg/m³ = g/L],
not a packed cell volume.
"""

from __future__ import annotations

import re

import numpy as np

from ..design.cake import CakeConditions
from ..errors import InputError
from ..trial import CONSTANT_PRESSURE, Trial
from .tables import metadata_quantity

__all__ = ["trial_conditions", "series_areas"]

_PRESSURE = re.compile(r"\bpressure\b|^dp$|^tmp$|\bdelta ?p\b|\bdruck\b")
_VISCOSITY = re.compile(r"\bviscosity\b|\bviskosit")
_SOLIDS = re.compile(r"\bsolids?\b|\bfeststoff")


def _quantity(value, kind, option, trial: Trial, pattern, unit):
    return metadata_quantity(value, kind, option, trial.meta.get("file_meta") or {}, pattern,
                             source=trial.source, default_unit=unit)


def trial_conditions(trial: Trial, *, pressure=None, viscosity=None, solids=None,
                     need_pressure: bool = True) -> CakeConditions:
    """The conditions of ``trial`` (options as quantities with units, e.g. ``"0.89 mPa s"``).

    Raises :class:`InputError` naming the option to give when a value is found nowhere.
    """
    sources = {}
    p, src = _quantity(pressure, "pressure", "--pressure", trial, _PRESSURE, "bar")
    if pressure is None and trial.mode == CONSTANT_PRESSURE and trial.pressure_bar is not None:
        col = trial.pressure_bar[np.isfinite(trial.pressure_bar)]
        if col.size:
            p, src = float(np.median(col)), "pressure column (median)"
    if p is not None:
        sources["pressure_bar"] = src
    elif need_pressure and trial.mode == CONSTANT_PRESSURE:
        raise InputError("no pressure for the cake properties: a pressure column, a line 'Pressure: 0.5 bar' "
                         "above the table, or --pressure", source=trial.source, field="--pressure")
    mu, src = _quantity(viscosity, "viscosity", "--viscosity", trial, _VISCOSITY, "mPa*s")
    if mu is None:
        raise InputError("no filtrate viscosity: a line 'Viscosity: 0.89 mPa s' above the table, or "
                         "--viscosity (water: 0.89 mPa s at 25 °C)", source=trial.source, field="--viscosity")
    sources["viscosity_mPa_s"] = src
    c, src = _quantity(solids, "concentration", "--solids", trial, _SOLIDS, "g/L")
    if c is None:
        raise InputError("no cake solids: dry solids per filtrate volume as a line 'Solids: 23.5 kg/m3' "
                         "above the table, or --solids (not a packed cell volume)", source=trial.source,
                         field="--solids")
    sources["solids_g_per_L"] = src
    return CakeConditions(pressure_bar=p, viscosity_mPa_s=mu, solids_g_per_L=c, sources=sources)


_PREFILTER_AREA = re.compile(r"\bpre ?filter\b.*\barea\b|\barea\b.*\bpre ?filter\b|"
                             r"\bfirst filter\b.*\barea\b|\bfilter 1\b.*\barea\b|^area 1$|^a1$")
_FINAL_AREA = re.compile(r"\bfinal filter\b.*\barea\b|\barea\b.*\bfinal filter\b|\bsecond filter\b.*\barea\b|"
                         r"\bfilter 2\b.*\barea\b|^area 2$|^a2$")
_PLAIN_AREA = re.compile(r"^(filter )?area$")


def series_areas(file_meta: dict, *, prefilter_area=None, filter_area=None, source: str = "<memory>"
                 ) -> tuple[float, float]:
    """The areas [m²] of the prefilter and the final filter of a series trial: options (``"3.5 cm2"``),
    else metadata lines ``Prefilter area: ...`` and ``Final filter area: ...`` (a plain ``Filter area``
    line is the final filter's when a prefilter line is there too)."""
    meta = file_meta or {}
    a1, _ = metadata_quantity(prefilter_area, "area", "--prefilter-area", meta, _PREFILTER_AREA,
                              source=source, default_unit="m**2")
    a2, _ = metadata_quantity(filter_area, "area", "--filter-area", meta, _FINAL_AREA, source=source,
                              default_unit="m**2")
    if a2 is None and a1 is not None and filter_area is None:
        a2, _ = metadata_quantity(None, "area", "--filter-area", meta, _PLAIN_AREA, source=source,
                                  default_unit="m**2")
    for value, option, line in ((a1, "--prefilter-area", "Prefilter area"),
                                (a2, "--filter-area", "Final filter area")):
        if value is None:
            raise InputError(f"filters in series need both areas: give {option} (e.g. \"3.5 cm2\") or a line "
                             f"'{line}: 3.5 cm2' above the table", source=source, field=option)
    return a1, a2
