"""A filterability trial in canonical units: the object every layer above ``io`` works on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CONSTANT_PRESSURE = "constant-pressure"
CONSTANT_FLUX = "constant-flux"
MODES = (CONSTANT_PRESSURE, CONSTANT_FLUX)


@dataclass(frozen=True)
class Trial:
    """One normal-flow filterability trial on a small test filter.

    Attributes
    ----------
    t_h : ndarray
        Elapsed time [h], strictly increasing.
    v_L_per_m2 : ndarray
        Cumulative filtrate volume per test-filter area [L/m²], non-decreasing, 0 at t=0 not required.
    area_m2 : float
        Effective filtration area of the test filter [m²].
    mode : str
        ``"constant-pressure"`` or ``"constant-flux"``.
    pressure_bar : ndarray or None
        Feed (differential) pressure [bar] at each point, when logged.
    source : str
        File (or other origin) the data came from, for messages and reports.
    meta : dict
        Anything else read from the file: sheet, detected columns, density used, notes.
    signals : dict
        Further logged channels, one value per point (NaN where a row has none), keyed with their
        canonical unit: ``turbidity_NTU`` (filtrate turbidity), ``p2_bar`` (pressure between two
        filters in series; ``pressure_bar`` is then P1, upstream of the first), ``p_outlet_bar``
        (pressure after the last filter).
    """

    t_h: np.ndarray
    v_L_per_m2: np.ndarray
    area_m2: float
    mode: str
    pressure_bar: np.ndarray | None = None
    source: str = "<memory>"
    meta: dict = field(default_factory=dict)
    signals: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("t_h", "v_L_per_m2", "pressure_bar"):
            arr = getattr(self, name)
            if arr is not None:
                arr = np.asarray(arr, dtype=float)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)
        signals = {}
        for name, arr in (self.signals or {}).items():
            arr = np.asarray(arr, dtype=float)
            if arr.shape != self.t_h.shape:
                raise ValueError(f"signal {name!r} has {arr.size} values for {self.t_h.size} points")
            arr.setflags(write=False)
            signals[str(name)] = arr
        object.__setattr__(self, "signals", signals)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")

    @property
    def points(self) -> int:
        return int(self.t_h.size)

    @property
    def volume_L(self) -> np.ndarray:
        """Cumulative filtrate volume [L] on the test filter."""
        return self.v_L_per_m2 * self.area_m2

    @property
    def flux_LMH(self) -> np.ndarray:
        """Instantaneous flux J = dV/dt [L/m²/h] by second-order finite differences."""
        if self.t_h.size < 3:
            return np.gradient(self.v_L_per_m2, self.t_h)
        return np.gradient(self.v_L_per_m2, self.t_h, edge_order=2)

    def summary(self) -> dict:
        """The ``trial`` block of the JSON results."""
        return {"source": self.source, "area_m2": self.area_m2, "mode": self.mode,
                "points": self.points}
