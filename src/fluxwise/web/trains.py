"""Train design from the browser: a train YAML and its trial files (or the bundled example), designed
with :func:`fluxwise.design.train.design_train` and kept for a while for its page and report.

Uploaded files land in a fresh temporary folder. Every path a train file may name (``trial`` of a
step, ``factors`` and ``catalog`` at the top) must be the bare name of a file uploaded with it, so a
train cannot read files of the server. A design saved into a project is part of the store (see
:mod:`fluxwise.store.trains`): its files are kept byte for byte and its JSON as a result of kind
``train``, in the audit trail, and it survives a restart. A design not saved is kept for a while only:
the last :data:`MAX_KEPT` stay in this process's memory, each visible only to the user who made it.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import InputError
from ..io.train import MAX_TRAIN_BYTES, TRAIN_EXTENSIONS  # noqa: F401  (the form's limits)
from ..store.tenancy import NotFound

MAX_KEPT = 16
EXAMPLE_TRAIN = "train_2000L_mab.yaml"


def examples_dir() -> Path | None:
    """The ``examples/`` folder of a source checkout (the package does not ship it), or None."""
    here = Path(__file__).resolve()
    for parent in here.parents[1:5]:
        candidate = parent / "examples"
        if (candidate / EXAMPLE_TRAIN).is_file():
            return candidate
    return None


@dataclass(frozen=True)
class TrainRun:
    """A designed train, who made it and when."""

    id: str
    user_id: int
    design: object  # fluxwise.design.train.TrainDesign
    filename: str
    created_at: datetime


_lock = threading.Lock()
_runs: OrderedDict[str, TrainRun] = OrderedDict()


def keep(user_id: int, design, filename: str) -> TrainRun:
    run = TrainRun(id=secrets.token_hex(16), user_id=user_id, design=design, filename=filename,
                   created_at=datetime.now(UTC))
    with _lock:
        _runs[run.id] = run
        while len(_runs) > MAX_KEPT:
            _runs.popitem(last=False)
    return run


def get(run_id: str, user_id: int) -> TrainRun:
    with _lock:
        run = _runs.get(run_id)
    if run is None or run.user_id != user_id:
        raise NotFound("train design not found (designs are kept for a while only: run it again)")
    return run


def design_example(route: str | None = None):
    """Design the example train of the source checkout; returns (design, file name)."""
    from ..design.train import design_train
    from ..io.train import read_train

    folder = examples_dir()
    if folder is None:
        raise InputError("the example train is not installed here (it comes with a source checkout)")
    return design_train(read_train(folder / EXAMPLE_TRAIN, route=route)), EXAMPLE_TRAIN


def example_sources() -> tuple[str, bytes, dict[str, bytes]]:
    """The example train as if uploaded: (file name, its bytes, the files it names by bare name)."""
    import yaml

    folder = examples_dir()
    if folder is None:
        raise InputError("the example train is not installed here (it comes with a source checkout)")
    content = (folder / EXAMPLE_TRAIN).read_bytes()
    spec = yaml.safe_load(content) or {}
    names = [step.get("trial") for step in spec.get("steps") or []]
    names += [spec.get("factors"), spec.get("catalog")]
    files = {Path(n).name: (folder / Path(n).name).read_bytes() for n in names if isinstance(n, str) and n}
    return EXAMPLE_TRAIN, content, files


def design_uploaded(train_name: str, train_bytes: bytes, files: dict[str, bytes], route: str | None = None):
    """Design a train uploaded as YAML bytes with its files (name -> bytes); returns the design
    (read with :func:`fluxwise.io.train.parse_uploaded_train`, as the HTTP API does)."""
    from ..design.train import design_train
    from ..io.train import parse_uploaded_train

    return design_train(parse_uploaded_train(train_name, train_bytes, files, route=route))
