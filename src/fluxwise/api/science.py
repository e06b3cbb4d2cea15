"""The HTTP door's only way into the science: :mod:`fluxwise.pipeline`, plus what it needs around it."""

from __future__ import annotations

from typing import Any

from ..trial import CONSTANT_PRESSURE, Trial

#: What :func:`fluxwise.pipeline.size_result` assumes at constant pressure when no process time is
#: given; written into the stored inputs so that the result and its report say what was used.
DEFAULT_PROCESS_TIME = "4 h"

#: Sizing inputs the API passes on to :func:`fluxwise.pipeline.size_result` (``catalog`` is a file
#: path there, so it is not offered over HTTP: the installation's catalog is used).
SIZING_KEYS = ("batch_volume", "process_time", "safety_factor", "model", "max_pressure", "flux",
               "flux_decay_limit", "format_name")


def sizing_kwargs(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: inputs[k] for k in SIZING_KEYS if inputs.get(k) is not None}


def complete_inputs(trial: Trial, inputs: dict[str, Any]) -> dict[str, Any]:
    """``inputs`` with the defaults the pipeline would apply made explicit (stored with the result)."""
    out = dict(inputs)
    if trial.mode == CONSTANT_PRESSURE and out.get("process_time") is None:
        out["process_time"] = DEFAULT_PROCESS_TIME
    return out


def fit(trial: Trial) -> dict:
    from .. import pipeline

    return pipeline.fit_result(trial)


def size(trial: Trial, inputs: dict[str, Any]) -> dict:
    from .. import pipeline

    return pipeline.size_result(trial, **sizing_kwargs(inputs))


def report(trial: Trial, inputs: dict[str, Any] | None) -> str:
    from .. import pipeline

    return pipeline.report_html(trial, **sizing_kwargs(inputs or {}))
