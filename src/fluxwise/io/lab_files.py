"""Files and inputs of the virtual lab: run requests and GMP actions with units, answer files, the rig
files a run exports, and attempt records (JSON).

* :func:`parse_run_request` — ``filter``, ``area="3.5 cm2"``, ``pressure="30 psi"`` or
  ``flux="150 LMH"``, ``duration="45 min"`` and optional stops, to a canonical
  :class:`~fluxwise.training.rig.RunRequest`;
* :func:`parse_action` — a GMP action's fields as a user types them (``volume="20 L"``,
  ``limit="3.2 bar"``) to the engine's canonical fields;
* :func:`read_answer` / :func:`parse_answer` — the answer (YAML or JSON): ``mechanism``, ``min_area``,
  ``format``, ``count``, ``safety_factor`` (a number with ``safety_factor_reason``, or
  ``{value, reason}``), optional ``vmax``, ``params``, ``filter``, ``prefilter``, ``integrity``;
* :func:`write_rig_file` / :func:`rig_file_bytes` — a run as the rig exports it, CSV or XLSX with the
  metadata lines above a table whose headers carry units: exactly what ``fluxwise fit`` reads;
* :func:`read_attempt` / :func:`write_attempt` — an attempt's JSON.

Every error names the key (``field``) and, for files, the file.
"""

from __future__ import annotations

import io as _io
import json
import math
from collections.abc import Mapping
from pathlib import Path

import yaml

from ..errors import InputError, UnitError
from ..i18n import _
from ..models.fouling import MODEL_NAMES, MODELS
from ..training.grading import Answer
from ..training.rig import RigRun, RunRequest
from ..training.scenario import Scenario
from ..trial import CONSTANT_FLUX, CONSTANT_PRESSURE
from ..units import parse_quantity

__all__ = [
    "parse_run_request",
    "parse_action",
    "parse_answer",
    "read_answer",
    "write_rig_file",
    "rig_file_bytes",
    "read_attempt",
    "write_attempt",
    "ANSWER_KEYS",
    "MAX_ANSWER_BYTES",
]

ANSWER_KEYS = (
    "mechanism",
    "min_area",
    "format",
    "count",
    "safety_factor",
    "safety_factor_reason",
    "vmax",
    "params",
    "filter",
    "prefilter",
    "integrity",
)
MAX_ANSWER_BYTES = 64 * 1024


def _q(value, kind, field, *, default_unit=None) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise UnitError(_("expected a quantity, got %(value)s", value=value), field=field)
    return parse_quantity(value, kind, field=field, default_unit=default_unit)


def _fraction(value, field) -> float | None:
    if value is None:
        return None
    text = str(value).strip()
    try:
        x = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        raise InputError(_("'%(value)s' is not a fraction (expected e.g. 0.9 or 90%%)", value=value),
                         field=field) from None
    return x


def parse_run_request(
    scenario: Scenario,
    *,
    filter: str,
    area,
    duration,
    pressure=None,
    flux=None,
    mode=None,
    stop_flux_decay=None,
    stop_pressure=None,
    stop_volume=None,
    feed=None,
) -> RunRequest:
    """One experiment from user text (units required): see the module docstring."""
    if not filter or not str(filter).strip():
        raise InputError(_("name the filter to test"), field="filter")
    if area is None:
        raise InputError(_('give the test filter area, e.g. "3.5 cm2"'), field="area")
    if duration is None:
        raise InputError(_('give the run duration, e.g. "45 min"'), field="duration")
    p = _q(pressure, "pressure", "pressure")
    j = _q(flux, "flux", "flux")
    if mode is None:
        if (p is None) == (j is None):
            raise InputError(
                _("give either a pressure (constant-pressure run) or a flux (constant-flux run)"),
                field="pressure" if p is None else "flux",
            )
        mode = CONSTANT_PRESSURE if p is not None else CONSTANT_FLUX
    elif mode not in (CONSTANT_PRESSURE, CONSTANT_FLUX):
        raise InputError(
            _("unknown mode '%(mode)s' (expected constant-pressure or constant-flux)", mode=mode),
            field="mode",
        )
    f = scenario.filter(filter)
    feed_mL = _q(feed, "volume", "feed")
    stop_mL = _q(stop_volume, "volume", "stop_volume")
    return RunRequest(
        filter=f.name if f is not None else str(filter).strip(),
        area_m2=_q(area, "area", "area"),
        mode=mode,
        duration_h=_q(duration, "time", "duration"),
        pressure_bar=p,
        flux_LMH=j,
        stop_flux_decay=_fraction(stop_flux_decay, "stop_flux_decay"),
        stop_pressure_bar=_q(stop_pressure, "pressure", "stop_pressure"),
        stop_volume_mL=None if stop_mL is None else stop_mL * 1000.0,
        feed_mL=None if feed_mL is None else feed_mL * 1000.0,
    )


#: user-facing action fields -> (engine field, unit kind, factor to the engine's unit)
_ACTION_QUANTITIES = {
    "volume": ("volume_L", "volume", 1.0),
    "back_pressure": ("back_pressure_bar", "pressure", 1.0),
}


def parse_action(scenario: Scenario, action: str, fields: Mapping) -> dict:
    """A GMP action's fields with units to the engine's canonical fields.

    ``volume`` ("20 L") -> ``volume_L``; ``back_pressure`` ("0.5 bar") -> ``back_pressure_bar``; ``limit``
    in the unit of the test's reading: a pressure ("3.2 bar", "46 psi") for a bubble point, a flow
    ("12 mL/min") for a diffusion test; the other fields pass as text.
    """
    out = {}
    for key, value in (fields or {}).items():
        if key in _ACTION_QUANTITIES:
            target, kind, factor = _ACTION_QUANTITIES[key]
            out[target] = _q(value, kind, key) * factor
        elif key == "limit" and isinstance(value, str):
            if scenario.gmp.integrity.method == "bubble-point":
                out["limit"] = _q(value, "pressure", "limit")
            else:
                out["limit"] = _q(value, "flow", "limit") * 1000.0 / 60.0  # L/h -> mL/min
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------------------- answers


def read_answer(path, scenario: Scenario) -> Answer:
    """Read an answer file (YAML or JSON)."""
    p = Path(path)
    src = str(path)
    if not p.is_file():
        raise InputError("answer file not found", source=src)
    if p.stat().st_size > MAX_ANSWER_BYTES:
        raise InputError(f"an answer file is at most {MAX_ANSWER_BYTES // 1024} KiB", source=src)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid YAML or JSON ({exc.__class__.__name__})", source=src) from None
    return parse_answer(data, scenario, source=p.name)


def parse_answer(data, scenario: Scenario, *, source: str | None = None) -> Answer:
    """Check and convert an answer mapping; every error names the key."""

    def err(key, msg, cls=InputError):
        return cls(msg, source=source, field=key)

    if not isinstance(data, Mapping):
        raise err(None, "an answer is a mapping of keys: " + ", ".join(ANSWER_KEYS))
    for key in data:
        if key not in ANSWER_KEYS:
            raise err(str(key), f"unknown key '{key}' (answer keys: {', '.join(ANSWER_KEYS)})")
    for key in ("mechanism", "min_area", "format", "count", "safety_factor"):
        if data.get(key) is None:
            raise err(key, "missing required key")
    mech = str(data["mechanism"]).strip()
    if mech not in MODEL_NAMES:
        raise err("mechanism", f"unknown model '{mech}' (models: {', '.join(MODEL_NAMES)})")

    def quantity(key, kind, example):
        v = data.get(key)
        if v is None:
            return None
        try:
            x = parse_quantity(v, kind, field=key, source=source) if not isinstance(v, bool) else None
        except UnitError as exc:
            raise err(key, f"{exc.message} (e.g. '{example}')", UnitError) from None
        if x is None or not (x > 0 and math.isfinite(x)):
            raise err(key, f"must be a positive quantity, e.g. '{example}', got {v!r}")
        return x

    area = quantity("min_area", "area", "1.2 m2")
    vmax = quantity("vmax", "specific_volume", "850 L/m2")
    count = data["count"]
    if isinstance(count, bool) or not isinstance(count, int | float | str):
        raise err("count", f"expected a whole number of units, got {count!r}")
    try:
        n = float(count)
    except ValueError:
        raise err("count", f"'{count}' is not a number") from None
    if n != int(n) or n < 1:
        raise err("count", f"expected a whole number of units, 1 or more, got {count!r}")
    sf_raw = data["safety_factor"]
    reason = data.get("safety_factor_reason")
    if isinstance(sf_raw, Mapping):
        extra = set(sf_raw) - {"value", "reason"}
        if extra:
            raise err(f"safety_factor.{sorted(extra)[0]}", "unknown key (expected value and reason)")
        if reason is not None and sf_raw.get("reason") is not None:
            raise err(
                "safety_factor_reason", "give the reason once (safety_factor.reason or safety_factor_reason)"
            )
        reason = sf_raw.get("reason", reason)
        sf_raw = sf_raw.get("value")
        sf_key = "safety_factor.value"
    else:
        sf_key = "safety_factor"
    try:
        sf = float(sf_raw)
    except (TypeError, ValueError):
        raise err(sf_key, f"expected a number such as 1.5, got {sf_raw!r}") from None
    if not (math.isfinite(sf) and sf >= 1.0):
        raise err(sf_key, f"a safety factor is at least 1, got {sf_raw!r}")
    if reason is not None:
        reason = str(reason).strip()
        if reason not in scenario.safety_factor.reasons:
            raise err(
                "safety_factor_reason",
                f"'{reason}' is not a reason of this scenario (reasons: "
                f"{', '.join(scenario.safety_factor.reasons)})",
            )
    params = data.get("params")
    if params is not None:
        if not isinstance(params, Mapping):
            raise err("params", "expected a mapping of fit keys (e.g. J0_LMH, ks_m2_per_L) to numbers")
        allowed = set(MODELS[mech].all_params) | {"P0_bar"}
        clean = {}
        for k, v in params.items():
            if k not in allowed:
                raise err(
                    f"params.{k}", f"not a parameter of '{mech}' (it has: {', '.join(sorted(allowed))})"
                )
            try:
                clean[k] = float(v)
            except (TypeError, ValueError):
                raise err(f"params.{k}", f"'{v}' is not a number") from None
        params = clean
    task = scenario.task
    config = data.get("filter")
    prefilter = None
    if config is not None:
        f = scenario.filter(str(config))
        if f is None or f.name not in task.filters:
            raise err("filter", f"'{config}' is not a filter of this task ({', '.join(task.filters)})")
        config = f.name
    if task.prefilter_decision:
        if "prefilter" not in data:
            raise err("prefilter", "this task asks for a prefilter decision: 'none' or {name, area_ratio}")
        pf = data["prefilter"]
        if pf is None or (isinstance(pf, str) and pf.strip().lower() in ("none", "no", "")):
            matches = [nm for nm in task.filters if scenario.filter(nm).prefilter is None]
            prefilter = None
        elif isinstance(pf, Mapping):
            extra = set(pf) - {"name", "area_ratio"}
            if extra:
                raise err(f"prefilter.{sorted(extra)[0]}", "unknown key (expected name and area_ratio)")
            name = str(pf.get("name", "")).strip()
            try:
                ratio = float(pf.get("area_ratio", "nan"))
            except (TypeError, ValueError):
                raise err("prefilter.area_ratio", f"'{pf.get('area_ratio')}' is not a number") from None
            matches = [
                nm
                for nm in task.filters
                if (p := scenario.filter(nm).prefilter) is not None
                and p.name.casefold() == name.casefold()
                and (not math.isfinite(ratio) or abs(p.area_ratio / ratio - 1) < 0.01)
            ]
            prefilter = {"name": name, "area_ratio": ratio}
        else:
            raise err("prefilter", f"expected 'none' or {{name, area_ratio}}, got {pf!r}")
        if not matches:
            options = ", ".join(
                "none"
                if scenario.filter(nm).prefilter is None
                else f"{scenario.filter(nm).prefilter.name} at {scenario.filter(nm).prefilter.area_ratio:g}"
                for nm in task.filters
            )
            raise err("prefilter", f"no configuration of this task has that prefilter (options: {options})")
        if config is not None and config != matches[0]:
            raise err("filter", f"'{config}' does not go with the prefilter answer ('{matches[0]}')")
        config = matches[0]
    elif data.get("prefilter") not in (None, "none"):
        raise err("prefilter", "this task has no prefilter decision")
    integ = data.get("integrity")
    if integ is not None and not isinstance(integ, Mapping):
        raise err(
            "integrity", "expected a mapping, e.g. {method: bubble-point, limit: '3.2 bar', result: pass}"
        )
    return Answer(
        mechanism=mech,
        min_area_m2=area,
        format=str(data["format"]).strip(),
        count=int(n),
        safety_factor=sf,
        safety_factor_reason=reason,
        filter=config,
        prefilter=prefilter,
        vmax_L_per_m2=vmax,
        params=params,
        integrity=None if integ is None else dict(integ),
    )


# ------------------------------------------------------------------------------- rig files


def _clean(text: str) -> str:
    """Metadata values without the characters a CSV reader would split on."""
    return str(text).replace(",", " -").replace(";", " -").replace("\t", " ")


def _fmt(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def rig_file_bytes(scenario: Scenario, run: RigRun, fmt: str | None = None) -> bytes:
    """A run as the rig exports it: ``csv`` (UTF-8) or ``xlsx`` (default: the scenario's rig export)."""
    fmt = (fmt or scenario.rig.export).lower().lstrip(".")
    headers = [h for h, _, _ in run.columns]
    n = run.columns[0][2].size
    if fmt == "csv":
        lines = [f"{_clean(k)}: {_clean(v)}" for k, v in run.metadata]
        lines.append("")
        lines.append(",".join(headers))
        for i in range(n):
            lines.append(",".join(_fmt(v[i], d) for _, d, v in run.columns))
        return ("\n".join(lines) + "\n").encode("utf-8")
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = f"Run {run.index + 1}"
        for k, v in run.metadata:
            ws.append([f"{k}:", str(v)])
        ws.append([])
        ws.append(headers)
        for i in range(n):
            ws.append([round(float(v[i]), d) for _, d, v in run.columns])
        buf = _io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
    raise InputError(f"unknown rig file format '{fmt}' (expected csv or xlsx)", field="format")


def write_rig_file(scenario: Scenario, run: RigRun, path) -> Path:
    """Write a run's rig file; the format follows the extension (.csv or .xlsx)."""
    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext not in ("csv", "xlsx"):
        raise InputError(
            f"a rig file is written as .csv or .xlsx, not '{p.suffix or '(none)'}'", field="output"
        )
    p.write_bytes(rig_file_bytes(scenario, run, ext))
    return p


# ------------------------------------------------------------------------------- attempts


def read_attempt(path) -> dict | None:
    """An attempt's JSON (None when the file does not exist yet)."""
    p = Path(path)
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not an attempt file (JSON: {exc.__class__.__name__})", source=str(path)) from None


def write_attempt(attempt, path) -> Path:
    """Write an attempt's JSON (written to a temporary file first, so a crash never leaves half a record)."""
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(attempt.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(p)
    return p
