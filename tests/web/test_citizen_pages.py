"""The citizen's pages over HTTP (no browser): sign in/out and session expiry, the
wallet, a document, share links and the access log; redirects, 404 for another
owner's things, CSRF, and bad input answered with an error summary and a 4xx."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.ratelimit import RateLimiter
from kho.app import create_app
from sharing.access import ACCESS_ACTIONS
from sharing.models import ShareStatus
from tests import factories as f
from tests.conftest import make_settings
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from vault.errors import AuthenticationFailed
from vault.models import Provenance
from web.citizen import EXPIRY_PRESETS
from web.i18n import LANGUAGES, MESSAGES

pytestmark = pytest.mark.usefixtures("cheap_passwords")

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf(client: httpx.AsyncClient, path: str = "/sign-in") -> str:
    r = await client.get(path)
    found = CSRF.search(r.text)
    assert found is not None, (path, r.status_code, r.text[:500])
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, pid: str, password: str = f.PASSWORD
) -> httpx.Response:
    token = await csrf(client)
    return await client.post(
        "/sign-in",
        data={"personal_id": pid, "password": password, "next": "/", "_csrf_token": token},
    )


async def signed_in_citizen(client: httpx.AsyncClient, services: Any) -> tuple[str, dict[str, str]]:
    """A new citizen signed in on the web client, and an API token for setting up data."""
    pid, _ = await f.citizen(services)
    r = await sign_in(client, pid)
    assert r.status_code == 303, r.text
    return pid, await f.login(client, pid)


async def post_form(
    client: httpx.AsyncClient, path: str, data: dict[str, Any], *, page: str
) -> httpx.Response:
    return await client.post(path, data={**data, "_csrf_token": await csrf(client, page)})


# -- sign in, sign out, session expiry -------------------------------------------------


async def test_signed_out_home_explains_kho_and_private_pages_redirect(client):
    r = await client.get("/")
    assert r.status_code == 200
    assert "Giấy tờ của bạn, ở một nơi an toàn" in r.text and 'href="/sign-in"' in r.text
    en = await client.get("/?lang=en")
    assert "Your papers, in one safe place" in en.text
    for path in ("/shares", "/access-log", "/share", f"/documents/{uuid.uuid4()}"):
        r = await client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/sign-in?next=" + path.split("?")[0]), r.headers
        assert "expired" not in r.headers["location"]


async def test_sign_in_form_errors_then_success_comes_back(client, services):
    pid, _ = await f.citizen(services)
    page = await client.get("/sign-in?next=/shares")
    assert page.status_code == 200 and 'value="/shares"' in page.text
    assert 'autocomplete="current-password"' in page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    # no CSRF token: refused
    r = await client.post("/sign-in", data={"personal_id": pid, "password": f.PASSWORD})
    assert r.status_code == 403

    r = await client.post(
        "/sign-in", data={"personal_id": "", "password": "", "_csrf_token": token}
    )
    assert r.status_code == 422
    assert "error-summary" in r.text
    assert 'href="#personal_id"' in r.text and 'href="#password"' in r.text
    assert "Nhập số định danh cá nhân." in r.text and 'aria-invalid="true"' in r.text

    r = await client.post(
        "/sign-in", data={"personal_id": "12ab", "password": "x", "_csrf_token": token}
    )
    assert r.status_code == 422 and "gồm đúng 12 chữ số" in r.text
    assert 'value="12ab"' in r.text  # what was typed stays (never the password)

    r = await client.post(
        "/sign-in?lang=en",
        data={"personal_id": pid, "password": "wrong-password", "_csrf_token": token},
    )
    assert r.status_code == 401 and "error-summary" in r.text
    assert "The personal identification number or the password is wrong." in r.text
    assert "kho_session" not in r.headers.get("set-cookie", "")

    r = await client.post(
        "/sign-in",
        data={"personal_id": pid, "password": f.PASSWORD, "next": "/shares", "_csrf_token": token},
    )
    assert r.status_code == 303 and r.headers["location"] == "/shares"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("kho_session="))
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "max-age=3600" in flags  # expires with the token (token_ttl_seconds)
    assert "secure" not in flags  # KHO_BASE_URL is plain http in the tests
    assert (await client.get("/shares")).status_code == 200
    # signed in, the sign-in page sends the citizen on
    r = await client.get("/sign-in?next=/access-log")
    assert r.status_code == 303 and r.headers["location"] == "/access-log"


async def test_sign_in_never_redirects_off_site(client, services):
    pid, _ = await f.citizen(services)
    token = await csrf(client)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        client.cookies.delete("kho_session")
        r = await client.post(
            "/sign-in",
            data={"personal_id": pid, "password": f.PASSWORD, "next": target, "_csrf_token": token},
        )
        assert r.status_code == 303 and r.headers["location"] == "/", target


async def test_sign_in_throttled_after_repeated_failures(client, services):
    pid, _ = await f.citizen(services)
    token = await csrf(client)
    for _ in range(5):
        r = await client.post(
            "/sign-in", data={"personal_id": pid, "password": "nope-nope", "_csrf_token": token}
        )
        assert r.status_code == 401
    r = await client.post(
        "/sign-in?lang=en", data={"personal_id": pid, "password": f.PASSWORD, "_csrf_token": token}
    )
    assert r.status_code == 429 and "error-summary" in r.text
    assert "Too many wrong attempts" in r.text and "15 minutes" in r.text
    assert r.headers["retry-after"] == "900"


async def test_sign_in_slows_down_a_client_guessing_across_accounts(settings, services):
    # as KHO_SIGN_IN_FAILURE_BURST=2 would build it
    services.sign_in_limit = RateLimiter(10, burst=2)
    pids = [(await f.citizen(services))[0] for _ in range(3)]
    transport = httpx.ASGITransport(app=create_app(settings, services), client=("198.51.100.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as c:
        for pid in pids[:2]:
            assert (await sign_in(c, pid, "wrong-password")).status_code == 401
        r = await sign_in(c, pids[2])  # the right password, but this client is out of tries
        assert r.status_code == 429 and "error-summary" in r.text
        assert "Có quá nhiều lần đăng nhập sai" in r.text
        assert "kho_session" not in r.headers.get("set-cookie", "")


async def test_an_expired_session_goes_back_to_sign_in_with_a_notice(client, services):
    await signed_in_citizen(client, services)
    assert (await client.get("/access-log")).status_code == 200
    await f.expire_all_tokens(services)
    r = await client.get("/access-log?x=1")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?next=/access-log%3Fx%3D1&expired=1"
    assert any(
        c.startswith("kho_session=") and "max-age=0" in c.lower()
        for c in r.headers.get_list("set-cookie")
    )
    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert "Phiên đăng nhập đã hết hạn" in page.text
    # a form sent after the session ended comes back to its page after signing in
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    client.cookies.set("kho_session", "an-ended-session-token")
    r = await client.post(f"/shares/{uuid.uuid4()}/revoke", data={"_csrf_token": token})
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?next=/shares&expired=1"
    assert 'value="/access-log?x=1"' in page.text


async def test_sign_out_revokes_the_token(client, services):
    await signed_in_citizen(client, services)
    session_token = client.cookies.get("kho_session")
    assert session_token
    await services.accounts.authenticate(session_token)
    token = await csrf(client, "/")
    r = await client.post("/sign-out", data={})
    assert r.status_code == 403  # CSRF
    r = await client.post("/sign-out", data={"_csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?out=1"
    with pytest.raises(AuthenticationFailed):
        await services.accounts.authenticate(session_token)
    page = await client.get("/sign-in?out=1&lang=en")
    assert "You have signed out." in page.text
    # the old cookie, replayed, is an ended session
    client.cookies.set("kho_session", session_token)
    r = await client.get("/")
    assert r.status_code == 303 and r.headers["location"].endswith("&expired=1")


async def test_session_cookie_is_secure_when_configured(tmp_path: Path, db_url, services):
    settings = make_settings(tmp_path, db_url, cookie_secure=True)
    pid, _ = await f.citizen(services)
    transport = httpx.ASGITransport(app=create_app(settings, services))
    async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as c:
        r = await sign_in(c, pid)
    assert r.status_code == 303
    cookie = next(x for x in r.headers.get_list("set-cookie") if x.startswith("kho_session="))
    assert "secure" in cookie.lower()


# -- wallet --------------------------------------------------------------------------


def papers(html: str) -> str:
    """The wallet's list of papers (not the filters, whose options name document types)."""
    found = re.search(r'<ul class="papers">.*?</ul>', html, re.S)
    return found.group(0) if found else ""


async def test_empty_wallet_explains_what_kho_is(client, services):
    await signed_in_citizen(client, services)
    r = await client.get("/")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and r.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in r.text and "style=" not in r.text
    assert "Kho của bạn còn trống" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert 'action="/sign-out"' in r.text
    en = await client.get("/?lang=en")
    assert "Your vault is empty" in en.text


async def test_wallet_badges_status_filters_and_search(client, services):
    pid, headers = await signed_in_citizen(client, services)
    await f.upload(client, headers, f.png(), title="Ảnh căn cước", filename="id.png")
    await f.upload(client, headers, f.pdf("bằng"), title="Bằng tốt nghiệp")
    agency, code = await f.agency_headers(services, client, scopes="deposit,revoke")
    issued = (await f.deposit(client, agency, pid, title="Giấy khai sinh")).json()
    r = await client.post(
        f"/api/v1/agency/documents/{issued['id']}/revoke",
        headers=agency,
        json={"reason": "Cấp nhầm"},
    )
    assert r.status_code == 200, r.text

    r = await client.get("/")
    assert r.status_code == 200
    for title in ("Ảnh căn cước", "Bằng tốt nghiệp", "Giấy khai sinh"):
        assert title in r.text
    assert f"Do Cơ quan {code} cấp" in r.text
    assert r.text.count("Tự tải lên — chưa xác minh") == 2
    assert "Đã bị thu hồi" in r.text and "paper-flagged" in r.text
    page = await client.get(f"/documents/{issued['id']}")
    assert page.status_code == 200 and "panel-gone" in page.text
    assert "Cơ quan cấp đã thu hồi giấy tờ này" in page.text and "Cấp nhầm" in page.text

    issued_only = papers((await client.get("/?provenance=issued")).text)
    assert "Giấy khai sinh" in issued_only and "Bằng tốt nghiệp" not in issued_only
    search = papers((await client.get("/?q=tốt nghiệp")).text)
    assert "Bằng tốt nghiệp" in search and "Giấy khai sinh" not in search
    by_type = await client.get("/?type=birth_certificate")
    assert 'value="birth_certificate" selected' in by_type.text
    assert "Giấy khai sinh" in papers(by_type.text) and "Ảnh căn cước" not in papers(by_type.text)
    none = await client.get("/?q=không-có-gì&lang=en")
    assert none.status_code == 200 and "No paper matches" in none.text
    # an unknown provenance is ignored; a forged cursor is a 400 page, not a 500
    assert (await client.get("/?provenance=bogus")).status_code == 200
    assert (await client.get("/?cursor=!!!")).status_code == 400


# -- document ------------------------------------------------------------------------


async def test_document_page_download_and_delete_with_confirmation(client, services):
    _, headers = await signed_in_citizen(client, services)
    doc = await f.upload(client, headers, f.pdf("giấy"), title="Giấy xác nhận")
    r = await client.get(f"/documents/{doc['id']}")
    assert r.status_code == 200
    assert "Giấy xác nhận" in r.text and "verdict-indeterminate" in r.text
    assert f'href="/documents/{doc["id"]}/download"' in r.text
    assert f'href="/share?doc={doc["id"]}"' in r.text

    got = await client.get(f"/documents/{doc['id']}/download")
    assert got.status_code == 200 and got.content == f.pdf("giấy")
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["cache-control"] == "no-store"

    confirm = await client.get(f"/documents/{doc['id']}/delete")
    assert confirm.status_code == 200 and "Có, xoá giấy tờ" in confirm.text
    token = CSRF.search(confirm.text).group(1)  # type: ignore[union-attr]
    r = await client.post(f"/documents/{doc['id']}/delete", data={})
    assert r.status_code == 403
    assert (await client.get(f"/documents/{doc['id']}")).status_code == 200  # still there
    r = await client.post(f"/documents/{doc['id']}/delete", data={"_csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/?deleted=1"
    assert "Đã xoá giấy tờ." in (await client.get("/?deleted=1")).text
    assert (await client.get(f"/documents/{doc['id']}")).status_code == 404


async def test_the_document_page_offers_the_sealed_report_only_to_its_owner(client, services):
    _, headers = await signed_in_citizen(client, services)
    doc = await f.upload(client, headers, f.pdf("giấy"), title="Giấy xác nhận")
    page = await client.get(f"/documents/{doc['id']}")
    assert f'href="/documents/{doc["id"]}/verification.pdf"' in page.text

    got = await client.get(f"/documents/{doc['id']}/verification.pdf")

    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    assert got.content.startswith(b"%PDF") and b"/ByteRange" in got.content  # sealed
    assert got.headers["content-disposition"].startswith("attachment")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=got.content, capture_output=True
    ).stdout.decode()
    assert "Giấy xác nhận" in text
    other = await f.citizen_headers(services, client)
    theirs = await f.upload(client, other, f.pdf("khác"), title="Của người khác")
    assert (await client.get(f"/documents/{theirs['id']}/verification.pdf")).status_code == 404
    assert (await client.get("/documents/not-a-uuid/verification.pdf")).status_code == 404


async def test_another_owners_document_is_not_found(client, services):
    other = await f.citizen_headers(services, client)
    theirs = await f.upload(client, other, f.pdf("của người khác"), title="Của người khác")
    await signed_in_citizen(client, services)
    for path in (
        f"/documents/{theirs['id']}",
        f"/documents/{theirs['id']}/download",
        f"/documents/{theirs['id']}/delete",
        "/documents/not-a-uuid",
        f"/documents/{uuid.uuid4()}",
    ):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "Của người khác" not in r.text and "Không tìm thấy" in r.text
    token = await csrf(client, "/")
    r = await client.post(f"/documents/{theirs['id']}/delete", data={"_csrf_token": token})
    assert r.status_code == 404
    assert (await client.get(f"/api/v1/documents/{theirs['id']}", headers=other)).status_code == 200


# -- share links ---------------------------------------------------------------------


async def test_share_form_errors_then_link_qr_list_and_revoke(client, services):
    _, headers = await signed_in_citizen(client, services)
    doc = await f.upload(client, headers, f.pdf("giấy"), title="Giấy khai sinh")
    form = await client.get(f"/share?doc={doc['id']}")
    assert form.status_code == 200
    assert re.search(rf'value="{doc["id"]}" id="documents" checked', form.text)
    base = {"document": doc["id"], "expiry": "1d", "audience": "anyone", "purpose": "Hồ sơ"}

    r = await post_form(client, "/share", {**base, "document": []}, page="/share")
    assert r.status_code == 422 and "error-summary" in r.text and 'href="#documents"' in r.text
    r = await post_form(client, "/share", {**base, "expiry": "99y"}, page="/share")
    assert r.status_code == 422 and 'href="#expiry"' in r.text
    r = await post_form(client, "/share", {**base, "audience": "agency"}, page="/share")
    assert r.status_code == 422 and 'href="#agency"' in r.text
    r = await post_form(
        client, "/share", {**base, "audience": "agency", "agency": "NO-SUCH"}, page="/share"
    )
    assert r.status_code == 422 and "NO-SUCH" in r.text
    r = await post_form(client, "/share", {**base, "purpose": "x" * 501}, page="/share")
    assert r.status_code == 422 and 'href="#purpose"' in r.text
    r = await post_form(client, "/share", {**base, "document": str(uuid.uuid4())}, page="/share")
    assert r.status_code == 422 and 'href="#documents"' in r.text
    r = await client.post("/share", data=base)
    assert r.status_code == 403  # CSRF

    r = await post_form(client, "/share", base, page="/share")
    # Post/Redirect/Get: the share's own page, which shows the link this once
    assert r.status_code == 303, r.text
    page_url = r.headers["location"]
    assert re.fullmatch(r"/shares/[0-9a-f-]{36}", page_url)
    carried = next(c for c in r.headers.get_list("set-cookie") if c.startswith("kho_new_share="))
    assert f"path={page_url}" in carried.lower() and "httponly" in carried.lower()
    r = await client.get(page_url)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    link = re.search(r'id="share-link" type="text" readonly value="([^"]+)"', r.text)
    assert link is not None and "/s/" in link.group(1)
    assert '<svg role="img"' in r.text and "<title>" in r.text
    assert "data-copy=" in r.text and "Hồ sơ" in r.text
    token = link.group(1).rsplit("/s/", 1)[1]
    # reloading (or coming back) neither makes a second share nor shows the token again
    again = await client.get(page_url)
    assert again.status_code == 200 and token not in again.text
    assert "Liên kết chỉ hiện một lần" in again.text
    assert f'action="{page_url}/revoke"' in again.text
    assert f'href="/share?doc={doc["id"]}"' in again.text  # a new link for the same papers
    assert len((await client.get("/api/v1/shares", headers=headers)).json()["items"]) == 1
    # someone else's token in the cookie shows nothing of it
    client.cookies.set("kho_new_share", "forged-token", path=page_url)
    assert "forged-token" not in (await client.get(page_url)).text
    landing = await client.get(f"/s/{token}")
    assert landing.status_code == 200 and "Giấy khai sinh" in landing.text

    mine = await client.get("/shares")
    assert mine.status_code == 200
    assert "Hồ sơ" in mine.text and "Đang hiệu lực" in mine.text and "Giấy khai sinh" in mine.text
    shares = await client.get("/api/v1/shares", headers=headers)
    share_id = shares.json()["items"][0]["id"]
    assert shares.json()["items"][0]["use_count"] == 1
    revoke_token = CSRF.search(mine.text).group(1)  # type: ignore[union-attr]
    r = await client.post(f"/shares/{share_id}/revoke", data={})
    assert r.status_code == 403
    r = await client.post(f"/shares/{share_id}/revoke", data={"_csrf_token": revoke_token})
    assert r.status_code == 303 and r.headers["location"] == "/shares?revoked=1"
    after = await client.get("/shares?revoked=1&lang=en")
    assert "The link was revoked" in after.text and "Revoked" in after.text
    assert (await client.get(f"/s/{token}")).status_code == 410


async def test_another_owners_share_cannot_be_revoked(client, services):
    other = await f.citizen_headers(services, client)
    theirs = await f.upload(client, other, f.pdf("x"), title="x")
    r = await client.post(
        "/api/v1/shares",
        headers=other,
        json={"document_ids": [theirs["id"]], "ttl_seconds": 3600, "purpose": "Bí mật"},
    )
    share_id = r.json()["id"]
    await signed_in_citizen(client, services)
    assert "Bí mật" not in (await client.get("/shares")).text
    token = await csrf(client, "/shares")
    for sid in (share_id, "nope"):
        r = await client.post(f"/shares/{sid}/revoke", data={"_csrf_token": token})
        assert r.status_code == 404
    listed = await client.get("/api/v1/shares", headers=other)
    assert listed.json()["items"][0]["status"] == "active"
    for path in (f"/shares/{share_id}", f"/shares/{uuid.uuid4()}", "/shares/not-a-uuid"):
        page = await client.get(path)
        assert page.status_code == 404 and "Bí mật" not in page.text, path


# -- access log ----------------------------------------------------------------------


async def test_access_log_shows_who_looked_when_and_why(client, services):
    _, headers = await signed_in_citizen(client, services)
    empty = await client.get("/access-log")
    assert empty.status_code == 200 and "Chưa ai xem giấy tờ của bạn." in empty.text
    doc = await f.upload(client, headers, f.pdf("giấy"), title="Lý lịch tư pháp")
    r = await client.post(
        "/api/v1/shares",
        headers=headers,
        json={"document_ids": [doc["id"]], "ttl_seconds": 3600, "purpose": "Xin việc"},
    )
    assert (await client.get(f"/s/{r.json()['token']}")).status_code == 200
    log = await client.get("/access-log")
    assert log.status_code == 200
    assert "Người có liên kết" in log.text and "đã mở liên kết chia sẻ" in log.text
    assert "Lý lịch tư pháp" in log.text and "Xin việc" in log.text
    assert "(giờ Việt Nam)" in log.text and "<time datetime=" in log.text
    en = await client.get("/access-log?lang=en")
    assert "Someone with the link" in en.text and "Vietnam time" in en.text
    # a forged page marker is ignored, not a 500
    assert (await client.get("/access-log?before=abc")).status_code == 200


# -- strings -------------------------------------------------------------------------


def test_every_string_the_templates_use_is_in_both_languages():
    templates = Path(__file__).resolve().parents[2] / "web" / "templates"
    keys: set[str] = set()
    for path in templates.glob("*.html"):
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", path.read_text()))
    assert "signin_title" in keys and "access_title" in keys
    # the keys templates build from values
    keys |= {f"prov_{p}" for p in Provenance} | {f"share_status_{s}" for s in ShareStatus}
    keys |= {f"access_{a}" for a in ACCESS_ACTIONS} | {f"expiry_{e}" for e in EXPIRY_PRESETS}
    keys |= {"access_kind_agency", "access_kind_official", "status_revoked", "status_superseded"}
    keys |= {"doc_status_revoked", "doc_status_superseded"}
    missing = sorted(k for k in keys if k not in MESSAGES)
    assert not missing, missing
    untranslated = sorted(
        k for k, v in MESSAGES.items() if any(not v.get(lang) for lang in LANGUAGES)
    )
    assert not untranslated, untranslated
