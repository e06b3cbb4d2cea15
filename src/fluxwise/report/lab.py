"""Quick plots of a virtual-lab run: the raw views a scientist looks at before fitting anything.

Throughput vs time, flux vs throughput (constant pressure) or pressure vs throughput (constant flux),
and t/V vs t (the Vmax plot, where curvature shows the mechanism), each with its data table, in one
self-contained HTML page (plotly.js embedded, nothing fetched). Only the logged readings are used —
no fit, no hidden value.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from .. import i18n
from ..i18n import _
from ..training.rig import quick_views
from ..training.scenario import RECORD_LABEL
from ..trial import CONSTANT_PRESSURE

__all__ = ["run_figures", "run_plot_html"]

_LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=70, r=20, t=50, b=60), showlegend=False)


def run_figures(scenario, run) -> list[tuple[str, go.Figure, list[str], list[list]]]:
    """(title, figure, table headers, table rows) for each quick plot of a run."""
    q = quick_views(scenario, run)
    t, v, j, tv, p = (
        q["time_h"],
        q["throughput_L_per_m2"],
        q["flux_LMH"],
        q["t_over_V_h_m2_per_L"],
        q["pressure_bar"],
    )
    out = []

    def fig(x, y, xt, yt, title):
        f = go.Figure()
        f.add_scatter(x=x, y=y, mode="markers", marker=dict(size=5, color="#333"))
        f.update_layout(title=title, xaxis_title=xt, yaxis_title=yt, **_LAYOUT)
        return f

    out.append(
        (
            _("Throughput vs time"),
            fig(t * 60, v, _("time [min]"), _("throughput V [L/m²]"), _("Throughput vs time")),
            [_("time [min]"), "V [L/m²]"],
            [[f"{a * 60:.4g}", f"{b:.4g}"] for a, b in zip(t, v, strict=True)],
        )
    )
    if run.request.mode == CONSTANT_PRESSURE:
        out.append(
            (
                _("Flux vs throughput"),
                fig(v, j, _("throughput V [L/m²]"), _("flux J [L/m²/h]"), _("Flux vs throughput")),
                ["V [L/m²]", "J [L/m²/h]"],
                [[f"{a:.4g}", f"{b:.4g}"] for a, b in zip(v, j, strict=True)],
            )
        )
        ok = np.isfinite(tv)
        out.append(
            (
                _("t/V vs t (Vmax plot)"),
                fig(t[ok] * 60, tv[ok] * 60, _("time [min]"), "t/V [min·m²/L]", _("t/V vs t (Vmax plot)")),
                [_("time [min]"), "t/V [min·m²/L]"],
                [[f"{a * 60:.4g}", f"{b * 60:.4g}"] for a, b in zip(t[ok], tv[ok], strict=True)],
            )
        )
    else:
        out.append(
            (
                _("Pressure vs throughput"),
                fig(v, p, _("throughput V [L/m²]"), _("pressure [bar]"), _("Pressure vs throughput")),
                ["V [L/m²]", "P [bar]"],
                [[f"{a:.4g}", f"{b:.4g}"] for a, b in zip(v, p, strict=True)],
            )
        )
    return out


def run_plot_html(scenario, run) -> str:
    """One self-contained HTML page with the quick plots and their data tables."""
    parts = []
    for title, f, headers, rows in run_figures(scenario, run):
        table = (
            "<table><caption>"
            + html.escape(title)
            + html.escape(_(" (data)"))
            + "</caption><thead><tr>"
            + "".join(f"<th scope='col'>{html.escape(h)}</th>" for h in headers)
            + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
            + "</tbody></table>"
        )
        parts.append(
            f"<section><h2>{html.escape(title)}</h2>"
            + f.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
            + f"<details><summary>{html.escape(_('Data table'))}</summary>{table}</details></section>"
        )
    r = run.request
    head = (
        _(
            "Run %(n)s: %(filter)s, %(area)s cm², %(mode)s, %(minutes)s min (%(stopped)s)",
            n=run.index + 1,
            filter=r.filter,
            area=format(r.area_m2 * 1e4, ".4g"),
            mode=i18n.term(r.mode),
            minutes=format(run.duration_h * 60, ".4g"),
            stopped=run.stopped,
        )
    )
    return (
        f"<!DOCTYPE html><html lang='{i18n.current()}'><head><meta charset='utf-8'>"
        "<title>" + html.escape(head) + "</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px;text-align:right}"
        ".label{font-weight:bold;color:#8a1c00}</style>"
        f"<script>{get_plotlyjs()}</script></head><body><p class='label'>{RECORD_LABEL}</p>"
        f"<h1>{html.escape(head)}</h1>" + "".join(parts) + "</body></html>"
    )
