"""Checked deposits: a signed paper is accepted only as the depositing agency's, and every
deposit gets a receipt signed by Kho's service seal."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from kho.registry_cli import register_agency_issuer
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")


async def _agency(client, services, types=("birth_certificate",)):
    headers, code = await f.agency_headers(services, client)
    await register_agency_issuer(services, code, f"Cơ quan {code}", list(types))
    return headers, code


async def _self_sealed(services, code: str) -> bytes:
    return await services.signing.seal_for_agency(
        f.pdf("Giay khai sinh"), agency_code=code, agency_name=f"Cơ quan {code}"
    )


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


async def test_a_paper_signed_by_the_agency_itself_is_accepted_with_a_receipt(client, services):
    headers, code = await _agency(client, services)
    sealed = await _self_sealed(services, code)
    pid = f.personal_id()
    r = await f.deposit(client, headers, pid, sealed)
    doc = r.json()
    assert doc["sha256"] == hashlib.sha256(sealed).hexdigest()  # stored byte for byte

    header_b64, claims_b64, sig_b64 = doc["receipt"].split(".")
    header = json.loads(_decode(header_b64))
    claims = json.loads(_decode(claims_b64))
    assert header["alg"] == "RS256"
    assert claims == {
        "iss": "kho",
        "deposit_id": doc["id"],
        "personal_id": pid,
        "doc_type": "birth_certificate",
        "sha256": doc["sha256"],
        "agency": code,
        "iat": claims["iat"],
    }
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    leaf.public_key().verify(  # raises if the signature is wrong
        _decode(sig_b64),
        f"{header_b64}.{claims_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    chain_root = asn1_x509.Certificate.load(services.signing.pki.ca_certificate("root"))
    assert asn1_x509.Certificate.load(base64.b64decode(header["x5c"][-1])).issuer == (
        chain_root.subject
    )


async def test_a_paper_signed_by_another_agency_is_refused(client, services):
    headers, _ = await _agency(client, services)
    _, other = await _agency(client, services)
    sealed = await _self_sealed(services, other)
    r = await f.deposit(client, headers, f.personal_id(), sealed, expect=422)
    body = f.assert_problem(r, 422, "deposit-rejected")
    assert body["verdict"] == "passed"  # the file is fine: it just is not this agency's
    assert await f.document_count(services) == 0


async def test_a_tampered_signed_paper_is_refused_with_reasons(client, services):
    headers, code = await _agency(client, services)
    sealed = bytearray(await _self_sealed(services, code))
    at = bytes(sealed).index(b"Giay khai sinh")
    sealed[at] ^= 0x01
    r = await f.deposit(client, headers, f.personal_id(), bytes(sealed), expect=422)
    body = f.assert_problem(r, 422, "deposit-rejected")
    assert body["verdict"] == "failed"
    assert body["reasons"]
    for reason in body["reasons"]:
        assert reason["message_vi"] and reason["message_en"]
    assert await f.document_count(services) == 0


async def test_unsigned_deposits_are_still_stored_with_a_receipt(client, services):
    headers, _ = await f.agency_headers(services, client)
    doc = (await f.deposit(client, headers, f.personal_id(), f.pdf("unsigned"))).json()
    assert doc["receipt"].count(".") == 2
