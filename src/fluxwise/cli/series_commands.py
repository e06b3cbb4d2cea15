"""``fluxwise series TRIAL``: a prefilter and a final filter in series, from one trial logging P1 and P2 —
each filter's fouling fitted from its own pressure drop, both sized for a batch at the cost-optimal area
ratio."""

from __future__ import annotations

import click

from . import main
from .common import echo_json, g, parse_columns, sheet_arg, table

_MODELS = ("best", "complete", "intermediate", "standard", "cake", "cake-complete", "cake-intermediate",
           "complete-standard", "intermediate-standard", "cake-standard")


@main.command()
@click.argument("trial", type=click.Path(dir_okay=False))
@click.option("--prefilter-area", help='Area of the prefilter in the trial, e.g. "3.5 cm2" (else a '
                                       "'Prefilter area:' line).")
@click.option("--filter-area", help='Area of the final filter in the trial, e.g. "3.5 cm2" (else a '
                                    "'Final filter area:' line).")
@click.option("--mode", type=click.Choice(["constant-pressure", "constant-flux"]),
              help="Operating mode (default: detected from P1 and the filtrate).")
@click.option("--density", help='Filtrate density to convert mass to volume, e.g. "1.02 g/mL".')
@click.option("--sheet", help="Excel sheet name or number.")
@click.option("--column", "columns", multiple=True, metavar="ROLE=HEADER",
              help='Column mapping, e.g. --column "p2=Interstage [psi]". Roles: time, mass, volume, pressure '
                   "(P1), p2, p_outlet, flow.")
@click.option("--batch-volume", default="2000 L", show_default=True, help="Batch volume with unit.")
@click.option("--process-time", default="4 h", show_default=True,
              help="Process time (at constant flux the flow is batch volume over this time).")
@click.option("--max-pressure", help='Constant flux: maximum P1 − P_out, e.g. "2 bar".')
@click.option("--pressure", help="Constant pressure: P1 − P_out of the process (default: the trial's).")
@click.option("--prefilter-safety-factor", default=1.5, show_default=True, type=float)
@click.option("--filter-safety-factor", default=1.5, show_default=True, type=float)
@click.option("--prefilter-format", help="Use this catalog format for the prefilter (default: any).")
@click.option("--filter-format", help="Use this catalog format for the final filter (default: any).")
@click.option("--prefilter-model", default="best", show_default=True, type=click.Choice(_MODELS))
@click.option("--filter-model", default="best", show_default=True, type=click.Choice(_MODELS))
@click.option("--ratio", type=float, help="Fix the area ratio A1/A2 instead of finding the cheapest.")
@click.option("--catalog", type=click.Path(dir_okay=False), help="Catalog of filter formats (CSV or YAML).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def series(trial, prefilter_area, filter_area, mode, density, sheet, columns, batch_volume, process_time,
           max_pressure, pressure, prefilter_safety_factor, filter_safety_factor, prefilter_format,
           filter_format, prefilter_model, filter_model, ratio, catalog, as_json):
    """Two filters in series from one trial with P1 (upstream of the prefilter) and P2 (between them):
    each filter's r_i(V_i) fitted from its own pressure drop, both sized for a batch with their own
    safety factors and formats at the area ratio that costs least per batch."""
    from ..pipeline import series_analysis
    from ..trial import CONSTANT_FLUX

    read = {"mode": mode, "density": density, "sheet": sheet_arg(sheet), "columns": parse_columns(columns)}
    sizing = {"batch_volume": batch_volume, "process_time": process_time, "max_pressure": max_pressure,
              "pressure": pressure, "prefilter_safety_factor": prefilter_safety_factor,
              "filter_safety_factor": filter_safety_factor, "prefilter_format": prefilter_format,
              "filter_format": filter_format, "prefilter_model": prefilter_model,
              "filter_model": filter_model,
              "ratio": ratio, "catalog": catalog}
    from ..pipeline import load_series_trial

    tr, a1, a2 = load_series_trial(trial, prefilter_area=prefilter_area, filter_area=filter_area, **read)
    size_it = not (tr.mode == CONSTANT_FLUX and max_pressure is None)
    res = series_analysis(tr, prefilter_area=a1, filter_area=a2, sizing=sizing if size_it else None)
    if as_json:
        echo_json(res.to_dict())
        return
    d = res.to_dict()
    click.echo(f"Series trial {tr.source}: {tr.mode}, prefilter {g(a1 * 1e4)} cm², final filter "
               f"{g(a2 * 1e4)} cm² (A1/A2 = {g(d['trial_area_ratio'])})")
    for st in d["stages"]:
        rows = [[m["name"], f"{m['r2']:.5f}", g(m["delta_aicc"], 3)] for m in st["models"][:4]]
        click.echo(f"\n{st['name']}: {st['points']} points, up to {g(st['max_loading_L_per_m2'])} L/m², "
                   f"reference flux {g(st['reference_flux_LMH'])} L/m²/h; {st['verdict']}")
        click.echo(table(rows, ["model", "R² of ΔP", "ΔAICc"]))
    s = d.get("sizing")
    if s is None:
        click.echo('\nno sizing: at constant flux give the maximum pressure, e.g. --max-pressure "2 bar"')
        return
    limit = (f"pressure at the end {g(s['final_pressure_bar'])} bar with installed area/SF, "
             f"{g(s['final_pressure_bar_on_installed_area'])} bar on the installed area (max "
             f"{g(s['max_pressure_bar'])})" if s["mode"] == "constant-flux" else
             f"time needed {g(s['process_time_h_needed'])} h with installed area/SF, "
             f"{g(s['process_time_h_needed_on_installed_area'])} h on the installed area, at "
             f"{g(s['pressure_bar'])} bar")
    click.echo(f"\nSizing for {g(s['batch_volume_L'])} L in {g(s['process_time_h'])} h:")
    rows = [[st["name"], st["model"], g(st["min_area_m2"]), g(st["safety_factor"], 3),
             f"{st['format']['count']} x {st['format']['name']}", g(st["format"]["installed_area_m2"]),
             f"{st['format']['price_usd']:,.0f}", g(st["design_loading_L_per_m2"])] for st in s["stages"]]
    click.echo(table(rows, ["filter", "model", "min area [m²]", "SF", "format", "installed [m²]",
                            "price [USD]", "loading [L/m²]"], ["<", "<", ">", ">", "<", ">", ">", ">"]))
    click.echo(f"area ratio A1/A2: {'fixed' if s['ratio_fixed'] else 'cost-optimal'} "
               f"{g(s['area_ratio_cost_optimal'])}, "
               f"installed {g(s['area_ratio_installed'])}, trial {g(s['trial_area_ratio'])}")
    click.echo(f"filter cost per batch {s['cost_per_batch_usd']:,.0f} USD; {limit}")
    click.echo(f"assumption: {s['assumption']}")
    for note in s["notes"]:
        click.echo(f"note: {note}")
    for w in s["warnings"]:
        click.echo(f"warning: {w}")
