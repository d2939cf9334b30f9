"""Master keys (key-encryption keys) and the ``KeyRing`` contract.

The master key never encrypts content: it wraps owner keys (and the content keys of
documents kept under legal hold after their owner left).  A ``KeyRing`` may hold several
master keys during a rotation; wrapping always uses the current one and records its id.
An external KMS can implement the same protocol.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Protocol

from vault.crypto import KEY_LEN, DecryptionError, unwrap_key, wrap_key
from vault.errors import KeyUnavailable


class KeyRing(Protocol):
    @property
    def current_id(self) -> str: ...

    def wrap(self, key: bytes, context: bytes) -> tuple[str, bytes]:
        """Wrap ``key`` under the current master key; returns ``(kek_id, wrapped)``."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        """Raises ``KeyUnavailable`` for an unknown id or a wrapped key that fails to open."""
        ...


class LocalKeyRing:
    """Master keys held in process memory, loaded from ``KHO_MASTER_KEY`` or a key file."""

    def __init__(self, keys: dict[str, bytes], current_id: str) -> None:
        if current_id not in keys:
            raise ValueError("current master key id is not among the keys")
        for kid, key in keys.items():
            if len(key) != KEY_LEN:
                raise ValueError(f"master key {kid!r} must be {KEY_LEN} bytes")
        self._keys = dict(keys)
        self._current = current_id

    def __repr__(self) -> str:  # security: never print key material
        return f"LocalKeyRing(current={self._current!r}, ids={sorted(self._keys)!r})"

    @property
    def current_id(self) -> str:
        return self._current

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    def wrap(self, key: bytes, context: bytes) -> tuple[str, bytes]:
        return self._current, wrap_key(self._keys[self._current], key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        kek = self._keys.get(kek_id)
        if kek is None:
            raise KeyUnavailable(f"master key {kek_id!r} is not loaded")
        try:
            return unwrap_key(kek, wrapped, context)
        except DecryptionError:
            raise KeyUnavailable("a wrapped key does not open with its master key") from None

    @classmethod
    def from_env_value(cls, value: str) -> LocalKeyRing:
        """Parse ``KHO_MASTER_KEY``: ``base64`` or ``id:base64[,id:base64...]``, current first."""
        keys: dict[str, bytes] = {}
        current = ""
        for n, item in enumerate(p.strip() for p in value.split(",") if p.strip()):
            kid, sep, b64 = item.partition(":")
            if not sep:
                kid, b64 = "env-0", item
            try:
                raw = base64.b64decode(b64, validate=True)
            except ValueError:
                raise ValueError("KHO_MASTER_KEY holds a key that is not valid base64") from None
            keys[kid] = raw
            if n == 0:
                current = kid
        if not keys:
            raise ValueError("KHO_MASTER_KEY is empty")
        return cls(keys, current)

    @classmethod
    def load_file(cls, path: Path) -> LocalKeyRing:
        data = json.loads(path.read_text("utf-8"))
        keys = {k: base64.b64decode(v) for k, v in data["keys"].items()}
        return cls(keys, data["current"])

    @classmethod
    def open_or_create_file(cls, path: Path) -> LocalKeyRing:
        """Load the key file, creating it (mode 0600) with one new key on first start."""
        if path.exists():
            return cls.load_file(path)
        kid = new_key_id()
        ring = cls({kid: secrets.token_bytes(KEY_LEN)}, kid)
        ring.save_file(path)
        return ring

    def save_file(self, path: Path) -> None:
        """Write atomically with mode 0600 (temp file, fsync, rename, fsync dir)."""
        payload = json.dumps(
            {
                "current": self._current,
                "keys": {k: base64.b64encode(v).decode() for k, v in self._keys.items()},
            }
        ).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def with_new_current(self) -> LocalKeyRing:
        """A ring holding every key of this one plus a fresh current key."""
        kid = new_key_id()
        keys = dict(self._keys)
        keys[kid] = secrets.token_bytes(KEY_LEN)
        return LocalKeyRing(keys, kid)

    def only_current(self) -> LocalKeyRing:
        return LocalKeyRing({self._current: self._keys[self._current]}, self._current)


def new_key_id() -> str:
    return "k" + secrets.token_hex(6)
