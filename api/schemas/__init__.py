"""Wire schemas: request and response structs, converted explicitly from domain values."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from vault import AccountDeletion, AuditEvent, IssuedToken, Owner
from vault import Document as DomainDocument
from vault.models import CodeLookup

PersonalId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="12 digits")]


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    personal_id: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    # the one-time code, for an account that turned it on (401 otp-required without it)
    otp: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    scope: str | None = None

    @classmethod
    def from_domain(cls, issued: IssuedToken, *, with_scope: bool = False) -> TokenResponse:
        return cls(
            access_token=issued.token,
            token_type="bearer",  # noqa: S106 — the OAuth token type, not a secret
            expires_in=issued.expires_in,
            scope=" ".join(sorted(issued.scopes)) if with_scope else None,
        )


class OAuthTokenRequest(msgspec.Struct, kw_only=True):
    grant_type: str
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


class Document(msgspec.Struct, kw_only=True):
    id: UUID
    title: str
    doc_type: str | None
    provenance: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    filename: str
    issuer: dict[str, str] | None = None
    issuer_status: str | None = None
    legal_hold: bool = False
    source_document_id: UUID | None = None
    status_reason: str | None = None
    superseded_by: UUID | None = None
    status_changed_at: datetime | None = None
    verification_code: str | None = None
    links: dict[str, str] = msgspec.field(default_factory=dict)

    @classmethod
    def from_domain(cls, d: DomainDocument) -> Document:
        return cls(
            id=d.id,
            title=d.title,
            doc_type=d.doc_type,
            provenance=str(d.provenance),
            content_type=d.content_type,
            size=d.size,
            sha256=d.sha256,
            created_at=d.created_at,
            filename=d.filename,
            issuer=(
                {"code": d.issuer_agency_code, "name": d.issuer_agency_name or ""}
                if d.issuer_agency_code
                else None
            ),
            issuer_status=str(d.issuer_status) if d.issuer_status else None,
            legal_hold=d.legal_hold,
            source_document_id=d.source_document_id,
            status_reason=d.status_reason,
            superseded_by=d.superseded_by_id,
            status_changed_at=d.status_changed_at,
            verification_code=d.verification_code,
            links={
                "self": f"/api/v1/documents/{d.id}",
                "content": f"/api/v1/documents/{d.id}/content",
                "verification": f"/api/v1/documents/{d.id}/verification",
                **(
                    {"verify_code": f"/api/v1/verify/{d.verification_code}"}
                    if d.verification_code
                    else {}
                ),
            },
        )


class Deposit(Document, kw_only=True):
    personal_id: str = ""
    # proof of delivery: a compact JWS by Kho's service seal over deposit id, personal
    # ID, document type, SHA-256 and time (certificate chain in its x5c header)
    receipt: str | None = None

    @classmethod
    def for_citizen(
        cls, d: DomainDocument, personal_id: str, *, receipt: str | None = None
    ) -> Deposit:
        base = Document.from_domain(d)
        return cls(
            **{f: getattr(base, f) for f in Document.__struct_fields__},
            personal_id=personal_id,
            receipt=receipt,
        )


class RevokeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class SupersedeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    superseded_by: UUID
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class DocumentList(msgspec.Struct, kw_only=True):
    items: list[Document]
    next_cursor: str | None


class AuditEntry(msgspec.Struct, kw_only=True):
    id: UUID
    seq: int
    at: datetime
    action: str
    actor: dict[str, Any]
    document_id: UUID | None
    detail: dict[str, Any]
    hash: str
    prev_hash: str

    @classmethod
    def from_domain(cls, e: AuditEvent) -> AuditEntry:
        actor: dict[str, Any] = {"type": str(e.actor.type)}
        if e.actor.id:
            actor["id"] = e.actor.id
        if e.actor.name:
            actor["name"] = e.actor.name
        if e.actor.ip:
            actor["ip"] = e.actor.ip
        return cls(
            id=e.id,
            seq=e.seq,
            at=e.at,
            action=e.action,
            actor=actor,
            document_id=e.document_id,
            detail=e.detail,
            hash=e.hash,
            prev_hash=e.prev_hash,
        )


class AuditList(msgspec.Struct, kw_only=True):
    items: list[AuditEntry]
    next_before: int | None


class Me(msgspec.Struct, kw_only=True):
    id: UUID
    personal_id: str
    name: str
    used_bytes: int
    quota_bytes: int
    created_at: datetime

    @classmethod
    def from_domain(cls, o: Owner, quota: int) -> Me:
        return cls(
            id=o.id,
            personal_id=o.personal_id,
            name=o.name,
            used_bytes=o.used_bytes,
            quota_bytes=quota,
            created_at=o.created_at,
        )


class AccountDeleteRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class AccountDeleted(msgspec.Struct, kw_only=True):
    deleted: bool
    documents_deleted: int
    documents_kept: list[Document]
    note: str | None

    @classmethod
    def from_domain(cls, d: AccountDeletion) -> AccountDeleted:
        return cls(
            deleted=True,
            documents_deleted=d.documents_deleted,
            documents_kept=[Document.from_domain(x) for x in d.documents_kept],
            note=(
                "Papers under an agency's legal hold are kept by law; the issuing agency "
                "remains responsible for them."
                if d.documents_kept
                else None
            ),
        )


class CodeAnswer(msgspec.Struct, kw_only=True):
    """What a verification code tells anyone: status, issuer, type, issue date and the
    SHA-256 to compare with a file in hand; nothing else of the citizen."""

    code: str
    status: str | None
    status_reason: str | None
    superseded_by_code: str | None
    issuer: dict[str, str] | None
    doc_type: str | None
    provenance: str
    issued_at: datetime
    sha256: str
    size: int

    @classmethod
    def from_domain(cls, c: CodeLookup) -> CodeAnswer:
        return cls(
            code=c.code,
            status=str(c.issuer_status) if c.issuer_status else None,
            status_reason=c.status_reason,
            superseded_by_code=c.superseded_by_code,
            issuer=(
                {"code": c.issuer_agency_code, "name": c.issuer_agency_name or ""}
                if c.issuer_agency_code
                else None
            ),
            doc_type=c.doc_type,
            provenance=str(c.provenance),
            issued_at=c.issued_at,
            sha256=c.sha256,
            size=c.size,
        )


class Health(msgspec.Struct, kw_only=True):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)
