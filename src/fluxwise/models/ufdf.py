r"""Tangential-flow ultrafiltration and diafiltration (UF/DF): flux models and mass balances.

Pure, vectorised functions: arguments broadcast like numpy arrays, no I/O, no units objects.

Units
-----
concentration ``c`` [g/L]; flux ``J`` and mass-transfer coefficient ``k`` [L/m²/h, LMH];
transmembrane pressure ``tmp`` and osmotic pressure [bar]; membrane permeability ``lp``
[LMH/bar]; volume [L]; area [m²]; time [h]; crossflow ``q`` in whatever unit the correlation was
fitted in (fluxwise uses feed flow per membrane area, LMH). Sieving coefficient ``S`` = Cp/Cb
[-], 0 for a fully retained solute, 1 for a freely passing one (buffer salts).

Flux models
-----------
* Film / gel-polarisation model (Michaels 1968; Blatt, Dravid, Michaels & Nelsen 1970): at
  pressure-independent (limiting) flux ``J = k ln(Cg/Cb)``.
* Osmotic-pressure model (Wijmans, Nakao & Smolders 1984): ``J = Lp (TMP − π(Cw))`` with the film
  relation ``Cw = Cb exp(J/k)`` for a fully retained solute and a virial ``π(C)``. It gives the
  TMP-dependent region and tends to the film-model form at high TMP.
* Mass-transfer correlation ``k = a Q^b`` (Lévêque-type laminar b ≈ 1/3, turbulent b ≈ 0.8).

Mass balances (well-mixed retentate, constant sieving coefficient)
-------------------------------------------------------------------
* Batch concentration: ``C/C0 = (V0/V)^(1−S)``.
* Constant-volume diafiltration with N diavolumes: ``C/C0 = exp(−N·S)``.
* Discontinuous diafiltration, one cycle of dilution factor k in either variant — sequential
  dilution (add (k − 1)·V of buffer to reach k·V, concentrate back to V) or volume reduction
  (concentrate to V/k, add (1 − 1/k)·V of buffer back to V): ``C/C0 = k^(−S)`` per cycle
  (Schwartz 2003, Table 2: salt reduction by repeated 2x volume reduction).
* Gel-model optimum DF concentration for a retained product: ``C* = Cg/e`` (Ng, Lundblad &
  Mitra 1976), where ``J(C*) = k``.

References
----------
Michaels, A. S. (1968). New separation technique for the CPI. Chem. Eng. Prog. 64(12):31-43.
Blatt, W. F., Dravid, A., Michaels, A. S., Nelsen, L. (1970). Solute polarization and cake
formation in membrane ultrafiltration: causes, consequences, and control techniques. In Flinn,
J. E. (ed.), Membrane Science and Technology, Plenum, New York, 47-97.
Wijmans, J. G., Nakao, S., Smolders, C. A. (1984). Flux limitation in ultrafiltration: osmotic
pressure model and gel layer model. J. Membr. Sci. 20:115-124.
Ng, P., Lundblad, J., Mitra, G. (1976). Optimization of solute separation by diafiltration.
Sep. Sci. 11(5):499-502.
Schwartz, L. (2003). Diafiltration for desalting or buffer exchange. BioProcess Int. 1(5):43-49
(Table 2 compares repeated 2x volume reduction with constant-volume diafiltration).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expi

__all__ = [
    "gel_polarization_flux", "mass_transfer_coefficient", "osmotic_pressure_virial",
    "osmotic_pressure_flux", "batch_concentration_ratio", "volume_at_concentration",
    "batch_mass_fraction_retained", "diafiltration_concentration_ratio",
    "diavolumes_for_reduction", "gel_optimal_diafiltration_concentration",
    "DISCONTINUOUS_DF_MODES", "discontinuous_diafiltration_ratio", "discontinuous_buffer_volume",
    "discontinuous_cycles_for_reduction",
    "gel_concentration_time", "gel_diafiltration_time",
]


def gel_polarization_flux(c, k, cg):
    r"""Limiting flux of the film / gel-polarisation model.

    .. math:: J = k \ln(C_g / C_b)

    Parameters
    ----------
    c : array_like
        Bulk (retentate) concentration of the retained solute [g/L], > 0.
    k : array_like
        Mass-transfer coefficient of the boundary layer [LMH].
    cg : array_like
        Gel (wall-limiting) concentration [g/L].

    Returns
    -------
    ndarray
        Permeate flux [LMH]; zero at and above ``cg`` (the model has no negative flux).

    References
    ----------
    Michaels (1968); Blatt et al. (1970).
    """
    c = np.asarray(c, dtype=float)
    return np.maximum(np.asarray(k, dtype=float) * np.log(np.asarray(cg, dtype=float) / c), 0.0)


def mass_transfer_coefficient(q, a, b):
    r"""Mass-transfer coefficient from a power-law crossflow correlation.

    .. math:: k = a\,Q^b

    Parameters
    ----------
    q : array_like
        Crossflow (feed flow per membrane area [LMH] in fluxwise; any unit the fit used).
    a : array_like
        Prefactor [LMH per unit of Q^b].
    b : array_like
        Exponent [-]; ≈ 0.33 laminar (Lévêque), ≈ 0.8 turbulent (Dittus-Boelter type).

    Returns
    -------
    ndarray
        k [LMH].
    """
    return np.asarray(a, dtype=float) * np.asarray(q, dtype=float) ** np.asarray(b, dtype=float)


def osmotic_pressure_virial(c, a1, a2=0.0, a3=0.0):
    r"""Osmotic pressure of a macromolecule solution as a virial polynomial.

    .. math:: \pi(C) = a_1 C + a_2 C^2 + a_3 C^3

    Parameters
    ----------
    c : array_like
        Concentration [g/L].
    a1, a2, a3 : float
        Virial coefficients [bar·L/g, bar·L²/g², bar·L³/g³].

    Returns
    -------
    ndarray
        Osmotic pressure [bar].

    References
    ----------
    Wijmans, Nakao & Smolders (1984), eq. 5.
    """
    c = np.asarray(c, dtype=float)
    return c * (a1 + c * (a2 + c * a3))


def osmotic_pressure_flux(tmp, c, k, lp, a1, a2=0.0, a3=0.0, *, iterations=200):
    r"""Flux of the osmotic-pressure model with film-theory polarisation (fully retained solute).

    Solves, for J,

    .. math:: J = L_p\,\bigl(\mathrm{TMP} - \pi(C_w)\bigr), \qquad C_w = C_b\,e^{J/k}

    with :math:`\pi` the virial polynomial of :func:`osmotic_pressure_virial`. ``Lp = 1/(μ·Rm)``
    is the clean-membrane (water) permeability. At low TMP the flux follows ``Lp·TMP``; at high TMP
    it levels off at a limiting flux of the film-model form ``k ln(Cw,lim/Cb)`` (Wijmans et al.
    1984 show that the gel model is the high-pressure limit of this model).

    The residual ``J − Lp(TMP − π(Cb e^{J/k}))`` rises monotonically in J when π is increasing,
    so the root in ``[0, Lp·TMP]`` is unique; it is found by vectorised bisection.

    Parameters
    ----------
    tmp : array_like
        Transmembrane pressure [bar], ≥ 0.
    c : array_like
        Bulk concentration [g/L], ≥ 0.
    k : array_like
        Mass-transfer coefficient [LMH], > 0.
    lp : array_like
        Membrane permeability [LMH/bar], > 0.
    a1, a2, a3 : float
        Virial coefficients of π [bar·L/g, bar·L²/g², bar·L³/g³], non-negative.
    iterations : int
        Bisection steps; 200 halvings reach machine precision.

    Returns
    -------
    ndarray
        Permeate flux [LMH].

    References
    ----------
    Wijmans, J. G., Nakao, S., Smolders, C. A. (1984). J. Membr. Sci. 20:115-124.
    """
    tmp, c, k, lp = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (tmp, c, k, lp)))
    lo = np.zeros(tmp.shape)
    hi = np.maximum(lp * tmp, 0.0)
    with np.errstate(over="ignore"):
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            resid = mid - lp * (tmp - osmotic_pressure_virial(c * np.exp(mid / k), a1, a2, a3))
            positive = resid > 0
            hi = np.where(positive, mid, hi)
            lo = np.where(positive, lo, mid)
    out = 0.5 * (lo + hi)
    return out if out.ndim else float(out)


def batch_concentration_ratio(v0, v, sieving=0.0):
    r"""Retentate concentration factor of batch (fed-batch) concentration.

    From the solute balance ``d(CV) = S·C·dV`` with constant sieving coefficient S:

    .. math:: C/C_0 = (V_0/V)^{1-S}

    Parameters
    ----------
    v0 : array_like
        Starting retentate volume [L].
    v : array_like
        Retentate volume reached [L].
    sieving : array_like
        Sieving coefficient S = Cp/Cb [-], in [0, 1].

    Returns
    -------
    ndarray
        C/C0 [-].
    """
    ratio = np.asarray(v0, dtype=float) / np.asarray(v, dtype=float)
    return ratio ** (1.0 - np.asarray(sieving, dtype=float))


def volume_at_concentration(v0, c0, c, sieving=0.0):
    r"""Retentate volume at which batch concentration reaches C (inverse of the ratio above).

    .. math:: V = V_0\,(C_0/C)^{1/(1-S)}

    Parameters
    ----------
    v0 : array_like
        Starting volume [L].
    c0, c : array_like
        Starting and reached concentration [g/L].
    sieving : array_like
        Sieving coefficient [-], in [0, 1).

    Returns
    -------
    ndarray
        Volume [L].
    """
    s = np.asarray(sieving, dtype=float)
    return np.asarray(v0, dtype=float) * (np.asarray(c0, dtype=float) / np.asarray(c, dtype=float)) ** (
        1.0 / (1.0 - s))


def batch_mass_fraction_retained(v0, v, sieving=0.0):
    r"""Fraction of a solute's mass still in the retentate after batch concentration V0 → V.

    .. math:: m/m_0 = (C/C_0)(V/V_0) = (V/V_0)^{S}

    Parameters
    ----------
    v0, v : array_like
        Starting and reached volume [L].
    sieving : array_like
        Sieving coefficient [-].

    Returns
    -------
    ndarray
        m/m0 [-].
    """
    return (np.asarray(v, dtype=float) / np.asarray(v0, dtype=float)) ** np.asarray(sieving, dtype=float)


def diafiltration_concentration_ratio(n, sieving=1.0):
    r"""Concentration (and mass) remaining after constant-volume diafiltration.

    With buffer added at the permeate rate, ``V dC/dt = −S·C·J·A`` and N = (buffer volume)/V:

    .. math:: C/C_0 = e^{-N S}

    Parameters
    ----------
    n : array_like
        Diavolumes [-].
    sieving : array_like
        Sieving coefficient [-].

    Returns
    -------
    ndarray
        C/C0 [-].
    """
    return np.exp(-np.asarray(n, dtype=float) * np.asarray(sieving, dtype=float))


#: The two variants of discontinuous diafiltration, by the volume a cycle swings through.
DISCONTINUOUS_DF_MODES = ("sequential-dilution", "volume-reduction")


def discontinuous_diafiltration_ratio(dilution_factor, cycles, sieving=1.0):
    r"""Concentration (and mass) remaining after discontinuous diafiltration, either variant.

    Sequential dilution: buffer takes V to k·V (C → C/k), ultrafiltration takes k·V back to V,
    ``C → (C/k)·k^(1−S)``. Volume reduction: ultrafiltration takes V to V/k (``C → C·k^(1−S)``),
    buffer takes V/k back to V (C → C·k^(1−S)/k). Both give ``k^(−S)`` per cycle, so after n cycles

    .. math:: C/C_0 = k^{-n S}

    (with S = 1 and k = 2, five cycles leave 2⁻⁵ = 0.03125, against e⁻⁵ = 0.0067 for five
    diavolumes of continuous diafiltration).

    Parameters
    ----------
    dilution_factor : array_like
        k > 1 [-]: the volume ratio of one cycle.
    cycles : array_like
        Number of cycles n [-].
    sieving : array_like
        Sieving coefficient S of the solute [-].

    Returns
    -------
    ndarray
        C/C0 [-].
    """
    k = np.asarray(dilution_factor, dtype=float)
    return k ** (-np.asarray(cycles, dtype=float) * np.asarray(sieving, dtype=float))


def discontinuous_buffer_volume(volume, dilution_factor, cycles, mode):
    r"""Buffer used by n cycles of discontinuous diafiltration at retentate volume V.

    ``n·(k − 1)·V`` for sequential dilution (each cycle adds buffer to reach k·V), ``n·(1 − 1/k)·V``
    for volume reduction (each cycle tops V/k back up to V).

    Parameters
    ----------
    volume : array_like
        Retentate volume V at the start of each cycle [L].
    dilution_factor : array_like
        k > 1 [-].
    cycles : array_like
        n [-].
    mode : str
        ``"sequential-dilution"`` or ``"volume-reduction"``.

    Returns
    -------
    ndarray
        Buffer volume [L].
    """
    k = np.asarray(dilution_factor, dtype=float)
    per_cycle = {"sequential-dilution": k - 1.0, "volume-reduction": 1.0 - 1.0 / k}[mode]
    return np.asarray(cycles, dtype=float) * per_cycle * np.asarray(volume, dtype=float)


def discontinuous_cycles_for_reduction(remaining_fraction, dilution_factor, sieving=1.0):
    r"""Whole cycles that leave at most a given fraction, ``n = ⌈−ln f/(S·ln k)⌉``.

    Parameters
    ----------
    remaining_fraction : float
        C/C0 to reach, in (0, 1).
    dilution_factor : float
        k > 1 [-].
    sieving : float
        Sieving coefficient of the solute to remove [-], > 0.

    Returns
    -------
    int
        Number of cycles.
    """
    exact = -np.log(float(remaining_fraction)) / (float(sieving) * np.log(float(dilution_factor)))
    return int(np.ceil(exact - 1e-9))


def diavolumes_for_reduction(remaining_fraction, sieving=1.0):
    r"""Diavolumes that leave a given fraction of a solute, ``N = −ln(f)/S``.

    Parameters
    ----------
    remaining_fraction : array_like
        C/C0 to reach, in (0, 1] (e.g. 0.001 for 99.9 % buffer exchange).
    sieving : array_like
        Sieving coefficient of the solute to remove [-], > 0.

    Returns
    -------
    ndarray
        N [-].
    """
    return -np.log(np.asarray(remaining_fraction, dtype=float)) / np.asarray(sieving, dtype=float)


def gel_optimal_diafiltration_concentration(cg):
    r"""Concentration that minimises constant-volume DF time under the gel model, ``C* = Cg/e``.

    DF time at concentration C for product mass M is ``t = N·(M/C)/(A·k·ln(Cg/C))``; minimising
    ``1/(C ln(Cg/C))`` gives ``ln(Cg/C*) = 1``, so ``J(C*) = k`` (Ng, Lundblad & Mitra 1976).

    Parameters
    ----------
    cg : array_like
        Gel concentration [g/L].

    Returns
    -------
    ndarray
        C* [g/L].
    """
    return np.asarray(cg, dtype=float) / np.e


def gel_concentration_time(v0, c0, c, k, cg, area):
    r"""Time to concentrate a fully retained solute (S = 0) from C0 to C at gel-model flux.

    With ``CV = C0·V0`` and ``dV/dt = −A·k·ln(Cg/C)``, substituting ``u = ln(Cg/C)``:

    .. math:: t = \frac{C_0 V_0}{A\,k\,C_g}\,\bigl[\mathrm{Ei}(\ln(C_g/C_0)) - \mathrm{Ei}(\ln(C_g/C))\bigr]

    where Ei is the exponential integral. Valid for ``C0 ≤ C < Cg``.

    Parameters
    ----------
    v0 : array_like
        Starting volume [L].
    c0, c : array_like
        Starting and final concentration [g/L].
    k : array_like
        Mass-transfer coefficient [LMH].
    cg : array_like
        Gel concentration [g/L].
    area : array_like
        Membrane area [m²].

    Returns
    -------
    ndarray
        Time [h].
    """
    v0, c0, c, k, cg, area = (np.asarray(x, dtype=float) for x in (v0, c0, c, k, cg, area))
    return c0 * v0 / (area * k * cg) * (expi(np.log(cg / c0)) - expi(np.log(cg / c)))


def gel_diafiltration_time(n, volume, c, k, cg, area):
    r"""Constant-volume DF time at gel-model flux for a fully retained product.

    .. math:: t = N\,V / (A\,k\,\ln(C_g/C))

    Parameters
    ----------
    n : array_like
        Diavolumes [-].
    volume : array_like
        Constant retentate volume [L].
    c : array_like
        Product concentration during DF [g/L].
    k, cg, area : array_like
        Mass-transfer coefficient [LMH], gel concentration [g/L], area [m²].

    Returns
    -------
    ndarray
        Time [h].
    """
    return np.asarray(n, dtype=float) * np.asarray(volume, dtype=float) / (
        np.asarray(area, dtype=float) * gel_polarization_flux(c, k, cg))
