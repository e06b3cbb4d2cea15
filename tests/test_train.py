"""A filtration train per batch: mass balance, time, line items, routes, errors, CLI and report.

Hand-derived expectations (written out where they are used):

* standard blocking sizing closes as A = Vb/Vmax + Vb/(J0·tb), Vmax = 2/ks (Badmington et al. 1995);
* product left in a filter's hold-up after one well-mixed chase: C·Vh·Vh/(Vh + Vc);
* fossil CO2 of incinerating polypropylene (C3H6)n: w_C = 36.03/42.08 = 0.856, times 44.01/12.011
  (IPCC 2006 Vol. 5 Ch. 5 Eq. 5.1 with oxidation factor 1) = 3.14 kg CO2/kg;
* freight = shipped mass [t] × distance [km] × factor [kg CO2e/(t·km)].
"""

import json
import math
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fluxwise.cli import main
from fluxwise.design.catalog import FilterFormat
from fluxwise.design.train import FoulingBasis, HoldStep, NormalFlowStep, Train, UFDFStep, design_train
from fluxwise.io.train import parse_factors, read_factors, read_train

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE = EXAMPLES / "train_2000L_mab.yaml"
DOCS = ROOT / "docs" / "train-json.md"


@pytest.fixture(scope="module")
def example():
    return design_train(read_train(EXAMPLE))


@pytest.fixture(scope="module")
def example_json(example):
    return json.loads(json.dumps(example.to_dict()))


# ------------------------------------------------------------------------------ mass balance

def test_every_step_closes_its_volume_and_product_balance(example):
    for s in example.steps:
        vin = sum(x["volume_L"] for x in s.streams if x["direction"] == "in")
        vout = sum(x["volume_L"] for x in s.streams if x["direction"] == "out")
        min_ = sum(x["product_g"] for x in s.streams if x["direction"] == "in")
        mout = sum(x["product_g"] for x in s.streams if x["direction"] == "out")
        assert vin == pytest.approx(vout, rel=1e-12, abs=1e-9), s.name
        assert min_ == pytest.approx(mout, rel=1e-12, abs=1e-9), s.name
        assert s.volume_in_L + s.volume_added_L == pytest.approx(s.volume_out_L + s.volume_removed_L,
                                                                 rel=1e-12)
        assert s.product_in_g == pytest.approx(s.product_out_g + s.product_loss_g, rel=1e-12)
        assert s.product_loss_g >= 0


def test_steps_chain_and_the_train_closes(example):
    steps = example.steps
    assert steps[0].volume_in_L == 2000.0
    assert steps[0].product_in_g == pytest.approx(2000 * 4.0)  # batch volume × titre
    for a, b in zip(steps, steps[1:], strict=False):
        assert b.volume_in_L == a.volume_out_L
        assert b.product_in_g == a.product_out_g
    mb = example.mass_balance
    assert mb["volume_closure_L"] == pytest.approx(0.0, abs=1e-9)
    assert mb["product_closure_g"] == pytest.approx(0.0, abs=1e-9)
    assert mb["product_in_g"] == pytest.approx(mb["product_out_g"] + mb["product_loss_g"], rel=1e-12)
    s = example.summary
    assert s["overall_yield"] == pytest.approx(math.prod(st.yield_fraction for st in steps), rel=1e-12)


def test_hold_step_follows_its_yield_and_outlet_concentration(example):
    hold = next(s for s in example.steps if s.type == "hold")
    assert hold.product_out_g == pytest.approx(0.85 * hold.product_in_g)
    assert hold.product_out_g / hold.volume_out_L == pytest.approx(10.0)


# ------------------------------------------------------------------------------------ time

def test_total_time_is_the_sum_of_the_steps(example):
    s = example.summary
    assert s["total_time_h"] == pytest.approx(sum(st.time_h for st in example.steps), rel=1e-12)
    assert sum(s["step_time_h"].values()) == pytest.approx(s["total_time_h"], rel=1e-12)
    by_name = {st.name: st.time_h for st in example.steps}
    # the file gives these process times (the sizing meets them exactly) and 30 h for the hold step
    assert by_name["Harvest clarification"] == pytest.approx(3.0)
    assert by_name["Virus filtration"] == pytest.approx(4.0)
    assert by_name["UF/DF to formulation"] == pytest.approx(4.0)
    assert by_name["Capture and polishing (not designed here)"] == 30.0


# ---------------------------------------------------------------------- line items and totals

def test_every_line_item_is_quantity_times_unit_price(example):
    for i in example.cost_items + example.co2e_items + example.plastic_items:
        assert i.amount == pytest.approx(i.quantity * i.unit_price, rel=1e-12), i.item
        assert i.source, i.item


def test_every_summary_number_is_the_sum_of_its_line_items(example_json):
    d = example_json
    s = d["summary"]

    def total(items, key="amount", **match):
        return math.fsum(i[key] for i in items if all(i[k] == v for k, v in match.items()))

    def step_total(items, label):
        return math.fsum(i["amount"] for i in items if f"{i['step_index']}. {i['step']}" == label)

    assert s["cost_total"] == pytest.approx(total(d["cost_items"]), rel=1e-12)
    assert s["plastic_kg"] == pytest.approx(total(d["plastic_items"]), rel=1e-12)
    assert s["co2e_kg"] == pytest.approx(total(d["co2e_items"]), rel=1e-12)
    for cat, v in s["cost_by_category"].items():
        assert v == pytest.approx(total(d["cost_items"], category=cat), rel=1e-12)
    for cat, v in s["co2e_by_category_kg"].items():
        assert v == pytest.approx(total(d["co2e_items"], category=cat), rel=1e-12)
    labels = [f"{st['index']}. {st['name']}" for st in d["steps"]]
    for block, items in (("cost_by_step", "cost_items"), ("co2e_by_step_kg", "co2e_items"),
                         ("plastic_by_step_kg", "plastic_items")):
        assert list(s[block]) == labels
        for label, v in s[block].items():
            assert v == pytest.approx(step_total(d[items], label), rel=1e-12)
    assert list(s["step_time_h"]) == labels
    assert sum(s["cost_by_category"].values()) == pytest.approx(s["cost_total"], rel=1e-12)
    assert sum(s["co2e_by_category_kg"].values()) == pytest.approx(s["co2e_kg"], rel=1e-12)
    # liquids: the volumes listed, and the same volumes costed
    assert s["buffer_L"] == pytest.approx(total(d["liquids"], "volume_L", fluid="buffer"), rel=1e-12)
    assert s["wfi_L"] == pytest.approx(total(d["liquids"], "volume_L", fluid="wfi"), rel=1e-12)
    assert s["buffer_L"] == pytest.approx(total(d["cost_items"], "quantity", category="buffer"), rel=1e-12)
    assert s["wfi_L"] == pytest.approx(total(d["cost_items"], "quantity", category="wfi"), rel=1e-12)
    assert s["cost_per_g"] == pytest.approx(s["cost_total"] / s["product_out_g"], rel=1e-12)
    # consumables carry the same plastic as the plastic line items
    assert total(d["consumables"], "plastic_kg") == pytest.approx(s["plastic_kg"], rel=1e-12)


def test_the_example_gives_sensible_numbers(example):
    """Orders of magnitude a process engineer expects for 2,000 L at 4 g/L (not pinned values)."""
    by = {s.name: s for s in example.steps}
    depth = by["Harvest clarification"].sizing
    assert 50 < depth.batch_volume_L / depth.choice.installed_area_m2 < 500   # L/m² on depth filters
    assert depth.choice.count <= 10
    virus = by["Virus filtration"].sizing
    assert 1 < virus.choice.installed_area_m2 < 10
    ufdf = by["UF/DF to formulation"].ufdf
    assert 3 < ufdf.area_m2 < 30 and 15 < ufdf.average_flux_LMH < 60
    assert ufdf.df_concentration_g_per_L == pytest.approx(250 / math.e, rel=0.02)  # about Cg/e
    s = example.summary
    assert 0.7 < s["overall_yield"] < 0.95
    assert 100 < s["final_concentration_g_per_L"] < 130
    assert 10 < s["plastic_kg"] < 200
    assert s["total_time_h"] < 72


# ----------------------------------------------------------------- a train checked by hand

def _factors():
    src = "hand factors"
    f = lambda v, u: {"value": v, "unit": u, "source": src, "year": 2025}  # noqa: E731
    return parse_factors({
        "costs": {"buffer_per_L": f(1.5, "USD/L"), "wfi_per_L": f(0.2, "USD/L"),
                  "ufdf_membrane_per_m2": f(1000, "USD/m2")},
        "flush_L_per_m2": {"bioburden": f(20, "L/m2")},
        "assumptions": {"shipping_mass_per_plastic_kg": f(1.5, "kg/kg"),
                        "ufdf_plastic_kg_per_m2": f(2, "kg/m2")},
        "resins": {"default": "polypropylene",
                   "polypropylene": {"kg_co2e_per_kg": 2.0, "carbon_fraction": 36.03 / 42.08, "source": src}},
        "end_of_life": {"incineration": {"oxidation_factor": 1.0, "source": src},
                        "landfill": {"kg_co2e_per_kg": 0.022, "source": src}},
        "freight": {"sea": {"kg_co2e_per_tonne_km": 0.0127, "source": src},
                    "air": {"kg_co2e_per_tonne_km": 0.5, "source": src},
                    "road": {"kg_co2e_per_tonne_km": 0.088, "source": src}},
        "routes": {"default": "local", "local": {"label": "local", "km": {"road": 30}},
                   "air": {"label": "imported by air", "km": {"road": 400, "air": 9000}}},
    }, source=src)


def _hand_train(**over):
    fmt = FilterFormat("Test capsule", "capsule", 1.0, max_count=10, price_usd=100.0, plastic_kg=1.0,
                       hold_up_mL=1000.0)
    step = NormalFlowStep(name="Bioburden", type="bioburden",
                          basis=FoulingBasis("standard", {"J0_LMH": 100.0, "ks_m2_per_L": 0.02},
                                             "constant-pressure"),
                          process_time_h=1.0, safety_factor=1.5, chase_volume_L=3.0)
    kw = dict(name="hand", batch_volume_L=100.0, titre_g_per_L=10.0, steps=(step,), formats=(fmt,),
              factors=_factors())
    kw.update(over)
    return Train(**kw)


def test_a_small_train_against_hand_numbers():
    d = design_train(_hand_train())
    s = d.steps[0]
    # A = Vb/Vmax + Vb/(J0 tb) = 100/100 + 100/(100·1) = 2 m²; × 1.5 = 3 m² -> 3 capsules of 1 m²
    assert s.sizing.min_area_m2 == pytest.approx(2.0, rel=1e-9)
    assert s.sizing.choice.count == 3
    # hold-up 3 × 1 L; chase 3 L: loss = 10 g/L · 3 L · 3/(3 + 3) = 15 g; volume 100 + 3 - 3 = 100 L
    assert s.product_loss_g == pytest.approx(15.0, rel=1e-12)
    assert s.volume_out_L == pytest.approx(100.0, rel=1e-12)
    cost = {i.category: i.amount for i in s.cost_items}
    assert cost == pytest.approx({"filters": 300.0, "wfi": 20 * 3 * 0.2, "buffer": 3 * 1.5})
    co2 = {i.category: i.amount for i in s.co2e_items}
    assert co2["resin"] == pytest.approx(3 * 2.0)
    assert co2["end-of-life"] == pytest.approx(3 * (36.03 / 42.08) * 44.0095 / 12.011)  # 3 × 3.14
    assert co2["freight"] == pytest.approx(3 * 1.5 / 1000 * 30 * 0.088)  # t × km × factor
    assert d.summary["cost_total"] == pytest.approx(300 + 12 + 4.5)


def test_stated_yield_sets_the_loss_and_landfill_emits_less_than_incineration():
    base = _hand_train()
    step = base.steps[0]
    stated = design_train(_hand_train(steps=(NormalFlowStep(**{**step.__dict__, "yield_fraction": 0.9}),)))
    assert stated.steps[0].product_loss_g == pytest.approx(100.0)  # 10 % of 1000 g
    inc = design_train(base).summary["co2e_by_category_kg"]["end-of-life"]
    land = design_train(_hand_train(disposal="landfill")).summary["co2e_by_category_kg"]["end-of-life"]
    assert land == pytest.approx(3 * 0.022)
    assert land < inc


def test_hold_step_dilution_is_buffer():
    hold = HoldStep(name="dilute", time_h=1.0, concentration_g_per_L=5.0)
    d = design_train(_hand_train(steps=(hold,)))
    s = d.steps[0]
    assert s.volume_added_L == pytest.approx(100.0)  # 1000 g at 5 g/L = 200 L from 100 L
    assert d.summary["buffer_L"] == pytest.approx(100.0)


def test_ufdf_at_constant_flux_against_hand_numbers():
    # 100 L at 10 g/L to 50 g/L, DF at 20 g/L (5 diavolumes), 50 LMH on 2 m², membrane used 10 times:
    # V_df = 100·10/20 = 50 L, V_f = 20 L, DF buffer 5·50 = 250 L, permeate 100 + 250 - 20 = 330 L,
    # time 330/(2·50) = 3.3 h; membrane 2 m²/10 per batch at 1000 USD/m² = 200 USD; plastic 2·2/10 kg
    step = UFDFStep(name="UF/DF", target_concentration_g_per_L=50.0, flux_LMH=50.0, diavolumes=5.0,
                    df_concentration=20.0, area_m2=2.0, reuses=10)
    d = design_train(_hand_train(steps=(step,)))
    s = d.steps[0]
    assert s.time_h == pytest.approx(3.3, rel=1e-9)
    assert s.volume_out_L == pytest.approx(20.0, rel=1e-9)
    assert d.summary["buffer_L"] == pytest.approx(250.0, rel=1e-9)
    cost = {i.category: i.amount for i in s.cost_items}
    assert cost["membrane"] == pytest.approx(200.0)
    assert d.summary["plastic_kg"] == pytest.approx(0.4)
    assert s.product_out_g == pytest.approx(1000.0)  # fully retained, no hold-up


def test_ufdf_gel_model_from_the_mass_transfer_correlation(tmp_path):
    data = _good()
    uf = data["steps"][2]
    uf.pop("k")
    uf.update(mass_transfer_a=2.0, mass_transfer_b=0.5, feed_flux="100 LMH")  # k = 2·100^0.5 = 20 LMH
    a = design_train(read_train(_write(tmp_path, data)))
    b = design_train(read_train(_write(tmp_path, _good())))
    assert a.steps[2].time_h == pytest.approx(b.steps[2].time_h, rel=1e-9)


# -------------------------------------------------------------------------------- routes

def test_local_supply_emits_less_freight_than_imported_by_air():
    local = design_train(read_train(EXAMPLE, route="local"))
    air = design_train(read_train(EXAMPLE, route="europe-korea-air"))
    f_local = local.summary["co2e_by_category_kg"]["freight"]
    f_air = air.summary["co2e_by_category_kg"]["freight"]
    assert f_local < f_air
    assert local.summary["co2e_kg"] < air.summary["co2e_kg"]
    # nothing but the freight changes
    assert local.summary["plastic_kg"] == pytest.approx(air.summary["plastic_kg"], rel=1e-12)
    assert local.summary["cost_total"] == pytest.approx(air.summary["cost_total"], rel=1e-12)
    # and the comparison block of either design predicts the other
    comp = {c["route"]: c for c in local.route_comparison}
    assert comp["europe-korea-air"]["freight_co2e_kg"] == pytest.approx(f_air, rel=1e-12)
    assert comp["local"]["freight_co2e_kg"] == pytest.approx(f_local, rel=1e-12)
    assert comp["europe-korea-air"]["co2e_kg"] == pytest.approx(air.summary["co2e_kg"], rel=1e-12)


def test_the_factors_file_cites_a_source_and_year_for_every_factor():
    f = read_factors()
    groups = [f.costs, f.flush_L_per_m2, f.assumptions, f.end_of_life, f.freight]
    for g in groups:
        for fac in g.values():
            assert fac.source and fac.year, fac
    for r in f.resins.values():
        assert r.kg_co2e_per_kg.source and r.kg_co2e_per_kg.year
    for r in f.routes.values():
        assert r.source


# ------------------------------------------------------------------------------- bad files

def _write(tmp_path, data) -> str:
    p = tmp_path / "train.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(p)


def _good():
    return {"batch_volume": "2000 L", "titre": "4 g/L", "steps": [
        {"name": "Bioburden", "type": "bioburden", "trial": str(EXAMPLES / "mab_sterile_filtration.csv"),
         "process_time": "2 h"},
        {"name": "Polish", "type": "sterile", "model": "standard",
         "params": {"J0_LMH": 1000, "ks_m2_per_L": 0.002}, "process_time": "1 h"},
        {"name": "UF/DF", "type": "ufdf", "k": "20 LMH", "cg": "250 g/L", "target_concentration": "100 g/L",
         "diavolumes": 7, "area": "20 m2"},
    ]}


def _design(path, *args):
    return CliRunner().invoke(main, ["design", path, *args])


def test_the_good_file_designs(tmp_path):
    r = _design(_write(tmp_path, _good()), "--json")
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("mutate, step, name, field", [
    (lambda d: d["steps"][1].update(type="centrifuge"), 2, "Polish", "type"),
    (lambda d: d["steps"][0].update(trial="no_such_trial.csv"), 1, "Bioburden", "trial"),
    (lambda d: d["steps"][1].update(chase="-5 L"), 2, "Polish", "chase"),
    (lambda d: d["steps"][2].update(hold_up="-1 L"), 3, "UF/DF", "hold_up"),
    (lambda d: d["steps"][0].update(process_time="2 kg"), 1, "Bioburden", "process_time"),
    (lambda d: d["steps"][2].update(k="20 g/L"), 3, "UF/DF", "k"),
    (lambda d: d["steps"][2].pop("target_concentration"), 3, "UF/DF", "target_concentration"),
    (lambda d: d["steps"][1].pop("process_time"), 2, "Polish", "process_time"),
    (lambda d: d["steps"][1]["params"].pop("ks_m2_per_L"), 2, "Polish", "params.ks_m2_per_L"),
    (lambda d: d["steps"][1].update(procss_time="1 h"), 2, "Polish", "procss_time"),
    (lambda d: d["steps"][0].pop("trial"), 1, "Bioburden", "trial"),
    (lambda d: d["steps"][1].update(model="blocking"), 2, "Polish", "model"),
    (lambda d: d["steps"][1].update(route="moon"), 2, "Polish", "route"),
    (lambda d: d["steps"][2].update(df_concentration="150 g/L"), 3, "UF/DF", "df_concentration"),
    (lambda d: d["steps"][2].update(flux="30 LMH"), 3, "UF/DF", "k"),
    (lambda d: d["steps"][2].pop("k"), 3, "UF/DF", "k"),
    (lambda d: d["steps"][2].update(area="3 L"), 3, "UF/DF", "area"),
])
def test_bad_steps_exit_2_naming_step_and_field(tmp_path, mutate, step, name, field):
    data = _good()
    mutate(data)
    r = _design(_write(tmp_path, data))
    assert r.exit_code == 2, r.output
    msg = r.output
    assert f"step {step} '{name}'" in msg, msg
    assert f"field '{field}'" in msg, msg
    assert "Traceback" not in msg


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(batch_volume="-2000 L"), "batch_volume"),
    (lambda d: d.update(titre="4 L"), "titre"),
    (lambda d: d.pop("titre"), "titre"),
    (lambda d: d.update(disposal="ocean"), "disposal"),
    (lambda d: d.update(currency="EUR"), "usd_exchange_rate"),
    (lambda d: d.update(steps=[]), "steps"),
])
def test_bad_batch_inputs_exit_2_naming_the_field(tmp_path, mutate, field):
    data = _good()
    mutate(data)
    r = _design(_write(tmp_path, data))
    assert r.exit_code == 2, r.output
    assert f"field '{field}'" in r.output


def test_unknown_route_override_exits_2():
    r = _design(str(EXAMPLE), "--route", "moon")
    assert r.exit_code == 2 and "--route" in r.output


def test_a_design_without_solution_names_the_step(tmp_path):
    data = _good()
    data["steps"][1]["format"] = "Disc 25 mm"  # fine: a named format takes as many as it needs
    data["steps"][2]["target_concentration"] = "300 g/L"  # above the gel concentration
    r = _design(_write(tmp_path, data))
    assert r.exit_code == 2
    assert "step 3 'UF/DF'" in r.output


# ------------------------------------------------------------------------------------ CLI

def test_cli_json_of_the_example(example_json):
    r = CliRunner().invoke(main, ["design", str(EXAMPLE), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["schema"] == "fluxwise.train/1"
    assert set(d) == set(example_json)
    assert d["summary"]["cost_total"] == pytest.approx(example_json["summary"]["cost_total"], rel=1e-9)
    assert len(d["steps"]) == 6


def test_cli_human_output_and_report(tmp_path):
    out = tmp_path / "report.html"
    r = CliRunner().invoke(main, ["design", str(EXAMPLE), "-o", str(out)])
    assert r.exit_code == 0, r.output
    for text in ("Summary", "cost per batch", "USD", "kg CO2e", "Cost line items", "Report written"):
        assert text in r.output
    html = out.read_text(encoding="utf-8")
    from fluxwise.report.assets import plotly_js

    assert html.count(plotly_js()[:200]) == 1  # the reduced plotly.js embedded once
    assert "<script src=" not in html  # nothing fetched
    # a figure per designed step (trial steps: fits and flux decay), the time course, Sankey, bars
    assert html.count('class="plotly-graph-div"') == 5 + 2 * 3 + 1 + 1
    for text in ("sankey", "Cost per batch", "CO2e", "time course", "Sources of prices and factors"):
        assert text in html


def test_cli_json_with_report_names_it(tmp_path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["design", str(EXAMPLE), "--json", "-o", str(out)])
    assert r.exit_code == 0
    assert json.loads(r.output)["report"] == str(out)
    assert out.is_file()


def test_report_of_parameter_steps_at_constant_flux_and_a_hold(tmp_path):
    from fluxwise.report.train import render_train_report

    data = _good()
    data["steps"].insert(1, {"name": "Depth", "type": "depth", "model": "cake-standard",
                             "mode": "constant-flux",
                             "params": {"J0_LMH": 150, "P0_bar": 0.12, "ks_m2_per_L": 0.0025,
                                        "kc_h_m4_per_L2": 2e-4},
                             "max_pressure": "25 psi", "flux": "100 LMH"})
    data["steps"].insert(2, {"name": "Dilute", "type": "hold", "time": "2 h", "volume": "2500 L"})
    d = design_train(read_train(_write(tmp_path, data)))
    depth = d.steps[1]
    # at constant flux without a process time the time follows: V/(A·J)
    assert depth.time_h == pytest.approx(depth.volume_in_L / (depth.sizing.min_area_m2 * 100.0), rel=1e-9)
    html = render_train_report(d)
    # train figures (5), the trial step's fits and flux decay, depth, polish and UF/DF time course
    assert html.count('class="plotly-graph-div"') == 5 + 2 + 1 + 1 + 1


# ------------------------------------------------------------ virus filtration worst cases

def _with_virus(**fields):
    data = _good()
    data["steps"].insert(1, {"name": "Virus", "type": "virus", "model": "standard",
                             "params": {"J0_LMH": 100, "ks_m2_per_L": 0.002}, "process_time": "4 h",
                             **fields})
    return data


_PAUSE = "process pause(s) planned but not covered by the clearance study"
_LOW = "below the lowest validated pressure"


def test_unvalidated_pauses_and_low_pressure_are_warned_in_json_and_report(tmp_path):
    from fluxwise.report.train import render_train_report

    path = _write(tmp_path, _with_virus(pauses=1, pauses_validated=False, operating_pressure="2 bar",
                                        validated_min_pressure="2.1 bar"))
    r = _design(path, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    virus = d["steps"][1]
    # the train file's words, to the letter: 1 pause, 2 bar against 2.1 bar
    assert any(w.startswith("step 2 'Virus': 1 " + _PAUSE) for w in d["warnings"]), d["warnings"]
    assert any("operating pressure 2 bar is below the lowest validated pressure 2.1 bar" in w
               for w in d["warnings"]), d["warnings"]
    assert [w for w in virus["warnings"] if _PAUSE in w or _LOW in w] == \
        [w for w in d["warnings"] if _PAUSE in w or _LOW in w]
    assert virus["design"]["process_pauses"] == 1 and virus["design"]["pauses_validated"] is False
    assert virus["design"]["operating_pressure_bar"] == pytest.approx(2.0)
    assert virus["design"]["validated_min_pressure_bar"] == pytest.approx(2.1)
    assert virus["design"]["operating_pressure_source"] == "train file"
    html = render_train_report(design_train(read_train(path)))
    assert _PAUSE in html
    assert "operating pressure 2 bar is below the lowest validated pressure 2.1 bar" in html
    human = _design(path)
    assert human.exit_code == 0 and _PAUSE in human.output


def test_validated_pauses_and_pressure_within_the_study_give_no_warning(tmp_path):
    # 30 psi = 30 × 0.0689476 bar = 2.068 bar, above the validated 2 bar
    d = design_train(read_train(_write(tmp_path, _with_virus(pauses=2, pauses_validated=True,
                                                             operating_pressure="30 psi",
                                                             validated_min_pressure="2 bar"))))
    assert not [w for w in d.warnings if _PAUSE in w or _LOW in w], d.warnings
    assert d.steps[1].design["operating_pressure_bar"] == pytest.approx(30 * 0.0689476, rel=1e-6)


def test_an_operating_pressure_without_a_validated_minimum_asks_for_it(tmp_path):
    d = design_train(read_train(_write(tmp_path, _with_virus(operating_pressure="1.5 bar"))))
    assert any("no validated minimum pressure given" in w and "1.5 bar" in w for w in d.warnings), d.warnings


def test_a_virus_step_without_the_new_fields_warns_nothing_new(example):
    assert not [w for w in example.warnings if _PAUSE in w or _LOW in w or "validated minimum" in w]
    virus = next(s for s in example.steps if s.type == "virus")
    assert virus.design["process_pauses"] == 0 and virus.design["operating_pressure_bar"] is None


def test_a_constant_pressure_trial_runs_at_its_trial_pressure(tmp_path):
    # the example's virus trial was run at 2 bar (examples/TRAIN.md): 2 bar < 2.5 bar validated
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for st in data["steps"]:
        if "trial" in st:
            st["trial"] = str(EXAMPLES / st["trial"])
    virus = next(st for st in data["steps"] if st["type"] == "virus")
    virus["validated_min_pressure"] = "2.5 bar"
    d = design_train(read_train(_write(tmp_path, data)))
    step = next(s for s in d.steps if s.type == "virus")
    assert step.design["operating_pressure_bar"] == pytest.approx(2.0, abs=0.05)
    assert step.design["operating_pressure_source"] == "trial pressure (constant pressure)"
    assert any(_LOW in w and "2.5 bar" in w for w in d.warnings), d.warnings


@pytest.mark.parametrize("fields, field", [
    ({"validated_min_pressure": "2 bar"}, "operating_pressure"),  # parameter step: no trial pressure
    ({"pauses": -1}, "pauses"),
    ({"pauses": 1.5}, "pauses"),
    ({"pauses_validated": "yes"}, "pauses_validated"),
    ({"operating_pressure": "2 L"}, "operating_pressure"),
    ({"validated_min_pressure": "2 g/L", "operating_pressure": "2 bar"}, "validated_min_pressure"),
])
def test_bad_virus_fields_exit_2_naming_step_and_field(tmp_path, fields, field):
    r = _design(_write(tmp_path, _with_virus(**fields)))
    assert r.exit_code == 2, r.output
    assert "step 2 'Virus'" in r.output and f"field '{field}'" in r.output, r.output


def test_virus_fields_belong_to_virus_steps_only(tmp_path):
    data = _good()
    data["steps"][0]["pauses"] = 1
    r = _design(_write(tmp_path, data))
    assert r.exit_code == 2 and "field 'pauses'" in r.output, r.output


# ----------------------------------------------------------------------- keys and speed

def _keys(d: dict) -> set[str]:
    return set(d)


def test_every_json_key_is_documented(example_json):
    doc = DOCS.read_text(encoding="utf-8")
    d = example_json
    keys = set(d) | _keys(d["train"]) | _keys(d["summary"]) | _keys(d["mass_balance"])
    for s in d["steps"]:
        keys |= _keys(s) | {k for x in s["streams"] for k in x} | {k for x in s["consumables"] for k in x}
        keys |= set(s["design"]) | {k for x in s["lrv"] for k in x}
        if "format" in s["design"]:
            keys |= set(s["design"]["format"])
        if s["basis"]:
            keys |= set(s["basis"])
    for block in ("cost_items", "co2e_items", "plastic_items", "liquids", "route_comparison"):
        for item in d[block]:
            keys |= set(item)
    keys |= {k for r in d["routes"].values() for k in r}
    keys |= set(d["virus_clearance"]) | {k for v in d["virus_clearance"]["viruses"].values() for k in v}
    missing = sorted(k for k in keys if f"`{k}`" not in doc)
    assert not missing, f"keys not in docs/train-json.md: {missing}"
