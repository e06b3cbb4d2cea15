"""The UF/DF calculator's inputs: user quantities with units -> :func:`fluxwise.design.ufdf.design_ufdf`."""

from __future__ import annotations

from ..errors import InputError
from ..units import parse_quantity

__all__ = ["UFDF_INPUTS", "design_ufdf_from_inputs"]


#: design_ufdf's arguments -> the inputs of the UF/DF calculator: the JSON fields of
#: POST /api/design/ufdf, and the options of ``fluxwise ufdf`` (``--`` + the name with ``-`` for ``_``)
UFDF_INPUTS = {"initial_volume_L": "volume", "initial_concentration_g_per_L": "concentration",
               "final_concentration_g_per_L": "target_concentration", "k_LMH": "k",
               "gel_concentration_g_per_L": "cg", "area_m2": "area", "process_time_h": "process_time",
               "df_concentration": "df_concentration", "diavolumes": "diavolumes",
               "df_remaining_fraction": "df_remaining", "product_sieving": "sieving",
               "impurity_sieving": "impurity_sieving", "hold_up_volume_L": "hold_up",
               "flush_volume_L": "flush", "feed_flux_LMH": "feed_flux", "cassette_area_m2": "cassette_area",
               "df_mode": "df_mode", "dilution_factor": "dilution_factor", "df_cycles": "cycles"}


def design_ufdf_from_inputs(inputs: dict, *, label=lambda name: name):
    """The UF/DF calculator: :func:`fluxwise.design.ufdf.design_ufdf` from user inputs with units.

    ``inputs`` is keyed by the names of :data:`UFDF_INPUTS` (``volume="100 L"``, ``k="20 LMH"``,
    ``df_concentration="optimal"`` or ``"80 g/L"``, ...); missing inputs take design_ufdf's defaults.
    Errors name ``label(input name)``: the JSON field for the API, the option for the CLI.
    """
    from ..design.ufdf import design_ufdf

    def quantity(key, kind, value=None):
        value = inputs.get(key) if value is None else value
        return None if value is None else parse_quantity(value, kind, field=label(key))

    def number(key, default=None):
        value = inputs.get(key)
        if value is None:
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise InputError(f"'{value}' is not a number", field=label(key)) from None

    if (inputs.get("area") is None) == (inputs.get("process_time") is None):
        raise InputError(f'give exactly one of {label("area")} (e.g. "1 m2") and {label("process_time")} '
                         f'(e.g. "4 h")', field=label("area"))
    dfc = str(inputs.get("df_concentration") or "optimal").strip()
    kwargs = dict(
        initial_volume_L=quantity("volume", "volume"),
        initial_concentration_g_per_L=quantity("concentration", "concentration"),
        final_concentration_g_per_L=quantity("target_concentration", "concentration"),
        k_LMH=quantity("k", "flux"), gel_concentration_g_per_L=quantity("cg", "concentration"),
        area_m2=quantity("area", "area"), process_time_h=quantity("process_time", "time"),
        df_concentration=("optimal" if dfc.lower() == "optimal"
                          else quantity("df_concentration", "concentration", dfc)),
        diavolumes=number("diavolumes"), df_remaining_fraction=number("df_remaining"),
        product_sieving=number("sieving", 0.0), impurity_sieving=number("impurity_sieving", 1.0),
        hold_up_volume_L=quantity("hold_up", "volume") or 0.0,
        flush_volume_L=quantity("flush", "volume") or 0.0,
        feed_flux_LMH=quantity("feed_flux", "flux"), cassette_area_m2=quantity("cassette_area", "area"),
        df_mode=str(inputs.get("df_mode") or "continuous"), dilution_factor=number("dilution_factor"),
        df_cycles=number("cycles"))
    try:
        return design_ufdf(**kwargs)
    except InputError as exc:  # name the input the user gave, not the Python argument
        field = label(UFDF_INPUTS[exc.field]) if exc.field in UFDF_INPUTS else exc.field
        raise type(exc)(exc.message, source=exc.source, row=exc.row, column=exc.column, field=field) from None
