r"""UF/DF step design: concentrate, diafilter at constant volume, concentrate to target.

The step (well-mixed retentate tank, constant sieving coefficients):

1. **Concentration 1** from V0, C0 to the DF concentration Cdf. ``C = C0 (V0/V)^(1−S)``
   and ``dV/dt = −J(C)·A``, so ``t1 = ∫ dV / (A·J(C(V)))`` from V_df to V0 (quadrature).
2. **Constant-volume diafiltration** at V_df with N diavolumes. The product concentration
   falls as ``C = Cdf·e^(−n·S)``; ``dt/dn = V_df/(A·J(C(n)))``, which for S = 0 is the textbook
   ``t_DF = N·V_df/(A·J(Cdf))``.
3. **Concentration 2** from V_df to the final concentration Cf (same law as 1).

Diafiltration may instead be **discontinuous** (``df_mode``), in n cycles of dilution factor k, in
either variant (:data:`fluxwise.models.ufdf.DISCONTINUOUS_DF_MODES`): *sequential dilution* adds
(k − 1)·V_df of buffer and concentrates k·V_df back to V_df; *volume reduction* concentrates V_df to
V_df/k and adds (1 − 1/k)·V_df back. Each cycle leaves ``k^(−S)`` of a solute (Schwartz 2003); the
time of a cycle is its concentration, integrated as in phase 1 (adding buffer is taken as instant).
``diavolumes`` then reports the buffer used over V_df (n·(k − 1) or n·(1 − 1/k)).

Time scales exactly as 1/A (flux is per unit area), so the area for a stated process time is
``A = t(1 m²)/t`` — the root of ``t(A) = t_target`` in closed form.

The DF concentration can be stated or chosen to minimise the total time (equivalently the area
for a fixed time) over ``C0 ≤ Cdf ≤ Cf`` by bounded scalar minimisation. Under the gel model with a
fully retained product the concentration phases together take the same time whatever Cdf, and the
optimum is ``Cdf = Cg/e`` (Ng, Lundblad & Mitra 1976); the numerical search reproduces it and also
covers any other flux model.

Recovery: the system hold-up ``V_h`` cannot be drained; a buffer flush ``V_f`` mixed with the
hold-up and drained recovers the fraction ``V_f/(V_h + V_f)`` of the product left in it (one
well-mixed flush). Pool = drained retentate + flush.

References
----------
Ng, P., Lundblad, J., Mitra, G. (1976). Optimization of solute separation by diafiltration.
Sep. Sci. 11(5):499-502.
Michaels (1968); Blatt et al. (1970) — the gel-polarisation flux, see :mod:`fluxwise.models.ufdf`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, optimize

from ..errors import DesignError, InputError, positive_number
from ..models import ufdf as m

__all__ = ["UFDFDesign", "design_ufdf", "crossflow_rate", "DF_MODES"]

PHASES = ("concentration-1", "diafiltration", "concentration-2")
#: How the buffer is added: continuously at constant volume, or in cycles (either variant).
DF_MODES = ("continuous", *m.DISCONTINUOUS_DF_MODES)


@dataclass(frozen=True)
class UFDFDesign:
    """A designed UF/DF step. All quantities in canonical units, named with their unit.

    ``time_course`` holds arrays over the whole step: ``t_h``, ``volume_L``,
    ``concentration_g_per_L`` (product in the retentate), ``flux_LMH``, ``diavolumes``
    (cumulative) and ``phase`` (one of ``"concentration-1"``, ``"diafiltration"``,
    ``"concentration-2"`` per point).
    """

    area_m2: float
    process_time_h: float
    concentration_1_time_h: float
    diafiltration_time_h: float
    concentration_2_time_h: float
    initial_volume_L: float
    initial_concentration_g_per_L: float
    df_concentration_g_per_L: float
    optimal_df_concentration_g_per_L: float | None
    df_volume_L: float
    diavolumes: float
    final_concentration_g_per_L: float
    final_volume_L: float
    permeate_volume_L: float
    diafiltration_buffer_volume_L: float
    flush_volume_L: float
    buffer_volume_L: float
    hold_up_volume_L: float
    retentate_yield: float
    hold_up_recovery: float
    product_yield: float
    pool_volume_L: float
    pool_concentration_g_per_L: float
    impurity_remaining_fraction: float
    impurity_concentration_ratio: float
    average_flux_LMH: float | None
    crossflow_rate_L_per_h: float | None
    n_cassettes: int | None
    installed_area_m2: float | None
    flux_model: str
    df_mode: str = "continuous"
    dilution_factor: float | None = None
    df_cycles: int | None = None
    max_retentate_volume_L: float | None = None
    min_retentate_volume_L: float | None = None
    warnings: tuple[str, ...] = ()
    time_course: dict = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self, *, include_time_course: bool = False) -> dict:
        """JSON-ready dict; ``time_course`` (arrays as lists) only when asked for."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "time_course"}
        d["warnings"] = list(self.warnings)
        if include_time_course:
            d["time_course"] = {k: np.asarray(v).tolist() for k, v in self.time_course.items()}
        return d


def crossflow_rate(area_m2: float, *, feed_flux_LMH: float | None = None,
                   flow_per_cassette_L_per_min: float | None = None,
                   cassette_area_m2: float | None = None) -> tuple[float | None, int | None]:
    """Crossflow (feed) pump rate of a TFF system.

    Either from a feed flux per membrane area, ``Q = feed_flux·A`` [L/h], or from a flow per
    cassette, ``Q = n·q_cassette·60`` with ``n = ceil(A/cassette area)``.

    Parameters
    ----------
    area_m2 : float
        Membrane area [m²].
    feed_flux_LMH : float, optional
        Feed flow per membrane area [L/m²/h] (e.g. 300 LMH = 5 L/min/m²).
    flow_per_cassette_L_per_min : float, optional
        Feed flow per cassette [L/min]; needs ``cassette_area_m2``.
    cassette_area_m2 : float, optional
        Area of one cassette [m²].

    Returns
    -------
    (rate_L_per_h, n_cassettes)
        Either may be None when the inputs for it are missing.
    """
    n = None
    if cassette_area_m2 is not None:
        if cassette_area_m2 <= 0:
            raise InputError(f"must be positive, got {cassette_area_m2}", field="cassette_area_m2")
        n = max(1, math.ceil(area_m2 / cassette_area_m2 - 1e-9))
    if flow_per_cassette_L_per_min is not None:
        if n is None:
            raise InputError("a flow per cassette needs the cassette area", field="cassette_area_m2")
        if flow_per_cassette_L_per_min <= 0:
            raise InputError(f"must be positive, got {flow_per_cassette_L_per_min}",
                             field="flow_per_cassette_L_per_min")
        return n * flow_per_cassette_L_per_min * 60.0, n
    if feed_flux_LMH is not None:
        if feed_flux_LMH <= 0:
            raise InputError(f"must be positive, got {feed_flux_LMH}", field="feed_flux_LMH")
        return feed_flux_LMH * area_m2, n
    return None, n




def _flux_function(flux, k_LMH, cg, a, b, feed_flux_LMH):
    """Resolve the flux model to (callable J(C) [LMH], description, gel concentration or None)."""
    if flux is not None:
        if not callable(flux):
            raise InputError("must be a function of concentration [g/L] returning flux [LMH]", field="flux")
        def user_flux(c):
            return np.asarray(flux(np.asarray(c, dtype=float)), dtype=float)

        return user_flux, "user flux function", None
    if cg is None:
        raise InputError("give a flux function, or the gel-model parameters (k and the gel concentration)",
                         field="gel_concentration_g_per_L")
    cg = positive_number(cg, "gel_concentration_g_per_L")
    if k_LMH is None:
        if a is None or b is None or feed_flux_LMH is None:
            raise InputError("give k, or the mass-transfer correlation a, b with the feed flux",
                             field="k_LMH")
        k_LMH = float(m.mass_transfer_coefficient(positive_number(feed_flux_LMH, "feed_flux_LMH"), a, b))
        desc = f"gel polarisation, k = {a:g}·Q^{b:g} = {k_LMH:.4g} LMH, Cg = {cg:g} g/L"
    else:
        desc = f"gel polarisation, k = {float(k_LMH):g} LMH, Cg = {cg:g} g/L"
    k = positive_number(k_LMH, "k_LMH")
    return (lambda c: m.gel_polarization_flux(c, k, cg)), desc, cg


class _Step:
    """Times of the three phases at 1 m² for one DF concentration (internal).

    ``n`` is the diavolumes of continuous DF; with a discontinuous ``df_mode``, ``cycles`` of
    dilution factor ``k`` instead.
    """

    def __init__(self, flux: Callable, v0, c0, cf, n, s_p, df_mode="continuous", k=None, cycles=0):
        self.flux, self.v0, self.c0, self.cf, self.n, self.s_p = flux, v0, c0, cf, n, s_p
        self.df_mode, self.k, self.cycles = df_mode, k, int(cycles)

    @property
    def has_df(self) -> bool:
        return self.cycles > 0 if self.df_mode != "continuous" else self.n > 0

    def c_after_df(self, c_df: float) -> float:
        """Product concentration at the end of DF."""
        if self.df_mode == "continuous":
            return c_df * math.exp(-self.n * self.s_p)
        return c_df * float(m.discontinuous_diafiltration_ratio(self.k, self.cycles, self.s_p))

    def cycle_swing(self, v_df: float, c: float) -> tuple[float, float, float]:
        """(volume, concentration) a discontinuous cycle concentrates from, and the concentration it
        ends at, for a cycle that starts at (v_df, c)."""
        end = c * self.k ** (-self.s_p)
        if self.df_mode == "sequential-dilution":
            return self.k * v_df, c / self.k, end
        return v_df, c, c * self.k ** (1.0 - self.s_p)  # volume reduction: to V/k, then buffer back

    def _check_flux(self, c_lo, c_hi):
        grid = np.linspace(c_lo, c_hi, 64) if c_hi > c_lo else np.array([c_lo])
        j = self.flux(grid)
        bad = ~np.isfinite(j) | (j <= 0)
        if np.any(bad):
            c_bad = float(grid[np.argmax(bad)])
            raise DesignError(f"the flux model gives no positive flux at {c_bad:.4g} g/L, so the retentate "
                              f"cannot be taken from {c_lo:.4g} to {c_hi:.4g} g/L (is the target at or "
                              "above the gel concentration?)")

    def concentration_time(self, v_start, c_start, c_end):
        """Time at 1 m² to concentrate from (v_start, c_start) to c_end; returns (t, v_end)."""
        v_end = float(m.volume_at_concentration(v_start, c_start, c_end, self.s_p))
        if c_end <= c_start * (1 + 1e-12):
            return 0.0, v_end
        self._check_flux(c_start, c_end)
        s = self.s_p

        def rate(v):  # dt/dV (absolute value) at 1 m²
            return 1.0 / float(self.flux(c_start * (v_start / v) ** (1.0 - s)))

        t, _ = integrate.quad(rate, v_end, v_start, epsabs=0.0, epsrel=1e-11, limit=200)
        return t, v_end

    def df_time(self, v_df, c_df):
        if self.df_mode != "continuous":
            t, c = 0.0, c_df
            for _ in range(self.cycles):
                v_start, c_start, c_top = self.cycle_swing(v_df, c)
                dt, _ = self.concentration_time(v_start, c_start, c_top)
                t += dt
                c = c_top / self.k if self.df_mode == "volume-reduction" else c_top
            return t
        if self.n == 0:
            return 0.0
        if self.s_p == 0:
            self._check_flux(c_df, c_df)
            return self.n * v_df / float(self.flux(c_df))
        self._check_flux(c_df * math.exp(-self.n * self.s_p), c_df)
        t, _ = integrate.quad(lambda n: v_df / float(self.flux(c_df * math.exp(-n * self.s_p))),
                              0.0, self.n, epsabs=0.0, epsrel=1e-11, limit=200)
        return t

    def times(self, c_df):
        t1, v_df = self.concentration_time(self.v0, self.c0, c_df)
        t_df = self.df_time(v_df, c_df)
        c_after = self.c_after_df(c_df)
        t2, v_f = self.concentration_time(v_df, c_after, self.cf)
        return t1, t_df, t2, v_df, v_f


def _time_course(step: _Step, c_df, v_df, area, n_points):
    t_all, v_all, c_all, dv_all, ph_all = [], [], [], [], []
    t_offset = 0.0
    s = step.s_p

    def conc_phase(v_start, c_start, c_end, name, n_dv):
        nonlocal t_offset
        if c_end <= c_start * (1 + 1e-12):
            return
        v_end = float(m.volume_at_concentration(v_start, c_start, c_end, s))
        v = np.linspace(v_start, v_end, n_points)
        c = c_start * (v_start / v) ** (1.0 - s)
        rate = lambda vv: 1.0 / float(step.flux(c_start * (v_start / vv) ** (1.0 - s)))  # noqa: E731
        seg = [integrate.quad(rate, v[i + 1], v[i], epsrel=1e-10)[0] for i in range(n_points - 1)]
        t = t_offset + np.concatenate([[0.0], np.cumsum(seg)]) / area
        t_all.append(t), v_all.append(v), c_all.append(c), dv_all.append(np.full(n_points, n_dv))
        ph_all.append(np.full(n_points, name, dtype=object))
        t_offset = float(t[-1])

    conc_phase(step.v0, step.c0, c_df, PHASES[0], 0.0)
    if step.df_mode != "continuous" and step.cycles > 0:
        c, used = c_df, 0.0
        per_cycle = float(m.discontinuous_buffer_volume(1.0, step.k, 1, step.df_mode))
        for _ in range(step.cycles):
            v_start, c_start, c_top = step.cycle_swing(v_df, c)
            if step.df_mode == "sequential-dilution":  # buffer first (instant), then concentrate back
                used += per_cycle
            conc_phase(v_start, c_start, c_top, PHASES[1], used)
            if step.df_mode == "volume-reduction":  # then buffer back to V_df (instant)
                used += per_cycle
                c = c_top / step.k
            else:
                c = c_top
        dv_all[-1] = np.append(dv_all[-1][:-1], used)  # the last cycle ends with all its buffer in
    elif step.n > 0:
        n = np.linspace(0.0, step.n, n_points)
        c = c_df * np.exp(-n * s)
        seg = [integrate.quad(lambda x: v_df / float(step.flux(c_df * math.exp(-x * s))), n[i], n[i + 1],
                              epsrel=1e-10)[0] for i in range(n_points - 1)]
        t = t_offset + np.concatenate([[0.0], np.cumsum(seg)]) / area
        t_all.append(t), v_all.append(np.full(n_points, v_df)), c_all.append(c), dv_all.append(n)
        ph_all.append(np.full(n_points, PHASES[1], dtype=object))
        t_offset = float(t[-1])
    conc_phase(v_df, step.c_after_df(c_df), step.cf, PHASES[2],
               float(dv_all[-1][-1]) if dv_all else float(step.n))
    if not t_all:  # nothing to do: a single point
        t_all, v_all, c_all = [np.array([0.0])], [np.array([step.v0])], [np.array([step.c0])]
        dv_all, ph_all = [np.array([0.0])], [np.array([PHASES[0]], dtype=object)]
    c_cat = np.concatenate(c_all)
    return {
        "t_h": np.concatenate(t_all), "volume_L": np.concatenate(v_all), "concentration_g_per_L": c_cat,
        "flux_LMH": np.asarray(step.flux(c_cat), dtype=float), "diavolumes": np.concatenate(dv_all),
        "phase": np.concatenate(ph_all).astype(str),
    }


def design_ufdf(*, initial_volume_L: float, initial_concentration_g_per_L: float,
                final_concentration_g_per_L: float,
                flux: Callable | None = None, k_LMH: float | None = None,
                gel_concentration_g_per_L: float | None = None,
                mass_transfer_a: float | None = None, mass_transfer_b: float | None = None,
                feed_flux_LMH: float | None = None,
                area_m2: float | None = None, process_time_h: float | None = None,
                df_concentration: float | str = "optimal",
                diavolumes: float | None = None, df_remaining_fraction: float | None = None,
                product_sieving: float = 0.0, impurity_sieving: float = 1.0,
                flow_per_cassette_L_per_min: float | None = None, cassette_area_m2: float | None = None,
                hold_up_volume_L: float = 0.0, flush_volume_L: float = 0.0,
                df_mode: str = "continuous", dilution_factor: float | None = None,
                df_cycles: int | None = None, n_points: int = 101) -> UFDFDesign:
    r"""Design a UF/DF step: concentrate, diafilter at constant volume, concentrate to target.

    Parameters
    ----------
    initial_volume_L : float
        Load volume V0 [L].
    initial_concentration_g_per_L : float
        Product concentration of the load C0 [g/L].
    final_concentration_g_per_L : float
        Target product concentration in the retentate at the end, Cf [g/L], ≥ C0.
    flux : callable, optional
        ``J(C)`` [LMH] of the product concentration [g/L], vectorised. Overrides the gel model.
    k_LMH, gel_concentration_g_per_L : float, optional
        Gel-polarisation model ``J = k ln(Cg/C)`` (fit with :func:`fluxwise.fit.ufdf.fit_gel_polarization`).
    mass_transfer_a, mass_transfer_b : float, optional
        ``k = a·Q^b`` with Q = ``feed_flux_LMH``, used when ``k_LMH`` is not given.
    feed_flux_LMH : float, optional
        Crossflow as feed flow per membrane area [L/m²/h]; gives the pump rate.
    area_m2 : float, optional
        Membrane area [m²]. Give this or ``process_time_h``.
    process_time_h : float, optional
        Membrane process time to meet [h]; the area follows.
    df_concentration : float or "optimal"
        Product concentration during DF [g/L], within [C0, Cf], or ``"optimal"`` for the
        time-minimising value.
    diavolumes : float, optional
        Number of diavolumes N.
    df_remaining_fraction : float, optional
        Instead of N: the fraction of the impurity (buffer species) the DF phase must leave,
        C_after/C_before in (0, 1); ``N = −ln(f)/S_imp``.
    product_sieving, impurity_sieving : float
        Sieving coefficients of product (in [0, 1), default 0) and impurity (in [0, 1], default 1).
    flow_per_cassette_L_per_min, cassette_area_m2 : float, optional
        Crossflow per cassette and cassette area (pump rate and cassette count).
    hold_up_volume_L : float
        Undrainable system hold-up [L]; must be below the final retentate volume.
    flush_volume_L : float
        Buffer used to flush the hold-up into the pool [L].
    df_mode : str
        ``"continuous"`` (constant-volume DF, default), or discontinuous DF in cycles:
        ``"sequential-dilution"`` (add (k − 1)·V, concentrate back) or ``"volume-reduction"``
        (concentrate to V/k, add (1 − 1/k)·V back).
    dilution_factor : float, optional
        k > 1 of a discontinuous cycle (required with a discontinuous ``df_mode``).
    df_cycles : int, optional
        Number of discontinuous cycles; or give ``df_remaining_fraction`` (whole cycles that reach it).
    n_points : int
        Points per phase in the time course.

    Returns
    -------
    UFDFDesign
    """
    v0 = positive_number(initial_volume_L, "initial_volume_L")
    c0 = positive_number(initial_concentration_g_per_L, "initial_concentration_g_per_L")
    cf = positive_number(final_concentration_g_per_L, "final_concentration_g_per_L")
    if cf < c0:
        raise InputError(f"target {cf:g} g/L is below the starting concentration {c0:g} g/L; this step "
                         "only concentrates", field="final_concentration_g_per_L")
    s_p = float(product_sieving)
    if not 0.0 <= s_p < 1.0:
        raise InputError(f"must be in [0, 1) (1 means the product is not retained), got {product_sieving}",
                         field="product_sieving")
    s_i = float(impurity_sieving)
    if not 0.0 <= s_i <= 1.0:
        raise InputError(f"must be in [0, 1], got {impurity_sieving}", field="impurity_sieving")
    if (area_m2 is None) == (process_time_h is None):
        raise InputError("give exactly one of the membrane area and the process time", field="area_m2")
    if diavolumes is not None and df_remaining_fraction is not None:
        raise InputError("give the diavolumes or the DF remaining fraction, not both", field="diavolumes")
    mode = str(df_mode or "continuous").strip().lower()
    if mode not in DF_MODES:
        raise InputError(f"must be one of {', '.join(DF_MODES)}, got '{df_mode}'", field="df_mode")
    k_df, cycles = None, 0
    if mode != "continuous":
        if dilution_factor is None:
            raise InputError(f"{mode} diafiltration needs the dilution factor k of a cycle (e.g. 2)",
                             field="dilution_factor")
        k_df = positive_number(dilution_factor, "dilution_factor")
        if not k_df > 1.0:
            raise InputError(f"must be above 1 (the volume ratio of a cycle), got {dilution_factor}",
                             field="dilution_factor")
        if diavolumes is not None:
            raise InputError(f"{mode} diafiltration counts cycles, not diavolumes: give df_cycles or the DF "
                             "remaining fraction", field="diavolumes")
        if (df_cycles is None) == (df_remaining_fraction is None):
            raise InputError("give the number of cycles or the DF remaining fraction (one of the two)",
                             field="df_cycles")
    elif df_cycles is not None or dilution_factor is not None:
        raise InputError("cycles and a dilution factor belong to discontinuous diafiltration: give "
                         "df_mode 'sequential-dilution' or 'volume-reduction'", field="df_mode")
    if mode != "continuous" and df_cycles is not None:
        c_raw = positive_number(df_cycles, "df_cycles", allow_zero=True)
        if c_raw != int(c_raw):
            raise InputError(f"must be a whole number of cycles, got {df_cycles}", field="df_cycles")
        cycles = int(c_raw)
        n = float(m.discontinuous_buffer_volume(1.0, k_df, cycles, mode))
    elif df_remaining_fraction is not None:
        f = float(df_remaining_fraction)
        if not 0.0 < f < 1.0:
            raise InputError(f"must be between 0 and 1 (e.g. 0.001 for 99.9 % exchange), got {f}",
                             field="df_remaining_fraction")
        if s_i <= 0:
            raise InputError("an impurity that does not pass the membrane (sieving 0) cannot be washed out",
                             field="impurity_sieving")
        if mode == "continuous":
            n = float(m.diavolumes_for_reduction(f, s_i))
        else:
            cycles = m.discontinuous_cycles_for_reduction(f, k_df, s_i)
            n = float(m.discontinuous_buffer_volume(1.0, k_df, cycles, mode))
    elif diavolumes is not None:
        n = positive_number(diavolumes, "diavolumes", allow_zero=True)
    else:
        raise InputError("give the number of diavolumes (0 for concentration only) or the DF remaining "
                         "fraction", field="diavolumes")
    hold_up = positive_number(hold_up_volume_L, "hold_up_volume_L", allow_zero=True)
    flush_v = positive_number(flush_volume_L, "flush_volume_L", allow_zero=True)
    n_points = max(int(n_points), 2)

    jfun, desc, cg = _flux_function(flux, k_LMH, gel_concentration_g_per_L, mass_transfer_a,
                                    mass_transfer_b, feed_flux_LMH)
    if cg is not None and cf >= cg:
        raise DesignError(f"the target {cf:g} g/L is at or above the gel concentration {cg:g} g/L, where "
                          "the limiting flux falls to zero: it cannot be reached by ultrafiltration")
    step = _Step(jfun, v0, c0, cf, n, s_p, mode, k_df, cycles)
    warnings: list[str] = []

    def total(c_df):
        t1, t_df, t2, _, _ = step.times(c_df)
        return t1 + t_df + t2

    # optimum over [C0, Cf]; the objective is flat when there is no DF phase
    c_opt: float | None
    if not step.has_df:
        c_opt = None
    elif cf == c0:
        c_opt = c0
    else:
        res = optimize.minimize_scalar(total, bounds=(c0, cf), method="bounded",
                                       options={"xatol": 1e-9 * cf})
        candidates = [(float(res.fun), float(res.x)), (total(c0), c0), (total(cf), cf)]
        c_opt = min(candidates)[1]
        if c_opt in (c0, cf) or abs(c_opt - c0) < 1e-6 * cf or abs(c_opt - cf) < 1e-6 * cf:
            where = "starting" if abs(c_opt - c0) < 1e-6 * cf else "final"
            warnings.append(f"the time-optimal DF concentration lies at the {where} concentration "
                            f"({c_opt:.4g} g/L): the unconstrained optimum is outside [C0, Cf]")

    if isinstance(df_concentration, str):
        if df_concentration.strip().lower() != "optimal":
            raise InputError(f"must be a concentration in g/L or 'optimal', got '{df_concentration}'",
                             field="df_concentration")
        # without DF the DF concentration is immaterial: concentrate straight to the target
        c_df = c_opt if c_opt is not None else cf
    else:
        c_df = positive_number(df_concentration, "df_concentration")
        if not c0 * (1 - 1e-12) <= c_df <= cf * (1 + 1e-12):
            raise InputError(f"{c_df:g} g/L is outside the range of the step, from the starting "
                             f"{c0:g} g/L to the target {cf:g} g/L", field="df_concentration")
        c_df = min(max(c_df, c0), cf)

    t1, t_df, t2, v_df, v_f = step.times(c_df)
    t_unit = t1 + t_df + t2  # hours at 1 m²
    if area_m2 is not None:
        area = positive_number(area_m2, "area_m2")
    else:
        t_target = positive_number(process_time_h, "process_time_h")
        if t_unit == 0:
            raise DesignError("nothing to do: the load is already at the target and no diafiltration "
                              "is asked")
        area = t_unit / t_target
    t1, t_df, t2 = t1 / area, t_df / area, t2 / area
    t_total = t1 + t_df + t2

    if v_f <= hold_up:
        raise DesignError(f"the final retentate volume {v_f:.4g} L is not above the system hold-up "
                          f"{hold_up:.4g} L: the product could not be drained; use a smaller system or a "
                          "lower final concentration")
    buffer_df = n * v_df  # n·(k − 1)·V_df or n·(1 − 1/k)·V_df for discontinuous DF
    v_top = v_low = None
    if mode != "continuous" and cycles > 0:
        v_top = k_df * v_df if mode == "sequential-dilution" else v_df
        v_low = v_df if mode == "sequential-dilution" else v_df / k_df
        if v_low <= hold_up:
            raise DesignError(f"volume reduction by {k_df:g} takes the retentate down to {v_low:.4g} L, not "
                              f"above the system hold-up {hold_up:.4g} L: use a smaller dilution factor, "
                              "sequential dilution, or diafilter at a larger volume")
        if mode == "sequential-dilution":
            warnings.append(f"sequential dilution by {k_df:g} needs a retentate tank for {v_top:.4g} L "
                            f"({k_df:g} x the DF volume {v_df:.4g} L)")
    permeate = v0 + buffer_df - v_f
    retentate_yield = cf * v_f / (c0 * v0)
    recovery_of_holdup = flush_v / (hold_up + flush_v) if hold_up > 0 else 1.0
    m_final = cf * v_f
    m_pool = cf * (v_f - hold_up) + cf * hold_up * recovery_of_holdup
    pool_v = v_f - hold_up + flush_v
    hold_up_recovery = m_pool / m_final
    if flush_v > 0 and m_pool / pool_v < cf * 0.999:
        warnings.append(f"the flush dilutes the pool to {m_pool / pool_v:.4g} g/L (retentate {cf:.4g} g/L): "
                        "over-concentrate if the pool must meet the target")
    if hold_up > 0 and flush_v == 0:
        warnings.append(f"no flush: the product in the hold-up ({cf * hold_up:.4g} g) is lost")
    # impurity: the concentration phases keep (V/V0)^S of its mass, DF keeps exp(-N·S)
    df_ratio = (m.diafiltration_concentration_ratio(n, s_i) if mode == "continuous"
                else m.discontinuous_diafiltration_ratio(k_df, cycles, s_i))
    imp_mass = float(m.batch_mass_fraction_retained(v0, v_df, s_i) * df_ratio
                     * m.batch_mass_fraction_retained(v_df, v_f, s_i))
    rate, n_cas = crossflow_rate(area, feed_flux_LMH=feed_flux_LMH,
                                 flow_per_cassette_L_per_min=flow_per_cassette_L_per_min,
                                 cassette_area_m2=cassette_area_m2)
    course = _time_course(step, c_df, v_df, area, n_points)
    return UFDFDesign(
        area_m2=area, process_time_h=t_total, concentration_1_time_h=t1, diafiltration_time_h=t_df,
        concentration_2_time_h=t2, initial_volume_L=v0, initial_concentration_g_per_L=c0,
        df_concentration_g_per_L=c_df, optimal_df_concentration_g_per_L=c_opt, df_volume_L=v_df,
        diavolumes=n, final_concentration_g_per_L=cf, final_volume_L=v_f, permeate_volume_L=permeate,
        diafiltration_buffer_volume_L=buffer_df, flush_volume_L=flush_v, buffer_volume_L=buffer_df + flush_v,
        hold_up_volume_L=hold_up, retentate_yield=retentate_yield, hold_up_recovery=hold_up_recovery,
        product_yield=m_pool / (c0 * v0), pool_volume_L=pool_v, pool_concentration_g_per_L=m_pool / pool_v,
        impurity_remaining_fraction=imp_mass, impurity_concentration_ratio=imp_mass * v0 / v_f,
        average_flux_LMH=permeate / (area * t_total) if t_total > 0 else None,
        crossflow_rate_L_per_h=rate, n_cassettes=n_cas,
        installed_area_m2=n_cas * cassette_area_m2 if n_cas is not None else None,
        flux_model=desc, df_mode=mode, dilution_factor=k_df,
        df_cycles=cycles if mode != "continuous" else None,
        max_retentate_volume_L=v_top, min_retentate_volume_L=v_low, warnings=tuple(warnings),
        time_course=course)
