"""The official's journeys in real headless Chromium (Debian's, driven by Playwright)
against a real ``kho serve`` with ``kho demo`` data: a live link shows "valid" for an
issued paper, the revoked link says so plainly, a tampered PDF dropped on /v is red.
Every page passes axe-core's WCAG 2.1 A/AA rules in both languages, fits a 360 px phone
without sideways scrolling, and is photographed under ``test-output/screenshots``."""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import CHROMIUM, CITIZEN, Server
from tests.web.conftest import check_page as _check_page

if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it (deploy/debian-packages.txt)
    pytest.fail(f"Debian's chromium is required for the browser tests ({CHROMIUM})")


def _citizen_token(server: Server) -> str:
    status, body = server.call(
        "POST", "/api/v1/auth/login", {"personal_id": CITIZEN[0], "password": CITIZEN[1]}
    )
    assert status == 200, body
    return str(body["access_token"])


def _issued(server: Server, token: str) -> dict[str, Any]:
    status, body = server.call("GET", "/api/v1/documents?provenance=issued", token=token)
    assert status == 200, body
    return next(d for d in body["items"] if d["doc_type"] == "birth_certificate")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_official_opens_a_live_link_then_the_revoked_one(server, browser, lang):
    token = _citizen_token(server)
    doc = _issued(server, token)
    status, share = server.call(
        "POST",
        "/api/v1/shares",
        {"document_ids": [doc["id"]], "ttl_seconds": 3600, "purpose": "Hồ sơ kết hôn"},
        token,
    )
    assert status == 201, share
    page = browser.new_page()
    page.goto(f"{share['url']}?lang={lang}")
    valid = "Giấy tờ hợp lệ" if lang == "vi" else "Valid document"
    assert page.get_by_text(valid).first.is_visible()
    assert page.get_by_role("heading", name=doc["title"]).is_visible()
    assert "Giấy khai sinh" in page.content()
    _check_page(page, f"share-{lang}")

    # the full report opens from the keyboard alone
    page.set_viewport_size({"width": 1280, "height": 900})
    summary = page.locator("summary").first
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("details[open]").count() == 1

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Tải xuống|Download")).first.click()
    assert download.value.path() is not None
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

    status, _ = server.call("DELETE", f"/api/v1/shares/{share['id']}", token=token)
    assert status == 204
    page.reload()
    gone = "Liên kết không còn hiệu lực" if lang == "vi" else "Link no longer valid"
    assert page.get_by_role("heading", name=gone).is_visible()
    _check_page(page, f"share-revoked-{lang}")
    page.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_tampered_pdf_dropped_on_v_is_red_with_its_reason(server, browser, tmp_path, lang):
    token = _citizen_token(server)
    doc = _issued(server, token)
    status, signed = server.call("GET", f"/api/v1/documents/{doc['id']}/content", token=token)
    assert status == 200 and signed.startswith(b"%PDF")
    tampered = bytearray(signed)
    at = signed.index(b"GIAY KHAI SINH")
    tampered[at] ^= 0x01
    path = tmp_path / "giay-khai-sinh.pdf"
    path.write_bytes(bytes(tampered))

    page = browser.new_page()
    page.goto(f"{server.base}/v?lang={lang}")
    _check_page(page, f"verify-{lang}")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Tệp PDF" if lang == "vi" else "PDF file").set_input_files(str(path))
    page.get_by_role("button", name="Kiểm tra" if lang == "vi" else "Verify").click()
    page.wait_for_load_state()
    invalid = "Giấy tờ không hợp lệ" if lang == "vi" else "Invalid document"
    assert page.get_by_text(invalid).first.is_visible()
    assert page.locator(".verdict-failed .reasons li").count() >= 1
    _check_page(page, f"verify-failed-{lang}")

    # the untouched original is green
    path.write_bytes(signed)
    page.goto(f"{server.base}/v?lang={lang}")
    page.get_by_label("Tệp PDF" if lang == "vi" else "PDF file").set_input_files(str(path))
    page.get_by_role("button", name="Kiểm tra" if lang == "vi" else "Verify").click()
    page.wait_for_load_state()
    assert page.locator(".verdict-passed").count() == 1
    page.close()


def test_pages_need_no_inline_script_and_deny_framing(server):
    req = urllib.request.Request(f"{server.base}/v")
    with urllib.request.urlopen(req, timeout=30) as resp:
        csp = resp.headers["Content-Security-Policy"]
        html = resp.read().decode()
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert "<script>" not in html and "style=" not in html
    assert shutil.which("chromium") or os.path.exists(CHROMIUM)
