"""Officials on the web: sign in with the agency's code, a username and a password, so
links shared with one agency open for its people.  The session is the official's bearer
token in its own HttpOnly cookie (a citizen's session on the same browser is separate)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from vault import AccountService
from web import session
from web.citizen import form_field
from web.pages import client_ip, page
from web.session import SessionConfig, signed_in_official

SIGN_IN = "/official/sign-in"

FieldError = tuple[str, str, dict[str, Any]]


class OfficialPages(Controller):
    path = "/official"
    include_in_schema = False

    def _render(
        self,
        request: Request[Any, Any, Any],
        *,
        back: str,
        errors: list[FieldError] | None = None,
        agency: str = "",
        username: str = "",
        status: int = 200,
        notice: str | None = None,
    ) -> Template:
        response = page(
            request,
            "official_sign_in.html",
            status=status,
            title_key="official_signin_title",
            back=back,
            errors=errors or [],
            error_for={e[0]: e for e in errors or []},
            agency=agency,
            username=username,
            notice=notice,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @get("/sign-in", name="official-sign-in")
    async def form(self, request: Request[Any, Any, Any]) -> Template:
        back = session.safe_next(request.query_params.get("next"))
        notice = "out" if request.query_params.get("out") else None
        return self._render(request, back=back, notice=notice)

    @post("/sign-in", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        web_session: NamedDependency[SessionConfig],
        sign_in_limit: NamedDependency[Any],
    ) -> Response[Any]:
        form = await request.form()
        agency = form_field(form, "agency", 64)
        username = form_field(form, "username", 120).lower()
        password = form.get("password")
        password = password[:1024] if isinstance(password, str) else ""
        back = session.safe_next(form_field(form, "next", 2000))
        errors: list[FieldError] = []
        if not agency:
            errors.append(("agency", "official_agency_missing", {}))
        if not username:
            errors.append(("username", "official_username_missing", {}))
        if not password:
            errors.append(("password", "signin_pw_missing", {}))
        if errors:
            return self._render(
                request, back=back, errors=errors, agency=agency, username=username, status=422
            )
        issued = await session.sign_in_attempt(
            sign_in_limit,
            client_ip(request),
            lambda: accounts.official_login(agency, username, password),
            exhausted_key="signin_throttled",
            wrong_key="official_wrong",
        )
        if isinstance(issued, session.Refusal):
            errors = [("agency", issued.key, issued.values)]
            refused = self._render(
                request,
                back=back,
                errors=errors,
                agency=agency,
                username=username,
                status=issued.status,
            )
            if issued.retry_after is not None:
                refused.headers["Retry-After"] = str(issued.retry_after)
            return refused
        response: Response[Any] = Redirect(back if back != "/" else "/v", status_code=303)
        session.start(
            response, issued.token, issued.expires_in, web_session, cookie=session.OFFICIAL_COOKIE
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @post("/sign-out", status_code=303)
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        web_session: NamedDependency[SessionConfig],
    ) -> Response[Any]:
        who = await signed_in_official(request, accounts)
        if who is not None:
            await accounts.revoke_token(who.token_id)
        response: Response[Any] = Redirect(f"{SIGN_IN}?out=1", status_code=303)
        session.end(response, web_session, cookie=session.OFFICIAL_COOKIE)
        return response
