"""Train design from the browser: a train YAML and its trial files (or the bundled example), designed
with :func:`fluxwise.design.train.design_train` and kept for a while for its page and report.

Uploaded files land in a fresh temporary folder. Every path a train file may name (``trial`` of a
step, ``factors`` and ``catalog`` at the top) must be the bare name of a file uploaded with it, so a
train cannot read files of the server. Designs are not part of the store: the last
:data:`MAX_KEPT` stay in this process's memory, each visible only to the user who made it.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from ..errors import InputError
from ..store.tenancy import NotFound

MAX_KEPT = 16
MAX_TRAIN_BYTES = 1024 * 1024
TRAIN_EXTENSIONS = (".yaml", ".yml")
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


def _bare_name(value, where: str, field: str, uploaded: set[str]) -> None:
    name = str(value)
    if name not in uploaded:
        hint = ("upload it with the train" if "/" not in name and "\\" not in name and name not in ("..", ".")
                else "give the bare name of a file uploaded with the train")
        raise InputError(f"{where}: '{name}' is not among the uploaded files ({hint})", field=field)


def check_references(data, uploaded: set[str], source: str) -> None:
    """Refuse a train whose ``trial``, ``factors`` or ``catalog`` is not one of the uploaded files."""
    if not isinstance(data, Mapping):
        return  # parse_train says what is wrong
    for key in ("factors", "catalog"):
        if data.get(key) is not None:
            _bare_name(data[key], f"{source}: train", key, uploaded)
    steps = data.get("steps")
    if isinstance(steps, list):
        for n, step in enumerate(steps, start=1):
            if isinstance(step, Mapping) and step.get("trial") is not None:
                _bare_name(step["trial"], f"{source}: step {n} '{step.get('name') or f'step {n}'}'", "trial",
                           uploaded)


def design_uploaded(train_name: str, train_bytes: bytes, files: dict[str, bytes], route: str | None = None):
    """Design a train uploaded as YAML bytes with its files (name -> bytes); returns the design."""
    from ..design.train import design_train
    from ..io.train import parse_train

    if not train_name.lower().endswith(TRAIN_EXTENSIONS):
        raise InputError("a train file is YAML (.yaml or .yml)", source=train_name)
    if len(train_bytes) > MAX_TRAIN_BYTES:
        raise InputError(f"the train file is larger than {MAX_TRAIN_BYTES // 1024} kB", source=train_name)
    try:
        data = yaml.safe_load(train_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("the train file is not UTF-8 text", source=train_name) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc})", source=train_name) from None
    check_references(data, set(files), train_name)
    with tempfile.TemporaryDirectory(prefix="fluxwise-train-") as tmp:
        base = Path(tmp)
        for name, content in files.items():
            (base / name).write_bytes(content)
        try:
            train = parse_train(data, source=train_name, base_dir=base, route=route)
        except InputError as exc:
            # the folder is the server's business, not the user's
            raise type(exc)(exc.message.replace(f"{base}/", ""), source=exc.source and
                            exc.source.replace(f"{base}/", ""), row=exc.row, column=exc.column,
                            field=exc.field) from None
        return design_train(train)
