"""Reading a YAML mapping key by key for the virtual lab's files: every error names the file and the
key as a path (``filters[2].truth.ks_m2_per_L``); quantities with units through the project's pint
registry; distributions of hidden values (fixed, log-normal, log-uniform, uniform)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from ..errors import InputError, UnitError
from ..training.scenario import Dist
from ..units import Q_, parse_quantity, parse_unit, ureg

__all__ = ["Node", "parse_value", "distribution", "kind_text"]

_CUSTOM_UNITS = {
    "permeability": "L/m**2/h/bar",
    "viscosity": "mPa*s",
    "mass_rate": "g/h",
    "volume_rate": "mL/h",
}


# ------------------------------------------------------------------------------- field reading


class Node:
    """A mapping read key by key; every error names the file and the key path."""

    def __init__(self, data, source: str, path: str, allowed: set[str] | None = None):
        self.source, self.path = source, path
        if not isinstance(data, Mapping):
            raise self.error(None, f"expected a mapping of keys, got {kind_text(data)}")
        self.data = data
        if allowed is not None:
            for key in data:
                if key not in allowed:
                    raise self.error(
                        str(key), f"unknown key '{key}' (keys here: {', '.join(sorted(allowed))})"
                    )

    def at(self, key) -> str:
        if key is None:
            return self.path or "(top level)"
        return f"{self.path}.{key}" if self.path else str(key)

    def error(self, key, message: str, cls=InputError) -> InputError:
        return cls(message, source=self.source, field=self.at(key))

    def has(self, key) -> bool:
        return self.data.get(key) is not None

    def raw(self, key, *, required=False, what=""):
        if not self.has(key):
            if required:
                raise self.error(key, "missing required key" + (f" ({what})" if what else ""))
            return None
        return self.data[key]

    def node(self, key, allowed=None, *, required=False) -> Node | None:
        v = self.raw(key, required=required)
        return None if v is None else Node(v, self.source, self.at(key), allowed)

    def text(self, key, *, required=False, default=None) -> str | None:
        v = self.raw(key, required=required)
        if v is None:
            return default
        if isinstance(v, Mapping | list | bool):
            raise self.error(key, f"expected text, got {kind_text(v)}")
        return str(v).strip()

    def choice(self, key, options, *, required=False, default=None) -> str | None:
        v = self.text(key, required=required, default=default)
        if v is not None and v not in options:
            raise self.error(key, f"'{v}' is not one of: {', '.join(options)}")
        return v

    def number(
        self, key, *, required=False, default=None, low=None, high=None, positive=False, integer=False
    ) -> float | None:
        v = self.raw(key, required=required)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise self.error(key, f"expected a number, got {kind_text(v)}")
        try:
            x = float(str(v).strip().rstrip("%")) / (100.0 if str(v).strip().endswith("%") else 1.0)
        except ValueError:
            raise self.error(key, f"'{v}' is not a number") from None
        return self._check(key, v, x, low, high, positive, integer)

    def _check(self, key, v, x, low, high, positive, integer):
        if not math.isfinite(x):
            raise self.error(key, f"must be a finite number, got {v!r}")
        if positive and not x > 0:
            raise self.error(key, f"must be positive, got {v!r}")
        if low is not None and x < low:
            raise self.error(key, f"must be at least {low:g}, got {v!r}")
        if high is not None and x > high:
            raise self.error(key, f"must be at most {high:g}, got {v!r}")
        if integer and x != int(x):
            raise self.error(key, f"must be a whole number, got {v!r}")
        return int(x) if integer else x

    def quantity(
        self,
        key,
        kind,
        *,
        required=False,
        default=None,
        positive=True,
        allow_zero=False,
        value=None,
        example=None,
    ):
        v = self.raw(key, required=required) if value is None else value
        if v is None:
            return default
        x = parse_value(v, kind, self, key, example)
        if not math.isfinite(x) or x < 0 or (x == 0 and positive and not allow_zero):
            if not (kind == "temperature" and math.isfinite(x)):
                what = "zero or positive" if allow_zero else "positive"
                raise self.error(key, f"must be {what}, got {v!r}")
        return x

    def bool(self, key, *, default=False) -> bool:
        v = self.raw(key)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.error(key, f"expected true or false, got {v!r}")
        return v


def kind_text(v) -> str:
    return {dict: "a mapping", list: "a list", str: f"text '{v}'", bool: f"{v}".lower()}.get(
        type(v), f"{type(v).__name__} {v!r}"
    )


_EXAMPLES = {
    "pressure": "30 psi",
    "time": "4 h",
    "volume": "2000 L",
    "area": "13.8 cm2",
    "flux": "150 LMH",
    "temperature": "20 degC",
    "density": "1.03 g/mL",
    "mass": "0.01 g",
    "surface_tension": "30 mN/m",
    "permeability": "1500 LMH/bar",
    "viscosity": "1.4 cP",
    "mass_rate": "0.05 g/h",
    "volume_rate": "0.05 mL/h",
}


def parse_value(v, kind, node: Node, key, example=None) -> float:
    ex = example or _EXAMPLES.get(kind, "1")
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise node.error(key, f"expected a quantity with a unit, e.g. '{ex}', got {kind_text(v)}", UnitError)
    if kind in _CUSTOM_UNITS:
        target = ureg.Unit(_CUSTOM_UNITS[kind])
        text = str(v).strip()
        parts = text.split(None, 1)
        try:
            mag = float(parts[0])
        except (ValueError, IndexError):
            raise node.error(key, f"'{v}' is not a quantity (expected e.g. '{ex}')", UnitError) from None
        if len(parts) < 2:
            raise node.error(key, f"'{v}' has no unit (expected e.g. '{ex}')", UnitError)
        try:
            unit = parse_unit(parts[1])
        except UnitError as exc:
            raise node.error(key, exc.message, UnitError) from None
        if unit.dimensionality != target.dimensionality:
            raise node.error(
                key,
                f"unit '{parts[1]}' is not a {kind.replace('_', ' ')} unit (expected e.g. '{ex}')",
                UnitError,
            )
        return float(Q_(mag, unit).to(target).magnitude)
    try:
        return parse_quantity(v, kind, field=node.at(key), source=node.source)
    except UnitError as exc:
        raise node.error(key, exc.message + f" (e.g. '{ex}')", UnitError) from None


def distribution(
    node: Node, key, kind, *, required=True, scale="log", example=None, positive=True
) -> Dist | None:
    """A fixed quantity, or {median, cv} (lognormal), or {low, high[, scale]} (log-uniform or uniform)."""
    v = node.raw(key, required=required)
    if v is None:
        return None

    def q(n: Node, k):
        if kind is None:
            return n.number(k, required=True, positive=positive)
        return n.quantity(k, kind, required=True, example=example, positive=positive)

    if not isinstance(v, Mapping):
        return Dist("fixed", q(node, key))
    d = node.node(key, {"median", "cv", "low", "high", "scale", "fixed"})
    if d.has("fixed"):
        return Dist("fixed", q(d, "fixed"))
    if d.has("median"):
        return Dist("lognormal", q(d, "median"), d.number("cv", required=True, low=0.0, high=3.0))
    if not (d.has("low") and d.has("high")):
        raise d.error(None, "expected a value, {median, cv} or {low, high}")
    lo, hi = q(d, "low"), q(d, "high")
    if hi < lo:
        raise d.error("high", f"must be at least low ({d.raw('low')})")
    sc = d.choice("scale", ("log", "linear"), default=scale)
    if sc == "log" and not lo > 0:
        raise d.error("low", "a log scale needs positive bounds (or scale: linear)")
    return Dist("uniform" if sc == "linear" else "loguniform", lo, hi)
