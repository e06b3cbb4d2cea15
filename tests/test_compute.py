"""Executors: in-process, process pool and a real dask.distributed LocalCluster give the same results.

The Dask tests start a real ``LocalCluster(n_workers=2, processes=True, threads_per_worker=1)``
(worker processes, real serialisation), as a production cluster would run the chunks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from fluxwise.compute import (
    SCHEDULER_ENV,
    DaskExecutor,
    InProcessExecutor,
    ProcessPoolExecutor,
    get_executor,
)
from fluxwise.design.sweep import run_sweep, spec_from_dict
from fluxwise.errors import InputError
from fluxwise.fit.batch import fit_batch
from fluxwise.models.fouling import MODELS

MODELS_USED = ["standard", "cake-complete"]


def _square_sum(chunk):
    return float(np.sum(np.asarray(chunk) ** 2))


def _trials(n=24, m=30, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0.05, 3.0, m)
    p = np.column_stack([500 * np.exp(0.2 * rng.standard_normal(n)),
                         0.003 * np.exp(0.2 * rng.standard_normal(n))])
    v = MODELS["standard"].volume(t[None, :], p[:, :1], p[:, 1:])
    return t, v * (1 + 0.01 * rng.standard_normal(v.shape))


SPEC = {
    "model": "complete-standard",
    "params": {"J0_LMH": 700.0, "kb_per_h": 0.1, "ks_m2_per_L": 0.003},
    "reference_pressure_bar": 1.0,
    "sampling": "latin-hypercube",
    "n_samples": 300,
    "seed": 4,
    "axes": {"pressure_bar": {"min": 0.5, "max": 2.0}, "process_time_h": {"min": 1.0, "max": 6.0},
             "batch_volume_L": {"min": 200.0, "max": 2000.0}},
    "uncertainty": {"confidence": 0.9, "feed_cv": 0.15, "n_draws": 300},
    "chunk_size": 40,
}


@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        yield DaskExecutor(client=client)
    finally:
        client.close()
        cluster.close()


def test_map_chunks_keeps_the_order_of_the_chunks(dask_executor):
    chunks = [np.arange(i, i + 5) for i in range(0, 60, 5)]
    expected = [_square_sum(c) for c in chunks]
    assert InProcessExecutor().map_chunks(_square_sum, chunks) == expected
    # a generator works too, and only a window of chunks is in flight at a time
    assert dask_executor.map_chunks(_square_sum, (c for c in chunks)) == expected
    assert dask_executor.n_workers == 2
    # consume: results handed over in chunk order, not kept
    seen = []
    assert dask_executor.map_chunks(_square_sum, chunks, consume=lambda i, r: seen.append((i, r))) is None
    assert seen == list(enumerate(expected))


def test_batch_fit_on_a_local_dask_cluster_equals_in_process(dask_executor):
    t, y = _trials()
    local = fit_batch(t, y, models=MODELS_USED, chunk_size=6, backend="numpy")
    remote = fit_batch(t, y, models=MODELS_USED, chunk_size=6, backend="numpy", executor=dask_executor)
    for nm in MODELS_USED:
        assert_allclose(remote[nm].params, local[nm].params, rtol=0, atol=0)
        assert_allclose(remote[nm].sse, local[nm].sse, rtol=0, atol=0)


def test_sweep_on_a_local_dask_cluster_equals_in_process(dask_executor):
    spec = spec_from_dict(SPEC)
    local = run_sweep(spec)
    remote = run_sweep(spec, dask_executor)
    pd.testing.assert_frame_equal(remote, local)
    assert len(local) == 300 and local["risk_area_m2"].notna().all()


def test_process_pool_equals_in_process():
    t, y = _trials(n=12)
    local = fit_batch(t, y, models=["standard"], chunk_size=4, backend="numpy")
    with ProcessPoolExecutor(2) as ex:
        pooled = fit_batch(t, y, models=["standard"], chunk_size=4, backend="numpy", executor=ex)
        assert ex.map_chunks(_square_sum, [np.ones(3)] * 3) == [3.0, 3.0, 3.0]
    assert_allclose(pooled["standard"].params, local["standard"].params, rtol=0, atol=0)


def test_get_executor_reads_the_scheduler_and_the_environment(monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert isinstance(get_executor(), InProcessExecutor)
    assert isinstance(get_executor("inprocess"), InProcessExecutor)
    with get_executor("processes:1") as ex:
        assert isinstance(ex, ProcessPoolExecutor) and ex.n_workers == 1
    monkeypatch.setenv(SCHEDULER_ENV, "sync")
    assert isinstance(get_executor(), InProcessExecutor)
    with pytest.raises(InputError, match="unknown scheduler"):
        get_executor("threads")
    with pytest.raises(InputError, match="whole number"):
        get_executor("processes:two")
    with pytest.raises(InputError, match="cannot reach"):
        DaskExecutor("tcp://127.0.0.1:9", timeout="1s")  # nothing listens on the discard port


def test_progress_bar_shows_progress_and_does_not_change_results(capsys):
    out = InProcessExecutor().map_chunks(_square_sum, [np.ones(2)] * 4, progress=True, total=4, desc="fits")
    assert out == [2.0] * 4
    assert "4/4" in capsys.readouterr().err
