"""``FileBlobStore``: blobs as files under a root directory.

Layout: the blob ``ab/cd/<uuid>`` is the file ``root/ab/cd/<uuid>``; writes in flight are
``root/.tmp/put-*`` files on the same filesystem, renamed into place once fsynced.  A
``.tmp`` name can never collide with a key because every key segment starts with an
alphanumeric character (see :func:`vault.blobs.api.check_key`).

Blocking file I/O runs in worker threads via ``anyio.to_thread``; writes are batched so
that a small blob costs one thread hop (create, write, fsync, rename, fsync directory).
"""

from __future__ import annotations

import contextlib
import os
import stat as stat_mod
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TypeVar

import anyio
import anyio.to_thread

from vault.blobs.api import BlobInfo, check_key
from vault.errors import BlobNotFound, BlobStoreUnavailable, InvalidBlobKey

TMP_DIR = ".tmp"
CHUNK_SIZE = 1024 * 1024
"""Largest chunk ``open`` yields, and how much ``put`` buffers per thread hop."""

_LIST_BATCH = 512
_IOV_MAX = 1024
_FILE_MODE = 0o600  # Note: tempfile.mkstemp already creates files 0600; kept for docs.
_DIR_MODE = 0o700
_T = TypeVar("_T")


class FileBlobStore:
    """A :class:`~vault.blobs.api.BlobStore` on a local (POSIX) filesystem.

    ``root`` need not exist yet: ``put`` and ``check`` create it (mode 0700).  Blobs are
    created 0600 and directories 0700, since they hold other people's (encrypted) papers.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._tmp = self._root / TMP_DIR

    @property
    def root(self) -> Path:
        return self._root

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self._root)!r})"

    def _path(self, key: str) -> Path:
        return self._root / check_key(key)

    # -- writing -------------------------------------------------------------------

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store ``chunks`` under ``key`` atomically and durably; return the byte count.

        The bytes go to a temp file in ``root/.tmp``, which is fsynced, renamed over the
        key's path and whose directory is then fsynced.  On any error (the iterator
        raising, a full disk, a failed fsync — never retried, since a failed fsync may
        have dropped the dirty pages) the temp file is removed and the error propagates;
        the key keeps its previous content, if any.
        """
        target = self._path(key)
        pending: list[bytes] = []
        buffered = 0
        total = 0
        temp: _TempFile | None = None
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                pending.append(chunk)
                buffered += len(chunk)
                total += len(chunk)
                if buffered >= CHUNK_SIZE:
                    batch, pending, buffered = pending, [], 0
                    if temp is None:
                        temp = await anyio.to_thread.run_sync(self._create_temp, batch)
                    else:
                        await anyio.to_thread.run_sync(temp.write, batch)
            if temp is None:
                # The common small-blob case: everything in one thread hop.
                await anyio.to_thread.run_sync(self._write_whole, target, pending)
            else:
                await anyio.to_thread.run_sync(self._finish, temp, target, pending)
        except BaseException:
            if temp is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(temp.discard)
            raise
        return total

    def _create_temp(self, batch: list[bytes]) -> _TempFile:
        try:
            temp = _TempFile.create(self._tmp)
        except FileNotFoundError:
            self._ensure_tmp_dir()
            temp = _TempFile.create(self._tmp)
        try:
            temp.write(batch)
        except BaseException:
            temp.discard()
            raise
        return temp

    def _write_whole(self, target: Path, batch: list[bytes]) -> None:
        temp = self._create_temp(batch)
        self._finish(temp, target, [])

    def _finish(self, temp: _TempFile, target: Path, batch: list[bytes]) -> None:
        try:
            temp.write(batch)
            temp.sync_and_close()
            created = self._replace(temp.path, target)
        except BaseException:
            temp.discard()
            raise
        try:
            _fsync_dir(target.parent)
            for directory in created:
                _fsync_dir(directory.parent)
        except BaseException:
            # The rename may not survive a crash, so the put failed: leave nothing behind.
            _unlink_quietly(target)
            raise

    def _replace(self, source: Path, target: Path) -> list[Path]:
        """Rename ``source`` to ``target``, creating parents; return the dirs created."""
        try:
            os.replace(source, target)
        except FileNotFoundError:
            if not source.exists():
                raise
            created = self._make_parents(target)
            os.replace(source, target)
            return created
        return []

    def _make_parents(self, target: Path) -> list[Path]:
        """Create ``target``'s missing parent directories (0700), tolerating races."""
        created: list[Path] = []
        directory = self._root
        for part in target.relative_to(self._root).parts[:-1]:
            directory = directory / part
            try:
                os.mkdir(directory, _DIR_MODE)
            except FileExistsError:
                # Another put made it first (or a file is in the way: os.replace says so).
                continue
            created.append(directory)
        return created

    def _ensure_tmp_dir(self) -> None:
        try:
            os.mkdir(self._tmp, _DIR_MODE)
        except FileExistsError:
            pass
        except FileNotFoundError:
            os.makedirs(self._tmp, _DIR_MODE, exist_ok=True)

    # -- reading -------------------------------------------------------------------

    def open(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, end)`` of the blob in chunks of at most 1 MiB.

        Raises ``InvalidBlobKey`` at once, ``BlobNotFound`` on first iteration, and
        ``ValueError`` for a negative ``start`` or an ``end`` before ``start``.  A range
        past the end of the blob is cut short (possibly to nothing).
        """
        path = self._path(key)
        _check_range(start, end)
        return self._read(key, path, start, end)

    async def _read(
        self, key: str, path: Path, start: int, end: int | None
    ) -> AsyncIterator[bytes]:
        fd, size = await anyio.to_thread.run_sync(_open_for_read, key, path)
        try:
            position = start
            stop = size if end is None else min(end, size)
            while position < stop:
                wanted = min(CHUNK_SIZE, stop - position)
                data = await anyio.to_thread.run_sync(os.pread, fd, wanted, position)
                if not data:
                    break  # Truncated underneath us; nothing more to give.
                position += len(data)
                yield data
        finally:
            os.close(fd)

    async def delete(self, key: str) -> None:
        """Remove the blob; a missing key is not an error."""
        path = self._path(key)
        await anyio.to_thread.run_sync(_unlink_quietly, path)

    async def exists(self, key: str) -> bool:
        path = self._path(key)
        return await anyio.to_thread.run_sync(path.is_file)

    async def stat(self, key: str) -> BlobInfo:
        """Size and modification time of the blob; ``BlobNotFound`` if it is missing."""
        path = self._path(key)
        st = await anyio.to_thread.run_sync(_stat_file, key, path)
        return BlobInfo(key=key, size=st.st_size, modified_at=_mtime(st))

    async def iter_blobs(self) -> AsyncIterator[BlobInfo]:
        """Every stored blob (never temp files), in no set order.

        Files whose relative path is not a valid key (left by hand, say) are skipped, so
        garbage collection never touches what the vault did not write.
        """
        scan = _scan_blobs(self._root)
        while True:
            batch = await anyio.to_thread.run_sync(_take, scan, _LIST_BATCH)
            for info in batch:
                yield info
            if len(batch) < _LIST_BATCH:
                return

    # -- maintenance -----------------------------------------------------------------

    async def iter_temp_files(self, older_than: datetime) -> AsyncIterator[Path]:
        """Temp files (of writes killed mid-way) last modified before ``older_than``.

        A write in progress touches its temp file at least every 1 MiB, so a cut-off
        well in the past (an hour, say) never lists a live write.
        """
        cutoff = _cutoff(older_than)
        scan = _scan_temp(self._tmp, cutoff)
        while True:
            batch = await anyio.to_thread.run_sync(_take, scan, _LIST_BATCH)
            for path in batch:
                yield path
            if len(batch) < _LIST_BATCH:
                return

    async def remove_stale_temp(self, older_than: datetime) -> int:
        """Delete temp files last modified before ``older_than``; return how many."""
        removed = 0
        async for path in self.iter_temp_files(older_than):
            if await anyio.to_thread.run_sync(_unlink_quietly, path):
                removed += 1
        return removed

    async def check(self) -> None:
        """Raise ``BlobStoreUnavailable`` unless a file can be created under the root."""
        try:
            await anyio.to_thread.run_sync(self._probe)
        except OSError as exc:
            raise BlobStoreUnavailable(f"{self._root}: {exc.strerror or exc}") from exc

    def _probe(self) -> None:
        self._ensure_tmp_dir()
        fd, name = tempfile.mkstemp(prefix="check-", dir=self._tmp)
        os.close(fd)
        os.unlink(name)

    async def close(self) -> None:
        """Nothing to release: every file is closed when its operation ends."""


class _TempFile:
    """An open temp file being written; owned by one ``put``."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd: int | None = fd
        self.path = path

    @classmethod
    def create(cls, directory: Path) -> _TempFile:
        fd, name = tempfile.mkstemp(prefix="put-", dir=directory)
        os.fchmod(fd, _FILE_MODE)
        return cls(fd, Path(name))

    def write(self, batch: list[bytes]) -> None:
        """Write every chunk, one ``writev`` per up to ``IOV_MAX`` chunks when possible."""
        assert self.fd is not None
        views = [memoryview(chunk) for chunk in batch if chunk]
        first = 0
        while first < len(views):
            written = os.writev(self.fd, views[first : first + _IOV_MAX])
            while first < len(views) and written >= len(views[first]):
                written -= len(views[first])
                first += 1
            if written:
                views[first] = views[first][written:]

    def sync_and_close(self) -> None:
        assert self.fd is not None
        fd, self.fd = self.fd, None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def discard(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            with contextlib.suppress(OSError):
                os.close(fd)
        _unlink_quietly(self.path)


def _check_range(start: int, end: int | None) -> None:
    if start < 0:
        raise ValueError(f"start must not be negative, got {start}")
    if end is not None and end < start:
        raise ValueError(f"end ({end}) must not be before start ({start})")


def _open_for_read(key: str, path: Path) -> tuple[int, int]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise BlobNotFound(key) from None
    try:
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode):
            raise BlobNotFound(key)
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _stat_file(key: str, path: Path) -> os.stat_result:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise BlobNotFound(key) from None
    if not stat_mod.S_ISREG(st.st_mode):
        raise BlobNotFound(key)
    return st


def _unlink_quietly(path: Path) -> bool:
    """Remove ``path``; ``False`` if there was no such file."""
    try:
        os.unlink(path)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return False
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime, tz=UTC)


def _cutoff(older_than: datetime) -> float:
    if older_than.tzinfo is None:
        raise ValueError("older_than must be timezone-aware")
    return older_than.timestamp()


def _take(iterator: Iterator[_T], count: int) -> list[_T]:
    return list(islice(iterator, count))


def _scan_blobs(root: Path) -> Iterator[BlobInfo]:
    """Walk ``root`` depth first, skipping ``.tmp`` and anything not a valid key."""
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue  # Removed while we walked (or root not created yet).
        for entry in entries:
            key = prefix + entry.name
            if not prefix and entry.name == TMP_DIR:
                continue
            try:
                check_key(key)
            except InvalidBlobKey:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), key + "/"))
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    yield BlobInfo(key=key, size=st.st_size, modified_at=_mtime(st))
            except FileNotFoundError:
                continue


def _scan_temp(tmp: Path, cutoff: float) -> Iterator[Path]:
    try:
        entries = list(os.scandir(tmp))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and (
                entry.stat(follow_symlinks=False).st_mtime < cutoff
            ):
                yield Path(entry.path)
        except FileNotFoundError:
            continue
