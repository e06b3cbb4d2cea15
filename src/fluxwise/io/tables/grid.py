"""The grid of cells read from a file, split into the metadata lines, the header, a units row and
the data (:func:`grid_frame`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import InputError
from ...i18n import _
from .cells import cell_text, is_blank, is_number_cell
from .headers import looks_like_unit, split_header


@dataclass
class Grid:
    """The cells of a file as read (rows of cells), with what its reader found in ``info``
    (``format``, ``header_index``, ...) and the text that joined cells in a row (the delimiter).

    A reader that parsed the data below the header itself gives them as ``body`` (a frame with columns
    0, 1, ... and the file row numbers as index, the units row taken out) and the units row it took out
    as ``units``; ``rows`` then end with the header row.
    """

    rows: list[list]
    numbers: list[int]  # 1-based row number in the file for each row
    info: dict
    joiner: str = " "
    body: pd.DataFrame | None = None
    units: list | None = None


def is_units_row(cells) -> bool:
    """True for a row whose filled cells are all units (``min``, ``g``, ``(bar)``): a units row."""
    filled = [c for c in cells if not is_blank(c)]
    return bool(filled) and all(isinstance(c, str) and looks_like_unit(c) for c in filled)


def filled_cells(column: pd.Series) -> np.ndarray:
    """Mask of the cells of a column that are not blank."""
    if column.dtype.kind in "fiub":
        return column.notna().to_numpy(dtype=bool)
    return ~np.fromiter((is_blank(x) for x in column.to_numpy(dtype=object)), bool, len(column))


def preamble(grid: Grid, header: int) -> tuple[dict, list[str]]:
    """Key/value metadata and free text lines from the rows above the header."""
    meta: dict[str, str] = {}
    lines: list[str] = []
    for cells in grid.rows[:header]:
        filled = [cell_text(c) for c in cells if not is_blank(c)]
        if not filled:
            continue
        first = filled[0]
        if len(filled) == 1:
            if ":" in first and not first.endswith(":"):
                key, value = first.split(":", 1)
            else:
                lines.append(first)
                continue
        elif first.endswith(":"):
            key, value = first[:-1], " ".join(filled[1:])
        elif ":" in first:  # "Sample: lot 5, day 2" split by the CSV delimiter
            key, head = first.split(":", 1)
            value = f"{grid.joiner.strip()} ".join([head.strip(), *filled[1:]]) if grid.joiner.strip() \
                else " ".join([head, *filled[1:]])
        else:
            key, value = first, " ".join(filled[1:])
        key, value = key.strip(), value.strip()
        if key and key not in meta:
            meta[key] = value
        elif not key:
            lines.append(value)
    return meta, lines


def grid_frame(grid: Grid, source: str, example: tuple[str, str]) -> tuple[pd.DataFrame, dict, dict]:
    """Header, units row and data of a grid as a frame indexed by file row number."""
    header = grid.info.pop("header_index")
    if header is None:
        filled = [r for r in grid.rows if any(not is_blank(c) for c in r)]
        if not filled:
            raise InputError(_("the file is empty (expected a table with a header row such as "
                               "'%(a)s, %(b)s')", a=example[0], b=example[1]), source=source)
        raise InputError(_("no header row found: the table needs a row of column names with units, such as "
                           "'%(a)s' and '%(b)s', above the data", a=example[0], b=example[1]), source=source)
    file_meta, lines = preamble(grid, header)
    info = dict(grid.info)
    info["header_row"] = grid.numbers[header]
    if lines:
        info["preamble"] = lines
    headers = ["" if is_blank(c) else cell_text(c) for c in grid.rows[header]]
    if grid.body is not None:
        frame, units = grid.body, grid.units
    else:
        frame, units = _rows_frame(grid.rows[header + 1:], grid.numbers[header + 1:], len(headers), info)
    width = max(len(headers), frame.shape[1])
    headers += [""] * (width - len(headers))
    if units is not None:  # a row of units just below the header ("min", "g", ...)
        for j, c in enumerate(units):
            if not is_blank(c) and headers[j] and split_header(headers[j])[1] is None:
                headers[j] = f"{headers[j]} ({c.strip().strip('()[]').strip()})"
    # only the columns without a name need their cells looked at (kept when they hold anything)
    filled = {j: filled_cells(frame.iloc[:, j]) for j in range(frame.shape[1]) if not headers[j]}
    if info.get("format") == "csv":
        _check_row_width(frame, headers, filled, info, source)
    keep = [j for j in range(width) if headers[j] or (j < frame.shape[1] and filled[j].any())]
    frame = frame.iloc[:, keep] if len(keep) < frame.shape[1] else frame
    frame.columns = [headers[j] or f"column {j + 1}" for j in keep]
    return frame, file_meta, info


def _rows_frame(body: list[list], numbers: list[int], width: int,
                info: dict) -> tuple[pd.DataFrame, list | None]:
    """The data rows as a frame of cells (objects), the units row taken out."""
    width = max([width, *(len(r) for r in body)]) if body else width
    data = [list(r) + [None] * (width - len(r)) for r in body]
    numbers = list(numbers)
    units = None
    first = next((k for k, r in enumerate(data) if any(not is_blank(c) for c in r)), None)
    if first is not None and is_units_row(data[first]):
        units = data[first]
        info["units_row"] = numbers[first]
        del data[first], numbers[first]
    frame = pd.DataFrame(data, columns=range(width), dtype=object) if data else \
        pd.DataFrame(index=range(0), columns=range(width), dtype=object)
    frame.index = pd.Index(numbers, name="row", dtype="int64")
    return frame, units


def _check_row_width(frame: pd.DataFrame, headers: list[str], filled: dict, info: dict, source: str) -> None:
    """Refuse numbers in the cells right of the last named column of a text table: a row one cell wider
    than the header (a row label written before the data) or decimal commas in a comma-delimited file
    shift every reading into the wrong column, so the table cannot be read as written."""
    named = max((j + 1 for j, h in enumerate(headers) if h), default=0)
    for j in range(named, frame.shape[1]):
        if not filled[j].any():
            continue
        column = frame.iloc[:, j]
        numbers = filled[j] & np.fromiter((is_number_cell(x) for x in column.to_numpy(dtype=object)), bool,
                                          len(column))
        if not numbers.any():
            continue  # notes in a column without a header: kept, and ignored
        k = int(np.flatnonzero(numbers)[0])
        row = int(frame.index[k])
        row_cells = frame.iloc[k].to_numpy(dtype=object)
        cells = int(max(j2 + 1 for j2, c in enumerate(row_cells) if not is_blank(c)))
        hint = (" With a comma delimiter, decimal commas ('12,5') split each number in two: export with ';' "
                "as the delimiter or with decimal points." if info.get("delimiter") == "," else "")
        raise InputError(f"this row has {cells} cells but the header names {named} columns, so the readings "
                         f"would fall into the wrong columns (number '{cell_text(column.iat[k], 40)}' "
                         f"under no header in column {j + 1}).{hint} If the column is real, give it a "
                         f"header.",
                         source=source, row=row)
