"""Notifications end to end: outbox → dispatcher → in-app, email (a real aiosmtpd
server), SMS and signed webhooks (real aiohttp receivers), retries and dedup."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
import pytest
from sqlalchemy import func, select, update

from sharing.notify import Dispatcher, NotifySettings, SmsChannel, render
from sharing.notify.channels import WebhookChannel
from sharing.notify.db import DeliveryRow, NotificationRow
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.sharing.servers import webhook_receivers
from vault.db import OutboxRow, OwnerRow, utcnow
from vault.ids import uuid7
from vault.outbox import EventKind, enqueue

pytestmark = pytest.mark.usefixtures("cheap_passwords")


# -- helpers ------------------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand (the dispatcher's backoff is checked against it)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingSms:
    """An SMS gateway that keeps what it was asked to send (a fake, not a mock)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, text: str) -> None:
        self.sent.append((to, text))


def dispatcher(services, clock=None, channels=None, **overrides: Any) -> Dispatcher:
    values: dict[str, Any] = {
        "batch_size": 50,
        "max_attempts": 5,
        "retry_base_seconds": 10.0,
        "send_timeout_seconds": 0.5,
    }
    values.update(overrides)
    return Dispatcher(
        services.database,
        {**services.dispatcher.channels, **(channels or {})},
        NotifySettings(**values),
        clock=clock or utcnow,
    )


async def owner_id(services, pid: str) -> UUID:
    return (await f.owner_row(services, pid)).id


async def event(services, kind: str, payload: dict[str, Any], **who: Any) -> UUID:
    return await services.database.run_write(
        lambda s: enqueue(s, kind, payload, **who)  # type: ignore[arg-type]
    )


async def set_owner(services, oid: UUID, **values: Any) -> None:
    async with services.database.write() as session:
        await session.execute(update(OwnerRow).where(OwnerRow.id == oid).values(**values))


async def rows(services, model, *where) -> list[Any]:
    async with services.database.read() as session:
        return list((await session.scalars(select(model).where(*where))).all())


async def count(services, model, *where) -> int:
    async with services.database.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


def check_signature(secret: str, headers: dict[str, str], body: bytes) -> None:
    """The receiver's side of the documented scheme, written independently."""
    parts = dict(p.split("=", 1) for p in headers["Kho-Signature"].split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(time.time() - int(parts["t"])) < 300


async def agency_with_webhook(services, url: str, code: str | None = None):
    creds = await services.accounts.create_agency(code or f"WH{f.personal_id()}", "Sở Tư pháp")
    _, secret = await services.notifications.set_webhook(creds.agency.id, url)
    return creds.agency, secret


# -- deposits reach the citizen ----------------------------------------------------------


async def test_a_deposit_notifies_in_app_and_by_email(client, services, smtp):
    sink, _ = smtp
    pid, password = await f.citizen(services)
    citizen = await f.login(client, pid, password)
    r = await client.put(
        "/api/v1/me/contact", headers=citizen, json={"email": "an@example.vn", "phone": None}
    )
    assert r.status_code == 200, r.text
    agency, _ = await f.agency_headers(services, client)

    doc = (await f.deposit(client, agency, pid, title="Giấy khai sinh")).json()
    assert await count(services, OutboxRow) == 1  # written with the deposit, same transaction
    await services.dispatcher.drain()

    listed = (await client.get("/api/v1/notifications", headers=citizen)).json()
    assert listed["unread_count"] == 1
    [item] = listed["items"]
    assert item["kind"] == "document.deposited"
    assert item["title"] == "Giấy tờ mới trong kho: Giấy khai sinh"  # the owner's locale: vi
    assert item["data"]["document_id"] == doc["id"]
    assert item["data"]["provenance"] == "issued"
    [mail] = sink.messages
    assert mail["To"] == "an@example.vn"
    assert mail["Subject"] == "Giấy tờ mới trong kho: Giấy khai sinh"
    assert "Giấy khai sinh" in mail.get_content()
    assert mail["Kho-Event-Id"] == item["event_id"]
    [outbox] = await rows(services, OutboxRow)
    assert outbox.processed_at is not None and outbox.last_error is None


async def test_an_english_owner_reads_english_and_gets_an_sms(services):
    pid, _ = await f.citizen(services)
    oid = await owner_id(services, pid)
    await set_owner(services, oid, locale="en", phone="+84912345678")
    sms = RecordingSms()
    d = Dispatcher(
        services.database,
        {**services.dispatcher.channels, "sms": SmsChannel(sms)},
        NotifySettings(),
    )

    await event(
        services,
        EventKind.FILING_STATUS_CHANGED,
        {
            "filing_id": "f-1",
            "procedure_code": "BIRTH_REG",
            "status": "needs-more-info",
            "note": "Thiếu CCCD",
        },
        owner_id=oid,
    )
    await d.drain()

    [n] = await rows(services, NotificationRow, NotificationRow.owner_id == oid)
    assert n.title == "Filing BIRTH_REG: needs more information"
    assert "Thiếu CCCD" in n.body
    assert sms.sent == [("+84912345678", "Kho: your BIRTH_REG filing is now needs-more-info.")]


async def test_a_revocation_notifies_the_citizen(client, services):
    agency, _ = await f.agency_headers(services, client)
    pid, password = await f.citizen(services)
    doc = (await f.deposit(client, agency, pid, title="Lý lịch tư pháp")).json()
    r = await client.post(
        f"/api/v1/agency/documents/{doc['id']}/revoke", headers=agency, json={"reason": "Cấp nhầm"}
    )
    assert r.status_code == 200, r.text

    await services.dispatcher.drain()

    citizen = await f.login(client, pid, password)
    items = (await client.get("/api/v1/notifications", headers=citizen)).json()["items"]
    assert [i["kind"] for i in items] == ["document.revoked", "document.deposited"]
    assert items[0]["data"]["reason"] == "Cấp nhầm"
    assert "Cấp nhầm" in items[0]["body"]


async def test_only_agency_papers_raise_a_deposit_event(client, services):
    from vault import Actor, ActorType, Provenance

    pid, password = await f.citizen(services)
    oid = await owner_id(services, pid)
    citizen = await f.login(client, pid, password)
    await f.upload(client, citizen, title="Ảnh tự chụp")  # the citizen's own upload
    assert await count(services, OutboxRow) == 0
    creds = await services.accounts.create_agency("UBND-P1", "UBND Phường 1")

    async def one() -> Any:
        yield f.pdf("bản sao")

    staged = await services.vault.stage(oid, one(), filename="copy.pdf")
    doc = await services.vault.commit(
        staged,
        title="Bản sao chứng thực CCCD",
        doc_type="citizen_id",
        actor=Actor(type=ActorType.AGENCY, id="UBND-P1"),
        provenance=Provenance.CERTIFIED_COPY,
        agency=creds.agency,
        action="certified_copy_made",
    )

    [row] = await rows(services, OutboxRow)
    assert (row.kind, row.owner_id, row.agency_id) == ("document.deposited", oid, creds.agency.id)
    assert row.payload == {
        "document_id": str(doc.id),
        "title": "Bản sao chứng thực CCCD",
        "doc_type": "citizen_id",
        "provenance": "certified_copy",
        "agency_code": "UBND-P1",
        "agency_name": "UBND Phường 1",
    }
    await services.dispatcher.drain()
    [n] = await rows(services, NotificationRow)
    assert n.title == "Bản sao chứng thực mới trong kho: Bản sao chứng thực CCCD"


async def test_deleting_the_account_forgets_the_contact(client, services):
    pid, password = await f.citizen(services)
    citizen = await f.login(client, pid, password)
    r = await client.put(
        "/api/v1/me/contact", headers=citizen, json={"email": "a@b.vn", "phone": "0912345678"}
    )
    assert r.status_code == 200, r.text

    r = await client.request("DELETE", "/api/v1/me", json={"password": password}, headers=citizen)

    assert r.status_code == 200, r.text
    row = await f.owner_row(services, pid)
    assert (row.email, row.phone) == (None, None)


async def test_deleting_the_account_forgets_notifications_deliveries_and_events(client, services):
    async with webhook_receivers(1) as [receiver]:
        agency, _ = await agency_with_webhook(services, receiver.url)
        pid, password = await f.citizen(services)
        leaving = await owner_id(services, pid)
        await set_owner(services, leaving, phone="+84912345678")
        other_pid, _ = await f.citizen(services)
        staying = await owner_id(services, other_pid)
        for oid in (leaving, staying):
            await event(
                services,
                EventKind.DOCUMENT_DEPOSITED,
                {"title": "CCCD"},
                owner_id=oid,
                agency_id=agency.id,
            )
        await services.dispatcher.drain()
        sent_before = len(receiver.received)
        # one more event about each, not yet fanned out
        for oid in (leaving, staying):
            await event(
                services,
                EventKind.DOCUMENT_DEPOSITED,
                {"title": "GPLX"},
                owner_id=oid,
                agency_id=agency.id,
            )
        leaving_events = {
            r.id for r in await rows(services, OutboxRow, OutboxRow.owner_id == leaving)
        }
        assert len(leaving_events) == 2
        assert await count(services, NotificationRow, NotificationRow.owner_id == leaving) == 1
        assert (
            await count(services, DeliveryRow, DeliveryRow.owner_id == leaving) == 2
        )  # in-app, SMS

        citizen = await f.login(client, pid, password)
        r = await client.request(
            "DELETE", "/api/v1/me", json={"password": password}, headers=citizen
        )
        assert r.status_code == 200, r.text

        assert await count(services, NotificationRow, NotificationRow.owner_id == leaving) == 0
        assert await count(services, DeliveryRow, DeliveryRow.owner_id == leaving) == 0
        assert await count(services, DeliveryRow, DeliveryRow.event_id.in_(leaving_events)) == 0
        assert await count(services, OutboxRow, OutboxRow.owner_id == leaving) == 0
        # the other citizen keeps everything
        assert await count(services, NotificationRow, NotificationRow.owner_id == staying) == 1
        assert await count(services, OutboxRow, OutboxRow.owner_id == staying) == 2

        await services.dispatcher.drain()
        assert await count(services, NotificationRow, NotificationRow.owner_id == leaving) == 0
        assert await count(services, NotificationRow, NotificationRow.owner_id == staying) == 2
        # the agency hears only of the event about the citizen who stayed
        assert len(receiver.received) == sent_before + 1
        newest = msgspec.json.decode(receiver.received[-1].body)
        assert newest["data"]["title"] == "GPLX"
        assert UUID(newest["id"]) not in leaving_events


def test_every_kind_renders_in_both_languages():
    payloads = {
        EventKind.DOCUMENT_DEPOSITED: {
            "title": "CCCD",
            "agency_name": "Bộ Công an",
            "provenance": "issued",
        },
        EventKind.DOCUMENT_REVOKED: {"title": "CCCD", "agency_code": "BCA", "reason": "Sai"},
        EventKind.SHARE_OPENED: {
            "share_id": "s",
            "purpose": "Vay vốn",
            "actor_name": "Ngân hàng X",
            "documents": 3,
        },
        EventKind.REQUEST_RECEIVED: {
            "request_id": "r",
            "agency_code": "HCM",
            "agency_name": "UBND Quận 1",
            "purpose": "Hộ tịch",
            "doc_types": ["birth_certificate"],
        },
        EventKind.FILING_STATUS_CHANGED: {
            "filing_id": "f",
            "procedure_code": "MARRIAGE",
            "status": "done",
            "note": None,
        },
        EventKind.FILING_DOCUMENT_FETCHED: {
            "filing_id": "f",
            "procedure_code": "MARRIAGE",
            "document_id": "d",
            "actor_type": "official",
            "actor_name": "Trần Thị Bình (Sở Tư pháp)",
        },
    }
    assert set(payloads) == set(EventKind)
    for kind, payload in payloads.items():
        vi, en = render(kind, payload, "vi"), render(kind, payload, "en")
        assert vi is not None and en is not None, kind
        for text in (vi.title, vi.body, vi.sms, en.title, en.body, en.sms):
            assert text.strip(), kind
        assert vi.title != en.title, kind
    assert (
        "Ngân hàng X" in render(EventKind.SHARE_OPENED, payloads[EventKind.SHARE_OPENED], "en").body
    )  # type: ignore[union-attr]
    assert render("future.kind", {}, "vi") is None
    # a payload of the wrong shape still renders (never crashes the worker)
    assert render(EventKind.SHARE_OPENED, {"documents": "many", "purpose": None}, "vi") is not None


# -- webhooks -----------------------------------------------------------------------------


async def test_webhook_delivery_is_signed_and_verifiable(client, services):
    async with webhook_receivers(1) as [receiver]:
        agency_h, code = await f.agency_headers(services, client)
        r = await client.put("/api/v1/agency/webhook", headers=agency_h, json={"url": receiver.url})
        assert r.status_code == 200, r.text
        secret = r.json()["secret"]
        pid, _ = await f.citizen(services)
        doc = (await f.deposit(client, agency_h, pid, title="Giấy chứng nhận")).json()

        await services.dispatcher.drain()

    [got] = receiver.received
    check_signature(secret, got.headers, got.body)
    body = msgspec.json.decode(got.body)
    assert set(body) == {"id", "type", "created_at", "data"}
    assert body["type"] == "document.deposited"
    assert got.headers["Kho-Event-Id"] == body["id"]
    assert got.headers["Content-Type"] == "application/json"
    assert body["data"]["document_id"] == doc["id"]
    assert body["data"]["agency_code"] == code
    with pytest.raises(AssertionError):  # a signature made with another secret fails
        check_signature(secret + "x", got.headers, got.body)
    with pytest.raises(AssertionError):  # and so does a tampered body
        check_signature(secret, got.headers, got.body.replace(b"document", b"dokument"))


async def test_failing_receivers_are_retried_with_backoff_without_blocking_others(services):
    async with webhook_receivers(3) as (failing, hanging, healthy):
        failing.mode, hanging.mode = "fail", "hang"
        agencies = [
            (await agency_with_webhook(services, r.url))[0] for r in (failing, hanging, healthy)
        ]
        ids = [
            await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "x"}, agency_id=a.id)
            for a in agencies
        ]
        clock = Clock()  # from now on, time moves only when the test says so
        d = dispatcher(services, clock, retry_base_seconds=10.0, max_attempts=3)

        await d.run_once()

        assert len(healthy.received) == 1  # delivered in the same pass as the stuck ones
        by_event = {r.event_id: r for r in await rows(services, DeliveryRow)}
        assert by_event[ids[2]].delivered_at is not None
        for i, error in ((0, "HTTP 500"), (1, "timed out")):
            row = by_event[ids[i]]
            assert row.delivered_at is None
            assert row.attempts == 1
            assert error in (row.last_error or "")
            assert row.available_at == clock.now + timedelta(seconds=10)

        clock.advance(9)
        await d.run_once()  # not due yet
        assert len(failing.received) == 1

        clock.advance(1)
        await d.run_once()  # second attempt, then the wait doubles
        assert len(failing.received) == 2
        row = (await rows(services, DeliveryRow, DeliveryRow.event_id == ids[0]))[0]
        assert row.attempts == 2
        assert row.available_at == clock.now + timedelta(seconds=20)

        failing.mode = "ok"
        clock.advance(20)
        await d.run_once()  # the receiver recovered; the hanging one uses its last try

        assert [r.headers["Kho-Event-Id"] for r in failing.received] == [str(ids[0])] * 3
        assert len(healthy.received) == 1  # never sent twice
        done = {r.event_id: r for r in await rows(services, DeliveryRow)}
        assert done[ids[0]].delivered_at is not None
        given_up = done[ids[1]]
        assert given_up.delivered_at is None and given_up.attempts == 3
        assert "timed out" in (given_up.last_error or "")

        clock.advance(3600)
        await d.run_once()  # given up: left alone, still visible
        assert len(hanging.received) == 3
        status = {s.channel: (s.pending, s.given_up, s.done) for s in await d.status()}
        assert status == {"outbox": (0, 0, 3), "webhook": (0, 1, 2)}


async def test_the_background_loop_delivers_past_a_hung_receiver(services):
    async with webhook_receivers(2) as (hanging, healthy):
        hanging.mode = "hang"
        stuck, _ = await agency_with_webhook(services, hanging.url)
        fine, _ = await agency_with_webhook(services, healthy.url)
        # Note: a webhook timeout (5 s by default) that outlasts the waits below, which
        # a loaded machine can stretch past 5 s.
        patient = WebhookChannel(
            services.database, services.keyring, timeout=30.0, allow_private=True
        )
        d = dispatcher(
            services, channels={"webhook": patient}, send_timeout_seconds=30.0, poll_seconds=0.02
        )
        await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "a"}, agency_id=stuck.id)
        d.start()
        try:
            for _ in range(500):
                if hanging.received:
                    break
                await asyncio.sleep(0.01)
            assert hanging.received  # its POST is open and unanswered from here on
            await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "b"}, agency_id=fine.id)
            d.wake()
            for _ in range(500):
                if healthy.received:
                    break
                await asyncio.sleep(0.01)

            assert len(healthy.received) == 1
            assert not hanging.release.is_set()  # the first POST is still hanging
            hanging.release.set()
        finally:
            await d.stop()
            await patient.aclose()
    delivered = {r.agency_id: r.delivered_at for r in await rows(services, DeliveryRow)}
    assert delivered[fine.id] is not None and delivered[stuck.id] is not None


async def test_redelivered_events_are_not_shown_or_sent_twice(services):
    async with webhook_receivers(1) as [receiver]:
        agency, _ = await agency_with_webhook(services, receiver.url)
        pid, _ = await f.citizen(services)
        oid = await owner_id(services, pid)
        eid = await event(
            services,
            EventKind.DOCUMENT_DEPOSITED,
            {"title": "CCCD"},
            owner_id=oid,
            agency_id=agency.id,
        )
        await services.dispatcher.drain()

        # The worker crashed after sending but before recording it: the event and its
        # deliveries come round again.
        async with services.database.write() as session:
            await session.execute(
                update(OutboxRow).values(processed_at=None, available_at=utcnow())
            )
            await session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.channel == "inapp")
                .values(delivered_at=None, available_at=utcnow())
            )
        await services.dispatcher.drain()

        assert await count(services, NotificationRow, NotificationRow.owner_id == oid) == 1
        channels = Counter(r.channel for r in await rows(services, DeliveryRow))
        assert channels == {"inapp": 1, "webhook": 1}
        assert [r.headers["Kho-Event-Id"] for r in receiver.received] == [str(eid)]


async def test_two_dispatchers_never_deliver_the_same_event_twice(services):
    async with webhook_receivers(1) as [receiver]:
        agency, _ = await agency_with_webhook(services, receiver.url)
        pid, _ = await f.citizen(services)
        oid = await owner_id(services, pid)
        ids = {
            await event(
                services,
                EventKind.DOCUMENT_DEPOSITED,
                {"title": f"#{i}"},
                owner_id=oid,
                agency_id=agency.id,
            )
            for i in range(40)
        }
        first, second = dispatcher(services, batch_size=3), dispatcher(services, batch_size=3)

        done = await asyncio.gather(first.drain(), second.drain())

        assert all(done)  # both took part
        seen = Counter(r.headers["Kho-Event-Id"] for r in receiver.received)
        assert seen == Counter({str(i): 1 for i in ids})
        assert await count(services, NotificationRow, NotificationRow.owner_id == oid) == 40
        assert await count(services, OutboxRow, OutboxRow.processed_at.is_(None)) == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_claim_skips_what_another_worker_holds(services):
    """Deterministic overlap: worker A's claim is still uncommitted when worker B
    claims.  B must take other rows at once, never the same ones (and never wait)."""
    pid, _ = await f.citizen(services)
    oid = await owner_id(services, pid)
    # Note: in-app notifications are written by the fan-out itself; SMS is sent later
    await set_owner(services, oid, phone="+84912345678")
    for i in range(6):
        await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": f"#{i}"}, owner_id=oid)
    a, b = dispatcher(services, batch_size=3), dispatcher(services, batch_size=3)

    async with asyncio.timeout(20), services.database.write() as held:
        assert await held.run_sync(a._fan_out_tx) == 3
        assert await services.database.run_write(b._fan_out_tx) == 3
    outbox = await rows(services, OutboxRow)
    assert all(r.processed_at is not None and r.attempts == 1 for r in outbox)

    async with asyncio.timeout(20), services.database.write() as held:
        mine = await held.run_sync(a._claim_tx)
        theirs = await services.database.run_write(b._claim_tx)
    assert len(mine) == len(theirs) == 3
    assert not {d.id for d in mine} & {d.id for d in theirs}


async def test_unknown_kinds_do_not_crash_the_worker(services):
    async with webhook_receivers(1) as [receiver]:
        agency, _ = await agency_with_webhook(services, receiver.url)
        pid, _ = await f.citizen(services)
        oid = await owner_id(services, pid)
        unknown = await event(services, "future.kind", {"x": 1}, owner_id=oid, agency_id=agency.id)
        known = await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "CCCD"}, owner_id=oid)

        await services.dispatcher.drain()

        outbox = {r.id: r for r in await rows(services, OutboxRow)}
        assert outbox[unknown].processed_at is not None and outbox[known].processed_at is not None
        [n] = await rows(services, NotificationRow)
        assert n.event_id == known  # nothing the citizen could not read
        [got] = receiver.received  # agencies still hear of it
        assert msgspec.json.decode(got.body)["type"] == "future.kind"


async def test_an_event_that_cannot_be_planned_is_retried_and_does_not_stop_others(services):
    pid, _ = await f.citizen(services)
    oid = await owner_id(services, pid)
    bad = await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "x"}, owner_id=oid)
    good = await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "y"}, owner_id=oid)
    async with services.database.write() as session:  # a row no code path writes
        await session.execute(
            update(OutboxRow).where(OutboxRow.id == bad).values(payload=["not", "a", "dict"])
        )
    clock = Clock()

    await dispatcher(services, clock).run_once()

    outbox = {r.id: r for r in await rows(services, OutboxRow)}
    assert outbox[good].processed_at is not None
    # a list payload renders as an empty dict: processed, not stuck
    assert outbox[bad].processed_at is not None
    assert await count(services, NotificationRow) == 2


async def test_an_unreachable_smtp_server_is_retried(services):
    pid, _ = await f.citizen(services)
    oid = await owner_id(services, pid)
    await set_owner(services, oid, email="an@example.vn")
    from sharing.notify import SmtpEmailChannel
    from tests.sharing.servers import free_port

    d = Dispatcher(
        services.database,
        {
            **services.dispatcher.channels,
            "email": SmtpEmailChannel(
                f"smtp://127.0.0.1:{free_port()}", "kho@kho.test", timeout=0.5
            ),
        },
        NotifySettings(),
    )
    await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "CCCD"}, owner_id=oid)

    await d.drain()

    [mail] = await rows(services, DeliveryRow, DeliveryRow.channel == "email")
    assert mail.delivered_at is None and mail.attempts == 1
    assert "SMTP" in (mail.last_error or "")
    assert await count(services, NotificationRow) == 1  # in-app is not held back


async def test_the_in_process_worker_runs_with_the_app(tmp_path, db_url, smtp):
    import httpx

    from kho.app import Services, create_app
    from tests.conftest import close_services, make_settings

    settings = make_settings(tmp_path, db_url, worker_in_process=True, worker_poll_seconds=0.05)
    svc = Services(settings)
    app = create_app(settings, svc)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=transport, base_url="http://kho.test") as client,
        ):
            assert svc.dispatcher._task is not None  # started with the app
            agency, _ = await f.agency_headers(svc, client)
            pid, password = await f.citizen(svc)
            await f.deposit(client, agency, pid)
            citizen = await f.login(client, pid, password)
            for _ in range(200):  # no sleeping on a guess: poll until the worker has run
                items = (await client.get("/api/v1/notifications", headers=citizen)).json()["items"]
                if items:
                    break
                await asyncio.sleep(0.05)
            assert [i["kind"] for i in items] == ["document.deposited"]
        assert svc.dispatcher._task is None  # stopped with the app
    finally:
        await close_services(svc)


def test_notification_settings_are_checked_and_secrets_masked():
    from kho.settings import Settings, SettingsError
    from sharing.notify import SmtpEmailChannel

    s = Settings(smtp_url="smtps://kho:hunter2-secret@mail.example.vn:465")
    assert "hunter2" not in repr(s)
    assert "hunter2" not in repr(SmtpEmailChannel(s.smtp_url or "", s.smtp_from))
    for env in (
        {"KHO_SMTP_URL": "http://mail.example.vn"},
        {"KHO_SMS_BACKEND": "carrier-pigeon"},
        {"KHO_WORKER_POLL_SECONDS": "0"},
        {"KHO_NOTIFY_MAX_ATTEMPTS": "0"},
        {"KHO_WORKER_IN_PROCESS": "sometimes"},
    ):
        with pytest.raises((SettingsError, ValueError)):
            Settings.from_env(env)
    assert Settings.from_env({"KHO_WORKER_IN_PROCESS": "false"}).worker_in_process is False


async def test_key_rotation_keeps_webhook_secrets_usable(services):
    from sharing.notify import WebhookChannel
    from sharing.notify.service import rewrap_webhook_secrets

    async with webhook_receivers(1) as [receiver]:
        agency, secret = await agency_with_webhook(services, receiver.url)
        rotated = services.keyring.with_new_current()

        assert await rewrap_webhook_secrets(services.database, services.keyring, rotated) == 1
        assert await rewrap_webhook_secrets(services.database, rotated, rotated) == 0  # resumable

        only_new = rotated.only_current()  # the old master key is gone
        d = Dispatcher(
            services.database,
            {
                "webhook": WebhookChannel(
                    services.database, only_new, timeout=1.0, allow_private=True
                )
            },
            NotifySettings(),
        )
        await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "x"}, agency_id=agency.id)
        try:
            await d.drain()
        finally:
            await d.aclose()
    [got] = receiver.received
    check_signature(secret, got.headers, got.body)  # the same secret, under the new key


async def test_old_sent_rows_are_purged_and_given_up_ones_kept(services):
    pid, _ = await f.citizen(services)
    oid = await owner_id(services, pid)
    await set_owner(services, oid, email="an@example.vn")
    clock = Clock()
    from sharing.notify import SmtpEmailChannel
    from tests.sharing.servers import free_port

    nowhere = SmtpEmailChannel(f"smtp://127.0.0.1:{free_port()}", "kho@kho.test", timeout=0.5)
    d = Dispatcher(
        services.database,
        {"inapp": services.dispatcher.channels["inapp"], "email": nowhere},
        NotifySettings(retention_days=30, max_attempts=1),
        clock=clock,
    )
    await event(services, EventKind.DOCUMENT_DEPOSITED, {"title": "x"}, owner_id=oid)
    clock.now = utcnow()
    await d.drain()
    assert (await rows(services, DeliveryRow, DeliveryRow.channel == "email"))[0].attempts == 1

    clock.advance(29 * 86400)
    assert await d.purge() == 0
    clock.advance(2 * 86400)
    assert await d.purge() == 2  # the processed event and the in-app delivery

    assert await count(services, OutboxRow) == 0
    [kept] = await rows(services, DeliveryRow)
    assert kept.channel == "email" and kept.delivered_at is None
    assert "SMTP" in (kept.last_error or "")
    assert await count(services, NotificationRow) == 1  # the citizen's list is not touched


# -- what agencies' webhooks hear of openings ----------------------------------------------


async def _registered_webhook(client, agency_headers: dict[str, str], url: str) -> str:
    r = await client.put("/api/v1/agency/webhook", headers=agency_headers, json={"url": url})
    assert r.status_code == 200, r.text
    return str(r.json()["secret"])


def _events(receiver, secret: str) -> list[dict[str, Any]]:
    out = []
    for got in receiver.received:
        check_signature(secret, got.headers, got.body)
        out.append(msgspec.json.decode(got.body))
    return out


async def test_an_agency_hears_when_its_people_open_a_share_or_fetch_a_filing_paper(
    client, services
):
    """Signed ``share.opened`` to the agency when its official opens an agency-audience
    link or it reads an approved request's papers; ``filing.document_fetched`` when a
    filing's paper is fetched.  A link for anyone tells no agency; the citizen is told
    of every opening."""
    async with webhook_receivers(2) as [stp_hook, other_hook]:
        stp, code = await f.agency_headers(
            services, client, code="STP-HN", scopes="deposit,request,filings"
        )
        stp_secret = await _registered_webhook(client, stp, stp_hook.url)
        other, _ = await f.agency_headers(services, client)
        other_secret = await _registered_webhook(client, other, other_hook.url)
        await services.accounts.create_official(code, "can-bo", "Trần Thị Bình", f.PASSWORD)
        r = await client.post(
            "/api/v1/auth/official-login",
            json={"agency": code, "username": "can-bo", "password": f.PASSWORD},
        )
        official = {"Authorization": f"Bearer {r.json()['access_token']}"}
        pid, password = await f.citizen(services)
        citizen = await f.login(client, pid, password)
        paper = (await f.deposit(client, stp, pid, doc_type="citizen_id", title="CCCD")).json()
        await services.dispatcher.drain()
        stp_hook.received.clear()  # the deposit's own event

        # 1. an agency-audience link opened by that agency's official
        for_stp = await client.post(
            "/api/v1/shares",
            headers=citizen,
            json={
                "document_ids": [paper["id"]],
                "ttl_seconds": 3600,
                "audience": {"agency": code},
                "purpose": "Xác minh",
            },
        )
        assert for_stp.status_code == 201, for_stp.text
        r = await client.get(f"/api/v1/shared/{for_stp.json()['token']}", headers=official)
        assert r.status_code == 200, r.text
        # 2. a link for anyone, opened by the other agency: no agency is told
        anyone = await client.post(
            "/api/v1/shares",
            headers=citizen,
            json={"document_ids": [paper["id"]], "ttl_seconds": 3600, "purpose": "x"},
        )
        r = await client.get(f"/api/v1/shared/{anyone.json()['token']}", headers=other)
        assert r.status_code == 200, r.text
        # 3. a consent request, approved, then read by the agency
        expires = (utcnow() + timedelta(days=1)).isoformat()
        req = await client.post(
            "/api/v1/agency/requests",
            headers=stp,
            json={
                "personal_id": pid,
                "doc_types": ["citizen_id"],
                "purpose": "Kết hôn",
                "expires_at": expires,
            },
        )
        assert req.status_code == 201, req.text
        rid = req.json()["id"]
        r = await client.post(f"/api/v1/requests/{rid}/approve", headers=citizen, json={})
        assert r.status_code == 200, r.text
        r = await client.get(f"/api/v1/agency/requests/{rid}", headers=stp)
        assert r.status_code == 200 and len(r.json()["documents"]) == 1, r.text
        await services.dispatcher.drain()

        opened = {
            e["data"]["share_id"]: e["data"]
            for e in _events(stp_hook, stp_secret)  # sent concurrently: in any order
            if e["type"] == "share.opened"
        }
        assert set(opened) == {for_stp.json()["id"], r.json()["share_id"]}
        assert opened[for_stp.json()["id"]]["actor_name"].startswith("Trần Thị Bình (")
        assert opened[r.json()["share_id"]]["request_id"] == rid
        assert _events(other_hook, other_secret) == []
        seen = await rows(services, NotificationRow, NotificationRow.kind == "share.opened")
        assert len(seen) == 3  # the citizen hears of all three openings

        # 4. a filing's paper fetched by the receiving agency
        draft = await client.post(
            "/api/v1/filings",
            headers=citizen,
            json={"procedure_code": "judicial_record_certificate"},
        )
        assert draft.status_code == 201, draft.text
        residence = await f.upload(client, citizen, f.pdf("cu tru"), doc_type="residence")
        fid = draft.json()["id"]
        r = await client.put(
            f"/api/v1/filings/{fid}/documents/residence",
            headers=citizen,
            json={"document_id": residence["id"]},
        )
        assert r.status_code == 200, r.text
        form = {
            "phone": "0912 345 678",
            "birth_date": "1990-05-17",
            "form_number": "1",
            "purpose": "Xin việc",
            "copies": "1",
        }
        r = await client.patch(
            f"/api/v1/filings/{fid}/form", headers=citizen, json={"values": form}
        )
        assert r.status_code == 200, r.text
        assert (
            await client.post(f"/api/v1/filings/{fid}/submit", headers=citizen)
        ).status_code == 200
        await services.dispatcher.drain()
        stp_hook.received.clear()
        got = await client.get(
            f"/api/v1/agency/filings/{fid}/documents/{residence['id']}/content", headers=stp
        )
        assert got.status_code == 200, got.text
        missing = await client.get(
            f"/api/v1/agency/filings/{fid}/documents/{uuid7()}/content", headers=stp
        )
        assert missing.status_code == 404  # a fetch that did not happen tells nobody
        await services.dispatcher.drain()

        [fetched] = _events(stp_hook, stp_secret)
        assert fetched["type"] == "filing.document_fetched"
        assert fetched["data"]["filing_id"] == fid
        assert fetched["data"]["document_id"] == residence["id"]
        assert fetched["data"]["procedure_code"] == "judicial_record_certificate"
        assert fetched["data"]["actor_type"] == "agency"
