"""Webhook targets must be public internet addresses (no server-side request forgery).

An agency's webhook URL is checked twice: when it is registered (an IP literal or a
local name such as ``localhost`` is refused at once) and again at every delivery, after
DNS resolution: each address the name resolves to must be public, and the connection
goes to the addresses that were checked (``PublicOnlyResolver`` is the resolver of the
delivering HTTP client, so nothing resolves the name a second time).

``allow_private`` (``KHO_WEBHOOK_ALLOW_PRIVATE``) turns both checks off, for tests and
closed networks whose receivers live on private addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Note: names that always mean this machine or its network, refused without asking DNS.
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")


class BlockedAddress(OSError):
    """A webhook target that is not a public address."""

    def __init__(self, host: str, address: str | None = None) -> None:
        where = f"{host} ({address})" if address and address != host else host
        super().__init__(f"refused: {where} is not a public internet address")
        self.host = host
        self.address = address


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address (not loopback, private, shared,
    link-local, multicast, reserved, unspecified or documentation)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        return is_public(mapped)
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_private
        and not address.is_unspecified
    )


def literal(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one (``[::1]`` included), else ``None``."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_host(host: str) -> None:
    """Refuse, without DNS, a host that is a non-public IP literal or a local name.
    Raises ``BlockedAddress``."""
    name = host.lower().rstrip(".")
    address = literal(name)
    if address is not None:
        if not is_public(address):
            raise BlockedAddress(host, str(address))
        return
    if name == "localhost" or name.endswith(_LOCAL_SUFFIXES) or "." not in name:
        raise BlockedAddress(host)


class PublicOnlyResolver(AbstractResolver):
    """Resolves with the system resolver, then refuses the name if any of its addresses
    is not public (all of them: a name that also resolves to an internal address could
    be steered there).  Raising ``BlockedAddress`` (an ``OSError``) fails the request
    before any connection is made."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        check_host(host)
        found = await self._inner.resolve(host, port, family)
        for entry in found:
            address = literal(str(entry["host"]))
            if address is None or not is_public(address):
                raise BlockedAddress(host, str(entry["host"]))
        return found

    async def close(self) -> None:
        await self._inner.close()


def connector(
    *, allow_private: bool, dns: AbstractResolver | None = None, **kwargs: Any
) -> aiohttp.TCPConnector:
    """The delivering client's connector: public addresses only unless
    ``allow_private``.  ``dns``: the resolver to ask (the system's by default)."""
    if allow_private:
        return aiohttp.TCPConnector(resolver=dns, **kwargs)
    return aiohttp.TCPConnector(resolver=PublicOnlyResolver(dns), use_dns_cache=False, **kwargs)
