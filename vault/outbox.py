"""The transactional outbox: events written in the same transaction as the change they
report, so a notification is sent if and only if the change committed.

Delivery (in-app, email, SMS, webhooks) is the business of ``sharing.notify``; this
module only records events.  Event kinds are dotted names, see ``EventKind``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from vault.db import Base, utcnow
from vault.ids import uuid7

INSERT_OUTBOX = Base.metadata.tables["outbox"].insert()


class EventKind(enum.StrEnum):
    DOCUMENT_DEPOSITED = "document.deposited"
    DOCUMENT_REVOKED = "document.revoked"
    SHARE_OPENED = "share.opened"
    REQUEST_RECEIVED = "request.received"
    FILING_STATUS_CHANGED = "filing.status_changed"
    # an agency's client or official fetched one of a filing's papers (told to that
    # agency's webhook; the citizen reads it in the access log)
    FILING_DOCUMENT_FETCHED = "filing.document_fetched"


def enqueue(
    conn: Session | Connection,
    kind: EventKind,
    payload: dict[str, Any],
    *,
    owner_id: UUID | None = None,
    agency_id: UUID | None = None,
) -> UUID:
    """Record one event inside the caller's transaction; returns its id (the id
    receivers deduplicate on).  ``owner_id``: the citizen to tell; ``agency_id``: the
    agency to tell (its webhooks)."""
    event_id = uuid7()
    now = utcnow()
    conn.execute(
        INSERT_OUTBOX,
        {
            "id": event_id,
            "kind": str(kind),
            "owner_id": owner_id,
            "agency_id": agency_id,
            # Note: round-trip through JSON so UUIDs and datetimes are stored as text.
            "payload": msgspec.json.decode(msgspec.json.encode(payload)),
            "created_at": now,
            "available_at": now,
            "attempts": 0,
        },
    )
    return event_id


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One event to record with ``enqueue_many``."""

    kind: EventKind
    payload: dict[str, Any]
    owner_id: UUID | None = None
    agency_id: UUID | None = None


def enqueue_many(conn: Session | Connection, events: Sequence[Event]) -> list[UUID]:
    """Record ``events`` inside the caller's transaction with one multi-row insert;
    returns their ids."""
    if not events:
        return []
    now = utcnow()
    rows = [
        {
            "id": uuid7(),
            "kind": str(e.kind),
            "owner_id": e.owner_id,
            "agency_id": e.agency_id,
            "payload": msgspec.json.decode(msgspec.json.encode(e.payload)),
            "created_at": now,
            "available_at": now,
            "attempts": 0,
        }
        for e in events
    ]
    conn.execute(INSERT_OUTBOX, rows)
    return [r["id"] for r in rows]
