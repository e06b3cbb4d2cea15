r"""Two filters in series (prefilter + final filter) from one trial that logs P1 and P2: each filter's
resistance law fitted from its own pressure drop.

The trial runs a prefilter of area A1 and a final filter of area A2 in series; P1 is logged upstream
of the prefilter, P2 between the filters, P_out after the final filter (0 gauge unless logged). Each
filter carries the whole flow Q = dV/dt, so it sees its own throughput and flux

.. math:: V_i = V/A_i, \qquad J_i = Q/A_i, \qquad \Delta P_1 = P_1 - P_2, \quad \Delta P_2 = P_2 - P_{out}

and Darcy's law gives its specific resistance ρ_i = ΔP_i/J_i [bar/LMH] = ρ_i0·r_i(V_i). At constant
pressure neither filter is at constant pressure (the split of P1 between them shifts as they foul),
so the V(t) laws do not apply; the resistance r_i(V_i) of every model does (Bolton et al. 2006: the
same r(V) gives J0/J at constant pressure and P/P0 at constant flux). Each filter is therefore
fitted as a constant-flux trial at a reference flux J_ref,i (the flux it saw, or at constant pressure
the median of its finite-difference flux): the "pressure" it would need at J_ref,i,
ΔP_i·J_ref,i/J_i, against V_i, so that P0,i = ρ_i0·J_ref,i and the constants are those of
r_i(V_i) (:func:`fluxwise.fit.fouling.fit_trial`, every model, ranked by AICc, with intervals).

At constant flux J_i is the set flux, and the fit is exactly the constant-flux fit of ΔP_i against
V_i. At constant pressure J_i comes from finite differences of V(t) (second order), which adds their
noise to ρ_i.

References
----------
Bolton, G., LaCasse, D., Kuriyel, R. (2006). Combined models of membrane fouling: development and
application to microfiltration and ultrafiltration of biological fluids. J. Membr. Sci. 277:75-84.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..trial import CONSTANT_FLUX, Trial
from .fouling import TrialFit, fit_trial

__all__ = ["SeriesFit", "fit_series", "stage_data", "STAGE_NAMES"]

STAGE_NAMES = ("prefilter", "final filter")
MIN_STAGE_POINTS = 5


def stage_data(trial: Trial, area1_m2: float, area2_m2: float) -> list[dict]:
    """Per filter: throughput V_i [L/m²], flux J_i [LMH], pressure drop ΔP_i [bar], specific resistance
    ρ_i [bar/LMH] and the reference flux J_ref,i [LMH], on the points where ΔP_i > 0 and J_i > 0."""
    if trial.pressure_bar is None or "p2_bar" not in trial.signals:
        raise InputError("filters in series need P1 (upstream of the prefilter) and P2 (between the "
                         "filters): columns named e.g. 'P1 (bar)' and 'P2 (bar)'", source=trial.source,
                         field="columns")
    for name, a in (("prefilter area", area1_m2), ("final filter area", area2_m2)):
        if not (a > 0 and np.isfinite(a)):
            raise InputError(f"must be positive, got {a}", source=trial.source, field=name)
    vol = trial.volume_L
    t = trial.t_h
    p1 = trial.pressure_bar
    p2 = trial.signals["p2_bar"]
    pout = trial.signals.get("p_outlet_bar", np.zeros_like(p1))
    if trial.mode == CONSTANT_FLUX:
        q = np.full_like(vol, (vol[-1] - vol[0]) / (t[-1] - t[0]))
    else:
        q = np.gradient(vol, t, edge_order=2) if t.size >= 3 else np.gradient(vol, t)
    out = []
    for i, (a, dp) in enumerate(((area1_m2, p1 - p2), (area2_m2, p2 - pout))):
        v, j = vol / a, q / a
        ok = np.isfinite(dp) & (dp > 0) & np.isfinite(j) & (j > 0)
        # strictly increasing throughput (a balance may repeat a reading)
        keep = np.flatnonzero(ok)
        if keep.size:
            keep = keep[np.concatenate([[True], np.diff(v[keep]) > 0])]
        if keep.size < MIN_STAGE_POINTS:
            raise InputError(f"the {STAGE_NAMES[i]} has {keep.size} points with a positive pressure drop and "
                             f"flow (at least {MIN_STAGE_POINTS} are needed): check that P1 > P2"
                             + (" > outlet pressure" if i else ""), source=trial.source, field="columns")
        v, j, dpk = v[keep], j[keep], dp[keep]
        j_ref = float(j[0]) if trial.mode == CONSTANT_FLUX else float(np.median(j))
        out.append({"name": STAGE_NAMES[i], "area_m2": float(a), "v_L_per_m2": v, "flux_LMH": j,
                    "pressure_drop_bar": dpk, "rho_bar_per_LMH": dpk / j, "reference_flux_LMH": j_ref,
                    "dropped_points": int(trial.points - keep.size)})
    return out


@dataclass(frozen=True)
class SeriesFit:
    """Both filters' fits (``fits[i]`` ranks the models of filter i) with their data and areas."""

    trial: Trial
    areas_m2: tuple[float, float]
    data: tuple[dict, dict]
    fits: tuple[TrialFit, TrialFit]

    @property
    def trial_area_ratio(self) -> float:
        """A1/A2 of the trial."""
        return self.areas_m2[0] / self.areas_m2[1]

    def to_dict(self) -> dict:
        stages = []
        for d, f in zip(self.data, self.fits, strict=True):
            fd = f.to_dict()
            stages.append({"name": d["name"], "area_m2": d["area_m2"],
                           "reference_flux_LMH": d["reference_flux_LMH"],
                           "points": int(d["v_L_per_m2"].size), "dropped_points": d["dropped_points"],
                           "max_loading_L_per_m2": float(d["v_L_per_m2"][-1]),
                           "best_model": fd["best_model"], "indistinguishable": fd["indistinguishable"],
                           "verdict": fd["verdict"], "models": fd["models"]})
        return {"trial": self.trial.summary(), "trial_area_ratio": self.trial_area_ratio, "stages": stages}


def fit_series(trial: Trial, *, area1_m2: float, area2_m2: float, models=None) -> SeriesFit:
    """Fit every fouling model (or ``models``) to each filter's r_i(V_i) (see the module docstring)."""
    data = stage_data(trial, area1_m2, area2_m2)
    fits = []
    for d in data:
        v = d["v_L_per_m2"]
        j_ref = d["reference_flux_LMH"]
        pseudo = Trial(t_h=v / j_ref, v_L_per_m2=v, area_m2=d["area_m2"], mode=CONSTANT_FLUX,
                       pressure_bar=d["rho_bar_per_LMH"] * j_ref, source=f"{trial.source} [{d['name']}]",
                       meta={"series_stage": d["name"], "from_mode": trial.mode})
        fits.append(fit_trial(pseudo, models=models, engine="scipy"))
    return SeriesFit(trial=trial, areas_m2=(float(area1_m2), float(area2_m2)), data=tuple(data),
                     fits=tuple(fits))
