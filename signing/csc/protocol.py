"""CSC v2 endpoints over the service: wire request in, wire response out.

``CscEndpoints`` is what both the HTTP controller and the in-process transport call, so
the embedded flow exercises exactly the code a remote client reaches over HTTP.
"""

from __future__ import annotations

from typing import Any

import msgspec

from signing.csc import wire
from signing.csc.errors import InvalidCscRequest
from signing.csc.models import CscCaller
from signing.csc.service import CscService

PATHS = (
    "info",
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "signatures/signHash",
)


class CscEndpoints:
    def __init__(self, service: CscService) -> None:
        self.service = service

    def info(self, req: wire.InfoRequest) -> wire.InfoResponse:
        return wire.info_response(self.service.info())

    async def user_for(self, caller: CscCaller, credential_id: str) -> str:
        """The user a call about ``credential_id`` acts for: the citizen's own token's
        user, or for a relying party the credential's owner (whose PIN and one-time code
        ``credentials/authorize`` still requires).  Raises ``CredentialNotFound``."""
        if caller.user is not None:
            return caller.user
        return await self.service.credential_user(credential_id)

    async def credentials_list(
        self, user: str | None, req: wire.CredentialsListRequest
    ) -> wire.CredentialsListResponse:
        """A citizen's own token decides whose credentials are listed (``userID`` is
        ignored); a relying party names the citizen by ``userID`` and the caller passes
        the user it maps to, ``None`` when that is nobody here (an empty list)."""
        ids = [] if user is None else await self.service.credentials_list(user)
        infos = None
        if req.credential_info and user is not None:
            infos = [
                wire.credential_info_response(
                    await self.service.credentials_info(
                        user,
                        cid,
                        certificates=req.certificates,
                        cert_info=req.cert_info,
                        auth_info=req.auth_info,
                    ),
                    with_id=True,
                )
                for cid in ids
            ]
        return wire.CredentialsListResponse(credential_ids=ids, credential_infos=infos)

    async def credentials_info(
        self, user: str, req: wire.CredentialsInfoRequest
    ) -> wire.CredentialInfoResponse:
        info = await self.service.credentials_info(
            user,
            req.credential_id,
            certificates=req.certificates,
            cert_info=req.cert_info,
            auth_info=req.auth_info,
        )
        return wire.credential_info_response(info)

    async def credentials_authorize(
        self, user: str, req: wire.CredentialsAuthorizeRequest
    ) -> wire.AuthorizeResponse:
        auth = await self.service.credentials_authorize(
            user,
            req.credential_id,
            num_signatures=req.num_signatures,
            hashes=req.hashes,
            hash_algorithm_oid=req.hash_algorithm_oid,
            pin=req.auth_value("PIN"),
            otp=req.auth_value("OTP"),
        )
        return wire.authorize_response(auth)

    async def signatures_sign_hash(
        self, user: str, req: wire.SignHashRequest
    ) -> wire.SignHashResponse:
        signatures = await self.service.signatures_sign_hash(
            user,
            req.credential_id,
            sad=req.sad,
            hashes=req.hashes,
            hash_algorithm_oid=req.hash_algorithm_oid,
            sign_algo=req.sign_algo,
            operation_mode=req.operation_mode,
        )
        return wire.SignHashResponse(signatures=signatures)

    async def dispatch(self, user: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One CSC call by path (``credentials/info`` ...) with a JSON-like body.  Raises
        the service's errors, and ``InvalidCscRequest`` for an unknown path or a body
        that does not fit the path's schema."""
        try:
            if path == "info":
                return wire.to_builtins(self.info(wire.convert(body, wire.InfoRequest)))
            if path == "credentials/list":
                req_l = wire.convert(body, wire.CredentialsListRequest)
                return wire.to_builtins(await self.credentials_list(user, req_l))
            if path == "credentials/info":
                req_i = wire.convert(body, wire.CredentialsInfoRequest)
                return wire.to_builtins(await self.credentials_info(user, req_i))
            if path == "credentials/authorize":
                req_a = wire.convert(body, wire.CredentialsAuthorizeRequest)
                return wire.to_builtins(await self.credentials_authorize(user, req_a))
            if path == "signatures/signHash":
                req_s = wire.convert(body, wire.SignHashRequest)
                return wire.to_builtins(await self.signatures_sign_hash(user, req_s))
        except msgspec.ValidationError as exc:
            raise InvalidCscRequest("body", str(exc)) from None
        raise InvalidCscRequest("path", f"unknown method {path!r}")
