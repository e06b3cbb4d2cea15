"""Executors: run a function over chunks of work in-process, on a process pool or on a Dask cluster.

One small protocol, ``map_chunks(fn, chunks, *, progress=False, total=None, desc=None,
consume=None) -> list``: ``fn`` is applied to every chunk and the results come back in the order
of the chunks, whichever executor runs them, so the same code runs on a laptop and on a cluster.
With ``consume(index, result)`` each result is handed over as soon as it is next in order and
is not kept (the call returns None), so that a caller can write results into its own arrays.

Work is sent in chunks (thousands of fits or scenarios per task), never one task per item: a task
costs milliseconds of scheduling and serialisation, a fit microseconds.

``chunks`` may be a generator; at most a few chunks per worker are in flight at a time, so the
memory held by the caller depends on the chunk size, not on the size of the whole job.

``fn`` must be picklable for the process pool (a module-level function or a ``functools.partial``
of one); Dask also ships closures (cloudpickle).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable

from ..errors import InputError

__all__ = ["Executor", "InProcessExecutor", "ProcessPoolExecutor", "DaskExecutor", "get_executor",
           "SCHEDULER_ENV"]

SCHEDULER_ENV = "FLUXWISE_DASK_SCHEDULER"


def _progress_bar(progress, total, desc):
    if not progress:
        return None
    from tqdm.auto import tqdm

    # tqdm shows rate and ETA from the chunks done so far
    return tqdm(total=total, desc=desc or "chunks", unit="chunk", dynamic_ncols=True, smoothing=0.1)


class Executor:
    """Base class: an executor maps a function over chunks and returns the results in order."""

    name = "executor"

    #: workers that run chunks at the same time
    n_workers = 1

    def map_chunks(self, fn: Callable, chunks: Iterable, *, progress: bool = False, total: int | None = None,
                   desc: str | None = None, consume: Callable | None = None) -> list | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (no-op for the in-process executor)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def describe(self) -> dict:
        """What ran the work, for reports and benchmark output."""
        return {"executor": self.name, "workers": self.n_workers}


class InProcessExecutor(Executor):
    """Run the chunks one after the other in this process (the default)."""

    name = "in-process"

    def map_chunks(self, fn, chunks, *, progress=False, total=None, desc=None, consume=None):
        bar = _progress_bar(progress, total, desc)
        out = []
        try:
            for i, c in enumerate(chunks):
                r = fn(c)
                if consume is None:
                    out.append(r)
                else:
                    consume(i, r)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return None if consume is not None else out


def _windowed(submit, wait_first, chunks, window, bar, consume=None):
    """Submit chunks keeping at most ``window`` in flight; collect results in chunk order."""
    results = {}
    pending = deque()
    it = iter(chunks)
    i = 0
    exhausted = False
    while True:
        while not exhausted and len(pending) < window:
            try:
                c = next(it)
            except StopIteration:
                exhausted = True
                break
            pending.append((i, submit(c)))
            i += 1
        if not pending:
            break
        j, fut = pending.popleft()
        r = wait_first(fut)
        if consume is None:
            results[j] = r
        else:
            consume(j, r)
        if bar is not None:
            bar.update(1)
    return None if consume is not None else [results[k] for k in range(i)]


class ProcessPoolExecutor(Executor):
    """Run the chunks on a pool of worker processes on this machine.

    Parameters
    ----------
    max_workers : int, optional  Processes; default the number of CPUs.
    """

    name = "process-pool"

    def __init__(self, max_workers: int | None = None):
        import concurrent.futures as cf
        import multiprocessing as mp

        self.n_workers = int(max_workers or os.cpu_count() or 1)
        # forkserver: workers start from a clean process, safe when this one runs threads
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._pool = cf.ProcessPoolExecutor(max_workers=self.n_workers, mp_context=ctx)

    def map_chunks(self, fn, chunks, *, progress=False, total=None, desc=None, consume=None):
        bar = _progress_bar(progress, total, desc)
        try:
            return _windowed(lambda c: self._pool.submit(fn, c), lambda f: f.result(), chunks,
                             2 * self.n_workers, bar, consume)
        finally:
            if bar is not None:
                bar.close()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """Run the chunks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    address : str, optional  Scheduler address (``tcp://HOST:PORT``). Without one, a
        ``LocalCluster`` of ``n_workers`` single-threaded worker processes is started (and closed
        with the executor).
    n_workers : int, optional  Workers of the local cluster; default the number of CPUs.
    client : distributed.Client, optional  Use an existing client instead.
    timeout : str  How long to try to reach the scheduler (Dask time string, default ``"20s"``).
    """

    name = "dask"

    def __init__(self, address: str | None = None, *, n_workers: int | None = None, client=None,
                 timeout: str = "20s"):
        from distributed import Client, LocalCluster

        self._cluster = None
        self._own_client = client is None
        if client is not None:
            self._client = client
        elif address:
            try:
                self._client = Client(address, timeout=timeout)
            except OSError as exc:
                raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}", field="scheduler") \
                    from None
        else:
            self._cluster = LocalCluster(n_workers=int(n_workers or os.cpu_count() or 1),
                                         threads_per_worker=1, processes=True, dashboard_address=None)
            self._client = Client(self._cluster)
        self.address = self._client.scheduler.address

    @property
    def client(self):
        return self._client

    @property
    def n_workers(self):
        info = self._client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def map_chunks(self, fn, chunks, *, progress=False, total=None, desc=None, consume=None):
        bar = _progress_bar(progress, total, desc)
        window = 2 * self.n_workers + 2
        try:
            # pure=False: every chunk is its own task even when two chunks are equal
            return _windowed(lambda c: self._client.submit(fn, c, pure=False), lambda f: f.result(), chunks,
                             window, bar, consume)
        finally:
            if bar is not None:
                bar.close()

    def close(self):
        if self._own_client:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def describe(self):
        return {"executor": self.name, "workers": self.n_workers, "scheduler": self.address}


def get_executor(scheduler: str | None = None, *, workers: int | None = None) -> Executor:
    """The executor for a ``--scheduler`` value.

    ``None`` reads the environment variable ``FLUXWISE_DASK_SCHEDULER``; when that is unset too,
    the work runs in-process. Values:

    * ``"inprocess"`` (or ``"sync"``): in this process;
    * ``"processes"`` or ``"processes:N"``: a process pool on this machine (N workers);
    * ``"dask-local"`` or ``"dask-local:N"``: a new local Dask cluster (N workers);
    * ``"tcp://HOST:PORT"`` (or another Dask address, ``tls://``, ``ws://``): that Dask cluster.

    ``workers`` sets N when the value does not.
    """
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or "inprocess"
    s = str(scheduler).strip()
    kind, _, count = s.partition(":") if "://" not in s else (s, "", "")
    if count:
        try:
            workers = int(count)
        except ValueError:
            raise InputError(f"'{s}': the worker count after ':' must be a whole number",
                             field="scheduler") from None
        if workers < 1:
            raise InputError(f"'{s}': at least one worker is needed", field="scheduler")
    if kind in ("inprocess", "in-process", "sync", "local", ""):
        return InProcessExecutor()
    if kind in ("processes", "process-pool"):
        return ProcessPoolExecutor(workers)
    if kind == "dask-local":
        return DaskExecutor(n_workers=workers)
    if "://" in s:
        return DaskExecutor(s)
    raise InputError(f"unknown scheduler '{s}' (expected inprocess, processes[:N], dask-local[:N] or a "
                     f"Dask address such as tcp://HOST:8786)", field="scheduler")
