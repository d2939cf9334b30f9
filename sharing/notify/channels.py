"""Channels: one interface, one implementation per way of telling someone.

``Channel.send`` delivers one planned message or raises ``DeliveryFailed``; the
dispatcher owns retries, so a channel never loops or sleeps.  Vendor errors (aiohttp,
smtplib) are translated here and nowhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import unquote, urlparse
from uuid import UUID

import aiohttp
import anyio.to_thread
import structlog
from aiohttp.abc import AbstractResolver
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sharing.notify import addresses
from sharing.notify.db import NotificationRow, WebhookRow
from sharing.notify.errors import DeliveryFailed
from sharing.notify.models import Delivery
from vault.db import Database, utcnow
from vault.ids import uuid7
from vault.keys import KeyRing

log = structlog.get_logger("kho.notify")

SECRET_PREFIX = "whsec_"  # noqa: S105 — a marker, not a secret
SECRET_BYTES = 32
USER_AGENT = "Kho-Webhooks/1"


class Channel(Protocol):
    """Delivers one message.  ``name`` is the ``channel`` column of its deliveries."""

    name: str

    async def send(self, delivery: Delivery) -> None:
        """Deliver or raise ``DeliveryFailed`` (``permanent=True``: do not retry)."""
        ...

    async def aclose(self) -> None: ...


def insert_ignoring_duplicates(
    session: Session, table: Table, values: dict[str, Any] | list[dict[str, Any]]
) -> bool:
    """INSERT (of one row, or of many at once) that does nothing on a unique-constraint
    clash; True if a row went in."""
    dialect = session.connection().dialect.name
    stmt = (
        postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    ).on_conflict_do_nothing()
    result = session.execute(stmt, values)
    return bool(getattr(result, "rowcount", 0))


# -- in-app -------------------------------------------------------------------------------


class InAppChannel:
    """Writes the owner's notification; a redelivered event finds its row and stops."""

    name = "inapp"

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    def values(event_id: UUID, owner_id: UUID, message: dict[str, Any]) -> dict[str, Any]:
        """The notification row of one event (the dispatcher also writes it directly,
        inside its fan-out transaction)."""
        return {
            "id": uuid7(),
            "owner_id": owner_id,
            "event_id": event_id,
            "kind": str(message.get("kind", ""))[:40],
            "title": str(message.get("title", ""))[:300],
            "body": str(message.get("body", ""))[:2000],
            "data": message.get("data") or {},
            "created_at": utcnow(),
            "read_at": None,
        }

    async def send(self, delivery: Delivery) -> None:
        if delivery.owner_id is None:
            raise DeliveryFailed("in-app notification without an owner", permanent=True)
        values = self.values(delivery.event_id, delivery.owner_id, delivery.message)

        def tx(session: Session) -> None:
            insert_ignoring_duplicates(session, NotificationRow.__table__, values)  # type: ignore[arg-type]

        await self._db.run_write(tx)

    async def aclose(self) -> None:
        return None


# -- email --------------------------------------------------------------------------------


class SmtpEmailChannel:
    """Plain-text mail over SMTP.  ``url``: ``smtp://host:port`` (``?starttls=1`` to
    upgrade), ``smtps://user:pass@host:465`` (implicit TLS); credentials are optional.

    smtplib is synchronous, so each conversation runs in a worker thread, bounded by
    ``timeout`` per socket operation."""

    name = "email"

    def __init__(self, url: str, sender: str, *, timeout: float = 10.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError(
                "KHO_SMTP_URL must look like smtp://host:port or smtps://user:pass@host"
            )
        self._tls = parsed.scheme == "smtps"
        self._starttls = "starttls=1" in parsed.query or "starttls=true" in parsed.query
        self._host = parsed.hostname
        self._port = parsed.port or (465 if self._tls else 25)
        self._user = unquote(parsed.username) if parsed.username else None
        self._password = unquote(parsed.password) if parsed.password else None
        self._sender = sender
        self._timeout = timeout

    def __repr__(self) -> str:  # security: no password in logs
        return f"SmtpEmailChannel({self._host}:{self._port}, tls={self._tls})"

    def _message(self, delivery: Delivery) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._sender
        msg["To"] = delivery.target
        msg["Subject"] = str(delivery.message.get("subject", "Kho"))
        msg["Date"] = formatdate(localtime=False)
        # Note: the event id as Message-ID lets mail clients drop a redelivered copy.
        msg["Message-ID"] = f"<{delivery.event_id}@kho>"
        msg["Kho-Event-Id"] = str(delivery.event_id)
        msg.set_content(str(delivery.message.get("body", "")))
        return msg

    def _send_sync(self, msg: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self._tls:
            smtp = smtplib.SMTP_SSL(self._host, self._port, timeout=self._timeout, context=context)
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        with smtp:
            if self._starttls:
                smtp.starttls(context=context)
            if self._user is not None:
                smtp.login(self._user, self._password or "")
            smtp.send_message(msg)

    async def send(self, delivery: Delivery) -> None:
        msg = self._message(delivery)
        try:
            await anyio.to_thread.run_sync(self._send_sync, msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(
                f"SMTP refused the recipient: {exc}"[:300], permanent=True
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from None

    async def aclose(self) -> None:
        return None


# -- SMS ----------------------------------------------------------------------------------


class SmsGateway(Protocol):
    """Sends one text message to one phone number (E.164)."""

    async def send(self, to: str, text: str) -> None: ...


class LogSmsGateway:
    """The default gateway: writes each message to the log instead of sending it."""

    async def send(self, to: str, text: str) -> None:
        # security: the log shows only the last digits of the number
        log.info("sms", to="…" + to[-3:], text=text)


class SmsChannel:
    name = "sms"

    def __init__(self, gateway: SmsGateway) -> None:
        self._gateway = gateway

    async def send(self, delivery: Delivery) -> None:
        try:
            await self._gateway.send(delivery.target, str(delivery.message.get("text", "")))
        except DeliveryFailed:
            raise
        except Exception as exc:  # a gateway's own errors, whatever they are
            raise DeliveryFailed(f"SMS gateway: {type(exc).__name__}: {exc}"[:300]) from None

    async def aclose(self) -> None:
        return None


# -- agency webhooks ----------------------------------------------------------------------


def new_webhook_secret() -> tuple[str, bytes]:
    """A new signing secret: the text shown to the agency once, and its raw bytes."""
    raw = secrets.token_bytes(SECRET_BYTES)
    return secret_text(raw), raw


def secret_text(raw: bytes) -> str:
    return SECRET_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def secret_context(agency_id: UUID) -> bytes:
    return b"kho-webhook-secret:" + agency_id.bytes


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Kho-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` over
    ``"<t>." + body`` keyed with the secret text exactly as shown (``whsec_…``).

    Receivers recompute it, compare in constant time, and reject a ``t`` too far from
    their clock (replays)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class WebhookChannel:
    """Signed JSON POSTs to the agency's registered URL (read at send time, so a new
    URL or secret applies to pending retries).  Redirects are not followed and any
    non-2xx answer is a failure; the total time per POST is bounded by ``timeout``.

    security: unless ``allow_private``, the target must be a public address: an IP
    literal is checked before the POST, a name after DNS resolution (every address it
    resolves to), and the connection goes to the checked address (see
    ``sharing.notify.addresses``).  Proxies from the environment are never used."""

    name = "webhook"

    def __init__(
        self,
        db: Database,
        keyring: KeyRing,
        *,
        timeout: float = 5.0,
        allow_private: bool = False,
        dns: AbstractResolver | None = None,
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._timeout = timeout
        self._allow_private = allow_private
        self._dns = dns
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=addresses.connector(allow_private=self._allow_private, dns=self._dns),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"User-Agent": USER_AGENT},
                trust_env=False,
            )
        return self._session

    async def _endpoint(self, agency_id: UUID) -> tuple[str, str] | None:
        def load(session: Session) -> tuple[str, str, bytes] | None:
            row = session.execute(
                select(WebhookRow.url, WebhookRow.kek_id, WebhookRow.wrapped_secret).where(
                    WebhookRow.agency_id == agency_id
                )
            ).first()
            return None if row is None else (row[0], row[1], row[2])

        found = await self._db.run_read(load)
        if found is None:
            return None
        url, kek_id, wrapped = found
        raw = self._keyring.unwrap(kek_id, wrapped, secret_context(agency_id))
        return url, secret_text(raw)

    async def send(self, delivery: Delivery) -> None:
        if delivery.agency_id is None:
            raise DeliveryFailed("webhook delivery without an agency", permanent=True)
        endpoint = await self._endpoint(delivery.agency_id)
        if endpoint is None:
            raise DeliveryFailed("the agency has no webhook any more", permanent=True)
        url, secret = endpoint
        body = str(delivery.message.get("body", "")).encode()
        headers = {
            "Content-Type": "application/json",
            "Kho-Event-Id": str(delivery.event_id),
            "Kho-Event-Type": str(delivery.message.get("type", "")),
            "Kho-Signature": sign(secret, int(time.time()), body),
        }
        try:
            if not self._allow_private:
                addresses.check_host(urlparse(url).hostname or "")
            async with self._client().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                status = resp.status
        except addresses.BlockedAddress as exc:
            raise DeliveryFailed(str(exc)) from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, addresses.BlockedAddress):
                raise DeliveryFailed(str(exc.os_error)) from None
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        except TimeoutError:
            raise DeliveryFailed(f"timed out after {self._timeout:g}s") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"HTTP {status}")

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = [
    "Channel",
    "InAppChannel",
    "LogSmsGateway",
    "SmsChannel",
    "SmsGateway",
    "SmtpEmailChannel",
    "WebhookChannel",
    "sign",
]
