"""Tables of the notifications package (registered on the vault's metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base, UTCDateTime


class NotificationRow(Base):
    """An in-app notification, rendered in the owner's language when it was created.

    Unique on ``(owner_id, event_id)``: an outbox event delivered twice shows once."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("owner_id", "event_id", name="uq_notifications_owner_event"),
        Index("ix_notifications_owner_id_id", "owner_id", "id"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"))
    event_id: Mapped[UUID] = mapped_column(Uuid)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(2000))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebhookRow(Base):
    """One agency's webhook endpoint.  The signing secret is kept wrapped under the
    master key (not hashed: Kho needs it to sign every delivery)."""

    __tablename__ = "agency_webhooks"

    agency_id: Mapped[UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    kek_id: Mapped[str] = mapped_column(String(40))
    wrapped_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeliveryRow(Base):
    """One message of one event on one channel (``inapp``, ``email``, ``sms``,
    ``webhook``), retried on its own with exponential backoff.

    Unique on ``(event_id, channel)``: fanning an event out twice plans nothing new.
    Not delivered and ``attempts`` at the limit = given up (``last_error`` says why);
    resetting ``attempts`` brings it back."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", name="uq_notification_deliveries_event_channel"),
        Index("ix_notification_deliveries_pending", "delivered_at", "available_at"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[UUID] = mapped_column(Uuid)
    channel: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    agency_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    target: Mapped[str] = mapped_column(String(2000), default="")
    message: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
