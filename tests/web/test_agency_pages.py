"""The officials' agency inbox and the citizen's "sign a form" over HTTP (no browser):
sign-in redirects, 403 without the scope, another agency's filing 404, CSRF, status
moves (valid and not), the signed result landing in the vault as issued, and the remote
signature with a wrong PIN, then the right PIN and one-time code."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pyotp
import pytest

from kho.registry_cli import register_agency_issuer
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
PROC = "judicial_record_certificate"  # received by STP-HN; needs citizen_id and residence
FORM = {
    "phone": "0912 345 678",
    "birth_date": "1990-05-17",
    "form_number": "1",
    "purpose": "Bổ sung hồ sơ xin việc",
    "copies": "1",
}
PIN = "246810"


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    found = CSRF.search(r.text)
    assert found is not None, (path, r.status_code, r.text[:500])
    return found.group(1)


async def official(client: httpx.AsyncClient, services: Any, code: str) -> None:
    """An official of ``code`` signed in on the web client."""
    await services.accounts.create_official(code, "canbo", "Phạm Minh Đức", f.PASSWORD)
    token = await csrf(client, "/official/sign-in")
    r = await client.post(
        "/official/sign-in",
        data={
            "agency": code,
            "username": "canbo",
            "password": f.PASSWORD,
            "next": "/agency/filings",
            "_csrf_token": token,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/agency/filings", r.text


async def submitted(
    client: httpx.AsyncClient, services: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A filing for PROC submitted by a new citizen (API), with two papers."""
    pid, _ = await f.citizen(services)
    headers = await f.login(client, pid)
    issuer, _ = await f.agency_headers(services, client)
    await f.deposit(client, issuer, pid, doc_type="citizen_id", title="Căn cước công dân")
    draft = (
        await client.post("/api/v1/filings", headers=headers, json={"procedure_code": PROC})
    ).json()
    residence = await f.upload(client, headers, f.pdf("Xac nhan cu tru"), doc_type="residence")
    r = await client.put(
        f"/api/v1/filings/{draft['id']}/documents/residence",
        headers=headers,
        json={"document_id": residence["id"]},
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/api/v1/filings/{draft['id']}/form", headers=headers, json={"values": FORM}
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/filings/{draft['id']}/submit", headers=headers)
    assert r.status_code == 200, r.text
    return r.json(), headers


async def test_the_inbox_needs_a_signed_in_official_with_the_filings_scope(client, services):
    fid = uuid.uuid4()
    for path in ("/agency/filings", f"/agency/filings/{fid}", "/agency/filings?status=done"):
        r = await client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/official/sign-in?next=/agency/filings"), r.headers
    r = await client.get("/agency/filings?status=done")
    assert r.headers["location"] == "/official/sign-in?next=/agency/filings%3Fstatus%3Ddone"

    _, narrow = await f.agency_headers(services, client, scopes="deposit")
    await official(client, services, narrow)
    denied = await client.get("/agency/filings")
    assert denied.status_code == 403
    assert "Không có quyền" in denied.text
    assert (await client.get(f"/agency/filings/{fid}?lang=en")).status_code == 403


async def test_an_official_works_a_filing_through_to_a_sealed_result(client, services):
    await f.agency_headers(services, client, code="STP-HN")
    await register_agency_issuer(services, "STP-HN", "Sở Tư pháp", ["judicial_record"])
    filing, citizen = await submitted(client, services)
    fid = filing["id"]
    await official(client, services, "STP-HN")

    inbox = await client.get("/agency/filings")
    assert inbox.status_code == 200 and f"/agency/filings/{fid}" in inbox.text
    assert inbox.headers["cache-control"] == "no-store"
    assert 'href="/agency/filings"' in inbox.text  # the inbox link in the header
    assert f"/agency/filings/{fid}" not in (await client.get("/agency/filings?status=done")).text
    assert f"/agency/filings/{fid}" in (await client.get("/agency/filings?status=received")).text

    page = await client.get(f"/agency/filings/{fid}?lang=en")
    assert page.status_code == 200
    assert filing["applicant"]["personal_id"] in page.text
    assert "Bổ sung hồ sơ xin việc" in page.text  # a form value
    assert page.text.count('class="verdict verdict-') == 2
    assert "Reused from the vault" in page.text and "Uploaded for this filing" in page.text
    residence = next(p for p in filing["papers"] if p["doc_type"] == "residence")["document_id"]
    got = await client.get(f"/agency/filings/{fid}/documents/{residence}")
    assert got.status_code == 200 and got.content == f.pdf("Xac nhan cu tru")
    audit = (await client.get("/api/v1/audit", headers=citizen)).json()["items"]
    fetched = [e for e in audit if e["action"] == "filing_document_fetched"]
    assert fetched[0]["actor"]["type"] == "official"
    assert fetched[0]["detail"]["filing_id"] == fid
    stranger = await f.upload(client, citizen, f.pdf("khac"))
    r = await client.get(f"/agency/filings/{fid}/documents/{stranger['id']}")
    assert r.status_code == 404

    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    refused = await client.post(f"/agency/filings/{fid}/status", data={"status": "processing"})
    assert refused.status_code == 403  # no CSRF token
    missing = await client.post(f"/agency/filings/{fid}/status", data={"_csrf_token": token})
    assert missing.status_code == 422 and "error-summary" in missing.text
    bad = await client.post(
        f"/agency/filings/{fid}/status", data={"status": "done", "_csrf_token": token}
    )
    assert bad.status_code == 409 and "error-summary" in bad.text
    assert "cannot go from “Received” to “Done”" in bad.text  # the language chosen above
    moved = await client.post(
        f"/agency/filings/{fid}/status",
        data={"status": "processing", "note": "Đang thẩm định", "_csrf_token": token},
    )
    assert moved.status_code == 303 and moved.headers["location"].endswith("?done=status")
    mine = (await client.get(f"/api/v1/filings/{fid}", headers=citizen)).json()
    assert (mine["status"], mine["status_note"]) == ("processing", "Đang thẩm định")

    before = await f.document_count(services)
    unsigned = await client.post(
        f"/agency/filings/{fid}/result",
        data={"title": "Phiếu", "_csrf_token": token},
        files={"file": ("lltp.pdf", f.pdf("chua ky"), "application/pdf")},
    )
    assert unsigned.status_code == 422 and "error-summary" in unsigned.text
    not_pdf = await client.post(
        f"/agency/filings/{fid}/result",
        data={"sign": "true", "_csrf_token": token},
        files={"file": ("a.png", f.png(), "image/png")},
    )
    assert not_pdf.status_code == 422
    assert await f.document_count(services) == before
    done = await client.post(
        f"/agency/filings/{fid}/result",
        data={
            "sign": "true",
            "title": "Phiếu lý lịch tư pháp",
            "note": "Đã cấp",
            "_csrf_token": token,
        },
        files={"file": ("lltp.pdf", f.pdf("Phieu ly lich tu phap"), "application/pdf")},
    )
    assert done.status_code == 303, done.text
    assert await f.document_count(services) == before + 1
    mine = (await client.get(f"/api/v1/filings/{fid}", headers=citizen)).json()
    assert mine["status"] == "done"
    result = (
        await client.get(f"/api/v1/documents/{mine['result_document_id']}", headers=citizen)
    ).json()
    assert (result["provenance"], result["doc_type"]) == ("issued", "judicial_record")
    assert result["issuer"]["code"] == "STP-HN"
    report = await client.get(
        f"/api/v1/documents/{mine['result_document_id']}/verification", headers=citizen
    )
    assert report.json()["verdict"] == "passed", report.text
    after = await client.get(f"/agency/filings/{fid}")
    assert "The result is in the citizen" not in after.text  # the notice only after the redirect
    assert f"/documents/{mine['result_document_id']}" in after.text
    again = await client.post(
        f"/agency/filings/{fid}/result",
        data={"sign": "true", "_csrf_token": token},
        files={"file": ("lltp.pdf", f.pdf("lan hai"), "application/pdf")},
    )
    assert again.status_code == 422
    assert await f.document_count(services) == before + 1


async def test_another_agencys_filing_is_not_found(client, services):
    await f.agency_headers(services, client, code="STP-HN")
    filing, _ = await submitted(client, services)
    paper = filing["papers"][0]["document_id"]
    _, other = await f.agency_headers(services, client, scopes="filings")
    await official(client, services, other)
    assert f"/agency/filings/{filing['id']}" not in (await client.get("/agency/filings")).text
    for path in (
        f"/agency/filings/{filing['id']}",
        f"/agency/filings/{filing['id']}/documents/{paper}",
        "/agency/filings/not-a-uuid",
    ):
        assert (await client.get(path)).status_code == 404, path
    token = await csrf(client, "/official/sign-in")
    r = await client.post(
        f"/agency/filings/{filing['id']}/status",
        data={"status": "processing", "_csrf_token": token},
    )
    assert r.status_code == 404


async def sign_in_citizen(client: httpx.AsyncClient, services: Any) -> dict[str, str]:
    pid, _ = await f.citizen(services)
    token = await csrf(client, "/sign-in")
    r = await client.post(
        "/sign-in",
        data={"personal_id": pid, "password": f.PASSWORD, "next": "/", "_csrf_token": token},
    )
    assert r.status_code == 303, r.text
    return await f.login(client, pid)


async def test_a_citizen_signs_a_pdf_with_pin_and_one_time_code(client, services):
    doc_id = str(uuid.uuid4())
    r = await client.get(f"/documents/{doc_id}/sign")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in?next=/documents/")
    headers = await sign_in_citizen(client, services)
    doc = await f.upload(client, headers, f.pdf("To khai"), title="Tờ khai")

    none = await client.get(f"/documents/{doc['id']}/sign")
    assert none.status_code == 409 and "chưa có chữ ký số" in none.text
    enrolled = await client.post(
        "/api/v1/me/signing-credential", headers=headers, json={"pin": PIN}
    )
    assert enrolled.status_code == 201, enrolled.text
    otp = pyotp.parse_uri(enrolled.json()["otp_uri"])

    page = await client.get(f"/documents/{doc['id']}")
    assert f'href="/documents/{doc["id"]}/sign"' in page.text
    form = await client.get(f"/documents/{doc['id']}/sign")
    assert form.status_code == 200
    token = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    assert (await client.post(f"/documents/{doc['id']}/sign", data={})).status_code == 403
    bad = await client.post(
        f"/documents/{doc['id']}/sign",
        data={"field_name": "chữ ký", "_csrf_token": token},
    )
    assert bad.status_code == 422 and "error-summary" in bad.text
    started = await client.post(
        f"/documents/{doc['id']}/sign",
        data={
            "reason": "Tôi xác nhận",
            "location": "Hà Nội",
            "visible": "yes",
            "_csrf_token": token,
        },
    )
    assert started.status_code == 303, started.text
    where = started.headers["location"]
    assert where.startswith("/signing/")
    authorize = await client.get(where)
    assert authorize.status_code == 200 and "Tờ khai" in authorize.text
    action = where.split("?")[0]

    wrong = await client.post(
        action, data={"pin": "999999", "code": otp.now(), "doc": doc["id"], "_csrf_token": token}
    )
    assert wrong.status_code == 422 and "Mã PIN không đúng" in wrong.text
    malformed = await client.post(action, data={"pin": "12", "code": "x", "_csrf_token": token})
    assert malformed.status_code == 422 and malformed.text.count('class="error-message"') == 2
    # a fresh code: the one used above may count as spent
    code = otp.at(time.time() + otp.interval)  # the next window's code
    ok = await client.post(action, data={"pin": PIN, "code": otp.now(), "_csrf_token": token})
    if ok.status_code == 422:  # the same 30-second window: the code is used up
        ok = await client.post(action, data={"pin": PIN, "code": code, "_csrf_token": token})
    assert ok.status_code == 303, ok.text
    signed_id = ok.headers["location"].split("/documents/")[1].split("?")[0]
    signed = (await client.get(f"/api/v1/documents/{signed_id}", headers=headers)).json()
    assert signed["provenance"] == "citizen_signed"
    assert signed["source_document_id"] == doc["id"]
    assert (await client.get(ok.headers["location"])).status_code == 200
    gone = await client.post(action, data={"pin": PIN, "code": otp.now(), "_csrf_token": token})
    assert gone.status_code == 404


async def test_the_sign_page_is_only_for_my_pdfs(client, services):
    headers = await sign_in_citizen(client, services)
    photo = await f.upload(client, headers, f.png(), title="Ảnh")
    assert (await client.get(f"/documents/{photo['id']}/sign")).status_code == 404
    assert (await client.get(f"/documents/{uuid.uuid4()}/sign")).status_code == 404
    assert (await client.get("/signing/not-a-uuid")).status_code == 404
