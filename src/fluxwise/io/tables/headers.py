"""Headers of a bench table: name and unit of a header, the column names recognised, the header row.

A header carries its unit as ``name (unit)``, ``name [unit]``, ``name / unit`` or ``name_unit``
(:func:`split_header`). :func:`name_role` knows the column names of bench exports (time, flow,
pressure, mass, volume, filtrate); :func:`find_header` takes the first row in which at least two
cells are such names (or further names a reader asks for), :func:`guess_header` the last text row
before the first all-numeric row.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ...errors import FluxwiseError
from ...units import parse_unit
from .cells import NUMBER, is_blank, is_number_cell

HEADER_SCAN_ROWS = 200

_ROLE_RULES = (
    ("turbidity", re.compile(r"\bturbidity\b|\bntu\b|\bfnu\b|\btrübung\b")),
    ("time", re.compile(r"^(t|elapsed|duration|dauer|laufzeit)$|\btime\b|\bzeit\b")),
    ("flow", re.compile(r"^(q|j)$|\bflow|\bflux\b|\bdurchfluss\b")),
    ("pressure", re.compile(r"^(p|dp|δp|p ?\d+|p ?(feed|in|inlet|tm))$|\bpressure\b|\btmp\b|\bdelta ?p\b"
                            r"|\bdruck\b")),
    ("mass", re.compile(r"^(m|w)$|\bmass\b|\bweight\b|\bgewicht\b|\bmasse\b")),
    ("volume", re.compile(r"^(v|vol)$|\bvolume\b|\bvol\b|\bvolumen\b")),
    ("filtrate", re.compile(r"\bfiltrate?\b|\bpermeate?\b|\bbalance\b|\bwaage\b")),
)
_LETTER = re.compile(r"[^\W\d_]")
_CLOCK_UNIT = re.compile(r"^(h{1,2}:mm(:ss(\.s+)?)?|mm:ss(\.s+)?)$")


def split_header(text) -> tuple[str, str | None]:
    """Split ``"time (min)"`` into ``("time", "min")``; ``("Sample", None)`` when there is no unit."""
    t = " ".join(str(text).split())
    return _split_header(t) if len(t) <= 200 else _split_header.__wrapped__(t)


@lru_cache(maxsize=8192)
def _split_header(t: str) -> tuple[str, str | None]:
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
        if name and suffix and looks_like_unit(suffix):
            return name, suffix
    return t, None


@lru_cache(maxsize=512)
def looks_like_unit(text: str) -> bool:
    """True for a time clock format or any unit pint knows that is not dimensionless."""
    text = text.strip().strip("()[]").strip()
    if not text or NUMBER.match(text):
        return False
    if is_clock_unit(text):
        return True
    try:
        unit = parse_unit(text)
    except FluxwiseError:
        return False
    return not unit.dimensionless


def is_clock_unit(unit: str | None) -> bool:
    return unit is not None and bool(_CLOCK_UNIT.match(unit.strip().lower().replace(" ", "")))


def norm_name(name: str) -> str:
    return " ".join(re.sub(r"[_\-.:]+", " ", name.lower()).split())


@lru_cache(maxsize=8192)
def name_role(name: str) -> str | None:
    """Role of a column name without its unit: time, flow, pressure, mass, volume, filtrate, turbidity
    or None."""
    n = norm_name(name)
    if not n:
        return None
    for role, rule in _ROLE_RULES:
        if rule.search(n):
            return role
    return None


def _header_hits(cells, extra: frozenset[str]) -> int:
    """Number of cells in a row that look like column names (known names or mapped headers)."""
    hits = 0
    for c in cells:
        if not isinstance(c, str) or not c.strip() or len(c) > 80 or NUMBER.match(c):
            continue
        text = " ".join(c.split())
        name, _ = split_header(text)
        if ":" in name:  # "Mode: constant pressure" is a metadata line, not a header
            continue
        if name_role(name) or text.casefold() in extra or name.casefold() in extra:
            hits += 1
    return hits


def _joined(cells) -> str:
    try:
        return "\x1f".join(cells)  # a row of text (csv)
    except TypeError:
        return "\x1f".join(c for c in cells if isinstance(c, str))


def find_header(rows: list[list], extra: frozenset[str]) -> tuple[int, int] | None:
    """(index, hits) of the first row with >= 2 recognised column names, or None."""
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        # a row without a letter holds no name: skipped at the speed of one search, however wide
        if not _LETTER.search(_joined(cells)):
            continue
        hits = _header_hits(cells, extra)
        if hits >= 2 and sum(is_number_cell(c) for c in cells) < hits:
            return i, hits
    return None


def guess_header(rows: list[list]) -> int | None:
    """The last non-blank row before the first all-numeric row (a header of unknown names)."""
    previous = None
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        filled = [c for c in cells if not is_blank(c)]
        if not filled:
            continue
        if all(is_number_cell(c) for c in filled):
            return previous
        previous = i
    return None
