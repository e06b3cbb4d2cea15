"""``fluxwise user add|unlock``: accounts, made by whoever runs the installation.

Organisations cannot make accounts: an admin invites an e-mail, and the invitation waits until a
person with an account of that e-mail signs in and accepts it. So accounts come from here (or from
``fluxwise serve --demo``), and no tenant can find out which e-mails have one.
"""

from __future__ import annotations

import click

from . import main
from .common import echo_json

_DB_OPTIONS = [
    click.option("--database-url",
                 help="The store (default: $FLUXWISE_DATABASE_URL, else SQLite in the data dir)."),
    click.option("--data-dir", type=click.Path(file_okay=False),
                 help="Data directory of a SQLite store (default: $FLUXWISE_DATA_DIR or the user data dir)."),
]


def _db_options(fn):
    for option in reversed(_DB_OPTIONS):
        fn = option(fn)
    return fn


def _open(database_url, data_dir):
    from ..store.database import open_database

    return open_database(database_url, data_dir)


@main.group()
def user():
    """Accounts of the workbench (people sign in with them; organisations invite them)."""


@user.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The person's name as it appears on signatures.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin "
                                                      "(else it is asked for twice, hidden).")
@_db_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON: id, email, name.")
def add(email, name, password_stdin, database_url, data_dir, as_json):
    """Make an account for EMAIL. It belongs to no organisation until the person accepts an invitation
    (or makes an organisation of their own)."""
    import sys

    from ..store import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = _open(database_url, data_dir)
    try:
        with db.session(write=True) as s:
            row = accounts.create_user(s, email, name, password)
            s.commit()
            out = {"id": row.public_id, "email": row.email, "name": row.name}
    finally:
        db.dispose()
    if as_json:
        echo_json(out)
    else:
        click.echo(f"account {out['email']} ({out['name']}) made; id {out['id']}")


@user.command("unlock")
@click.argument("email")
@_db_options
def unlock(email, database_url, data_dir):
    """Unlock the account of EMAIL after repeated failed password checks (audited). Admins of its
    organisations can do the same in the workbench; this is for an account nobody else can unlock."""
    from ..errors import InputError
    from ..store import accounts

    db = _open(database_url, data_dir)
    try:
        with db.session(write=True) as s:
            row = accounts.find_user(s, email)
            if row is None:
                raise InputError(f"no account with e-mail {email}", field="EMAIL")
            locked = accounts.is_locked(s, row)
            accounts.unlock_account(s, row, actor=None, org=None, client="command line")
            s.commit()
    finally:
        db.dispose()
    click.echo(f"{email}: {'unlocked' if locked else 'was not locked; failed attempts cleared'}")
