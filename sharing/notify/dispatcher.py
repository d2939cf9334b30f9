"""The outbox drain: fans events out into per-channel deliveries and sends them.

Two steps, each its own short transaction, so nothing slow ever runs under a lock:

1. **Fan-out.**  Claim due ``outbox`` rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
   several workers share the work without waiting on each other; SQLite has a single
   writer), render each event for its citizen in their language, plan one
   ``notification_deliveries`` row per channel (in-app, email, SMS, the agency's
   webhook) and mark the event processed.  An event that cannot be planned is retried
   with backoff like a delivery.
2. **Delivery.**  Claim due deliveries the same way and *lease* them (``available_at``
   moves past the send timeout and ``attempts`` goes up) before committing, so no
   other worker takes them while they are in flight; send each in its own task,
   bounded by its channel's timeout (the loop does not wait for them: a hung receiver
   holds one of ``max_in_flight`` slots, nothing more); each records success, or a retry at
   ``base · 2^(attempts-1)`` seconds (capped), or give up after ``max_attempts``
   (the row stays, with ``last_error``, for an operator to see and reset).

Why a delivery table instead of retrying the outbox row: a webhook answering 500 must
not resend the citizen's email, and a slow receiver must not hold back anyone else's
messages.  Delivery is at least once (a worker that dies mid-send leaves a lease that
expires); receivers deduplicate on the event id, which the in-app table enforces with a
unique constraint.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sharing.notify.channels import Channel, InAppChannel, insert_ignoring_duplicates
from sharing.notify.db import DeliveryRow, NotificationRow
from sharing.notify.errors import DeliveryFailed
from sharing.notify.models import ChannelStatus, Delivery, NotifySettings
from sharing.notify.render import render
from vault.db import Base, Database, OutboxRow, utcnow
from vault.ids import uuid7
from vault.models import OwnerStatus

log = structlog.get_logger("kho.notify")

_OUTBOX = Base.metadata.tables["outbox"]
_OWNERS = Base.metadata.tables["owners"]
_WEBHOOKS = Base.metadata.tables["agency_webhooks"]
_DELIVERIES = Base.metadata.tables["notification_deliveries"]
_EVENT_STATE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("event_id"))
    .values(
        attempts=bindparam("attempts"),
        available_at=bindparam("available"),
        processed_at=bindparam("processed"),
        last_error=bindparam("error"),
    )
)

PURGE_EVERY = timedelta(hours=1)

_EMAIL_FOOTER = {
    "vi": "\n\n—\nKho — kho giấy tờ của bạn. Thư này được gửi tự động, vui lòng không trả lời.",
    "en": "\n\n—\nKho — your document vault. This message was sent automatically; do not reply.",
}


class Dispatcher:
    """Drains the outbox.  ``run_once`` does one pass of both steps (tests call it);
    ``start``/``stop`` run passes in a background task, ``wake`` cuts the idle wait
    short."""

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        settings: NotifySettings | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._channels = dict(channels)
        self.settings = settings or NotifySettings()
        self._clock = clock
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def channels(self) -> Mapping[str, Channel]:
        return self._channels

    def backoff(self, attempts: int) -> timedelta:
        """The wait before attempt ``attempts + 1``."""
        s = self.settings
        exponent = min(max(attempts - 1, 0), 30)
        return timedelta(seconds=min(s.retry_base_seconds * 2**exponent, s.retry_max_seconds))

    # -- one pass -------------------------------------------------------------------------

    async def run_once(self, *, wait: bool = True) -> int:
        """Fan out due events, then start sending due deliveries; returns how many
        rows it took (0: nothing was due).  ``wait``: return only when those sends are
        finished and recorded (tests, ``--once``); the background loop does not wait,
        so a slow receiver holds only its own slot."""
        planned = await self.fan_out()
        sent = await self.deliver(wait=wait)
        return planned + sent

    async def drain(self, max_passes: int = 100) -> int:
        """Pass until nothing is due (or ``max_passes``); for tests and ``--once``."""
        total = 0
        for _ in range(max_passes):
            done = await self.run_once()
            total += done
            if done == 0:
                break
        return total

    async def fan_out(self) -> int:
        return await self._db.run_write(self._fan_out_tx)

    def _fan_out_tx(self, session: Session) -> int:
        """Plan the deliveries of due events with a handful of statements per batch:
        the events, their owners and the agencies' webhooks are read in one query
        each, and the deliveries, in-app notifications and the events' new state are
        written with one multi-row statement each.  In-app notifications are written
        here, in this transaction (they are rows of this database, nothing to send),
        and their delivery rows are born delivered."""
        now = self._clock()
        conn = session.connection()
        rows = conn.execute(
            select(*_OUTBOX.c)
            .where(
                _OUTBOX.c.processed_at.is_(None),
                _OUTBOX.c.available_at <= now,
                _OUTBOX.c.attempts < self.settings.max_attempts,
            )
            .order_by(_OUTBOX.c.available_at, _OUTBOX.c.id)
            .limit(self.settings.batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        owner_ids = {r.owner_id for r in rows if r.owner_id is not None}
        owners = (
            {
                o.id: o
                for o in conn.execute(
                    select(_OWNERS.c.id, _OWNERS.c.status, _OWNERS.c.locale)
                    .add_columns(_OWNERS.c.email, _OWNERS.c.phone)
                    .where(_OWNERS.c.id.in_(owner_ids))
                )
            }
            if owner_ids
            else {}
        )
        agency_ids = {r.agency_id for r in rows if r.agency_id is not None}
        hooked = (
            set(
                conn.execute(
                    select(_WEBHOOKS.c.agency_id).where(_WEBHOOKS.c.agency_id.in_(agency_ids))
                ).scalars()
            )
            if agency_ids
            else set()
        )
        inline = isinstance(self._channels.get("inapp"), InAppChannel)
        deliveries: list[dict[str, Any]] = []
        notices: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []
        for row in rows:
            attempts = row.attempts + 1
            try:
                plans = self._plan(row, owners.get(row.owner_id), row.agency_id in hooked, now)
            except Exception as exc:  # one bad event must not stop the others
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("outbox_event_failed", event_id=str(row.id), kind=row.kind, error=error)
                states.append(
                    {
                        "event_id": row.id,
                        "attempts": attempts,
                        "available": now + self.backoff(attempts),
                        "processed": None,
                        "error": error,
                    }
                )
                continue
            for plan in plans:
                if inline and plan["channel"] == "inapp":
                    notices.append(
                        InAppChannel.values(plan["event_id"], plan["owner_id"], plan["message"])
                    )
                    plan["attempts"] = 1
                    plan["delivered_at"] = now
                deliveries.append(plan)
            states.append(
                {
                    "event_id": row.id,
                    "attempts": attempts,
                    "available": row.available_at,
                    "processed": now,
                    "error": None,
                }
            )
        if deliveries:
            insert_ignoring_duplicates(session, DeliveryRow.__table__, deliveries)  # type: ignore[arg-type]
        if notices:
            insert_ignoring_duplicates(session, NotificationRow.__table__, notices)  # type: ignore[arg-type]
        conn.execute(_EVENT_STATE, states)
        return len(rows)

    def _plan(
        self, row: Any, owner: Any, agency_has_webhook: bool, now: datetime
    ) -> list[dict[str, Any]]:
        plans: list[dict[str, Any]] = []
        payload = row.payload if isinstance(row.payload, dict) else {}

        def add(channel: str, target: str, message: dict[str, Any], **who: Any) -> None:
            if channel not in self._channels:
                return
            plans.append(
                {
                    "id": uuid7(),
                    "event_id": row.id,
                    "channel": channel,
                    "owner_id": who.get("owner_id"),
                    "agency_id": who.get("agency_id"),
                    "target": target,
                    "message": message,
                    "created_at": now,
                    "available_at": now,
                    "attempts": 0,
                    "delivered_at": None,
                    "last_error": None,
                }
            )

        if owner is not None and owner.status != OwnerStatus.DELETED:
            locale = "en" if owner.locale == "en" else "vi"
            rendered = render(row.kind, payload, locale)
            if rendered is None:
                log.warning("unknown_event_kind", event_id=str(row.id), kind=row.kind)
            else:
                add(
                    "inapp",
                    "",
                    {
                        "kind": row.kind,
                        "title": rendered.title,
                        "body": rendered.body,
                        "data": payload,
                    },
                    owner_id=owner.id,
                )
                if owner.email:
                    add(
                        "email",
                        owner.email,
                        {
                            "subject": rendered.title,
                            "body": rendered.body + _EMAIL_FOOTER[locale],
                        },
                        owner_id=owner.id,
                    )
                if owner.phone:
                    add("sms", owner.phone, {"text": rendered.sms}, owner_id=owner.id)
        if row.agency_id is not None and agency_has_webhook:
            envelope = {
                "id": str(row.id),
                "type": row.kind,
                "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
                "data": payload,
            }
            add(
                "webhook",
                "",
                {"type": row.kind, "body": msgspec.json.encode(envelope).decode()},
                agency_id=row.agency_id,
            )
        return plans

    async def deliver(self, *, wait: bool = True) -> int:
        """Claim due deliveries (as many as free slots allow) and send each in its own
        task, which records its outcome when done."""
        room = min(self.settings.batch_size, self.settings.max_in_flight - len(self._in_flight))
        if room <= 0:
            return 0
        # Note: a read first, which runs beside writers; under load in-app messages (born
        # delivered) are all there is, and an empty claim still took the single writer.
        if not await self._db.run_query(self._any_due):
            return 0
        claimed = await self._db.run_write(lambda session: self._claim_tx(session, room))
        tasks = []
        for delivery in claimed:
            task = asyncio.get_running_loop().create_task(self._send_and_record(delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)
            tasks.append(task)
        if wait and tasks:
            await asyncio.gather(*tasks)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self.wake()  # a slot is free

    async def _send_and_record(self, delivery: Delivery) -> None:
        error = await self._send(delivery)
        await self._db.run_write(lambda session: self._record_tx(session, [(delivery, error)]))

    def _lease(self) -> timedelta:
        # Note: longer than any send may take, so a delivery in flight is never claimed
        # by a second worker; a worker that dies leaves it for retry after this.
        return timedelta(seconds=self.settings.send_timeout_seconds * 2 + 30)

    def _any_due(self, conn: Connection) -> bool:
        due = conn.execute(
            select(_DELIVERIES.c.id)
            .where(
                _DELIVERIES.c.delivered_at.is_(None),
                _DELIVERIES.c.available_at <= self._clock(),
                _DELIVERIES.c.attempts < self.settings.max_attempts,
            )
            .limit(1)
        ).first()
        return due is not None

    def _claim_tx(self, session: Session, limit: int | None = None) -> list[Delivery]:
        now = self._clock()
        rows = (
            session.execute(
                select(DeliveryRow)
                .where(
                    DeliveryRow.delivered_at.is_(None),
                    DeliveryRow.available_at <= now,
                    DeliveryRow.attempts < self.settings.max_attempts,
                )
                .order_by(DeliveryRow.available_at, DeliveryRow.id)
                .limit(limit or self.settings.batch_size)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        claimed = []
        for row in rows:
            row.attempts += 1
            row.available_at = now + self._lease()
            claimed.append(
                Delivery(
                    id=row.id,
                    event_id=row.event_id,
                    channel=row.channel,
                    owner_id=row.owner_id,
                    agency_id=row.agency_id,
                    target=row.target,
                    message=dict(row.message),
                    attempts=row.attempts,
                )
            )
        return claimed

    async def _send(self, delivery: Delivery) -> DeliveryFailed | None:
        channel = self._channels.get(delivery.channel)
        if channel is None:
            return DeliveryFailed(f"no {delivery.channel!r} channel configured")
        try:
            # Note: a guard above the channel's own timeout, so no send outlives its lease.
            async with asyncio.timeout(self.settings.send_timeout_seconds * 2 + 5):
                await channel.send(delivery)
        except DeliveryFailed as exc:
            return exc
        except TimeoutError:
            return DeliveryFailed("timed out")
        except Exception as exc:  # a channel bug must not kill the worker
            log.exception("channel_error", channel=delivery.channel, delivery_id=str(delivery.id))
            return DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300])
        return None

    def _record_tx(
        self, session: Session, outcomes: list[tuple[Delivery, DeliveryFailed | None]]
    ) -> None:
        now = self._clock()
        for delivery, error in outcomes:
            row = session.get(DeliveryRow, delivery.id)
            if row is None:
                continue
            if error is None:
                row.delivered_at = now
                row.last_error = None
                continue
            row.last_error = error.reason[:500]
            if error.permanent:
                row.attempts = max(row.attempts, self.settings.max_attempts)
            row.available_at = now + self.backoff(row.attempts)
            if row.attempts >= self.settings.max_attempts:
                log.warning(
                    "delivery_given_up",
                    delivery_id=str(row.id),
                    event_id=str(row.event_id),
                    channel=row.channel,
                    attempts=row.attempts,
                    error=row.last_error,
                )

    # -- for operators --------------------------------------------------------------------

    async def purge(self) -> int:
        """Delete processed events and sent deliveries older than the retention period
        (given-up ones stay for an operator); returns how many rows went."""
        cutoff = self._clock() - timedelta(days=self.settings.retention_days)

        def tx(session: Session) -> int:
            sent = session.execute(
                delete(DeliveryRow).where(
                    DeliveryRow.delivered_at.is_not(None), DeliveryRow.delivered_at < cutoff
                )
            )
            processed = session.execute(
                delete(OutboxRow).where(
                    OutboxRow.processed_at.is_not(None), OutboxRow.processed_at < cutoff
                )
            )
            return int(getattr(sent, "rowcount", 0) or 0) + int(
                getattr(processed, "rowcount", 0) or 0
            )

        return await self._db.run_write(tx)

    async def status(self) -> list[ChannelStatus]:
        """Pending, given-up and done counts for the outbox and each channel."""
        limit = self.settings.max_attempts

        def tally(done: Any, attempts: Any) -> tuple[Any, Any, Any]:
            return (
                func.count().filter(done.is_(None), attempts < limit),
                func.count().filter(done.is_(None), attempts >= limit),
                func.count().filter(done.is_not(None)),
            )

        def load(session: Session) -> list[ChannelStatus]:
            outbox = session.execute(
                select(*tally(OutboxRow.processed_at, OutboxRow.attempts))
            ).one()
            channels = session.execute(
                select(DeliveryRow.channel, *tally(DeliveryRow.delivered_at, DeliveryRow.attempts))
                .group_by(DeliveryRow.channel)
                .order_by(DeliveryRow.channel)
            ).all()
            return [
                ChannelStatus(channel=name, pending=p, given_up=g, done=d)
                for name, p, g, d in [("outbox", *outbox), *channels]
            ]

        return await self._db.run_read(load)

    # -- background task ------------------------------------------------------------------

    def wake(self) -> None:
        """Start the next pass now instead of after the poll interval."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def run_forever(self) -> None:
        """Pass after pass until cancelled; a failing pass is logged and retried."""
        self._wakeup = asyncio.Event()
        next_purge = self._clock()
        while True:
            try:
                done = await self.run_once(wait=False)
                if self._clock() >= next_purge:
                    next_purge = self._clock() + PURGE_EVERY
                    await self.purge()
            except Exception:
                log.exception("dispatcher_pass_failed")
                done = 0
            if done:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.settings.poll_seconds)
            self._wakeup.clear()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run_forever())

    async def stop(self) -> None:
        """Stop passing; sends in flight get their timeout to finish, then are
        cancelled (their lease makes them due again later)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._in_flight:
            _, pending = await asyncio.wait(
                set(self._in_flight), timeout=self.settings.send_timeout_seconds + 1
            )
            for left in pending:
                left.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        await self.stop()
        for channel in self._channels.values():
            await channel.aclose()
