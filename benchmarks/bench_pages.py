"""Time one workbench user's round, step by step, in process: read a trial file, fit, size, the trial
page's four plots, the HTML report — the work behind issue 12's think-time scenario (50 users, each
acting about every 5 s, on 2 cores: a round of six actions per user every 30 s).

The plots and the report are built as plain JSON-ready dicts (:mod:`fluxwise.report.plainfig`) and the
fit is remembered per process; the baseline ("before"), measured in the same run, builds the very same
figures with ``plotly.graph_objects`` (which validates every property and copies its template into each
figure) — the tests show both write the same JSON — and, for the sizing and the page, fits the trial
again. The ratio is the baseline's time over fluxwise's. The round's total says how many cores 50 users
acting every 5 s would need (one round of six actions per user per 30 s; the list page's cost left
out). Each figure is the median CPU time of several
runs after one warm-up (one thread: on a shared machine the CPU time is what a quiet machine's wall clock
would show).

Run: ``.venv/bin/python benchmarks/bench_pages.py [runs]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mab_sterile_filtration.csv"
SIZING = {"batch_volume": "2000 L", "process_time": "4 h"}
USERS, EVERY_S = 50, 5.0
#: a user's round: list, open trial, upload, fit, size, report — one action every EVERY_S seconds
ACTIONS = 6


def _median_cpu_ms(fn, runs: int) -> float:
    fn()  # warm-up
    cpu = []
    for _ in range(runs):
        c0 = time.process_time()
        fn()
        cpu.append(time.process_time() - c0)
    return statistics.median(cpu) * 1e3


def main(runs: int = 7) -> None:
    import plotly.graph_objects as go

    from fluxwise import pipeline
    from fluxwise.report.html import render_report
    from fluxwise.web import present

    print(f"\n== pages: one user's round on {EXAMPLE.name}, median CPU ms of {runs} runs")
    trial = pipeline.load_trial(EXAMPLE)
    analysis = pipeline.report_analysis(trial, **dict(SIZING))
    sizing = {"batch_volume": "2000 L", "process_time": "4 h"}

    steps = [
        ("read", lambda: pipeline.load_trial(EXAMPLE), None),
        ("fit", lambda: pipeline.fit_result(trial), None),
        ("size", lambda: pipeline.size_result(trial, **dict(SIZING)),
         lambda: _forgetting_fits(pipeline, lambda: pipeline.size_result(trial, **dict(SIZING)))),
        ("trial page plots", lambda: present.make_trial_figures(trial, sizing),
         lambda: _forgetting_fits(pipeline,
                                  lambda: present.make_trial_figures(trial, sizing, figure=go.Figure))),
        ("  of which figures", lambda: _page_figures(analysis, None),
         lambda: _page_figures(analysis, go.Figure)),
        ("report", lambda: render_report(analysis), lambda: render_report(analysis, figure=go.Figure)),
    ]
    total_new = total_old = 0.0
    print(f"{'step':22s} {'fluxwise':>10s} {'before':>14s} {'ratio':>7s}")
    for name, new, old in steps:
        t_new = _median_cpu_ms(new, runs)
        t_old = _median_cpu_ms(old, runs) if old is not None else t_new
        if not name.startswith(" "):
            total_new += t_new
            total_old += t_old
        ratio = f"{t_old / t_new:6.1f}x" if old is not None else "      -"
        print(f"{name:22s} {t_new:10.1f} {t_old:14.1f} {ratio}")
    print(f"{'round':22s} {total_new:10.1f} {total_old:14.1f} {total_old / total_new:6.1f}x")
    per_s = USERS / (EVERY_S * ACTIONS)  # rounds per second
    print(f"{USERS} users every {EVERY_S:g} s need {total_new * per_s / 1e3:.2f} cores "
          f"(before: {total_old * per_s / 1e3:.2f}); a stored fit's plots and reports are also "
          "cached after their first request")


def _forgetting_fits(pipeline, fn):
    """``fn`` with no fit remembered: the sizing and the page fit the trial again, as they did before."""
    with pipeline._fits_lock:
        pipeline._fits.clear()
    return fn()


def _page_figures(analysis, figure):
    from fluxwise.report import figures

    out = []
    for make in (figures.fits_figure, figures.flux_decay_figure, figures.vmax_figure,
                 figures.residuals_figure):
        fig = make(analysis) if figure is None else make(analysis, figure=figure)
        fig.update_layout(height=400, margin=dict(l=64, r=16, t=48, b=56))
        out.append(fig.to_json())
    return out


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
