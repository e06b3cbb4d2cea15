"""The figures built as plain dicts write the JSON plotly.graph_objects wrote for the same figure: the
pages and reports show exactly what they showed before."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from fluxwise import pipeline
from fluxwise.report import assets, figures
from fluxwise.report.plainfig import PlainFigure, template_json

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BUILDERS = (figures.fits_figure, figures.flux_decay_figure, figures.vmax_figure, figures.residuals_figure)


def _decoded(o):
    """Parsed figure JSON with plotly's typed arrays ({"dtype", "bdata"}) as float lists."""
    if isinstance(o, dict):
        if set(o) == {"dtype", "bdata"}:
            return np.frombuffer(base64.b64decode(o["bdata"]), dtype=o["dtype"]).astype(float)
        return {k: _decoded(v) for k, v in o.items()}
    if isinstance(o, list):
        return [_decoded(x) for x in o]
    return o


def _assert_same(new, old, where="figure"):
    """Equal structure and text; numbers equal to float32 precision."""
    if isinstance(old, dict):
        assert isinstance(new, dict) and set(new) == set(old), f"{where}: keys {set(new) ^ set(old)}"
        for k in old:
            _assert_same(new[k], old[k], f"{where}.{k}")
    elif isinstance(old, np.ndarray | list) and not isinstance(old, str):
        a, b = np.asarray(new, dtype=object), np.asarray(old, dtype=object)
        assert a.shape == b.shape, where
        if b.size and all(isinstance(x, int | float) for x in b.ravel()) and \
                all(isinstance(x, int | float) for x in a.ravel()):
            np.testing.assert_allclose(a.astype(float), b.astype(float), rtol=2e-7, atol=0, equal_nan=True,
                                       err_msg=where)
        else:
            for i, (x, y) in enumerate(zip(new, old, strict=True)):
                _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(old, float):
        assert new == pytest.approx(old, rel=2e-7), where
    else:
        assert new == old, where


@pytest.fixture(scope="module", params=[
    ("mab_sterile_filtration.csv", {"batch_volume": "2000 L", "process_time": "4 h"}),
    ("cho_harvest_depth_filtration.csv", {"batch_volume": "2000 L", "process_time": "3 h",
                                          "max_pressure": "25 psi"}),
    ("virus_filtration.xlsx", {"batch_volume": "700 L", "process_time": "4 h"}),
], ids=lambda p: p[0] if isinstance(p, tuple) else None)
def analysis(request):
    name, sizing = request.param
    return pipeline.report_analysis(pipeline.load_trial(EXAMPLES / name), **sizing)


def test_the_shipped_template_is_plotlys():
    assert json.loads(template_json()) == pio.templates["plotly_white"].to_plotly_json()


@pytest.mark.parametrize("make", BUILDERS, ids=lambda m: m.__name__)
def test_page_figures_write_what_graph_objects_wrote(analysis, make):
    new, old = make(analysis), make(analysis, figure=go.Figure)
    assert isinstance(new, PlainFigure)
    for fig in (new, old):
        fig.update_layout(height=400, margin=dict(l=64, r=16, t=48, b=56))  # as the trial page does
    _assert_same(_decoded(json.loads(new.to_json())), _decoded(json.loads(old.to_json())))


def _plot_call(fragment: str):
    """The (data, layout, config) of a report fragment's Plotly.newPlot call, and the fragment without it."""
    m = re.search(r'Plotly\.newPlot\(\s*"([0-9a-f-]{36})",\s*(\[.*\]),\s*(\{.*\}),\s*(\{[^{}]*\})\s*\)',
                  fragment, re.S)
    assert m, fragment[:300]
    shell = fragment.replace(m.group(0), "CALL").replace(m.group(1), "ID")
    return [json.loads(m.group(i)) for i in (2, 3, 4)], shell


def test_report_fragments_write_what_graph_objects_wrote(analysis):
    makers = [*BUILDERS]
    if analysis.sizing is not None and analysis.sizing.risk is not None:
        makers.append(lambda a, **kw: figures.risk_figure(a.sizing.risk, **kw))
    for make in makers:
        new = assets.figure_html(make(analysis))
        old = assets.figure_html(make(analysis, figure=go.Figure))
        (nd, nl, nc), nshell = _plot_call(new)
        (od, ol, oc), oshell = _plot_call(old)
        assert nshell == oshell and nc == oc
        assert '"dtype":"f4"' in new  # float32 arrays, as the reports always embedded them
        _assert_same(_decoded(nd), _decoded(od), "data")
        _assert_same(_decoded(nl), _decoded(ol), "layout")


def test_risk_figure_with_its_lines_matches():
    h = {"edges_m2": [1.0, 1.5, 2.0, 2.5], "counts": [3, 10, 4]}
    risk = {"histogram": h, "deterministic_min_area_m2": 1.6, "risk_based_area_m2": 2.1, "confidence": 0.95,
            "conventional_safety_factor": 1.5}
    new, old = figures.risk_figure(risk), figures.risk_figure(risk, figure=go.Figure)
    _assert_same(_decoded(json.loads(new.to_json())), _decoded(json.loads(old.to_json())))


def test_non_finite_numbers_outside_arrays_are_written_as_plotly_writes_them():
    kw = dict(x=[1.0, 2.0], y=[float("nan"), np.float64(np.inf)], name="a")
    new, old = PlainFigure().add_scatter(**kw), go.Figure().add_scatter(**kw)
    assert json.loads(new.to_json())["data"] == json.loads(old.to_json())["data"]


def test_only_the_shipped_template_is_accepted():
    with pytest.raises(ValueError, match="plotly_white"):
        PlainFigure().update_layout(template="ggplot2")
