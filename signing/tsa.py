"""An RFC 3161 time-stamping authority, and a pyHanko time-stamper that calls it in process.

``TimeStampAuthority.respond(der)`` is what Kho serves at ``/tsa``
(``application/timestamp-query`` in, ``application/timestamp-reply`` out).  A request it
cannot honour gets a ``rejection`` response with the RFC 3161 failure bit, never an
exception, so the HTTP adapter always has an answer to send.  The token is signed through
the ``KeyStore``: the TSA key never leaves custody.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.general import simple_cms_attribute as _untyped_attribute
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from signing.http import HttpLoop
from signing.keys.api import KeyStore, signature_algorithm_for
from signing.models import Credential

# Note: a private-arc policy OID for the demo TSA (Kho has no registered arc yet); an
# operator with a real TSA uses that TSA's policy instead.
DEFAULT_POLICY = "1.3.6.1.4.1.57264.1.3161"

_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}


def simple_cms_attribute(name: str, value: object) -> cms.CMSAttribute:
    return _untyped_attribute(name, value)  # type: ignore[no-untyped-call]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_serial() -> int:
    # Note: 127 random bits are unique without shared state, which N processes need.
    return secrets.randbits(127) | (1 << 126)


class TimeStampAuthority:
    """Issues RFC 3161 time-stamp tokens signed by ``credential`` (a certificate with the
    critical ``timeStamping`` extended key usage) through ``key_store``.

    Accepts SHA-256/384/512 message imprints; with ``certReq`` the token carries the TSA
    certificate and its chain (needed by validators that have only the root)."""

    def __init__(
        self,
        key_store: KeyStore,
        credential: Credential,
        *,
        policy: str = DEFAULT_POLICY,
        clock: Callable[[], datetime] = _utc_now,
        serial_numbers: Callable[[], int] = _new_serial,
    ) -> None:
        self._keys = key_store
        self._cred = credential
        self._cert = asn1_x509.Certificate.load(credential.certificate)
        self._chain = [asn1_x509.Certificate.load(c) for c in credential.chain]
        self._policy = policy
        self._clock = clock
        self._serials = serial_numbers
        self._sig_alg = signature_algorithm_for(key_store.algorithm(credential.key_id), "sha256")
        # Note: constant parts are built once and re-loaded from DER: asn1crypto then
        # reuses their encoding, where a freshly built signing-certificate-v2 value
        # (the issuer's name: nested SETs, sorted on every dump) costs milliseconds.
        self._signing_certificate_attr = cms.CMSAttribute.load(
            simple_cms_attribute(
                "signing_certificate_v2", as_signing_certificate_v2(self._cert, "sha256")
            ).dump()
        )
        self._tsa_name = asn1_x509.GeneralName.load(
            asn1_x509.GeneralName(name="directory_name", value=self._cert.subject).dump()
        )
        self._sid = cms.SignerIdentifier.load(
            cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": self._cert.issuer, "serial_number": self._cert.serial_number}
                    )
                }
            ).dump()
        )

    @property
    def certificate(self) -> bytes:
        return self._cred.certificate

    def respond(self, request: bytes) -> bytes:
        """DER ``TimeStampReq`` in, DER ``TimeStampResp`` out (granted or rejection)."""
        try:
            req = tsp.TimeStampReq.load(request)
            # Note: .native forces a full parse, so malformed DER fails here, not later.
            _ = req.native
        except (ValueError, TypeError, EOFError):
            rejected: bytes = _rejection(
                "badDataFormat", "the request is not a DER TimeStampReq"
            ).dump()
            return rejected
        granted: bytes = self.stamp(req).dump()
        return granted

    def stamp(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        """Answer a parsed request."""
        if req["version"].native != "v1":
            return _rejection("badRequest", "only version 1 requests are supported")
        imprint = req["message_imprint"]
        hash_name = imprint["hash_algorithm"]["algorithm"].native
        if hash_name not in _DIGEST_SIZES:
            return _rejection("badAlg", f"hash algorithm {hash_name} is not accepted")
        if len(imprint["hashed_message"].native) != _DIGEST_SIZES[hash_name]:
            return _rejection("badDataFormat", "the message imprint has the wrong length")
        requested_policy = req["req_policy"].native
        if requested_policy is not None and requested_policy != self._policy:
            return _rejection("unacceptedPolicy", f"policy {requested_policy} is not offered")
        if req["extensions"].native:
            return _rejection("unacceptedExtension", "request extensions are not supported")

        gen_time = self._clock().astimezone(UTC)
        tst_fields: dict[str, object] = {
            "version": "v1",
            "policy": self._policy,
            "message_imprint": imprint,
            "serial_number": self._serials(),
            "gen_time": gen_time,
            "accuracy": {"seconds": 1},
            "ordering": False,
            "tsa": self._tsa_name,
        }
        if req["nonce"].native is not None:
            tst_fields["nonce"] = req["nonce"]
        tst_info_der = tsp.TSTInfo(tst_fields).dump()

        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute(
                    "signing_time", cms.Time({"utc_time": core.UTCTime(gen_time)})
                ),
                simple_cms_attribute("message_digest", hashlib.sha256(tst_info_der).digest()),
                self._signing_certificate_attr,
            ]
        )
        signature = self._keys.sign(self._cred.key_id, signed_attrs.dump(), self._sig_alg)
        digest_alg = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": self._sid,
                "digest_algorithm": digest_alg,
                "signed_attrs": signed_attrs,
                "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": self._sig_alg}),
                "signature": signature,
            }
        )
        signed_data: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [digest_alg],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tst_info_der),
            },
            "signer_infos": [signer_info],
        }
        if req["cert_req"].native:
            signed_data["certificates"] = [self._cert, *self._chain]
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})


class _TimeStampResp(tsp.TimeStampResp):  # type: ignore[misc]
    # Note: asn1crypto declares the token mandatory; RFC 3161 omits it in a rejection.
    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def _rejection(failure: str, text: str) -> tsp.TimeStampResp:
    fail_bits = {
        "badAlg": "bad_alg",
        "badRequest": "bad_request",
        "badDataFormat": "bad_data_format",
        "unacceptedPolicy": "unaccepted_policy",
        "unacceptedExtension": "unaccepted_extensions",
    }
    return _TimeStampResp(
        {
            "status": {
                "status": "rejection",
                "status_string": [text],
                "fail_info": {fail_bits[failure]},
            }
        }
    )


class LocalTimeStamper(TimeStamper):
    """A pyHanko ``TimeStamper`` that asks a ``TimeStampAuthority`` in process (no HTTP)."""

    def __init__(self, authority: TimeStampAuthority) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return self._authority.stamp(req)


class HttpTimeStamper(HTTPTimeStamper):
    """pyHanko's RFC 3161 HTTP client (``KHO_TSA_URL``), sending every request through
    one shared ``HttpLoop`` session, so connections to the TSA are kept alive across
    seals whichever event loop a seal runs on.

    Failures (connection refused, timeout, HTTP error, a reply that is not a DER
    ``TimeStampResp``) raise pyHanko's ``TimestampRequestError``, which the sealers turn
    into ``TimestampUnavailable``."""

    def __init__(self, url: str, http: HttpLoop, *, timeout_seconds: float = 5.0) -> None:
        super().__init__(url, timeout=timeout_seconds)
        self._http = http

    def __repr__(self) -> str:
        return f"HttpTimeStamper({self.url!r})"

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        parent = super().async_request_tsa_response

        async def post(session: aiohttp.ClientSession) -> tsp.TimeStampResp:
            # Note: always the same session (the loop's); pyHanko's client uses the one
            # set here instead of opening a session per request.
            self._session = session
            response: tsp.TimeStampResp = await parent(req)
            try:
                # Note: .native forces a full parse, so a garbled reply fails here.
                _ = response["status"].native
            except (ValueError, TypeError, EOFError) as exc:
                raise TimestampRequestError(f"unparseable reply from {self.url}: {exc}") from None
            return response

        return await self._http.run(post)


def load_response(der: bytes) -> tsp.TimeStampResp:
    """Parse a ``TimeStampResp``, rejections (which carry no token) included."""
    return _TimeStampResp.load(der)
