"""How the CSC client reaches a provider: ``CscTransport`` and its implementations.

``InProcessTransport`` calls Kho's embedded service directly (no HTTP hop to itself);
``AiohttpTransport`` posts JSON to a real provider (``KHO_CSC_URL``) with a bearer token
and translates CSC error JSON into ``signing.csc.errors`` at this boundary.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp

from signing.csc.errors import (
    CredentialLocked,
    CredentialNotFound,
    CscError,
    CscRemoteError,
    CscUnavailable,
    InvalidCscRequest,
    InvalidOtp,
    InvalidPin,
    InvalidSad,
)
from signing.csc.protocol import CscEndpoints


class CscTransport(Protocol):
    async def post(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        """POST ``json`` to ``{base}/csc/v2/{path}``; return the decoded answer.
        Raises ``CscError`` subclasses (never a vendor/HTTP exception)."""
        ...


class InProcessTransport:
    """Calls the embedded service as ``user`` (the citizen Kho acts for)."""

    def __init__(self, endpoints: CscEndpoints, user: str) -> None:
        self._endpoints = endpoints
        self._user = user

    async def post(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        return await self._endpoints.dispatch(self._user, path, json)


_REMAINING = re.compile(r"(\d+) attempt")


def _remaining(description: str) -> int | None:
    match = _REMAINING.search(description)
    return int(match.group(1)) if match else None


def error_from_response(status: int, body: Any, credential_id: str) -> CscError:
    """A CSC error answer as the matching domain error (``CscRemoteError`` otherwise)."""
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
    lowered = description.lower()
    if error == "invalid_pin":
        return InvalidPin(credential_id, _remaining(description))
    if error == "invalid_otp":
        return InvalidOtp(credential_id, _remaining(description))
    if error == "credential_locked" or "locked" in lowered:
        return CredentialLocked(credential_id)
    if error == "invalid_request" and "sad" in lowered:
        if "expired" in lowered:
            return InvalidSad("expired")
        if "used" in lowered:
            return InvalidSad("used")
        if "hash" in lowered:
            return InvalidSad("other_hash")
        return InvalidSad("unknown")
    if error == "invalid_request" and "credentialid" in lowered:
        return CredentialNotFound(credential_id)
    if error == "invalid_request":
        return InvalidCscRequest("request", description)
    return CscRemoteError(status, error or "unknown", description)


class AiohttpTransport:
    """A remote CSC v2 provider at ``base_url`` (the part before ``/csc/v2``).

    ``token`` is the bearer token (or a coroutine function returning a fresh one, for an
    OAuth2 client-credentials flow owned by the caller).  ``session`` is reused across
    calls: keep one per process."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        token: str | Callable[[], Awaitable[str]],
        *,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def post(self, path: str, json: dict[str, Any]) -> dict[str, Any]:
        token = self._token if isinstance(self._token, str) else await self._token()
        url = f"{self._base}/csc/v2/{path}"
        try:
            async with self._session.post(
                url,
                json=json,
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
            ) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                if response.status >= 400:
                    raise error_from_response(
                        response.status, body, str(json.get("credentialID", ""))
                    )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise CscUnavailable(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(body, dict):
            raise CscUnavailable(f"{path} answered with something that is not a JSON object")
        return body
