"""Persistence of the CSC service: credentials and issued SADs, one record each.

``CredentialStore`` offers record-level primitives, each atomic on its own: ``add``,
``get``, ``list_user``, ``update`` (a read-modify-write of ONE credential under that
credential's lock, optionally issuing a SAD in the same transaction) and ``spend_sad``
(marks a SAD used with a conditional write, so two requests can never both consume it).
Signings of different credentials never wait for each other.  Implementations:
``MemoryCredentialStore`` (tests, a single process), ``FileCredentialStore`` (one JSON
file, an ``flock`` across processes on one machine, atomic replace on write) and
``DatabaseCredentialStore`` (the default: a row per credential in ``csc_credentials``
and per SAD in ``csc_sads``, locked with ``SELECT … FOR UPDATE`` on PostgreSQL; the
single writer on SQLite).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Protocol, TypeVar

import anyio.to_thread
import msgspec
from sqlalchemy import Boolean, Connection, LargeBinary, String, delete, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from signing.csc.errors import CredentialExists, CredentialNotFound
from signing.csc.models import CredentialRecord, SadRecord
from vault.db import Base, Database, UTCDateTime

T = TypeVar("T")

NewSad = tuple[str, SadRecord]
"""A SAD to issue: the SHA-256 (hex) of the token, and its record."""

Change = Callable[[CredentialRecord], tuple[CredentialRecord, NewSad | None]]
"""Given the current record, the record to store and an optional SAD to issue."""


class CredentialStore(Protocol):
    async def add(self, record: CredentialRecord) -> None:
        """Store a new credential; raises ``CredentialExists`` for a taken id."""
        ...

    async def get(self, credential_id: str) -> CredentialRecord | None: ...

    async def ids(self) -> list[str]:
        """Every credential's id (maintenance: rewrapping secrets)."""
        ...

    async def list_user(self, user: str) -> list[CredentialRecord]:
        """``user``'s credentials, oldest first."""
        ...

    async def update(self, credential_id: str, change: Change, *, now: datetime) -> None:
        """One atomic read-modify-write of one credential: ``change`` gets the current
        record under that credential's exclusive lock; the record it returns and the SAD
        it issues (if any) are stored together, and that credential's SADs expired at
        ``now`` are dropped.  Raises ``CredentialNotFound``; when ``change`` raises,
        nothing is stored and the exception propagates."""
        ...

    async def spend_sad(self, key: str) -> SadRecord | None:
        """Mark the SAD stored under ``key`` used, atomically, and return it as it was
        before (``used`` is true when it had already been spent), or ``None``."""
        ...


class CscState(msgspec.Struct, kw_only=True):
    """The memory and file stores' whole state.  ``sads`` is keyed by the SHA-256 (hex)
    of the token."""

    credentials: dict[str, CredentialRecord] = msgspec.field(default_factory=dict)
    sads: dict[str, SadRecord] = msgspec.field(default_factory=dict)


def _add(state: CscState, record: CredentialRecord) -> bool:
    if record.credential_id in state.credentials:
        raise CredentialExists(record.credential_id)
    state.credentials[record.credential_id] = record
    return True


def _list_user(state: CscState, user: str) -> list[CredentialRecord]:
    records = [r for r in state.credentials.values() if r.user == user]
    return sorted(records, key=lambda r: r.created_at)


def _update(state: CscState, credential_id: str, change: Change, now: datetime) -> bool:
    current = state.credentials.get(credential_id)
    if current is None:
        raise CredentialNotFound(credential_id)
    new, sad = change(current)
    state.credentials[credential_id] = new
    for key in [
        k for k, v in state.sads.items() if v.credential_id == credential_id and v.expires_at <= now
    ]:
        del state.sads[key]
    if sad is not None:
        state.sads[sad[0]] = sad[1]
    return True


def _spend(state: CscState, key: str) -> tuple[SadRecord | None, bool]:
    entry = state.sads.get(key)
    if entry is None:
        return None, False
    if not entry.used:
        state.sads[key] = msgspec.structs.replace(entry, used=True)
        return entry, True
    return entry, False


class MemoryCredentialStore:
    """State in this process's memory (tests; a single process only)."""

    def __init__(self) -> None:
        self._state = CscState()
        self._lock = threading.Lock()

    async def add(self, record: CredentialRecord) -> None:
        with self._lock:
            _add(self._state, record)

    async def get(self, credential_id: str) -> CredentialRecord | None:
        with self._lock:
            return self._state.credentials.get(credential_id)

    async def ids(self) -> list[str]:
        with self._lock:
            return list(self._state.credentials)

    async def list_user(self, user: str) -> list[CredentialRecord]:
        with self._lock:
            return _list_user(self._state, user)

    async def update(self, credential_id: str, change: Change, *, now: datetime) -> None:
        with self._lock:
            # Note: work on a copy so a raising ``change`` leaves the state untouched.
            work = CscState(credentials=dict(self._state.credentials), sads=dict(self._state.sads))
            _update(work, credential_id, change, now)
            self._state = work

    async def spend_sad(self, key: str) -> SadRecord | None:
        with self._lock:
            return _spend(self._state, key)[0]


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(CscState)


class FileCredentialStore:
    """State in ``{directory}/csc-state.json`` (mode 0600), guarded by an ``flock`` on
    ``{directory}/csc-state.lock`` so processes on one machine serialise too.  A write
    goes to a temporary file, is fsynced and renamed over the old one, so a crash leaves
    either the old or the new state, never a torn file.  Every call runs in a worker
    thread."""

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

    def _read(self) -> CscState:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return CscState()
        return _DECODER.decode(raw)

    def _write(self, state: CscState) -> None:
        tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, _ENCODER.encode(state))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self._path)
        dir_fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _with_state(self, fn: Callable[[CscState], tuple[T, bool]], exclusive: bool) -> T:
        with self._locked(exclusive):
            state = self._read()
            result, changed = fn(state)
            if changed:
                self._write(state)
            return result

    async def _run(self, fn: Callable[[CscState], tuple[T, bool]], exclusive: bool) -> T:
        return await anyio.to_thread.run_sync(self._with_state, fn, exclusive)

    async def add(self, record: CredentialRecord) -> None:
        await self._run(lambda s: (None, _add(s, record)), True)

    async def get(self, credential_id: str) -> CredentialRecord | None:
        return await self._run(lambda s: (s.credentials.get(credential_id), False), False)

    async def ids(self) -> list[str]:
        return await self._run(lambda s: (list(s.credentials), False), False)

    async def list_user(self, user: str) -> list[CredentialRecord]:
        return await self._run(lambda s: (_list_user(s, user), False), False)

    async def update(self, credential_id: str, change: Change, *, now: datetime) -> None:
        await self._run(lambda s: (None, _update(s, credential_id, change, now)), True)

    async def spend_sad(self, key: str) -> SadRecord | None:
        return await self._run(lambda s: _spend(s, key), True)


class CscCredentialRow(Base):
    """One CSC credential: its ``CredentialRecord`` as JSON in ``record`` (failed-PIN
    counter and lock included), with the columns it is looked up by."""

    __tablename__ = "csc_credentials"

    credential_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    record: Mapped[bytes] = mapped_column(LargeBinary)


class CscSadRow(Base):
    """One issued SAD, keyed by the SHA-256 (hex) of the token (never the token)."""

    __tablename__ = "csc_sads"

    sad_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    credential_id: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used: Mapped[bool] = mapped_column(Boolean)
    record: Mapped[bytes] = mapped_column(LargeBinary)


_RECORD = msgspec.json.Decoder(CredentialRecord)
_SAD = msgspec.json.Decoder(SadRecord)


def _credential_values(record: CredentialRecord) -> dict[str, object]:
    return {
        "credential_id": record.credential_id,
        "user": record.user,
        "created_at": record.created_at,
        "record": _ENCODER.encode(record),
    }


def _sad_values(key: str, sad: SadRecord) -> dict[str, object]:
    return {
        "sad_key": key,
        "credential_id": sad.credential_id,
        "expires_at": sad.expires_at,
        "used": sad.used,
        "record": _ENCODER.encode(msgspec.structs.replace(sad, used=False)),
    }


class DatabaseCredentialStore:
    """Credentials and SADs in Kho's database, a row each (``csc_credentials``,
    ``csc_sads``).  ``update`` locks one credential's row (``SELECT … FOR UPDATE`` on
    PostgreSQL; the single writer on SQLite) for its one write transaction;
    ``spend_sad`` is a conditional ``UPDATE … WHERE used = false``, so of two
    concurrent presentations exactly one wins, on every Kho process and machine."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"DatabaseCredentialStore({self._db.engine.url.render_as_string()!r})"

    async def add(self, record: CredentialRecord) -> None:
        def work(session: Session) -> None:
            found = session.execute(
                select(CscCredentialRow.credential_id).where(
                    CscCredentialRow.credential_id == record.credential_id
                )
            ).first()
            if found is not None:
                raise CredentialExists(record.credential_id)
            session.execute(insert(CscCredentialRow).values(_credential_values(record)))

        await self._db.run_write(work)

    async def get(self, credential_id: str) -> CredentialRecord | None:
        def work(conn: Connection) -> bytes | None:
            return conn.execute(
                select(CscCredentialRow.record).where(
                    CscCredentialRow.credential_id == credential_id
                )
            ).scalar()

        raw = await self._db.run_query(work)
        return _RECORD.decode(raw) if raw is not None else None

    async def ids(self) -> list[str]:
        def work(conn: Connection) -> list[str]:
            return list(conn.execute(select(CscCredentialRow.credential_id)).scalars())

        return await self._db.run_query(work)

    async def list_user(self, user: str) -> list[CredentialRecord]:
        def work(conn: Connection) -> list[bytes]:
            query = (
                select(CscCredentialRow.record)
                .where(CscCredentialRow.user == user)
                .order_by(CscCredentialRow.created_at)
            )
            return list(conn.execute(query).scalars())

        return [_RECORD.decode(raw) for raw in await self._db.run_query(work)]

    async def update(self, credential_id: str, change: Change, *, now: datetime) -> None:
        def work(session: Session) -> None:
            raw = session.execute(
                select(CscCredentialRow.record)
                .where(CscCredentialRow.credential_id == credential_id)
                .with_for_update()
            ).scalar()
            if raw is None:
                raise CredentialNotFound(credential_id)
            current = _RECORD.decode(raw)
            new, sad = change(current)
            if new != current:
                session.execute(
                    update(CscCredentialRow)
                    .where(CscCredentialRow.credential_id == credential_id)
                    .values(record=_ENCODER.encode(new))
                )
            if sad is not None:
                session.execute(
                    delete(CscSadRow).where(
                        CscSadRow.credential_id == credential_id, CscSadRow.expires_at <= now
                    )
                )
                session.execute(insert(CscSadRow).values(_sad_values(*sad)))

        await self._db.run_write(work)

    async def spend_sad(self, key: str) -> SadRecord | None:
        def work(session: Session) -> tuple[bytes, bool] | None:
            spent = session.execute(
                update(CscSadRow)
                .where(CscSadRow.sad_key == key, CscSadRow.used.is_(False))
                .values(used=True)
                .returning(CscSadRow.record)
            ).scalar()
            if spent is not None:
                return spent, False
            before = session.execute(
                select(CscSadRow.record).where(CscSadRow.sad_key == key)
            ).scalar()
            return (before, True) if before is not None else None

        found = await self._db.run_write(work)
        if found is None:
            return None
        raw, used = found
        return msgspec.structs.replace(_SAD.decode(raw), used=used)
