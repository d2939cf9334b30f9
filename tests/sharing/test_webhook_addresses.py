"""Agency webhooks reach only public addresses (SSRF): refused at registration and
again at delivery, after DNS resolution, unless KHO_WEBHOOK_ALLOW_PRIVATE."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import httpx
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from sqlalchemy import select

from kho.app import Services, create_app
from kho.settings import Settings
from sharing.notify import Dispatcher, NotificationService, NotifySettings, WebhookChannel
from sharing.notify.addresses import BlockedAddress, PublicOnlyResolver, check_host, is_public
from sharing.notify.db import DeliveryRow
from sharing.notify.service import check_webhook_url
from tests import factories as f
from tests.conftest import close_services, make_settings
from tests.sharing.servers import webhook_receivers
from vault.errors import InvalidInput
from vault.outbox import EventKind, enqueue

NOT_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "169.254.169.254",  # cloud metadata
    "fe80::1",
    "fc00::1",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "192.0.2.10",  # documentation
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:10.0.0.1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "203.162.4.191", "2606:4700:4700::1111"]


def test_only_public_unicast_addresses_pass():
    for text in NOT_PUBLIC:
        assert not is_public(ipaddress.ip_address(text)), text
    for text in PUBLIC:
        assert is_public(ipaddress.ip_address(text)), text


def test_local_names_and_private_literals_are_refused_without_dns():
    for host in [
        *NOT_PUBLIC,
        "[::1]",
        "localhost",
        "LOCALHOST.",
        "kho.localhost",
        "db.internal",
        "printer.local",
        "receiver",
    ]:
        with pytest.raises(BlockedAddress):
            check_host(host)
    for host in [*PUBLIC, "hooks.example.vn", "[2606:4700:4700::1111]"]:
        check_host(host)


async def test_the_default_refuses_private_targets_at_registration(tmp_path: Path, db_url: str):
    """KHO_WEBHOOK_ALLOW_PRIVATE defaults to false: the API answers 422 for every
    non-public target, and accepts a public name."""
    assert Settings().webhook_allow_private is False
    # the suite's settings allow loopback receivers; these are the default's
    strict = make_settings(tmp_path, db_url, webhook_allow_private=False)
    svc = Services(strict)
    try:
        app = create_app(strict, svc)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as client:
            agency, _ = await f.agency_headers(svc, client)
            for url in [
                "http://127.0.0.1:8080/hook",
                "http://[::1]/hook",
                "http://localhost/hook",
                "https://10.0.0.7/hook",
                "http://169.254.169.254/latest/meta-data",
                "http://[::ffff:192.168.0.1]/",
                "https://intranet.internal/hook",
            ]:
                r = await client.put("/api/v1/agency/webhook", headers=agency, json={"url": url})
                problem = f.assert_problem(r, 422)
                assert problem["field"] == "url", url
                assert "public" in problem["detail"], problem
            f.assert_problem(await client.get("/api/v1/agency/webhook", headers=agency), 404)
            ok = await client.put(
                "/api/v1/agency/webhook", headers=agency, json={"url": "https://hooks.example.vn/k"}
            )
            assert ok.status_code == 200, ok.text
    finally:
        await close_services(svc)


class FakeDns(AbstractResolver):
    """A resolver with fixed answers (a fake, not a mock): what a hostile DNS could say."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.answers[host]
        ]

    async def close(self) -> None:
        return None


async def test_every_resolved_address_must_be_public():
    dns = FakeDns({"ok.example.vn": ["8.8.8.8"], "mixed.example.vn": ["8.8.4.4", "10.0.0.1"]})
    guarded = PublicOnlyResolver(dns)

    found = await guarded.resolve("ok.example.vn", 443)
    assert [r["host"] for r in found] == ["8.8.8.8"]  # what the connection will use
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.1"):
        await guarded.resolve("mixed.example.vn", 443)
    with pytest.raises(BlockedAddress):
        await guarded.resolve("localhost", 80)
    assert "localhost" not in dns.asked  # refused before any lookup


async def _deliver_one(services, url: str, channel: WebhookChannel) -> DeliveryRow:
    creds = await services.accounts.create_agency(f"WH{f.personal_id()}", "Sở Tư pháp")
    # registered while private targets were allowed (or the name's DNS changed since)
    permissive = NotificationService(
        services.database, services.keyring, webhook_allow_private=True
    )
    await permissive.set_webhook(creds.agency.id, url)
    await services.database.run_write(
        lambda s: enqueue(
            s, EventKind.DOCUMENT_DEPOSITED, {"title": "x"}, agency_id=creds.agency.id
        )
    )
    d = Dispatcher(services.database, {"webhook": channel}, NotifySettings(max_attempts=1))
    try:
        await d.drain()
    finally:
        await d.aclose()
    async with services.database.read() as session:
        [row] = (
            await session.scalars(
                select(DeliveryRow).where(DeliveryRow.agency_id == creds.agency.id)
            )
        ).all()
    return row


async def test_delivery_refuses_a_private_target_by_default(services):
    async with webhook_receivers(2) as [loopback, by_name]:
        strict = WebhookChannel(services.database, services.keyring, timeout=2.0)
        row = await _deliver_one(services, loopback.url, strict)
        assert row.delivered_at is None
        assert "not a public internet address" in (row.last_error or "")

        # a name whose DNS answer is the loopback receiver: refused after resolution
        port = by_name.url.split(":")[2].split("/")[0]
        dns = FakeDns({"receiver.example.vn": ["127.0.0.1"]})
        steered = WebhookChannel(services.database, services.keyring, timeout=2.0, dns=dns)
        url = f"http://receiver.example.vn:{port}/hook/1"
        row = await _deliver_one(services, url, steered)
        assert dns.asked == ["receiver.example.vn"]
        assert row.delivered_at is None
        assert "127.0.0.1" in (row.last_error or "")

        # the same name and receiver with private targets allowed: delivered
        allowed = WebhookChannel(
            services.database, services.keyring, timeout=2.0, allow_private=True, dns=dns
        )
        row = await _deliver_one(services, url, allowed)
        assert row.delivered_at is not None

    assert loopback.received == []
    assert len(by_name.received) == 1


def test_the_registration_check_can_be_relaxed():
    with pytest.raises(InvalidInput):
        check_webhook_url("http://127.0.0.1/h")
    assert check_webhook_url("http://127.0.0.1/h", allow_private=True) == "http://127.0.0.1/h"
