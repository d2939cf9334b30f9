"""The citizen's notifications and contact details, and agencies' webhooks."""

from __future__ import annotations

import base64
import re
from urllib.parse import urlparse
from uuid import UUID

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from sharing.notify.addresses import BlockedAddress, check_host
from sharing.notify.channels import new_webhook_secret, secret_context
from sharing.notify.db import DeliveryRow, NotificationRow, WebhookRow
from sharing.notify.errors import NotificationNotFound, WebhookNotFound
from sharing.notify.models import Contact, Notification, NotificationPage, Webhook
from vault.db import Database, OutboxRow, OwnerRow, utcnow
from vault.errors import InvalidInput, OwnerNotFound
from vault.keys import KeyRing
from vault.models import OwnerStatus

MAX_PAGE = 100
MAX_URL = 2000
# Deliberately plain: one @, a dot in the domain, no spaces or angle brackets.  The
# mail server is the real judge; this only stops obvious typos and header injection.
_EMAIL = re.compile(
    r"^[^@\s<>,;\"'()\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")


def normalize_email(value: str | None) -> str | None:
    """Trimmed email, or ``None`` to clear; raises ``InvalidInput``."""
    if value is None or not value.strip():
        return None
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("email", "is not an email address")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_phone(value: str | None) -> str | None:
    """E.164 (``+84…``); a Vietnamese national number (``0…``) is converted.  ``None``
    or blank clears it.  Raises ``InvalidInput``."""
    if value is None or not value.strip():
        return None
    digits = _PHONE_SEPARATORS.sub("", value.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+84" + digits[1:]
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", digits):
        raise InvalidInput("phone", "is not a phone number (e.g. 0912345678 or +84912345678)")
    return digits


def check_webhook_url(url: str, *, allow_private: bool = False) -> str:
    """An absolute http(s) URL without credentials, aimed at a public address (unless
    ``allow_private``); raises ``InvalidInput``.

    security: an IP literal or a local name (``localhost``, ``*.internal``…) is refused
    here; a host name is checked again at every delivery, after DNS resolution (see
    ``sharing.notify.addresses``).  Redirects are never followed."""
    url = url.strip()
    if not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise InvalidInput("url", f"must be an http(s) URL of at most {MAX_URL} characters")
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        raise InvalidInput("url", "is not a valid URL") from None
    del port
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidInput("url", "must be an absolute http:// or https:// URL")
    if parsed.username or parsed.password:
        raise InvalidInput("url", "must not carry credentials")
    if parsed.fragment:
        raise InvalidInput("url", "must not have a fragment")
    if not allow_private:
        try:
            check_host(parsed.hostname)
        except BlockedAddress as exc:
            raise InvalidInput("url", str(exc).removeprefix("refused: ")) from None
    return url


def _to_notification(row: NotificationRow) -> Notification:
    return Notification(
        id=row.id,
        event_id=row.event_id,
        kind=row.kind,
        title=row.title,
        body=row.body,
        data=dict(row.data or {}),
        created_at=row.created_at,
        read_at=row.read_at,
    )


def encode_cursor(notification_id: UUID) -> str:
    return base64.urlsafe_b64encode(notification_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if len(cursor) > 32 or len(raw) != 16:
            raise ValueError(cursor)
        return UUID(bytes=raw)
    except ValueError:
        raise InvalidInput("cursor", "is not a cursor this API returned") from None


class NotificationService:
    def __init__(
        self, db: Database, keyring: KeyRing, *, webhook_allow_private: bool = False
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._allow_private = webhook_allow_private

    # -- the citizen's notifications ------------------------------------------------------

    async def list(
        self,
        owner_id: UUID,
        *,
        unread_only: bool = False,
        cursor: str | None = None,
        limit: int = 50,
    ) -> NotificationPage:
        """Newest first; ``cursor`` continues after the last item of a page.  Raises
        ``InvalidInput`` for a bad cursor or limit."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
        after = decode_cursor(cursor) if cursor else None

        def load(session: Session) -> NotificationPage:
            q = select(NotificationRow).where(NotificationRow.owner_id == owner_id)
            if unread_only:
                q = q.where(NotificationRow.read_at.is_(None))
            if after is not None:
                q = q.where(NotificationRow.id < after)
            rows = session.scalars(q.order_by(NotificationRow.id.desc()).limit(limit + 1)).all()
            unread = session.scalar(
                select(func.count())
                .select_from(NotificationRow)
                .where(NotificationRow.owner_id == owner_id, NotificationRow.read_at.is_(None))
            )
            more = len(rows) > limit
            rows = rows[:limit]
            return NotificationPage(
                items=[_to_notification(r) for r in rows],
                next_cursor=encode_cursor(rows[-1].id) if more else None,
                unread_count=int(unread or 0),
            )

        return await self._db.run_read(load)

    async def mark_read(self, owner_id: UUID, notification_id: UUID) -> Notification:
        """Raises ``NotificationNotFound`` (also for another owner's)."""
        now = utcnow()

        def tx(session: Session) -> Notification:
            row = session.get(NotificationRow, notification_id)
            if row is None or row.owner_id != owner_id:
                raise NotificationNotFound(notification_id)
            if row.read_at is None:
                row.read_at = now
            return _to_notification(row)

        return await self._db.run_write(tx)

    async def mark_all_read(self, owner_id: UUID) -> int:
        now = utcnow()

        def tx(session: Session) -> int:
            result = session.execute(
                update(NotificationRow)
                .where(NotificationRow.owner_id == owner_id, NotificationRow.read_at.is_(None))
                .values(read_at=now)
            )
            return int(getattr(result, "rowcount", 0) or 0)

        return await self._db.run_write(tx)

    # -- contact --------------------------------------------------------------------------

    async def get_contact(self, owner_id: UUID) -> Contact:
        def load(session: Session) -> Contact:
            owner = session.get(OwnerRow, owner_id)
            if owner is None or owner.status == OwnerStatus.DELETED:
                raise OwnerNotFound(str(owner_id))
            return Contact(email=owner.email, phone=owner.phone)

        return await self._db.run_read(load)

    async def set_contact(self, owner_id: UUID, *, email: str | None, phone: str | None) -> Contact:
        """Replace both; ``None``/blank clears one.  Raises ``InvalidInput``."""
        contact = Contact(email=normalize_email(email), phone=normalize_phone(phone))

        def tx(session: Session) -> Contact:
            owner = session.get(OwnerRow, owner_id, with_for_update=True)
            if owner is None or owner.status == OwnerStatus.DELETED:
                raise OwnerNotFound(str(owner_id))
            owner.email = contact.email
            owner.phone = contact.phone
            return contact

        return await self._db.run_write(tx)

    # -- agency webhooks ------------------------------------------------------------------

    async def set_webhook(self, agency_id: UUID, url: str) -> tuple[Webhook, str]:
        """Register (or replace) the agency's endpoint with a new signing secret;
        returns the webhook and the secret, which is shown this once.  Raises
        ``InvalidInput`` (also for a URL aimed at a non-public address)."""
        url = check_webhook_url(url, allow_private=self._allow_private)
        secret, raw = new_webhook_secret()
        kek_id, wrapped = self._keyring.wrap(raw, secret_context(agency_id))
        now = utcnow()

        def tx(session: Session) -> Webhook:
            row = session.get(WebhookRow, agency_id, with_for_update=True)
            if row is None:
                row = WebhookRow(agency_id=agency_id)
                session.add(row)
            row.url = url
            row.kek_id = kek_id
            row.wrapped_secret = wrapped
            row.created_at = now
            return Webhook(agency_id=agency_id, url=url, created_at=now)

        return await self._db.run_write(tx), secret

    async def get_webhook(self, agency_id: UUID) -> Webhook:
        """Raises ``WebhookNotFound``."""

        def load(session: Session) -> Webhook:
            row = session.get(WebhookRow, agency_id)
            if row is None:
                raise WebhookNotFound(agency_id)
            return Webhook(agency_id=agency_id, url=row.url, created_at=row.created_at)

        return await self._db.run_read(load)

    async def delete_webhook(self, agency_id: UUID) -> None:
        """Raises ``WebhookNotFound``.  Pending deliveries are then given up."""

        def tx(session: Session) -> None:
            row = session.get(WebhookRow, agency_id)
            if row is None:
                raise WebhookNotFound(agency_id)
            session.delete(row)

        await self._db.run_write(tx)


async def rewrap_webhook_secrets(db: Database, old: KeyRing, new: KeyRing) -> int:
    """Rewrap every webhook secret under ``new``'s current master key (key rotation);
    ``old`` must open them.  Returns how many were rewrapped."""
    target = new.current_id

    def tx(session: Session) -> int:
        rows = session.scalars(
            select(WebhookRow).where(WebhookRow.kek_id != target).with_for_update()
        ).all()
        for row in rows:
            ctx = secret_context(row.agency_id)
            raw = old.unwrap(row.kek_id, row.wrapped_secret, ctx)
            row.kek_id, row.wrapped_secret = new.wrap(raw, ctx)
        return len(rows)

    return await db.run_write(tx)


def forget_owner(session: Session, owner_id: UUID) -> None:
    """The account-deletion hook (``vault.documents.OwnerDeletionHook``): the owner's
    in-app notifications, every delivery to them (which names their email address or
    phone number) and the outbox events about them go, with the copies of those events
    still owed to agencies' webhooks.

    Note: the events are locked first, so a worker fanning one of them out at this very
    moment (PostgreSQL) finishes before its deliveries are looked for."""
    events = list(
        session.scalars(
            select(OutboxRow.id).where(OutboxRow.owner_id == owner_id).with_for_update()
        )
    )
    about = or_(DeliveryRow.owner_id == owner_id, DeliveryRow.event_id.in_(events))
    session.execute(delete(DeliveryRow).where(about))
    session.execute(delete(NotificationRow).where(NotificationRow.owner_id == owner_id))
    session.execute(delete(OutboxRow).where(OutboxRow.owner_id == owner_id))
