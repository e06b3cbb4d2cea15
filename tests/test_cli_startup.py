"""Start-up of the command line: commands load lazily and import only what they use.

``fluxwise --help`` lists every command without importing a command module, and neither it nor
``import fluxwise.cli`` nor ``fluxwise fit`` imports the web server, the database layer, numba or
Dask, nor the slow parts of lighter packages: ``scipy.special`` (a third of a second; the fit's
distributions are :mod:`fluxwise.fit.distributions`) and Babel's dates, catalogues and support
(loaded by :mod:`fluxwise.i18n` only for a language other than English). Each case runs in a fresh
interpreter (this test process has imported them already). Times are measured in
benchmarks/bench_startup.py, not here.
"""

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

import fluxwise.cli as cli

EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "mab_sterile_filtration.csv")
HEAVY = {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "numba", "llvmlite", "dask",
         "distributed", "plotly", "jax"}
#: Modules of packages the command line does import (scipy and babel come with pint) that it must not.
SLOW = {"scipy.special", "babel.dates", "babel.messages", "babel.support"}

_CHILD = """
import atexit, json, sys
heavy = set({heavy!r})
slow = {slow!r}
def report():
    mods = sorted({{m.split('.')[0] for m in sys.modules}} & heavy)
    cmds = sorted(m for m in sys.modules if m.startswith('fluxwise.cli.') and m != 'fluxwise.cli.common')
    late = sorted(m for m in slow if m in sys.modules)
    print('\\nIMPORTED ' + json.dumps({{'heavy': mods, 'command_modules': cmds, 'slow': late}}))
atexit.register(report)
{body}
"""


def _child(body: str) -> tuple[dict, str]:
    code = _CHILD.format(heavy=sorted(HEAVY), slow=sorted(SLOW), body=body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("IMPORTED ")]
    assert lines, out.stdout + out.stderr
    return json.loads(lines[-1][len("IMPORTED "):]), out.stdout


def _cli(*args) -> str:
    return (f"sys.argv = ['fluxwise', *{list(args)!r}]\n"
            "from fluxwise.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n")


def test_import_cli_imports_no_heavy_package():
    seen, _ = _child("import fluxwise.cli")
    assert seen == {"heavy": [], "command_modules": [], "slow": []}


def test_help_lists_every_command_without_importing_them():
    seen, out = _child(_cli("--help"))
    assert seen == {"heavy": [], "command_modules": [], "slow": []}
    for name in cli.COMMANDS:
        assert f"\n  {name} " in out, name


def test_fit_imports_only_what_it_uses():
    seen, out = _child(_cli("fit", EXAMPLE))
    assert seen["heavy"] == []
    assert seen["command_modules"] == ["fluxwise.cli.trial_commands"]
    assert seen["slow"] == []  # no scipy.special, no Babel dates or catalogues
    assert "Best:" in out


def test_risk_based_sizing_of_one_trial_does_not_load_numba():
    # a bootstrap of one trial is a small batch: the numpy path, without importing numba
    seen, out = _child(_cli("size", EXAMPLE, "--process-time", "1 h", "--confidence", "0.95"))
    assert seen["heavy"] == []
    assert "95 % probability" in out


def _command_modules():
    return [m.name for m in pkgutil.iter_modules(cli.__path__) if m.name.endswith("_commands")]


def test_every_command_module_is_registered():
    registered = {target.split(":")[0] for target, _ in cli.COMMANDS.values()}
    missing = set(_command_modules()) - registered
    assert not missing, (f"command module(s) {sorted(missing)} not in fluxwise.cli.COMMANDS: add one line "
                         "per command, name -> ('module:function', 'one-line help')")


def test_every_command_is_registered_with_its_own_help():
    for module in _command_modules():
        importlib.import_module(f"fluxwise.cli.{module}")
    ctx = click.Context(cli.main)
    # every command the modules define is registered, under its own name
    assert set(cli.main.commands) == set(cli.COMMANDS)
    for name, (target, help_line) in cli.COMMANDS.items():
        module, attr = target.split(":")
        cmd = getattr(importlib.import_module(f"fluxwise.cli.{module}"), attr)
        assert cmd is cli.main.get_command(ctx, name)
        placeholder = click.Command(name, help=help_line)
        for limit in (45, 80, 1000):
            assert placeholder.get_short_help_str(limit) == cmd.get_short_help_str(limit), (name, limit)


def test_lazy_command_runs_and_unknown_command_is_a_usage_error():
    from click.testing import CliRunner

    r = CliRunner().invoke(cli.main, ["ufdf", "--help"])
    assert r.exit_code == 0 and "--volume" in r.output
    r = CliRunner().invoke(cli.main, ["no-such-command"])
    assert r.exit_code == 2 and "No such command" in r.output


@pytest.mark.parametrize("target", ["fit", "serve"])
def test_registry_names_an_existing_command(target):
    module, attr = cli.COMMANDS[target][0].split(":")
    assert isinstance(getattr(importlib.import_module(f"fluxwise.cli.{module}"), attr), click.Command)
