"""The citizen's journey in real headless Chromium (Debian's, driven by Playwright)
against a real ``kho serve`` with ``kho demo`` data: sign in, the wallet (issued paper,
certified copy, uploaded photo), a document with its verdict, share it for a day, the
link with its QR code and copy button, revoke it from "my shares", the access log, sign
out.  In both languages; every page passes axe-core's WCAG 2.1 A/AA rules, fits a
360 px phone without sideways scrolling and is photographed under
``test-output/screenshots``; the sign-in form and the wallet work with the keyboard."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import CHROMIUM, CITIZEN, Server, check_page

if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it (deploy/debian-packages.txt)
    pytest.fail(f"Debian's chromium is required for the browser tests ({CHROMIUM})")

WORDS = {
    "vi": {
        "start": "Đăng nhập để bắt đầu",
        "pid": "Số định danh cá nhân",
        "password": "Mật khẩu",
        "sign_in": "Đăng nhập",
        "problem": "Có lỗi cần sửa",
        "wallet": "Giấy tờ của tôi",
        "issued": re.compile(r"^Do .+ cấp$"),
        "certified": re.compile(r"^Bản sao chứng thực — "),
        "uploaded": "Tự tải lên — chưa xác minh",
        "valid": "Giấy tờ hợp lệ",
        "share_this": "Chia sẻ giấy tờ này",
        "one_day": "1 ngày",
        "purpose": "Mục đích (không bắt buộc)",
        "create": "Tạo liên kết",
        "created": "Đã tạo liên kết",
        "copy": "Sao chép liên kết",
        "copied": "Đã sao chép liên kết.",
        "my_shares": "Liên kết chia sẻ",
        "revoke": "Thu hồi liên kết",
        "revoked": "Đã thu hồi liên kết. Không ai mở được nữa.",
        "gone": "Liên kết không còn hiệu lực",
        "who_looked": "Ai đã xem",
        "anyone": "Người có liên kết",
        "sign_out": "Đăng xuất",
        "signed_out": "Bạn đã đăng xuất.",
    },
    "en": {
        "start": "Sign in to start",
        "pid": "Personal identification number",
        "password": "Password",
        "sign_in": "Sign in",
        "problem": "There is a problem",
        "wallet": "My papers",
        "issued": re.compile(r"^Issued by "),
        "certified": re.compile(r"^Certified copy — "),
        "uploaded": "Uploaded — unverified",
        "valid": "Valid document",
        "share_this": "Share this paper",
        "one_day": "1 day",
        "purpose": "Purpose (optional)",
        "create": "Create the link",
        "created": "Link created",
        "copy": "Copy the link",
        "copied": "Link copied.",
        "my_shares": "My shares",
        "revoke": "Revoke the link",
        "revoked": "The link was revoked. Nobody can open it any more.",
        "gone": "Link no longer valid",
        "who_looked": "Who looked",
        "anyone": "Someone with the link",
        "sign_out": "Sign out",
        "signed_out": "You have signed out.",
    },
}


def _desktop(page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})


def _tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {selector}"
            return
    raise AssertionError(f"{selector} is not reachable with the keyboard")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_citizen_signs_in_shares_a_paper_revokes_it_and_sees_the_access_log(
    server: Server, browser: Any, lang: str
) -> None:
    w = WORDS[lang]
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page = context.new_page()

    # signed out: what Kho is, and the way in
    page.goto(f"{server.base}/?lang={lang}")
    check_page(page, f"citizen-landing-{lang}")
    _desktop(page)
    page.get_by_role("link", name=w["start"]).click()
    page.wait_for_url(re.compile(r"/sign-in"))

    # an empty form: the error summary, focused, linking to the fields
    page.get_by_role("button", name=w["sign_in"], exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=w["problem"]).is_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    check_page(page, f"citizen-sign-in-error-{lang}")

    # sign in with the keyboard alone
    _desktop(page)
    page.locator("body").focus()
    _tab_to(page, "#personal_id")
    page.keyboard.type(CITIZEN[0])
    _tab_to(page, "#password")
    page.keyboard.type(CITIZEN[1])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/")

    # the wallet: an issued paper, a certified copy, an uploaded photo
    assert page.get_by_role("heading", name=w["wallet"], level=1).is_visible()
    assert page.locator(".badge", has_text=w["issued"]).count() >= 1
    assert page.locator(".badge", has_text=w["certified"]).count() == 1
    assert page.locator(".badge", has_text=w["uploaded"]).count() >= 1
    assert page.get_by_role("link", name="Ảnh chụp căn cước công dân").is_visible()
    check_page(page, f"citizen-wallet-{lang}")
    _desktop(page)
    # the first paper is reachable with the keyboard
    page.locator("body").focus()
    _tab_to(page, ".paper-title a")

    # the birth certificate: details and a green verdict
    page.locator(".paper-title a", has_text="Giấy khai sinh").first.click()
    page.wait_for_url(re.compile(r"/documents/"))
    assert page.locator(".verdict-passed").count() == 1
    assert page.get_by_text(w["valid"]).first.is_visible()
    check_page(page, f"citizen-document-{lang}")
    _desktop(page)

    # share it for one day
    page.get_by_role("link", name=w["share_this"]).click()
    page.wait_for_url(re.compile(r"/share\?doc="))
    assert page.locator("input[name=document]:checked").count() == 1
    # the agency code shows only for "one agency"
    assert page.locator("#agency").is_hidden()
    page.locator("#audience-agency").check()
    assert page.locator("#agency").is_visible()
    page.locator("#audience").check()
    assert page.locator("#agency").is_hidden()
    page.get_by_label(w["one_day"]).check()
    purpose = f"Hồ sơ xin việc ({lang})"
    page.get_by_label(w["purpose"]).fill(purpose)
    check_page(page, f"citizen-share-form-{lang}")
    _desktop(page)
    page.get_by_role("button", name=w["create"]).click()
    page.wait_for_load_state()

    # the link, a copy button that works, a large QR code
    assert page.get_by_role("heading", name=w["created"]).is_visible()
    link = page.locator("#share-link").input_value()
    assert re.fullmatch(rf"{re.escape(server.base)}/s/[A-Za-z0-9_-]{{20,}}", link), link
    qr = page.get_by_role("img").first
    assert qr.bounding_box()["width"] >= 200
    page.get_by_role("button", name=w["copy"]).click()
    expect(page.locator("[data-copy-status]")).to_have_text(w["copied"])  # waits for it
    assert page.evaluate("navigator.clipboard.readText()") == link
    check_page(page, f"citizen-share-created-{lang}")
    _desktop(page)

    # someone opens the link: valid
    official = browser.new_page()
    official.goto(f"{link}?lang={lang}")
    assert official.get_by_text(w["valid"]).first.is_visible()

    # my shares: it is there, opened once; revoke it
    page.get_by_role("link", name=w["my_shares"], exact=True).click()
    page.wait_for_url(re.compile(r"/shares$"))
    item = page.locator(".paper", has=page.get_by_role("heading", name=purpose))
    assert item.count() == 1
    check_page(page, f"citizen-shares-{lang}")
    _desktop(page)
    item.get_by_role("button", name=re.compile(w["revoke"])).click()
    page.wait_for_url(re.compile(r"/shares\?revoked=1"))
    assert page.get_by_text(w["revoked"]).is_visible()
    item = page.locator(".paper", has=page.get_by_role("heading", name=purpose))
    assert item.get_by_role("button").count() == 0
    official.reload()
    assert official.get_by_role("heading", name=w["gone"]).is_visible()
    official.close()

    # who looked: someone with the link, for this purpose
    page.get_by_role("link", name=w["who_looked"]).click()
    page.wait_for_url(re.compile(r"/access-log"))
    entry = page.locator(".event", has_text=purpose).first
    assert w["anyone"] in entry.inner_text()
    assert "Giấy khai sinh" in entry.inner_text()
    check_page(page, f"citizen-access-log-{lang}")
    _desktop(page)

    # sign out: the session is gone
    page.get_by_role("button", name=w["sign_out"]).click()
    page.wait_for_url(re.compile(r"/sign-in\?out=1"))
    assert page.get_by_text(w["signed_out"]).is_visible()
    page.goto(f"{server.base}/shares")
    assert "/sign-in?next=/shares" in page.url
    context.close()


def test_delete_asks_first_and_another_owners_paper_is_not_found(
    server: Server, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{server.base}/sign-in?lang=en")
    page.get_by_label("Personal identification number").fill(CITIZEN[0])
    page.get_by_label("Password").fill(CITIZEN[1])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{server.base}/")
    page.get_by_role("link", name="Ảnh chụp căn cước công dân").click()
    page.wait_for_url(re.compile(r"/documents/"))
    doc_url = page.url
    page.get_by_role("link", name=re.compile("^Delete")).click()
    page.wait_for_url(re.compile(r"/delete$"))
    assert page.get_by_role("heading", name="Delete this paper?").is_visible()
    check_page(page, "citizen-delete-en")
    _desktop(page)
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(doc_url)
    # a paper id that is not this citizen's: a plain 404 page
    response = page.goto(f"{server.base}/documents/00000000-0000-7000-8000-000000000000")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    check_page(page, "citizen-not-found-en")
    page.close()
