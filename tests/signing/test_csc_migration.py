"""Migration 0013 moves the one-document CSC state (``csc_state``) into rows and back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio.to_thread
import msgspec
from alembic import command
from sqlalchemy import text

from kho import migrate
from signing.csc.store import CscState, DatabaseCredentialStore
from tests.signing.test_csc_store import NOW, USER, record, sad_record
from vault.db import Database


async def test_upgrade_moves_the_json_state_into_rows_and_downgrade_restores_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kho.db'}"
    await anyio.to_thread.run_sync(migrate.upgrade, url, "0012")
    used = msgspec.structs.replace(sad_record("c2"), used=True)
    state = CscState(
        credentials={
            "c1": record("c1", failed=3),
            "c2": msgspec.structs.replace(record("c2"), created_at=NOW + timedelta(hours=1)),
        },
        sads={"k1": sad_record("c1"), "k2": used},
    )
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO csc_state (id, version, state) VALUES (1, 7, :s)"),
                {"s": msgspec.json.encode(state)},
            )
    finally:
        await db.dispose()

    await anyio.to_thread.run_sync(migrate.upgrade, url, "0013")
    db = Database(url)
    try:
        store = DatabaseCredentialStore(db)
        assert await store.list_user(USER) == [state.credentials["c1"], state.credentials["c2"]]
        assert await store.spend_sad("k2") == used
        assert await store.spend_sad("k1") == sad_record("c1")  # now spent
    finally:
        await db.dispose()

    await anyio.to_thread.run_sync(command.downgrade, migrate.alembic_config(url), "0012")
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            raw = (await conn.execute(text("SELECT state FROM csc_state"))).scalar_one()
    finally:
        await db.dispose()
    restored = msgspec.json.decode(raw, type=CscState)
    assert restored.credentials == state.credentials
    assert restored.sads == {"k1": msgspec.structs.replace(sad_record("c1"), used=True), "k2": used}
