"""What a self-contained report embeds: a reduced plotly.js shipped inside this package.

The reports embed ``static/plotly-fluxwise.min.js`` — plotly.js with the scatter, bar and sankey
traces only (built by ``scripts/plotly-bundle``), about a quarter of the full bundle — so a report
opens offline and stays small. :func:`figure_html` refuses a figure whose traces the bundle cannot
draw, so a report never shows an empty box.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from importlib import resources

import numpy as np

from .plainfig import PlainFigure

#: The trace types the embedded bundle draws.
REPORT_TRACES = frozenset({"scatter", "bar", "sankey"})
BUNDLE = "plotly-fluxwise.min.js"
LEGENDS = "plot-legends.js"
_ARRAY_KEYS = ("x", "y", "customdata")
#: What every report figure is drawn with: responsive to its box, no logo, no link to a web service.
CONFIG = {"displaylogo": False, "responsive": True}


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The reduced plotly.js bundle, as text to embed in a ``<script>`` element."""
    return (resources.files("fluxwise") / "report" / "static" / BUNDLE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def legends_js() -> str:
    """The script that moves a narrow plot's legend below it (``static/plot-legends.js``), shared with the
    workbench pages."""
    return (resources.files("fluxwise") / "report" / "static" / LEGENDS).read_text(encoding="utf-8")


def _is_plain(fig) -> bool:
    return isinstance(fig, PlainFigure)


def check_traces(fig) -> None:
    """Raise ``ValueError`` when ``fig`` has a trace the embedded bundle does not draw."""
    for trace in fig.data:
        kind = trace["type"] if _is_plain(fig) else trace.type
        if kind not in REPORT_TRACES:
            raise ValueError(f"a report figure uses the trace type '{kind}', which the report's plotly "
                             f"bundle does not include ({', '.join(sorted(REPORT_TRACES))}); add it to "
                             "scripts/plotly-bundle/entry.js and rebuild")


def compact(fig):
    """``fig`` with its float arrays as float32 (7 significant digits, plenty for a plot, half the bytes
    of float64 in the figure's base64 data); returns ``fig``, changed in place."""
    if _is_plain(fig):
        fig.float32 = True
        return fig
    for trace in fig.data:
        for key in _ARRAY_KEYS:
            value = getattr(trace, key, None) if key in trace else None
            if isinstance(value, np.ndarray) and value.dtype == np.float64:
                trace[key] = value.astype(np.float32)
    return fig


def plain_figure_html(fig: PlainFigure) -> str:
    """A :class:`PlainFigure` as the HTML fragment plotly's ``to_html(full_html=False,
    include_plotlyjs=False)`` writes: a sized box, a div with a fresh id and the ``Plotly.newPlot`` call."""
    div_id = str(uuid.uuid4())
    height = fig.layout.get("height")
    box = f"height:{height}px; width:100%;" if isinstance(height, int | float) else "height:100%; width:100%;"
    body = fig.to_json()  # '{"data":[...],"layout":{...}}'
    data, layout = body[len('{"data":'):body.index(',"layout":')], body[body.index(',"layout":') + 10:-1]
    config = json.dumps(CONFIG)
    return (f'<div style="{box}">                            <div id="{div_id}" class="plotly-graph-div" '
            'style="height:100%; width:100%;"></div>            <script>'
            '                window.PLOTLYENV=window.PLOTLYENV || {};                                '
            f'if (document.getElementById("{div_id}")) {{                    '
            'Plotly.newPlot(                        '
            f'"{div_id}",                        {_script_safe(data)},                        '
            f'{_script_safe(layout)},                        {config}                    )                }};'
            '            </script>        </div>')


def _script_safe(text: str) -> str:
    # inside <script>: only "</" could end it; escape every "<" (and ">", "&") as plotly does
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def figure_html(fig) -> str:
    """A figure as an HTML fragment for a report (the bundle is embedded once, by the template)."""
    check_traces(fig)
    if _is_plain(fig):
        return plain_figure_html(compact(fig))
    html = compact(fig).to_html(full_html=False, include_plotlyjs=False, config=CONFIG)
    # plotly writes every "/" of the JSON as \u002f; inside the script only "</" could end it, and every
    # "<" is escaped already, so "/" is safe as it is (base64 data holds many)
    return html.replace("\\u002f", "/")
