"""Whom the server believes about the client's address (issue "Trust", item 5), through uvicorn's own
proxy-header handling: the app as ``uvicorn.Config.load()`` wraps it for ``fluxwise serve``, behind
``httpx.ASGITransport`` as a peer on 127.0.0.1, with ``FORWARDED_ALLOW_IPS=*`` in the environment (what
uvicorn falls back to when it is not told otherwise; a plain TestClient would skip that middleware).

Without trusted proxies the header is ignored: rotating ``X-Forwarded-For`` values are all the peer
and the sixth sign-in attempt is refused (429). With the proxy trusted, the nearest untrusted address
(9.9.9.9) is the client, whatever the client wrote before it, and it still locks out. ``*`` is refused.
"""

from __future__ import annotations

import asyncio
import json
import secrets

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fluxwise.api.server import parse_forwarded_allow_ips, uvicorn_config
from fluxwise.errors import InputError
from fluxwise.store import accounts
from fluxwise.store.models import AuditEntry


@pytest.fixture
def sqlite_app(tmp_path):
    from fluxwise.api import create_app
    from fluxwise.api.deps import ApiSettings
    from fluxwise.store.database import open_database

    db = open_database(f"sqlite:///{tmp_path / 'fluxwise.sqlite3'}")
    with db.session(write=True) as s:
        accounts.create_user(s, "ua@a.example", "UA", "correct horse battery")
        s.commit()
    yield db, create_app(db=db, settings=ApiSettings(secret_key="proxy-test"))
    db.dispose()


def _attempts(app, forwarded_allow_ips: list[str], forwarded_for) -> list[int]:
    """Six wrong sign-ins through uvicorn's loaded app; the X-Forwarded-For of each from ``forwarded_for``."""
    config = uvicorn_config(app, forwarded_allow_ips=forwarded_allow_ips, log_config=None)
    config.load()

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=config.loaded_app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://fluxwise.test") as client:
            statuses = []
            for _ in range(accounts.LOCKOUT_FAILURES + 1):
                r = await client.post("/api/auth/login", headers={"X-Forwarded-For": forwarded_for()},
                                      json={"email": "ua@a.example", "password": "not the password"})
                statuses.append(r.status_code)
            return statuses

    return asyncio.run(run())


def _clients(db) -> list[str]:
    with db.session() as s:
        return [json.loads(e.new_value)["client"]
                for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed"))]


def _random_ip() -> str:
    return ".".join(str(secrets.randbelow(254) + 1) for _ in range(4))


def test_without_trusted_proxies_rotating_forwarded_for_is_ignored(sqlite_app, monkeypatch):
    db, app = sqlite_app
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    statuses = _attempts(app, [], _random_ip)
    assert statuses == [401] * accounts.LOCKOUT_FAILURES + [429]
    assert _clients(db) == ["127.0.0.1"] * accounts.LOCKOUT_FAILURES  # the peer, not what the client wrote


def test_behind_a_trusted_proxy_the_nearest_untrusted_address_is_the_client(sqlite_app, monkeypatch):
    db, app = sqlite_app
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    statuses = _attempts(app, parse_forwarded_allow_ips("127.0.0.1"), lambda: f"{_random_ip()}, 9.9.9.9")
    assert statuses == [401] * accounts.LOCKOUT_FAILURES + [429]
    assert _clients(db) == ["9.9.9.9"] * accounts.LOCKOUT_FAILURES


def test_a_wildcard_is_refused_and_addresses_are_checked(monkeypatch):
    for bad in ("*", "127.0.0.1, *", " * "):
        with pytest.raises(InputError, match="leftmost"):
            parse_forwarded_allow_ips(bad)
    with pytest.raises(InputError, match="not an IP address"):
        parse_forwarded_allow_ips("proxy.example")
    assert parse_forwarded_allow_ips("") == [] and parse_forwarded_allow_ips(" , ") == []
    assert parse_forwarded_allow_ips("127.0.0.1, ::1, 10.0.0.0/24") == ["127.0.0.1", "::1", "10.0.0.0/24"]
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    config = uvicorn_config(object(), forwarded_allow_ips=[], log_config=None)
    assert config.proxy_headers is False  # not uvicorn's fallback to $FORWARDED_ALLOW_IPS or 127.0.0.1
    with pytest.raises(InputError):
        uvicorn_config(object(), forwarded_allow_ips=["*"], log_config=None)
    from fluxwise.cli import main

    monkeypatch.setenv("FLUXWISE_FORWARDED_ALLOW_IPS", "*")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2 and "leftmost" in result.output
