"""Shared fixtures: a real database (SQLite and PostgreSQL), a real blob store, the app.

Every API test runs twice, once per database.  PostgreSQL is required: when
``127.0.0.1:5432`` (or ``KHO_TEST_PG``) cannot be reached the suite fails, never skips.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import delete, text, update

from kho import migrate
from kho.app import Services, create_app
from kho.settings import Settings
from vault.db import Database
from verification import DOCUMENT_TYPES
from verification.registry_db import (
    DocumentTypeRow,
    IssuerDocTypeRow,
    IssuerRow,
    RegistryMetaRow,
    RevocationUrlRow,
    TrustAnchorRow,
)

PG_ADMIN = os.environ.get("KHO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MASTER_KEY = "test:" + base64.b64encode(b"k" * 32).decode()
PASSWORD = "correct horse battery"

TABLES = [
    "filing_events",
    "filing_documents",
    "filings",
    "notification_deliveries",
    "notifications",
    "agency_webhooks",
    "outbox",
    "share_openings",
    "share_documents",
    "shares",
    "consent_requests",
    "csc_sads",
    "csc_credentials",
    "signing_sessions",
    "audit_events",
    "tokens",
    "operator_tokens",
    "officials",
    "documents",
    "owners",
    "agencies",
]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrations run once, for real)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "kho.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the session, migrated with Alembic."""
    name = f"kho_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        try:
            conn = await asyncpg.connect(PG_ADMIN, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            pytest.fail(f"PostgreSQL is required for the test suite ({PG_ADMIN}): {exc}")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    migrate.upgrade(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "kho.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite+aiosqlite:///{target}"
    return str(request.getfixturevalue("pg_url"))


def make_settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "master_key": MASTER_KEY,
        "migrate_on_start": False,
        "max_upload_bytes": 2 * 1024 * 1024,
        "quota_bytes": 8 * 1024 * 1024,
        # the webhook receivers of the tests listen on loopback
        "webhook_allow_private": True,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url)


async def reset_registry(db: Database) -> None:
    """The trust registry back to what migration 0004 leaves (seeded document types,
    version 1): PostgreSQL is shared by the whole session."""
    async with db.write() as session:
        for table in (IssuerDocTypeRow, IssuerRow, TrustAnchorRow, RevocationUrlRow):
            await session.execute(delete(table))
        await session.execute(delete(DocumentTypeRow))
        session.add_all(
            DocumentTypeRow(code=t.code, name_vi=t.name_vi, name_en=t.name_en)
            for t in DOCUMENT_TYPES
        )
        await session.execute(update(RegistryMetaRow).values(version=1))


async def close_services(svc: Services) -> None:
    """Close a test's services; PostgreSQL is shared by the session, so empty it first."""
    if not svc.database.is_sqlite:
        async with svc.database.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        await reset_registry(svc.database)
    await svc.close()


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    svc = Services(settings)
    try:
        yield svc
    finally:
        await close_services(svc)


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The real app in this event loop (the services own the DB pool of this loop)."""
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as c:
        yield c
