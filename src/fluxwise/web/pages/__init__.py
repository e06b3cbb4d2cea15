"""The pages of the web workbench, server-rendered with Jinja2 over the same store as the HTTP API.

:mod:`.base` holds what every page shares (the page route and router, rendering, errors as pages,
the signed-in user); each other module holds the pages of one part of the workbench and a
``router`` for them. :func:`install_web` includes the routers of :data:`PAGE_MODULES`: a new
module of pages is one more line there.
"""

from __future__ import annotations

from importlib import import_module, resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

#: The modules of pages, each with a ``router``, in the order their routes are matched.
PAGE_MODULES = (
    "auth",  # home, sign in and out
    "projects",  # projects and one project
    "trials",  # one trial: plots, models, sizing, signatures
    "audit",  # the audit trail
    "trains",  # train design, kept or saved, and its report
    "compare",  # a project's trials side by side for one batch
    "lab",  # the virtual lab: cohorts, attempts, the instructor's dashboard
    "people",  # your account, organisations, invitations, shares, audit-trail reviews
    "supply",  # supply studies, kept or saved, and their reports
    "static",  # plotly.js from the installed package
)


def install_web(app: FastAPI) -> FastAPI:
    """Add the pages and their static files to ``app`` (an app of :func:`fluxwise.api.create_app`)."""
    for name in PAGE_MODULES:
        app.include_router(import_module(f"{__name__}.{name}").router)
    static = resources.files("fluxwise") / "web" / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
