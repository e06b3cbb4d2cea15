"""``fluxwise compare TRIAL...``: trials side by side for one batch — best model, capacity, flux, area,
formats, filter cost per batch (with the product lost in hold-up and flushes) — ranked, with one overlay
plot of flux decay against loading."""

from __future__ import annotations

from pathlib import Path

import click

from . import main
from .common import echo_json, g, table


@main.command()
@click.argument("trials", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--batch-volume", default="2000 L", show_default=True, help="Batch volume with unit.")
@click.option("--process-time", default="4 h", show_default=True, help="Process time with unit.")
@click.option("--max-pressure", help='Constant-flux trials: maximum pressure, e.g. "2 bar".')
@click.option("--flux", help='Constant-flux trials: process flux, e.g. "150 LMH".')
@click.option("--safety-factor", default=1.5, show_default=True, type=float, help="Installed over minimum "
                                                                                  "area.")
@click.option("--catalog", type=click.Path(dir_okay=False), help="Catalog of filter formats (CSV or YAML).")
@click.option("--titre", help='Product concentration of the feed, e.g. "5 g/L" (product lost in grams).')
@click.option("--product-value", help='Value of the product, e.g. "120 USD/g" (product lost in the cost).')
@click.option("--chase", help='Buffer chasing the filters\' hold-up after the batch, e.g. "2 L" (default '
                              'none).')
@click.option("--product-flush", help='First filtrate sent to waste, e.g. "5 L/m2" (default none).')
@click.option("--pre-use-flush", help='Water flushed before use, e.g. "20 L/m2" (default: factors.yaml, '
                                      "sterile filters).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the overlay plot of flux decay vs loading as a self-contained HTML file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def compare(trials, batch_volume, process_time, max_pressure, flux, safety_factor, catalog, titre,
            product_value,
            chase, product_flush, pre_use_flush, output, as_json):
    """Compare TRIALS (e.g. prefilter/filter combinations) for one batch and rank them by filter cost per
    batch: filters, pre-use flush and the product lost in hold-up and flushes."""
    from ..pipeline import compare_trials

    comparison = compare_trials(
        trials, sizing={"batch_volume": batch_volume, "process_time": process_time,
                        "max_pressure": max_pressure,
                        "flux": flux, "safety_factor": safety_factor, "catalog": catalog},
        economics={"titre": titre, "product_value": product_value, "chase": chase,
                   "product_flush": product_flush,
                   "pre_use_flush": pre_use_flush})
    d = comparison.to_dict()
    if output:
        from plotly.offline import get_plotlyjs

        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig_html = comparison.figure().to_html(full_html=False, include_plotlyjs=False)
        out.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>fluxwise compare</title>"
                       f"<script>{get_plotlyjs()}</script></head><body>{fig_html}</body></html>",
                       encoding="utf-8")
        d["plot"] = str(out.resolve())
    if as_json:
        echo_json(d)
        return
    rows = []
    for r in d["rows"]:
        if r.get("error"):
            rows.append(["—", r["trial"], r["best_model"], "", "", "", "", "", f"not sized: {r['error']}"])
            continue
        lost = (f"{g(r['product_lost_g'])} g" if r["product_lost_g"] is not None
                else f"{g(r['product_lost_L'])} L")
        rows.append([str(r["rank"]), r["trial"], r["best_model"], g(r["capacity_L_per_m2"]),
                     g(r["average_flux_LMH"]),
                     g(r["min_area_m2"]), r["format_label"], lost, f"{r['cost_per_batch_usd']:,.0f}"])
    click.echo(f"{g(d['batch_volume_L'])} L in {g(d['process_time_h'])} h, safety factor "
               f"{g(d['safety_factor'])}:")
    click.echo(table(rows,
                     ["rank", "trial", "best model", "capacity [L/m²]", "mean flux [L/m²/h]", "min area [m²]",
                            "format", "product lost", "cost/batch [USD]"],
                     ["<", "<", "<", ">", ">", ">", "<", ">", ">"]))
    e = d["economics"]
    click.echo(f"cost = filters + pre-use flush ({g(e['pre_use_flush_L_per_m2'])} L/m² water at "
               f"{g(e['wfi_per_L'])} "
               "USD/L)" + (" + product lost" if e["product_value_per_g"] is not None else
                           " (product lost not valued: give --titre and --product-value)"))
    for r in d["rows"]:
        for w in r.get("warnings") or []:
            click.echo(f"warning ({r['trial']}): {w}")
    if output:
        click.echo(f"overlay plot written to {d['plot']}")
