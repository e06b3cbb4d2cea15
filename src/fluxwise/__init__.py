"""fluxwise — filtration process development workbench for biomanufacturing."""

__version__ = "0.1.0"
