"""The sealed PDF verification report: owner, share link and public verify."""

from __future__ import annotations

import asyncio
import re
import subprocess
from io import BytesIO

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from kho.registry_cli import register_agency_issuer
from signing.receipts import SERVICE_CODE
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from verification.report_pdf import VERDICT_SENTENCES

pytestmark = pytest.mark.usefixtures("cheap_passwords")


async def _issued_paper(client, services):
    agency, code = await f.agency_headers(services, client)
    await register_agency_issuer(services, code, f"Cơ quan {code}", ["birth_certificate"])
    pid, password = await f.citizen(services)
    r = await client.post(
        "/api/v1/agency/deposits",
        headers=agency,
        data={
            "personal_id": pid,
            "sign": "true",
            "doc_type": "birth_certificate",
            "title": "Giấy khai sinh",
        },
        files={"file": ("gks.pdf", f.pdf("Giay khai sinh"), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    citizen = await f.login(client, pid, password)
    return agency, code, citizen, r.json()


def _text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return re.sub(r"\s+", " ", out)


async def _seal_status(services, pdf: bytes):
    """pyHanko's own verdict on the report's seal, against the demo root and CRLs."""
    material = (await services.signing.ready()).validation_material()
    vc = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(c) for c in material.trust_roots],
        other_certs=[asn1_x509.Certificate.load(c) for c in material.certificates],
        crls=[asn1_crl.CertificateList.load(c) for c in material.crls],
        allow_fetching=False,
        revocation_mode="require",
    )
    reader = PdfFileReader(BytesIO(pdf))
    [sig] = reader.embedded_signatures
    return await async_validate_pdf_signature(sig, vc)


async def test_the_owner_downloads_a_sealed_report_in_both_languages(client, services):
    _, code, citizen, doc = await _issued_paper(client, services)

    r = await client.get(f"/api/v1/documents/{doc['id']}/verification.pdf", headers=citizen)

    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment;")
    pdf = r.content
    status = await _seal_status(services, pdf)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.signing_cert.subject.native["serial_number"] == SERVICE_CODE
    # B-LT: the DSS follows the seal, and nothing else does.
    assert status.coverage.name == "ENTIRE_REVISION"
    assert status.modification_level.name == "LTA_UPDATES"
    text = _text(pdf)
    vi, en = VERDICT_SENTENCES["passed"]
    assert vi in text and en in text
    assert doc["sha256"] in text.replace(" ", "")
    assert "Chữ ký còn nguyên vẹn" in text  # a reason, in Vietnamese
    assert "The signature is intact" in text  # and in English
    assert "B-LT" in text and code in text
    assert "Giấy khai sinh" in text


async def test_a_revoked_paper_reports_failed_in_the_pdf(client, services):
    agency, _, citizen, doc = await _issued_paper(client, services)
    r = await client.post(
        f"/api/v1/agency/documents/{doc['id']}/revoke", headers=agency, json={"reason": "Cấp nhầm"}
    )
    assert r.status_code == 200, r.text

    r = await client.get(f"/api/v1/documents/{doc['id']}/verification.pdf", headers=citizen)

    assert r.status_code == 200
    text = _text(r.content)
    vi, en = VERDICT_SENTENCES["failed"]
    assert vi in text and en in text
    assert "document.revoked" in text


async def test_nobody_else_gets_my_report(client, services):
    _, _, _, doc = await _issued_paper(client, services)
    other = await f.citizen_headers(services, client)
    r = await client.get(f"/api/v1/documents/{doc['id']}/verification.pdf", headers=other)
    f.assert_problem(r, 404, "not-found")
    r = await client.get(f"/api/v1/documents/{doc['id']}/verification.pdf")
    assert r.status_code == 401
    r = await client.get("/api/v1/documents/not-a-uuid/verification.pdf", headers=other)
    assert r.status_code in (404, 422)


async def test_a_share_holder_gets_the_sealed_report_through_the_share(client, services):
    _, _, citizen, doc = await _issued_paper(client, services)
    mine = await f.upload(client, citizen, f.pdf("not shared"))
    r = await client.post(
        "/api/v1/shares",
        headers=citizen,
        json={"document_ids": [doc["id"]], "ttl_seconds": 3600, "max_uses": 2},
    )
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    opened = (await client.get(f"/api/v1/shared/{token}")).json()
    grant = opened["grant"]
    url = f"/api/v1/shared/{token}/documents/{doc['id']}/verification.pdf"

    # Within the grant: no further use is spent.
    r = await client.get(url, headers={"Share-Grant": grant})
    assert r.status_code == 200, r.text
    assert VERDICT_SENTENCES["passed"][1] in _text(r.content)
    assert (await _seal_status(services, r.content)).trusted
    # A document the link does not show is not found through it.
    r = await client.get(
        f"/api/v1/shared/{token}/documents/{mine['id']}/verification.pdf",
        headers={"Share-Grant": grant},
    )
    f.assert_problem(r, 404, "not-found")
    # Without a grant it is an opening of its own: the second and last use ...
    assert (await client.get(url)).status_code == 200
    # ... after which the link is used up.
    f.assert_problem(await client.get(url), 410, "share-gone")
    # The owner's access log shows the readings through the link.
    log = (await client.get("/api/v1/access-log", headers=citizen)).json()
    assert len([e for e in log["items"] if e.get("share_id") == opened["share_id"]]) >= 2
    # An unknown token is a 404.
    r = await client.get(f"/api/v1/shared/{'x' * 43}/documents/{doc['id']}/verification.pdf")
    f.assert_problem(r, 404)


async def test_anyone_gets_a_sealed_report_of_a_dropped_pdf(client, services):
    r = await client.post(
        "/api/v1/verify.pdf", files={"file": ("x.pdf", f.pdf("unsigned"), "application/pdf")}
    )
    assert r.status_code == 200, r.text
    vi, en = VERDICT_SENTENCES["indeterminate"]
    text = _text(r.content)
    assert vi in text and en in text
    assert "document.unsigned" in text
    assert (await _seal_status(services, r.content)).intact
    bad = await client.post("/api/v1/verify.pdf", content=b"x", headers={"content-type": "text/x"})
    assert 400 <= bad.status_code < 500


async def test_concurrent_reports_all_seal(client, services):
    _, _, citizen, doc = await _issued_paper(client, services)
    url = f"/api/v1/documents/{doc['id']}/verification.pdf"
    answers = await asyncio.gather(*(client.get(url, headers=citizen) for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4
