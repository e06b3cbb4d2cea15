r"""Screening: several trials (prefilter/filter combinations, feeds, lots) compared side by side for one
batch — each trial's best model, capacity, flux, area, formats and filter cost per batch — and ranked.

Filter cost per batch of a trial sized for the batch (:func:`fluxwise.design.sizing.size_filter`):

* **filters** — the chosen format × count at the catalog price (single use);
* **pre-use flush** — water for injection at ``pre_use_flush_L_per_m2`` × installed area, at the
  factor file's price per litre;
* **product lost** — in the filters' hold-up V_h after one well-mixed buffer chase V_c,
  ``C·V_h·V_h/(V_h + V_c)`` (the recovery model of :mod:`fluxwise.design.train`), plus the first
  filtrate sent to waste with a product flush, ``C·V_pf·A`` — valued at ``product_value_per_g`` when it
  is given (its grams and litres are reported either way).

The ranking is by the total (cheapest first), then the least installed area; trials that cannot be
sized for the batch (no format meets it, or the batch cannot be filtered in the time) are listed last
with the reason. Product value and titre are the user's: the planning figures of ``factors.yaml`` have
no price of product.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Economics", "screening_row", "rank_rows"]


@dataclass(frozen=True)
class Economics:
    """What a batch's filter cost is made of besides the filters (see the module docstring).

    ``titre_g_per_L`` [g/L] and ``product_value_per_g`` [USD/g] may be None (product then counted in
    litres only); ``chase_L`` [L] buffer chases the hold-up of the whole installation;
    ``product_flush_L_per_m2`` [L/m²] of first filtrate goes to waste; ``pre_use_flush_L_per_m2`` [L/m²]
    of WFI at ``wfi_per_L`` [USD/L]. ``sources`` says where the defaults came from.
    """

    titre_g_per_L: float | None = None
    product_value_per_g: float | None = None
    chase_L: float = 0.0
    product_flush_L_per_m2: float = 0.0
    pre_use_flush_L_per_m2: float = 0.0
    wfi_per_L: float = 0.0
    sources: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def screening_row(name: str, sizing, *, mode: str, best_model: str, tied: list, j0_LMH: float,
                  econ: Economics) -> dict:
    """One trial's row: capacity, flux, areas, format and the cost per batch, every key with its unit."""
    c = sizing.choice
    installed = c.installed_area_m2
    capacity = sizing.batch_volume_L / sizing.min_area_m2
    hold_up = c.format.hold_up_mL * c.count / 1000.0
    unrecovered = hold_up * hold_up / (hold_up + econ.chase_L) if hold_up > 0 else 0.0
    product_flush = econ.product_flush_L_per_m2 * installed
    lost_L = unrecovered + product_flush
    lost_g = None if econ.titre_g_per_L is None else econ.titre_g_per_L * lost_L
    value = econ.product_value_per_g
    lost_usd = None if lost_g is None or value is None else lost_g * value
    flush_L = econ.pre_use_flush_L_per_m2 * installed
    flush_usd = flush_L * econ.wfi_per_L
    filters_usd = c.format.price_usd * c.count
    total = filters_usd + flush_usd + (lost_usd or 0.0)
    return {"trial": name, "mode": mode, "best_model": best_model, "model": sizing.model,
            "tied_models": list(tied),
            "capacity_L_per_m2": capacity, "J0_LMH": j0_LMH,
            "average_flux_LMH": capacity / sizing.process_time_h if sizing.process_time_h else None,
            "process_time_h": sizing.process_time_h, "min_area_m2": sizing.min_area_m2,
            "required_area_m2": sizing.installed_area_m2, "installed_area_m2": installed,
            "format": c.to_dict(), "format_label": f"{c.count} x {c.format.name}",
            "filters_usd": filters_usd, "pre_use_flush_L": flush_L, "pre_use_flush_usd": flush_usd,
            "hold_up_L": hold_up, "product_lost_L": lost_L, "product_lost_g": lost_g,
            "product_lost_usd": lost_usd,
            "cost_per_batch_usd": total, "cost_includes_product": lost_usd is not None,
            "warnings": list(sizing.warnings), "error": None}


def rank_rows(rows: list[dict]) -> list[dict]:
    """Rows ranked: cheapest total first, then least installed area; rows with an error last (rank None)."""
    ok = sorted((r for r in rows if r.get("error") is None),
                key=lambda r: (r["cost_per_batch_usd"], r["installed_area_m2"], r["trial"]))
    failed = [r for r in rows if r.get("error") is not None]
    for i, r in enumerate(ok, start=1):
        r["rank"] = i
    for r in failed:
        r["rank"] = None
    return ok + failed
