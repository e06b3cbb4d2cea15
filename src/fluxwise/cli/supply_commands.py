"""``fluxwise supply PLAN.yaml``: will the consumables be there for every batch of the campaign?"""

from __future__ import annotations

import click

from . import main


@main.command()
@click.argument("plan", type=click.Path(dir_okay=False))
@click.option("--replications", type=int, help="Monte Carlo replications (default: the plan's, else 10,000).")
@click.option("--seed", type=int, help="Seed of the random numbers (default: the plan's, else 0).")
@click.option(
    "--scheduler",
    default=None,
    help="Where to run: inprocess (default), processes[:N], dask-local[:N] or tcp://HOST:PORT "
    "(a dask.distributed scheduler; default from FLUXWISE_DASK_SCHEDULER).",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Also write a self-contained HTML report."
)
@click.option("--no-compare", is_flag=True, help="Skip the comparison of sources.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (keys: docs/supply.md).")
def supply(plan, replications, seed, scheduler, output, no_compare, as_json):
    """Simulate the consumable supply of a campaign from PLAN (YAML): batches delayed and lost, service
    levels, stock, expiry, CO2e per item, the safety stock a target needs (formula and simulation), and
    local vs imported sources side by side."""
    from pathlib import Path

    from ..errors import InputError
    from ..io.supply import read_plan
    from ..pipeline import run_supply_plan

    if replications is not None and replications < 1:
        raise InputError(f"must be at least 1, got {replications}", field="--replications")
    if seed is not None and seed < 0:
        raise InputError(f"must be zero or positive, got {seed}", field="--seed")
    study = read_plan(plan, replications=replications, seed=seed)  # a bad plan fails before any progress bar
    bar = None
    if not as_json:
        from tqdm.auto import tqdm

        bar = tqdm(total=1, desc="supply", unit="stage", dynamic_ncols=True, leave=False)

    def progress(stage, done, total):
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.set_description(stage)
            bar.refresh()

    try:
        result = run_supply_plan(study, scheduler=scheduler, compare=not no_compare, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    out = None
    if output:
        from ..report.supply import render_supply_report

        out = Path(output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_supply_report(result), encoding="utf-8")
    if as_json:
        from .common import echo_json

        d = result.to_dict()
        if out is not None:
            d["report"] = str(out)
        echo_json(d)
        return
    _print(result.to_dict())
    if out is not None:
        click.echo(f"\nReport written to {out.resolve()}")


def _pm(x, se, digits=4) -> str:
    from .common import g

    if se is None or se != se:
        return g(x, digits)
    return f"{g(x, digits)} ± {g(se, 2)}"


def _print(d: dict) -> None:
    from .common import g, table

    p, c = d["plan"], d["campaign"]
    cur = p["currency"]
    click.echo(
        f"Supply plan {p['source']}: {p['horizon_periods']} periods of {p['period']}, "
        f"{p['replications']:,} replications (seed {p['seed']}); ± one standard error"
    )
    if c.get("batches_planned"):
        rows = [
            ["batches planned", g(c["batches_planned"]), "per campaign"],
            [
                "batches delayed",
                _pm(c["batches_delayed_mean"], c.get("batches_delayed_mean_se")),
                "per campaign",
            ],
            ["batches lost", _pm(c["batches_lost_mean"], c.get("batches_lost_mean_se")), "per campaign"],
            ["  value of the batches lost", f"{c.get('batches_lost_value', 0):,.0f}", cur],
            ["batches on time", _pm(100 * c["batch_service"], 100 * c["batch_service_se"]), "%"],
            [
                "P(at least one batch delayed or lost)",
                _pm(100 * c["p_any_batch_delayed"], 100 * c["p_any_batch_delayed_se"]),
                "%",
            ],
        ]
        click.echo("\nCampaign (a batch needs every item: joint figures)")
        click.echo(table(rows, ["quantity", "value", "unit"], ["<", ">", "<"]))
    click.echo("\nItems")
    rows = []
    for it in d["items"]:
        pol = it["policy"]
        pnum = {
            "base-stock": lambda q: f"S={g(q['base_stock'])}",
            "s-S": lambda q: f"s={g(q['s'])}, S={g(q['S'])}",
            "r-Q": lambda q: f"r={g(q['r'])}, Q={g(q['Q'])}",
            "cover": lambda q: (
                f"{g(q['cover_periods'])} periods"
                if q.get("cover_periods") is not None
                else f"SS={g(q['safety_stock'])}"
            ),
        }[pol["type"]](pol)
        rows.append(
            [
                it["name"],
                it["source"],
                f"{pol['type']} {pnum}",
                _pm(100 * it["cycle_service_level"], 100 * it["cycle_service_level_se"], 4),
                _pm(100 * it["fill_rate"], 100 * it["fill_rate_se"], 4),
                g(100 * it["p_stockout"], 3),
                g(it["inventory_mean"]),
                g(it.get("inventory_p95")),
                g(it["expired_units_mean"]),
                f"{it['holding_cost']:,.0f}",
                g(it["co2e_kg"]),
            ]
        )
    click.echo(
        table(
            rows,
            [
                "item",
                "source",
                "policy",
                "cycle service [%]",
                "fill rate [%]",
                "P(stock-out) [%]",
                "stock mean [units]",
                "stock p95 [units]",
                "expired [units]",
                f"holding [{cur}]",
                "CO2e [kg]",
            ],
            ["<", "<", "<", ">", ">", ">", ">", ">", ">", ">", ">"],
        )
    )
    if d["recommendations"]:
        click.echo(
            "\nRecommendations (normal approximation, then the smallest whole number the simulation "
            "accepts, same random numbers)"
        )
        click.echo(
            table(
                [
                    [
                        r["item"],
                        r["source"],
                        r["policy_type"],
                        g(r["target_service"]),
                        g(r["base_stock_formula"]),
                        g(r["base_stock"]),
                        _pm(r["achieved_service"], r["achieved_service_se"]),
                    ]
                    for r in d["recommendations"]
                ],
                ["item", "source", "policy", "target", "formula [units]", "simulated [units]", "achieved"],
                ["<", "<", "<", ">", ">", ">", ">"],
            )
        )
    if d["options"]:
        click.echo(
            f"\nSources compared (every item from one source, each sized for "
            f"{g(d['options'][0]['target_service'])} service)"
        )
        click.echo(
            table(
                [
                    [
                        o["source"],
                        o["label"],
                        g(o["safety_stock_units"]),
                        f"{o['working_capital']:,.0f}",
                        _pm(o["batches_lost_per_year"], None, 3),
                        f"{o['batches_lost_value_per_year']:,.0f}",
                        g(o["expired_units"]),
                        g(o["co2e_kg_per_batch"]),
                    ]
                    for o in d["options"]
                ],
                [
                    "source",
                    "",
                    "safety stock [units]",
                    f"working capital [{cur}]",
                    "batches lost [1/year]",
                    f"their value [{cur}/year]",
                    "expired [units]",
                    "CO2e [kg/batch]",
                ],
                ["<", "<", ">", ">", ">", ">", ">", ">"],
            )
        )
    for w in d["warnings"]:
        click.echo(f"warning: {w}")
