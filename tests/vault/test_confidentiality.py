"""Plaintext never reaches the disk; rotation keeps data readable; deletion shreds keys."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from kho.app import Services
from tests import factories as f
from tests.conftest import close_services, make_settings
from vault.crypto import DecryptionError, unwrap_key
from vault.db import DocumentRow, OwnerRow
from vault.documents import doc_key_context
from vault.errors import KeyUnavailable
from vault.maintenance import rewrap_keys


def all_bytes_under(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in root.rglob("*") if p.is_file()]


async def test_plaintext_appears_nowhere_under_the_data_dir(client, services, settings):
    marker = f"KHO-SECRET-{secrets.token_hex(8)}"
    headers = await f.citizen_headers(services, client)
    await f.upload(client, headers, f.pdf(marker, padding=400_000), title="Hồ sơ")
    await f.upload(client, headers, f.pdf(marker), title="Hồ sơ 2")
    files = all_bytes_under(Path(settings.data_dir))
    assert files, "nothing was written"
    for path, data in files:
        assert marker.encode() not in data, path
    if services.database.is_sqlite:  # the database file and its WAL
        db_dir = Path(settings.db_url.split("///", 1)[1]).parent
        for path, data in all_bytes_under(db_dir):
            assert marker.encode() not in data, path


async def test_rotation_keeps_every_document_readable(tmp_path, db_url):
    settings = make_settings(tmp_path, db_url, master_key=None)  # key file mode
    services = Services(settings)
    try:
        from httpx import ASGITransport, AsyncClient

        from kho.app import create_app

        app = create_app(settings, services)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            headers = await f.citizen_headers(services, client)
            contents = [f.pdf(f"doc {i}", padding=i * 100_000) for i in range(3)]
            ids = [(await f.upload(client, headers, c))["id"] for c in contents]

        old = services.keyring
        new = old.with_new_current()  # type: ignore[attr-defined]
        report = await rewrap_keys(services.database, new, new)
        assert report.owners_rewrapped >= 1
        new.only_current().save_file(settings.master_key_file)
    finally:
        await services.close()

    fresh = Services(settings)  # loads only the new key from the key file
    try:
        assert fresh.keyring.current_id == new.current_id
        assert old.current_id not in fresh.keyring.ids  # type: ignore[attr-defined]
        app = create_app(settings, fresh)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            # tokens live in the database, untouched by a key rotation
            for doc_id, content in zip(ids, contents, strict=True):
                r = await client.get(f"/api/v1/documents/{doc_id}/content", headers=headers)
                assert r.status_code == 200
                assert r.content == content
    finally:
        await close_services(fresh)


async def test_deleted_owner_cannot_be_decrypted_even_with_the_master_key(
    client, services, settings
):
    headers = await f.citizen_headers(services, client)
    content = f.pdf("to be shredded", padding=50_000)
    doc = await f.upload(client, headers, content)
    blob_paths = [p for p in (Path(settings.data_dir) / "blobs" / "docs").rglob("*") if p.is_file()]
    kept_copy = {p: p.read_bytes() for p in blob_paths}  # an attacker's backup
    async with services.database.read() as session:
        row = await session.get(DocumentRow, __import__("uuid").UUID(doc["id"]))
        assert row is not None
        wrapped_doc_key = row.wrapped_key
        owner_id = row.owner_id

    r = await client.request("DELETE", "/api/v1/me", headers=headers, json={"password": f.PASSWORD})
    assert r.status_code == 200, r.text

    async with services.database.read() as session:
        owner = await session.get(OwnerRow, owner_id)
        assert owner is not None
        assert owner.wrapped_key is None
        assert owner.kek_id is None
    assert not any(p.exists() for p in blob_paths)
    # The master key cannot open the document key: it was wrapped by the shredded owner key.
    with pytest.raises((KeyUnavailable, DecryptionError)):
        services.keyring.unwrap(
            services.keyring.current_id, wrapped_doc_key, doc_key_context(row.id)
        )
    with pytest.raises(DecryptionError):
        unwrap_key(b"\x00" * 32, wrapped_doc_key, doc_key_context(row.id))
    assert kept_copy  # the backup exists but is useless
