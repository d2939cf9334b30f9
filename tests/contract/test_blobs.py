"""The ``BlobStore`` contract, run on every backend (``files`` and ``s3`` on moto).

Tests at the end of the file look behind a particular backend (temp files, fsync, file
modes, URL parsing); everything else must hold for any store.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import minio
import pytest

from tests.contract.conftest import Backend
from vault.blobs.api import BlobInfo, BlobStore
from vault.blobs.files import FileBlobStore
from vault.blobs.s3 import PART_SIZE, S3BlobStore
from vault.errors import BlobNotFound, BlobStoreUnavailable, InvalidBlobKey

pytestmark = pytest.mark.asyncio

MiB = 1024 * 1024


class Boom(Exception):
    """Raised by a chunk iterator to break a put midway."""


def blob_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic, non-repeating-looking bytes (cheap even for tens of MiB)."""
    block = bytes((i * 131 + seed * 7 + (i >> 8)) % 251 for i in range(65_536))
    return (block * (size // len(block) + 1))[:size]


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def from_list(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def failing(data: bytes, size: int) -> AsyncIterator[bytes]:
    async for chunk in chunked(data, size):
        yield chunk
    raise Boom


async def untouchable() -> AsyncIterator[bytes]:
    raise AssertionError("a put with an invalid key must not read its chunks")
    yield b""  # pragma: no cover


async def read(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.open(key, start, end)])


async def listing(store: BlobStore) -> dict[str, BlobInfo]:
    return {info.key: info async for info in store.iter_blobs()}


def temp_files(backend: Backend) -> list[Path]:
    if backend.root is None:
        return []
    tmp = backend.root / ".tmp"
    return sorted(tmp.iterdir()) if tmp.exists() else []


def open_uploads(backend: Backend) -> list[object]:
    if backend.client is None or backend.bucket is None:
        return []
    return list(backend.client._list_multipart_uploads(backend.bucket).uploads)


# -- the contract -------------------------------------------------------------------------


async def test_every_backend_is_a_blob_store(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)


@pytest.mark.parametrize(
    ("size", "chunk_size"),
    [
        pytest.param(0, 1, id="empty"),
        pytest.param(11, 4, id="small"),
        pytest.param(5000, 1, id="tiny-chunks"),
        pytest.param(3 * MiB + 17, 256 * 1024 + 1, id="multi-chunk"),
        pytest.param(PART_SIZE + 3 * MiB + 5, 4 * MiB, id="multi-part"),
    ],
)
async def test_round_trip_is_byte_identical(backend: Backend, size: int, chunk_size: int) -> None:
    store = backend.store
    data = blob_bytes(size)

    written = await store.put("ab/cd/blob", chunked(data, chunk_size))

    assert written == size
    chunks = [chunk async for chunk in store.open("ab/cd/blob")]
    assert b"".join(chunks) == data
    assert all(0 < len(chunk) <= MiB for chunk in chunks)
    info = await store.stat("ab/cd/blob")
    assert info.key == "ab/cd/blob"
    assert info.size == size
    assert await store.exists("ab/cd/blob")
    if backend.client is not None and backend.bucket is not None:
        etag = backend.client.stat_object(backend.bucket, "kho/ab/cd/blob").etag or ""
        multipart = size > PART_SIZE
        assert etag.endswith("-2") == multipart, etag  # S3 marks multipart ETags "-<parts>"


async def test_put_skips_empty_chunks(store: BlobStore) -> None:
    assert await store.put("k", from_list([b"", b"ab", b"", b"c", b""])) == 3
    assert await read(store, "k") == b"abc"


async def test_empty_iterator_stores_an_empty_blob(store: BlobStore) -> None:
    assert await store.put("empty", from_list([])) == 0
    assert await read(store, "empty") == b""
    assert (await store.stat("empty")).size == 0


RANGE_DATA_SIZE = 2 * MiB + MiB // 2


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (0, None),
        (0, MiB),
        (MiB, 2 * MiB),
        (MiB - 1, MiB + 1),
        (123, 456),
        (0, 1),
        (MiB, None),
        (RANGE_DATA_SIZE - 10, None),
        (RANGE_DATA_SIZE - 5, RANGE_DATA_SIZE + 100),
        (RANGE_DATA_SIZE, None),
        (RANGE_DATA_SIZE + 10, None),
        (RANGE_DATA_SIZE + 10, RANGE_DATA_SIZE + 20),
        (5, 5),
    ],
)
async def test_ranged_read(store: BlobStore, start: int, end: int | None) -> None:
    data = blob_bytes(RANGE_DATA_SIZE, seed=3)
    await store.put("range/blob", chunked(data, MiB))

    chunks = [chunk async for chunk in store.open("range/blob", start, end)]

    assert b"".join(chunks) == data[start:end]
    assert all(0 < len(chunk) <= MiB for chunk in chunks)


@pytest.mark.parametrize(("start", "end"), [(-1, None), (10, 9)])
async def test_bad_range_is_rejected(store: BlobStore, start: int, end: int | None) -> None:
    await store.put("k", from_list([b"data"]))
    with pytest.raises(ValueError):
        await read(store, "k", start, end)


@pytest.mark.parametrize(("start", "end"), [(0, None), (3, 10), (0, 0), (100, None)])
async def test_missing_key_is_not_found(store: BlobStore, start: int, end: int | None) -> None:
    with pytest.raises(BlobNotFound) as raised:
        await read(store, "no/such/blob", start, end)
    assert raised.value.key == "no/such/blob"
    with pytest.raises(BlobNotFound):
        await store.stat("no/such/blob")
    assert not await store.exists("no/such/blob")


async def test_a_key_prefix_is_not_a_blob(store: BlobStore) -> None:
    await store.put("dir/sub/blob", from_list([b"x"]))

    for key in ("dir", "dir/sub", "dir/sub/blob/more"):
        assert not await store.exists(key)
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        with pytest.raises(BlobNotFound):
            await read(store, key)
        await store.delete(key)
    assert await read(store, "dir/sub/blob") == b"x"


async def test_delete_is_idempotent(store: BlobStore) -> None:
    await store.delete("never/stored")
    await store.put("ab/k", from_list([b"payload"]))

    await store.delete("ab/k")
    await store.delete("ab/k")

    assert not await store.exists("ab/k")
    with pytest.raises(BlobNotFound):
        await read(store, "ab/k")
    assert await listing(store) == {}


async def test_overwrite_replaces_the_blob(store: BlobStore) -> None:
    await store.put("k", chunked(blob_bytes(3 * MiB), MiB))

    assert await store.put("k", from_list([b"short"])) == 5

    assert await read(store, "k") == b"short"
    assert (await store.stat("k")).size == 5
    assert list(await listing(store)) == ["k"]


async def test_iter_blobs_lists_exactly_the_stored_blobs(store: BlobStore) -> None:
    assert await listing(store) == {}
    sizes = {"a": 1, "ab/cd/e1": 0, "ab/cd/e2": 1000, "x/y.z": MiB + 1, "x_y-z": 7}
    before = datetime.now(UTC) - timedelta(minutes=5)
    for key, size in sizes.items():
        await store.put(key, chunked(blob_bytes(size), 4096))

    blobs = await listing(store)

    assert {key: info.size for key, info in blobs.items()} == sizes
    for info in blobs.values():
        assert info.modified_at.utcoffset() == timedelta(0)
        assert before < info.modified_at < datetime.now(UTC) + timedelta(minutes=5)
        assert (await store.stat(info.key)).size == info.size


@pytest.mark.parametrize(
    ("size", "chunk_size"),
    [
        pytest.param(0, 1, id="before-any-data"),
        pytest.param(100, 10, id="small"),
        pytest.param(2 * MiB + 1, MiB // 2, id="past-first-buffer"),
        pytest.param(PART_SIZE + MiB, 4 * MiB, id="past-first-part"),
    ],
)
async def test_failed_put_leaves_nothing(backend: Backend, size: int, chunk_size: int) -> None:
    store = backend.store

    with pytest.raises(Boom):
        await store.put("ab/failed", failing(blob_bytes(size), chunk_size))

    assert not await store.exists("ab/failed")
    with pytest.raises(BlobNotFound):
        await read(store, "ab/failed")
    assert await listing(store) == {}
    assert temp_files(backend) == []
    assert open_uploads(backend) == []


async def test_failed_overwrite_keeps_the_old_blob(backend: Backend) -> None:
    store = backend.store
    await store.put("k", from_list([b"old"]))

    with pytest.raises(Boom):
        await store.put("k", failing(blob_bytes(PART_SIZE + MiB), 4 * MiB))

    assert await read(store, "k") == b"old"
    assert temp_files(backend) == []


BAD_KEYS = [
    "",
    "../x",
    "a/../b",
    "/abs",
    "a//b",
    "a/./b",
    "a/b/",
    ".hidden",
    ".tmp/x",
    "a\\b",
    "a\x00b",
    "a\nb",
    "a b",
    "x" * 513,
]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
async def test_invalid_keys_are_rejected_everywhere(backend: Backend, key: str) -> None:
    store = backend.store

    with pytest.raises(InvalidBlobKey):
        await store.put(key, untouchable())
    with pytest.raises(InvalidBlobKey):
        store.open(key)  # at once, before any iteration
    with pytest.raises(InvalidBlobKey):
        await read(store, key, 1, 2)
    with pytest.raises(InvalidBlobKey):
        await store.delete(key)
    with pytest.raises(InvalidBlobKey):
        await store.exists(key)
    with pytest.raises(InvalidBlobKey):
        await store.stat(key)
    assert await listing(store) == {}
    if backend.root is not None:
        assert not backend.root.parent.joinpath("x").exists()


async def test_concurrent_puts_into_one_new_directory(store: BlobStore) -> None:
    payloads = {f"new/dir/blob{i}": blob_bytes(1000 + i, seed=i) for i in range(16)}

    async with anyio.create_task_group() as tasks:
        for key, data in payloads.items():
            tasks.start_soon(store.put, key, chunked(data, 300))

    for key, data in payloads.items():
        assert await read(store, key) == data
    assert {key: info.size for key, info in (await listing(store)).items()} == {
        key: len(data) for key, data in payloads.items()
    }


async def test_concurrent_overwrites_leave_one_whole_blob(store: BlobStore) -> None:
    versions = [bytes([i]) * (200_000 + i) for i in range(8)]

    async with anyio.create_task_group() as tasks:
        for data in versions:
            tasks.start_soon(store.put, "same/key", chunked(data, 64 * 1024))

    assert await read(store, "same/key") in versions


async def test_check_passes_on_a_healthy_store(store: BlobStore) -> None:
    await store.check()
    await store.close()


async def test_check_fails_when_the_backend_is_unusable(unavailable_store: BlobStore) -> None:
    with pytest.raises(BlobStoreUnavailable):
        await unavailable_store.check()
    await unavailable_store.close()


async def test_remove_stale_temp_is_safe_on_every_backend(store: BlobStore) -> None:
    assert isinstance(store, FileBlobStore | S3BlobStore)
    await store.put("k", from_list([b"kept"]))

    assert await store.remove_stale_temp(datetime.now(UTC) + timedelta(hours=1)) == 0

    assert await read(store, "k") == b"kept"


# -- files backend --------------------------------------------------------------------------


async def test_files_fsync_failure_fails_the_put(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileBlobStore(tmp_path / "blobs")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        await store.put("ab/k", from_list([b"data"]))
    with pytest.raises(OSError, match="Input/output"):
        await store.put("ab/big", chunked(blob_bytes(3 * MiB), MiB))
    monkeypatch.undo()

    assert not await store.exists("ab/k")
    assert not await store.exists("ab/big")
    assert list((tmp_path / "blobs" / ".tmp").iterdir()) == []


async def test_files_directory_fsync_failure_fails_the_put(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    real_fsync = os.fsync
    calls: list[int] = []

    def fsync_fails_second_time(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:  # the first fsync is the file's, the second its directory's
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_fails_second_time)
    with pytest.raises(OSError, match="Input/output"):
        await store.put("ab/k", from_list([b"data"]))
    monkeypatch.undo()

    assert not await store.exists("ab/k")
    assert list((tmp_path / "blobs" / ".tmp").iterdir()) == []


async def test_files_remove_stale_temp_removes_only_old_temp_files(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FileBlobStore(root)
    await store.put("ab/blob", from_list([b"kept"]))
    tmp = root / ".tmp"
    now = datetime.now(UTC)
    old = [tmp / "put-old1", tmp / "put-old2"]
    fresh = tmp / "put-fresh"
    for path in [*old, fresh]:
        path.write_bytes(b"partial")
    for path in old:
        stamp = (now - timedelta(hours=2)).timestamp()
        os.utime(path, (stamp, stamp))
    cutoff = now - timedelta(hours=1)

    listed = sorted([path async for path in store.iter_temp_files(cutoff)])
    removed = await store.remove_stale_temp(cutoff)

    assert listed == old
    assert removed == 2
    assert sorted(tmp.iterdir()) == [fresh]
    assert await read(store, "ab/blob") == b"kept"
    assert set(await listing(store)) == {"ab/blob"}


async def test_files_iter_blobs_skips_temp_and_foreign_files(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FileBlobStore(root)
    await store.put("ab/blob", from_list([b"x"]))
    (root / ".tmp" / "put-inflight").write_bytes(b"partial")
    (root / "ab" / ".DS_Store").write_bytes(b"junk")
    (root / "ab" / "empty-dir").mkdir()

    assert set(await listing(store)) == {"ab/blob"}


async def test_files_modes_are_private(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = FileBlobStore(root)

    await store.put("ab/cd/blob", from_list([b"secret"]))

    assert stat.S_IMODE((root / "ab" / "cd" / "blob").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "ab" / "cd").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "ab").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / ".tmp").stat().st_mode) == 0o700


async def test_files_check_creates_a_missing_root(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "new" / "blobs")

    await store.check()

    assert (tmp_path / "new" / "blobs").is_dir()


# -- s3 backend ------------------------------------------------------------------------------


async def test_s3_from_url_round_trip(s3_endpoint: str, s3_bucket: str) -> None:
    store = S3BlobStore.from_url(
        f"s3://{s3_bucket}/tenant?endpoint={s3_endpoint}&secure=false&region=us-east-1",
        access_key="testing",
        secret_key="testing",
    )
    await store.check()

    await store.put("ab/k", from_list([b"via url"]))

    assert await read(store, "ab/k") == b"via url"
    assert set(await listing(store)) == {"ab/k"}
    await store.close()


async def test_s3_keys_stay_under_the_prefix(s3_client: minio.Minio, s3_bucket: str) -> None:
    store = S3BlobStore(s3_client, s3_bucket, prefix="/kho/")
    await store.put("ab/k", from_list([b"x"]))
    s3_client.put_object(s3_bucket, "outside", io.BytesIO(b"foreign"), 7)
    s3_client.put_object(s3_bucket, "kho/bad..//key", io.BytesIO(b"foreign"), 7)

    names = [obj.object_name for obj in s3_client.list_objects(s3_bucket, recursive=True)]

    assert "kho/ab/k" in names
    assert set(await listing(store)) == {"ab/k"}


async def test_s3_ensure_bucket_is_idempotent(s3_endpoint: str) -> None:
    store = S3BlobStore.from_url(
        f"s3://kho-ensure?endpoint={s3_endpoint}&secure=false&region=us-east-1"
        "&access_key=testing&secret_key=testing"
    )

    await store.ensure_bucket()
    await store.ensure_bucket()

    await store.check()
    await store.close()


async def test_s3_check_fails_when_the_bucket_is_missing(s3_client: minio.Minio) -> None:
    store = S3BlobStore(s3_client, "kho-no-such-bucket")

    with pytest.raises(BlobStoreUnavailable, match="does not exist"):
        await store.check()
    with pytest.raises(BlobNotFound):
        await read(store, "k")
    with pytest.raises(BlobStoreUnavailable):
        await store.put("k", from_list([b"x"]))


@pytest.mark.parametrize(
    "url",
    [
        "http://bucket?endpoint=x",
        "s3://?endpoint=x",
        "s3://bucket?endpont=x",
        "s3://bucket?secure=maybe",
        "s3://bucket?access_key=a",
    ],
)
async def test_s3_from_url_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        S3BlobStore.from_url(url)
