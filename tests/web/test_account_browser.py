"""The citizen's account in real headless Chromium against ``kho demo`` + ``kho serve``:
turn on the one-time code at sign-in (scan the QR or type the key; the authenticator
app here is pyotp), sign out, sign in with password then code (a wrong code gives the
error summary), turn it off with a code; the language chosen while signed in follows
the citizen to a new device.  axe-core WCAG 2.1 A/AA on every page, 360 px without
sideways scrolling, screenshots under ``test-output/screenshots``."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pyotp
import pytest

from tests.web.conftest import CHROMIUM, CITIZEN, Server, check_page

if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it (deploy/debian-packages.txt)
    pytest.fail(f"Debian's chromium is required for the browser tests ({CHROMIUM})")


class Phone:
    """The authenticator app: the current code, never one already used."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last = 0

    def code(self) -> str:
        now = int(time.time()) // 30
        step = max(self.last + 1, now - 1)
        assert step <= now + 1
        self.last = step
        return self.totp.at(step * 30)

    def wrong(self) -> str:
        good = {self.totp.at((int(time.time()) // 30 + d) * 30) for d in (-1, 0, 1)}
        return next(c for c in ("000000", "111111", "222222") if c not in good)


def _desktop(page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})


def _password_step(page: Any, base: str, lang: str) -> None:
    page.goto(f"{base}/sign-in?lang={lang}")
    pid = "Số định danh cá nhân" if lang == "vi" else "Personal identification number"
    page.get_by_label(pid).fill(CITIZEN[0])
    page.get_by_label("Mật khẩu" if lang == "vi" else "Password").fill(CITIZEN[1])
    page.get_by_role("button", name="Đăng nhập" if lang == "vi" else "Sign in", exact=True).click()


def test_citizen_turns_on_the_sign_in_code_signs_in_with_it_and_turns_it_off(
    server: Server, browser: Any
) -> None:
    context = browser.new_context()
    page = context.new_page()
    _password_step(page, server.base, "vi")
    page.wait_for_url(f"{server.base}/")

    # the account page, from the citizen's navigation
    page.get_by_role("link", name="Tài khoản", exact=True).click()
    page.wait_for_url(re.compile(r"/account$"))
    assert page.get_by_text("Đang tắt").is_visible()
    check_page(page, "account-vi")
    _desktop(page)
    page.get_by_role("button", name="Bật mã dùng một lần").click()
    page.wait_for_url(re.compile(r"/account/sign-in-code$"))

    # the QR code and the key to type by hand
    qr = page.get_by_role("img", name="Mã QR cho ứng dụng xác thực")
    assert qr.bounding_box()["width"] >= 200
    secret = re.sub(r"\s", "", page.locator(".secret-key").inner_text())
    assert re.fullmatch(r"[A-Z2-7]{52}", secret), secret
    phone = Phone(secret)
    check_page(page, "account-code-setup-vi")
    _desktop(page)
    # a wrong code: the error summary, focused, linking to the field
    page.get_by_label("Mã dùng một lần").fill(phone.wrong())
    page.get_by_role("button", name="Xác nhận và bật").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Có lỗi cần sửa").is_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    check_page(page, "account-code-setup-error-vi")
    _desktop(page)
    page.get_by_label("Mã dùng một lần").fill(phone.code())
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/account\?done=otp-on"))
    assert page.get_by_text("Đã bật mã dùng một lần").is_visible()
    assert page.get_by_text("Đang bật").is_visible()
    assert secret not in re.sub(r"\s", "", page.content())

    # sign out, sign in again: the password, then the code
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/sign-in\?out=1"))
    _password_step(page, server.base, "vi")
    page.wait_for_url(re.compile(r"/sign-in/code"))
    assert page.get_by_role("heading", name="Nhập mã dùng một lần").is_visible()
    check_page(page, "sign-in-code-vi")
    _desktop(page)
    page.get_by_label("Mã dùng một lần").fill("12")
    page.get_by_role("button", name="Tiếp tục").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Mã gồm đúng 6 chữ số.").is_visible()
    check_page(page, "sign-in-code-error-vi")
    _desktop(page)
    # keyboard only: the field, the code, Enter
    page.locator("body").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "otp":
            break
    assert page.evaluate("document.activeElement.id") == "otp"
    page.keyboard.press("Control+A")
    page.keyboard.type(phone.code())
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.base}/")
    assert page.get_by_role("heading", name="Giấy tờ của tôi", level=1).is_visible()

    # turning it off needs a code too
    page.goto(f"{server.base}/account")
    page.get_by_role("link", name="Tắt mã dùng một lần").click()
    page.wait_for_url(re.compile(r"/account/sign-in-code$"))
    assert page.locator(".secret-key").count() == 0  # the secret is never shown again
    check_page(page, "account-code-off-vi")
    _desktop(page)
    page.get_by_label("Mã dùng một lần").fill(phone.code())
    page.get_by_role("button", name="Tắt mã dùng một lần").click()
    page.wait_for_url(re.compile(r"/account\?done=otp-off"))
    assert page.get_by_text("Đang tắt").is_visible()
    context.close()


def test_the_language_chosen_while_signed_in_follows_the_citizen(
    server: Server, browser: Any
) -> None:
    first = browser.new_context()
    page = first.new_page()
    _password_step(page, server.base, "vi")
    page.wait_for_url(f"{server.base}/")
    page.goto(f"{server.base}/shares")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"/shares$"))
    assert page.evaluate("document.documentElement.lang") == "en"
    page.goto(f"{server.base}/account")
    assert page.get_by_text("Your choice of language is saved to your account").is_visible()
    check_page(page, "account-en")
    first.close()

    # a new device set to Vietnamese, nothing chosen on it: signing in brings English
    second = browser.new_context(locale="vi-VN")
    page = second.new_page()
    page.goto(f"{server.base}/sign-in")
    assert page.evaluate("document.documentElement.lang") == "vi"
    page.get_by_label("Số định danh cá nhân").fill(CITIZEN[0])
    page.get_by_label("Mật khẩu").fill(CITIZEN[1])
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{server.base}/")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_by_role("heading", name="My papers", level=1).is_visible()
    # back to Vietnamese from the account page, saved again
    page.goto(f"{server.base}/account")
    page.get_by_role("link", name="Switch to Vietnamese (Tiếng Việt)").click()
    page.wait_for_url(re.compile(r"/account$"))
    assert page.evaluate("document.documentElement.lang") == "vi"
    second.close()


def test_the_document_page_previews_the_pdf_and_the_photo(server: Server, browser: Any) -> None:
    page = browser.new_page()
    _password_step(page, server.base, "en")
    page.wait_for_url(f"{server.base}/")
    page.locator(".paper-title a", has_text="Giấy khai sinh").first.click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+$"))
    doc_url = page.url
    frame = page.get_by_title("Preview: Giấy khai sinh")
    assert frame.is_visible() and frame.bounding_box()["height"] >= 300
    # the browser's own PDF viewer opened the inline content in the frame
    page.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => e.name.endsWith('/preview'))"
    )
    preview = page.request.get(f"{doc_url}/preview")
    assert preview.status == 200 and preview.headers["content-type"] == "application/pdf"
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    assert any(f.url.endswith("/preview") for f in page.frames)
    check_page(page, "citizen-document-preview-en")
    _desktop(page)
    # the fallback link is reachable with the keyboard and opens the PDF full page
    link = page.get_by_role("link", name=re.compile("^Open it full page"))
    link.focus()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    with page.expect_response(re.compile(r"/preview$")) as opened:
        page.keyboard.press("Enter")
    assert opened.value.status == 200
    page.wait_for_url(re.compile(r"/preview$"))
    page.wait_for_load_state()

    # the ID card photo: shown as an image with its title as the text alternative
    page.goto(f"{server.base}/")
    page.get_by_role("link", name="Ảnh chụp căn cước công dân").click()
    page.wait_for_url(re.compile(r"/documents/"))
    image = page.get_by_role("img", name="Image of the paper “Ảnh chụp căn cước công dân”")
    assert image.is_visible()
    assert page.evaluate("document.querySelector('.preview-image').naturalWidth") > 0
    check_page(page, "citizen-photo-preview-en")
    page.close()


def test_the_demo_has_a_finished_filing_whose_result_is_in_the_wallet(
    server: Server, browser: Any
) -> None:
    page = browser.new_page()
    _password_step(page, server.base, "vi")
    page.wait_for_url(f"{server.base}/")
    page.get_by_role("link", name="Thủ tục của tôi").click()
    page.wait_for_url(re.compile(r"/filings$"))
    done = page.locator("li", has=page.locator(".badge", has_text="Đã hoàn thành"))
    assert done.count() == 1
    check_page(page, "demo-filings-vi")
    _desktop(page)
    done.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/filings/[0-9a-f-]+$"))
    assert page.locator(".badge", has_text="Dùng lại từ kho của bạn").count() == 2
    page.get_by_role("link", name="Xem kết quả").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]+$"))
    assert page.get_by_role(
        "heading", name="Giấy xác nhận tình trạng hôn nhân (cấp lại)"
    ).is_visible()
    assert page.locator(".verdict-passed").count() == 1
    assert page.get_by_text(
        "Do Ủy ban nhân dân phường Phúc Xá, quận Ba Đình cấp"
    ).first.is_visible()
    page.close()
