"""What every page of the web workbench shares: the page route and router, rendering, errors as
pages, the signed-in user, and the checks of sign-in forms (origin, where to go next).

Pages read through :mod:`fluxwise.store.tenancy` (another organisation's object is "not found");
actions in a page (upload, fit, size, sign) call the JSON API from ``static/app.js`` with the session
cookie and the CSRF token; plain forms (sign in and out, new project, train design) post to the
pages with a ``csrf_token`` field. Every asset is served from this package: nothing is fetched from
elsewhere. The security headers of every page (CSP, framing, caching) are set by one middleware,
:class:`fluxwise.api.headers.SecurityHeaders`.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select

from ... import __version__, i18n
from ...api import wording
from ...api.deps import CSRF_COOKIE, Principal, authenticate, get_db
from ...api.upload_checks import UploadRejected
from ...errors import FluxwiseError
from ...i18n import N_, _
from ...store import accounts, tenancy
from ...store import results as store_results
from ...store.models import ResultVersion, User
from .. import present

_env = Environment(loader=PackageLoader("fluxwise", "web/templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
_env.filters["num"] = present.num
_env.filters["utc"] = present.utc
_env.filters["stamp"] = present.stamp
_env.filters["term"] = present.term
_env.globals["js_messages"] = present.js_messages
_env.globals["version"] = __version__
i18n.install_jinja(_env)


class SignInRequired(Exception):
    """The page needs a signed-in user."""


def _status_of(exc: FluxwiseError) -> int:
    for cls, status in ((tenancy.NotFound, 404), (tenancy.Forbidden, 403),
                        (store_results.SignatureRefused, 403), (accounts.AuthenticationError, 401),
                        (accounts.TooManyAttempts, 429),
                        (store_results.Conflict, 409)):
        if isinstance(exc, cls):
            return status
    return exc.status if isinstance(exc, UploadRejected) else getattr(exc, "http_status", 422)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="/")


class PageRoute(APIRoute):
    """A route whose failures are pages (or JSON for the page's own script), not API errors:
    401 sends the browser to the sign-in page, other errors show their message."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (SignInRequired, HTTPException, FluxwiseError) as exc:
                if isinstance(exc, SignInRequired):
                    status, message = 401, _("sign in first")
                elif isinstance(exc, HTTPException):
                    status, message = exc.status_code, str(exc.detail)
                else:
                    status, message = _status_of(exc), wording.error_text(exc, "web")
                if status == 401 and not wants_json(request):
                    return RedirectResponse(_login_url(request), status_code=303)
                return error_response(request, status, message)

        return page_handler


def page_router() -> APIRouter:
    """A router for a module of pages: its routes are :class:`PageRoute` and stay out of the API schema."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def _signed_in(request: Request) -> Principal | None:
    """The signed-in user, or None (an error page keeps the navigation of whoever is signed in)."""
    try:  # only to show the navigation: the CSRF cookie stands in for a form's token
        return authenticate(request, get_db(request), request.cookies.get(CSRF_COOKIE))
    except Exception:  # noqa: BLE001 - not signed in, or the store is what failed: a page without a user
        return None


def error_response(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    principal = _signed_in(request) if status != 401 else None
    return render(request, "error.html", status=status, principal=principal,
                  title=_(_TITLES.get(status, N_("That did not work"))), message=message, code=status,
                  back=safe_back(request))


def safe_back(request: Request) -> str | None:
    """The page the browser came from, when it is one of this site's (for a "back" link)."""
    referer = request.headers.get("referer") or ""
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.headers.get("host", ""):
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if path.startswith("/") and not path.startswith("//") and path != request.url.path else None


_TITLES = {401: N_("Not signed in"), 403: N_("Not allowed"), 404: N_("Not found"),
           405: N_("Not allowed here"), 409: N_("Changed meanwhile"), 413: N_("Too large"),
           429: N_("Too many attempts"), 500: N_("Server error"), 503: N_("Not available")}


def page_alerts(request: Request, principal: Principal) -> dict:
    """What the top of every page tells a signed-in user: invitations waiting for their answer, and
    (to admins) members whose account is locked after repeated failed password checks."""
    from ...store import invitations as store_invitations

    with get_db(request).session() as s:
        user = s.get(User, principal.user_id)
        if user is None:
            return {}
        waiting = len(store_invitations.incoming(s, user))
        admin_of = [o.id for o, r in accounts.memberships_of(s, user.id) if r == "admin"]
        locked = [{"org_id": o.public_id, "org": o.name, "name": u.name, "email": u.email}
                  for o, u in accounts.locked_members(s, admin_of)]
    return {"invitations": waiting, "locked": locked}


def render(request: Request, template: str, *, status: int = 200, principal: Principal | None = None,
           **context) -> HTMLResponse:
    """A page in the request's language (:func:`page_language`), ``<html lang>`` saying which."""
    with i18n.using(page_language(request, principal)) as lang:
        alerts = page_alerts(request, principal) if principal is not None else {}
        html = _env.get_template(template).render(
            request=request, me=principal, csrf_token=principal.csrf_token if principal else None,
            path=request.url.path, alerts=alerts, lang=lang,
            lang_url=lambda code: language_url(request, code),
            **context)
    return HTMLResponse(html, status_code=status)  # security headers: fluxwise.api.headers


def page_language(request: Request, principal: Principal | None = None) -> str:
    """The language of a page: for a signed-in user :func:`user_language` (decided once a request),
    else ``?lang=`` or the browser's ``Accept-Language`` (:class:`fluxwise.api.language.Language`)."""
    lang = getattr(request.state, "user_language", None)
    if lang:
        return lang
    if principal is not None:
        lang = request.state.user_language = request.state.language = user_language(request, principal)
        return lang
    return getattr(request.state, "language", None) or i18n.choose(
        asked=request.query_params.get("lang"), accept_language=request.headers.get("accept-language"))


def language_url(request: Request, code: str) -> str:
    """This page's address with ``?lang=code`` (the language switch of the navigation)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", code)]
    return request.url.path + "?" + urlencode(query)


def user_language(request: Request, principal: Principal) -> str:
    """The language of a signed-in user's pages: ``?lang=`` (then stored as their choice), else their
    stored choice, else their first organisation's default, else the browser's ``Accept-Language``."""
    asked = i18n.supported(request.query_params.get("lang"))  # the pseudo-language shows, but is not kept
    db = get_db(request)
    if asked in i18n.LANGUAGES:
        with db.session(write=True) as ws:
            user = ws.get(User, principal.user_id)
            if user is not None and user.language != asked:
                user.language = asked
                ws.commit()
    with db.session() as s:
        user = s.get(User, principal.user_id)
        stored = user.language if user is not None else None
        org = None
        if not asked and not stored:
            org = next((o.default_language for o, _r in accounts.memberships_of(s, principal.user_id)
                        if o.default_language), None)
    return i18n.choose(asked=asked, user=stored, org=org,
                       accept_language=request.headers.get("accept-language"))


def page_principal(request: Request) -> Principal:
    """The signed-in user of a page (GET), or :class:`SignInRequired`."""
    try:
        principal = authenticate(request, get_db(request), None)
    except HTTPException as exc:
        if exc.status_code == 401:
            raise SignInRequired() from None
        raise
    i18n.activate(page_language(request, principal))
    return principal


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in (never another site)."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc
            or "\\" in target):
        return "/projects"
    return target


def check_origin(request: Request) -> None:
    """Refuse a cross-site form post (the sign-in form has no session, hence no CSRF token yet)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(status_code=403, detail=_("this form can only be sent from this site"))


def latest_versions(s, where) -> list[list[ResultVersion]]:
    """Every result matching ``where`` as its versions (oldest first), results in creation order."""
    rows = s.scalars(select(ResultVersion).where(where).order_by(ResultVersion.created_at, ResultVersion.id))
    by_result: dict[str, list[ResultVersion]] = {}
    for rv in rows:
        by_result.setdefault(rv.result_id, []).append(rv)
    out = [sorted(v, key=lambda r: r.version) for v in by_result.values()]
    return sorted(out, key=lambda v: (v[-1].created_at, v[-1].id))
