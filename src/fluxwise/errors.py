"""One exception family for everything a user can get wrong.

Every message is written for a scientist: it names the file, the row or column, or the field, and
says what was expected. The doors turn :class:`FluxwiseError` into exit code 2 (CLI) or an HTTP
4xx (API, web pages) carrying the message; nothing else is shown to the user.

What to do about it depends on the door: the command line has options (``--area "13.8 cm2"``), the
API and Python have fields and arguments (``"area": "13.8 cm2"``), the web pages have form fields
("Filter area"). An error made with ``advice={"cli": ..., "api": ..., "web": ...}`` keeps one
message and a fix per door; :meth:`FluxwiseError.for_door` gives the wording of one door (``str()`` is
the command line's, which is also what a Python user reads).
"""

from __future__ import annotations

import math

DOORS = ("cli", "api", "web")


class FluxwiseError(Exception):
    """Base class: an error the user can fix from its message alone.

    ``advice`` maps a door (``cli``, ``api``, ``web``) to how to fix it there; a door without its own
    falls back to ``api`` (web); none other (an option of the command line means nothing in a form).
    The advice follows the message in parentheses.
    """

    advice: dict[str, str] = {}

    def __init__(self, *args, advice: dict[str, str] | None = None):
        if advice:
            self.advice = dict(advice)
        super().__init__(*args)

    def _advice_for(self, door: str) -> str | None:
        fallback = {"web": ("web", "api"), "api": ("api",), "cli": ("cli",)}[door]
        return next((self.advice[d] for d in fallback if self.advice.get(d)), None)

    def _message(self, door: str, labels: dict[str, str] | None = None) -> str:
        return Exception.__str__(self)

    def for_door(self, door: str = "cli", labels: dict[str, str] | None = None) -> str:
        """The message as ``door`` words it; ``labels`` names fields as that door shows them (a web
        form's labels for the API's field names)."""
        text = self._message(door, labels)
        how = self._advice_for(door)
        if how:
            from .i18n import gettext  # advice kept as a constant (marked with N_) reads translated

            how = gettext(how)
        return f"{text} ({how})" if how else text

    def __str__(self) -> str:
        return self.for_door("cli")


class InputError(FluxwiseError):
    """Bad input data: a file, a row, a column or a field that is not what was expected.

    Parameters
    ----------
    message : str
        What is wrong and what was expected.
    source : str, optional
        File name (or other origin) the error refers to.
    row : int, optional
        1-based row number as a spreadsheet shows it (header = row 1).
    column : str, optional
        Column header as it appears in the file.
    field : str, optional
        Name of an option or a YAML/JSON field.
    """

    def __init__(self, message: str, *, source: str | None = None, row: int | None = None,
                 column: str | None = None, field: str | None = None, advice: dict[str, str] | None = None):
        self.message = message
        self.source = source
        self.row = row
        self.column = column
        self.field = field
        if advice:
            self.advice = dict(advice)
        Exception.__init__(self, self.for_door("cli"))

    def _message(self, door: str, labels: dict[str, str] | None = None) -> str:
        where = []
        if self.source:
            where.append(str(self.source))
        from .i18n import _  # the labels in the language of the request that shows the message

        if self.row is not None:
            where.append(_("row %(n)s", n=self.row))
        if self.column is not None:
            where.append(_("column '%(name)s'", name=self.column))
        if self.field is not None:
            if door == "web":
                label = (labels or {}).get(self.field) or self.field.lstrip("-").replace("_", " ")
                where.append(_("field “%(label)s”", label=label))
            else:
                where.append(_("field '%(name)s'", name=self.field))
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class UnitError(InputError):
    """A quantity with a unit that is unknown or of the wrong dimension."""


class LimitError(InputError):
    """An input beyond a size limit of the readers: bytes, line length, rows, columns, or the expanded
    size of a workbook (the server answers 413)."""


class ModelError(FluxwiseError):
    """A model name or parameter set that does not exist or cannot be used."""


class DesignError(FluxwiseError):
    """A design request that has no solution (e.g. the batch cannot be filtered in the time)."""


def positive_number(value, field: str, *, allow_zero: bool = False) -> float:
    """``value`` as a float that is positive (or zero with ``allow_zero``); else an InputError naming
    ``field`` and what was expected."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"must be a number, got {value!r}", field=field) from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"must be {'zero or positive' if allow_zero else 'positive'}, got {value!r}",
                         field=field)
    return v


class RefusedError(FluxwiseError):
    """A request the lab refuses as asked (a run over budget, a step after the time limit).

    ``reason`` names what limits it in one word (``feed``, ``bench_time``, ``money``,
    ``time_limit``, ``attempts``, ``graded``); the message gives the numbers.
    """

    def __init__(self, message: str, *, reason: str):
        self.reason = reason
        super().__init__(message)
