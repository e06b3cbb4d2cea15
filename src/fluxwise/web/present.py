"""What the pages show: numbers with their units, the model table, the sizing, the plots of a trial.

Pure presentation over the shapes the doors share (the JSON of ``fluxwise fit --json`` and
``fluxwise size --json``, as stored with each result) and over :func:`fluxwise.pipeline.analyze`
for the interactive figures (:mod:`fluxwise.report.figures`), which need the fitted objects.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections import OrderedDict
from typing import Any

from .. import i18n
from ..errors import FluxwiseError
from ..i18n import N_, TERMS, _, term  # noqa: F401  (term: the pages' filter)
from ..models.fouling import MODELS, PARAM_UNITS
from ..report.html import fmt

#: How a parameter key of the fit JSON reads on a page.
PARAM_LABELS = {"J0_LMH": "J₀", "kb_per_h": "k_b", "ki_m2_per_L": "k_i", "ks_m2_per_L": "k_s",
                "kc_h_m4_per_L2": "k_c", "P0_bar": "P₀"}

#: Units read off the suffix of a JSON key (the project names every quantity with its unit).
_KEY_UNITS = (("_L_per_m2", "L/m²"), ("_g_per_L", "g/L"), ("_LMH", "L/m²/h"), ("_m2", "m²"), ("_mL", "mL"),
              ("_L", "L"), ("_h", "h"), ("_bar", "bar"), ("_usd", "USD"), ("_kg", "kg"), ("_g", "g"))


#: How the extra numbers of a sizing (beside the headline ones) read on a page; other keys are shown
#: as :func:`label_of` writes them.
EXTRA_LABELS = {
    "flux_LMH": N_("process flux"), "final_pressure_bar": N_("final pressure"),
    "max_pressure_bar": N_("maximum pressure"), "flux_decay_limit": N_("flux-decay limit"),
    "confidence": N_("confidence"), "risk_based_area_m2": N_("risk-based area"),
    "implied_safety_factor": N_("implied safety factor"), "initial_pressure_bar": N_("initial pressure"),
    "compressibility_s": N_("compressibility s"),
    "alpha_at_max_pressure_m_per_kg": N_("specific cake resistance at the maximum pressure"),
    "time_limit_h": N_("time limit"), "breakthrough_volume_L_per_m2": N_("breakthrough volume"),
}


#: The texts ``static/app.js`` shows, by their English text (``t("...")`` there); each page carries
#: them translated (:func:`js_messages`). ``{name}`` placeholders are filled in by the script.
JS_MESSAGES = (
    N_("the file is larger than the upload limit"), N_("the server answered HTTP {status}"),
    N_("the server could not be reached"), N_("The plotting library did not load."),
    N_("choose a trial file first"), N_("Uploading {name}…"), N_("Uploading: {loaded} of {total}"),
    N_("Uploaded ({points} points, {mode}). Fitting the nine fouling models…"),
    N_("Done. Opening the trial…"),
    N_("The file was stored, but the fit failed: "), N_("Upload refused: "),
    N_("choose a train file (.yaml), or design the example train"), N_("Designing the example train…"),
    N_("Uploading…"), N_("Reading and fitting the trials, designing every step…"),
    N_("Done. Opening the design…"),
    N_("choose a plan file (.yaml), a saved train design or the example"),
    N_("Simulating the campaign: recommendations, the campaign, the sources compared…"),
    N_("Done. Opening the study…"),
    # the train designer's checks as the user types
    N_("is required"), N_("is required, e.g. {example}"), N_("must be a number and a unit, e.g. {example}"),
    N_("needs a unit, e.g. {example}"), N_("unit '{unit}' is not a {kind} unit here ({units})"),
    N_("must not be negative"), N_("must be a fraction between 0 and 1, e.g. {example}"),
    N_("must be a number of at least 1, e.g. {example}"),
    N_("must be a number of at least 0, e.g. {example}"),
    N_("choose a trial"), N_("best fitting format"), N_("step name"), N_("Step name"), N_("Move up"),
    N_("Move down"), N_("Remove"), N_("Remove the step"), N_("step {n}, "),
    N_("is required at constant pressure, e.g. 2 h"), N_("is required at constant flux, e.g. 25 psi"),
    N_("give the process time or the process flux"), N_("add at least one step"),
    N_("volume"), N_("time"), N_("flux"), N_("pressure"), N_("concentration"), N_("area"),
    # correcting, deleting and restoring records
    N_("nothing was changed: change a column, a unit, the filter area, the density or the mode"),
    N_("reason: say why the trial is read again (kept in the audit trail)"),
    N_("reason: say why it is deleted (kept in the audit trail)"),
    N_("reason: say why it is restored (kept in the audit trail)"),
)


def js_messages() -> str:
    """:data:`JS_MESSAGES` (and the trial modes) in the current language, as JSON for the page."""
    out = {m: _(m) for m in JS_MESSAGES}
    out.update({k: _(TERMS[k]) for k in ("constant-pressure", "constant-flux")})
    return safe_json(out)


def unit_of(key: str) -> str:
    """The unit a JSON key carries in its name (``min_area_m2`` -> ``m²``), or ``''``."""
    if key in PARAM_UNITS:
        return PARAM_UNITS[key]
    for suffix, unit in _KEY_UNITS:
        if key.endswith(suffix):
            return unit
    return ""


def label_of(key: str) -> str:
    """A readable name for a JSON key: its unit suffix dropped, underscores as spaces."""
    if key in PARAM_LABELS:
        return PARAM_LABELS[key]
    for suffix, _unit in _KEY_UNITS:
        if key.endswith(suffix):
            key = key[: -len(suffix)]
            break
    return key.replace("_", " ")


def num(x: Any, digits: int = 4) -> str:
    """A number for people (4 significant digits; '—' when missing)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return "—" if x is None else str(x)
    return i18n.format_number(float(x), digits)


def interval(lo: Any, hi: Any, value: Any) -> str:
    """``[lo, hi]`` with just enough digits that the ends and the value read differently (max 8)."""
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in (lo, hi)):
        return ""
    for digits in range(4, 9):
        a, b = fmt(float(lo), digits), fmt(float(hi), digits)
        v = fmt(float(value), digits) if isinstance(value, int | float) else ""
        if a != b and a != v and b != v:
            return f"[{a}, {b}]"
    # a zero-width interval (a parameter at its bound) reads best short
    a, b = fmt(float(lo)), fmt(float(hi))
    return f"[{a}, {b}]"


def model_rows(fit_data: dict) -> list[dict]:
    """Rows of the model comparison table from a stored fit result (best first)."""
    tied = set(fit_data.get("indistinguishable") or [])
    best = fit_data.get("best_model")
    rows = []
    for m in fit_data.get("models", []):
        params = []
        ci = m.get("ci95") or {}
        fixed = set(m.get("fixed") or [])
        for key, value in (m.get("params") or {}).items():
            lo_hi = ci.get(key) or [None, None]
            params.append({"key": key, "label": PARAM_LABELS.get(key, key), "unit": PARAM_UNITS.get(key, ""),
                           "value": num(value), "fixed": key in fixed,
                           "ci": "" if key in fixed else interval(lo_hi[0], lo_hi[1], value)})
        r2 = m.get("r2")
        model = MODELS.get(m["name"])
        rows.append({"name": m["name"], "params": params,
                     "r2": "—" if r2 is None else f"{r2:.6f}",
                     "delta_aicc": "—" if m.get("delta_aicc") is None else f"{m['delta_aicc']:.2f}",
                     "aicc": num(m.get("aicc"), 6), "sse": num(m.get("sse")),
                     "converged": bool(m.get("converged", True)),
                     "best": m["name"] == best, "tied": m["name"] in tied and m["name"] != best,
                     "source": model.source if model is not None else ""})
    return rows


def sse_unit(mode: str) -> str:
    """The unit of the sum of squared residuals: volumes at constant pressure, pressures at constant flux."""
    return "(L/m²)²" if mode == "constant-pressure" else "bar²"


def sizing_view(data: dict, inputs: dict | None = None) -> dict:
    """The headline numbers of a stored sizing, each with its unit, and the alternatives."""
    fmt_ = data.get("format") or {}
    shown = {"model", "mode", "batch_volume_L", "process_time_h", "min_area_m2", "safety_factor",
             "installed_area_m2", "format", "params", "alternatives", "v50_L_per_m2", "v75_L_per_m2",
             "v90_L_per_m2", "capacity_at_process_time_L_per_m2", *CHECK_KEYS}
    extra = [{"label": _(EXTRA_LABELS[k]) if k in EXTRA_LABELS else label_of(k), "value": num(v),
              "unit": unit_of(k)} for k, v in data.items()
             if k not in shown and isinstance(v, int | float) and not isinstance(v, bool)]
    alternatives = [{"name": a["name"], "kind": a.get("kind", ""), "count": a["count"],
                     "area": num(a["area_m2"]), "installed": num(a["installed_area_m2"]),
                     "margin": num(a["margin"] * 100, 3), "price": f"{a['price_usd']:,.0f}",
                     "plastic": num(a.get("plastic_kg")), "hold_up": num(a.get("hold_up_mL"))}
                    for a in data.get("alternatives", [])]
    return {
        "model": data.get("model"), "mode": data.get("mode"),
        "batch_volume": num(data.get("batch_volume_L")), "process_time": num(data.get("process_time_h")),
        "min_area": num(data.get("min_area_m2")), "safety_factor": num(data.get("safety_factor"), 3),
        "required_area": num(data.get("installed_area_m2")),
        "format_name": fmt_.get("name"), "format_count": fmt_.get("count"),
        "format_area": num(fmt_.get("area_m2")),
        "installed_area": num(fmt_.get("installed_area_m2")),
        "margin": num(None if fmt_.get("margin") is None else fmt_["margin"] * 100, 3),
        "price": "—" if fmt_.get("price_usd") is None else f"{fmt_['price_usd']:,.0f}",
        "plastic": num(fmt_.get("plastic_kg")), "hold_up": num(fmt_.get("hold_up_mL")),
        "v50": num(data.get("v50_L_per_m2")), "v75": num(data.get("v75_L_per_m2")),
        "v90": num(data.get("v90_L_per_m2")), "capacity": num(data.get("capacity_at_process_time_L_per_m2")),
        "extra": extra, "alternatives": alternatives, "inputs": inputs or {},
        "checks": checks_view(data),
    }


#: keys of the checks of a sizing (fluxwise.design.sizing_checks), shown in their own block
CHECK_KEYS = ("warnings", "trial_max_loading_L_per_m2", "extrapolation_factor", "time_extrapolation_factor",
              "extrapolation_limit", "trial_time_h", "past_v90", "tied_area_range_m2", "tied_models",
              "residuals_autocorrelated", "buffer_flux_LMH", "j0_margin", "j0_fixed_to_buffer",
              "viscosity_ratio", "model_choice", "buffer_flux_source", "params_at_trial_viscosity")


def checks_view(data: dict) -> dict:
    """What a sizing extrapolates and the warnings, each number with its unit (empty for sizings stored
    before the checks existed)."""
    if "extrapolation_factor" not in data:
        return {"warnings": list(data.get("warnings") or []), "rows": [], "tied": None}
    rows = [(_("trial's largest loading"), num(data.get("trial_max_loading_L_per_m2")), "L/m²"),
            (_("process loading (before the safety factor)"),
             num(data.get("capacity_at_process_time_L_per_m2")), "L/m²"),
            (_("extrapolation factor (warning above %(limit)s)",
               limit=num(data.get("extrapolation_limit"), 3)),
             num(data.get("extrapolation_factor"), 3), "×")]
    if data.get("time_extrapolation_factor") is not None:
        rows.append((_("process time over the trial's %(time)s h", time=num(data.get("trial_time_h"))),
                     num(data.get("time_extrapolation_factor"), 3), "×"))
    if data.get("viscosity_ratio", 1.0) != 1.0:
        rows.append((_("viscosity ratio (process/trial)"), num(data.get("viscosity_ratio")), "–"))
    if data.get("buffer_flux_LMH") is not None:
        rows.append((_("clean-buffer flux (J0 fixed to it)") if data.get("j0_fixed_to_buffer")
                     else _("clean-buffer flux"),
                     num(data.get("buffer_flux_LMH")), "L/m²/h"))
    tied = None
    models = [t for t in data.get("tied_models") or [] if t.get("min_area_m2") is not None]
    if data.get("tied_area_range_m2"):
        lo, hi = data["tied_area_range_m2"]
        tied = {"lo": num(lo), "hi": num(hi), "count": len(data.get("tied_models") or []),
                "models": [{"model": t["model"], "delta": num(t["delta_aicc"], 3),
                            "area": num(t["min_area_m2"])} for t in models]}
    warnings = list(data.get("warnings") or [])
    return {"warnings": warnings, "rows": rows, "tied": tied, "choice": data.get("model_choice"),
            "guide": warning_guide(warnings)}


def warning_guide(warnings) -> list[dict]:
    """What each kind of warning in ``warnings`` means and what to do (the sentence starts with its kind)."""
    from ..design.sizing_checks import WARNING_GUIDE

    kinds = {str(w).split(":", 1)[0] for w in warnings}
    return [{"kind": k, "meaning": m, "action": a} for k, m, a in WARNING_GUIDE if k in kinds]


MAX_DATA_ROWS = 2000


def data_view(trial) -> dict:
    """The trial's points in canonical units (at most :data:`MAX_DATA_ROWS`) and how the file was read."""
    meta = trial.meta or {}
    pressure = trial.pressure_bar if trial.pressure_bar is not None else [None] * trial.points
    rows = [{"t": num(float(t)), "v": num(float(v)), "j": num(float(j)),
             "p": num(None if p is None else float(p))}
            for t, v, j, p in zip(trial.t_h[:MAX_DATA_ROWS], trial.v_L_per_m2[:MAX_DATA_ROWS],
                                  trial.flux_LMH[:MAX_DATA_ROWS], pressure[:MAX_DATA_ROWS], strict=True)]
    units = meta.get("units") or {}
    columns = [{"role": role, "header": header, "unit": units.get(role, "")}
               for role, header in (meta.get("columns") or {}).items()]
    evidence = meta.get("mode_evidence") or {}
    return {"rows": rows, "shown": len(rows), "points": trial.points, "columns": columns,
            "area_source": meta.get("area_source"), "mode_source": meta.get("mode_source"),
            "mode_rule": evidence.get("rule"), "density_source": meta.get("density_source"),
            "notes": list(meta.get("notes") or []), "file_meta": dict(meta.get("file_meta") or {})}


# --- figures ----------------------------------------------------------------------------------------------

_lock = threading.Lock()
_figures: OrderedDict[tuple, list[dict]] = OrderedDict()
_MAX_CACHED = 64
FIGURE_TITLES = (N_("Fits"), N_("Flux decay"), N_("Vmax"), N_("Residuals"))


def _safe_json(fig) -> str:
    # Inside <script type="application/json">: no "</script>" or "<!--" can close or confuse it.
    return fig.to_json().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def figure_json(fig) -> str:
    """A plotly figure as JSON that may sit inside a ``<script type="application/json">`` element."""
    return _safe_json(fig)


def trial_figures(key: tuple, trial, sizing_inputs: dict | None = None, compute=None) -> list[dict]:
    """The four figures of a trial (fits, flux decay, Vmax, residuals) as plotly JSON, cached by ``key``
    (trial id and revision) and the sizing whose V50/V75/V90 the flux-decay plot marks; computed by
    ``compute`` (a :class:`~fluxwise.api.workers.Science`: the server's worker pool) when not cached."""
    cache_key = (key, json.dumps(sizing_inputs, sort_keys=True, default=str), i18n.current())
    with _lock:
        if cache_key in _figures:
            _figures.move_to_end(cache_key)
            return _figures[cache_key]
    out = compute.run(make_trial_figures, trial, sizing_inputs, affinity=key) if compute is not None \
        else make_trial_figures(trial, sizing_inputs)
    with _lock:
        _figures[cache_key] = out
        while len(_figures) > _MAX_CACHED:
            _figures.popitem(last=False)
    return out


def make_trial_figures(trial, sizing_inputs: dict | None = None, *, figure=None) -> list[dict]:
    """The figures of :func:`trial_figures`, computed (fit, sizing, plots); no cache. ``figure``: as in
    :func:`fluxwise.report.html.render_report`."""
    from ..api.science import sizing_kwargs
    from ..pipeline import SizingRequest, analyze, size_trial
    from ..report import figures

    analysis = analyze(trial)
    if sizing_inputs:
        try:
            req = SizingRequest.parse(**sizing_kwargs(sizing_inputs))
            analysis = dataclasses.replace(analysis, sizing=size_trial(analysis.fit, req), request=req)
        except FluxwiseError:
            pass  # the plots stand without the endpoints; the sizing itself shows the message
    out = []
    for name, make in zip(FIGURE_TITLES, (figures.fits_figure, figures.flux_decay_figure, figures.vmax_figure,
                                          figures.residuals_figure), strict=True):
        fig = make(analysis) if figure is None else make(analysis, figure=figure)
        fig.update_layout(height=400, margin=dict(l=64, r=16, t=48, b=56))
        out.append({"id": "fig-" + name.lower().replace(" ", "-"), "title": _(name), "json": _safe_json(fig)})
    return out


def safe_json(data: Any) -> str:
    """``data`` as JSON that may sit inside a ``<script type="application/json">`` element."""
    return json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- trains ----------------------------------------------------------------------------------------------

def _train_design_cell(step) -> str:
    d = step.design
    if step.type == "ufdf":
        cassettes = (", " + i18n.ngettext("%(num)d cassette", "%(num)d cassettes", d["n_cassettes"])
                     if d.get("n_cassettes") else "")
        return _("%(area)s m² UF membrane%(cassettes)s, %(dv)s diavolumes at %(c)s g/L",
                 area=num(d["area_m2"]),
                 cassettes=cassettes, dv=num(d["diavolumes"], 3), c=num(d["df_concentration_g_per_L"]))
    if step.type == "hold":
        return _("to %(c)s g/L (not designed here)", c=num(d["concentration_out_g_per_L"]))
    c = d["format"]
    if step.basis is None:
        return _("%(count)s × %(format)s = %(area)s m²", count=c["count"], format=c["name"],
                 area=num(c["installed_area_m2"]))
    return _("%(count)s × %(format)s = %(area)s m² (%(model)s)", count=c["count"], format=c["name"],
             area=num(c["installed_area_m2"]), model=term(step.basis.model))


def train_steps(design) -> list[dict]:
    """One row per designed step, every number with its unit in the column head or the cell."""
    return [{"index": s.index, "name": s.name, "type": s.type, "design": _train_design_cell(s),
             "time": num(s.time_h, 3), "volume_in": num(s.volume_in_L), "volume_out": num(s.volume_out_L),
             "yield": num(s.yield_fraction * 100, 4), "warnings": list(s.warnings)} for s in design.steps]


def utc(ts, seconds: bool = False) -> str:
    """A stored time as pages show it: UTC, with the zone said (``2025-03-01 14:05 UTC`` in English,
    the date as the page's language writes it elsewhere: :func:`fluxwise.i18n.format_datetime`)."""
    return i18n.format_datetime(ts, seconds=seconds, zone=True)


def stamp(ts, seconds: bool = False) -> str:
    """A stored time in a column whose head says UTC: as :func:`utc` without the zone."""
    return i18n.format_datetime(ts, seconds=seconds)
