"""Values of the sharing package, handed to the API layer."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import msgspec

from vault import Actor, ActorType, Document, Principal

MAX_TTL_SECONDS = 90 * 24 * 3600
MAX_DOCUMENTS = 50


class ShareStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"


class NewShare(msgspec.Struct, frozen=True, kw_only=True):
    document_ids: list[UUID]
    expires_at: datetime
    purpose: str = ""
    max_uses: int | None = None
    audience_agency: str | None = None  # None: anyone with the link
    password: str | None = None

    def __repr__(self) -> str:  # security: keep the password out of logs
        return f"NewShare(documents={len(self.document_ids)}, expires_at={self.expires_at})"


class Share(msgspec.Struct, frozen=True, kw_only=True):
    """A share as its owner sees it."""

    id: UUID
    document_ids: list[UUID]
    purpose: str
    audience: str  # "anyone" | "agency"
    audience_agency: str | None
    expires_at: datetime
    max_uses: int | None
    use_count: int
    status: ShareStatus
    has_password: bool
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    request_id: UUID | None


class CreatedShare(msgspec.Struct, frozen=True, kw_only=True):
    share: Share
    token: str  # shown once, stored only as its SHA-256

    def __repr__(self) -> str:
        return f"CreatedShare(id={self.share.id}, token='***')"


class Viewer(msgspec.Struct, frozen=True, kw_only=True):
    """Who opens a share: ``agency_id`` is set for an agency's client or official."""

    actor: Actor
    agency_id: UUID | None = None


ANYONE = "anyone with the link"


def viewer_for(principal: Principal | None, ip: str | None) -> Viewer:
    """Who is opening a share, as the audit log names them: an official (with their
    agency), an agency's client, or anyone with the link (a citizen's own token counts
    as anyone: the link, not the account, is what opens it)."""
    if principal is None or principal.kind == "owner":
        return Viewer(actor=Actor(type=ActorType.ANYONE, name=ANYONE, ip=ip))
    if principal.kind == "official":
        return Viewer(
            actor=Actor(
                type=ActorType.OFFICIAL,
                id=f"{principal.agency_code}/{principal.official_id}",
                name=f"{principal.official_name} ({principal.agency_name})",
                ip=ip,
            ),
            agency_id=principal.agency_id,
        )
    return Viewer(
        actor=Actor(
            type=ActorType.AGENCY, id=principal.agency_code, name=principal.agency_name, ip=ip
        ),
        agency_id=principal.agency_id,
    )


class SharedView(msgspec.Struct, frozen=True, kw_only=True):
    """What an opening of a share shows: the share's public facts and its documents
    that still exist; ``grant`` lets the same viewer fetch them without another use."""

    share_id: UUID
    owner_id: UUID  # for the API layer's verification lookups; never shown
    purpose: str
    audience: str
    audience_agency: str | None
    expires_at: datetime
    max_uses: int | None
    use_count: int
    documents: list[Document]
    grant: str | None
    grant_expires_at: datetime | None

    def __repr__(self) -> str:
        return f"SharedView(share_id={self.share_id}, documents={len(self.documents)})"


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


class ConsentRequest(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    agency_code: str
    agency_name: str
    owner_id: UUID
    personal_id: str
    doc_types: list[str]
    purpose: str
    status: RequestStatus
    expires_at: datetime
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None
    share_id: UUID | None
    document_ids: list[UUID]  # what the approval shared (still existing ones)


class Suggestion(msgspec.Struct, frozen=True, kw_only=True):
    doc_type: str
    document: Document | None


class AccessEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One access to the owner's data by someone else, from the audit chain."""

    id: UUID
    at: datetime
    action: str
    actor: Actor
    document_id: UUID | None
    document_title: str | None
    share_id: str | None
    request_id: str | None
    purpose: str | None
    seq: int
