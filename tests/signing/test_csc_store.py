"""The ``CredentialStore`` contract, on every store: memory, file, and the database
(SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import anyio
import msgspec
import pytest
from sqlalchemy import select, text

from signing.csc import (
    CredentialExists,
    CredentialLocked,
    CredentialNotFound,
    CscService,
    FileCredentialStore,
    InvalidPin,
    InvalidSad,
    MemoryCredentialStore,
    SoftwareDigestKeyStore,
)
from signing.csc.models import CredentialRecord, SadRecord
from signing.csc.store import (
    Change,
    CredentialStore,
    CscCredentialRow,
    CscSadRow,
    DatabaseCredentialStore,
    NewSad,
)
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
            await conn.execute(text("TRUNCATE csc_credentials, csc_sads"))
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


def sad_record(credential_id: str = "c1", minutes: int = 5) -> SadRecord:
    return SadRecord(
        credential_id=credential_id,
        user=USER,
        hash_algorithm_oid="2.16.840.1.101.3.4.2.1",
        hashes=(b"h" * 32,),
        expires_at=NOW + timedelta(minutes=minutes),
    )


def bump(sad: NewSad | None = None) -> Change:
    def change(current: CredentialRecord) -> tuple[CredentialRecord, NewSad | None]:
        return record(current.credential_id, failed=current.failed_attempts + 1), sad

    return change


async def test_a_new_store_is_empty(store: CredentialStore) -> None:
    assert await store.get("c1") is None
    assert await store.list_user(USER) == []
    assert await store.spend_sad("abc") is None
    assert await store.ids() == []


async def test_added_credentials_are_listed_oldest_first(store: CredentialStore) -> None:
    later = msgspec.structs.replace(record("c2"), created_at=NOW + timedelta(seconds=1))
    await store.add(later)
    await store.add(record("c1"))
    await store.add(msgspec.structs.replace(record("c3"), user="someone-else"))

    assert [r.credential_id for r in await store.list_user(USER)] == ["c1", "c2"]
    assert sorted(await store.ids()) == ["c1", "c2", "c3"]
    assert await store.get("c2") == later
    with pytest.raises(CredentialExists):
        await store.add(record("c1", failed=2))
    assert await store.get("c1") == record("c1")


async def test_an_update_stores_the_record_and_its_sad_together(store: CredentialStore) -> None:
    await store.add(record("c1"))

    await store.update("c1", bump(("abc", sad_record())), now=NOW)

    assert await store.get("c1") == record("c1", failed=1)
    assert await store.spend_sad("abc") == sad_record()


async def test_an_update_of_a_missing_credential_is_refused(store: CredentialStore) -> None:
    with pytest.raises(CredentialNotFound):
        await store.update("nope", bump(("abc", sad_record())), now=NOW)

    assert await store.spend_sad("abc") is None


async def test_an_update_that_raises_stores_nothing(store: CredentialStore) -> None:
    await store.add(record("c1"))

    def failing(current: CredentialRecord) -> tuple[CredentialRecord, NewSad | None]:
        raise LookupError("boom")

    with pytest.raises(LookupError):
        await store.update("c1", failing, now=NOW)

    assert await store.get("c1") == record("c1")


async def test_a_sad_is_spent_once(store: CredentialStore) -> None:
    await store.add(record("c1"))
    await store.update("c1", bump(("abc", sad_record())), now=NOW)

    first = await store.spend_sad("abc")
    second = await store.spend_sad("abc")

    assert first is not None and not first.used
    assert second is not None and second.used
    assert msgspec.structs.replace(second, used=False) == first


async def test_concurrent_presentations_of_one_sad_spend_it_once(store: CredentialStore) -> None:
    await store.add(record("c1"))
    await store.update("c1", bump(("abc", sad_record())), now=NOW)
    seen: list[SadRecord | None] = []

    async def present() -> None:
        seen.append(await store.spend_sad("abc"))

    async with anyio.create_task_group() as tg:
        for _ in range(8):
            tg.start_soon(present)

    assert sorted(s is not None and not s.used for s in seen) == [False] * 7 + [True]


async def test_an_issue_drops_the_credentials_expired_sads_only(store: CredentialStore) -> None:
    await store.add(record("c1"))
    await store.add(record("c2"))
    await store.update("c1", bump(("old", sad_record("c1", minutes=1))), now=NOW)
    await store.update("c2", bump(("other", sad_record("c2", minutes=1))), now=NOW)

    later = NOW + timedelta(minutes=2)
    await store.update("c1", bump(("new", sad_record("c1", minutes=10))), now=later)

    assert await store.spend_sad("old") is None
    assert await store.spend_sad("other") is not None
    assert await store.spend_sad("new") is not None


async def test_concurrent_updates_lose_no_change(store: CredentialStore) -> None:
    await store.add(record("c1"))
    await store.add(record("c2"))

    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(partial(store.update, "c1" if i % 2 else "c2", bump(), now=NOW))

    for cid in ("c1", "c2"):
        found = await store.get(cid)
        assert found is not None and found.failed_attempts == 6


async def test_two_processes_share_the_database_state(database: Database) -> None:
    other = Database(database.url)
    try:
        first, second = DatabaseCredentialStore(database), DatabaseCredentialStore(other)
        await first.add(record("c1"))
        await second.add(record("c2"))
        await first.update("c2", bump(("abc", sad_record("c2"))), now=NOW)

        for s in (first, second):
            assert [r.credential_id for r in await s.list_user(USER)] == ["c1", "c2"]
        assert await second.spend_sad("abc") == sad_record("c2")
        spent = await first.spend_sad("abc")
        assert spent is not None and spent.used
        async with database.read() as session:
            rows = (await session.execute(select(CscCredentialRow.credential_id))).scalars()
            assert sorted(rows) == ["c1", "c2"]
            used = (await session.execute(select(CscSadRow.used))).scalars()
            assert list(used) == [True]
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
        credentials = (await session.execute(select(CscCredentialRow.record))).scalars()
        sads = (await session.execute(select(CscSadRow.record))).scalars()
        stored = b"".join([*credentials, *sads])
    for secret in (PIN, used, fresh, enrollment.otp_secret):
        assert secret.encode() not in stored
    otp_key = base64.b32decode(enrollment.otp_secret + "=" * (-len(enrollment.otp_secret) % 8))
    assert otp_key not in stored and base64.b64encode(otp_key) not in stored
    assert b"hmac-sha256$" in stored and b"argon2" not in stored

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
