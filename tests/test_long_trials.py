"""Long trials (a rig logging at 1 Hz for hours) are fitted to bin means, with honest intervals.

The 95 % intervals of the binned fits must cover the true parameters of simulated trials about
95 % of the time; binned and unbinned fits must agree within their intervals; and the results must
say that the trial was binned. Times are measured in benchmarks/bench_long.py, not here.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fluxwise.fit.fouling import MAX_FIT_POINTS, bin_trial, fit_trial
from fluxwise.models.fouling import MODELS, resistance_ratio
from fluxwise.trial import Trial


def cp_trial(n, model, params, sd, rng, hours=8.0):
    t = np.linspace(0.0, hours, n + 1)[1:]
    v = MODELS[model].volume(t, *params)
    return Trial(t_h=t, v_L_per_m2=v + sd * rng.standard_normal(n), area_m2=1e-3, mode="constant-pressure")


def cf_trial(n, model, p0, consts, sd, rng, flux=150.0, hours=8.0):
    t = np.linspace(0.0, hours, n)
    v = flux * t
    p = p0 * resistance_ratio(model, v, flux, *consts)
    return Trial(t_h=t, v_L_per_m2=v, area_m2=1e-3, mode="constant-flux",
                 pressure_bar=p + sd * rng.standard_normal(n))


def test_bins_hold_consecutive_points_and_short_trials_stay_whole():
    rng = np.random.default_rng(0)
    short = cp_trial(MAX_FIT_POINTS, "standard", (500.0, 0.003), 0.5, rng)
    assert bin_trial(short) == (short, None)
    n = 3 * MAX_FIT_POINTS + 7
    trial = cf_trial(n, "cake", 0.1, (1e-4,), 0.001, rng)
    binned, info = bin_trial(trial)
    assert info == {"points": n, "bins": n // 4, "points_per_bin": 4, "method": "means of consecutive points"}
    assert binned.points == n // 4 <= MAX_FIT_POINTS
    # every point in exactly one bin, in order: the means of the means weighted by counts are the means
    sizes = np.full(n // 4, 4)
    sizes[: n - 4 * (n // 4)] += 1
    for a, b in ((trial.t_h, binned.t_h), (trial.v_L_per_m2, binned.v_L_per_m2),
                 (trial.pressure_bar, binned.pressure_bar)):
        assert np.isclose(np.sum(b * sizes), np.sum(a))
        assert np.all(np.diff(binned.t_h) > 0)
    assert binned.mode == trial.mode and binned.area_m2 == trial.area_m2


def _coverage(make, model, truth, reps):
    hits = {k: 0 for k in truth}
    for i in range(reps):
        f = fit_trial(make(np.random.default_rng(1000 + i)), models=[model])
        assert f.binning is not None and f.binning["points_per_bin"] >= 10
        m = f.get(model)
        for k, v in truth.items():
            lo, hi = m.ci95[k]
            hits[k] += lo <= v <= hi
    return {k: h / reps for k, h in hits.items()}


@pytest.mark.parametrize("case", ["constant-pressure standard", "constant-pressure cake-complete",
                                  "constant-flux standard"])
def test_intervals_of_binned_fits_cover_the_truth(case):
    # 150 simulated 1 Hz-like trials of 20,000 points each; the 95 % intervals must cover the true
    # values in about 95 % of them (binomial sd 1.8 %: 89-99 % accepted)
    reps, n = 150, 20_000
    if case == "constant-pressure standard":
        truth = {"J0_LMH": 500.0, "ks_m2_per_L": 0.003}
        make = lambda rng: cp_trial(n, "standard", (500.0, 0.003), 0.5, rng)  # noqa: E731
        model = "standard"
    elif case == "constant-pressure cake-complete":
        truth = {"J0_LMH": 600.0, "kb_per_h": 0.3, "kc_h_m4_per_L2": 3e-6}
        make = lambda rng: cp_trial(n, "cake-complete", (600.0, 0.3, 3e-6), 0.5, rng)  # noqa: E731
        model = "cake-complete"
    else:
        truth = {"P0_bar": 0.12, "ks_m2_per_L": 0.0008}
        make = lambda rng: cf_trial(n, "standard", 0.12, (0.0008,), 0.002, rng)  # noqa: E731
        model = "standard"
    cover = _coverage(make, model, truth, reps)
    for k, c in cover.items():
        assert 0.89 <= c <= 0.99, (k, c)


def test_binned_and_whole_fits_agree_within_their_intervals():
    rng = np.random.default_rng(7)
    trial = cp_trial(3 * MAX_FIT_POINTS, "cake-complete", (600.0, 0.3, 3e-6), 0.5, rng)
    whole = fit_trial(trial, models=["cake-complete", "standard"], max_fit_points=None)
    binned = fit_trial(trial, models=["cake-complete", "standard"])
    assert whole.binning is None and binned.binning["points_per_bin"] == 3
    for nm in ("cake-complete", "standard"):
        a, b = whole.get(nm), binned.get(nm)
        for k, v in a.params.items():
            lo, hi = a.ci95[k]
            assert abs(b.params[k] - v) <= 0.25 * (hi - lo), (nm, k)
            width = b.ci95[k][1] - b.ci95[k][0]
            if nm == "cake-complete":  # the true law: the same information, the same intervals
                assert width == pytest.approx(hi - lo, rel=0.15), (nm, k)
            else:  # a law that does not fit: its lack of fit does not average out within a bin, and
                # the intervals of the bin means do not pretend that it does
                assert width >= 0.95 * (hi - lo), (nm, k)


def test_results_say_the_trial_was_binned(tmp_path):
    from fluxwise.cli import main

    rng = np.random.default_rng(3)
    n = 12_000
    t_s = np.arange(1, n + 1)
    v = MODELS["standard"].volume(t_s / 3600.0, 500.0, 0.004)  # L/m²
    ml = v * 10e-4 * 1e3 + 0.001 * rng.standard_normal(n)
    path = tmp_path / "long.csv"
    with path.open("w") as fh:
        fh.write("Filter area: 10 cm2\nMode: constant pressure\ntime [s],filtrate [mL]\n")
        np.savetxt(fh, np.column_stack([t_s, np.abs(ml)]), delimiter=",", fmt="%.8g")
    r = CliRunner().invoke(main, ["fit", str(path)])
    assert r.exit_code == 0, r.output
    assert "Long trial: fitted to 2,000 means of 6 (or one more) consecutive points of 12,000" in r.output
    d = json.loads(CliRunner().invoke(main, ["fit", str(path), "--json"]).output)
    assert d["trial"]["points"] == n
    assert d["binning"]["bins"] == 2000 and "intervals are those of the bin means" in d["binning"]["note"]
    example = Path(__file__).resolve().parents[1] / "examples" / "mab_sterile_filtration.csv"
    assert json.loads(CliRunner().invoke(main, ["fit", str(example), "--json"]).output)["binning"] is None
