"""Figures as plain, JSON-ready dicts — the JSON plotly.js reads — built without plotly.graph_objects.

``plotly.graph_objects`` validates every property it is given and copies its template into each figure;
on a busy server that cost more than the fits the figures show. :class:`PlainFigure` offers the few
calls fluxwise's figures use (``add_scatter``, ``add_bar``, ``add_vline``, ``update_layout``) and writes
the same JSON: plotly's ``plotly_white`` template is shipped pre-serialised (``static/plotly_white.json``,
checked against the installed plotly by the tests), numpy arrays are written once as plotly's typed
arrays (``{"dtype": "f8", "bdata": <base64>}``, as plotly itself writes them), and the magic-underscore
names (``xaxis_title``, ``yaxis_range``) expand as plotly expands them. Pure: no I/O after the template
is read once.
"""

from __future__ import annotations

import base64
import json
import math
from functools import lru_cache
from importlib import resources

import numpy as np

TEMPLATE = "plotly_white.json"
# Properties plotly takes as a string and writes as {"text": ...}.
_TEXT_OBJECTS = {"title"}


@lru_cache(maxsize=1)
def template_json() -> str:
    """The ``plotly_white`` template, serialised once (compact JSON)."""
    return (resources.files("fluxwise") / "report" / "static" / TEMPLATE).read_text(encoding="utf-8")


def _typed_array(a: np.ndarray) -> dict:
    """A numeric numpy array as plotly writes it: base64 of its bytes with its dtype."""
    a = np.ascontiguousarray(a)
    return {"dtype": a.dtype.str.lstrip("<|="), "bdata": base64.b64encode(a.tobytes()).decode("ascii")}


def _value(v):
    if isinstance(v, np.ndarray):
        return v  # written by _encoder, once, when the figure is serialised
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None  # as plotly writes NaN and infinity outside arrays: JSON has neither
    if isinstance(v, dict):
        return {k: _value(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_value(x) for x in v]
    return v


def _encoder(float32: bool):
    def encode(o):
        if isinstance(o, np.ndarray):
            if o.dtype.kind == "f":
                return _typed_array(o.astype(np.float32) if float32 and o.dtype == np.float64 else o)
            if o.dtype.kind in "iu" and o.dtype.itemsize <= 4:
                return _typed_array(o)
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"{type(o).__name__} is not JSON serialisable")
    return encode


def _set(target: dict, path: list[str], value) -> None:
    """Set ``target[path...] = value`` as plotly's magic underscores do (``xaxis_title_text``)."""
    for part in path[:-1]:
        node = target.get(part)
        if not isinstance(node, dict):
            node = {"text": node} if part in _TEXT_OBJECTS and node is not None else {}
            target[part] = node
        target = node
    key = path[-1]
    if key in _TEXT_OBJECTS and not isinstance(value, dict):
        old = target.get(key)
        value = {**(old if isinstance(old, dict) else {}), "text": value}
    if isinstance(value, dict) and isinstance(target.get(key), dict):
        for k, v in value.items():
            _set(target[key], [k], v)
        return
    target[key] = _value(value)


def _update(target: dict, props: dict) -> None:
    for name, value in props.items():
        _set(target, name.split("_") if "_" in name and name not in _LITERAL else [name], value)


# Property names that hold an underscore of their own (not a path).
_LITERAL = frozenset()


class PlainFigure:
    """A plotly figure as plain dicts: ``data`` (traces) and ``layout``."""

    def __init__(self):
        self.data: list[dict] = []
        self.layout: dict = {}
        self._template: str | None = None
        #: write float64 arrays as float32 (7 significant digits, half the bytes: what reports embed)
        self.float32 = False

    def _add(self, kind: str, props: dict) -> PlainFigure:
        trace: dict = {}
        _update(trace, props)
        trace["type"] = kind
        self.data.append(trace)
        return self

    def add_scatter(self, **props) -> PlainFigure:
        return self._add("scatter", props)

    def add_bar(self, **props) -> PlainFigure:
        return self._add("bar", props)

    def add_vline(self, x, line: dict | None = None) -> PlainFigure:
        """A vertical line across the plot at ``x`` (as plotly's ``add_vline``: x in data units, y the
        plot's height)."""
        shape = {"line": _value(line or {}), "type": "line", "x0": _value(x), "x1": _value(x), "xref": "x",
                 "y0": 0, "y1": 1, "yref": "y domain"}
        self.layout.setdefault("shapes", []).append(shape)
        return self

    def update_layout(self, **props) -> PlainFigure:
        template = props.pop("template", None)
        if template is not None:
            if template != "plotly_white":
                raise ValueError(f"only the plotly_white template is shipped, not {template!r}")
            self._template = template
        _update(self.layout, props)
        return self

    def to_dict(self) -> dict:
        """The figure as plotly.js reads it (the template included)."""
        return json.loads(self.to_json())

    def _layout_json(self) -> str:
        body = json.dumps(self.layout, separators=(",", ":"), allow_nan=False, default=_encoder(self.float32))
        if self._template is None:
            return body
        tail = "" if body == "{}" else "," + body[1:-1]
        return '{"template":' + template_json() + tail + "}"

    def to_json(self) -> str:
        """The figure as compact JSON; the template is spliced in as the text it was shipped as."""
        data = json.dumps(self.data, separators=(",", ":"), allow_nan=False, default=_encoder(self.float32))
        return '{"data":' + data + ',"layout":' + self._layout_json() + "}"
