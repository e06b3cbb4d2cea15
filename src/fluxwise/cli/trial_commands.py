"""``fluxwise fit``, ``size``, ``report`` and ``demo``: trial analysis and sizing from the shell."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from ..design.sizing import DEFAULT_SAFETY_FACTOR
from ..design.sizing_checks import DEFAULT_EXTRAPOLATION_LIMIT, DEFAULT_J0_MARGIN
from ..errors import InputError
from ..models.fouling import MODEL_NAMES, PARAM_UNITS
from ..pipeline import VMAX_LINEAR, SizingRequest, analyze, load_trial, size_trial
from . import main
from .common import echo_json, g, parse_columns, sheet_arg, table, trial_options


def _read_kwargs(area, mode, density, sheet, columns, max_dip=None) -> dict:
    return {"area": area, "mode": mode, "density": density, "sheet": sheet_arg(sheet),
            "columns": parse_columns(columns), "max_dip": max_dip}


def sizing_options(f):
    """Options that say what to size for."""
    opts = [
        click.option("--batch-volume", default="2000 L", show_default=True, help="Batch volume with unit."),
        click.option("--process-time", default=None,
                     help='Process time with unit, e.g. "4 h" (default 4 h at constant pressure).'),
        click.option("--safety-factor", default=DEFAULT_SAFETY_FACTOR, show_default=True, type=float,
                     help="Installed over minimum area."),
        click.option("--model", default="best", show_default=True,
                     type=click.Choice(["best", *MODEL_NAMES, VMAX_LINEAR]),
                     help="Model to size with: best = the most conservative of the models tied with the best "
                          "by AICc; vmax-linear = the classical linearised Vmax (t/V vs t) or Pmax, for "
                          "comparison."),
        click.option("--catalog", type=click.Path(dir_okay=False),
                     help="Catalog of filter formats (CSV or YAML); default: the shipped generic catalog."),
        click.option("--format", "format_name", help="Use this catalog format instead of the best one."),
        click.option("--max-pressure", help='Constant flux: maximum pressure, e.g. "2 bar" or "30 psi".'),
        click.option("--flux", help='Constant flux: process flux, e.g. "150 LMH" (default: the trial\'s).'),
        click.option("--flux-decay-limit", help="Constant pressure: do not foul past this flux decay "
                                                "(e.g. 0.9 for V90)."),
        click.option("--extrapolation-limit", help="Warn when the process loading (L/m², before the safety "
                                                   "factor) exceeds the trial's by more than this factor "
                                                   f"(default {DEFAULT_EXTRAPOLATION_LIMIT:g})."),
        click.option("--buffer-flux", help="Clean-buffer flux at the trial's pressure and temperature, e.g. "
                                           '"5000 LMH" (else a "Buffer flux" line of the file): the fitted '
                                           "J0 is checked against it."),
        click.option("--j0-margin", help="How far the fitted J0 may exceed the buffer flux before a warning "
                                         f"(default {DEFAULT_J0_MARGIN:.0%})."),
        click.option("--fix-j0", is_flag=True, help="Fit every model with J0 fixed at the buffer flux."),
        click.option("--process-temperature", help='Process temperature, e.g. "5 degC": times scale by the '
                                                   'water viscosity ratio (hydraulics only).'),
        click.option("--trial-temperature", help='Trial temperature, e.g. "20 degC" (else a "Temperature" '
                                                 "line of the file)."),
        click.option("--process-viscosity", help='Process fluid viscosity, e.g. "1.8 mPa*s" (instead of a '
                                                 'temperature, for fluids other than water).'),
        click.option("--trial-viscosity", help='Trial fluid viscosity, e.g. "1.2 cP".'),
        click.option("--confidence", help="Risk-based sizing: the area that meets the batch with this "
                                          "probability (e.g. 0.95), from a bootstrap of the fit and "
                                          "Monte Carlo draws (constant pressure)."),
        click.option("--feed-cv", help="With --confidence: lot-to-lot coefficient of variation of the "
                                       "feed's capacity (e.g. 0.2)."),
        click.option("--bootstrap-method", type=click.Choice(["residual", "block"]),
                     help="With --confidence: resample residuals one by one (residual, default) or in "
                          "moving blocks (block: for autocorrelated residuals)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def limit_options(f):
    """Further endpoints and conditions of a sizing (their values reach SizingRequest.parse by name)."""
    opts = [
        click.option("--turbidity-limit", help="Tmax: also stop where the filtrate turbidity passes this "
                                               "limit, "
                                               "e.g. \"10 NTU\" (needs a turbidity column; the smaller "
                                               "loading "
                                               "governs)."),
        click.option("--turbidity-flush", help='Tmax: filtrate flushed to waste before turbidity counts, '
                                               'e.g. '
                                               '"20 L/m2".'),
        click.option("--cake-study", type=click.Path(dir_okay=False),
                     help="JSON of fluxwise cake --json (three or more pressures): size at "
                          "--process-pressure "
                          "(constant pressure) or to --max-pressure (constant flux) with its laws."),
        click.option("--process-pressure", help='With --cake-study: the process pressure, e.g. "1.2 bar" '
                                                '(only '
                                                "within the pressures tested)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


#: the options of sizing_options and limit_options, as SizingRequest.parse names them
SIZING_OPTION_NAMES = ("batch_volume", "process_time", "safety_factor", "model", "catalog", "format_name",
                       "max_pressure", "flux", "flux_decay_limit", "extrapolation_limit", "buffer_flux",
                       "j0_margin", "fix_j0", "process_temperature", "trial_temperature", "process_viscosity",
                       "trial_viscosity", "confidence", "feed_cv", "bootstrap_method", "turbidity_limit",
                       "turbidity_flush", "cake_study", "process_pressure")


robust_option = click.option(
    "--robust", is_flag=True,
    help="Robust fit (Huber's M-estimate) for trials with outlying readings (a spike, a knocked balance); "
         "noise is not outliers: for a noisy balance use --max-dip.")


def _request(trial_mode, **options) -> SizingRequest:
    if trial_mode == "constant-pressure" and options.get("process_time") is None:
        options["process_time"] = "4 h"
    if trial_mode == "constant-flux" and options.get("max_pressure") is None:
        raise InputError('constant-flux sizing needs a maximum pressure, e.g. --max-pressure "2 bar"',
                         field="--max-pressure")
    return SizingRequest.parse(**options)


def _split(kwargs: dict) -> tuple[dict, dict]:
    """(sizing options, the rest) of a command's keyword arguments."""
    sizing = {k: kwargs.pop(k) for k in SIZING_OPTION_NAMES if k in kwargs}
    return sizing, kwargs


def _print_fit(a) -> None:
    tr, fit = a.trial, a.fit
    click.echo(f"Trial {tr.source}: {tr.mode}, test area {g(tr.area_m2 * 1e4)} cm², {tr.points} points, "
               f"{g(tr.t_h[-1])} h, {g(tr.v_L_per_m2[-1])} L/m²")
    rows = []
    best = fit.best.aicc
    for f in fit.fits:
        ps = ", ".join(f"{k}={g(v)}" + (" (fixed)" if k in f.fixed else
                                        f" [{g(f.ci95[k][0], 3)}, {g(f.ci95[k][1], 3)}]")
                       for k, v in f.params.items())
        d = f.diagnostics or {}
        dw = g(d.get("durbin_watson"), 3) + (" *" if d.get("autocorrelated") else "")
        rows.append([f.name, f"{f.r2:.6f}", g(f.aicc - best, 3), dw, ps])
    label = "parameters [95 % interval" + (", AR(1) errors]" if fit.best.intervals == "ar1" else
                                           ", robust (Huber)]" if fit.best.loss == "huber" else "]")
    click.echo(table(rows, ["model", "R²", "ΔAICc", "DW", label], ["<", ">", ">", ">", "<"]))
    if fit.binning is not None:
        click.echo(f"Long trial: {fit.binning_note()['note']}.")
    click.echo("units: " + ", ".join(f"{k} [{u}]" for k, u in PARAM_UNITS.items()))
    click.echo("DW: Durbin-Watson statistic of the residuals (2 = independent; * = autocorrelated)")
    if len(fit.indistinguishable) > 1:
        click.echo(f"Best: {fit.best_model}, but these cannot be told apart (ΔAICc < 2): "
                   f"{', '.join(fit.indistinguishable)}")
    else:
        click.echo(f"Best: {fit.best_model}")
    vm = fit.vmax
    click.echo(f"Classical Vmax ({vm['method']}): {g(vm['vmax_L_per_m2'])} L/m², J0 {g(vm['J0_LMH'])} L/m²/h")
    from ..fit.linearised import vmax_linearity

    check = vmax_linearity(fit.trial)
    if check is not None and not check["applicable"]:
        click.echo(f"  not applicable: the t/V line is curved ({check['reason']}); use the fitted models")
    for w in fit.warnings:
        click.echo(f"WARNING: {w}")


def _print_sizing(s) -> None:
    c = s.choice
    ck = s.checks
    click.echo(f"Sizing with '{s.model}' for {g(s.batch_volume_L)} L in {g(s.process_time_h)} h"
               + (f" ({ck['model_choice']})" if ck.get("model_choice") else "") + ":")
    click.echo(f"  minimum area          {g(s.min_area_m2)} m²")
    rng = ck.get("tied_area_range_m2")
    if rng and len(ck.get("tied_models", [])) > 1:
        click.echo(f"  tied models' areas    {g(rng[0])}-{g(rng[1])} m² ("
                   + ", ".join(f"{t['model']} {g(t['min_area_m2'])}" for t in ck["tied_models"]
                               if t["min_area_m2"] is not None) + ")")
    click.echo(f"  safety factor         {g(s.safety_factor)}")
    click.echo(f"  required installed    {g(s.installed_area_m2)} m²")
    click.echo(f"  format                {c.count} x {c.format.name} ({g(c.format.area_m2)} m² each) = "
               f"{g(c.installed_area_m2)} m², margin {g(c.margin * 100, 3)} %")
    click.echo("  endpoints             " + ", ".join(f"{k.split('_')[0].upper()} {g(v)} L/m²"
                                                      for k, v in s.endpoints.items()))
    for k, v in s.extra.items():
        click.echo(f"  {k:<21} {g(v)}")
    if ck:
        times = (f"; process time {g(ck['time_extrapolation_factor'], 3)} x the trial's "
                 f"{g(ck['trial_time_h'])} h"
                 if ck.get("time_extrapolation_factor") is not None else "")
        click.echo(f"  process loading       {g(s.batch_volume_L / s.min_area_m2)} L/m² = "
                   f"{g(ck['extrapolation_factor'], 3)} x the trial's {g(ck['trial_max_loading_L_per_m2'])} "
                   f"L/m²{times}")
        if ck.get("viscosity_ratio", 1.0) != 1.0:
            click.echo(f"  viscosity ratio       {g(ck['viscosity_ratio'], 4)} (process/trial)")
    _print_limits(s)
    if s.risk is not None:
        r = s.risk
        click.echo(f"Risk-based sizing ({r['n_draws']:,} draws, bootstrap of the fit, "
                   f"feed CV {g(r['feed_cv'])}):")
        click.echo(f"  area meeting the batch with {g(r['confidence'] * 100)} % probability: "
                   f"{g(r['risk_based_area_m2'])} m² (implied safety factor {g(r['implied_safety_factor'])})")
        if "format" in r:
            f = r["format"]
            click.echo(f"  format                {f['count']} x {f['name']} = {g(f['installed_area_m2'])} m²")
        click.echo(f"  the fixed factor {g(r['conventional_safety_factor'])} meets the batch with "
                   f"{g(r['probability_conventional_meets'] * 100, 6)} % probability")
    for w in s.warnings:
        click.echo(f"WARNING: {w}")


def _print_limits(s) -> None:
    """Turbidity endpoint and cake laws of a sizing (its warnings close the sizing's text)."""
    if s.turbidity is not None:
        t = s.turbidity
        vt = t["breakthrough_L_per_m2"]
        click.echo(f"  {'Tmax (' + g(t['limit_NTU']) + ' NTU)':<21} "
                   + (f"{g(vt)} L/m²" if vt is not None else f"> trial maximum "
                                                             f"({g(t['trial_max_loading_L_per_m2'])} "
                                                             "L/m²)")
                   + (f" (pooled turbidity would give {g(t['pooled_breakthrough_L_per_m2'])} L/m²)"
                      if t.get("pooled_breakthrough_L_per_m2") is not None else ""))
        click.echo(f"  governing limit       {t['governing']}: {t['statement']}")
    if s.cake is not None:
        c = s.cake
        if "process_pressure_bar" in c:
            click.echo(f"  cake study            carried from {g(c['trial_pressure_bar'])} to "
                       f"{g(c['process_pressure_bar'])} bar (s = {g(c['compressibility_s'], 3)}): alpha "
                       f"{g(c['alpha_m_per_kg'])} m/kg, Rm {g(c['Rm_per_m'])} 1/m, J0 {g(c['J0_LMH'])} "
                       "L/m²/h")
        else:
            click.echo(f"  cake study            compressible cake (s = {g(c['compressibility_s'], 3)}) at "
                       f"constant flux, tested {g(c['tested_pressure_range_bar'][0])}-"
                       f"{g(c['tested_pressure_range_bar'][1])} bar")


@main.command()
@click.argument("trial", type=click.Path(dir_okay=False))
@trial_options
@click.option("--j0", type=float, help="Fix J0 [L/m²/h] instead of fitting it (constant pressure).")
@click.option("--intervals", type=click.Choice(["ols", "ar1"]), default="ols", show_default=True,
              help="95 % intervals for independent errors (ols) or for AR(1)-autocorrelated residuals (ar1).")
@robust_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def fit(trial, area, mode, density, sheet, columns, max_dip, j0, intervals, robust, as_json):
    """Fit all nine fouling models to TRIAL and rank them."""
    read = _read_kwargs(area, mode, density, sheet, columns, max_dip)
    a = analyze(trial, j0=j0, intervals=intervals, robust=robust, **read)
    if as_json:
        echo_json(a.fit.to_dict())
    else:
        _print_fit(a)


@main.command()
@click.argument("trial", type=click.Path(dir_okay=False))
@trial_options
@sizing_options
@limit_options
@robust_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def size(trial, area, mode, density, sheet, columns, max_dip, robust, as_json, **options):
    """Size the process filter for a batch from TRIAL (with warnings where it extrapolates the trial)."""
    sizing, _ = _split(options)
    trial_ = load_trial(trial, **_read_kwargs(area, mode, density, sheet, columns, max_dip))
    a = analyze(trial_, sizing=_request(trial_.mode, **sizing), robust=robust)
    if as_json:
        echo_json(a.sizing.to_dict())
    else:
        _print_sizing(a.sizing)


@main.command()
@click.argument("trial", type=click.Path(dir_okay=False))
@trial_options
@sizing_options
@limit_options
@click.option("-o", "--output", default="report.html", show_default=True, type=click.Path(dir_okay=False),
              help="File to write: .html (self-contained), or .pdf (the same report printed by Chromium).")
@robust_option
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON as well.")
def report(trial, area, mode, density, sheet, columns, max_dip, output, robust, as_json, **options):
    """Write a self-contained HTML (or PDF) report of TRIAL: data, fits, plots, model table, sizing."""
    from ..report.html import render_report

    sizing, _ = _split(options)
    trial_ = load_trial(trial, **_read_kwargs(area, mode, density, sheet, columns, max_dip))
    req = None
    if trial_.mode == "constant-pressure" or sizing.get("max_pressure") is not None:
        req = _request(trial_.mode, **sizing)
    a = analyze(trial_, sizing=req, robust=robust)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    html = render_report(a)
    if out.suffix.lower() == ".pdf":
        from ..report.pdf import html_to_pdf

        out.write_bytes(html_to_pdf(html, title=f"Filterability report — {a.trial.source}"))
    else:
        out.write_text(html, encoding="utf-8")
    if as_json:
        echo_json({**a.to_dict(), "report": str(out)})
    else:
        click.echo(f"Report written to {out.resolve()}")


# The bundled examples the demo walks through: file, how to read it, what to size for.
DEMO_CASES = (
    ("mab_sterile_filtration.csv", {}, {"batch_volume": "2000 L", "process_time": "1 h"}),
    ("cho_harvest_depth_filtration.csv", {},
     {"batch_volume": "2000 L", "process_time": "2 h", "max_pressure": "25 psi"}),
    ("virus_filtration.xlsx", {}, {"batch_volume": "2000 L", "process_time": "4 h"}),
)


@main.command()
@click.option("--examples", default="examples", show_default=True, type=click.Path(file_okay=False),
              help="Folder with the example trials.")
@click.option("-o", "--output", default="reports", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the reports.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def demo(examples, output, as_json):
    """Walk through the bundled example trials: fit, size for a 2,000 L batch, write reports."""
    from tqdm import tqdm

    from ..report.html import render_report

    ex, out = Path(examples), Path(output)
    if not ex.is_dir():
        raise InputError("examples folder not found (run from the project folder or give --examples)",
                         source=str(ex))
    out.mkdir(parents=True, exist_ok=True)
    summary = []
    for name, read, sizing in tqdm(DEMO_CASES, desc="demo", unit="trial", disable=as_json, leave=False):
        a = analyze(ex / name, **read)
        req = _request(a.trial.mode, **sizing)
        a = dataclasses.replace(a, sizing=size_trial(a.fit, req), request=req)
        path = out / (Path(name).stem + ".html")
        path.write_text(render_report(a), encoding="utf-8")
        s = a.sizing
        summary.append({"trial": name, "mode": a.trial.mode, "best_model": a.fit.best_model,
                        "min_area_m2": s.min_area_m2, "installed_area_m2": s.installed_area_m2,
                        "format": s.choice.to_dict(), "warnings": list(s.warnings),
                        "report": str(path.resolve())})
        if not as_json:
            click.echo(f"\n== {name}")
            _print_fit(a)
            _print_sizing(s)
            click.echo(f"  report                {path.resolve()}")
    if as_json:
        echo_json(summary)
    else:
        click.echo(f"\nDemo done: {len(summary)} reports in {out.resolve()}")
