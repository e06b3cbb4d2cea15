"""Compute: one executor interface, in-process by default, a process pool or a Dask cluster.

Usage::

    from fluxwise.compute import get_executor
    with get_executor("processes:2") as ex:      # or None, "dask-local:4", "tcp://host:8786"
        results = ex.map_chunks(fn, chunks, progress=True)
"""

from __future__ import annotations

from .executors import (
    SCHEDULER_ENV,
    DaskExecutor,
    Executor,
    InProcessExecutor,
    ProcessPoolExecutor,
    get_executor,
)

__all__ = ["Executor", "InProcessExecutor", "ProcessPoolExecutor", "DaskExecutor", "get_executor",
           "SCHEDULER_ENV"]
