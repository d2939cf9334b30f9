"""Units of work: each commits or rolls back as a whole, also when SQLite groups them."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from vault.db import AgencyRow, Database, utcnow
from vault.ids import uuid7


def agency(code: str) -> AgencyRow:
    return AgencyRow(
        id=uuid7(),
        code=code,
        name=code,
        client_id=f"client-{code}",
        secret_hash="0" * 64,
        scopes="deposit",
        active=True,
        created_at=utcnow(),
    )


class Boom(Exception):
    pass


async def test_concurrent_units_commit_or_fail_alone(services):
    db: Database = services.database

    def make(i: int):
        def unit(session):
            session.add(agency(f"A{i}"))
            session.flush()
            if i % 7 == 3:
                raise Boom(i)
            return i

        return unit

    results = await asyncio.gather(
        *(db.run_write(make(i)) for i in range(60)), return_exceptions=True
    )

    failed = [r for r in results if isinstance(r, Boom)]
    assert [r.args[0] for r in failed] == [i for i in range(60) if i % 7 == 3]
    assert [r for r in results if not isinstance(r, Boom)] == [i for i in range(60) if i % 7 != 3]
    codes = await db.run_read(lambda s: set(s.scalars(select(AgencyRow.code)).all()))
    assert codes == {f"A{i}" for i in range(60) if i % 7 != 3}


async def test_a_unit_sees_earlier_units_of_its_batch(services):
    db: Database = services.database
    await db.run_write(lambda s: s.add(agency("FIRST")))

    def count(session):
        return session.scalar(select(func.count(AgencyRow.id)))

    first, second = await asyncio.gather(
        db.run_write(lambda s: s.add(agency("SECOND"))), db.run_write(count)
    )
    assert first is None
    # SQLite runs queued units in order in one transaction; PostgreSQL runs them side by side
    assert second == 2 if db.is_sqlite else second in (1, 2)


async def test_a_constraint_violation_fails_only_its_unit(services):
    db: Database = services.database
    await db.run_write(lambda s: s.add(agency("DUP")))

    def dup(session):
        session.add(agency("DUP"))
        session.flush()

    results = await asyncio.gather(
        db.run_write(dup), db.run_write(lambda s: s.add(agency("OK"))), return_exceptions=True
    )
    assert isinstance(results[0], Exception)
    assert results[1] is None
    codes = await db.run_read(lambda s: sorted(s.scalars(select(AgencyRow.code)).all()))
    assert codes == ["DUP", "OK"]


@pytest.mark.parametrize("n", [1, 200])
async def test_many_writers_all_land(services, n):
    db: Database = services.database
    await asyncio.gather(*(db.run_write(lambda s, i=i: s.add(agency(f"M{i}"))) for i in range(n)))
    assert await db.run_read(lambda s: s.scalar(select(func.count(AgencyRow.id)))) == n
