"""``S3BlobStore``: blobs as objects in an S3-compatible bucket, through the ``minio`` SDK.

The SDK is synchronous: every call to it runs in a worker thread via ``anyio.to_thread``,
and this module is the only place that may do so.  It is also the only place that sees
``minio`` or ``urllib3`` errors: they are translated to ``vault.errors`` here.

Writes are atomic because S3 makes an object visible only once its ``PutObject`` or
``CompleteMultipartUpload`` succeeds.  A multipart upload abandoned by a killed process
keeps its parts until a bucket lifecycle rule (``AbortIncompleteMultipartUpload``)
removes them; operators should set one (see docs/operations.md).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import anyio
import anyio.to_thread
import certifi
import minio
import urllib3
from minio.datatypes import Object, Part
from minio.error import MinioException, S3Error
from urllib3.exceptions import HTTPError

from vault.blobs.api import BlobInfo, check_key
from vault.errors import BlobNotFound, BlobStoreUnavailable, InvalidBlobKey

CHUNK_SIZE = 1024 * 1024
"""Largest chunk ``open`` yields."""
PART_SIZE = 16 * 1024 * 1024
"""Blobs up to this size are one ``PutObject``; larger ones upload parts of this size."""

_LIST_BATCH = 1000
_MISSING = frozenset({"NoSuchKey", "NoSuchBucket"})
_URL_PARAMS = frozenset({"endpoint", "secure", "access_key", "secret_key", "region", "prefix"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_T = TypeVar("_T")


class S3BlobStore:
    """A :class:`~vault.blobs.api.BlobStore` on one bucket (optionally under a prefix).

    The blob ``key`` is the object ``prefix + key``; ``prefix`` is given a trailing ``/``
    when it lacks one so that two stores sharing a bucket cannot see each other's keys.
    """

    def __init__(self, client: minio.Minio, bucket: str, prefix: str = "") -> None:
        prefix = prefix.strip("/")
        if prefix:
            check_key(prefix)
            prefix += "/"
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self._owned_http: urllib3.PoolManager | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        http_client: urllib3.PoolManager | None = None,
    ) -> S3BlobStore:
        """Build a store from ``s3://BUCKET?endpoint=HOST:PORT&secure=false&...``.

        Query parameters: ``endpoint`` (default ``s3.amazonaws.com``), ``secure``
        (default ``true``), ``access_key``, ``secret_key``, ``region``, ``prefix`` (a
        path after the bucket, ``s3://bucket/some/prefix``, works too).  The keyword
        ``access_key``/``secret_key`` win over the URL's, so secrets can stay out of it.
        Raises ``ValueError`` naming what is wrong with the URL.

        Unless ``http_client`` is given, the store owns a connection pool with short
        timeouts and few retries, so that a readiness ``check`` against a dead endpoint
        fails in seconds rather than minutes; ``close`` releases it.
        """
        parts = urlsplit(url)
        if parts.scheme != "s3":
            raise ValueError(f"blob store URL must start with s3://, got {parts.scheme!r}")
        bucket = parts.netloc
        if not bucket:
            raise ValueError("blob store URL has no bucket: expected s3://BUCKET?...")
        params: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
            if name not in _URL_PARAMS:
                raise ValueError(
                    f"unknown blob store URL parameter {name!r}; "
                    f"expected one of {', '.join(sorted(_URL_PARAMS))}"
                )
            params[name] = value
        secure_text = params.get("secure", "true").lower()
        if secure_text not in _TRUE | _FALSE:
            raise ValueError(f"blob store URL parameter secure={secure_text!r} is not a boolean")
        secure = secure_text in _TRUE
        access = access_key if access_key is not None else params.get("access_key") or None
        secret = secret_key if secret_key is not None else params.get("secret_key") or None
        if access and secret is None:
            raise ValueError("blob store has an access key but no secret key")
        owned = http_client is None
        if http_client is None:
            http_client = _default_http_client()
        client = minio.Minio(
            params.get("endpoint") or "s3.amazonaws.com",
            access_key=access,
            secret_key=secret,
            secure=secure,
            region=params.get("region") or None,
            http_client=http_client,
        )
        prefix = params.get("prefix", unquote(parts.path))
        store = cls(client, bucket, prefix)
        if owned:
            store._owned_http = http_client
        return store

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self._bucket!r}, prefix={self._prefix!r})"

    def _name(self, key: str) -> str:
        return self._prefix + check_key(key)

    async def _call(self, func: Callable[..., _T], *args: object) -> _T:
        return await anyio.to_thread.run_sync(func, *args)

    # -- writing -------------------------------------------------------------------

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store ``chunks`` under ``key`` atomically; return the byte count.

        At most one part (16 MiB) is held in memory.  A blob that fits in one part is a
        single ``PutObject``; a larger one is a multipart upload, aborted on any error
        (the iterator raising included), so nothing becomes visible under ``key``.
        """
        name = self._name(key)
        buffer = bytearray()
        total = 0
        upload_id: str | None = None
        parts: list[Part] = []
        try:
            async for chunk in chunks:
                buffer += chunk
                total += len(chunk)
                # Strictly more than a part: a blob of exactly PART_SIZE stays one PUT.
                while len(buffer) > PART_SIZE:
                    with _translated(None):
                        if upload_id is None:
                            upload_id = await self._call(self._create_upload, name)
                        part = bytes(buffer[:PART_SIZE])
                        del buffer[:PART_SIZE]
                        parts.append(
                            await self._call(
                                self._upload_part, name, upload_id, part, len(parts) + 1
                            )
                        )
            with _translated(None):
                if upload_id is None:
                    await self._call(self._put_whole, name, bytes(buffer))
                else:
                    if buffer:
                        parts.append(
                            await self._call(
                                self._upload_part, name, upload_id, bytes(buffer), len(parts) + 1
                            )
                        )
                    await self._call(
                        self._client._complete_multipart_upload,
                        self._bucket,
                        name,
                        upload_id,
                        parts,
                    )
        except BaseException:
            if upload_id is not None:
                with anyio.CancelScope(shield=True):
                    await self._call(self._abort_upload, name, upload_id)
            raise
        return total

    def _put_whole(self, name: str, data: bytes) -> None:
        self._client.put_object(self._bucket, name, io.BytesIO(data), len(data))

    def _create_upload(self, name: str) -> str:
        # Note: minio's public put_object needs a blocking file-like source; driving the
        # (stable since 7.0) multipart primitives directly lets us pull from an async
        # iterator without a thread blocked on it.
        return self._client._create_multipart_upload(
            self._bucket, name, {"Content-Type": "application/octet-stream"}
        )

    def _upload_part(self, name: str, upload_id: str, data: bytes, number: int) -> Part:
        etag = self._client._upload_part(self._bucket, name, data, None, upload_id, number)
        return Part(number, etag)

    def _abort_upload(self, name: str, upload_id: str) -> None:
        # The original error matters more; a lifecycle rule reaps the parts if this fails.
        with contextlib.suppress(MinioException, HTTPError, OSError):
            self._client._abort_multipart_upload(self._bucket, name, upload_id)

    # -- reading -------------------------------------------------------------------

    def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, end)`` of the object in chunks of at most 1 MiB.

        Raises ``InvalidBlobKey`` at once, ``BlobNotFound`` on first iteration, and
        ``ValueError`` for a negative ``start`` or an ``end`` before ``start``.  A range
        past the end of the blob is cut short (possibly to nothing).
        """
        name = self._name(key)
        if start < 0:
            raise ValueError(f"start must not be negative, got {start}")
        if end is not None and end < start:
            raise ValueError(f"end ({end}) must not be before start ({start})")
        return self._read(key, name, start, end)

    async def _read(self, key: str, name: str, start: int, end: int | None) -> AsyncIterator[bytes]:
        if end == start:
            # minio reads length=0 as "to the end"; an empty range only needs existence.
            await self.stat(key)
            return
        length = 0 if end is None else end - start
        try:
            with _translated(key):
                response = await self._call(
                    self._client.get_object, self._bucket, name, start, length
                )
        except _RangeNotSatisfiable:
            await self.stat(key)  # Starts at or past the end: empty if the object exists.
            return
        try:
            stream = response.stream(CHUNK_SIZE)
            while True:
                with _translated(key):
                    chunk = await self._call(_next_or_none, stream)
                if chunk is None:
                    return
                if chunk:
                    yield chunk
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error (S3 deletes idempotently)."""
        name = self._name(key)
        with _translated(None):
            await self._call(self._client.remove_object, self._bucket, name)

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except BlobNotFound:
            return False
        return True

    async def stat(self, key: str) -> BlobInfo:
        """Size and modification time of the object; ``BlobNotFound`` if it is missing."""
        name = self._name(key)
        with _translated(key):
            obj = await self._call(self._client.stat_object, self._bucket, name)
        return BlobInfo(key=key, size=obj.size or 0, modified_at=_aware(obj.last_modified))

    async def iter_blobs(self) -> AsyncIterator[BlobInfo]:
        """Every object under the prefix whose name is a valid key, in no set order.

        In-flight multipart uploads are never listed (S3 lists completed objects only).
        Raises ``BlobStoreUnavailable`` if the bucket cannot be listed.
        """
        with _translated(None):
            listing = await self._call(
                self._client.list_objects, self._bucket, self._prefix or None, True
            )
        while True:
            with _translated(None):
                batch = await self._call(_take, listing, _LIST_BATCH)
            for obj in batch:
                info = self._info(obj)
                if info is not None:
                    yield info
            if len(batch) < _LIST_BATCH:
                return

    def _info(self, obj: Object) -> BlobInfo | None:
        name = obj.object_name or ""
        if obj.is_dir or not name.startswith(self._prefix):
            return None
        key = name[len(self._prefix) :]
        try:
            check_key(key)
        except InvalidBlobKey:
            return None  # Not ours: never hand garbage collection a foreign object.
        return BlobInfo(key=key, size=obj.size or 0, modified_at=_aware(obj.last_modified))

    # -- maintenance -----------------------------------------------------------------

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (for development and tests)."""
        with _translated(None):
            if not await self._call(self._client.bucket_exists, self._bucket):
                try:
                    await self._call(self._client.make_bucket, self._bucket)
                except S3Error as exc:
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise

    async def remove_stale_temp(self, older_than: datetime) -> int:
        """Nothing to do: S3 has no temp files (see the module note on multipart)."""
        return 0

    async def check(self) -> None:
        """Raise ``BlobStoreUnavailable`` unless the bucket answers and exists."""
        with _translated(None):
            found = await self._call(self._client.bucket_exists, self._bucket)
        if not found:
            raise BlobStoreUnavailable(f"bucket {self._bucket!r} does not exist")

    async def close(self) -> None:
        """Release the connection pool, if this store created it."""
        if self._owned_http is not None:
            self._owned_http.clear()


class _RangeNotSatisfiable(Exception):
    pass


@contextmanager
def _translated(key: str | None) -> Iterator[None]:
    """Turn SDK and transport errors into vault errors; the one place that knows them.

    With a ``key`` (reads), a missing object or bucket is ``BlobNotFound(key)`` and an
    unsatisfiable range is ``_RangeNotSatisfiable``; everything else
    (access denied, server errors, unreachable endpoint) is ``BlobStoreUnavailable``.
    """
    try:
        yield
    except S3Error as exc:
        if key is not None and exc.code in _MISSING:
            raise BlobNotFound(key) from None
        if key is not None and exc.code == "InvalidRange":
            raise _RangeNotSatisfiable from None
        raise BlobStoreUnavailable(f"S3 error {exc.code}: {exc.message}") from exc
    except MinioException as exc:
        raise BlobStoreUnavailable(f"S3 error: {exc}") from exc
    except (HTTPError, OSError) as exc:
        raise BlobStoreUnavailable(f"S3 endpoint unreachable: {exc}") from exc


def _default_http_client() -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=60),
        maxsize=16,
        cert_reqs="CERT_REQUIRED",
        # Note: the same CA bundle minio's own default pool uses.
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


def _next_or_none(iterator: Iterator[bytes]) -> bytes | None:
    return next(iterator, None)


def _take(iterator: Iterator[_T], count: int) -> list[_T]:
    return list(islice(iterator, count))


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.fromtimestamp(0, tz=UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
