"""``fluxwise audit verify|checkpoint|rotate-key`` and ``fluxwise db upgrade``: the store's record.

``verify`` checks everything :mod:`fluxwise.store.verify` lists (exit 0 intact, 1 not — or when the
store, its key or its checkpoint log is missing). ``checkpoint`` exports the head of the trail as a
MACed checkpoint for QA to keep elsewhere, with an RFC 3161 timestamp request to send to a timestamp
authority, and later attaches the token it answers. ``rotate-key`` moves the store to a new audit
key. ``db upgrade`` migrates the schema as the owner of the tables and grants the application's role
what it may do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import main
from .common import echo_json

_DB_OPTIONS = [
    click.option("--database-url",
                 help="The store (default: $FLUXWISE_DATABASE_URL, else SQLite in the data dir)."),
    click.option("--data-dir", type=click.Path(file_okay=False),
                 help="Data directory of a SQLite store (default: $FLUXWISE_DATA_DIR or the user data dir)."),
]


def _db_options(f):
    for option in reversed(_DB_OPTIONS):
        f = option(f)
    return f


def _url(database_url, data_dir):
    from ..store.database import resolve_database_url

    return resolve_database_url(database_url, data_dir) if (database_url or data_dir) else None


def _open(database_url, data_dir, *, check: bool = True):
    """The store, opened without creating or migrating anything (``check``: refused without its key and
    checkpoint log, as ``fluxwise serve`` refuses it)."""
    from sqlalchemy.engine import make_url

    from ..errors import InputError
    from ..store.database import open_database, resolve_database_url

    url = resolve_database_url(_url(database_url, data_dir))
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite" and not Path(sa_url.database or "").is_file():
        raise InputError(f"no fluxwise store at {sa_url.database}")
    if check:
        return open_database(url, create=False)
    from ..store.database import Database, make_engine, sqlite_folder
    from ..store.trust import Trust

    return Database(url=url, engine=make_engine(url), trust=Trust.from_env(data_folder=sqlite_folder(url)))


@main.group()
def audit():
    """The audit trail of the store: verify it, export checkpoints, rotate its key."""


@audit.command("verify")
@_db_options
@click.option("--anchor", "anchors", multiple=True, type=click.Path(dir_okay=False),
              help="An exported checkpoint (from `fluxwise audit checkpoint`) to check the trail against; "
                   "repeat for several.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: ok, checked, problems, notes, head_seq, head_hash, checkpoint_seq (or "
                   "error).")
def verify(database_url, data_dir, anchors, as_json):
    """Check the audit trail and the record: exit 0 when everything checks out, 1 when an entry, a
    signature, a result, an upload or a trial was altered, removed or added behind the application's
    back, when the checkpoint log or the audit key is missing, or when the store cannot be read."""
    from ..store.verify import run_verify

    code, report = run_verify(_url(database_url, data_dir), anchors)
    if as_json:
        report.pop("text", None)
        echo_json(report)
    elif "error" in report:
        click.echo(report["error"], err=True)
    else:
        click.echo(report["text"])
    sys.exit(code)


def _timestamp_request(data: bytes) -> bytes:
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    request = (TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).nonce(nonce=True)
               .cert_request(cert_request=True).build())
    return request.as_bytes()


def _attach_token(path: Path, token_path: Path, tsa_certificate: Path | None) -> dict:
    """Check an RFC 3161 token against the export at ``path`` and embed it there."""
    import base64
    import hashlib

    from rfc3161_client import decode_timestamp_response

    from ..errors import InputError
    from ..store.checkpoints import checkpoint_bytes

    try:
        export = json.loads(path.read_text(encoding="utf-8"))
        line = export["fluxwise_checkpoint"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a checkpoint exported by fluxwise audit checkpoint ({exc})",
                         source=str(path)) from None
    raw = token_path.read_bytes()
    try:
        response = decode_timestamp_response(raw)
    except Exception as exc:  # noqa: BLE001 - the library raises several kinds
        raise InputError(f"{token_path} is not an RFC 3161 timestamp response (.tsr): {exc}",
                         source=str(token_path)) from None
    info = response.tst_info
    data = checkpoint_bytes(line)
    if bytes(info.message_imprint.message) != hashlib.sha256(data).digest():
        raise InputError(f"the timestamp token {token_path} does not cover the checkpoint in {path} "
                         "(its message imprint is not the SHA-256 of the checkpoint)", source=str(token_path))
    verified = False
    if tsa_certificate is not None:
        from cryptography import x509
        from rfc3161_client import VerificationError, VerifierBuilder

        certs = x509.load_pem_x509_certificates(tsa_certificate.read_bytes())
        builder = VerifierBuilder()
        for cert in certs:
            builder = builder.add_root_certificate(cert)
        try:
            builder.build().verify_message(response, data)
        except VerificationError as exc:
            raise InputError(f"the timestamp token {token_path} does not verify against {tsa_certificate}: "
                             f"{exc}", source=str(token_path)) from None
        verified = True
    export["rfc3161"] = {"token": base64.b64encode(raw).decode(), "gen_time": info.gen_time.isoformat(),
                         "serial_number": str(info.serial_number), "hash": "sha256",
                         "verified_with": None if tsa_certificate is None else str(tsa_certificate)}
    path.write_text(json.dumps(export, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return {"checkpoint": str(path), "gen_time": info.gen_time.isoformat(), "verified": verified}


@audit.command("checkpoint")
@_db_options
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the export here (and an RFC 3161 request beside it, FILE.tsq); default: stdout.")
@click.option("--timestamp-token", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Attach this RFC 3161 timestamp response (.tsr, from your timestamp authority, for the "
                   "FILE.tsq written earlier) to the export named by --out, after checking that it covers "
                   "it.")
@click.option("--tsa-certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --timestamp-token: the authority's root certificate(s) (PEM) to verify the token "
                   "against.")
@click.option("--restart-log", is_flag=True,
              help="Start a new checkpoint log when the store's log is lost for good (and not in any "
                   "backup): an audit entry records it, with --reason.")
@click.option("--reason", default=None, help="With --restart-log: why (kept in the audit entry).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the export (or what was attached).")
def checkpoint(database_url, data_dir, out, timestamp_token, tsa_certificate, restart_log, reason, as_json):
    """Export the head of the audit trail as a MACed checkpoint, for QA to keep out of reach of anyone
    who can write the store (`fluxwise audit verify --anchor FILE` checks it later). Nothing goes over
    the network: send FILE.tsq to your RFC 3161 timestamp authority yourself and attach its answer with
    --timestamp-token."""
    from ..errors import InputError
    from ..store.checkpoints import checkpoint_bytes, export_line
    from ..store.sealing import checkpoint_head, restart_checkpoint_log

    if timestamp_token is not None:
        if out is None or not out.is_file():
            raise InputError("--timestamp-token needs --out naming the export the token was requested for",
                             field="--out")
        done = _attach_token(out, timestamp_token, tsa_certificate)
        if as_json:
            echo_json(done)
        else:
            click.echo(f"timestamp of {done['gen_time']} attached to {out}"
                       + (" (verified)" if done["verified"] else " (not verified: give --tsa-certificate)"))
        return
    db = _open(database_url, data_dir, check=not restart_log)
    try:
        line = restart_checkpoint_log(db, reason=reason) if restart_log else checkpoint_head(db)
    finally:
        db.dispose()
    export = export_line(line)
    text = json.dumps(export, indent=1, sort_keys=True) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    tsq = out.with_name(out.name + ".tsq")
    tsq.write_bytes(_timestamp_request(checkpoint_bytes(line)))
    if as_json:
        echo_json({**export, "file": str(out), "timestamp_request": str(tsq)})
    else:
        click.echo(f"checkpoint of entry {line['seq']} (store {line['store_id']}) written to {out}; "
                   f"RFC 3161 request for it: {tsq}")


@audit.command("rotate-key")
@_db_options
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to export the checkpoint of the rotation (default: the audit folder's exports/).")
@click.option("--reason", default=None, help="Why (kept in the audit entry).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: old and new key ids, seq, export file.")
def rotate_key(database_url, data_dir, out, reason, as_json):
    """Move the store to a new audit key: an entry under the old key names the new one, and its
    checkpoint is exported. The old key stays in the key ring (keep it, and its backup, for as long as
    the records are kept: the entries written under it are verified with it)."""
    from ..store.checkpoints import export_line
    from ..store.keyring import ENV_AUDIT_KEY, ENV_AUDIT_KEY_FILE
    from ..store.sealing import rotate_key as rotate

    db = _open(database_url, data_dir)
    try:
        rotation = rotate(db, reason=reason)
        ring = db.trust.keyring
    finally:
        db.dispose()
    export = export_line(rotation.checkpoint)
    if out is None:
        out = ring.directory / "exports" / f"{rotation.checkpoint['store_id']}-{rotation.seq}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(export, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    new_path = ring.path_of(rotation.new_key_id)
    result = {"old_key_id": rotation.old_key_id, "new_key_id": rotation.new_key_id, "seq": rotation.seq,
              "new_key_file": str(new_path), "checkpoint": str(out)}
    if as_json:
        echo_json(result)
        return
    click.echo(f"audit key rotated: {rotation.old_key_id} -> {rotation.new_key_id} (entry {rotation.seq}); "
               f"new key in {new_path}; checkpoint exported to {out}")
    click.echo("back up the new key now; keep the old one for as long as the records are kept")
    if ring.env_source is not None:
        click.echo(f"note: the key is given in the environment ({ENV_AUDIT_KEY} / {ENV_AUDIT_KEY_FILE}); set "
                   f"it to the contents of {new_path} before the next start", err=True)


@main.group()
def db():
    """The store's schema."""


@db.command("upgrade")
@_db_options
@click.option("--app-role", default=None,
              help="PostgreSQL: the role the application connects as; it gets SELECT and INSERT everywhere, "
                   "UPDATE and DELETE on unprotected tables only, never on the record.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: revision, store id, key id, warnings.")
def upgrade(database_url, data_dir, app_role, as_json):
    """Create or migrate the store's schema (run it as the owner of the tables, e.g. with the owner's
    --database-url), seal the audit trail under its key if it has none (verifying it first), install the
    triggers that refuse changes to the record, and grant --app-role its privileges."""
    from ..errors import InputError
    from ..store import protection
    from ..store.database import current_revision, durability_warnings, open_database
    from ..store.models import AuditHead

    database = open_database(_url(database_url, data_dir))
    try:
        warnings = durability_warnings(database.engine)
        if app_role is not None:
            if database.backend != "postgresql":
                raise InputError("--app-role applies to PostgreSQL stores only", field="--app-role")
            with database.engine.begin() as conn:
                protection.grant_app_role(conn, app_role)
        with database.session() as s:
            head = s.get(AuditHead, 1)
            info = {"revision": current_revision(database.engine), "store_id": head.store_id,
                    "key_id": head.key_id, "app_role": app_role, "warnings": warnings}
    finally:
        database.dispose()
    if as_json:
        echo_json(info)
        return
    click.echo(f"store at revision {info['revision']}, store id {info['store_id']}, audit key "
               f"{info['key_id']}"
               + (f"; role {app_role} may add rows to the record, never change it" if app_role else ""))
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
