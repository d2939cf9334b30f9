"""Wire schemas of sharing: share links, shared views, consent requests, access log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas import Document
from sharing.models import AccessEntry, ConsentRequest, Share, Suggestion
from verification import VerificationReport

Purpose = Annotated[str, msgspec.Meta(max_length=2000)]


class ShareCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    document_ids: Annotated[list[UUID], msgspec.Meta(max_length=1000)]
    expires_at: datetime | None = None
    ttl_seconds: int | None = None
    max_uses: int | None = None
    # "anyone", or {"agency": CODE}
    audience: str | dict[str, str] = "anyone"
    purpose: Purpose = ""
    password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


class ShareOut(msgspec.Struct, kw_only=True):
    id: UUID
    document_ids: list[UUID]
    purpose: str
    audience: str | dict[str, str]
    expires_at: datetime
    max_uses: int | None
    use_count: int
    status: str
    has_password: bool
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    request_id: UUID | None

    @classmethod
    def from_domain(cls, s: Share) -> ShareOut:
        return cls(
            id=s.id,
            document_ids=s.document_ids,
            purpose=s.purpose,
            audience={"agency": s.audience_agency} if s.audience_agency else "anyone",
            expires_at=s.expires_at,
            max_uses=s.max_uses,
            use_count=s.use_count,
            status=str(s.status),
            has_password=s.has_password,
            created_at=s.created_at,
            revoked_at=s.revoked_at,
            last_used_at=s.last_used_at,
            request_id=s.request_id,
        )


class ShareCreated(ShareOut, kw_only=True):
    url: str
    token: str
    qr_svg: str
    qr_png_url: str


class ShareList(msgspec.Struct, kw_only=True):
    items: list[ShareOut]


class SharedDocument(Document, kw_only=True):
    content_url: str = ""
    verification: VerificationReport | None = None


class SharedView(msgspec.Struct, kw_only=True):
    share_id: UUID
    purpose: str
    audience: str | dict[str, str]
    expires_at: datetime
    max_uses: int | None
    use_count: int
    documents: list[SharedDocument]
    # lets the same viewer fetch the documents without spending more uses
    grant: str | None
    grant_expires_at: datetime | None


class ShareUnlock(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class RequestCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    personal_id: Annotated[str, msgspec.Meta(max_length=64)]
    doc_types: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=100)
    ]
    purpose: Purpose
    expires_at: datetime


class SuggestionOut(msgspec.Struct, kw_only=True):
    doc_type: str
    document: Document | None

    @classmethod
    def from_domain(cls, s: Suggestion) -> SuggestionOut:
        return cls(
            doc_type=s.doc_type,
            document=Document.from_domain(s.document) if s.document else None,
        )


class RequestOut(msgspec.Struct, kw_only=True):
    id: UUID
    agency: dict[str, str]
    doc_types: list[str]
    purpose: str
    status: str
    expires_at: datetime
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None
    share_id: UUID | None
    document_ids: list[UUID]
    suggestions: list[SuggestionOut] | None = None
    personal_id: str | None = None
    documents: list[SharedDocument] | None = None

    @classmethod
    def from_domain(
        cls,
        r: ConsentRequest,
        *,
        suggestions: list[Suggestion] | None = None,
        for_agency: bool = False,
    ) -> RequestOut:
        return cls(
            id=r.id,
            agency={"code": r.agency_code, "name": r.agency_name},
            doc_types=r.doc_types,
            purpose=r.purpose,
            status=str(r.status),
            expires_at=r.expires_at,
            created_at=r.created_at,
            decided_at=r.decided_at,
            decision_note=r.decision_note,
            share_id=r.share_id,
            document_ids=r.document_ids,
            suggestions=(
                [SuggestionOut.from_domain(s) for s in suggestions]
                if suggestions is not None
                else None
            ),
            personal_id=r.personal_id if for_agency else None,
        )


class RequestList(msgspec.Struct, kw_only=True):
    items: list[RequestOut]


class RequestApprove(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # omitted: share Kho's suggestions (the best paper of each asked type)
    document_ids: Annotated[list[UUID], msgspec.Meta(max_length=1000)] | None = None


class RequestDeny(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    note: Purpose | None = None


class AccessEntryOut(msgspec.Struct, kw_only=True):
    id: UUID
    at: datetime
    action: str
    actor: dict[str, str | None]
    document_id: UUID | None
    document_title: str | None
    share_id: str | None
    request_id: str | None
    purpose: str | None
    seq: int

    @classmethod
    def from_domain(cls, e: AccessEntry) -> AccessEntryOut:
        return cls(
            id=e.id,
            at=e.at,
            action=e.action,
            actor={
                "type": str(e.actor.type),
                "id": e.actor.id,
                "name": e.actor.name or "anyone with the link",
                "ip": e.actor.ip,
            },
            document_id=e.document_id,
            document_title=e.document_title,
            share_id=e.share_id,
            request_id=e.request_id,
            purpose=e.purpose,
            seq=e.seq,
        )


class AccessLogOut(msgspec.Struct, kw_only=True):
    items: list[AccessEntryOut]
    next_before: int | None


class OfficialLogin(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    agency: Annotated[str, msgspec.Meta(max_length=64)]
    username: Annotated[str, msgspec.Meta(max_length=120)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
