"""Text tables (CSV, TXT, TSV): bytes to text, the delimiter and the decimal comma, into a :class:`Grid`.

Text is UTF-16 when it starts with a byte-order mark, else UTF-8, else Windows-1252 (Latin-1 as
the last resort). The delimiter (``,`` ``;`` or tab) is the one under which a header row is found
(most recognised names, then the widest row), else the one that splits the last of the first
lines into the most cells (median). With ``;`` or tab, a decimal comma (``12,5``) is recognised
when no data cell uses a decimal point.
"""

from __future__ import annotations

import csv
import io as _io
from pathlib import Path

import numpy as np

from ...errors import InputError
from .cells import COMMA_NUMBER, POINT_NUMBER, is_blank
from .grid import Grid
from .headers import HEADER_SCAN_ROWS, find_header, guess_header


def _decode(raw: bytes) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _split_csv(text: str, delimiter: str, source: str) -> tuple[list[list], list[int]]:
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter)
    rows, numbers = [], []
    try:
        for cells in reader:
            rows.append(cells)
            numbers.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"cannot be read as a text table ({exc}); if it is an Excel workbook, give it "
                         f"the .xlsx extension, otherwise export the data as CSV", source=source,
                         row=reader.line_num + 1) from None
    return rows, numbers


def read_text_grid(path: Path, source: str, extra: frozenset[str], example: tuple[str, str],
                   min_rows: int | None = None) -> Grid:
    """The cells of a text table, its header row found and a decimal comma read as a point."""
    text = _decode(path.read_bytes())
    if not text.strip():
        rows = f" and at least {min_rows} data rows" if min_rows else " and data rows"
        raise InputError(f"the file is empty (expected a table with a header row such as "
                         f"'{example[0]}, {example[1]}'{rows})", source=source)
    # sniff the delimiter on the first lines, then split the whole file once
    sample = "".join(text.splitlines(keepends=True)[:HEADER_SCAN_ROWS + 20])
    candidates, fallback = [], []
    for delimiter in (",", ";", "\t"):
        rows, _ = _split_csv(sample, delimiter, source)
        found = find_header(rows, extra)
        if found:
            width = sum(not is_blank(c) for c in rows[found[0]])
            candidates.append(((found[1], width), delimiter))
        widths = [sum(not is_blank(c) for c in r) for r in rows if any(not is_blank(c) for c in r)]
        fallback.append((float(np.median(widths[-20:])) if widths else 0.0, delimiter))
    delimiter = max(candidates)[1] if candidates else max(fallback, key=lambda c: c[0])[1]
    rows, numbers = _split_csv(text, delimiter, source)
    found = find_header(rows, extra)
    header = found[0] if found else guess_header(rows)
    info = {"format": "csv", "delimiter": {"\t": "tab"}.get(delimiter, delimiter), "decimal": "."}
    if header is not None and delimiter != ",":
        cells = [c for r in rows[header + 1:] for c in r if c]
        if any(COMMA_NUMBER.match(c) for c in cells) and not any(POINT_NUMBER.match(c) for c in cells):
            info["decimal"] = ","
            rows = rows[:header + 1] + [[c.replace(",", ".") if COMMA_NUMBER.match(c) else c for c in r]
                                        for r in rows[header + 1:]]
    info["header_index"] = header
    return Grid(rows, numbers, info, joiner=delimiter)
