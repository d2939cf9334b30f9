"""The demo PKI's OCSP responder over HTTP (RFC 6960 appendix A.1: GET and POST)."""

from __future__ import annotations

import base64
import urllib.parse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from tests import factories as f

OCSP_REQUEST = {"content-type": "application/ocsp-request"}


def _cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _request(cert: x509.Certificate, issuer: x509.Certificate, *, nonce: bytes | None = None):
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization_der())


def serialization_der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def _check_signed_by(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> None:
    key = issuer.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(resp.signature_hash_algorithm))
    else:
        key.verify(  # type: ignore[union-attr]
            resp.signature,
            resp.tbs_response_bytes,
            padding.PKCS1v15(),
            resp.signature_hash_algorithm,
        )


async def _post(client, ca: str, body: bytes) -> ocsp.OCSPResponse:
    r = await client.post(f"/pki/{ca}/ocsp", content=body, headers=OCSP_REQUEST)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(r.content)


async def _get(client, ca: str, body: bytes) -> ocsp.OCSPResponse:
    encoded = urllib.parse.quote(base64.b64encode(body).decode(), safe="")
    r = await client.get(f"/pki/{ca}/ocsp/{encoded}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(r.content)


async def test_new_certificates_name_the_ocsp_url_and_it_answers_good(client, services):
    pki = await services.signing.ready()
    seal = _cert(pki.agency_seal("OCSP-1", "Sở Tư pháp").certificate)
    issuer = _cert(pki.ca_certificate("agency-ca"))
    aia = seal.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    urls = [
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
    ]
    assert urls == [pki.ocsp_url("agency-ca")]
    assert urls[0].endswith("/pki/agency-ca/ocsp")

    for send in (_post, _get):
        resp = await send(client, "agency-ca", _request(seal, issuer, nonce=b"n" * 16))

        assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
        assert resp.serial_number == seal.serial_number
        assert resp.responder_key_hash is not None
        assert resp.next_update_utc is not None and resp.next_update_utc > resp.this_update_utc
        assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"n" * 16
        _check_signed_by(resp, issuer)


async def test_a_revoked_certificate_is_answered_revoked_at_once(client, services):
    pki = await services.signing.ready()
    cred = pki.official("OCSP-2", "UBND", "CB-1", "Trần Thị Bình")
    cert, issuer = _cert(cred.certificate), _cert(pki.ca_certificate("agency-ca"))
    assert (await _post(client, "agency-ca", _request(cert, issuer))).certificate_status == (
        ocsp.OCSPCertStatus.GOOD
    )

    pki.revoke(cred.certificate, "key_compromise")

    for send in (_post, _get):
        resp = await send(client, "agency-ca", _request(cert, issuer))
        assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED
        assert resp.revocation_reason == x509.ReasonFlags.key_compromise
        assert resp.revocation_time_utc is not None
        _check_signed_by(resp, issuer)


async def test_unknown_serials_and_other_issuers_are_unknown(client, services):
    pki = await services.signing.ready()
    agency_ca = _cert(pki.ca_certificate("agency-ca"))
    citizen = _cert(pki.citizen(f.personal_id(), "Nguyễn Văn An").certificate)
    never = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            *_issuer_hashes(agency_ca), serial_number=12345, algorithm=hashes.SHA256()
        )
        .build()
        .public_bytes(serialization_der())
    )
    assert (await _post(client, "agency-ca", never)).certificate_status == (
        ocsp.OCSPCertStatus.UNKNOWN
    )
    # A citizen certificate asked of the agency CA: not this CA's to answer for.
    citizen_ca = _cert(pki.ca_certificate("citizen-ca"))
    resp = await _get(client, "agency-ca", _request(citizen, citizen_ca))
    assert resp.certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    # ... and good from its own CA.
    resp = await _get(client, "citizen-ca", _request(citizen, citizen_ca))
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD


def _issuer_hashes(issuer: x509.Certificate) -> tuple[bytes, bytes]:
    request = ocsp.OCSPRequestBuilder().add_certificate(issuer, issuer, hashes.SHA256()).build()
    return request.issuer_name_hash, request.issuer_key_hash


async def test_bad_requests_get_precise_answers(client, services):
    await services.signing.ready()
    resp = await _post(client, "agency-ca", b"not an ocsp request")
    assert resp.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    r = await client.get("/pki/agency-ca/ocsp/%%%not-base64")
    assert r.status_code == 200
    assert ocsp.load_der_ocsp_response(r.content).response_status == (
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )
    r = await client.post(
        "/pki/agency-ca/ocsp", content=b"x", headers={"content-type": "text/plain"}
    )
    f.assert_problem(r, 415)
    r = await client.post("/pki/nope/ocsp", content=b"x", headers=OCSP_REQUEST)
    f.assert_problem(r, 404)
    r = await client.get("/pki/nope/ocsp/AAAA")
    f.assert_problem(r, 404)
    r = await client.post("/pki/agency-ca/ocsp", content=b"x" * 20_000, headers=OCSP_REQUEST)
    f.assert_problem(r, 413)


async def test_a_get_request_whose_base64_holds_slashes_is_read_whole(client, services):
    pki = await services.signing.ready()
    issuer = _cert(pki.ca_certificate("agency-ca"))
    # Note: a nonce chosen so the base64 carries "//" and "+": both must survive the URL.
    for nonce in range(4096):
        body = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(
                *_issuer_hashes(issuer), serial_number=777, algorithm=hashes.SHA256()
            )
            .add_extension(x509.OCSPNonce(nonce.to_bytes(2, "big") * 8), critical=False)
            .build()
            .public_bytes(serialization_der())
        )
        text = base64.b64encode(body).decode()
        if "//" in text and "+" in text:
            break
    else:
        pytest.fail("no nonce gives a base64 with // and +")
    assert (await _get(client, "agency-ca", body)).certificate_status == (
        ocsp.OCSPCertStatus.UNKNOWN
    )
