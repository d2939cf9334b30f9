"""Kho's embedded CSC API v2 provider over HTTP, at ``/csc/v2``.

Thin: each route parses a CSC v2 body (``signing.csc.wire``), calls one
``CscEndpoints`` method and returns its body.  Errors answer in the CSC shape
``{"error": ..., "error_description": ...}`` through ``CSC_EXCEPTION_HANDLERS`` (set
on the controller, so the app-wide problem+json table does not apply here).

Dependencies (by name, provided by ``kho/``): ``csc`` (a ``CscEndpoints``) and
``csc_auth`` (a ``CscAuth`` that maps the client's bearer token to a caller: a citizen,
or a relying party such as another Kho, which names citizens by ``userID``).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias, runtime_checkable

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import JSONBody

from signing.csc import (
    CredentialLocked,
    CredentialNotFound,
    CscCaller,
    CscEndpoints,
    CscError,
    InvalidCscRequest,
    InvalidOtp,
    InvalidPin,
    InvalidSad,
    wire,
)


@runtime_checkable
class CscAuth(Protocol):
    async def caller_for_token(self, token: str) -> CscCaller | None:
        """Who a bearer token stands for (a citizen, or a relying party acting for
        citizens), or ``None`` for an unknown/expired one."""
        ...

    async def user_for_id(self, user_id: str) -> str | None:
        """The user a relying party's ``userID`` names (Kho: the personal ID), or
        ``None`` when nobody here has it."""
        ...


Csc: TypeAlias = NamedDependency[CscEndpoints]
CscAuthDep: TypeAlias = NamedDependency[CscAuth]
Caller: TypeAlias = NamedDependency[CscCaller]


class CscUnauthorized(Exception):
    """No bearer token, or one ``CscAuth`` does not know."""


async def provide_csc_caller(request: Request[Any, Any, Any], csc_auth: CscAuthDep) -> CscCaller:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise CscUnauthorized()
    caller = await csc_auth.caller_for_token(token.strip())
    if caller is None:
        raise CscUnauthorized()
    return caller


_SAD_DESCRIPTIONS = {
    "unknown": "Invalid parameter SAD",
    "used": "Invalid parameter SAD: the SAD was already used",
    "expired": "SAD expired",
    "other_hash": "Invalid parameter SAD: not valid for these hashes",
    "other_credential": "Invalid parameter SAD: not valid for this credential",
}


def _attempts(remaining: int | None) -> str:
    return "" if remaining is None else f"; {remaining} attempt(s) left"


def csc_error(exc: CscError) -> tuple[int, str, str]:
    """``(HTTP status, CSC error, error_description)`` for a domain error."""
    if isinstance(exc, CredentialNotFound):
        return 400, "invalid_request", "Invalid parameter credentialID"
    if isinstance(exc, InvalidCscRequest):
        return 400, "invalid_request", f"Invalid parameter {exc.parameter}: {exc.detail}"
    if isinstance(exc, InvalidPin):
        return 400, "invalid_pin", f"The PIN is invalid{_attempts(exc.remaining_attempts)}"
    if isinstance(exc, InvalidOtp):
        return 400, "invalid_otp", f"The OTP is invalid{_attempts(exc.remaining_attempts)}"
    if isinstance(exc, CredentialLocked):
        return 403, "access_denied", "The credential is locked"
    if isinstance(exc, InvalidSad):
        return 400, "invalid_request", _SAD_DESCRIPTIONS[exc.problem]
    return 500, "server_error", "The service could not process the request"


def _json(status: int, error: str, description: str, **headers: str) -> Response[Any]:
    return Response(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _csc_handler(_: Request[Any, Any, Any], exc: CscError) -> Response[Any]:
    return _json(*csc_error(exc))


def _unauthorized(_: Request[Any, Any, Any], __: CscUnauthorized) -> Response[Any]:
    return _json(
        401,
        "invalid_token",
        "Missing or invalid access token",
        **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _invalid_body(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return _json(400, "invalid_request", f"Invalid request: {exc.detail}")


CSC_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    CscError: _csc_handler,
    CscUnauthorized: _unauthorized,
    ValidationException: _invalid_body,
}


class CscController(Controller):
    path = "/csc/v2"
    tags = ["csc"]
    dependencies = {"csc_caller": Provide(provide_csc_caller)}
    exception_handlers = CSC_EXCEPTION_HANDLERS

    @post("/info", operation_id="CscInfo", status_code=200)
    async def info(self, csc: Csc) -> wire.InfoResponse:
        """The service's description; no token needed (any request body is ignored)."""
        return csc.info(wire.InfoRequest())

    @post("/credentials/list", operation_id="CscCredentialsList", status_code=200)
    async def credentials_list(
        self,
        csc: Csc,
        csc_auth: CscAuthDep,
        csc_caller: Caller,
        data: JSONBody[wire.CredentialsListRequest],
    ) -> wire.CredentialsListResponse:
        """A citizen's credentials; a relying party names the citizen by ``userID``."""
        user = csc_caller.user
        if user is None:
            if not data.user_id:
                raise InvalidCscRequest("userID", "required with a client-credentials token")
            user = await csc_auth.user_for_id(data.user_id)
        return await csc.credentials_list(user, data)

    @post("/credentials/info", operation_id="CscCredentialsInfo", status_code=200)
    async def credentials_info(
        self, csc: Csc, csc_caller: Caller, data: JSONBody[wire.CredentialsInfoRequest]
    ) -> wire.CredentialInfoResponse:
        return await csc.credentials_info(await csc.user_for(csc_caller, data.credential_id), data)

    @post("/credentials/authorize", operation_id="CscCredentialsAuthorize", status_code=200)
    async def credentials_authorize(
        self, csc: Csc, csc_caller: Caller, data: JSONBody[wire.CredentialsAuthorizeRequest]
    ) -> wire.AuthorizeResponse:
        return await csc.credentials_authorize(
            await csc.user_for(csc_caller, data.credential_id), data
        )

    @post("/signatures/signHash", operation_id="CscSignHash", status_code=200)
    async def sign_hash(
        self, csc: Csc, csc_caller: Caller, data: JSONBody[wire.SignHashRequest]
    ) -> wire.SignHashResponse:
        user = await csc.user_for(csc_caller, data.credential_id)
        return await csc.signatures_sign_hash(user, data)
