"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

import sharing.db  # noqa: F401 — registers the sharing tables
import sharing.notify.db as _notify_tables  # noqa: F401 — registers the notification tables
import signing.citizen
import signing.csc.store  # noqa: F401
import verification.operators
import verification.registry_db  # noqa: F401
from sharing import filing_tables  # noqa: F401 — registers the procedure and filing tables
from vault.db import Base


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"compare_type": False}),
                        Base.metadata,
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    assert _diff(db_url) == []
