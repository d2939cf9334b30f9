"""Persistence of the CSC service: credentials and issued SADs.

``CredentialStore`` offers one primitive, an exclusive read-modify-write
``transaction()``; every state change (failed-PIN counter, lock, SAD issue and use) goes
through it, so two requests can never both consume one SAD or both read a stale counter.
Implementations: ``MemoryCredentialStore`` (tests, a single process),
``FileCredentialStore`` (one JSON file, an ``flock`` across processes on one machine,
atomic replace on write) and ``DatabaseCredentialStore`` (the default: one versioned row
in Kho's database, locked for the whole transaction, so processes on several machines
serialise too).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import anyio.from_thread
import msgspec
from sqlalchemy import BigInteger, Integer, LargeBinary, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

from signing.csc.models import CredentialRecord, SadRecord
from vault.db import Base, Database


class CscState(msgspec.Struct, kw_only=True):
    """The whole mutable state.  ``sads`` is keyed by the SHA-256 (hex) of the token."""

    credentials: dict[str, CredentialRecord] = msgspec.field(default_factory=dict)
    sads: dict[str, SadRecord] = msgspec.field(default_factory=dict)


class CredentialStore(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager[CscState]:
        """Exclusive access to the state; changes made to it persist when the block
        exits normally and are discarded when it raises."""
        ...

    def snapshot(self) -> CscState:
        """A consistent copy for reading; changing it changes nothing."""
        ...


def _copy(state: CscState) -> CscState:
    # Note: records are frozen, so copying the two dicts is a full copy.
    return CscState(credentials=dict(state.credentials), sads=dict(state.sads))


class MemoryCredentialStore:
    """State in this process's memory (tests; a single process only)."""

    def __init__(self) -> None:
        self._state = CscState()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CscState]:
        with self._lock:
            work = _copy(self._state)
            yield work
            self._state = work

    def snapshot(self) -> CscState:
        with self._lock:
            return _copy(self._state)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(CscState)


class FileCredentialStore:
    """State in ``{directory}/csc-state.json`` (mode 0600), guarded by an ``flock`` on
    ``{directory}/csc-state.lock`` so processes on one machine serialise too.  A write
    goes to a temporary file, is fsynced and renamed over the old one, so a crash leaves
    either the old or the new state, never a torn file."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._path = directory / "csc-state.json"
        self._lock_path = directory / "csc-state.lock"
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileCredentialStore({str(self._dir)!r})"

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self._dir.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield
            finally:
                os.close(fd)

    def _read(self) -> tuple[CscState, bytes]:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return CscState(), b""
        return _DECODER.decode(raw), raw

    def _write(self, payload: bytes) -> None:
        tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self._path)
        dir_fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CscState]:
        with self._locked(exclusive=True):
            state, before = self._read()
            yield state
            after = _ENCODER.encode(state)
            if after != before:
                self._write(after)

    def snapshot(self) -> CscState:
        with self._locked(exclusive=False):
            return self._read()[0]


class CscStateRow(Base):
    """The CSC state as one JSON document (``CscState``); ``version`` counts writes."""

    __tablename__ = "csc_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[bytes] = mapped_column(LargeBinary)


_ROW_ID = 1


class _Discard(Exception):
    """Ends a database transaction without committing (the block raised)."""


def _read_row(conn: Connection | Session) -> CscState:
    raw = conn.execute(select(CscStateRow.state).where(CscStateRow.id == _ROW_ID)).scalar()
    return _DECODER.decode(raw) if raw else CscState()


def _lock_row(session: Session) -> bytes:
    """The stored document, its row locked until the transaction ends (``FOR UPDATE`` on
    PostgreSQL; on SQLite the write transaction already excludes every other writer)."""
    query = select(CscStateRow.state).where(CscStateRow.id == _ROW_ID).with_for_update()
    raw = session.execute(query).scalar()
    if raw is None:
        # Note: the first transaction (or one after the table was emptied) creates the
        # row; a concurrent creator is absorbed by ON CONFLICT and we then wait for its
        # lock like anyone else.
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        values = {"id": _ROW_ID, "version": 0, "state": b""}
        session.execute(dialect.insert(CscStateRow).values(values).on_conflict_do_nothing())
        raw = session.execute(query).scalar_one()
    return bytes(raw)


def _save_row(session: Session, payload: bytes) -> None:
    session.execute(
        update(CscStateRow)
        .where(CscStateRow.id == _ROW_ID)
        .values(state=payload, version=CscStateRow.version + 1)
    )


class DatabaseCredentialStore:
    """State in Kho's database: one row of ``csc_state`` holding the JSON document.

    ``transaction()`` holds a database write transaction with that row locked (``SELECT
    … FOR UPDATE`` on PostgreSQL; the single writer on SQLite) from the read until the
    write, so every Kho process on every machine serialises on it.  Like the service
    that calls it, it blocks: call ``transaction()`` and ``snapshot()`` from an AnyIO
    worker thread (``anyio.to_thread.run_sync``); the work itself runs on the event
    loop that owns ``db``.  ``snapshot()`` also works outside a worker thread (on the
    event loop thread itself, for ``CscService.current_otp``), over a connection of its
    own."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"DatabaseCredentialStore({self._db.engine.url.render_as_string()!r})"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CscState]:
        loop: asyncio.AbstractEventLoop = anyio.from_thread.run_sync(asyncio.get_running_loop)
        ready: concurrent.futures.Future[tuple[bytes, asyncio.Future[bytes | None]]] = (
            concurrent.futures.Future()
        )
        held = asyncio.run_coroutine_threadsafe(self._hold(ready), loop)
        before, finish = ready.result()
        state = _DECODER.decode(before) if before else CscState()
        try:
            yield state
        except BaseException:
            loop.call_soon_threadsafe(finish.set_result, None)
            with contextlib.suppress(Exception):
                held.result()
            raise
        loop.call_soon_threadsafe(finish.set_result, _ENCODER.encode(state))
        held.result()

    async def _hold(
        self, ready: concurrent.futures.Future[tuple[bytes, asyncio.Future[bytes | None]]]
    ) -> None:
        """On the event loop: one write transaction, open while the worker thread runs
        the block; commits the document it hands back, or nothing (``None``)."""
        try:
            async with self._db.write() as session:
                before = await session.run_sync(_lock_row)
                finish: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
                ready.set_result((before, finish))
                after = await finish
                if after is None:
                    raise _Discard
                if after != before:
                    await session.run_sync(_save_row, after)
        except _Discard:
            pass
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def snapshot(self) -> CscState:
        try:
            return anyio.from_thread.run(self._db.run_read, _read_row)
        except RuntimeError as exc:
            if "worker thread" not in str(exc):
                raise
        return self._snapshot_outside_worker()

    def _snapshot_outside_worker(self) -> CscState:
        if self._db.sync_engine is not None:
            with self._db.sync_engine.connect() as conn:
                try:
                    return _read_row(conn)
                finally:
                    conn.rollback()
        # Note: the pooled connections belong to the event loop, which may be this very
        # thread; a short-lived engine in a helper thread reads without it.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._read_own_engine()).result()

    async def _read_own_engine(self) -> CscState:
        engine = create_async_engine(self._db.engine.url, poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(_read_row)
        finally:
            await engine.dispose()
