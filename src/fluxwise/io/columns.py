"""Columns of a filterability trial: which header is time, filtrate (volume, mass, flow or flux) and
pressure, from the names and units in the headers or from a ``columns`` mapping; and the optional
channels a trial may log beside them: filtrate turbidity (NTU), the pressure between two filters in
series (P2; the pressure column is then P1, upstream of the first) and after the last (outlet).

:func:`select_columns` picks one column per role and parses its unit (the rules are listed in
:mod:`fluxwise.io.trials`); errors name the column and say how to write the header or the mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InputError, UnitError
from ..i18n import _
from ..units import parse_unit
from .tables.headers import is_clock_unit, name_role, norm_name, split_header

ROLES = ("time", "mass", "volume", "pressure", "flow", "turbidity", "p2", "p_outlet")
#: The optional channels, and the key of each in ``Trial.signals``.
SIGNALS = {"turbidity": "turbidity_NTU", "p2": "p2_bar", "p_outlet": "p_outlet_bar"}
TURBIDITY_UNITS = ("NTU", "FNU", "FTU")

_EXAMPLE_UNIT = {"time": "min", "mass": "g", "volume": "mL", "pressure": "bar", "flow": "mL/min",
                 "turbidity": "NTU", "p2": "bar", "p_outlet": "bar"}
# Names of the pressure between two filters in series, and after the last filter.
_P2 = re.compile(r"^p ?2$|\binter ?stage\b|\bbetween\b|\bintermediate\b|\bmid\b")
_P_OUTLET = re.compile(r"^p ?3$|\boutlet\b|\bdownstream\b|\bfiltrate pressure\b|\bpermeate pressure\b")


@dataclass
class Column:
    role: str  # time, filtrate, pressure
    index: int  # position in the frame
    header: str
    unit_text: str
    kind: str  # time, clock, mass, volume, flow, flux, pressure
    unit: object = None  # pint unit, None for clock


def header_list(headers) -> str:
    """Headers as quoted, comma-separated text for a message ("none" when there are none)."""
    shown = [h for h in headers if h]
    return ", ".join(f"'{h}'" for h in shown) if shown else "none"


def _mapping_advice(role: str, header: str, unit: str, fix_file: str) -> dict[str, str]:
    """How to say which column is ``role`` (and in which unit), in the words of each door."""
    return {"cli": f"{fix_file}, or give it with --column \"{role}={header} [{unit}]\" "
                   f"(columns={{'{role}': '{header} [{unit}]'}} in Python)",
            "api": f'{fix_file}, or give it with "columns": {{"{role}": ["{header}", "{unit}"]}}',
            "web": f"{fix_file}, or name the {role} column and its unit ({unit}) under “Columns” "
                   "(upload form, or “Correct how the file was read” on the trial page)"}


def mapping_names(columns) -> frozenset[str]:
    """Header names a ``columns`` mapping gives (casefolded, with and without unit), for finding the
    header row."""
    if not columns or not isinstance(columns, Mapping):
        return frozenset()
    names = set()
    for value in columns.values():
        text = value[0] if isinstance(value, tuple | list) and value else value
        if isinstance(text, str):
            names.add(" ".join(text.split()).casefold())
            names.add(split_header(text)[0].casefold())
    return frozenset(names)


def _find_mapped(value, role: str, headers: list[str], source: str):
    """(index, unit text or None) of the column a ``columns`` entry names."""
    if isinstance(value, tuple | list) and len(value) == 2:
        text, unit = str(value[0]), (str(value[1]) if value[1] is not None else None)
    elif isinstance(value, str):
        text, unit = value, None
    else:
        raise InputError(_("columns['%(role)s'] must be a header text such as 'Zeit [s]' or a (header, "
                           "unit) pair, not %(value)s", role=role, value=repr(value)), source=source,
                         field="columns")
    wanted = " ".join(text.split()).casefold()
    for i, h in enumerate(headers):
        if h.casefold() == wanted:
            return i, unit or split_header(h)[1]
    name, given = split_header(text)
    for i, h in enumerate(headers):
        if h.casefold() == name.casefold() or split_header(h)[0].casefold() == name.casefold():
            return i, unit or given or split_header(h)[1]
    raise InputError(_("columns['%(role)s'] names a column '%(name)s' that is not in the file (headers "
                       "found: %(headers)s)", role=role, name=text, headers=header_list(headers)),
                     source=source, field="columns")


def _pressure_rank(header: str) -> int:
    n = norm_name(split_header(header)[0])
    if re.search(r"\btmp\b|^dp$|δp|\bdelta ?p\b|differential", n):
        return 0
    if re.search(r"\bfeed\b|\binlet\b|\bin\b|^p ?1$", n):
        return 1
    return 2


def select_columns(headers: list[str], columns, source: str, notes: list[str]) -> dict[str, Column]:
    """Columns to use by role, with units parsed."""
    mapped: dict[str, tuple[int, str | None]] = {}
    if columns:
        if not isinstance(columns, Mapping):
            raise InputError("columns must be a mapping of role to header, e.g. {'time': 'Zeit [s]'}",
                             source=source, field="columns")
        for role, value in columns.items():
            r = {"flux": "flow", "p1": "pressure"}.get(role, role)
            if r not in ROLES:
                raise InputError(_("unknown column role '%(role)s' (use %(roles)s)", role=role,
                                   roles=", ".join(ROLES)), source=source, field="columns")
            mapped[r] = _find_mapped(value, role, headers, source)

    candidates: dict[str, list[int]] = {}
    used = {i for i, _ in mapped.values()}
    for i, h in enumerate(headers):
        if i in used:
            continue
        role = name_role(split_header(h)[0])
        if role:
            candidates.setdefault(role, []).append(i)

    def pick(role: str, index: int, unit_text: str | None, kind: str) -> Column:
        return Column(role, index, headers[index], unit_text, kind)

    chosen: dict[str, Column] = {}
    # time
    if "time" in mapped:
        chosen["time"] = pick("time", *mapped["time"], "time")
    elif candidates.get("time"):
        chosen["time"] = pick("time", candidates["time"][0], split_header(headers[candidates["time"][0]])[1],
                              "time")
        if len(candidates["time"]) > 1:
            notes.append(f"several time columns; used '{headers[candidates['time'][0]]}'")
    else:
        raise InputError(_("no time column found (headers found: %(headers)s)", headers=header_list(headers)),
                         source=source,
                         advice=_mapping_advice("time", "<header>", "min", "name it e.g. 'time (min)'"))
    # filtrate: volume > mass > filtrate/permeate (kind by unit) > flow
    for role in ("volume", "mass", "flow"):
        if role in mapped:
            chosen["filtrate"] = pick("filtrate", *mapped[role], role)
            break
    else:
        for role in ("volume", "mass", "filtrate", "flow"):
            if candidates.get(role):
                i = candidates[role][0]
                chosen["filtrate"] = pick("filtrate", i, split_header(headers[i])[1], role)
                break
        else:
            raise InputError(_("no filtrate column found: expected a filtrate mass, volume or flow column "
                               "such as 'filtrate mass (g)', 'Filtrate volume [mL]' or 'flow (mL/min)' "
                               "(headers found: %(headers)s)", headers=header_list(headers)), source=source)
    # pressure
    pressure_rest: list[int] = []
    if "pressure" in mapped:
        chosen["pressure"] = pick("pressure", *mapped["pressure"], "pressure")
        pressure_rest = list(candidates.get("pressure", []))
    elif candidates.get("pressure"):
        ranked = sorted(candidates["pressure"], key=lambda i: (_pressure_rank(headers[i]), i))
        chosen["pressure"] = pick("pressure", ranked[0], split_header(headers[ranked[0]])[1], "pressure")
        pressure_rest = ranked[1:]
    # optional channels: P2 (between filters in series), outlet pressure, turbidity
    for role, rule in (("p2", _P2), ("p_outlet", _P_OUTLET)):
        if role in mapped:
            chosen[role] = pick(role, *mapped[role], "pressure")
            continue
        hit = [i for i in pressure_rest if rule.search(norm_name(split_header(headers[i])[0]))]
        if hit and "pressure" in chosen:
            chosen[role] = pick(role, hit[0], split_header(headers[hit[0]])[1], "pressure")
            pressure_rest.remove(hit[0])
    if pressure_rest and "pressure" not in mapped:
        notes.append(f"several pressure columns; used '{chosen['pressure'].header}', ignored "
                     f"{header_list(headers[i] for i in pressure_rest)}")
    if "turbidity" in mapped:
        chosen["turbidity"] = pick("turbidity", *mapped["turbidity"], "turbidity")
    elif candidates.get("turbidity"):
        i = candidates["turbidity"][0]
        chosen["turbidity"] = pick("turbidity", i, split_header(headers[i])[1], "turbidity")

    for col in chosen.values():
        _parse_column_unit(col, source)
    return chosen


def _parse_column_unit(col: Column, source: str) -> None:
    """Set ``col.kind`` and ``col.unit`` from its unit text; errors name the column."""
    role = col.role
    if role == "filtrate":
        role = col.kind if col.kind in ("mass", "volume", "flow") else "mass"
    if col.kind == "turbidity":
        text = (col.unit_text or "").strip()
        named = re.search(r"\b(ntu|fnu|ftu)\b", norm_name(split_header(col.header)[0]))
        if not text and named:
            text = named.group(1)
        unit = next((u for u in TURBIDITY_UNITS if text.upper() == u), None)
        if unit is None:
            raise UnitError(f"turbidity must be in NTU (or FNU/FTU), got {text or 'no unit'!r}: write the "
                            "header e.g. 'filtrate turbidity (NTU)'", source=source, column=col.header)
        col.unit_text, col.unit = unit, None
        return
    if not col.unit_text:
        example = _EXAMPLE_UNIT.get(role, "unit")
        name = split_header(col.header)[0] or col.header
        map_role = col.kind if col.kind in ROLES else role
        raise InputError(_("no unit given"), source=source, column=col.header, advice=_mapping_advice(
            map_role, name, example, f"write it in the header, e.g. '{name} ({example})'"))
    text = col.unit_text.strip()
    if col.kind == "time" and is_clock_unit(text):
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


def meta_role(c: Column) -> str:
    """The ``columns`` role a chosen column has: time, mass, volume, flow or pressure."""
    if c.role != "filtrate":
        return c.role
    return "flow" if c.kind == "flux" else c.kind
