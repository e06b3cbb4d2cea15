"""Security headers of every response, set in one place, and how reports and files are served.

:class:`SecurityHeaders` is a pure ASGI middleware around the whole app (API, pages, static files),
so a page added later gets the same headers without anyone remembering them. It only adds what a
response has not set itself:

- ``Content-Security-Policy``: pages may run scripts from this server only (no inline script, no
  ``eval``; the figures' data sit in ``<script type="application/json">`` blocks, which are not run);
  styles may be inline because plotly styles its plots that way; ``frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY`` keep the workbench out of other sites' frames (clickjacking). JSON and
  files under ``/api`` get ``default-src 'none'`` and a sandbox: nothing in them may ever run.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``,
  ``Cross-Origin-Opener-Policy: same-origin``.
- ``Cache-Control: no-store`` on everything but static assets: pages, reports and data are a
  tenant's records and must not stay in shared or browser caches.
- ``Strict-Transport-Security`` when the installation serves over HTTPS (secure cookies on).

Reports are self-contained HTML with plotly.js inline, so they cannot live under the pages' policy.
:func:`report_response` serves them with ``Content-Security-Policy: sandbox allow-scripts;
frame-ancestors 'self'``: their scripts run (the plots work, also in a frame of the workbench) but
in an opaque origin, with no access to the workbench's cookies, storage or API. Downloads are
attachments named with RFC 6266 / RFC 8187 ``filename*=UTF-8''...`` so a Unicode name survives, beside
an ASCII ``filename`` for old clients (:func:`content_disposition`).
"""

from __future__ import annotations

import inspect
import logging
import os
import unicodedata
from urllib.parse import quote

from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request

log = logging.getLogger(__name__)

#: The pages' policy: scripts and everything else from this server only; styles may be inline (plotly).
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'")
#: JSON and files of the API: nothing in them is ever run or framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
#: Reports: their inline scripts run, sandboxed in an opaque origin; only the workbench may frame them.
REPORT_CSP = "sandbox allow-scripts; frame-ancestors 'self'"
NO_STORE = "no-store"
HSTS = "max-age=31536000"

_COMMON = (("x-content-type-options", "nosniff"), ("referrer-policy", "same-origin"),
           ("cross-origin-opener-policy", "same-origin"))


class SecurityHeaders:
    """ASGI middleware: add the security headers above to every HTTP response that lacks them."""

    def __init__(self, app, *, hsts: bool = False):
        self.app, self.hsts = app, hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                _add_headers(headers, path, self.hsts)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # An error nothing handled: answer 500 here, with the headers (the answer of the app's
            # ``Exception`` handler is otherwise made outside this middleware, without them), then let
            # the server log it.
            if not started:
                response = await _error_response(scope, exc, path)
                await response(scope, receive, send_with_headers)
            raise


async def _error_response(scope, exc: Exception, path: str):
    """The app's own answer to an unexpected error (its ``Exception`` handler: the web app's error page
    keeps the navigation), else :func:`_internal_error`."""
    handler = (getattr(scope.get("app"), "exception_handlers", None) or {}).get(Exception)
    if handler is not None:
        try:
            request = Request(scope)
            if inspect.iscoroutinefunction(handler):
                return await handler(request, exc)
            return await run_in_threadpool(handler, request, exc)
        except Exception:  # noqa: BLE001 - the handler failed too: the plain answer below
            log.exception("the error handler failed on %s", path)
    return _internal_error(path)


def is_api_path(path: str) -> bool:
    """Whether ``path`` is the HTTP API's (``/api`` and below), which answers in JSON."""
    return path == "/api" or path.startswith("/api/")


def _internal_error(path: str):
    """The plain answer to an unexpected error: JSON under ``/api``, else a short page with a way back."""
    if is_api_path(path):
        return JSONResponse({"detail": "internal server error: the error is logged on the server"},
                            status_code=500)
    return HTMLResponse(_ERROR_PAGE, status_code=500)


_ERROR_PAGE = ("<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
               "content=\"width=device-width, initial-scale=1\"><title>fluxwise: internal error</title>"
               "</head><body><h1>Something went wrong</h1><p>The error is logged on the server. Check "
               "whether what you did was saved before you try it again.</p>"
               "<p><a href=\"/\">Home</a> · <a href=\"/projects\">"
               "Projects</a></p></body></html>")


def _add_headers(headers: MutableHeaders, path: str, hsts: bool) -> None:
    for name, value in _COMMON:
        headers.setdefault(name, value)
    csp = headers.get("content-security-policy")
    if csp is None:
        csp = API_CSP if is_api_path(path) else PAGE_CSP
        headers["content-security-policy"] = csp
    headers.setdefault("x-frame-options", "SAMEORIGIN" if "frame-ancestors 'self'" in csp else "DENY")
    if not path.startswith("/static/"):
        headers.setdefault("cache-control", NO_STORE)
    if hsts:
        headers.setdefault("strict-transport-security", HSTS)


def ascii_filename(name: str, default: str = "download") -> str:
    """An ASCII stand-in for ``name`` (accents dropped, anything else outside ``[A-Za-z0-9._-]`` -> ``_``)."""
    decomposed = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in text)
    stem, ext = os.path.splitext(text)
    stem = stem.strip("._") if any(c.isalnum() for c in stem) else default
    return stem + (ext if any(c.isalnum() for c in ext) else "")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """``attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded UTF-8>`` (RFC 6266, RFC 8187).

    Clients that know ``filename*`` (every current browser) save the file under its Unicode name;
    ``filename`` is the ASCII fallback. Control characters and path separators never reach either.
    """
    clean = "".join(c for c in filename if unicodedata.category(c)[0] != "C" and c not in "/\\")
    clean = clean.strip() or "download"
    fallback = ascii_filename(clean)
    # RFC 8187 attr-char: ALPHA / DIGIT / "!#$&+-.^_`|~"; quote() leaves letters, digits and "_.-~".
    encoded = quote(clean.encode("utf-8", "backslashreplace"), safe="!#$&+^`|")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def report_response(html: str, *, filename: str, download: bool = False,
                    headers: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    """A report: sandboxed (``REPORT_CSP``), never cached, and an attachment named ``filename`` when
    ``download`` (else shown inline, e.g. in a new tab or a frame of the workbench)."""
    out = {"Content-Security-Policy": REPORT_CSP, "Cache-Control": NO_STORE, **(headers or {})}
    if download:
        out["Content-Disposition"] = content_disposition(filename)
    return HTMLResponse(html, status_code=status_code, headers=out)
