"""Filter formats and the choice of format and count for an installed area (pure, no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import DesignError

__all__ = ["FilterFormat", "FormatChoice", "choose_format", "format_options"]


@dataclass(frozen=True)
class FilterFormat:
    """One filter format of a catalog.

    Attributes
    ----------
    name : str  Format name as the catalog gives it.
    kind : str  ``disc``, ``capsule``, ``cartridge`` or another word of the catalog.
    area_m2 : float  Effective filtration area of one unit [m²].
    max_count : int  Most units of this format one step may use in parallel (housing size).
    price_usd : float  Price of one unit [USD] (planning figure from the catalog).
    plastic_kg : float  Single-use plastic mass of one unit [kg].
    hold_up_mL : float  Hold-up volume of one unit [mL].
    scale : str  ``lab``, ``pilot`` or ``process``.
    """

    name: str
    kind: str
    area_m2: float
    max_count: int = 10
    price_usd: float = 0.0
    plastic_kg: float = 0.0
    hold_up_mL: float = 0.0
    scale: str = "process"


@dataclass(frozen=True)
class FormatChoice:
    """A format, the number of units and how much area that installs beyond the requirement."""

    format: FilterFormat
    count: int
    required_area_m2: float

    @property
    def installed_area_m2(self) -> float:
        return self.count * self.format.area_m2

    @property
    def margin(self) -> float:
        """Installed area over required area, minus one [-]."""
        return self.installed_area_m2 / self.required_area_m2 - 1.0

    def to_dict(self) -> dict:
        f = self.format
        return {"name": f.name, "kind": f.kind, "area_m2": f.area_m2, "count": self.count,
                "installed_area_m2": self.installed_area_m2, "margin": self.margin,
                "price_usd": f.price_usd * self.count, "plastic_kg": f.plastic_kg * self.count,
                "hold_up_mL": f.hold_up_mL * self.count}


def format_options(formats, required_area_m2: float) -> list[FormatChoice]:
    """Every format able to provide ``required_area_m2`` within its ``max_count``, best first.

    Best = least installed area (least excess membrane, cost and hold-up), then fewest units.
    """
    if not required_area_m2 > 0:
        raise DesignError(f"required area must be positive, got {required_area_m2!r} m²")
    options = []
    for f in formats:
        count = max(1, math.ceil(required_area_m2 / f.area_m2 - 1e-9))
        if count <= f.max_count:
            options.append(FormatChoice(f, count, required_area_m2))
    options.sort(key=lambda c: (c.installed_area_m2, c.count, c.format.name))
    return options


def choose_format(formats, required_area_m2: float, *, name: str | None = None) -> FormatChoice:
    """The best format for an area, or the named one (with as many units as it takes)."""
    formats = list(formats)
    if name is not None:
        for f in formats:
            if f.name.lower() == name.lower():
                count = max(1, math.ceil(required_area_m2 / f.area_m2 - 1e-9))
                return FormatChoice(f, count, required_area_m2)
        names = ", ".join(f.name for f in formats)
        raise DesignError(f"format '{name}' is not in the catalog (formats: {names})")
    options = format_options(formats, required_area_m2)
    if not options:
        largest = max(formats, key=lambda f: f.area_m2 * f.max_count)
        raise DesignError(
            f"no catalog format provides {required_area_m2:.3g} m² within its maximum count; the largest is "
            f"{largest.max_count} x {largest.name} = {largest.area_m2 * largest.max_count:.3g} m²: split the "
            "batch over parallel trains or add a larger format to the catalog")
    return options[0]
