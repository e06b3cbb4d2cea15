"""Where the HTTP door runs the science: in the request's thread, or on a pool of worker processes.

Fitting, sizing, reading an upload and rendering a report are CPU-bound numpy and pandas work that
holds Python's GIL; run on the server's request threads, they take turns on one core however many
cores the machine has, and the threads that only wait for the database wait behind them. ``fluxwise
serve`` therefore starts a :class:`SciencePool` of worker processes (one per core by default,
``--science-workers``) and the handlers hand each computation to it with :meth:`Science.run`; the
request thread only waits, so the server process is left with HTTP, sign-in and the database.

The functions sent must be module-level (they are pickled by reference), and so must their arguments
and results (a :class:`~fluxwise.trial.Trial`, dicts, HTML text). Errors come back as raised: a
:class:`~fluxwise.errors.FluxwiseError` keeps its class and fields, so the door answers exactly as it
would in-process.

Without a pool (tests, the CLI, a single-core machine) :class:`Science` runs the function in the
calling thread: the results are the same either way.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .. import i18n
from ..errors import FluxwiseError
from ..i18n import _

log = logging.getLogger(__name__)

ENV_SCIENCE_WORKERS = "FLUXWISE_SCIENCE_WORKERS"

#: Longest a request waits for its computation (queue and run) before it is answered 503: a trial of
#: 10^5 points is analysed in about 2 s, so this only trips when the pool is swamped.
DEFAULT_TIMEOUT_S = 60.0


class ScienceBusy(FluxwiseError):
    """The worker pool could not compute this in time (overload) or lost its worker: try again."""

    def __init__(self, message: str, retry_after_s: int = 5):
        super().__init__(message)
        self.retry_after_s = retry_after_s


def default_workers() -> int:
    """``$FLUXWISE_SCIENCE_WORKERS``, else the cores this process may use."""
    env = os.environ.get(ENV_SCIENCE_WORKERS)
    if env:
        return max(0, int(env))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _exit_with_parent(parent: int) -> None:
    """End this worker when the server process ends, even by SIGKILL (which runs no clean-up): a thread
    notices that the worker has a new parent. (Not ``PR_SET_PDEATHSIG``: it fires when the *thread*
    that started the worker ends, and the pool starts workers from request threads, which come and go.)
    """
    if os.getppid() != parent:  # the server died before this worker started
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _start_worker(parent: int) -> None:
    """Import what the computations use, once per worker, before the first request reaches it."""
    _exit_with_parent(parent)
    from ..cli.serve_commands import warm_up

    warm_up()


def _in_language(lang: str, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)`` in the request's language (a worker has no request: its messages, reports
    and figure titles are in the language the request was answered in)."""
    with i18n.using(lang):
        return fn(*args, **kwargs)


class Science:
    """Runs the science in the calling thread (the default, and what tests use)."""

    workers = 0

    def run(self, fn: Callable, *args: Any, affinity: Any = None, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``; ``affinity`` (what the computation is about, e.g. a trial and its
        revision) lets a pool send computations about the same thing to the same worker."""
        return fn(*args, **kwargs)

    def start(self) -> None:
        pass

    def warm(self) -> None:
        pass

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "in the request threads"


class SciencePool(Science):
    """``workers`` processes (started with ``spawn``: a clean interpreter, no copy of the server's
    threads and database connections) that run the science of every request.

    Each worker is a lane of its own (a one-process pool with its queue). A computation about a trial
    goes to the lane of that trial (``affinity``: the trial's id and revision): fitting, sizing, the
    trial page's figures and the report of one trial then meet the fit the lane already made
    (:func:`fluxwise.pipeline.fit_cached` is per process), instead of fitting again in whichever
    process was free — unless that lane has :data:`AFFINITY_SLACK` more computations waiting than
    the least busy one, which then takes it. Computations without a trial go to the least busy lane.

    A worker that dies (killed, out of memory) breaks its lane; the request it served gets a 503 and
    the lane is started again for the next.
    """

    #: how many more waiting computations a trial's lane may have than the least busy lane
    AFFINITY_SLACK = 2

    def __init__(self, workers: int, *, timeout_s: float = DEFAULT_TIMEOUT_S):
        import multiprocessing

        self.workers = max(1, int(workers))
        self.timeout_s = timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._lanes = [self._new_pool() for _ in range(self.workers)]
        self._waiting = [0] * self.workers

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=1, mp_context=self._context,
                                   initializer=_start_worker, initargs=(os.getpid(),))

    def processes(self) -> list[int]:
        """The workers' process ids (those started)."""
        return [pid for lane in self._lanes for pid in (lane._processes or {})]

    def start(self) -> None:
        """Start every worker now (each imports the science); :meth:`warm` waits for them."""
        self._starting = [lane.submit(os.getpid) for lane in self._lanes]

    def warm(self, timeout_s: float = 300.0) -> None:
        """Start every worker (unless :meth:`start` did) and wait until each has imported the science
        (each has answered a call)."""
        if not getattr(self, "_starting", None):
            self.start()
        deadline = time.monotonic() + timeout_s
        for f in self._starting:
            f.result(timeout=max(1.0, deadline - time.monotonic()))
        self._starting = []

    def _lane(self, affinity) -> int:
        with self._lock:
            least = min(range(self.workers), key=self._waiting.__getitem__)
            k = least
            if affinity is not None:
                own = zlib.crc32(repr(affinity).encode()) % self.workers
                if self._waiting[own] - self._waiting[least] <= self.AFFINITY_SLACK:
                    k = own
            self._waiting[k] += 1
            return k

    def run(self, fn: Callable, *args: Any, affinity: Any = None, **kwargs: Any) -> Any:
        k = self._lane(affinity)
        try:
            return self._run_on(k, fn, args, kwargs)
        finally:
            with self._lock:
                self._waiting[k] -= 1

    def _run_on(self, k: int, fn: Callable, args: tuple, kwargs: dict) -> Any:
        lane = self._lanes[k]
        try:
            future = lane.submit(_in_language, i18n.current(), fn, args, kwargs)
        except (BrokenProcessPool, RuntimeError):
            self._restart(k, lane)
            raise ScienceBusy(_("the computation could not be started (a worker process was restarted); "
                                "try again")) from None
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            future.cancel()
            raise ScienceBusy(_("the server is overloaded: the computation did not finish within %(s)s s; "
                                "try again shortly", s=format(self.timeout_s, ".0f")),
                              retry_after_s=10) from None
        except BrokenProcessPool:
            self._restart(k, lane)
            raise ScienceBusy(_("a worker process died during the computation (it was restarted); try "
                                "again")) from None

    def _restart(self, k: int, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._lanes[k] is broken:
                log.error("a science worker broke; starting a new one")
                broken.shutdown(wait=False, cancel_futures=True)
                self._lanes[k] = self._new_pool()

    def close(self) -> None:
        for lane in self._lanes:
            lane.shutdown(wait=True, cancel_futures=True)

    def describe(self) -> str:
        return f"on {self.workers} worker process{'es' if self.workers != 1 else ''}"


def science_for(workers: int | None) -> Science:
    """A :class:`SciencePool` of ``workers`` processes (``None``: :func:`default_workers`), or the
    in-thread :class:`Science` for 0."""
    n = default_workers() if workers is None else workers
    return SciencePool(n) if n > 0 else Science()
