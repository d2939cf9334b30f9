"""Bearer-token authentication as Litestar dependencies."""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.deps import Accounts, AnyPrincipal
from api.errors import ApiProblem
from vault import AccountService, Actor, ActorType, Agency, Principal
from vault.errors import AuthenticationFailed

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kho"'}


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def provide_principal(request: Request[Any, Any, Any], accounts: Accounts) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise ApiProblem(401, "unauthorized", "Authentication required", headers=_CHALLENGE)
    try:
        return await accounts.authenticate(token)
    except AuthenticationFailed:
        raise ApiProblem(
            401,
            "invalid-token",
            "The access token is invalid, expired or revoked",
            headers={"WWW-Authenticate": 'Bearer realm="kho", error="invalid_token"'},
        ) from None


async def provide_owner(principal: AnyPrincipal) -> Principal:
    """A citizen's token; agency tokens cannot reach citizens' own routes."""
    if principal.kind != "owner" or principal.owner_id is None:
        raise ApiProblem(
            403,
            "insufficient-scope",
            "This route is for citizens' own tokens",
            headers={"WWW-Authenticate": 'Bearer realm="kho", error="insufficient_scope"'},
        )
    return principal


def require_agency_scope(principal: AnyPrincipal, scope: str) -> Principal:
    # An official acts for their agency with the agency's scopes.
    if principal.kind not in ("agency", "official") or scope not in principal.scopes:
        raise ApiProblem(
            403,
            "insufficient-scope",
            f"This route needs an agency token with scope '{scope}'",
            headers={
                "WWW-Authenticate": f'Bearer realm="kho", error="insufficient_scope", scope="{scope}"'
            },
        )
    return principal


async def agency_with_scope(accounts: AccountService, principal: Principal, scope: str) -> Agency:
    """The calling agency, if its token carries ``scope`` (else 403)."""
    require_agency_scope(principal, scope)
    assert principal.agency_code is not None
    return await accounts.get_agency_by_code(principal.agency_code)


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def owner_actor(principal: AnyPrincipal, request: Request[Any, Any, Any]) -> Actor:
    return Actor(type=ActorType.OWNER, id=str(principal.owner_id), ip=client_ip(request))


def agency_actor(principal: AnyPrincipal, request: Request[Any, Any, Any]) -> Actor:
    if principal.kind == "official":
        return Actor(
            type=ActorType.OFFICIAL,
            id=f"{principal.agency_code}/{principal.official_id}",
            name=f"{principal.official_name} ({principal.agency_name})",
            ip=client_ip(request),
        )
    return Actor(
        type=ActorType.AGENCY,
        id=principal.agency_code,
        name=principal.agency_name,
        ip=client_ip(request),
    )
