"""Languages of the workbench: gettext catalogues read with Babel, the language of the current request,
and numbers and dates written for it.

English is the source language. Each other language has a catalogue
``fluxwise/locale/<lang>/LC_MESSAGES/fluxwise.po``; it is compiled in memory the first time it is
used (no ``.mo`` file is built or committed, so a clean checkout works as it is). ``xx`` is a
pseudo-language made on the fly from the Korean catalogue's message ids: every message becomes
``⟦message⟧``, so a page rendered in ``xx`` shows at a glance (and to a test) any text left unmarked.

Marking strings:

- templates (Jinja2 with ``jinja2.ext.i18n``): ``{{ _("Projects") }}``,
  ``{{ _("%(n)s points", n=trial.points) }}``, ``{{ ngettext("%(num)d entry", "%(num)d entries", n) }}``;
- Python: ``from fluxwise.i18n import _`` (and ``ngettext``; ``N_`` marks a constant that is
  translated later with ``_(constant)``, ``lazy_gettext`` one translated whenever it is shown).

``make i18n`` extracts the marked strings into ``locale/fluxwise.pot`` and updates every catalogue;
``make i18n-check`` fails on an untranslated or fuzzy message or a catalogue out of date with the
source. Which language a request gets is decided by the doors (:func:`choose`); this module only
holds it (:func:`using`, :func:`current`).

Babel's catalogue, date and message modules are imported where a catalogue is compiled or a number
or date is written for a language other than English, not with this module: the command line speaks
English and starts without them (``babel.dates`` alone reads the time zone database at import).
"""

from __future__ import annotations

import datetime as _dt
import functools
import gettext as _gettext
import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale
    from babel.support import LazyProxy, Translations

#: The source language: its text is the message ids themselves.
SOURCE = "en"
#: The languages a user may choose, each named in itself (for the language switch).
LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}
#: The pseudo-language of the tests: every message wrapped in these markers.
PSEUDO = "xx"
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"
DOMAIN = "fluxwise"

_current: ContextVar[str] = ContextVar("fluxwise_language", default=SOURCE)


def supported(lang: str | None) -> str | None:
    """``lang`` if it is a language fluxwise speaks (``ko``, ``ko-KR`` and ``ko_kr`` are ``ko``;
    ``xx`` only for tests), else None."""
    if not lang:
        return None
    lang = str(lang).strip().replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES or lang == PSEUDO else None


def negotiate(accept_language: str | None) -> str | None:
    """The best language of an ``Accept-Language`` header that fluxwise speaks (by q value, then
    order), or None when it names none (``*`` names none: the caller's default applies)."""
    choices = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        m = re.search(r"q\s*=\s*([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        lang = supported(tag)
        if lang and lang != PSEUDO and q > 0:
            choices.append((-q, i, lang))
    return min(choices)[2] if choices else None


def choose(*, asked: str | None = None, user: str | None = None, org: str | None = None,
           accept_language: str | None = None) -> str:
    """The language of a request: what was asked for now (``?lang=``), else the signed-in user's
    stored choice, else the organisation's default, else the browser's ``Accept-Language``, else
    English."""
    for lang in (supported(asked), supported(user), supported(org), negotiate(accept_language)):
        if lang:
            return lang
    return SOURCE


def _locale_dir():
    return resources.files("fluxwise") / "locale"


def catalogue_path(lang: str):
    """The ``.po`` file of ``lang`` inside the package."""
    return _locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compile(catalog) -> Translations:
    from babel.messages.mofile import write_mo
    from babel.support import Translations

    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (cached): ``NullTranslations`` for English or a language
    without a catalogue, the wrapped ids of the Korean catalogue for the pseudo-language."""
    if lang == SOURCE or lang not in LANGUAGES and lang != PSEUDO:
        return _gettext.NullTranslations()
    source = "ko" if lang == PSEUDO else lang
    path = catalogue_path(source)
    if not path.is_file():
        return _gettext.NullTranslations()
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh, locale=source, domain=DOMAIN)
    if lang == PSEUDO:
        for message in catalog:
            if not message.id:
                continue
            if isinstance(message.id, tuple | list):
                message.string = tuple(f"{PSEUDO_OPEN}{i}{PSEUDO_CLOSE}" for i in message.id)
            else:
                message.string = f"{PSEUDO_OPEN}{message.id}{PSEUDO_CLOSE}"
            message.flags.discard("fuzzy")
    return _compile(catalog)


def current() -> str:
    """The language of the current request (English outside one)."""
    return _current.get()


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` (a supported language, else English) inside the block."""
    lang = supported(lang) or SOURCE
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def activate(lang: str | None) -> str:
    """Speak ``lang`` from now on in this context (a request's thread or task); returns it."""
    lang = supported(lang) or SOURCE
    _current.set(lang)
    return lang


def gettext(message: str, **variables) -> str:
    """``message`` in the current language; ``%(name)s`` placeholders are filled from ``variables``."""
    text = translations(current()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables) -> str:
    """The singular or plural form for ``n`` in the current language; ``%(num)d`` is ``n``."""
    text = translations(current()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; translate it where it is shown with ``_(message)``."""
    return message


def lazy_gettext(message: str) -> LazyProxy:
    """``message`` translated whenever it is turned into text (for module-level constants)."""
    from babel.support import LazyProxy

    return LazyProxy(gettext, message, enable_cache=False)


#: How machine-readable values (modes, roles, signature meanings, result kinds, audit actions and
#: object types, model and step identifiers) read on a page; the value itself stays in forms and JSON.
TERMS = {
    "constant-pressure": N_("constant pressure"), "constant-flux": N_("constant flux"),
    "admin": N_("admin"), "scientist": N_("scientist"), "reviewer": N_("reviewer"), "trainee": N_("trainee"),
    "owner": N_("owner"), "shared": N_("shared"), "customer": N_("customer"), "hub": N_("hub"),
    "author": N_("author"), "review": N_("review"), "approve": N_("approve"),
    "fit": N_("fit"), "sizing": N_("sizing"), "train": N_("train"),
    "create": N_("create"), "update": N_("update"), "delete": N_("delete"), "sign": N_("sign"),
    "login": N_("login"), "logout": N_("logout"), "login_failed": N_("login failed"),
    "sign_failed": N_("signing failed"), "lockout": N_("lockout"), "unlock": N_("unlock"),
    "api_token": N_("API token"), "audit_review": N_("audit-trail review"), "invitation": N_("invitation"),
    "membership": N_("membership"), "organisation": N_("organisation"), "project": N_("project"),
    "project_share": N_("project share"), "result": N_("result"), "trial": N_("trial"),
    "upload": N_("upload"),
    "user": N_("user"), "audit_key": N_("audit key"),
    "open": N_("open"), "pending": N_("open"), "accepted": N_("accepted"), "declined": N_("declined"),
    "revoked": N_("withdrawn"),
    "complete": N_("complete blocking"), "standard": N_("standard blocking"),
    "intermediate": N_("intermediate blocking"), "cake": N_("cake filtration"),
    "cake-complete": N_("cake + complete blocking"), "cake-intermediate": N_("cake + intermediate blocking"),
    "cake-standard": N_("cake + standard blocking"), "complete-standard": N_("complete + standard blocking"),
    "intermediate-standard": N_("intermediate + standard blocking"),
    "depth": N_("depth filtration"), "bioburden": N_("bioburden reduction"),
    "sterile": N_("sterile filtration"),
    "virus": N_("virus filtration"), "ufdf": N_("UF/DF"), "hold": N_("hold"),
    "lab": N_("lab"), "pilot": N_("pilot"), "process": N_("process"),
    "metadata": N_("metadata"), "detected": N_("detected"), "given": N_("given"), "default": N_("default"),
    "mass": N_("mass"), "volume": N_("volume"), "time": N_("time"), "pressure": N_("pressure"),
    "flux": N_("flux"), "yes": N_("yes"), "no": N_("no"),
    "t/V vs t": N_("t/V vs t"), "sqrt(P0/P) vs V": N_("sqrt(P0/P) vs V"),
    # the virtual lab: cohort modes, roles, levels and the GMP actions
    "practice": N_("practice"), "assessment": N_("assessment"), "instructor": N_("instructor"),
    "easy": N_("easy"), "medium": N_("medium"), "hard": N_("hard"),
    "verify": N_("verify"), "install": N_("install"), "flush": N_("flush"), "sterilise": N_("sterilise"),
    "integrity_test": N_("integrity test"), "record_result": N_("record result"),
    "check_setup": N_("check setup"), "rewet": N_("rewet"), "reject": N_("reject"), "replace": N_("replace"),
    "deviation": N_("deviation"), "filter": N_("filter"), "flush_out": N_("flush out"),
    "quarantine_batch": N_("quarantine batch"), "correct": N_("correct"),
}


def term(value) -> str:
    """A machine-readable value as the current language names it (:data:`TERMS`); others unchanged."""
    if isinstance(value, str) and value in TERMS:
        return gettext(TERMS[value])
    return "" if value is None else str(value)


def babel_locale(lang: str | None = None) -> Locale:
    """The Babel locale of ``lang`` (default: the current language; the pseudo-language writes numbers
    and dates as English)."""
    from babel import Locale

    lang = lang or current()
    return Locale.parse("en" if lang in (PSEUDO, SOURCE) else lang)


def format_number(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, written for the current language with Babel (decimal
    sign and grouping; scientific notation for very large or small magnitudes, as in English)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "−∞"
    text = f"{x:.{digits}g}"
    if current() in (SOURCE, PSEUDO) or "e" in text or "n" in text:
        return text
    from babel.numbers import format_decimal

    decimals = len(text.split(".")[1]) if "." in text else 0
    return format_decimal(float(text), format="#,##0" + ("." + "0" * decimals if decimals else ""),
                          locale=babel_locale())


def format_datetime(ts: _dt.datetime | None, *, seconds: bool = False, zone: bool = False) -> str:
    """A UTC time for the current language: ISO-like ``2025-03-01 14:05`` in English (the workbench's
    convention), the locale's medium date and a 24-hour time elsewhere (``2025. 3. 1. 14:05``)."""
    if ts is None:
        return ""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=_dt.UTC)
    ts = ts.astimezone(_dt.UTC)
    if current() in (SOURCE, PSEUDO):
        text = ts.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    else:
        from babel.dates import format_date, format_time

        loc = babel_locale()
        text = (format_date(ts, "medium", locale=loc) + " "
                + format_time(ts, "HH:mm:ss" if seconds else "HH:mm", tzinfo=_dt.UTC, locale=loc))
    return text + " UTC" if zone else text


def install_jinja(env) -> None:
    """Give a Jinja2 environment (with ``jinja2.ext.i18n``) the current language's ``_``/``gettext``
    and ``ngettext`` (new style: ``_("%(n)s points", n=3)``, autoescaped; a literal ``%`` is written
    ``%%``), and the
    globals ``current_language`` and ``languages``."""
    env.install_gettext_callables(lambda m: translations(current()).gettext(m),
                                  lambda s, p, n: translations(current()).ngettext(s, p, n), newstyle=True)
    env.globals["current_language"] = current
    env.globals["languages"] = LANGUAGES


# --- finding text left out of translation ----------------------------------------------------------------

#: Text that needs no translation: numbers, SI units and symbols, the program's name, and the zone.
_NEUTRAL = re.compile(
    r"(?:[-+−]?\d[\d.,]*(?:e[-+]?\d+)?|[-+−–—×·•…:;,.()\[\]{}<>/\\|=≈≤≥≠±%‰°′″'\"“”‘’«»→←↑↓›‹#&*^~_@!?²³⁴⁻¹]|\s|"
    r"\b(?:fluxwise|UTC|HTTP|API|SHA-256|sha256|CO2e|USD|log10|AICc|ΔAICc|R²|SSE|"
    r"L|mL|m²|m2|cm²|m⁴|L²|m³|h|s|min|bar|psi|kg|g|g/L|g/mL|LMH|kB|MB|DV|en|ko|xx)\b|"
    r"\b[A-Za-zΔ](?:[₀-₉]+|_[a-z]{1,2}|\d{1,3})?\b)")
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "code", "pre"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                   "track", "wbr"})
_MARKED = re.compile(re.escape(PSEUDO_OPEN) + "[^" + PSEUDO_OPEN + PSEUDO_CLOSE + "]*"
                     + re.escape(PSEUDO_CLOSE))
_BLOCKS = frozenset({"p", "div", "li", "td", "th", "tr", "h1", "h2", "h3", "option", "label", "summary",
                     "title", "button", "a"})


def untranslated_text(page: str, data: tuple[str, ...] = ()) -> list[str]:
    """The visible text of an HTML ``page`` rendered in the pseudo-language that is not inside
    ``⟦…⟧`` markers (a message may span elements: ``⟦Classical V<sub>max</sub>⟧``): text nodes and
    ``placeholder``/``aria-label``/``alt`` attributes outside ``<script>``, ``<style>``, ``<code>``
    and ``<pre>`` and outside any element marked ``translate="no"`` (user data, file names, hashes),
    ignoring numbers, units, symbols and the strings in ``data`` (names and values the user gave).
    Tooltips (``title``) are not checked. Empty when everything is translated."""
    from html.parser import HTMLParser

    texts: list[str] = []
    attributes: list[str] = []

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack: list[tuple[str, bool]] = []

        def skipping(self) -> bool:
            return bool(self.stack) and self.stack[-1][1]

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            skip = self.skipping() or tag in _SKIP_TAGS or attrs.get("translate") == "no"
            if not skip:
                attributes.extend(attrs[a] for a in ("placeholder", "aria-label", "alt") if attrs.get(a))
            if tag not in _VOID:
                self.stack.append((tag, skip))
            elif not skip:
                texts.append("\n")

        def handle_endtag(self, tag):
            for i in range(len(self.stack) - 1, -1, -1):
                if self.stack[i][0] == tag:
                    del self.stack[i:]
                    break
            texts.append("\n" if tag in _BLOCKS else "")

        def handle_data(self, text):
            if not self.skipping():
                texts.append(text)

    Parser().feed(page)
    found = []
    for chunk in ["".join(texts), *attributes]:
        for value in sorted(data, key=len, reverse=True):
            chunk = chunk.replace(value, " ")
        previous = None
        while previous != chunk:  # innermost first: a message may hold a translated term
            previous, chunk = chunk, _MARKED.sub(" ", chunk)
        for line in chunk.splitlines():
            if _NEUTRAL.sub("", line).strip():
                found.append(" ".join(line.split()))
    return found
