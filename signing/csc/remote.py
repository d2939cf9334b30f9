"""A remote CSC v2 provider (``KHO_CSC_URL``): OAuth2 client-credentials tokens and
clients whose calls go through the process's shared ``HttpLoop`` session.

``ClientCredentials`` (RFC 6749, section 4.4) fetches a bearer token from the
provider's token endpoint with HTTP Basic client authentication and keeps it until
shortly before ``expires_in`` runs out; concurrent callers share one fetch.
``RemoteProvider.client(user_id)`` is a ``CscClient`` for the citizen the provider
knows as ``user_id``.

How a citizen is identified to the provider: the client-credentials token is Kho's, the
same for every citizen, so each ``credentials/list`` names the citizen by ``userID``,
which is the citizen's personal ID (số định danh cá nhân, 12 digits) - the identifier
Vietnamese remote-signing providers register their subscribers by.  The credential that
list returns is bound to the signing session; ``credentials/authorize`` then needs that
citizen's PIN and one-time code at the provider, so Kho alone can never sign for them.
A provider with no credential for the personal ID answers an empty list:
``NoRemoteCredential`` (409 ``no-signing-credential``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote_plus

import aiohttp

from signing.csc.client import CscClient
from signing.csc.errors import CscUnavailable
from signing.csc.transport import AiohttpTransport
from signing.http import HttpLoop

TokenSource = Callable[[str], Awaitable[str]]
"""``user -> bearer token`` for calls made on behalf of the citizen ``user``."""


class ClientCredentials:
    """A token from ``token_url`` for ``client_id``/``client_secret``, cached until
    ``margin_seconds`` before it expires (a token without ``expires_in`` is kept for
    ``default_ttl_seconds``).  The token is the same for every user.

    Raises ``CscUnavailable`` when the endpoint cannot be reached or refuses.

    # security: the secret is sent only to ``token_url`` and never logged (``repr``
    # omits it)."""

    def __init__(
        self,
        http: HttpLoop,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        margin_seconds: float = 30.0,
        default_ttl_seconds: float = 300.0,
        timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = token_url
        self._client_id = client_id
        # Note: RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic.
        self._authorization = aiohttp.encode_basic_auth(
            quote_plus(client_id), quote_plus(client_secret)
        )
        self._scope = scope
        self._margin = margin_seconds
        self._default_ttl = default_ttl_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock: asyncio.Lock | None = None
        self.fetches = 0

    def __repr__(self) -> str:
        return f"ClientCredentials({self._url!r}, client_id={self._client_id!r})"

    async def __call__(self, user: str = "") -> str:
        return await self._http.run(self._current)

    async def _current(self, session: aiohttp.ClientSession) -> str:
        # Note: runs on the HttpLoop's loop only, so the lock is created and used there.
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token is None or self._clock() >= self._expires:
                self._token, ttl = await self._fetch(session)
                self._expires = self._clock() + max(0.0, ttl - self._margin)
            return self._token

    async def _fetch(self, session: aiohttp.ClientSession) -> tuple[str, float]:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        self.fetches += 1
        try:
            async with session.post(
                self._url,
                data=form,
                headers={"Authorization": self._authorization},
                timeout=self._timeout,
            ) as response:
                try:
                    body: Any = await response.json(content_type=None)
                except ValueError:
                    body = None
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise CscUnavailable(f"token endpoint: {type(exc).__name__}: {exc}") from None
        if status >= 400 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error", "") if isinstance(body, dict) else ""
            raise CscUnavailable(f"token endpoint answered {status} {error}".rstrip())
        ttl = body.get("expires_in")
        return str(body["access_token"]), float(ttl) if ttl else self._default_ttl


class _LoopTransport:
    """An ``AiohttpTransport`` whose requests run on the ``HttpLoop``."""

    def __init__(
        self, http: HttpLoop, base_url: str, token: Callable[[], Awaitable[str]], timeout: float
    ) -> None:
        self._http = http
        self._base = base_url
        self._token = token
        self._timeout = timeout

    async def post(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        token = await self._token()

        async def call(session: aiohttp.ClientSession) -> dict[str, Any]:
            transport = AiohttpTransport(session, self._base, token, timeout_seconds=self._timeout)
            return await transport.post(path, json)

        return await self._http.run(call)


class RemoteProvider:
    """A CSC v2 provider at ``base_url`` (the part before ``/csc/v2``)."""

    def __init__(
        self, http: HttpLoop, base_url: str, tokens: TokenSource, *, timeout_seconds: float = 30.0
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._timeout = timeout_seconds

    def __repr__(self) -> str:
        return f"RemoteProvider({self.base_url!r})"

    def client(self, user_id: str) -> CscClient:
        """A client acting for the citizen the provider knows as ``user_id`` (their
        personal ID)."""

        async def token() -> str:
            return await self._tokens(user_id)

        transport = _LoopTransport(self._http, self.base_url, token, self._timeout)
        return CscClient(transport, user_id=user_id)
