"""Excel workbooks (``.xlsx``, ``.xlsm``): one sheet, by name or 0-based index, into a :class:`Grid`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import FluxwiseError, InputError
from .cells import is_blank
from .grid import Grid
from .headers import find_header, guess_header


def read_xlsx_grid(path: Path, source: str, sheet, extra: frozenset[str],
                   example: tuple[str, str]) -> Grid:
    """The cells of one sheet (values, not formulas), its header row found."""
    import openpyxl

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
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
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
