"""The issue's journeys, end to end in one language, in real headless Chromium against
``kho demo`` + ``kho serve`` (run once per language by ``test_journeys_vi.py`` and
``test_journeys_en.py``, each with its own server):

1. the citizen signs in, uploads a PDF (the progress bar reaches 100 %), shares it,
   copies the link, reloads the share's page (the link is not shown again), revokes it
   and the link then says it no longer works;
3. the citizen starts a driving-licence renewal, two papers are reused from the vault,
   uploads the third and submits; the official of SGTVT-HN signs in, finds it in the
   inbox, moves it to processing and returns a sealed result; the citizen sees the
   filing done and the result in the wallet, issued by the agency and valid;
5. the citizen signs that result with the signing PIN and the one-time code.

Every string is the catalogue's in that language; every page passes axe-core WCAG 2.1
A/AA, fits 360 px without sideways scrolling and is photographed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyotp
from playwright.sync_api import expect

from kho.demo import AGENCIES
from tests import factories as f
from tests.web.conftest import CITIZEN, Server, check_page
from web.i18n import translator

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
RENEWAL = {"vi": "Cấp đổi giấy phép lái xe", "en": "Driving licence renewal"}
TRANSPORT = dict(AGENCIES)["SGTVT-HN"]


def _desktop(page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})


def _look(page: Any, name: str) -> None:
    check_page(page, name)
    _desktop(page)


def _upload(page: Any, path: Path, title: str) -> list[str]:
    page.evaluate("sessionStorage.removeItem('progress')")
    page.locator("#file").set_input_files(str(path))
    page.locator("#title").fill(title)
    page.locator("#upload-submit").click()
    page.wait_for_url(re.compile(r"/(documents|filings)/"))
    seen: list[str] = page.evaluate("JSON.parse(sessionStorage.getItem('progress') || '[]')")
    return seen


def run(server: Server, browser: Any, tmp_path: Path, lang: str) -> None:
    t = translator(lang)
    base = server.base
    context = browser.new_context(locale="vi-VN" if lang == "vi" else "en-GB")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    context.add_init_script(RECORD_PROGRESS)
    page = context.new_page()

    # -- (1) sign in, upload with the progress bar, share, copy, revoke -------------------
    page.goto(f"{base}/sign-in?lang={lang}")
    page.get_by_label(t("signin_pid")).fill(CITIZEN[0])
    page.get_by_label(t("signin_password")).fill(CITIZEN[1])
    page.get_by_label(t("signin_password")).press("Enter")
    page.wait_for_url(f"{base}/")
    assert page.locator("html").get_attribute("lang") == lang
    page.get_by_role("link", name=t("nav_upload")).click()
    page.wait_for_url(re.compile(r"/upload$"))
    _look(page, f"journey-upload-{lang}")
    licence = tmp_path / f"licence-{lang}.pdf"
    licence.write_bytes(f.pdf("GIAY PHEP LAI XE", padding=150_000))
    page.locator("#doc_type").select_option("driving_licence")
    title = f"Giấy phép lái xe hạng B2 ({lang})"
    seen = _upload(page, licence, title)
    assert seen and seen[-1] == "100%", seen
    assert page.get_by_role("heading", name=title).is_visible()
    _look(page, f"journey-uploaded-{lang}")

    page.get_by_role("link", name=t("doc_share")).click()
    page.wait_for_url(re.compile(r"/share\?doc="))
    assert page.locator("input[name=document]:checked").count() == 1
    page.get_by_label(t("expiry_1d")).check()
    purpose = f"Hồ sơ xin việc — {lang}"
    page.get_by_label(t("share_purpose_label")).fill(purpose)
    page.get_by_role("button", name=t("share_submit")).click()
    page.wait_for_url(re.compile(r"/shares/[0-9a-f-]+$"))
    share_url = page.url
    assert page.get_by_role("heading", name=t("share_created_title")).is_visible()
    link = page.locator("#share-link").input_value()
    assert re.fullmatch(rf"{re.escape(base)}/s/[A-Za-z0-9_-]{{20,}}", link), link
    page.get_by_role("button", name=t("copy")).click()
    expect(page.locator("[data-copy-status]")).to_have_text(t("copied"))
    assert page.evaluate("navigator.clipboard.readText()") == link
    _look(page, f"journey-share-created-{lang}")
    # a reload does not make another share, and the link is not shown again
    page.reload()
    assert page.url == share_url and page.locator("#share-link").count() == 0
    assert page.get_by_text(t("share_shown_once")).is_visible()
    _look(page, f"journey-share-reloaded-{lang}")

    someone = context.new_page()
    someone.goto(f"{link}?lang={lang}")
    assert someone.get_by_text(title).first.is_visible()
    page.get_by_role("link", name=t("nav_shares"), exact=True).click()
    page.wait_for_url(re.compile(r"/shares$"))
    item = page.locator(".paper", has=page.get_by_role("heading", name=purpose))
    item.get_by_role("button", name=re.compile(t("revoke"))).click()
    page.wait_for_url(re.compile(r"/shares\?revoked=1"))
    assert page.get_by_text(t("shares_revoked")).is_visible()
    someone.reload()
    assert someone.get_by_role("heading", name=t("gone_title")).is_visible()
    someone.close()

    # -- (3) a filing: two papers reused, one uploaded; the agency answers ----------------
    page.goto(f"{base}/procedures")
    card = page.locator(".card", has=page.get_by_role("heading", name=RENEWAL[lang]))
    card.get_by_role("button").click()
    page.wait_for_url(re.compile(r"/filings/[0-9a-f-]+\?started=1$"))
    filing_url = page.url.split("?")[0]
    fid = filing_url.rsplit("/", 1)[1]
    assert page.locator(".badge", has_text=t("filing_reused")).count() == 2
    assert page.locator(".badge", has_text=t("filing_missing")).count() == 1
    _look(page, f"journey-filing-draft-{lang}")
    page.locator("a[href*='doc_type=health_certificate']").first.click()
    page.wait_for_url(re.compile(r"/upload\?doc_type=health_certificate&filing="))
    health = tmp_path / f"health-{lang}.pdf"
    health.write_bytes(f.pdf("GIAY KHAM SUC KHOE"))
    seen = _upload(page, health, "Giấy khám sức khỏe lái xe")
    assert seen and seen[-1] == "100%", seen
    page.wait_for_url(re.compile(r"/filings/[0-9a-f-]+\?attached=1$"))
    assert page.locator(".badge", has_text=t("filing_missing")).count() == 0
    assert page.locator(".badge", has_text=t("filing_uploaded")).count() == 1
    page.locator("#form-phone").fill("0912 345 678")
    page.locator("#form-licence_number").fill("010203040506")
    page.locator("#form-licence_class").select_option("B2")
    page.get_by_role("button", name=t("filing_submit")).click()
    page.wait_for_url(re.compile(r"\?submitted=1$"))
    _look(page, f"journey-filing-submitted-{lang}")

    desk = browser.new_context(locale="vi-VN" if lang == "vi" else "en-GB")
    official = desk.new_page()
    official.goto(f"{base}/agency/filings?lang={lang}")
    official.wait_for_url(re.compile(r"/official/sign-in"))
    official.get_by_label(t("official_agency")).fill("SGTVT-HN")
    official.get_by_label(t("official_username")).fill("canbo")
    official.get_by_label(t("signin_password")).fill("kho-demo-2026")
    official.get_by_role("button", name=t("signin_submit")).click()
    official.wait_for_url(re.compile(r"/agency/filings"))
    assert official.get_by_role("heading", name=t("agency_inbox_title")).is_visible()
    _look(official, f"journey-agency-inbox-{lang}")
    official.locator(f'a[href="/agency/filings/{fid}"]').click()
    official.wait_for_url(re.compile(rf"/agency/filings/{fid}$"))
    assert official.locator(".verdict").count() >= 1
    _look(official, f"journey-agency-filing-{lang}")
    official.get_by_label(t("agency_status_processing")).check()
    official.get_by_role("button", name=t("agency_change_button")).click()
    official.wait_for_url(re.compile(r"\?done=status"))
    result = tmp_path / f"result-{lang}.pdf"
    result.write_bytes(f.pdf("GIAY PHEP LAI XE (CAP DOI)"))
    official.get_by_label(t("agency_result_file")).set_input_files(str(result))
    new_title = f"Giấy phép lái xe hạng B2 (cấp đổi, {lang})"
    official.get_by_label(t("agency_result_title")).fill(new_title)
    official.get_by_label(t("agency_result_seal")).check()
    official.get_by_role("button", name=t("agency_result_button")).click()
    official.wait_for_url(re.compile(r"\?done=result"))
    _look(official, f"journey-agency-done-{lang}")
    desk.close()

    # the citizen: the filing is done, the sealed result is in the wallet and valid
    page.goto(filing_url)
    assert page.locator(".badge", has_text=t("filing_status_done")).count() == 1
    _look(page, f"journey-filing-done-{lang}")
    page.goto(f"{base}/")
    paper = page.locator(".paper", has=page.get_by_role("link", name=new_title))
    assert paper.locator(".badge", has_text=t("badge_issued", agency=TRANSPORT)).count() == 1
    _look(page, f"journey-wallet-result-{lang}")
    paper.get_by_role("link", name=new_title).click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+$"))
    result_url = page.url
    assert page.locator(".verdict-passed").count() == 1
    assert page.get_by_text(t("verdict_passed")).first.is_visible()
    _look(page, f"journey-result-document-{lang}")

    # -- (5) sign it with the signing PIN and the one-time code -------------------------
    secret = json.loads((Path(server.env["KHO_DATA_DIR"]) / "demo-agencies.json").read_text())[
        "_signing"
    ]["otp_secret"]
    page.get_by_role("link", name=t("doc_sign"), exact=True).click()
    page.wait_for_url(re.compile(r"/sign$"))
    _look(page, f"journey-sign-form-{lang}")
    page.get_by_label(t("sign_reason")).fill("Tôi xác nhận")
    page.get_by_role("button", name=t("sign_continue")).click()
    page.wait_for_url(re.compile(r"/signing/"))
    page.get_by_label(t("sign_pin")).fill("000000")
    page.get_by_label(t("sign_code")).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name=t("sign_button"), exact=True).click()
    page.wait_for_selector(".error-summary")
    _look(page, f"journey-sign-error-{lang}")
    page.get_by_label(t("sign_pin")).fill("123456")
    page.get_by_label(t("sign_code")).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name=t("sign_button"), exact=True).click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+\?signed=1$"))
    assert page.url.split("?")[0] != result_url  # the signed copy is a new paper
    assert page.locator(".badge", has_text=t("badge_citizen_signed")).count() == 1
    _look(page, f"journey-signed-{lang}")
    context.close()
