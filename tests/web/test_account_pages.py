"""The citizen's account over HTTP: the optional one-time code at sign-in (turn on with
a QR code and a confirming code, the code step of signing in, throttles, turning off),
the JSON login's ``otp`` field, and the language saved to the account."""

from __future__ import annotations

import base64
import html
import re
import time

import httpx
import pyotp
import pytest
from sqlalchemy import select

from api.ratelimit import RateLimiter
from kho.app import create_app
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.web.test_citizen_pages import CSRF, csrf, sign_in, signed_in_citizen
from vault.db import AuditRow, OwnerRow

pytestmark = pytest.mark.usefixtures("cheap_passwords")

KEY = re.compile(r'<p class="secret-key"[^>]*><code>(.*?)</code></p>', re.S)


class AuthenticatorApp:
    """The citizen's phone: the current code for the secret, never one used before
    (a code works once, so back-to-back steps take the next time step)."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last = 0

    def code(self) -> str:
        now = int(time.time()) // 30
        step = max(self.last + 1, now - 1)
        assert step <= now + 1, "test used more codes than the clock-drift window allows"
        self.last = step
        return self.totp.at(step * 30)

    def wrong(self) -> str:
        good = {self.totp.at((int(time.time()) // 30 + d) * 30) for d in (-1, 0, 1)}
        return next(c for c in ("000000", "111111", "222222") if c not in good)


async def turn_on(client: httpx.AsyncClient) -> AuthenticatorApp:
    """Turn the code on from the account page; returns the app holding the secret."""
    token = await csrf(client, "/account")
    r = await client.post("/account/sign-in-code/start", data={"_csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/account/sign-in-code"
    setup = await client.get("/account/sign-in-code")
    assert setup.status_code == 200
    found = KEY.search(setup.text)
    assert found is not None, setup.text[:2000]
    secret = re.sub(r"<[^>]+>|\s", "", html.unescape(found.group(1)))
    app = AuthenticatorApp(secret)
    r = await client.post(
        "/account/sign-in-code",
        data={"action": "on", "otp": app.code(), "_csrf_token": CSRF.search(setup.text).group(1)},  # type: ignore[union-attr]
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?done=otp-on", r.text
    return app


async def sign_out(client: httpx.AsyncClient) -> None:
    r = await client.post("/sign-out", data={"_csrf_token": await csrf(client, "/")})
    assert r.status_code == 303
    client.cookies.delete("kho_session")


async def code_step(client: httpx.AsyncClient, code: str, next_: str = "/") -> httpx.Response:
    page = await client.get(f"/sign-in/code?next={next_}")
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    return await client.post(
        "/sign-in/code", data={"otp": code, "next": next_, "_csrf_token": token}
    )


async def test_turning_on_the_code_shows_the_secret_once_and_needs_a_right_code(client, services):
    pid, _ = await signed_in_citizen(client, services)
    account = await client.get("/account")
    assert account.status_code == 200 and "Đang tắt" in account.text
    assert 'action="/account/sign-in-code/start"' in account.text
    assert account.headers["cache-control"] == "no-store"

    token = CSRF.search(account.text).group(1)  # type: ignore[union-attr]
    r = await client.post("/account/sign-in-code/start", data={"_csrf_token": token})
    assert r.status_code == 303
    setup = await client.get("/account/sign-in-code")
    assert setup.status_code == 200 and setup.headers["cache-control"] == "no-store"
    assert '<svg role="img"' in setup.text  # the QR code, inline SVG
    assert 'autocomplete="one-time-code"' in setup.text and 'inputmode="numeric"' in setup.text
    secret = re.sub(r"<[^>]+>|\s", "", KEY.search(setup.text).group(1))  # type: ignore[union-attr]
    assert re.fullmatch(r"[A-Z2-7]{52}", secret)
    # reloading the setup page shows the same pending secret (the app may have it already)
    assert secret in re.sub(r"<[^>]+>|\s", "", (await client.get("/account/sign-in-code")).text)
    app = AuthenticatorApp(secret)
    token = CSRF.search(setup.text).group(1)  # type: ignore[union-attr]

    for bad, message in (("", "Hãy nhập mã dùng một lần."), ("12a", "Mã gồm đúng 6 chữ số.")):
        r = await client.post(
            "/account/sign-in-code", data={"action": "on", "otp": bad, "_csrf_token": token}
        )
        assert r.status_code == 422 and "error-summary" in r.text and message in r.text
    r = await client.post(
        "/account/sign-in-code", data={"action": "on", "otp": app.wrong(), "_csrf_token": token}
    )
    assert r.status_code == 422 and "Mã không đúng hoặc đã được dùng" in r.text
    assert 'aria-invalid="true"' in r.text and 'href="#otp"' in r.text
    assert (await client.get("/account")).text.count("Đang tắt") == 1  # still off

    r = await client.post(
        "/account/sign-in-code", data={"action": "on", "otp": app.code(), "_csrf_token": token}
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?done=otp-on"
    done = await client.get(r.headers["location"])
    assert "Đã bật mã dùng một lần" in done.text and "Đang bật" in done.text
    # never shown again: the setup address now offers to turn it off
    again = await client.get("/account/sign-in-code")
    assert again.status_code == 200 and secret not in re.sub(r"<[^>]+>|\s", "", again.text)
    assert "Tắt mã dùng một lần" in again.text and '<svg role="img"' not in again.text

    # stored wrapped under the master key, never in clear
    async with services.database.read() as s:
        row = await s.scalar(select(OwnerRow).where(OwnerRow.personal_id == pid))
    assert row is not None and row.otp_secret_wrapped is not None
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert raw not in row.otp_secret_wrapped and secret.encode() not in row.otp_secret_wrapped
    assert row.otp_enabled_at is not None and row.otp_last_step > 0


async def test_sign_in_asks_for_the_code_and_refuses_a_wrong_or_used_one(client, services):
    pid, _ = await signed_in_citizen(client, services)
    app = await turn_on(client)
    await sign_out(client)

    r = await sign_in(client, pid)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in/code?next=/"
    cookies = r.headers.get_list("set-cookie")
    assert not any(c.startswith("kho_session=") for c in cookies)  # not signed in yet
    challenge = next(c for c in cookies if c.startswith("kho_signin="))
    flags = challenge.lower()
    assert "httponly" in flags and "path=/sign-in" in flags and "samesite=strict" in flags
    assert "max-age=300" in flags
    # the password step's challenge is no bearer token
    value = challenge.split(";")[0].split("=", 1)[1]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {value}"})
    assert me.status_code == 401
    assert (await client.get("/shares")).status_code == 303  # still signed out

    page = await client.get("/sign-in/code?next=/")
    assert page.status_code == 200 and "Nhập mã dùng một lần" in page.text
    assert 'autocomplete="one-time-code"' in page.text
    r = await code_step(client, "")
    assert r.status_code == 422 and "error-summary" in r.text
    r = await code_step(client, app.wrong())
    assert r.status_code == 401 and "error-summary" in r.text
    assert "Mã không đúng hoặc đã được dùng" in r.text
    assert not any(c.startswith("kho_session=") for c in r.headers.get_list("set-cookie"))

    used = app.code()
    r = await code_step(client, used, "/shares")
    assert r.status_code == 303 and r.headers["location"] == "/shares"
    assert any(c.startswith("kho_session=") for c in r.headers.get_list("set-cookie"))
    assert (await client.get("/shares")).status_code == 200
    assert not client.cookies.get("kho_signin")  # the challenge is spent

    # the same code cannot sign in again (replay)
    await sign_out(client)
    assert (await sign_in(client, pid)).status_code == 303
    r = await code_step(client, used)
    assert r.status_code == 401 and "Mã không đúng hoặc đã được dùng" in r.text
    # a wrong password never reaches the code step
    client.cookies.delete("kho_signin")
    r = await sign_in(client, pid, "wrong-password")
    assert r.status_code == 401 and "kho_signin" not in r.headers.get("set-cookie", "")


async def test_wrong_codes_count_against_the_sign_in_throttles(client, services):
    pid, _ = await signed_in_citizen(client, services)
    app = await turn_on(client)
    await sign_out(client)
    assert (await sign_in(client, pid)).status_code == 303
    for _ in range(5):
        assert (await code_step(client, app.wrong())).status_code == 401
    r = await code_step(client, app.code())  # the right code, but the account is paused
    assert r.status_code == 429 and r.headers["retry-after"] == "900"
    assert "Nhập sai quá nhiều lần" in r.text
    # and the password step is paused too: the failures are the account's
    client.cookies.delete("kho_signin")
    assert (await sign_in(client, pid)).status_code == 429
    async with services.database.read() as s:
        failed = (
            await s.scalars(select(AuditRow.detail).where(AuditRow.action == "login_failed"))
        ).all()
    assert len(failed) == 5


async def test_wrong_codes_spend_the_clients_budget(settings, services):
    services.sign_in_limit = RateLimiter(10, burst=2)
    pid, _ = await f.citizen(services)
    transport = httpx.ASGITransport(app=create_app(settings, services), client=("198.51.100.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as c:
        assert (await sign_in(c, pid)).status_code == 303
        app = await turn_on(c)
        await sign_out(c)
        assert (await sign_in(c, pid)).status_code == 303
        for _ in range(2):
            assert (await code_step(c, app.wrong())).status_code == 401
        r = await code_step(c, app.code())
        assert r.status_code == 429 and "Có quá nhiều lần đăng nhập sai" in r.text


async def test_a_missing_or_ended_challenge_starts_again(client, services):
    pid, _ = await signed_in_citizen(client, services)
    app = await turn_on(client)
    await sign_out(client)
    r = await client.get("/sign-in/code?next=/shares")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?next=/shares&restart=1"
    assert "quá 5 phút" in (await client.get(r.headers["location"])).text

    assert (await sign_in(client, pid)).status_code == 303
    client.cookies.set("kho_signin", "not-a-challenge", path="/sign-in")
    r = await code_step(client, app.code())
    assert r.status_code == 303 and r.headers["location"].endswith("&restart=1")
    assert not any(c.startswith("kho_session=") for c in r.headers.get_list("set-cookie"))


async def test_turning_off_needs_a_current_code(client, services):
    pid, _ = await signed_in_citizen(client, services)
    app = await turn_on(client)
    page = await client.get("/account/sign-in-code")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = await client.post(
        "/account/sign-in-code", data={"action": "off", "otp": app.wrong(), "_csrf_token": token}
    )
    assert r.status_code == 422 and "Mã không đúng" in r.text
    r = await client.post(
        "/account/sign-in-code", data={"action": "off", "otp": app.code(), "_csrf_token": token}
    )
    assert r.status_code == 303 and r.headers["location"] == "/account?done=otp-off"
    assert "Đã tắt mã dùng một lần" in (await client.get(r.headers["location"])).text
    async with services.database.read() as s:
        row = await s.scalar(select(OwnerRow).where(OwnerRow.personal_id == pid))
    assert row is not None and row.otp_secret_wrapped is None and row.otp_enabled_at is None
    # the password alone signs in again
    await sign_out(client)
    r = await sign_in(client, pid)
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_guessing_the_code_to_turn_it_off_is_throttled(client, services):
    await signed_in_citizen(client, services)
    app = await turn_on(client)
    token = await csrf(client, "/account/sign-in-code")
    for _ in range(5):
        r = await client.post(
            "/account/sign-in-code",
            data={"action": "off", "otp": app.wrong(), "_csrf_token": token},
        )
        assert r.status_code == 422
    r = await client.post(
        "/account/sign-in-code", data={"action": "off", "otp": app.code(), "_csrf_token": token}
    )
    assert r.status_code == 429 and "Nhập sai mã quá nhiều lần" in r.text
    assert "Đang bật" in (await client.get("/account")).text


async def test_json_login_answers_otp_required_and_otp_invalid(client, services):
    pid, _ = await signed_in_citizen(client, services)
    app = await turn_on(client)
    body = {"personal_id": pid, "password": f.PASSWORD}
    r = await client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:kho:problem:otp-required"
    r = await client.post("/api/v1/auth/login", json={**body, "otp": app.wrong()})
    assert r.status_code == 401 and r.json()["type"] == "urn:kho:problem:otp-invalid"
    r = await client.post("/api/v1/auth/login", json={**body, "password": "nope", "otp": "1"})
    assert r.status_code == 401 and r.json()["type"] == "urn:kho:problem:invalid-credentials"
    r = await client.post("/api/v1/auth/login", json={**body, "otp": "x" * 17})
    assert r.status_code == 400  # too long for the field
    r = await client.post("/api/v1/auth/login", json={**body, "otp": app.code()})
    assert r.status_code == 200 and r.json()["access_token"]


async def test_json_login_without_the_code_turned_on_ignores_otp(client, services):
    pid, _ = await f.citizen(services)
    r = await client.post(
        "/api/v1/auth/login", json={"personal_id": pid, "password": f.PASSWORD, "otp": "123456"}
    )
    assert r.status_code == 200


# -- the language, kept per user ---------------------------------------------------------


async def test_the_language_switch_saves_the_choice_to_the_account(client, services, settings):
    pid, _ = await signed_in_citizen(client, services)
    shares = await client.get("/shares")
    assert 'href="/language?to=en&amp;back=/shares"' in shares.text
    r = await client.get("/language?to=en&back=/shares")
    assert r.status_code == 303 and r.headers["location"] == "/shares"
    assert any(c.startswith("kho_lang=en") for c in r.headers.get_list("set-cookie"))
    assert "My shares" in (await client.get("/shares")).text
    async with services.database.read() as s:
        row = await s.scalar(select(OwnerRow).where(OwnerRow.personal_id == pid))
    assert row is not None and row.locale == "en"

    # another device (no language cookie): signing in brings the saved language
    transport = httpx.ASGITransport(app=create_app(settings, services), client=("192.0.2.5", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as other:
        assert 'lang="vi"' in (await other.get("/sign-in")).text
        r = await sign_in(other, pid)
        assert r.status_code == 303
        assert any(c.startswith("kho_lang=en") for c in r.headers.get_list("set-cookie"))
        home = await other.get("/")
        assert '<html lang="en">' in home.text

    # a device where Vietnamese was chosen before signing in keeps it, and saves it
    transport = httpx.ASGITransport(app=create_app(settings, services), client=("192.0.2.6", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as third:
        await third.get("/sign-in?lang=vi")
        assert third.cookies.get("kho_lang") == "vi"
        r = await sign_in(third, pid)
        assert r.status_code == 303
        assert not any(c.startswith("kho_lang=") for c in r.headers.get_list("set-cookie"))
        assert '<html lang="vi">' in (await third.get("/")).text
    async with services.database.read() as s:
        row = await s.scalar(select(OwnerRow).where(OwnerRow.personal_id == pid))
    assert row is not None and row.locale == "vi"


async def test_signed_out_the_cookie_and_lang_still_switch(client, services):
    r = await client.get("/sign-in?lang=en")
    assert '<html lang="en">' in r.text
    assert '<html lang="en">' in (await client.get("/v")).text
    r = await client.get("/language?to=vi&back=/v")
    assert r.status_code == 303 and r.headers["location"] == "/v"
    assert '<html lang="vi">' in (await client.get("/v")).text
    # nonsense is ignored and never redirects off site
    r = await client.get("/language?to=fr&back=//evil.example")
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_deleting_the_account_destroys_the_code_secret(client, services):
    pid, api = await signed_in_citizen(client, services)
    await turn_on(client)
    r = await client.request("DELETE", "/api/v1/me", headers=api, json={"password": f.PASSWORD})
    assert r.status_code == 200, r.text
    async with services.database.read() as s:
        row = await s.scalar(select(OwnerRow).where(OwnerRow.personal_id == pid))
    assert row is not None
    assert (row.otp_secret_wrapped, row.otp_kek_id, row.otp_enabled_at) == (None, None, None)
    # a new account on the same ID starts without the code
    await services.accounts.create_owner(pid, "Người mới", f.PASSWORD)
    client.cookies.clear()
    r = await sign_in(client, pid)
    assert r.status_code == 303 and r.headers["location"] == "/"
