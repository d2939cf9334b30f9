"""The citizen's web session: the bearer token ``AccountService.login`` issues, kept in
an HttpOnly cookie that expires with the token.  Pages that need a session raise
``SignInRequired``; the router answers it with a 303 to the sign-in page, which comes
back to where the citizen was."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import quote, urlencode
from uuid import UUID

import msgspec
from litestar import Request, Response
from litestar.response import Redirect

from vault import AccountService, Actor, ActorType, IssuedToken, Principal
from vault.accounts import CHALLENGE_SECONDS
from vault.errors import AuthenticationFailed, LoginThrottled
from web.i18n import COOKIE as LANG_COOKIE
from web.i18n import LANGUAGES

COOKIE = "kho_session"
# an official's session: a separate cookie, so a citizen and an official can share a
# browser (a counter's tablet) without one session standing in for the other
OFFICIAL_COOKIE = "kho_official"
SIGN_IN = "/sign-in"


class SessionConfig(msgspec.Struct, frozen=True, kw_only=True):
    # security: Secure by default whenever the public address is https
    cookie_secure: bool = True


class SignedIn(msgspec.Struct, frozen=True, kw_only=True):
    """The citizen behind a valid session cookie."""

    owner_id: UUID
    token_id: UUID


class SignInRequired(Exception):
    """No session, or one that has ended: go and sign in, then come back to ``back``."""

    def __init__(self, back: str, *, expired: bool) -> None:
        super().__init__("sign-in required")
        self.back = back
        self.expired = expired


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a path on this site (never ``//host`` or a
    scheme, which would make the sign-in page an open redirect)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 for c in value)
        or len(value) > 2000
    ):
        return "/"
    return value


def here(request: Request[Any, Any, Any]) -> str:
    """This page's path and query, without the language switch."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return request.url.path + ("?" + urlencode(query) if query else "")


async def current(request: Request[Any, Any, Any], accounts: AccountService) -> SignedIn | None:
    """The signed-in citizen, or None without a cookie; an ended session (expired,
    revoked, or a token that is not a citizen's) raises ``SignInRequired``."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        principal = await accounts.authenticate(token)
    except AuthenticationFailed:
        raise SignInRequired(here(request), expired=True) from None
    if principal.kind != "owner" or principal.owner_id is None:
        raise SignInRequired(here(request), expired=True)
    return SignedIn(owner_id=principal.owner_id, token_id=principal.token_id)


async def require(
    request: Request[Any, Any, Any], accounts: AccountService, *, back: str | None = None
) -> SignedIn:
    """The signed-in citizen, or ``SignInRequired`` (``back``: where to return, for a
    form post whose own URL cannot be shown again)."""
    try:
        found = await current(request, accounts)
    except SignInRequired as ended:
        raise SignInRequired(back or ended.back, expired=True) from None
    if found is None:
        raise SignInRequired(back or here(request), expired=False)
    return found


def owner_actor(who: SignedIn, request: Request[Any, Any, Any]) -> Actor:
    return Actor(
        type=ActorType.OWNER,
        id=str(who.owner_id),
        ip=request.client.host if request.client else None,
    )


def sign_in_url(back: str, *, expired: bool = False) -> str:
    url = f"{SIGN_IN}?next={quote(safe_next(back), safe='/')}"
    return url + "&expired=1" if expired else url


def start(
    response: Response[Any],
    token: str,
    max_age: int,
    config: SessionConfig,
    *,
    cookie: str = COOKIE,
) -> None:
    response.set_cookie(
        cookie,
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=config.cookie_secure,
    )


def end(response: Response[Any], config: SessionConfig, *, cookie: str = COOKIE) -> None:
    response.set_cookie(
        cookie,
        "",
        max_age=0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=config.cookie_secure,
    )


def redirect_handler(config: SessionConfig) -> Any:
    """The router's answer to ``SignInRequired``: 303 to the sign-in page (and the
    ended session's cookie dropped)."""

    def handle(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
        response: Response[Any] = Redirect(
            sign_in_url(exc.back, expired=exc.expired), status_code=303
        )
        if exc.expired:
            end(response, config)
        response.headers["Cache-Control"] = "no-store"
        return response

    return handle


async def signed_in_official(
    request: Request[Any, Any, Any], accounts: AccountService
) -> Principal | None:
    """The official behind the official's cookie, or None (no cookie, or a session
    that has ended: the page then opens as for anyone)."""
    token = request.cookies.get(OFFICIAL_COOKIE)
    if not token:
        return None
    try:
        principal = await accounts.authenticate(token)
    except AuthenticationFailed:
        return None
    return principal if principal.kind == "official" else None


class Limiter(Protocol):
    """A per-client budget (``api.ratelimit.RateLimiter``, given as a dependency)."""

    def exhausted(self, client: str | None) -> bool: ...
    def take(self, client: str | None) -> bool: ...


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """Why a sign-in was refused: the answer's status, the message (key and values) and,
    for a throttle, how long to wait."""

    status: int
    key: str
    values: dict[str, Any]
    retry_after: int | None = None


async def sign_in_attempt(
    limiter: Limiter,
    ip: str | None,
    login: Callable[[], Awaitable[IssuedToken]],
    *,
    exhausted_key: str,
    wrong_key: str,
) -> IssuedToken | Refusal:
    """One sign-in, citizen's or official's: refused at once when this client has used
    up its failures (security: guessing across many accounts is slowed down too), when
    the account is throttled, or for wrong credentials (which spend the client's
    budget)."""
    if limiter.exhausted(ip):
        return Refusal(status=429, key=exhausted_key, values={"minutes": 1}, retry_after=60)
    try:
        return await login()
    except LoginThrottled as throttled:
        minutes = max(1, throttled.retry_after // 60)
        return Refusal(
            status=429,
            key="signin_throttled",
            values={"minutes": minutes},
            retry_after=throttled.retry_after,
        )
    except AuthenticationFailed:
        limiter.take(ip)
        return Refusal(status=401, key=wrong_key, values={})


# -- a sign-in in two steps (password, then the one-time code) and the saved language --

# the password step's challenge, for the code step only (path: the sign-in pages)
CHALLENGE_COOKIE = "kho_signin"
CHALLENGE_PATH = "/sign-in"


def code_step_url(back: str) -> str:
    return f"{SIGN_IN}/code?next={quote(safe_next(back), safe='/')}"


def hold_challenge(response: Response[Any], challenge: str, config: SessionConfig) -> None:
    response.set_cookie(
        CHALLENGE_COOKIE,
        challenge,
        max_age=CHALLENGE_SECONDS,
        path=CHALLENGE_PATH,
        httponly=True,
        samesite="strict",
        secure=config.cookie_secure,
    )


def drop_challenge(response: Response[Any], config: SessionConfig) -> None:
    response.set_cookie(
        CHALLENGE_COOKIE,
        "",
        max_age=0,
        path=CHALLENGE_PATH,
        httponly=True,
        samesite="strict",
        secure=config.cookie_secure,
    )


def remember_language(response: Response[Any], lang: str) -> None:
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)


async def signed_in_response(
    request: Request[Any, Any, Any],
    accounts: AccountService,
    issued: IssuedToken,
    back: str,
    config: SessionConfig,
) -> Response[Any]:
    """The 303 after a successful sign-in, with the session cookie.  Language: a choice
    made on this device (the language cookie) is kept and saved to the account;
    without one, the account's saved language is this device's from now on."""
    response: Response[Any] = Redirect(back, status_code=303)
    start(response, issued.token, issued.expires_in, config)
    drop_challenge(response, config)
    response.headers["Cache-Control"] = "no-store"
    device = request.cookies.get(LANG_COOKIE)
    if device in LANGUAGES:
        if device != issued.locale:
            principal = await accounts.authenticate(issued.token)
            if principal.owner_id is not None:
                await accounts.set_locale(principal.owner_id, device)
    elif issued.locale in LANGUAGES:
        remember_language(response, issued.locale)
    return response
