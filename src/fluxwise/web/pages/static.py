"""Assets served by route rather than from ``static/``: plotly.js of the installed plotly package, and the
legend script the pages share with the reports (:mod:`fluxwise.report.assets`)."""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache

from fastapi import Request
from fastapi.responses import Response

from .base import page_router

router = page_router()


@lru_cache(maxsize=1)
def _plotly_js() -> tuple[bytes, bytes, str]:
    from plotly.offline import get_plotlyjs

    raw = get_plotlyjs().encode("utf-8")
    return raw, gzip.compress(raw, compresslevel=6, mtime=0), '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


@router.get("/static/plotly.min.js")
def plotly_js(request: Request):
    """plotly.js of the installed plotly package (gzip when the browser takes it)."""
    raw, gz, etag = _plotly_js()
    headers = {"Cache-Control": "public, max-age=86400", "ETag": etag, "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(gz, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"})
    return Response(raw, media_type="text/javascript", headers=headers)


@router.get("/static/plot-legends.js")
def plot_legends_js():
    """The script that moves a narrow plot's legend below it (shared with the reports)."""
    from ...report.assets import legends_js

    return Response(legends_js(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})
