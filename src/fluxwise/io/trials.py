"""Read filterability trials from bench-rig exports into :class:`~fluxwise.trial.Trial`.

Entry points:

* :func:`read_trial` reads a file (CSV/TXT/TSV or Excel ``.xlsx``), finds the table inside it and
  the ``key: value`` metadata lines above it, and hands the table to
  :func:`parse_trial_frame`;
* :func:`read_table` is the first half of :func:`read_trial` on its own — the table, metadata and
  units of a file — for the other readers of bench tables (:mod:`fluxwise.io.ufdf_data`), with
  :func:`split_header`, :func:`numeric_cells` and :func:`metadata_quantity`;
* :func:`parse_trial_frame` turns a table of raw readings (a :class:`pandas.DataFrame` whose
  column labels are the headers as written in the file) into a :class:`~fluxwise.trial.Trial`
  in canonical units: time [h], filtrate volume per area [L/m²], pressure [bar], area [m²].

File layout
-----------
Bench-rig exports often start with metadata lines before the table::

    Filter area: 13.8 cm2
    Mode: constant pressure
    Density;1.03 g/mL
    time (min);filtrate mass (g);P1 (psi)
    0;0,00;10,1
    ...

The header row is the first row in which at least two cells are recognised column names (or
columns named in the ``columns`` mapping); when no row qualifies, the last text row before the
first all-numeric row is taken, so that a missing-column error can list the headers found. Rows
above the header are read as metadata: ``key: value`` in one cell, ``key:`` / ``key`` followed by
the value in the next cells. A row directly below the header that holds only units (``min``,
``g``, ...) supplies the units for headers without one. CSV delimiters ``,`` ``;`` and tab are
sniffed; with ``;`` or tab, a decimal comma (``12,5``) is recognised when no cell uses a
decimal point.

Columns and units
-----------------
Columns are recognised by name, the unit written in the header as ``name (unit)``,
``name [unit]``, ``name / unit`` or ``name_unit`` (``t_h``, ``m_g``, ``V_mL``, ``P_psi``). Roles:

========  ==========================================================  =====================
role      recognised names (case-insensitive, words)                  unit kinds
========  ==========================================================  =====================
time      time, t, elapsed, zeit, ... ; unit ``hh:mm:ss`` (or         time
          ``h:mm:ss``, ``hh:mm``, ``mm:ss``) for clock-style cells
mass      mass, weight, m, w, gewicht                                 mass
volume    volume, vol, v                                              volume
(either)  filtrate, permeate, balance                                 mass or volume
pressure  pressure, tmp, dp, delta p, p, p1, p2, ...                  pressure
flow      flow, flow rate, q, flux, j                                 flow or flux (L/m²/h)
========  ==========================================================  =====================

The filtrate is taken from a volume column, else a mass column (converted with the density),
else a flow or flux column (integrated over time by the cumulative trapezoid rule). With several
pressure columns, one named TMP/dP/differential is preferred, then feed/inlet/P1, else the first.

Start of the run
----------------
Time is never shifted: the first time is kept as read and recorded as ``meta["t0_h"]``. A
filtrate reading at t = 0 cannot be filtrate, so when the first row is at t = 0 and its
volume (or mass) is not 0, that reading is a balance tare and is subtracted from all readings
(``meta["tare_L"]``). When the first row is later than t = 0, the first reading is kept (it may be
filtrate collected before logging began) and reported in ``meta["v0_L"]`` and ``meta["notes"]``.
A volume integrated from flow starts at 0 at the first time.

Meta keys
---------
``columns`` (role -> header used), ``units`` (role -> unit text), ``filtrate_from``
(``"volume"``, ``"mass"``, ``"flow"`` or ``"flux"``), ``ignored_columns``, ``area_source``,
``density_g_per_mL`` and ``density_source`` (mass only), ``mode_source``, ``mode_evidence``,
``t0_h``, ``v0_L``, ``tare_L``, ``rows`` (first and last file row used), ``points``,
``blank_rows``, ``skipped_rows``, ``file_meta`` (the metadata lines), ``notes`` (sentences for the
report); :func:`read_trial` adds ``file``, ``format``, ``header_row`` and, where they apply,
``sheet``, ``delimiter``, ``decimal``, ``units_row``, ``preamble``.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io as _io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.integrate import cumulative_trapezoid

from ..errors import FluxwiseError, InputError, UnitError
from ..trial import CONSTANT_FLUX, CONSTANT_PRESSURE, MODES, Trial
from ..units import CANONICAL, parse_quantity, parse_unit, to_canonical

ROLES = ("time", "mass", "volume", "pressure", "flow")
CSV_EXTENSIONS = (".csv", ".txt", ".tsv")
EXCEL_EXTENSIONS = (".xlsx", ".xlsm")
MIN_POINTS = 5
DIP_TOLERANCE = 0.002  # fraction of the largest filtrate reading a balance may dip by (noise)
STEADY_CV = 0.10
"""Coefficient of variation below which pressure or flux counts as held constant."""
HEADER_SCAN_ROWS = 200
DEFAULT_DENSITY_G_PER_ML = 1.0

_EXAMPLE_UNIT = {"time": "min", "mass": "g", "volume": "mL", "pressure": "bar", "flow": "mL/min"}
_EXAMPLE_HEADER = {"time": "time (min)", "mass": "filtrate mass (g)", "volume": "Filtrate volume [mL]",
                   "pressure": "pressure (bar)", "flow": "flow (mL/min)"}
_TRIAL_EXAMPLE = ("time (min)", "filtrate mass (g)")
_AREA_HINT = 'give it with --area "13.8 cm2" (area="13.8 cm2" in Python) or add a line ' \
             '"Filter area: 13.8 cm2" above the table'

_ROLE_RULES = (
    ("time", re.compile(r"^(t|elapsed|duration|dauer|laufzeit)$|\btime\b|\bzeit\b")),
    ("flow", re.compile(r"^(q|j)$|\bflow|\bflux\b|\bdurchfluss\b")),
    ("pressure", re.compile(r"^(p|dp|δp|p ?\d+|p ?(feed|in|inlet|tm))$|\bpressure\b|\btmp\b|\bdelta ?p\b"
                            r"|\bdruck\b")),
    ("mass", re.compile(r"^(m|w)$|\bmass\b|\bweight\b|\bgewicht\b|\bmasse\b")),
    ("volume", re.compile(r"^(v|vol)$|\bvolume\b|\bvol\b|\bvolumen\b")),
    ("filtrate", re.compile(r"\bfiltrate?\b|\bpermeate?\b|\bbalance\b|\bwaage\b")),
)
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_COMMA_NUMBER = re.compile(r"^\s*[-+]?\d+,\d+([eE][-+]?\d+)?\s*$")
_POINT_NUMBER = re.compile(r"^\s*[-+]?\d*\.\d+([eE][-+]?\d+)?\s*$")
_CLOCK_UNIT = re.compile(r"^(h{1,2}:mm(:ss(\.s+)?)?|mm:ss(\.s+)?)$")
_CLOCK_CELL = r"^\s*(\d+):(\d{1,2})(?::(\d{1,2}(?:[.,]\d*)?))?\s*$"
_EXCEL_EPOCH = _dt.datetime(1899, 12, 30)


# ---------------------------------------------------------------------------------------------
# headers


def _split_header(text) -> tuple[str, str | None]:
    """Split ``"time (min)"`` into ``("time", "min")``; ``("Sample", None)`` when there is no unit."""
    t = " ".join(str(text).split())
    if t and t[-1] in ")]":
        close = t[-1]
        opening = "(" if close == ")" else "["
        depth = 0
        for i in range(len(t) - 1, -1, -1):
            if t[i] == close:
                depth += 1
            elif t[i] == opening:
                depth -= 1
                if depth == 0:
                    unit = t[i + 1:-1].strip()
                    return t[:i].strip(), (unit or None)
    m = re.match(r"^(.*?\S)\s+/\s+(\S.*)$", t)
    if m:
        return m.group(1), m.group(2)
    if "_" in t:
        name, suffix = t.rsplit("_", 1)
        if name and suffix and _looks_like_unit(suffix):
            return name, suffix
    return t, None


@lru_cache(maxsize=512)
def _looks_like_unit(text: str) -> bool:
    """True for a time clock format or any unit pint knows that is not dimensionless."""
    text = text.strip().strip("()[]").strip()
    if not text or _NUMBER.match(text):
        return False
    if _is_clock_unit(text):
        return True
    try:
        unit = parse_unit(text)
    except FluxwiseError:
        return False
    return not unit.dimensionless


def _is_clock_unit(unit: str | None) -> bool:
    return unit is not None and bool(_CLOCK_UNIT.match(unit.strip().lower().replace(" ", "")))


def _norm_name(name: str) -> str:
    return " ".join(re.sub(r"[_\-.:]+", " ", name.lower()).split())


def _name_role(name: str) -> str | None:
    """Role of a column name without its unit: time, flow, pressure, mass, volume, filtrate or None."""
    n = _norm_name(name)
    if not n:
        return None
    for role, rule in _ROLE_RULES:
        if rule.search(n):
            return role
    return None


def _is_blank(x) -> bool:
    if x is None:
        return True
    if isinstance(x, str):
        return not x.strip()
    if isinstance(x, float) and x != x:
        return True
    return x is pd.NA or x is pd.NaT


def _is_number_cell(x) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int | float | np.integer | np.floating | _dt.time | _dt.timedelta | _dt.datetime):
        return True
    return isinstance(x, str) and bool(_NUMBER.match(x) or _COMMA_NUMBER.match(x)
                                       or re.match(_CLOCK_CELL, x))


def _cell_text(x) -> str:
    if isinstance(x, float):
        return f"{x:.15g}"
    return str(x).strip()


def _header_hits(cells, extra: frozenset[str]) -> int:
    """Number of cells in a row that look like column names (known names or mapped headers)."""
    hits = 0
    for c in cells:
        if not isinstance(c, str) or not c.strip() or len(c) > 80:
            continue
        text = " ".join(c.split())
        name, _ = _split_header(text)
        if ":" in name:  # "Mode: constant pressure" is a metadata line, not a header
            continue
        if _name_role(name) or text.casefold() in extra or name.casefold() in extra:
            hits += 1
    return hits


def _find_header(rows: list[list], extra: frozenset[str]) -> tuple[int, int] | None:
    """(index, hits) of the first row with >= 2 recognised column names, or None."""
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        hits = _header_hits(cells, extra)
        if hits >= 2 and sum(_is_number_cell(c) for c in cells) < hits:
            return i, hits
    return None


def _guess_header(rows: list[list]) -> int | None:
    """The last non-blank row before the first all-numeric row (a header of unknown names)."""
    previous = None
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        filled = [c for c in cells if not _is_blank(c)]
        if not filled:
            continue
        if all(_is_number_cell(c) for c in filled):
            return previous
        previous = i
    return None


# ---------------------------------------------------------------------------------------------
# reading files into a grid of cells


@dataclass
class _Grid:
    rows: list[list]
    numbers: list[int]  # 1-based row number in the file for each row
    info: dict
    joiner: str = " "


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


def _read_csv(path: Path, source: str, extra: frozenset[str], example=_TRIAL_EXAMPLE) -> _Grid:
    text = _decode(path.read_bytes())
    if not text.strip():
        rows = f" and at least {MIN_POINTS} data rows" if example == _TRIAL_EXAMPLE else " and data rows"
        raise InputError(f"the file is empty (expected a table with a header row such as "
                         f"'{example[0]}, {example[1]}'{rows})", source=source)
    # sniff the delimiter on the first lines, then split the whole file once
    sample = "".join(text.splitlines(keepends=True)[:HEADER_SCAN_ROWS + 20])
    candidates, fallback = [], []
    for delimiter in (",", ";", "\t"):
        rows, _ = _split_csv(sample, delimiter, source)
        found = _find_header(rows, extra)
        if found:
            width = sum(not _is_blank(c) for c in rows[found[0]])
            candidates.append(((found[1], width), delimiter))
        widths = [sum(not _is_blank(c) for c in r) for r in rows if any(not _is_blank(c) for c in r)]
        fallback.append((float(np.median(widths[-20:])) if widths else 0.0, delimiter))
    delimiter = max(candidates)[1] if candidates else max(fallback, key=lambda c: c[0])[1]
    rows, numbers = _split_csv(text, delimiter, source)
    found = _find_header(rows, extra)
    header = found[0] if found else _guess_header(rows)
    info = {"format": "csv", "delimiter": {"\t": "tab"}.get(delimiter, delimiter), "decimal": "."}
    if header is not None and delimiter != ",":
        cells = [c for r in rows[header + 1:] for c in r if c]
        if any(_COMMA_NUMBER.match(c) for c in cells) and not any(_POINT_NUMBER.match(c) for c in cells):
            info["decimal"] = ","
            rows = rows[:header + 1] + [[c.replace(",", ".") if _COMMA_NUMBER.match(c) else c for c in r]
                                        for r in rows[header + 1:]]
    info["header_index"] = header
    return _Grid(rows, numbers, info, joiner=delimiter)


def _read_xlsx(path: Path, source: str, sheet, extra: frozenset[str], example=_TRIAL_EXAMPLE) -> _Grid:
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
    if not any(not _is_blank(c) for r in rows for c in r):
        raise InputError(f"sheet '{name}' is empty (expected a table with a header row such as "
                         f"'{example[0]}, {example[1]}'; sheets: {listing})", source=source)
    numbers = list(range(1, len(rows) + 1))
    found = _find_header(rows, extra)
    header = found[0] if found else _guess_header(rows)
    return _Grid(rows, numbers, {"format": "xlsx", "sheet": name, "header_index": header})


def _preamble(grid: _Grid, header: int) -> tuple[dict, list[str]]:
    """Key/value metadata and free text lines from the rows above the header."""
    meta: dict[str, str] = {}
    lines: list[str] = []
    for cells in grid.rows[:header]:
        filled = [_cell_text(c) for c in cells if not _is_blank(c)]
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


def _grid_frame(grid: _Grid, source: str, example=_TRIAL_EXAMPLE) -> tuple[pd.DataFrame, dict, dict]:
    """Header, units row and data of a grid as a frame indexed by file row number."""
    header = grid.info.pop("header_index")
    if header is None:
        filled = [r for r in grid.rows if any(not _is_blank(c) for c in r)]
        if not filled:
            raise InputError(f"the file is empty (expected a table with a header row such as "
                             f"'{example[0]}, {example[1]}')", source=source)
        raise InputError(f"no header row found: the table needs a row of column names with units, such as "
                         f"'{example[0]}' and '{example[1]}', above the data", source=source)
    file_meta, lines = _preamble(grid, header)
    info = dict(grid.info)
    info["header_row"] = grid.numbers[header]
    if lines:
        info["preamble"] = lines
    headers = ["" if _is_blank(c) else _cell_text(c) for c in grid.rows[header]]
    body = grid.rows[header + 1:]
    numbers = grid.numbers[header + 1:]
    width = max([len(headers), *(len(r) for r in body)]) if body else len(headers)
    headers += [""] * (width - len(headers))
    data = [list(r) + [None] * (width - len(r)) for r in body]

    # a row of units just below the header ("min", "g", ...)
    first = next((k for k, r in enumerate(data) if any(not _is_blank(c) for c in r)), None)
    if first is not None:
        cells = data[first]
        filled = [(j, c) for j, c in enumerate(cells) if not _is_blank(c)]
        if all(isinstance(c, str) and _looks_like_unit(c) for _, c in filled):
            for j, c in filled:
                if headers[j] and _split_header(headers[j])[1] is None:
                    headers[j] = f"{headers[j]} ({c.strip().strip('()[]').strip()})"
            info["units_row"] = numbers[first]
            del data[first], numbers[first]

    keep = [j for j in range(width) if headers[j] or any(not _is_blank(r[j]) for r in data)]
    headers = [headers[j] or f"column {j + 1}" for j in keep]
    frame = pd.DataFrame([[r[j] for j in keep] for r in data], columns=headers, dtype=object)
    frame.index = pd.Index(numbers, name="row", dtype="int64")
    return frame, file_meta, info


def _mapping_names(columns) -> frozenset[str]:
    if not columns or not isinstance(columns, Mapping):
        return frozenset()
    names = set()
    for value in columns.values():
        text = value[0] if isinstance(value, tuple | list) and value else value
        if isinstance(text, str):
            names.add(" ".join(text.split()).casefold())
            names.add(_split_header(text)[0].casefold())
    return frozenset(names)


def read_trial(path, *, area=None, mode=None, density=None, columns=None, sheet=None) -> Trial:
    """Read a filterability trial from a bench-rig export.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv``, ``.txt`` or ``.tsv`` text table (delimiter ``,``, ``;`` or tab, sniffed) or an
        Excel ``.xlsx``/``.xlsm`` workbook. Metadata lines (``Filter area: 13.8 cm2``,
        ``Mode: constant pressure``, ``Density: 1.03 g/mL``, ``Sample: ...``) may stand above the
        table; see the module documentation for the layout that is understood.
    area : str or float, optional
        Effective filter area, as a quantity such as ``"13.8 cm2"`` or a float [m²]. When None,
        the ``Filter area`` metadata line of the file is used; one of the two is required.
    mode : str, optional
        ``"constant-pressure"`` or ``"constant-flux"``; None detects it from the data (a
        ``Mode:`` metadata line, when present, is used before detection).
    density : str or float, optional
        Filtrate density to convert a mass column to volume, as ``"1.02 g/mL"`` or a float
        [g/mL]. When None, a ``Density`` metadata line, else 1.0 g/mL.
    columns : dict, optional
        Explicit columns, overriding detection: role -> header. Roles are ``"time"``,
        ``"mass"``, ``"volume"``, ``"pressure"`` and ``"flow"`` (a flow [volume/time] or a flux
        [L/m²/h] unit; ``"flux"`` is accepted as an alias). A value is the header as written in the
        file (its unit is read from the header), or the header followed by a unit,
        ``"Zeit [s]"`` / ``"Zeit (s)"``, which names the column ``Zeit`` and gives its unit
        (the unit given here wins over one in the header), or a tuple ``("Zeit", "s")``.
    sheet : str or int, optional
        Excel sheet name, or 0-based index; default the first sheet. Not allowed for text files.

    Returns
    -------
    Trial
        Time [h], filtrate volume per area [L/m²], area [m²], mode, pressure [bar] when logged,
        ``source`` the path as given, and ``meta`` as listed in the module documentation.

    Raises
    ------
    InputError
        For a file that is missing, empty, of an unsupported type or not a workbook, for a wrong
        sheet, and for any table problem reported by :func:`parse_trial_frame`; the message names
        the file and, where it applies, the row (as numbered in the file) and the column.
    UnitError
        For a unit in a header that is unknown or of the wrong kind.
    """
    table = read_table(path, sheet=sheet, names=_mapping_names(columns))
    trial = parse_trial_frame(table.frame, source=table.source, area=area, mode=mode, density=density,
                              columns=columns, file_meta=table.file_meta)
    trial.meta.update({"file": Path(path).name, **table.info})
    return trial


# ---------------------------------------------------------------------------------------------
# the table of a file, for this reader and for other readers of bench tables (fluxwise.io.ufdf_data)


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
               example: tuple[str, str] = _TRIAL_EXAMPLE) -> Table:
    """Find the table in a bench export (CSV/TXT/TSV or XLSX) as :func:`read_trial` does.

    The header row, metadata lines, units row, delimiter and decimal comma are found as described
    in the module documentation. ``names`` are further header names (casefolded, without unit)
    that count as column names when looking for the header row; ``what`` and ``example`` (two
    headers) word the messages for the kind of file expected.

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
            grid = _read_csv(p, source, extra, example)
        elif extension in EXCEL_EXTENSIONS:
            grid = _read_xlsx(p, source, sheet, extra, example)
        elif extension == ".xls":
            raise InputError("the old Excel .xls format is not supported: save the sheet as .xlsx or "
                             "export it as .csv", source=source)
        else:
            raise InputError(f"unsupported file type '{extension or '(none)'}' (expected .csv, .txt, .tsv "
                             f"or .xlsx)", source=source)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", source=source) from None
    frame, file_meta, info = _grid_frame(grid, source, example)
    return Table(source=source, frame=frame, file_meta=file_meta, info=info)


def split_header(text) -> tuple[str, str | None]:
    """Split a header into name and unit: ``"TMP (bar)"`` -> ``("TMP", "bar")``; no unit -> None.

    Units are read from ``name (unit)``, ``name [unit]``, ``name / unit`` and ``name_unit``.
    """
    return _split_header(text)


def numeric_cells(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Floats of a column of cells (NaN where blank) and a mask of filled cells that are not numbers."""
    return _numeric(s, _Cells.of(s))


def metadata_quantity(value, kind: str, option: str, file_meta: dict, pattern: re.Pattern, *, source: str,
                      default_unit: str) -> tuple[float | None, str | None]:
    """A positive quantity from an option, else from a metadata line whose key matches ``pattern``.

    Returns (value in canonical units, ``"argument"`` or ``"metadata"``), or (None, None) when
    neither gives it. A float ``value`` is read in ``default_unit``.
    """
    return _resolve_quantity(value, kind, option, file_meta, pattern, source, default_unit)


# ---------------------------------------------------------------------------------------------
# from a frame of raw readings to a Trial


@dataclass
class _Column:
    role: str  # time, filtrate, pressure
    index: int  # position in the frame
    header: str
    unit_text: str
    kind: str  # time, clock, mass, volume, flow, flux, pressure
    unit: object = None  # pint unit, None for clock


def _row_numbers(df: pd.DataFrame) -> np.ndarray:
    if df.index.name == "row" and pd.api.types.is_integer_dtype(df.index):
        return df.index.to_numpy(dtype=np.int64)
    return np.arange(2, len(df) + 2, dtype=np.int64)


def _header_list(headers) -> str:
    shown = [h for h in headers if h]
    return ", ".join(f"'{h}'" for h in shown) if shown else "none"


def _find_mapped(value, role: str, headers: list[str], source: str):
    """(index, unit text or None) of the column a ``columns`` entry names."""
    if isinstance(value, tuple | list) and len(value) == 2:
        text, unit = str(value[0]), (str(value[1]) if value[1] is not None else None)
    elif isinstance(value, str):
        text, unit = value, None
    else:
        raise InputError(f"columns['{role}'] must be a header text such as 'Zeit [s]' or a (header, unit) "
                         f"pair, not {value!r}", source=source, field="columns")
    wanted = " ".join(text.split()).casefold()
    for i, h in enumerate(headers):
        if h.casefold() == wanted:
            return i, unit or _split_header(h)[1]
    name, given = _split_header(text)
    for i, h in enumerate(headers):
        if h.casefold() == name.casefold() or _split_header(h)[0].casefold() == name.casefold():
            return i, unit or given or _split_header(h)[1]
    raise InputError(f"columns['{role}'] names a column '{text}' that is not in the file "
                     f"(headers found: {_header_list(headers)})", source=source, field="columns")


def _pressure_rank(header: str) -> int:
    n = _norm_name(_split_header(header)[0])
    if re.search(r"\btmp\b|^dp$|δp|\bdelta ?p\b|differential", n):
        return 0
    if re.search(r"\bfeed\b|\binlet\b|\bin\b|^p ?1$", n):
        return 1
    return 2


def _select_columns(headers: list[str], columns, source: str, notes: list[str]) -> dict[str, _Column]:
    """Columns to use by role, with units parsed."""
    mapped: dict[str, tuple[int, str | None]] = {}
    if columns:
        if not isinstance(columns, Mapping):
            raise InputError("columns must be a mapping of role to header, e.g. {'time': 'Zeit [s]'}",
                             source=source, field="columns")
        for role, value in columns.items():
            r = "flow" if role == "flux" else role
            if r not in ROLES:
                raise InputError(f"unknown column role '{role}' (use {', '.join(ROLES)})", source=source,
                                 field="columns")
            mapped[r] = _find_mapped(value, role, headers, source)

    candidates: dict[str, list[int]] = {}
    used = {i for i, _ in mapped.values()}
    for i, h in enumerate(headers):
        if i in used:
            continue
        role = _name_role(_split_header(h)[0])
        if role:
            candidates.setdefault(role, []).append(i)

    def pick(role: str, index: int, unit_text: str | None, kind: str) -> _Column:
        return _Column(role, index, headers[index], unit_text, kind)

    chosen: dict[str, _Column] = {}
    # time
    if "time" in mapped:
        chosen["time"] = pick("time", *mapped["time"], "time")
    elif candidates.get("time"):
        chosen["time"] = pick("time", candidates["time"][0], _split_header(headers[candidates["time"][0]])[1],
                              "time")
        if len(candidates["time"]) > 1:
            notes.append(f"several time columns; used '{headers[candidates['time'][0]]}'")
    else:
        raise InputError(f"no time column found (headers found: {_header_list(headers)}); name it e.g. "
                         f"'time (min)' or give columns={{'time': '<header> [unit]'}}", source=source)
    # filtrate: volume > mass > filtrate/permeate (kind by unit) > flow
    for role in ("volume", "mass", "flow"):
        if role in mapped:
            chosen["filtrate"] = pick("filtrate", *mapped[role], role)
            break
    else:
        for role in ("volume", "mass", "filtrate", "flow"):
            if candidates.get(role):
                i = candidates[role][0]
                chosen["filtrate"] = pick("filtrate", i, _split_header(headers[i])[1], role)
                break
        else:
            raise InputError(f"no filtrate column found: expected a filtrate mass, volume or flow column "
                             f"such as 'filtrate mass (g)', 'Filtrate volume [mL]' or 'flow (mL/min)' "
                             f"(headers found: {_header_list(headers)})", source=source)
    # pressure
    if "pressure" in mapped:
        chosen["pressure"] = pick("pressure", *mapped["pressure"], "pressure")
    elif candidates.get("pressure"):
        ranked = sorted(candidates["pressure"], key=lambda i: (_pressure_rank(headers[i]), i))
        chosen["pressure"] = pick("pressure", ranked[0], _split_header(headers[ranked[0]])[1], "pressure")
        if len(ranked) > 1:
            notes.append(f"several pressure columns; used '{headers[ranked[0]]}', ignored "
                         f"{_header_list(headers[i] for i in ranked[1:])}")

    for col in chosen.values():
        _parse_column_unit(col, source)
    return chosen


def _parse_column_unit(col: _Column, source: str) -> None:
    """Set ``col.kind`` and ``col.unit`` from its unit text; errors name the column."""
    role = col.role
    if role == "filtrate":
        role = col.kind if col.kind in ("mass", "volume", "flow") else "mass"
    if not col.unit_text:
        example = _EXAMPLE_UNIT.get(role, "unit")
        name = _split_header(col.header)[0] or col.header
        map_role = col.kind if col.kind in ROLES else role
        raise InputError(f"no unit given: write it in the header, e.g. '{name} ({example})', or give "
                         f"it with columns={{'{map_role}': '{name} [{example}]'}}", source=source,
                         column=col.header)
    text = col.unit_text.strip()
    if col.kind == "time" and _is_clock_unit(text):
        col.kind, col.unit = "clock", None
        return
    unit = parse_unit(text, None, source=source, column=col.header)  # unknown unit -> UnitError
    if col.kind in ("time", "pressure", "mass", "volume"):
        col.unit = parse_unit(text, col.kind, source=source, column=col.header)
        return
    options = {"filtrate": ("mass", "volume"), "flow": ("flow", "flux")}[col.kind]
    for kind in options:
        try:
            col.unit = parse_unit(text, kind)
        except UnitError:
            continue
        col.kind = kind
        return
    examples = {"filtrate": "'g' or 'mL'", "flow": "'mL/min' or 'LMH'"}[col.kind]
    raise UnitError(f"unit '{text}' ({unit.dimensionality}) is neither a {options[0]} nor a {options[1]} "
                    f"unit (expected e.g. {examples})", source=source, column=col.header)


@dataclass
class _Cells:
    """Cell types of one column, computed once: text mask, stripped text, number mask, blank mask."""

    is_str: np.ndarray
    text: pd.Series  # stripped text where is_str, NaN elsewhere
    is_num: np.ndarray
    blank: np.ndarray

    @classmethod
    def of(cls, s: pd.Series) -> _Cells:
        values = s.to_numpy(dtype=object)
        is_str = np.fromiter((isinstance(x, str) for x in values), bool, values.size)
        is_num = np.fromiter((isinstance(x, int | float | np.integer | np.floating)
                              and not isinstance(x, bool | np.bool_) for x in values), bool, values.size)
        text = pd.Series(np.nan, index=s.index, dtype=object)
        if is_str.any():
            text[is_str] = s[is_str].astype(str).str.strip()
        blank = s.isna().to_numpy(dtype=bool) | (is_str & text.eq("").to_numpy(dtype=bool))
        return cls(is_str, text, is_num, blank)

    def take(self, positions: np.ndarray) -> _Cells:
        return _Cells(self.is_str[positions], self.text.iloc[positions], self.is_num[positions],
                      self.blank[positions])


def _numeric(s: pd.Series, cells: _Cells) -> tuple[np.ndarray, np.ndarray]:
    """Floats (NaN where blank) and a mask of cells that are filled but not finite numbers."""
    blank, is_str, is_num = cells.blank, cells.is_str, cells.is_num
    text = s.astype(object).where(~is_str, cells.text)
    values = pd.to_numeric(text.where(~blank & (is_str | is_num)), errors="coerce").to_numpy(dtype=float)
    bad = ~blank & (~(is_str | is_num) | ~np.isfinite(values))
    values[blank] = np.nan
    return values, bad


def _clock(s: pd.Series, cells: _Cells, unit: str) -> tuple[np.ndarray, np.ndarray]:
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


def _resolve_quantity(value, kind: str, option: str, file_meta: dict, keys: re.Pattern, source: str,
                      default_unit: str):
    """(value in canonical units, where it came from) for area or density; (None, None) if absent."""
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, str | int | float | np.integer | np.floating):
            raise InputError(f"{option} must be a quantity such as "
                             f"{_EXAMPLE_OPTION.get(option.lstrip('-'), '1 ' + CANONICAL[kind])!r}, "
                             f"not {value!r}", field=option, source=source)
        q = parse_quantity(float(value) if not isinstance(value, str) else value, kind,
                           default_unit=default_unit if not isinstance(value, str) else None, field=option,
                           source=source)
        where, label = "argument", option
    else:
        key = next((k for k in file_meta if keys.search(_norm_name(_split_header(k)[0]))), None)
        if key is None:
            return None, None
        text = str(file_meta[key]).strip()
        if re.match(r"^[-+]?\d+,\d+(?!\d*,)", text):  # decimal comma: "13,8 cm2"
            text = text.replace(",", ".", 1)
        key_unit = _split_header(key)[1]
        if key_unit and _NUMBER.match(text):
            text = f"{text} {key_unit}"
        q = parse_quantity(text, kind, field=key, source=source)
        where, label = "metadata", key
    if not np.isfinite(q) or q <= 0:
        given = value if where == "argument" else file_meta[label]
        raise InputError(f"{kind} must be positive, got {given!r}", field=label, source=source)
    return q, where


_EXAMPLE_OPTION = {"area": "13.8 cm2", "density": "1.02 g/mL"}


def _parse_mode(text, source: str, field: str) -> str:
    t = " ".join(re.sub(r"[_\-]+", " ", str(text).lower()).split())
    if t in ("cp", "const p", "constant p") or ("pressure" in t and not re.search(r"flux|flow", t)):
        return CONSTANT_PRESSURE
    if t in ("cf", "const f", "constant f") or (re.search(r"flux|flow", t) and "pressure" not in t):
        return CONSTANT_FLUX
    raise InputError(f"mode {text!r} is not understood (expected one of {', '.join(MODES)})",
                     source=source, field=field)


def _cv(x: np.ndarray) -> float | None:
    mean = float(np.mean(x))
    if not np.isfinite(mean) or mean == 0:
        return None
    return float(np.std(x) / abs(mean))


def _round(x: float | None) -> float | None:
    """Four significant digits, so that evidence reads cleanly in reports (1e-16 is 0)."""
    if x is None:
        return None
    return 0.0 if abs(x) < 1e-12 else float(f"{x:.4g}")


def _mode_evidence(t: np.ndarray, v: np.ndarray, p: np.ndarray | None) -> dict:
    """Detect the operating mode from the steadiness of pressure and flux, with the numbers used."""
    if p is None:
        return {"detected": CONSTANT_PRESSURE, "pressure_column": False,
                "rule": "no pressure column: constant pressure assumed"}
    n = t.size
    idx = np.unique(np.round(np.linspace(0, n - 1, min(8, n - 1) + 1)).astype(int))
    flux = np.diff(v[idx]) / np.diff(t[idx])  # window-mean flux [LMH]
    p_mean = np.add.reduceat(p, idx[:-1]) / np.diff(np.append(idx[:-1], n))
    cv_p, cv_j = _round(_cv(p_mean)), _round(_cv(flux))
    j_change = _round(float(flux[-1] / flux[0] - 1)) if flux[0] > 0 else None
    p_change = _round(float(p_mean[-1] / p_mean[0] - 1)) if p_mean[0] > 0 else None
    p_steady = cv_p is not None and cv_p < STEADY_CV
    j_steady = cv_j is not None and cv_j < STEADY_CV
    # a trend counts when it is larger than the steadiness limit (noise is not a trend)
    cp = p_steady and j_change is not None and j_change < -STEADY_CV
    cf = j_steady and p_change is not None and p_change > STEADY_CV

    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f} %"

    if cp and not cf:
        detected = CONSTANT_PRESSURE
        rule = f"pressure steady (CV {pct(cv_p)} < {pct(STEADY_CV)}) and flux falls ({pct(j_change)})"
    elif cf and not cp:
        detected = CONSTANT_FLUX
        rule = f"flux steady (CV {pct(cv_j)} < {pct(STEADY_CV)}) and pressure rises ({pct(p_change)})"
    else:
        steadier_p = cv_j is None or (cv_p is not None and cv_p <= cv_j)
        detected = CONSTANT_PRESSURE if steadier_p else CONSTANT_FLUX
        rule = (f"ambiguous (pressure CV {pct(cv_p)}, flux CV {pct(cv_j)}): the steadier quantity, "
                f"{'pressure' if steadier_p else 'flux'}, taken as the controlled one")
    return {"detected": detected, "pressure_column": True, "pressure_cv": cv_p, "flux_cv": cv_j,
            "flux_change": j_change, "pressure_change": p_change, "windows": int(idx.size - 1),
            "steady_limit": STEADY_CV, "rule": rule}


def _meta_role(c: _Column) -> str:
    """The ``columns`` role a chosen column has: time, mass, volume, flow or pressure."""
    if c.role != "filtrate":
        return c.role
    return "flow" if c.kind == "flux" else c.kind


def parse_trial_frame(df: pd.DataFrame, *, source: str, area=None, mode=None, density=None, columns=None,
                      file_meta=None) -> Trial:
    """Turn a table of raw trial readings into a :class:`~fluxwise.trial.Trial` in canonical units.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per reading; column labels are the headers as written in the file (with units,
        e.g. ``"time (min)"``); cells are numbers or text (text is parsed, ``hh:mm:ss`` for clock
        time columns). Row numbers in messages come from the index when it is an integer index
        named ``"row"`` (as :func:`read_trial` builds it), else the header counts as row 1 and the
        first data row as row 2.
    source : str
        Where the data came from (file name), used in every message and kept as ``Trial.source``.
    area : str or float, optional
        Filter area as ``"13.8 cm2"`` or a float [m²]; when None, taken from a ``file_meta`` key
        containing "area" (e.g. ``"Filter area"``). Required from one or the other.
    mode : str, optional
        ``"constant-pressure"`` or ``"constant-flux"``; when None, a ``file_meta`` key containing
        "mode", else detected from the data (see ``meta["mode_evidence"]``).
    density : str or float, optional
        Filtrate density as ``"1.02 g/mL"`` or a float [g/mL], for mass columns; when None, a
        ``file_meta`` key containing "density", else 1.0 g/mL.
    columns : dict, optional
        Role -> header mapping overriding detection; see :func:`read_trial`.
    file_meta : dict, optional
        Metadata ``key -> value`` text read above the table (``{"Filter area": "13.8 cm2"}``).

    Returns
    -------
    Trial
        With ``t_h`` [h], ``v_L_per_m2`` [L/m²], ``area_m2`` [m²], ``pressure_bar`` [bar] or
        None, and ``meta`` (keys listed in the module documentation).

    Raises
    ------
    InputError
        With the source, row and column of the first problem: a cell that is not a number, a row
        with a time but no filtrate reading, time not strictly increasing, negative or decreasing
        filtrate, fewer than 5 data rows, a missing column, area or unit, a constant-flux trial
        without a pressure column.
    UnitError
        For a unit that is unknown or of the wrong kind.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"a table of readings is expected, not {type(df).__name__}", source=source)
    source = str(source)
    file_meta = {str(k): v for k, v in (file_meta or {}).items()}
    notes: list[str] = []
    headers = ["" if _is_blank(c) else _cell_text(c) for c in df.columns]
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise InputError(f"no data rows below the header (headers found: {_header_list(headers)}; at least "
                         f"{MIN_POINTS} rows are needed)", source=source)
    rows = _row_numbers(df)
    cols = _select_columns(headers, columns, source, notes)
    ordered = [cols["time"], cols["filtrate"]] + ([cols["pressure"]] if "pressure" in cols else [])

    # area, density and mode from arguments or metadata (checked before the data, they are options)
    area_m2, area_source = _resolve_quantity(area, "area", "area", file_meta, re.compile(r"\barea\b|fläche"),
                                             source, "m**2")
    if area_m2 is None:
        raise InputError(f"no filter area: {_AREA_HINT}", source=source, field="area")
    density_g_ml, density_source = _resolve_quantity(density, "density", "density", file_meta,
                                                     re.compile(r"\bdensity\b|\bdichte\b"), source, "g/mL")
    if density_g_ml is None:
        density_g_ml, density_source = DEFAULT_DENSITY_G_PER_ML, "default"
    if mode is not None:
        mode_used, mode_source = _parse_mode(mode, source, "mode"), "argument"
    else:
        key = next((k for k in file_meta if re.search(r"\bmode\b|\bbetriebsart\b", _norm_name(k))), None)
        mode_used = _parse_mode(file_meta[key], source, key) if key else None
        mode_source = "metadata" if key else None

    # blank rows and rows without data in the used columns
    cells = [_Cells.of(df.iloc[:, j]) for j in range(df.shape[1])]
    all_blank = np.column_stack([c.blank for c in cells]).all(axis=1)
    used_blank = np.column_stack([cells[c.index].blank for c in ordered])
    empty = used_blank.all(axis=1)
    active = np.flatnonzero(~empty)
    if active.size == 0:
        raise InputError(f"no data rows below the header (columns used: "
                         f"{_header_list(c.header for c in ordered)}; at least {MIN_POINTS} rows are needed)",
                         source=source)
    last = active[-1]
    blank_rows = [int(r) for r in rows[:last][all_blank[:last]]]
    skipped_rows = [int(r) for r in rows[empty & ~all_blank]]
    sub = df.iloc[active]
    sub_rows = rows[active]

    # cells to numbers
    raw: dict[str, np.ndarray] = {}
    for c in ordered:
        s = sub.iloc[:, c.index]
        kept = cells[c.index].take(active)
        values, bad = _clock(s, kept, c.unit_text) if c.kind == "clock" else _numeric(s, kept)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            what, expected = (("a valid time", f"elapsed time as {c.unit_text.strip()}") if c.kind == "clock"
                              else ("a number", f"a number in {c.unit_text.strip()}"))
            raise InputError(f"'{_cell_text(s.iat[k])}' is not {what} (expected {expected})", source=source,
                             row=int(sub_rows[k]), column=c.header)
        raw[c.role] = values
    missing = np.column_stack([np.isnan(raw[c.role]) for c in ordered])
    if missing.any():
        k, j = map(int, np.argwhere(missing)[0])
        c = ordered[j]
        filled = [o.header for o in ordered if o is not c and not np.isnan(raw[o.role][k])]
        has = f"this row has {_header_list(filled)} but " if filled else ""
        raise InputError(f"{has}no value in '{c.header}' (every data row needs "
                         f"{_header_list(o.header for o in ordered)}; fill the cell in or delete the row)",
                         source=source, row=int(sub_rows[k]), column=c.header)
    n = active.size
    if n < MIN_POINTS:
        raise InputError(f"only {n} usable data row{'s' if n != 1 else ''} (rows {sub_rows[0]}–"
                         f"{sub_rows[-1]}); at least {MIN_POINTS} are needed to analyse a trial",
                         source=source)

    # time
    tc = cols["time"]
    t_h = raw["time"] if tc.kind == "clock" else np.asarray(to_canonical(raw["time"], tc.unit, "time"), float)
    step = np.diff(t_h)
    if (step <= 0).any():
        k = int(np.flatnonzero(step <= 0)[0]) + 1
        raise InputError(f"time does not increase: '{_cell_text(sub.iloc[k, tc.index])}' follows "
                         f"'{_cell_text(sub.iloc[k - 1, tc.index])}' (row {sub_rows[k - 1]}); times must be "
                         f"strictly increasing, remove repeated or out-of-order rows", source=source,
                         row=int(sub_rows[k]), column=tc.header)

    # filtrate
    fc = cols["filtrate"]
    values = raw["filtrate"]
    if (values < 0).any():
        k = int(np.flatnonzero(values < 0)[0])
        what = {"flow": "flow", "flux": "flux"}.get(fc.kind, "filtrate")
        raise InputError(f"negative {what} '{_cell_text(sub.iloc[k, fc.index])}' (filtrate readings must be "
                         f"0 or more; tare the balance or check the sign)", source=source,
                         row=int(sub_rows[k]), column=fc.header)
    meta: dict = {"t0_h": float(t_h[0])}
    if fc.kind in ("mass", "volume"):
        if fc.kind == "mass":
            volume_L = np.asarray(to_canonical(values, fc.unit, "mass"), float) / density_g_ml / 1000.0
        else:
            volume_L = np.asarray(to_canonical(values, fc.unit, "volume"), float)
        # A balance reads with noise: a dip within DIP_TOLERANCE of the largest reading is noise and kept
        # as read (least squares handles it); a larger drop is a removed vessel or drift -> error.
        dips = -np.diff(volume_L)
        tol = DIP_TOLERANCE * float(np.max(np.abs(volume_L)))
        drop = dips > tol
        if (dips > 0).any() and not drop.any():
            notes.append(f"{int((dips > 0).sum())} filtrate reading(s) dip below the previous one by at most "
                         f"{dips.max() * 1000:.3g} mL (within {DIP_TOLERANCE:.1%} of the largest reading: "
                         f"balance noise, kept as read)")
        if drop.any():
            k = int(np.flatnonzero(drop)[0]) + 1
            raise InputError(f"filtrate decreases: '{_cell_text(sub.iloc[k, fc.index])}' after "
                             f"'{_cell_text(sub.iloc[k - 1, fc.index])}' (row {sub_rows[k - 1]}); cumulative "
                             f"filtrate must not go down by more than {DIP_TOLERANCE:.1%} of the largest "
                             f"reading (check for balance drift or a removed vessel)",
                             source=source, row=int(sub_rows[k]), column=fc.header)
        v0 = float(volume_L[0])
        meta["v0_L"] = v0
        if t_h[0] == 0 and v0 != 0:
            volume_L = volume_L - v0
            meta["tare_L"] = v0
            notes.append(f"first reading at t = 0 ({_cell_text(sub.iloc[0, fc.index])} "
                         f"{fc.unit_text.strip()}) subtracted from all readings as balance tare")
        else:
            meta["tare_L"] = 0.0
            if t_h[0] != 0 and v0 != 0:
                notes.append(f"first row is at t = {t_h[0]:.6g} h with {v0:.6g} L already collected; both "
                             f"kept as read (nothing subtracted)")
        v = volume_L / area_m2
    else:
        if fc.kind == "flow":
            v = cumulative_trapezoid(np.asarray(to_canonical(values, fc.unit, "flow"), float), t_h,
                                     initial=0.0) / area_m2
        else:
            v = cumulative_trapezoid(np.asarray(to_canonical(values, fc.unit, "flux"), float), t_h,
                                     initial=0.0)
        meta.update(v0_L=0.0, tare_L=0.0)
        notes.append(f"filtrate volume integrated from '{fc.header}' (cumulative trapezoid), 0 at the "
                     f"first time")
    if t_h[0] != 0:
        notes.append(f"first time is {t_h[0]:.6g} h, not 0; times kept as read (not shifted)")

    # pressure and mode
    pressure = None
    if "pressure" in cols:
        pc = cols["pressure"]
        pressure = np.asarray(to_canonical(raw["pressure"], pc.unit, "pressure"), float)
    evidence = _mode_evidence(t_h, v, pressure)
    if mode_used is None:
        mode_used, mode_source = evidence["detected"], "detected"
    elif evidence["pressure_column"] and evidence["detected"] != mode_used:
        notes.append(f"mode {mode_used} ({mode_source}) differs from the data, which look "
                     f"{evidence['detected']} ({evidence['rule']})")
    if mode_used == CONSTANT_FLUX and pressure is None:
        raise InputError(f"a constant-flux trial needs a pressure column, e.g. 'pressure (bar)' (headers "
                         f"found: {_header_list(headers)})", source=source,
                         field="mode" if mode_source == "argument" else None)

    used = {c.index for c in ordered}
    meta.update({
        "columns": {_meta_role(c): c.header for c in ordered},
        "units": {_meta_role(c): c.unit_text.strip() for c in ordered},
        "filtrate_from": fc.kind,
        "ignored_columns": [h for i, h in enumerate(headers) if i not in used],
        "area_source": area_source,
        "mode_source": mode_source,
        "mode_evidence": evidence,
        "rows": [int(sub_rows[0]), int(sub_rows[-1])],
        "points": int(n),
        "blank_rows": blank_rows,
        "skipped_rows": skipped_rows,
        "file_meta": file_meta,
        "notes": notes,
    })
    if fc.kind == "mass":
        meta.update(density_g_per_mL=density_g_ml, density_source=density_source)
    if blank_rows:
        notes.append(f"blank row{'s' if len(blank_rows) > 1 else ''} {', '.join(map(str, blank_rows))} "
                     f"ignored")
    if skipped_rows:
        notes.append(f"row{'s' if len(skipped_rows) > 1 else ''} {', '.join(map(str, skipped_rows))} without "
                     f"time or filtrate ignored")
    return Trial(t_h=t_h, v_L_per_m2=v, area_m2=float(area_m2), mode=mode_used, pressure_bar=pressure,
                 source=source, meta=meta)
