r"""Virus filtration: sizing to a throughput endpoint, and log-reduction (LRV) bookkeeping.

Sizing
------
A virus filter is sized on the volume per area it can process before its endpoint — a flux decay
(e.g. 75 % or 90 % below the initial flux, typical of parvovirus filters run at constant pressure),
a time limit or a validated mass loading:

.. math:: A = SF \cdot \max\!\left(\frac{V_{batch}}{V_{end}},\;
          \frac{V_{batch}\,c_{protein}}{L_{max}}\right)

:func:`endpoint_capacity` turns any fitted throughput curve ``V(t)`` [L/m²] (e.g. a fouling model
of :mod:`fluxwise.models.fouling` with its fitted parameters) into the capacity at the endpoint.

Log reduction values
--------------------
The reduction factor of a step is ``R = log10((v'·10^a') / (v''·10^a''))`` from the volumes and
titres before and after it (ICH Q5A, Appendix; USP <1050>). The overall reduction is the sum of
the step values, with two rules carried in :func:`lrv_summary`:

* steps that act by the same mechanism are not orthogonal and are not added: ICH Q5A(R2) (2023)
  asks for clearance by complementary (orthogonal) mechanisms. fluxwise counts only the largest
  LRV of each mechanism in the claimable total and flags the duplicates;
* an individual reduction of 1 log10 or less is within the imprecision of virus titration and is
  not counted (ICH Q5A; USP <1050>: an individual factor used in the overall factor "should be
  greater than 1").

Warnings for virus filtration worst cases: process pauses (pressure/flow interruptions are known
to let small viruses pass some parvovirus filters) and operating pressures below the lowest
pressure validated in the clearance study.

References
----------
ICH Q5A(R2) (2023). Viral safety evaluation of biotechnology products derived from cell lines of
human or animal origin.
USP <1050> Viral safety evaluation of biotechnology products (adapted from ICH Q5A).
PDA Technical Report 41 (revised 2008). Virus filtration.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..errors import DesignError, InputError, positive_number

__all__ = [
    "VirusFilterSizing", "LRVStep", "LRVSummary",
    "endpoint_capacity", "size_virus_filter", "log_reduction_value", "lrv_summary",
]




def endpoint_capacity(volume_L_per_m2: Callable, *, flux_decay: float | None = None,
                      time_h: float | None = None, t_max_h: float = 1000.0) -> float:
    r"""Throughput [L/m²] of a filter at its endpoint, from a throughput curve V(t).

    Parameters
    ----------
    volume_L_per_m2 : callable
        ``V(t)`` [L/m²] at time ``t`` [h], vectorised, V(0) = 0 (e.g. a fitted fouling model).
    flux_decay : float, optional
        Endpoint as the fractional flux decay, e.g. 0.75 for "flux down to 25 % of the initial
        flux". The flux is ``dV/dt`` by central differences; the endpoint is the root of
        ``J(t)/J(0) = 1 − flux_decay``.
    time_h : float, optional
        Endpoint as a process time [h]: the capacity is ``V(time_h)``.
    t_max_h : float
        Longest time searched for a flux-decay endpoint [h].

    Returns
    -------
    float
        Capacity at the endpoint [L/m²].
    """
    if (flux_decay is None) == (time_h is None):
        raise InputError("give exactly one endpoint: a flux decay or a time", field="flux_decay")
    if time_h is not None:
        return float(volume_L_per_m2(np.asarray(positive_number(time_h, "time_h"))))
    if not 0.0 < float(flux_decay) < 1.0:
        raise InputError(f"must be a fraction between 0 and 1 (0.75 = flux down by 75 %), got {flux_decay}",
                         field="flux_decay")

    def flux(t):
        h = max(1e-6 * t, 1e-9)
        lo = max(t - h, 0.0)
        return float((volume_L_per_m2(np.asarray(t + h)) - volume_L_per_m2(np.asarray(lo))) / (t + h - lo))

    j0 = flux(0.0)
    if not j0 > 0:
        raise DesignError("the throughput curve does not rise at t = 0: no initial flux to decay from")
    target = (1.0 - float(flux_decay)) * j0
    if flux(t_max_h) > target:
        raise DesignError(f"the flux has not decayed by {flux_decay:.0%} within {t_max_h:g} h: the endpoint "
                          "is never reached; size on a time or a loading limit instead")
    t_end = optimize.brentq(lambda t: flux(t) - target, 0.0, t_max_h, xtol=1e-12, rtol=1e-12)
    return float(volume_L_per_m2(np.asarray(t_end)))


@dataclass(frozen=True)
class VirusFilterSizing:
    """Area of a virus filtration step and what limits it."""

    batch_volume_L: float
    endpoint_capacity_L_per_m2: float
    volume_limited_area_m2: float
    loading_limited_area_m2: float | None
    limiting_criterion: str
    safety_factor: float
    area_m2: float
    filter_area_m2: float | None
    n_filters: int | None
    installed_area_m2: float | None
    mass_loading_g_per_m2: float | None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["warnings"] = list(self.warnings)
        return d


def size_virus_filter(batch_volume_L: float, endpoint_capacity_L_per_m2: float,
                      loading_limit_g_per_m2: float | None = None, protein_g_per_L: float | None = None,
                      safety_factor: float = 1.5, *, filter_area_m2: float | None = None,
                      process_pauses: int = 0, pauses_validated: bool = False,
                      operating_pressure_bar: float | None = None,
                      validated_min_pressure_bar: float | None = None) -> VirusFilterSizing:
    r"""Size a virus filter to its throughput endpoint (and mass loading, when known).

    Parameters
    ----------
    batch_volume_L : float
        Volume to filter [L].
    endpoint_capacity_L_per_m2 : float
        Throughput at the endpoint [L/m²] (see :func:`endpoint_capacity`).
    loading_limit_g_per_m2 : float, optional
        Largest validated protein mass loading [g/m²]; needs ``protein_g_per_L``.
    protein_g_per_L : float, optional
        Protein concentration of the load [g/L].
    safety_factor : float
        Multiplier on the larger of the two areas (≥ 1; 1.5 is a common choice for virus filters).
    filter_area_m2 : float, optional
        Area of one device; gives the device count and installed area.
    process_pauses : int
        Planned flow/pressure interruptions during filtration (e.g. a tank change).
    pauses_validated : bool
        True when the clearance study included the same pauses.
    operating_pressure_bar : float, optional
        Lowest pressure the step may run at [bar].
    validated_min_pressure_bar : float, optional
        Lowest pressure covered by the clearance study [bar].

    Returns
    -------
    VirusFilterSizing
    """
    v = positive_number(batch_volume_L, "batch_volume_L")
    cap = positive_number(endpoint_capacity_L_per_m2, "endpoint_capacity_L_per_m2")
    sf = positive_number(safety_factor, "safety_factor")
    if sf < 1:
        raise InputError(f"must be at least 1 (it adds margin), got {safety_factor}", field="safety_factor")
    a_vol = v / cap
    a_load = None
    loading = None
    if loading_limit_g_per_m2 is not None or protein_g_per_L is not None:
        if loading_limit_g_per_m2 is None or protein_g_per_L is None:
            raise InputError("a mass-loading limit needs both the limit and the protein concentration",
                             field="loading_limit_g_per_m2" if loading_limit_g_per_m2 is None
                             else "protein_g_per_L")
        lim = positive_number(loading_limit_g_per_m2, "loading_limit_g_per_m2")
        c = positive_number(protein_g_per_L, "protein_g_per_L")
        a_load = v * c / lim
    if a_load is not None and a_load > a_vol:
        criterion, area = "mass loading", sf * a_load
    else:
        criterion, area = "endpoint throughput", sf * a_vol
    if a_load is not None:
        loading = v * float(protein_g_per_L) / area
    n = installed = None
    if filter_area_m2 is not None:
        fa = positive_number(filter_area_m2, "filter_area_m2")
        n = max(1, math.ceil(area / fa - 1e-9))
        installed = n * fa
    warnings: list[str] = []
    if int(process_pauses) > 0 and not pauses_validated:
        warnings.append(f"{int(process_pauses)} process pause(s) planned but not covered by the clearance "
                        "study: flow interruptions can let small viruses (parvovirus) pass some filters; "
                        "validate with the same pauses or avoid them")
    if operating_pressure_bar is not None and validated_min_pressure_bar is not None:
        if float(operating_pressure_bar) < float(validated_min_pressure_bar):
            warnings.append(f"operating pressure {float(operating_pressure_bar):g} bar is below the lowest "
                            f"validated pressure {float(validated_min_pressure_bar):g} bar: low pressure is "
                            "a worst case for retention on some virus filters; the LRV claim does not "
                            "cover it")
    elif operating_pressure_bar is not None:
        warnings.append("no validated minimum pressure given: check that the clearance study covers the "
                        f"lowest operating pressure ({float(operating_pressure_bar):g} bar)")
    return VirusFilterSizing(
        batch_volume_L=v, endpoint_capacity_L_per_m2=cap, volume_limited_area_m2=a_vol,
        loading_limited_area_m2=a_load, limiting_criterion=criterion, safety_factor=sf, area_m2=area,
        filter_area_m2=None if filter_area_m2 is None else float(filter_area_m2), n_filters=n,
        installed_area_m2=installed, mass_loading_g_per_m2=loading, warnings=tuple(warnings))


def log_reduction_value(volume_in_L, log10_titre_in, volume_out_L, log10_titre_out):
    r"""Reduction factor of one step from volumes and titres (ICH Q5A Appendix; USP <1050>).

    .. math:: R = \log_{10}\frac{v' \cdot 10^{a'}}{v'' \cdot 10^{a''}}
             = a' - a'' + \log_{10}(v'/v'')

    Parameters
    ----------
    volume_in_L, volume_out_L : array_like
        Volume of the spiked load and of the product after the step (any one unit).
    log10_titre_in, log10_titre_out : array_like
        log10 of the titres (per mL or per L, the same for both).

    Returns
    -------
    ndarray
        R [log10].
    """
    return (np.asarray(log10_titre_in, dtype=float) - np.asarray(log10_titre_out, dtype=float)
            + np.log10(np.asarray(volume_in_L, dtype=float) / np.asarray(volume_out_L, dtype=float)))


@dataclass(frozen=True)
class LRVStep:
    """One validated clearance step for one model virus.

    ``mechanism`` names how the step clears virus, e.g. ``"low-pH inactivation"``,
    ``"solvent/detergent inactivation"``, ``"size exclusion (virus filter)"``,
    ``"anion-exchange adsorption"``; steps with the same mechanism are not orthogonal.
    """

    name: str
    lrv: float
    mechanism: str
    virus: str = "model virus"
    lower_bound: bool = False  # True for "≥ x" claims (no virus detected after the step)


@dataclass(frozen=True)
class LRVSummary:
    """Per-virus totals. ``claimable_lrv`` applies the orthogonality and > 1 log rules."""

    viruses: dict
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"viruses": self.viruses, "warnings": list(self.warnings)}


def lrv_summary(steps: Iterable[LRVStep | Mapping]) -> LRVSummary:
    """Sum log reduction values per virus, with the rules of ICH Q5A(R2).

    For each virus: ``total_lrv`` is the plain sum of all steps; ``claimable_lrv`` counts, for each
    mechanism, only its largest LRV, and leaves out steps of 1 log10 or less;
    ``overall_reduction_factor`` is ``10**claimable_lrv``. Duplicated mechanisms and small steps
    are named in the warnings.

    Parameters
    ----------
    steps : iterable of LRVStep or mappings with its fields

    Returns
    -------
    LRVSummary
        ``viruses[name]`` holds ``total_lrv``, ``claimable_lrv``, ``overall_reduction_factor``,
        ``counted_steps``, ``excluded_steps`` and ``lower_bound`` (True when any counted step is a
        "≥" claim, so the total is itself a lower bound).
    """
    parsed: list[LRVStep] = []
    for i, s in enumerate(steps):
        if isinstance(s, Mapping):
            try:
                s = LRVStep(**s)
            except TypeError as exc:
                raise InputError(f"step {i + 1} is not a clearance step ({exc}); expected name, lrv, "
                                 "mechanism, virus", field="steps") from None
        lrv = float(s.lrv)
        if not math.isfinite(lrv) or lrv < 0:
            raise InputError(f"step '{s.name}' has LRV {s.lrv}; a log reduction value must be ≥ 0",
                             field="lrv")
        parsed.append(s)
    if not parsed:
        raise InputError("no clearance steps given", field="steps")
    warnings: list[str] = []
    out: dict = {}
    for virus in dict.fromkeys(s.virus for s in parsed):
        vsteps = [s for s in parsed if s.virus == virus]
        counted, excluded = [], []
        by_mech: dict[str, list[LRVStep]] = {}
        for s in vsteps:
            if float(s.lrv) <= 1.0:
                excluded.append(s.name)
                warnings.append(f"{virus}: step '{s.name}' reduces by {float(s.lrv):g} log10 (≤ 1): "
                                "not counted in the overall reduction")
                continue
            by_mech.setdefault(s.mechanism.strip().lower(), []).append(s)
        for mech_steps in by_mech.values():
            best = max(mech_steps, key=lambda s: float(s.lrv))
            counted.append(best)
            if len(mech_steps) > 1:
                others = [s.name for s in mech_steps if s is not best]
                excluded.extend(others)
                warnings.append(f"{virus}: steps {', '.join(repr(s.name) for s in mech_steps)} share the "
                                f"mechanism '{best.mechanism}': not orthogonal, only '{best.name}' "
                                f"({float(best.lrv):g} log10) is counted")
        claim = sum(float(s.lrv) for s in counted)
        out[virus] = {
            "total_lrv": sum(float(s.lrv) for s in vsteps),
            "claimable_lrv": claim,
            "overall_reduction_factor": 10.0 ** claim,
            "counted_steps": [s.name for s in counted],
            "excluded_steps": excluded,
            "lower_bound": any(s.lower_bound for s in counted),
        }
    return LRVSummary(viruses=out, warnings=tuple(warnings))
