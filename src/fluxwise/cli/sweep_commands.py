"""``fluxwise sweep``: a design-space sweep from a spec file, in-process, on a pool or on Dask."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..errors import InputError
from . import main
from .common import echo_json, g, table


def contour_html(df, spec_source: str) -> str:
    """A self-contained HTML page of contour plots of a sweep (plotly.js embedded)."""
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    from ..design.sweep import contour_table

    numeric = [c for c in ("pressure_bar", "process_time_h", "batch_volume_L", "flux_LMH")
               if c in df.columns and df[c].nunique() > 1]
    if len(numeric) < 2:
        return ""
    x, y = numeric[1], numeric[0]
    labels = {"pressure_bar": "pressure [bar]", "process_time_h": "process time [h]",
              "batch_volume_L": "batch volume [L]", "flux_LMH": "flux [L/m²/h]"}
    values = [("required_area_m2", "required area [m²]", "min"), ("cost_usd", "cost per batch [USD]", "min"),
              ("count", "filter units [-]", "min"), ("time_h", "process time used [h]", "min")]
    parts = []
    for col, label, agg in values:
        if col not in df.columns:
            continue
        ok = df[df["feasible"]] if "feasible" in df.columns else df
        if ok.empty:
            continue
        piv = contour_table(ok, x, y, col, agg=agg)
        fig = go.Figure(go.Contour(x=piv.columns.values, y=piv.index.values, z=piv.values,
                                   colorbar=dict(title=label), contours=dict(showlabels=True),
                                   colorscale="Viridis"))
        fig.update_layout(title=f"{label}: least over the other axes", xaxis_title=labels[x],
                          yaxis_title=labels[y], template="plotly_white", height=460,
                          xaxis_type="log" if x == "process_time_h" else None)
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False))
    body = "\n".join(f'<div style="max-width:900px">{p}</div>' for p in parts)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sweep — {spec_source}</title>"
            f"<script>{get_plotlyjs()}</script></head><body style='font-family:sans-serif'>"
            f"<h1>Design-space sweep</h1><p>Spec: <code>{spec_source}</code>; {len(df)} scenarios.</p>"
            f"{body}</body></html>")


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Table of every scenario: .csv or .parquet.")
@click.option("--scheduler", default=None,
              help="Where to run: inprocess (default), processes[:N], dask-local[:N] or tcp://HOST:PORT "
                   "(a dask.distributed scheduler; default from FLUXWISE_DASK_SCHEDULER).")
@click.option("--plot", "plot", type=click.Path(dir_okay=False),
              help="Contour plots as a self-contained HTML file (default: next to --out).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def sweep(spec, out, scheduler, plot, as_json):
    """Size every scenario of a design-space sweep SPEC (YAML) and write the table and contour plots."""
    from ..compute import get_executor
    from ..design.sweep import run_sweep
    from ..io.sweep_spec import read_sweep_spec, write_sweep_table

    sp = read_sweep_spec(spec)
    out_path = Path(out)
    if out_path.suffix.lower() not in (".csv", ".parquet"):
        raise InputError("the output must be a .csv or .parquet file", field="--out")
    t0 = time.perf_counter()
    with get_executor(scheduler) as ex:
        df = run_sweep(sp, ex, progress=not as_json)
        where = type(ex).__name__
    seconds = time.perf_counter() - t0
    written = write_sweep_table(df, out_path)
    plot_path = Path(plot) if plot else out_path.with_suffix(".html")
    html = contour_html(df, str(spec))
    if html:
        plot_path.write_text(html, encoding="utf-8")
    feasible = df[df["feasible"]] if "feasible" in df.columns else df
    summary = {"spec": str(spec), "scenarios": int(len(df)), "feasible": int(len(feasible)),
               "seconds": seconds, "executor": where, "table": str(written),
               "plot": str(plot_path) if html else None}
    if "required_area_m2" in df.columns and len(feasible):
        summary["required_area_m2"] = {"min": float(feasible["required_area_m2"].min()),
                                       "max": float(feasible["required_area_m2"].max())}
    if "cost_usd" in df.columns and len(feasible):
        best = feasible.loc[feasible["cost_usd"].idxmin()]
        summary["cheapest"] = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
    if as_json:
        echo_json(summary)
        return
    click.echo(f"{len(df)} scenarios ({len(feasible)} feasible) in {seconds:.2f} s on {where}")
    click.echo(f"table: {written}")
    if html:
        click.echo(f"contour plots: {plot_path}")
    if "cheapest" in summary:
        c = summary["cheapest"]
        rows = [[k, g(v) if isinstance(v, float) else str(v)] for k, v in c.items()]
        click.echo("cheapest feasible scenario:")
        click.echo(table(rows, ["quantity", "value"], ["<", ">"]))
