"""A designed filtration train as one self-contained HTML report (a reduced plotly.js embedded once, no
network).

Figures: per step, the trial's fits and flux decay (the functions of :mod:`fluxwise.report.figures`)
or the fitted model's curve at the design point, and the UF/DF time course (V, C, J); for the
train, a Sankey of the product mass through the steps, the volumes in and out, and stacked bars of
the cost and CO2e line items and of the supplier-route comparison. Tables repeat every line item
with its quantity, unit price or factor and source, so a reader can reconcile each total.
"""

from __future__ import annotations

import datetime as _dt
import textwrap

import numpy as np
import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.subplots import make_subplots

from .. import __version__, i18n
from ..i18n import _
from ..models.fouling import MODELS, flux, resistance_ratio
from ..trial import CONSTANT_PRESSURE
from . import assets, figures
from .html import fmt, install_language

__all__ = ["render_train_report", "mass_balance_figure", "volume_figure", "line_items_figure",
           "route_figure", "ufdf_time_course_figure", "model_curve_figure", "step_figures"]

_env = Environment(loader=PackageLoader("fluxwise", "report/templates"),
                   autoescape=select_autoescape(["html", "j2"]), extensions=["jinja2.ext.i18n"])
_env.filters["fmt"] = fmt
install_language(_env)

_LAYOUT = figures._LAYOUT
_CATEGORY_COLOURS = {"filters": "#1f77b4", "membrane": "#9467bd", "buffer": "#2ca02c", "wfi": "#17becf",
                     "resin": "#8c564b", "end-of-life": "#d62728", "freight": "#ff7f0e"}


def _html(fig) -> str:
    return assets.figure_html(fig)


def _wrap(text: str, width: int = 16) -> str:
    """``text`` broken into lines of about ``width`` characters (plotly reads ``<br>`` in labels)."""
    return "<br>".join(textwrap.wrap(text, width, break_long_words=False)) or text


def mass_balance_figure(design) -> go.Figure:
    """Sankey of the product mass [g]: batch -> each step -> next step, with each step's losses.

    The nodes are placed, not left to the layout: the batch, the steps and the final pool in one row
    from left to right, each step's loss below and to its right, so no two labels share a place; long
    step names are broken into lines.
    """
    steps = design.steps
    n = len(steps)
    column = 1.0 / (n + 1)
    labels = [f"batch<br>{steps[0].product_in_g:.4g} g"]
    labels += [f"{_wrap(f'{s.index}. {s.name}')}<br>{s.product_out_g:.4g} g" for s in steps]
    labels.append("final pool")
    xs = [0.001] + [min(0.999, s.index * column) for s in steps] + [0.999]
    ys = [0.35] * (n + 2)
    loss_at = {}
    for s in steps:
        if s.product_loss_g > 0:
            loss_at[s.index] = len(labels)
            labels.append(f"lost in {s.index}<br>{s.product_loss_g:.3g} g")
            xs.append(min(0.999, (s.index + 0.5) * column))
            ys.append(0.92)
    src, tgt, val, col = [], [], [], []
    src.append(0), tgt.append(1), val.append(steps[0].product_in_g), col.append("rgba(31,119,180,0.45)")
    for s in steps:
        nxt = s.index + 1  # node of the next step, or the final pool after the last one
        src.append(s.index), tgt.append(nxt), val.append(s.product_out_g), col.append("rgba(31,119,180,0.45)")
        if s.index in loss_at:
            src.append(s.index), tgt.append(loss_at[s.index]), val.append(s.product_loss_g)
            col.append("rgba(214,39,40,0.45)")
    fig = go.Figure(go.Sankey(arrangement="fixed",
                              node=dict(label=labels, x=xs, y=ys, pad=24, thickness=14,
                                        hovertemplate="%{value:.4g} g<extra></extra>"),
                              link=dict(source=src, target=tgt, value=val, color=col,
                                        hovertemplate="%{value:.4g} g<extra></extra>"),
                              textfont=dict(size=12)))
    fig.update_layout(title=_("Product mass through the train [g]"), **{**_LAYOUT, "height": 480})
    return fig


def volume_figure(design) -> go.Figure:
    """Volume in, added, removed and out of every step [L]."""
    names = [f"{s.index}. {s.name}" for s in design.steps]
    fig = go.Figure()
    for attr, label, colour in (("volume_in_L", "in", "#1f77b4"), ("volume_added_L", "added", "#2ca02c"),
                                ("volume_removed_L", "removed", "#d62728"), ("volume_out_L", "out", "#444")):
        fig.add_bar(x=names, y=[getattr(s, attr) for s in design.steps], name=label, marker_color=colour)
    fig.update_layout(title=_("Volume balance per step [L]"), barmode="group", yaxis_title=_("volume [L]"),
                      **_LAYOUT)
    return fig


def line_items_figure(items, *, title: str, unit: str) -> go.Figure:
    """Stacked bars of line items by step and category."""
    steps = list(dict.fromkeys(f"{i.step_index}. {i.step}" for i in items))
    cats = list(dict.fromkeys(i.category for i in items))
    fig = go.Figure()
    for c in cats:
        y = [sum(i.amount for i in items if i.category == c and f"{i.step_index}. {i.step}" == s)
             for s in steps]
        fig.add_bar(x=steps, y=y, name=c, marker_color=_CATEGORY_COLOURS.get(c))
    fig.update_layout(title=title, barmode="stack", yaxis_title=unit, **_LAYOUT)
    return fig


def route_figure(design) -> go.Figure:
    """CO2e of the same train with its consumables shipped over each route [kg CO2e]."""
    comp = design.route_comparison
    other = [c["co2e_kg"] - c["freight_co2e_kg"] for c in comp]
    fig = go.Figure()
    labels = [c["label"] for c in comp]
    fig.add_bar(x=labels, y=other, name="resin + end of life", marker_color="#8c564b")
    fig.add_bar(x=labels, y=[c["freight_co2e_kg"] for c in comp], name="freight", marker_color="#ff7f0e")
    fig.update_layout(title=_("Made locally or imported: CO2e per batch by supplier route"), barmode="stack",
                      yaxis_title=_("kg CO2e per batch"), **_LAYOUT)
    return fig


def ufdf_time_course_figure(step) -> go.Figure:
    """Retentate volume, product concentration and flux over the UF/DF step."""
    tc = step.ufdf.time_course
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("retentate volume V [L]", "product concentration C [g/L]",
                                        "permeate flux J [L/m²/h]"))
    phases = np.asarray(tc["phase"])
    colours = {"concentration-1": "#1f77b4", "diafiltration": "#2ca02c", "concentration-2": "#d62728"}
    for ph, colour in colours.items():
        sel = phases == ph
        if not np.any(sel):
            continue
        t = np.asarray(tc["t_h"])[sel]
        for row, key in ((1, "volume_L"), (2, "concentration_g_per_L"), (3, "flux_LMH")):
            fig.add_scatter(x=t, y=np.asarray(tc[key])[sel], mode="lines", name=ph, legendgroup=ph,
                            showlegend=row == 1, line=dict(color=colour, width=2.5), row=row, col=1)
    fig.update_xaxes(title_text="time [h]", row=3, col=1)
    fig.update_layout(title=f"UF/DF time course — {step.name}", **{**_LAYOUT, "height": 640})
    return fig


def model_curve_figure(step) -> go.Figure:
    """The fitted model at the design point (steps given by parameters, without a trial)."""
    b, sz = step.basis, step.sizing
    k = tuple(b.params[p] for p in MODELS[b.model].params)
    v_star = sz.batch_volume_L / sz.min_area_m2
    vv = np.linspace(0.0, v_star * 1.3, 300)
    fig = go.Figure()
    if b.mode == CONSTANT_PRESSURE:
        j = flux(b.model, vv, b.params["J0_LMH"], *k) / b.params["J0_LMH"]
        fig.add_scatter(x=vv, y=j, mode="lines", name=f"{b.model}", line=dict(width=3))
        j_star = float(flux(b.model, v_star, b.params["J0_LMH"], *k)) / b.params["J0_LMH"]
        fig.add_scatter(x=[v_star], y=[j_star], mode="markers+text", text=["design point"],
                        textposition="top right", name=f"V* = {v_star:.4g} L/m² at the minimum area",
                        marker=dict(size=11, symbol="diamond", color="#000"))
        fig.update_layout(title=f"Model flux decay J/J0 vs throughput — {step.name}",
                          xaxis_title="throughput V [L/m²]", yaxis_title="J/J0 [-]", yaxis_range=[0, 1.1],
                          **_LAYOUT)
    else:
        j = sz.extra.get("flux_LMH", b.params["J0_LMH"])
        p0 = b.params["P0_bar"] * j / b.params["J0_LMH"]
        p = p0 * resistance_ratio(b.model, vv, b.params["J0_LMH"], *k)
        fig.add_scatter(x=vv, y=np.where(np.isfinite(p), p, None), mode="lines",
                        name=f"{b.model} at {j:.4g} LMH")
        fig.add_hline(y=sz.extra["max_pressure_bar"], line_dash="dot", annotation_text="maximum pressure")
        fig.update_layout(title=f"Model pressure vs throughput at constant flux — {step.name}",
                          xaxis_title="throughput V [L/m²]", yaxis_title="pressure [bar]", **_LAYOUT)
    return fig


def step_figures(step) -> list[str]:
    """HTML fragments of the figures of one step (empty for a hold step)."""
    if step.type == "ufdf":
        return [_html(ufdf_time_course_figure(step))]
    if step.type == "hold":
        return []
    if step.basis.fit is not None:
        from ..pipeline import Analysis

        fit = step.basis.fit
        a = Analysis(trial=fit.trial, fit=fit, sizing=step.sizing)
        # the model the step is sized with and those the data cannot tell from it (the trial's own
        # report compares all nine)
        shown = {step.basis.model, fit.best.name, *fit.indistinguishable}
        return [_html(figures.fits_figure(a, shown)), _html(figures.flux_decay_figure(a, shown))]
    return [_html(model_curve_figure(step))]


def render_train_report(design, *, title: str | None = None, record: dict | None = None) -> str:
    """Return the report of a :class:`fluxwise.design.train.TrainDesign` as an HTML string (``record``:
    the signature block of a stored result, as for :func:`fluxwise.report.html.render_report`)."""
    t = design.train
    d = design.to_dict()
    steps = [{"result": s, "dict": sd, "figs": step_figures(s)} for s, sd in zip(design.steps, d["steps"],
                                                                                  strict=True)]
    figs = {
        "mass": _html(mass_balance_figure(design)),
        "volume": _html(volume_figure(design)),
        "cost": _html(line_items_figure(design.cost_items, title=f"Cost per batch by step [{t.currency}]",
                                        unit=t.currency)),
        "co2e": _html(line_items_figure(design.co2e_items, title="CO2e per batch by step [kg CO2e]",
                                        unit="kg CO2e")),
        "routes": _html(route_figure(design)),
    }
    factors = t.factors
    sources = sorted({i.source for i in design.cost_items + design.co2e_items + design.plastic_items})
    tmpl = _env.get_template("train.html.j2")
    return tmpl.render(
        title=title or f"Filtration train — {t.name}", plotlyjs=assets.plotly_js(),
        legendsjs=assets.legends_js(), design=design, d=d, train=t, summary=design.summary, steps=steps,
        figs=figs, factors=factors, sources=sources, version=__version__,
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), record=record,
        lang=i18n.current())
