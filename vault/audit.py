"""The per-owner hash-chained audit log.

Each event's ``hash`` is ``SHA-256(prev_hash || canonical JSON of the event)``; the
owner row keeps the head (last seq and hash), so deleting the newest event is caught as
surely as editing or deleting one in the middle.  Events are appended inside the
caller's transaction with the owner row locked, so a chain never forks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from vault.db import AuditRow, Base, OwnerRow, utcnow
from vault.ids import uuid7
from vault.models import Actor, ActorType, AuditEvent

GENESIS = "0" * 64
INSERT_EVENT = Base.metadata.tables["audit_events"].insert()
_owners = Base.metadata.tables["owners"]
_LOCK_HEAD = (
    select(_owners.c.audit_seq, _owners.c.audit_head)
    .where(_owners.c.id == bindparam("owner_id"))
    .with_for_update()
)
_ADVANCE_HEAD = (
    _owners.update()
    .where(_owners.c.id == bindparam("owner_id"))
    .values(audit_seq=bindparam("seq"), audit_head=bindparam("head"))
)
_encoder = msgspec.json.Encoder(order="sorted")


def _canonical(
    *,
    event_id: UUID,
    owner_id: UUID,
    seq: int,
    at: datetime,
    actor_type: str,
    actor_id: str | None,
    actor_name: str | None,
    action: str,
    document_id: UUID | None,
    ip: str | None,
    detail: dict[str, Any],
) -> bytes:
    return _encoder.encode(
        {
            "id": str(event_id),
            "owner_id": str(owner_id),
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor_type": actor_type,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "action": action,
            "document_id": str(document_id) if document_id else None,
            "ip": ip,
            "detail": detail,
        }
    )


def event_hash(prev_hash: str, row: AuditRow) -> str:
    return _hash(prev_hash, {c: getattr(row, c) for c in _HASHED})


_HASHED = (
    "id",
    "owner_id",
    "seq",
    "at",
    "actor_type",
    "actor_id",
    "actor_name",
    "action",
    "document_id",
    "ip",
    "detail",
)


def _hash(prev_hash: str, v: dict[str, Any]) -> str:
    payload = _canonical(
        event_id=v["id"],
        owner_id=v["owner_id"],
        seq=v["seq"],
        at=v["at"],
        actor_type=v["actor_type"],
        actor_id=v["actor_id"],
        actor_name=v["actor_name"],
        action=v["action"],
        document_id=v["document_id"],
        ip=v["ip"],
        detail=v["detail"],
    )
    return hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()


def new_event(
    owner_id: UUID,
    prev_seq: int,
    prev_head: str,
    actor: Actor,
    action: str,
    *,
    document_id: UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Column values of the event after ``(prev_seq, prev_head)``, hash included."""
    values: dict[str, Any] = {
        "id": uuid7(),
        "owner_id": owner_id,
        "seq": prev_seq + 1,
        "at": utcnow(),
        "actor_type": str(actor.type),
        "actor_id": actor.id,
        "actor_name": actor.name,
        "action": action,
        "document_id": document_id,
        "ip": actor.ip,
        # Note: round-trip the detail through JSON so what is hashed is what is stored.
        "detail": msgspec.json.decode(msgspec.json.encode(detail or {})),
        "prev_hash": prev_head or GENESIS,
    }
    values["hash"] = _hash(values["prev_hash"], values)
    return values


def append(
    session: Session | AsyncSession,
    owner: OwnerRow,
    actor: Actor,
    action: str,
    *,
    document_id: UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditRow:
    """Add one event to ``owner``'s chain; ``owner`` must be locked for update by the caller."""
    values = new_event(
        owner.id,
        owner.audit_seq,
        owner.audit_head,
        actor,
        action,
        document_id=document_id,
        detail=detail,
    )
    row = AuditRow(**values)
    owner.audit_seq = row.seq
    owner.audit_head = row.hash
    session.add(row)
    return row


def record(
    conn: Session | Connection,
    owner_id: UUID,
    actor: Actor,
    action: str,
    *,
    document_id: UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add one event to ``owner_id``'s chain with Core statements, locking the owner row
    for the rest of the caller's transaction; returns the event's column values."""
    head = conn.execute(_LOCK_HEAD, {"owner_id": owner_id}).one()
    event = new_event(
        owner_id,
        head.audit_seq,
        head.audit_head,
        actor,
        action,
        document_id=document_id,
        detail=detail,
    )
    conn.execute(INSERT_EVENT, event)
    conn.execute(_ADVANCE_HEAD, {"owner_id": owner_id, "seq": event["seq"], "head": event["hash"]})
    return event


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One event to append with ``record_many``."""

    actor: Actor
    action: str
    document_id: UUID | None = None
    detail: dict[str, Any] | None = None


def record_many(
    conn: Session | Connection, owner_id: UUID, entries: Sequence[Entry]
) -> list[dict[str, Any]]:
    """Append ``entries`` to ``owner_id``'s chain in order, with one head lock, one
    multi-row insert and one head update (the write path of batched work such as share
    openings); returns the events' column values.  Same chain as ``record`` one by one."""
    if not entries:
        return []
    head = conn.execute(_LOCK_HEAD, {"owner_id": owner_id}).one()
    seq, prev = head.audit_seq, head.audit_head
    events = []
    for entry in entries:
        event = new_event(
            owner_id,
            seq,
            prev,
            entry.actor,
            entry.action,
            document_id=entry.document_id,
            detail=entry.detail,
        )
        seq, prev = event["seq"], event["hash"]
        events.append(event)
    conn.execute(INSERT_EVENT, events)
    conn.execute(_ADVANCE_HEAD, {"owner_id": owner_id, "seq": seq, "head": prev})
    return events


def to_event(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        owner_id=row.owner_id,
        seq=row.seq,
        at=row.at,
        actor=Actor(
            type=ActorType(row.actor_type), id=row.actor_id, name=row.actor_name, ip=row.ip
        ),
        action=row.action,
        document_id=row.document_id,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    owner_id: UUID
    personal_id: str
    seq: int
    event_id: UUID | None
    reason: str


async def verify_owner_chain(
    session: AsyncSession, owner: OwnerRow, batch: int = 1000
) -> ChainBreak | None:
    """Walk one owner's chain in seq order; return the first break, or ``None``."""
    prev = GENESIS
    expected_seq = 1
    last_seq = 0
    while True:
        rows = (
            await session.scalars(
                select(AuditRow)
                .where(AuditRow.owner_id == owner.id, AuditRow.seq > last_seq)
                .order_by(AuditRow.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            break
        for row in rows:

            def brk(reason: str, row: AuditRow = row) -> ChainBreak:
                return ChainBreak(
                    owner_id=owner.id,
                    personal_id=owner.personal_id,
                    seq=row.seq,
                    event_id=row.id,
                    reason=reason,
                )

            if row.seq != expected_seq:
                return brk(f"event {expected_seq} is missing (next found is {row.seq})")
            if row.prev_hash != prev:
                return brk("prev_hash does not match the previous event")
            if event_hash(prev, row) != row.hash:
                return brk("event content does not match its hash (edited)")
            prev = row.hash
            expected_seq += 1
            last_seq = row.seq
    if last_seq != owner.audit_seq or (owner.audit_seq and prev != owner.audit_head):
        return ChainBreak(
            owner_id=owner.id,
            personal_id=owner.personal_id,
            seq=last_seq + 1,
            event_id=None,
            reason=f"chain ends at event {last_seq} but the owner's head is {owner.audit_seq}",
        )
    return None


def owner_events(
    session: Session, owner_id: UUID, *, limit: int, before_seq: int | None
) -> list[AuditEvent]:
    """One owner's events, newest first."""
    q = select(AuditRow).where(AuditRow.owner_id == owner_id)
    if before_seq is not None:
        q = q.where(AuditRow.seq < before_seq)
    return [to_event(row) for row in session.scalars(q.order_by(AuditRow.seq.desc()).limit(limit))]
