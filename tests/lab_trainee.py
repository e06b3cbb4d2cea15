"""Scripted trainees for the virtual-lab tests: one that works the way a good scientist would, and the
wrong strategies the lab must catch.

A trainee sits at a :class:`Desk`: it sees the scenario's public JSON (what ``fluxwise lab scenarios
--json`` prints), the rig files its runs write, the device label and the equipment's readings — never
the attempt's truth. It fits with fluxwise (the batched fitter for many constant-pressure trials at
once, the per-trial fitter at constant flux), sizes from the model ranked best by AICc with
fluxwise's sizing, and follows the SOP.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np

from fluxwise.design.catalog import choose_format, format_options
from fluxwise.design.integrity import check_bubble_point, check_diffusion
from fluxwise.design.sizing import min_area_constant_flux, min_area_constant_pressure, standard_blocking_area
from fluxwise.fit.batch import fit_batch
from fluxwise.fit.fouling import fit_trial, vmax_analysis
from fluxwise.io import read_trial
from fluxwise.io.catalog import read_catalog
from fluxwise.io.lab_files import parse_action, parse_answer, parse_run_request, write_rig_file
from fluxwise.models.fouling import MODEL_NAMES
from fluxwise.models.integrity import water_surface_tension
from fluxwise.training import Attempt, public_scenario
from fluxwise.units import parse_quantity

START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
REASON = "lot-variability"


class Desk:
    """A trainee's bench: public scenario, rig, device, equipment, submit. The attempt stays hidden."""

    def __init__(self, scenario, seed: int, workdir: Path, *, trainee: str = "trainee-01"):
        self._scenario = scenario
        self._attempt = Attempt(scenario, seed, trainee=trainee, started_at=START)
        self.public = json.loads(json.dumps(public_scenario(scenario)))
        self.workdir = Path(workdir)
        self.trainee = trainee
        self._minutes = 0
        self.files: list[Path] = []

    def now(self) -> dt.datetime:
        self._minutes += 3
        return START + dt.timedelta(minutes=self._minutes)

    def run(self, **options) -> Path:
        req = parse_run_request(self._scenario, **options)
        run = self._attempt.run(req, at=self.now())
        ext = "xlsx" if self.public["rig"]["export"] == "xlsx" else "csv"
        path = self.workdir / f"{self._scenario.id}-{self._attempt.seed}-run{run.index + 1}.{ext}"
        write_rig_file(self._scenario, run, path)
        self.files.append(path)
        return path

    def budget_left(self) -> dict:
        return self._attempt.view()["budget_left"]

    def label(self) -> dict:
        return self._attempt.device_label()

    def act(self, action: str, **fields) -> dict:
        return self._attempt.act(
            action, by=self.trainee, at=self.now(), **parse_action(self._scenario, action, fields)
        )

    def submit(self, answer: dict) -> dict:
        from fluxwise.io.lab_scenario import scenario_formats

        grade = self._attempt.submit(
            parse_answer(answer, self._scenario), formats=scenario_formats(self._scenario), at=self.now()
        )
        return grade.to_dict()


# ----------------------------------------------------------------------------------- experiments


def q(text: str, kind: str) -> float:
    return parse_quantity(text, kind)


def full_runs(desk: Desk) -> dict:
    """One run per task configuration at the process conditions over the whole process range, on the
    smallest disc: the experiment a careful scientist plans. Returns {configuration: file}."""
    task = desk.public["task"]
    files = {}
    for name in task["filters"]:
        f = next(x for x in desk.public["filters"] if x["name"] == name)
        disc = min(f["areas"], key=lambda a: q(a, "area"))
        if task["mode"] == "constant-pressure":
            files[name] = desk.run(
                filter=name, area=disc, pressure=task["pressure"], duration=task["process_time"]
            )
        else:
            left = desk.budget_left()["bench_h"] - q(desk.public["rig"]["setup_time"], "time")
            per_run = left / (len(task["filters"]) - len(files))
            files[name] = desk.run(
                filter=name,
                area=disc,
                flux=task["flux"],
                stop_pressure=task["max_pressure"],
                duration=f"{min(per_run, 8.0):.4f} h",
            )
    return files


def short_run(desk: Desk, minutes: float) -> Path:
    """A short Vmax-style run on the smallest disc at the process conditions."""
    task = desk.public["task"]
    name = task["filters"][0]
    f = next(x for x in desk.public["filters"] if x["name"] == name)
    disc = min(f["areas"], key=lambda a: q(a, "area"))
    cond = {"pressure": task["pressure"]} if task["mode"] == "constant-pressure" else {"flux": task["flux"]}
    return desk.run(filter=name, area=disc, duration=f"{minutes} min", **cond)


def fit_files(paths) -> list[dict]:
    """Fit every model to each file with fluxwise: {model: (params, aicc)} per file; constant-pressure
    trials in one call of the batched fitter."""
    trials = [read_trial(p) for p in paths]
    out: list = [None] * len(trials)
    cp = [i for i, t in enumerate(trials) if t.mode == "constant-pressure"]
    if cp:
        m = max(trials[i].points for i in cp)
        t = np.zeros((len(cp), m))
        y = np.zeros((len(cp), m))
        mask = np.zeros((len(cp), m), bool)
        for j, i in enumerate(cp):
            n = trials[i].points
            t[j, :n], y[j, :n], mask[j, :n] = trials[i].t_h, trials[i].v_L_per_m2, True
        bf = fit_batch(t, y, mask, backend="numpy")
        for j, i in enumerate(cp):
            out[i] = {nm: (bf[nm].params_dict(j), float(bf[nm].aicc[j])) for nm in MODEL_NAMES}
    for i, tr in enumerate(trials):
        if out[i] is None:
            out[i] = {f.name: (dict(f.params), f.aicc) for f in fit_trial(tr).fits}
    return out


def best(fits: dict) -> str:
    k = {nm: len(p) for nm, (p, _) in fits.items()}
    return min(fits, key=lambda nm: (fits[nm][1], k[nm]))


def size(public: dict, model: str, params: dict) -> float:
    """Minimum area [m²] of the task from a fitted model, with fluxwise's sizing."""
    task = public["task"]
    vb = q(task["batch_volume"], "volume")
    try:
        if task["mode"] == "constant-pressure":
            return min_area_constant_pressure(
                model,
                params,
                vb,
                q(task["process_time"], "time"),
                flux_decay_limit=task.get("flux_decay_limit"),
            )
        return min_area_constant_flux(
            model,
            params,
            vb,
            max_pressure_bar=q(task["max_pressure"], "pressure"),
            flux_LMH=q(task["flux"], "flux"),
        )["min_area_m2"]
    except Exception:  # noqa: BLE001 - a fit that cannot size the task: no area
        return math.inf


def cost(public: dict, formats, name: str, area: float, sf: float) -> float:
    """Filter cost per batch of a configuration from the public prices (cheapest catalog choice)."""
    options = format_options(formats, area * sf)
    choice = min(options, key=lambda c: c.count * c.format.price_usd)
    f = next(x for x in public["filters"] if x["name"] == name)
    pre = f.get("prefilter")
    extra = pre["area_ratio"] * choice.installed_area_m2 * pre["price_per_m2"] if pre else 0.0
    return choice.count * choice.format.price_usd + extra


def answer(public: dict, sized: dict, *, sf: float = 1.5, reason: str = REASON) -> dict:
    """The answer from {configuration: (model, area)}: the cheapest configuration when there is a
    prefilter decision, else the one task filter."""
    formats = read_catalog(None)
    names = [nm for nm in sized if math.isfinite(sized[nm][1])] or list(sized)
    name = (
        min(names, key=lambda nm: cost(public, formats, nm, sized[nm][1], sf)) if len(names) > 1 else names[0]
    )
    model, area = sized[name]
    choice = choose_format(formats, area * sf)
    ans = {
        "mechanism": model,
        "min_area": f"{area:.6g} m2",
        "format": choice.format.name,
        "count": choice.count,
        "safety_factor": sf,
        "safety_factor_reason": reason,
        "filter": name,
    }
    if public["task"]["prefilter_decision"]:
        pre = next(x for x in public["filters"] if x["name"] == name).get("prefilter")
        ans["prefilter"] = "none" if pre is None else {"name": pre["name"], "area_ratio": pre["area_ratio"]}
        del ans["filter"]
    return ans


# ----------------------------------------------------------------------------------- GMP


def limit_for(spec: dict, reading: dict) -> float:
    """The data sheet's specification corrected to the test, with fluxwise.design.integrity (what a
    trainee computes): bar for a bubble point, mL/min for a diffusion test."""
    if spec["method"] == "bubble-point":
        value = q(spec["spec"], "pressure")
        t_spec = q(spec["spec_temperature"], "temperature")
        if "spec_surface_tension" in spec or "test_surface_tension" in spec:
            g1 = (
                q(spec["spec_surface_tension"], "surface_tension")
                if "spec_surface_tension" in spec
                else float(water_surface_tension(t_spec))
            )
            g2 = (
                q(spec["test_surface_tension"], "surface_tension")
                if "test_surface_tension" in spec
                else float(water_surface_tension(reading["temperature_c"]))
            )
            return check_bubble_point(
                1.0, value, spec_surface_tension_mN_per_m=g1, test_surface_tension_mN_per_m=g2
            ).limit
        return check_bubble_point(
            1.0, value, spec_temperature_c=t_spec, test_temperature_c=reading["temperature_c"]
        ).limit
    limit = check_diffusion(
        0.0,
        q(spec["spec"], "flow"),
        reference_area_m2=q(spec["reference_area"], "area"),
        area_m2=q(spec["area"], "area"),
    ).limit
    return limit * 1000 / 60


def sop(desk: Desk, *, accept_failed: bool = False) -> dict:
    """Work the GMP exercise by the SOP (or, with ``accept_failed``, record every test as a pass), from
    the public SOP block only. Returns {"failures": n, "replaced": n, "post_failed": bool}."""
    g = desk.public["gmp"]
    spec = g["integrity"]
    happened = {"failures": 0, "replaced": 0, "post_failed": False}

    def test(stage) -> bool:
        r = desk.act("integrity_test", stage=stage)
        lim = limit_for(spec, r)
        ok = r["measured"] >= lim if spec["method"] == "bubble-point" else r["measured"] <= lim
        if not ok and accept_failed:
            happened["accepted"] = happened.get("accepted", 0) + 1
        verdict = "pass" if ok or accept_failed else "fail"
        desk.act("record_result", test=r["test"], limit=round(lim, 5), verdict=verdict)
        return ok or accept_failed

    while True:
        lab = desk.label()
        expired = dt.date.fromisoformat(lab["expiry"]) < dt.date.fromisoformat(lab["process_date"])
        desk.act(
            "verify",
            part_number=lab["part_number"],
            lot=lab["lot"],
            expiry=lab["expiry"],
            decision="reject" if expired else "accept",
        )
        if expired:
            desk.act("reject", reason="expired")
            desk.act("replace")
            happened["replaced"] += 1
            continue
        desk.act("install", vented=True)
        desk.act("flush", volume=g["flush"])
        if g["sterilise"]:
            desk.act("sterilise", method="autoclave, validated cycle")
        if test("pre"):
            break
        happened["failures"] += 1
        desk.act("check_setup")
        desk.act("rewet", volume=g["rewet"], back_pressure=g["back_pressure"])
        if test("pre"):
            if "rewet" in g["deviation_on"]:
                desk.act("deviation", description="pre-use test failed before re-wet; passed after re-wet")
            break
        happened["failures"] += 1
        desk.act("reject", reason="fails the pre-use test after re-wet")
        desk.act("deviation", description="pre-use integrity failure after re-wet; device rejected")
        desk.act("replace")
        happened["replaced"] += 1
    desk.act("filter")
    desk.act("flush_out", volume=g["flush_out"])
    if not test("post"):
        happened["post_failed"] = True
        desk.act("deviation", description="post-use integrity failure")
        desk.act("quarantine_batch", reason="post-use integrity failure")
    desk.act("sign", meaning="performed and reviewed by the trainee")
    return happened


# ----------------------------------------------------------------------------------- strategies


def _experiments(scenario, seeds, workdir, choose=best):
    """Desks that ran the full-range experiments, and per desk {configuration: (model, area)} with the
    model picked by ``choose(fits)`` from the fits of each configuration's run."""
    desks = [Desk(scenario, s, workdir) for s in seeds]
    runs = [full_runs(d) for d in desks]
    flat = [(i, name, path) for i, r in enumerate(runs) for name, path in r.items()]
    fits = fit_files([p for _, _, p in flat])
    sized: list[dict] = [{} for _ in desks]
    for (i, name, _), f in zip(flat, fits, strict=True):
        m = choose(f)
        sized[i][name] = (m, size(desks[i].public, m, f[m][0]))
    return desks, sized


def good_trainees(scenario, seeds, workdir) -> list[tuple[Desk, dict]]:
    """The scripted good trainee for many seeds: full-range runs, batched fits, best model, SOP."""
    out = []
    for d, sz in zip(*_experiments(scenario, seeds, workdir), strict=True):
        sop(d)
        out.append((d, d.submit(answer(d.public, sz))))
    return out


def random_mechanism(scenario, seeds, workdir, rng) -> list[tuple[Desk, dict, str]]:
    """Like the good trainee, but the mechanism (and the sizing) from a model picked at random."""
    desks = [Desk(scenario, s, workdir) for s in seeds]
    runs = [full_runs(d) for d in desks]
    flat = [(i, name, path) for i, r in enumerate(runs) for name, path in r.items()]
    fits = fit_files([p for _, _, p in flat])
    out = []
    picks: list = [None] * len(desks)
    sized: list[dict] = [{} for _ in desks]
    for (i, name, _), f in zip(flat, fits, strict=True):
        # a model picked at random among those whose fit can size the task at all
        areas = {m: size(desks[i].public, m, f[m][0]) for m in MODEL_NAMES}
        if picks[i] is None:
            picks[i] = str(rng.choice([m for m in MODEL_NAMES if math.isfinite(areas[m])]))
        sized[i][name] = (picks[i], areas[picks[i]])
    for d, sz, m in zip(desks, sized, picks, strict=True):
        sop(d)
        out.append((d, d.submit(answer(d.public, sz)), m))
    return out


def linear_vmax(scenario, seeds, workdir, minutes: float = 15.0) -> list[tuple[Desk, dict]]:
    """The classical Vmax shortcut: one short run, a straight line through t/V vs t after the first
    two minutes (while the pressure settles), A = Vb/Vmax + Vb/(J0·tb), mechanism 'standard'."""
    out = []
    for s in seeds:
        d = Desk(scenario, s, workdir)
        tr = read_trial(short_run(d, minutes))
        keep = tr.t_h >= 2 / 60
        tr = dataclasses.replace(
            tr,
            t_h=tr.t_h[keep],
            v_L_per_m2=tr.v_L_per_m2[keep],
            pressure_bar=None if tr.pressure_bar is None else tr.pressure_bar[keep],
        )
        vm = vmax_analysis(tr)
        task = d.public["task"]
        area = standard_blocking_area(
            vm["vmax_L_per_m2"],
            vm["J0_LMH"],
            q(task["batch_volume"], "volume"),
            q(task["process_time"], "time"),
        )
        sop(d)
        ans = answer(d.public, {task["filters"][0]: ("standard", area)})
        ans["vmax"] = f"{vm['vmax_L_per_m2']:.6g} L/m2"
        out.append((d, d.submit(ans)))
    return out


def accepts_failed_tests(scenario, seeds, workdir) -> list[tuple[Desk, dict, dict]]:
    """A good experimenter who records every integrity test as a pass; ``happened["accepted"]`` counts
    the failed readings recorded as passes."""
    out = []
    for d, sz in zip(*_experiments(scenario, seeds, workdir), strict=True):
        happened = sop(d, accept_failed=True)
        out.append((d, d.submit(answer(d.public, sz)), happened))
    return out


def fixed_scenario(
    truth: dict,
    *,
    sid: str = "mab-sterile-filtration",
    viscosity: str = "1.25 cP",
    rig=None,
    task=None,
    budget=None,
    gmp_draws=None,
    **top,
):
    """A shipped scenario with a fixed truth (numbers a test can compute by hand) and quiet instruments."""
    import copy

    import yaml

    from fluxwise.io.lab_scenario import parse_scenario, shipped_scenarios_dir

    data = copy.deepcopy(
        yaml.safe_load((shipped_scenarios_dir() / f"{sid}.yaml").read_text(encoding="utf-8"))
    )
    data["feed"]["viscosity"] = viscosity
    for key in ("solids", "reference_solids"):
        data["feed"].pop(key, None)
    for f in data["filters"]:
        f["truth"] = truth if not isinstance(truth, dict) or "mechanism" in truth else truth[f["name"]]
    data["rig"].update(rig or {})
    data["task"].update(task or {})
    if budget:
        data["budget"] = budget
    data["gmp"]["draws"] = gmp_draws or {}
    data.update(top)
    return parse_scenario(data, source="fixed.yaml")
