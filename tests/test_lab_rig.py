"""Simulated rig runs: the files ``fluxwise fit`` reads, the physics against closed forms (Hermia laws
in Bolton et al. 2006 notation, Darcy's law, the start-up time warp), the instruments, the stops and
the budget's hard limit."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

from fluxwise.errors import InputError, RefusedError
from fluxwise.io import read_trial
from fluxwise.io.lab_files import parse_run_request, rig_file_bytes, write_rig_file
from fluxwise.io.lab_scenario import load_scenario, parse_scenario, shipped_scenarios_dir
from fluxwise.report.lab import run_plot_html
from fluxwise.training import Attempt, RunRequest

PSI = 0.0689475729  # bar per psi
CM2 = 1e-4


def _scenario(truth: dict, *, rig: dict | None = None, sid="mab-sterile-filtration", budget=None, **task):
    data = yaml.safe_load((shipped_scenarios_dir() / f"{sid}.yaml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["feed"]["viscosity"] = "1.25 cP"
    for key in ("solids", "reference_solids"):  # constants as stated, not scaled by a drawn solids content
        data["feed"].pop(key, None)
    data["filters"][0]["truth"] = truth
    quiet = {
        "balance": {"resolution": "0.0001 mL" if data["rig"].get("filtrate") == "volume" else "0.0001 g"},
        "pressure": {},
        "startup": "0 s",
    }
    data["rig"].update(quiet)
    data["rig"].update(rig or {})
    if budget:
        data["budget"] = budget
    data["task"].update(task)
    return parse_scenario(data, source="test.yaml")


def _run(sc, tmp_path, name="run.csv", seed=0, **options):
    a = Attempt(sc, seed)
    run = a.run(parse_run_request(sc, **options))
    path = write_rig_file(sc, run, tmp_path / name)
    return a, run, path


def test_noise_free_standard_blocking_file_reads_back_the_closed_form(tmp_path):
    # Lp 1000 LMH/bar, 30 psi, 1.25 cP: J0 = 1000·2.0684/1.25 = 1654.7 L/m²/h (Darcy)
    sc = _scenario({"mechanism": "standard", "permeability": "1000 LMH/bar", "ks_m2_per_L": 0.002})
    _, run, path = _run(
        sc, tmp_path, filter="PES 0.2 um", area="3.5 cm2", pressure="30 psi", duration="60 min"
    )
    tr = read_trial(path)
    j0 = 1000 * 30 * PSI / 1.25
    expected = j0 * tr.t_h / (1 + 0.002 * j0 * tr.t_h / 2)  # V = J0·t/(1 + ks·J0·t/2), Hermia n = 3/2
    np.testing.assert_allclose(tr.v_L_per_m2, expected, atol=0.0002 / 3.5e-4 / 1000 * 1000)
    assert tr.mode == "constant-pressure" and tr.area_m2 == pytest.approx(3.5 * CM2)
    assert tr.t_h[-1] == pytest.approx(1.0) and tr.points == 61
    np.testing.assert_allclose(tr.pressure_bar, 30 * PSI, atol=0.006 * PSI)


def test_startup_pressurisation_is_the_models_law_in_warped_time(tmp_path):
    # P(t) = P(1 − e^(−t/τ)) gives V(t) = V_cake(s), s = t − τ(1 − e^(−t/τ)) (dV/dt = J0·P(t)/P/r(V))
    sc = _scenario(
        {"mechanism": "cake", "permeability": "1000 LMH/bar", "beta_m2_per_L": 0.02},
        rig={"startup": "60 s", "log_interval": "15 s"},
    )
    _, run, path = _run(
        sc, tmp_path, filter="PES 0.2 um", area="13.8 cm2", pressure="30 psi", duration="20 min"
    )
    tr = read_trial(path)
    j0 = 1000 * 30 * PSI / 1.25
    kc = 0.02 / j0
    tau = 60 / 3600
    s = tr.t_h - tau * (1 - np.exp(-tr.t_h / tau))
    expected = (np.sqrt(1 + 2 * kc * j0**2 * s) - 1) / (kc * j0)  # Ruth's cake law, t = V/J0 + kc·V²/2
    np.testing.assert_allclose(tr.v_L_per_m2, expected, atol=1e-4 / 13.8e-4)
    # the transducer shows the ramp: 1 − e^(−1) = 63.2 % of the set point after one time constant
    i = int(np.argmin(abs(tr.t_h - tau)))
    assert tr.pressure_bar[i] == pytest.approx(30 * PSI * (1 - math.exp(-1)), rel=2e-3)


def test_balance_tare_density_and_drift(tmp_path):
    sc = _scenario(
        {"mechanism": "standard", "permeability": "1000 LMH/bar", "ks_m2_per_L": 0.002},
        sid="cho-centrate-clarification",
        rig={
            "balance": {"resolution": "0.0001 g", "tare": "2.5 g", "drift": "0.6 g/h"},
            "pressure": {},
            "startup": "0 s",
        },
    )
    _, run, path = _run(
        sc, tmp_path, filter="PES 0.45/0.2 um", area="3.5 cm2", pressure="15 psi", duration="30 min"
    )
    text = path.read_text()
    assert "Density: 1.02 g/mL" in text
    first = float(text.split("Time (min)")[1].splitlines()[1].split(",")[1])
    assert first == pytest.approx(2.5)  # the tare is on the balance at t = 0
    tr = read_trial(path)
    assert tr.meta["tare_L"] == pytest.approx(2.5 / 1.02 / 1000)  # the reader subtracts it as tare
    j0 = 1000 * 15 * PSI / 1.25
    v = j0 * tr.t_h / (1 + 0.002 * j0 * tr.t_h / 2)
    # reading = ρ·V·A + tare + drift·t: the drift shows up as 0.6 g/h / (ρ·A) in the throughput
    drift = 0.6 * tr.t_h / 1.02 / 1000 / (3.5 * CM2)
    np.testing.assert_allclose(tr.v_L_per_m2, v + drift, atol=2e-4 / 1.02 / 3.5e-4)


def test_constant_flux_pressure_is_darcy_times_resistance(tmp_path):
    sc = _scenario(
        {"mechanism": "cake", "permeability": "1300 LMH/bar", "beta_m2_per_L": 0.01},
        sid="cho-depth-constant-flux",
        rig={"pressure": {}, "balance": {"resolution": "0.0001 g"}, "startup": "0 s", "flow_noise": 0},
    )
    _, run, path = _run(
        sc, tmp_path, filter="Depth filter, two-layer", area="23 cm2", flux="150 LMH", duration="60 min"
    )
    tr = read_trial(path)
    assert tr.mode == "constant-flux"
    v = 150 * tr.t_h
    p_expected = 150 * 1.25 / 1300 * (1 + 0.01 * v)  # P0 = J·μ/Lp, cake r(V) = 1 + β·V
    np.testing.assert_allclose(tr.pressure_bar, p_expected, atol=0.0006 * PSI)
    np.testing.assert_allclose(tr.v_L_per_m2, v, atol=1e-4 / 1.02 / 23e-4)
    flow = run.column("Feed flow")
    np.testing.assert_allclose(flow, 150 * 23e-4 * 1000 / 60, atol=6e-4)  # 5.75 mL/min


def test_stops_at_the_flux_decay_of_complete_blocking(tmp_path):
    # complete blocking: J/J0 = 1 − σV and V = (1 − e^(−σ·J0·t))/σ, so J/J0 = e^(−σ·J0·t):
    # a 90 % flux decay is reached at t = ln(10)/(σ·J0)
    sc = _scenario({"mechanism": "complete", "permeability": "1000 LMH/bar", "sigma_m2_per_L": 0.005})
    _, run, _ = _run(
        sc,
        tmp_path,
        filter="PES 0.2 um",
        area="3.5 cm2",
        pressure="30 psi",
        duration="120 min",
        stop_flux_decay="90%",
    )
    j0 = 1000 * 30 * PSI / 1.25
    t_stop = math.log(10) / (0.005 * j0)
    assert t_stop <= run.duration_h < t_stop + 1 / 60 + 1e-12
    assert run.stopped == "flux fell by 90%"


def test_constant_flux_run_stops_at_the_pressure_limit(tmp_path):
    sc = _scenario(
        {"mechanism": "cake", "permeability": "1300 LMH/bar", "beta_m2_per_L": 0.01},
        sid="cho-depth-constant-flux",
        rig={"pressure": {}, "startup": "0 s", "flow_noise": 0},
    )
    _, run, _ = _run(
        sc,
        tmp_path,
        filter="Depth filter, two-layer",
        area="5 cm2",
        flux="150 LMH",
        duration="8 h",
        stop_pressure="20 psi",
    )
    # P = P0(1 + βV) reaches 20 psi at V = (20 psi/P0 − 1)/β, i.e. t = V/J
    p0 = 150 * 1.25 / 1300
    t_stop = (20 * PSI / p0 - 1) / 0.01 / 150
    assert t_stop <= run.duration_h < t_stop + 1 / 60 + 1e-12
    assert run.stopped.startswith("pressure reached 20")


def test_xlsx_export_with_time_in_seconds_reads_back(tmp_path):
    sc = load_scenario("plasma-virus-filtration")
    a = Attempt(sc, 4)
    run = a.run(
        parse_run_request(
            sc, filter="PVDF 20 nm virus filter", area="3.1 cm2", pressure="2 bar", duration="60 min"
        )
    )
    path = write_rig_file(sc, run, tmp_path / "run.xlsx")
    tr = read_trial(path)
    assert tr.meta["units"]["time"] == "s" and tr.points == 31
    assert tr.mode == "constant-pressure" and tr.area_m2 == pytest.approx(3.1 * CM2)
    assert rig_file_bytes(sc, run, "xlsx")[:2] == b"PK"


def test_every_file_and_plot_is_marked_training():
    sc = load_scenario("cho-centrate-clarification")
    a = Attempt(sc, 1)
    run = a.run(
        parse_run_request(sc, filter="PES 0.45/0.2 um", area="3.5 cm2", pressure="15 psi", duration="20 min")
    )
    text = rig_file_bytes(sc, run, "csv").decode()
    assert text.startswith("Record: TRAINING - SIMULATED")
    page = run_plot_html(sc, run)
    assert "TRAINING - SIMULATED" in page and page.count("<table>") == 3 and "<script>" in page
    assert "<script src" not in page and "<link" not in page  # plotly.js embedded, nothing fetched


def test_budget_is_a_hard_limit_and_refusals_name_the_reason(tmp_path):
    sc = _scenario(
        {"mechanism": "standard", "permeability": "1000 LMH/bar", "ks_m2_per_L": 0.002},
        budget={"feed": "150 mL", "bench_time": "2 h", "money": 1000},
    )
    a = Attempt(sc, 0)
    with pytest.raises(RefusedError) as e:
        a.run(parse_run_request(sc, filter="PES 0.2 um", area="3.5 cm2", pressure="30 psi", duration="2 h"))
    assert e.value.reason == "bench_time" and "0.25 h set-up" in str(e.value)
    # the feed vessel empties: the run stops there and never uses more than the budget
    run = a.run(
        parse_run_request(sc, filter="PES 0.2 um", area="13.8 cm2", pressure="30 psi", duration="60 min")
    )
    assert run.stopped == "feed exhausted"
    first = a.used
    assert first.feed_mL <= 150 + 1e-9
    # small runs until the feed is gone: each refused run names the feed; the total never exceeds 150 mL
    with pytest.raises(RefusedError) as e:
        for _ in range(20):
            a.run(
                parse_run_request(
                    sc, filter="PES 0.2 um", area="3.5 cm2", pressure="30 psi", duration="5 min"
                )
            )
    assert e.value.reason == "feed" and "hold-up of 5 mL" in str(e.value)
    assert a.used.feed_mL <= 150 + 1e-9 and a.budget_left.feed_mL >= -1e-9
    # money: the first run cost the 22 USD disc plus its feed at 0.2 USD/mL
    assert first.money == pytest.approx(22 + first.feed_mL * 0.2)
    rich = _scenario(
        {"mechanism": "standard", "permeability": "1000 LMH/bar", "ks_m2_per_L": 0.002},
        budget={"feed": "1000 mL", "bench_time": "10 h", "money": 20},
    )
    with pytest.raises(RefusedError) as e:
        Attempt(rich, 0).run(
            parse_run_request(
                rich, filter="PES 0.2 um", area="13.8 cm2", pressure="30 psi", duration="10 min"
            )
        )
    # at least the 22 USD disc and the rig's 5 mL hold-up at 0.2 USD/mL = 23 USD
    assert (
        e.value.reason == "money"
        and "costs at least 23 USD" in str(e.value)
        and "20 USD left" in str(e.value)
    )


def test_usage_adds_up():
    sc = load_scenario("mab-sterile-filtration")
    a = Attempt(sc, 2)
    runs = [
        a.run(parse_run_request(sc, filter="PES 0.2 um", area="3.5 cm2", pressure="30 psi", duration=d))
        for d in ("10 min", "20 min")
    ]
    hold, setup = 5.0, 0.25
    assert a.used.feed_mL == pytest.approx(sum(r.collected_mL + hold for r in runs))
    assert a.used.bench_h == pytest.approx(2 * setup + 30 / 60)
    assert a.budget_left.feed_mL == pytest.approx(1000 - a.used.feed_mL)


BAD_RUNS = [
    ({"filter": "PES 0.3 um"}, "filter"),
    ({"area": "5 cm2"}, "area"),
    ({"pressure": None, "flux": "100 LMH"}, "mode"),
    ({"duration": "2 min"}, "duration"),
    ({"pressure": "100 psi"}, "pressure"),
    ({"pressure": "30 L"}, "pressure"),
]


@pytest.mark.parametrize("change,field", BAD_RUNS, ids=[b[1] + str(i) for i, b in enumerate(BAD_RUNS)])
def test_bad_run_requests_name_the_option(change, field):
    sc = load_scenario("mab-sterile-filtration")
    opts = {"filter": "PES 0.2 um", "area": "3.5 cm2", "pressure": "30 psi", "duration": "30 min", **change}
    with pytest.raises(InputError) as e:
        Attempt(sc, 0).run(parse_run_request(sc, **opts))
    assert e.value.field == field


def test_run_request_round_trip():
    req = RunRequest(
        filter="PES 0.2 um",
        area_m2=3.5e-4,
        mode="constant-pressure",
        duration_h=0.5,
        pressure_bar=2.0,
        stop_flux_decay=0.9,
    )
    assert RunRequest.from_dict(req.to_dict()) == req
