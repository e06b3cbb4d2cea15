"""Batched fitting: Jacobians, starting values, agreement with the per-trial scipy fitter, backends.

Expected numbers come from independent implementations — finite differences of the model laws of
``fluxwise.models.fouling``, the scipy fitter ``fluxwise.fit.fouling.fit_trial`` — or from the true
parameters of noise-free synthetic trials; never from running the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fluxwise.errors import InputError, ModelError
from fluxwise.fit.batch import (
    fit_batch,
    fit_model_batch,
    model_jacobian,
    parent_laws,
    prepare_batch,
    starting_values_batch,
)
from fluxwise.fit.fouling import fit_trial, starting_values
from fluxwise.models.fouling import MODEL_NAMES, MODELS
from fluxwise.trial import Trial

TRUE = {
    "complete": (500.0, 0.3),
    "intermediate": (500.0, 0.002),
    "standard": (500.0, 0.003),
    "cake": (500.0, 1e-5),
    "cake-complete": (500.0, 0.2, 5e-6),
    "cake-intermediate": (500.0, 0.001, 5e-6),
    "complete-standard": (500.0, 0.2, 0.002),
    "intermediate-standard": (500.0, 0.001, 0.002),
    "cake-standard": (500.0, 0.002, 5e-6),
}


def synthetic(n_per_model=2, m=40, noise=0.01, seed=0, t_end=4.0):
    """Trials from every model with parameters scattered ±30 % around TRUE and 1 % noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, t_end, m + 1)[1:]
    rows, which = [], []
    for nm in MODEL_NAMES:
        for _ in range(n_per_model):
            p = np.array(TRUE[nm]) * np.exp(0.3 * rng.standard_normal(len(TRUE[nm])))
            v = MODELS[nm].volume(t, *p)
            e = noise * v * rng.standard_normal(m) + 0.2 * noise * v[-1] * rng.standard_normal(m)
            rows.append(v + e)
            which.append(nm)
    return t, np.array(rows), which


# ----------------------------------------------------------------------------- Jacobians

@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_and_jacobian_match_the_model_laws(name):
    t = np.linspace(0.01, 4, 50)[None, :]
    p = np.array(TRUE[name])
    V, cols = model_jacobian(name, t, [np.array([[x]]) for x in p])
    assert_allclose(V, MODELS[name].volume(t, *p), rtol=1e-12)
    for j in range(p.size):
        # central difference in ln p_j of the model law itself
        h = 1e-5
        up, dn = p.copy(), p.copy()
        up[j] *= np.exp(h)
        dn[j] *= np.exp(-h)
        fd = (MODELS[name].volume(t, *up) - MODELS[name].volume(t, *dn)) / (2 * h)
        assert_allclose(cols[j], fd, rtol=2e-6, atol=1e-7 * np.abs(fd).max())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_jacobian_of_a_vanishing_constant_is_proportional_to_it(name):
    # p·∂V/∂p is linear in p as p -> 0: the columns must not cancel to zero (they drive a constant
    # off its bound)
    t = np.linspace(0.01, 4, 20)[None, :]
    base = np.array(TRUE[name])
    for j in range(1, base.size):
        ratios = []
        for eps in (1e-10, 1e-12):
            p = base.copy()
            p[j] *= eps
            _, cols = model_jacobian(name, t, [np.array([[x]]) for x in p])
            ratios.append(cols[j] / eps)
        assert np.all(np.abs(ratios[0]) > 0)
        assert_allclose(ratios[0], ratios[1], rtol=1e-6)


# ----------------------------------------------------------------------------- starting values

def test_starting_values_batch_equal_the_per_trial_linearisations():
    t, Y, _ = synthetic(1, m=30, seed=3)
    sv = starting_values_batch(t, Y)
    for i in range(Y.shape[0]):
        ref = starting_values(Trial(t_h=t, v_L_per_m2=Y[i], area_m2=1e-3, mode="constant-pressure"))
        for k, v in ref.items():
            assert_allclose(sv[k][i], v, rtol=1e-9, err_msg=k)


def test_prepare_batch_checks_shapes_and_gaps():
    with pytest.raises(InputError, match="does not match"):
        prepare_batch(np.ones(5), np.ones((2, 4)))
    with pytest.raises(InputError, match="gap"):
        prepare_batch(np.ones(3), np.ones((1, 3)), np.array([[True, False, True]]))
    with pytest.raises(InputError, match="non-finite"):
        prepare_batch(np.ones(3), np.array([[1.0, np.nan, 2.0]]))
    with pytest.raises(ModelError):
        fit_model_batch("no-such-model", np.ones(3), np.ones((1, 3)))


# ----------------------------------------------------------------------------- fits

@pytest.mark.parametrize("name", MODEL_NAMES)
def test_noise_free_trials_return_their_true_parameters(name):
    t = np.linspace(0, 4, 41)[1:]
    p = np.array(TRUE[name])
    y = MODELS[name].volume(t, *p)[None, :]
    f = fit_model_batch(name, t, y, backend="numpy")
    assert f.converged[0]
    assert_allclose(f.params[0], p, rtol=2e-5)
    assert f.sse[0] < 1e-12 * np.sum(y**2)


def test_batch_agrees_with_the_scipy_fitter():
    # fit_trial (scipy least_squares, three starts for the combined models) is the reference: the
    # batched fit must reach its SSE within 0.1 % for every trial and model
    t, Y, _ = synthetic(2, m=40, seed=11)
    bf = fit_batch(t, Y, backend="numpy")
    worse = []
    for i in range(Y.shape[0]):
        ref = fit_trial(Trial(t_h=t, v_L_per_m2=Y[i], area_m2=1e-3, mode="constant-pressure"))
        for f in ref.fits:
            b = bf[f.name]
            assert b.param_names == tuple(f.params)
            if b.sse[i] > f.sse * 1.001 + 1e-12:
                worse.append((i, f.name, b.sse[i] / f.sse))
        best = bf.best_model()[i]
        assert best in ref.indistinguishable or bf[ref.best_model].aicc[i] <= ref.best.aicc + 1e-6
    assert worse == []


# ----------------------------------------------------------------------------- nested models

COMBINED = [nm for nm in MODEL_NAMES if len(MODELS[nm].params) == 2]


@pytest.mark.parametrize("name", COMBINED)
def test_parent_laws_are_the_combined_model_with_a_constant_at_zero(name):
    t = np.linspace(0.0, 4.0, 30)
    params = dict(zip(MODELS[name].all_params, TRUE[name], strict=True))
    parents = parent_laws(name)
    assert len(parents) == 2
    for par in parents:
        kept = MODELS[par].params[0]
        zeroed = {k: (v if k in ("J0_LMH", kept) else 0.0) for k, v in params.items()}
        assert_allclose(MODELS[name].volume(t, *zeroed.values()),
                        MODELS[par].volume(t, params["J0_LMH"], params[kept]), rtol=1e-12)


def parent_law_trials(n_per_law=8, m=200, seed=23):
    """Trials of the four single laws (the parents of the combined models), 0.5 % noise: half of it
    proportional to V, half a constant 0.5 % of the final throughput (a balance)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 4.0, m + 1)[1:]
    rows = []
    for nm in ("complete", "intermediate", "standard", "cake"):
        for i in range(n_per_law):
            p = np.array(TRUE[nm]) * np.exp(np.array([0.3, 1.0]) * rng.standard_normal(2))
            v = MODELS[nm].volume(t, *p)
            sd = 0.005 * (v if i % 2 else v[-1])
            rows.append(v + sd * rng.standard_normal(m))
    return t, np.array(rows)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_combined_models_never_end_above_their_parent_laws(backend):
    # a combined model holds each parent law (its other constant at 0): its least-squares fit can
    # be no worse than the parent's, on the parent's own data in particular
    if backend == "numba":
        pytest.importorskip("numba")
        models = ["complete-standard"]  # compiling costs seconds per model; parents come with it
    else:
        models = list(MODEL_NAMES)
    t, Y = parent_law_trials()
    bf = fit_batch(t, Y, models=models + [p for nm in models for p in parent_laws(nm)], backend=backend)
    for nm in models:
        for par in parent_laws(nm):
            ratio = bf[nm].sse / bf[par].sse
            assert np.all(ratio <= 1 + 1e-9), (nm, par, ratio.max())
        # the parents need not be asked for: fitted alone, the combined model reaches them too
        alone = fit_batch(t, Y, models=[nm], backend=backend)
        assert_allclose(alone[nm].sse, bf[nm].sse, rtol=1e-9)


def test_combined_fit_reaches_the_lower_of_two_minima():
    # cake-intermediate on data of cake-complete or of intermediate blocking has a minimum near
    # kc = 0 and, often, a lower one inside; bounded scipy started at 1.3x the generating
    # constants is the reference
    from scipy.optimize import curve_fit

    rng = np.random.default_rng(2026)
    t = np.linspace(0.0, 4.0, 201)[1:]
    gen = {"cake-complete": (500.0, 0.2, 5e-6), "intermediate": (500.0, 0.002)}
    rows, starts = [], []
    for i in range(120):
        g = ("cake-complete", "intermediate")[i % 2]
        p = np.array(gen[g]) * np.exp(0.3 * rng.standard_normal(len(gen[g])))
        v = MODELS[g].volume(t, *p)
        rows.append(v + 0.005 * v[-1] * rng.standard_normal(t.size))
        ki = p[1] if g == "intermediate" else 0.001
        kc = p[2] if g == "cake-complete" else 5e-6
        starts.append(1.3 * np.array([p[0], ki, kc]))
    Y = np.array(rows)
    bf = fit_batch(t, Y, models=["cake-intermediate"], backend="numpy")
    m = MODELS["cake-intermediate"]
    worse = []
    for i in range(Y.shape[0]):
        popt, _ = curve_fit(m.volume, t, Y[i], p0=starts[i], bounds=(0, np.inf))
        r = m.volume(t, *popt) - Y[i]
        if bf["cake-intermediate"].sse[i] > (r @ r) * (1 + 1e-6):
            worse.append((i, bf["cake-intermediate"].sse[i] / (r @ r)))
    assert worse == []


def test_information_criteria_match_the_scipy_fitter_formula():
    from fluxwise.fit.fouling import information_criteria

    t, Y, _ = synthetic(1, m=25, seed=5)
    f = fit_model_batch("standard", t, Y, backend="numpy")
    for i in range(Y.shape[0]):
        aicc, bic = information_criteria(float(f.sse[i]), 25, 2)
        assert_allclose([f.aicc[i], f.bic[i]], [aicc, bic], rtol=1e-12)


def test_ragged_trials_fit_as_if_alone():
    t, Y, _ = synthetic(1, m=40, seed=7)
    lengths = np.array([40, 25, 12, 40, 31, 18, 40, 22, 15])
    mask = np.arange(40)[None, :] < lengths[:, None]
    Yp = np.where(mask, Y, np.nan)  # the padding may hold anything
    bf = fit_batch(t, Yp, mask, models=["standard", "cake-complete"], backend="numpy")
    for i, L in enumerate(lengths):
        alone = fit_batch(t[:L], Y[i:i + 1, :L], models=["standard", "cake-complete"], backend="numpy")
        for nm in ("standard", "cake-complete"):
            assert bf[nm].n_points[i] == L
            assert_allclose(bf[nm].sse[i], alone[nm].sse[0], rtol=1e-6)


def test_chunks_and_executor_do_not_change_results():
    from fluxwise.compute import InProcessExecutor

    t, Y, _ = synthetic(1, m=30, seed=9)
    a = fit_batch(t, Y, models=["intermediate", "complete-standard"], backend="numpy")
    b = fit_batch(t, Y, models=["intermediate", "complete-standard"], backend="numpy", chunk_size=2,
                  executor=InProcessExecutor())
    for nm in ("intermediate", "complete-standard"):
        assert_allclose(a[nm].params, b[nm].params, rtol=1e-12)
    df = a.to_frame()
    assert set(df["model"]) == {"intermediate", "complete-standard"} and len(df) == 2 * Y.shape[0]


def test_fit_from_given_starting_parameters():
    t, Y, _ = synthetic(1, m=30, seed=13)
    f0 = fit_model_batch("intermediate-standard", t, Y, backend="numpy")
    f1 = fit_model_batch("intermediate-standard", t, Y, start=np.where(f0.params > 0, f0.params, 1e-9) * 1.05,
                         backend="numpy")
    assert np.all(f1.sse <= f0.sse * 1.001 + 1e-12)
    with pytest.raises(InputError, match="shape"):
        fit_model_batch("standard", t, Y, start=np.ones((2, 2)))


def test_numba_backend_matches_numpy():
    nb = pytest.importorskip("numba")  # noqa: F841 - the compiled path is optional
    t, Y, _ = synthetic(2, m=40, seed=17)
    for nm in ("complete-standard",):  # one model: compiling costs seconds per model
        a = fit_model_batch(nm, t, Y, backend="numpy")
        b = fit_model_batch(nm, t, Y, backend="numba")
        assert_allclose(b.sse, a.sse, rtol=1e-6)
        # a constant on its way to its bound may stop anywhere far below any effect on V
        scale = np.abs(a.params).max(axis=0)
        assert_allclose(b.params, a.params, rtol=1e-4, atol=1e-4 * scale.max())
        assert np.all(np.abs(b.params - a.params) <= 1e-4 * np.abs(a.params) + 1e-4 * scale)


def test_jax_backend_matches_numpy():
    # the CPU build of JAX is in the dev extras: CI runs this test (on the CPU) and fails without JAX
    import os

    try:
        import jax  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail("jax is not installed: it is in the dev extras, and CI must run the JAX backend",
                        pytrace=False)
        pytest.skip("jax not installed (pip install -e '.[dev]' installs its CPU build)")
    from fluxwise.fit.jax_backend import fit_model_batch_jax

    t, Y, _ = synthetic(1, m=30, seed=19)
    for nm in ("standard", "cake-standard"):
        a = fit_model_batch(nm, t, Y, backend="numpy")
        b = fit_model_batch_jax(nm, t, Y)
        assert np.all(b.sse <= a.sse * 1.001 + 1e-12)
