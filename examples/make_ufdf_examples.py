"""Regenerate the UF/DF bench examples in this folder from stated true parameters (seeded, reproducible).

Run: ``.venv/bin/python examples/make_ufdf_examples.py``. A monoclonal antibody (IgG1) on a 30 kDa
PES cassette of 0.11 m², with true parameters typical of mAb UF/DF:

* gel model ``J_lim = k ln(Cg/C)`` (Blatt et al. 1970) with Cg = 250 g/L;
* mass transfer ``k = a·Q^b`` with b = 0.5 and a = 20/300^0.5 = 1.1547, so that k = 20 LMH at a
  feed flux Q of 300 L/m²/h (5 L/min/m², a common cassette crossflow);
* below the limiting flux the flux follows the pressure, ``J = Lp·TMP`` with Lp = 30 LMH/bar (the
  permeability of the membrane with its protein layer), so that the knee of an excursion is at
  ``TMP* = J_lim/Lp`` and the flux of the generator is ``J = min(Lp·TMP, J_lim)`` — the film model's
  plateau meeting the pressure-controlled line.

Files written:

``ufdf_tmp_excursion.csv``
    TMP excursions at 60 g/L and three feed flows, 0.33, 0.55 and 0.88 L/min (180, 300 and 480 LMH
    on 0.11 m²): k = 15.49, 20.00, 25.30 LMH, limiting flux k·ln(250/60) = 22.11, 28.54, 36.10 LMH,
    knees at 0.737, 0.951 and 1.203 bar. TMP set points 0.2 to 2.0 bar in steps of 0.2, read back
    with 0.005 bar noise; permeate flow [mL/min] = J·A·1000/60 with 1.5 % noise, 0.1 mL/min
    resolution.
``ufdf_flux_vs_concentration.csv``
    Limiting flux at nine concentrations from 25 to 200 g/L during a fed-batch concentration at a
    feed flux of 300 LMH (k = 20 LMH), each the plateau of a short excursion: J = 20·ln(250/C) with
    0.4 LMH noise, 0.01 LMH resolution.

Fitting the files (``fluxwise tmp-excursion``, ``gel-fit``, ``mass-transfer --cg "250 g/L"``) gives
back these numbers within the reported 95 % intervals (tests/test_ufdf_data.py checks it). With
noise, a 95 % interval misses the truth for about one seed in twenty; the fixed seed is one whose
intervals all hold it, so that the examples teach the method rather than the exception.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

AREA_M2 = 0.11
CG_G_PER_L = 250.0
B = 0.5
A = 20.0 / 300.0 ** B  # k = 20 LMH at 300 LMH feed flux
LP_LMH_PER_BAR = 30.0
SEED = 8  # a seed whose fits hold every true value inside their 95 % intervals (most do)


def k_lmh(feed_flux_lmh):
    """Mass-transfer coefficient [LMH] at a feed flux [LMH]: k = a·Q^b."""
    return A * np.asarray(feed_flux_lmh, dtype=float) ** B


def limiting_flux_lmh(concentration_g_per_l, feed_flux_lmh):
    """Gel-model limiting flux [LMH]: J = k ln(Cg/C)."""
    return k_lmh(feed_flux_lmh) * np.log(CG_G_PER_L / np.asarray(concentration_g_per_l, dtype=float))


def tmp_excursion(rng) -> None:
    conc = 60.0
    rows = []
    for feed_l_min in (0.33, 0.55, 0.88):
        q_lmh = feed_l_min * 60.0 / AREA_M2
        j_lim = float(limiting_flux_lmh(conc, q_lmh))
        for tmp_set in np.arange(0.2, 2.01, 0.2):
            tmp = tmp_set + rng.normal(0, 0.005)
            j = min(LP_LMH_PER_BAR * tmp, j_lim) * (1 + rng.normal(0, 0.015))
            rows.append({"Feed flow (L/min)": feed_l_min, "TMP (bar)": round(tmp, 3),
                         "Permeate flow (mL/min)": round(j * AREA_M2 * 1000 / 60, 1),
                         "Concentration (g/L)": conc})
    lines = ["UF/DF bench: TMP excursions at three crossflows",
             "Product: mAb (IgG1), diafiltered pool, 60 g/L",
             "Membrane: 30 kDa PES, screen channel cassette",
             "Membrane area: 0.11 m2", "Temperature: 22 degC", ""]
    with open(HERE / "ufdf_tmp_excursion.csv", "w", newline="") as fh:
        fh.write("\n".join(lines) + "\n")
        pd.DataFrame(rows).to_csv(fh, index=False)


def flux_vs_concentration(rng) -> None:
    feed_flux = 300.0
    conc = np.array([25.0, 35.0, 50.0, 70.0, 90.0, 110.0, 140.0, 170.0, 200.0])
    j = limiting_flux_lmh(conc, feed_flux) + rng.normal(0, 0.4, conc.size)
    df = pd.DataFrame({"Sample": [f"C{i + 1}" for i in range(conc.size)], "Concentration (g/L)": conc,
                       "Feed flux (LMH)": feed_flux, "Limiting flux (LMH)": np.round(j, 2)})
    lines = ["UF/DF bench: limiting flux during a fed-batch concentration",
             "Product: mAb (IgG1)", "Membrane: 30 kDa PES, screen channel cassette",
             "Membrane area: 0.11 m2", "Each flux is the plateau of a short TMP excursion", ""]
    with open(HERE / "ufdf_flux_vs_concentration.csv", "w", newline="") as fh:
        fh.write("\n".join(lines) + "\n")
        df.to_csv(fh, index=False)


def main() -> None:
    rng = np.random.default_rng(SEED)
    tmp_excursion(rng)
    flux_vs_concentration(rng)


if __name__ == "__main__":
    main()
