"""``fluxwise serve``: the web workbench and the HTTP API on one store, with uvicorn.

The store is ``$FLUXWISE_DATABASE_URL`` when set, else SQLite in ``$FLUXWISE_DATA_DIR``, else in the
user data directory. ``--demo`` uses ``./.fluxwise-demo`` as the data directory (unless
``FLUXWISE_DATA_DIR`` is set) and fills it, once, with a demo organisation, user and project holding
the example trials, fitted and sized.

The store's audit key and checkpoint log live in the audit folder (``$FLUXWISE_AUDIT_DIR``, else the
user config directory of ``fluxwise-audit``); a new store gets its key there on first start, and a
store whose key is missing (or another key given in ``$FLUXWISE_AUDIT_KEY``) is refused. Start-up
warns when PostgreSQL runs with ``fsync`` or ``synchronous_commit`` off, or when the application
connects as the owner of the tables (which could disable the triggers that protect the record).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import click

from . import main

DEMO_DATA_DIR = ".fluxwise-demo"


def warm_up() -> None:
    """Import what the requests use — the reader, the fitters, the unit registry, scipy's optimisers —
    before the server answers, so that the first upload or fit does not pay seconds of imports
    (the command line imports them only when a command needs them)."""
    import scipy.optimize  # noqa: F401 - sizing's root solves, the constant-flux fitter

    from .. import pipeline  # noqa: F401 - the fitters, sizing, the unit registry
    from ..io import read_trial  # noqa: F401 - pandas and the trial reader


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface: put HTTPS in front).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--demo", is_flag=True,
              help=f"Serve demo data from ./{DEMO_DATA_DIR} (made on first start): a demo user and a "
                   "project with the example trials fitted and sized.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]), help="uvicorn log level.")
@click.option("--forwarded-allow-ips", envvar="FLUXWISE_FORWARDED_ALLOW_IPS", default="", show_envvar=True,
              metavar="ADDRESSES",
              help="Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For is "
                   "believed for the client address. Default: none (the header is ignored). '*' is refused.")
@click.option("--science-workers", envvar="FLUXWISE_SCIENCE_WORKERS", type=click.IntRange(0, 256),
              default=None, show_envvar=True, metavar="N",
              help="Worker processes that run fits, sizings, uploads' parsing and reports, so that they use "
                   "every core and never stall the server (default: one per core; 0: in the request "
                   "threads).")
def serve(host, port, demo, log_level, forwarded_allow_ips, science_workers):
    """Run the web workbench (pages at /, HTTP API at /api, its OpenAPI schema at /api/openapi.json)."""
    import uvicorn

    from ..api.server import parse_forwarded_allow_ips, uvicorn_config
    from ..errors import InputError
    from ..store.database import ENV_DATA_DIR, default_data_dir, open_database
    from ..web import create_web_app

    try:
        proxies = parse_forwarded_allow_ips(forwarded_allow_ips)
    except InputError as exc:
        raise click.BadParameter(exc.message, param_hint="--forwarded-allow-ips") from None

    if demo and not os.environ.get(ENV_DATA_DIR):
        data_dir = Path(DEMO_DATA_DIR).resolve()
    else:
        data_dir = default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True)
    if demo and not (data_dir / ".gitignore").exists():
        (data_dir / ".gitignore").write_text("# demo data of fluxwise serve --demo\n*\n", encoding="utf-8")
    from ..api.app import POOL

    db = open_database(None, data_dir, **POOL)
    from ..store import protection
    from ..store.database import durability_warnings

    for warning in durability_warnings(db.engine):
        click.echo(f"warning: {warning}", err=True)
    if db.backend == "postgresql":
        with db.engine.connect() as conn:
            owner = protection.owns_tables(conn)
        if owner:
            click.echo("warning: the application connects as the owner of the tables (or a superuser), which "
                       "could disable the triggers that protect the record; connect as a role made with "
                       "`fluxwise db upgrade --app-role ROLE`", err=True)
    login = None
    if demo:
        from ..web.demo import seed_demo

        click.echo("Preparing the demo data (example trials fitted and sized)…")
        login = seed_demo(db, data_dir)
    from ..api.workers import science_for

    science = science_for(science_workers)
    if science.workers:
        click.echo(f"starting {science.workers} science worker process{'es' if science.workers > 1 else ''}…")
    science.start()  # the workers import the science while this process does
    warm_up()
    science.warm()
    app = create_web_app(db=db, science=science)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    store = db.engine.url.render_as_string(hide_password=True)
    click.echo(f"fluxwise workbench on {url}  (HTTP API under {url}api, schema {url}api/openapi.json)")
    click.echo(f"store: {store}; audit key and checkpoint log in {db.trust.directory}")
    if login is not None:
        click.echo(f"demo login: {login.email} / {login.password}  (kept in {data_dir / 'demo-login.txt'})")
        from ..web.trains import examples_dir

        if examples_dir() is None:
            click.echo("note: the example trials come with a source checkout of fluxwise; the demo project "
                       "is empty here", err=True)
    if not _is_loopback(host):
        click.echo("warning: listening beyond this machine; serve it over HTTPS and set "
                   "FLUXWISE_COOKIE_SECURE=1", err=True)
    click.echo(f"fits, sizings and reports run {science.describe()}")
    click.echo("client addresses: " + (f"X-Forwarded-For believed from {', '.join(proxies)}" if proxies
                                       else "the peer's (X-Forwarded-For ignored)"))
    try:
        uvicorn.Server(uvicorn_config(app, host=host, port=port, forwarded_allow_ips=proxies,
                                      log_level=log_level)).run()
    finally:
        science.close()
        db.dispose()
