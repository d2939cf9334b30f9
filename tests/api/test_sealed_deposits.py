"""Agency seals over HTTP: deposits with sign=true, the PKI's CRLs and certificates, the TSA."""

from __future__ import annotations

import hashlib
import os
from io import BytesIO
from uuid import UUID

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import tsp, x509
from asn1crypto.algos import DigestAlgorithm
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature

from kho.registry_cli import register_agency_issuer
from signing.pades import validation_context
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from vault import Actor, ActorType

pytestmark = pytest.mark.usefixtures("cheap_passwords")


async def _sealed_deposit(
    client, services, level: str | None = None, content: bytes | None = None, register=True
):
    headers, code = await f.agency_headers(services, client)
    if register:
        await register_agency_issuer(services, code, f"Cơ quan {code}", ["birth_certificate"])
    form = {"personal_id": f.personal_id(), "sign": "true", "doc_type": "birth_certificate"}
    if level:
        form["level"] = level
    form["title"] = "Giấy khai sinh"
    r = await client.post(
        "/api/v1/agency/deposits",
        headers=headers,
        data=form,
        files={"file": ("gks.pdf", content or f.pdf("Giay khai sinh"), "application/pdf")},
    )
    return r, code


async def _stored_bytes(services, doc: dict) -> bytes:
    """What the vault holds for a deposit, read back through the service."""
    owner = await f.owner_row(services, doc["personal_id"])
    stream = await services.vault.open_content(
        owner.id, UUID(doc["id"]), Actor(type=ActorType.OPERATOR)
    )
    return b"".join([c async for c in stream.chunks])


@pytest.mark.parametrize("level", ["B-B", "B-LT"])
async def test_sealed_deposit_validates_as_the_agency(client, services, level):
    original = f.pdf("Giay khai sinh")
    r, code = await _sealed_deposit(client, services, level, original)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["provenance"] == "issued"
    signed = await _stored_bytes(services, doc)
    assert signed[: len(original)] == original  # incremental update: the original inside
    assert (
        doc["sha256"] == hashlib.sha256(signed).hexdigest() != hashlib.sha256(original).hexdigest()
    )

    reader = PdfFileReader(BytesIO(signed))
    [sig] = reader.embedded_signatures
    status = await async_validate_pdf_signature(
        sig, validation_context(services.signing.pki.validation_material())
    )
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.subject.native["serial_number"] == code
    assert (status.timestamp_validity is not None) == (level != "B-B")
    assert ("/DSS" in reader.root) == (level == "B-LT")


async def test_a_deposit_without_sign_keeps_the_bytes_exactly(client, services):
    headers, _ = await f.agency_headers(services, client)
    content = f.pdf("already signed elsewhere")
    doc = (await f.deposit(client, headers, f.personal_id(), content)).json()
    assert await _stored_bytes(services, doc) == content


@pytest.mark.parametrize(
    ("content", "status", "slug"),
    [
        (f.png(), 415, "unsupported-media-type"),
        (b"%PDF-1.7\nnot really", 422, "unreadable-document"),
    ],
)
async def test_sealing_refuses_what_is_not_a_whole_pdf(client, services, content, status, slug):
    r, _ = await _sealed_deposit(client, services, content=content)
    f.assert_problem(r, status, slug)
    assert await f.document_count(services) == 0


async def test_unknown_level_is_422(client, services):
    r, _ = await _sealed_deposit(client, services, level="B-XL")
    body = f.assert_problem(r, 422, "invalid-input")
    assert body["field"] == "level"


async def test_pki_serves_certificates_and_crls(client, services):
    root = await client.get("/pki/root.crt")
    assert root.status_code == 200
    assert root.headers["content-type"] == "application/pkix-cert"
    cert = x509.Certificate.load(root.content)
    assert cert.self_signed == "maybe"
    for ca in ("root", "agency-ca", "citizen-ca"):
        r = await client.get(f"/pki/{ca}.crl")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/pkix-crl"
        crl = asn1_crl.CertificateList.load(r.content)
        assert crl["tbs_cert_list"]["next_update"].native is not None
    for bad in ("/pki/nope.crl", "/pki/root.pem", "/pki/..%2Froot.crt"):
        assert (await client.get(bad)).status_code == 404


async def test_tsa_answers_rfc3161_requests(client, services):
    digest = os.urandom(32)
    nonce = int.from_bytes(os.urandom(8), "big")
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": digest,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()
    r = await client.post(
        "/tsa", content=req, headers={"content-type": "application/timestamp-query"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/timestamp-reply"
    resp = tsp.TimeStampResp.load(r.content)
    assert resp["status"]["status"].native == "granted"
    info = resp["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["message_imprint"]["hashed_message"].native == digest
    assert info["nonce"].native == nonce
    wrong = await client.post("/tsa", content=req, headers={"content-type": "text/plain"})
    f.assert_problem(wrong, 415, "unsupported-media-type")


async def test_an_agency_seals_only_types_it_is_registered_for(client, services):
    r, _ = await _sealed_deposit(client, services, register=False)
    body = f.assert_problem(r, 422, "issuer-not-authorized")
    assert body["doc_type"] == "birth_certificate"
    assert await f.document_count(services) == 0
