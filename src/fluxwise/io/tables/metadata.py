"""Quantities given as an option or in the metadata lines above a table (filter area, density, ...)."""

from __future__ import annotations

import re

import numpy as np

from ...errors import InputError
from ...units import EXAMPLE_UNIT, parse_quantity
from .cells import NUMBER
from .headers import norm_name, split_header

_EXAMPLE_OPTION = {"area": "13.8 cm2", "density": "1.02 g/mL"}


def metadata_quantity(value, kind: str, option: str, file_meta: dict, pattern: re.Pattern, *, source: str,
                      default_unit: str) -> tuple[float | None, str | None]:
    """A positive quantity from an option, else from a metadata line whose key matches ``pattern``.

    Returns (value in canonical units, ``"argument"`` or ``"metadata"``), or (None, None) when
    neither gives it. A float ``value`` is read in ``default_unit``.
    """
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, str | int | float | np.integer | np.floating):
            raise InputError(f"{option} must be a quantity such as "
                             f"{_EXAMPLE_OPTION.get(option.lstrip('-'), '1 ' + EXAMPLE_UNIT[kind])!r}, "
                             f"not {value!r}", field=option, source=source)
        q = parse_quantity(float(value) if not isinstance(value, str) else value, kind,
                           default_unit=default_unit if not isinstance(value, str) else None, field=option,
                           source=source)
        where, label = "argument", option
    else:
        key = next((k for k in file_meta if pattern.search(norm_name(split_header(k)[0]))), None)
        if key is None:
            return None, None
        text = str(file_meta[key]).strip()
        if re.match(r"^[-+]?+\d++,\d++(?!,)", text):  # decimal comma: "13,8 cm2" (possessive: linear)
            text = text.replace(",", ".", 1)
        key_unit = split_header(key)[1]
        if key_unit and NUMBER.match(text):
            text = f"{text} {key_unit}"
        q = parse_quantity(text, kind, field=key, source=source)
        where, label = "metadata", key
    if not np.isfinite(q) or q <= 0:
        given = value if where == "argument" else file_meta[label]
        raise InputError(f"{kind} must be positive, got {given!r}", field=label, source=source)
    return q, where
