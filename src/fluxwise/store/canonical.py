"""Canonical JSON: one text for one value, so that hashes can be recomputed anywhere.

Keys sorted, no whitespace, UTF-8, and non-finite floats written as ``null`` (JSON has no NaN, and
PostgreSQL refuses it). numpy scalars and arrays become plain numbers and lists.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime
from typing import Any


def to_jsonable(value: Any) -> Any:
    """A plain JSON value (dict/list/str/int/float/bool/None) for ``value``; NaN and inf -> None."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, datetime | date):
        return value.isoformat()
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return to_jsonable(tolist())
    item = getattr(value, "item", None)
    if callable(item):
        return to_jsonable(item())
    return str(value)


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (see module docstring)."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def same_numbers(a: Any, b: Any, *, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    """Whether two JSON values are the same, numbers within ``rtol`` (relative) or ``atol`` (absolute):
    "would a report computed again show the numbers that were stored". Both sides are compared as their
    canonical JSON reads back (NaN and inf as null)."""
    return _same(json.loads(canonical_json(a)), json.loads(canonical_json(b)), rtol, atol)


def _same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or abs(a - b) <= max(atol, rtol * max(abs(a), abs(b)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    return a == b
