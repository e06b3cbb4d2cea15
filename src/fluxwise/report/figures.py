"""Plotly figures of a trial analysis (pure: Analysis in, figure out; no I/O).

Each builder returns a :class:`~fluxwise.report.plainfig.PlainFigure` (plain dicts, the JSON plotly.js
reads, no validation at request time); ``figure=plotly.graph_objects.Figure`` builds the same figure
with plotly's own classes — the tests and ``benchmarks/bench_pages.py`` compare the two."""

from __future__ import annotations

import numpy as np

from ..i18n import _, term
from ..models.fouling import MODELS, flux, resistance_ratio
from ..trial import CONSTANT_PRESSURE
from .plainfig import PlainFigure

_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22"]
# Legends beside the plot; plot-legends.js (pages and reports) moves them below a narrow plot.
_LAYOUT = dict(template="plotly_white", height=420, margin=dict(l=70, r=20, t=50, b=60),
               legend=dict(font=dict(size=11)))


def _style(fit_rank: int) -> dict:
    return dict(width=3 if fit_rank == 0 else 1.4, dash="solid" if fit_rank == 0 else "dot")


def _shown(fit, models):
    """The fits to draw, best first: every model, or those named in ``models``."""
    return [(i, f) for i, f in enumerate(fit.fits) if models is None or f.name in models]


def fits_figure(analysis, models=None, *, figure=PlainFigure):
    """Data and every fitted model (or those named in ``models``): V(t) at constant pressure, P(V) at
    constant flux."""
    tr, fit = analysis.trial, analysis.fit
    fig = figure()
    if tr.mode == CONSTANT_PRESSURE:
        fig.add_scatter(x=tr.t_h, y=tr.v_L_per_m2, mode="markers", name=_("data"),
                        marker=dict(size=5, color="#444"))
        tt = np.linspace(0, tr.t_h.max(), 300)
        for i, f in _shown(fit, models):
            v = MODELS[f.name].volume(tt, f.params["J0_LMH"], *f.fouling_constants())
            fig.add_scatter(x=tt, y=v, mode="lines", name=f"{term(f.name)} (R²={f.r2:.6f})",
                            line=dict(color=_COLOURS[i % 9], **_style(i)))
        fig.update_layout(title=_("Throughput vs time, data and fits"), xaxis_title=_("time [h]"),
                          yaxis_title=_("throughput V [L/m²]"), **_LAYOUT)
    else:
        fig.add_scatter(x=tr.v_L_per_m2, y=tr.pressure_bar, mode="markers", name=_("data"),
                        marker=dict(size=5, color="#444"))
        vv = np.linspace(0, tr.v_L_per_m2.max(), 300)
        for i, f in _shown(fit, models):
            p = f.params["P0_bar"] * resistance_ratio(f.name, vv, f.params["J0_LMH"], *f.fouling_constants())
            fig.add_scatter(x=vv, y=np.where(np.isfinite(p), p, np.nan), mode="lines",
                            name=f"{term(f.name)} (R²={f.r2:.6f})",
                            line=dict(color=_COLOURS[i % 9], **_style(i)))
        fig.update_layout(title=_("Pressure vs throughput at constant flux, data and fits"),
                          xaxis_title=_("throughput V [L/m²]"), yaxis_title=_("pressure [bar]"), **_LAYOUT)
    return fig


def vmax_figure(analysis, *, figure=PlainFigure):
    """t/V vs t with the Vmax line (constant pressure; both in minutes, as the method is usually drawn)
    or √(P0/P) vs V with the Pmax line."""
    tr, vm = analysis.trial, analysis.fit.vmax
    fig = figure()
    if tr.mode == CONSTANT_PRESSURE:
        ok = (tr.t_h > 0) & (tr.v_L_per_m2 > 0)
        t = tr.t_h[ok]
        fig.add_scatter(x=t * 60.0, y=t / tr.v_L_per_m2[ok] * 60.0, mode="markers", name=_("data"),
                        marker=dict(size=5, color="#444"))
        line = (vm["intercept_h_m2_per_L"] + vm["slope_m2_per_L"] * t) * 60.0
        fig.add_scatter(x=t * 60.0, y=line, mode="lines", name=f"Vmax = {vm['vmax_L_per_m2']:.4g} L/m²",
                        line=dict(color="#d62728", width=2))
        fig.update_layout(title=_("Vmax plot: t/V vs t"), xaxis_title=_("time t [min]"),
                          yaxis_title="t/V [min·m²/L]", **_LAYOUT)
    else:
        p0 = vm["P0_bar"]
        fig.add_scatter(x=tr.v_L_per_m2, y=np.sqrt(p0 / tr.pressure_bar), mode="markers", name=_("data"),
                        marker=dict(size=5, color="#444"))
        vv = np.linspace(0, tr.v_L_per_m2.max(), 100)
        fig.add_scatter(x=vv, y=1 - vv / vm["vmax_L_per_m2"], mode="lines",
                        name=f"Vmax = {vm['vmax_L_per_m2']:.4g} L/m²", line=dict(color="#d62728", width=2))
        fig.update_layout(title=_("Pmax plot: √(P0/P) vs V"), xaxis_title=_("throughput V [L/m²]"),
                          yaxis_title="√(P0/P) [-]", **_LAYOUT)
    return fig


def flux_decay_figure(analysis, models=None, *, figure=PlainFigure):
    """Normalised flux J/J0 (constant pressure) or P0/P (constant flux) vs throughput, for every model (or
    those named in ``models``)."""
    tr, fit = analysis.trial, analysis.fit
    best = fit.best
    fig = figure()
    vmaxdata = tr.v_L_per_m2.max()
    if tr.mode == CONSTANT_PRESSURE:
        y = tr.flux_LMH / best.params["J0_LMH"]
        label, title = "J/J0 [-]", _("Flux decay J/J0 vs throughput")
    else:
        y = best.params["P0_bar"] / tr.pressure_bar
        label, title = "P0/P [-]", _("Relative permeability P0/P vs throughput")
    fig.add_scatter(x=tr.v_L_per_m2, y=y, mode="markers", name=_("data"), marker=dict(size=5, color="#444"))
    vv = np.linspace(0, vmaxdata * 1.5, 300)
    for i, f in _shown(fit, models):
        j = flux(f.name, vv, f.params["J0_LMH"], *f.fouling_constants()) / f.params["J0_LMH"]
        fig.add_scatter(x=vv, y=j, mode="lines", name=term(f.name),
                        line=dict(color=_COLOURS[i % 9], **_style(i)))
    if analysis.sizing is not None:
        for key, frac in (("v50_L_per_m2", 0.5), ("v75_L_per_m2", 0.25), ("v90_L_per_m2", 0.1)):
            v = analysis.sizing.endpoints[key]
            if v <= vv.max():
                fig.add_scatter(x=[v], y=[frac], mode="markers+text", text=[key.split("_")[0].upper()],
                                textposition="top right", name=f"{key.split('_')[0].upper()} = {v:.4g} L/m²",
                                marker=dict(size=10, symbol="diamond", color="#000"))
    fig.update_layout(title=title, xaxis_title=_("throughput V [L/m²]"), yaxis_title=label,
                      yaxis_range=[0, 1.1], **_LAYOUT)
    return fig


def flux_decay_overlay_figure(analyses, *, figure=PlainFigure):
    """Several trials on one plot: normalised flux J/J0 (constant pressure) or P0/P (constant flux)
    against loading, data as markers and each trial's best model as a line of the same colour."""
    fig = figure()
    for i, a in enumerate(analyses):
        tr, best = a.trial, a.fit.best
        colour = _COLOURS[i % 9]
        name = str(tr.source).rsplit("/", 1)[-1]
        if tr.mode == CONSTANT_PRESSURE:
            y = tr.flux_LMH / best.params["J0_LMH"]
        else:
            y = best.params["P0_bar"] / tr.pressure_bar
        fig.add_scatter(x=tr.v_L_per_m2, y=y, mode="markers", name=_("%(trial)s (data)", trial=name),
                        legendgroup=name,
                        marker=dict(size=4, color=colour, opacity=0.6))
        vv = np.linspace(0, tr.v_L_per_m2.max(), 200)
        j = flux(best.name, vv, best.params["J0_LMH"], *best.fouling_constants()) / best.params["J0_LMH"]
        fig.add_scatter(x=vv, y=j, mode="lines", name=f"{name}: {term(best.name)}", legendgroup=name,
                        line=dict(color=colour, width=2.5))
    fig.update_layout(title=_("Flux decay vs loading: J/J0 (constant pressure) or P0/P (constant flux)"),
                      xaxis_title=_("loading V [L/m²]"), yaxis_title=_("J/J0 or P0/P [-]"),
                      yaxis_range=[0, 1.1],
                      **_LAYOUT)
    return fig


def residuals_figure(analysis, *, figure=PlainFigure):
    """Residuals (data − model) of every model."""
    tr, fit = analysis.trial, analysis.fit
    fig = figure()
    for i, f in enumerate(fit.fits):
        if tr.mode == CONSTANT_PRESSURE:
            pred = MODELS[f.name].volume(tr.t_h, f.params["J0_LMH"], *f.fouling_constants())
            res, x = tr.v_L_per_m2 - pred, tr.t_h
        else:
            pred = f.params["P0_bar"] * resistance_ratio(f.name, tr.v_L_per_m2, f.params["J0_LMH"],
                                                         *f.fouling_constants())
            res, x = tr.pressure_bar - pred, tr.v_L_per_m2
        fig.add_scatter(x=x, y=res, mode="lines+markers", name=term(f.name), marker=dict(size=3),
                        line=dict(color=_COLOURS[i % 9], width=1), visible=True if i < 3 else "legendonly")
    fig.update_layout(legend_title_text=_("click a model to show it"))
    if tr.mode == CONSTANT_PRESSURE:
        fig.update_layout(title=_("Residuals (data − model)"), xaxis_title=_("time [h]"),
                          yaxis_title=_("residual [L/m²]"), **_LAYOUT)
    else:
        fig.update_layout(title=_("Residuals (data − model)"),
                          xaxis_title=_("throughput V [L/m²]"), yaxis_title=_("residual [bar]"), **_LAYOUT)
    return fig


def risk_figure(risk: dict, *, figure=PlainFigure):
    """Distribution of the required area from the Monte Carlo draws, with the risk-based area and the
    area of the conventional safety factor."""
    h = risk["histogram"]
    edges = np.asarray(h["edges_m2"])
    mids = (edges[:-1] + edges[1:]) / 2
    fig = figure()
    fig.add_bar(x=mids, y=h["counts"], width=np.diff(edges), name=_("draws"), marker_color="#9ecae1")
    lines = [(risk["deterministic_min_area_m2"], _("minimum area (fitted values)"), "#444"),
             (risk["risk_based_area_m2"], _("meets the batch with %(pct)s %%",
                                            pct=format(risk["confidence"] * 100, "g")), "#d62728"),
             (risk["deterministic_min_area_m2"] * risk["conventional_safety_factor"],
              _("safety factor %(sf)s", sf=format(risk["conventional_safety_factor"], "g")), "#2ca02c")]
    for x, label, colour in lines:
        fig.add_vline(x=x, line=dict(color=colour, width=2, dash="dash"))
        fig.add_scatter(x=[x], y=[0], mode="markers", name=f"{label}: {x:.4g} m²", marker=dict(color=colour))
    fig.update_layout(title=_("Required area over parameter uncertainty and lot-to-lot variability"),
                      xaxis_title=_("required area [m²]"), yaxis_title=_("draws [-]"), bargap=0, **_LAYOUT)
    return fig
