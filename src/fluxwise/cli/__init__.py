"""The command line: ``fluxwise fit|size|report|demo|...``; every command has ``--json``.

Errors a user can fix (bad file, unit, option) print one line naming the file, row, column or field
and exit with code 2; nothing here prints a traceback for them.
"""

from __future__ import annotations

import sys

import click

from ..errors import FluxwiseError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FluxwiseError as exc:
            click.echo(f"fluxwise: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="fluxwise")
def main():
    """fluxwise — filtration process development: fouling models, sizing, UF/DF and trains."""


from . import trial_commands  # noqa: E402,F401  (registers fit, size, report, demo)

for _optional in ("ufdf_commands", "ufdf_data_commands", "integrity_commands", "design_commands",
                  "cake_commands", "series_commands", "compare_commands",
                  "sweep_commands", "serve_commands", "audit_commands", "lab_commands"):
    try:
        __import__(f"{__name__}.{_optional}")
    except ModuleNotFoundError as _exc:  # a command module not present in this build
        if _exc.name != f"{__name__}.{_optional}":
            raise
