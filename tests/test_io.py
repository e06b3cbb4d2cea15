"""Tests for fluxwise.io: reading filterability trials from CSV and Excel rig exports.

Expected numbers are worked out by hand in the comments next to each assertion.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from fluxwise.errors import FluxwiseError, InputError, UnitError
from fluxwise.io import parse_trial_frame, read_trial
from fluxwise.trial import CONSTANT_FLUX, CONSTANT_PRESSURE, Trial

DATA = Path(__file__).parent / "data" / "io"
PSI_PER_BAR = 14.503773773


def write_csv(tmp_path: Path, headers, rows, *, name="trial.csv", pre=(), sep=",") -> Path:
    """A CSV with optional metadata lines ``pre`` above the header."""
    lines = list(pre) + [sep.join(headers)] + [sep.join(str(c) for c in r) for r in rows]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_xlsx(tmp_path: Path, sheets: dict[str, list[list]], name="trial.xlsx") -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    path = tmp_path / name
    wb.save(path)
    return path


def five(values_t, values_f, *extra):
    return [list(r) for r in zip(values_t, values_f, *extra, strict=True)]


def error_text(excinfo) -> str:
    return str(excinfo.value)


# ---------------------------------------------------------------------------------------------
# formats and committed fixtures


def test_csv_with_metadata_lines():
    trial = read_trial(DATA / "rig_cp.csv")
    assert isinstance(trial, Trial)
    # "Filter area: 13.8 cm2" -> 13.8e-4 m2
    assert trial.area_m2 == pytest.approx(0.00138)
    assert trial.meta["area_source"] == "metadata"
    # 30 min -> 0.5 h; 12.0 g at 1.2 g/mL -> 10 mL -> 0.010 L -> 0.010 / 0.00138 = 7.246 L/m2
    assert trial.t_h[4] == pytest.approx(0.5)
    assert trial.v_L_per_m2[4] == pytest.approx(0.010 / 0.00138)
    assert trial.meta["density_g_per_mL"] == pytest.approx(1.2)
    assert trial.meta["density_source"] == "metadata"
    # 14.5 psi -> 0.99974 bar
    assert trial.pressure_bar[0] == pytest.approx(14.5 / PSI_PER_BAR)
    assert trial.mode == CONSTANT_PRESSURE
    assert trial.meta["mode_source"] == "metadata"
    assert trial.meta["file_meta"]["Sample"] == "mAb lot 7, clarified"
    assert trial.meta["header_row"] == 5
    assert trial.meta["rows"] == [6, 12]
    assert trial.meta["columns"] == {"time": "time (min)", "mass": "filtrate mass (g)",
                                     "pressure": "P1 (psi)"}
    assert trial.meta["units"] == {"time": "min", "mass": "g", "pressure": "psi"}
    assert trial.meta["format"] == "csv" and trial.meta["delimiter"] == ","
    assert trial.source.endswith("rig_cp.csv")
    assert trial.points == 7


def test_semicolon_decimal_comma_constant_flux():
    trial = read_trial(DATA / "rig_cf_semicolon.csv")
    assert trial.meta["delimiter"] == ";" and trial.meta["decimal"] == ","
    # "Filterfläche;13,8 cm2" -> 0.00138 m2
    assert trial.area_m2 == pytest.approx(0.00138)
    # 600 s -> 1/6 h; 23,0 mL -> 0.023 L / 0.00138 m2 = 16.667 L/m2
    assert trial.t_h[-1] == pytest.approx(1 / 6)
    assert trial.v_L_per_m2[-1] == pytest.approx(0.023 / 0.00138)
    # 2.3 mL/min = 0.138 L/h on 0.00138 m2 = 100 LMH
    assert trial.flux_LMH == pytest.approx(np.full(11, 100.0))
    # 435 mbar -> 0.435 bar
    assert trial.pressure_bar[-1] == pytest.approx(0.435)
    assert trial.meta["filtrate_from"] == "volume"  # "Filtrat [mL]": kind taken from the unit
    assert trial.mode == CONSTANT_FLUX
    assert trial.meta["mode_source"] == "detected"
    assert trial.meta["mode_evidence"]["detected"] == CONSTANT_FLUX
    assert trial.meta["file_meta"] == {"Run": "CF-03", "Filterfläche": "13,8 cm2"}


def test_tab_separated_elapsed_hms():
    trial = read_trial(DATA / "balance_hms.tsv", area="10 cm2")
    assert trial.meta["delimiter"] == "tab"
    # 00:30:00 -> 0.5 h, 01:00:00 -> 1 h
    assert trial.t_h == pytest.approx([0, 5 / 60, 10 / 60, 20 / 60, 0.5, 1.0])
    # 13.5 mL -> 0.0135 L / 0.001 m2 = 13.5 L/m2
    assert trial.v_L_per_m2[4] == pytest.approx(13.5)
    assert trial.meta["ignored_columns"] == ["Comment"]
    assert trial.pressure_bar is None
    assert trial.mode == CONSTANT_PRESSURE
    assert trial.meta["mode_evidence"]["pressure_column"] is False


def test_xlsx_metadata_cells_and_sheet_by_name_and_index(tmp_path):
    run = [
        ["Filter area", "13.8 cm2"],
        ["Mode: constant pressure"],
        ["Sample", "feed B"],
        ["Elapsed time (hh:mm:ss)", "Mass [kg]", "pressure (bar)"],
        [dt.time(0, 0, 0), 0.000, 1.0],
        [dt.time(0, 10, 0), 0.004, 1.0],
        [dt.time(0, 20, 0), 0.007, 1.0],
        [dt.time(0, 30, 0), 0.012, 1.0],
        [dt.time(0, 45, 0), 0.015, 1.0],
    ]
    path = write_xlsx(tmp_path, {"Notes": [["nothing here"]], "Run 1": run})
    for sheet in ("Run 1", 1):
        trial = read_trial(path, sheet=sheet, density="1.2 g/mL")
        assert trial.meta["sheet"] == "Run 1" and trial.meta["format"] == "xlsx"
        assert trial.meta["header_row"] == 4 and trial.meta["rows"] == [5, 9]
        # 00:30:00 -> 0.5 h; 0.012 kg = 12 g at 1.2 g/mL -> 10 mL -> 0.010 L / 0.00138 m2
        assert trial.t_h[3] == pytest.approx(0.5)
        assert trial.v_L_per_m2[3] == pytest.approx(0.010 / 0.00138)
        assert trial.meta["density_source"] == "argument"
        assert trial.meta["file_meta"]["Sample"] == "feed B"
        assert trial.mode == CONSTANT_PRESSURE


def test_xlsx_numbers_area_key_with_unit_and_first_sheet(tmp_path):
    rows = [["Filter area (cm2)", 13.8], ["t_h", "V_mL", "P_psi"]]
    rows += [[t, v, 30.0] for t, v in zip([0, 0.25, 0.5, 0.75, 1.0], [0, 4, 7, 9, 10], strict=True)]
    trial = read_trial(write_xlsx(tmp_path, {"Data": rows}))
    assert trial.meta["sheet"] == "Data"
    assert trial.area_m2 == pytest.approx(0.00138)  # 13.8 with the unit from the key
    assert trial.v_L_per_m2[2] == pytest.approx(0.007 / 0.00138)
    assert trial.pressure_bar[0] == pytest.approx(30.0 / PSI_PER_BAR)


# ---------------------------------------------------------------------------------------------
# header styles and unit conversion


@pytest.mark.parametrize(("header", "cells", "hours"), [
    ("time (min)", [0, 30, 60, 90, 120], [0, 0.5, 1, 1.5, 2]),
    ("Time [s]", [0, 1800, 3600, 5400, 7200], [0, 0.5, 1, 1.5, 2]),
    ("t_h", [0, 0.5, 1, 1.5, 2], [0, 0.5, 1, 1.5, 2]),
    ("Elapsed time (hh:mm:ss)", ["00:00:00", "00:30:00", "01:00:00", "01:30:00", "02:00:00"],
     [0, 0.5, 1, 1.5, 2]),
    ("t / min", [0, 30, 60, 90, 120], [0, 0.5, 1, 1.5, 2]),
    ("time (mm:ss)", ["0:00", "30:00", "60:00", "90:00", "120:00"], [0, 0.5, 1, 1.5, 2]),
])
def test_time_headers(tmp_path, header, cells, hours):
    path = write_csv(tmp_path, [header, "V_L"], five(cells, [0, 1, 2, 3, 4]))
    trial = read_trial(path, area=1.0)
    assert trial.t_h == pytest.approx(hours)
    assert trial.meta["columns"]["time"] == header


@pytest.mark.parametrize(("header", "cells", "kind"), [
    ("filtrate mass (g)", [0, 10, 20, 30, 40], "mass"),
    ("Mass [kg]", [0, 0.01, 0.02, 0.03, 0.04], "mass"),
    ("m_g", [0, 10, 20, 30, 40], "mass"),
    ("Weight (mg)", [0, 10000, 20000, 30000, 40000], "mass"),
    ("Filtrate volume [mL]", [0, 10, 20, 30, 40], "volume"),
    ("V_L", [0, 0.01, 0.02, 0.03, 0.04], "volume"),
    ("V_mL", [0, 10, 20, 30, 40], "volume"),
    ("Permeate (g)", [0, 10, 20, 30, 40], "mass"),
    ("filtrate (mL)", [0, 10, 20, 30, 40], "volume"),
])
def test_filtrate_headers(tmp_path, header, cells, kind):
    # every case is 0, 10, 20, 30, 40 mL (mass at the default 1 g/mL) -> L per 1 m2
    path = write_csv(tmp_path, ["time (min)", header], five([0, 1, 2, 3, 4], cells))
    trial = read_trial(path, area="1 m2")
    assert trial.v_L_per_m2 == pytest.approx([0, 0.01, 0.02, 0.03, 0.04])
    assert trial.meta["filtrate_from"] == kind
    assert trial.meta["columns"][kind] == header


@pytest.mark.parametrize(("header", "value"), [
    ("pressure (bar)", 2.0),
    ("TMP [mbar]", 2000),
    ("feed pressure (kPa)", 200),
    ("P1 (psi)", 2 * PSI_PER_BAR),
    ("P_psi", 2 * PSI_PER_BAR),
    ("dP (MPa)", 0.2),
])
def test_pressure_headers(tmp_path, header, value):
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)", header],
                     five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11], [value] * 5))
    trial = read_trial(path, area="13.8 cm2")
    assert trial.pressure_bar == pytest.approx([2.0] * 5)
    assert trial.meta["columns"]["pressure"] == header


def test_several_pressure_columns_prefer_tmp(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL", "P1 (psi)", "P2 (psi)", "TMP [mbar]"],
                     five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11], [30] * 5, [20] * 5, [700] * 5))
    trial = read_trial(path, area="13.8 cm2")
    assert trial.meta["columns"]["pressure"] == "TMP [mbar]"
    assert trial.pressure_bar == pytest.approx([0.7] * 5)
    assert any("several pressure columns" in n for n in trial.meta["notes"])


@pytest.mark.parametrize(("header", "value", "area"), [
    ("flow (mL/min)", 10, "1 m2"),      # 10 mL/min = 0.6 L/h
    ("flow rate [L/h]", 0.6, "1 m2"),
    ("flux (LMH)", 60, "100 cm2"),      # 60 L/m2/h on 0.01 m2 = 0.6 L/h
])
def test_flow_only_is_integrated(tmp_path, header, value, area):
    # t = 0..4 min at 0.6 L/h: V(4 min) = 0.6 * 4/60 = 0.04 L
    path = write_csv(tmp_path, ["time (min)", header, "pressure (bar)"],
                     five([0, 1, 2, 3, 4], [value] * 5, [0.5, 0.6, 0.8, 1.1, 1.5]))
    trial = read_trial(path, area=area)
    area_m2 = trial.area_m2
    assert trial.volume_L == pytest.approx([0, 0.01, 0.02, 0.03, 0.04])
    assert trial.v_L_per_m2[-1] == pytest.approx(0.04 / area_m2)
    assert trial.meta["filtrate_from"] == ("flux" if "LMH" in header else "flow")
    assert trial.mode == CONSTANT_FLUX  # steady flow, rising pressure
    assert any("integrated" in n for n in trial.meta["notes"])


def test_units_by_hand(tmp_path):
    # 30 min -> 0.5 h; 13.8 cm2 -> 0.00138 m2; 12 g at 1.2 g/mL -> 10 mL -> 10e-3 L / 0.00138 m2
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)"],
                     five([0, 10, 20, 30, 40], [0, 5, 9, 12, 14]))
    trial = read_trial(path, area="13.8 cm2", density="1.2 g/mL")
    assert trial.area_m2 == pytest.approx(0.00138)
    assert trial.t_h[3] == pytest.approx(0.5)
    assert trial.v_L_per_m2[3] == pytest.approx(10e-3 / 0.00138)
    # the same with floats: area in m2, density in g/mL
    again = read_trial(path, area=0.00138, density=1.2)
    assert again.v_L_per_m2 == pytest.approx(trial.v_L_per_m2)
    assert again.meta["area_source"] == "argument"


def test_area_argument_wins_over_metadata(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]),
                     pre=["Filter area: 13.8 cm2"])
    assert read_trial(path).area_m2 == pytest.approx(0.00138)
    trial = read_trial(path, area="3.5 cm2")
    assert trial.area_m2 == pytest.approx(0.00035)
    assert trial.meta["area_source"] == "argument"


def test_metadata_key_comma_value_rows(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]),
                     pre=["Rig export v2,,", "Filter area,13.8,cm2", "Density:,1.05 g/mL", ",,"])
    trial = read_trial(path)
    assert trial.area_m2 == pytest.approx(0.00138)
    assert trial.meta["file_meta"]["Density"] == "1.05 g/mL"
    assert trial.meta["preamble"] == ["Rig export v2"]
    assert trial.meta["header_row"] == 5


def test_units_row_below_header(tmp_path):
    path = write_csv(tmp_path, ["Time", "Weight", "Pressure"],
                     [["s", "g", "bar"]] + five([0, 60, 120, 180, 240], [0, 5, 8, 10, 11], [1] * 5), sep=";")
    trial = read_trial(path, area="13.8 cm2")
    assert trial.meta["units_row"] == 2 and trial.meta["rows"] == [3, 7]
    assert trial.meta["units"] == {"time": "s", "mass": "g", "pressure": "bar"}
    assert trial.t_h[-1] == pytest.approx(240 / 3600)


# ---------------------------------------------------------------------------------------------
# start of the run, blank rows


def test_tare_at_time_zero_is_subtracted(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)"],
                     five([0, 1, 2, 3, 4], [5.0, 9.0, 12.0, 14.0, 15.0]))
    trial = read_trial(path, area="1 m2")
    # 5 g at t=0 is a tare: 0.005 L subtracted
    assert trial.meta["tare_L"] == pytest.approx(0.005)
    assert trial.meta["v0_L"] == pytest.approx(0.005)
    assert trial.v_L_per_m2 == pytest.approx([0, 0.004, 0.007, 0.009, 0.010])
    assert any("tare" in n for n in trial.meta["notes"])


def test_late_start_is_kept_and_recorded(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)"],
                     five([1, 2, 3, 4, 5], [5.0, 9.0, 12.0, 14.0, 15.0]))
    trial = read_trial(path, area="1 m2")
    assert trial.t_h[0] == pytest.approx(1 / 60)  # not shifted
    assert trial.meta["t0_h"] == pytest.approx(1 / 60)
    assert trial.meta["tare_L"] == 0.0
    assert trial.v_L_per_m2[0] == pytest.approx(0.005)  # not subtracted
    assert any("not shifted" in n for n in trial.meta["notes"])


def test_blank_rows_middle_and_trailing(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("time (min),V_mL,Note\n0,0,\n1,5,\n,,\n2,8,\n3,10,\n,,late\n4,11,\n\n,,\n\n")
    trial = read_trial(path, area="1 m2")
    assert trial.points == 5
    assert trial.meta["blank_rows"] == [4]  # trailing blank rows are not listed
    assert trial.meta["skipped_rows"] == [7]
    assert trial.meta["rows"] == [2, 8]
    assert any("blank row 4" in n for n in trial.meta["notes"])


# ---------------------------------------------------------------------------------------------
# mode detection


def test_detects_constant_pressure(tmp_path):
    t = [0, 5, 10, 20, 30, 45, 60]
    v = [0, 3.0, 5.5, 9.2, 12.0, 15.1, 17.4]  # falling flux
    p = [2.0, 2.02, 1.99, 2.0, 2.01, 1.98, 2.0]
    trial = read_trial(write_csv(tmp_path, ["time (min)", "V_mL", "pressure (bar)"], five(t, v, p)),
                       area="13.8 cm2")
    assert trial.mode == CONSTANT_PRESSURE
    ev = trial.meta["mode_evidence"]
    assert ev["detected"] == CONSTANT_PRESSURE and trial.meta["mode_source"] == "detected"
    assert ev["pressure_cv"] < 0.10 and ev["flux_change"] < -0.10
    assert "pressure steady" in ev["rule"]


def test_detects_constant_flux_and_override(tmp_path):
    trial = read_trial(DATA / "rig_cf_semicolon.csv")
    ev = trial.meta["mode_evidence"]
    assert ev["flux_cv"] < 0.10 and ev["pressure_change"] > 0.10
    assert "flux steady" in ev["rule"]
    forced = read_trial(DATA / "rig_cf_semicolon.csv", mode="constant-pressure")
    assert forced.mode == CONSTANT_PRESSURE
    assert forced.meta["mode_source"] == "argument"
    assert forced.meta["mode_evidence"]["detected"] == CONSTANT_FLUX
    assert any("differs from the data" in n for n in forced.meta["notes"])


def test_mode_from_metadata_overrides_detection(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL", "pressure (bar)"],
                     five([0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [1, 1.2, 1.5, 1.9, 2.4]),
                     pre=["Mode: constant pressure", "Filter area: 10 cm2"])
    trial = read_trial(path)
    assert trial.mode == CONSTANT_PRESSURE and trial.meta["mode_source"] == "metadata"


def test_no_pressure_column_is_constant_pressure(tmp_path):
    path = write_csv(tmp_path, ["t_h", "V_L"], five([0, 1, 2, 3, 4], [0, 1, 1.8, 2.4, 2.8]))
    trial = read_trial(path, area=1.0)
    assert trial.mode == CONSTANT_PRESSURE
    assert trial.meta["mode_evidence"]["rule"].startswith("no pressure column")


def test_constant_flux_without_pressure_is_an_error(tmp_path):
    with pytest.raises(InputError) as exc:
        read_trial(DATA / "balance_hms.tsv", area="10 cm2", mode="constant-flux")
    assert "balance_hms.tsv" in error_text(exc) and "pressure column" in error_text(exc)


def test_bad_mode_value(tmp_path):
    path = write_csv(tmp_path, ["t_h", "V_L"], five([0, 1, 2, 3, 4], [0, 1, 2, 3, 4]))
    with pytest.raises(InputError, match="mode 'sideways' is not understood"):
        read_trial(path, area=1.0, mode="sideways")


# ---------------------------------------------------------------------------------------------
# explicit column mapping


def test_mapping_gives_names_and_units(tmp_path):
    path = write_csv(tmp_path, ["Stamp", "Reading", "Gauge"],
                     five([0, 60, 120, 180, 240], [0, 5, 8, 10, 11], [1] * 5), pre=["Filter area: 1 m2"])
    trial = read_trial(path, columns={"time": "Stamp [s]", "mass": "Reading (g)",
                                      "pressure": ("Gauge", "bar")})
    assert trial.meta["columns"] == {"time": "Stamp", "mass": "Reading", "pressure": "Gauge"}
    assert trial.meta["units"] == {"time": "s", "mass": "g", "pressure": "bar"}
    assert trial.t_h[-1] == pytest.approx(240 / 3600)
    assert trial.v_L_per_m2[-1] == pytest.approx(0.011)


def test_mapping_exact_header_and_unit_override(tmp_path):
    path = write_csv(tmp_path, ["Zeit (min)", "Gewicht [g]", "Volume (mL)"],
                     five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11], [0, 1, 2, 3, 4]))
    # mass chosen over the volume column that detection would prefer; unit of Zeit overridden
    trial = read_trial(path, area="1 m2", columns={"time": "Zeit [s]", "mass": "Gewicht [g]"})
    assert trial.meta["columns"]["mass"] == "Gewicht [g]"
    assert trial.meta["units"]["time"] == "s"
    assert trial.t_h[-1] == pytest.approx(4 / 3600)
    assert "Volume (mL)" in trial.meta["ignored_columns"]


def test_mapping_flux_alias(tmp_path):
    path = write_csv(tmp_path, ["t (min)", "J"], five([0, 1, 2, 3, 4], [60] * 5))
    trial = read_trial(path, area="1 m2", columns={"flux": "J (LMH)"})
    assert trial.v_L_per_m2[-1] == pytest.approx(4.0)  # 60 L/m2/h for 4 min


def test_mapping_names_missing_column(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0, columns={"mass": "Gewicht"})
    msg = error_text(exc)
    assert "trial.csv" in msg and "'Gewicht'" in msg and "'time (min)', 'V_mL'" in msg
    assert exc.value.field == "columns"


def test_mapping_unknown_role(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(InputError, match="unknown column role 'temperature'"):
        read_trial(path, area=1.0, columns={"temperature": "T (C)"})


def test_parse_trial_frame_directly():
    df = pd.DataFrame({"time (min)": [0, 30, 60, 90, 120], "V_mL": [0, 10, 18, 24, 28]})
    trial = parse_trial_frame(df, source="upload.csv", area="10 cm2")
    assert trial.t_h[1] == pytest.approx(0.5)
    assert trial.v_L_per_m2[1] == pytest.approx(0.010 / 0.001)
    assert trial.meta["rows"] == [2, 6]  # header is row 1
    df.loc[3, "V_mL"] = 10
    with pytest.raises(InputError) as exc:
        parse_trial_frame(df, source="upload.csv", area="10 cm2")
    assert "upload.csv" in error_text(exc) and "row 5" in error_text(exc)


def test_parse_trial_frame_uses_file_meta():
    df = pd.DataFrame({"time (min)": [0, 1, 2, 3, 4], "filtrate mass (g)": [0, 12, 20, 26, 30]})
    trial = parse_trial_frame(df, source="x", file_meta={"Filter area": "13.8 cm2", "Density": "1.2 g/mL"})
    assert trial.v_L_per_m2[1] == pytest.approx(0.010 / 0.00138)


# ---------------------------------------------------------------------------------------------
# bad input: one clear message each


def test_unknown_unit(tmp_path):
    path = write_csv(tmp_path, ["time (blorps)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(UnitError) as exc:
        read_trial(path, area=1.0)
    msg = error_text(exc)
    assert "trial.csv" in msg and "column 'time (blorps)'" in msg and "unknown unit 'blorps'" in msg


def test_unit_of_wrong_kind(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (psi)"],
                     five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(UnitError) as exc:
        read_trial(path, area=1.0)
    assert "column 'filtrate mass (psi)'" in error_text(exc) and "not a mass unit" in error_text(exc)


def test_header_without_unit(tmp_path):
    path = write_csv(tmp_path, ["time", "filtrate mass (g)"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    msg = error_text(exc)
    assert "trial.csv" in msg and "column 'time'" in msg and "no unit given" in msg and "'time (min)'" in msg


def test_non_numeric_cell(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)"],
                     five([0, 1, 2, 3, 4], [0, 5, "abc", 10, 11]), pre=["Filter area: 13.8 cm2"])
    with pytest.raises(InputError) as exc:
        read_trial(path)
    msg = error_text(exc)
    # metadata line 1, header line 2, data from line 3: "abc" is on line 5
    assert "trial.csv" in msg and "row 5" in msg and "column 'filtrate mass (g)'" in msg and "'abc'" in msg
    assert exc.value.row == 5


def test_non_numeric_cell_decimal_comma_file(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)"],
                     five([0, 1, 2, 3, 4], ["0,0", "5,1", "8,2", "12,5x", "13,0"]), sep=";")
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    msg = error_text(exc)
    assert "row 5" in msg and "'12,5x'" in msg and "filtrate mass (g)" in msg


@pytest.mark.parametrize("cell", ["nan", "inf", "NaN"])
def test_nan_text_never_passes(tmp_path, cell):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, cell, 10, 11]))
    with pytest.raises(InputError, match="row 4"):
        read_trial(path, area=1.0)


def test_time_not_increasing(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 2, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    msg = error_text(exc)
    assert "row 5" in msg and "column 'time (min)'" in msg and "strictly increasing" in msg


def test_negative_filtrate(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, -5, 8, 10, 11]))
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    assert "row 3" in error_text(exc) and "negative" in error_text(exc) and "'-5'" in error_text(exc)


def test_decreasing_filtrate(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)"], five([0, 1, 2, 3, 4], [0, 5, 8, 7.5, 11]))
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    msg = error_text(exc)
    assert "row 5" in msg and "decreases" in msg and "'7.5'" in msg and "row 4" in msg


def test_balance_noise_dip_is_kept_with_a_note(tmp_path):
    # 400.00 g then 399.95 g: a 0.05 g dip is 0.0125 % of the largest reading, within the 0.2 % noise band
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)"],
                     five([0, 1, 2, 3, 4], [0, 200, 400, 399.95, 500]))
    tr = read_trial(path, area=1.0)
    assert tr.v_L_per_m2[3] < tr.v_L_per_m2[2]  # kept as read, not smoothed away
    assert any("balance noise" in n for n in tr.meta["notes"])


def test_too_few_points(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], [[0, 0], [1, 5], [2, 8], [3, 10]])
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    assert "only 4 usable data rows" in error_text(exc) and "at least 5" in error_text(exc)


def test_missing_area(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(InputError) as exc:
        read_trial(path)
    msg = error_text(exc)
    assert "trial.csv" in msg and '--area "13.8 cm2"' in msg and "Filter area: 13.8 cm2" in msg


@pytest.mark.parametrize(("kwargs", "pre", "field"), [
    ({"area": "0 cm2"}, [], "area"),
    ({"area": -1.0}, [], "area"),
    ({}, ["Filter area: -13.8 cm2"], "Filter area"),
    ({"area": 1.0, "density": "0 g/mL"}, [], "density"),
    ({"area": 1.0, "density": -1.0}, [], "density"),
])
def test_non_positive_area_or_density(tmp_path, kwargs, pre, field):
    path = write_csv(tmp_path, ["time (min)", "filtrate mass (g)"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]),
                     pre=pre)
    with pytest.raises(InputError) as exc:
        read_trial(path, **kwargs)
    assert "must be positive" in error_text(exc) and exc.value.field == field


def test_area_without_unit(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(UnitError, match="has no unit"):
        read_trial(path, area="13.8")


@pytest.mark.parametrize("content", ["", "\n\n   \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    assert "empty.csv" in error_text(exc) and "empty" in error_text(exc)


def test_header_but_no_rows(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], [])
    with pytest.raises(InputError, match="no data rows"):
        read_trial(path, area=1.0)


def test_wrong_sheet(tmp_path):
    path = write_xlsx(tmp_path, {"Notes": [["x"]], "Run 1": [["t_h", "V_L"]]})
    with pytest.raises(InputError) as exc:
        read_trial(path, sheet="Run 9", area=1.0)
    msg = error_text(exc)
    assert "trial.xlsx" in msg and "'Run 9'" in msg and "'Notes', 'Run 1'" in msg
    with pytest.raises(InputError, match="'Notes', 'Run 1'"):
        read_trial(path, sheet=5, area=1.0)


def test_empty_sheet(tmp_path):
    path = write_xlsx(tmp_path, {"Run": []})
    with pytest.raises(InputError, match="sheet 'Run' is empty"):
        read_trial(path, area=1.0)


def test_xlsx_error_names_sheet_row(tmp_path):
    rows = [["Filter area: 13.8 cm2"], ["time (min)", "V_mL"], [0, 0], [1, 5], [2, 8], [3, "n/a"], [4, 11]]
    with pytest.raises(InputError) as exc:
        read_trial(write_xlsx(tmp_path, {"Run": rows}))
    assert "row 6" in error_text(exc) and "'n/a'" in error_text(exc) and "column 'V_mL'" in error_text(exc)


def test_missing_time_column(tmp_path):
    path = write_csv(tmp_path, ["filtrate mass (g)", "pressure (bar)"], five([0, 5, 8, 10, 11], [1] * 5))
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    msg = error_text(exc)
    assert "no time column" in msg and "'filtrate mass (g)', 'pressure (bar)'" in msg


def test_missing_filtrate_column(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "pressure (bar)", "Temp (degC)"],
                     five([0, 1, 2, 3, 4], [1] * 5, [20] * 5))
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    msg = error_text(exc)
    assert "no filtrate column" in msg and "'time (min)', 'pressure (bar)', 'Temp (degC)'" in msg


def test_unrecognised_headers_are_listed(tmp_path):
    path = write_csv(tmp_path, ["Stamp", "Reading"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]),
                     pre=["Export 7"])
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    assert "no time column" in error_text(exc) and "'Stamp', 'Reading'" in error_text(exc)


def test_time_but_no_filtrate(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, "", 10, 11]))
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    msg = error_text(exc)
    assert "row 4" in msg and "column 'V_mL'" in msg and "no value" in msg


def test_file_not_found(tmp_path):
    with pytest.raises(InputError) as exc:
        read_trial(tmp_path / "nope.csv", area=1.0)
    assert "nope.csv" in error_text(exc) and "not found" in error_text(exc)


@pytest.mark.parametrize(("name", "text"), [("trial.json", "unsupported file type '.json'"),
                                            ("trial.xls", ".xls format is not supported")])
def test_unsupported_extension(tmp_path, name, text):
    path = tmp_path / name
    path.write_text("{}")
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    assert name in error_text(exc) and text in error_text(exc)


def test_invalid_workbook(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_text("time (min),V_mL\n0,0\n")
    with pytest.raises(InputError) as exc:
        read_trial(path, area=1.0)
    assert "broken.xlsx" in error_text(exc) and "not a valid Excel workbook" in error_text(exc)


def test_binary_file_with_csv_extension(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00\x00time\x00\x00")
    with pytest.raises(InputError, match="binary.csv"):
        read_trial(path, area=1.0)


def test_sheet_for_csv_is_an_error(tmp_path):
    path = write_csv(tmp_path, ["time (min)", "V_mL"], five([0, 1, 2, 3, 4], [0, 5, 8, 10, 11]))
    with pytest.raises(InputError, match="has no sheets"):
        read_trial(path, area=1.0, sheet="Run")


def test_errors_are_fluxwise_errors():
    assert issubclass(InputError, FluxwiseError) and issubclass(UnitError, InputError)
