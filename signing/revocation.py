"""Revocation data for B-LT/B-LTA beyond the demo PKI, fetched only from an allow-list.

A long-term signature embeds revocation data for every certificate it relies on: the
signer's chain and the time-stamping authority's.  The demo PKI supplies its own CRLs in
process (``DemoPki.validation_material``).  An outside TSA (``KHO_TSA_URL``) or a remote
signing provider's CA is another matter: ``RevocationGatherer`` finds the certificates
no local CRL covers and fetches their CRLs, but only from URLs an operator allowed: CRL distribution points, else OCSP responders.

security: a certificate names its CRL distribution points itself, and the TSA's
certificates come from the TSA's answer; fetching whatever they name would let the TSA
(or whoever answers in its place) make Kho send requests anywhere.  Here a URL is
fetched only when it is on ``OutsideTrust.revocation_urls`` (the trust registry's
allow-list, ``kho registry urls add``); a certificate none of whose URLs is allowed is a
``RevocationInfoUnavailable`` before anything is fetched or signed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp
import msgspec
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator.authority import AuthorityWithCert
from pyhanko_certvalidator.fetchers.common_utils import format_ocsp_request

from signing.errors import RevocationInfoUnavailable
from signing.http import HttpLoop
from signing.models import ValidationMaterial

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OutsideTrust(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator trusts beyond the demo PKI: trust anchors and intermediate CA
    certificates (DER), and the revocation URLs Kho may fetch (exact strings)."""

    anchors: tuple[bytes, ...] = ()
    certificates: tuple[bytes, ...] = ()
    revocation_urls: frozenset[str] = frozenset()


class TrustSource(Protocol):
    """Where ``OutsideTrust`` comes from (``kho`` wires the trust registry)."""

    async def outside_trust(self) -> OutsideTrust: ...


class CrlFetcher(Protocol):
    """Fetches the CRL (DER) at ``url``; raises ``RevocationInfoUnavailable``.

    Only ever called with allow-listed URLs."""

    async def crl(self, url: str) -> bytes: ...


class OcspFetcher(Protocol):
    """Asks the OCSP responder at ``url`` about ``cert`` (issued by ``issuer``); returns
    a successful ``OCSPResponse`` (DER) or raises ``RevocationInfoUnavailable``.

    Only ever called with allow-listed URLs."""

    async def ocsp(
        self, url: str, cert: asn1_x509.Certificate, issuer: asn1_x509.Certificate
    ) -> bytes: ...


class HttpCrlFetcher:
    """CRLs over HTTP(S) through the signing ``HttpLoop`` (one kept-alive session), with
    a timeout and a size limit, each kept until ``min(nextUpdate, fetched + max_age)``.

    Note: ``requests`` lists every URL actually fetched (for tests and metrics)."""

    def __init__(
        self,
        http: HttpLoop,
        *,
        timeout_seconds: float = 5.0,
        max_bytes: int = 10 * 1024 * 1024,
        max_age: timedelta = timedelta(minutes=5),
        clock: Clock = _utc_now,
    ) -> None:
        self._http = http
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes
        self._max_age = max_age
        self._clock = clock
        self._cache: dict[str, tuple[bytes, datetime]] = {}
        self.requests: list[str] = []

    async def crl(self, url: str) -> bytes:
        now = self._clock()
        cached = self._cache.get(url)
        if cached is not None and now < cached[1]:
            return cached[0]
        if not url.startswith(("http://", "https://")):
            raise RevocationInfoUnavailable(f"{url}: only http and https URLs are fetched")
        self.requests.append(url)

        async def get(session: aiohttp.ClientSession) -> bytes:
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            body = bytearray()
            async with session.get(url, timeout=timeout, raise_for_status=True) as resp:
                async for chunk in resp.content.iter_chunked(65_536):
                    body += chunk
                    if len(body) > self._max_bytes:
                        break
            return bytes(body)

        try:
            body = await self._http.run(get)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RevocationInfoUnavailable(
                f"the CRL at {url} could not be fetched ({type(exc).__name__} {exc})"
            ) from None
        if len(body) > self._max_bytes:
            raise RevocationInfoUnavailable(f"the CRL at {url} is larger than allowed")
        if pem.detect(body):
            _, _, body = pem.unarmor(body)
        try:
            next_update = asn1_crl.CertificateList.load(body)["tbs_cert_list"]["next_update"].native
        except (ValueError, TypeError, KeyError) as exc:
            raise RevocationInfoUnavailable(f"{url} did not answer with a CRL ({exc})") from None
        expires = now + self._max_age
        if isinstance(next_update, datetime):
            expires = min(expires, next_update)
        self._cache[url] = (body, expires)
        return body

    async def ocsp(
        self, url: str, cert: asn1_x509.Certificate, issuer: asn1_x509.Certificate
    ) -> bytes:
        """RFC 6960 over HTTP POST (SHA-1 CertID, as every responder takes), the answer
        kept until its ``nextUpdate`` (at most ``max_age``) per certificate."""
        now = self._clock()
        key = f"{url} {cert.issuer_serial}"
        cached = self._cache.get(key)
        if cached is not None and now < cached[1]:
            return cached[0]
        if not url.startswith(("http://", "https://")):
            raise RevocationInfoUnavailable(f"{url}: only http and https URLs are fetched")
        request = format_ocsp_request(
            cert, AuthorityWithCert(issuer), certid_hash_algo="sha1", request_nonces=False
        ).dump()
        self.requests.append(url)

        async def post(session: aiohttp.ClientSession) -> bytes:
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            headers = {"Content-Type": "application/ocsp-request"}
            async with session.post(
                url, data=request, headers=headers, timeout=timeout, raise_for_status=True
            ) as resp:
                return await resp.content.read(1024 * 1024)

        try:
            body = await self._http.run(post)
            answer = asn1_ocsp.OCSPResponse.load(body)
            status = answer["response_status"].native
            single = answer.basic_ocsp_response["tbs_response_data"]["responses"][0]
            next_update = single["next_update"].native
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RevocationInfoUnavailable(
                f"the OCSP responder at {url} could not be asked ({type(exc).__name__} {exc})"
            ) from None
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise RevocationInfoUnavailable(f"{url} did not answer with OCSP ({exc})") from None
        if status != "successful":
            raise RevocationInfoUnavailable(f"the OCSP responder at {url} answered {status}")
        expires = now + self._max_age
        if isinstance(next_update, datetime):
            expires = min(expires, next_update)
        self._cache[key] = (body, expires)
        return body


def crl_urls(cert: asn1_x509.Certificate) -> list[str]:
    """The http(s) URLs of ``cert``'s CRL distribution points (full names only)."""
    urls: list[str] = []
    for point in cert.crl_distribution_points or ():
        name = point["distribution_point"]
        if name.name != "full_name":
            continue
        for general in name.chosen:
            if general.name == "uniform_resource_identifier":
                urls.append(str(general.native))
    return urls


class RevocationGatherer:
    """Completes ``ValidationMaterial`` for the certificates it does not cover.

    ``complete(base, certificates)`` returns ``base`` itself when every certificate is a
    trust anchor or issued by a CA of ``base`` whose CRL ``base`` holds (the demo PKI's
    own chains: nothing is read or fetched).  Otherwise it adds the ``TrustSource``'s
    anchors and intermediates, and for each uncovered certificate the CRL from one of its
    allow-listed distribution points.  Raises ``RevocationInfoUnavailable`` naming the
    certificate when none of its URLs is allowed or none could be fetched."""

    def __init__(self, trust: TrustSource, fetcher: RevocationFetcher) -> None:
        self._trust = trust
        self._fetcher = fetcher

    async def outside_trust(self) -> OutsideTrust:
        return await self._trust.outside_trust()

    async def complete(
        self,
        base: ValidationMaterial,
        certificates: Iterable[bytes],
        outside: OutsideTrust | None = None,
    ) -> ValidationMaterial:
        """``outside`` (read beforehand with ``outside_trust``) saves asking the
        ``TrustSource`` here, e.g. on an event loop where its database is not usable."""
        local = _Covered(base.trust_roots, base.certificates, base.crls)
        certs = _unique(certificates)
        pending = [c for c in certs if not local.covers(c)]
        if not pending:
            return base
        if outside is None:
            outside = await self._trust.outside_trust()
        anchors = {hashlib.sha256(a).digest() for a in (*base.trust_roots, *outside.anchors)}
        pool = [
            *certs,
            *(asn1_x509.Certificate.load(c) for c in (*outside.certificates, *outside.anchors)),
        ]
        crls: list[bytes] = []
        ocsps: list[bytes] = []
        for cert in pending:
            if hashlib.sha256(cert.dump()).digest() in anchors:
                continue
            if _self_issued(cert):
                raise RevocationInfoUnavailable(
                    f"{cert.subject.human_friendly!r} is not a trust anchor; an operator "
                    "trusts it with `kho registry anchors add`"
                )
            kind, der = await self._revocation_for(cert, pool, outside.revocation_urls)
            (crls if kind == "crl" else ocsps).append(der)
        # Note: replace, so whatever else ``base`` carries (e.g. OCSP answers) stays.
        return msgspec.structs.replace(
            base,
            trust_roots=_merge(base.trust_roots, outside.anchors),
            certificates=_merge(base.certificates, outside.certificates, (c.dump() for c in certs)),
            crls=_merge(base.crls, crls),
            ocsps=_merge(base.ocsps, ocsps),
        )

    async def _revocation_for(
        self,
        cert: asn1_x509.Certificate,
        pool: Sequence[asn1_x509.Certificate],
        allowed: frozenset[str],
    ) -> tuple[str, bytes]:
        """``("crl", der)`` or ``("ocsp", der)`` for ``cert``: its allow-listed CRL
        distribution points first, then its allow-listed OCSP responders."""
        subject = cert.subject.human_friendly
        named_crls = crl_urls(cert)
        named_ocsp = [str(u) for u in cert.ocsp_urls]
        # security: only allow-listed URLs are ever fetched (see the module docstring).
        usable = [("crl", u) for u in named_crls if u in allowed]
        issuer = _issuer_of(cert, pool)
        if issuer is not None:
            usable += [("ocsp", u) for u in named_ocsp if u in allowed]
        if not usable:
            listed = ", ".join([*named_crls, *named_ocsp]) or "none"
            raise RevocationInfoUnavailable(
                f"no allow-listed CRL or OCSP URL for {subject!r} (it names: {listed}); an "
                "operator allows one with `kho registry urls add URL`"
            )
        failures: list[str] = []
        for kind, url in usable:
            try:
                if kind == "crl":
                    return kind, await self._fetcher.crl(url)
                assert issuer is not None
                return kind, await self._fetcher.ocsp(url, cert, issuer)
            except RevocationInfoUnavailable as exc:
                failures.append(exc.reason)
        raise RevocationInfoUnavailable(f"for {subject!r}: {'; '.join(failures)}")


class _Covered:
    """Which certificates a ``ValidationMaterial`` already covers."""

    def __init__(
        self, roots: Sequence[bytes], certificates: Sequence[bytes], crls: Sequence[bytes]
    ) -> None:
        self._anchors = {hashlib.sha256(r).digest() for r in roots}
        crl_issuers = {asn1_crl.CertificateList.load(c).issuer.dump() for c in crls}
        # Note: a CA is identified by name and key, so a same-named CA of another PKI
        # (every Kho's demo root has the same name) is not mistaken for ours.
        self._issuers: set[tuple[bytes, bytes | None]] = set()
        for der in (*roots, *certificates):
            ca = asn1_x509.Certificate.load(der)
            if ca.subject.dump() in crl_issuers:
                self._issuers.add((ca.subject.dump(), ca.key_identifier))

    def covers(self, cert: asn1_x509.Certificate) -> bool:
        if hashlib.sha256(cert.dump()).digest() in self._anchors:
            return True
        issuer = cert.issuer.dump()
        aki = cert.authority_key_identifier
        return any(name == issuer and (aki is None or aki == ski) for name, ski in self._issuers)


class RevocationFetcher(CrlFetcher, OcspFetcher, Protocol):
    """Both kinds of fetch (``HttpCrlFetcher`` does both)."""


def _issuer_of(
    cert: asn1_x509.Certificate, pool: Sequence[asn1_x509.Certificate]
) -> asn1_x509.Certificate | None:
    aki = cert.authority_key_identifier
    for ca in pool:
        if ca.subject == cert.issuer and (aki is None or aki == ca.key_identifier):
            return ca
    return None


def _self_issued(cert: asn1_x509.Certificate) -> bool:
    return bool(cert.self_issued)


def _unique(ders: Iterable[bytes]) -> list[asn1_x509.Certificate]:
    seen: set[bytes] = set()
    out: list[asn1_x509.Certificate] = []
    for der in ders:
        digest = hashlib.sha256(der).digest()
        if digest not in seen:
            seen.add(digest)
            out.append(asn1_x509.Certificate.load(der))
    return out


def _merge(*groups: Iterable[bytes]) -> tuple[bytes, ...]:
    seen: set[bytes] = set()
    out: list[bytes] = []
    for group in groups:
        for der in group:
            if der not in seen:
                seen.add(der)
                out.append(der)
    return tuple(out)
