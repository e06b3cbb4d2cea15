"""Admission control: under overload a request gets a fast, clear 503 with ``Retry-After``, never a hang.

The server works on at most ``active`` requests at a time; more wait in a queue, in arrival order.
A request that finds ``queue`` others already waiting is answered 503 at once, and one that has
waited ``wait_s`` seconds without being started is answered 503 then. Either way the answer says
that the server is busy and when to try again, and nothing of the request was done (its body is
not even read), so retrying is safe.

Health checks and static assets are let through without waiting.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import os
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs

from .. import i18n
from ..i18n import N_, _

ENV_MAX_ACTIVE = "FLUXWISE_MAX_ACTIVE_REQUESTS"
ENV_MAX_QUEUE = "FLUXWISE_MAX_QUEUED_REQUESTS"
ENV_QUEUE_WAIT = "FLUXWISE_QUEUE_WAIT_S"

_EXEMPT_PREFIXES = ("/static/",)


@dataclass(frozen=True)
class AdmissionLimits:
    """How many requests are worked on at once (``active``), how many may wait (``queue``) and for
    how long (``wait_s``)."""

    active: int = 48
    queue: int = 512
    wait_s: float = 15.0

    @classmethod
    def from_env(cls) -> AdmissionLimits:
        d = cls()
        return cls(active=int(os.environ.get(ENV_MAX_ACTIVE, d.active)),
                   queue=int(os.environ.get(ENV_MAX_QUEUE, d.queue)),
                   wait_s=float(os.environ.get(ENV_QUEUE_WAIT, d.wait_s)))


class Admission:
    """ASGI middleware enforcing :class:`AdmissionLimits` (see module docstring)."""

    def __init__(self, app, limits: AdmissionLimits | None = None):
        self.app = app
        self.limits = limits or AdmissionLimits.from_env()
        self.active = 0
        self.waiting: deque[asyncio.Future] = deque()
        self.refused = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path", "").startswith(_EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self.active >= self.limits.active:
            if len(self.waiting) >= self.limits.queue:
                await self._busy(scope, send, N_("%(n)s requests are already waiting"), n=len(self.waiting))
                return
            turn = asyncio.get_running_loop().create_future()
            self.waiting.append(turn)
            try:
                await asyncio.wait_for(asyncio.shield(turn), self.limits.wait_s)
            except TimeoutError:
                if turn.done():  # started at the last moment: keep the slot it was handed
                    pass
                else:
                    self.waiting.remove(turn)
                    await self._busy(scope, send, N_("this request waited %(s)s s without being started"),
                                     s=format(self.limits.wait_s, "g"))
                    return
            except BaseException:  # the client went away while waiting
                if turn.done():
                    self._release()
                else:
                    self.waiting.remove(turn)
                raise
            # the slot was handed over by _release: self.active already counts this request
        else:
            self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    def _release(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes to the next in line
                return
        self.active -= 1

    async def _busy(self, scope, send, why: str, **variables) -> None:
        self.refused += 1
        retry = max(1, math.ceil(self.limits.wait_s / 5))
        headers = dict(scope.get("headers") or ())
        # no user is looked up for a refused request: the language asked for (?lang=) or the browser's
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang", [None])[0]
        lang = i18n.choose(asked=asked,
                           accept_language=headers.get(b"accept-language", b"").decode("latin-1"))
        with i18n.using(lang):
            message = _("the server is busy (%(why)s); nothing was done with this request: try again in "
                        "%(retry)s s", why=_(why, **variables), retry=retry)
            title, heading = _("Busy"), _("The workbench is busy")
        accept = headers.get(b"accept", b"").decode("latin-1")
        if "text/html" in accept and not scope.get("path", "").startswith("/api/"):
            body = (f"<!doctype html><html lang={lang}><meta charset=utf-8>"
                    f"<title>{html.escape(title)}</title><h1>{html.escape(heading)}</h1><p>{html.escape(message)}.</p>").encode()
            content_type = b"text/html; charset=utf-8"
        else:
            body = json.dumps({"detail": message}).encode()
            content_type = b"application/json"
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", content_type), (b"retry-after", str(retry).encode()),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
