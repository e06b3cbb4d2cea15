"""A trial's fit is computed once per process for the fit, its sizing, its page and its report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from fluxwise import pipeline

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mab_sterile_filtration.csv"


def test_the_same_data_is_fitted_once_and_other_data_again(monkeypatch):
    # the cache and the fitter it calls are globals of pipeline.trials, where they are looked up
    monkeypatch.setattr(pipeline.trials, "_fits", type(pipeline.trials._fits)())
    calls = []
    real = pipeline.trials.fit_trial
    monkeypatch.setattr(pipeline.trials, "fit_trial", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    trial = pipeline.load_trial(EXAMPLE)
    fitted = pipeline.fit_result(trial)
    sized = pipeline.size_result(trial, batch_volume="2000 L", process_time="4 h")
    assert len(calls) == 1 and sized["installed_area_m2"] > 0
    # the same file read again (a new Trial object, equal data): no new fit, and the fit carries it
    again = pipeline.load_trial(EXAMPLE)
    a = pipeline.analyze(again)
    assert len(calls) == 1 and a.fit.trial is again and a.fit.to_dict() == fitted
    # an explicit fit is always computed (never answered from an earlier upload of the same file)
    assert pipeline.fit_result(again) == fitted and len(calls) == 2
    calls.pop()
    # changed readings, another J0 or other intervals are another fit
    changed = dataclasses.replace(trial, v_L_per_m2=trial.v_L_per_m2 * 1.01)
    pipeline.analyze(changed)
    pipeline.analyze(trial, j0=float(fitted["models"][0]["params"]["J0_LMH"]) * 1.1) \
        if "models" in fitted else pipeline.analyze(trial, j0=500.0)
    pipeline.analyze(trial, intervals="ar1")
    assert len(calls) == 4
    assert not np.allclose(pipeline.analyze(changed).fit.best.sse, a.fit.best.sse)
    assert len(calls) == 4
