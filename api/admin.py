"""The trust registry's admin API: what ``kho registry …`` does, over HTTP, for operators
holding a token from ``kho admin token create`` (scope ``admin``).  Every change goes
through the same ``RegistryService`` as the CLI, so it bumps the registry version."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, Request, delete, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from api.auth import bearer_token
from api.deps import Accounts, OperatorDep, OperatorTokensDep, RegistryServiceDep
from api.errors import ApiProblem
from api.schemas import admin as s
from vault.errors import AuthenticationFailed, InvalidInput
from verification.operators import ADMIN, Operator
from verification.registry import IssuerMatch
from verification.registry_db import UnknownDocumentType, UnknownIssuer, load_certificate

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kho-admin"'}
log = structlog.get_logger("kho.admin")


async def _changed(registry: Any, operator: Operator, what: str, target: str) -> int:
    """The version after a change, logged with who made it (never the token)."""
    version: int = await registry.version()
    log.info(
        "registry_changed",
        operator=operator.name,
        operator_token=str(operator.token_id),
        change=what,
        target=target,
        version=version,
    )
    return version


async def provide_operator(
    request: Request[Any, Any, Any], operator_tokens: OperatorTokensDep, accounts: Accounts
) -> Operator:
    """An operator token with scope ``admin``: 401 without a valid token, 403 for a valid
    token of anyone else (a citizen, an agency, an official)."""
    token = bearer_token(request)
    if token is None:
        raise ApiProblem(401, "unauthorized", "Authentication required", headers=_CHALLENGE)
    operator = await operator_tokens.authenticate(token)
    if operator is not None and ADMIN in operator.scopes:
        return operator
    if operator is None:
        try:
            await accounts.authenticate(token)
        except AuthenticationFailed:
            raise ApiProblem(
                401,
                "invalid-token",
                "The access token is invalid, expired or revoked",
                headers={"WWW-Authenticate": 'Bearer realm="kho-admin", error="invalid_token"'},
            ) from None
    raise ApiProblem(
        403,
        "insufficient-scope",
        "This route is for operators (scope admin)",
        headers={"WWW-Authenticate": 'Bearer realm="kho-admin", error="insufficient_scope"'},
    )


def _doc_types(codes: list[str]) -> list[str]:
    if len(codes) > 100 or any(not isinstance(c, str) or not c for c in codes):
        raise InvalidInput("doc_types", "must be up to 100 document type codes")
    return codes


class AdminRegistryController(Controller):
    path = "/api/v1/admin/registry"
    tags = ["admin"]
    dependencies = {"operator": Provide(provide_operator)}

    @get("/version", operation_id="GetRegistryVersion")
    async def version(
        self, registry_service: RegistryServiceDep, operator: OperatorDep
    ) -> s.RegistryVersion:
        """The registry version (bumped by every change)."""
        return s.RegistryVersion(version=await registry_service.version())

    # -- anchors ------------------------------------------------------------------------

    @get("/anchors", operation_id="ListRegistryAnchors")
    async def list_anchors(
        self, registry_service: RegistryServiceDep, operator: OperatorDep
    ) -> s.AnchorList:
        """Trust anchors and intermediates, as ``kho registry anchors list``."""
        anchors = await registry_service.list_anchors()
        return s.AnchorList(
            items=[s.AnchorOut.from_domain(a) for a in anchors],
            version=await registry_service.version(),
        )

    @post("/anchors", operation_id="AddRegistryAnchor", status_code=201)
    async def add_anchor(
        self,
        registry_service: RegistryServiceDep,
        operator: OperatorDep,
        data: JSONBody[s.AnchorCreate],
    ) -> s.AnchorCreated:
        """Trust a CA certificate (PEM); 422 ``invalid-certificate``, 409 if present."""
        anchor = await registry_service.add_anchor(
            data.name, data.pem.encode("utf-8", "replace"), role=data.role
        )
        return s.AnchorCreated(
            anchor=s.AnchorOut.from_domain(anchor),
            version=await _changed(registry_service, operator, "anchor_added", anchor.fingerprint),
        )

    @delete("/anchors/{fingerprint:str}", operation_id="RemoveRegistryAnchor", status_code=200)
    async def remove_anchor(
        self,
        registry_service: RegistryServiceDep,
        operator: OperatorDep,
        fingerprint: FromPath[str],
    ) -> s.RegistryVersion:
        """Stop trusting the certificate with this SHA-256 fingerprint (hex)."""
        await registry_service.remove_anchor(fingerprint)
        return s.RegistryVersion(
            version=await _changed(registry_service, operator, "anchor_removed", fingerprint)
        )

    # -- issuers ------------------------------------------------------------------------

    @get("/issuers", operation_id="ListRegistryIssuers")
    async def list_issuers(
        self, registry_service: RegistryServiceDep, operator: OperatorDep
    ) -> s.IssuerList:
        """Issuers, what identifies their certificates and what they may issue."""
        issuers = await registry_service.list_issuers()
        return s.IssuerList(
            items=[s.IssuerOut.from_domain(i) for i in issuers],
            version=await registry_service.version(),
        )

    @post("/issuers", operation_id="AddRegistryIssuer", status_code=201)
    async def add_issuer(
        self,
        registry_service: RegistryServiceDep,
        operator: OperatorDep,
        data: JSONBody[s.IssuerCreate],
    ) -> s.IssuerCreated:
        """Register an issuer by the CA that issues its seals (``issued_by_ca_pem`` and
        ``ou``) or by explicit ``matches``; 409 if the code exists, 422 for an unknown
        document type or a match that ties the issuer to no CA or certificate."""
        try:
            matches = [
                IssuerMatch(
                    certificate_sha256=m.certificate_sha256,
                    issued_by_sha256=m.issued_by_sha256,
                    subject=m.subject,
                )
                for m in data.matches
            ]
            if data.issued_by_ca_pem is not None:
                ca = load_certificate(data.issued_by_ca_pem.encode("utf-8", "replace"))
                subject = {"organizational_unit_name": data.ou} if data.ou else {}
                matches.append(IssuerMatch.issued_by(ca, **subject))
        except ValueError as exc:
            raise InvalidInput("matches", str(exc)) from None
        if not matches:
            raise InvalidInput("matches", "give issued_by_ca_pem or at least one match")
        try:
            issuer = await registry_service.add_issuer(
                data.code, data.name, matches, _doc_types(data.doc_types)
            )
        except UnknownDocumentType as exc:
            raise InvalidInput("doc_types", f"unknown document type {exc.code!r}") from None
        return s.IssuerCreated(
            issuer=s.IssuerOut.from_domain(issuer),
            version=await _changed(registry_service, operator, "issuer_added", issuer.code),
        )

    @delete("/issuers/{code:str}", operation_id="RemoveRegistryIssuer", status_code=200)
    async def remove_issuer(
        self, registry_service: RegistryServiceDep, operator: OperatorDep, code: FromPath[str]
    ) -> s.RegistryVersion:
        """Remove an issuer and its authorizations."""
        await registry_service.remove_issuer(code)
        return s.RegistryVersion(
            version=await _changed(registry_service, operator, "issuer_removed", code)
        )

    # -- document types -----------------------------------------------------------------

    @get("/types", operation_id="ListRegistryDocumentTypes")
    async def list_types(
        self, registry_service: RegistryServiceDep, operator: OperatorDep
    ) -> s.DocumentTypeList:
        """The document type catalogue."""
        types = await registry_service.list_document_types()
        return s.DocumentTypeList(
            items=[s.DocumentTypeOut.from_domain(t) for t in types],
            version=await registry_service.version(),
        )

    @post("/types", operation_id="AddRegistryDocumentType", status_code=201)
    async def add_type(
        self,
        registry_service: RegistryServiceDep,
        operator: OperatorDep,
        data: JSONBody[s.DocumentTypeCreate],
    ) -> s.DocumentTypeChanged:
        """Add a document type (code, Vietnamese and English names)."""
        t = await registry_service.add_document_type(data.code, data.name_vi, data.name_en)
        return s.DocumentTypeChanged(
            document_type=s.DocumentTypeOut.from_domain(t),
            version=await _changed(registry_service, operator, "document_type_added", t.code),
        )

    @put("/types/{code:str}", operation_id="RenameRegistryDocumentType")
    async def rename_type(
        self,
        registry_service: RegistryServiceDep,
        operator: OperatorDep,
        code: FromPath[str],
        data: JSONBody[s.DocumentTypeRename],
    ) -> s.DocumentTypeChanged:
        """Change a document type's names."""
        t = await registry_service.rename_document_type(
            code, name_vi=data.name_vi, name_en=data.name_en
        )
        return s.DocumentTypeChanged(
            document_type=s.DocumentTypeOut.from_domain(t),
            version=await _changed(registry_service, operator, "document_type_renamed", t.code),
        )

    @delete("/types/{code:str}", operation_id="RemoveRegistryDocumentType", status_code=200)
    async def remove_type(
        self, registry_service: RegistryServiceDep, operator: OperatorDep, code: FromPath[str]
    ) -> s.RegistryVersion:
        """Remove a document type no issuer is authorized for (409 otherwise)."""
        await registry_service.remove_document_type(code)
        return s.RegistryVersion(
            version=await _changed(registry_service, operator, "document_type_removed", code)
        )

    # -- authorizations -----------------------------------------------------------------

    @post("/authorizations", operation_id="AllowIssuerDocumentType", status_code=200)
    async def allow(
        self,
        registry_service: RegistryServiceDep,
        operator: OperatorDep,
        data: JSONBody[s.Authorization],
    ) -> s.AuthorizationChanged:
        """Let ``issuer`` issue ``doc_type`` (as ``kho registry allow``); 422 when
        either does not exist."""
        try:
            changed = await registry_service.allow(data.issuer, data.doc_type)
        except UnknownIssuer:
            raise InvalidInput("issuer", f"no issuer {data.issuer!r}") from None
        except UnknownDocumentType:
            raise InvalidInput("doc_type", f"no document type {data.doc_type!r}") from None
        return s.AuthorizationChanged(
            issuer=data.issuer,
            doc_type=data.doc_type,
            allowed=True,
            changed=changed,
            version=await _changed(
                registry_service,
                operator,
                "authorization_allowed",
                f"{data.issuer}:{data.doc_type}",
            ),
        )

    @delete(
        "/authorizations/{issuer:str}/{doc_type:str}",
        operation_id="DenyIssuerDocumentType",
        status_code=200,
    )
    async def deny(
        self,
        registry_service: RegistryServiceDep,
        operator: OperatorDep,
        issuer: FromPath[str],
        doc_type: FromPath[str],
    ) -> s.AuthorizationChanged:
        """Stop ``issuer`` issuing ``doc_type`` (as ``kho registry deny``)."""
        changed = await registry_service.deny(issuer, doc_type)
        return s.AuthorizationChanged(
            issuer=issuer,
            doc_type=doc_type,
            allowed=False,
            changed=changed,
            version=await _changed(
                registry_service, operator, "authorization_denied", f"{issuer}:{doc_type}"
            ),
        )

    # -- revocation URLs ----------------------------------------------------------------

    @get("/revocation-urls", operation_id="ListRegistryRevocationUrls")
    async def list_urls(
        self, registry_service: RegistryServiceDep, operator: OperatorDep
    ) -> s.RevocationUrls:
        """The allow-list: CRL URLs and OCSP responders of the registry's own CAs."""
        return s.RevocationUrls(
            crl=await registry_service.list_revocation_urls("crl"),
            ocsp=await registry_service.list_revocation_urls("ocsp"),
            version=await registry_service.version(),
        )

    @post("/revocation-urls", operation_id="AddRegistryRevocationUrl", status_code=200)
    async def add_url(
        self,
        registry_service: RegistryServiceDep,
        operator: OperatorDep,
        data: JSONBody[s.RevocationUrlCreate],
    ) -> s.RevocationUrlChanged:
        """Allow a CRL URL or an OCSP responder (``changed`` false if it already was)."""
        changed = await registry_service.add_revocation_url(data.url, data.kind)
        return s.RevocationUrlChanged(
            url=data.url,
            changed=changed,
            version=await _changed(registry_service, operator, "revocation_url_added", data.url),
        )

    @delete("/revocation-urls", operation_id="RemoveRegistryRevocationUrl", status_code=200)
    async def remove_url(
        self, registry_service: RegistryServiceDep, operator: OperatorDep, url: FromQuery[str]
    ) -> s.RevocationUrlChanged:
        """Stop contacting ``?url=``."""
        await registry_service.remove_revocation_url(url)
        return s.RevocationUrlChanged(
            url=url,
            changed=True,
            version=await _changed(registry_service, operator, "revocation_url_removed", url),
        )
