"""The official's journeys in real headless Chromium (Debian's, driven by Playwright)
against a real ``kho serve`` with ``kho demo`` data: a live link shows "valid" for an
issued paper, the revoked link says so plainly, a tampered PDF dropped on /v is red.
Every page passes axe-core's WCAG 2.1 A/AA rules in both languages, fits a 360 px phone
without sideways scrolling, and is photographed under ``test-output/screenshots``."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "screenshots"
CITIZEN = ("001090000001", "kho-demo-2026")
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it (deploy/debian-packages.txt)
    pytest.fail(f"Debian's chromium is required for the browser tests ({CHROMIUM})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        kho = Path(sys.executable).parent / "kho"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KHO_")}
        self.env.update(KHO_DATA_DIR=str(root / "data"), KHO_BASE_URL=self.base)
        demo = subprocess.run(
            [str(kho), "demo"], env=self.env, capture_output=True, text=True, timeout=180
        )
        assert demo.returncode == 0, demo.stderr[-2000:]
        self.log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(kho), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.call("GET", "/health/live")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("kho serve did not start")

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {token}"} if token else {}),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        return status, (json.loads(raw) if raw and not raw.startswith(b"%PDF") else raw)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("web"))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


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


def _check_page(page: Any, name: str) -> None:
    """axe-core finds nothing at WCAG 2.1 A/AA; the page is photographed at desktop and
    phone width, and at 360×740 nothing scrolls sideways."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    results = Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()


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
