"""``fluxwise tmp-excursion``, ``gel-fit`` and ``mass-transfer``: UF/DF bench data to the numbers of a design.

The files are read by :mod:`fluxwise.io.ufdf_data` (CSV/XLSX, units in the headers); each command
prints a table with units, or ``--json`` (the ``to_dict`` of the analysis), and with ``-o`` writes
a self-contained HTML page (plotly.js embedded once, nothing fetched) of the data and the fit.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import click
import numpy as np

from ..errors import InputError
from ..io.ufdf_data import (
    METHODS,
    analyze_gel_polarization,
    analyze_mass_transfer,
    analyze_tmp_excursions,
    read_flux_vs_concentration,
    read_limiting_flux,
    read_tmp_excursion,
)
from ..units import parse_quantity
from . import main
from .common import echo_json, g, parse_columns, sheet_arg, table

_FIELDS = {"area": "--area", "columns": "--column", "sheet": "--sheet", "method": "--method",
           "slope_fraction": "--slope-fraction", "concentration_g_per_L": "--concentration"}
_CROSSFLOW_UNIT = {"LMH": "L/m²/h", "L/h": "L/h"}


def _data_options(f):
    opts = [
        click.option("--area", help='Membrane area, e.g. "0.11 m2" (else a "Membrane area:" line in the '
                                    "file); needed for a permeate flow in mL/min and to give a feed flow per "
                                    "area."),
        click.option("--sheet", help="Excel sheet name or number."),
        click.option("--column", "columns", multiple=True, metavar="ROLE=HEADER",
                     help='Column mapping overriding detection, e.g. --column "tmp=P_TM [bar]". Roles: tmp, '
                          "flux, crossflow, concentration, run."),
        click.option("--method", type=click.Choice(METHODS), default="two-segment", show_default=True,
                     help="How the knee of a TMP excursion is found: continuous two-segment regression, or "
                          "the first TMP whose local slope falls below --slope-fraction of the initial one."),
        click.option("--slope-fraction", type=float, default=0.1, show_default=True,
                     help="slope-fraction method: fraction of the initial slope that marks the knee."),
        click.option("-o", "--output", type=click.Path(dir_okay=False),
                     help="Also write a self-contained HTML plot of the data and the fit."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _read(reader, path, area, sheet, columns):
    try:
        return reader(path, area=area, sheet=sheet_arg(sheet), columns=parse_columns(columns))
    except InputError as exc:  # name the option the user typed, not the Python argument
        raise type(exc)(exc.message, source=exc.source, row=exc.row, column=exc.column,
                        field=_FIELDS.get(exc.field, exc.field)) from None


def _confidence(value) -> float:
    if value is None:
        return 0.95
    try:
        c = float(value)
    except ValueError:
        raise InputError(f"'{value}' is not a number", field="--confidence") from None
    if not 0 < c < 1:
        raise InputError(f"must be between 0 and 1 (e.g. 0.95), got {value}", field="--confidence")
    return c


def _analysis(fn, **kwargs):
    try:
        return fn(**kwargs)
    except InputError as exc:
        raise type(exc)(exc.message, source=exc.source, row=exc.row, column=exc.column,
                        field=_FIELDS.get(exc.field, exc.field)) from None


def _write_plot(output, title: str, figures, lines) -> Path:
    from plotly.offline import get_plotlyjs

    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    config = {"displaylogo": False, "responsive": True}
    parts = [f.to_html(full_html=False, include_plotlyjs=False, config=config) for f in figures]
    body = "".join(f'<div style="max-width:960px">{p}</div>' for p in parts)
    text = "".join(f"<li>{html.escape(x)}</li>" for x in lines)
    out.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                   f"<script>{get_plotlyjs()}</script></head><body style='font-family:sans-serif'>"
                   f"<h1>{html.escape(title)}</h1><ul>{text}</ul>{body}</body></html>", encoding="utf-8")
    return out


_LAYOUT = dict(template="plotly_white", height=460, margin=dict(l=70, r=20, t=50, b=60))


def _range(a, b, n=2):
    return np.linspace(a, b, n)


# -------------------------------------------------------------------------------- tmp-excursion

def _excursion_traces(fig, ex, tmp, flux, colour):
    r = ex.result
    name = ex.group.label
    fig.add_scatter(x=tmp, y=flux, mode="markers", name=name, legendgroup=name,
                    marker=dict(color=colour, size=8))
    lo, hi = ex.tmp_range_bar
    if r.method == "two-segment" and r.knee_tmp_bar is not None:
        k, jk = r.knee_tmp_bar, r.knee_flux_LMH
        x = [lo, k, hi]
        y = [jk + r.initial_slope_LMH_per_bar * (lo - k), jk, jk + r.final_slope_LMH_per_bar * (hi - k)]
        fig.add_scatter(x=x, y=y, mode="lines", name=f"{name}: two-segment fit", legendgroup=name,
                        showlegend=False, line=dict(color=colour, dash="dash"))
    else:
        fig.add_scatter(x=[lo, hi], y=[r.limiting_flux_LMH] * 2, mode="lines", legendgroup=name,
                        showlegend=False, name=f"{name}: limiting flux", line=dict(color=colour, dash="dot"))
    if r.knee_tmp_bar is not None:
        fig.add_scatter(x=[r.knee_tmp_bar], y=[r.knee_flux_LMH], mode="markers", legendgroup=name,
                        showlegend=False, name=f"{name}: knee",
                        marker=dict(color=colour, size=14, symbol="diamond-open", line=dict(width=2)),
                        hovertemplate=f"knee {r.knee_tmp_bar:.3g} bar, {r.knee_flux_LMH:.3g} LMH"
                                      "<extra></extra>")


def tmp_excursion_figure(analysis):
    """Flux against TMP for each excursion, with the fitted segments and the knee."""
    import plotly.graph_objects as go
    from plotly.colors import DEFAULT_PLOTLY_COLORS

    fig = go.Figure()
    data = analysis.data
    for i, ex in enumerate(analysis.excursions):
        pos = ex.group.positions
        _excursion_traces(fig, ex, data.tmp_bar[pos], data.flux_LMH[pos],
                          DEFAULT_PLOTLY_COLORS[i % len(DEFAULT_PLOTLY_COLORS)])
    fig.update_layout(title=f"TMP excursions ({analysis.method}); diamonds: knees", xaxis_title="TMP [bar]",
                      yaxis_title="flux [L/m²/h]", **_LAYOUT)
    return fig


def _excursion_rows(analysis) -> list[list[str]]:
    rows = []
    for e in analysis.excursions:
        r = e.result
        slopes = f"{g(r.initial_slope_LMH_per_bar, 3)} / {g(r.final_slope_LMH_per_bar, 3)}"
        rows.append([e.group.label, f"{e.rows[0]}–{e.rows[1]}", str(e.group.positions.size),
                     f"{g(e.tmp_range_bar[0], 3)}–{g(e.tmp_range_bar[1], 3)}", g(r.knee_tmp_bar),
                     g(r.knee_flux_LMH), g(r.limiting_flux_LMH), slopes])
    return rows


def _print_excursions(analysis) -> None:
    click.echo(table(_excursion_rows(analysis),
                     ["excursion", "rows", "points", "TMP [bar]", "knee TMP [bar]", "knee flux [LMH]",
                      "limiting flux [LMH]", "slope before / after [LMH/bar]"],
                     ["<", "<", ">", ">", ">", ">", ">", ">"]))


def _print_notes(data, warnings) -> None:
    if data.crossflow_unit == "LMH":
        click.echo("crossflow: feed flow per membrane area [L/m²/h]")
    for n in data.meta.get("notes", []):
        click.echo(f"note: {n}")
    for w in warnings:
        click.echo(f"warning: {w}")


@main.command("tmp-excursion")
@click.argument("file")
@_data_options
def tmp_excursion(file, area, sheet, columns, method, slope_fraction, output, as_json):
    """Limiting flux and knee of the TMP excursions in FILE (CSV/XLSX): TMP and flux (or permeate flow and
    the membrane area); with crossflow, concentration or run columns, one result per excursion."""
    data = _read(read_tmp_excursion, file, area, sheet, columns)
    a = _analysis(analyze_tmp_excursions, data=data, method=method, slope_fraction=slope_fraction)
    out = None
    if output:
        lines = [f"{e.group.label}: knee {g(e.result.knee_tmp_bar)} bar at {g(e.result.knee_flux_LMH)} LMH, "
                 f"limiting flux {g(e.result.limiting_flux_LMH)} LMH" for e in a.excursions]
        out = _write_plot(output, f"TMP excursions — {file}", [tmp_excursion_figure(a)], lines + a.warnings)
    if as_json:
        d = a.to_dict()
        if out is not None:
            d["plot"] = str(out)
        echo_json(d)
        return
    area_txt = f"; membrane area {g(data.area_m2)} m²" if data.area_m2 is not None else ""
    n = len(a.excursions)
    click.echo(f"TMP excursions in {file}: {n} excursion{'s' if n != 1 else ''}, {data.points} points, "
               f"{method} method{area_txt}")
    _print_excursions(a)
    _print_notes(data, a.warnings)
    if out is not None:
        click.echo(f"Plot written to {out.resolve()}")


# ------------------------------------------------------------------------------------- gel-fit

def gel_fit_figure(analysis):
    """Flux against concentration (log axis) with the fitted J = k ln(Cg/C) down to J = 0 at Cg."""
    import plotly.graph_objects as go

    f = analysis.fit
    c, j = analysis.concentration_g_per_L, analysis.flux_LMH
    cg = f.gel_concentration_g_per_L
    cc = np.geomspace(min(c.min(), cg) * 0.8, max(c.max(), cg), 200)
    fig = go.Figure()
    name = "limiting flux of each excursion" if analysis.input == "excursions" else "limiting flux"
    fig.add_scatter(x=c, y=j, mode="markers", name=name, marker=dict(size=9))
    fig.add_scatter(x=cc, y=f.flux(cc), mode="lines",
                    name=f"J = {f.k_LMH:.3g}·ln({cg:.4g}/C)", line=dict(dash="dash"))
    lo, hi = f.gel_concentration_ci_g_per_L
    ci = f"{lo:.4g}–{hi:.4g}" if math.isfinite(lo) and math.isfinite(hi) else "unbounded"
    fig.add_scatter(x=[cg], y=[0.0], mode="markers+text", text=["Cg"], textposition="top center",
                    name=f"Cg = {cg:.4g} g/L ({f.confidence:.0%} interval {ci})",
                    marker=dict(size=12, symbol="x", color="#000"))
    fig.update_layout(title="Gel-polarisation model: limiting flux against concentration",
                      xaxis_title="bulk concentration C [g/L] (log scale)", yaxis_title="flux [L/m²/h]",
                      xaxis_type="log", **_LAYOUT)
    return fig


def _ci(pair, digits=4) -> str:
    lo, hi = pair
    return f"{g(float(lo), digits)} – {g(float(hi), digits)}"


@main.command("gel-fit")
@click.argument("file")
@_data_options
@click.option("--confidence", help="Confidence level of the intervals (default 0.95).")
def gel_fit(file, area, sheet, columns, method, slope_fraction, output, as_json, confidence):
    """k and Cg of the gel model J = k ln(Cg/C), with intervals, from the limiting flux against
    concentration in FILE — points, or TMP excursions at several concentrations (their limiting flux)."""
    conf = _confidence(confidence)
    data = _read(read_flux_vs_concentration, file, area, sheet, columns)
    a = _analysis(analyze_gel_polarization, data=data, method=method, slope_fraction=slope_fraction,
                  confidence=conf)
    f = a.fit
    out = None
    if output:
        lines = [f"k = {g(f.k_LMH)} LMH ({_ci(f.k_ci_LMH)}), Cg = {g(f.gel_concentration_g_per_L)} g/L "
                 f"({_ci(f.gel_concentration_ci_g_per_L)}), {f.confidence:.0%} intervals, "
                 f"R² = {g(f.r_squared, 5)}"]
        figs = [gel_fit_figure(a)]
        if a.excursions is not None:
            figs.append(tmp_excursion_figure(a.excursions))
        out = _write_plot(output, f"Gel-model fit — {file}", figs, lines)
    d = a.to_dict()
    if as_json:
        if out is not None:
            d["plot"] = str(out)
        echo_json(d)
        return
    what = "excursions (their limiting flux)" if a.input == "excursions" else "points"
    click.echo(f"Gel-polarisation model J = k ln(Cg/C), fitted to {f.n_points} {what} of {file}")
    pct = f"{f.confidence:.0%} interval"
    click.echo(table([["k (mass-transfer coefficient)", g(f.k_LMH), _ci(f.k_ci_LMH), "L/m²/h"],
                      ["Cg (gel concentration)", g(f.gel_concentration_g_per_L),
                       _ci(f.gel_concentration_ci_g_per_L), "g/L"],
                      ["R²", g(f.r_squared, 5), "", "-"]],
                     ["quantity", "value", pct, "unit"], ["<", ">", ">", "<"]))
    click.echo(f"optimal DF concentration Cg/e = {g(f.gel_concentration_g_per_L / math.e)} g/L, where J = k")
    if a.excursions is not None:
        _print_excursions(a.excursions)
    _print_notes(data, d["warnings"])
    if out is not None:
        click.echo(f"Plot written to {out.resolve()}")


# ------------------------------------------------------------------------------- mass-transfer

def mass_transfer_figure(analysis):
    """The fitted quantity against crossflow on log-log axes with k = a·Q^b."""
    import plotly.graph_objects as go

    f = analysis.fit
    q, y = analysis.crossflow, analysis.y
    qq = np.geomspace(q.min() * 0.8, q.max() * 1.25, 100)
    label = "k" if f.fitted_quantity == "k_LMH" else "limiting flux"
    unit = _CROSSFLOW_UNIT.get(analysis.crossflow_unit, analysis.crossflow_unit)
    fig = go.Figure()
    fig.add_scatter(x=q, y=y, mode="markers", name=label, marker=dict(size=9))
    fig.add_scatter(x=qq, y=f.predict(qq), mode="lines", name=f"{f.a:.4g}·Q^{f.b:.3g}",
                    line=dict(dash="dash"))
    fig.update_layout(title=f"Mass transfer: {label} against crossflow", xaxis_title=f"crossflow Q [{unit}]",
                      yaxis_title=f"{label} [L/m²/h]", xaxis_type="log", yaxis_type="log", **_LAYOUT)
    return fig


@main.command("mass-transfer")
@click.argument("file")
@_data_options
@click.option("--cg", help='Gel concentration, e.g. "250 g/L" (from gel-fit): turns each limiting flux into '
                           "k = J/ln(Cg/C), so that a and b describe k.")
@click.option("--concentration", help='Bulk concentration of the points, e.g. "60 g/L", when the file has no '
                                      "concentration column.")
@click.option("--confidence", help="Confidence level of the intervals (default 0.95).")
def mass_transfer(file, area, sheet, columns, method, slope_fraction, output, as_json, cg, concentration,
                  confidence):
    """a and b of k = a·Q^b from the limiting flux at several crossflows in FILE — points, or TMP
    excursions at several crossflows (their limiting flux). Q is the feed flow per membrane area [LMH]
    when the file gives it or the area is known (the unit of feed_flux in a train), else L/h."""
    conf = _confidence(confidence)
    cg_v = None if cg is None else parse_quantity(cg, "concentration", field="--cg")
    c_v = None if concentration is None else parse_quantity(concentration, "concentration",
                                                            field="--concentration")
    for v, opt in ((cg_v, "--cg"), (c_v, "--concentration")):
        if v is not None and not v > 0:
            raise InputError("must be positive", field=opt)
    data = _read(read_limiting_flux, file, area, sheet, columns)
    a = _analysis(analyze_mass_transfer, data=data, gel_concentration_g_per_L=cg_v, concentration_g_per_L=c_v,
                  method=method, slope_fraction=slope_fraction, confidence=conf)
    f = a.fit
    warnings = list(a.to_dict()["warnings"])
    if f.fitted_quantity != "k_LMH":
        why = "no --cg" if cg_v is None else "no concentration (column or --concentration)"
        warnings.append(f"{why}: the limiting flux itself was fitted; b is that of k, a is k's a times "
                        "ln(Cg/C)")
    unit = _CROSSFLOW_UNIT.get(a.crossflow_unit, a.crossflow_unit)
    out = None
    if output:
        lines = [f"a = {g(f.a)} ({_ci(f.a_ci)}), b = {g(f.b, 3)} ({_ci(f.b_ci, 3)}), {f.confidence:.0%} "
                 f"intervals; Q in {unit}"] + warnings
        figs = [mass_transfer_figure(a)]
        if a.excursions is not None:
            figs.append(tmp_excursion_figure(a.excursions))
        out = _write_plot(output, f"Mass-transfer fit — {file}", figs, lines)
    if as_json:
        d = a.to_dict()
        d["warnings"] = warnings
        if out is not None:
            d["plot"] = str(out)
        echo_json(d)
        return
    label = "k" if f.fitted_quantity == "k_LMH" else "J_lim"
    what = "excursions (their limiting flux)" if a.input == "excursions" else "points"
    click.echo(f"Mass transfer {label} = a·Q^b, fitted to {f.n_points} {what} of {file}; Q in {unit}")
    pct = f"{f.confidence:.0%} interval"
    click.echo(table([["a", g(f.a), _ci(f.a_ci), f"L/m²/h per ({unit})^b"],
                      ["b", g(f.b, 3), _ci(f.b_ci, 3), "-"], ["R²", g(f.r_squared, 5), "", "-"]],
                     ["parameter", "value", pct, "unit"], ["<", ">", ">", "<"]))
    rows = [[str(r), g(float(q)), g(float(j)), g(float(y))] for r, q, j, y in
            zip(a.rows, a.crossflow, a.limiting_flux_LMH, a.y, strict=True)]
    last = "k [LMH]" if label == "k" else "fitted [LMH]"
    head = ["rows", f"crossflow [{unit}]", "limiting flux [LMH]", last]
    click.echo(table(rows, head, ["<", ">", ">", ">"]))
    if label == "k" and a.crossflow_unit == "LMH":
        click.echo(f"in a train: mass_transfer_a: {f.a:.4g}, mass_transfer_b: {f.b:.3g}, cg: "
                   f"{g(a.gel_concentration_g_per_L)} g/L, feed_flux in LMH")
    _print_notes(data, warnings)
    if out is not None:
        click.echo(f"Plot written to {out.resolve()}")
