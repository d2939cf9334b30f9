"""Wire schemas of notifications, contact details and agency webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from sharing.notify import Contact as DomainContact
from sharing.notify import Notification as DomainNotification
from sharing.notify import NotificationPage, Webhook

SIGNATURE_SCHEME = "Kho-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + body)>"


class Notification(msgspec.Struct, kw_only=True):
    id: UUID
    event_id: UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_domain(cls, n: DomainNotification) -> Notification:
        return cls(
            id=n.id,
            event_id=n.event_id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            data=n.data,
            created_at=n.created_at,
            read_at=n.read_at,
        )


class NotificationList(msgspec.Struct, kw_only=True):
    items: list[Notification]
    next_cursor: str | None
    unread_count: int

    @classmethod
    def from_domain(cls, page: NotificationPage) -> NotificationList:
        return cls(
            items=[Notification.from_domain(n) for n in page.items],
            next_cursor=page.next_cursor,
            unread_count=page.unread_count,
        )


class MarkedRead(msgspec.Struct, kw_only=True):
    marked: int


class ContactUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Both fields are replaced; ``null`` or ``""`` clears one."""

    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class Contact(msgspec.Struct, kw_only=True):
    email: str | None
    phone: str | None

    @classmethod
    def from_domain(cls, c: DomainContact) -> Contact:
        return cls(email=c.email, phone=c.phone)


class WebhookUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class WebhookOut(msgspec.Struct, kw_only=True):
    url: str
    created_at: datetime

    @classmethod
    def from_domain(cls, w: Webhook) -> WebhookOut:
        return cls(url=w.url, created_at=w.created_at)


class WebhookCreated(msgspec.Struct, kw_only=True):
    """The signing secret is shown this once."""

    url: str
    created_at: datetime
    secret: str
    signature: str = SIGNATURE_SCHEME

    @classmethod
    def from_domain(cls, w: Webhook, secret: str) -> WebhookCreated:
        return cls(url=w.url, created_at=w.created_at, secret=secret)
