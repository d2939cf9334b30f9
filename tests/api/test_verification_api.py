"""Verification over HTTP: my papers' reports, and any PDF dropped on /api/v1/verify."""

from __future__ import annotations

import pytest

from kho.registry_cli import register_agency_issuer
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")


async def _sealed_paper(client, services, doc_type="birth_certificate"):
    agency, code = await f.agency_headers(services, client)
    await register_agency_issuer(services, code, f"Cơ quan {code}", ["birth_certificate"])
    pid, password = await f.citizen(services)
    r = await client.post(
        "/api/v1/agency/deposits",
        headers=agency,
        data={"personal_id": pid, "sign": "true", "doc_type": doc_type, "title": "Giấy khai sinh"},
        files={"file": ("gks.pdf", f.pdf("Giay khai sinh"), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    citizen = await f.login(client, pid, password)
    return agency, code, citizen, r.json()


async def _report(client, headers, doc_id):
    r = await client.get(f"/api/v1/documents/{doc_id}/verification", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _codes(report) -> set[str]:
    return {r["code"] for r in report["reasons"]} | {r["code"] for r in report["warnings"]}


async def test_an_issued_sealed_paper_passes_then_fails_once_revoked(client, services):
    agency, code, citizen, doc = await _sealed_paper(client, services)
    report = await _report(client, citizen, doc["id"])
    assert report["verdict"] == "passed", report["reasons"]
    [sig] = report["signatures"]
    assert sig["issuer_agency"] == code
    assert sig["level"] == "B-LT"
    assert report["sha256"] == doc["sha256"]
    for reason in report["reasons"]:
        assert reason["message_vi"] and reason["message_en"]

    r = await client.post(
        f"/api/v1/agency/documents/{doc['id']}/revoke", headers=agency, json={"reason": "Cấp nhầm"}
    )
    assert r.status_code == 200
    revoked = await _report(client, citizen, doc["id"])
    assert revoked["verdict"] == "failed"
    assert "document.revoked" in _codes(revoked)


async def test_an_agency_outside_its_document_types_fails(client, services):
    # Kho refuses to seal it (422), so the agency seals it itself and tries to deposit it.
    agency, code = await f.agency_headers(services, client)
    await register_agency_issuer(services, code, f"Cơ quan {code}", ["diploma"])
    sealed = await services.signing.seal_for_agency(
        f.pdf("Giay khai sinh"), agency_code=code, agency_name=f"Cơ quan {code}"
    )
    # The deposit itself is refused (checked deposits) ...
    pid, password = await f.citizen(services)
    refused = await f.deposit(client, agency, pid, sealed, expect=422)
    assert "issuer.not_authorized_for_type" in {r["code"] for r in refused.json()["reasons"]}
    # ... and a citizen who uploads the same file sees why it does not pass.
    citizen = await f.login(client, pid, password)
    doc = await f.upload(client, citizen, sealed, doc_type="birth_certificate")
    report = await _report(client, citizen, doc["id"])
    assert report["verdict"] == "failed"
    assert "issuer.not_authorized_for_type" in _codes(report)


async def test_an_uploaded_photo_says_nobody_vouches_for_it(client, services):
    headers = await f.citizen_headers(services, client)
    photo = await f.upload(client, headers, f.png(), filename="cccd.png")
    report = await _report(client, headers, photo["id"])
    assert report["verdict"] == "indeterminate"
    assert _codes(report) == {"document.unsigned"}
    other = await f.citizen_headers(services, client)
    r = await client.get(f"/api/v1/documents/{photo['id']}/verification", headers=other)
    f.assert_problem(r, 404, "not-found")


async def test_anyone_can_verify_a_dropped_pdf(client, services):
    _, _, citizen, doc = await _sealed_paper(client, services)
    signed = (await client.get(f"/api/v1/documents/{doc['id']}/content", headers=citizen)).content

    async def drop(content: bytes):
        r = await client.post(
            "/api/v1/verify", files={"file": ("x.pdf", content, "application/pdf")}
        )
        assert r.status_code == 200, r.text
        return r.json()

    assert (await drop(signed))["verdict"] == "passed"
    tampered = bytearray(signed)
    at = signed.index(b"Giay khai sinh")
    tampered[at] ^= 0x01
    bad = await drop(bytes(tampered))
    assert bad["verdict"] == "failed"
    assert (await drop(f.pdf("unsigned")))["verdict"] == "indeterminate"
    junk = await drop(b"not a pdf at all")
    assert "pdf.unreadable" in _codes(junk)


async def test_public_verify_is_rate_limited_per_client(client, services):
    statuses = []
    for _ in range(40):
        r = await client.post(
            "/api/v1/verify", files={"file": ("x.pdf", b"junk", "application/pdf")}
        )
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
            break
    assert statuses[0] == 200
    assert statuses[-1] == 429


async def test_a_verification_code_answers_status_issuer_type_date_and_hash(client, services):
    agency, code, citizen, doc = await _sealed_paper(client, services)
    vcode = doc["verification_code"]
    assert vcode and len(vcode) == 10
    answer = await client.get(f"/api/v1/verify/{vcode.lower()[:5]}-{vcode.lower()[5:]}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "active"
    assert body["issuer"]["code"] == code
    assert body["doc_type"] == "birth_certificate"
    assert body["sha256"] == doc["sha256"]
    assert set(body) == {
        "code",
        "status",
        "status_reason",
        "superseded_by_code",
        "issuer",
        "doc_type",
        "provenance",
        "issued_at",
        "sha256",
        "size",
    }  # nothing of the citizen: no name, no personal ID, no title
    events = (await client.get("/api/v1/audit", headers=citizen)).json()["items"]
    assert events[0]["action"] == "verification_code_used"
    assert events[0]["actor"]["type"] == "anyone"

    await client.post(
        f"/api/v1/agency/documents/{doc['id']}/revoke", headers=agency, json={"reason": "Sai"}
    )
    revoked = (await client.get(f"/api/v1/verify/{vcode}")).json()
    assert revoked["status"] == "revoked"
    assert revoked["status_reason"] == "Sai"


async def test_unknown_or_malformed_codes_are_404(client, services):
    for code in ("0000000000", "short", "ABCDEFGHIJKLMNOP", "UUUUUUUUUU"):
        r = await client.get(f"/api/v1/verify/{code}")
        f.assert_problem(r, 404, "not-found")


async def test_citizen_uploads_get_no_code(client, services):
    headers = await f.citizen_headers(services, client)
    doc = await f.upload(client, headers, f.pdf("mine"))
    assert doc["verification_code"] is None
