"""Consent requests: an agency asks a citizen for papers of some types, for a purpose.

The citizen approves (picking documents, or taking Kho's suggestion of the best paper of
each type) or denies.  Approval creates an agency-audience share, expiring with the
request, that the agency reads through its own bearer token; the citizen can revoke it
like any share.  Every read by the agency is an event in the citizen's audit chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sharing.db import ConsentRequestRow, ShareDocumentRow, ShareRow
from sharing.errors import RequestClosed, RequestNotFound, ShareGone
from sharing.filings import BEST_MATCH
from sharing.models import (
    MAX_DOCUMENTS,
    MAX_TTL_SECONDS,
    ConsentRequest,
    RequestStatus,
    Suggestion,
)
from sharing.shares import check_owned, insert_share, shared_documents, status_of
from vault import (
    Actor,
    Agency,
    ContentStream,
    Database,
    Document,
    OwnerStatus,
    VaultService,
    audit,
    validation,
)
from vault.db import AgencyRow, DocumentRow, OwnerRow, utcnow
from vault.documents import DOCUMENT_VIEW, view_to_document
from vault.errors import DocumentNotFound, InvalidInput
from vault.ids import uuid7
from vault.outbox import EventKind, enqueue

MAX_DOC_TYPES = 20


def best_documents(
    conn: Session | Connection, owner_id: UUID, doc_types: Sequence[str]
) -> dict[str, Document]:
    """The best paper of each type in the owner's vault, ranked as filings rank them
    (``sharing.filings.BEST_MATCH``: issued > certified copy > signed by the citizen >
    uploaded PDF > uploaded image, newest first among equals; withdrawn papers never)."""
    best = {
        r.doc_type: r.id
        for r in conn.execute(BEST_MATCH, {"owner_id": owner_id, "types": list(doc_types)})
    }
    if not best:
        return {}
    rows = conn.execute(DOCUMENT_VIEW.where(DocumentRow.id.in_(list(best.values())))).all()
    docs = {d.id: d for d in map(view_to_document, rows)}
    return {t: docs[i] for t, i in best.items() if i in docs}


_REQUEST_VIEW = (
    select(
        ConsentRequestRow,
        AgencyRow.code.label("agency_code"),
        AgencyRow.name.label("agency_name"),
        OwnerRow.personal_id.label("personal_id"),
    )
    .join(AgencyRow, AgencyRow.id == ConsentRequestRow.agency_id)
    .join(OwnerRow, OwnerRow.id == ConsentRequestRow.owner_id)
)


def _status(row: ConsentRequestRow, now: datetime) -> RequestStatus:
    if row.status == RequestStatus.PENDING and row.expires_at <= now:
        return RequestStatus.EXPIRED
    return RequestStatus(row.status)


def _to_request(found: Any, document_ids: list[UUID], now: datetime) -> ConsentRequest:
    row: ConsentRequestRow = found[0]
    return ConsentRequest(
        id=row.id,
        agency_code=found.agency_code,
        agency_name=found.agency_name,
        owner_id=row.owner_id,
        personal_id=found.personal_id,
        doc_types=list(row.doc_types),
        purpose=row.purpose,
        status=_status(row, now),
        expires_at=row.expires_at,
        created_at=row.created_at,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
        share_id=row.share_id,
        document_ids=document_ids,
    )


def _scope(conn: Session | Connection, share_id: UUID | None) -> list[UUID]:
    if share_id is None:
        return []
    return list(
        conn.scalars(
            select(ShareDocumentRow.document_id)
            .where(ShareDocumentRow.share_id == share_id)
            .order_by(ShareDocumentRow.position)
        )
    )


class RequestService:
    def __init__(self, db: Database, vault: VaultService) -> None:
        self._db = db
        self._vault = vault

    async def create(
        self,
        agency: Agency,
        personal_id: str,
        doc_types: Sequence[str],
        purpose: str,
        expires_at: datetime,
        actor: Actor,
    ) -> ConsentRequest:
        """Ask a citizen for papers.  Raises ``InvalidInput`` for a malformed personal
        ID, no or too many or malformed types, an empty purpose, or an expiry in the past
        or beyond 90 days.  A citizen without an account yet gets an unclaimed vault, so
        the request waits for their sign-up (as a deposit would)."""
        now = utcnow()
        types = list(dict.fromkeys(doc_types))
        if not types or len(types) > MAX_DOC_TYPES:
            raise InvalidInput("doc_types", f"ask for 1 to {MAX_DOC_TYPES} document types")
        for t in types:
            if validation.doc_type(t) is None:
                raise InvalidInput("doc_types", "must not contain an empty type")
        purpose = validation.purpose(purpose)
        if expires_at.tzinfo is None:
            raise InvalidInput("expires_at", "must include a time zone")
        if not now < expires_at <= now + timedelta(seconds=MAX_TTL_SECONDS):
            raise InvalidInput("expires_at", "must be in the future and at most 90 days away")
        owner_id = await self._vault.ensure_owner(personal_id)
        request_id = uuid7()

        def tx(session: Session) -> ConsentRequest:
            session.add(
                ConsentRequestRow(
                    id=request_id,
                    agency_id=agency.id,
                    owner_id=owner_id,
                    doc_types=types,
                    purpose=purpose,
                    status=str(RequestStatus.PENDING),
                    expires_at=expires_at,
                    created_at=now,
                )
            )
            session.flush()
            audit.record(
                session,
                owner_id,
                actor,
                "request_received",
                detail={"request_id": str(request_id), "doc_types": types, "purpose": purpose},
            )
            enqueue(
                session,
                EventKind.REQUEST_RECEIVED,
                {
                    "request_id": str(request_id),
                    "agency_code": agency.code,
                    "agency_name": agency.name,
                    "purpose": purpose,
                    "doc_types": types,
                },
                owner_id=owner_id,
            )
            found = session.execute(_REQUEST_VIEW.where(ConsentRequestRow.id == request_id)).one()
            return _to_request(found, [], now)

        return await self._db.run_write(tx)

    # -- the citizen's side -----------------------------------------------------------

    async def list_for_owner(self, owner_id: UUID) -> list[tuple[ConsentRequest, list[Suggestion]]]:
        """The owner's newest 200 requests, newest first, each pending one with
        suggestions."""
        return await self._for_owner(owner_id, limit=200)

    async def get_for_owner(
        self, owner_id: UUID, request_id: UUID
    ) -> tuple[ConsentRequest, list[Suggestion]]:
        found = await self._for_owner(owner_id, ConsentRequestRow.id == request_id, limit=1)
        if not found:
            raise RequestNotFound()
        return found[0]

    async def _for_owner(
        self, owner_id: UUID, *where: Any, limit: int
    ) -> list[tuple[ConsentRequest, list[Suggestion]]]:
        now = utcnow()
        query = (
            _REQUEST_VIEW.where(ConsentRequestRow.owner_id == owner_id, *where)
            .order_by(ConsentRequestRow.id.desc())
            .limit(limit)
        )

        def q(session: Session) -> list[tuple[ConsentRequest, list[Suggestion]]]:
            out = []
            for f in session.execute(query).all():
                req = _to_request(f, _scope(session, f[0].share_id), now)
                tips: list[Suggestion] = []
                if req.status == RequestStatus.PENDING:
                    best = best_documents(session, owner_id, req.doc_types)
                    tips = [Suggestion(doc_type=t, document=best.get(t)) for t in req.doc_types]
                out.append((req, tips))
            return out

        return await self._db.run_read(q)

    def _lock_pending(
        self, session: Session, owner_id: UUID, request_id: UUID
    ) -> ConsentRequestRow:
        row = session.scalar(
            select(ConsentRequestRow)
            .where(ConsentRequestRow.id == request_id, ConsentRequestRow.owner_id == owner_id)
            .with_for_update()
        )
        if row is None:
            raise RequestNotFound()
        status = _status(row, utcnow())
        if status != RequestStatus.PENDING:
            raise RequestClosed(str(status))
        return row

    async def approve(
        self,
        owner_id: UUID,
        request_id: UUID,
        document_ids: Sequence[UUID] | None,
        actor: Actor,
    ) -> ConsentRequest:
        """Share papers with the asking agency.  ``document_ids=None`` takes Kho's
        suggestions (the best paper of each asked type).  Raises ``RequestNotFound``,
        ``RequestClosed`` (already answered or expired) or ``InvalidInput`` (documents
        that are not the owner's, or nothing to share)."""
        now = utcnow()

        def tx(session: Session) -> ConsentRequest:
            row = self._lock_pending(session, owner_id, request_id)
            if document_ids is None:
                best = best_documents(session, owner_id, list(row.doc_types))
                ids = [best[t].id for t in row.doc_types if t in best]
                if not ids:
                    raise InvalidInput(
                        "document_ids", "no paper of the asked types in your vault; pick some"
                    )
            else:
                ids = list(dict.fromkeys(document_ids))
                if not ids or len(ids) > MAX_DOCUMENTS:
                    raise InvalidInput(
                        "document_ids", f"pick 1 to {MAX_DOCUMENTS} documents to share"
                    )
                check_owned(session, owner_id, ids)
            _token, share = insert_share(
                session,
                owner_id=owner_id,
                document_ids=ids,
                expires_at=row.expires_at,
                purpose=row.purpose,
                audience_agency_id=row.agency_id,
                request_id=row.id,
            )
            row.status = str(RequestStatus.APPROVED)
            row.decided_at = now
            row.share_id = share.id
            audit.record(
                session,
                owner_id,
                actor,
                "request_approved",
                detail={
                    "request_id": str(row.id),
                    "share_id": str(share.id),
                    "documents": [str(d) for d in ids],
                },
            )
            session.flush()
            found = session.execute(_REQUEST_VIEW.where(ConsentRequestRow.id == row.id)).one()
            return _to_request(found, ids, now)

        return await self._db.run_write(tx)

    async def deny(
        self, owner_id: UUID, request_id: UUID, note: str | None, actor: Actor
    ) -> ConsentRequest:
        now = utcnow()
        note = validation.purpose(note or "", required=False) or None

        def tx(session: Session) -> ConsentRequest:
            row = self._lock_pending(session, owner_id, request_id)
            row.status = str(RequestStatus.DENIED)
            row.decided_at = now
            row.decision_note = note
            audit.record(
                session, owner_id, actor, "request_denied", detail={"request_id": str(row.id)}
            )
            session.flush()
            found = session.execute(_REQUEST_VIEW.where(ConsentRequestRow.id == row.id)).one()
            return _to_request(found, [], now)

        return await self._db.run_write(tx)

    # -- the agency's side ------------------------------------------------------------

    async def list_for_agency(
        self, agency_id: UUID, *, status: RequestStatus | None = None, limit: int = 100
    ) -> list[ConsentRequest]:
        now = utcnow()

        def q(session: Session) -> list[ConsentRequest]:
            found = session.execute(
                _REQUEST_VIEW.where(ConsentRequestRow.agency_id == agency_id)
                .order_by(ConsentRequestRow.id.desc())
                .limit(500)
            ).all()
            out = [_to_request(f, _scope(session, f[0].share_id), now) for f in found]
            return [r for r in out if status is None or r.status == status][:limit]

        return await self._db.run_read(q)

    async def view_for_agency(
        self, agency_id: UUID, request_id: UUID, actor: Actor
    ) -> tuple[ConsentRequest, list[Document]]:
        """The request and, once approved and while the share lives, the shared papers
        (that read is recorded in the citizen's audit chain).  Raises
        ``RequestNotFound`` (another agency's request too)."""
        now = utcnow()

        def tx(session: Session) -> tuple[ConsentRequest, list[Document]]:
            found = session.execute(
                _REQUEST_VIEW.where(
                    ConsentRequestRow.id == request_id, ConsentRequestRow.agency_id == agency_id
                )
            ).first()
            if found is None:
                raise RequestNotFound()
            row: ConsentRequestRow = found[0]
            documents: list[Document] = []
            if row.status == RequestStatus.APPROVED and row.share_id is not None:
                share = session.get(ShareRow, row.share_id)
                owner = session.get(OwnerRow, row.owner_id)
                live = owner is not None and owner.status != OwnerStatus.DELETED
                if (
                    live
                    and share is not None
                    and share.revoked_at is None
                    and share.expires_at > now
                ):
                    documents = shared_documents(session, share.id, row.owner_id)
                    audit.record(
                        session,
                        row.owner_id,
                        actor,
                        "share_opened",
                        detail={
                            "share_id": str(share.id),
                            "request_id": str(row.id),
                            "purpose": row.purpose,
                            "documents": [str(d.id) for d in documents],
                        },
                    )
                    # the citizen is told, and so is the requesting agency's webhook
                    enqueue(
                        session,
                        EventKind.SHARE_OPENED,
                        {
                            "share_id": str(share.id),
                            "request_id": str(row.id),
                            "purpose": row.purpose,
                            "actor_name": actor.name,
                            "documents": len(documents),
                        },
                        owner_id=row.owner_id,
                        agency_id=agency_id,
                    )
            return _to_request(found, [d.id for d in documents], now), documents

        return await self._db.run_write(tx)

    async def open_content_for_agency(
        self, agency_id: UUID, request_id: UUID, document_id: UUID, actor: Actor
    ) -> ContentStream:
        """Stream one paper the citizen shared in answer to the request.  Raises
        ``RequestNotFound``, ``ShareGone`` (revoked or expired) or ``DocumentNotFound``."""

        def find(conn: Connection) -> tuple[UUID, UUID | None, str]:
            row = conn.execute(
                select(
                    ConsentRequestRow.owner_id,
                    ConsentRequestRow.share_id,
                    ConsentRequestRow.purpose,
                ).where(
                    ConsentRequestRow.id == request_id, ConsentRequestRow.agency_id == agency_id
                )
            ).first()
            if row is None:
                raise RequestNotFound()
            return row.owner_id, row.share_id, row.purpose

        owner_id, share_id, purpose = await self._db.run_query(find)
        if share_id is None:
            raise DocumentNotFound(document_id)

        def guard(session: Session) -> None:
            share = session.get(ShareRow, share_id)
            if share is None:
                raise DocumentNotFound(document_id)
            status = status_of(share, utcnow())
            if status.value in ("revoked", "expired"):
                raise ShareGone(str(status))
            in_scope = session.scalar(
                select(ShareDocumentRow.document_id).where(
                    ShareDocumentRow.share_id == share_id,
                    ShareDocumentRow.document_id == document_id,
                )
            )
            if in_scope is None:
                raise DocumentNotFound(document_id)

        return await self._vault.open_content(
            owner_id,
            document_id,
            actor,
            action="document_downloaded",
            detail={"share_id": str(share_id), "request_id": str(request_id), "purpose": purpose},
            guard=guard,
        )
