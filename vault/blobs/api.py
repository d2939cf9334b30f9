"""The blob storage contract.

A ``BlobStore`` keeps opaque byte strings (already encrypted by the vault) under
string keys.  Keys are made by the vault (``"ab/cd/<uuid>"``-like, ASCII, no ``..``);
every implementation validates them with :func:`check_key` before touching storage.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime
from typing import Protocol, runtime_checkable

import msgspec

from vault.errors import InvalidBlobKey

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def check_key(key: str) -> str:
    """Return ``key`` when it is a safe relative blob key, else raise ``InvalidBlobKey``.

    # security: this is the one place that stops path traversal into the data dir or
    # another bucket prefix: no empty segment, no leading ``/``, no ``.``/``..`` segment
    # (a segment must start with an alphanumeric), no backslash or control character.
    """
    if not key or len(key) > 512 or not _KEY_RE.match(key):
        raise InvalidBlobKey(key)
    return key


class BlobInfo(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    size: int
    modified_at: datetime  # timezone-aware UTC


@runtime_checkable
class BlobStore(Protocol):
    """Where encrypted blobs live.

    Contract (tested for every backend by ``tests/contract/test_blobs.py``):

    - ``put`` consumes ``chunks`` and stores them under ``key`` atomically: a reader never
      sees a partial blob; on any error (including the iterator raising) nothing is left
      under ``key`` and the error propagates.  Overwriting an existing key replaces it.
      Returns the number of bytes written.  Durable on return (fsync for files).
    - ``open`` streams ``[start, end)`` of the blob (``end=None``: to the end) in chunks;
      ``BlobNotFound`` if the key does not exist (raised on first iteration at latest).
    - ``delete`` removes the key; deleting a missing key is not an error.
    - ``exists`` / ``stat`` report presence / size and modification time
      (``stat`` raises ``BlobNotFound``).
    - ``iter_blobs`` lists every stored blob (for garbage collection), in no set order,
      never including incomplete in-flight writes.
    - ``remove_stale_temp`` deletes temp files of interrupted writes; returns the count.
    - ``check`` raises ``BlobStoreUnavailable`` when the backend cannot be used (readiness).
    """

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int: ...

    def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def stat(self, key: str) -> BlobInfo: ...

    def iter_blobs(self) -> AsyncIterator[BlobInfo]: ...

    async def check(self) -> None: ...

    async def remove_stale_temp(self, older_than: datetime) -> int:
        """Delete leftovers of writes killed mid-way (older than ``older_than``)."""
        ...

    async def close(self) -> None: ...
