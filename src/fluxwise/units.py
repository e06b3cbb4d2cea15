"""The one pint registry of fluxwise, and conversions to the canonical internal units.

Canonical units (see DESIGN.md): time h, volume per area L/m², flux L/m²/h (LMH), pressure bar,
area m², volume L, concentration g/L, density g/mL. The science layers below (``models``, ``fit``,
``design``) see plain floats in these units; pint is used only here, in ``io`` and in the doors.
"""

from __future__ import annotations

import re
import sys

from .errors import UnitError


def _import_pint():
    """``import pint`` without its optional Dask integration.

    pint imports ``dask.base`` whenever Dask is installed (a fifth of a second and more, and most of
    pint's import time), for Quantities that wrap Dask arrays, which fluxwise never makes: the
    commands that read a unit would otherwise pay for Dask. Dask itself stays importable and is
    imported where fluxwise uses it (``fluxwise.compute``).
    """
    if "pint" in sys.modules or "dask" in sys.modules:
        import pint

        return pint
    sys.modules["dask"] = None  # pint then sees no Dask
    try:
        import pint
    finally:
        if sys.modules.get("dask", 0) is None:
            del sys.modules["dask"]
    return pint


def _cache_folder(pint) -> str:
    """A pint cache folder of this installation of pint alone.

    pint's shared ``~/.cache/pint`` records where each definitions file was read from; once that
    installation is moved or removed (another virtual environment, a rebuilt one), loading from the
    shared cache fails on every start and the definitions are parsed again each time. A folder keyed
    by the path of the pint package in use never sees another installation's entries.
    """
    import hashlib
    import os
    from pathlib import Path

    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    key = hashlib.sha1(str(Path(pint.__file__).resolve().parent).encode()).hexdigest()[:16]
    return str(Path(base) / "fluxwise" / f"pint-{pint.__version__}-{key}")


def _registry(pint):
    """The unit registry, its parsed definitions cached on disk by pint (see :func:`_cache_folder`).

    Parsing pint's definitions takes about half a second; the cache (keyed by their content) makes
    it a few hundredths. Where the cache cannot be used (read-only folder, a file being written by
    another process), the definitions are parsed as usual.
    """
    try:
        return pint.UnitRegistry(autoconvert_offset_to_baseunit=True, cache_folder=_cache_folder(pint))
    except Exception:  # noqa: BLE001 - any cache problem: parse the definitions instead
        return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


pint = _import_pint()
ureg = _registry(pint)
ureg.define("LMH = liter / meter ** 2 / hour")
ureg.define("psig = psi")
ureg.define("psid = psi")
ureg.define("mbarg = millibar")
ureg.define("barg = bar")
Q_ = ureg.Quantity

CANONICAL = {
    "time": "hour",
    "volume": "liter",
    "mass": "gram",
    "area": "meter ** 2",
    "pressure": "bar",
    "flux": "liter / meter ** 2 / hour",
    "specific_volume": "liter / meter ** 2",
    "flow": "liter / hour",
    "concentration": "gram / liter",
    "density": "gram / milliliter",
    "length": "meter",
    "temperature": "degC",
    "surface_tension": "millinewton / meter",
    "viscosity": "millipascal * second",
}
#: Each kind's unit as a user writes it (in messages: "cm2", never pint's "meter ** 2").
EXAMPLE_UNIT = {"time": "h", "volume": "L", "mass": "g", "area": "cm2", "pressure": "bar", "flux": "LMH",
                "specific_volume": "L/m2", "flow": "L/h", "concentration": "g/L", "density": "g/mL",
                "length": "m", "temperature": "degC", "surface_tension": "mN/m", "viscosity": "mPa*s"}

_DIMENSIONS = {
    "time": "[time]",
    "volume": "[length] ** 3",
    "mass": "[mass]",
    "area": "[length] ** 2",
    "pressure": "[mass] / [length] / [time] ** 2",
    "flux": "[length] / [time]",
    "specific_volume": "[length]",
    "flow": "[length] ** 3 / [time]",
    "concentration": "[mass] / [length] ** 3",
    "density": "[mass] / [length] ** 3",
    "length": "[length]",
    "temperature": "[temperature]",
    "surface_tension": "[mass] / [time] ** 2",
    "viscosity": "[mass] / [length] / [time]",
}

# Spellings found in rig and balance exports that pint does not read as meant.
_ALIASES = {
    "cm2": "cm**2", "m2": "m**2", "mm2": "mm**2", "ft2": "ft**2", "in2": "inch**2",
    "cm²": "cm**2", "m²": "m**2", "mm²": "mm**2", "ft²": "ft**2",
    "lmh": "LMH", "l/m2/h": "LMH", "l/m²/h": "LMH", "l/(m2·h)": "LMH", "l/m2h": "LMH",
    "l/m2": "L/m**2", "l/m²": "L/m**2", "ml/cm2": "mL/cm**2",
    "l": "L", "ml": "mL", "ul": "uL", "µl": "uL", "μl": "uL",
    "sec": "s", "secs": "s", "mins": "min", "hr": "h", "hrs": "h",
    "ml/min": "mL/min", "l/min": "L/min", "l/h": "L/h", "ml/h": "mL/h", "ml/s": "mL/s",
    "g/ml": "g/mL", "kg/l": "kg/L", "g/l": "g/L", "mg/ml": "mg/mL", "cc": "mL",
    "°c": "degC", "c": "degC", "degc": "degC",
    "mpa s": "mPa*s", "mpa·s": "mPa*s", "mpas": "mPa*s", "mpa*s": "mPa*s", "pa s": "Pa*s", "pa·s": "Pa*s",
    "cp": "cP",
}


def _normalise(text: str) -> str:
    t = text.strip()
    low = t.lower()
    if low in _ALIASES:
        return _ALIASES[low]
    t = t.replace("²", "**2").replace("³", "**3").replace("·", "*").replace("µ", "u").replace("μ", "u")
    t = re.sub(r"(?<=[A-Za-z])([23])\b", r"**\1", t)  # cm2 -> cm**2 inside compound units
    return t


MAX_UNIT_CHARS = 64
"""Longest unit text read; a unit in a header or a field is a few characters."""

_QUANTITY = re.compile(r"([-+]?+(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][-+]?+\d++)?+)\s*+(.*)", re.S)
_UNIT_TOKEN = re.compile(r"\s*(?:(?P<name>[^\W\d]\w*|°\w*|%)|(?P<number>\d+(?:\.\d+)?)"
                         r"|(?P<op>\*\*|[\^*/()+-]))")
_MAX_EXPONENT = 12


class _UnitSyntax(ValueError):
    pass


def _unit_tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _UNIT_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _UnitSyntax(text)
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def _unit_from_tokens(tokens: list[tuple[str, str]]) -> pint.Unit:
    """A unit from a product of names with small numeric powers, built name by name.

    Grammar: ``product := power (('*' | '/' | juxtaposition) power)*``, ``power := atom [('**' | '^')
    exponent]``, ``atom := name | '1' | '(' product ')'``, ``exponent := [sign] number`` with
    ``|number| <= 12``. Nothing is evaluated as an expression, so ``9**9**9`` or ``(9**9)**9`` are
    refused in microseconds instead of computing huge powers.
    """
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else (None, None)

    def take():
        nonlocal pos
        tok = peek()
        pos += 1
        return tok

    def exponent() -> float:
        kind, value = take()
        sign = 1.0
        if kind == "op" and value in "+-":
            sign = -1.0 if value == "-" else 1.0
            kind, value = take()
        if kind != "number" or float(value) > _MAX_EXPONENT:
            raise _UnitSyntax(value)
        number = float(value)
        return sign * (int(number) if number.is_integer() else number)

    def atom() -> pint.Unit:
        kind, value = take()
        if kind == "name":
            return ureg.Unit(value)
        if kind == "number" and value == "1":
            return ureg.Unit("dimensionless")
        if kind == "op" and value == "(":
            inner = product()
            if take() != ("op", ")"):
                raise _UnitSyntax(value)
            return inner
        raise _UnitSyntax(value)

    def power() -> pint.Unit:
        base = atom()
        if peek() in (("op", "**"), ("op", "^")):
            take()
            if peek()[0] == "number" and base.dimensionless:
                raise _UnitSyntax("number power")
            base = base ** exponent()
        return base

    def product() -> pint.Unit:
        unit = power()
        while True:
            kind, value = peek()
            if kind == "op" and value in "*/":
                take()
                unit = unit * power() if value == "*" else unit / power()
            elif kind == "name" or (kind == "op" and value == "("):
                unit = unit * power()  # "N m": juxtaposition multiplies, as in pint
            else:
                return unit

    unit = product()
    if pos != len(tokens):
        raise _UnitSyntax("trailing text")
    return unit


def parse_unit(text: str, kind: str | None = None, *, source: str | None = None,
               column: str | None = None, field: str | None = None) -> pint.Unit:
    """Parse a unit string such as ``"min"``, ``"cm2"``, ``"psi"`` or ``"mL/min"``.

    The text is read as a product of unit names with small numeric powers (see
    :func:`_unit_from_tokens`) and never evaluated as an arbitrary expression: a header such as
    ``time (9**9**9)`` is an unknown unit, not a computation.

    Raises :class:`UnitError` naming the unit, where it came from and, when ``kind`` is given,
    the dimension that was expected.
    """
    text = str(text)
    shown = text if len(text) <= MAX_UNIT_CHARS else text[:MAX_UNIT_CHARS] + "…"
    expected = f" (expected a {kind} unit such as {EXAMPLE_UNIT[kind]!r})" if kind else ""
    if len(text) > MAX_UNIT_CHARS:
        raise UnitError(f"unknown unit '{shown}': longer than {MAX_UNIT_CHARS} characters{expected}",
                        source=source, column=column, field=field)
    try:
        unit = _unit_from_tokens(_unit_tokens(_normalise(text)))
    except Exception:  # noqa: BLE001 - pint raises several kinds for an unknown name
        raise UnitError(f"unknown unit '{shown}'{expected}", source=source, column=column,
                        field=field) from None
    if kind is not None and unit.dimensionality != ureg.get_dimensionality(_DIMENSIONS[kind]):
        raise UnitError(f"unit '{text}' is not a {kind} unit (expected e.g. {EXAMPLE_UNIT[kind]!r})",
                        source=source, column=column, field=field)
    return unit


def parse_quantity(text: str | float | int, kind: str, *, default_unit: str | None = None,
                   field: str | None = None, source: str | None = None) -> float:
    """Parse ``"13.8 cm2"``, ``"2000 L"`` or ``"4 h"`` and return the magnitude in canonical units.

    A bare number is accepted only when ``default_unit`` is given. Raises :class:`UnitError` with
    the field name when the text is not a quantity of the expected kind.
    """
    if isinstance(text, int | float):
        if default_unit is None:
            raise UnitError(f"'{text}' has no unit (expected a {kind} such as '1 {EXAMPLE_UNIT[kind]}')",
                            field=field, source=source)
        return float(Q_(float(text), parse_unit(default_unit, kind)).to(CANONICAL[kind]).magnitude)
    s = str(text).strip()
    # possessive quantifiers: no backtracking, so the cost is linear in the length of the text
    m = _QUANTITY.match(s)
    if not m:
        if len(s) > 80:
            text = s[:80] + "…"
        raise UnitError(f"'{text}' is not a quantity (expected a number and a {kind} unit, "
                        f"e.g. '1 {EXAMPLE_UNIT[kind]}')", field=field, source=source)
    value, unit_text = float(m.group(1)), m.group(2)
    if not unit_text:
        if default_unit is None:
            raise UnitError(f"'{text}' has no unit (expected a {kind} unit, e.g. "
                            f"'{value:g} {EXAMPLE_UNIT[kind]}')", field=field, source=source)
        unit_text = default_unit
    unit = parse_unit(unit_text, kind, field=field, source=source)
    return float(Q_(value, unit).to(CANONICAL[kind]).magnitude)


def to_canonical(values, unit: pint.Unit, kind: str):
    """Convert a number or array in ``unit`` to the canonical unit of ``kind``."""
    return Q_(values, unit).to(CANONICAL[kind]).magnitude
