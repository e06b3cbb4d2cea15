"""Text tables (CSV, TXT, TSV): bytes to text, the delimiter and the decimal comma, into a :class:`Grid`.

Text is UTF-16 when it starts with a byte-order mark, else UTF-8, else Windows-1252 (Latin-1 as
the last resort). The delimiter (``,`` ``;`` or tab) is the one under which a header row is found
(most recognised names, then the widest row), else the one that splits the last of the first
lines into the most cells (median). With ``;`` or tab, a decimal comma (``12,5``) is recognised
when no data cell uses a decimal point.

Cost: the metadata lines and the header are split by :mod:`csv`; the data below the header, when it
holds no quotes, by pandas' C parser (numbers converted with correct rounding, so a cell reads to the
same float as in a workbook), else by :mod:`csv` too. Before any of this the file is refused when it
is larger, longer or wider than the :class:`~.limits.ReadLimits` allow, so the work of reading any
file is bounded and linear in its size.
"""

from __future__ import annotations

import csv
import io as _io
import re
import warnings
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError, LimitError
from .cells import COMMA_NUMBER, POINT_NUMBER, is_blank
from .grid import Grid, is_units_row
from .headers import HEADER_SCAN_ROWS, find_header, guess_header
from .limits import LIMITS, ReadLimits, size_text

_LINE_END = re.compile(r"\r\n|\r|\n")


def _decode(raw: bytes, source: str) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"is UTF-16 text that is cut off or damaged at byte {exc.start:,} "
                             f"({exc.reason}); save the file again, preferably as UTF-8",
                             source=source) from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def read_text_file(path, source: str | None = None, *, max_bytes: int = LIMITS.max_bytes) -> str:
    """The text of a file in any of the encodings bench software writes (see :func:`_decode`), or an
    :class:`~fluxwise.errors.InputError` naming the file: too large, unreadable, damaged UTF-16."""
    path = Path(path)
    source = str(path) if source is None else source
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LimitError(f"is {size_text(size)} (limit {size_text(max_bytes)})", source=source)
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", source=source) from None
    text = _decode(raw, source)
    return text[1:] if text.startswith("\ufeff") else text


def _row_of(text: str, position: int) -> int:
    """1-based line of a character position (lines end with \\n, \\r\\n or \\r)."""
    return len(_LINE_END.findall(text, 0, position)) + 1


def _check_shape(text: str, source: str, limits: ReadLimits) -> None:
    """Refuse NUL characters, over-long lines and too many rows before any parsing."""
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError("holds NUL characters: a binary file, or UTF-16 text without a byte-order mark; "
                         "export the data as a CSV (UTF-8) or save the workbook as .xlsx", source=source,
                         row=_row_of(text, nul))
    rows = text.count("\n") + (text.count("\r") - text.count("\r\n") if "\r" in text else 0) + 1
    _check_rows(rows - HEADER_SCAN_ROWS, source, limits)  # the exact count of data rows comes later
    # line lengths in UTF-8 bytes bound those in characters: only a long one is measured exactly
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    ends = np.flatnonzero((data == 10) | (data == 13))
    starts = np.concatenate(([0], ends + 1))
    lengths = np.diff(np.append(starts, data.size)) - np.append(np.ones(ends.size, np.int64), 0)
    if lengths.max() <= limits.max_line_chars:
        return
    for k, line in enumerate(_LINE_END.split(text)):
        if len(line) > limits.max_line_chars:
            raise LimitError(f"this row is {len(line):,} characters long (limit "
                             f"{limits.max_line_chars:,}): not a table with one reading per row",
                             source=source, row=k + 1)


def _check_rows(data_rows: int, source: str, limits: ReadLimits) -> None:
    if data_rows > limits.max_rows:
        raise LimitError(f"has more than {limits.max_rows:,} data rows (limit); keep every n-th reading of "
                         f"so long a log before importing it", source=source)


class _Lines:
    """The lines of a text, with their ends, handed out one by one without copying the text (as a file
    opened with ``newline=""`` does for :mod:`csv`); ``position`` is where the next line starts."""

    def __init__(self, text: str):
        self.text, self.position = text, 0
        self._ends = _LINE_END.finditer(text)

    def __iter__(self):
        return self

    def __next__(self) -> str:
        start = self.position
        if start >= len(self.text):
            raise StopIteration
        m = next(self._ends, None)
        self.position = m.end() if m is not None else len(self.text)
        return self.text[start:self.position]


def _split_csv(text: str, delimiter: str, source: str, limits: ReadLimits,
               max_rows: int | None = None) -> tuple[list[list], list[int]]:
    reader = csv.reader(_Lines(text) if max_rows else _io.StringIO(text, newline=""), delimiter=delimiter)
    rows, numbers = [], []
    cells = 0
    try:
        for row in islice(reader, max_rows):
            if len(row) > limits.max_columns:
                raise LimitError(f"this row has {len(row):,} cells (limit "
                                 f"{limits.max_columns:,} columns)", source=source, row=reader.line_num)
            cells += len(row)
            if cells > limits.max_cells:
                raise LimitError(f"holds more than {limits.max_cells:,} cells (limit)", source=source)
            rows.append(row)
            numbers.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"cannot be read as a text table ({exc}); if it is an Excel workbook, give it "
                         f"the .xlsx extension, otherwise export the data as CSV", source=source,
                         row=reader.line_num + 1) from None
    return rows, numbers


def _head(text: str, lines: int) -> str:
    """The first ``lines`` lines of a text."""
    end = 0
    for k, m in enumerate(_LINE_END.finditer(text)):
        end = m.end()
        if k + 1 >= lines:
            return text[:end]
    return text


def _sniff(text: str, extra: frozenset[str], source: str, limits: ReadLimits) -> str:
    sample = _head(text, HEADER_SCAN_ROWS + 20)
    candidates, split = [], {}
    for delimiter in (",", ";", "\t"):
        rows, _ = split[delimiter] = _split_csv(sample, delimiter, source, limits)
        found = find_header(rows, extra)
        if found:
            width = sum(not is_blank(c) for c in rows[found[0]])
            candidates.append(((found[1], width), delimiter))
    if candidates:
        return max(candidates)[1]
    fallback = []
    for delimiter, (rows, _) in split.items():
        # filled cells per row (a cell of blanks counts as filled here: a heuristic, at C speed)
        widths = [n for n in (len(r) - r.count("") for r in rows) if n]
        fallback.append((float(np.median(widths[-20:])) if widths else 0.0, delimiter))
    return max(fallback, key=lambda c: c[0])[1]


def _field_pattern(number: str, delimiter: str) -> re.Pattern:
    """A whole field of unquoted delimited text that is ``number`` (surrounding blanks allowed)."""
    d = re.escape(delimiter)
    blank = rf"[^\S\r\n{d}]"
    return re.compile(rf"(?:^|{d}){blank}*+{number}{blank}*+(?={d}|\r?$)", re.M)


_COMMA_FIELD = r"[-+]?+\d++,\d++(?:[eE][-+]?+\d++)?+"
_POINT_FIELD = r"[-+]?+\d*+\.\d++(?:[eE][-+]?+\d++)?+"


def read_text_grid(path: Path, source: str, extra: frozenset[str], example: tuple[str, str],
                   min_rows: int | None = None, limits: ReadLimits = LIMITS) -> Grid:
    """The cells of a text table, its header row found and a decimal comma read as a point."""
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise LimitError(f"is {size_text(size)} (limit {size_text(limits.max_bytes)} for a text table)",
                         source=source)
    text = _decode(path.read_bytes(), source)
    if not text or text.isspace():
        rows = f" and at least {min_rows} data rows" if min_rows else " and data rows"
        raise InputError(f"the file is empty (expected a table with a header row such as "
                         f"'{example[0]}, {example[1]}'{rows})", source=source)
    _check_shape(text, source, limits)
    delimiter = _sniff(text, extra, source, limits)
    info = {"format": "csv", "delimiter": {"\t": "tab"}.get(delimiter, delimiter), "decimal": "."}
    head, head_numbers = _split_csv(text, delimiter, source, limits, max_rows=HEADER_SCAN_ROWS)
    found = find_header(head, extra)
    header = found[0] if found else guess_header(head)
    if header is not None:
        grid = _read_body_fast(text, delimiter, head, head_numbers, header, info, source, limits)
        if grid is not None:
            return grid
    rows, numbers = _split_csv(text, delimiter, source, limits)
    _check_rows(len(rows) - (header or 0) - 1, source, limits)
    if header is not None and delimiter != ",":
        cells = [c for r in rows[header + 1:] for c in r if c]
        if any(COMMA_NUMBER.match(c) for c in cells) and not any(POINT_NUMBER.match(c) for c in cells):
            info["decimal"] = ","
            rows = rows[:header + 1] + [[c.replace(",", ".") if COMMA_NUMBER.match(c) else c for c in r]
                                        for r in rows[header + 1:]]
    info["header_index"] = header
    return Grid(rows, numbers, info, joiner=delimiter)


def _short_numbers(data: bytes, decimal: str) -> bool:
    """True when no number in the text has more than 15 characters of digits and decimal mark, nor an
    exponent. Then each number is a significand below 10^15 < 2^53 times a power of ten of at most 15,
    which one IEEE multiplication or division rounds correctly (Clinger 1990, "How to read floating
    point numbers accurately", PLDI '90: the fast path), so pandas' fast parser gives exactly the
    correctly rounded float; otherwise the slower, always exact ``round_trip`` parser is used."""
    b = np.frombuffer(data, dtype=np.uint8)
    digit = (b - np.uint8(0x30)) <= 9
    if b"e" in data or b"E" in data:
        if (digit[:-1] & ((b[1:] | 0x20) == 0x65)).any():  # a digit followed by e or E: an exponent
            return False
    run = digit | (b == ord(decimal))
    for step in (1, 2, 4, 8):  # run[i] becomes: the 2·step characters from i on are all digits or marks
        if run.size <= step:
            return True
        run = run[:-step] & run[step:]
    return not run.any()  # no 16 of them in a row


def _read_body_fast(text: str, delimiter: str, head: list[list], head_numbers: list[int], header: int,
                    info: dict, source: str, limits: ReadLimits) -> Grid | None:
    """The rows below the header through pandas' C parser, or None where only :mod:`csv` reads the
    file as meant (quoted cells, lone carriage returns, text that pandas would read as NaN or infinity,
    rows wider than the header) or where the C parser does not give one row per line."""
    stream = _Lines(text)
    reader = csv.reader(stream, delimiter=delimiter)
    for _ in range(header + 1):
        next(reader)
    header_end, header_line = stream.position, reader.line_num
    rest = text[header_end:]
    if not rest or rest.isspace() or '"' in rest or ("\r" in rest and rest.count("\r") != rest.count("\r\n")):
        return None
    header_cells = head[header]
    width = len(header_cells)
    # the first filled row below the header may be a units row ("min", "g"): take it out of the data
    units, units_line = None, None
    start = header_end
    for cells in reader:
        if any(not is_blank(c) for c in cells):
            if len(cells) > width:
                return None
            if is_units_row(cells):
                units, units_line = cells, reader.line_num
                body = text[header_end:start] + text[stream.position:]
            break
        start = stream.position
    if units is None:
        body = rest
    decimal = "."
    if delimiter != "," and _field_pattern(_COMMA_FIELD, delimiter).search(body) \
            and not _field_pattern(_POINT_FIELD, delimiter).search(body):
        decimal = ","
    lines = body.count("\n") + (0 if body.endswith("\n") else 1)
    _check_rows(lines, source, limits)
    if lines * max(width, 1) > limits.max_cells:
        raise LimitError(f"holds more than {limits.max_cells:,} cells (limit)", source=source)
    data = body.encode("utf-8", "surrogatepass")
    precision = "high" if _short_numbers(data, decimal) else "round_trip"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            frame = pd.read_csv(_io.BytesIO(data), sep=delimiter,
                                header=None, names=range(width), index_col=False, decimal=decimal,
                                float_precision=precision, na_values=[""], keep_default_na=False,
                                skip_blank_lines=False, quoting=csv.QUOTE_NONE, engine="c", low_memory=False,
                                encoding="utf-8", encoding_errors="surrogatepass")
    except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning, pd.errors.EmptyDataError):
        return None
    if len(frame) != lines or any(t.kind == "b" for t in frame.dtypes):
        return None
    # "inf", "-Infinity", "-1e999" are floats to the C parser, not numbers to fluxwise: the csv path
    # quotes them as written in its message
    kinds = [t.kind for t in frame.dtypes]
    floats = [j for j, k in zip(frame.columns, kinds, strict=True) if k == "f"]
    if floats and np.isinf(frame[floats].to_numpy()).any():
        return None
    if decimal == ",":
        for j in (j for j, k in zip(frame.columns, kinds, strict=True) if k == "O"):
            frame[j] = frame[j].map(lambda c: c.replace(",", ".")
                                    if isinstance(c, str) and COMMA_NUMBER.match(c) else c)
    numbers = np.arange(header_line + 1, header_line + 1 + lines + (units is not None), dtype=np.int64)
    if units is not None:
        numbers = numbers[numbers != units_line]
        info["units_row"] = units_line
    frame.index = pd.Index(numbers, name="row", dtype="int64")
    info.update(decimal=decimal, header_index=header)
    return Grid(head[:header + 1], head_numbers[:header + 1], info, joiner=delimiter, body=frame, units=units)
