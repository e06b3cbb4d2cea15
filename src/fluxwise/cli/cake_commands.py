"""``fluxwise cake TRIAL...``: specific cake resistance and medium resistance of trials, and the cake's
compressibility over several pressures."""

from __future__ import annotations

import click

from . import main
from .common import echo_json, g, parse_columns, sheet_arg, table, trial_options

_MODELS = ("best", "cake", "cake-complete", "cake-intermediate", "cake-standard")


def _ci(lo_hi) -> str:
    return f"[{g(lo_hi[0], 3)}, {g(lo_hi[1], 3)}]"


@main.command()
@click.argument("trials", nargs=-1, required=True, type=click.Path(dir_okay=False))
@trial_options
@click.option("--model", default="cake", show_default=True, type=click.Choice(_MODELS),
              help="Model whose cake term gives alpha (best: the best-ranked model with a cake term; "
                   "combined models give an apparent alpha).")
@click.option("--pressure", help='Pressure of a single trial, e.g. "46.2 kPa" (else its pressure column or a '
                                 "'Pressure:' line).")
@click.option("--viscosity", help='Filtrate viscosity, e.g. "0.89 mPa s" (else a \'Viscosity:\' line).')
@click.option("--solids", help='Dry cake solids per filtrate volume, e.g. "23.5 kg/m3" (else a \'Solids:\' '
                               'line; '
                               "not a packed cell volume).")
@click.option("--reference-pressure", help='Pressure alpha_ref is stated at, e.g. "1 bar" (default: the '
                                           'geometric '
                                           "mean of the pressures tested).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (also the input of size "
                                                      "--cake-study).")
def cake(trials, area, mode, density, sheet, columns, max_dip, model, pressure, viscosity, solids,
         reference_pressure, as_json):
    """Cake properties of TRIALS: alpha = 3.6e9·kc·ΔP/(μ·c) [m/kg] and Rm = 3.6e6·ΔP/(μ·J0) [1/m] with
    95 % intervals, the medium's share of the pressure at the end of each trial, and over three or more
    pressures alpha = alpha_ref·(ΔP/ΔP_ref)^s and Rm = Rm_ref·(ΔP/ΔP_ref)^n."""
    from ..pipeline import cake_analysis

    read = {"area": area, "mode": mode, "density": density, "sheet": sheet_arg(sheet),
            "columns": parse_columns(columns), "max_dip": max_dip}
    study = cake_analysis(trials, model=model, pressure=pressure, viscosity=viscosity, solids=solids,
                          reference_pressure=reference_pressure, read=read)
    if as_json:
        echo_json(study.to_dict())
        return
    rows = [[t.source, g(t.pressure_bar), t.model + (" (apparent)" if t.apparent else ""),
             f"{g(t.alpha_m_per_kg)} {_ci(t.alpha_ci95)}", f"{g(t.Rm_per_m)} {_ci(t.Rm_ci95)}",
             g(t.medium_pressure_share_end * 100, 3)] for t in study.trials]
    click.echo(table(rows, ["trial", "ΔP [bar]", "model", "alpha [m/kg] [95 %]", "Rm [1/m] [95 %]",
                            "medium share at end [%]"], ["<", ">", "<", ">", ">", ">"]))
    a, m = study.alpha, study.medium
    if a is not None:
        click.echo(f"alpha = {g(a.value_ref)} m/kg · (ΔP / {g(a.reference_pressure_bar)} bar)^s, s = "
                   f"{g(a.exponent, 3)} {_ci(a.exponent_ci95)}, alpha_ref {_ci(a.value_ref_ci95)} m/kg (95 "
                   f"%, {a.n} trials, R² {a.r2:.4f})")
        click.echo(f"Rm    = {g(m.value_ref)} 1/m · (ΔP / {g(m.reference_pressure_bar)} bar)^n, n = "
                   f"{g(m.exponent, 3)} {_ci(m.exponent_ci95)}, Rm_ref {_ci(m.value_ref_ci95)} 1/m")
        lo, hi = study.pressure_range_bar
        click.echo(f"tested from {g(lo)} to {g(hi)} bar: size --cake-study uses these laws only inside that "
                   "range")
    for note in study.notes:
        click.echo(f"note: {note}")
    for t in study.trials:
        for note in t.notes:
            click.echo(f"note ({t.source}): {note}")
