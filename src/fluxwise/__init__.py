"""fluxwise — filtration process development workbench for biomanufacturing."""

__version__ = "0.1.0"

__all__ = ["Analysis", "SizingRequest", "analyze", "supply_study", "__version__"]


def __getattr__(name):
    # The orchestrator (and with it pint, pandas and scipy) is imported when first used, not with
    # the package: ``fluxwise --help`` and the light commands need none of it.
    if name in ("Analysis", "SizingRequest", "analyze", "supply_study"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
