"""Tampering with stored bytes or with the audit log never goes unnoticed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from tests import factories as f
from vault.db import AuditRow, OwnerRow
from vault.maintenance import verify_audit


def blob_files(settings) -> list[Path]:
    root = Path(settings.data_dir) / "blobs" / "docs"
    return sorted(p for p in root.rglob("*") if p.is_file())


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


async def test_flipped_byte_fails_download_with_integrity_error(client, services, settings):
    headers = await f.citizen_headers(services, client)
    doc = await f.upload(client, headers, f.pdf("small paper"))
    [blob] = blob_files(settings)
    flip(blob, blob.stat().st_size // 2)
    r = await client.get(f"/api/v1/documents/{doc['id']}/content", headers=headers)
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:kho:problem:integrity-failure"
    assert b"small paper" not in r.content


async def test_flipped_byte_in_a_later_segment_aborts_the_stream(client, services, settings):
    headers = await f.citizen_headers(services, client)
    content = f.pdf("big paper", padding=700_000)
    doc = await f.upload(client, headers, content)
    [blob] = blob_files(settings)
    flip(blob, blob.stat().st_size - 1000)  # inside the last segment
    # The first segment was already sent; the failure must abort the transfer.
    with pytest.raises(Exception, match=r"integrity|response started"):
        await client.get(f"/api/v1/documents/{doc['id']}/content", headers=headers)


async def test_untouched_blob_still_reads(client, services, settings):
    headers = await f.citizen_headers(services, client)
    content = f.pdf("paper", padding=300_000)
    doc = await f.upload(client, headers, content)
    r = await client.get(f"/api/v1/documents/{doc['id']}/content", headers=headers)
    assert r.content == content


async def _owner_with_events(client, services) -> OwnerRow:
    headers = await f.citizen_headers(services, client)
    for i in range(3):
        await f.upload(client, headers, f.pdf(f"paper {i}"), title=f"Paper {i}")
    _, breaks = await verify_audit(services.database)
    assert breaks == []
    async with services.database.read() as session:
        owner = (await session.scalars(select(OwnerRow))).one()
    assert owner.audit_seq >= 4
    return owner


async def test_edited_audit_row_breaks_the_chain(client, services):
    owner = await _owner_with_events(client, services)
    async with services.database.write() as session:
        await session.execute(
            update(AuditRow)
            .where(AuditRow.owner_id == owner.id, AuditRow.seq == 2)
            .values(ip="198.51.100.1")
        )
    _, breaks = await verify_audit(services.database)
    assert [(b.seq, "edited" in b.reason) for b in breaks] == [(2, True)]


async def test_deleted_middle_audit_row_breaks_the_chain(client, services):
    owner = await _owner_with_events(client, services)
    async with services.database.write() as session:
        await session.execute(
            delete(AuditRow).where(AuditRow.owner_id == owner.id, AuditRow.seq == 2)
        )
    _, breaks = await verify_audit(services.database)
    assert len(breaks) == 1
    assert "missing" in breaks[0].reason


async def test_deleted_newest_audit_row_breaks_the_chain(client, services):
    owner = await _owner_with_events(client, services)
    async with services.database.write() as session:
        await session.execute(
            delete(AuditRow).where(AuditRow.owner_id == owner.id, AuditRow.seq == owner.audit_seq)
        )
    _, breaks = await verify_audit(services.database)
    assert len(breaks) == 1
    assert "head" in breaks[0].reason
