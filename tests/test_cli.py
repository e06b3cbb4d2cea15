"""The command line as a user and a script meet it: JSON keys, reports, exit code 2 on bad input."""

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fluxwise.cli import main
from fluxwise.models.fouling import MODEL_NAMES

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MAB = str(EXAMPLES / "mab_sterile_filtration.csv")
CHO = str(EXAMPLES / "cho_harvest_depth_filtration.csv")
VIRUS = str(EXAMPLES / "virus_filtration.xlsx")
PARAM_KEYS = {"J0_LMH", "kb_per_h", "ki_m2_per_L", "ks_m2_per_L", "kc_h_m4_per_L2", "P0_bar"}


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_fit_json_contract():
    r = run("fit", MAB, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["trial"]["mode"] == "constant-pressure"
    assert d["trial"]["area_m2"] == pytest.approx(13.8e-4)
    assert d["trial"]["points"] == 181
    assert {m["name"] for m in d["models"]} == set(MODEL_NAMES)
    for m in d["models"]:
        assert {"name", "params", "ci95", "sse", "r2", "aicc", "bic"} <= set(m)
        assert set(m["params"]) <= PARAM_KEYS
    assert d["best_model"] == d["models"][0]["name"]
    assert {"vmax_L_per_m2", "J0_LMH"} <= set(d["vmax"])
    # the example was simulated with cake-complete J0 = 1200 LMH, kb = 0.9 1/h, kc = 1.5e-6 (make_examples.py)
    cc = next(m for m in d["models"] if m["name"] == "cake-complete")
    assert d["best_model"] == "cake-complete" or "cake-complete" in d["indistinguishable"]
    for k, v in {"J0_LMH": 1200, "kb_per_h": 0.9, "kc_h_m4_per_L2": 1.5e-6}.items():
        lo, hi = cc["ci95"][k]
        assert lo <= v <= hi, (k, lo, hi)


def test_fit_constant_flux_example_recovers_simulation():
    d = json.loads(run("fit", CHO, "--json").output)
    assert d["trial"]["mode"] == "constant-flux"
    cs = next(m for m in d["models"] if m["name"] == "cake-standard")
    assert cs["params"]["J0_LMH"] == pytest.approx(150, rel=0.02)
    assert cs["params"]["P0_bar"] == pytest.approx(0.12, rel=0.1)
    assert cs["params"]["kc_h_m4_per_L2"] == pytest.approx(2.0e-4, rel=0.1)


def test_fit_excel_example():
    d = json.loads(run("fit", VIRUS, "--json").output)
    assert d["trial"]["area_m2"] == pytest.approx(3.1e-4)
    top = d["models"][0]["name"]
    assert top == "complete-standard" or "complete-standard" in d["indistinguishable"]


def test_size_json_contract_and_numbers():
    r = run("size", MAB, "--batch-volume", "2000 L", "--process-time", "1 h", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert {"model", "min_area_m2", "safety_factor", "installed_area_m2", "format", "v90_L_per_m2"} <= set(d)
    assert {"name", "area_m2", "count"} <= set(d["format"])
    assert d["safety_factor"] == 1.5
    assert d["installed_area_m2"] == pytest.approx(1.5 * d["min_area_m2"])
    assert d["format"]["count"] * d["format"]["area_m2"] >= d["installed_area_m2"]
    # units at the edge: 2 m3 in 60 min is the same request
    d2 = json.loads(run("size", MAB, "--batch-volume", "2 m**3", "--process-time", "60 min", "--json").output)
    assert d2["min_area_m2"] == pytest.approx(d["min_area_m2"], rel=1e-9)


def test_size_named_model_and_safety_factor():
    d = json.loads(run("size", MAB, "--model", "standard", "--safety-factor", "2", "--json").output)
    assert d["model"] == "standard" and d["installed_area_m2"] == pytest.approx(2 * d["min_area_m2"])


def test_size_constant_flux_needs_max_pressure():
    r = CliRunner().invoke(main, ["size", CHO])
    assert r.exit_code == 2 and "--max-pressure" in r.output
    d = json.loads(run("size", CHO, "--max-pressure", "25 psi", "--process-time", "2 h", "--json").output)
    assert d["final_pressure_bar"] == pytest.approx(25 * 0.0689476, rel=1e-4)


def test_human_output_shows_units():
    r = run("fit", MAB)
    assert "L/m²" in r.output and "cm²" in r.output and "Best:" in r.output
    r = run("size", MAB)
    assert re.search(r"minimum area\s+[\d.]+ m²", r.output)


def test_report_is_self_contained(tmp_path):
    out = tmp_path / "r.html"
    r = run("report", MAB, "-o", str(out))
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert "<script" in html and "Plotly" in html
    assert not re.search(r"<script[^>]+src=", html) and not re.search(r"<link[^>]+href=[\"']https?:", html)
    for needle in ("Vmax plot", "Flux decay", "Residuals", "cake-complete", "Sizing", "m²"):
        assert needle in html


@pytest.mark.parametrize("args,needle", [
    (["fit", "no_such_file.csv"], "no_such_file.csv"),
    (["size", MAB, "--batch-volume", "2000 furlongs"], "batch-volume"),
    (["size", MAB, "--process-time", "4 kg"], "not a time unit"),
    (["size", MAB, "--batch-volume", "-5 L"], "batch volume must be positive"),
    (["size", MAB, "--catalog", "missing_catalog.csv"], "catalog file not found"),
    (["fit", MAB, "--area", "13.8 psi"], "area"),
    (["fit", MAB, "--column", "nonsense"], "ROLE=HEADER"),
])
def test_bad_input_exit_code_2_without_traceback(args, needle):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output


def test_demo_writes_reports(tmp_path):
    ex = tmp_path / "examples"
    shutil.copytree(EXAMPLES, ex)
    r = run("demo", "--examples", str(ex), "-o", str(tmp_path / "reports"), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert len(d) == 3
    for item in d:
        assert Path(item["report"]).is_file() and item["min_area_m2"] > 0


def test_pipeline_report_defaults_process_time_at_constant_pressure():
    from fluxwise.pipeline import load_trial, report_html, size_result

    trial = load_trial(MAB)
    html = report_html(trial, batch_volume="2000 L")
    expected = size_result(trial, batch_volume="2000 L", process_time="4 h")["min_area_m2"]
    assert f"{expected:.4g} <span class=\"unit\">m²</span>" in html  # the 4 h default, sized


def test_size_with_confidence_adds_risk_keys():
    d = json.loads(run("size", MAB, "--process-time", "1 h", "--confidence", "0.95", "--feed-cv", "0.2",
                       "--json").output)
    assert d["confidence"] == 0.95
    assert d["risk_based_area_m2"] > d["min_area_m2"]  # lot variability can only add area at 95 %
    assert d["implied_safety_factor"] == pytest.approx(d["risk_based_area_m2"] / d["min_area_m2"], rel=1e-9)
    assert sum(d["risk"]["histogram"]["counts"]) > 0.99 * 100_000 * 0.998
    # more lot-to-lot variability needs more area at the same confidence
    d2 = json.loads(run("size", MAB, "--process-time", "1 h", "--confidence", "0.95", "--feed-cv", "0.4",
                        "--json").output)
    assert d2["risk_based_area_m2"] > d["risk_based_area_m2"]


@pytest.mark.parametrize("args,needle", [
    (["--confidence", "1.5"], "confidence"),
    (["--confidence", "abc"], "confidence"),
    (["--confidence", "0.9", "--feed-cv", "-1"], "feed-cv"),
])
def test_bad_confidence_options_exit_2(args, needle):
    r = CliRunner().invoke(main, ["size", MAB, *args])
    assert r.exit_code == 2 and needle in r.output, r.output


def test_report_with_confidence_shows_the_distribution(tmp_path):
    out = tmp_path / "r.html"
    assert run("report", MAB, "--process-time", "1 h", "--confidence", "0.9", "-o", str(out)).exit_code == 0
    html = out.read_text()
    assert "Risk-based sizing" in html and "Required area over parameter uncertainty" in html


def test_sweep_writes_table_and_contours(tmp_path):
    import pandas as pd

    out = tmp_path / "sweep.csv"
    r = run("sweep", str(EXAMPLES / "sweep.yaml"), "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    df = pd.read_csv(out)
    assert d["scenarios"] == len(df) == 7 * 8 * 3 * 4  # the axes of examples/sweep.yaml
    assert {"required_area_m2", "count", "cost_usd", "time_h", "feasible"} <= set(df.columns)
    assert "<script" in Path(d["plot"]).read_text() and Path(d["plot"]).stat().st_size > 1e6
    bad = CliRunner().invoke(main, ["sweep", str(EXAMPLES / "sweep.yaml"), "--out", str(tmp_path / "x.txt")])
    assert bad.exit_code == 2 and "--out" in bad.output
