"""The grid of cells read from a file, split into the metadata lines, the header, a units row and
the data (:func:`grid_frame`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ...errors import InputError
from ...i18n import _
from .cells import cell_text, is_blank
from .headers import looks_like_unit, split_header


@dataclass
class Grid:
    """The cells of a file as read (rows of cells), with what its reader found in ``info``
    (``format``, ``header_index``, ...) and the text that joined cells in a row (the delimiter)."""

    rows: list[list]
    numbers: list[int]  # 1-based row number in the file for each row
    info: dict
    joiner: str = " "


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
    body = grid.rows[header + 1:]
    numbers = grid.numbers[header + 1:]
    width = max([len(headers), *(len(r) for r in body)]) if body else len(headers)
    headers += [""] * (width - len(headers))
    data = [list(r) + [None] * (width - len(r)) for r in body]

    # a row of units just below the header ("min", "g", ...)
    first = next((k for k, r in enumerate(data) if any(not is_blank(c) for c in r)), None)
    if first is not None:
        cells = data[first]
        filled = [(j, c) for j, c in enumerate(cells) if not is_blank(c)]
        if all(isinstance(c, str) and looks_like_unit(c) for _, c in filled):
            for j, c in filled:
                if headers[j] and split_header(headers[j])[1] is None:
                    headers[j] = f"{headers[j]} ({c.strip().strip('()[]').strip()})"
            info["units_row"] = numbers[first]
            del data[first], numbers[first]

    keep = [j for j in range(width) if headers[j] or any(not is_blank(r[j]) for r in data)]
    headers = [headers[j] or f"column {j + 1}" for j in keep]
    frame = pd.DataFrame([[r[j] for j in keep] for r in data], columns=headers, dtype=object)
    frame.index = pd.Index(numbers, name="row", dtype="int64")
    return frame, file_meta, info
