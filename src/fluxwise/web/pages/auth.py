"""Signing in and out: the home page, the sign-in form and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse

from ... import i18n
from ...api.deps import (
    FormPrincipalDep,
    clear_session_cookies,
    client_address,
    get_db,
    get_settings,
    set_session_cookies,
)
from ...i18n import _
from ...store import accounts
from ...store.models import User
from .base import SignInRequired, check_origin, page_principal, page_router, render, safe_next

router = page_router()


@router.get("/")
def home(request: Request):
    try:
        page_principal(request)
    except SignInRequired:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/projects", status_code=303)


@router.get("/login")
def login_page(request: Request, next: Annotated[str, Query(max_length=2000)] = "/projects"):
    try:
        page_principal(request)
        return RedirectResponse(safe_next(next), status_code=303)
    except SignInRequired:
        pass
    return render(request, "login.html", next=safe_next(next), title=_("Sign in"), asked_lang=_asked(request))


def _asked(request: Request) -> str | None:
    lang = i18n.supported(request.query_params.get("lang"))
    return lang if lang in i18n.LANGUAGES else None


@router.post("/login")
def login_submit(request: Request, email: Annotated[str, Form(max_length=320)],
                 password: Annotated[str, Form(max_length=1024)],
                 next: Annotated[str, Form(max_length=2000)] = "/projects",
                 lang: Annotated[str | None, Form(max_length=16)] = None):
    check_origin(request)
    if i18n.supported(lang) in i18n.LANGUAGES:
        request.state.language = i18n.activate(lang)
    db, settings = get_db(request), get_settings(request)
    error, status = None, 200
    with db.session() as s:  # the slow password check outside the write transaction
        precheck = accounts.precheck_password(s, email, password)
    with db.session(write=True) as ws:
        accounts.purge_browser_sessions(ws, settings.idle_timeout)
        try:
            user, key, bs = accounts.login(ws, email, password, client_address(request),
                                           lifetime=settings.session_lifetime, precheck=precheck)
            chosen = i18n.supported(lang)
            if chosen in i18n.LANGUAGES:  # the language picked on the sign-in page becomes the user's choice
                ws.get(User, user.id).language = chosen
            ws.commit()
        except accounts.AuthenticationError:
            ws.commit()  # the failure is audited and counts towards the lockout
            error, status = _("Wrong e-mail or password."), 401
        except accounts.TooManyAttempts as exc:
            error, status = _("Too many failed attempts: %(why)s.", why=exc), 429
    if error:
        return render(request, "login.html", status=status, next=safe_next(next), email=email, error=error,
                      title=_("Sign in"), asked_lang=i18n.supported(lang))
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookies(request, response, key, bs)
    return response


@router.post("/logout")
def logout(request: Request, principal: FormPrincipalDep):
    if principal.session_key:
        with get_db(request).session(write=True) as ws:
            accounts.end_browser_session(ws, principal.session_key, client=client_address(request))
            ws.commit()
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookies(response)
    return response
