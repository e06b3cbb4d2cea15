"""Fitting: recovery of known parameters from noisy synthetic trials, intervals, ranking, Vmax/Pmax."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fluxwise.fit.fouling import fit_model, fit_trial, information_criteria, starting_values, vmax_analysis
from fluxwise.models.fouling import MODEL_NAMES, MODELS, resistance_ratio
from fluxwise.trial import Trial

TRUE = {"kb_per_h": 0.6, "ki_m2_per_L": 0.004, "ks_m2_per_L": 0.005, "kc_h_m4_per_L2": 3e-6}
J0 = 600.0


def cp_trial(name, seed, n=200, noise=0.002, t_end=3.0):
    m = MODELS[name]
    t = np.linspace(0, t_end, n)
    v = m.volume(t, J0, *[TRUE[p] for p in m.params])
    rng = np.random.default_rng(seed)
    return Trial(t, v + rng.normal(0, noise * v[-1], n), 0.00138, "constant-pressure")


def cf_trial(name, seed, n=150, noise=0.002, J=300.0, p0=0.3):
    """Constant flux, pressure transducer noise of ``noise`` bar (absolute, as a % of full scale)."""
    m = MODELS[name]
    t = np.linspace(0, 1.0, n)
    v = J * t
    p = p0 * resistance_ratio(name, v, J, *[TRUE[k] for k in m.params])
    keep = np.isfinite(p) & (p < 5)
    rng = np.random.default_rng(seed)
    return Trial(t[keep], v[keep], 0.0023, "constant-flux",
                 pressure_bar=p[keep] + rng.normal(0, noise, keep.sum()))


def _inside(fit, truth):
    return {k: fit.ci95[k][0] <= v <= fit.ci95[k][1] for k, v in truth.items()}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_recovers_constant_pressure_parameters_within_intervals(name):
    # seeds 0..2: the truth must lie inside the 95 % interval in at least 2 of 3 noisy replicates
    truth = {"J0_LMH": J0, **{p: TRUE[p] for p in MODELS[name].params}}
    hits = 0
    for seed in range(3):
        f = fit_model(cp_trial(name, seed), name)
        assert f.converged
        hits += all(_inside(f, truth).values())
        for k, v in truth.items():  # and never far outside: within two interval half-widths
            lo, hi = f.ci95[k]
            assert abs(f.params[k] - v) <= (hi - lo), (k, f.params[k], (lo, hi))
    assert hits >= 2


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_recovers_constant_flux_parameters_within_intervals(name):
    truth = {"P0_bar": 0.3, **{p: TRUE[p] for p in MODELS[name].params}}
    hits = 0
    for seed in range(3):
        f = fit_model(cf_trial(name, seed), name)
        assert f.params["J0_LMH"] == pytest.approx(300.0, rel=1e-9) and "J0_LMH" in f.fixed
        hits += all(_inside(f, truth).values())
    assert hits >= 2


@pytest.mark.parametrize("name", ["standard", "cake-complete"])
def test_interval_coverage_is_near_nominal(name):
    """Over 60 noisy replicates, each 95 % interval holds the truth about 95 % of the time."""
    truth = {"J0_LMH": J0, **{p: TRUE[p] for p in MODELS[name].params}}
    covered = {k: 0 for k in truth}
    n = 60
    for seed in range(100, 100 + n):
        f = fit_model(cp_trial(name, seed, n=120), name)
        for k, ok in _inside(f, truth).items():
            covered[k] += ok
    for k, c in covered.items():
        assert 0.85 <= c / n <= 1.0, (k, c / n)


@pytest.mark.parametrize("name", ["complete", "intermediate", "standard", "cake", "cake-complete",
                                  "complete-standard"])
def test_true_model_ranks_first_or_is_indistinguishable(name):
    res = fit_trial(cp_trial(name, 7, n=300, noise=0.001))
    assert res.best_model == name or name in res.indistinguishable
    d = res.to_dict()
    assert [m["name"] for m in d["models"]][0] == d["best_model"]
    assert d["models"][0]["delta_aicc"] == 0


def test_vmax_of_exact_standard_blocking_data():
    """t/V = 1/J0 + t/Vmax exactly: Vmax = 2/ks = 400 L/m², J0 = 600 L/m²/h."""
    t = np.linspace(0, 2, 50)
    tr = Trial(t, MODELS["standard"].volume(t, J0, 0.005), 0.001, "constant-pressure")
    vm = vmax_analysis(tr)
    assert vm["vmax_L_per_m2"] == pytest.approx(400.0, rel=1e-9)
    assert vm["J0_LMH"] == pytest.approx(600.0, rel=1e-9)


def test_pmax_of_exact_standard_blocking_constant_flux():
    """√(P0/P) = 1 − V/Vmax at constant flux: Vmax = 2/ks = 400 L/m², P0 = 0.3 bar."""
    t = np.linspace(0, 1, 50)
    v = 200 * t
    tr = Trial(t, v, 0.001, "constant-flux", pressure_bar=0.3 * (1 - 0.005 * v / 2) ** -2)
    res = fit_trial(tr, models=["standard", "cake"])
    assert res.vmax["vmax_L_per_m2"] == pytest.approx(400.0, rel=1e-9)
    assert res.vmax["P0_bar"] == pytest.approx(0.3, rel=1e-9)
    assert res.get("standard").params["ks_m2_per_L"] == pytest.approx(0.005, rel=1e-6)


def test_starting_values_are_exact_on_noise_free_linear_laws():
    t = np.linspace(0, 2, 400)
    cake = Trial(t, MODELS["cake"].volume(t, J0, 3e-6), 0.001, "constant-pressure")
    assert starting_values(cake)["kc_h_m4_per_L2"] == pytest.approx(3e-6, rel=1e-9)  # t/V vs V
    std = Trial(t, MODELS["standard"].volume(t, J0, 0.005), 0.001, "constant-pressure")
    s = starting_values(std)
    assert s["ks_m2_per_L"] == pytest.approx(0.005, rel=1e-9) and s["J0_LMH"] == pytest.approx(J0, rel=1e-9)
    comp = Trial(t, MODELS["complete"].volume(t, J0, 0.6), 0.001, "constant-pressure")
    assert starting_values(comp)["kb_per_h"] == pytest.approx(0.6, rel=1e-3)  # J vs V, finite differences


def test_fixed_j0():
    tr = cp_trial("standard", 3)
    f = fit_model(tr, "standard", j0=650.0)
    assert f.params["J0_LMH"] == 650.0 and f.fixed == ("J0_LMH",) and "J0_LMH" not in f.ci95


def test_information_criteria_by_hand():
    # n = 20, SSE = 2, k = 3: AICc = 20 ln(0.1) + 6 + 24/16; BIC = 20 ln(0.1) + 3 ln 20
    aicc, bic = information_criteria(2.0, 20, 3)
    assert aicc == pytest.approx(20 * np.log(0.1) + 6 + 1.5)
    assert bic == pytest.approx(20 * np.log(0.1) + 3 * np.log(20))


def test_fit_json_shape():
    d = fit_trial(cp_trial("cake", 1)).to_dict()
    assert set(d) >= {"trial", "best_model", "models", "vmax"}
    assert set(d["trial"]) >= {"area_m2", "mode", "points"}
    assert set(d["vmax"]) >= {"vmax_L_per_m2", "J0_LMH"}
    assert {m["name"] for m in d["models"]} == set(MODEL_NAMES)
    for m in d["models"]:
        assert set(m) >= {"name", "params", "ci95", "sse", "r2", "aicc", "bic"}
        assert set(m["params"]) == {"J0_LMH", *MODELS[m["name"]].params}
    assert_allclose(d["trial"]["area_m2"], 0.00138)


@pytest.mark.parametrize("name", ["standard", "cake-complete", "cake-standard", "intermediate-standard"])
def test_batch_and_scipy_engines_agree(name):
    """Two independent optimisers on the same objective: SSE equal within 0.1 %, same parameters."""
    tr = cp_trial(name, 11)
    a, b = fit_trial(tr, engine="batch"), fit_trial(tr, engine="scipy")
    for fa in a.fits:
        fb = b.get(fa.name)
        assert fa.sse <= fb.sse * 1.001 and fb.sse <= fa.sse * 1.001, fa.name
    assert a.best_model == b.best_model
    assert a.best.params == pytest.approx(b.get(a.best_model).params, rel=1e-3)


def test_constant_flux_and_fixed_j0_use_scipy_engine():
    from fluxwise.errors import ModelError

    with pytest.raises(ModelError, match="use engine='scipy'"):
        fit_trial(cf_trial("standard", 0), engine="batch")
    assert fit_trial(cf_trial("standard", 0)).best.params["J0_LMH"] == pytest.approx(300.0)


@pytest.mark.parametrize("law", ["complete", "intermediate", "standard", "cake"])
def test_combined_fits_never_end_above_their_parent_laws(law):
    """A combined model holds each parent law (its other constant at 0): on data of a single law, at
    constant flux (the scipy engine) and constant pressure, no combined fit may end above it."""
    from fluxwise.fit.batch import parent_laws

    for trial in (cf_trial(law, 3), cp_trial(law, 3)):
        fit = fit_trial(trial)
        for f in fit.fits:
            for par in parent_laws(f.name):
                assert f.sse <= fit.get(par).sse * (1 + 1e-9), (trial.mode, f.name, par)
