"""``fluxwise audit verify``: check the hash chain of the store's audit trail (exit 0 intact, 1 not)."""

from __future__ import annotations

import sys

import click

from . import main
from .common import echo_json


@main.group()
def audit():
    """The audit trail of the store."""


def _verify(database_url: str | None) -> tuple[int, dict]:
    """(exit code, JSON report) — the checks of :func:`fluxwise.store.audit.audit_verify_main`."""
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from ..store.audit import verify_chain
    from ..store.database import current_revision, make_engine, resolve_database_url

    url = resolve_database_url(database_url)
    sa_url = make_url(url)
    store = sa_url.render_as_string(hide_password=True)
    if sa_url.get_backend_name() == "sqlite" and not Path(sa_url.database or "").is_file():
        return 1, {"ok": False, "store": store, "error": f"no fluxwise store at {sa_url.database}"}
    engine = make_engine(url)
    try:
        if current_revision(engine) is None:
            return 1, {"ok": False, "store": store, "error": "this database holds no fluxwise store"}
        with Session(engine) as session:
            report = verify_chain(session)
    except SQLAlchemyError as exc:
        first_line = f"{exc.__class__.__name__}: {exc}".splitlines()[0]
        return 1, {"ok": False, "store": store, "error": f"cannot read the audit trail: {first_line}"}
    finally:
        engine.dispose()
    return (0 if report.ok else 1), {"ok": report.ok, "store": store, "checked": report.checked,
                                     "problems": list(report.problems), "head_seq": report.head_seq,
                                     "head_hash": report.head_hash}


@audit.command("verify")
@click.option("--database-url",
              help="The store (default: $FLUXWISE_DATABASE_URL, else SQLite in the data dir).")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Data directory of a SQLite store (default: $FLUXWISE_DATA_DIR or the user data dir).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: ok, checked, problems, head_seq, head_hash (or error).")
def verify(database_url, data_dir, as_json):
    """Recompute every link of the audit trail; exit 0 when the chain is intact, 1 when an entry was
    altered, removed or reordered (or the store cannot be read)."""
    from ..store.audit import audit_verify_main
    from ..store.database import resolve_database_url

    url = resolve_database_url(database_url, data_dir) if (database_url or data_dir) else None
    if not as_json:
        sys.exit(audit_verify_main(url))
    code, report = _verify(url)
    echo_json(report)
    sys.exit(code)
