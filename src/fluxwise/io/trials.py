"""Read filterability trials from bench-rig exports into :class:`~fluxwise.trial.Trial`.

Entry points:

* :func:`read_trial` reads a file (CSV/TXT/TSV or Excel ``.xlsx``), finds the table inside it and
  the ``key: value`` metadata lines above it, and hands the table to
  :func:`parse_trial_frame`;
* :func:`fluxwise.io.tables.read_table` is the first half of :func:`read_trial` on its own — the
  table, metadata and units of a file — shared with the other readers of bench tables
  (:mod:`fluxwise.io.ufdf_data`);
* :func:`parse_trial_frame` turns a table of raw readings (a :class:`pandas.DataFrame` whose
  column labels are the headers as written in the file) into a :class:`~fluxwise.trial.Trial`
  in canonical units: time [h], filtrate volume per area [L/m²], pressure [bar], area [m²].

File layout
-----------
Metadata lines (``Filter area: 13.8 cm2``, ``Mode: constant pressure``, ``Density: 1.03 g/mL``)
may stand above the table; the header row, metadata lines, a units row below the header, the CSV
delimiter and the decimal comma are found as described in :mod:`fluxwise.io.tables`. Columns are
chosen by :mod:`fluxwise.io.columns`.

Columns and units
-----------------
Columns are recognised by name, the unit written in the header as ``name (unit)``,
``name [unit]``, ``name / unit`` or ``name_unit`` (``t_h``, ``m_g``, ``V_mL``, ``P_psi``). Roles:

========  ==========================================================  =====================
role      recognised names (case-insensitive, words)                  unit kinds
========  ==========================================================  =====================
time      time, t, elapsed, zeit, ... ; unit ``hh:mm:ss`` (or         time
          ``h:mm:ss``, ``hh:mm``, ``mm:ss``) for clock-style cells
mass      mass, weight, m, w, gewicht                                 mass
volume    volume, vol, v                                              volume
(either)  filtrate, permeate, balance                                 mass or volume
pressure  pressure, tmp, dp, delta p, p, p1, p2, ...                  pressure
flow      flow, flow rate, q, flux, j                                 flow or flux (L/m²/h)
========  ==========================================================  =====================

The filtrate is taken from a volume column, else a mass column (converted with the density),
else a flow or flux column (integrated over time by the cumulative trapezoid rule). With several
pressure columns, one named TMP/dP/differential is preferred, then feed/inlet/P1, else the first.

Start of the run
----------------
Time is never shifted: the first time is kept as read and recorded as ``meta["t0_h"]``. A
filtrate reading at t = 0 cannot be filtrate, so when the first row is at t = 0 and its
volume (or mass) is not 0, that reading is a balance tare and is subtracted from all readings
(``meta["tare_L"]``). When the first row is later than t = 0, the first reading is kept (it may be
filtrate collected before logging began) and reported in ``meta["v0_L"]`` and ``meta["notes"]``.
A volume integrated from flow starts at 0 at the first time.

Meta keys
---------
``columns`` (role -> header used), ``units`` (role -> unit text), ``filtrate_from``
(``"volume"``, ``"mass"``, ``"flow"`` or ``"flux"``), ``ignored_columns``, ``area_source``,
``density_g_per_mL`` and ``density_source`` (mass only), ``mode_source``, ``mode_evidence``,
``t0_h``, ``v0_L``, ``tare_L``, ``rows`` (first and last file row used), ``points``,
``blank_rows``, ``skipped_rows``, ``file_meta`` (the metadata lines), ``notes`` (sentences for the
report); :func:`read_trial` adds ``file``, ``format``, ``header_row`` and, where they apply,
``sheet``, ``delimiter``, ``decimal``, ``units_row``, ``preamble``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, UnitError
from ..i18n import N_, _, ngettext
from ..trial import CONSTANT_FLUX, CONSTANT_PRESSURE, MODES, Trial
from ..units import parse_quantity, to_canonical
from .columns import SIGNALS, header_list, mapping_names, meta_role, select_columns
from .tables import metadata_quantity, read_table
from .tables.cells import Cells, cell_text, clock_hours, is_blank, numeric
from .tables.headers import norm_name

MIN_POINTS = 5
DIP_TOLERANCE = 0.002  # fraction of the largest filtrate reading a balance may dip by (noise)
STEADY_CV = 0.10
"""Coefficient of variation below which pressure or flux counts as held constant."""
DEFAULT_DENSITY_G_PER_ML = 1.0

#: how to give the filter area, by door (constants: translated when shown)
_AREA_HINT = {"cli": N_('give it with --area "13.8 cm2" (area="13.8 cm2" in Python) or add a line '
                        '"Filter area: 13.8 cm2" above the table'),
              "api": N_('give it as "area": "13.8 cm2" or add a line "Filter area: 13.8 cm2" above the '
                        'table'),
              "web": N_('type it in the filter area field, e.g. 13.8 cm2, or add a line "Filter area: '
                        '13.8 cm2" above the table')}


def read_trial(path, *, area=None, mode=None, density=None, columns=None, sheet=None, max_dip=None) -> Trial:
    """Read a filterability trial from a bench-rig export.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv``, ``.txt`` or ``.tsv`` text table (delimiter ``,``, ``;`` or tab, sniffed) or an
        Excel ``.xlsx``/``.xlsm`` workbook. Metadata lines (``Filter area: 13.8 cm2``,
        ``Mode: constant pressure``, ``Density: 1.03 g/mL``, ``Sample: ...``) may stand above the
        table; see :mod:`fluxwise.io.tables` for the layout that is understood.
    area : str or float, optional
        Effective filter area, as a quantity such as ``"13.8 cm2"`` or a float [m²]. When None,
        the ``Filter area`` metadata line of the file is used; one of the two is required.
    mode : str, optional
        ``"constant-pressure"`` or ``"constant-flux"``; None detects it from the data (a
        ``Mode:`` metadata line, when present, is used before detection).
    density : str or float, optional
        Filtrate density to convert a mass column to volume, as ``"1.02 g/mL"`` or a float
        [g/mL]. When None, a ``Density`` metadata line, else 1.0 g/mL.
    columns : dict, optional
        Explicit columns, overriding detection: role -> header. Roles are ``"time"``,
        ``"mass"``, ``"volume"``, ``"pressure"`` and ``"flow"`` (a flow [volume/time] or a flux
        [L/m²/h] unit; ``"flux"`` is accepted as an alias). A value is the header as written in the
        file (its unit is read from the header), or the header followed by a unit,
        ``"Zeit [s]"`` / ``"Zeit (s)"``, which names the column ``Zeit`` and gives its unit
        (the unit given here wins over one in the header), or a tuple ``("Zeit", "s")``.
    sheet : str or int, optional
        Excel sheet name, or 0-based index; default the first sheet. Not allowed for text files.
    max_dip : str or float, optional
        The largest drop of a filtrate reading below the one before it that is balance noise, not
        a removed vessel: a fraction of the largest reading (``0.005``, ``"0.5%"``) or a mass or
        volume (``"0.3 g"``, ``"0.5 mL"``). Default 0.2 % of the largest reading. Dips within it are
        kept as read (least squares averages them) and recorded in ``meta["notes"]`` and
        ``meta["dips"]``; a larger drop is an error.

    Returns
    -------
    Trial
        Time [h], filtrate volume per area [L/m²], area [m²], mode, pressure [bar] when logged,
        ``source`` the path as given, and ``meta`` as listed in the module documentation.

    Raises
    ------
    InputError
        For a file that is missing, empty, of an unsupported type or not a workbook, for a wrong
        sheet, and for any table problem reported by :func:`parse_trial_frame`; the message names
        the file and, where it applies, the row (as numbered in the file) and the column.
    UnitError
        For a unit in a header that is unknown or of the wrong kind.
    """
    table = read_table(path, sheet=sheet, names=mapping_names(columns), min_rows=MIN_POINTS)
    trial = parse_trial_frame(table.frame, source=table.source, area=area, mode=mode, density=density,
                              columns=columns, file_meta=table.file_meta, max_dip=max_dip)
    if max_dip is not None:
        trial.meta["max_dip"] = str(max_dip)
    trial.meta.update({"file": Path(path).name, **table.info})
    return trial


_CANONICAL_SHOWN = {"time": "h", "mass": "g", "volume": "L", "flow": "L/h", "flux": "L/m²/h",
                    "pressure": "bar"}


def _cell(x) -> str:
    """A cell as a message quotes it, cut to 40 characters."""
    return cell_text(x, 40)


def _check_finite(values: np.ndarray, c, what: str, sub: pd.DataFrame, rows: np.ndarray, source: str) -> None:
    """Refuse a reading that is a number in the file but not a finite one in canonical units."""
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(f"'{_cell(sub.iloc[k, c.index])}' {c.unit_text.strip()} is out of range as {what}; "
                         f"check the value and the unit", source=source, row=int(rows[k]), column=c.header)


def _converted(values: np.ndarray, c, kind: str, sub: pd.DataFrame, rows: np.ndarray,
               source: str) -> np.ndarray:
    """Readings of column ``c`` in the canonical unit of ``kind``, every one finite."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.asarray(to_canonical(values, c.unit, kind), float)
    _check_finite(out, c, f"a {kind} in {_CANONICAL_SHOWN[kind]}", sub, rows, source)
    return out


def _row_numbers(df: pd.DataFrame) -> np.ndarray:
    if df.index.name == "row" and pd.api.types.is_integer_dtype(df.index):
        return df.index.to_numpy(dtype=np.int64)
    return np.arange(2, len(df) + 2, dtype=np.int64)


def _parse_mode(text, source: str, field: str) -> str:
    t = " ".join(re.sub(r"[_\-]+", " ", str(text).lower()).split())
    if t in ("cp", "const p", "constant p") or ("pressure" in t and not re.search(r"flux|flow", t)):
        return CONSTANT_PRESSURE
    if t in ("cf", "const f", "constant f") or (re.search(r"flux|flow", t) and "pressure" not in t):
        return CONSTANT_FLUX
    raise InputError(f"mode {text!r} is not understood (expected one of {', '.join(MODES)})",
                     source=source, field=field)


def _cv(x: np.ndarray) -> float | None:
    mean = float(np.mean(x))
    if not np.isfinite(mean) or mean == 0:
        return None
    return float(np.std(x) / abs(mean))


def _round(x: float | None) -> float | None:
    """Four significant digits, so that evidence reads cleanly in reports (1e-16 is 0)."""
    if x is None:
        return None
    return 0.0 if abs(x) < 1e-12 else float(f"{x:.4g}")


def _mode_evidence(t: np.ndarray, v: np.ndarray, p: np.ndarray | None) -> dict:
    """Detect the operating mode from the steadiness of pressure and flux, with the numbers used."""
    if p is None:
        return {"detected": CONSTANT_PRESSURE, "pressure_column": False,
                "rule": "no pressure column: constant pressure assumed"}
    n = t.size
    idx = np.unique(np.round(np.linspace(0, n - 1, min(8, n - 1) + 1)).astype(int))
    flux = np.diff(v[idx]) / np.diff(t[idx])  # window-mean flux [LMH]
    p_mean = np.add.reduceat(p, idx[:-1]) / np.diff(np.append(idx[:-1], n))
    cv_p, cv_j = _round(_cv(p_mean)), _round(_cv(flux))
    j_change = _round(float(flux[-1] / flux[0] - 1)) if flux[0] > 0 else None
    p_change = _round(float(p_mean[-1] / p_mean[0] - 1)) if p_mean[0] > 0 else None
    p_steady = cv_p is not None and cv_p < STEADY_CV
    j_steady = cv_j is not None and cv_j < STEADY_CV
    # a trend counts when it is larger than the steadiness limit (noise is not a trend)
    cp = p_steady and j_change is not None and j_change < -STEADY_CV
    cf = j_steady and p_change is not None and p_change > STEADY_CV

    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f} %"

    if cp and not cf:
        detected = CONSTANT_PRESSURE
        rule = f"pressure steady (CV {pct(cv_p)} < {pct(STEADY_CV)}) and flux falls ({pct(j_change)})"
    elif cf and not cp:
        detected = CONSTANT_FLUX
        rule = f"flux steady (CV {pct(cv_j)} < {pct(STEADY_CV)}) and pressure rises ({pct(p_change)})"
    else:
        steadier_p = cv_j is None or (cv_p is not None and cv_p <= cv_j)
        detected = CONSTANT_PRESSURE if steadier_p else CONSTANT_FLUX
        rule = (f"ambiguous (pressure CV {pct(cv_p)}, flux CV {pct(cv_j)}): the steadier quantity, "
                f"{'pressure' if steadier_p else 'flux'}, taken as the controlled one")
    return {"detected": detected, "pressure_column": True, "pressure_cv": cv_p, "flux_cv": cv_j,
            "flux_change": j_change, "pressure_change": p_change, "windows": int(idx.size - 1),
            "steady_limit": STEADY_CV, "rule": rule}


def _dip_tolerance(max_dip, volume_L: np.ndarray, density_g_ml: float, source: str) -> tuple[float, str]:
    """The largest accepted dip [L] of the filtrate readings and how it was set (see ``read_trial``)."""
    largest = float(np.max(np.abs(volume_L)))
    if max_dip is None:
        return DIP_TOLERANCE * largest, f"{DIP_TOLERANCE:.1%} of the largest reading"
    text = str(max_dip).strip()
    try:
        frac = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        frac = None
    if frac is not None:
        if not 0 <= frac < 1:
            raise InputError(f"{max_dip} is not a fraction of the largest reading between 0 and 1 (e.g. "
                             "0.005 or 0.5%), nor a mass or volume (e.g. 0.3 g)",
                             field="max-dip", source=source)
        return frac * largest, f"{frac:.3g} of the largest reading (--max-dip {text})"
    try:
        grams = parse_quantity(text, "mass", field="max-dip", source=source)
        litres = grams / density_g_ml / 1000.0
    except UnitError:
        try:
            litres = parse_quantity(text, "volume", field="max-dip", source=source)
        except UnitError:
            raise InputError(f"'{max_dip}' is neither a fraction (e.g. 0.005 or 0.5%) nor a mass or volume "
                             "(e.g. 0.3 g or 0.3 mL)", field="max-dip", source=source) from None
    if not (litres >= 0 and np.isfinite(litres)):
        raise InputError(f"--max-dip must not be negative, got {max_dip}", field="max-dip", source=source)
    return litres, f"{text} (--max-dip)"


def parse_trial_frame(df: pd.DataFrame, *, source: str, area=None, mode=None, density=None, columns=None,
                      file_meta=None, max_dip=None) -> Trial:
    """Turn a table of raw trial readings into a :class:`~fluxwise.trial.Trial` in canonical units.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per reading; column labels are the headers as written in the file (with units,
        e.g. ``"time (min)"``); cells are numbers or text (text is parsed, ``hh:mm:ss`` for clock
        time columns). Row numbers in messages come from the index when it is an integer index
        named ``"row"`` (as :func:`read_trial` builds it), else the header counts as row 1 and the
        first data row as row 2.
    source : str
        Where the data came from (file name), used in every message and kept as ``Trial.source``.
    area : str or float, optional
        Filter area as ``"13.8 cm2"`` or a float [m²]; when None, taken from a ``file_meta`` key
        containing "area" (e.g. ``"Filter area"``). Required from one or the other.
    mode : str, optional
        ``"constant-pressure"`` or ``"constant-flux"``; when None, a ``file_meta`` key containing
        "mode", else detected from the data (see ``meta["mode_evidence"]``).
    density : str or float, optional
        Filtrate density as ``"1.02 g/mL"`` or a float [g/mL], for mass columns; when None, a
        ``file_meta`` key containing "density", else 1.0 g/mL.
    columns : dict, optional
        Role -> header mapping overriding detection; see :func:`read_trial`.
    file_meta : dict, optional
        Metadata ``key -> value`` text read above the table (``{"Filter area": "13.8 cm2"}``).
    max_dip : str or float, optional
        Largest accepted dip of the filtrate readings; see :func:`read_trial`.

    Returns
    -------
    Trial
        With ``t_h`` [h], ``v_L_per_m2`` [L/m²], ``area_m2`` [m²], ``pressure_bar`` [bar] or
        None, and ``meta`` (keys listed in the module documentation).

    Raises
    ------
    InputError
        With the source, row and column of the first problem: a cell that is not a number, a row
        with a time but no filtrate reading, time not strictly increasing, negative or decreasing
        filtrate, fewer than 5 data rows, a missing column, area or unit, a constant-flux trial
        without a pressure column.
    UnitError
        For a unit that is unknown or of the wrong kind.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"a table of readings is expected, not {type(df).__name__}", source=source)
    source = str(source)
    file_meta = {str(k): v for k, v in (file_meta or {}).items()}
    notes: list[str] = []
    headers = ["" if is_blank(c) else cell_text(c) for c in df.columns]
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise InputError(_("no data rows below the header (headers found: %(headers)s; at least %(n)s rows "
                           "are needed)", headers=header_list(headers), n=MIN_POINTS), source=source)
    rows = _row_numbers(df)
    cols = select_columns(headers, columns, source, notes)
    ordered = [cols["time"], cols["filtrate"]] + ([cols["pressure"]] if "pressure" in cols else [])

    # area, density and mode from arguments or metadata (checked before the data, they are options)
    area_m2, area_source = metadata_quantity(area, "area", "area", file_meta, re.compile(r"\barea\b|fläche"),
                                             source=source, default_unit="m**2")
    if area_m2 is None:
        raise InputError(_("no filter area"), source=source, field="area", advice=_AREA_HINT)
    density_g_ml, density_source = metadata_quantity(density, "density", "density", file_meta,
                                                     re.compile(r"\bdensity\b|\bdichte\b"), source=source,
                                                     default_unit="g/mL")
    if density_g_ml is None:
        density_g_ml, density_source = DEFAULT_DENSITY_G_PER_ML, "default"
    if mode is not None:
        mode_used, mode_source = _parse_mode(mode, source, "mode"), "argument"
    else:
        key = next((k for k in file_meta if re.search(r"\bmode\b|\bbetriebsart\b", norm_name(k))), None)
        mode_used = _parse_mode(file_meta[key], source, key) if key else None
        mode_source = "metadata" if key else None

    # blank rows and rows without data in the used columns; only the used columns are parsed, the
    # others are looked at only in the rows where the used ones are all blank
    parsed = [*ordered, *(cols[role] for role in SIGNALS if role in cols)]
    cells = {c.index: Cells.of(df.iloc[:, c.index]) for c in parsed}
    used_blank = np.column_stack([cells[c.index].blank for c in ordered])
    empty = used_blank.all(axis=1)
    all_blank = empty.copy()
    if empty.any():
        others = df.iloc[np.flatnonzero(empty)].to_numpy(dtype=object)
        all_blank[empty] = [all(is_blank(x) for x in row) for row in others]
    active = np.flatnonzero(~empty)
    if active.size == 0:
        raise InputError(_("no data rows below the header (columns used: %(headers)s; at least %(n)s rows "
                           "are needed)", headers=header_list(c.header for c in ordered), n=MIN_POINTS),
                         source=source)
    last = active[-1]
    blank_rows = [int(r) for r in rows[:last][all_blank[:last]]]
    skipped_rows = [int(r) for r in rows[empty & ~all_blank]]
    every = active.size == len(df)  # no row left out: no copy of the frame
    sub = df if every else df.iloc[active]
    sub_rows = rows if every else rows[active]

    # cells to numbers
    raw: dict[str, np.ndarray] = {}
    for c in ordered:
        s = sub.iloc[:, c.index]
        kept = cells[c.index] if every else cells[c.index].take(active)
        values, bad = clock_hours(s, kept, c.unit_text) if c.kind == "clock" else numeric(s, kept)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            template = (_("'%(cell)s' is not a valid time (expected elapsed time as %(unit)s)")
                        if c.kind == "clock"
                        else _("'%(cell)s' is not a number (expected a number in %(unit)s)"))
            raise InputError(template % {"cell": _cell(s.iat[k]), "unit": c.unit_text.strip()},
                             source=source, row=int(sub_rows[k]), column=c.header)
        raw[c.role] = values
    missing = np.column_stack([np.isnan(raw[c.role]) for c in ordered])
    if missing.any():
        k, j = map(int, np.argwhere(missing)[0])
        c = ordered[j]
        filled = [o.header for o in ordered if o is not c and not np.isnan(raw[o.role][k])]
        has = _("this row has %(headers)s but ", headers=header_list(filled)) if filled else ""
        raise InputError(has + _("no value in '%(name)s' (every data row needs %(headers)s; fill the cell in "
                                 "or delete the row)", name=c.header,
                                 headers=header_list(o.header for o in ordered)),
                         source=source, row=int(sub_rows[k]), column=c.header)
    n = active.size
    if n < MIN_POINTS:
        raise InputError(ngettext("only %(num)d usable data row (rows %(first)s–%(last)s); at least "
                                  "%(need)s are needed to analyse a trial",
                                  "only %(num)d usable data rows (rows %(first)s–%(last)s); at least "
                                  "%(need)s are needed to analyse a trial", n, first=sub_rows[0],
                                  last=sub_rows[-1], need=MIN_POINTS),
                         source=source)

    # time
    tc = cols["time"]
    t_h = raw["time"] if tc.kind == "clock" else _converted(raw["time"], tc, "time", sub, sub_rows, source)
    step = np.diff(t_h)
    if (step <= 0).any():
        k = int(np.flatnonzero(step <= 0)[0]) + 1
        raise InputError(_("time does not increase: '%(cell)s' follows '%(before)s' (row %(row)s); times "
                           "must be strictly increasing, remove repeated or out-of-order rows",
                           cell=_cell(sub.iloc[k, tc.index]), before=_cell(sub.iloc[k - 1, tc.index]),
                           row=sub_rows[k - 1]), source=source,
                         row=int(sub_rows[k]), column=tc.header)

    # filtrate
    fc = cols["filtrate"]
    values = raw["filtrate"]
    volume_L = tol = None
    if fc.kind in ("mass", "volume"):
        if fc.kind == "mass":
            with np.errstate(over="ignore"):
                volume_L = _converted(values, fc, "mass", sub, sub_rows, source) / density_g_ml / 1000.0
            _check_finite(volume_L, fc, "a volume in L (with the density of "
                          f"{density_g_ml:.6g} g/mL)", sub, sub_rows, source)
        else:
            volume_L = _converted(values, fc, "volume", sub, sub_rows, source)
        tol, tol_text = _dip_tolerance(max_dip, volume_L, density_g_ml, source)
    # with --max-dip a tared balance may read a little below 0: the same noise as a dip
    negative = values < 0 if max_dip is None or volume_L is None else volume_L < -tol
    if negative.any():
        k = int(np.flatnonzero(negative)[0])
        what = {"flow": "flow", "flux": "flux"}.get(fc.kind, "filtrate")
        raise InputError(f"negative {what} '{_cell(sub.iloc[k, fc.index])}' (filtrate readings must be "
                         f"0 or more; tare the balance or check the sign)", source=source,
                         row=int(sub_rows[k]), column=fc.header)
    meta: dict = {"t0_h": float(t_h[0])}
    if fc.kind in ("mass", "volume"):
        # A balance reads with noise: a dip within the tolerance (default DIP_TOLERANCE of the largest
        # reading, or --max-dip) is noise and kept as read (least squares averages it); a larger drop is
        # a removed vessel or drift -> error.
        dips = -np.diff(volume_L)
        drop = dips > tol
        if (dips > 0).any() and not drop.any():
            meta["dips"] = {"count": int((dips > 0).sum()), "largest_L": float(dips.max()),
                            "tolerance_L": tol, "tolerance": tol_text}
            notes.append(f"{int((dips > 0).sum())} filtrate reading(s) dip below the previous one by at most "
                         f"{dips.max() * 1000:.3g} mL (within {tol_text}: balance noise, kept as read)")
        if (values < 0).any():
            notes.append(f"{int((values < 0).sum())} filtrate reading(s) below 0 by at most "
                         f"{-volume_L.min() * 1000:.3g} mL (within {tol_text}: balance noise, kept as read)")
        if drop.any():
            k = int(np.flatnonzero(drop)[0]) + 1
            raise InputError(f"filtrate decreases: '{_cell(sub.iloc[k, fc.index])}' after "
                             f"'{_cell(sub.iloc[k - 1, fc.index])}' (row {sub_rows[k - 1]}), a drop "
                             f"of {dips[k - 1] * 1000:.3g} mL; cumulative filtrate must not go down by more "
                             f"than {tol_text} (check for balance drift or a removed vessel; if it is "
                             f"balance noise, accept such dips with the max-dip option, e.g. --max-dip "
                             f"\"0.5 g\" or \"1%\")",
                             source=source, row=int(sub_rows[k]), column=fc.header)
        v0 = float(volume_L[0])
        meta["v0_L"] = v0
        if t_h[0] == 0 and v0 != 0:
            volume_L = volume_L - v0
            meta["tare_L"] = v0
            notes.append(f"first reading at t = 0 ({_cell(sub.iloc[0, fc.index])} "
                         f"{fc.unit_text.strip()}) subtracted from all readings as balance tare")
        else:
            meta["tare_L"] = 0.0
            if t_h[0] != 0 and v0 != 0:
                notes.append(f"first row is at t = {t_h[0]:.6g} h with {v0:.6g} L already collected; both "
                             f"kept as read (nothing subtracted)")
        with np.errstate(over="ignore"):
            v = volume_L / area_m2
        _check_finite(v, fc, f"a volume per area in L/m² (over {area_m2:.6g} m²)", sub, sub_rows, source)
    else:
        from scipy.integrate import cumulative_trapezoid  # only for flow and flux columns: a slow import

        with np.errstate(over="ignore", invalid="ignore"):
            if fc.kind == "flow":
                v = cumulative_trapezoid(_converted(values, fc, "flow", sub, sub_rows, source), t_h,
                                         initial=0.0) / area_m2
            else:
                v = cumulative_trapezoid(_converted(values, fc, "flux", sub, sub_rows, source), t_h,
                                         initial=0.0)
        _check_finite(v, fc, "a cumulative volume per area in L/m²", sub, sub_rows, source)
        meta.update(v0_L=0.0, tare_L=0.0)
        notes.append(f"filtrate volume integrated from '{fc.header}' (cumulative trapezoid), 0 at the "
                     f"first time")
    if t_h[0] != 0:
        notes.append(f"first time is {t_h[0]:.6g} h, not 0; times kept as read (not shifted)")

    # pressure and mode
    pressure = None
    if "pressure" in cols:
        pc = cols["pressure"]
        pressure = _converted(raw["pressure"], pc, "pressure", sub, sub_rows, source)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        evidence = _mode_evidence(t_h, v, pressure)
    if mode_used is None:
        mode_used, mode_source = evidence["detected"], "detected"
    elif evidence["pressure_column"] and evidence["detected"] != mode_used:
        notes.append(f"mode {mode_used} ({mode_source}) differs from the data, which look "
                     f"{evidence['detected']} ({evidence['rule']})")
    signals = _signals(cols, sub, cells, active, sub_rows, source)
    if mode_used == CONSTANT_FLUX and pressure is None:
        raise InputError(_("a constant-flux trial needs a pressure column, e.g. 'pressure (bar)' (headers "
                           "found: %(headers)s)", headers=header_list(headers)), source=source,
                         field="mode" if mode_source == "argument" else None)

    extra = [cols[r] for r in SIGNALS if r in cols]
    used = {c.index for c in ordered + extra}
    meta.update({
        "columns": {meta_role(c): c.header for c in ordered + extra},
        "units": {meta_role(c): c.unit_text.strip() for c in ordered + extra},
        "filtrate_from": fc.kind,
        "ignored_columns": [h for i, h in enumerate(headers) if i not in used],
        "area_source": area_source,
        "mode_source": mode_source,
        "mode_evidence": evidence,
        "rows": [int(sub_rows[0]), int(sub_rows[-1])],
        "points": int(n),
        "blank_rows": blank_rows,
        "skipped_rows": skipped_rows,
        "file_meta": file_meta,
        "notes": notes,
    })
    if fc.kind == "mass":
        meta.update(density_g_per_mL=density_g_ml, density_source=density_source)
    if blank_rows:
        notes.append(f"blank row{'s' if len(blank_rows) > 1 else ''} {', '.join(map(str, blank_rows))} "
                     f"ignored")
    if skipped_rows:
        notes.append(f"row{'s' if len(skipped_rows) > 1 else ''} {', '.join(map(str, skipped_rows))} without "
                     f"time or filtrate ignored")
    return Trial(t_h=t_h, v_L_per_m2=v, area_m2=float(area_m2), mode=mode_used, pressure_bar=pressure,
                 source=source, meta=meta, signals=signals)


def _signals(cols, sub, cells, active, sub_rows, source) -> dict:
    """The optional channels (turbidity, P2, outlet pressure) in canonical units; a blank cell is NaN
    (a turbidity meter may log less often than the balance), text that is not a number an error."""
    out = {}
    for role, key in SIGNALS.items():
        if role not in cols:
            continue
        c = cols[role]
        values, bad = numeric(sub.iloc[:, c.index], cells[c.index].take(active))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InputError(f"'{_cell(sub.iloc[k, c.index])}' is not a number (expected a number in "
                             f"{c.unit_text.strip()}, or an empty cell)", source=source, row=int(sub_rows[k]),
                             column=c.header)
        if role != "turbidity":
            with np.errstate(over="ignore", invalid="ignore"):
                values = np.asarray(to_canonical(values, c.unit, "pressure"), float)
            finite_or_blank = np.where(np.isnan(values), 0.0, values)  # a blank cell is NaN, and allowed
            _check_finite(finite_or_blank, c, "a pressure in bar", sub, sub_rows, source)
        elif (values[np.isfinite(values)] < 0).any():
            k = int(np.flatnonzero(values < 0)[0])
            raise InputError(f"negative turbidity '{_cell(sub.iloc[k, c.index])}'", source=source,
                             row=int(sub_rows[k]), column=c.header)
        out[key] = values
    return out
