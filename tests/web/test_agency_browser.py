"""One journey in Chromium: a citizen's filing (sent through the JSON API) reaches
UBND-PBD's inbox; the official opens it, moves it to processing and returns a sealed
result; the citizen signs a PDF with the PIN and the one-time code.  axe-core on every
page, no sideways scroll at 360 px, screenshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests import factories as f
from tests.web.conftest import CITIZEN, Server, check_page

pytest.importorskip("playwright")

PROC = "marital_status_confirmation"  # received by UBND-PBD


def _value(field: dict[str, Any]) -> str:
    if field.get("options"):
        return str(field["options"][0])
    return {"date": "1990-05-17", "number": "1", "tel": "0912345678", "email": "an@example.vn"}.get(
        field.get("type", "text"), "Nguyễn Văn An"
    )


def submit_filing(server: Server, headers: dict[str, str]) -> str:
    """A filing for PROC: missing papers uploaded, the form filled, submitted."""
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as api:
        draft = api.post("/api/v1/filings", json={"procedure_code": PROC}).json()
        fid = draft["id"]
        for doc_type in draft["missing_documents"]:
            up = api.post(
                "/api/v1/documents",
                data={"doc_type": doc_type, "title": f"Giấy {doc_type}"},
                files={"file": (f"{doc_type}.pdf", f.pdf(doc_type), "application/pdf")},
            )
            assert up.status_code == 201, up.text
            r = api.put(
                f"/api/v1/filings/{fid}/documents/{doc_type}", json={"document_id": up.json()["id"]}
            )
            assert r.status_code == 200, r.text
        form = api.get(f"/api/v1/procedures/{PROC}").json()["form"]
        values = {x["name"]: _value(x) for x in form}
        r = api.patch(f"/api/v1/filings/{fid}/form", json={"values": values})
        assert r.status_code == 200, r.text
        r = api.post(f"/api/v1/filings/{fid}/submit")
        assert r.status_code == 200, r.text
        return str(fid)


def test_an_official_returns_a_sealed_result_and_the_citizen_signs_a_pdf(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    status, login = server.call(
        "POST", "/api/v1/auth/login", {"personal_id": CITIZEN[0], "password": CITIZEN[1]}
    )
    assert status == 200, login
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    fid = submit_filing(server, headers)

    official = browser.new_page()
    official.goto(f"{server.base}/agency/filings?lang=en")
    assert "/official/sign-in" in official.url
    official.get_by_label("Agency code").fill("UBND-PBD")
    official.get_by_label("Username").fill("canbo")
    official.get_by_label("Password").fill("kho-demo-2026")
    official.get_by_role("button", name="Sign in").click()
    official.wait_for_url("**/agency/filings**")
    check_page(official, "agency-inbox-en")
    official.locator(f'a[href="/agency/filings/{fid}"]').click()
    official.wait_for_url(f"**/agency/filings/{fid}")
    assert official.locator(".verdict").count() >= 1
    check_page(official, "agency-filing-en")
    official.get_by_label("Processing").check()
    official.get_by_role("button", name="Save the status").click()
    official.wait_for_url("**?done=status")
    assert "status is changed" in official.content()
    pdf = tmp_path / "result.pdf"
    pdf.write_bytes(f.pdf("Giay xac nhan tinh trang hon nhan"))
    official.get_by_label("Result file (PDF)").set_input_files(str(pdf))
    official.get_by_label("Title").fill("Giấy xác nhận tình trạng hôn nhân")
    official.get_by_label("Seal it with the agency's seal").check()
    official.get_by_role("button", name="Return the result").click()
    official.wait_for_url("**?done=result")
    check_page(official, "agency-filing-done-en")
    _, mine = server.call("GET", f"/api/v1/filings/{fid}", token=login["access_token"])
    assert mine["status"] == "done" and mine["result_document_id"]
    _, result = server.call(
        "GET", f"/api/v1/documents/{mine['result_document_id']}", token=login["access_token"]
    )
    assert result["provenance"] == "issued"
    official.close()

    # the citizen signs a PDF (the demo signing PIN and one-time code secret)
    secret = json.loads((Path(server.env["KHO_DATA_DIR"]) / "demo-agencies.json").read_text())[
        "_signing"
    ]["otp_secret"]
    page = browser.new_page()
    page.goto(f"{server.base}/sign-in?lang=en")
    page.get_by_label("Personal identification number").fill(CITIZEN[0])
    page.get_by_label("Password").fill(CITIZEN[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.base}/")
    page.goto(f"{server.base}/documents/{mine['result_document_id']}")
    page.get_by_role("link", name="Sign", exact=True).click()
    page.wait_for_url("**/sign")
    check_page(page, "citizen-sign-form-en")
    page.get_by_label("Reason (optional)").fill("Tôi xác nhận")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/signing/**")
    page.get_by_label("Signing PIN").fill("000000")
    page.get_by_label("One-time code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_selector(".error-summary")
    check_page(page, "citizen-sign-authorize-error-en")
    page.get_by_label("Signing PIN").fill("123456")
    page.get_by_label("One-time code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign", exact=True).click()
    if page.locator(".error-summary").count():  # the code of this window was spent above
        page.wait_for_timeout(31_000)
        page.get_by_label("Signing PIN").fill("123456")
        page.get_by_label("One-time code").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url("**/documents/**?signed=1")
    check_page(page, "citizen-signed-document-en")
    page.close()
