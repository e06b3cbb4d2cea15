"""How the app is served by uvicorn, and whom it believes about the client's address.

Behind a reverse proxy the peer is the proxy and the client's address comes in ``X-Forwarded-For``,
which anyone can write. uvicorn's proxy-header handling believes the header only from the addresses
it is given, and then takes the nearest address in the header that is not one of them. fluxwise
passes exactly the addresses the operator lists (``fluxwise serve --forwarded-allow-ips`` or
``$FLUXWISE_FORWARDED_ALLOW_IPS``):

- an empty list (the default) turns the handling off (``proxy_headers=False``): otherwise uvicorn
  would fall back to ``$FORWARDED_ALLOW_IPS`` and then to 127.0.0.1, so a client on the host could
  write any address into the header and the audit trail;
- ``*`` is refused: uvicorn then trusts every peer and takes the *leftmost* address of the header,
  which is the one the client wrote.

The address matters for the audit trail (every security event records it); the lockout after failed
sign-ins is per account, so rotating addresses does not get around it.
"""

from __future__ import annotations

import ipaddress

from ..errors import InputError

ENV_FORWARDED_ALLOW_IPS = "FLUXWISE_FORWARDED_ALLOW_IPS"


def parse_forwarded_allow_ips(text: str | None) -> list[str]:
    """The trusted proxies in ``text`` (addresses or networks, comma-separated), checked and normalised.

    Raises :class:`~fluxwise.errors.InputError` for ``*`` and for anything that is not an IP address
    or network.
    """
    out = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if "*" in item:
            raise InputError("'*' would trust X-Forwarded-For from any client, and uvicorn then takes the "
                             "leftmost address, which the client writes itself; list the addresses of your "
                             "reverse proxies instead (e.g. 127.0.0.1 or 10.0.0.0/24)",
                             field="--forwarded-allow-ips")
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise InputError(f"'{item}' is not an IP address or network (e.g. 127.0.0.1, ::1, 10.0.0.0/24)",
                             field="--forwarded-allow-ips") from None
        out.append(str(net.network_address) if net.num_addresses == 1 else str(net))
    return out


def uvicorn_config(app, *, host: str = "127.0.0.1", port: int = 8000, forwarded_allow_ips: list[str] = (),
                   log_level: str = "info", **kwargs):
    """The ``uvicorn.Config`` that ``fluxwise serve`` runs ``app`` with (see module docstring)."""
    import uvicorn

    trusted = list(forwarded_allow_ips)
    if any("*" in t for t in trusted):
        raise InputError("'*' is not accepted as a trusted proxy", field="--forwarded-allow-ips")
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, server_header=False,
                          proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None, **kwargs)
