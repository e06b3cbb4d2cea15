"""``fluxwise ufdf``: the quick UF/DF calculator (concentrate, diafilter, concentrate to target)."""

from __future__ import annotations

import click

from ..pipeline import design_ufdf_from_inputs
from . import main
from .common import echo_json, g, table


@main.command()
@click.option("--volume", required=True, help='Load volume, e.g. "100 L".')
@click.option("--concentration", required=True, help='Product concentration of the load, e.g. "5 g/L".')
@click.option("--target-concentration", required=True, help='Final product concentration, e.g. "150 g/L".')
@click.option("--k", "k", required=True, help='Gel-model mass-transfer coefficient, e.g. "20 LMH".')
@click.option("--cg", required=True, help='Gel concentration, e.g. "250 g/L".')
@click.option("--diavolumes", help="Diavolumes N (0: concentrate only).")
@click.option("--df-remaining", help="Instead of N: impurity fraction DF must leave, e.g. 0.001.")
@click.option("--df-concentration", default="optimal", show_default=True,
              help='Product concentration during DF, e.g. "80 g/L", or "optimal" (least time).')
@click.option("--sieving", default="0", show_default=True, help="Product sieving coefficient, in [0, 1).")
@click.option("--impurity-sieving", default="1", show_default=True,
              help="Impurity sieving coefficient, in [0, 1].")
@click.option("--area", help='Membrane area, e.g. "1 m2" (or give --process-time).')
@click.option("--process-time", help='Process time to meet, e.g. "4 h"; the area follows (or give --area).')
@click.option("--hold-up", help='Undrainable system hold-up, e.g. "0.5 L".')
@click.option("--flush", help='Buffer flush of the hold-up into the pool, e.g. "1 L".')
@click.option("--feed-flux", help='Crossflow per membrane area, e.g. "300 LMH" (gives the pump rate).')
@click.option("--cassette-area", help='Area of one cassette, e.g. "0.11 m2" (gives the cassette count).')
@click.option("--df-mode", type=click.Choice(["continuous", "sequential-dilution", "volume-reduction"]),
              default="continuous", show_default=True,
              help="Constant-volume DF, or discontinuous DF in cycles: sequential dilution (add (k-1)V, "
                   "concentrate back) or volume reduction (concentrate to V/k, add (1-1/k)V back); each "
                   "cycle leaves k^(-S).")
@click.option("--dilution-factor", help="k of a discontinuous cycle, e.g. 2.")
@click.option("--cycles", help="Number of discontinuous cycles (or give --df-remaining).")
@click.option("--time-course", is_flag=True, help="With --json: include the time course (V, C, J over t).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def ufdf(volume, concentration, target_concentration, k, cg, diavolumes, df_remaining, df_concentration,
         sieving, impurity_sieving, area, process_time, hold_up, flush, feed_flux, cassette_area, df_mode,
         dilution_factor, cycles, time_course, as_json):
    """Design a UF/DF step: concentrate to the DF concentration, diafilter (at constant volume, or in
    discontinuous cycles), concentrate to the target (gel-polarisation flux J = k ln(Cg/C))."""
    inputs = dict(volume=volume, concentration=concentration, target_concentration=target_concentration,
                  k=k, cg=cg, diavolumes=diavolumes, df_remaining=df_remaining,
                  df_concentration=df_concentration, sieving=sieving, impurity_sieving=impurity_sieving,
                  area=area, process_time=process_time, hold_up=hold_up, flush=flush, feed_flux=feed_flux,
                  cassette_area=cassette_area, df_mode=df_mode, dilution_factor=dilution_factor,
                  cycles=cycles)
    d = design_ufdf_from_inputs(inputs, label=lambda name: "--" + name.replace("_", "-"))
    if as_json:
        echo_json(d.to_dict(include_time_course=time_course))
        return
    _print_design(d)


def _print_design(d) -> None:
    rows = [
        ["membrane area", g(d.area_m2), "m²"],
        ["process time", g(d.process_time_h), "h"],
        ["  concentration 1", g(d.concentration_1_time_h), "h"],
        ["  diafiltration", g(d.diafiltration_time_h), "h"],
        ["  concentration 2", g(d.concentration_2_time_h), "h"],
        ["optimal DF concentration", g(d.optimal_df_concentration_g_per_L), "g/L"],
        ["DF concentration used", g(d.df_concentration_g_per_L), "g/L"],
        ["DF volume", g(d.df_volume_L), "L"],
        ["diavolumes" if d.df_mode == "continuous" else "buffer used / DF volume", g(d.diavolumes), "-"],
        ["final concentration (retentate)", g(d.final_concentration_g_per_L), "g/L"],
        ["final volume (retentate)", g(d.final_volume_L), "L"],
        ["permeate volume", g(d.permeate_volume_L), "L"],
        ["buffer volume (DF + flush)", g(d.buffer_volume_L), "L"],
        ["product yield", g(d.product_yield * 100, 5), "%"],
        ["pool", f"{g(d.pool_volume_L)} L at {g(d.pool_concentration_g_per_L)}", "g/L"],
        ["impurity remaining", g(d.impurity_remaining_fraction), "fraction of the load"],
        ["average flux", g(d.average_flux_LMH), "L/m²/h"],
    ]
    if d.df_mode != "continuous":
        rows.insert(9, ["DF mode", f"{d.df_mode}, {d.df_cycles} cycles of k = {g(d.dilution_factor)}", ""])
        rows.insert(10, ["retentate volume in a cycle", f"{g(d.min_retentate_volume_L)} to "
                                                        f"{g(d.max_retentate_volume_L)}", "L"])
    if d.crossflow_rate_L_per_h is not None:
        rows.append(["crossflow pump rate", g(d.crossflow_rate_L_per_h), "L/h"])
    if d.n_cassettes is not None:
        rows.append(["cassettes", str(d.n_cassettes), f"({g(d.installed_area_m2)} m² installed)"])
    click.echo(f"UF/DF step, {d.flux_model}")
    click.echo(table(rows, ["quantity", "value", "unit"], ["<", ">", "<"]))
    for w in d.warnings:
        click.echo(f"warning: {w}")
