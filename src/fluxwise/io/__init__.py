"""Import layer: read bench-rig exports (CSV, Excel) into canonical :class:`~fluxwise.trial.Trial` objects.

This package is the only place where fluxwise reads trial files. Everything it returns is in the
canonical units of :mod:`fluxwise.units`; everything a user can get wrong is reported as an
:class:`~fluxwise.errors.InputError` (or :class:`~fluxwise.errors.UnitError`) naming the file, the
row and the column.
"""

from __future__ import annotations

from .trials import parse_trial_frame, read_trial

__all__ = ["parse_trial_frame", "read_trial"]
