"""Reports stay self-contained and small: the reduced plotly.js bundle (scatter, bar, sankey) embedded once,
every figure drawable by it, each report of the examples below 1.5 MB; the Vmax plot in one time unit; the
classical Vmax flagged where the t/V line is curved (checked against data of known mechanisms)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fluxwise import pipeline
from fluxwise.fit.linearised import VMAX_MIN_R2, vmax_linearity
from fluxwise.io import read_trial
from fluxwise.models.fouling import MODELS
from fluxwise.report import assets, figures
from fluxwise.trial import Trial
from test_web import EXTERNAL

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
LIMIT = 1.5e6


def test_the_bundle_is_the_reduced_one_and_knows_its_traces():
    js = assets.plotly_js()
    assert js.startswith("/* plotly.js 3.") and "(scatter, bar, sankey)" in js[:200]
    assert 1.0e6 < len(js.encode()) < 1.3e6  # the full bundle is about 4.8 MB
    assert "</script" not in js
    import plotly.graph_objects as go

    with pytest.raises(ValueError, match="heatmap"):
        assets.figure_html(go.Figure(go.Heatmap(z=[[1, 2], [3, 4]])))


@pytest.mark.parametrize("name, sizing", [
    ("mab_sterile_filtration.csv", {"batch_volume": "2000 L", "process_time": "4 h"}),
    ("cho_harvest_depth_filtration.csv", {"batch_volume": "2000 L", "process_time": "3 h",
                                          "max_pressure": "25 psi"}),
    ("virus_filtration.xlsx", {"batch_volume": "700 L", "process_time": "4 h"}),
])
def test_trial_reports_are_below_the_limit_and_self_contained(name, sizing):
    html = pipeline.report_html(read_trial(EXAMPLES / name), **sizing)
    assert len(html.encode("utf-8")) < LIMIT
    assert html.count(assets.plotly_js()[:200]) == 1
    assert not EXTERNAL.search(html)  # nothing loaded from elsewhere
    assert html.count('class="plotly-graph-div"') == 4


def test_the_example_train_report_is_below_the_limit():
    from fluxwise.report.train import render_train_report
    from fluxwise.web.trains import design_example

    design, _ = design_example()
    html = render_train_report(design)
    assert len(html.encode("utf-8")) < LIMIT
    assert '"type":"sankey"' in html and '"arrangement":"fixed"' in html


def test_the_vmax_plot_uses_minutes_on_both_axes():
    analysis = pipeline.analyze(EXAMPLES / "mab_sterile_filtration.csv")
    fig = figures.vmax_figure(analysis)
    assert fig.layout["xaxis"]["title"]["text"] == "time t [min]"
    assert fig.layout["yaxis"]["title"]["text"] == "t/V [min·m²/L]"
    t = analysis.trial.t_h[analysis.trial.t_h > 0]
    assert np.asarray(fig.data[0]["x"])[-1] == pytest.approx(t[-1] * 60)


def _trial(model: str, k: float, noise: float = 0.003, seed: int = 3) -> Trial:
    t = np.linspace(0, 2.0, 120)
    v = MODELS[model].volume(t, 600.0, k)
    v = v * (1 + noise * np.random.default_rng(seed).standard_normal(t.size))
    return Trial(t_h=t, v_L_per_m2=np.maximum.accumulate(np.maximum(v, 0)), area_m2=1e-3,
                 mode="constant-pressure")


def test_vmax_holds_for_standard_blocking_and_not_for_cake():
    # Standard blocking: t/V = 1/J0 + (ks/2)·t exactly (Hermia 1982), a straight line: applicable.
    std = vmax_linearity(_trial("standard", 0.002))
    assert std["applicable"] and std["r2"] > VMAX_MIN_R2
    # Cake filtration: t = V/J0 + kc·V²/2, so t/V grows like √t: visibly curved.
    cake = vmax_linearity(_trial("cake", 4e-5))
    assert not cake["applicable"] and "curvature test" in cake["reason"]
    assert cake["bend"] > 0.01 and cake["curvature_p"] < 1e-6
    # the example trial (cake-complete, the best model) is flagged; constant flux has no t/V line
    assert not vmax_linearity(read_trial(EXAMPLES / "mab_sterile_filtration.csv"))["applicable"]
    assert vmax_linearity(read_trial(EXAMPLES / "cho_harvest_depth_filtration.csv")) is None


def test_the_report_and_the_cli_flag_a_curved_line():
    html = pipeline.report_html(read_trial(EXAMPLES / "mab_sterile_filtration.csv"))
    card = html[html.index('id="vmax-card"'):]
    assert "not applicable: the t/V line is curved" in card[:1500]


def test_without_a_pdf_engine_the_message_says_what_to_install(monkeypatch, tmp_path):
    from fluxwise.report import pdf

    monkeypatch.setenv(pdf.ENV_CHROMIUM, str(tmp_path / "no-such-chromium"))
    with pytest.raises(pdf.PdfEngineMissing, match="FLUXWISE_CHROMIUM names") as info:
        pdf.html_to_pdf("<p>x</p>", title="x")
    assert info.value.http_status == 503
    monkeypatch.delenv(pdf.ENV_CHROMIUM)
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    assert "apt-get install chromium" in pdf.engine_problem()
    header = pdf.header_html({"result_id": "r" * 32, "version": 3, "content_sha256": "c" * 64,
                              "signatures": [{"signer": "A <b>", "meaning": "author", "valid": True,
                                              "signed_at": "2025-01-01 10:00:00 UTC"}]}, "T")
    assert "r" * 32 in header and "version 3" in header and "c" * 64 in header
    assert "A &lt;b&gt; (author, 2025-01-01 10:00:00 UTC, valid)" in header  # escaped
