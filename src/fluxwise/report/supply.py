"""A supply study as one self-contained HTML report (plotly.js embedded once, no network).

Figures: the stock of every item over the campaign as a percentile fan (5-95 % and 25-75 % bands,
median and mean, disruption windows shaded); the service level each item reaches against its safety
stock (every point simulated with the same random numbers, the target marked); the sources
compared (working capital, batches lost a year, CO2e per batch). Tables: the campaign's joint
figures, every item's figures with standard errors, the recommendations (formula and simulation),
the source comparison, and the assumptions with their sources.
"""

from __future__ import annotations

import datetime as _dt

import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from .. import __version__, i18n
from ..i18n import _
from .html import fmt, install_language

__all__ = ["render_supply_report", "fan_figure", "service_curve_figure", "comparison_figure", "figures"]

_env = Environment(
    loader=PackageLoader("fluxwise", "report/templates"), autoescape=select_autoescape(["html", "j2"]),
    extensions=["jinja2.ext.i18n"],
)
_env.filters["fmt"] = fmt
install_language(_env)
_LAYOUT = dict(
    template="plotly_white", height=380, margin=dict(l=70, r=20, t=50, b=55), legend=dict(font=dict(size=11))
)
_COLOURS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]


def _html(fig) -> str:
    return fig.to_html(
        full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True}
    )


def _windows(d: dict, item: dict) -> list[tuple[int, int, str]]:
    by_name = {src["name"]: src for src in d.get("sources", [])}
    return [
        (a, b, name) for name in item.get("sources", []) for a, b in by_name.get(name, {}).get("windows", [])
    ]


def fan_figure(d: dict, name: str) -> go.Figure:
    """Stock on hand of one item at the end of each period: percentile bands over the replications."""
    fan = d["fan"]["items"][name]
    t = d["fan"]["periods"]
    item = next(i for i in d["items"] if i["name"] == name)
    fig = go.Figure()
    for lo, hi, colour, label in (
        ("p5", "p95", "rgba(31,119,180,0.15)", "5-95 %"),
        ("p25", "p75", "rgba(31,119,180,0.35)", "25-75 %"),
    ):
        fig.add_scatter(x=t, y=fan[hi], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
        fig.add_scatter(
            x=t,
            y=fan[lo],
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=colour,
            name=label,
            hoverinfo="skip",
        )
    fig.add_scatter(x=t, y=fan["p50"], mode="lines", name="median", line=dict(color="#1f77b4", width=2.5))
    fig.add_scatter(
        x=t, y=fan["mean"], mode="lines", name="mean", line=dict(color="#12395b", width=1.5, dash="dot")
    )
    for a, b, src in _windows(d, item):
        fig.add_vrect(
            x0=a - 0.5,
            x1=b - 0.5,
            fillcolor="rgba(214,39,40,0.12)",
            line_width=0,
            annotation_text=f"{src} closed",
            annotation_position="top left",
        )
    period = d["plan"]["period"]
    fig.update_layout(
        title=_("Stock of %(item)s (%(source)s, %(policy)s)", item=name, source=item["source"],
                policy=item["policy"]["type"]),
        xaxis_title=_("period (%(period)s)", period=period),
        yaxis_title=_("units on hand at the end of the period"),
        **_LAYOUT,
    )
    fig.update_yaxes(rangemode="tozero")
    return fig


def service_curve_figure(d: dict) -> go.Figure:
    """Simulated service level against safety stock, one line per item, the target marked."""
    fig = go.Figure()
    for k, c in enumerate(d["service_curves"]):
        colour = _COLOURS[k % len(_COLOURS)]
        fig.add_scatter(
            x=c["safety_stock"],
            y=[100 * s for s in c["service"]],
            mode="lines+markers",
            name=c["item"],
            line=dict(color=colour),
            error_y=dict(type="data", array=[100 * s for s in c["service_se"]], visible=True, thickness=1),
            hovertemplate="safety stock %{x:.4g} units<br>service %{y:.4g} %<extra>%{fullData.name}</extra>",
        )
        rec = next((r for r in d["recommendations"] if r["item"] == c["item"]), None)
        if rec is not None:
            fig.add_scatter(
                x=[rec["safety_stock"]],
                y=[100 * rec["achieved_service"]],
                mode="markers",
                marker=dict(symbol="diamond", size=11, color=colour, line=dict(color="#000", width=1)),
                showlegend=False,
                hovertemplate="recommended<extra>" + c["item"] + "</extra>",
            )
    target = d["plan"]["target_service"]
    fig.add_hline(
        y=100 * target, line_dash="dash", line_color="#555", annotation_text=f"target {100 * target:g} %"
    )
    fig.update_layout(
        title=_("Service level against safety stock (each item alone)"),
        xaxis_title=_("safety stock [units above the expected demand over L + 1 periods]"),
        yaxis_title=_("cycle service level") + " [%]",
        **{**_LAYOUT, "height": 420},
    )
    return fig


def comparison_figure(d: dict) -> go.Figure:
    """The sources side by side: working capital, batches lost a year, CO2e per batch."""
    opts = d["options"]
    labels = [o["source"] for o in opts]
    cur = d["plan"]["currency"]
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=(
            f"working capital in stock [{cur}]",
            "batches lost per year",
            "supply CO2e per batch [kg]",
        ),
    )
    colours = [_COLOURS[k % len(_COLOURS)] for k in range(len(opts))]
    fig.add_bar(
        x=labels,
        y=[o["working_capital"] for o in opts],
        marker_color=colours,
        row=1,
        col=1,
        showlegend=False,
        hovertemplate="%{y:,.0f} " + cur + "<extra></extra>",
    )
    fig.add_bar(
        x=labels,
        y=[o["batches_lost_per_year"] for o in opts],
        error_y=dict(
            type="data", array=[o.get("batches_lost_per_year_se") or 0.0 for o in opts], visible=True
        ),
        marker_color=colours,
        row=1,
        col=2,
        showlegend=False,
        hovertemplate="%{y:.3g} a year<extra></extra>",
    )
    fig.add_bar(
        x=labels,
        y=[o["co2e_kg_per_batch"] for o in opts],
        marker_color=colours,
        row=1,
        col=3,
        showlegend=False,
        hovertemplate="%{y:.3g} kg CO2e<extra></extra>",
    )
    fig.update_layout(
        title=_("Local or imported: every item from one source, sized for %(pct)s %% service",
                pct=format(100 * d["plan"]["target_service"], "g")),
        **{**_LAYOUT, "height": 420, "margin": dict(l=70, r=20, t=90, b=60)},
    )
    return fig


def figures(d: dict) -> list[tuple[str, str, go.Figure]]:
    """(id, title, figure) of every plot of a study's JSON, in report order."""
    out = []
    if d.get("options"):
        out.append(("fig-compare", _("Sources compared"), comparison_figure(d)))
    if d.get("service_curves"):
        out.append(("fig-curves", _("Service level against safety stock"), service_curve_figure(d)))
    for k, item in enumerate(d["items"]):
        if item["name"] in d["fan"]["items"]:
            out.append((f"fig-fan-{k}", _("Stock of %(item)s", item=item["name"]),
                        fan_figure(d, item["name"])))
    return out


def render_supply_report(result, *, title: str | None = None, record: dict | None = None) -> str:
    """The report of a supply study: a :class:`fluxwise.supply.run.SupplyResult` or its JSON (as stored in a
    project), with the signature block of a stored result (``record``)."""
    d = result if isinstance(result, dict) else result.to_dict()
    figs = [(fid, t, _html(f)) for fid, t, f in figures(d)]
    return _env.get_template("supply.html.j2").render(
        title=title or _("Supply resilience — %(source)s", source=d["plan"]["source"]),
        plotlyjs=get_plotlyjs(),
        d=d,
        figs=figs,
        version=__version__,
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        record=record,
        lang=i18n.current(),
    )
