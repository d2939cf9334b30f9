"""Domain values of the vault: frozen structs handed across package boundaries."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class Provenance(enum.StrEnum):
    ISSUED = "issued"
    CERTIFIED_COPY = "certified_copy"
    CITIZEN_SIGNED = "citizen_signed"
    UPLOADED = "uploaded"


class IssuerStatus(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class OwnerStatus(enum.StrEnum):
    ACTIVE = "active"
    UNCLAIMED = "unclaimed"
    DELETED = "deleted"


class ActorType(enum.StrEnum):
    OWNER = "owner"
    AGENCY = "agency"
    OFFICIAL = "official"
    ANYONE = "anyone"
    SYSTEM = "system"
    OPERATOR = "operator"


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who does something, as recorded in the audit log."""

    type: ActorType
    id: str | None = None
    name: str | None = None
    ip: str | None = None


class Owner(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    personal_id: str
    name: str
    status: OwnerStatus
    used_bytes: int
    locale: str
    created_at: datetime
    # the one-time code at sign-in is on
    second_factor: bool = False


class SecondFactorSetup(msgspec.Struct, frozen=True, kw_only=True):
    """The one-time view of a sign-in code secret being enrolled: for the
    authenticator app, by hand (``secret``, base32) or as a QR code (``uri``)."""

    secret: str
    uri: str

    def __repr__(self) -> str:  # security: keep the secret out of logs
        return "SecondFactorSetup(secret='***')"


class Agency(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    code: str
    name: str
    client_id: str
    scopes: frozenset[str]
    created_at: datetime


class AgencyCredentials(msgspec.Struct, frozen=True, kw_only=True):
    agency: Agency
    client_secret: str  # shown once, stored only as a hash

    def __repr__(self) -> str:  # security: keep the secret out of logs and tracebacks
        return f"AgencyCredentials(agency={self.agency.code!r}, client_secret='***')"


class Document(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    owner_id: UUID
    title: str
    doc_type: str | None
    provenance: Provenance
    content_type: str
    filename: str
    size: int
    sha256: str
    issuer_agency_id: UUID | None
    issuer_agency_code: str | None
    issuer_agency_name: str | None
    issuer_status: IssuerStatus | None
    legal_hold: bool
    created_at: datetime
    source_document_id: UUID | None = None
    status_reason: str | None = None
    superseded_by_id: UUID | None = None
    status_changed_at: datetime | None = None
    verification_code: str | None = None


class DocumentPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Document]
    next_cursor: str | None


class DocumentFilter(msgspec.Struct, frozen=True, kw_only=True):
    doc_type: str | None = None
    provenance: Provenance | None = None
    q: str | None = None


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    owner_id: UUID
    seq: int
    at: datetime
    actor: Actor
    action: str
    document_id: UUID | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Whoever a bearer token stands for."""

    kind: str  # "owner" | "agency" | "official"
    token_id: UUID
    owner_id: UUID | None = None
    agency_id: UUID | None = None
    agency_code: str | None = None
    agency_name: str | None = None
    scopes: frozenset[str] = frozenset()
    # an official (a person working for the agency): acts with the agency's scopes
    official_id: UUID | None = None
    official_name: str | None = None


class Official(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    agency_code: str
    username: str
    name: str
    active: bool
    created_at: datetime


class IssuedToken(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    expires_in: int
    scopes: frozenset[str]
    # a citizen's saved language (their pages follow it on a new device)
    locale: str | None = None

    def __repr__(self) -> str:  # security: keep the token out of logs
        return f"IssuedToken(expires_in={self.expires_in}, token='***')"


class CodeLookup(msgspec.Struct, frozen=True, kw_only=True):
    """What a verification code tells anyone holding it: enough to check a printed copy
    or the file itself, nothing else of the citizen."""

    code: str
    doc_type: str | None
    provenance: Provenance
    issuer_agency_code: str | None
    issuer_agency_name: str | None
    issuer_status: IssuerStatus | None
    status_reason: str | None
    superseded_by_code: str | None
    issued_at: datetime
    sha256: str
    size: int


class AccountDeletion(msgspec.Struct, frozen=True, kw_only=True):
    documents_deleted: int
    documents_kept: list[Document]


class VaultLimits(msgspec.Struct, frozen=True, kw_only=True):
    max_upload_bytes: int = 50 * 1024 * 1024
    quota_bytes: int = 1024 * 1024 * 1024
    token_ttl_seconds: int = 3600
    agency_token_ttl_seconds: int = 900
    segment_size: int = 256 * 1024
