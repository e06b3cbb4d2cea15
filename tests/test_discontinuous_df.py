"""Discontinuous diafiltration: both variants (sequential dilution, volume reduction) in the model, the
UF/DF design, the CLI and a train.

Expected numbers are hand derivations written here (k^(−S) per cycle), a published table (Schwartz
2003) and independent quadrature of the gel-model flux — never the code's own output.
"""

from __future__ import annotations

import json
import math

import pytest
import yaml
from click.testing import CliRunner
from numpy.testing import assert_allclose
from scipy import integrate

from fluxwise.cli import main
from fluxwise.design.train import design_train
from fluxwise.design.ufdf import design_ufdf
from fluxwise.errors import DesignError, InputError
from fluxwise.io.train import read_train
from fluxwise.models import ufdf as m

K, CG = 20.0, 250.0  # gel model J = k ln(Cg/C) [LMH, g/L]


def test_issue_hand_numbers():
    # k = 2, 5 cycles, S = 1: 2^-5 = 0.03125; S = 0.9: 2^-4.5 = 0.044194; continuous 5 DV: e^-5 = 0.006738
    assert_allclose(m.discontinuous_diafiltration_ratio(2, 5, 1.0), 0.03125, rtol=1e-12)
    assert_allclose(m.discontinuous_diafiltration_ratio(2, 5, 0.9), 2 ** -4.5, rtol=1e-12)
    assert round(float(m.discontinuous_diafiltration_ratio(2, 5, 0.9)), 4) == 0.0442
    assert round(float(m.diafiltration_concentration_ratio(5, 1.0)), 4) == 0.0067
    # buffer: (k - 1)V = 1 V per cycle, (1 - 1/k)V = 0.5 V per cycle
    assert_allclose(m.discontinuous_buffer_volume(1.0, 2, 5, "sequential-dilution"), 5.0)
    assert_allclose(m.discontinuous_buffer_volume(1.0, 2, 5, "volume-reduction"), 2.5)


def test_one_cycle_by_mass_balance_both_variants():
    # a cycle written out step by step for S = 0.6, k = 3, V = 10 L, C = 1 g/L
    s, k, v, c = 0.6, 3.0, 10.0, 1.0
    # sequential dilution: to kV at C/k, then concentrate kV -> V: C·(kV/V)^(1-S)
    c_seq = (c / k) * (k * v / v) ** (1 - s)
    # volume reduction: concentrate V -> V/k: C·k^(1-S), then dilute V/k -> V: /k
    c_red = c * k ** (1 - s) / k
    assert_allclose([c_seq, c_red], m.discontinuous_diafiltration_ratio(k, 1, s) * c, rtol=1e-12)


@pytest.mark.parametrize("cycles, removed_s1, removed_s075", [
    (1, 50, 41), (2, 75, 65), (3, 88, 79), (4, 94, 88), (5, 96.9, 93), (6, 98.4, 95.6), (7, 99.2, 97.4),
    (8, 99.6, 98.4)])
def test_schwartz_2003_table_2(cycles, removed_s1, removed_s075):
    """Schwartz, L. (2003). Diafiltration for desalting or buffer exchange. BioProcess Int. 1(5):43-49,
    Table 2: salt removed [%] by discontinuous diafiltration with a twofold volume swing, per volume of
    buffer added, for 0 % rejection (S = 1) and 25 % rejection (S = 0.75); the table rounds to 2-3
    digits. With k = 2, sequential dilution adds (k - 1)V = 1 volume of buffer per cycle."""
    assert m.discontinuous_buffer_volume(1.0, 2, cycles, "sequential-dilution") == cycles
    for s, published in ((1.0, removed_s1), (0.75, removed_s075)):
        removed = 100 * (1 - float(m.discontinuous_diafiltration_ratio(2, cycles, s)))
        assert abs(removed - published) <= 0.55, (s, cycles, removed, published)


def test_cycles_for_reduction_rounds_up():
    # 1 % left with k = 2, S = 1: log2(100) = 6.64 -> 7 whole cycles; exactly 2^-5 -> 5
    assert m.discontinuous_cycles_for_reduction(0.01, 2, 1.0) == 7
    assert m.discontinuous_cycles_for_reduction(0.03125, 2, 1.0) == 5


def _design(**kw):
    base = dict(initial_volume_L=100.0, initial_concentration_g_per_L=50.0, final_concentration_g_per_L=50.0,
                k_LMH=K, gel_concentration_g_per_L=CG, area_m2=1.0)
    return design_ufdf(**{**base, **kw})


@pytest.mark.parametrize("mode, buffer_per_v", [("sequential-dilution", 5.0), ("volume-reduction", 2.5)])
@pytest.mark.parametrize("s, remaining", [(1.0, 0.03125), (0.9, 2 ** -4.5)])
def test_design_both_variants(mode, buffer_per_v, s, remaining):
    # load already at the target: no concentration phases, DF at V0 = 100 L
    d = _design(df_mode=mode, dilution_factor=2, df_cycles=5, impurity_sieving=s)
    assert d.df_mode == mode and d.df_cycles == 5 and d.dilution_factor == 2
    assert_allclose(d.impurity_remaining_fraction, remaining, rtol=1e-12)
    assert_allclose(d.diafiltration_buffer_volume_L, buffer_per_v * 100.0, rtol=1e-12)
    assert_allclose(d.diavolumes, buffer_per_v, rtol=1e-12)
    assert_allclose(d.permeate_volume_L, buffer_per_v * 100.0, rtol=1e-12)  # volume in = volume out
    top, low = (200.0, 100.0) if mode == "sequential-dilution" else (100.0, 50.0)
    assert (d.max_retentate_volume_L, d.min_retentate_volume_L) == (top, low)
    assert_allclose(d.product_yield, 1.0)


def test_design_continuous_five_diavolumes_for_comparison():
    d = _design(diavolumes=5)
    assert round(d.impurity_remaining_fraction, 4) == 0.0067 and d.df_mode == "continuous"


@pytest.mark.parametrize("mode", ["sequential-dilution", "volume-reduction"])
def test_design_cycle_time_by_quadrature(mode):
    # fully retained product (S_p = 0): C·V = 50 g/L · 100 L throughout; a cycle concentrates kV -> V
    # (sequential) or V -> V/k (reduction); dt = dV/(A·J(C(V))), J = k ln(Cg/C), A = 1 m²
    mass = 50.0 * 100.0

    def cycle(v_hi, v_lo):
        return integrate.quad(lambda v: 1.0 / (K * math.log(CG / (mass / v))), v_lo, v_hi, epsrel=1e-12)[0]

    expected = 3 * (cycle(200.0, 100.0) if mode == "sequential-dilution" else cycle(100.0, 50.0))
    d = _design(df_mode=mode, dilution_factor=2, df_cycles=3)
    assert_allclose(d.diafiltration_time_h, expected, rtol=1e-8)
    assert_allclose(d.process_time_h, expected, rtol=1e-8)
    tc = d.time_course
    assert set(tc["phase"]) == {"diafiltration"}
    assert_allclose(tc["diavolumes"][-1], d.diavolumes)


def test_design_remaining_fraction_gives_whole_cycles():
    d = _design(df_mode="volume-reduction", dilution_factor=2, df_remaining_fraction=0.01)
    assert d.df_cycles == 7
    assert_allclose(d.impurity_remaining_fraction, 2.0 ** -7)


def test_design_errors_name_the_field():
    with pytest.raises(InputError) as e:
        _design(df_mode="volume-reduction", df_cycles=2)
    assert e.value.field == "dilution_factor"
    with pytest.raises(InputError) as e:
        _design(df_mode="volume-reduction", dilution_factor=1.0, df_cycles=2)
    assert e.value.field == "dilution_factor"
    with pytest.raises(InputError) as e:
        _design(diavolumes=3, df_cycles=2)
    assert e.value.field == "df_mode"
    with pytest.raises(InputError) as e:
        _design(df_mode="batchwise", dilution_factor=2, df_cycles=2)
    assert e.value.field == "df_mode"
    with pytest.raises(InputError) as e:
        _design(df_mode="sequential-dilution", dilution_factor=2, df_cycles=2.5)
    assert e.value.field == "df_cycles"
    # volume reduction by 4 takes 100 L to 25 L: not above a 30 L hold-up
    with pytest.raises(DesignError, match="hold-up"):
        _design(df_mode="volume-reduction", dilution_factor=4, df_cycles=1, hold_up_volume_L=30.0)


def test_cli_json_names_the_variant():
    r = CliRunner().invoke(main, ["ufdf", "--volume", "100 L", "--concentration", "50 g/L",
                                  "--target-concentration", "50 g/L", "--k", "20 LMH", "--cg", "250 g/L",
                                  "--area", "1 m2", "--df-mode", "volume-reduction", "--dilution-factor", "2",
                                  "--cycles", "5", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["df_mode"] == "volume-reduction" and d["df_cycles"] == 5
    assert_allclose([d["impurity_remaining_fraction"], d["diafiltration_buffer_volume_L"]], [0.03125, 250.0])
    bad = CliRunner().invoke(main, ["ufdf", "--volume", "100 L", "--concentration", "50 g/L",
                                    "--target-concentration", "50 g/L", "--k", "20 LMH", "--cg", "250 g/L",
                                    "--area", "1 m2", "--df-mode", "volume-reduction", "--cycles", "5"])
    assert bad.exit_code == 2 and "--dilution-factor" in bad.output


def test_train_step_with_sequential_dilution(tmp_path):
    train = {"name": "df only", "batch_volume": "100 L", "titre": "50 g/L", "steps": [
        {"name": "buffer exchange", "type": "ufdf", "k": "20 LMH", "cg": "250 g/L",
         "target_concentration": "50 g/L", "df_mode": "sequential-dilution", "dilution_factor": 2,
         "cycles": 5, "area": "1 m2"}]}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(train), encoding="utf-8")
    d = design_train(read_train(path))
    step = d.steps[0]
    assert step.design["df_mode"] == "sequential-dilution"
    assert_allclose(step.design["impurity_remaining_fraction"], 0.03125)
    assert_allclose(step.volume_added_L, 500.0)  # 5 cycles x (k - 1) x 100 L
    train["steps"][0]["diavolumes"] = 5
    path.write_text(yaml.safe_dump(train), encoding="utf-8")
    with pytest.raises(InputError, match="cycles"):
        read_train(path)
