"""Read a design-space sweep spec (YAML) and write a sweep's results (CSV or Parquet).

The spec's fields are those of :func:`fluxwise.design.sweep.spec_from_dict` (an example is
``examples/sweep.yaml``); errors name the file and the field. The catalog of filter formats is the
shipped one unless the spec names a file under ``catalog:`` (relative to the spec's folder).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..design.sweep import SweepSpec, spec_from_dict
from ..errors import InputError
from .catalog import read_catalog
from .tables.text import read_text_file

__all__ = ["read_sweep_spec", "parse_sweep_spec", "write_sweep_table", "TABLE_FORMATS"]

TABLE_FORMATS = (".csv", ".parquet")


def parse_sweep_spec(text: str, *, source: str = "<spec>", base: Path | None = None) -> SweepSpec:
    """Parse the YAML text of a sweep spec."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc.__class__.__name__}: {exc})", source=source) from None
    if not isinstance(data, dict):
        raise InputError("a sweep spec must be a YAML mapping (model:, params:, axes:, ...)", source=source)
    cat = data.get("catalog")
    if cat is not None:
        if not isinstance(cat, str):
            raise InputError("catalog must be a file name", source=source, field="catalog")
        path = Path(cat)
        if not path.is_absolute() and base is not None:
            path = base / path
        formats = read_catalog(path)
    else:
        formats = read_catalog()
    return spec_from_dict(data, formats=formats, source=source)


def read_sweep_spec(path) -> SweepSpec:
    """Read a sweep spec from a YAML file (errors name the file and the field)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("sweep spec not found", source=str(path))
    return parse_sweep_spec(read_text_file(path), source=str(path), base=path.parent)


def write_sweep_table(df, path) -> Path:
    """Write a sweep's results: ``.csv``, or ``.parquet`` (needs pyarrow or fastparquet)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.to_csv(path, index=True)
    elif suffix == ".parquet":
        try:
            df.to_parquet(path, index=True)
        except ImportError:
            raise InputError("Parquet output needs pyarrow (pip install pyarrow); or write a .csv file",
                             source=str(path)) from None
    else:
        raise InputError(f"output must end in {' or '.join(TABLE_FORMATS)}, got '{path.name}'",
                         source=str(path))
    return path
