"""UF/DF bench data: readers, bad input, and the knee, gel-model and mass-transfer fits of files.

Expected numbers come from the generator's stated parameters (examples/make_ufdf_examples.py) and
hand derivations written where they are used:

* gel model J_lim = k ln(Cg/C) (Blatt et al. 1970), Cg = 250 g/L;
* k = a·Q^b with b = 0.5, a = 20/√300 = 1.1547, so k = 20 LMH at 300 LMH feed flux;
* J = min(Lp·TMP, J_lim) with Lp = 30 LMH/bar: the knee is at TMP* = J_lim/Lp;
* a permeate flow Qp [mL/min] on A [m²] is a flux Qp·60/1000/A [L/m²/h];
* a feed flow Qf [L/min] on A [m²] is a feed flux Qf·60/A [L/m²/h].
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fluxwise.cli import main
from fluxwise.errors import InputError, UnitError
from fluxwise.io.ufdf_data import (
    analyze_gel_polarization,
    analyze_mass_transfer,
    analyze_tmp_excursions,
    read_flux_vs_concentration,
    read_limiting_flux,
    read_tmp_excursion,
    read_ufdf_data,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TMP_FILE = EXAMPLES / "ufdf_tmp_excursion.csv"
CONC_FILE = EXAMPLES / "ufdf_flux_vs_concentration.csv"

# the generator's stated parameters
CG, B, LP, AREA = 250.0, 0.5, 30.0, 0.11
A = 20.0 / math.sqrt(300.0)


def _k(q_lmh):
    return A * q_lmh ** B


def _write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ------------------------------------------------------------------------------------ readers

def test_the_example_excursion_file_is_read_in_canonical_units():
    d = read_tmp_excursion(TMP_FILE)
    assert d.meta["columns"] == {"tmp": "TMP (bar)", "crossflow": "Feed flow (L/min)",
                                 "concentration": "Concentration (g/L)", "flux": "Permeate flow (mL/min)"}
    assert d.area_m2 == pytest.approx(AREA) and d.meta["area_source"] == "metadata"
    assert d.points == 30 and d.rows[0] == 8  # six metadata/blank lines and the header above
    # first data row as written: Qp mL/min on 0.11 m² = Qp·60/1000/0.11 LMH;
    # 0.33 L/min = 0.33·60/0.11 = 180 LMH
    first = TMP_FILE.read_text(encoding="utf-8").splitlines()[7].split(",")
    assert first[0] == "0.33"
    assert d.tmp_bar[0] == float(first[1])
    assert d.flux_LMH[0] == pytest.approx(float(first[2]) * 60 / 1000 / 0.11, rel=1e-12)
    assert d.crossflow_unit == "LMH"
    assert sorted({round(q, 6) for q in d.crossflow}) == pytest.approx([180.0, 300.0, 480.0])
    assert [g.label for g in d.groups()] == ["crossflow 180 LMH, C 60 g/L", "crossflow 300 LMH, C 60 g/L",
                                             "crossflow 480 LMH, C 60 g/L"]


def test_units_in_psi_and_a_flux_column(tmp_path):
    # 14.5038 psi = 1 bar (1 psi = 0.0689476 bar)
    path = _write(tmp_path, "TMP [psi],Flux [LMH]\n14.5038,30\n29.0075,45\n")
    d = read_tmp_excursion(path)
    assert d.tmp_bar == pytest.approx([1.0, 2.0], rel=1e-5)
    assert d.flux_LMH == pytest.approx([30.0, 45.0])
    assert d.meta["flux_from"] == "flux" and d.area_m2 is None


def test_units_row_semicolons_and_decimal_commas(tmp_path):
    path = _write(tmp_path, "Membrane area: 50 cm2\nTMP;Permeate flow\nkPa;mL/min\n50;1,5\n100;2,25\n")
    d = read_tmp_excursion(path)
    # 50 kPa = 0.5 bar; 1.5 mL/min on 50 cm² = 1.5·60/1000/0.005 = 18 LMH
    assert d.tmp_bar == pytest.approx([0.5, 1.0])
    assert d.flux_LMH == pytest.approx([18.0, 27.0])
    assert d.area_m2 == pytest.approx(0.005)


def test_tmp_from_feed_retentate_and_permeate_pressure(tmp_path):
    path = _write(tmp_path, "P feed (bar),P retentate (bar),P permeate (bar),Flux (LMH)\n"
                            "1.5,0.9,0.1,20\n2.5,1.3,0.2,30\n")
    d = read_tmp_excursion(path)
    # TMP = (Pf + Pr)/2 − Pp: (1.5 + 0.9)/2 − 0.1 = 1.1; (2.5 + 1.3)/2 − 0.2 = 1.7
    assert d.tmp_bar == pytest.approx([1.1, 1.7])
    assert d.meta["tmp_from"] == "feed, retentate and permeate pressure"


def test_an_excel_workbook_and_a_run_column(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Excursions"
    ws.append(["Membrane area:", "0.11 m2"])
    ws.append(["Run", "TMP (bar)", "Flux (LMH)"])
    for run, j_lim in (("A", 20.0), ("B", 30.0)):
        for tmp in (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0):
            ws.append([run, tmp, min(LP * tmp, j_lim)])
    path = tmp_path / "runs.xlsx"
    wb.save(path)
    d = read_tmp_excursion(path, sheet="Excursions")
    assert [g.label for g in d.groups()] == ["run A", "run B"]
    a = analyze_tmp_excursions(d)
    # knees at J_lim/Lp = 20/30 and 30/30 bar, plateaus at 20 and 30 LMH
    assert [e.result.knee_tmp_bar for e in a.excursions] == pytest.approx([2 / 3, 1.0], rel=1e-4)
    assert [e.result.limiting_flux_LMH for e in a.excursions] == pytest.approx([20.0, 30.0], rel=1e-6)


def test_explicit_columns_override_detection(tmp_path):
    path = _write(tmp_path, "Zeit (min),Druck TM (bar),Leistung (LMH)\n0,0.5,10\n5,1,20\n")
    d = read_ufdf_data(path, columns={"tmp": "Druck TM (bar)", "flux": "Leistung"}, require=("tmp", "flux"))
    assert d.tmp_bar == pytest.approx([0.5, 1.0]) and d.flux_LMH == pytest.approx([10.0, 20.0])
    assert d.meta["ignored_columns"] == ["Zeit (min)"]


# ---------------------------------------------------------------------- fits against hand values

def test_knee_of_an_ideal_excursion_by_hand(tmp_path):
    # J = min(40·TMP, 36): the lines meet at TMP* = 36/40 = 0.9 bar, plateau 36 LMH, slopes 40 and 0
    tmps = np.arange(0.25, 2.51, 0.25)
    rows = "\n".join(f"{t:.2f},{min(40 * t, 36.0):.6f}" for t in tmps)
    r = _cli("tmp-excursion", _write(tmp_path, "TMP (bar),Flux (LMH)\n" + rows + "\n"), "--json")
    assert r.exit_code == 0, r.output
    ex = json.loads(r.output)["excursions"][0]
    assert ex["knee_tmp_bar"] == pytest.approx(0.9, rel=1e-4)
    assert ex["knee_flux_LMH"] == pytest.approx(36.0, rel=1e-4)
    assert ex["limiting_flux_LMH"] == pytest.approx(36.0, rel=1e-6)
    assert ex["initial_slope_LMH_per_bar"] == pytest.approx(40.0, rel=1e-4)
    assert ex["final_slope_LMH_per_bar"] == pytest.approx(0.0, abs=1e-4)
    assert ex["rows"] == [2, 11] and ex["points"] == 10


def test_gel_fit_of_exact_points_by_hand(tmp_path):
    # J = 20·ln(250/C): C = 10, 50, 100 g/L give 20 ln 25, 20 ln 5, 20 ln 2.5
    rows = "\n".join(f"{c},{20 * math.log(250 / c):.12f}" for c in (10, 50, 100))
    r = _cli("gel-fit", _write(tmp_path, "Concentration (g/L),Flux (LMH)\n" + rows + "\n"), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["k_LMH"] == pytest.approx(20.0, rel=1e-9)
    assert d["gel_concentration_g_per_L"] == pytest.approx(250.0, rel=1e-9)
    assert d["n_points"] == 3 and d["input"] == "points"


def test_mass_transfer_of_exact_points_by_hand(tmp_path):
    # k = 2·Q^0.5 at Q = 100, 400, 900 LMH: 20, 40, 60 LMH; at C = 25 g/L and Cg = 250 g/L the limiting
    # flux is k·ln(250/25) = k·ln 10
    rows = "\n".join(f"{q},{2 * q ** 0.5 * math.log(10):.12f}" for q in (100, 400, 900))
    path = _write(tmp_path, "Crossflow (LMH),Limiting flux (LMH)\n" + rows + "\n")
    r = _cli("mass-transfer", path, "--cg", "250 g/L", "--concentration", "25 g/L", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["fitted_quantity"] == "k_LMH"
    assert d["a"] == pytest.approx(2.0, rel=1e-9) and d["b"] == pytest.approx(0.5, rel=1e-9)
    assert [p["k_LMH"] for p in d["points"]] == pytest.approx([20.0, 40.0, 60.0], rel=1e-9)
    # without Cg the limiting flux itself: same b, a = 2·ln 10
    r = _cli("mass-transfer", path, "--json")
    d = json.loads(r.output)
    assert d["fitted_quantity"] == "limiting_flux_LMH"
    assert d["a"] == pytest.approx(2 * math.log(10), rel=1e-9) and d["b"] == pytest.approx(0.5, rel=1e-9)
    assert any("limiting flux itself was fitted" in w for w in d["warnings"])


def test_the_example_excursions_give_back_the_stated_knees():
    a = analyze_tmp_excursions(read_tmp_excursion(TMP_FILE))
    for ex, q in zip(a.excursions, (180.0, 300.0, 480.0), strict=True):
        j_lim = _k(q) * math.log(CG / 60.0)  # 22.11, 28.54, 36.10 LMH
        knee = j_lim / LP  # 0.737, 0.951, 1.203 bar
        assert ex.group.crossflow == pytest.approx(q)
        # TMP noise 0.005 bar, flux noise 1.5 %
        assert ex.result.knee_tmp_bar == pytest.approx(knee, abs=0.03)
        assert ex.result.limiting_flux_LMH == pytest.approx(j_lim, rel=0.03)
        assert ex.result.initial_slope_LMH_per_bar == pytest.approx(LP, rel=0.05)
        assert not ex.result.warnings


def test_the_slope_fraction_knee_is_the_first_set_point_on_the_plateau():
    a = analyze_tmp_excursions(read_tmp_excursion(TMP_FILE), method="slope-fraction")
    for ex, q in zip(a.excursions, (180.0, 300.0, 480.0), strict=True):
        knee = _k(q) * math.log(CG / 60.0) / LP
        # set points every 0.2 bar (read back ±0.005): the knee is the first at or just below TMP*
        assert knee - 0.03 <= ex.result.knee_tmp_bar <= knee + 0.2


def test_the_example_gel_fit_holds_the_stated_k_and_cg():
    f = analyze_gel_polarization(read_flux_vs_concentration(CONC_FILE)).fit
    assert f.k_ci_LMH[0] < 20.0 < f.k_ci_LMH[1]
    assert f.gel_concentration_ci_g_per_L[0] < CG < f.gel_concentration_ci_g_per_L[1]
    assert f.k_LMH == pytest.approx(20.0, rel=0.03)
    assert f.gel_concentration_g_per_L == pytest.approx(CG, rel=0.05)
    assert f.n_points == 9


def test_the_example_excursions_give_back_the_mass_transfer_correlation():
    m = analyze_mass_transfer(read_limiting_flux(TMP_FILE), gel_concentration_g_per_L=CG)
    assert m.input == "excursions" and m.fit.fitted_quantity == "k_LMH"
    assert m.concentration_g_per_L == pytest.approx(60.0)
    assert m.fit.b_ci[0] < B < m.fit.b_ci[1] and m.fit.a_ci[0] < A < m.fit.a_ci[1]
    assert m.fit.b == pytest.approx(B, abs=0.05)
    # k at 300 LMH: 20 LMH by construction
    assert float(m.fit.predict(300.0)) == pytest.approx(20.0, rel=0.03)


def test_gel_fit_from_excursions_at_several_concentrations(tmp_path):
    # three excursions at one crossflow (k = 20 LMH): J_lim = 20·ln(250/C) at C = 20, 60, 120 g/L
    lines = ["Concentration (g/L),TMP (bar),Flux (LMH)"]
    for c in (20.0, 60.0, 120.0):
        for t in np.arange(0.2, 2.61, 0.2):
            lines.append(f"{c},{t:.2f},{min(LP * t, 20 * math.log(CG / c)):.9f}")
    r = _cli("gel-fit", _write(tmp_path, "\n".join(lines) + "\n"), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["input"] == "excursions" and len(d["excursions"]) == 3
    assert d["k_LMH"] == pytest.approx(20.0, rel=1e-6)
    assert d["gel_concentration_g_per_L"] == pytest.approx(CG, rel=1e-6)


# ------------------------------------------------------------------------------------- the CLI

def test_cli_human_output_has_units_and_the_plot_is_self_contained(tmp_path):
    from plotly.offline import get_plotlyjs

    for args, texts in ((["tmp-excursion", TMP_FILE], ["knee TMP [bar]", "limiting flux [LMH]", "L/m²/h"]),
                        (["gel-fit", CONC_FILE], ["L/m²/h", "g/L", "95% interval", "Cg/e"]),
                        (["mass-transfer", TMP_FILE, "--cg", "250 g/L"], ["mass_transfer_a", "L/m²/h"])):
        out = tmp_path / f"{args[0]}.html"
        r = _cli(*args, "-o", out)
        assert r.exit_code == 0, r.output
        for t in texts:
            assert t in r.output, (t, r.output)
        html = out.read_text(encoding="utf-8")
        assert html.count(get_plotlyjs()[:200]) == 1  # plotly.js embedded once
        assert "<script src=" not in html
        assert 'class="plotly-graph-div"' in html


def test_cli_json_names_the_plot(tmp_path):
    out = tmp_path / "p.html"
    r = _cli("gel-fit", CONC_FILE, "--json", "-o", out)
    assert r.exit_code == 0
    d = json.loads(r.output)
    assert d["plot"] == str(out) and out.is_file()
    keys = {"k_LMH", "k_ci_LMH", "gel_concentration_g_per_L", "gel_concentration_ci_g_per_L", "points"}
    assert keys <= set(d)


# ------------------------------------------------------------------------------------ bad input

BAD = [
    # (file text, command, row, column, words in the message)
    ("TMP (bar),Flux (LMH)\n0.5,10\n1.0,abc\n1.5,20\n2.0,21\n", "tmp-excursion", 3, "Flux (LMH)", "abc"),
    ("TMP (bar),Flux (LMH)\n0.5,10\n1.0,\n1.5,20\n2.0,21\n", "tmp-excursion", 3, "Flux (LMH)", "no value"),
    ("TMP (bar),Flux (LMH)\n0.5,10\n1.0,15\n1.5,-20\n2.0,21\n", "tmp-excursion", 4, "Flux (LMH)", "-20"),
    ("TMP (bar),Flux (LMH)\n0.5,10\n-1.0,15\n1.5,20\n2.0,21\n", "tmp-excursion", 3, "TMP (bar)", "-1"),
    ("Concentration (g/L),Flux (LMH)\n10,60\n0,40\n100,20\n", "gel-fit", 3, "Concentration (g/L)",
     "positive"),
    ("Crossflow (LMH),Flux (LMH)\n100,20\n0,30\n900,40\n", "mass-transfer", 3, "Crossflow (LMH)", "positive"),
]


@pytest.mark.parametrize("text, command, row, column, words", BAD)
def test_bad_cells_exit_2_naming_file_row_and_column(tmp_path, text, command, row, column, words):
    path = _write(tmp_path, text)
    r = _cli(command, path)
    assert r.exit_code == 2, r.output
    assert path in r.output and f"row {row}" in r.output and f"column '{column}'" in r.output, r.output
    assert words in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("text, command, column, words", [
    ("TMP,Flux (LMH)\n0.5,10\n1,20\n", "tmp-excursion", "TMP", "no unit"),
    ("TMP (L),Flux (LMH)\n0.5,10\n1,20\n", "tmp-excursion", "TMP (L)", "not a pressure unit"),
    ("TMP (bar),Flux (xyzzy)\n0.5,10\n1,20\n", "tmp-excursion", "Flux (xyzzy)", "unknown unit"),
    ("TMP (bar),Flux (furlongs)\n0.5,10\n1,20\n", "tmp-excursion", "Flux (furlongs)", "not a flux unit"),
    ("TMP (bar),Permeate flow (mL/min)\n0.5,10\n1,20\n", "tmp-excursion", "Permeate flow (mL/min)", "--area"),
    ("Concentration (g/L),Crossflow (LMH),Flux (LMH)\n10,100,50\n50,300,30\n100,300,20\n", "gel-fit",
     "Crossflow (LMH)", "needs one crossflow"),
    ("Concentration (g/L),Crossflow (LMH),Flux (LMH)\n10,100,50\n50,300,30\n100,900,20\n", "mass-transfer",
     "Concentration (g/L)", "needs one concentration"),
])
def test_bad_columns_exit_2_naming_file_and_column(tmp_path, text, command, column, words):
    path = _write(tmp_path, text)
    r = _cli(command, path)
    assert r.exit_code == 2, r.output
    assert path in r.output and f"column '{column}'" in r.output and words in r.output, r.output


def test_too_few_tmp_levels_name_the_excursion_its_rows_and_the_tmp_column(tmp_path):
    text = ("Run,TMP (bar),Flux (LMH)\n" + "".join(f"A,{t},{30 * t}\n" for t in (0.5, 1, 1.5, 2, 2.5))
            + "B,0.5,15\nB,1,25\nB,1.5,26\n")
    path = _write(tmp_path, text)
    r = _cli("tmp-excursion", path)
    assert r.exit_code == 2, r.output
    assert path in r.output and "run B (rows 7–9)" in r.output and "column 'TMP (bar)'" in r.output
    assert "at least 4 TMP levels" in r.output


@pytest.mark.parametrize("args, words", [
    (["tmp-excursion", "{dir}/nope.csv"], "file not found"),
    (["tmp-excursion", "{csv}", "--area", "0.11 L"], "field '--area'"),
    (["tmp-excursion", "{csv}", "--column", "tmp=Nope (bar)"], "field '--column'"),
    (["tmp-excursion", "{csv}", "--column", "pressure=TMP (bar)"], "unknown column role"),
    (["gel-fit", "{csv}"], "no concentration column"),
    (["mass-transfer", "{csv}"], "no crossflow column"),
    (["mass-transfer", "{csv}", "--cg", "250 LMH"], "field '--cg'"),
    (["gel-fit", "{csv}", "--confidence", "95"], "field '--confidence'"),
    (["tmp-excursion", "{empty}"], "the file is empty"),
    (["tmp-excursion", "{csv}", "--sheet", "1"], "has no sheets"),
])
def test_bad_files_and_options_exit_2(tmp_path, args, words):
    csv = _write(tmp_path, "TMP (bar),Flux (LMH)\n" + "".join(f"{t},{30 * t}\n" for t in (0.5, 1, 1.5, 2)))
    empty = _write(tmp_path, "", "empty.csv")
    r = _cli(*[a.format(dir=tmp_path, csv=csv, empty=empty) for a in args])
    assert r.exit_code == 2, r.output
    assert words in r.output, r.output
    assert "Traceback" not in r.output


def test_reader_errors_are_input_errors_with_row_and_column(tmp_path):
    path = _write(tmp_path, "TMP (bar),Flux (LMH)\n0.5,10\n1.0,x\n")
    with pytest.raises(InputError) as exc:
        read_tmp_excursion(path)
    assert exc.value.source == path and exc.value.row == 3 and exc.value.column == "Flux (LMH)"
    with pytest.raises(UnitError):
        read_tmp_excursion(_write(tmp_path, "TMP (g/L),Flux (LMH)\n0.5,10\n", "u.csv"))
