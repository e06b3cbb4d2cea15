"""Read the table of integrity-test specifications by filter type (CSV with ``#`` comments, or YAML).

The shipped table, ``fluxwise/data/integrity_specs.csv``, holds editable planning values; a site gives
its own filters' validated limits in a copy (``--specs FILE``). Errors name the file, the row and the
column.
"""

from __future__ import annotations

import csv
import io as _io
from importlib import resources
from pathlib import Path

import yaml

from ..design.integrity import IntegritySpec
from ..errors import InputError

__all__ = ["read_integrity_specs", "default_integrity_specs_path"]

_NUMBERS = ("min_bubble_point_bar", "surface_tension_mN_per_m", "temperature_c",
            "diffusion_test_pressure_bar", "max_diffusion_mL_per_min", "diffusion_area_m2")
_TEXT = ("name", "filter_type", "wetting_fluid", "source")


def default_integrity_specs_path() -> Path:
    """The spec table shipped with fluxwise (generic planning values by filter type)."""
    return Path(str(resources.files("fluxwise") / "data" / "integrity_specs.csv"))


def read_integrity_specs(path=None) -> list[IntegritySpec]:
    """Integrity specs from a CSV (one row per filter, ``#`` comment lines) or a YAML list of mappings
    (or a mapping with key ``filters``), with the columns of the shipped table: ``name`` (required),
    ``filter_type``, ``min_bubble_point_bar``, ``wetting_fluid``, ``surface_tension_mN_per_m``,
    ``temperature_c``, ``diffusion_test_pressure_bar``, ``max_diffusion_mL_per_min``,
    ``diffusion_area_m2``, ``source``."""
    path = Path(path) if path is not None else default_integrity_specs_path()
    src = str(path)
    if not path.is_file():
        raise InputError("integrity spec table not found", source=src)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML ({exc.__class__.__name__})", source=src) from None
        if isinstance(data, dict):
            data = data.get("filters")
        if not isinstance(data, list):
            raise InputError("expected a list of filters (or a 'filters:' list)", source=src)
        rows, where = [(i + 1, r) for i, r in enumerate(data)], "item"
    elif path.suffix.lower() == ".csv":
        numbered = [(i + 1, line) for i, line in enumerate(text.splitlines())
                    if line.strip() and not line.lstrip().startswith("#")]
        if not numbered:
            raise InputError("the table lists no filters", source=src)
        reader = csv.DictReader(_io.StringIO("\n".join(line for _, line in numbered)), skipinitialspace=True)
        rows = [(numbered[i + 1][0], r) for i, r in enumerate(reader)]
        where = "row"
    else:
        raise InputError("an integrity spec table must be a .csv or .yaml file", source=src)
    specs, seen = [], set()
    for num, rec in rows:
        if not isinstance(rec, dict):
            raise InputError(f"{where} {num}: expected a mapping of spec fields", source=src)
        rec = {str(k).strip(): v for k, v in rec.items() if k is not None and v not in (None, "")}
        unknown = sorted(set(rec) - set(_NUMBERS) - set(_TEXT))
        if unknown:
            raise InputError(f"{where} {num}: unknown column '{unknown[0]}' (columns: "
                             f"{', '.join(_TEXT + _NUMBERS)})", source=src, field=unknown[0])
        name = str(rec.get("name", "")).strip()
        if not name:
            raise InputError(f"{where} {num}: missing 'name'", source=src, field="name")
        if name.casefold() in seen:
            raise InputError(f"{where} {num}: the name '{name}' appears twice", source=src, field="name")
        seen.add(name.casefold())
        values = {}
        for key in _NUMBERS:
            if key not in rec:
                continue
            try:
                values[key] = float(rec[key])
            except (TypeError, ValueError):
                raise InputError(f"{where} {num}: '{rec[key]}' is not a number", source=src,
                                 field=key) from None
            if key != "temperature_c" and not values[key] > 0:
                raise InputError(f"{where} {num}: must be positive, got {rec[key]}", source=src, field=key)
        fluid = str(rec.get("wetting_fluid", "water")).strip() or "water"
        if fluid.lower() not in ("water", "wfi", "h2o") and "surface_tension_mN_per_m" not in values:
            raise InputError(f"{where} {num}: a bubble point in '{fluid}' needs its surface_tension_mN_per_m",
                             source=src, field="surface_tension_mN_per_m")
        diffusion = [k in values for k in ("max_diffusion_mL_per_min", "diffusion_area_m2")]
        if any(diffusion) and not all(diffusion):
            raise InputError(f"{where} {num}: a diffusion limit needs both max_diffusion_mL_per_min and "
                             "diffusion_area_m2", source=src, field="diffusion_area_m2")
        flow = values.get("max_diffusion_mL_per_min")
        specs.append(IntegritySpec(
            name=name, filter_type=str(rec.get("filter_type", "")).strip(),
            min_bubble_point_bar=values.get("min_bubble_point_bar"), wetting_fluid=fluid,
            surface_tension_mN_per_m=values.get("surface_tension_mN_per_m"),
            temperature_c=values.get("temperature_c"),
            diffusion_test_pressure_bar=values.get("diffusion_test_pressure_bar"),
            max_diffusion_L_per_h=None if flow is None else flow * 0.06,
            diffusion_area_m2=values.get("diffusion_area_m2"), source=str(rec.get("source", "")).strip()))
    if not specs:
        raise InputError("the table lists no filters", source=src)
    return specs
