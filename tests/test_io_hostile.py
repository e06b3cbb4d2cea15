"""Input that cannot hurt: one regression test for each kind of hostile or broken trial file.

Each kind once escaped as a traceback, hung, or was read into wrong numbers without a word. Now every
reader and the fitter answer with the project's own error (exit 2 on the command line) naming the
file and, where there is one, the row and column, at a cost that grows with the file, not faster.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from fluxwise.errors import FluxwiseError, InputError, LimitError, UnitError
from fluxwise.fit.fouling import fit_trial
from fluxwise.io import read_trial
from fluxwise.io.tables import cells as cells_module
from fluxwise.io.tables import text as text_module
from fluxwise.io.tables.cells import is_number_cell, text_numbers
from fluxwise.io.tables.limits import check_zip_container
from fluxwise.io.ufdf_data import read_ufdf_data
from fluxwise.trial import CONSTANT_FLUX, Trial
from fluxwise.units import parse_quantity, parse_unit

FLUXWISE = str(Path(sys.executable).with_name("fluxwise"))
AREA = "Filter area: 13.8 cm2"


def write(tmp_path: Path, lines, name="trial.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cp_rows(n=12):
    """A constant-pressure trial, standard blocking, J0 = 300 LMH, ks = 0.01 m²/L on 13.8 cm²
    (V = J0·t/(1 + ks·J0·t/2), in mL per the area)."""
    rows = []
    for i in range(n):
        t = 5.0 * i / 60
        v = 300 * t / (1 + 0.01 * 300 * t / 2) * 13.8e-4 * 1000
        rows.append((5 * i, round(v, 4), 1.0))
    return rows


def run_cli(*args, timeout=120):
    return subprocess.run([FLUXWISE, *args], capture_output=True, text=True, timeout=timeout)


def median_time(fn, repeats=5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ------------------------------------------------------------------------------------ tracebacks

def test_constant_flux_trial_without_filtrate_is_an_input_error(tmp_path):
    # zero filtrate: the set flux (ΔV/Δt) is 0 and the starting values divided by it
    path = write(tmp_path, [AREA, "time (min),volume (mL),pressure (bar)",
                            *(f"{i},0,{1 + 0.1 * i:.1f}" for i in range(10))])
    trial = read_trial(path, mode="constant-flux")
    with pytest.raises(InputError, match="no filtrate was collected") as exc:
        fit_trial(trial)
    assert "trial.csv" in str(exc.value)


@pytest.mark.parametrize("lines, words", [
    # filtrate of 1e-310 L per reading: subnormal numbers, t/V overflows
    ([AREA, "time (min),volume (L),pressure (bar)", *(f"{i},{i}e-310,1" for i in range(10))],
     "filtrate collected"),
    # a density of 1e308 g/mL turns grams into 1e-308 L
    ([AREA, "Density: 1e308 g/mL", "time (min),mass (g),pressure (bar)",
      *(f"{i},{2 * i - 0.01 * i * i:.2f},1" for i in range(10))], "filtrate collected"),
    # 1e300 L: finite, but the normal equations overflow
    ([AREA, "time (min),volume (L),pressure (bar)", *(f"{i},{i}e300,1" for i in range(10))],
     "filtrate collected"),
    # times of 1e-300 h
    ([AREA, "time (h),volume (mL)", *(f"{i}e-300,{2 * i}" for i in range(10))], "time span"),
])
def test_subnormal_and_huge_values_are_input_errors_not_tracebacks(tmp_path, lines, words):
    path = write(tmp_path, lines)
    with pytest.raises(InputError, match=words):
        fit_trial(read_trial(path))


def test_the_command_line_exits_2_with_nothing_on_stdout(tmp_path):
    cf = write(tmp_path, [AREA, "time (min),volume (mL),pressure (bar)",
                          *(f"{i},0,{1 + 0.1 * i:.1f}" for i in range(10))], name="cf.csv")
    dense = write(tmp_path, [AREA, "Density: 1e308 g/mL", "time (min),mass (g),pressure (bar)",
                             *(f"{i},{2 * i - 0.01 * i * i:.2f},1" for i in range(10))], name="dense.csv")
    for args, words in [((str(cf), "--mode", "constant-flux"), "no filtrate was collected"),
                        ((str(dense),), "filtrate collected")]:
        r = run_cli("fit", *args, "--json")
        assert r.returncode == 2 and r.stdout == "", r.stdout
        assert words in r.stderr and "Traceback" not in r.stderr


def test_constant_flux_trial_with_tiny_pressures_is_refused_before_the_linear_algebra():
    t = np.linspace(0, 1, 20)
    trial = Trial(t_h=t, v_L_per_m2=100 * t, area_m2=1e-3, mode=CONSTANT_FLUX,
                  pressure_bar=np.full(20, 1e-310) * (1 + t), source="tiny.csv")
    with pytest.raises(InputError, match="tiny.csv.*largest pressure"):
        fit_trial(trial)


@pytest.mark.parametrize("damage", ["truncated", "lone surrogate"])
def test_damaged_utf16_is_an_input_error(tmp_path, damage):
    raw = ("time (min),volume (mL)\n" + "".join(f"{i},{2 * i}\n" for i in range(10))).encode("utf-16")
    raw = raw[:-1] if damage == "truncated" else raw[:10] + b"\x00\xd8" + raw[10:]
    path = tmp_path / "u16.csv"
    path.write_bytes(raw)
    with pytest.raises(InputError, match="u16.csv: is UTF-16 text that is cut off or damaged at byte"):
        read_trial(path, area="1 cm2")


def test_utf16_without_byte_order_mark_is_an_input_error(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("time (min),volume (mL)\n0,0\n1,2\n".encode("utf-16-le"))
    with pytest.raises(InputError, match="NUL characters"):
        read_trial(path, area="1 cm2")


@pytest.mark.parametrize("reader", ["catalog", "train", "sweep"])
def test_damaged_text_in_the_other_readers_is_an_input_error(tmp_path, reader):
    from fluxwise.io.catalog import read_catalog
    from fluxwise.io.sweep_spec import read_sweep_spec
    from fluxwise.io.train import read_train

    path = tmp_path / ("bad.csv" if reader == "catalog" else "bad.yaml")
    path.write_bytes(b"\xff\xfen\x00a\x00\xd8")
    call = {"catalog": read_catalog, "train": read_train, "sweep": read_sweep_spec}[reader]
    with pytest.raises(InputError, match="bad"):
        call(path)


def test_native_library_output_never_reaches_stdout_with_json():
    # LAPACK writes "** On entry to DLASCL ..." straight to file descriptor 1 when handed NaN; with
    # --json the command line sends that descriptor to stderr and keeps Python's stdout for the result
    code = ("import os, sys\n"
            "from fluxwise.cli.common import native_output_to_stderr\n"
            "with native_output_to_stderr():\n"
            "    os.write(1, b'** On entry to DLASCL parameter number 4 had an illegal value\\n')\n"
            "    import numpy as np\n"
            "    try:\n"
            "        a = np.array([[np.nan, 1.0], [1.0, 1.0], [2.0, 1.0]])\n"
            "        np.linalg.lstsq(a, np.ones(3), rcond=None)\n"
            "    except np.linalg.LinAlgError:\n"
            "        pass\n"
            "    print('{\"result\": 1}')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert json.loads(r.stdout) == {"result": 1}
    assert "DLASCL" in r.stderr


# --------------------------------------------------------------------------------- hangs and cost

@pytest.mark.parametrize("unit", ["9**9**9", "(9**9)**9", "((9**9)**9)**9", "m**99999", "2**2**2**2**2",
                                  "9" * 5000, "m" + "**9" * 30])
def test_units_are_never_evaluated(tmp_path, unit):
    start = time.perf_counter()
    with pytest.raises(UnitError):
        parse_unit(unit)
    path = write(tmp_path, [AREA, f"time ({unit}),volume (mL)", *(f"{i},{2 * i}" for i in range(10))])
    with pytest.raises(FluxwiseError, match="unit"):
        read_trial(path)
    with pytest.raises(UnitError):
        parse_quantity(f"13.8 {unit}", "area")
    # the hang was unbounded (pint computed 9**(9**9)); a bound of seconds catches it on any machine
    assert time.perf_counter() - start < 10


def test_units_still_read_as_before():
    from fluxwise.units import Q_

    for text, expected in [("min", "minute"), ("mL/min", "milliliter/minute"), ("L/(m**2*h)", "L/m**2/h"),
                           ("1/h", "1/hour"), ("h^-1", "1/hour"), ("N m", "newton*meter"),
                           ("kg/L", "kilogram/liter"), ("m^0.5", "meter**0.5"), ("cm²", "cm**2"),
                           ("psi", "psi"), ("LMH", "L/m**2/h"), ("%", "percent")]:
        assert Q_(1.0, parse_unit(text)).to(expected).magnitude == pytest.approx(1.0, rel=1e-12), text


# Lengths for the ratio tests: both past the step in cost per character that the regular-expression
# engine shows between 10^5 and 4·10^5 characters (caches), so that the ratio measures the algorithm.
SHORT, LONG = 250_000, 2_500_000
NOISE_S = 2e-3  # timer and cache noise on a shared machine; a super-linear cost exceeds it by far


@pytest.mark.parametrize("tail", ["x", ""])
def test_number_parsing_is_linear_in_the_cell_length(tail):
    # a run of digits followed by a letter backtracked cubically in the old number pattern
    def cost(cell):
        comma, point = cells_module.COMMA_NUMBER, cells_module.POINT_NUMBER
        return median_time(lambda: (is_number_cell(cell), text_numbers([cell]), comma.match(cell),
                                    point.match(cell)))

    assert cost("1" * LONG + tail) <= 15 * cost("1" * SHORT + tail) + NOISE_S


def test_a_long_cell_in_a_file_costs_linear_time(tmp_path):
    # the long cell below the first 200 rows goes through the data parser, the number test and the message
    def file_with(n):
        rows = [f"{i},{2 * i}" for i in range(250)]
        rows[240] = "1" * n + "x,480"
        return write(tmp_path, [AREA, "time (min),volume (mL)", *rows], name=f"long{n}.csv")

    short, long_ = file_with(90_000), file_with(900_000)

    def read(path):
        with pytest.raises(InputError, match="characters") as exc:
            read_trial(path)
        assert exc.value.row == 243 and len(str(exc.value)) < 400  # the message quotes 40 characters

    read(short)
    ratio = median_time(lambda: read(long_)) / median_time(lambda: read(short))
    assert ratio <= 15, ratio


@pytest.mark.parametrize("make", [lambda n: "1" * n + "x", lambda n: "1,1" + "1" * n + ", cm2",
                                  lambda n: "1" + " " * n + "x y", lambda n: "13.8 " + "c" * n])
def test_quantities_in_metadata_lines_are_parsed_in_linear_time(make):
    def parse(text):
        try:
            parse_quantity(text, "area")
        except UnitError:
            pass

    short, long_ = make(2 * SHORT), make(2 * LONG)  # runs of blanks: the step lies near 3·10^5
    assert median_time(lambda: parse(long_)) <= 15 * median_time(lambda: parse(short)) + NOISE_S


def test_only_the_needed_columns_are_parsed(tmp_path, monkeypatch):
    n_extra = 3000
    rows = cp_rows()
    header = ",".join(["time (s)", "filtrate volume (mL)", "pressure (bar)", *(f"sensor {j} (mA)"
                                                                               for j in range(n_extra))])
    wide = write(tmp_path, [AREA, header, *(",".join([f"{t * 60}", f"{v}", f"{p}", *(["4.5"] * n_extra)])
                                            for t, v, p in rows)], name="wide.csv")
    narrow = write(tmp_path, [AREA, "time (s),filtrate volume (mL),pressure (bar)",
                              *(f"{t * 60},{v},{p}" for t, v, p in rows)], name="narrow.csv")
    parsed = []
    original = cells_module.Cells.of.__func__

    def counting(cls, s):
        parsed.append(s.name)
        return original(cls, s)

    monkeypatch.setattr(cells_module.Cells, "of", classmethod(counting))
    a = read_trial(wide)
    assert len(parsed) == 3  # time, filtrate, pressure: not 3,003 columns
    b = read_trial(narrow)
    np.testing.assert_array_equal(a.t_h, b.t_h)
    np.testing.assert_array_equal(a.v_L_per_m2, b.v_L_per_m2)
    assert len(a.meta["ignored_columns"]) == n_extra


def _workbook_bytes(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _replace_part(content: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == name else zin.read(info.filename))
    return out.getvalue()


def _sheet_xml(rows_xml: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{rows_xml}</sheetData></worksheet>').encode()


def test_xlsx_zip_bomb_is_refused_on_the_python_path_before_it_is_opened(tmp_path):
    good = _workbook_bytes([["Filter area", "13.8 cm2"], ["time (min)", "volume (mL)"],
                            *([i, 2 * i] for i in range(10))])
    # 60 MB of blanks inside the sheet's XML: a few hundred kB on disk, 1000:1
    padding = b" " * (60 * 1024 * 1024)
    xml = _sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>time (min)</t></is></c></row>')
    xml = xml.replace(b"<sheetData>", b"<sheetData>" + padding)
    bomb = _replace_part(good, "xl/worksheets/sheet1.xml", xml)
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bomb)
    assert path.stat().st_size < 2 * 1024 * 1024
    start = time.perf_counter()
    with pytest.raises(InputError, match="bomb.xlsx.*zip bomb"):
        read_trial(path)
    assert time.perf_counter() - start < 10  # 153 s and 3.7 GB before: the zip directory alone decides


def test_xlsx_rows_far_down_are_refused_by_the_row_limit(tmp_path):
    from fluxwise.io.tables.limits import ReadLimits
    from fluxwise.io.tables.xlsx import read_xlsx_grid

    good = _workbook_bytes([["time (min)", "volume (mL)"]])
    # one cell in row 2,000,000,000: openpyxl would hand out two billion empty rows
    xml = _sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>time (min)</t></is></c>'
                     '<c r="B1" t="inlineStr"><is><t>volume (mL)</t></is></c></row>'
                     '<row r="2000000000"><c r="A2000000000"><v>1</v></c></row>')
    path = tmp_path / "far.xlsx"
    path.write_bytes(_replace_part(good, "xl/worksheets/sheet1.xml", xml))
    with pytest.raises(LimitError, match="far.xlsx.*data rows"):  # the same code as with the defaults
        read_xlsx_grid(path, "far.xlsx", None, frozenset(), ("t", "v"), limits=ReadLimits(max_rows=5000))


def test_a_zip_directory_claiming_an_unknown_version_is_a_broken_workbook(tmp_path):
    # zipfile raises NotImplementedError for "version needed to extract" 18.1: found by the fuzz test
    raw = bytearray(_workbook_bytes([["time (min)", "volume (mL)"], [0, 0], [1, 2]]))
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        raw[at + 6:at + 8] = (181).to_bytes(2, "little")
        at = raw.find(b"PK\x01\x02", at + 4)
    path = tmp_path / "version.xlsx"
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="version.xlsx: is a broken workbook"):
        read_trial(path, area="1 cm2")


def test_the_upload_check_and_the_reader_share_one_zip_check():
    from fluxwise.api import upload_checks

    assert upload_checks.zip_check is check_zip_container


def test_a_20_mb_single_line_file_is_refused_at_once(tmp_path):
    path = tmp_path / "line.csv"
    path.write_bytes(b"time (min),volume (mL)," + b"1," * (10 * 1024 * 1024))
    start = time.perf_counter()
    with pytest.raises(LimitError, match="line.csv, row 1: this row is .* characters long"):
        read_trial(path, area="1 cm2")
    assert time.perf_counter() - start < 10  # was 40 s


def test_size_row_and_column_limits_hold_on_every_path(tmp_path):
    limits = text_module.ReadLimits(max_rows=100, max_columns=50, max_bytes=20_000)
    lines = ["time (min),volume (mL)", *(f"{i},{2 * i}" for i in range(150))]
    path = write(tmp_path, lines)
    with pytest.raises(LimitError, match="rows"):
        text_module.read_text_grid(path, str(path), frozenset(), ("t", "v"), limits=limits)
    wide = write(tmp_path, ["time (min),volume (mL)" + ",x" * 60, "0,0"], name="w.csv")
    with pytest.raises(LimitError, match="columns"):
        text_module.read_text_grid(wide, str(wide), frozenset(), ("t", "v"), limits=limits)
    big = write(tmp_path, ["time (min),volume (mL)", *(f"{i},{2 * i}" for i in range(5000))], name="b.csv")
    with pytest.raises(LimitError, match="limit"):
        text_module.read_text_grid(big, str(big), frozenset(), ("t", "v"), limits=limits)


# --------------------------------------------------------------------------------- silent misreads

def test_decimal_commas_in_a_comma_delimited_file_are_refused(tmp_path):
    # "10,12,5,1,0" was read as time 10, volume 12, pressure 5: the decimals went into an unnamed column
    rows = [f"{5 * i},{str(round(1.5 * i, 1)).replace('.', ',')},1,0" for i in range(1, 11)]
    path = write(tmp_path, [AREA, "time (min),volume (mL),pressure (bar)", *rows])
    with pytest.raises(InputError) as exc:
        read_trial(path)
    msg = str(exc.value)
    assert exc.value.row == 3 and "trial.csv" in msg and "header names 3 columns" in msg
    assert "decimal commas" in msg


def test_rows_one_cell_wider_than_the_header_are_refused(tmp_path):
    # a row label before the data (as R's write.table writes it) shifts every reading one column left
    path = write(tmp_path, [AREA, "time (min),volume (mL)", *(f"r{i},{i},{2 * i}" for i in range(10))])
    with pytest.raises(InputError, match="row 3: this row has 3 cells but the header names 2 columns"):
        read_trial(path)


def test_notes_in_a_column_without_header_are_still_ignored(tmp_path):
    rows = [f"{i},{2 * i}" for i in range(10)]
    rows[4] += ",bubble seen"
    trial = read_trial(write(tmp_path, [AREA, "time (min),volume (mL)", *rows]))
    assert trial.points == 10 and trial.meta["ignored_columns"] == ["column 3"]


@pytest.mark.parametrize("lines, row, column, words", [
    (["Filter area: 13.8 cm2", "time (min),volume (km**3)", *(f"{i},{i}e300" for i in range(10))],
     4, "volume (km**3)", "out of range as a volume in L"),
    (["Filter area: 1e-300 cm2", "time (min),volume (mL)", *(f"{i},{2 * i}e10" for i in range(10))],
     4, "volume (mL)", "out of range as a volume per area"),
    ([AREA, "Density: 1e-320 g/mL", "time (min),mass (g)", *(f"{i},{2 * i}" for i in range(10))],
     5, "mass (g)", "out of range as a volume in L"),
    ([AREA, "time (min),volume (mL),pressure (TPa)", *(f"{i},{2 * i},1e305" for i in range(10))],
     3, "pressure (TPa)", "out of range as a pressure in bar"),
    (["Filter area: 13.8 cm2", "time (d),flow (km**3/s)", *(f"{i},1e300" for i in range(10))],
     3, "flow (km**3/s)", "out of range as a flow"),
])
def test_values_that_overflow_in_unit_conversion_are_named(tmp_path, lines, row, column, words):
    with pytest.raises(InputError) as exc:
        read_trial(write(tmp_path, lines))
    assert exc.value.row == row and exc.value.column == column and "trial.csv" in str(exc.value)
    assert words in str(exc.value)


def test_ufdf_values_that_overflow_in_unit_conversion_are_named(tmp_path):
    path = write(tmp_path, ["TMP (bar),flux (LMH)", "0.5,1e300", "1.0,20", "1.5,25"], name="ufdf.csv")
    read_ufdf_data(path)  # 1e300 LMH is finite
    path = write(tmp_path, ["TMP (TPa),flux (LMH)", "1e305,10", "1.0,20", "1.5,25"], name="ufdf.csv")
    with pytest.raises(InputError) as exc:
        read_ufdf_data(path)
    assert exc.value.row == 2 and exc.value.column == "TMP (TPa)" and "out of range" in str(exc.value)


# ----------------------------------------------------------------------- equivalent layouts, same data

def test_equivalent_layouts_read_identically(tmp_path, monkeypatch):
    # readings with 15 significant digits, as a spreadsheet exports them, and a workbook holding the
    # same doubles: the C parser (correct rounding), the csv path and the workbook give the same floats
    # (pandas' default parser is off by up to 1e-12 relative on such numbers)
    rng = np.random.default_rng(7)

    def digits15(x):
        return np.array([float(f"{a:.15g}") for a in x])

    t = digits15(np.cumsum(rng.uniform(0.01, 1.0, 40)) / 3.0 * 10.0 ** rng.integers(-6, 3))
    v = digits15(np.cumsum(rng.uniform(0.1, 3.0, 40)) * 1.000000123456789 * 10.0 ** rng.integers(-3, 6))
    p = digits15(1.0 + rng.normal(0, 1e-3, 40))
    data = [(f"{a:.15g}", f"{b:.15g}", f"{c:.15g}") for a, b, c in zip(t, v, p, strict=True)]
    header = ["time (h)", "volume (mL)", "pressure (bar)"]
    layouts = {
        "plain.csv": "\n".join([AREA, ",".join(header), *(",".join(r) for r in data)]),
        "quoted.csv": "\n".join([AREA, ",".join(f'"{h}"' for h in header),
                                 *(",".join(f'"{c}"' for c in r) for r in data)]),
        "semicolon.csv": "\n".join([AREA.replace(": ", ";").replace(".", ","), ";".join(header),
                                    *(";".join(c.replace(".", ",") for c in r) for r in data)]),
        "tab_crlf.tsv": "\r\n".join([AREA, "\t".join(header), *("\t".join(r) for r in data)]),
        "units_row.csv": "\n".join([AREA, "time,volume,pressure", "h,mL,bar", *(",".join(r) for r in data)]),
    }
    trials = {}
    for name, content in layouts.items():
        (tmp_path / name).write_text(content + "\n", encoding="utf-8")
        trials[name] = read_trial(tmp_path / name)
    (tmp_path / "book.xlsx").write_bytes(_workbook_bytes([["Filter area", "13.8 cm2"], header,
                                                          *([float(c) for c in r] for r in data)]))
    trials["book.xlsx"] = read_trial(tmp_path / "book.xlsx")
    monkeypatch.setattr(text_module, "_read_body_fast", lambda *a, **k: None)  # the csv path alone
    trials["plain.csv via csv"] = read_trial(tmp_path / "plain.csv")
    first = trials["book.xlsx"]
    np.testing.assert_array_equal(first.t_h, t)
    for name, tr in trials.items():
        np.testing.assert_array_equal(tr.t_h, first.t_h, err_msg=name)
        np.testing.assert_array_equal(tr.v_L_per_m2, first.v_L_per_m2, err_msg=name)
        np.testing.assert_array_equal(tr.pressure_bar, first.pressure_bar, err_msg=name)
        assert tr.meta["rows"][1] - tr.meta["rows"][0] == 39


def test_short_numbers_through_the_fast_parser_are_correctly_rounded(tmp_path):
    # numbers of at most 15 digits and no exponent go through pandas' fast parser (Clinger's fast path
    # makes it exact); longer ones or exponents through its round-trip parser: both give float(text)
    rng = np.random.default_rng(11)
    x = rng.lognormal(0, 4, 3000)
    formats = ["%.4f", "%.9f", "%.14g", "%.15g", "%.17g", "%.6e"]
    for k, fmt in enumerate(formats):
        cells = [fmt % a for a in np.sort(x)]
        # litres on 1 m², first row after t = 0 (nothing subtracted): the trial holds the floats as read
        path = write(tmp_path, ["Filter area: 1 m2", "time (h),volume (L)",
                                *(f"{i + 1},{c}" for i, c in enumerate(cells))], name=f"f{k}.csv")
        trial = read_trial(path)
        np.testing.assert_array_equal(trial.v_L_per_m2, [float(c) for c in cells], err_msg=fmt)
    assert text_module._short_numbers(b"1,12345.678901234\n", ".")
    assert not text_module._short_numbers(b"1,12345.6789012345\n", ".")
    assert not text_module._short_numbers(b"1,1.5e3\n", ".")


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "-1e999", "nan", "1e999"])
def test_words_the_c_parser_reads_as_floats_are_still_not_numbers(tmp_path, cell):
    rows = [f"{i},{2 * i}" for i in range(10)]
    rows[3] = f"3,{cell}"
    with pytest.raises(InputError) as exc:
        read_trial(write(tmp_path, [AREA, "time (min),volume (mL)", *rows]))
    assert exc.value.row == 6 and f"'{cell}'" in str(exc.value)


def test_blank_rows_units_row_and_notes_read_the_same_on_both_paths(tmp_path, monkeypatch):
    lines = [AREA, "time,volume,pressure,comment", "", "min,mL,bar,",
             *(f"{t},{v},{p}," for t, v, p in cp_rows())]
    lines[8] = ""
    lines.insert(6, "   ")
    lines.append("")
    path = write(tmp_path, lines)
    fast = read_trial(path)
    monkeypatch.setattr(text_module, "_read_body_fast", lambda *a, **k: None)
    slow = read_trial(path)
    np.testing.assert_array_equal(fast.v_L_per_m2, slow.v_L_per_m2)
    for key in ("rows", "blank_rows", "skipped_rows", "units_row", "header_row", "ignored_columns", "notes"):
        assert fast.meta.get(key) == slow.meta.get(key), key
    assert fast.meta["units_row"] == 4 and fast.meta["blank_rows"]


def test_messages_quote_at_most_40_characters_of_a_cell(tmp_path):
    rows = [f"{i},{2 * i}" for i in range(10)]
    rows[2] = "2," + "abc" * 10_000
    with pytest.raises(InputError) as exc:
        read_trial(write(tmp_path, [AREA, "time (min),volume (mL)", *rows]))
    assert "(30,000 characters)" in str(exc.value) and len(str(exc.value)) < 300

