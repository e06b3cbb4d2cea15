"""``fluxwise lab scenarios|run|act|status|grade|reveal``: the virtual filtration lab from the shell.

For scenario authors and scripted use. ``--attempt FILE`` keeps an attempt (its runs, GMP actions,
budget and grade) in a JSON file between commands; without it each command stands alone. Every file,
table and JSON is marked "TRAINING - SIMULATED". Bad scenarios, answers and options exit with code
2 and a message naming the key; a run the budget cannot pay for is refused (exit 2) with the reason.

The science is imported inside the commands, so that ``fluxwise --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from . import main
from .common import echo_json, table

_LABEL = "TRAINING - SIMULATED"


@main.group()
@click.option(
    "--scenarios",
    "scenario_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A folder of installed scenarios (YAML) besides the shipped ones; repeatable "
    "(also FLUXWISE_LAB_SCENARIOS).",
)
@click.pass_context
def lab(ctx, scenario_dirs):
    """The virtual filtration lab: simulated trials from a hidden truth, graded answers.

    Records are marked TRAINING - SIMULATED and kept apart from project audit trails."""
    ctx.ensure_object(dict)
    ctx.obj["scenario_dirs"] = tuple(scenario_dirs)


def _scenario(ref):
    from ..io.lab_scenario import load_scenario

    return load_scenario(ref, click.get_current_context().obj.get("scenario_dirs", ()))


def _open_attempt(sc, attempt_path, seed, mode, trainee):
    """The attempt in ``attempt_path`` (created when missing), or a one-command attempt."""
    from ..errors import InputError
    from ..io.lab_files import read_attempt
    from ..io.lab_scenario import scenario_formats
    from ..training import Attempt

    data = read_attempt(attempt_path) if attempt_path else None
    if data is not None:
        if seed is not None and int(data.get("seed", -1)) != seed:
            raise InputError(
                f"the attempt in {attempt_path} was drawn with another seed than --seed {seed}",
                field="--seed",
            )
        return Attempt.from_dict(data, sc, formats=None if not data.get("answer") else scenario_formats(sc))
    if seed is None:
        raise InputError("give --seed N (or an existing --attempt FILE)", field="--seed")
    return Attempt(sc, seed, mode=mode, trainee=trainee or "")


def _save(attempt, attempt_path):
    if attempt_path:
        from ..io.lab_files import write_attempt

        write_attempt(attempt, attempt_path)


def _budget_text(sc, left) -> str:
    return (
        f"feed {left.feed_mL:.4g} mL, bench time {left.bench_h:.3g} h, money {left.money:.4g} {sc.currency}"
    )


_attempt_opts = [
    click.option(
        "--attempt",
        "attempt_path",
        type=click.Path(dir_okay=False),
        help="Attempt file (JSON) that keeps runs, actions, budget and grade between commands.",
    ),
    click.option(
        "--mode",
        type=click.Choice(["practice", "assessment"]),
        default="practice",
        show_default=True,
        help="Mode of a new attempt.",
    ),
    click.option("--trainee", default=None, help="Who makes a new attempt (records are attributable)."),
]


def attempt_options(f):
    for o in reversed(_attempt_opts):
        f = o(f)
    return f


@lab.command("scenarios")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def scenarios_cmd(as_json):
    """List the shipped and installed scenarios, easy to hard."""
    from ..io.lab_scenario import list_scenarios
    from ..training import public_scenario

    found = list_scenarios(click.get_current_context().obj.get("scenario_dirs", ()))
    views = [public_scenario(s) for s in found]
    if as_json:
        echo_json(views)
        return
    rows = [
        [
            v["id"],
            v["level"],
            ", ".join(f["name"] for f in v["filters"]),
            ", ".join(v["modes"]),
            f"{v['budget']['feed']}, {v['budget']['bench_time']}, {v['budget']['money']}",
        ]
        for v in views
    ]
    click.echo(table(rows, ["id", "level", "filters", "rig modes", "budget"], ["<", "<", "<", "<", "<"]))
    for v in views:
        click.echo(f"\n{v['id']} — {v['title']}\n  task: {' '.join(v['task']['text'].split())}")


@lab.command("run")
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(min=0), help="The truth's seed (a whole number).")
@click.option("--filter", "filter_name", required=True, help="Filter to test (a name from the scenario).")
@click.option("--area", required=True, help='Test disc area, e.g. "3.5 cm2".')
@click.option("--pressure", help='Constant-pressure run at this pressure, e.g. "30 psi".')
@click.option("--flux", help='Constant-flux run at this flux, e.g. "150 LMH".')
@click.option("--duration", required=True, help='Longest run time, e.g. "45 min".')
@click.option("--stop-flux-decay", help="Stop when the flux has fallen by this fraction (e.g. 0.9 or 90%).")
@click.option("--stop-pressure", help='Stop when the pressure reaches this, e.g. "25 psi".')
@click.option("--stop-volume", help='Stop after this filtrate volume, e.g. "200 mL".')
@click.option("--feed", help='Feed charged to the vessel, e.g. "250 mL" (default: all that is left).')
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Rig file to write (.csv or .xlsx), as fluxwise fit reads it.",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False), help="Also write the quick plots (self-contained .html)."
)
@attempt_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def run_cmd(
    scenario,
    seed,
    filter_name,
    area,
    pressure,
    flux,
    duration,
    stop_flux_decay,
    stop_pressure,
    stop_volume,
    feed,
    output,
    plot,
    attempt_path,
    mode,
    trainee,
    as_json,
):
    """Run one experiment on the simulated rig and write its rig file; print the budget left."""
    from ..errors import InputError
    from ..io.lab_files import parse_run_request, write_rig_file

    sc = _scenario(scenario)
    out = Path(output)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(
            f"the rig file is written as .csv or .xlsx, not '{out.suffix or '(none)'}'", field="--output"
        )
    attempt = _open_attempt(sc, attempt_path, seed, mode, trainee)
    req = parse_run_request(
        sc,
        filter=filter_name,
        area=area,
        duration=duration,
        pressure=pressure,
        flux=flux,
        stop_flux_decay=stop_flux_decay,
        stop_pressure=stop_pressure,
        stop_volume=stop_volume,
        feed=feed,
    )
    run = attempt.run(req)
    write_rig_file(sc, run, out)
    if plot:
        from ..report.lab import run_plot_html

        Path(plot).write_text(run_plot_html(sc, run), encoding="utf-8")
    _save(attempt, attempt_path)
    left = attempt.budget_left
    if as_json:
        echo_json(
            {
                "record": _LABEL,
                "scenario": sc.id,
                "file": str(out),
                "plot": plot,
                "run": run.summary(),
                "budget_left": left.to_dict(),
                "used": attempt.used.to_dict(),
            }
        )
        return
    r = run.summary()
    sp = (
        f"{req.pressure_bar / sc.rig.pressure_unit_bar:.4g} {sc.rig.pressure_unit}"
        if req.pressure_bar
        else f"{req.flux_LMH:.4g} LMH"
    )
    click.echo(_LABEL)
    click.echo(
        f"Run {r['run']}: {r['filter']}, {req.area_m2 * 1e4:.4g} cm2, {req.mode} at {sp}, "
        f"{r['duration_h'] * 60:.4g} min ({r['stopped']}), {r['points']} readings, "
        f"{r['filtrate_mL']:.4g} mL filtrate"
    )
    click.echo(f"Wrote {out}" + (f" and {plot}" if plot else ""))
    click.echo(f"Budget left: {_budget_text(sc, left)}")


def _fields(items) -> dict:
    from ..errors import InputError

    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"'{item}' is not KEY=VALUE (e.g. volume='20 L')", field="FIELDS")
        k, v = item.split("=", 1)
        v = v.strip()
        out[k.strip()] = {"true": True, "false": False}.get(v.lower(), v)
    return out


@lab.command("act")
@click.argument("scenario")
@click.argument("action")
@click.argument("fields", nargs=-1)
@click.option("--by", required=True, help="Who does it (records are attributable).")
@click.option("--at", help="When, ISO 8601 (default: now).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of a new attempt.")
@attempt_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def act_cmd(scenario, action, fields, by, at, seed, attempt_path, mode, trainee, as_json):
    """Record one GMP action (append-only) and print what the equipment shows.

    ACTION is one of verify, install, flush, sterilise, integrity_test, record_result, check_setup, rewet,
    reject, replace, deviation, filter, flush_out, quarantine_batch, correct, sign; FIELDS are KEY=VALUE,
    e.g. volume="20 L", stage=pre, test=5 limit="3.3 bar" verdict=pass."""
    from ..errors import InputError
    from ..io.lab_files import parse_action

    if not attempt_path:
        raise InputError("GMP actions build a record: give --attempt FILE", field="--attempt")
    sc = _scenario(scenario)
    attempt = _open_attempt(sc, attempt_path, seed, mode, trainee)
    result = attempt.act(action, by=by, at=at, **parse_action(sc, action, _fields(fields)))
    _save(attempt, attempt_path)
    if as_json:
        echo_json({"record": _LABEL, **result})
        return
    click.echo(f"{_LABEL}: action {result['seq']} ({action}) recorded")
    for k, v in result.items():
        if k not in ("seq", "feedback"):
            click.echo(f"  {k}: {v}")
    for line in result.get("feedback", []):
        click.echo(f"  SOP: {line}")


@lab.command("status")
@click.argument("scenario")
@click.option(
    "--attempt",
    "attempt_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Attempt file (JSON).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_cmd(scenario, attempt_path, as_json):
    """What the trainee may see of an attempt now: runs, budget, device label, actions, grade."""
    sc = _scenario(scenario)
    attempt = _open_attempt(sc, attempt_path, None, "practice", None)
    view = attempt.view(role="trainee")
    if as_json:
        echo_json(view)
        return
    click.echo(f"{_LABEL}: {sc.id}, attempt {view['number']} ({view['mode']['mode']})")
    for r in view["runs"]:
        click.echo(f"  run {r['run']}: {r['filter']}, {r['duration_h'] * 60:.4g} min, {r['stopped']}")
    click.echo(f"  budget left: {_budget_text(sc, attempt.budget_left)}")
    lab_ = view["device_label"]
    click.echo(
        f"  device in hand: {lab_['device']}, part {lab_['part_number']}, lot {lab_['lot']}, "
        f"expiry {lab_['expiry']} (process date {lab_['process_date']})"
    )
    click.echo(f"  GMP actions recorded: {len(view['actions'])}")
    if "grade" in view:
        click.echo(f"  score {view['grade']['score']:.1f}/100")


@lab.command("grade")
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(min=0), help="The truth's seed.")
@click.option(
    "--answer",
    "answer_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Answer file (YAML or JSON): mechanism, min_area, format, count, safety_factor, ...",
)
@attempt_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def grade_cmd(scenario, seed, answer_path, attempt_path, mode, trainee, as_json):
    """Grade an answer against the truth: score 0-100, parts, feedback in the trainee's own numbers.

    The GMP part is graded from the attempt's recorded actions (--attempt), never from the answer."""
    from ..io.lab_files import read_answer
    from ..io.lab_scenario import scenario_formats

    sc = _scenario(scenario)
    answer = read_answer(answer_path, sc)
    attempt = _open_attempt(sc, attempt_path, seed, mode, trainee)
    grade = attempt.submit(answer, formats=scenario_formats(sc))
    _save(attempt, attempt_path)
    d = grade.to_dict()
    if as_json:
        echo_json(d)
        return
    click.echo(_LABEL)
    verdict = "PASSED" if d["passed"] else "NOT PASSED"
    click.echo(f"{sc.id}: score {d['score']:.1f}/100 ({verdict}; pass mark {d['pass_mark']:g})")
    for msg in d["critical_errors"]:
        click.echo(f"  CRITICAL: {msg}")
    for p in d["parts"]:
        click.echo(f"  {p['name']:<14}{p['score']:6.1f} /{p['max']:5.1f}  [{p['objective']}]")
        click.echo(f"      {p['feedback']}")


@lab.command("reveal")
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(min=0), required=True, help="The truth's seed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def reveal_cmd(scenario, seed, as_json):
    """Print the truth of a seed (for scenario authors and instructors; never for trainees)."""
    from ..models.fouling import PARAM_UNITS
    from ..training import reveal

    sc = _scenario(scenario)
    r = reveal(sc, seed)
    if as_json:
        echo_json(r)
        return
    click.echo(f"{_LABEL} — truth of {sc.id} (version {sc.version_hash}), seed {seed}")
    for name, f in r["filters"].items():
        click.echo(f"  {name}: {f['mechanism']}")
        for k, v in f["params"].items():
            click.echo(f"      {k:<16}{v:.6g} {PARAM_UNITS.get(k, '')}")
        if "min_area_m2" in f:
            click.echo(f"      true minimum area {f['min_area_m2']:.4g} m²")
