"""Sign-in, tokens, the citizen's own account, audit and export."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote_plus

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import JSONBody, QueryParameter, URLEncodedBody
from litestar.response import Stream

from api import schemas as s
from api.auth import client_ip, owner_actor, provide_owner
from api.deps import Accounts, AnyPrincipal, Owner, Vault
from api.errors import ApiProblem
from vault.errors import AuthenticationFailed, InvalidInput

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/login", operation_id="Login", status_code=200)
    async def login(
        self, request: Request[Any, Any, Any], accounts: Accounts, data: JSONBody[s.LoginRequest]
    ) -> Response[s.TokenResponse]:
        issued = await accounts.login(
            data.personal_id, data.password, client_ip(request), otp_code=data.otp
        )
        return Response(s.TokenResponse.from_domain(issued), headers=_NO_STORE)

    @post("/auth/logout", operation_id="Logout", status_code=204)
    async def logout(self, accounts: Accounts, principal: AnyPrincipal) -> None:
        await accounts.revoke_token(principal.token_id)

    @post("/oauth/token", operation_id="OAuthToken", status_code=200)
    async def oauth_token(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        data: URLEncodedBody[s.OAuthTokenRequest],
    ) -> Response[s.TokenResponse]:
        """OAuth 2.0 client credentials (RFC 6749 §4.4) for agencies; the client
        authenticates in the body or with HTTP Basic (RFC 6749 §2.3.1).

        Errors are problem+json that also carry RFC 6749's ``error`` member.
        """
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is not None:
            data = msgspec.structs.replace(data, client_id=basic[0], client_secret=basic[1])
        if data.grant_type != "client_credentials":
            raise ApiProblem(
                400,
                "unsupported-grant-type",
                "Only grant_type=client_credentials is supported",
                error="unsupported_grant_type",
            )
        if not data.client_id or not data.client_secret:
            raise ApiProblem(
                401,
                "invalid-client",
                "client_id and client_secret are required",
                error="invalid_client",
            )
        try:
            issued = await accounts.client_credentials(
                data.client_id[:200], data.client_secret[:200], data.scope
            )
        except AuthenticationFailed:
            raise ApiProblem(
                401, "invalid-client", "Client authentication failed", error="invalid_client"
            ) from None
        except InvalidInput as exc:
            raise ApiProblem(400, "invalid-scope", exc.reason, error="invalid_scope") from None
        return Response(s.TokenResponse.from_domain(issued, with_scope=True), headers=_NO_STORE)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` from an HTTP Basic header, each part
    form-urlencoded as RFC 6749 §2.3.1 asks; ``None`` for another or a broken header."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


class MeController(Controller):
    path = "/api/v1"
    tags = ["me"]
    dependencies = {"owner": Provide(provide_owner)}

    @get("/me", operation_id="GetMe")
    async def me(self, accounts: Accounts, vault: Vault, owner: Owner) -> s.Me:
        assert owner.owner_id is not None
        profile = await accounts.get_owner(owner.owner_id)
        return s.Me.from_domain(profile, vault.limits.quota_bytes)

    @get("/audit", operation_id="ListAuditEvents")
    async def audit(
        self,
        vault: Vault,
        owner: Owner,
        before: Annotated[int | None, QueryParameter(ge=1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> s.AuditList:
        """The owner's own events, newest first ("who did what to my data")."""
        assert owner.owner_id is not None
        events = await vault.list_audit(owner.owner_id, limit=limit, before_seq=before)
        return s.AuditList(
            items=[s.AuditEntry.from_domain(e) for e in events],
            next_before=events[-1].seq if len(events) == limit and events[-1].seq > 1 else None,
        )

    @get("/me/export", operation_id="ExportMyData")
    async def export(self, request: Request[Any, Any, Any], vault: Vault, owner: Owner) -> Stream:
        """Everything the owner has as one streamed ZIP: originals, metadata, audit chain."""
        assert owner.owner_id is not None
        chunks = await vault.export(owner.owner_id, owner_actor(owner, request))
        name = f"kho-export-{datetime.now(UTC):%Y%m%d}.zip"
        return Stream(
            chunks,
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    @delete("/me", operation_id="DeleteMyAccount", status_code=200)
    async def delete_me(
        self,
        request: Request[Any, Any, Any],
        vault: Vault,
        owner: Owner,
        data: JSONBody[s.AccountDeleteRequest],
    ) -> s.AccountDeleted:
        """Delete the account after password confirmation; the owner key is destroyed."""
        assert owner.owner_id is not None
        result = await vault.delete_owner(
            owner.owner_id, data.password, owner_actor(owner, request)
        )
        return s.AccountDeleted.from_domain(result)
