"""The citizen's account: the one-time code asked at sign-in (turn it on with an
authenticator app, confirmed by a code; turn it off with a code), the code step of
signing in, and the language switch that saves the choice to the account."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from vault import AccountService
from vault.errors import (
    LoginThrottled,
    SecondFactorInvalid,
    SecondFactorState,
    SignInChallengeEnded,
)
from vault.otp import DIGITS
from web import session
from web.citizen import FieldError, citizen_page, form_field, qr_markup
from web.i18n import LANGUAGES
from web.pages import client_ip, lang_of, page
from web.session import SessionConfig

SETUP = "/account/sign-in-code"


def code_error(raw: str) -> FieldError | None:
    """The code field's own problem (empty, not six digits), before asking the vault."""
    code = raw.replace(" ", "")
    if not code:
        return ("otp", "otp_missing", {})
    if not (len(code) == DIGITS and code.isascii() and code.isdigit()):
        return ("otp", "otp_format", {"digits": DIGITS})
    return None


def _no_store(response: Response[Any]) -> Response[Any]:
    response.headers["Cache-Control"] = "no-store"
    return response


class SignInCodePages(Controller):
    """The second step of signing in, for an account that turned the code on."""

    path = "/sign-in/code"
    include_in_schema = False

    def _render(
        self,
        request: Request[Any, Any, Any],
        back: str,
        *,
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Template:
        response = page(
            request,
            "sign_in_code.html",
            status=status,
            title_key="signin_code_title",
            back=back,
            digits=DIGITS,
            errors=errors or [],
            error_for={e[0]: e for e in errors or []},
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def _restart(self, back: str, config: SessionConfig) -> Response[Any]:
        response: Response[Any] = Redirect(
            session.sign_in_url(back) + "&restart=1", status_code=303
        )
        session.drop_challenge(response, config)
        return _no_store(response)

    @get("/", name="sign-in-code")
    async def form(
        self, request: Request[Any, Any, Any], web_session: NamedDependency[SessionConfig]
    ) -> Response[Any]:
        back = session.safe_next(request.query_params.get("next"))
        if not request.cookies.get(session.CHALLENGE_COOKIE):
            return self._restart(back, web_session)
        return self._render(request, back)

    @post("/", status_code=303)
    async def check(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        web_session: NamedDependency[SessionConfig],
        sign_in_limit: NamedDependency[Any],
    ) -> Response[Any]:
        form = await request.form()
        back = session.safe_next(form_field(form, "next", 2000))
        challenge = request.cookies.get(session.CHALLENGE_COOKIE) or ""
        if not challenge:
            return self._restart(back, web_session)
        code = form_field(form, "otp", 32).replace(" ", "")
        if (bad := code_error(code)) is not None:
            return self._render(request, back, errors=[bad], status=422)
        ip = client_ip(request)
        try:
            issued = await session.sign_in_attempt(
                sign_in_limit,
                ip,
                lambda: accounts.complete_login(challenge, code, ip),
                exhausted_key="signin_too_many",
                wrong_key="otp_wrong",
            )
        except SignInChallengeEnded:
            return self._restart(back, web_session)
        if isinstance(issued, session.Refusal):
            refused = self._render(
                request, back, errors=[("otp", issued.key, issued.values)], status=issued.status
            )
            if issued.retry_after is not None:
                refused.headers["Retry-After"] = str(issued.retry_after)
            return refused
        return await session.signed_in_response(request, accounts, issued, back, web_session)


class AccountPages(Controller):
    """The account page, turning the sign-in code on and off, and the language."""

    path = "/"
    include_in_schema = False

    @get("/account", name="account")
    async def account(
        self, request: Request[Any, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Template:
        who = await session.require(request, accounts)
        owner = await accounts.get_owner(who.owner_id)
        done = request.query_params.get("done")
        return citizen_page(
            request,
            "account.html",
            title_key="account_title",
            nav="account",
            owner=owner,
            done=done if done in ("otp-on", "otp-off") else None,
        )

    @post("/account/sign-in-code/start", status_code=303)
    async def start(
        self, request: Request[Any, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Response[Any]:
        who = await session.require(request, accounts, back="/account")
        # already on: the setup page then offers to turn it off
        with suppress(SecondFactorState):
            await accounts.start_second_factor(who.owner_id)
        return _no_store(Redirect(SETUP, status_code=303))

    async def _setup_page(
        self,
        request: Request[Any, Any, Any],
        accounts: AccountService,
        owner_id: UUID,
        *,
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Response[Any]:
        owner = await accounts.get_owner(owner_id)
        context: dict[str, Any] = {
            "errors": errors or [],
            "error_for": {e[0]: e for e in errors or []},
            "digits": DIGITS,
        }
        if owner.second_factor:
            return citizen_page(
                request,
                "otp_off.html",
                status=status,
                title_key="otp_off_title",
                nav="account",
                **context,
            )
        pending = await accounts.pending_second_factor(owner_id)
        if pending is None:
            return _no_store(Redirect("/account", status_code=303))
        label = (
            "Mã QR cho ứng dụng xác thực"
            if lang_of(request) == "vi"
            else ("QR code for your authenticator app")
        )
        secret = pending.secret
        return citizen_page(
            request,
            "otp_setup.html",
            status=status,
            title_key="otp_setup_title",
            nav="account",
            qr=qr_markup(pending.uri, label),
            key_groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
            **context,
        )

    @get(SETUP, name="sign-in-code-setup")
    async def setup(
        self, request: Request[Any, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Response[Any]:
        who = await session.require(request, accounts)
        return await self._setup_page(request, accounts, who.owner_id)

    @post(SETUP, status_code=303)
    async def change(
        self, request: Request[Any, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Response[Any]:
        """Confirm the pending code (turn it on), or turn it off: both need a code."""
        who = await session.require(request, accounts, back=SETUP)
        form = await request.form()
        code = form_field(form, "otp", 32).replace(" ", "")
        turn_on = form_field(form, "action", 8) != "off"
        if (bad := code_error(code)) is not None:
            return await self._setup_page(request, accounts, who.owner_id, errors=[bad], status=422)
        actor = session.owner_actor(who, request)
        try:
            if turn_on:
                await accounts.confirm_second_factor(who.owner_id, code, actor)
            else:
                await accounts.turn_off_second_factor(who.owner_id, code, actor)
        except SecondFactorInvalid:
            errors: list[FieldError] = [("otp", "otp_wrong", {})]
            return await self._setup_page(
                request, accounts, who.owner_id, errors=errors, status=422
            )
        except LoginThrottled as throttled:
            errors = [("otp", "otp_throttled", {"minutes": max(1, throttled.retry_after // 60)})]
            response = await self._setup_page(
                request, accounts, who.owner_id, errors=errors, status=429
            )
            response.headers["Retry-After"] = str(throttled.retry_after)
            return response
        except SecondFactorState:
            pass  # changed meanwhile (another tab): the account page shows how it is
        else:
            return _no_store(
                Redirect(f"/account?done={'otp-on' if turn_on else 'otp-off'}", status_code=303)
            )
        return _no_store(Redirect("/account", status_code=303))

    @get("/language", name="language")
    async def language(
        self, request: Request[Any, Any, Any], accounts: NamedDependency[AccountService]
    ) -> Response[Any]:
        """Switch the pages' language and go back; signed in, the choice is saved to the
        account, so the citizen's next sign-in on any device uses it."""
        lang = request.query_params.get("to")
        back = session.safe_next(request.query_params.get("back"))
        if lang not in LANGUAGES:
            return Redirect(back, status_code=303)
        try:
            who = await session.current(request, accounts)
        except session.SignInRequired:
            who = None
        if who is not None:
            await accounts.set_locale(who.owner_id, lang)
        response: Response[Any] = Redirect(back, status_code=303)
        session.remember_language(response, lang)
        return _no_store(response)
