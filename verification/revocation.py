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
from typing import Literal, Protocol

import anyio.to_thread
import msgspec
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import ocsp as x509_ocsp

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


# -- OCSP -----------------------------------------------------------------------------


class OcspSource(Protocol):
    """Posts a DER ``OCSPRequest`` to the responder at ``url`` and returns its DER
    answer; raises ``RevocationUnavailable`` when it cannot.  Only ever called with URLs
    from ``TrustRegistry.ocsp_urls``."""

    async def ocsp(self, url: str, request: bytes) -> bytes: ...


class InMemoryOcspSource:
    """OCSP responders as callables keyed by URL (e.g. the demo PKI's ``pki.ocsp``,
    wired by ``kho``); ``unreachable`` makes every request fail."""

    def __init__(self, responders: Mapping[str, Callable[[bytes], bytes]]) -> None:
        self._responders = dict(responders)
        self.unreachable = False
        self.requests: list[str] = []

    async def ocsp(self, url: str, request: bytes) -> bytes:
        self.requests.append(url)
        respond = self._responders.get(url)
        if self.unreachable or respond is None:
            raise RevocationUnavailable(url, "no OCSP responder is known for this URL")
        return await anyio.to_thread.run_sync(respond, request)


class UrlOcspSource:
    """Asks OCSP responders over HTTP POST (RFC 6960 A.1), with a timeout and a size
    limit (urllib in a thread)."""

    def __init__(self, *, timeout: float = 5.0, max_bytes: int = 1024 * 1024) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes

    def _post(self, url: str, request: bytes) -> bytes:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RevocationUnavailable(url, "only http and https URLs are asked")
        req = urllib.request.Request(  # noqa: S310 (scheme checked above)
            url, data=request, headers={"Content-Type": "application/ocsp-request"}
        )
        try:
            # security: the URL comes from the registry's allow-list, never from a PDF.
            with urllib.request.urlopen(req, timeout=self._timeout) as resp:  # noqa: S310
                body: bytes = resp.read(self._max_bytes + 1)
        except (OSError, ValueError) as exc:
            raise RevocationUnavailable(url, str(exc)) from None
        if len(body) > self._max_bytes:
            raise RevocationUnavailable(url, "the OCSP answer is too large")
        return body

    async def ocsp(self, url: str, request: bytes) -> bytes:
        return await anyio.to_thread.run_sync(self._post, url, request)


class OcspAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A checked OCSP answer about one certificate."""

    status: Literal["good", "revoked", "unknown"]
    revoked_at: datetime | None = None
    this_update: datetime
    next_update: datetime | None = None


class OcspCache:
    """Asks allow-listed OCSP responders about certificates and keeps each checked
    answer until ``min(nextUpdate, asked + max_age)``; a failure is remembered for
    ``retry_after`` (``None`` meanwhile: the caller falls back to CRLs).

    security: an answer counts only when it is ``successful``, about exactly the
    certificate asked (issuer name and key hashes, serial), signed by the issuing CA's
    own key (Kho's responders sign with the CA key; a delegated responder's answer is
    not accepted) and current (``thisUpdate`` not in the future, ``nextUpdate`` not
    past)."""

    def __init__(
        self,
        source: OcspSource,
        *,
        max_age: timedelta = timedelta(minutes=5),
        retry_after: timedelta = timedelta(seconds=30),
        clock: Clock = utc_now,
    ) -> None:
        self._source = source
        self._max_age = max_age
        self._retry_after = retry_after
        self._clock = clock
        self._answers: dict[tuple[str, bytes, int], tuple[OcspAnswer, datetime]] = {}
        self._failed: dict[tuple[str, bytes, int], datetime] = {}

    def clear(self) -> None:
        self._answers.clear()
        self._failed.clear()

    async def status(self, url: str, issuer: bytes, serial: int) -> OcspAnswer | None:
        """The answer about certificate ``serial`` of the CA ``issuer`` (DER), or
        ``None`` when the responder cannot be asked or its answer does not check."""
        key = (url, hashlib.sha256(issuer).digest(), serial)
        now = self._clock()
        cached = self._answers.get(key)
        if cached is not None and now < cached[1]:
            return cached[0]
        retry = self._failed.get(key)
        if retry is not None and now < retry:
            return None
        try:
            issuer_cert = x509.load_der_x509_certificate(issuer)
            request = (
                x509_ocsp.OCSPRequestBuilder()
                .add_certificate_by_hash(
                    hashlib.sha1(issuer_cert.subject.public_bytes()).digest(),  # noqa: S324
                    _key_hash(issuer_cert),
                    serial,
                    hashes.SHA1(),  # noqa: S303 (RFC 5019: the hash every responder knows)
                )
                .build()
                .public_bytes(Encoding.DER)
            )
            der = await self._source.ocsp(url, request)
            answer = _checked(der, issuer_cert, serial, now)
        except (RevocationUnavailable, ValueError, TypeError, InvalidSignature):
            self._failed[key] = now + self._retry_after
            self._answers.pop(key, None)
            return None
        self._failed.pop(key, None)
        expires = now + self._max_age
        if answer.next_update is not None:
            expires = min(expires, answer.next_update)
        self._answers[key] = (answer, expires)
        return answer


def _key_hash(cert: x509.Certificate) -> bytes:
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    bits = asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    return hashlib.sha1(bits).digest()  # noqa: S324 (OCSP CertID, RFC 6960)


def _checked(der: bytes, issuer: x509.Certificate, serial: int, now: datetime) -> OcspAnswer:
    """The answer in ``der`` once it checks (see ``OcspCache``); ``ValueError`` or
    ``InvalidSignature`` otherwise."""
    resp = x509_ocsp.load_der_ocsp_response(der)
    if resp.response_status != x509_ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise ValueError(f"responder answered {resp.response_status.name}")
    if resp.responder_key_hash is not None:
        if resp.responder_key_hash != _key_hash(issuer):
            raise ValueError("signed by a delegated responder")
    elif resp.responder_name != issuer.subject:
        raise ValueError("signed by a delegated responder")
    key = issuer.public_key()
    algorithm = resp.signature_hash_algorithm
    if algorithm is None:
        raise ValueError("no signature hash algorithm")
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(algorithm))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(resp.signature, resp.tbs_response_bytes, padding.PKCS1v15(), algorithm)
    else:
        raise ValueError("unsupported responder key")
    single = next((r for r in resp.responses if r.serial_number == serial), None)
    if single is None:
        raise ValueError("the answer is about another certificate")
    expected_name = hashlib.new(single.hash_algorithm.name, issuer.subject.public_bytes())
    if single.issuer_name_hash != expected_name.digest():
        raise ValueError("the answer is about another issuer")
    this_update = single.this_update_utc
    next_update = single.next_update_utc
    if this_update > now + timedelta(minutes=5) or (next_update is not None and next_update <= now):
        raise ValueError("the answer is not current")
    if single.certificate_status == x509_ocsp.OCSPCertStatus.REVOKED:
        return OcspAnswer(
            status="revoked",
            revoked_at=single.revocation_time_utc,
            this_update=this_update,
            next_update=next_update,
        )
    status: Literal["good", "unknown"] = (
        "good" if single.certificate_status == x509_ocsp.OCSPCertStatus.GOOD else "unknown"
    )
    return OcspAnswer(status=status, this_update=this_update, next_update=next_update)
