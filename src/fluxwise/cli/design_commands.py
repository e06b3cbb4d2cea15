"""``fluxwise design TRAIN.yaml``: a whole filtration train per batch — balance, time, cost, plastic, CO2e."""

from __future__ import annotations

from pathlib import Path

import click

from . import main
from .common import echo_json, g, table


def _design_cell(s) -> str:
    if s.type == "ufdf":
        d = s.design
        cas = f", {d['n_cassettes']} cassettes" if d.get("n_cassettes") else ""
        return (f"{g(d['area_m2'])} m² UF{cas}, {g(d['diavolumes'], 3)} DV at "
                f"{g(d['df_concentration_g_per_L'])} g/L")
    if s.type == "hold":
        return f"to {g(s.design['concentration_out_g_per_L'])} g/L (not designed)"
    c = s.design["format"]
    return f"{c['count']} x {c['name']} = {g(c['installed_area_m2'])} m² ({s.basis.model})"


@main.command()
@click.argument("train", type=click.Path(dir_okay=False))
@click.option("--route", help="Supplier route for every step's consumables, overriding the file "
                              "(a route of the factors file, e.g. local, europe-korea-air).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Also write a report: .html (self-contained) or .pdf (printed by Chromium).")
@click.option("--items", is_flag=True, help="Also print every CO2e and plastic line item.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (keys: docs/train-json.md).")
def design(train, route, output, items, as_json):
    """Design the filtration train of TRAIN (YAML) for one batch: mass balance, sizing, time, buffers,
    consumables, cost and single-use plastic CO2e, with every total traceable to its line items."""
    from ..design.train import design_train
    from ..io.train import read_train

    result = design_train(read_train(train, route=route))
    out = None
    if output:
        from ..report.train import render_train_report

        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        html = render_train_report(result)
        if out.suffix.lower() == ".pdf":
            from ..report.pdf import html_to_pdf

            out.write_bytes(html_to_pdf(html, title=f"Filtration train — {result.train.name}"))
        else:
            out.write_text(html, encoding="utf-8")
    if as_json:
        d = result.to_dict()
        if out is not None:
            d["report"] = str(out)
        echo_json(d)
        return
    _print_train(result, items)
    if out is not None:
        click.echo(f"\nReport written to {out.resolve()}")


def _print_train(r, items: bool) -> None:
    t, s = r.train, r.summary
    cur = s["currency"]
    click.echo(f"Train '{t.name}': {t.product}, {g(t.batch_volume_L)} L at {g(t.titre_g_per_L)} g/L "
               f"({g(s['product_in_g'])} g); disposal {t.disposal}; "
               f"route {t.route or t.factors.default_route}")
    rows = [[f"{st.index}. {st.name}", st.type, _design_cell(st), g(st.time_h, 3),
             f"{g(st.volume_in_L)} → {g(st.volume_out_L)}", g(st.yield_fraction * 100, 4)] for st in r.steps]
    click.echo(table(rows, ["step", "type", "design", "time [h]", "volume [L]", "yield [%]"],
                     ["<", "<", "<", ">", ">", ">"]))
    co2 = s["co2e_by_category_kg"]
    summary = [
        ["total time", g(s["total_time_h"]), "h"],
        ["product out", f"{g(s['product_out_g'])} ({g(s['overall_yield'] * 100, 4)} %)", "g"],
        ["final pool", f"{g(s['final_volume_L'])} L at {g(s['final_concentration_g_per_L'])}", "g/L"],
        ["buffer", g(s["buffer_L"]), "L"],
        ["water for injection", g(s["wfi_L"]), "L"],
        ["cost per batch", f"{s['cost_total']:,.0f}", cur],
        ["cost per gram", g(s["cost_per_g"]), f"{cur}/g"],
        ["single-use plastic", g(s["plastic_kg"]), "kg"],
        ["CO2e per batch", g(s["co2e_kg"]), "kg CO2e"],
        ["  resin (cradle to gate)", g(co2.get("resin", 0.0)), "kg CO2e"],
        ["  end of life", g(co2.get("end-of-life", 0.0)), "kg CO2e"],
        ["  freight", g(co2.get("freight", 0.0)), "kg CO2e"],
        ["CO2e per kg product", g(s["co2e_kg_per_kg_product"]), "kg CO2e/kg"],
    ]
    click.echo("\nSummary (every figure is the sum of its line items)")
    click.echo(table(summary, ["quantity", "value", "unit"], ["<", ">", "<"]))
    click.echo("\nCost line items")
    click.echo(table([[f"{i.step_index}. {i.step}", i.category, i.item, g(i.quantity), i.unit,
                       g(i.unit_price), f"{i.amount:,.2f}"] for i in r.cost_items],
                     ["step", "category", "item", "quantity", "unit", f"unit price [{cur}]",
                      f"amount [{cur}]"],
                     ["<", "<", "<", ">", "<", ">", ">"]))
    if items:
        click.echo("\nPlastic line items")
        click.echo(table([[f"{i.step_index}. {i.step}", i.item, g(i.quantity), i.unit, g(i.unit_price),
                           g(i.amount)] for i in r.plastic_items],
                         ["step", "item", "quantity", "unit", "kg per unit", "plastic [kg]"],
                         ["<", "<", ">", "<", ">", ">"]))
        click.echo("\nCO2e line items")
        click.echo(table([[f"{i.step_index}. {i.step}", i.category, i.item, g(i.quantity), i.unit,
                           g(i.unit_price), g(i.amount)] for i in r.co2e_items],
                         ["step", "category", "item", "quantity", "unit", "factor", "kg CO2e"],
                         ["<", "<", "<", ">", "<", ">", ">"]))
    click.echo("\nFreight of the consumables by supplier route (same train)")
    click.echo(table([[c["route"], c["label"], g(c["freight_co2e_kg"]), g(c["co2e_kg"])]
                      for c in r.route_comparison],
                     ["route", "", "freight [kg CO2e]", "total [kg CO2e]"], ["<", "<", ">", ">"]))
    if r.virus_clearance:
        click.echo("\nVirus clearance (ICH Q5A rules: orthogonal mechanisms, steps > 1 log10)")
        click.echo(table([[v, g(x["claimable_lrv"], 3) + (" (≥)" if x["lower_bound"] else ""),
                           g(x["total_lrv"], 3), ", ".join(x["counted_steps"])]
                          for v, x in r.virus_clearance["viruses"].items()],
                         ["virus", "claimable LRV", "sum of steps", "counted steps"], ["<", ">", ">", "<"]))
    for w in r.warnings:
        click.echo(f"warning: {w}")
