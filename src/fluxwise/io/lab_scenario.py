"""Read virtual-lab scenarios (YAML) into :class:`fluxwise.training.scenario.Scenario`.

Every key is documented in ``docs/lab-scenarios.md``. Every error names the file and the key as a
path (``filters[2].truth.ks_m2_per_L``) and says what was expected; a key that is not understood is
an error too (a typo would otherwise be ignored). Quantities carry units (``"30 psi"``,
``"1500 LMH/bar"``, ``"1.4 cP"``) and are converted here, once, through the project's pint registry.

Scenarios are found by id among the shipped ones (``fluxwise/data/scenarios``) and the folders
named in the ``FLUXWISE_LAB_SCENARIOS`` environment variable (``os.pathsep``-separated), or read from
a path. The version hash is the SHA-256 of the canonical JSON of the file's data (16 hex digits):
reformatting the file keeps it, changing a value changes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import yaml

from ..errors import FluxwiseError, InputError, UnitError
from ..models.fouling import MODEL_NAMES
from ..training.scenario import (
    CONSTANT_KEYS,
    LEVELS,
    PARTS,
    AssessmentSpec,
    Budget,
    Disc,
    Dist,
    Feed,
    FilterSpec,
    GMPSpec,
    GradingSpec,
    IntegritySpec,
    Prefilter,
    Rig,
    SafetyFactorSpec,
    Scenario,
    Task,
    TruthVariant,
    constants_for,
)
from ..trial import CONSTANT_PRESSURE, MODES
from ..units import Q_, parse_unit
from .lab_fields import Node, distribution, parse_value

__all__ = [
    "read_scenario",
    "parse_scenario",
    "load_scenario",
    "list_scenarios",
    "scenario_dirs",
    "shipped_scenarios_dir",
    "scenario_formats",
    "version_hash",
    "MAX_SCENARIO_BYTES",
    "ENV_DIRS",
    "open_lab",
]

MAX_SCENARIO_BYTES = 256 * 1024
ENV_DIRS = "FLUXWISE_LAB_SCENARIOS"

DEFAULT_WEIGHTS = {
    "mechanism": 25,
    "area": 30,
    "safety_factor": 10,
    "format": 5,
    "prefilter": 10,
    "efficiency": 10,
    "gmp": 20,
}
DEFAULT_OBJECTIVES = {
    "mechanism": "identify-mechanism",
    "area": "size-filter",
    "safety_factor": "justify-margin",
    "format": "choose-format",
    "prefilter": "design-train",
    "efficiency": "plan-experiments",
    "gmp": "gmp-filter-use",
}


def shipped_scenarios_dir() -> Path:
    """The scenarios shipped with fluxwise."""
    return Path(str(resources.files("fluxwise") / "data" / "scenarios"))


def scenario_dirs(extra=()) -> list[Path]:
    """Folders searched for scenarios: shipped, then ``FLUXWISE_LAB_SCENARIOS``, then ``extra``."""
    dirs = [shipped_scenarios_dir()]
    env = os.environ.get(ENV_DIRS, "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p.strip()]
    dirs += [Path(p) for p in extra]
    return dirs


def version_hash(data) -> str:
    """SHA-256 (16 hex digits) of the canonical JSON of a scenario's data."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# ------------------------------------------------------------------------------- sections

_TOP = {
    "id",
    "title",
    "level",
    "description",
    "currency",
    "objectives",
    "feed",
    "filters",
    "rig",
    "budget",
    "task",
    "safety_factor",
    "gmp",
    "grading",
    "assessment",
}


def _feed(n: Node) -> Feed:
    solids = distribution(n, "solids", None, required=False, positive=True)
    ref = n.number("reference_solids", positive=True) if n.has("reference_solids") else None
    if (solids is None) != (ref is None):
        raise n.error(
            "reference_solids" if ref is None else "solids",
            "solids and reference_solids go together (the constants are stated at reference_solids)",
        )
    return Feed(
        name=n.text("name", required=True),
        viscosity_cP=distribution(n, "viscosity", "viscosity"),
        density_g_per_mL=n.quantity("density", "density", default=1.0),
        price_per_mL=n.number("price_per_mL", default=0.0, low=0.0),
        solids=solids,
        reference_solids=ref,
        solids_unit=n.text("solids_unit", default=""),
    )


def _variants(n: Node) -> tuple:
    raw = n.raw("truth", required=True, what="the hidden behaviour of this filter")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise n.error("truth", "expected at least one behaviour")
    out = []
    allowed = {"mechanism", "weight", "permeability", *CONSTANT_KEYS}
    for i, item in enumerate(items):
        v = Node(item, n.source, n.at("truth") + (f"[{i}]" if isinstance(raw, list) else ""), allowed)
        mech = v.raw("mechanism", required=True)
        if isinstance(mech, Mapping):
            m = v.node("mechanism", {"choice", "weights"})
            names = m.raw("choice", required=True)
            if not isinstance(names, list) or not names:
                raise m.error("choice", "expected a list of model names")
            weights = m.raw("weights") or [1] * len(names)
            if not isinstance(weights, list) or len(weights) != len(names):
                raise m.error("weights", f"expected {len(names)} weights, one per model in 'choice'")
            pairs = list(zip(names, weights, strict=True))
        else:
            pairs = [(mech, 1.0)]
        base_w = v.number("weight", default=1.0, positive=True)
        perm = distribution(v, "permeability", "permeability")
        consts = {k: distribution(v, k, None, required=False) for k in CONSTANT_KEYS if v.has(k)}
        for name, w in pairs:
            if name not in MODEL_NAMES:
                raise v.error("mechanism", f"unknown model '{name}' (models: {', '.join(MODEL_NAMES)})")
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise v.error("mechanism.weights", f"'{w}' is not a number") from None
            if not w > 0:
                raise v.error("mechanism.weights", f"must be positive, got {w}")
            for k in constants_for(name):
                if k not in consts:
                    raise v.error(
                        k,
                        f"missing: model '{name}' needs {', '.join(constants_for(name))} "
                        f"(pressure-invariant constants, m²/L)",
                    )
            out.append(
                TruthVariant(
                    mechanism=name,
                    weight=base_w * w,
                    permeability=perm,
                    constants={k: consts[k] for k in constants_for(name)},
                )
            )
        needed = {k for name, _ in pairs for k in constants_for(name)}
        for k in consts:
            if k not in needed:
                raise v.error(
                    k, f"not used by {', '.join(p[0] for p in pairs)} (it needs {', '.join(sorted(needed))})"
                )
    return tuple(out)


def _filters(raw, source) -> tuple:
    if not isinstance(raw, list) or not raw:
        raise InputError("expected a list of filters", source=source, field="filters")
    out, seen = [], set()
    for i, item in enumerate(raw):
        n = Node(
            item,
            source,
            f"filters[{i}]",
            {"name", "description", "discs", "truth", "prefilter", "max_pressure"},
        )
        name = n.text("name", required=True)
        if name.casefold() in seen:
            raise n.error("name", f"filter '{name}' is listed twice")
        seen.add(name.casefold())
        discs_raw = n.raw("discs", required=True, what="the test-filter sizes of the rig")
        if not isinstance(discs_raw, list) or not discs_raw:
            raise n.error("discs", "expected a list of {area, price}")
        discs = []
        for j, d in enumerate(discs_raw):
            dn = Node(d, source, n.at(f"discs[{j}]"), {"area", "price"})
            a = dn.quantity("area", "area", required=True)
            discs.append(
                Disc(area_m2=a, price=dn.number("price", default=0.0, low=0.0), label=str(dn.raw("area")))
            )
        pre = None
        if n.has("prefilter"):
            pn = n.node("prefilter", {"name", "area_ratio", "price_per_m2"})
            pre = Prefilter(
                name=pn.text("name", required=True),
                area_ratio=pn.number("area_ratio", required=True, positive=True),
                price_per_m2=pn.number("price_per_m2", default=0.0, low=0.0),
            )
        out.append(
            FilterSpec(
                name=name,
                description=n.text("description", default=""),
                discs=tuple(discs),
                variants=_variants(n),
                prefilter=pre,
                max_pressure_bar=n.quantity("max_pressure", "pressure"),
            )
        )
    return tuple(out)


def _rig(n: Node) -> Rig:
    modes = n.raw("modes", required=True, what="constant-pressure and/or constant-flux")
    if not isinstance(modes, list) or not modes or any(m not in MODES for m in modes):
        raise n.error("modes", f"expected a list of {' and/or '.join(MODES)}")
    filtrate = n.choice("filtrate", ("mass", "volume"), default="mass")
    bal = n.node("balance", {"resolution", "noise", "drift", "tare"}) or Node({}, n.source, n.at("balance"))
    qkind, rkind = ("mass", "mass_rate") if filtrate == "mass" else ("volume", "volume_rate")
    scale = 1.0 if filtrate == "mass" else 1000.0  # volumes are read in L, logged in mL
    pres = n.node("pressure", {"noise", "resolution"}) or Node({}, n.source, n.at("pressure"))
    time_unit = n.choice("time_unit", ("s", "min", "h"), default="min")
    p_unit = n.text("pressure_unit", default="psi")
    try:
        p_factor = float(Q_(1.0, parse_unit(p_unit, "pressure")).to("bar").magnitude)
    except UnitError as exc:
        raise n.error("pressure_unit", exc.message, UnitError) from None
    drift = bal.raw("drift")
    drift_val = 0.0
    if drift is not None:
        text = str(drift).strip()
        sign = -1.0 if text.startswith("-") else 1.0
        drift_val = sign * parse_value(text.lstrip("+-").strip(), rkind, bal, "drift")
    return Rig(
        modes=tuple(modes),
        log_interval_h=n.quantity("log_interval", "time", required=True),
        time_unit=time_unit,
        time_unit_h={"s": 1 / 3600, "min": 1 / 60, "h": 1.0}[time_unit],
        filtrate=filtrate,
        pressure_unit=p_unit,
        pressure_unit_bar=p_factor,
        balance_resolution=bal.quantity("resolution", qkind, default=0.01 / scale) * scale,
        balance_noise=bal.quantity("noise", qkind, default=0.0, allow_zero=True) * scale,
        balance_drift_per_h=drift_val,
        tare=bal.quantity("tare", qkind, default=0.0, allow_zero=True) * scale,
        pressure_noise_bar=pres.quantity("noise", "pressure", default=0.0, allow_zero=True),
        pressure_resolution_bar=pres.quantity("resolution", "pressure", default=0.0, allow_zero=True),
        flow_noise=n.number("flow_noise", default=0.0, low=0.0, high=0.5),
        startup_h=n.quantity("startup", "time", default=0.0, allow_zero=True),
        hold_up_mL=n.quantity("hold_up", "volume", default=0.0, allow_zero=True) * 1000.0,
        setup_time_h=n.quantity("setup_time", "time", default=0.0, allow_zero=True),
        export=n.choice("export", ("csv", "xlsx"), default="csv"),
        max_duration_h=n.quantity("max_duration", "time", default=24.0),
    )


def _task(n: Node, filters) -> Task:
    mode = n.choice("mode", MODES, default=CONSTANT_PRESSURE)
    names = n.raw("filters")
    if names is None:
        names = [f.name for f in filters]
    if not isinstance(names, list) or not names:
        raise n.error("filters", "expected a list of filter names")
    known = {f.name: f for f in filters}
    for nm in names:
        if nm not in known:
            raise n.error("filters", f"'{nm}' is not a filter of this scenario (filters: {', '.join(known)})")
    pre = n.bool("prefilter_decision")
    if pre and (len(names) < 2 or not any(known[nm].prefilter for nm in names)):
        raise n.error(
            "prefilter_decision",
            "a prefilter decision needs at least two task filters, one of them with a prefilter",
        )
    t = Task(
        text=n.text("text", required=True),
        filters=tuple(names),
        batch_volume_L=n.quantity("batch_volume", "volume", required=True),
        mode=mode,
        process_time_h=n.quantity("process_time", "time"),
        pressure_bar=n.quantity("pressure", "pressure"),
        flux_LMH=n.quantity("flux", "flux"),
        max_pressure_bar=n.quantity("max_pressure", "pressure"),
        temperature_c=n.quantity("temperature", "temperature", default=20.0),
        flux_decay_limit=n.number("flux_decay_limit", low=0.01, high=0.99),
        catalog=n.text("catalog", default="default"),
        prefilter_decision=pre,
    )
    if mode == CONSTANT_PRESSURE:
        if t.pressure_bar is None:
            raise n.error(
                "pressure", "missing required key (the process pressure of a constant-pressure task)"
            )
        if t.process_time_h is None:
            raise n.error(
                "process_time", "missing required key (constant-pressure sizing needs the process time)"
            )
        if t.flux_LMH is not None or t.max_pressure_bar is not None:
            raise n.error(
                "flux" if t.flux_LMH is not None else "max_pressure",
                "a constant-pressure task states pressure and process_time, not flux or max_pressure",
            )
    else:
        if t.flux_LMH is None or t.max_pressure_bar is None:
            raise n.error(
                "flux" if t.flux_LMH is None else "max_pressure",
                "missing required key (a constant-flux task states flux and max_pressure)",
            )
        if t.pressure_bar is not None:
            raise n.error("pressure", "a constant-flux task states flux and max_pressure, not pressure")
        if t.flux_decay_limit is not None:
            raise n.error("flux_decay_limit", "applies to constant-pressure tasks only")
    return t


def _safety(n: Node) -> SafetyFactorSpec:
    rng = n.raw("range", required=True, what="[low, high]")
    if not isinstance(rng, list) or len(rng) != 2:
        raise n.error("range", "expected [low, high], e.g. [1.3, 2.0]")
    lo, hi = (n._check("range", x, _float(n, "range", x), 1.0, None, True, False) for x in rng)
    if hi < lo:
        raise n.error("range", "high must be at least low")
    reasons_raw = n.node("reasons", required=True)
    reasons = {}
    for key in reasons_raw.data:
        r = reasons_raw.node(key, {"text", "accepted"})
        reasons[str(key)] = (r.text("text", required=True), r.bool("accepted", default=False))
    if not any(a for _, a in reasons.values()):
        raise n.error("reasons", "at least one reason must be accepted: true")
    return SafetyFactorSpec(low=lo, high=hi, reasons=reasons, show_range=n.bool("show_range", default=True))


def _float(n, key, x):
    try:
        return float(x)
    except (TypeError, ValueError):
        raise n.error(key, f"'{x}' is not a number") from None


def _fluid(n: Node, key) -> tuple[str, float | None]:
    v = n.raw(key)
    if v is None or (isinstance(v, str) and v.strip().lower() in ("water", "wfi")):
        return "water", None
    if isinstance(v, str):
        raise n.error(
            key, f"fluid '{v}': give {{name, surface_tension}} (fluxwise knows water only, IAPWS R1-76)"
        )
    f = n.node(key, {"name", "surface_tension"})
    return f.text("name", required=True), f.quantity("surface_tension", "surface_tension", required=True)


def _gmp(n: Node) -> GMPSpec:
    i = n.node(
        "integrity",
        {
            "method",
            "spec",
            "spec_temperature",
            "spec_fluid",
            "test_fluid",
            "test_temperature",
            "test_pressure",
            "reference_area",
            "area",
        },
        required=True,
    )
    method = i.choice("method", ("bubble-point", "diffusion"), required=True)
    if method == "bubble-point":
        spec = i.quantity("spec", "pressure", required=True)
        for k in ("reference_area", "area"):
            if i.has(k):
                raise i.error(k, "applies to a diffusion test only")
    else:
        spec = _parse_flow(i, "spec")
        if not (i.has("reference_area") and i.has("area")):
            raise i.error(
                "reference_area" if not i.has("reference_area") else "area",
                "a diffusion test needs reference_area (of the specification) and area (installed)",
            )
    spec_fluid, spec_gamma = _fluid(i, "spec_fluid")
    test_fluid, test_gamma = _fluid(i, "test_fluid")
    integrity = IntegritySpec(
        method=method,
        spec=spec,
        spec_temperature_c=i.quantity("spec_temperature", "temperature", default=20.0),
        spec_fluid=spec_fluid,
        spec_surface_tension=spec_gamma,
        test_fluid=test_fluid,
        test_surface_tension=test_gamma,
        test_temperature_c=distribution(i, "test_temperature", "temperature", required=False, scale="linear")
        or Dist("fixed", 20.0),
        test_pressure_bar=i.quantity("test_pressure", "pressure"),
        reference_area_m2=i.quantity("reference_area", "area"),
        area_m2=i.quantity("area", "area"),
    )
    d = n.node("draws", {"expired", "not_wetted", "defect", "post_use_failure"}) or Node(
        {}, n.source, n.at("draws")
    )
    p = {
        k: d.number(k, default=0.0, low=0.0, high=1.0)
        for k in ("expired", "not_wetted", "defect", "post_use_failure")
    }
    if p["not_wetted"] + p["defect"] > 1:
        raise d.error("defect", "not_wetted + defect must be at most 1")
    dev = n.raw("deviation_on")
    dev = ["rejection", "post_use_failure"] if dev is None else dev
    if not isinstance(dev, list) or any(x not in ("rewet", "rejection", "post_use_failure") for x in dev):
        raise n.error("deviation_on", "expected a list of: rewet, rejection, post_use_failure")
    return GMPSpec(
        device=n.text("device", required=True),
        part_number=n.text("part_number", required=True),
        integrity=integrity,
        sterilise=n.bool("sterilise"),
        flush_L=n.quantity("flush", "volume", default=0.0, allow_zero=True),
        rewet_L=n.quantity("rewet", "volume", default=0.0, allow_zero=True),
        back_pressure_bar=n.quantity("back_pressure", "pressure", default=0.0, allow_zero=True),
        flush_out_L=n.quantity("flush_out", "volume", default=0.0, allow_zero=True),
        p_expired=p["expired"],
        p_not_wetted=p["not_wetted"],
        p_defect=p["defect"],
        p_post_failure=p["post_use_failure"],
        deviation_on=tuple(dev),
    )


def _parse_flow(n: Node, key) -> float:
    v = n.raw(key, required=True)
    return n.quantity(key, "flow", value=v, example="15 mL/min")


def _grading(n: Node | None, source, objectives: dict, prefilter: bool) -> GradingSpec:
    n = n or Node({}, source, "grading")
    weights = dict(DEFAULT_WEIGHTS)
    w = n.node("weights", set(PARTS))
    if w is not None:
        for k in w.data:
            weights[k] = w.number(k, low=0.0, required=True)
    parts = [p for p in PARTS if p != "prefilter" or prefilter]
    if not sum(weights[p] for p in parts) > 0:
        raise n.error("weights", "the weights of the graded parts add up to 0")
    objs = dict(DEFAULT_OBJECTIVES)
    o = n.node("objectives", set(PARTS))
    if o is not None:
        for k in o.data:
            objs[k] = o.text(k, required=True)
    for p in parts:
        if objs[p] not in objectives:
            field = "objectives" if o is None or p not in o.data else f"objectives.{p}"
            raise n.error(
                field,
                f"part '{p}' names objective '{objs[p]}', which is not in the scenario's "
                f"objectives ({', '.join(objectives) or 'none'})",
            )
    e = n.node("efficiency", {"full_at", "zero_at"}) or Node({}, source, n.at("efficiency"))
    full = e.number("full_at", default=0.5, low=0.0, high=1.0)
    zero = e.number("zero_at", default=1.0, low=0.0, high=1.0)
    if zero <= full:
        raise e.error("zero_at", f"must be above full_at ({full:g})")
    return GradingSpec(
        weights=weights,
        objectives={p: objs[p] for p in parts},
        pass_mark=n.number("pass_mark", default=80.0, low=0.0, high=100.0),
        critical_cap=n.number("critical_cap", default=40.0, low=0.0, high=100.0),
        efficiency_full_at=full,
        efficiency_zero_at=zero,
    )


def parse_scenario(data, *, source: str = "<scenario>") -> Scenario:
    """Build a scenario from its YAML data (a mapping); errors name ``source`` and the key."""
    top = Node(data, source, "", _TOP)
    sid = top.text("id", required=True)
    if not sid or any(c.isspace() or c in "/\\" for c in sid):
        raise top.error(
            "id", f"'{sid}' must be one word without spaces or slashes (e.g. mab-sterile-filtration)"
        )
    objectives = top.node("objectives", required=True)
    objs = {str(k): objectives.text(k, required=True) for k in objectives.data}
    filters = _filters(top.raw("filters", required=True), source)
    rig = _rig(
        top.node(
            "rig",
            {
                "modes",
                "log_interval",
                "time_unit",
                "filtrate",
                "pressure_unit",
                "balance",
                "pressure",
                "flow_noise",
                "startup",
                "hold_up",
                "setup_time",
                "export",
                "max_duration",
            },
            required=True,
        )
    )
    b = top.node("budget", {"feed", "bench_time", "money"}, required=True)
    budget = Budget(
        feed_mL=b.quantity("feed", "volume", required=True) * 1000.0,
        bench_h=b.quantity("bench_time", "time", required=True),
        money=b.number("money", required=True, positive=True),
    )
    task = _task(
        top.node(
            "task",
            {
                "text",
                "filters",
                "batch_volume",
                "mode",
                "process_time",
                "pressure",
                "flux",
                "max_pressure",
                "temperature",
                "flux_decay_limit",
                "catalog",
                "prefilter_decision",
            },
            required=True,
        ),
        filters,
    )
    if task.mode not in rig.modes:
        raise top.error("rig.modes", f"the task is {task.mode}: the rig must offer that mode")
    a = top.node("assessment", {"attempts", "time_limit"}) or Node({}, source, "assessment")
    sc = Scenario(
        id=sid,
        title=top.text("title", required=True),
        level=top.choice("level", LEVELS, required=True),
        description=top.text("description", default=""),
        feed=_feed(
            top.node(
                "feed",
                {"name", "viscosity", "density", "price_per_mL", "solids", "reference_solids", "solids_unit"},
                required=True,
            )
        ),
        filters=filters,
        rig=rig,
        budget=budget,
        task=task,
        safety_factor=_safety(top.node("safety_factor", {"range", "reasons", "show_range"}, required=True)),
        gmp=_gmp(
            top.node(
                "gmp",
                {
                    "device",
                    "part_number",
                    "sterilise",
                    "flush",
                    "rewet",
                    "back_pressure",
                    "flush_out",
                    "integrity",
                    "draws",
                    "deviation_on",
                },
                required=True,
            )
        ),
        grading=_grading(
            top.node("grading", {"weights", "objectives", "pass_mark", "critical_cap", "efficiency"}),
            source,
            objs,
            task.prefilter_decision,
        ),
        assessment=AssessmentSpec(
            attempts=a.number("attempts", default=3, low=1, integer=True),
            time_limit_h=a.quantity("time_limit", "time"),
        ),
        objectives=objs,
        currency=top.text("currency", default="USD"),
        version_hash=version_hash(data),
        source=source,
    )
    return sc


def read_scenario(path) -> Scenario:
    """Read one scenario file (YAML)."""
    p = Path(path)
    src = str(path)
    if not p.is_file():
        raise InputError("scenario file not found", source=src)
    if p.stat().st_size > MAX_SCENARIO_BYTES:
        raise InputError(f"a scenario file is at most {MAX_SCENARIO_BYTES // 1024} KiB", source=src)
    if p.suffix.lower() not in (".yaml", ".yml"):
        raise InputError("a scenario is a .yaml file", source=src)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid YAML ({exc.__class__.__name__}: {exc})", source=src) from None
    return parse_scenario(data, source=p.name)


def list_scenarios(extra_dirs=()) -> list[Scenario]:
    """Every scenario found (shipped first), easy to hard, each id once; a broken file is an error."""
    found, where = {}, {}
    for d in scenario_dirs(extra_dirs):
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.y*ml")):
            sc = read_scenario(f)
            if sc.id in found:
                raise InputError(
                    f"scenario id '{sc.id}' is also defined in {where[sc.id]}", source=str(f), field="id"
                )
            found[sc.id], where[sc.id] = sc, str(f)
    return sorted(found.values(), key=lambda s: (LEVELS.index(s.level), s.id))


def load_scenario(ref, extra_dirs=()) -> Scenario:
    """A scenario by id (shipped or installed) or by the path of its YAML file."""
    p = Path(str(ref))
    if p.suffix.lower() in (".yaml", ".yml") or p.is_file():
        return read_scenario(p)
    for d in scenario_dirs(extra_dirs):
        for f in sorted(d.glob("*.y*ml")) if d.is_dir() else ():
            try:
                sc = read_scenario(f)
            except FluxwiseError:
                continue
            if sc.id == str(ref):
                return sc
    ids = ", ".join(s.id for s in list_scenarios(extra_dirs))
    raise InputError(f"no scenario '{ref}' (scenarios: {ids})", field="scenario")


def scenario_formats(scenario: Scenario):
    """The catalog of filter formats the scenario's task sizes with."""
    from .catalog import read_catalog

    name = scenario.task.catalog
    if name in ("default", "", None):
        return read_catalog(None)
    p = Path(name)
    if not p.is_absolute() and scenario.source:
        for base in scenario_dirs():
            if (base / p).is_file():
                return read_catalog(base / p)
    return read_catalog(p)


def open_lab(ref, extra_dirs=()):
    """A :class:`fluxwise.training.Lab`: the scenario (by id or path) and its task's catalog."""
    from ..training.lab import Lab

    sc = load_scenario(ref, extra_dirs)
    return Lab(sc, scenario_formats(sc))
