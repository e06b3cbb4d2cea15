"""Screening: trials sized for the same batch, costed and ranked side by side (``fluxwise compare``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import InputError
from ..fit.fouling import fit_trial
from ..trial import CONSTANT_PRESSURE, Trial
from ..units import parse_quantity
from .trials import Analysis, SizingRequest, load_trial, size_trial

__all__ = ["Comparison", "screening_economics", "compare_trials"]


@dataclass(frozen=True)
class Comparison:
    """Several trials sized for one batch and ranked (``rows`` ranked; ``analyses`` by trial name)."""

    rows: list
    analyses: dict
    request: SizingRequest
    economics: object  # fluxwise.design.screening.Economics

    def to_dict(self) -> dict:
        return {"batch_volume_L": self.request.batch_volume_L, "process_time_h": self.request.process_time_h,
                "max_pressure_bar": self.request.max_pressure_bar,
                "safety_factor": self.request.safety_factor,
                "economics": self.economics.to_dict(),
                "ranking": [r["trial"] for r in self.rows if r["rank"]],
                "rows": list(self.rows)}

    def figure(self):
        """One overlay of flux decay against loading for every trial (:func:`fluxwise.report.figures`)."""
        import plotly.graph_objects as go

        from ..report.figures import flux_decay_overlay_figure

        # a plotly Figure: ``fluxwise compare --plot`` writes it with its to_html
        return flux_decay_overlay_figure(list(self.analyses.values()), figure=go.Figure)


def screening_economics(*, titre=None, product_value=None, chase=None, product_flush=None, pre_use_flush=None,
                        factors=None):
    """:class:`fluxwise.design.screening.Economics` from user strings (``"5 g/L"``, ``"120"`` USD/g,
    ``"2 L"``, ``"10 L/m2"``); the pre-use flush defaults to the factor file's sterile-filter flush, at
    its WFI price."""
    from ..design.screening import Economics
    from ..io.train import read_factors

    f = read_factors(factors)
    wfi = f.costs["wfi_per_L"]
    flush_default = f.flush_L_per_m2["sterile"]
    value = None
    if product_value is not None:
        text = str(product_value).strip()
        for suffix in ("USD/g", "usd/g", "$/g"):
            text = text[: -len(suffix)].strip() if text.endswith(suffix) else text
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"'{product_value}' is not a price per gram (expected e.g. '120 USD/g')",
                             field="product-value") from None
        if not value >= 0:
            raise InputError(f"must be 0 or more, got {product_value!r}", field="product-value")

    def q(v, kind, fieldname):
        return None if v is None else parse_quantity(v, kind, field=fieldname)

    flush = q(pre_use_flush, "specific_volume", "pre-use-flush")
    return Economics(titre_g_per_L=q(titre, "concentration", "titre"), product_value_per_g=value,
                     chase_L=q(chase, "volume", "chase") or 0.0,
                     product_flush_L_per_m2=q(product_flush, "specific_volume", "product-flush") or 0.0,
                     pre_use_flush_L_per_m2=flush_default.value if flush is None else flush,
                     wfi_per_L=wfi.value,
                     sources={"pre_use_flush_L_per_m2": ("option" if flush is not None
                                                         else flush_default.cite()),
                              "wfi_per_L": wfi.cite()})


def compare_trials(trials, *, sizing: SizingRequest | dict, economics=None, names=None) -> Comparison:
    """Fit and size every trial for the same batch, cost each batch and rank them.

    ``trials``: paths or :class:`Trial` objects (``names`` labels them; default the file names);
    ``sizing``: a :class:`SizingRequest` or its keyword arguments (``batch_volume``, ``process_time``,
    ``max_pressure`` for constant-flux trials, ``safety_factor``, ...); ``economics``: a
    :class:`fluxwise.design.screening.Economics` or the keywords of :func:`screening_economics`.
    """
    from ..design.screening import Economics, rank_rows, screening_row
    from ..errors import FluxwiseError

    req = SizingRequest.parse(**sizing) if isinstance(sizing, dict) else sizing
    econ = economics if isinstance(economics, Economics) else screening_economics(**(economics or {}))
    items = list(trials)
    if len(items) < 1:
        raise InputError("give at least one trial to compare", field="trials")
    labels = list(names) if names is not None else [
        t.source if isinstance(t, Trial) else str(getattr(t, "name", t)).rsplit("/", 1)[-1] for t in items]
    if len(set(labels)) != len(labels):
        labels = [f"{i + 1}: {label}" for i, label in enumerate(labels)]
    rows, analyses = [], {}
    for label, item in zip(labels, items, strict=True):
        trial = item if isinstance(item, Trial) else load_trial(item)
        fit = fit_trial(trial)
        analyses[label] = Analysis(trial=trial, fit=fit)
        r = req
        if trial.mode == CONSTANT_PRESSURE and req.process_time_h is None:
            r = dataclasses.replace(req, process_time_h=4.0)
        try:
            if trial.mode != CONSTANT_PRESSURE and req.max_pressure_bar is None:
                raise InputError("a constant-flux trial is sized to a maximum pressure: give max_pressure "
                                 "(--max-pressure)", field="max-pressure")
            sz = size_trial(fit, r)
        except FluxwiseError as exc:
            rows.append({"trial": label, "mode": trial.mode, "best_model": fit.best_model,
                         "tied_models": list(fit.indistinguishable), "error": str(exc)})
            continue
        analyses[label] = Analysis(trial=trial, fit=fit, sizing=sz, request=r)
        rows.append(screening_row(label, sz, mode=trial.mode, best_model=fit.best_model,
                                  tied=list(fit.indistinguishable), j0_LMH=float(fit.best.params["J0_LMH"]),
                                  econ=econ))
    return Comparison(rows=rank_rows(rows), analyses=analyses, request=req, economics=econ)
