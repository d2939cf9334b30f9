"""Persistence of the CSC service: credentials and issued SADs.

``CredentialStore`` offers one primitive, an exclusive read-modify-write
``transaction()``; every state change (failed-PIN counter, lock, SAD issue and use) goes
through it, so two requests can never both consume one SAD or both read a stale counter.
Implementations: ``MemoryCredentialStore`` (tests, a single process) and
``FileCredentialStore`` (the embedded default: one JSON file, an ``flock`` across
processes on one machine, atomic replace on write).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import msgspec

from signing.csc.models import CredentialRecord, SadRecord


class CscState(msgspec.Struct, kw_only=True):
    """The whole mutable state.  ``sads`` is keyed by the SHA-256 (hex) of the token."""

    credentials: dict[str, CredentialRecord] = msgspec.field(default_factory=dict)
    sads: dict[str, SadRecord] = msgspec.field(default_factory=dict)


class CredentialStore(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager[CscState]:
        """Exclusive access to the state; changes made to it persist when the block
        exits normally and are discarded when it raises."""
        ...

    def snapshot(self) -> CscState:
        """A consistent copy for reading; changing it changes nothing."""
        ...


def _copy(state: CscState) -> CscState:
    # Note: records are frozen, so copying the two dicts is a full copy.
    return CscState(credentials=dict(state.credentials), sads=dict(state.sads))


class MemoryCredentialStore:
    """State in this process's memory (tests; a single process only)."""

    def __init__(self) -> None:
        self._state = CscState()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CscState]:
        with self._lock:
            work = _copy(self._state)
            yield work
            self._state = work

    def snapshot(self) -> CscState:
        with self._lock:
            return _copy(self._state)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(CscState)


class FileCredentialStore:
    """State in ``{directory}/csc-state.json`` (mode 0600), guarded by an ``flock`` on
    ``{directory}/csc-state.lock`` so processes on one machine serialise too.  A write
    goes to a temporary file, is fsynced and renamed over the old one, so a crash leaves
    either the old or the new state, never a torn file."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._path = directory / "csc-state.json"
        self._lock_path = directory / "csc-state.lock"
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileCredentialStore({str(self._dir)!r})"

    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        self._dir.mkdir(parents=True, exist_ok=True)
        with self._thread_lock:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield
            finally:
                os.close(fd)

    def _read(self) -> tuple[CscState, bytes]:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return CscState(), b""
        return _DECODER.decode(raw), raw

    def _write(self, payload: bytes) -> None:
        tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self._path)
        dir_fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[CscState]:
        with self._locked(exclusive=True):
            state, before = self._read()
            yield state
            after = _ENCODER.encode(state)
            if after != before:
                self._write(after)

    def snapshot(self) -> CscState:
        with self._locked(exclusive=False):
            return self._read()[0]
