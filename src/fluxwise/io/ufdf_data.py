r"""Read UF/DF bench data (CSV/XLSX, units in the headers) and take them to :mod:`fluxwise.fit.ufdf`.

Three kinds of table, one reader (:func:`read_ufdf_data`), each row one steady reading:

* **TMP excursions** — transmembrane pressure and flux (or permeate flow and the membrane area) at
  fixed crossflow and concentration; several excursions in one file are told apart by a crossflow
  or feed-flow column, a concentration column, or a run column;
* **flux against concentration** — limiting (pressure-independent) flux at several bulk
  concentrations, for the gel model ``J = k ln(Cg/C)``;
* **limiting flux against crossflow** — for the mass-transfer correlation ``k = a·Q^b``.

The table is found by :func:`fluxwise.io.tables.read_table`, exactly as for filterability trials:
metadata lines above it (``Membrane area: 0.11 m2``), a units row below the header, ``;`` or tab
delimiters and decimal commas, Excel sheets.

Columns (recognised by name, case-insensitive words; the unit in the header as ``name (unit)``,
``name [unit]``, ``name / unit`` or ``name_unit``):

=============  ============================================================  ==========================
role           names                                                         unit
=============  ============================================================  ==========================
tmp            TMP, transmembrane pressure, P_TM                             pressure (bar, psi, kPa, …)
pressure       feed / retentate / permeate pressure, P feed, P ret, P perm   pressure: TMP = (Pf + Pr)/2
                                                                             − Pp when no TMP column
flux           flux, J, J_lim, limiting flux, permeate (flow), filtrate      flux (LMH), or a flow
                                                                             (mL/min) with the area
crossflow      crossflow, cross flow, feed flow, feed flux, Q_feed,          flux (L/m²/h: feed flow per
               retentate flow, recirculation                                 membrane area) or a flow
concentration  concentration, conc, C, protein, titre                        concentration (g/L, mg/mL)
run            run, excursion, group, series, experiment                     none (a label)
=============  ============================================================  ==========================

A permeate flow becomes flux ``J = Q_p / A``; a crossflow given as a flow becomes feed flux per
membrane area ``Q_f / A`` (LMH, the unit of ``feed_flux`` in a train) when the area is known, and
is kept in L/h otherwise. The area comes from the ``area`` argument (``--area``) or a metadata
line whose key contains "area". Explicit ``columns={"tmp": "P_TM [bar]"}`` override detection.

Excursions
----------
Points are grouped by the run column when there is one, else by their crossflow and concentration
(to three significant digits, so that set points read back with small deviations stay together).
:func:`analyze_tmp_excursions` finds the knee of each group with
:func:`fluxwise.fit.ufdf.find_limiting_flux`. :func:`analyze_gel_polarization` and
:func:`analyze_mass_transfer` fit a points table directly, or, when the file holds excursions
(a TMP column and at least three TMP levels in some group), first take each excursion's limiting
flux (``limiting_flux_LMH``: the plateau flux of the two-segment fit at the highest TMP, or the
largest mean flux of the slope-fraction method).

Every problem is an :class:`~fluxwise.errors.InputError` naming the file and, where it applies, the
row (as numbered in the file) and the column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, ModelError, UnitError
from ..fit.ufdf import (
    GelPolarizationFit,
    LimitingFluxResult,
    MassTransferFit,
    find_limiting_flux,
    fit_gel_polarization,
    fit_mass_transfer,
)
from ..units import parse_unit, to_canonical
from .tables import metadata_quantity, numeric_cells, read_table, split_header

__all__ = [
    "ROLES", "UFDFData", "Group", "ExcursionResult", "TMPExcursionAnalysis", "GelFitAnalysis",
    "MassTransferAnalysis", "read_ufdf_data", "read_tmp_excursion", "read_flux_vs_concentration",
    "read_limiting_flux", "analyze_tmp_excursions", "analyze_gel_polarization", "analyze_mass_transfer",
]

ROLES = ("tmp", "flux", "crossflow", "concentration", "run")
METHODS = ("two-segment", "slope-fraction")
GROUP_DIGITS = 3
"""Significant digits to which crossflow and concentration are rounded when grouping excursions."""
MIN_TMP_LEVELS = 3  # a group with this many TMP levels is an excursion, not a single point

_EXAMPLE = ("TMP (bar)", "flux (LMH)")
_HEADER_NAMES = frozenset({
    "concentration", "conc", "c", "protein", "protein concentration", "retentate concentration",
    "bulk concentration", "crossflow", "cross flow", "cross-flow", "feed flux", "limiting flux", "jlim",
    "j_lim", "j lim", "run", "excursion", "group", "series", "tmp", "flux", "j"})
_RULES = (
    ("run", re.compile(r"^(run|excursion|group|series|experiment|set|test)( ?(no|nr|id|number|#))?$")),
    ("tmp", re.compile(r"\btmp\b|transmembrane|^(δ|delta ?|d)?p ?tm$")),
    ("pressure", re.compile(r"\bpressure\b|\bdruck\b|^p ?(feed|f|in|inlet|ret|r|retentate|out|outlet|perm|p|"
                            r"permeate|filtrate)$")),
    ("crossflow", re.compile(r"cross ?flow|\bfeed\b|\bretentate (flow|rate)\b|^q ?(f|feed|ret|r)$|tangential"
                             r"|recirculation")),
    ("concentration", re.compile(r"\bconc\b|\bconcentration\b|^c$|^c ?(b|bulk|ret|r)$|\bprotein\b"
                                 r"|\bti(ter|tre)\b|\bkonzentration\b")),
    ("flux", re.compile(r"\bflux\b|^j$|^j ?(lim|p|perm)$|\bjlim\b|\bpermeate\b|\bfiltrate\b|\bflow\b"
                        r"|^q ?(p|perm)$")),
)
_SIDES = (("feed", re.compile(r"\b(feed|f|in|inlet|p1)\b")),
          ("retentate", re.compile(r"\b(retentate|ret|r|out|outlet|p2)\b")),
          ("permeate", re.compile(r"\b(permeate|perm|p|filtrate|p3)\b")))
_KINDS = {"tmp": ("pressure",), "pressure": ("pressure",), "flux": ("flux", "flow"),
          "crossflow": ("flux", "flow"), "concentration": ("concentration",)}
_UNIT_EXAMPLE = {"tmp": "bar", "pressure": "bar", "flux": "LMH", "crossflow": "L/min", "concentration": "g/L"}
_WHAT = {"tmp": "TMP", "flux": "flux", "crossflow": "crossflow", "concentration": "concentration",
         "run": "run"}
_HEADER_EXAMPLE = {"tmp": "TMP (bar)", "flux": "flux (LMH)' or 'permeate flow (mL/min)",
                   "crossflow": "feed flow (L/min)' or 'crossflow (LMH)",
                   "concentration": "concentration (g/L)"}
_AREA_KEY = re.compile(r"\barea\b|fläche")


# ---------------------------------------------------------------------------------------- columns

def _norm(name: str) -> str:
    return " ".join(re.sub(r"[_\-.:]+", " ", str(name).lower()).split())


def _role(name: str) -> str | None:
    n = _norm(name)
    for role, rule in _RULES:
        if rule.search(n):
            return role
    return None


def _side(name: str) -> str | None:
    n = _norm(name)
    for side, rule in _SIDES:
        if rule.search(n):
            return side
    return None


@dataclass
class _Col:
    role: str
    index: int
    header: str
    unit_text: str | None
    kind: str | None = None  # pressure, flux, flow, concentration; None for run
    unit: object = None
    side: str | None = None  # pressure columns: feed, retentate, permeate


def _parse_unit(col: _Col, source: str) -> None:
    if col.role == "run":
        return
    base = col.role.split("_")[0]  # pressure_feed -> pressure
    kinds = _KINDS[base]
    if not col.unit_text:
        name = split_header(col.header)[0] or col.header
        raise InputError(f"no unit given: write it in the header, e.g. '{name} ({_UNIT_EXAMPLE[base]})', "
                         f"or in a units row below the header", source=source, column=col.header)
    text = col.unit_text.strip()
    unit = parse_unit(text, None, source=source, column=col.header)  # unknown unit -> UnitError
    for kind in kinds:
        try:
            col.unit = parse_unit(text, kind)
        except UnitError:
            continue
        col.kind = kind
        return
    expected = " or ".join(f"a {k} unit" for k in kinds)
    raise UnitError(f"unit '{text}' ({unit.dimensionality}) is not {expected} (expected e.g. "
                    f"'{_UNIT_EXAMPLE[base]}')", source=source, column=col.header)


def _mapped(columns, headers: list[str], source: str) -> dict[str, tuple[int, str | None]]:
    if not columns:
        return {}
    if not isinstance(columns, Mapping):
        raise InputError("columns must be a mapping of role to header, e.g. {'tmp': 'P_TM [bar]'}",
                         source=source, field="columns")
    out = {}
    for role, text in columns.items():
        if role not in ROLES:
            raise InputError(f"unknown column role '{role}' (use {', '.join(ROLES)})", source=source,
                             field="columns")
        if not isinstance(text, str):
            raise InputError(f"columns['{role}'] must be a header such as 'P_TM [bar]', not {text!r}",
                             source=source, field="columns")
        wanted = " ".join(text.split()).casefold()
        name, given = split_header(text)
        for i, h in enumerate(headers):
            if h.casefold() == wanted:
                out[role] = (i, split_header(h)[1])
                break
            if split_header(h)[0].casefold() == name.casefold():
                out[role] = (i, given or split_header(h)[1])
                break
        else:
            shown = ", ".join(f"'{h}'" for h in headers if h) or "none"
            raise InputError(f"columns['{role}'] names a column '{text}' that is not in the file (headers "
                             f"found: {shown})", source=source, field="columns")
    return out


def _select(headers: list[str], columns, source: str, notes: list[str]) -> dict[str, _Col]:
    mapped = _mapped(columns, headers, source)
    chosen: dict[str, _Col] = {role: _Col(role, i, headers[i], unit) for role, (i, unit) in mapped.items()}
    used = {c.index for c in chosen.values()}
    candidates: dict[str, list[_Col]] = {}
    for i, h in enumerate(headers):
        if i in used or not h:
            continue
        name, unit = split_header(h)
        role = _role(name)
        if role is not None:
            candidates.setdefault(role, []).append(_Col(role, i, h, unit, side=_side(name)))
    for role in ("tmp", "crossflow", "concentration", "run"):
        if role in chosen or not candidates.get(role):
            continue
        found = candidates[role]
        chosen[role] = found[0]
        if len(found) > 1:
            notes.append(f"several {_WHAT[role]} columns; used '{found[0].header}', ignored "
                         f"{', '.join(repr(c.header) for c in found[1:])}")
    if "flux" not in chosen and candidates.get("flux"):
        found = candidates["flux"]
        for c in found:  # units decide between a flux and a permeate flow; a flux is preferred
            _parse_unit(c, source)
        found = sorted(found, key=lambda c: (c.kind != "flux", c.index))
        chosen["flux"] = found[0]
        if len(found) > 1:
            notes.append(f"several flux or permeate-flow columns; used '{found[0].header}', ignored "
                         f"{', '.join(repr(c.header) for c in found[1:])}")
    if "tmp" not in chosen:
        sides = {}
        for c in candidates.get("pressure", []):
            if c.side is not None and c.side not in sides:
                sides[c.side] = c
        if "feed" in sides and "retentate" in sides:
            for side, c in sides.items():
                c.role = f"pressure_{side}"
                chosen[c.role] = c
    for c in chosen.values():
        if c.kind is None:
            _parse_unit(c, source)
    return chosen


# ------------------------------------------------------------------------------------------- data

@dataclass(frozen=True)
class Group:
    """One excursion (or one set of points): a label, its crossflow, concentration and positions."""

    label: str
    positions: np.ndarray
    run: str | None = None
    crossflow: float | None = None
    concentration_g_per_L: float | None = None

    def to_dict(self) -> dict:
        return {"label": self.label, "run": self.run, "crossflow": self.crossflow,
                "concentration_g_per_L": self.concentration_g_per_L, "points": int(self.positions.size)}


@dataclass(frozen=True)
class UFDFData:
    """UF/DF readings in canonical units, one entry per data row of the file.

    ``tmp_bar`` [bar], ``flux_LMH`` [L/m²/h], ``concentration_g_per_L`` [g/L] and ``crossflow``
    (in ``crossflow_unit``: ``"LMH"``, feed flow per membrane area, or ``"L/h"``) are None when
    the file has no such column; ``rows`` are the file row numbers; ``meta`` holds ``columns``
    (role -> header), ``units`` (role -> unit text), ``area_source``, ``flux_from``
    (``"flux"``, ``"permeate flow"``), ``tmp_from`` (``"tmp"``, ``"feed, retentate and permeate
    pressure"``), ``ignored_columns``, ``skipped_rows``, ``file_meta``, ``notes`` and the table
    info of :func:`fluxwise.io.tables.read_table` (``format``, ``header_row``, ...).
    """

    source: str
    rows: np.ndarray
    flux_LMH: np.ndarray
    tmp_bar: np.ndarray | None = None
    crossflow: np.ndarray | None = None
    crossflow_unit: str | None = None
    concentration_g_per_L: np.ndarray | None = None
    run: tuple[str, ...] | None = None
    area_m2: float | None = None
    meta: dict = field(default_factory=dict)

    @property
    def points(self) -> int:
        return int(self.rows.size)

    def column(self, role: str) -> str | None:
        """The header of the column used for ``role`` (tmp, flux, crossflow, concentration, run)."""
        return self.meta.get("columns", {}).get(role)

    def groups(self, by: tuple[str, ...] = ("run", "crossflow", "concentration")) -> list[Group]:
        """Points grouped by run label, else by crossflow and concentration (3 significant digits).

        Only the roles in ``by`` that the file has are used; groups keep the order of their first row.
        """
        keys: list[tuple] = []
        use_run = "run" in by and self.run is not None
        for i in range(self.points):
            if use_run:
                keys.append((self.run[i],))
                continue
            k = []
            if "crossflow" in by and self.crossflow is not None:
                k.append(_sig(self.crossflow[i]))
            if "concentration" in by and self.concentration_g_per_L is not None:
                k.append(_sig(self.concentration_g_per_L[i]))
            keys.append(tuple(k))
        order = list(dict.fromkeys(keys))
        out = []
        for key in order:
            pos = np.array([i for i, k in enumerate(keys) if k == key], dtype=int)
            q = None if self.crossflow is None else float(np.mean(self.crossflow[pos]))
            cs = self.concentration_g_per_L
            c = None if cs is None else float(np.mean(cs[pos]))
            run = self.run[pos[0]] if use_run else None
            parts = [f"run {run}"] if run is not None else []
            if q is not None:
                parts.append(f"crossflow {q:.4g} {self.crossflow_unit}")
            if c is not None:
                parts.append(f"C {c:.4g} g/L")
            out.append(Group(label=", ".join(parts) or "all points", positions=pos, run=run, crossflow=q,
                             concentration_g_per_L=c))
        return out


def _sig(x: float) -> float:
    return float(f"{x:.{GROUP_DIGITS}g}")


def _cell_text(x) -> str:
    return f"{x:.15g}" if isinstance(x, float) else str(x).strip()


def read_ufdf_data(path, *, area=None, sheet=None, columns=None, require: tuple[str, ...] = ("flux",),
                   what: str = "UF/DF data") -> UFDFData:
    """Read a UF/DF bench table into :class:`UFDFData` in canonical units.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``/``.txt``/``.tsv`` or ``.xlsx``; see the module documentation for the columns.
    area : str or float, optional
        Membrane area as ``"0.11 m2"`` or a float [m²]; else a metadata line such as
        ``Membrane area: 0.11 m2``. Needed for a permeate flow (always) and to turn a feed flow
        into feed flux per area.
    sheet : str or int, optional
        Excel sheet name or 0-based index.
    columns : dict, optional
        Role -> header, overriding detection (roles: tmp, flux, crossflow, concentration, run).
    require : tuple of str
        Roles the file must have (``"tmp"`` is also met by feed and retentate pressure columns).
    what : str
        What the file is, for messages (e.g. ``"TMP excursion"``).

    Raises
    ------
    InputError
        Naming the file, row and column: a missing column or unit, a cell that is not a number, a
        row with some of the used cells empty, a negative TMP or flux, a concentration or
        crossflow that is not positive, a permeate flow without an area. :class:`UnitError` for an
        unknown unit or one of the wrong kind.
    """
    names = set(_HEADER_NAMES)
    for text in (columns or {}).values() if isinstance(columns, Mapping) else ():
        if isinstance(text, str):
            names |= {" ".join(text.split()).casefold(), split_header(text)[0].casefold()}
    table = read_table(path, sheet=sheet, names=frozenset(names), what=f"{what} file", example=_EXAMPLE)
    source, df = table.source, table.frame
    notes: list[str] = []
    headers = [str(c) for c in df.columns]
    shown = ", ".join(f"'{h}'" for h in headers if h) or "none"
    if df.shape[0] == 0:
        raise InputError(f"no data rows below the header (headers found: {shown})", source=source)
    cols = _select(headers, columns, source, notes)
    for role in require:
        if role in cols or (role == "tmp" and "pressure_feed" in cols):
            continue
        raise InputError(f"no {_WHAT[role]} column found (headers found: {shown}); a {what} table needs "
                         f"e.g. '{_HEADER_EXAMPLE[role]}', or name the column with "
                         f"columns={{'{role}': '<header> [unit]'}} (--column {role}=HEADER)", source=source)

    # area: needed to turn flows into fluxes
    needs_area = cols["flux"].kind == "flow" if "flux" in cols else False
    a_m2, a_src = metadata_quantity(area, "area", "area", table.file_meta, _AREA_KEY, source=source,
                                    default_unit="m**2")
    if needs_area and a_m2 is None:
        raise InputError('a permeate flow needs the membrane area to give flux: give it with --area '
                         '"0.11 m2" (area="0.11 m2" in Python) or add a line "Membrane area: 0.11 m2" above '
                         'the table',
                         source=source, column=cols["flux"].header)

    # cells to numbers; rows without any used value are skipped, partly filled rows are errors
    numeric = [c for c in cols.values() if c.role != "run"]
    raw: dict[str, np.ndarray] = {}
    bad: dict[str, np.ndarray] = {}
    blank: dict[str, np.ndarray] = {}
    for c in numeric:
        values, is_bad = numeric_cells(df.iloc[:, c.index])
        raw[c.role], bad[c.role], blank[c.role] = values, is_bad, np.isnan(values) & ~is_bad
    run_cells = None
    if "run" in cols:
        s = df.iloc[:, cols["run"].index]
        run_cells = [None if (v is None or (isinstance(v, float) and v != v) or not str(v).strip())
                     else _cell_text(v) for v in s]
        blank["run"] = np.array([v is None for v in run_cells], dtype=bool)
    rows_all = df.index.to_numpy(dtype=np.int64)
    empty = np.column_stack([blank[c.role] for c in cols.values()]).all(axis=1)
    active = np.flatnonzero(~empty)
    if active.size == 0:
        raise InputError(f"no data rows below the header (columns used: "
                         f"{', '.join(repr(c.header) for c in cols.values())})", source=source)
    skipped = [int(r) for r in rows_all[empty[:active[-1]].nonzero()[0]]]
    rows = rows_all[active]
    for c in cols.values():
        if c.role in bad and bad[c.role][active].any():
            k = int(np.flatnonzero(bad[c.role][active])[0])
            cell = _cell_text(df.iloc[active[k], c.index])
            raise InputError(f"'{cell}' is not a number (expected a number in {c.unit_text.strip()})",
                             source=source, row=int(rows[k]), column=c.header)
    for c in cols.values():
        miss = blank[c.role][active]
        if miss.any():
            k = int(np.flatnonzero(miss)[0])
            needed = ", ".join(repr(o.header) for o in cols.values())
            raise InputError(f"no value in '{c.header}' (every data row needs {needed}; fill the cell in or "
                             f"delete the row)", source=source, row=int(rows[k]), column=c.header)

    def finite(role: str, arr: np.ndarray, what_: str) -> np.ndarray:
        """A reading that is a number in the file but not a finite one in canonical units is refused."""
        if not np.isfinite(arr).all():
            k = int(np.flatnonzero(~np.isfinite(arr))[0])
            c = cols[role]
            cell = _cell_text(df.iloc[active[k], c.index])[:40]
            raise InputError(f"'{cell}' {(c.unit_text or '').strip()} is out of range as {what_}; check the "
                             f"value and the unit", source=source, row=int(rows[k]), column=c.header)
        return arr

    def values(role: str, kind: str) -> np.ndarray:
        c = cols[role]
        with np.errstate(over="ignore", invalid="ignore"):
            arr = np.asarray(to_canonical(raw[c.role][active], c.unit, kind), dtype=float)
        return finite(role, arr, f"a {kind} in canonical units")

    def per_area(role: str, arr: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return finite(role, arr / a_m2, f"a flux over {a_m2:.6g} m²")

    def check(role: str, arr: np.ndarray, *, positive: bool, what_: str) -> None:
        wrong = arr <= 0 if positive else arr < 0
        if wrong.any():
            k = int(np.flatnonzero(wrong)[0])
            c = cols[role]
            cell = _cell_text(df.iloc[active[k], c.index])
            need = "positive" if positive else "zero or positive"
            raise InputError(f"{what_} '{cell}' must be {need}", source=source, row=int(rows[k]),
                             column=c.header)

    meta: dict = {"columns": {}, "units": {}, "notes": notes, "file_meta": table.file_meta,
                  "skipped_rows": skipped, **table.info}
    for c in cols.values():
        meta["columns"][c.role] = c.header
        meta["units"][c.role] = (c.unit_text or "").strip()

    flux = None
    if "flux" in cols:
        fc = cols["flux"]
        if fc.kind == "flux":
            flux = values("flux", "flux")
            meta["flux_from"] = "flux"
        else:
            flux = per_area("flux", values("flux", "flow"))
            meta["flux_from"] = "permeate flow"
            notes.append(f"flux = permeate flow '{fc.header}' / membrane area {a_m2:.4g} m²")
        check("flux", flux, positive=False, what_="flux")
    tmp = None
    if "tmp" in cols:
        tmp = values("tmp", "pressure")
        check("tmp", tmp, positive=False, what_="TMP")
        meta["tmp_from"] = "tmp"
    elif "pressure_feed" in cols:
        pf, pr = values("pressure_feed", "pressure"), values("pressure_retentate", "pressure")
        pp = values("pressure_permeate", "pressure") if "pressure_permeate" in cols else 0.0
        tmp = (pf + pr) / 2.0 - pp
        if (tmp < 0).any():
            k = int(np.flatnonzero(tmp < 0)[0])
            raise InputError(f"TMP = (feed + retentate)/2 − permeate pressure is negative "
                             f"({tmp[k]:.4g} bar); check the pressure columns and their units", source=source,
                             row=int(rows[k]), column=cols["pressure_feed"].header)
        meta["tmp_from"] = "feed, retentate and permeate pressure" if "pressure_permeate" in cols else \
            "feed and retentate pressure"
        notes.append(f"TMP = (Pfeed + Pretentate)/2{' − Ppermeate' if 'pressure_permeate' in cols else ''} "
                     f"from {', '.join(repr(cols[k].header) for k in cols if k.startswith('pressure_'))}")
    conc = None
    if "concentration" in cols:
        conc = values("concentration", "concentration")
        check("concentration", conc, positive=True, what_="concentration")
    q, q_unit = None, None
    if "crossflow" in cols:
        qc = cols["crossflow"]
        if qc.kind == "flux":
            q, q_unit = values("crossflow", "flux"), "LMH"
        elif a_m2 is not None:
            q, q_unit = per_area("crossflow", values("crossflow", "flow")), "LMH"
            notes.append(f"crossflow = feed flow '{qc.header}' / membrane area {a_m2:.4g} m² "
                         "(feed flux, LMH)")
        else:
            q, q_unit = values("crossflow", "flow"), "L/h"
            notes.append(f"crossflow '{qc.header}' kept as a flow in L/h (no membrane area to turn it into "
                         "feed flux per area)")
        check("crossflow", q, positive=True, what_="crossflow")
    run = tuple(run_cells[i] for i in active) if run_cells is not None else None
    used = {c.index for c in cols.values()}
    meta["ignored_columns"] = [h for i, h in enumerate(headers) if i not in used]
    meta["area_source"] = a_src
    meta["rows"] = [int(rows[0]), int(rows[-1])]
    if skipped:
        notes.append(f"blank row{'s' if len(skipped) > 1 else ''} {', '.join(map(str, skipped))} ignored")
    for arr in (flux, tmp, q, conc):
        if arr is not None:
            arr.setflags(write=False)
    return UFDFData(source=source, rows=rows, flux_LMH=flux, tmp_bar=tmp, crossflow=q, crossflow_unit=q_unit,
                    concentration_g_per_L=conc, run=run, area_m2=a_m2, meta=meta)


def read_tmp_excursion(path, **kwargs) -> UFDFData:
    """A TMP-excursion table: TMP (or feed/retentate pressure) and flux (or permeate flow + area)."""
    return read_ufdf_data(path, require=("tmp", "flux"), what="TMP excursion", **kwargs)


def read_flux_vs_concentration(path, **kwargs) -> UFDFData:
    """A table of (limiting) flux against bulk concentration, or TMP excursions at several concentrations."""
    return read_ufdf_data(path, require=("concentration", "flux"), what="flux vs concentration", **kwargs)


def read_limiting_flux(path, **kwargs) -> UFDFData:
    """A table of limiting flux against crossflow, or TMP excursions at several crossflows."""
    return read_ufdf_data(path, require=("crossflow", "flux"), what="limiting flux vs crossflow", **kwargs)


# ------------------------------------------------------------------------- from the table to fits

@dataclass(frozen=True)
class ExcursionResult:
    """The knee of one TMP excursion (:func:`fluxwise.fit.ufdf.find_limiting_flux`)."""

    group: Group
    rows: tuple[int, int]
    tmp_range_bar: tuple[float, float]
    result: LimitingFluxResult

    def to_dict(self) -> dict:
        return {**self.group.to_dict(), "rows": list(self.rows), "tmp_range_bar": list(self.tmp_range_bar),
                **self.result.to_dict()}


@dataclass(frozen=True)
class TMPExcursionAnalysis:
    """Knees of every excursion in a file; :meth:`to_dict` is ``fluxwise tmp-excursion --json``."""

    source: str
    method: str
    crossflow_unit: str | None
    excursions: tuple[ExcursionResult, ...]
    data: UFDFData = field(repr=False)

    @property
    def warnings(self) -> list[str]:
        return [f"{e.group.label}: {w}" for e in self.excursions for w in e.result.warnings]

    def to_dict(self) -> dict:
        return {"source": self.source, "method": self.method, "crossflow_unit": self.crossflow_unit,
                "area_m2": self.data.area_m2, "columns": dict(self.data.meta["columns"]),
                "units": dict(self.data.meta["units"]), "notes": list(self.data.meta["notes"]),
                "excursions": [e.to_dict() for e in self.excursions], "warnings": self.warnings}


def _group_error(exc: InputError, data: UFDFData, group: Group, column: str | None) -> InputError:
    rows = data.rows[group.positions]
    where = f"{group.label} (rows {rows[0]}–{rows[-1]})" if group.label != "all points" else \
        f"rows {rows[0]}–{rows[-1]}"
    return type(exc)(f"{where}: {exc.message}", source=data.source, column=column)


def analyze_tmp_excursions(data: UFDFData, *, method: str = "two-segment",
                           slope_fraction: float = 0.1) -> TMPExcursionAnalysis:
    """Find the knee and limiting flux of each excursion of ``data`` (grouped as :meth:`UFDFData.groups`).

    Raises
    ------
    InputError
        A group with too few TMP levels for the method, naming the group, its rows and the TMP column.
    """
    if data.tmp_bar is None:
        raise InputError("no TMP column: a TMP excursion needs TMP and flux", source=data.source)
    if method not in METHODS:
        raise InputError(f"unknown method '{method}' (expected {' or '.join(METHODS)})", field="method")
    out = []
    for grp in data.groups():
        tmp, flux = data.tmp_bar[grp.positions], data.flux_LMH[grp.positions]
        try:
            res = find_limiting_flux(tmp, flux, method=method, slope_fraction=slope_fraction)
        except InputError as exc:
            raise _group_error(exc, data, grp, data.column("tmp")) from None
        except ModelError as exc:
            raise ModelError(f"{data.source}: {grp.label}: {exc}") from None
        rows = data.rows[grp.positions]
        out.append(ExcursionResult(group=grp, rows=(int(rows.min()), int(rows.max())),
                                   tmp_range_bar=(float(tmp.min()), float(tmp.max())), result=res))
    return TMPExcursionAnalysis(source=data.source, method=method, crossflow_unit=data.crossflow_unit,
                                excursions=tuple(out), data=data)


def _is_excursion_file(data: UFDFData, by: str) -> bool:
    """A TMP column and at least MIN_TMP_LEVELS distinct TMP values within one group."""
    if data.tmp_bar is None:
        return False
    for grp in data.groups(by=("run", by)):
        if np.unique(np.round(data.tmp_bar[grp.positions], 6)).size >= MIN_TMP_LEVELS:
            return True
    return False


def _single(data: UFDFData, role: str, fit: str) -> None:
    """Refuse a file that varies ``role`` when the fit needs it fixed (mixing would bias the fit)."""
    arr = data.crossflow if role == "crossflow" else data.concentration_g_per_L
    if arr is None:
        return
    levels = sorted({_sig(x) for x in arr})
    if len(levels) > 1:
        unit = data.crossflow_unit if role == "crossflow" else "g/L"
        shown = ", ".join(f"{x:g}" for x in levels[:6]) + (", ..." if len(levels) > 6 else "")
        raise InputError(f"the {fit} needs one {role}; this file has {len(levels)} ({shown} {unit}): split "
                         f"the file or fit each {role} on its own", source=data.source,
                         column=data.column(role))


@dataclass(frozen=True)
class GelFitAnalysis:
    """A gel-model fit from a file; :meth:`to_dict` is ``fluxwise gel-fit --json``."""

    source: str
    input: str  # "points" or "excursions"
    concentration_g_per_L: np.ndarray
    flux_LMH: np.ndarray
    rows: tuple
    fit: GelPolarizationFit
    excursions: TMPExcursionAnalysis | None = None

    def to_dict(self) -> dict:
        points = zip(self.rows, self.concentration_g_per_L, self.flux_LMH, strict=True)
        d = {"source": self.source, "input": self.input, **self.fit.to_dict(),
             "points": [{"row": r, "concentration_g_per_L": float(c), "flux_LMH": float(j)}
                        for r, c, j in points]}
        if self.excursions is not None:
            d["excursions"] = [e.to_dict() for e in self.excursions.excursions]
            d["method"] = self.excursions.method
            d["warnings"] = self.excursions.warnings
        else:
            d["warnings"] = []
        return d


def _flux_against(data: UFDFData, attr: str, method: str, slope_fraction: float):
    """The flux to fit against ``attr`` (``concentration_g_per_L`` or ``crossflow``): each excursion's
    limiting flux when the file holds TMP excursions at several values of it, else the points as read.
    Returns (x, flux, rows, kind, excursion analysis or None)."""
    if _is_excursion_file(data, "concentration" if attr == "concentration_g_per_L" else attr):
        ex = analyze_tmp_excursions(data, method=method, slope_fraction=slope_fraction)
        x = np.array([getattr(e.group, attr) for e in ex.excursions])
        j = np.array([e.result.limiting_flux_LMH for e in ex.excursions])
        rows = tuple(f"{e.rows[0]}–{e.rows[1]}" for e in ex.excursions)
        return x, j, rows, "excursions", ex
    return getattr(data, attr), data.flux_LMH, tuple(int(r) for r in data.rows), "points", None


def analyze_gel_polarization(data: UFDFData, *, method: str = "two-segment", slope_fraction: float = 0.1,
                             confidence: float = 0.95) -> GelFitAnalysis:
    """Fit ``J = k ln(Cg/C)`` to a flux-vs-concentration table or to excursions at several concentrations.

    Points need one crossflow (a crossflow column, when present, must not vary): k depends on it.
    """
    if data.concentration_g_per_L is None:
        raise InputError("no concentration column: the gel model needs flux against concentration",
                         source=data.source)
    _single(data, "crossflow", "gel-model fit")
    c, j, rows, kind, ex = _flux_against(data, "concentration_g_per_L", method, slope_fraction)
    try:
        fit = fit_gel_polarization(c, j, confidence=confidence)
    except InputError as exc:
        what = "excursions" if kind == "excursions" else "points"
        raise InputError(f"{exc.message} ({len(c)} {what} in the file)", source=data.source,
                         column=data.column("concentration")) from None
    except ModelError as exc:
        raise ModelError(f"{data.source}: {exc}") from None
    return GelFitAnalysis(source=data.source, input=kind, concentration_g_per_L=np.asarray(c, float),
                          flux_LMH=np.asarray(j, float), rows=rows, fit=fit, excursions=ex)


@dataclass(frozen=True)
class MassTransferAnalysis:
    """A fit of ``k = a·Q^b`` from a file; :meth:`to_dict` is ``fluxwise mass-transfer --json``."""

    source: str
    input: str
    crossflow: np.ndarray
    crossflow_unit: str
    limiting_flux_LMH: np.ndarray
    y: np.ndarray  # the fitted quantity at each crossflow (k or limiting flux) [LMH]
    rows: tuple
    fit: MassTransferFit
    concentration_g_per_L: float | None = None
    gel_concentration_g_per_L: float | None = None
    excursions: TMPExcursionAnalysis | None = None

    def to_dict(self) -> dict:
        d = {"source": self.source, "input": self.input, "crossflow_unit": self.crossflow_unit,
             **self.fit.to_dict(), "concentration_g_per_L": self.concentration_g_per_L,
             "gel_concentration_g_per_L": self.gel_concentration_g_per_L,
             "points": [{"row": r, "crossflow": float(q), "limiting_flux_LMH": float(j),
                         self.fit.fitted_quantity: float(y)}
                        for r, q, j, y in zip(self.rows, self.crossflow, self.limiting_flux_LMH, self.y,
                                              strict=True)]}
        if self.excursions is not None:
            d["excursions"] = [e.to_dict() for e in self.excursions.excursions]
            d["method"] = self.excursions.method
            d["warnings"] = self.excursions.warnings
        else:
            d["warnings"] = []
        return d


def analyze_mass_transfer(data: UFDFData, *, gel_concentration_g_per_L: float | None = None,
                          concentration_g_per_L: float | None = None, method: str = "two-segment",
                          slope_fraction: float = 0.1, confidence: float = 0.95) -> MassTransferAnalysis:
    """Fit ``k = a·Q^b`` to limiting fluxes at several crossflows (points or excursions).

    With the gel concentration and the bulk concentration (a column of the file, which must not
    vary, or ``concentration_g_per_L``), each limiting flux becomes ``k = J_lim / ln(Cg/C)``;
    otherwise the limiting flux itself is fitted (same b; a absorbs ln(Cg/C)).
    """
    if data.crossflow is None:
        raise InputError("no crossflow column: the mass-transfer fit needs limiting flux against crossflow",
                         source=data.source)
    _single(data, "concentration", "mass-transfer fit")
    c = concentration_g_per_L
    if c is None and data.concentration_g_per_L is not None:
        c = float(np.mean(data.concentration_g_per_L))
    q, j, rows, kind, ex = _flux_against(data, "crossflow", method, slope_fraction)
    use_k = gel_concentration_g_per_L is not None and c is not None
    try:
        fit = fit_mass_transfer(q, j, concentration_g_per_L=c if use_k else None,
                                gel_concentration_g_per_L=gel_concentration_g_per_L if use_k else None,
                                confidence=confidence)
    except InputError as exc:
        columns = {"crossflow": data.column("crossflow"), "limiting_flux_LMH": data.column("flux")}
        column = columns.get(exc.field)
        field_ = None if column else ("--cg" if exc.field == "concentration_g_per_L" else exc.field)
        raise InputError(exc.message, source=data.source, column=column, field=field_) from None
    y = j / np.log(gel_concentration_g_per_L / c) if use_k else np.asarray(j, float)
    return MassTransferAnalysis(source=data.source, input=kind, crossflow=np.asarray(q, float),
                                crossflow_unit=data.crossflow_unit, limiting_flux_LMH=np.asarray(j, float),
                                y=np.asarray(y, float), rows=rows, fit=fit, concentration_g_per_L=c,
                                gel_concentration_g_per_L=gel_concentration_g_per_L, excursions=ex)

