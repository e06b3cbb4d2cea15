"""Supply studies: a plan (a file, or uploaded with the files it names) ->
:func:`fluxwise.supply.run.run_supply`.

The supply engine, the executors and the plan reader are imported when a study runs, not with this module.
"""

from __future__ import annotations

from ..errors import InputError

__all__ = ["supply_study", "run_supply_plan", "supply_study_uploaded", "supply_starter_plan",
           "MAX_SERVED_REPLICATIONS", "MAX_SERVED_PERIODS"]


def supply_study(plan_path, *, replications=None, seed=None, scheduler=None, compare: bool = True,
                 progress=None, train_design=None):
    """The supply study of a plan file (``fluxwise supply``): read the plan (and design its train), then
    :func:`fluxwise.supply.run.run_supply` on the executor ``scheduler`` names. Returns the
    :class:`~fluxwise.supply.run.SupplyResult`; its ``to_dict()`` is the JSON of
    ``fluxwise supply --json``."""
    from ..io.supply import read_plan

    plan = read_plan(plan_path, replications=replications, seed=seed, train_design=train_design)
    return run_supply_plan(plan, scheduler=scheduler, compare=compare, progress=progress)


def run_supply_plan(plan, *, scheduler=None, compare: bool = True, progress=None):
    """:func:`fluxwise.supply.run.run_supply` on the executor ``scheduler`` names (None: in-process)."""
    from ..compute import get_executor
    from ..supply.run import run_supply

    if scheduler is None or str(scheduler).strip() in ("inprocess", "in-process", "sync", "local", ""):
        import os

        from ..compute.executors import SCHEDULER_ENV
        if scheduler is None and os.environ.get(SCHEDULER_ENV):
            scheduler = os.environ[SCHEDULER_ENV]
        else:
            return run_supply(plan, executor=None, compare=compare, progress=progress)
    with get_executor(scheduler) as ex:
        return run_supply(plan, executor=ex, compare=compare, progress=progress)


#: Most replications and periods one request of the HTTP API or the web page may simulate
#: (``fluxwise supply`` on a pool or a Dask cluster for more).
MAX_SERVED_REPLICATIONS = 20_000
MAX_SERVED_PERIODS = 520


def supply_study_uploaded(plan_name: str, plan_bytes: bytes, files: dict[str, bytes], *, replications=None,
                          seed=None, compare: bool = True, train_design=None, progress=None):
    """The supply study of a plan uploaded with the files it names (bare name -> bytes), read with
    :func:`fluxwise.io.supply.parse_uploaded_plan` (no file of the server can be read), bounded to
    :data:`MAX_SERVED_REPLICATIONS` replications and :data:`MAX_SERVED_PERIODS` periods."""
    from ..io.supply import parse_uploaded_plan
    from ..supply.run import run_supply

    plan = parse_uploaded_plan(plan_name, plan_bytes, files, replications=replications, seed=seed,
                               train_design=train_design)
    if plan.replications > MAX_SERVED_REPLICATIONS:
        raise InputError(f"{plan.replications:,} replications; a request may run at most "
                         f"{MAX_SERVED_REPLICATIONS:,} (fewer replications, or fluxwise supply)",
                         source=plan_name, field="replications")
    if plan.horizon > MAX_SERVED_PERIODS:
        raise InputError(f"{plan.horizon:,} periods; a request may simulate at most {MAX_SERVED_PERIODS:,}",
                         source=plan_name, field="horizon")
    return run_supply(plan, compare=compare, progress=progress)


def supply_starter_plan(train_name: str, *, per_week: float = 1.0, horizon_weeks: float = 104,
                        route: str | None = None, target: float = 0.95, name: str | None = None) -> str:
    """A plan file (YAML text) for the train ``train_name``: ``per_week`` batches a week over the horizon,
    every item bought over ``route`` (default: the factors file's default route) with its default lead
    time, compared with the other routes — a starting point to edit (docs/supply.md)."""
    import yaml

    from ..io.train import read_factors

    factors = read_factors(None)
    route = route or factors.default_route
    if route not in factors.routes:
        raise InputError(f"unknown route '{route}' (routes: {', '.join(factors.routes)})", field="route")
    if not 0 < target < 1:
        raise InputError(f"the target service must be between 0 and 1, got {target:g}",
                         field="target_service")
    if not per_week > 0:
        raise InputError(f"batches per week must be positive, got {per_week:g}", field="per_week")
    plan = {
        "name": name or f"supply of {train_name}",
        "train": train_name,
        "horizon": f"{horizon_weeks:g} weeks",
        "replications": 2000,
        "seed": 1,
        "target_service": target,
        "batches": {"per_week": per_week, "max_batch_delay": "2 weeks"},
        "sources": {"current": {"route": route, "qc_release": "1 week"}},
        "default_source": "current",
        "compare": {"sources": list(factors.routes)},
    }
    head = ("# A starting supply plan for the train, made by fluxwise: every item bought over the route\n"
            f"# '{route}' with its default lead time (a planning assumption of the factors file). Edit it:\n"
            "# lead times, disruptions, shelf lives, policies (docs/supply.md).\n")
    return head + yaml.safe_dump(plan, sort_keys=False, allow_unicode=True)
