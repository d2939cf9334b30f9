"""Real servers for notification tests: an SMTP sink (aiosmtpd) and webhook receivers
(aiohttp) on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    """Collects every message an aiosmtpd server receives (it runs in its own thread)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[SmtpSink, str]]:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield sink, f"smtp://127.0.0.1:{port}"
    finally:
        await asyncio.to_thread(controller.stop)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint.  ``mode``: ``ok`` answers 204, ``fail`` answers 500,
    ``hang`` never answers (until the test ends)."""

    url: str = ""
    mode: str = "ok"
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(Received(dict(request.headers), await request.read()))
        if self.mode == "hang":
            with suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), 20)
            return web.Response(status=204)
        if self.mode == "fail":
            return web.Response(status=500, text="boom")
        return web.Response(status=204)


@asynccontextmanager
async def webhook_receivers(n: int) -> AsyncIterator[list[Receiver]]:
    """``n`` receivers on one aiohttp server in this event loop, at ``/hook/<i>``."""
    receivers = [Receiver() for _ in range(n)]
    app = web.Application()
    for i, r in enumerate(receivers):
        app.router.add_post(f"/hook/{i}", r.handle)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    for i, r in enumerate(receivers):
        r.url = f"http://127.0.0.1:{port}/hook/{i}"
    try:
        yield receivers
    finally:
        for r in receivers:
            r.release.set()
        await runner.cleanup()
