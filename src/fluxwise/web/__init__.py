"""The web workbench: pages for signing in, projects, trials (plots, model table, sizing, report,
signatures), train design and the audit trail, served beside the HTTP API on the same store.

``create_web_app`` takes the arguments of :func:`fluxwise.api.create_app` and returns that app with
the pages installed (:func:`install_web`); ``fluxwise serve`` runs it with uvicorn.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from .pages import install_web

__all__ = ["create_web_app", "install_web"]


def create_web_app(database_url: str | None = None, data_dir: str | os.PathLike | None = None, *,
                   settings=None, db=None, science=None, admission=None) -> FastAPI:
    """The HTTP API (``/api``) and the web pages (``/``) on one store; arguments as for
    :func:`fluxwise.api.create_app`."""
    from ..api import create_app

    return install_web(create_app(database_url, data_dir, settings=settings, db=db, science=science,
                                  admission=admission))
