"""Regenerate the example trials in this folder from stated true parameters (seeded, reproducible).

Run: ``.venv/bin/python examples/make_examples.py``. Each trial is simulated with the fouling laws
of ``fluxwise.models.fouling`` at parameters typical of its application and written the way a bench
rig or balance exports it (metadata lines, units in headers, instrument resolution and noise), so
that fitting the file should give back the parameters below within the reported intervals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fluxwise.models.fouling import MODELS, resistance_ratio

HERE = Path(__file__).resolve().parent
CM2 = 1e-4  # m² per cm²
PSI = 0.0689476  # bar per psi


def mab_sterile_filtration(rng) -> None:
    """mAb pool, 0.2 µm sterilising-grade PES, 47 mm disc (13.8 cm²), 30 psi constant pressure.

    True model cake-complete (the mechanism Bolton et al. 2006 report for IgG sterile filtration):
    J0 = 1200 L/m²/h, kb = 0.9 1/h, kc = 1.5e-6 h·m⁴/L². Balance: filtrate mass in g, 0.01 g
    resolution, 0.03 g noise; density 1.02 g/mL; a reading every 15 s for 45 min.
    """
    area = 13.8 * CM2
    t_min = np.arange(0, 45.01, 0.25)
    v = MODELS["cake-complete"].volume(t_min / 60, 1200.0, 0.9, 1.5e-6)  # L/m²
    mass_g = v * area * 1000 * 1.02 + rng.normal(0, 0.03, t_min.size)
    mass_g[0] = 0.0
    mass_g = np.maximum.accumulate(np.round(mass_g, 2))
    p = np.round(30 + rng.normal(0, 0.08, t_min.size), 2)
    lines = ["Rig export: normal-flow filterability, constant pressure",
             "Sample: mAb pool after Protein A and polishing, 12 g/L",
             "Filter: 0.2 um PES sterilising grade, 47 mm disc",
             "Filter area: 13.8 cm2", "Density: 1.02 g/mL", ""]
    df = pd.DataFrame({"Time (min)": t_min, "Filtrate mass (g)": mass_g, "P1 (psi)": p})
    with open(HERE / "mab_sterile_filtration.csv", "w", newline="") as fh:
        fh.write("\n".join(lines) + "\n")
        df.to_csv(fh, index=False, float_format="%.4g")


def cho_harvest_depth_filtration(rng) -> None:
    """CHO harvest (about 1e7 cells/mL at 90 % viability, centrate), two-layer depth filter, 23 cm²,
    constant flux 150 L/m²/h until 25 psi.

    True model cake-standard: P0 = 0.12 bar, ks = 0.0025 m²/L, kc = 2.0e-4 h·m⁴/L² (the cake term
    kc·J = 0.03 m²/L dominates, as is usual for harvest clarification). Pump flow 5.75 mL/min
    with 1 % noise; pressure transducer 0.05 psi noise (absolute); balance mass; one reading a minute.
    """
    area, J, p0, ks, kc = 23 * CM2, 150.0, 0.12, 0.0025, 2.0e-4
    t_min = np.arange(0, 181.0, 1.0)
    v = J * t_min / 60
    p_bar = p0 * resistance_ratio("cake-standard", v, J, ks, kc)
    keep = p_bar <= 25 * PSI
    t_min, v, p_bar = t_min[keep], v[keep], p_bar[keep]
    flow = np.round(J * area * 1000 / 60 * (1 + rng.normal(0, 0.01, t_min.size)), 3)  # mL/min
    mass_g = np.round(v * area * 1000 * 1.01 + rng.normal(0, 0.05, t_min.size), 2)
    mass_g[0] = 0.0
    mass_g = np.maximum.accumulate(mass_g)
    p_psi = np.round(p_bar / PSI + rng.normal(0, 0.05, t_min.size), 2)
    lines = ["Clarification trial, constant flux", "Feed: CHO fed-batch harvest, day 14",
             "Filter: two-layer depth filter, primary clarification grade", "Filter area: 23 cm2",
             "Density: 1.01 g/mL", "Mode: constant flux", ""]
    df = pd.DataFrame({"Time (min)": t_min, "Feed flow (mL/min)": flow, "P1 (psi)": p_psi,
                       "Filtrate mass (g)": mass_g})
    with open(HERE / "cho_harvest_depth_filtration.csv", "w", newline="") as fh:
        fh.write("\n".join(lines) + "\n")
        df.to_csv(fh, index=False)


def virus_filtration(rng) -> None:
    """mAb at 10 g/L on a parvovirus-retentive filter, 3.1 cm², 2.0 bar constant pressure, 4 h.

    True model complete-standard: J0 = 180 L/m²/h, kb = 0.05 1/h, ks = 0.002 m²/L. Filtrate
    volume from a calibrated balance in mL (0.01 mL noise); a reading every 2 min; Excel export
    with metadata rows above the table.
    """
    from openpyxl import Workbook

    area = 3.1 * CM2
    t_s = np.arange(0, 4 * 3600 + 1, 120.0)
    v = MODELS["complete-standard"].volume(t_s / 3600, 180.0, 0.05, 0.002)
    vol_ml = np.round(v * area * 1000 + rng.normal(0, 0.01, t_s.size), 3)
    vol_ml[0] = 0.0
    vol_ml = np.maximum.accumulate(vol_ml)
    p = np.round(2.0 + rng.normal(0, 0.005, t_s.size), 3)
    wb = Workbook()
    ws = wb.active
    ws.title = "Run 1"
    for row in (["Virus filtration throughput trial"], ["Filter area:", "3.1 cm2"],
                ["Mode:", "constant pressure"], ["Feed:", "mAb 10 g/L, after AEX flow-through"], []):
        ws.append(row)
    ws.append(["Time [s]", "Filtrate volume [mL]", "Pressure [bar]"])
    for row in zip(t_s.tolist(), vol_ml.tolist(), p.tolist(), strict=True):
        ws.append(row)
    wb.save(HERE / "virus_filtration.xlsx")


if __name__ == "__main__":
    rng = np.random.default_rng(20261128)
    mab_sterile_filtration(rng)
    cho_harvest_depth_filtration(rng)
    virus_filtration(rng)
    print("examples written to", HERE)
