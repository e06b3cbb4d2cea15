"""Limits on what a bench file may make the readers do: bytes, line length, rows, columns and cells,
and for a workbook its zip container (parts, expanded size, compression ratio).

The readers apply them themselves (:func:`fluxwise.io.tables.read_table`), so the command line, the
Python API and the server are protected alike; the server's upload checks call
:func:`check_zip_container` with their own, smaller limits before storing anything.

The container is judged from the zip directory alone, without inflating anything: a "zip bomb" of a
few kilobytes can expand to gigabytes of XML. Python's :mod:`zipfile` never inflates an entry beyond
the size its directory declares (it stops and the CRC check fails), so the declared sizes bound the
work of any later reading.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from ...errors import InputError, LimitError
from ...i18n import _


@dataclass(frozen=True)
class ReadLimits:
    """What one bench file may hold. The defaults take a 1 Hz log of three weeks (2 million rows) or a
    sheet of thousands of columns, and refuse what no rig or balance writes."""

    max_bytes: int = 256 * 1024 * 1024
    max_line_chars: int = 1024 * 1024
    max_rows: int = 2_000_000
    max_columns: int = 10_000
    max_cells: int = 50_000_000
    max_xlsx_uncompressed_bytes: int = 200 * 1024 * 1024
    max_xlsx_ratio: float = 100.0
    max_xlsx_entries: int = 2000


LIMITS = ReadLimits()


def size_text(n: int) -> str:
    """Bytes as people read them: ``20 MB``, ``512 kB``, ``300 bytes``."""
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} kB"
    return f"{n} bytes"


def check_zip_container(file, source: str, *,
                        max_uncompressed_bytes: int = LIMITS.max_xlsx_uncompressed_bytes,
                        max_ratio: float = LIMITS.max_xlsx_ratio,
                        max_entries: int = LIMITS.max_xlsx_entries) -> list[zipfile.ZipInfo]:
    """Refuse a workbook whose zip directory is broken or promises too much decompressed data.

    ``file`` is a path or a binary file object. Returns the directory entries. Raises
    :class:`~fluxwise.errors.LimitError` when the parts would expand past ``max_uncompressed_bytes``,
    and :class:`~fluxwise.errors.InputError` for a broken container, too many parts, or a part (or the
    whole) compressed more than ``max_ratio``:1 beyond 1 MB of data, which no real workbook is.
    """
    try:
        with zipfile.ZipFile(file) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, NotImplementedError,
            OSError) as exc:
        # a damaged directory can claim a zip version or a feature zipfile does not implement
        raise InputError(_("is a broken workbook (%(error)s); save it again as .xlsx", error=exc),
                         source=source) from None
    if len(infos) > max_entries:
        raise InputError(_("holds %(n)s parts; a workbook has far fewer (limit %(limit)s)",
                           n=len(infos), limit=max_entries), source=source)
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > max_uncompressed_bytes:
        raise LimitError(_("would expand to %(size)s when opened (limit %(limit)s); export the data as .csv",
                           size=size_text(total), limit=size_text(max_uncompressed_bytes)), source=source)
    for info in infos:
        if info.file_size > max_ratio * max(1, info.compress_size) and info.file_size > 1 << 20:
            ratio = info.file_size // max(1, info.compress_size)
            raise InputError(_("part '%(part)s' is compressed %(ratio)s:1, more than any real workbook "
                               "(limit %(limit)s:1); refused as a possible zip bomb", part=info.filename,
                               ratio=ratio, limit=format(max_ratio, ".0f")), source=source)
    if total > max_ratio * packed and total > 1 << 20:
        raise InputError(_("is compressed %(ratio)s:1, more than any real workbook (limit %(limit)s:1); "
                           "refused as a possible zip bomb", ratio=total // packed,
                           limit=format(max_ratio, ".0f")), source=source)
    return infos
