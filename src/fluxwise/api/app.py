"""The FastAPI application factory of the HTTP door."""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..errors import FluxwiseError
from ..i18n import _
from ..store import accounts, tenancy
from ..store import results as store_results
from ..store.database import Database, StoreBusy, open_database
from . import wording
from .admission import Admission, AdmissionLimits
from .deps import ENV_SECRET_KEY, ApiSettings
from .headers import SecurityHeaders
from .language import Language, translate_validation_error
from .routers import audit, auth, data, design, invitations, lab, orgs, projects, results, screening, supply
from .upload_checks import UploadRejected
from .workers import Science, ScienceBusy

log = logging.getLogger(__name__)

API_PREFIX = "/api"


def _status_of(exc: FluxwiseError) -> int:
    for cls, status in ((tenancy.NotFound, 404), (tenancy.Forbidden, 403),
                        (store_results.SignatureRefused, 403), (accounts.AuthenticationError, 401),
                        (accounts.TooManyAttempts, 429), (store_results.Conflict, 409)):
        if isinstance(exc, cls):
            return status
    if isinstance(exc, UploadRejected):
        return exc.status
    if isinstance(exc, ScienceBusy | StoreBusy):
        return 503
    return getattr(exc, "http_status", 422)  # e.g. 503 when the PDF engine is not installed


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FluxwiseError)
    async def fluxwise_error(request: Request, exc: FluxwiseError):
        status = _status_of(exc)
        headers = {}
        if isinstance(exc, accounts.TooManyAttempts | ScienceBusy | StoreBusy):
            headers["Retry-After"] = str(exc.retry_after_s)
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse({"detail": wording.error_text(exc, wording.door_of(request))}, status_code=status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # FastAPI's own handler echoes the input back; a lone surrogate in it (e.g. "\ud800") cannot be
        # encoded and turned a 422 into a 500. Echo a safe rendering of the input instead.
        def safe(obj):
            if isinstance(obj, str):
                return obj.encode("utf-8", "backslashreplace").decode("utf-8")
            if isinstance(obj, dict):
                return {safe(k): safe(v) for k, v in obj.items()}
            if isinstance(obj, list | tuple):
                return [safe(v) for v in obj]
            return obj

        errors = safe(jsonable_encoder([translate_validation_error(e) for e in exc.errors()]))
        if wording.door_of(request) == "web":  # the pages' words: the form fields, one sentence
            return JSONResponse({"detail": wording.validation_text(errors)}, status_code=422)
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError):
        log.info("integrity error: %s", exc.orig)
        return JSONResponse({"detail": _("this conflicts with data stored meanwhile (e.g. two edits at "
                                         "once); reload and try again")}, status_code=409)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError):
        log.warning("data error: %s", exc.orig)
        return JSONResponse({"detail": _("a value is too long or out of range for the store")},
                            status_code=422)

    @app.exception_handler(OperationalError)
    async def operational_error(request: Request, exc: OperationalError):
        log.error("database error: %s", exc.orig)
        return JSONResponse({"detail": _("the store is busy or unavailable; try again shortly")},
                            status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(request: Request, exc: PoolTimeout):
        log.error("no database connection free: %s", exc)
        return JSONResponse({"detail": _("the server is busy (no database connection was free); try again "
                                         "shortly")}, status_code=503, headers={"Retry-After": "2"})


class _BodySizeLimit:
    """Refuse any request whose declared body is larger than the upload limit plus form overhead (413),
    before a byte of it is read."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length":
                    try:
                        too_big = int(value) > self.max_bytes
                    except ValueError:
                        too_big = False
                    if too_big:
                        limit = (self.max_bytes - 1024 * 1024) / 1024 / 1024
                        detail = _("the request is larger than the upload limit of %(mb)s MB",
                                   mb=format(limit, ".0f"))
                        response = JSONResponse({"detail": detail}, status_code=413)
                        await response(scope, receive, send)
                        return
        await self.app(scope, receive, send)


#: Threads that run request handlers. A handler may hold a read session and open a write session at
#: the same time, so the connection pool has room for two connections per thread: with fewer, a burst
#: of requests can take every connection for reads and then wait for a write connection until the pool
#: times out (found by scripts/loadtest.py with 50 users and SQLAlchemy's default pool of 5 + 10).
REQUEST_THREADS = 24
#: A request that finds no free connection gets a 503 after ``pool_timeout`` seconds (SQLAlchemy's
#: default is 30 s), not a hang.
POOL = {"pool_size": REQUEST_THREADS + 8, "max_overflow": REQUEST_THREADS + 8, "pool_timeout": 10}


def _bound_request_threads(app: FastAPI, threads: int) -> None:
    """Run the app's synchronous handlers on at most ``threads`` threads (anyio's default is 40)."""
    from contextlib import asynccontextmanager

    import anyio.to_thread

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        async with inner(a) as state:
            yield state

    app.router.lifespan_context = lifespan


def create_app(database_url: str | None = None, data_dir: str | os.PathLike | None = None, *,
               settings: ApiSettings | None = None, db: Database | None = None,
               science: Science | None = None, admission: AdmissionLimits | None = None) -> FastAPI:
    """The HTTP API as a FastAPI app, on the store at ``database_url`` (else ``$FLUXWISE_DATABASE_URL``,
    else SQLite in ``data_dir`` / ``$FLUXWISE_DATA_DIR`` / the user data dir).

    The store is created or migrated here, on first run. ``settings`` default to
    :meth:`ApiSettings.from_env`; ``db`` passes an already open :class:`~fluxwise.store.database.Database`;
    ``science`` is where fits, sizings, uploads' parsing and reports run (default: in the request's
    thread; ``fluxwise serve`` passes a :class:`~fluxwise.api.workers.SciencePool`); ``admission`` limits
    the requests worked on and queued at once (default :meth:`AdmissionLimits.from_env`: beyond them,
    a fast 503 with Retry-After).
    The database is on ``app.state.db``; dispose of it with ``app.state.db.dispose()`` when done.
    """
    settings = settings or ApiSettings.from_env()
    db = db or open_database(database_url, data_dir, **POOL)
    # no /api/docs: FastAPI's Swagger page loads its assets from a CDN; the schema is at /api/openapi.json
    app = FastAPI(title="fluxwise", version=_version(),
                  description="Filtration process development workbench: trials, fouling-model fits, filter "
                              "sizing, reports, audit trail and electronic signatures.",
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=None, redoc_url=None)
    app.state.db = db
    app.state.settings = settings
    app.state.science = science or Science()
    secret = settings.secret_key or os.environ.get(ENV_SECRET_KEY)
    if not secret:
        with db.session(write=True) as s:
            secret = accounts.secret_setting(s, "session_signing_key")
    app.state.secret_key = secret
    for module in (auth, orgs, invitations, projects, data, results, audit, design, screening, supply, lab):
        app.include_router(module.router, prefix=API_PREFIX)
    _install_error_handlers(app)
    app.add_middleware(Admission, limits=admission or AdmissionLimits.from_env())
    app.add_middleware(_BodySizeLimit, max_bytes=settings.upload.max_bytes + 1024 * 1024)
    app.add_middleware(Language)  # outside the size limit: its 413 is in the request's language
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)  # outermost: every response
    _bound_request_threads(app, REQUEST_THREADS)
    return app


def _version() -> str:
    from .. import __version__

    return __version__
