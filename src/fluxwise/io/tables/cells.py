"""Cells of a bench table: blank and number tests, text of a cell, and a column's cells as numbers.

:class:`Cells` types a column's cells once; :func:`numeric` and :func:`clock_hours` turn them into
floats (decimal numbers, or elapsed time written ``hh:mm:ss`` / ``hh:mm`` / ``mm:ss`` and Excel time
cells) with a mask of the filled cells that could not be read, so that a reader can name the row.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Possessive quantifiers (*+, ++, ?+): the patterns never backtrack, so testing a cell costs time
# linear in its length (a cell of 10^5 digits followed by a letter took minutes with plain ones).
NUMBER = re.compile(r"^\s*+[-+]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][-+]?+\d++)?+\s*+$")
COMMA_NUMBER = re.compile(r"^\s*+[-+]?+\d++,\d++(?:[eE][-+]?+\d++)?+\s*+$")
POINT_NUMBER = re.compile(r"^\s*+[-+]?+\d*+\.\d++(?:[eE][-+]?+\d++)?+\s*+$")
_CLOCK_CELL = r"^\s*(\d+):(\d{1,2})(?::(\d{1,2}(?:[.,]\d*)?))?\s*$"
_EXCEL_EPOCH = _dt.datetime(1899, 12, 30)


def is_blank(x) -> bool:
    if x is None:
        return True
    if isinstance(x, str):
        return not x.strip()
    if isinstance(x, float) and x != x:
        return True
    return x is pd.NA or x is pd.NaT


def is_number_cell(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int | float | np.integer | np.floating | _dt.time | _dt.timedelta | _dt.datetime):
        return True
    return isinstance(x, str) and bool(NUMBER.match(x) or COMMA_NUMBER.match(x)
                                      or re.match(_CLOCK_CELL, x))


def cell_text(x, limit: int | None = None) -> str:
    """The text of a cell as a message quotes it; with ``limit``, cut to that many characters."""
    text = f"{x:.15g}" if isinstance(x, float) else str(x).strip()
    if limit is not None and len(text) > limit:
        return f"{text[:limit]}… ({len(text):,} characters)"
    return text


@dataclass
class Cells:
    """Cell types of one column, computed once: text mask, stripped text, number mask, blank mask."""

    is_str: np.ndarray
    text: pd.Series  # stripped text where is_str, NaN elsewhere
    is_num: np.ndarray
    blank: np.ndarray

    @classmethod
    def of(cls, s: pd.Series) -> Cells:
        if s.dtype.kind in "fiu":  # read as numbers already (the C parser of a text table)
            blank = s.isna().to_numpy(dtype=bool)
            return cls(np.zeros(len(s), bool), pd.Series(np.nan, index=s.index), ~blank, blank)
        values = s.to_numpy(dtype=object)
        is_str = np.fromiter((isinstance(x, str) for x in values), bool, values.size)
        is_num = np.fromiter((isinstance(x, int | float | np.integer | np.floating)
                              and not isinstance(x, bool | np.bool_) for x in values), bool, values.size)
        text = pd.Series(np.nan, index=s.index, dtype=object)
        if is_str.any():
            text[is_str] = s[is_str].astype(str).str.strip()
        blank = s.isna().to_numpy(dtype=bool) | (is_str & text.eq("").to_numpy(dtype=bool))
        return cls(is_str, text, is_num, blank)

    def take(self, positions: np.ndarray) -> Cells:
        return Cells(self.is_str[positions], self.text.iloc[positions], self.is_num[positions],
                     self.blank[positions])


def text_numbers(texts) -> np.ndarray:
    """Floats of number texts (NaN where a text is not a number), correctly rounded as in a workbook.

    A number is what :data:`NUMBER` matches (``12``, ``-1.5``, ``.5``, ``2e-3``), tested without
    backtracking, so the cost is linear in the length of the text.
    """
    return np.fromiter((float(t) if NUMBER.match(t) else np.nan for t in texts), float, len(texts))


def _float_or_inf(x) -> float:
    try:
        return float(x)
    except OverflowError:
        return np.inf


def numeric(s: pd.Series, cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Floats (NaN where blank) and a mask of cells that are filled but not finite numbers."""
    blank, is_str, is_num = cells.blank, cells.is_str, cells.is_num
    if s.dtype.kind in "fiu":
        values = s.to_numpy(dtype=float, copy=True)
    else:
        values = np.full(len(s), np.nan)
        if is_num.any():
            try:
                values[is_num] = s[is_num].to_numpy(dtype=float)
            except OverflowError:  # a Python int past the float range
                values[is_num] = [_float_or_inf(x) for x in s[is_num]]
        texts = is_str & ~blank
        if texts.any():
            values[texts] = text_numbers(cells.text[texts].to_numpy(dtype=object))
    bad = ~blank & (~(is_str | is_num) | ~np.isfinite(values))
    values[blank] = np.nan
    return values, bad


def clock_hours(s: pd.Series, cells: Cells, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Hours from ``hh:mm:ss`` (or ``hh:mm``, ``mm:ss``) strings and Excel time cells."""
    fmt = unit.strip().lower().replace(" ", "")
    blank, is_str, stripped = cells.blank, cells.is_str, cells.text
    parts = stripped.astype(str).where(is_str).str.extract(_CLOCK_CELL)
    a = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=float)
    b = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float)
    c = pd.to_numeric(parts[2].str.replace(",", ".", regex=False), errors="coerce").to_numpy(dtype=float)
    three = ~np.isnan(c)
    if fmt.startswith("mm"):
        hours = np.where(three, a + b / 60 + c / 3600, a / 60 + b / 3600)
        ok = np.where(three, (b < 60) & (c < 60), b < 60)
    else:
        hours = np.where(three, a + b / 60 + c / 3600, a + b / 60)
        ok = np.where(three, (b < 60) & (c < 60), b < 60)
    hours = np.where(is_str & ok, hours, np.nan)

    def from_object(x):
        if isinstance(x, _dt.datetime):
            return (x - _EXCEL_EPOCH).total_seconds() / 3600 if x.year <= 1900 else np.nan
        if isinstance(x, _dt.timedelta):
            return x.total_seconds() / 3600
        if isinstance(x, _dt.time):
            return x.hour + x.minute / 60 + (x.second + x.microsecond / 1e6) / 3600
        return np.nan

    other = ~is_str & ~blank
    if other.any():
        hours[other] = s[other].map(from_object).to_numpy(dtype=float)
    bad = ~blank & ~np.isfinite(hours)
    hours[blank] = np.nan
    return hours, bad


def numeric_cells(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats of a column of cells (NaN where blank) and a mask of filled cells that are not numbers."""
    return numeric(s, Cells.of(s))
