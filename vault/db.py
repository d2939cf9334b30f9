"""Relational metadata: tables and the ``Database`` handle (engine + sessions).

Every timestamp column is timezone-aware UTC on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import anyio
import anyio.to_thread
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    event,
    text,
)
from sqlalchemy.engine import Connection, Dialect, Engine, create_engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite keeps them naive, so re-attach UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class OwnerRow(Base):
    __tablename__ = "owners"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # active: can log in; unclaimed: created by a deposit, waiting for the citizen;
    # deleted: account removed and key shredded
    status: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kek_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    audit_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="")
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    # Contact for notifications (sharing.notify), set by the citizen; cleared on deletion.
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The optional one-time code at sign-in (TOTP): the secret wrapped under the master
    # key; set and not yet enabled while the citizen is enrolling; the last time step
    # used, so a code works once.
    otp_kek_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    otp_secret_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    otp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    otp_last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class AgencyRow(Base):
    __tablename__ = "agencies"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(80), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("issuer_agency_id", "idempotency_key", name="uq_documents_idempotency"),
        Index("ix_documents_owner_id_id", "owner_id", "id"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"))
    title: Mapped[str] = mapped_column(String(500))
    # Note: case folding can lengthen text ("ß" → "ss"), so no length limit here
    title_search: Mapped[str] = mapped_column(Text)
    doc_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provenance: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(200), unique=True)
    segment_size: Mapped[int] = mapped_column(Integer)
    # "owner": content key wrapped by the owner key; "master": wrapped by the master key
    # (kept under legal hold after the owner's key was shredded)
    key_scope: Mapped[str] = mapped_column(String(8), default="owner")
    kek_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    issuer_agency_id: Mapped[UUID | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    issuer_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    superseded_by_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # short public code printed on issued papers and in their QR (GET /api/v1/verify/{code})
    verification_code: Mapped[str | None] = mapped_column(String(16), nullable=True, unique=True)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    # the document this one was made from (a citizen's signed copy of their own PDF)
    source_document_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OfficialRow(Base):
    """A person who works for an agency (counter clerk, reviewer): signs in with the
    agency's code, a username and a password; opens agency-audience shares and the
    agency's inbox."""

    __tablename__ = "officials"
    __table_args__ = (UniqueConstraint("agency_id", "username", name="uq_officials_agency_user"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[UUID] = mapped_column(ForeignKey("agencies.id"))
    username: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # failed sign-ins since the last success, and when the count started
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    failed_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TokenRow(Base):
    __tablename__ = "tokens"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # owner | agency | official
    owner_id: Mapped[UUID | None] = mapped_column(ForeignKey("owners.id"), nullable=True)
    agency_id: Mapped[UUID | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    official_id: Mapped[UUID | None] = mapped_column(ForeignKey("officials.id"), nullable=True)
    scopes: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditRow(Base):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("owner_id", "seq", name="uq_audit_events_owner_seq"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    actor_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxRow(Base):
    """One event to tell someone about (transactional outbox): written in the same
    transaction as the change it reports, delivered later by a worker.  ``id`` is the
    event id receivers deduplicate on."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "processed_at", "available_at"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    agency_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Database:
    """Engines plus two ways to run a unit of work: ``run_read`` and ``run_write``.

    A unit of work is a plain function over a synchronous ORM ``Session``, run in one
    transaction.  On SQLite it runs in a worker thread on the stdlib driver (one thread
    hop per transaction instead of one per statement, which is what an async driver
    costs); writers take a single-token limiter and ``BEGIN IMMEDIATE``, so SQLite never
    resolves lock upgrades by sleeping in its busy handler.  On PostgreSQL it runs on
    asyncpg through ``AsyncSession.run_sync`` and writers lock the rows they change.

    ``read()`` / ``write()`` give async sessions for cold paths (maintenance, tests).
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        sqlite_synchronous: str = "FULL",
        readers: int = 8,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._writer = anyio.CapacityLimiter(1)
        self._readers = anyio.CapacityLimiter(readers)
        # Note: ``run_query`` hops on a plain executor: per query, an anyio thread hop
        # (cancel scope, limiter, context copy) cost about three times its CPU, and the
        # hottest pages make three of them (session, registry version, documents).
        self._query_threads = ThreadPoolExecutor(
            max_workers=readers, thread_name_prefix="kho-query"
        )
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            sync = sqlite_synchronous.upper()
            if sync not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
                raise ValueError("sqlite synchronous must be OFF, NORMAL, FULL or EXTRA")
            self.sync_engine: Engine | None = create_engine(
                make_url(url).set(drivername="sqlite"),
                echo=echo,
                pool_size=readers + 2,
                max_overflow=readers,
                connect_args={"timeout": 30, "check_same_thread": False},
            )
            _sqlite_events(self.sync_engine, sync)
            kwargs["connect_args"] = {"timeout": 30}
            self.engine: AsyncEngine = create_async_engine(url, **kwargs)
            _sqlite_events(self.engine.sync_engine, sync)
            self._sync_sessions: sessionmaker[Session] | None = sessionmaker(
                self.sync_engine, expire_on_commit=False
            )
        else:
            self.sync_engine = None
            self._sync_sessions = None
            kwargs.update(pool_size=20, max_overflow=20, pool_pre_ping=True)
            self.engine = create_async_engine(url, **kwargs)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._batcher: _GroupCommit | None = None

    async def run_read(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a read transaction and return its result."""
        if self._sync_sessions is not None:
            return await anyio.to_thread.run_sync(self._in_thread, fn, limiter=self._readers)
        async with self._sessions() as session:
            return await session.run_sync(fn)

    async def run_write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a write transaction: its changes are committed if it returns and
        undone if it raises (the exception propagates).

        On SQLite, units of work that arrive while a commit is in progress are committed
        together (group commit): each runs in its own SAVEPOINT, so one failing unit
        undoes only its own changes, and one durable commit (one fsync) serves them all.
        A caller is answered only after the commit that holds its changes.
        """
        if self._sync_sessions is not None:
            return await self._group_commit().submit(fn)
        async with self.write() as session:
            return await session.run_sync(fn)

    async def run_query(self, fn: Callable[[Connection], T]) -> T:
        """Run read-only Core statements on a plain connection (no ORM session): the
        cheapest way in, for the hottest reads (token lookup, document metadata)."""
        if self.sync_engine is not None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._query_threads, self._query_in_thread, fn)
        async with self.engine.connect() as conn:
            return await conn.run_sync(fn)

    def _query_in_thread(self, fn: Callable[[Connection], T]) -> T:
        assert self.sync_engine is not None
        with self.sync_engine.connect() as conn:
            try:
                return fn(conn)
            finally:
                conn.rollback()

    def _group_commit(self) -> _GroupCommit:
        loop = asyncio.get_running_loop()
        if self._batcher is None or self._batcher.loop is not loop:
            self._batcher = _GroupCommit(self, loop)
        return self._batcher

    def _run_batch(self, units: list[_Unit]) -> None:
        """In a worker thread: one transaction, a savepoint per unit, one commit."""
        assert self._sync_sessions is not None
        with self._sync_sessions() as session:
            session.connection(execution_options={"kho_begin": "BEGIN IMMEDIATE"})
            try:
                for unit in units:
                    try:
                        with session.begin_nested():
                            unit.result = unit.fn(session)
                    except Exception as exc:
                        unit.error = exc
                session.commit()
            except BaseException as exc:
                session.rollback()
                for unit in units:
                    if unit.error is None:
                        unit.error = exc if isinstance(exc, Exception) else RuntimeError(str(exc))
                        unit.result = None

    def _in_thread(self, fn: Callable[[Session], T]) -> T:
        """In a worker thread: ``fn`` in a read transaction, ended when it returns."""
        assert self._sync_sessions is not None
        # Note: closing (not rolling back) ends the transaction without expiring the
        # loaded objects, which callers read after the session is gone.
        with self._sync_sessions() as session:
            return fn(session)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """An async session in one transaction, committed on clean exit."""
        async with AsyncExitStack() as stack:
            if self.is_sqlite:
                await stack.enter_async_context(self._writer)
            session = await stack.enter_async_context(self._sessions())
            if self.is_sqlite:
                await session.connection(execution_options={"kho_begin": "BEGIN IMMEDIATE"})
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def create_all(self) -> None:
        """For tests only: production and the embedded default migrate with Alembic."""
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def dispose(self) -> None:
        await anyio.to_thread.run_sync(self._query_threads.shutdown)
        await self.engine.dispose()
        if self.sync_engine is not None:
            await anyio.to_thread.run_sync(self.sync_engine.dispose)


class _Unit:
    __slots__ = ("error", "fn", "future", "result")

    def __init__(self, fn: Callable[[Session], Any], future: asyncio.Future[Any]) -> None:
        self.fn = fn
        self.future = future
        self.result: Any = None
        self.error: BaseException | None = None


class _GroupCommit:
    """Collects SQLite write units and commits them in batches from one writer task."""

    MAX_BATCH = 64

    def __init__(self, db: Database, loop: asyncio.AbstractEventLoop) -> None:
        self.db = db
        self.loop = loop
        self._pending: list[_Unit] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, fn: Callable[[Session], T]) -> T:
        future: asyncio.Future[T] = self.loop.create_future()
        self._pending.append(_Unit(fn, future))
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._drain())
        # Note: shielded, so a cancelled request still learns nothing half-done: its unit
        # is committed or not as a whole, like any transaction.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self.MAX_BATCH]
            del self._pending[: len(batch)]
            interrupted: BaseException | None = None
            try:
                async with self.db._writer:
                    await anyio.to_thread.run_sync(self.db._run_batch, batch)
            except BaseException as exc:  # the batch could not run (or the loop is closing)
                interrupted = exc
                for unit in batch:
                    if unit.error is None:
                        unit.error = exc
            for unit in batch:
                if unit.future.done():
                    continue
                if unit.error is not None:
                    unit.future.set_exception(unit.error)
                else:
                    unit.future.set_result(unit.result)
            if interrupted is not None and not isinstance(interrupted, Exception):
                raise interrupted


def _sqlite_events(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        # Note: take transaction control away from the driver so "begin" below decides
        # between deferred (readers) and immediate (writers).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Note: straight on the driver's cursor: through ``exec_driver_sql`` the BEGIN
        # cost as much as the (indexed, one-row) query of a session lookup after it.
        cursor = conn.connection.cursor()
        try:
            cursor.execute(conn.get_execution_options().get("kho_begin", "BEGIN"))
        finally:
            cursor.close()


def utcnow() -> datetime:
    return datetime.now(UTC)
