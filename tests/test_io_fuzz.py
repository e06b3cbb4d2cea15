"""Fuzzing the trial reader: 3,000 seeded mutations of the example and test files.

Each mutated file goes through :func:`fluxwise.io.read_trial` itself (and every tenth one that reads
through :func:`fluxwise.fit.fouling.fit_trial`), with the process's file descriptors captured. The
reader may answer with a trial or with the project's own error, nothing else: no other exception, no
output on stdout or stderr, no numeric warning, no file taking more than a bounded time or memory.
A few of the files also go through ``fluxwise fit --json`` in a subprocess, whose stdout must hold
the JSON result and nothing else (or nothing, with exit code 2 and the message on stderr).

The mutator is seeded: a failure names the file number and the mutations that made it, and
``FLUXWISE_FUZZ_SEED`` / ``FLUXWISE_FUZZ_FILES`` run other or more files.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest

from fluxwise.errors import FluxwiseError
from fluxwise.fit.fouling import fit_trial
from fluxwise.io import read_trial

ROOT = Path(__file__).resolve().parent.parent
SEED = int(os.environ.get("FLUXWISE_FUZZ_SEED", "20261129"))
N_FILES = int(os.environ.get("FLUXWISE_FUZZ_FILES", "3000"))
READ_BOUND_S = 10.0  # a hang (minutes before) exceeds it by far; a normal read takes ~10 ms
FIT_BOUND_S = 20.0
MEMORY_BOUND_BYTES = 256 * 1024 * 1024
FIT_EVERY = 10
CLI_FILES = 2

HOSTILE_CELLS = ["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "-1e999", "1e999", "1e-310", "4.9e-324",
                 "1e308", "-0", "0x10", "1_000", "١٢", "−5", "12,5", "1.2.3", "1e", "--1", "=A1+1", "#DIV/0!",
                 "#N/A", '"quoted, cell"', "𝟙", "00:61:00", "12:30:15", "1:2:3:4", "\x0c1.5", "\u00a02",
                 "TRUE", "-", "e5", ".", "+.5", "5.", "1e5", "1E-05", "0" * 40 + "1"]
HOSTILE_UNITS = ["9**9**9", "(9**9)**9", "m**99999", "km**3", "TPa", "psi", "cm²", "", "()", "((((", "h:mm",
                 "hh:mm:ss", "mm:ss", "s" * 500, "1e9 L", "L/m2/h", "LMH", "%", "degC", "mL/min", "g/mL",
                 "kg", "bar", "m**-3", "1/h", "N m", "µL", "per", "9" * 300]
HOSTILE_META = ["Filter area: 0 cm2", "Filter area: -13.8 cm2", "Filter area: 9**9**9 cm2",
                "Filter area: 1e-300 m2", "Filter area: 1e300 m2", "Filter area: 13,8 cm2",
                "Filter area: nan cm2",
                "Filter area: 13.8", "Density: 1e308 g/mL", "Density: 0 g/mL", "Density: 1e-320 g/mL",
                "Density: 1.02 kg", "Mode: constant flux", "Mode: constant pressure", "Mode: sideways",
                "Filter area: " + "1" * 5000 + " cm2", "Sample: lot 5, day 2"]


class PeakMemory:
    """Peak growth of the process's resident memory while a block runs, sampled every few
    milliseconds from /proc/self/statm (far cheaper than tracing every allocation, and it sees the
    C parsers' buffers too)."""

    _PAGE = os.sysconf("SC_PAGE_SIZE")

    def __init__(self, interval_s: float = 0.002):
        self.interval_s = interval_s
        self.growth = 0
        self._stop = threading.Event()

    @classmethod
    def resident(cls) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * cls._PAGE

    def _sample(self):
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, self.resident())

    def __enter__(self):
        self.base = self.peak = self.resident()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.resident())
        self.growth = self.peak - self.base
        return False


def _seed_texts() -> dict[str, str]:
    seeds = {}
    paths = sorted((ROOT / "examples").glob("*.csv")) + sorted((ROOT / "tests" / "data" / "io").glob("*"))
    for path in paths:
        seeds[path.name] = path.read_bytes().decode("utf-8-sig", errors="replace")
    rows = [f"{5 * i},{300 * (5 * i / 60) / (1 + 1.5 * (5 * i / 60)) * 1.38:.4f},{1.0 + 0.002 * i:.3f}"
            for i in range(40)]
    seeds["synthetic_cp.csv"] = "\n".join(["Filter area: 13.8 cm2", "time (min),filtrate mass (g),P1 (psi)",
                                           *rows]) + "\n"
    # standard blocking at 100 LMH (2.3 mL/min on 13.8 cm²): P = P0/(1 - ks·V/2)², P0 0.2 bar, ks 0.01 m²/L
    cf = [f"{i * 0.5},{2.3 * i * 0.5:.3f},{0.2 / (1 - 0.005 * 100 * i * 0.5 / 60) ** 2:.4f}"
          for i in range(30)]
    seeds["synthetic_cf.csv"] = "\n".join(["Filter area: 13.8 cm2", "Mode: constant flux",
                                           "time (min),filtrate volume (mL),pressure (bar)", *cf]) + "\n"
    clock = [f"00:{i // 60:02d}:{i % 60:02d};{0.5 * i:.1f}".replace(".", ",") for i in range(0, 600, 20)]
    seeds["synthetic_clock.csv"] = "\n".join(["Filterfläche;13,8 cm2", "Zeit (hh:mm:ss);Filtrat [mL]",
                                              *clock]) + "\n"
    return seeds


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _data_start(lines: list[str]) -> int:
    for k, line in enumerate(lines):
        if line.count(",") + line.count(";") + line.count("\t") >= 1 and any(ch.isalpha() for ch in line) \
                and ":" not in line.split(",")[0]:
            return k + 1
    return min(3, len(lines))


class Mutator:
    """Seeded mutations of a trial file; each returns the new text (or bytes) and a short label."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def text_mutations(self):
        return [self.flip_bytes, self.truncate, self.delete_line, self.duplicate_line, self.swap_lines,
                self.blank_line, self.hostile_cell, self.hostile_cell, self.hostile_unit, self.wider_rows,
                self.decimal_commas, self.delimiter, self.quote_all, self.line_endings, self.wide,
                self.metadata, self.scale_column, self.long_cell, self.nul, self.shuffle_rows,
                self.drop_header, self.units_row, self.zero_filtrate]

    def pick_line(self, lines, data=True):
        start = _data_start(lines) if data else 0
        if start >= len(lines):
            return None
        return self.rng.randrange(start, len(lines))

    def flip_bytes(self, text):
        chars = list(text)
        for _ in range(self.rng.randint(1, 8)):
            if chars:
                code = self.rng.choice([0x2c, 0x3b, 0x09, 0x0a, 0x22, 0x2e, 0x30, 0x39, 0x41, 0xe9, 0x00,
                                        self.rng.randrange(32, 0x3000)])
                chars[self.rng.randrange(len(chars))] = chr(code)
        return "".join(chars), "flip"

    def truncate(self, text):
        return text[: self.rng.randrange(len(text) + 1)], "truncate"

    def delete_line(self, text):
        lines = _lines(text)
        k = self.pick_line(lines, data=False)
        if k is not None:
            del lines[k]
        return "\n".join(lines), "delete line"

    def duplicate_line(self, text):
        lines = _lines(text)
        k = self.pick_line(lines)
        if k is not None:
            lines.insert(k, lines[k])
        return "\n".join(lines), "duplicate line"

    def swap_lines(self, text):
        lines = _lines(text)
        a, b = self.pick_line(lines), self.pick_line(lines)
        if a is not None and b is not None:
            lines[a], lines[b] = lines[b], lines[a]
        return "\n".join(lines), "swap lines"

    def blank_line(self, text):
        lines = _lines(text)
        lines.insert(self.rng.randrange(len(lines) + 1), self.rng.choice(["", " ", ",,", ";;", "\t"]))
        return "\n".join(lines), "blank line"

    def hostile_cell(self, text):
        lines = _lines(text)
        k = self.pick_line(lines)
        value = self.rng.choice(HOSTILE_CELLS)
        if k is not None:
            sep = ";" if ";" in lines[k] else ("\t" if "\t" in lines[k] else ",")
            cells = lines[k].split(sep)
            cells[self.rng.randrange(len(cells))] = value
            lines[k] = sep.join(cells)
        return "\n".join(lines), f"cell {value[:12]!r}"

    def hostile_unit(self, text):
        lines = _lines(text)
        k = max(_data_start(lines) - 1, 0)
        unit = self.rng.choice(HOSTILE_UNITS)
        if k < len(lines) and "(" in lines[k]:
            head, _, tail = lines[k].partition("(")
            lines[k] = head + "(" + unit + tail[tail.find(")"):] if ")" in tail else head + "(" + unit + ")"
        elif k < len(lines) and "[" in lines[k]:
            lines[k] = lines[k].replace("[", "[" + unit + " ", 1)
        return "\n".join(lines), f"unit {unit[:12]!r}"

    def wider_rows(self, text):
        lines = _lines(text)
        start = _data_start(lines)
        extra = self.rng.choice([",1", ",x", ";1", ",", ",1,2"])
        every = self.rng.choice([1, 1, 3])
        lines = [ln + extra if k >= start and ln and (k - start) % every == 0 else ln
                 for k, ln in enumerate(lines)]
        return "\n".join(lines), f"wider {extra!r}"

    def decimal_commas(self, text):
        lines = _lines(text)
        start = _data_start(lines)
        text = "\n".join(ln.replace(".", ",") if k >= start else ln for k, ln in enumerate(lines))
        return text, "dec comma"

    def delimiter(self, text):
        new = self.rng.choice([";", "\t", " ", "|"])
        return text.replace(",", new), f"delimiter {new!r}"

    def quote_all(self, text):
        lines = _lines(text)
        return "\n".join(",".join(f'"{c}"' for c in ln.split(",")) if ln else ln for ln in lines), "quotes"

    def line_endings(self, text):
        end = self.rng.choice(["\r\n", "\r", "\n\n"])
        return text.replace("\n", end), f"endings {end!r}"

    def wide(self, text):
        lines = _lines(text)
        start = _data_start(lines)
        n = self.rng.choice([20, 100, 500])
        header = start - 1
        out = []
        for k, ln in enumerate(lines):
            if k == header:
                ln = ln + "".join(f",aux {j} (mA)" for j in range(n))
            elif k >= start and ln:
                ln = ln + ",4.5" * n
            out.append(ln)
        return "\n".join(out), f"wide {n}"

    def metadata(self, text):
        lines = _lines(text)
        line = self.rng.choice(HOSTILE_META)
        if self.rng.random() < 0.5:
            lines = [ln for ln in lines if "area" not in ln.lower() and "fläche" not in ln.lower()]
        lines.insert(0, line)
        return "\n".join(lines), f"meta {line[:20]!r}"

    def scale_column(self, text):
        lines = _lines(text)
        start = _data_start(lines)
        factor = self.rng.choice([1e-300, 1e300, 0.0, -1.0, 1e-12, 1e12])
        col = self.rng.randrange(3)
        out = []
        for k, ln in enumerate(lines):
            if k >= start and ln:
                cells = ln.split(",")
                if col < len(cells):
                    try:
                        cells[col] = repr(float(cells[col]) * factor)
                    except ValueError:
                        pass
                ln = ",".join(cells)
            out.append(ln)
        return "\n".join(out), f"scale {col}x{factor:g}"

    def zero_filtrate(self, text):
        lines = _lines(text)
        start = _data_start(lines)
        out = []
        for k, ln in enumerate(lines):
            cells = ln.split(",")
            if k >= start and len(cells) > 1:
                cells[1] = "0"
            out.append(",".join(cells))
        return "\n".join(out), "zero filtrate"

    def long_cell(self, text):
        lines = _lines(text)
        k = self.pick_line(lines)
        n = self.rng.choice([1_000, 20_000, 200_000])
        cell = self.rng.choice(["1" * n, "1" * n + "x", "1," + "1" * n, " " * n + "1", "9" * n + ".5e1"])
        if k is not None:
            cells = lines[k].split(",")
            cells[self.rng.randrange(len(cells))] = cell
            lines[k] = ",".join(cells)
        return "\n".join(lines), f"long cell {n}"

    def nul(self, text):
        k = self.rng.randrange(len(text) + 1)
        return text[:k] + "\x00" + text[k:], "NUL"

    def shuffle_rows(self, text):
        lines = _lines(text)
        start = _data_start(lines)
        body = lines[start:]
        self.rng.shuffle(body)
        return "\n".join(lines[:start] + body), "shuffle"

    def drop_header(self, text):
        lines = _lines(text)
        k = _data_start(lines) - 1
        if 0 <= k < len(lines):
            del lines[k]
        return "\n".join(lines), "no header"

    def units_row(self, text):
        lines = _lines(text)
        k = _data_start(lines)
        lines.insert(k, self.rng.choice(["min,g,psi", "s;mL;bar", "h,L", "(min),(g),(psi)", "9**9**9,g"]))
        return "\n".join(lines), "units row"

    def encode(self, text) -> tuple[bytes, str]:
        roll = self.rng.random()
        if roll < 0.06:
            raw = text.encode("utf-16")
            if self.rng.random() < 0.5:
                raw = raw[: self.rng.randrange(len(raw) + 1)]
            return raw, "utf-16"
        if roll < 0.09:
            return text.encode("utf-16-le"), "utf-16 no BOM"
        if roll < 0.13:
            return text.encode("cp1252", errors="replace"), "cp1252"
        if roll < 0.16:
            return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass"), "BOM"
        return text.encode("utf-8", "surrogatepass"), ""

    def mutate(self, text: str) -> tuple[bytes, list[str]]:
        labels = []
        for _ in range(self.rng.choice([1, 1, 1, 2, 3])):
            text, label = self.rng.choice(self.text_mutations())(text)
            labels.append(label)
        raw, label = self.encode(text)
        return raw, [*labels, label] if label else labels

    def workbook(self, text: str) -> tuple[bytes, list[str]]:
        """A workbook of a (mutated) text: cells as numbers where they read as numbers, else text."""
        wb = openpyxl.Workbook()
        ws = wb.active
        for line in _lines(text)[:400]:
            cells = []
            for c in line.split(",")[:60]:
                try:
                    cells.append(float(c))
                except ValueError:
                    cells.append("".join(ch for ch in c if ch.isprintable())[:200])
            ws.append(cells)
        buf = io.BytesIO()
        wb.save(buf)
        raw = _fixed_times(buf.getvalue())
        if self.rng.random() < 0.3:  # damage the container
            chars = bytearray(raw)
            for _ in range(self.rng.randint(1, 20)):
                chars[self.rng.randrange(len(chars))] = self.rng.randrange(256)
            return bytes(chars), ["xlsx", "damaged zip"]
        return raw, ["xlsx"]


def _zip(parts: dict[str, bytes]) -> bytes:
    """A zip of ``parts`` with fixed times, so that the same seed gives the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data,
                        compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _fixed_times(workbook: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(workbook)) as zf:
        parts = {info.filename: zf.read(info.filename) for info in zf.infolist()}
    stamp = re.compile(rb"<dcterms:(created|modified)([^>]*)>[^<]*<")
    parts = {name: stamp.sub(rb"<dcterms:\1\2>2026-01-01T00:00:00Z<", data) if name == "docProps/core.xml"
             else data for name, data in parts.items()}
    return _zip(parts)


@functools.lru_cache(maxsize=1)
def _bomb() -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                 "xl/worksheets/sheet1.xml": b"<worksheet>" + b" " * (40 * 1024 * 1024) + b"</worksheet>"})


def _files(n: int):
    """(number, suffix, bytes, labels, read options) of n mutated files, the same for a given seed."""
    rng = random.Random(SEED)
    mutator = Mutator(rng)
    seeds = _seed_texts()
    names = sorted(seeds)
    yield 0, ".xlsx", _bomb(), ["zip bomb"], {}
    for i in range(1, n):
        name = rng.choice(names)
        text = seeds[name]
        if rng.random() < 0.02:
            for _ in range(rng.choice([0, 1])):
                text, _ = rng.choice(mutator.text_mutations())(text)
            raw, labels = mutator.workbook(text)
            suffix = ".xlsx"
        else:
            raw, labels = mutator.mutate(text)
            suffix = rng.choice([".csv", ".csv", ".csv", ".txt", ".tsv"])
        options = {}
        if rng.random() < 0.25:
            options["area"] = rng.choice(["13.8 cm2", "0 cm2", "1e-300 m2", "9**9**9 cm2", "13.8"])
        if rng.random() < 0.1:
            options["mode"] = rng.choice(["constant-flux", "constant-pressure"])
        yield i, suffix, raw, [name, *labels], options


def test_fuzzed_trial_files_give_a_trial_or_the_projects_error(tmp_path, capfd):
    if not Path("/proc/self/statm").exists():
        pytest.skip("the memory bound reads /proc/self/statm (Linux)")
    failures: list[str] = []
    outcomes = {"trial": 0, "error": 0, "fitted": 0, "fit error": 0}
    slowest, largest = (0.0, ""), (0, "")
    for i, suffix, raw, labels, options in _files(N_FILES):
        path = tmp_path / f"run{i % 7}{suffix}"
        path.write_bytes(raw)
        what = f"file {i} ({', '.join(labels)}; {options})"
        trial = None
        with warnings.catch_warnings(record=True) as caught, PeakMemory() as memory:
            warnings.simplefilter("always")
            start = time.perf_counter()
            try:
                trial = read_trial(path, **options)
                outcomes["trial"] += 1
            except FluxwiseError as exc:
                outcomes["error"] += 1
                if not str(exc).strip():
                    failures.append(f"{what}: empty message")
            except Exception as exc:  # noqa: BLE001 - that is what the test looks for
                failures.append(f"{what}: {type(exc).__name__}: {exc}"[:400])
            elapsed = time.perf_counter() - start
            if trial is not None and i % FIT_EVERY == 0:
                start = time.perf_counter()
                try:
                    fit_trial(trial)
                    outcomes["fitted"] += 1
                except FluxwiseError:
                    outcomes["fit error"] += 1
                except Exception as exc:  # noqa: BLE001
                    failures.append(f"{what}: fit: {type(exc).__name__}: {exc}"[:400])
                if time.perf_counter() - start > FIT_BOUND_S:
                    failures.append(f"{what}: fit took {time.perf_counter() - start:.1f} s")
        numeric = [w for w in caught if issubclass(w.category, RuntimeWarning | UserWarning)]
        if numeric:
            failures.append(f"{what}: warning {numeric[0].category.__name__}: {numeric[0].message}"[:400])
        out, err = capfd.readouterr()
        if out or err:
            failures.append(f"{what}: printed {(out + err)[:200]!r}")
        if elapsed > READ_BOUND_S:
            failures.append(f"{what}: read took {elapsed:.1f} s (bound {READ_BOUND_S} s)")
        if memory.growth > MEMORY_BOUND_BYTES:
            failures.append(f"{what}: memory grew by {memory.growth / 2**20:.0f} MB (bound "
                            f"{MEMORY_BOUND_BYTES / 2**20:.0f} MB)")
        slowest = max(slowest, (elapsed, what))
        largest = max(largest, (memory.growth, what))
    print(f"\n{N_FILES} files: {outcomes}; slowest read {slowest[0]:.2f} s ({slowest[1][:80]}); "
          f"largest memory growth {largest[0] / 2**20:.1f} MB ({largest[1][:80]})")
    assert not failures, f"{len(failures)} of {N_FILES} files:\n" + "\n".join(failures[:30])
    assert outcomes["trial"] >= N_FILES // 10 and outcomes["error"] >= N_FILES // 10  # the mutator bites
    assert outcomes["fitted"] >= 10


def test_fuzzed_files_through_the_command_line_keep_stdout_for_the_json(tmp_path):
    fluxwise = str(Path(sys.executable).with_name("fluxwise"))
    chosen = []
    for i, suffix, raw, labels, _ in _files(400):
        if suffix == ".xlsx" and i:
            continue
        if i == 0 or (i % 97 == 1 and len(chosen) < CLI_FILES):
            path = tmp_path / f"fuzz{i}{suffix}"
            path.write_bytes(raw)
            chosen.append((path, labels))
    # and the hostile values that once made LAPACK print on stdout
    subnormal = tmp_path / "subnormal.csv"
    subnormal.write_text("Filter area: 13.8 cm2\ntime (min),volume (L)\n"
                         + "".join(f"{i},{i}e-310\n" for i in range(10)))
    chosen.append((subnormal, ["subnormal"]))
    for path, labels in chosen:
        r = subprocess.run([fluxwise, "fit", str(path), "--json"], capture_output=True, text=True,
                           timeout=120)
        assert "Traceback" not in r.stderr, (labels, r.stderr[-2000:])
        if r.returncode == 0:
            result = json.loads(r.stdout)  # nothing but the JSON on stdout
            assert result["models"], labels
        else:
            assert r.returncode == 2 and r.stdout == "", (labels, r.returncode, r.stdout[:500])
            assert r.stderr.startswith("fluxwise: error: "), (labels, r.stderr[:500])


def test_the_mutator_is_reproducible():
    # a failure names a file number: the same seed must give the same file again, workbooks included
    first, again = list(_files(60)), list(_files(60))
    assert [f[2] for f in first] == [f[2] for f in again] and len({f[2] for f in first}) >= 50
    assert sum(f[1] == ".xlsx" for f in first) >= 2
