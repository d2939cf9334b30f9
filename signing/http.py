"""One aiohttp client session per process for signing's outbound HTTP (a TSA, a CSC
provider), on an event loop of its own.

Seals run pyHanko on short-lived event loops in worker threads (see
``signing.service._off_loop``), and an ``aiohttp.ClientSession`` belongs to the loop that
created it.  ``HttpLoop`` keeps one loop in a daemon thread with one session whose
connection pool (keep-alive, TLS sessions) every caller shares, whichever loop it runs
on: ``await http.run(coro_fn)`` runs ``coro_fn(session)`` there and awaits the result.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TypeVar

import aiohttp

T = TypeVar("T")


class HttpLoop:
    """A daemon thread running an event loop that owns one ``aiohttp.ClientSession``.

    Nothing starts until the first ``run``.  ``close`` (also registered with ``atexit``)
    closes the session and stops the thread; a closed ``HttpLoop`` starts afresh on the
    next ``run``."""

    def __init__(self, *, connections: int = 16) -> None:
        self._connections = connections
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: aiohttp.ClientSession | None = None

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()
                    loop.close()

                self._thread = threading.Thread(target=serve, name="kho-signing-http", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
                atexit.register(self.close)
            return self._loop

    async def _session_for(self) -> aiohttp.ClientSession:
        # Note: runs on the owned loop only, so no lock is needed around the lazy create.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections)
            )
        return self._session

    async def run(self, call: Callable[[aiohttp.ClientSession], Awaitable[T]]) -> T:
        """Await ``call(session)`` on the owned loop, from any loop."""
        loop = self._start()

        async def with_session() -> T:
            return await call(await self._session_for())

        future: Future[T] = asyncio.run_coroutine_threadsafe(with_session(), loop)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Close the session and stop the thread (idempotent; blocks until done)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        atexit.unregister(self.close)

        async def shutdown() -> None:
            if self._session is not None:
                await self._session.close()
                self._session = None

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
