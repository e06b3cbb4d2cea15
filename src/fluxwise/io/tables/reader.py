"""The table of a bench export: :func:`read_table` dispatches on the file type to the reader of that
format (:mod:`.text`, :mod:`.xlsx`) and returns a :class:`Table`."""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import pandas as pd

from ...errors import InputError
from .grid import grid_frame
from .text import read_text_grid
from .xlsx import read_xlsx_grid

CSV_EXTENSIONS = (".csv", ".txt", ".tsv")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm")
_TRIAL_EXAMPLE = ("time (min)", "filtrate mass (g)")


@dataclass(frozen=True)
class Table:
    """The table found in a CSV/XLSX file (see :func:`read_table`).

    ``frame``: one row per data row, columns labelled with the headers as written (with their
    units), cells as read (text or numbers), index the file row numbers (named ``"row"``);
    ``file_meta``: the ``key: value`` lines above the table; ``info``: ``format``, ``header_row``
    and, where they apply, ``sheet``, ``delimiter``, ``decimal``, ``units_row``, ``preamble``.
    """

    source: str
    frame: pd.DataFrame
    file_meta: dict
    info: dict


def read_table(path, *, sheet=None, names=frozenset(), what: str = "trial file",
               example: tuple[str, str] = _TRIAL_EXAMPLE, min_rows: int | None = None) -> Table:
    """Find the table in a bench export (CSV/TXT/TSV or XLSX) as :func:`fluxwise.io.trials.read_trial`
    does.

    The header row, metadata lines, units row, delimiter and decimal comma are found as described
    in the documentation of :mod:`fluxwise.io.tables`. ``names`` are further header names
    (casefolded, without unit) that count as column names when looking for the header row; ``what``
    and ``example`` (two headers) word the messages for the kind of file expected, and ``min_rows``,
    when given, the number of data rows an empty text file is told it needs.

    Raises
    ------
    InputError
        Missing file, a folder, an unsupported type, a damaged workbook, a wrong or empty sheet, an
        empty file or no header row; the message names the file.
    """
    if not isinstance(path, str | PathLike):
        raise InputError(f"a {what} path is expected, not {type(path).__name__}", field="path")
    source = str(path)
    p = Path(path)
    if not p.exists():
        raise InputError("file not found (check the name and the folder it is in)", source=source)
    if p.is_dir():
        raise InputError(f"is a folder, not a {what} (expected a .csv or .xlsx file)", source=source)
    extension = p.suffix.lower()
    extra = frozenset(names)
    try:
        if extension in CSV_EXTENSIONS:
            if sheet is not None:
                raise InputError(f"sheet={sheet!r} was given, but a {extension} file has no sheets",
                                 source=source, field="sheet")
            grid = read_text_grid(p, source, extra, example, min_rows)
        elif extension in EXCEL_EXTENSIONS:
            grid = read_xlsx_grid(p, source, sheet, extra, example)
        elif extension == ".xls":
            raise InputError("the old Excel .xls format is not supported: save the sheet as .xlsx or "
                             "export it as .csv", source=source)
        else:
            raise InputError(f"unsupported file type '{extension or '(none)'}' (expected .csv, .txt, .tsv "
                             f"or .xlsx)", source=source)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", source=source) from None
    frame, file_meta, info = grid_frame(grid, source, example)
    return Table(source=source, frame=frame, file_meta=file_meta, info=info)
