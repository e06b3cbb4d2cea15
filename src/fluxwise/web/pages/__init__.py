"""The pages of the web workbench, server-rendered with Jinja2 over the same store as the HTTP API.

:mod:`.base` holds what every page shares (the page route and router, rendering, errors as pages,
the signed-in user); each other module holds the pages of one part of the workbench and a
``router`` for them. :func:`install_web` includes the routers of :data:`PAGE_MODULES`: a new
module of pages is one more line there.
"""

from __future__ import annotations

import logging
from importlib import import_module, resources

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...api.headers import is_api_path

log = logging.getLogger(__name__)

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
    """Add the pages and their static files to ``app`` (an app of :func:`fluxwise.api.create_app`), and
    error pages in the site's layout (with its navigation) for any other address and any failure."""
    for name in PAGE_MODULES:
        app.include_router(import_module(f"{__name__}.{name}").router)
    static = resources.files("fluxwise") / "web" / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    _install_error_pages(app)
    return app


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not (is_api_path(path) or path.startswith("/static/"))


def _install_error_pages(app: FastAPI) -> None:
    """404 for an unknown page, 405 and other HTTP errors, and 500 for a failure nobody foresaw: pages in
    the base layout (navigation kept), while ``/api`` and ``/static`` keep their JSON answers."""
    from .base import error_response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if not _is_page(request):
            return await http_exception_handler(request, exc)
        message = {404: "there is no page at this address", 405: "this page does not take that request"}.get(
            exc.status_code, str(exc.detail))
        response = error_response(request, exc.status_code, message)
        for k, v in (getattr(exc, "headers", None) or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        if not _is_page(request):
            return JSONResponse({"detail": "internal error: the server failed on this request; it was "
                                           "logged"}, status_code=500)
        return error_response(request, 500, "the server failed on this request; it was logged. Try "
                                            "again, and tell your administrator if it persists.")
