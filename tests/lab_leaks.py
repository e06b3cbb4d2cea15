"""The leak check of the virtual-lab tests: every hidden number of a truth, in canonical and converted
units, and a grep for them at 3 to 6 significant figures in any spelling of an exponent."""

from __future__ import annotations

import re

PSI = 0.0689475729


def hidden_values(sc, truth) -> list[float]:
    """Every hidden number of a truth, in canonical and converted units."""
    vals = [truth.viscosity_cP, truth.viscosity_cP * 1e-3]  # cP, Pa·s
    if truth.solids is not None:
        vals += [truth.solids, truth.solids * 100]
    t = sc.task
    for name, ft in truth.filters.items():
        lp = ft.permeability_LMH_per_bar
        vals += [lp, lp * PSI, lp / 3.6e6 / 1e5]  # LMH/bar, LMH/psi, m/(s·Pa)
        for v in ft.constants.values():
            vals += [v, v * 10, v * 1000]  # m²/L, cm²/mL, 1/m
            vals += [1 / v, 2 / v]  # capacity 1/σ, Vmax = 2/ks [L/m²]
        ops = (
            [{"pressure_bar": t.pressure_bar}]
            if t.mode == "constant-pressure"
            else [{"flux_LMH": t.flux_LMH}]
        )
        for op in ops:
            for key, v in truth.fit_params(name, **op).items():
                if key == "J0_LMH" and "flux_LMH" in op:
                    continue  # the set flux is the trainee's own choice, not hidden
                vals.append(v)
                if key == "J0_LMH":
                    vals += [v / 3600, v / 600]  # L/m²/s, mL/min/cm²
                elif key == "kb_per_h":
                    vals += [v / 60, v / 3600]  # 1/min, 1/s
                elif key == "kc_h_m4_per_L2":
                    vals += [v * 3.6e9, v * 60]  # Bolton's Kc [s/m²], min·m⁴/L²
                elif key == "P0_bar":
                    vals += [v / PSI, v * 100]  # psi, kPa
    return [v for v in vals if v and v == v and abs(v) != float("inf")]


def norm(token: str) -> str:
    """One spelling of an exponent: 1.2e-02, 1.2E-2 and 1.2e-2 alike."""
    return re.sub(r"[eE]\+?(-?)0*(\d)", r"e\1\2", token)


def forms(v: float, digits) -> set[str]:
    out = set()
    for k in digits:
        out.add(norm(f"{v:.{k}g}"))
        out.add(norm(f"{v:.{k - 1}e}"))
        dec = max(0, k - 1 - int(f"{abs(v):e}".split("e")[1]))
        out.add(f"{v:.{dec}f}")
    return {s for s in out if len(re.sub(r"[^0-9]", "", s).lstrip("0")) >= min(digits)}


def tokens(text: str) -> set[str]:
    return {norm(t) for t in re.findall(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)}


def split_rig(text: str) -> tuple[str, str]:
    head, _, table = text.partition("\n\n")
    return head, table


def assert_clean(text: str, hidden, where: str, *, digits=range(3, 7)):
    found = tokens(text)
    for v in hidden:
        hit = forms(v, digits) & found
        assert not hit, f"{where}: hidden value {v!r} appears as {sorted(hit)}"
