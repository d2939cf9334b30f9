"""The registry source coalesces concurrent reads without ever answering a caller with
a read that began before its call (share views ask for the registry on every request)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from kho.app import Services
from vault import Database
from verification.registry_db import DatabaseRegistrySource, RegistryService

T = TypeVar("T")


class HeldAfterReading:
    """The real database, except that a version read, once made, waits at a gate before
    answering (a fake around the real thing: it makes "a read in flight" last)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.gate = asyncio.Event()
        self.gate.set()
        self.read_made = asyncio.Event()

    async def run_query(self, fn: Callable[[Any], T]) -> T:
        result = await self._db.run_query(fn)
        self.read_made.set()
        await self.gate.wait()
        return result

    async def run_read(self, fn: Callable[[Any], T]) -> T:
        return await self._db.run_read(fn)


async def test_concurrent_callers_share_reads(services: Services) -> None:
    source = DatabaseRegistrySource(services.database)
    await source.current()
    before = source.reads

    got = await asyncio.gather(*(source.current() for _ in range(50)))

    assert all(r is got[0] for r in got)
    assert source.reads - before <= 2  # the one in flight and the one after it


async def test_a_caller_never_gets_a_read_older_than_its_call(services: Services) -> None:
    held = HeldAfterReading(services.database)
    source = DatabaseRegistrySource(held)  # type: ignore[arg-type]
    registry = RegistryService(services.database)
    old = (await source.current()).version

    held.gate.clear()
    held.read_made.clear()
    early = asyncio.create_task(source.current())
    await held.read_made.wait()  # its read has been made, not yet answered
    await registry.add_document_type("coalescing_probe", "Thử", "Probe")
    late = asyncio.create_task(source.current())  # arrives after the change
    await asyncio.sleep(0.05)
    assert not late.done()
    held.gate.set()

    assert (await early).version == old
    assert (await late).version == old + 1
