"""Untrusted PDFs parsed at arm's length: a small pool of warm worker processes.

Each worker is a ``spawn``-ed process (no state inherited from the server) that imports
pyHanko once, lowers its own ``RLIMIT_AS`` and then answers requests over a pipe
(msgpack-encoded ``Request`` in, ``Analysis`` out).  Before each request it sets
``RLIMIT_CPU`` to the CPU time it has used so far plus ``cpu_seconds``; the parent
waits at most ``timeout_seconds`` of wall-clock time.  A worker that runs out of memory
answers ``too_complex`` (``MemoryError``) or dies; one that exceeds its CPU time is
killed by the kernel (``SIGXCPU``); one that exceeds the wall clock is killed by the
parent.  In each case the request gets an ``Analysis(outcome="too_complex")`` and the
worker is replaced, so a PDF bomb costs one worker, never the server.

``InProcessAnalyser`` runs the same analysis in this process (a thread), with no
limits: only for files Kho itself produced, and for benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import resource
from multiprocessing.process import BaseProcess
from typing import Protocol

import anyio.to_thread
import msgspec

from verification.analysis import Analysis, Request
from verification.errors import VerificationUnavailable

MiB = 1024 * 1024


_PIPE_BUFFER = 64 * 1024


class SandboxSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Limits of a worker: address space (bytes), CPU seconds per request, wall-clock
    seconds per request; ``workers`` processes (``0``: one per CPU);
    ``max_pdf_bytes``: larger files are refused as ``too_complex`` without parsing."""

    workers: int = 0
    memory_bytes: int = 512 * MiB
    cpu_seconds: int = 10
    timeout_seconds: float = 15.0
    max_pdf_bytes: int = 64 * MiB
    start_timeout_seconds: float = 60.0


class Analyser(Protocol):
    """Runs ``verification.analysis.analyse`` somewhere."""

    async def analyse(self, request: Request) -> Analysis: ...

    async def aclose(self) -> None: ...


class InProcessAnalyser:
    """The analysis in this process's thread pool; no limits (trusted input only)."""

    async def analyse(self, request: Request) -> Analysis:
        from verification.analysis import analyse

        return await anyio.to_thread.run_sync(lambda: asyncio.run(analyse(request)))

    async def aclose(self) -> None:
        return None


# -- the worker process ------------------------------------------------------------------


_READY = b"ready"


def _worker_main(conn: multiprocessing.connection.Connection, memory_bytes: int) -> None:
    """Entry point of a worker process."""
    # security: limit the address space before touching any untrusted byte.
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    from verification.analysis import analyse, use_fast_hex_strings

    use_fast_hex_strings()

    loop = asyncio.new_event_loop()
    encoder = msgspec.msgpack.Encoder()
    decoder = msgspec.msgpack.Decoder(tuple[int, Request])
    conn.send_bytes(_READY)
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return
        cpu_seconds, request = decoder.decode(raw)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = int(usage.ru_utime + usage.ru_stime) + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (used + cpu_seconds, hard))
        try:
            result = loop.run_until_complete(analyse(request))
            del request, raw
            payload = encoder.encode(result)
        except MemoryError:
            payload = encoder.encode(Analysis(outcome="too_complex", detail="MemoryError"))
        conn.send_bytes(payload)


class _Worker:
    def __init__(self, process: BaseProcess, conn: multiprocessing.connection.Connection) -> None:
        self.process = process
        self.conn = conn
        self.ready = False

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class SandboxPool:
    """A pool of warm, limited worker processes (see the module docstring).

    ``start()`` spawns the workers and waits until each has imported pyHanko (call it
    at application start so the first verification is not slow); ``analyse`` starts
    the pool on first use otherwise.  Raises ``VerificationUnavailable`` only when no
    worker can be started."""

    def __init__(self, settings: SandboxSettings | None = None) -> None:
        self._settings = settings or SandboxSettings()
        count = self._settings.workers or os.cpu_count() or 1
        self._count = max(1, count)
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._start_lock: asyncio.Lock | None = None
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(Analysis)
        self.replaced = 0

    @property
    def settings(self) -> SandboxSettings:
        return self._settings

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, self._settings.memory_bytes),
            name="kho-verify-worker",
            daemon=True,
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._all.add(worker)
        return worker

    async def start(self) -> None:
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._idle is not None:
                return
            idle: asyncio.Queue[_Worker] = asyncio.Queue()
            workers = [self._spawn() for _ in range(self._count)]
            for worker in workers:
                await self._await_ready(worker)
                idle.put_nowait(worker)
            self._idle = idle

    async def _await_ready(self, worker: _Worker) -> None:
        try:
            await self._wait_readable(worker, self._settings.start_timeout_seconds)
            hello = worker.conn.recv_bytes()
        except (TimeoutError, EOFError, OSError) as exc:
            worker.kill()
            self._all.discard(worker)
            raise VerificationUnavailable(f"a verification worker did not start: {exc!r}") from None
        if hello != _READY:
            worker.kill()
            raise VerificationUnavailable("a verification worker answered nonsense")
        worker.ready = True

    async def _wait_readable(self, worker: _Worker, limit: float) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        fd = worker.conn.fileno()

        def readable() -> None:
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await asyncio.wait_for(fut, limit)
        finally:
            loop.remove_reader(fd)

    async def analyse(self, request: Request) -> Analysis:
        """The worker's ``Analysis`` of ``request``, or ``too_complex`` when the file
        is larger than ``max_pdf_bytes`` or the worker hit a limit."""
        if len(request.pdf) > self._settings.max_pdf_bytes:
            return Analysis(outcome="too_complex", detail="the file is larger than allowed")
        if self._idle is None:
            await self.start()
        assert self._idle is not None
        worker = await self._idle.get()
        replace = True
        try:
            if not worker.ready:
                await self._await_ready(worker)
            payload = self._encoder.encode((self._settings.cpu_seconds, request))
            # Note: uvloop's add_reader (in _wait_readable) leaves the pipe non-blocking,
            # and a send larger than the pipe's buffer then fails half-way with
            # BlockingIOError; the pipe is made blocking again, and a large send goes
            # through a thread so the event loop never waits on the worker reading.
            os.set_blocking(worker.conn.fileno(), True)
            if len(payload) > _PIPE_BUFFER:
                await anyio.to_thread.run_sync(worker.conn.send_bytes, payload)
            else:
                worker.conn.send_bytes(payload)
            try:
                await self._wait_readable(worker, self._settings.timeout_seconds)
                raw = worker.conn.recv_bytes()
            except TimeoutError:
                return Analysis(outcome="too_complex", detail="wall-clock limit exceeded")
            except (EOFError, OSError):
                return Analysis(outcome="too_complex", detail=_death(worker))
            result = self._decoder.decode(raw)
            replace = False
            return result
        finally:
            if replace:
                worker.kill()
                self._all.discard(worker)
                self.replaced += 1
                worker = self._spawn()
            self._idle.put_nowait(worker)

    async def aclose(self) -> None:
        for worker in list(self._all):
            worker.kill()
        self._all.clear()
        self._idle = None


def _death(worker: _Worker) -> str:
    worker.process.join(timeout=1)
    code = worker.process.exitcode
    if code is not None and code < 0:
        return f"the worker was killed by signal {-code} (a resource limit)"
    return f"the worker exited ({code})"
