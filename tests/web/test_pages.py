"""The people's pages over HTTP (no browser): status codes, languages, headers, CSRF."""

from __future__ import annotations

import re
import secrets

import pytest

from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")


async def _share(client, services, **extra):
    headers = await f.citizen_headers(services, client)
    doc = await f.upload(client, headers, f.pdf("giấy"), title="Giấy khai sinh")
    r = await client.post(
        "/api/v1/shares",
        headers=headers,
        json={"document_ids": [doc["id"]], "ttl_seconds": 3600, "purpose": "Kiểm tra", **extra},
    )
    assert r.status_code == 201, r.text
    return headers, doc, r.json()


async def test_share_landing_shows_the_verdict_and_downloads(client, services):
    _, _, share = await _share(client, services)
    r = await client.get(f"/s/{share['token']}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "Giấy khai sinh" in r.text and "Không thể xác định" in r.text  # unsigned upload
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in r.headers  # plain http here
    link = re.search(r'href="(/s/[^"]+/documents/[^"]+)"', r.text)
    assert link is not None
    got = await client.get(link.group(1).replace("&amp;", "&"))
    assert got.status_code == 200 and got.content == f.pdf("giấy")

    en = await client.get(f"/s/{share['token']}?lang=en")
    assert "Cannot tell" in en.text and 'lang="en"' in en.text
    assert "kho_lang=en" in en.headers.get("set-cookie", "")


async def test_share_landing_gone_and_unknown(client, services):
    headers, _, share = await _share(client, services)
    assert (
        await client.delete(f"/api/v1/shares/{share['id']}", headers=headers)
    ).status_code == 204
    r = await client.get(f"/s/{share['token']}")
    assert r.status_code == 410 and "Liên kết không còn hiệu lực" in r.text
    r = await client.get(f"/s/{secrets.token_urlsafe(32)}?lang=en")
    assert r.status_code == 404 and "Not found" in r.text


async def test_password_form_needs_csrf_and_the_password(client, services):
    _, _, share = await _share(client, services, password="mật khẩu")
    page = await client.get(f"/s/{share['token']}")
    assert page.status_code == 200 and 'type="password"' in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    # without the CSRF token the form is refused
    r = await client.post(f"/s/{share['token']}", data={"password": "mật khẩu"})
    assert r.status_code == 403
    r = await client.post(
        f"/s/{share['token']}", data={"password": "sai", "_csrf_token": token.group(1)}
    )
    assert r.status_code == 401 and "error-summary" in r.text
    r = await client.post(
        f"/s/{share['token']}", data={"password": "mật khẩu", "_csrf_token": token.group(1)}
    )
    assert r.status_code == 200 and "Giấy khai sinh" in r.text


async def test_verify_page_and_code_lookup(client, services):
    page = await client.get("/v")
    assert page.status_code == 200 and 'type="file"' in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = await client.post(
        "/v",
        data={"_csrf_token": token.group(1)},
        files={"file": ("x.pdf", b"%PDF-1.7 not really", "application/pdf")},
    )
    assert r.status_code == 200, r.text
    assert "verdict-failed" in r.text or "verdict-indeterminate" in r.text
    r = await client.post("/v", data={"_csrf_token": token.group(1)}, files={})
    assert r.status_code in (400, 422)
    r = await client.get("/v/KHO-NOPE-0000")
    assert r.status_code == 404


async def test_an_official_signs_in_to_open_a_link_for_their_agency(client, services):
    headers = await f.citizen_headers(services, client)
    doc = await f.upload(client, headers, f.pdf("giấy"), title="Giấy khai sinh")
    _, code = await f.agency_headers(services, client, "UBND-PX")
    await services.accounts.create_official(code, "canbo", "Phạm Minh Đức", f.PASSWORD)
    r = await client.post(
        "/api/v1/shares",
        headers=headers,
        json={"document_ids": [doc["id"]], "ttl_seconds": 3600, "audience": {"agency": code}},
    )
    share = r.json()

    denied = await client.get(f"/s/{share['token']}")
    assert denied.status_code == 403
    link = f"/official/sign-in?next=/s/{share['token']}"
    assert link in denied.text

    form = await client.get(link)
    assert form.status_code == 200
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    fields = {"_csrf_token": csrf.group(1), "next": f"/s/{share['token']}", "agency": code}
    wrong = await client.post(
        "/official/sign-in", data={**fields, "username": "canbo", "password": "sai"}
    )
    assert wrong.status_code == 401 and "error-summary" in wrong.text
    missing = await client.post("/official/sign-in", data={**fields, "username": ""})
    assert missing.status_code == 422
    ok = await client.post(
        "/official/sign-in", data={**fields, "username": "canbo", "password": f.PASSWORD}
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"/s/{share['token']}"
    assert "kho_official=" in ok.headers["set-cookie"]
    assert "httponly" in ok.headers["set-cookie"].lower()

    opened = await client.get(f"/s/{share['token']}")
    assert opened.status_code == 200 and "Giấy khai sinh" in opened.text
    log = (await client.get("/api/v1/access-log", headers=headers)).json()["items"]
    assert log[0]["actor"]["type"] == "official"
    assert "Phạm Minh Đức" in log[0]["actor"]["name"]

    out = await client.post("/official/sign-out", data={"_csrf_token": csrf.group(1)})
    assert out.status_code == 303
    assert (await client.get(f"/s/{share['token']}")).status_code == 403


async def test_the_landing_names_types_from_the_registry_its_verdicts_used(client, services):
    pid, _ = await f.citizen(services)
    agency, _ = await f.agency_headers(services, client)
    issued = (await f.deposit(client, agency, pid, f.pdf("khai sinh"), title="Bản chính")).json()
    citizen = await f.login(client, pid)
    r = await client.post(
        "/api/v1/shares",
        headers=citizen,
        json={"document_ids": [issued["id"]], "ttl_seconds": 3600},
    )
    link = f"/s/{r.json()['token']}?lang=en"
    first = await client.get(link)
    assert first.status_code == 200 and "<dd>Birth certificate</dd>" in first.text

    await services.registry.rename_document_type("birth_certificate", name_en="Birth extract")
    renamed = await client.get(link)
    assert renamed.status_code == 200 and "<dd>Birth extract</dd>" in renamed.text
