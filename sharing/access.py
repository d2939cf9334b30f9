"""Who looked at my data: the accesses by anyone but the owner, read from the owner's
audit chain (the same events ``kho audit verify`` checks)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from sharing.models import AccessEntry
from vault import Actor, ActorType, Database
from vault.db import AuditRow, DocumentRow

# What counts as someone looking at the owner's data.
ACCESS_ACTIONS = frozenset(
    {
        "share_opened",
        "document_downloaded",
        "document_verified",
        "verification_code_used",
        "request_received",
        "filing_document_fetched",
    }
)
OTHERS = (ActorType.ANYONE, ActorType.AGENCY, ActorType.OFFICIAL)


class AccessFilter(msgspec.Struct, frozen=True, kw_only=True):
    actor_type: ActorType | None = None
    agency: str | None = None  # the agency code (an agency's client or its officials)
    share_id: UUID | None = None
    document_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class AccessLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def entries(
        self, owner_id: UUID, flt: AccessFilter, *, limit: int = 50, before_seq: int | None = None
    ) -> list[AccessEntry]:
        """Newest first; ``before_seq`` pages on (the ``seq`` of the last entry seen)."""
        types = [str(flt.actor_type)] if flt.actor_type else [str(t) for t in OTHERS]
        query = (
            select(AuditRow, DocumentRow.title)
            .outerjoin(DocumentRow, DocumentRow.id == AuditRow.document_id)
            .where(
                AuditRow.owner_id == owner_id,
                AuditRow.actor_type.in_(types),
                AuditRow.action.in_(sorted(ACCESS_ACTIONS)),
            )
        )
        if before_seq is not None:
            query = query.where(AuditRow.seq < before_seq)
        if flt.document_id is not None:
            query = query.where(AuditRow.document_id == flt.document_id)
        if flt.since is not None:
            query = query.where(AuditRow.at >= flt.since)
        if flt.until is not None:
            query = query.where(AuditRow.at < flt.until)
        # Note: share and agency filters look inside the JSON detail, so they are applied
        # here on a bounded scan rather than in SQL (portable across SQLite/PostgreSQL).
        scan = query.order_by(AuditRow.seq.desc()).limit(max(limit, 1) * 20)

        def q(conn: Session) -> list[AccessEntry]:
            out: list[AccessEntry] = []
            for row, title in conn.execute(scan).all():
                detail = row.detail or {}
                if flt.share_id is not None and detail.get("share_id") != str(flt.share_id):
                    continue
                if flt.agency is not None and not _of_agency(row, flt.agency):
                    continue
                out.append(
                    AccessEntry(
                        id=row.id,
                        at=row.at,
                        action=row.action,
                        actor=Actor(
                            type=ActorType(row.actor_type),
                            id=row.actor_id,
                            name=row.actor_name,
                            ip=row.ip,
                        ),
                        document_id=row.document_id,
                        document_title=title,
                        share_id=detail.get("share_id"),
                        request_id=detail.get("request_id"),
                        purpose=detail.get("purpose"),
                        seq=row.seq,
                    )
                )
                if len(out) >= limit:
                    break
            return out

        return await self._db.run_read(q)


def _of_agency(row: AuditRow, code: str) -> bool:
    if row.actor_type == ActorType.AGENCY:
        return row.actor_id == code
    return (
        row.actor_type == ActorType.OFFICIAL
        and bool(row.actor_id)
        and (str(row.actor_id).startswith(f"{code}/"))
    )
