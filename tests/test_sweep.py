"""Design-space sweeps: spec parsing, sampling, the sizing of each scenario, files.

Reference values come from the scalar sizing functions of fluxwise.design.sizing (root solves,
independent of the vectorised sweep), from the closed form of standard blocking
A = Vb/Vmax + Vb/(J0·tb) (Badmington et al. 1995) and from the definition of a Latin hypercube
(McKay et al. 1979: one sample in each of the n equal strata of every axis).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from fluxwise.design.catalog import choose_format
from fluxwise.design.sizing import min_area_constant_flux, min_area_constant_pressure
from fluxwise.design.sweep import contour_table, run_sweep, scenarios, spec_from_dict
from fluxwise.errors import InputError
from fluxwise.io.catalog import read_catalog
from fluxwise.io.sweep_spec import parse_sweep_spec, read_sweep_spec, write_sweep_table

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sweep.yaml"
CATALOG = read_catalog()
STD = {"J0_LMH": 1000.0, "ks_m2_per_L": 2.0 / 500.0}


def base(**kw):
    d = {"model": "standard", "params": dict(STD), "reference_pressure_bar": 1.0,
         "axes": {"pressure_bar": [1.0, 2.0], "process_time_h": {"min": 1.0, "max": 4.0, "n": 4},
                  "batch_volume_L": [1000.0]}}
    d.update(kw)
    return d


def test_grid_is_the_full_factorial_and_matches_the_closed_form():
    spec = spec_from_dict(base(), formats=CATALOG)
    assert spec.n_scenarios == 2 * 4 * 1
    df = run_sweep(spec)
    assert len(df) == 8
    for _, row in df.iterrows():
        # Darcy: J0 proportional to pressure; ks per throughput does not change
        j0 = 1000.0 * row.pressure_bar
        expected = 1000.0 / 500.0 + 1000.0 / (j0 * row.process_time_h)
        assert_allclose(row.min_area_m2, expected, rtol=1e-12)
        assert_allclose(row.required_area_m2, 1.5 * expected, rtol=1e-12)
        choice = choose_format(CATALOG, row.required_area_m2)
        assert row["format"] == choice.format.name and row["count"] == choice.count
        assert_allclose(row.cost_usd, choice.format.price_usd * choice.count)
        # with more area than the minimum the batch takes less than the process time
        assert row.time_h <= row.process_time_h


def test_pressure_scaling_of_the_constants_against_scalar_sizing():
    params = {"J0_LMH": 600.0, "kb_per_h": 0.2, "kc_h_m4_per_L2": 4e-6}
    spec = spec_from_dict({"model": "cake-complete", "params": params, "reference_pressure_bar": 1.0,
                           "axes": {"pressure_bar": [0.5, 1.0, 3.0]},
                           "fixed": {"process_time_h": 3.0, "batch_volume_L": 800.0}}, formats=CATALOG)
    df = run_sweep(spec)
    for _, row in df.iterrows():
        r = row.pressure_bar
        scaled = {"J0_LMH": 600.0 * r, "kb_per_h": 0.2 * r, "kc_h_m4_per_L2": 4e-6 / r}  # incompressible cake
        expected = min_area_constant_pressure("cake-complete", scaled, 800.0, 3.0)
        assert_allclose(row.min_area_m2, expected, rtol=1e-8)


def test_constant_flux_sweep_agrees_with_scalar_sizing():
    params = {"J0_LMH": 200.0, "P0_bar": 0.3, "ks_m2_per_L": 0.004}
    spec = spec_from_dict({"model": "standard", "mode": "constant-flux", "params": params,
                           "axes": {"flux_LMH": [100.0, 200.0, 400.0], "max_pressure_bar": [1.0, 2.0]},
                           "fixed": {"batch_volume_L": 500.0}}, formats=CATALOG)
    df = run_sweep(spec)
    for _, row in df.iterrows():
        ref = min_area_constant_flux("standard", params, 500.0, max_pressure_bar=row.max_pressure_bar,
                                     flux_LMH=row.flux_LMH)
        assert_allclose(row.min_area_m2, ref["min_area_m2"], rtol=1e-9)
        assert_allclose(row.time_h, 500.0 / (row.flux_LMH * row.installed_area_m2), rtol=1e-12)


def test_latin_hypercube_puts_one_sample_in_every_stratum():
    d = base(sampling="latin-hypercube", n_samples=50, seed=3,
             axes={"pressure_bar": {"min": 0.5, "max": 2.5},
                   "process_time_h": {"min": 1, "max": 100, "scale": "log"},
                   "batch_volume_L": [100.0, 200.0]})
    spec = spec_from_dict(d, formats=CATALOG)
    cols = scenarios(spec)
    strata = np.floor((cols["pressure_bar"] - 0.5) / 2.0 * 50).astype(int)
    assert sorted(strata) == list(range(50))
    log_strata = np.floor(np.log(cols["process_time_h"]) / np.log(100) * 50).astype(int)
    assert sorted(log_strata) == list(range(50))
    assert set(cols["batch_volume_L"]) == {100.0, 200.0}
    again = scenarios(spec_from_dict(d, formats=CATALOG))
    assert_allclose(again["pressure_bar"], cols["pressure_bar"])


def test_format_axis_and_risk_columns():
    d = base(axes={"process_time_h": [2.0], "batch_volume_L": [1000.0],
                   "format": ["Capsule 10 in", "capsule 30 IN"]},
             uncertainty={"confidence": 0.95, "feed_cv": 0.2, "n_draws": 4000})
    d.pop("reference_pressure_bar")
    df = run_sweep(spec_from_dict(d, formats=CATALOG))
    assert list(df["format"]) == ["Capsule 10 in", "Capsule 30 in"]
    # risk area near the closed form of test_risk: 0.5 + 2·exp(σ·1.645), σ = √ln 1.04
    assert_allclose(df["risk_area_m2"], 0.5 + 2.0 * np.exp(np.sqrt(np.log(1.04)) * 1.6448536), rtol=0.03)
    assert (df["count"] == np.ceil(df["risk_area_m2"] / np.array([0.69, 2.07]))).all()
    assert (df["implied_safety_factor"] > 1.2).all()


@pytest.mark.parametrize("change,field", [
    ({"model": "gel"}, "model"),
    ({"params": {"J0_LMH": 1000.0}}, "params.ks_m2_per_L"),
    ({"axes": {"pressure_bar": {"min": 2.0, "max": 1.0, "n": 3}}}, "axes.pressure_bar"),
    ({"axes": {"temperature_C": [20.0]}}, "axes.temperature_C"),
    ({"axes": {"format": ["Disc 999 mm"]}, "fixed": {"process_time_h": 1, "batch_volume_L": 1}},
     "axes.format"),
    ({"axes": {"process_time_h": {"min": 1, "max": 2}}, "fixed": {"batch_volume_L": 10}},
     "axes.process_time_h.n"),
    ({"axes": {"process_time_h": [1.0]}}, "fixed.batch_volume_L"),
    ({"sampling": "sobol"}, "sampling"),
    ({"sampling": "latin-hypercube"}, "n_samples"),
    ({"reference_pressure_bar": None}, "reference_pressure_bar"),
    ({"uncertainty": {"confidence": 1.2}}, "uncertainty.confidence"),
    ({"safety_factor": 0.8}, "safety_factor"),
    ({"axes": {"flux_LMH": [100.0], "process_time_h": [1.0], "batch_volume_L": [1.0]}}, "axes.flux_LMH"),
    ({"colour": "red"}, "colour"),
])
def test_spec_errors_name_the_field(change, field):
    d = base()
    d.update(change)
    with pytest.raises(InputError) as err:
        spec_from_dict(d, formats=CATALOG, source="spec.yaml")
    assert err.value.field == field
    assert "spec.yaml" in str(err.value)


def test_example_spec_reads_and_runs(tmp_path):
    spec = read_sweep_spec(EXAMPLE)
    assert spec.n_scenarios == 7 * 8 * 3 * 4
    df = run_sweep(spec, chunk_size=100)
    assert len(df) == spec.n_scenarios and df["feasible"].any()
    table = contour_table(df, "process_time_h", "pressure_bar", "installed_area_m2", agg="min")
    assert table.shape == (7, 8)
    out = write_sweep_table(df, tmp_path / "sweep.csv")
    back = pd.read_csv(out, index_col="scenario")
    assert_allclose(back["min_area_m2"], df["min_area_m2"])
    with pytest.raises(InputError, match="must end in"):
        write_sweep_table(df, tmp_path / "sweep.xlsx")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="pyarrow"):
            write_sweep_table(df, tmp_path / "sweep.parquet")
    with pytest.raises(InputError, match="YAML"):
        parse_sweep_spec("model: [", source="bad.yaml")
    with pytest.raises(InputError, match="not found"):
        read_sweep_spec(tmp_path / "missing.yaml")
