"""The command line: ``fluxwise fit|size|report|demo|...``; every command has ``--json``.

Errors a user can fix (bad file, unit, option) print one line naming the file, row, column or field
and exit with code 2; nothing here prints a traceback for them.

Start-up: a command imports only what it uses. The commands are listed in :data:`COMMANDS` with
their one-line help, so ``fluxwise --help`` lists them all without importing a command module, and
``fluxwise fit`` imports the trial commands (the reader and the fitter) but not the web server, the
database layer, numba or Dask. A command module registers with one line in :data:`COMMANDS`
(``tests/test_cli_startup.py`` checks each line against the command it names).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from ..errors import FluxwiseError

#: Every command: name -> (``module:attribute`` in this package, the command's one-line help).
COMMANDS = {
    "fit": ("trial_commands:fit", "Fit all nine fouling models to TRIAL and rank them."),
    "size": ("trial_commands:size", "Size the process filter for a batch from TRIAL (with warnings where it "
                                    "extrapolates the trial)."),
    "report": ("trial_commands:report", "Write a self-contained HTML (or PDF) report of TRIAL: data, fits, "
                                        "plots, model table, sizing."),
    "demo": ("trial_commands:demo", "Walk through the bundled example trials: fit, size for a 2,000 L "
                                    "batch, write reports."),
    "ufdf": ("ufdf_commands:ufdf",
        "Design a UF/DF step: concentrate to the DF concentration, diafilter (at constant volume,"
        " or in discontinuous cycles), concentrate to the target (gel-polarisation flux J = k "
        "ln(Cg/C))."),
    "tmp-excursion": ("ufdf_data_commands:tmp_excursion", "Limiting flux and knee of the TMP excursions "
                      "in FILE (CSV/XLSX): TMP and flux (or permeate flow and the membrane area); with "
                      "crossflow, concentration or run columns, one result per excursion."),
    "gel-fit": ("ufdf_data_commands:gel_fit", "k and Cg of the gel model J = k ln(Cg/C), with intervals, "
                "from the limiting flux against concentration in FILE — points, or TMP excursions at "
                "several concentrations (their limiting flux)."),
    "mass-transfer": ("ufdf_data_commands:mass_transfer", "a and b of k = a·Q^b from the limiting flux at "
                      "several crossflows in FILE — points, or TMP excursions at several crossflows "
                      "(their limiting flux)."),
    "integrity": ("integrity_commands:integrity", "Filter integrity tests judged against the "
                  "specification: PASS or FAIL with the numbers."),
    "design": ("design_commands:design", "Design the filtration train of TRAIN (YAML) for one batch: mass "
               "balance, sizing, time, buffers, consumables, cost and single-use plastic CO2e, with every "
               "total traceable to its line items."),
    "cake": ("cake_commands:cake",
        "Cake properties of TRIALS: alpha = 3.6e9·kc·ΔP/(μ·c) [m/kg] and Rm = 3.6e6·ΔP/(μ·J0) "
        "[1/m] with 95 % intervals, the medium's share of the pressure at the end of each trial, "
        "and over three or more pressures alpha = alpha_ref·(ΔP/ΔP_ref)^s and Rm = "
        "Rm_ref·(ΔP/ΔP_ref)^n."),
    "series": ("series_commands:series",
        "Two filters in series from one trial with P1 (upstream of the prefilter) and P2 (between"
        " them): each filter's r_i(V_i) fitted from its own pressure drop, both sized for a batch"
        " with their own safety factors and formats at the area ratio that costs least per batch."),
    "compare": ("compare_commands:compare",
        "Compare TRIALS (e.g. prefilter/filter combinations) for one batch and rank them by "
        "filter cost per batch: filters, pre-use flush and the product lost in hold-up and "
        "flushes."),
    "supply": ("supply_commands:supply",
        "Simulate the consumable supply of a campaign from PLAN (YAML): batches delayed and lost, "
        "service levels, stock, expiry, CO2e per item, the safety stock a target needs (formula and "
        "simulation), and local vs imported sources side by side."),
    "sweep": ("sweep_commands:sweep", "Size every scenario of a design-space sweep SPEC (YAML) and write "
              "the table and contour plots."),
    "serve": ("serve_commands:serve", "Run the web workbench (pages at /, HTTP API at /api, its OpenAPI "
              "schema at /api/openapi.json)."),
    "audit": ("audit_commands:audit",
        "The audit trail of the store: verify it, export checkpoints, rotate its key."),
    "db": ("audit_commands:db",
        "The store's schema."),
    "lab": ("lab_commands:lab", "The virtual filtration lab: simulated trials from a hidden truth, graded "
            "answers."),
    "user": ("user_commands:user", "Accounts of the workbench (people sign in with them; organisations "
             "invite them)."),
}


def _module_present(module: str) -> bool:
    return importlib.util.find_spec(f"{__name__}.{module}") is not None


class _Group(click.Group):
    """The ``fluxwise`` group: commands of :data:`COMMANDS` are imported when they are run."""

    def list_commands(self, ctx):
        lazy = [name for name, (target, _) in COMMANDS.items() if _module_present(target.split(":")[0])]
        return sorted(set(self.commands) | set(lazy))

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name][0].split(":")
            try:
                mod = importlib.import_module(f"{__name__}.{module}")
            except ModuleNotFoundError as exc:  # a command module not present in this build
                if exc.name != f"{__name__}.{module}":
                    raise
                return None
            self.commands.setdefault(cmd_name, getattr(mod, attr))
        return self.commands.get(cmd_name)

    def format_commands(self, ctx, formatter):
        # the one-line help of a command not yet imported comes from COMMANDS: listing every
        # command imports none of them
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name) or click.Command(name, help=COMMANDS[name][1])
            if not cmd.hidden:
                rows.append((name, cmd))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    def invoke(self, ctx):
        from .common import native_output_to_stderr

        # the redirection acts on a real process only (stdout is file descriptor 1), whose argv this is
        json_out = "--json" in sys.argv[1:]
        try:
            if json_out:  # nothing but the result on stdout
                with native_output_to_stderr():
                    return super().invoke(ctx)
            return super().invoke(ctx)
        except FluxwiseError as exc:
            click.echo(f"fluxwise: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="fluxwise")
def main():
    """fluxwise — filtration process development: fouling models, sizing, UF/DF, trains and supply."""
