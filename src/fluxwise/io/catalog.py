"""Read a catalog of filter formats from CSV or YAML (the shipped default or a user's file)."""

from __future__ import annotations

import io as _io
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from ..design.catalog import FilterFormat
from ..errors import InputError
from .tables.text import read_text_file

__all__ = ["read_catalog", "default_catalog_path"]

_REQUIRED = ("name", "area_m2")
_NUMERIC = {"area_m2": float, "max_count": int, "price_usd": float, "plastic_kg": float, "hold_up_mL": float}


def default_catalog_path() -> Path:
    """The catalog shipped with fluxwise (generic discs, capsules and 10/20/30-inch cartridges)."""
    return Path(str(resources.files("fluxwise") / "data" / "catalog.csv"))


def read_catalog(path=None) -> list[FilterFormat]:
    """Read filter formats from a CSV (``#`` comments allowed) or YAML file (a list of mappings,
    or a mapping with key ``formats``). Columns/keys: ``name``, ``area_m2`` (required), ``kind``,
    ``max_count``, ``price_usd``, ``plastic_kg``, ``hold_up_mL``, ``scale``.

    Raises :class:`InputError` naming the file, the row (CSV line / YAML item) and the field.
    """
    path = Path(path) if path is not None else default_catalog_path()
    src = str(path)
    if not path.is_file():
        raise InputError("catalog file not found", source=src)
    text = read_text_file(path, src)
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML ({exc.__class__.__name__}: {exc})", source=src) from None
        if isinstance(data, dict):
            data = data.get("formats")
        if not isinstance(data, list):
            raise InputError("expected a list of formats (or a 'formats:' list)", source=src)
        rows = [(i + 1, r) for i, r in enumerate(data)]
        where = "item"
    elif path.suffix.lower() == ".csv":
        lines = text.splitlines()
        try:
            df = pd.read_csv(_io.StringIO(text), comment="#", dtype=str, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"not a readable CSV catalog ({exc})", source=src) from None
        header_line = next(i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#"))
        data_lines = [i for i, ln in enumerate(lines) if i > header_line and ln.strip()
                      and not ln.lstrip().startswith("#")]
        rows = [(data_lines[i] + 1, {k: v for k, v in r.items() if isinstance(v, str) and v != ""})
                for i, r in enumerate(df.to_dict("records"))]
        where = "row"
    else:
        raise InputError("a catalog must be a .csv or .yaml file", source=src)
    formats = []
    for num, rec in rows:
        if not isinstance(rec, dict):
            raise InputError(f"{where} {num}: expected a mapping of format fields", source=src)
        for key in _REQUIRED:
            if key not in rec or rec[key] in (None, ""):
                raise InputError(f"{where} {num}: missing '{key}'", source=src, field=key)
        kwargs = {"name": str(rec["name"]).strip(), "kind": str(rec.get("kind", "capsule")).strip(),
                  "scale": str(rec.get("scale", "process")).strip()}
        for key, typ in _NUMERIC.items():
            if key in rec and rec[key] not in (None, ""):
                try:
                    val = typ(float(rec[key]))
                except (TypeError, ValueError):
                    raise InputError(f"{where} {num}: '{rec[key]}' is not a number", source=src,
                                     field=key) from None
                if val < 0 or (key in ("area_m2", "max_count") and val <= 0):
                    raise InputError(f"{where} {num}: must be positive, got {rec[key]}", source=src,
                                     field=key)
                kwargs[key] = val
        formats.append(FilterFormat(**kwargs))
    if not formats:
        raise InputError("the catalog lists no formats", source=src)
    return formats
