"""Domain values of notifications: frozen structs handed to the API layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class NotifySettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the dispatcher drains the outbox and retries deliveries."""

    poll_seconds: float = 2.0  # idle wait between passes (a wake-up cuts it short)
    batch_size: int = 50  # outbox rows, and deliveries, claimed per transaction
    max_in_flight: int = 200  # deliveries being sent at once (a hung receiver holds one)
    max_attempts: int = 8  # then a delivery is given up (kept, visible)
    retry_base_seconds: float = 10.0  # backoff: base * 2^(attempt-1) ...
    retry_max_seconds: float = 3600.0  # ... capped here
    send_timeout_seconds: float = 5.0  # per webhook POST / SMTP conversation
    retention_days: float = 30.0  # then processed events and sent deliveries are purged


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    event_id: UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[Notification]
    next_cursor: str | None
    unread_count: int


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    email: str | None
    phone: str | None


class Webhook(msgspec.Struct, frozen=True, kw_only=True):
    agency_id: UUID
    url: str
    created_at: datetime


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One claimed message for one channel (see ``DeliveryRow``)."""

    id: UUID
    event_id: UUID
    channel: str
    owner_id: UUID | None
    agency_id: UUID | None
    target: str
    message: dict[str, Any]
    attempts: int


class ChannelStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Counts of one channel's deliveries (or of outbox events: channel ``outbox``)."""

    channel: str
    pending: int  # not done, still to be tried
    given_up: int  # not done, out of attempts: see ``last_error``
    done: int
