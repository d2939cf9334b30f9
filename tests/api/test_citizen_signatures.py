"""Citizens sign their own PDFs with a remote signature: enrol, start, authorize."""

from __future__ import annotations

import subprocess
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature

from signing.pades import validation_context
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")

PIN = "246810"


async def _citizen_with_credential(client, services):
    headers = await f.citizen_headers(services, client)
    r = await client.post("/api/v1/me/signing-credential", headers=headers, json={"pin": PIN})
    assert r.status_code == 201, r.text
    enrolled = r.json()
    assert enrolled["otp_uri"].startswith("otpauth://totp/")
    return headers, enrolled["credential_id"]


async def _start(client, headers, doc_id, **body):
    return await client.post(f"/api/v1/documents/{doc_id}/signatures", headers=headers, json=body)


async def test_a_citizen_signs_a_pdf_with_pin_and_code(client, services, tmp_path):
    headers, credential = await _citizen_with_credential(client, services)
    original = f.pdf("To khai dang ky ket hon")
    doc = await f.upload(client, headers, original, title="Tờ khai đăng ký kết hôn")

    started = await _start(client, headers, doc["id"], reason="Tôi xác nhận", location="Hà Nội")
    assert started.status_code == 201, started.text
    session = started.json()
    assert session["hashes"] and session["credential_id"] == credential

    code = await services.csc.current_otp(credential)
    r = await client.post(
        session["authorize_url"], headers=headers, json={"pin": PIN, "code": code}
    )
    assert r.status_code == 201, r.text
    signed_doc = r.json()
    assert signed_doc["provenance"] == "citizen_signed"
    assert signed_doc["source_document_id"] == doc["id"]

    content = await client.get(f"/api/v1/documents/{signed_doc['id']}/content", headers=headers)
    signed = content.content
    assert signed[: len(original)] == original
    [sig] = PdfFileReader(BytesIO(signed)).embedded_signatures
    status = await async_validate_pdf_signature(
        sig, validation_context(services.signing.pki.validation_material())
    )
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    assert "Signature is Valid" in pdfsig.stdout

    # The session is spent: authorizing it again finds nothing.
    again = await client.post(
        session["authorize_url"], headers=headers, json={"pin": PIN, "code": code}
    )
    f.assert_problem(again, 404, "not-found")


async def test_wrong_pin_keeps_the_session_and_five_lock_the_credential(client, services):
    headers, credential = await _citizen_with_credential(client, services)
    doc = await f.upload(client, headers, f.pdf("form"))
    session = (await _start(client, headers, doc["id"])).json()
    code = await services.csc.current_otp(credential)
    for left in (4, 3, 2, 1):
        r = await client.post(
            session["authorize_url"], headers=headers, json={"pin": "000000", "code": code}
        )
        body = f.assert_problem(r, 422, "invalid-pin")
        assert body["remaining_attempts"] == left
    r = await client.post(
        session["authorize_url"], headers=headers, json={"pin": "000000", "code": code}
    )
    assert r.status_code in (422, 423)
    r = await client.post(
        session["authorize_url"], headers=headers, json={"pin": PIN, "code": code}
    )
    assert r.status_code in (404, 423)  # locked credential: the session is gone or refused
    assert await f.document_count(services) == 1  # nothing signed was stored


async def test_sessions_and_documents_of_others_are_not_found(client, services):
    headers_a, _ = await _citizen_with_credential(client, services)
    headers_b, credential_b = await _citizen_with_credential(client, services)
    doc_a = await f.upload(client, headers_a, f.pdf("A's paper"))
    f.assert_problem(await _start(client, headers_b, doc_a["id"]), 404, "not-found")
    session_a = (await _start(client, headers_a, doc_a["id"])).json()
    code = await services.csc.current_otp(credential_b)
    r = await client.post(
        session_a["authorize_url"], headers=headers_b, json={"pin": PIN, "code": code}
    )
    f.assert_problem(r, 404, "not-found")


async def test_signing_needs_a_credential_and_a_pdf(client, services):
    headers = await f.citizen_headers(services, client)
    doc = await f.upload(client, headers, f.pdf("x"))
    f.assert_problem(await _start(client, headers, doc["id"]), 409, "no-signing-credential")
    await client.post("/api/v1/me/signing-credential", headers=headers, json={"pin": PIN})
    image = await f.upload(client, headers, f.png(), filename="a.png")
    f.assert_problem(await _start(client, headers, image["id"]), 415, "unsupported-media-type")
    bad = await client.post("/api/v1/me/signing-credential", headers=headers, json={"pin": "12ab"})
    assert bad.status_code == 400
