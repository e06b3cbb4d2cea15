"""The HTTP door: a FastAPI app over the store and :mod:`fluxwise.pipeline` (``create_app``)."""

from .app import create_app

__all__ = ["create_app"]
