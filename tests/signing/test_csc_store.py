"""The ``CredentialStore`` contract, on every store: memory, file, and the database
(SQLite and PostgreSQL).  Stores are called from worker threads, as ``CscService`` does."""

from __future__ import annotations

import base64
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from sqlalchemy import select, text

from signing.csc import (
    CredentialLocked,
    CscService,
    FileCredentialStore,
    InvalidPin,
    InvalidSad,
    MemoryCredentialStore,
    SoftwareDigestKeyStore,
)
from signing.csc.models import CredentialRecord, SadRecord
from signing.csc.store import CredentialStore, CscState, CscStateRow, DatabaseCredentialStore
from signing.models import Credential
from tests.signing.conftest import FakeClock
from tests.signing.test_csc_service import PIN, USER, authorize, sign
from vault.db import Database
from vault.keys import LocalKeyRing

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def record(credential_id: str, failed: int = 0) -> CredentialRecord:
    return CredentialRecord(
        credential_id=credential_id,
        user=USER,
        key_id="k",
        key_algorithm="rsa-2048",
        certificate=b"cert",
        chain=(b"ca",),
        description="d",
        pin_hash="$argon2id$fake",
        otp_kek_id="t",
        otp_secret_wrapped=b"wrapped",
        created_at=NOW,
        failed_attempts=failed,
    )


def _url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        target = tmp_path / "kho.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite+aiosqlite:///{target}"
    return str(request.getfixturevalue("pg_url"))


async def _empty(db: Database) -> None:
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(text("TRUNCATE csc_state"))
    await db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _url(request.param, request, tmp_path)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    try:
        yield db
    finally:
        await _empty(db)


@pytest.fixture(params=["memory", "file", "database-sqlite", "database-postgresql"])
def store_kind(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param.startswith("database-"):
        return _url(request.param.removeprefix("database-"), request, tmp_path)
    return str(request.param)


@pytest.fixture
async def store(store_kind: str, tmp_path: Path) -> AsyncIterator[CredentialStore]:
    if store_kind == "memory":
        yield MemoryCredentialStore()
    elif store_kind == "file":
        yield FileCredentialStore(tmp_path / "csc")
    else:
        db = Database(store_kind)
        try:
            yield DatabaseCredentialStore(db)
        finally:
            await _empty(db)


async def in_thread(fn: Callable[[], object]) -> object:
    return await anyio.to_thread.run_sync(fn)


def put(store: CredentialStore, rec: CredentialRecord) -> None:
    with store.transaction() as state:
        state.credentials[rec.credential_id] = rec


async def test_a_new_store_is_empty(store: CredentialStore) -> None:
    state = await anyio.to_thread.run_sync(store.snapshot)

    assert state == CscState()


async def test_changes_persist_when_the_block_ends(store: CredentialStore) -> None:
    sad = SadRecord(
        credential_id="c1",
        user=USER,
        hash_algorithm_oid="2.16.840.1.101.3.4.2.1",
        hashes=(b"h" * 32,),
        expires_at=NOW + timedelta(minutes=5),
    )

    def work() -> None:
        with store.transaction() as state:
            state.credentials["c1"] = record("c1")
            state.sads["abc"] = sad

    await in_thread(work)
    state = await anyio.to_thread.run_sync(store.snapshot)

    assert state.credentials == {"c1": record("c1")}
    assert state.sads == {"abc": sad}


async def test_changes_are_discarded_when_the_block_raises(store: CredentialStore) -> None:
    await in_thread(lambda: put(store, record("c1")))

    def failing() -> None:
        with store.transaction() as state:
            state.credentials["c1"] = record("c1", failed=3)
            state.credentials["c2"] = record("c2")
            raise LookupError("boom")

    with pytest.raises(LookupError):
        await in_thread(failing)
    state = await anyio.to_thread.run_sync(store.snapshot)

    assert state.credentials == {"c1": record("c1")}


async def test_a_snapshot_is_a_copy(store: CredentialStore) -> None:
    await in_thread(lambda: put(store, record("c1")))
    snap = await anyio.to_thread.run_sync(store.snapshot)
    snap.credentials["c1"] = record("c1", failed=4)
    snap.credentials["c2"] = record("c2")

    assert (await anyio.to_thread.run_sync(store.snapshot)).credentials == {"c1": record("c1")}


async def test_a_snapshot_works_on_the_event_loop_thread(store: CredentialStore) -> None:
    await in_thread(lambda: put(store, record("c1")))

    assert store.snapshot().credentials == {"c1": record("c1")}


async def test_concurrent_transactions_lose_no_update(store: CredentialStore) -> None:
    await in_thread(lambda: put(store, record("c1")))

    def bump() -> None:
        with store.transaction() as state:
            current = state.credentials["c1"]
            state.credentials["c1"] = record("c1", failed=current.failed_attempts + 1)

    async with anyio.create_task_group() as tg:
        for _ in range(12):
            tg.start_soon(in_thread, bump)
    state = await anyio.to_thread.run_sync(store.snapshot)

    assert state.credentials["c1"].failed_attempts == 12


async def test_two_processes_share_the_database_state(database: Database) -> None:
    other = Database(database.url)
    try:
        first, second = DatabaseCredentialStore(database), DatabaseCredentialStore(other)
        await in_thread(lambda: put(first, record("c1")))
        await in_thread(lambda: put(second, record("c2")))

        for s in (first, second):
            snap = await anyio.to_thread.run_sync(s.snapshot)
            assert set(snap.credentials) == {"c1", "c2"}
        async with database.read() as session:
            version = (await session.execute(select(CscStateRow.version))).scalar_one()
        assert version == 2
    finally:
        await other.dispose()


async def test_a_database_lockout_survives_a_restart_and_nothing_is_stored_in_clear(
    database: Database,
    digest_keys: SoftwareDigestKeyStore,
    keyring: LocalKeyRing,
    citizen: Credential,
) -> None:
    clock = FakeClock()
    service = CscService(DatabaseCredentialStore(database), digest_keys, keyring, clock=clock)
    enrollment = await service.enroll(USER, citizen, PIN)
    used = await authorize(service, enrollment, clock)
    assert len(await sign(service, enrollment, used)) == 1
    with pytest.raises(InvalidSad):
        await sign(service, enrollment, used)
    fresh = await authorize(service, enrollment, clock)
    async with database.read() as session:
        stored = (await session.execute(select(CscStateRow.state))).scalar_one()
    for secret in (PIN, used, fresh, enrollment.otp_secret):
        assert secret.encode() not in stored
    otp_key = base64.b32decode(enrollment.otp_secret + "=" * (-len(enrollment.otp_secret) % 8))
    assert otp_key not in stored and base64.b64encode(otp_key) not in stored
    assert b"argon2id" in stored

    for _ in range(5):
        with pytest.raises(InvalidPin):
            await authorize(service, enrollment, clock, pin="999999")
    other = Database(database.url)
    try:
        restarted = CscService(DatabaseCredentialStore(other), digest_keys, keyring, clock=clock)
        with pytest.raises(CredentialLocked):
            await authorize(restarted, enrollment, clock)
    finally:
        await other.dispose()
