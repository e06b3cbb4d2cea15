"""PDF reports: the HTML report printed by headless Chromium, with a header on every page.

The PDF is made from the very HTML report (same template, same numbers, same figures): Chromium opens
it, waits until every plot is drawn, and prints it on A4 with a header on every page that carries what
traces a printed copy back to the record — the result id, its version, its content hash (SHA-256) and
its signatures (signer, meaning, UTC time, valid or not) — and the page number. Chromium is driven
through Playwright's DevTools connection (``page.pdf``), which is what lets the header be set.

The browser is Debian's ``chromium`` (``apt-get install chromium``), or the one named by
``$FLUXWISE_CHROMIUM``; the Python side is ``playwright`` (``pip install 'fluxwise[pdf]'``). Without
either, :class:`PdfEngineMissing` says which is missing and how to install it (HTTP 503 in the doors).
"""

from __future__ import annotations

import html as _html
import os
import shutil
import threading
from collections.abc import Mapping
from typing import Any

from .. import __version__, i18n
from ..errors import FluxwiseError
from ..i18n import _

ENV_CHROMIUM = "FLUXWISE_CHROMIUM"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: The printable width of an A4 page with 12 mm margins, in CSS pixels (96 per inch): the report is laid
#: out at this width so its plots are drawn at the size they are printed.
A4_PRINT_WIDTH_PX = 703
_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_lock = threading.Lock()  # one browser at a time: each takes a few hundred MB


class PdfEngineMissing(FluxwiseError):
    """No PDF engine here: Chromium or the ``playwright`` package is not installed (HTTP 503)."""

    http_status = 503


class PdfFailed(FluxwiseError):
    """Chromium could not print the report (HTTP 503)."""

    http_status = 503


def chromium_path() -> str | None:
    """The Chromium to print with: ``$FLUXWISE_CHROMIUM``, else the first browser found on PATH."""
    named = os.environ.get(ENV_CHROMIUM, "").strip()
    if named:
        return named if os.path.isfile(named) and os.access(named, os.X_OK) else None
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def engine_problem() -> str | None:
    """Why PDFs cannot be made here (a sentence saying what to install), or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("PDF reports need the Python package playwright, which is not installed: "
                "pip install 'fluxwise[pdf]' (the HTML report works without it)")
    if chromium_path() is None:
        named = os.environ.get(ENV_CHROMIUM, "").strip()
        if named:
            return (f"PDF reports need Chromium: {ENV_CHROMIUM} names '{named}', which is not an executable "
                    "file")
        return ("PDF reports need a Chromium browser, which is not installed: apt-get install chromium (or "
                f"set {ENV_CHROMIUM} to a Chromium or Chrome executable); the HTML report works without it")
    return None


def _signature_text(sig: Mapping[str, Any]) -> str:
    state = _("valid") if sig.get("valid") else _("NOT VALID")
    return f"{sig.get('signer')} ({i18n.term(sig.get('meaning'))}, {sig.get('signed_at')}, {state})"


def header_html(record: Mapping[str, Any] | None, title: str) -> str:
    """The header printed on every page: the record's id, version, content hash and signatures (or that
    the report is not of a stored result), the title and the page number."""
    esc = _html.escape
    if record:
        sigs = record.get("signatures") or []
        signed = "; ".join(_signature_text(s) for s in sigs) if sigs else _("not signed")
        lines = [esc(_("result %(id)s · version %(v)s", id=record.get("result_id"), v=record.get("version"))),
                 esc(_("content SHA-256 %(hash)s", hash=record.get("content_sha256"))),
                 esc(_("signatures: %(list)s", list=signed))]
        if record.get("problems"):
            lines.append("<b>" + esc(_("THIS RECORD DOES NOT MATCH WHAT WAS STORED OR SIGNED")) + "</b>")
    else:
        lines = [esc(_("not a stored result: designed with fluxwise %(version)s, no record or signature",
                       version=__version__))]
    # the language the report was made in (the content hash does not depend on it)
    lines.append(esc(_("language: %(lang)s", lang=i18n.current())))
    body = "<br>".join(lines)
    return ('<div style="font-family: sans-serif; font-size: 7.5px; color: #333; width: 100%; '
            'margin: 0 12mm; display: flex; justify-content: space-between; gap: 8px;">'
            f'<div style="overflow-wrap: anywhere;">{esc(title)}<br>{body}</div>'
            '<div style="white-space: nowrap;">'
            + _("page %(page)s of %(pages)s", page='<span class="pageNumber"></span>',
                pages='<span class="totalPages"></span>') + '</div></div>')


def footer_html() -> str:
    """The footer printed on every page, in the current language."""
    return ('<div style="font-family: sans-serif; font-size: 7px; color: #666; width: 100%; margin: 0 12mm;">'
            + _html.escape(_("fluxwise %(version)s · printed from the HTML report of the same content",
                             version=__version__)) + '</div>')


def html_to_pdf(html: str, *, title: str, record: Mapping[str, Any] | None = None,
                timeout_s: float = 60.0) -> bytes:
    """Print a self-contained HTML report to PDF (A4) with the record header on every page.

    Raises :class:`PdfEngineMissing` when Chromium or playwright is not installed, :class:`PdfFailed`
    when printing fails.
    """
    problem = engine_problem()
    if problem:
        raise PdfEngineMissing(problem)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with _lock:
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(), args=_ARGS, headless=True)
                try:
                    page = browser.new_page(viewport={"width": A4_PRINT_WIDTH_PX, "height": 1000})
                    page.emulate_media(media="print")
                    # nothing leaves the machine: the report is self-contained
                    page.route("**/*", lambda route: route.abort() if route.request.url.startswith(
                        ("http:", "https:", "ws:", "wss:", "ftp:")) else route.continue_())
                    page.set_content(html, wait_until="load", timeout=timeout_s * 1000)
                    if page.locator(".js-plotly-plot, .plotly-graph-div").count():
                        page.wait_for_selector("html[data-plots-ready='1']", state="attached",
                                               timeout=timeout_s * 1000)
                    # the printed copy holds everything the HTML report holds, folded parts included
                    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
                    return page.pdf(format="A4", print_background=True, display_header_footer=True,
                                    header_template=header_html(record, title), footer_template=footer_html(),
                                    margin={"top": "24mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
                finally:
                    browser.close()
        except PlaywrightError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise PdfFailed(f"Chromium could not print the report: {first}") from None
