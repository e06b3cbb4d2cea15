"""The orchestrator: trial file -> fits of every model -> sizing -> report.

This is the one place the doors (Python API, CLI, HTTP API, web) call for trial analysis, so they
all give the same numbers and the same JSON. Quantities may be given as strings with units
("2000 L", "4 h", "13.8 cm2"); they are converted once, here, through the project's pint registry.

Every name is importable from here; the code lives in:

- :mod:`.trials` — trial analysis: :func:`load_trial`, :class:`SizingRequest`, :class:`Analysis`,
  :func:`analyze`, :func:`size_trial` (with :func:`buffer_flux`, :func:`viscosity_ratio`,
  :func:`vmax_linear_params`), the fit cache (:func:`fit_cached`), :func:`fit_result`,
  :func:`size_result`, :func:`report_analysis` and :func:`report_html`;
- :mod:`.cake` — cake properties (:func:`cake_analysis`, :func:`read_cake_study`) and the sizing steps
  :func:`size_trial` takes from them: sizing with a cake study, the turbidity limit (Tmax);
- :mod:`.series` — filters in series (:class:`SeriesAnalysis`, :func:`load_series_trial`,
  :func:`series_analysis`);
- :mod:`.compare` — screening: trials compared side by side (:class:`Comparison`,
  :func:`screening_economics`, :func:`compare_trials`);
- :mod:`.ufdf` — the UF/DF calculator's inputs (:data:`UFDF_INPUTS`, :func:`design_ufdf_from_inputs`);
- :mod:`.supply` — supply studies (:func:`supply_study`, :func:`run_supply_plan`,
  :func:`supply_study_uploaded`, :func:`supply_starter_plan`, :data:`MAX_SERVED_REPLICATIONS`,
  :data:`MAX_SERVED_PERIODS`).

The fit cache is module state of :mod:`.trials`: ``_fits`` and ``_fits_lock`` here are the same
objects (clear them, don't rebind them here); to replace ``fit_trial`` in a test, patch it where it is
looked up (``pipeline.trials.fit_trial``).
"""

# ruff: noqa: F401 - the package re-exports its submodules' names (more than __all__ lists)

from __future__ import annotations

from .cake import cake_analysis, read_cake_study
from .compare import Comparison, compare_trials, screening_economics
from .series import SeriesAnalysis, load_series_trial, series_analysis
from .supply import (
    MAX_SERVED_PERIODS,
    MAX_SERVED_REPLICATIONS,
    run_supply_plan,
    supply_starter_plan,
    supply_study,
    supply_study_uploaded,
)
from .trials import (
    BOOTSTRAP_METHODS,
    VMAX_LINEAR,
    Analysis,
    SizingRequest,
    _fits,
    _fits_lock,
    analyze,
    buffer_flux,
    fit_cached,
    fit_result,
    load_trial,
    report_analysis,
    report_html,
    size_result,
    size_trial,
    viscosity_ratio,
    vmax_linear_params,
)
from .ufdf import UFDF_INPUTS, design_ufdf_from_inputs

__all__ = ["Analysis", "analyze", "load_trial", "fit_result", "size_trial", "size_result", "report_html",
           "SizingRequest", "UFDF_INPUTS", "design_ufdf_from_inputs", "VMAX_LINEAR", "buffer_flux",
           "viscosity_ratio", "vmax_linear_params", "supply_study", "run_supply_plan",
           "supply_study_uploaded", "supply_starter_plan", "MAX_SERVED_REPLICATIONS", "MAX_SERVED_PERIODS"]
