"""Supply studies from the browser: a plan uploaded with its files, a plan made from a saved train
design, or the bundled example — run with :func:`fluxwise.pipeline.supply_study_uploaded` and kept
for a while for its page and report, or saved into a project (see :mod:`fluxwise.store.supply`).

A study not saved is kept in this process's memory only (the last :data:`MAX_KEPT`), visible only to
the user who ran it. Every path a plan names must be the bare name of a file uploaded with it, so a
plan cannot read files of the server.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from ..errors import InputError
from ..store.tenancy import NotFound
from .trains import examples_dir

MAX_KEPT = 16
EXAMPLE_PLAN = "supply_2000L_mab.yaml"
#: Replications a study run from the page gets unless the form says otherwise.
DEFAULT_REPLICATIONS = 1000


@dataclass(frozen=True)
class SupplyRun:
    """A study's JSON, who ran it and when."""

    id: str
    user_id: int
    data: dict
    filename: str
    created_at: datetime


_lock = threading.Lock()
_runs: OrderedDict[str, SupplyRun] = OrderedDict()


def keep(user_id: int, data: dict, filename: str) -> SupplyRun:
    run = SupplyRun(
        id=secrets.token_hex(16), user_id=user_id, data=data, filename=filename, created_at=datetime.now(UTC)
    )
    with _lock:
        _runs[run.id] = run
        while len(_runs) > MAX_KEPT:
            _runs.popitem(last=False)
    return run


def get(run_id: str, user_id: int) -> SupplyRun:
    with _lock:
        run = _runs.get(run_id)
    if run is None or run.user_id != user_id:
        raise NotFound("supply study not found (studies not saved are kept for a while only: run it again)")
    return run


def example_available() -> bool:
    folder = examples_dir()
    return folder is not None and (folder / EXAMPLE_PLAN).is_file()


def example_sources() -> tuple[str, bytes, dict[str, bytes]]:
    """The example plan as if uploaded: (file name, its bytes, the files it names, its train's included)."""
    folder = examples_dir()
    if folder is None or not (folder / EXAMPLE_PLAN).is_file():
        raise InputError("the example plan is not installed here (it comes with a source checkout)")
    content = (folder / EXAMPLE_PLAN).read_bytes()
    plan = yaml.safe_load(content) or {}
    files: dict[str, bytes] = {}
    train = plan.get("train")
    if isinstance(train, str):
        train_bytes = (folder / Path(train).name).read_bytes()
        files[Path(train).name] = train_bytes
        spec = yaml.safe_load(train_bytes) or {}
        names = [step.get("trial") for step in spec.get("steps") or []] + [
            spec.get("factors"),
            spec.get("catalog"),
        ]
        for n in names:
            if isinstance(n, str) and n:
                files[Path(n).name] = (folder / Path(n).name).read_bytes()
    return EXAMPLE_PLAN, content, files


def plan_from_train(
    train_name: str,
    train_bytes: bytes,
    train_files: dict[str, bytes],
    *,
    per_week: float,
    horizon_weeks: float,
    route: str | None,
    target: float,
) -> tuple[str, bytes, dict[str, bytes]]:
    """A starting plan for a saved train design: (plan file name, its bytes, the files it names)."""
    from ..pipeline import supply_starter_plan

    if not 1 <= horizon_weeks <= 520:
        raise InputError(f"the horizon must be 1 to 520 weeks, got {horizon_weeks:g}", field="horizon_weeks")
    text = supply_starter_plan(
        train_name, per_week=per_week, horizon_weeks=horizon_weeks, route=route, target=target
    )
    stem = Path(train_name).stem
    return f"supply_{stem}.yaml", text.encode(), {train_name: train_bytes, **train_files}
