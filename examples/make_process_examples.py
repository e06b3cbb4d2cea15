"""Regenerate the series-filter and depth-filter-turbidity example trials from stated true parameters.

Run: ``.venv/bin/python examples/make_process_examples.py`` (seeded, reproducible). Fitting the files
should give back the parameters below within the reported intervals:

* ``series_prefilter_final_filter.csv`` — a depth prefilter (3.5 cm²) in series with a 0.2 µm final
  filter (3.5 cm²) at a constant flow of 200 L/m²/h on each, P1 upstream of the prefilter, P2 between
  them, until P1 reaches 2 bar (``fluxwise series``). Prefilter: cake, ΔP1 = 0.10·(1 + 0.005·V1) bar;
  final filter: standard blocking, ΔP2 = 0.30/(1 − 0.002·V2)² bar (ks = 0.004 m²/L, Vmax 500 L/m²).
* ``depth_filter_turbidity.csv`` — a depth filter, 10 cm², constant flux 100 L/m²/h, cake
  P = 0.2·(1 + 0.01·V) bar (0.7 bar at 250 L/m²), filtrate turbidity
  NTU = 1 + 49/(1 + exp(−(V − 200)/20)) from an online meter logging every other reading
  (``fluxwise size --turbidity-limit "10 NTU"``: breakthrough at 170.2 L/m²).
* ``cake_0.5bar.csv``, ``cake_1bar.csv``, ``cake_2bar.csv`` — a CaCO3-like slurry on a 0.0439 m² press at
  three constant pressures (``fluxwise cake``): viscosity 0.89 mPa·s, cake solids 23.5 kg/m³,
  alpha = 1.0e11·(ΔP/1 bar)^0.35 m/kg and Rm = 6.0e10·(ΔP/1 bar)^0.05 1/m (Ruth's law,
  t = μαc·v²/(2ΔP) + μRm·v/ΔP); balance readings every 15 s with 2 g noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CM2 = 1e-4


def series_prefilter_final_filter(rng) -> None:
    a1 = a2 = 3.5 * CM2
    j = 200.0  # L/m²/h on each filter (equal areas)
    t_min = np.arange(0, 121.0, 1.0)
    v = j * t_min / 60  # L/m² on each
    dp1 = 0.10 * (1 + 0.005 * v)
    dp2 = 0.30 / (1 - 0.002 * v) ** 2
    p1, p2 = dp1 + dp2, dp2
    keep = p1 <= 2.0
    t_min, v, p1, p2 = t_min[keep], v[keep], p1[keep], p2[keep]
    mass = np.maximum.accumulate(np.round(v * a2 * 1000 * 1.0 + rng.normal(0, 0.01, v.size), 2))
    mass[0] = 0.0
    p1n = np.round(p1 + rng.normal(0, 0.003, v.size), 4)
    p2n = np.round(p2 + rng.normal(0, 0.003, v.size), 4)
    lines = ["Series filterability trial: depth prefilter + 0.2 um final filter at constant flow",
             "Prefilter area: 3.5 cm2", "Final filter area: 3.5 cm2", "Mode: constant flux", "Density: 1.0 g/mL",
             "", "Time (min),Filtrate mass (g),P1 (bar),P2 (bar)"]
    lines += [f"{t:g},{m:.2f},{a:.4f},{b:.4f}" for t, m, a, b in zip(t_min, mass, p1n, p2n, strict=True)]
    (HERE / "series_prefilter_final_filter.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def depth_filter_turbidity(rng) -> None:
    area, j = 10 * CM2, 100.0
    t_min = np.arange(0, 181.0, 2.0)
    v = j * t_min / 60
    p = np.round(0.2 * (1 + 0.01 * v) + rng.normal(0, 0.002, v.size), 4)
    ntu = 1 + 49 / (1 + np.exp(-(v - 200) / 20))
    ntu = np.round(ntu * (1 + rng.normal(0, 0.01, v.size)), 2)
    vol = np.round(v * area * 1000, 3)
    lines = ["Depth filter trial: online filtrate turbidity at constant flux", "Filter area: 10 cm2",
             "Mode: constant flux", "", "Time (min),Filtrate volume (mL),Pressure (bar),Filtrate turbidity (NTU)"]
    for i, (t, vv, pp, nn) in enumerate(zip(t_min, vol, p, ntu, strict=True)):
        lines.append(f"{t:g},{vv:g},{pp:.4f}," + (f"{nn:.2f}" if i % 2 == 0 else ""))
    (HERE / "depth_filter_turbidity.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cake_trials(rng) -> None:
    area, mu, c = 0.0439, 0.89e-3, 23.5
    for p_bar, name in ((0.5, "cake_0.5bar.csv"), (1.0, "cake_1bar.csv"), (2.0, "cake_2bar.csv")):
        alpha, rm, dp = 1.0e11 * p_bar ** 0.35, 6.0e10 * p_bar ** 0.05, p_bar * 1e5
        a, b = mu * alpha * c / (2 * dp), mu * rm / dp  # t [s] = a·v² + b·v, v [m³/m²]
        t_s = np.arange(15.0, 600.1, 15.0)
        v = (-b + np.sqrt(b * b + 4 * a * t_s)) / (2 * a)
        mass_g = np.round(v * area * 1e6 + rng.normal(0, 2.0, t_s.size), 1)  # 1 kg/L filtrate
        lines = [f"Pressure filtration of a CaCO3 slurry at {p_bar:g} bar", "Filter area: 0.0439 m2",
                 f"Pressure: {p_bar:g} bar", "Viscosity: 0.89 mPa s", "Solids: 23.5 kg/m3", "Mode: constant pressure",
                 "", "Time (s),Filtrate mass (g)"]
        lines += [f"{t:g},{m:.1f}" for t, m in zip(t_s, mass_g, strict=True)]
        (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    rng = np.random.default_rng(20261201)
    series_prefilter_final_filter(rng)
    depth_filter_turbidity(rng)
    cake_trials(rng)
    print("examples written to", HERE)
