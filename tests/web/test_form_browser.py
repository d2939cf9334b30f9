"""The citizen's form pages in real headless Chromium against ``kho serve`` with ``kho
demo`` data: upload a PDF and watch the progress bar reach 100 %, approve the demo
consent request (CA-PBD) with Kho's suggested papers, start a driving-licence renewal
where two papers are reused from the vault, upload the missing one, fill the e-form and
submit.  Every page passes axe-core (WCAG 2.1 A/AA) in Vietnamese and English, fits a
360 px phone without sideways scrolling and is photographed."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests import factories as f
from tests.web.conftest import CHROMIUM, CITIZEN, Server, check_page

if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it
    pytest.fail(f"Debian's chromium is required for the browser tests ({CHROMIUM})")

# Injected by the browser (not the page): every value the progress text shows is kept
# in sessionStorage, so it can be read after the page has moved on.
RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("progress-text");
  if (!text) return;
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem("progress") || "[]");
    seen.push(text.textContent);
    sessionStorage.setItem("progress", JSON.stringify(seen));
  }).observe(text, {childList: true, characterData: true, subtree: true});
});
"""


def _desktop(page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})


def _upload(page: Any, path: Path, title: str) -> list[str]:
    page.evaluate("sessionStorage.removeItem('progress')")
    page.locator("#file").set_input_files(str(path))
    page.locator("#title").fill(title)
    page.locator("#upload-submit").click()
    page.wait_for_url(re.compile(r"/(documents|filings)/"))
    seen: list[str] = page.evaluate("JSON.parse(sessionStorage.getItem('progress') || '[]')")
    return seen


def test_citizen_uploads_answers_a_request_and_files_an_application(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    context = browser.new_context()
    context.add_init_script(RECORD_PROGRESS)
    page = context.new_page()
    page.goto(f"{server.base}/sign-in?lang=vi")
    page.locator("#personal_id").fill(CITIZEN[0])
    page.locator("#password").fill(CITIZEN[1])
    page.locator("#password").press("Enter")
    page.wait_for_url(f"{server.base}/")

    # upload a PDF (a driving licence) with the progress bar
    page.get_by_role("link", name="Tải giấy tờ lên").click()
    page.wait_for_url(re.compile(r"/upload$"))
    check_page(page, "forms-upload-vi")
    _desktop(page)
    licence = tmp_path / "giay-phep-lai-xe.pdf"
    licence.write_bytes(f.pdf("GIAY PHEP LAI XE", padding=150_000))
    page.locator("#doc_type").select_option("driving_licence")
    seen = _upload(page, licence, "Giấy phép lái xe hạng B2")
    assert seen and seen[-1] == "100%", seen
    assert page.get_by_role("heading", name="Giấy phép lái xe hạng B2").is_visible()

    # the demo consent request from CA-PBD: approve with the suggested papers
    page.get_by_role("link", name="Yêu cầu từ cơ quan").click()
    page.wait_for_url(re.compile(r"/requests$"))
    check_page(page, "forms-requests-vi")
    _desktop(page)
    page.get_by_role("link", name=re.compile("Xem và trả lời")).first.click()
    page.wait_for_url(re.compile(r"/requests/[0-9a-f-]+$"))
    request_url = page.url
    assert page.locator("input[name=document]:checked").count() == 2  # birth cert + ID
    check_page(page, "forms-request-vi")
    _desktop(page)
    page.get_by_role("button", name="Đồng ý và chia sẻ").click()
    page.wait_for_url(re.compile(r"\?done=approved$"))
    assert page.get_by_text("Bạn đã đồng ý").is_visible()
    assert page.get_by_role("link", name=re.compile("Chia sẻ của tôi")).is_visible()
    check_page(page, "forms-request-approved-vi")
    _desktop(page)

    # a driving-licence renewal: the licence and the ID card reused, the health
    # certificate missing
    page.goto(f"{server.base}/procedures")
    check_page(page, "forms-procedures-vi")
    _desktop(page)
    card = page.locator(".card", has=page.get_by_role("heading", name="Cấp đổi giấy phép lái xe"))
    card.get_by_role("button").click()
    page.wait_for_url(re.compile(r"/filings/[0-9a-f-]+\?started=1$"))
    filing_url = page.url.split("?")[0]
    assert page.locator(".badge", has_text="Dùng lại từ kho của bạn").count() == 2
    assert page.locator(".badge", has_text="Còn thiếu").count() == 1
    assert page.locator("#form-personal_id").input_value() == CITIZEN[0]
    check_page(page, "forms-filing-draft-vi")
    _desktop(page)

    # submitting too early: the error summary lists what is missing
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    assert summary.get_by_role("link", name=re.compile("Giấy khám sức khỏe")).is_visible()
    check_page(page, "forms-filing-errors-vi")
    _desktop(page)

    # upload the missing paper from the filing: it comes back attached
    card = page.locator(".paper-row", has=page.get_by_role("heading", name="Giấy khám sức khỏe"))
    card.get_by_role("link", name=re.compile("Tải lên")).click()
    page.wait_for_url(re.compile(r"/upload\?doc_type=health_certificate&filing="))
    assert page.locator("#doc_type").input_value() == "health_certificate"
    health = tmp_path / "kham-suc-khoe.pdf"
    health.write_bytes(f.pdf("GIAY KHAM SUC KHOE"))
    seen = _upload(page, health, "Giấy khám sức khỏe lái xe")
    assert seen and seen[-1] == "100%", seen
    page.wait_for_url(re.compile(r"/filings/[0-9a-f-]+\?attached=1$"))
    assert page.locator(".badge", has_text="Còn thiếu").count() == 0
    assert page.locator(".badge", has_text="Tải lên cho hồ sơ này").count() == 1

    # the e-form, then submit
    page.locator("#form-phone").fill("0912 345 678")
    page.locator("#form-licence_number").fill("010203040506")
    page.locator("#form-licence_class").select_option("B2")
    page.get_by_role("button", name="Nộp hồ sơ").click()
    page.wait_for_url(re.compile(r"\?submitted=1$"))
    assert page.get_by_text("Đã nộp hồ sơ.").is_visible()
    assert page.locator(".timeline li").count() >= 2
    check_page(page, "forms-filing-submitted-vi")
    _desktop(page)
    page.goto(f"{server.base}/filings")
    assert page.locator(".badge", has_text="Đã nộp").count() >= 1
    check_page(page, "forms-filings-vi")

    # the same pages in English
    for url, name in (
        (f"{server.base}/upload", "forms-upload-en"),
        (f"{server.base}/requests", "forms-requests-en"),
        (request_url, "forms-request-approved-en"),
        (f"{server.base}/procedures", "forms-procedures-en"),
        (filing_url, "forms-filing-submitted-en"),
        (f"{server.base}/filings", "forms-filings-en"),
    ):
        _desktop(page)
        page.goto(url + "?lang=en")
        assert page.locator("html").get_attribute("lang") == "en"
        check_page(page, name)
    context.close()
