"""The language of each request, and the API's validation errors in it.

:class:`Language` (ASGI middleware) speaks, for the whole request, what ``?lang=`` asks for, else the
best language of ``Accept-Language`` (English when it names none fluxwise speaks). The pages then let
the signed-in user's stored choice and their organisation's default win
(:func:`fluxwise.web.pages.base.page_principal`); the API's messages follow the header. JSON keys and
machine-readable values (error ``type``, ``loc``) stay English: only the ``msg`` and ``detail``
texts are translated.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from .. import i18n
from ..i18n import N_, gettext


class Language:
    """Set the language of each HTTP request (see the module's text); the chosen language is also on
    ``request.state.language``, and ``Content-Language`` tells the client which it got."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        accept = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept-language"),
                      None)
        lang = i18n.choose(asked=(query.get("lang") or [None])[0], accept_language=accept)
        scope.setdefault("state", {})["language"] = lang

        async def send_with_language(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(k.lower() == b"content-language" for k, _v in headers):
                    spoken = scope["state"].get("language", lang)
                    headers.append((b"content-language", spoken.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        with i18n.using(lang):
            await self.app(scope, receive, send_with_language)


#: pydantic's error messages by error type, with its context (``ctx``) as the placeholders.
VALIDATION_MESSAGES = {
    "missing": N_("Field required"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least %(min_length)s characters"),
    "string_too_long": N_("String should have at most %(max_length)s characters"),
    "string_pattern_mismatch": N_("String should match pattern '%(pattern)s'"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than": N_("Input should be greater than %(gt)s"),
    "greater_than_equal": N_("Input should be greater than or equal to %(ge)s"),
    "less_than": N_("Input should be less than %(lt)s"),
    "less_than_equal": N_("Input should be less than or equal to %(le)s"),
    "finite_number": N_("Input should be a finite number"),
    "literal_error": N_("Input should be %(expected)s"),
    "enum": N_("Input should be %(expected)s"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or instance of %(class_name)s"),
    "model_attributes_type": N_("Input should be a valid dictionary or object to extract fields from"),
    "list_type": N_("Input should be a valid list"),
    "too_short": N_("%(field_type)s should have at least %(min_length)s items after validation, not "
                    "%(actual_length)s"),
    "too_long": N_("%(field_type)s should have at most %(max_length)s items after validation, not "
                   "%(actual_length)s"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "json_invalid": N_("JSON decode error"),
    "uuid_parsing": N_("Input should be a valid UUID, unable to parse string as a UUID"),
    "datetime_parsing": N_("Input should be a valid datetime"),
    "value_error": N_("Value error, %(error)s"),
}


def translate_validation_error(error: dict) -> dict:
    """One of pydantic's errors with its ``msg`` in the current language (keys, ``type``, ``loc``
    and ``ctx`` untouched); a type not in :data:`VALIDATION_MESSAGES` keeps pydantic's text."""
    template = VALIDATION_MESSAGES.get(error.get("type", ""))
    if template is None or i18n.current() == i18n.SOURCE:
        return error
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        msg = gettext(template, **ctx) if "%(" in template else gettext(template)
    except (KeyError, ValueError):
        return error
    return {**error, "msg": msg}
