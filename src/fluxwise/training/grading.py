r"""Grading an answer against the hidden truth: mechanism, area, safety factor, format, prefilter,
efficiency and the GMP record, each part with points, an objective and feedback in the trainee's
own numbers.

The true minimum area is fluxwise's own sizing (:mod:`fluxwise.design.sizing`) on the true model
with no safety factor: at constant pressure the root of t_model(Vb/A) = tb (and A ≥ Vb/V_x with a
flux-decay limit), at constant flux the capacity where P0·r(V) reaches the maximum pressure.

Parts (points normalised to 100 over the parts a scenario has)
--------------------------------------------------------------
* mechanism — credit for any model that, fitted to the noise-free truth from 0 to the process
  throughput V* = Vb/A_true, predicts the true minimum area within 5 %. Ranking noise-free fits by
  AICc would not work: their SSE is rounding error, and a combined model contains its parent laws.
* area — q = A_answer/A_true: full marks for 0.95 ≤ q ≤ 1.05, falling linearly to zero at q = 1.30
  and at q = 0.90 (under-sizing is worse). An installed area (format × count) below A_true is a
  critical error: the filter would not finish the batch.
* safety factor — full marks inside the scenario's range *and* with an accepted reason, else zero.
* format — the format exists, the count is within its maximum and installs at least the answer's
  own minimum area × safety factor with no unit to spare (half marks for a spare unit).
* prefilter — the train's filter cost per batch of the chosen configuration (cheapest catalog choice
  for A_true × safety factor, plus the prefilter at its area ratio) against the cheapest
  configuration: full marks within 5 %, zero at 50 % more.
* efficiency — u = the largest fraction of the feed, bench time or money used: full marks for
  u ≤ ``efficiency_full_at``, zero at ``efficiency_zero_at``; counts only when the area part scores
  at least 80 %, so guessing cheaply earns nothing.
* gmp — 1 − the deductions of :data:`fluxwise.training.sop.DEDUCTIONS`; zero with a critical error.

A critical error fails the attempt whatever the score, and caps the score at the scenario's
``critical_cap`` (the uncapped sum is kept as ``raw_score``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..design.catalog import format_options
from ..design.sizing import min_area_constant_flux, min_area_constant_pressure
from ..errors import DesignError, InputError
from ..fit.batch import fit_batch
from ..fit.fouling import fit_trial
from ..models.fouling import MODEL_NAMES, MODELS, resistance_ratio, time_to_throughput
from ..trial import CONSTANT_FLUX, CONSTANT_PRESSURE, Trial
from .scenario import RECORD_LABEL, Scenario, Truth

__all__ = [
    "Answer",
    "PartGrade",
    "Grade",
    "true_min_area",
    "credited_mechanisms",
    "credited_mechanisms_batch",
    "area_fraction",
    "filter_cost_per_batch",
    "grade_answer",
    "GRADER_VERSION",
    "AREA_FULL",
    "MECHANISM_TOLERANCE",
]

GRADER_VERSION = "1.0"
MECHANISM_TOLERANCE = 0.05
AREA_FULL = (0.95, 1.05)
AREA_ZERO = (0.90, 1.30)
PREFILTER_FULL, PREFILTER_ZERO = 1.05, 1.5
EFFICIENCY_GATE = 0.8
_NOISE_FREE_POINTS = 60


@dataclass(frozen=True)
class Answer:
    """A trainee's answer, in canonical units (read by :func:`fluxwise.io.lab_files.parse_answer`)."""

    mechanism: str
    min_area_m2: float
    format: str
    count: int
    safety_factor: float
    safety_factor_reason: str | None = None
    filter: str | None = None  # the configuration sized; with a prefilter decision it follows ``prefilter``
    prefilter: dict | None = None  # {"name", "area_ratio"} or None for no prefilter
    vmax_L_per_m2: float | None = None
    params: dict | None = None
    integrity: dict | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict) -> Answer:
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class PartGrade:
    name: str
    score: float
    max: float
    feedback: str
    objective: str
    critical: bool = False

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "score": round(self.score, 2),
            "max": round(self.max, 2),
            "feedback": self.feedback,
            "objective": self.objective,
            "critical": self.critical,
        }


@dataclass(frozen=True)
class Grade:
    """The grade of one attempt; ``to_dict`` is the JSON of ``fluxwise lab grade --json``."""

    scenario: str
    version_hash: str
    score: float
    raw_score: float
    passed: bool
    pass_mark: float
    parts: tuple
    critical_errors: tuple = ()
    gmp_steps: tuple = ()
    grader_version: str = GRADER_VERSION
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "record": RECORD_LABEL,
            "scenario": self.scenario,
            "version_hash": self.version_hash,
            "grader_version": self.grader_version,
            "score": round(self.score, 1),
            "raw_score": round(self.raw_score, 1),
            "passed": self.passed,
            "pass_mark": self.pass_mark,
            "critical_errors": list(self.critical_errors),
            "parts": [p.to_dict() for p in self.parts],
            "gmp_steps": list(self.gmp_steps),
        }


# ------------------------------------------------------------------------------- the true area


def _task_params(scenario: Scenario, truth: Truth, filter_name: str) -> dict:
    t = scenario.task
    if t.mode == CONSTANT_PRESSURE:
        return truth.fit_params(filter_name, pressure_bar=t.pressure_bar)
    return truth.fit_params(filter_name, flux_LMH=t.flux_LMH)


def _size(scenario: Scenario, model: str, params: dict) -> float:
    """Minimum area [m²] of the task for a model and its parameters (fluxwise's own sizing)."""
    t = scenario.task
    if t.mode == CONSTANT_PRESSURE:
        return min_area_constant_pressure(
            model, params, t.batch_volume_L, t.process_time_h, flux_decay_limit=t.flux_decay_limit
        )
    return min_area_constant_flux(
        model,
        params,
        t.batch_volume_L,
        max_pressure_bar=t.max_pressure_bar,
        flux_LMH=t.flux_LMH,
        process_time_h=t.process_time_h,
    )["min_area_m2"]


def true_min_area(scenario: Scenario, truth: Truth, filter_name: str) -> float:
    """The true minimum area [m²] of a configuration: the task sized on the true model, no safety factor."""
    ft = truth.of(filter_name)
    return _size(scenario, ft.mechanism, _task_params(scenario, truth, filter_name))


_CREDIT_CACHE: dict = {}


def credited_mechanisms(scenario: Scenario, truth: Truth, filter_name: str) -> dict:
    """Every model's area from its fit to the noise-free truth, over the true minimum area.

    The truth is sampled from 0 to the process throughput V* = Vb/A_true (constant pressure: V(t) at
    the process pressure up to the time V* is reached; constant flux: P(V) at the process flux), all
    nine models are fitted (the batched fitter at constant pressure, the per-trial fitter at constant
    flux), and each fit sizes the task. Returns ``{model: ratio}``; a model is credited when
    |ratio − 1| ≤ 5 % (``inf`` when its fit cannot size the task).
    """
    return credited_mechanisms_batch(scenario, [truth], filter_name)[0]


def _noise_free(scenario: Scenario, truth: Truth, filter_name: str):
    ft = truth.of(filter_name)
    a_true = true_min_area(scenario, truth, filter_name)
    v_star = scenario.task.batch_volume_L / a_true
    p = _task_params(scenario, truth, filter_name)
    k = tuple(p[x] for x in MODELS[ft.mechanism].params)
    if scenario.task.mode == CONSTANT_PRESSURE:
        t_end = float(time_to_throughput(ft.mechanism, v_star, p["J0_LMH"], *k))
        t = np.linspace(0.0, t_end, _NOISE_FREE_POINTS + 1)
        return a_true, t, MODELS[ft.mechanism].volume(t, p["J0_LMH"], *k)
    v = np.linspace(0.0, v_star, _NOISE_FREE_POINTS + 1)
    pressure = p["P0_bar"] * resistance_ratio(ft.mechanism, v, p["J0_LMH"], *k)
    return (
        a_true,
        Trial(
            t_h=v / p["J0_LMH"],
            v_L_per_m2=v,
            area_m2=1.0,
            mode=CONSTANT_FLUX,
            pressure_bar=pressure,
            source="noise-free truth",
        ),
        None,
    )


def credited_mechanisms_batch(scenario: Scenario, truths, filter_name: str) -> list[dict]:
    """:func:`credited_mechanisms` for many truths at once: one call of the batched fitter for all of
    them at constant pressure (a class's worth of attempts costs about one attempt)."""
    out: list = [None] * len(truths)
    todo = []
    for i, tr in enumerate(truths):
        key = (scenario.id, scenario.version_hash, tr.seed, filter_name)
        if key in _CREDIT_CACHE:
            out[i] = dict(_CREDIT_CACHE[key])
        else:
            todo.append((i, key, tr))
    if not todo:
        return out
    samples = [_noise_free(scenario, tr, filter_name) for _, _, tr in todo]
    fitted = []
    if scenario.task.mode == CONSTANT_PRESSURE:
        t = np.stack([s[1] for s in samples])
        v = np.stack([s[2] for s in samples])
        bf = fit_batch(t, v, backend="numpy")
        fitted = [{nm: bf[nm].params_dict(j) for nm in MODEL_NAMES} for j in range(len(samples))]
    else:
        fitted = [{f.name: f.params for f in fit_trial(s[1]).fits} for s in samples]
    if len(_CREDIT_CACHE) > 4096:
        _CREDIT_CACHE.clear()
    for (i, key, _), (a_true, *_), params in zip(todo, samples, fitted, strict=True):
        ratios = {}
        for nm, pr in params.items():
            try:
                # a fitted law may end at a capacity below the batch: inf there, not a warning
                with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                    ratios[nm] = _size(scenario, nm, pr) / a_true
            except (DesignError, ValueError, ZeroDivisionError):
                ratios[nm] = math.inf
        _CREDIT_CACHE[key] = dict(ratios)
        out[i] = ratios
    return out


def area_fraction(ratio: float) -> float:
    """Fraction of the area points for A_answer/A_true (the grading curve in the module docstring)."""
    lo_full, hi_full = AREA_FULL
    lo_zero, hi_zero = AREA_ZERO
    if not math.isfinite(ratio) or ratio <= lo_zero or ratio >= hi_zero:
        return 0.0
    if lo_full <= ratio <= hi_full:
        return 1.0
    if ratio > hi_full:
        return (hi_zero - ratio) / (hi_zero - hi_full)
    return (ratio - lo_zero) / (lo_full - lo_zero)


def filter_cost_per_batch(
    scenario: Scenario, formats, filter_name: str, min_area_m2: float, safety_factor: float
) -> dict:
    """Filter cost of one batch for a configuration: the cheapest catalog choice for the installed area
    (minimum area × safety factor) plus its prefilter at the area ratio [scenario currency]."""
    installed = min_area_m2 * safety_factor
    options = format_options(formats, installed)
    if not options:
        return {"cost": math.inf, "format": None, "count": 0, "prefilter_cost": 0.0}
    best = min(options, key=lambda c: (c.count * c.format.price_usd, c.installed_area_m2))
    f = scenario.filter(filter_name)
    pre = 0.0
    if f.prefilter is not None:
        pre = f.prefilter.area_ratio * best.installed_area_m2 * f.prefilter.price_per_m2
    return {
        "cost": best.count * best.format.price_usd + pre,
        "format": best.format.name,
        "count": best.count,
        "prefilter_cost": pre,
    }


# ------------------------------------------------------------------------- what the runs show


def run_trial(scenario: Scenario, run) -> Trial:
    """A rig run as the trial the reader would make of its file (tare subtracted, density applied)."""
    from .rig import quick_views

    q = quick_views(scenario, run)
    p = q["pressure_bar"]
    return Trial(
        t_h=q["time_h"],
        v_L_per_m2=q["throughput_L_per_m2"],
        area_m2=run.request.area_m2,
        mode=run.request.mode,
        pressure_bar=p,
        source=f"run {run.index + 1}",
    )


def _curvature(scenario: Scenario, runs) -> dict | None:
    """Slopes of t/V vs t in the first and second half of the longest constant-pressure run."""
    cp = [r for r in runs if r.request.mode == CONSTANT_PRESSURE]
    if not cp:
        return None
    run = max(cp, key=lambda r: r.duration_h)
    tr = run_trial(scenario, run)
    # from the time the pressure has settled (the start-up ramp bends t/V by itself)
    settled = tr.pressure_bar >= 0.95 * np.median(tr.pressure_bar)
    start = tr.t_h[np.argmax(settled)] if settled.any() else 0.0
    ok = (tr.t_h > start) & (tr.v_L_per_m2 > 0)
    t, y = tr.t_h[ok], tr.t_h[ok] / tr.v_L_per_m2[ok]
    if t.size < 6:
        return None
    half = t.size // 2
    s1 = float(np.polyfit(t[:half], y[:half], 1)[0])
    s2 = float(np.polyfit(t[half:], y[half:], 1)[0])
    return {"run": run.index + 1, "first": s1, "second": s2}


def _aicc_note(scenario: Scenario, runs, mechanism: str) -> str:
    """How the answer's mechanism ranks on the trainee's longest run."""
    if not runs:
        return " You ran no experiment to choose it from."
    run = max(runs, key=lambda r: r.duration_h)
    try:
        fit = fit_trial(run_trial(scenario, run))
    except Exception:  # noqa: BLE001 - a run too short to fit: no ranking to quote
        return ""
    best = fit.best
    mine = next(f for f in fit.fits if f.name == mechanism)
    d = mine.aicc - best.aicc
    if d < 2:
        others = [f.name for f in fit.fits if f.aicc - best.aicc < 2 and f.name != mechanism]
        tie = (
            f" (within ΔAICc 2 of {', '.join(others)}: a longer or better-designed run would tell them apart)"
            if others
            else ""
        )
        return f" On your run {run.index + 1} it is among the best fits{tie}."
    return (
        f" On your run {run.index + 1}, '{best.name}' fits better than '{mechanism}' by ΔAICc {d:.3g}: "
        f"the ranking of your own data pointed elsewhere."
    )


# --------------------------------------------------------------------------------- the grade


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def grade_answer(
    scenario: Scenario, truth: Truth, answer: Answer, *, formats, runs=(), usage=None, gmp=None, gmp_extra=()
) -> Grade:
    """Grade an answer (see the module docstring). ``runs``: the attempt's :class:`RigRun` list;
    ``usage``: its :class:`Usage`; ``gmp``: the replayed :class:`~fluxwise.training.gmp.GmpState`
    (None: no GMP record); ``gmp_extra``: further GMP mistakes (the answer's integrity summary)."""
    pts = scenario.points()
    obj = scenario.grading.objectives
    parts, criticals = [], []
    config = answer.filter or scenario.task.filters[0]
    if scenario.filter(config) is None or config not in scenario.task.filters:
        raise InputError(
            f"'{config}' is not a configuration of this task (choose from: "
            f"{', '.join(scenario.task.filters)})",
            field="filter",
        )
    fmt = next((f for f in formats if f.name.casefold() == answer.format.casefold()), None)
    if fmt is None:
        raise InputError(
            f"format '{answer.format}' is not in the task's catalog (formats: "
            f"{', '.join(f.name for f in formats)})",
            field="format",
        )
    a_true = true_min_area(scenario, truth, config)
    ratio = answer.min_area_m2 / a_true
    installed = fmt.area_m2 * answer.count

    # mechanism
    ratios = credited_mechanisms(scenario, truth, config)
    credited = {nm for nm, q in ratios.items() if abs(q - 1.0) <= MECHANISM_TOLERANCE}
    mine = ratios.get(answer.mechanism, math.inf)
    if answer.mechanism in credited:
        fb = (
            f"'{answer.mechanism}' is credited: fitted to this feed's behaviour up to the process "
            f"throughput, "
            f"it predicts the minimum area within {_pct(abs(mine - 1))} (credit within 5 %)."
        )
        score = pts["mechanism"]
    else:
        how = (
            "cannot size the task at all"
            if not math.isfinite(mine)
            else f"predicts a minimum area {mine:.2f}x the true one"
        )
        fb = (
            f"'{answer.mechanism}' is not credited: fitted to this feed's behaviour up to the process "
            f"throughput "
            f"it {how} (credit needs 5 %)." + _aicc_note(scenario, runs, answer.mechanism)
        )
        score = 0.0
    parts.append(PartGrade("mechanism", score, pts["mechanism"], fb, obj.get("mechanism", "")))

    # area
    frac = area_fraction(ratio)
    fb = f"Your minimum area {answer.min_area_m2:.4g} m² is {ratio:.2f}x the true minimum"
    if frac == 1.0:
        fb += " (within 5 %: full marks)."
    elif ratio > 1:
        fb += f": {_pct(ratio - 1)} too large (full marks within 5 %, none from 30 % over)."
    else:
        fb += (
            f": {_pct(1 - ratio)} too small (full marks within 5 %, none from 10 % under; "
            f"under-sizing is worse)."
        )
    curve = _curvature(scenario, runs)
    straight_line = answer.vmax_L_per_m2 is not None or (
        answer.mechanism == "standard" and "standard" not in credited
    )
    if straight_line and curve is not None and frac < 1.0:
        s1, s2, n = curve["first"], curve["second"], curve["run"]
        if s2 < s1 * 0.9 and ratio > 1:
            fb += (
                f" Your t/V points curve downward (slope {s1:.3g} → {s2:.3g} h·m²/L per h from the "
                f"first to the "
                f"second half of run {n}): the straight Vmax line assumes a plateau that a cake never "
                f"reaches, so "
                f"your area is {ratio:.1f}x the minimum."
            )
        elif s2 > s1 * 1.1 and ratio < 1:
            fb += (
                f" Your t/V points curve upward (slope {s1:.3g} → {s2:.3g} h·m²/L per h from the first "
                f"to the "
                f"second half of run {n}): the straight Vmax line overstates capacity, and this filter would "
                f"not finish the batch."
            )
        else:
            fb += " A straight Vmax line describes standard blocking only; check the curvature of t/V vs t."
    crit = installed < a_true * (1 - 1e-9)
    if crit:
        msg = (
            f"installed area {answer.count} x {fmt.name} = {installed:.4g} m² is below the true minimum "
            f"area: "
            f"this filter would not finish the batch"
        )
        criticals.append(msg)
        fb += f" Critical: {msg}."
    parts.append(PartGrade("area", pts["area"] * frac, pts["area"], fb, obj.get("area", ""), crit))

    # safety factor
    sfs = scenario.safety_factor
    reason = sfs.reasons.get(answer.safety_factor_reason) if answer.safety_factor_reason else None
    inside = sfs.low - 1e-9 <= answer.safety_factor <= sfs.high + 1e-9
    if inside and reason is not None and reason[1]:
        fb, frac = (
            (
                f"Safety factor {answer.safety_factor:g} is inside the SOP range "
                f"{sfs.low:g}–{sfs.high:g} with an "
                f"accepted reason ('{reason[0]}')."
            ),
            1.0,
        )
    elif not inside:
        fb, frac = (
            f"Safety factor {answer.safety_factor:g} is outside the SOP range {sfs.low:g}–{sfs.high:g}.",
            0.0,
        )
    elif reason is None:
        fb, frac = "A safety factor needs a reason picked from the scenario's list.", 0.0
    else:
        fb, frac = f"'{reason[0]}' is not a reason that justifies a safety factor here.", 0.0
    parts.append(
        PartGrade(
            "safety_factor",
            pts["safety_factor"] * frac,
            pts["safety_factor"],
            fb,
            obj.get("safety_factor", ""),
        )
    )

    # format and count
    required = answer.min_area_m2 * answer.safety_factor
    need = max(1, math.ceil(required / fmt.area_m2 - 1e-9))
    if answer.count > fmt.max_count:
        fb, frac = f"{answer.count} x {fmt.name} is more than the {fmt.max_count} one housing takes.", 0.0
    elif installed < required * (1 - 1e-9):
        fb, frac = (
            (
                f"{answer.count} x {fmt.name} = {installed:.4g} m² installs less than your own minimum "
                f"area x "
                f"safety factor = {required:.4g} m²."
            ),
            0.0,
        )
    elif answer.count > need:
        fb, frac = (
            (
                f"{answer.count} x {fmt.name} = {installed:.4g} m²: {need} would already install your "
                f"{required:.4g} m²."
            ),
            0.5,
        )
    else:
        fb, frac = (
            (
                f"{answer.count} x {fmt.name} = {installed:.4g} m² installs your {required:.4g} m² "
                f"(minimum area x "
                f"safety factor) with no unit to spare."
            ),
            1.0,
        )
    parts.append(PartGrade("format", pts["format"] * frac, pts["format"], fb, obj.get("format", "")))

    # prefilter
    if "prefilter" in pts:
        sf = min(max(answer.safety_factor, sfs.low), sfs.high)
        costs = {
            c: filter_cost_per_batch(scenario, formats, c, true_min_area(scenario, truth, c), sf)
            for c in scenario.task.filters
        }
        cheapest = min(costs, key=lambda c: costs[c]["cost"])
        rel = costs[config]["cost"] / costs[cheapest]["cost"]
        frac = (
            1.0
            if rel <= PREFILTER_FULL
            else max(0.0, (PREFILTER_ZERO - rel) / (PREFILTER_ZERO - PREFILTER_FULL))
        )
        cur = scenario.currency

        def label(c):
            f = scenario.filter(c)
            return (
                "no prefilter"
                if f.prefilter is None
                else f"prefilter '{f.prefilter.name}' at {f.prefilter.area_ratio:g}:1"
            )

        fb = (
            f"With {label(config)} the train's filters cost {costs[config]['cost']:,.0f} {cur} per batch "
            f"(safety factor {sf:g})."
        )
        if config == cheapest or rel <= PREFILTER_FULL:
            fb += " That is the cheapest configuration within 5 %."
        else:
            fb += (
                f" With {label(cheapest)} they cost {costs[cheapest]['cost']:,.0f} {cur}: yours is "
                f"{_pct(rel - 1)} more."
            )
        parts.append(
            PartGrade("prefilter", pts["prefilter"] * frac, pts["prefilter"], fb, obj.get("prefilter", ""))
        )

    # efficiency (gated on the area part)
    b = scenario.budget
    used = usage.to_dict() if usage is not None else {"feed_mL": 0.0, "bench_h": 0.0, "money": 0.0}
    fr = {
        "feed": used["feed_mL"] / b.feed_mL,
        "bench time": used["bench_h"] / b.bench_h,
        "money": used["money"] / b.money if b.money > 0 else 0.0,
    }
    u = max(fr.values())
    g = scenario.grading
    area_part = parts[1]
    use_txt = ", ".join(f"{_pct(v)} of the {k}" for k, v in fr.items())
    if area_part.score < EFFICIENCY_GATE * area_part.max - 1e-9:
        frac = 0.0
        fb = (
            f"Efficiency counts only when the area part scores at least {_pct(EFFICIENCY_GATE)} (yours: "
            f"{_pct(area_part.score / area_part.max)}): guessing cheaply earns nothing. You used {use_txt}."
        )
    else:
        frac = (
            1.0
            if u <= g.efficiency_full_at
            else max(0.0, (g.efficiency_zero_at - u) / (g.efficiency_zero_at - g.efficiency_full_at))
        )
        fb = (
            f"You used {use_txt}; full marks up to {_pct(g.efficiency_full_at)} of each, none at "
            f"{_pct(g.efficiency_zero_at)}."
        )
    parts.append(
        PartGrade("efficiency", pts["efficiency"] * frac, pts["efficiency"], fb, obj.get("efficiency", ""))
    )

    # GMP
    steps = ()
    if gmp is None:
        fb, frac = (
            ("No GMP record: the steps are graded from the attempt's recorded actions, not from the answer."),
            0.0,
        )
        gcrit = []
    else:
        mistakes = list(gmp.mistakes) + list(gmp_extra)
        gcrit = [m for m in mistakes if m.critical]
        from .sop import DEDUCTIONS

        lost = sum(DEDUCTIONS.get(m.code, 0.1) for m in mistakes if not m.critical)
        frac = 0.0 if gcrit else max(0.0, 1.0 - lost)
        if not mistakes:
            fb = (
                "Every SOP step done in order, results recorded against the corrected specification, "
                "record signed."
            )
        else:
            fb = " ".join(
                ("Critical: " if m.critical else "") + m.text[0].upper() + m.text[1:] + "." for m in mistakes
            )
        criticals.extend(m.text for m in gcrit)
        steps = tuple(gmp.steps())
    parts.append(PartGrade("gmp", pts["gmp"] * frac, pts["gmp"], fb, obj.get("gmp", ""), bool(gcrit)))

    raw = sum(p.score for p in parts)
    score = min(raw, g.critical_cap) if criticals else raw
    return Grade(
        scenario=scenario.id,
        version_hash=scenario.version_hash,
        score=score,
        raw_score=raw,
        passed=not criticals and score >= g.pass_mark - 1e-9,
        pass_mark=g.pass_mark,
        parts=tuple(parts),
        critical_errors=tuple(criticals),
        gmp_steps=steps,
        details={"credited": sorted(credited), "area_ratio": ratio},
    )
