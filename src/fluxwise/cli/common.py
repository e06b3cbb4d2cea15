"""Shared CLI pieces: trial options, JSON output, human-readable tables with units."""

from __future__ import annotations

import json
import math
import os
import sys
from contextlib import contextmanager

import click
import numpy as np

from ..errors import InputError


@contextmanager
def native_output_to_stderr():
    """While a command runs, text that compiled libraries write straight to file descriptor 1 (LAPACK's
    "** On entry to DLASCL ...") goes to stderr, and Python's own output still to stdout, so that
    stdout carries nothing but the result and ``--json`` stays parseable.

    Does nothing when ``sys.stdout`` is not file descriptor 1 (a test runner's capture).
    """
    try:
        fd_is_stdout = sys.stdout.fileno() == 1
    except (AttributeError, OSError, ValueError):
        fd_is_stdout = False
    if not fd_is_stdout:
        yield
        return
    old = sys.stdout
    old.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(saved, "w", encoding=old.encoding, errors=old.errors, closefd=False,
                           buffering=1 if old.line_buffering else -1)
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
        finally:
            sys.stdout = old
            os.dup2(saved, 1)
            os.close(saved)


def trial_options(f):
    """Options that say how to read a trial file."""
    opts = [
        click.option("--area", help='Test filter area with unit, e.g. "13.8 cm2" (else from the file).'),
        click.option("--mode", type=click.Choice(["constant-pressure", "constant-flux"]),
                     help="Operating mode (default: detected from the data)."),
        click.option("--density", help='Filtrate density to convert mass to volume, e.g. "1.02 g/mL" '
                                       "(default 1.0 g/mL)."),
        click.option("--sheet", help="Excel sheet name or number."),
        click.option("--column", "columns", multiple=True, metavar="ROLE=HEADER",
                     help='Column mapping overriding detection, e.g. --column "time=Zeit [s]". '
                          "Roles: time, mass, volume, pressure, flow."),
        click.option("--max-dip", help="Accept filtrate readings that dip below the previous one by up to "
                                       "this much (balance noise), kept as read and noted: a fraction of the "
                                       'largest reading ("0.5%") or a mass or volume ("0.3 g"); default '
                                       "0.2 %."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def parse_columns(columns) -> dict | None:
    if not columns:
        return None
    out = {}
    for item in columns:
        if "=" not in item:
            raise InputError(f"'{item}' is not ROLE=HEADER (e.g. time=Zeit [s])", field="--column")
        role, header = item.split("=", 1)
        out[role.strip()] = header.strip()
    return out


def sheet_arg(sheet):
    if sheet is None:
        return None
    return int(sheet) if str(sheet).isdigit() else sheet


def _clean(obj):
    """JSON-safe: numpy scalars to floats, inf/nan to null (strict JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def echo_json(data) -> None:
    click.echo(json.dumps(_clean(data), indent=2, ensure_ascii=False))


def g(x, digits=4) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.{digits}g}"


def table(rows, headers, aligns=None) -> str:
    """A plain-text table (no dependency): left-aligned text, right-aligned numbers."""
    cols = list(zip(*([headers] + rows), strict=True)) if rows else [[h] for h in headers]
    widths = [max(len(str(c)) for c in col) for col in cols]
    aligns = aligns or ["<"] + [">"] * (len(headers) - 1)
    line = "  ".join(f"{{:{a}{w}}}" for a, w in zip(aligns, widths, strict=True))
    out = [line.format(*headers), "  ".join("-" * w for w in widths)]
    out += [line.format(*[str(c) for c in r]) for r in rows]
    return "\n".join(out)
