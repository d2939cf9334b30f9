"""Operator tasks on the vault: garbage collection, audit verification, key rotation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec
import structlog
from sqlalchemy import select

from vault.accounts import owner_key_context
from vault.audit import ChainBreak, verify_owner_chain
from vault.blobs.api import BlobInfo, BlobStore
from vault.db import Database, DocumentRow, OwnerRow, utcnow
from vault.documents import doc_key_context
from vault.keys import KeyRing

log = structlog.get_logger("kho.maintenance")


class GcReport(msgspec.Struct, frozen=True, kw_only=True):
    scanned: int
    orphans_removed: int
    orphans_in_grace: int
    temp_files_removed: int


async def collect_garbage(
    db: Database,
    blobs: BlobStore,
    *,
    grace: timedelta,
    now: Callable[[], datetime] = utcnow,
    batch: int = 500,
) -> GcReport:
    """Remove blobs no document row references, and abandoned temp files.

    A blob younger than ``grace`` is skipped: its upload may still be committing its
    row (the write order is blob first, row second).
    """
    cutoff = now() - grace
    scanned = removed = young = 0
    pending: list[BlobInfo] = []

    async def flush() -> None:
        nonlocal removed, young
        keys = [b.key for b in pending]
        async with db.read() as session:
            known = set(
                (
                    await session.scalars(
                        select(DocumentRow.blob_key).where(DocumentRow.blob_key.in_(keys))
                    )
                ).all()
            )
        for info in pending:
            if info.key in known:
                continue
            if info.modified_at > cutoff:
                young += 1
                continue
            await blobs.delete(info.key)
            removed += 1
            log.info("gc_orphan_removed", blob_key=info.key, size=info.size)
        pending.clear()

    async for info in blobs.iter_blobs():
        scanned += 1
        pending.append(info)
        if len(pending) >= batch:
            await flush()
    if pending:
        await flush()
    temp_removed = await blobs.remove_stale_temp(cutoff)
    return GcReport(
        scanned=scanned,
        orphans_removed=removed,
        orphans_in_grace=young,
        temp_files_removed=temp_removed,
    )


async def verify_audit(db: Database) -> tuple[int, list[ChainBreak]]:
    """Check every owner's chain; returns ``(owners checked, breaks)``."""
    breaks: list[ChainBreak] = []
    checked = 0
    async with db.read() as session:
        owners = (await session.scalars(select(OwnerRow).order_by(OwnerRow.id))).all()
        for owner in owners:
            checked += 1
            brk = await verify_owner_chain(session, owner)
            if brk is not None:
                breaks.append(brk)
    return checked, breaks


class RotationReport(msgspec.Struct, frozen=True, kw_only=True):
    owners_rewrapped: int
    documents_rewrapped: int
    new_key_id: str


async def rewrap_keys(db: Database, old: KeyRing, new: KeyRing, batch: int = 200) -> RotationReport:
    """Rewrap every owner key (and master-scoped document key) under ``new``'s current key.

    ``old`` must be able to open everything currently stored.  Content is untouched:
    rotation costs one small decrypt/encrypt per owner, whatever the data volume.
    Resumable: rows already under the new key are skipped.
    """
    target = new.current_id
    owners = docs = 0
    while True:
        async with db.write() as session:
            rows = (
                await session.scalars(
                    select(OwnerRow)
                    .where(OwnerRow.kek_id.is_not(None), OwnerRow.kek_id != target)
                    .limit(batch)
                    .with_for_update()
                )
            ).all()
            for row in rows:
                assert row.kek_id is not None and row.wrapped_key is not None
                ctx = owner_key_context(row.id)
                key = old.unwrap(row.kek_id, row.wrapped_key, ctx)
                row.kek_id, row.wrapped_key = new.wrap(key, ctx)
            owners += len(rows)
        if len(rows) < batch:
            break
    while True:
        async with db.write() as session:
            drows = (
                await session.scalars(
                    select(DocumentRow)
                    .where(DocumentRow.key_scope == "master", DocumentRow.kek_id != target)
                    .limit(batch)
                    .with_for_update()
                )
            ).all()
            for d in drows:
                ctx = doc_key_context(d.id)
                key = old.unwrap(d.kek_id or "", d.wrapped_key, ctx)
                d.kek_id, d.wrapped_key = new.wrap(key, ctx)
            docs += len(drows)
        if len(drows) < batch:
            break
    return RotationReport(owners_rewrapped=owners, documents_rewrapped=docs, new_key_id=target)
