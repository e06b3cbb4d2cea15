"""Excel workbooks (``.xlsx``, ``.xlsm``): one sheet, by name or 0-based index, into a :class:`Grid`.

Before openpyxl opens anything, the zip container is checked (:func:`.limits.check_zip_container`:
parts, expanded size, compression ratio), and while the sheet is read, its rows and cells are
counted against the :class:`~.limits.ReadLimits`, so that no workbook, however built, costs more
than a bounded amount of time and memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FluxwiseError, InputError, LimitError
from .cells import is_blank
from .grid import Grid
from .headers import HEADER_SCAN_ROWS, find_header, guess_header
from .limits import LIMITS, ReadLimits, check_zip_container, size_text


def _sheet_rows(ws, name: str, source: str, limits: ReadLimits) -> list[list]:
    """The rows of a sheet as lists without their trailing empty cells, within the limits."""
    rows: list[list] = []
    scanned = 0
    for r in ws.iter_rows(values_only=True):
        scanned += len(r) + 1
        if scanned > limits.max_cells:
            raise LimitError(f"sheet '{name}' holds more than {limits.max_cells:,} cells (limit)",
                             source=source)
        if len(rows) >= limits.max_rows + HEADER_SCAN_ROWS:
            raise LimitError(f"sheet '{name}' has more than {limits.max_rows:,} data rows (limit); keep "
                             f"every n-th reading of so long a log before importing it", source=source)
        k = len(r)
        while k and r[k - 1] is None:
            k -= 1
        rows.append(list(r[:k]))
    return rows


def read_xlsx_grid(path: Path, source: str, sheet, extra: frozenset[str],
                   example: tuple[str, str], limits: ReadLimits = LIMITS) -> Grid:
    """The cells of one sheet (values, not formulas), its header row found."""
    import openpyxl

    size = path.stat().st_size
    if size > limits.max_bytes:
        raise LimitError(f"is {size_text(size)} (limit {size_text(limits.max_bytes)} for a workbook)",
                         source=source)
    with path.open("rb") as f:
        if f.read(4) == b"PK\x03\x04":
            f.seek(0)
            check_zip_container(f, source, max_uncompressed_bytes=limits.max_xlsx_uncompressed_bytes,
                                max_ratio=limits.max_xlsx_ratio, max_entries=limits.max_xlsx_entries)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # any failure to open means "not a workbook"
        raise InputError(f"is not a valid Excel workbook ({type(exc).__name__}); open it in Excel and "
                         f"save it again as .xlsx, or export the data as .csv", source=source) from None
    try:
        names = list(wb.sheetnames)
        listing = ", ".join(f"'{n}'" for n in names)
        if sheet is None:
            name = names[0]
        elif isinstance(sheet, str) and sheet in names:
            name = sheet
        elif isinstance(sheet, int | np.integer) and not isinstance(sheet, bool) and 0 <= sheet < len(names):
            name = names[int(sheet)]
        elif isinstance(sheet, str) and sheet.strip().isdigit() and int(sheet) < len(names):
            name = names[int(sheet)]
        else:
            raise InputError(f"no sheet {sheet!r} in this workbook (sheets: {listing}; an index counts "
                             f"from 0)", source=source, field="sheet")
        ws = wb[name]
        if not hasattr(ws, "iter_rows"):
            raise InputError(f"sheet '{name}' is a chart, not a table (sheets: {listing})",
                             source=source, field="sheet")
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        rows = _sheet_rows(ws, name, source, limits)
    except FluxwiseError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise InputError(f"the workbook cannot be read ({type(exc).__name__}: {exc}); save it again as "
                         f".xlsx or export the data as .csv", source=source) from None
    finally:
        wb.close()
    if not any(not is_blank(c) for r in rows for c in r):
        raise InputError(f"sheet '{name}' is empty (expected a table with a header row such as "
                         f"'{example[0]}, {example[1]}'; sheets: {listing})", source=source)
    numbers = list(range(1, len(rows) + 1))
    found = find_header(rows, extra)
    header = found[0] if found else guess_header(rows)
    return Grid(rows, numbers, {"format": "xlsx", "sheet": name, "header_index": header})
