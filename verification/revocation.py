"""Revocation data for verification, fetched only from an allow-list.

security: pyHanko would fetch CRLs/OCSP (and CA certificates) from whatever URLs a PDF's
certificates name - a request on behalf of a stranger.  Here the validator never
fetches (``allow_fetching=False``).  The parent process asks a ``RevocationSource`` for
the CRLs of the trust registry's own CAs (``TrustRegistry.revocation_urls``) and hands
them to the validator together with the revocation data embedded in the PDF (DSS).
``CrlCache`` keeps each CRL until its ``nextUpdate`` (or ``max_age``), and names the
state of its CRLs with an ``epoch`` that keys the verification cache ("revocation
freshness").
"""

from __future__ import annotations

import hashlib
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

import anyio.to_thread
import msgspec
from asn1crypto import crl as asn1_crl

from verification.errors import RevocationUnavailable

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class RevocationSource(Protocol):
    """Fetches the CRL (DER) at ``url``; raises ``RevocationUnavailable`` when it cannot.

    Only ever called with URLs from ``TrustRegistry.revocation_urls``."""

    async def crl(self, url: str) -> bytes: ...


class InMemoryRevocationSource:
    """CRLs from callables keyed by URL (e.g. the demo PKI's ``pki.crl``, wired by
    ``kho``); ``unreachable`` makes every fetch fail (for tests and drills)."""

    def __init__(self, crls: Mapping[str, Callable[[], bytes]]) -> None:
        self._crls = dict(crls)
        self.unreachable = False
        self.requests: list[str] = []

    async def crl(self, url: str) -> bytes:
        self.requests.append(url)
        get = self._crls.get(url)
        if self.unreachable or get is None:
            raise RevocationUnavailable(url, "no CRL is known for this URL")
        return get()


class UrlRevocationSource:
    """Fetches CRLs over HTTP(S) with a timeout and a size limit (urllib in a thread)."""

    def __init__(self, *, timeout: float = 5.0, max_bytes: int = 10 * 1024 * 1024) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes

    def _get(self, url: str) -> bytes:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RevocationUnavailable(url, "only http and https URLs are fetched")
        try:
            # security: the URL comes from the registry's allow-list, never from a PDF.
            with urllib.request.urlopen(url, timeout=self._timeout) as resp:  # noqa: S310
                body: bytes = resp.read(self._max_bytes + 1)
        except (OSError, ValueError) as exc:
            raise RevocationUnavailable(url, str(exc)) from None
        if len(body) > self._max_bytes:
            raise RevocationUnavailable(url, "the CRL is too large")
        return body

    async def crl(self, url: str) -> bytes:
        return await anyio.to_thread.run_sync(self._get, url)


class RevocationSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """CRLs (DER) to validate with, the URLs that could not be fetched, and ``epoch``,
    a digest of exactly which CRLs these are."""

    crls: tuple[bytes, ...]
    unavailable: tuple[str, ...]
    epoch: str
    valid_until: datetime


class _Entry(msgspec.Struct, frozen=True):
    der: bytes
    expires: datetime


class CrlCache:
    """Keeps the allow-listed CRLs, each until ``min(nextUpdate, fetched + max_age)``.

    A failed fetch keeps the previous CRL while it is still within its ``nextUpdate``
    and otherwise marks the URL unavailable (retried after ``retry_after``)."""

    def __init__(
        self,
        source: RevocationSource,
        *,
        max_age: timedelta = timedelta(minutes=5),
        retry_after: timedelta = timedelta(seconds=30),
        clock: Clock = utc_now,
    ) -> None:
        self._source = source
        self._max_age = max_age
        self._retry_after = retry_after
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._failed: dict[str, datetime] = {}
        self._snapshot: tuple[tuple[str, ...], RevocationSnapshot] | None = None

    def clear(self) -> None:
        self._entries.clear()
        self._failed.clear()
        self._snapshot = None

    async def snapshot(self, urls: tuple[str, ...]) -> RevocationSnapshot:
        now = self._clock()
        cached = self._snapshot
        if cached is not None and cached[0] == urls and now < cached[1].valid_until:
            return cached[1]
        crls: list[bytes] = []
        unavailable: list[str] = []
        horizon = now + self._max_age
        for url in urls:
            entry = self._entries.get(url)
            if entry is None or now >= entry.expires:
                entry = await self._fetch(url, now, entry)
            if entry is None:
                unavailable.append(url)
                horizon = min(horizon, self._failed.get(url, now))
            else:
                crls.append(entry.der)
                horizon = min(horizon, entry.expires)
        digest = hashlib.sha256()
        for der in crls:
            digest.update(hashlib.sha256(der).digest())
        for url in unavailable:
            digest.update(b"!" + url.encode())
        snap = RevocationSnapshot(
            crls=tuple(crls),
            unavailable=tuple(unavailable),
            epoch=digest.hexdigest()[:16],
            valid_until=horizon,
        )
        self._snapshot = (urls, snap)
        return snap

    async def _fetch(self, url: str, now: datetime, stale: _Entry | None) -> _Entry | None:
        retry = self._failed.get(url)
        if retry is None or now >= retry:
            try:
                der = await self._source.crl(url)
                next_update = _next_update(der)
            except RevocationUnavailable:
                self._failed[url] = now + self._retry_after
            else:
                self._failed.pop(url, None)
                expires = min(next_update or now, now + self._max_age)
                entry = _Entry(der, expires)
                self._entries[url] = entry
                return entry
        if stale is not None and (stale_until := _next_update(stale.der)) and now < stale_until:
            return stale
        return None


def _next_update(der: bytes) -> datetime | None:
    try:
        value = asn1_crl.CertificateList.load(der)["tbs_cert_list"]["next_update"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise RevocationUnavailable("", f"not a CRL: {exc}") from None
    return value if isinstance(value, datetime) else None
