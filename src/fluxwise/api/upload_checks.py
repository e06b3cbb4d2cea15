"""Checks on an uploaded trial file before anything parses or stores it.

Type by extension and by content (a renamed workbook or a binary file is refused), size against a
limit, and for workbooks the zip container itself: number of entries, total uncompressed size and
compression ratio, read from the zip directory without decompressing anything. The container check
is the one the readers apply to every workbook (:mod:`fluxwise.io.tables.limits`), here with the
server's limits, so that a refused upload is never stored.
"""

from __future__ import annotations

import io
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import FluxwiseError, InputError, LimitError
from ..i18n import _, ngettext
from ..io.tables.limits import check_zip_container as zip_check

TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
CONTENT_TYPES = {".csv": "text/csv", ".txt": "text/plain", ".tsv": "text/tab-separated-values",
                 ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12"}
log = logging.getLogger(__name__)
_SAFE = re.compile(r"[^A-Za-z0-9._ ()+-]+")


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_xlsx_uncompressed_bytes: int = 200 * 1024 * 1024
    max_xlsx_ratio: float = 100.0
    max_xlsx_entries: int = 2000


class UploadRejected(FluxwiseError):
    """An upload refused before parsing; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422, *, cause: FluxwiseError | None = None,
                 clean=None):
        super().__init__(message)
        self.status = status
        self._cause, self._clean = cause, clean

    def for_door(self, door: str = "cli", labels: dict[str, str] | None = None) -> str:
        """A parse error keeps its wording per door, the temporary folder removed from it."""
        if self._cause is None:
            return super().for_door(door, labels)
        return self._clean(self._cause.for_door(door, labels))


class _TempPathRemover:
    """Replaces the temporary path of a parsed upload by the file's name in a message (a class, not a
    closure, so that an :class:`UploadRejected` raised in a science worker process can be pickled)."""

    def __init__(self, path: str, filename: str, folder: str):
        self.path, self.filename, self.folder = path, filename, folder

    def __call__(self, text: str) -> str:
        return text.replace(self.path, self.filename).replace(self.folder, "")


def _base_name(filename: str | None) -> str:
    return Path((filename or "").replace("\\", "/")).name


def _limit(name: str, chars: int = 255) -> str:
    if len(name) > chars:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[: chars - len(ext)] + ext
    return name


def clean_filename(filename: str | None) -> str:
    """The safe name an uploaded file is stored and parsed under: its base name, accents dropped
    (``ünïcödé.csv`` -> ``unicode.csv``), any other character outside ``[A-Za-z0-9._ ()+-]`` replaced by
    ``_``, at most 255 characters; ``upload`` (with the extension) when no letter or digit is left.
    The name as sent is kept beside it: see :func:`original_filename`."""
    name = unicodedata.normalize("NFKD", _base_name(filename))
    name = "".join(c for c in name if not unicodedata.combining(c))
    name = _SAFE.sub("_", name).strip(" .")
    stem, ext = os.path.splitext(name)
    if not any(c.isalnum() for c in stem):
        name = "upload" + (ext if any(c.isalnum() for c in ext) else "")
    return _limit(name)


def original_filename(filename: str | None) -> str:
    """The file's name as the user's computer sent it, kept as metadata: its base name with every
    Unicode character kept (no normalisation), only NUL (which no store can hold) and unpaired
    surrogates (not text; written ``\\udXXX``) taken out, at most 255 characters."""
    name = _base_name(filename).replace("\x00", "")
    name = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return _limit(name.strip()) or clean_filename(filename)


def display_filename(name: str) -> str:
    """``name`` safe to show: characters that are invisible or reorder text (controls, bidirectional
    overrides, zero-width and other format characters, line separators) are written as ``\\u202e``
    escapes, so a name cannot disguise its extension (HTML escaping is the template's)."""
    out = []
    for c in name:
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        else:
            out.append(c)
    return "".join(out)


def read_limited(stream, limit: int, chunk: int = 1 << 20) -> bytes:
    """All bytes of ``stream``, or :class:`UploadRejected` (413) as soon as there are more than ``limit``."""
    parts, total = [], 0
    while True:
        block = stream.read(chunk)
        if not block:
            break
        total += len(block)
        if total > limit:
            raise UploadRejected(_("the file is larger than the limit of %(limit)s", limit=_mb(limit)),
                                 status=413)
        parts.append(block)
    return b"".join(parts)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else ngettext("%(num)d byte", "%(num)d bytes", n)


def check_upload(filename: str, content: bytes, limits: UploadLimits) -> str:
    """Check an upload's type and size (and a workbook's zip container); returns its content type.

    Raises :class:`UploadRejected`: 415 for a type that is not a trial table, 413 for too large,
    422 for an empty, broken or suspicious file.
    """
    ext = Path(filename).suffix.lower()
    if ext == ".xls":
        raise UploadRejected(_("the old Excel .xls format is not supported: save the sheet as .xlsx or "
                               "export it as .csv"), status=415)
    if ext not in TEXT_EXTENSIONS + XLSX_EXTENSIONS:
        raise UploadRejected(_("'%(file)s': unsupported file type '%(ext)s' (expected .csv, .txt, .tsv or "
                               ".xlsx)", file=filename, ext=ext or _("(none)")), status=415)
    if len(content) > limits.max_bytes:
        raise UploadRejected(_("the file is larger than the limit of %(limit)s", limit=_mb(limits.max_bytes)),
                             status=413)
    if not content.strip():
        raise UploadRejected(_("'%(file)s' is empty", file=filename))
    is_zip = content[:4] == b"PK\x03\x04"
    if ext in TEXT_EXTENSIONS:
        if is_zip:
            raise UploadRejected(_("'%(file)s' is a zip file (an Excel workbook?), not a text table: give "
                                   "it the .xlsx extension or export the data as .csv", file=filename),
                                 status=415)
        utf16 = content[:2] in (b"\xff\xfe", b"\xfe\xff")
        if b"\x00" in content and not utf16:
            raise UploadRejected(_("'%(file)s' is a binary file, not a text table", file=filename),
                                 status=415)
        return CONTENT_TYPES[ext]
    if not is_zip:
        raise UploadRejected(_("'%(file)s' is not an Excel workbook (an .xlsx file is a zip container); "
                               "save it again as .xlsx or export the data as .csv", file=filename),
                             status=415)
    check_zip_container(filename, content, limits)
    return CONTENT_TYPES[ext]


def _named(filename: str, message: str) -> str:
    """The file's name before the reader's message: ``'a.xlsx' is a broken workbook ...`` where the
    (English) message goes on from the name, ``'a.xlsx': ...`` otherwise (and in other languages)."""
    if message.startswith(("is ", "holds ", "would ")):
        return f"'{filename}' {message}"
    return _("'%(file)s': %(error)s", file=filename, error=message)


def check_zip_container(filename: str, content: bytes, limits: UploadLimits) -> None:
    """Refuse a workbook whose zip directory is broken or promises too much decompressed data.

    The check is the readers' own (:func:`fluxwise.io.tables.limits.check_zip_container`), here with
    the server's limits; 413 for the expanded size, 422 for a broken container or a zip bomb.
    """
    try:
        infos = zip_check(io.BytesIO(content), filename,
                          max_uncompressed_bytes=limits.max_xlsx_uncompressed_bytes,
                          max_ratio=limits.max_xlsx_ratio, max_entries=limits.max_xlsx_entries)
    except LimitError as exc:
        raise UploadRejected(_named(filename, exc.message), status=413) from None
    except InputError as exc:
        raise UploadRejected(_named(filename, exc.message)) from None
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        raise UploadRejected(_("'%(file)s' is a zip file but not an Excel workbook", file=filename),
                             status=415)


def parse_upload(filename: str, content: bytes, *, area: str | None, mode: str | None,
                 density: str | None, columns: dict | None = None, max_dip: str | None = None):
    """Parse a checked upload into a :class:`~fluxwise.trial.Trial` with :func:`fluxwise.io.read_trial`.

    The bytes go to a private temporary folder under the file's own (cleaned) name, so messages name
    the file the user sent; any :class:`~fluxwise.errors.FluxwiseError` is re-raised with the folder
    removed from its message.
    """
    from ..io import read_trial

    with tempfile.TemporaryDirectory(prefix="fluxwise-upload-") as tmp:
        path = Path(tmp) / filename
        path.write_bytes(content)
        try:
            return read_trial(str(path), area=area, mode=mode, density=density, columns=columns or None,
                              max_dip=max_dip)
        except FluxwiseError as exc:
            clean = _TempPathRemover(str(path), filename, tmp + os.sep)
            status = 413 if isinstance(exc, LimitError) else 422
            raise UploadRejected(clean(str(exc)), status=status, cause=exc, clean=clean) from None
        except Exception as exc:  # noqa: BLE001 - a file nobody foresaw must still get a 4xx, not a 500
            log.warning("unexpected error parsing upload %r", filename, exc_info=True)
            raise UploadRejected(_("'%(file)s' cannot be read as a trial table (%(error)s); check that it is "
                                   "a rig export with a header row", file=filename, error=type(exc).__name__),
                                 status=422) from None
