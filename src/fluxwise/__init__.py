"""fluxwise — filtration process development workbench for biomanufacturing."""

__version__ = "0.1.0"

from .pipeline import Analysis, SizingRequest, analyze, supply_study  # noqa: E402

__all__ = ["Analysis", "SizingRequest", "analyze", "supply_study", "__version__"]
