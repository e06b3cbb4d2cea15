"""``fluxwise lab``: the JSON shapes of the issue, exit code 2 naming the key, and no hidden value in any
rig file or trainee-facing output (grepped at 3 to 6 significant figures and in converted units)."""

from __future__ import annotations

import json
import re

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from fluxwise.cli import main
from fluxwise.io.lab_scenario import list_scenarios, load_scenario, shipped_scenarios_dir
from fluxwise.models.fouling import MODEL_NAMES
from fluxwise.training import draw_truth, reveal
from lab_leaks import assert_clean, hidden_values, split_rig
from lab_trainee import limit_for


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def ok(*args):
    r = run(*args)
    assert r.exit_code == 0, r.output
    return r.output


def test_scenarios_json_shape():
    views = json.loads(ok("lab", "scenarios", "--json"))
    assert [v["id"] for v in views] == [s.id for s in list_scenarios()]
    for v in views:
        assert {"id", "title", "level", "filters", "modes", "budget", "task"} <= set(v)
        assert all(
            {"name", "areas"} <= set(f) and all(a.endswith("cm2") for a in f["areas"]) for f in v["filters"]
        )
        assert {"batch_volume", "process_time", "catalog"} <= set(v["task"])
    text = ok("lab", "scenarios")
    assert "mab-sterile-filtration" in text and "easy" in text


def test_run_writes_a_rig_file_fit_reads_and_prints_the_budget_left(tmp_path):
    out = tmp_path / "trial.csv"
    d = json.loads(
        ok(
            "lab",
            "run",
            "mab-sterile-filtration",
            "--seed",
            4,
            "--filter",
            "PES 0.2 um",
            "--area",
            "3.5 cm2",
            "--pressure",
            "30 psi",
            "--duration",
            "45 min",
            "-o",
            out,
            "--json",
        )
    )
    assert d["record"] == "TRAINING - SIMULATED" and d["run"]["points"] == 46
    # 1000 mL budget − (filtrate + 5 mL hold-up); 12 h − (0.25 h set-up + 0.75 h)
    assert d["budget_left"]["feed_mL"] == pytest.approx(1000 - d["run"]["filtrate_mL"] - 5)
    assert d["budget_left"]["bench_h"] == pytest.approx(11.0)
    fit = json.loads(ok("fit", out, "--json"))
    assert fit["trial"]["points"] == 46 and fit["trial"]["mode"] == "constant-pressure"
    text = ok(
        "lab",
        "run",
        "mab-sterile-filtration",
        "--seed",
        4,
        "--filter",
        "PES 0.2 um",
        "--area",
        "3.5 cm2",
        "--pressure",
        "30 psi",
        "--duration",
        "45 min",
        "-o",
        tmp_path / "t.xlsx",
        "--plot",
        tmp_path / "p.html",
    )
    assert "Budget left: feed" in text and (tmp_path / "p.html").read_text().count("<table>") == 3


def test_an_attempt_file_keeps_the_budget_between_commands(tmp_path):
    att = tmp_path / "attempt.json"
    args = [
        "lab",
        "run",
        "lv-harvest-filtration",
        "--seed",
        2,
        "--filter",
        "PES 0.45 um",
        "--area",
        "3.5 cm2",
        "--pressure",
        "10 psi",
        "--duration",
        "30 min",
        "--attempt",
        att,
        "--json",
    ]
    first = json.loads(ok(*args, "-o", tmp_path / "a.csv"))
    second = json.loads(ok(*args, "-o", tmp_path / "b.csv"))
    assert second["run"]["run"] == 2
    assert second["budget_left"]["bench_h"] == pytest.approx(first["budget_left"]["bench_h"] - 0.75)
    r = run(*args[:4], 99, *args[5:], "-o", tmp_path / "c.csv")
    assert r.exit_code == 2 and "--seed" in r.output
    # 6 h of bench time: 1.5 h used, a 4 h run (+ 0.25 h set-up) fits, then a 30 min run does not
    common = [
        "lab",
        "run",
        "lv-harvest-filtration",
        "--attempt",
        att,
        "--filter",
        "PES 0.45 um",
        "--area",
        "3.5 cm2",
        "--pressure",
        "10 psi",
    ]
    ok(*common, "--duration", "4 h", "-o", tmp_path / "d.csv")
    r = run(*common, "--duration", "30 min", "-o", tmp_path / "e.csv")
    assert r.exit_code == 2 and "refused (bench time)" in r.output and "0.25 h of bench time left" in r.output


def test_grade_and_reveal_json_shapes(tmp_path):
    answer = tmp_path / "answer.yaml"
    answer.write_text(
        yaml.safe_dump(
            {
                "mechanism": "standard",
                "min_area": "2.5 m2",
                "format": "Cartridge 30 in",
                "count": 2,
                "safety_factor": 1.5,
                "safety_factor_reason": "scale-up",
            }
        )
    )
    d = json.loads(ok("lab", "grade", "mab-sterile-filtration", "--seed", 5, "--answer", answer, "--json"))
    assert {"score", "parts"} <= set(d) and 0 <= d["score"] <= 100
    assert [p["name"] for p in d["parts"]] == [
        "mechanism",
        "area",
        "safety_factor",
        "format",
        "efficiency",
        "gmp",
    ]
    assert all({"name", "score", "max", "feedback"} <= set(p) for p in d["parts"])
    r = json.loads(ok("lab", "reveal", "mab-sterile-filtration", "--seed", 5, "--json"))
    assert r["mechanism"] == "standard" and set(r["params"]) == {"J0_LMH", "ks_m2_per_L"}
    assert r == json.loads(json.dumps(reveal(load_scenario("mab-sterile-filtration"), 5)))
    assert "standard" in ok("lab", "reveal", "mab-sterile-filtration", "--seed", 5)


@pytest.mark.parametrize(
    "content,needle",
    [
        ({"mechanism": "standart"}, "field 'mechanism'"),
        ({"min_area": "2.5 m3"}, "field 'min_area'"),
        ({"colour": "red"}, "field 'colour'"),
        ({"format": "Capsule 40 in"}, "field 'format'"),
        ({"safety_factor_reason": "luck"}, "field 'safety_factor_reason'"),
    ],
)
def test_bad_answers_exit_2_naming_the_key(tmp_path, content, needle):
    base = {
        "mechanism": "standard",
        "min_area": "2.5 m2",
        "format": "Cartridge 30 in",
        "count": 2,
        "safety_factor": 1.5,
        "safety_factor_reason": "scale-up",
    }
    answer = tmp_path / "answer.yaml"
    answer.write_text(yaml.safe_dump({**base, **content}))
    r = run("lab", "grade", "mab-sterile-filtration", "--seed", 5, "--answer", answer)
    assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output, r.output


def test_bad_scenarios_exit_2_naming_the_key(tmp_path):
    data = yaml.safe_load((shipped_scenarios_dir() / "mab-sterile-filtration.yaml").read_text())
    data["filters"][0]["truth"]["ks_m2_per_L"] = {"low": 4e-3, "high": 1e-3}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    r = run("lab", "reveal", bad, "--seed", 1)
    assert r.exit_code == 2 and "bad.yaml" in r.output and "filters[0].truth.ks_m2_per_L.high" in r.output
    folder = tmp_path / "installed"
    folder.mkdir()
    (folder / "bad.yaml").write_text(yaml.safe_dump(data))
    r = run("lab", "--scenarios", folder, "scenarios")
    assert r.exit_code == 2 and "filters[0].truth.ks_m2_per_L.high" in r.output
    r = run(
        "lab",
        "run",
        "no-such-scenario",
        "--seed",
        1,
        "--filter",
        "x",
        "--area",
        "1 cm2",
        "--pressure",
        "1 bar",
        "--duration",
        "1 h",
        "-o",
        tmp_path / "x.csv",
    )
    assert r.exit_code == 2 and "no scenario 'no-such-scenario'" in r.output


def test_installed_scenarios_are_listed(tmp_path):
    data = yaml.safe_load((shipped_scenarios_dir() / "mab-sterile-filtration.yaml").read_text())
    data["id"] = "site-sop-sterile"
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(data))
    ids = [v["id"] for v in json.loads(ok("lab", "--scenarios", tmp_path, "scenarios", "--json"))]
    assert "site-sop-sterile" in ids and "mab-sterile-filtration" in ids


# --------------------------------------------------------------------------- the truth never leaks


@pytest.mark.parametrize("sid", [s.id for s in list_scenarios()])
def test_no_hidden_value_reaches_the_trainee(sid, tmp_path):
    """An assessment attempt walked through every command; practice mode shows the truth after grading
    on purpose (tests/test_lab_attempt.py)."""
    sc = load_scenario(sid)
    seed = 8
    hidden = hidden_values(sc, draw_truth(sc, seed))
    att = tmp_path / "attempt.json"
    outputs = [ok("lab", "scenarios", "--json"), ok("lab", "scenarios")]
    t, f = sc.task, sc.filters[0]
    cond = (
        ["--pressure", f"{t.pressure_bar:.4g} bar"]
        if t.mode == "constant-pressure"
        else ["--flux", f"{t.flux_LMH:g} LMH"]
    )
    ext = ".xlsx" if sc.rig.export == "xlsx" else ".csv"
    files = []
    for i, minutes in enumerate((20, 60)):
        out = tmp_path / f"run{i}{ext}"
        for flag in ("--json", None):
            args = [
                "lab",
                "run",
                sid,
                "--seed",
                seed,
                "--filter",
                f.name,
                "--area",
                f.discs[0].label,
                *cond,
                "--duration",
                f"{minutes} min",
                "-o",
                out,
                "--attempt",
                att,
                "--mode",
                "assessment",
            ]
            args += [flag] if flag else []
            outputs.append(ok(*args))
        files.append(out)
    label = json.loads(ok("lab", "status", sid, "--attempt", att, "--json"))["device_label"]
    outputs.append(
        ok(
            "lab",
            "act",
            sid,
            "verify",
            f"part_number={label['part_number']}",
            f"lot={label['lot']}",
            f"expiry={label['expiry']}",
            "decision=accept",
            "--by",
            "kim",
            "--attempt",
            att,
            "--json",
        )
    )
    outputs.append(ok("lab", "act", sid, "install", "vented=true", "--by", "kim", "--attempt", att))
    outputs.append(ok("lab", "act", sid, "flush", "volume=100 L", "--by", "kim", "--attempt", att))
    test = json.loads(
        ok("lab", "act", sid, "integrity_test", "stage=pre", "--by", "kim", "--attempt", att, "--json")
    )
    outputs.append(json.dumps(test))
    lim = limit_for(
        json.loads(outputs[0])[[s.id for s in list_scenarios()].index(sid)]["gmp"]["integrity"], test
    )
    unit = "bar" if sc.gmp.integrity.method == "bubble-point" else "mL/min"
    outputs.append(
        ok(
            "lab",
            "act",
            sid,
            "record_result",
            f"test={test['test']}",
            f"limit={lim:.4f} {unit}",
            "verdict=pass",
            "--by",
            "kim",
            "--attempt",
            att,
        )
    )
    outputs.append(ok("lab", "status", sid, "--attempt", att, "--json"))
    outputs.append(ok("lab", "status", sid, "--attempt", att))
    answer = tmp_path / "answer.yaml"
    ans = {
        "mechanism": "standard",
        "min_area": "3 m2",
        "format": "Cartridge 30 in",
        "count": 3,
        "safety_factor": 1.5,
        "safety_factor_reason": "lot-variability",
    }
    if t.prefilter_decision:
        ans["prefilter"] = "none"
    answer.write_text(yaml.safe_dump(ans))
    outputs.append(ok("lab", "grade", sid, "--answer", answer, "--attempt", att, "--json"))
    outputs.append(ok("lab", "status", sid, "--attempt", att, "--json"))

    for i, text in enumerate(outputs):
        assert_clean(text, hidden, f"output {i}")
        assert "truth" not in text.lower()
    mechanisms = re.compile(
        r"\b(" + "|".join(sorted({w for m in MODEL_NAMES for w in m.split("-")})) + r")\b"
    )
    for path in files:
        if path.suffix == ".xlsx":
            ws = openpyxl.load_workbook(path).active
            rows = [
                "\t".join("" if c is None else str(c) for c in row) for row in ws.iter_rows(values_only=True)
            ]
            head = "\n".join(r for r in rows if r.split("\t")[0].endswith(":"))
            table = "\n".join(r for r in rows if not r.split("\t")[0].endswith(":"))
        else:
            head, table = split_rig(path.read_text())
        assert "TRAINING - SIMULATED" in head
        assert not mechanisms.search(head + table), path
        assert_clean(head, hidden, f"{path.name} metadata")
        # the readings themselves approach the truth as any measurement does; a hidden constant written
        # among them would show at 5 or 6 significant figures
        assert_clean(table, hidden, f"{path.name} table", digits=range(5, 7))


def test_the_leak_check_catches_planted_values():
    sc = load_scenario("mab-sterile-filtration")
    tr = draw_truth(sc, 8)
    hidden = hidden_values(sc, tr)
    p = tr.fit_params("PES 0.2 um", pressure_bar=sc.task.pressure_bar)
    ks = p["ks_m2_per_L"]
    for planted in (
        f"J0 {p['J0_LMH']:.4g} LMH",
        f"{p['J0_LMH'] / 600:.3g} mL/min/cm2",
        f"ks {ks:.6g}",
        f"{ks * 10:.3e} cm2/mL",
        f"Vmax {2 / ks:.5g} L/m2",
        f"viscosity {tr.viscosity_cP:.3g} cP",
    ):
        with pytest.raises(AssertionError):
            assert_clean(planted, hidden, "planted")
    assert_clean("Filter area: 3.5 cm2, Set point: 30 psi", hidden, "harmless")
