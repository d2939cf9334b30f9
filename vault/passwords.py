"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# Note: argon2-cffi's defaults are RFC 9106's "low memory" profile (argon2id, t=3, 64 MiB).
_hasher = PasswordHasher()
# A real hash to verify against when the account does not exist, so a login for an
# unknown personal ID costs the same time as one with a wrong password.
_DUMMY = _hasher.hash("kho-dummy-password")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored or _DUMMY, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(check)


def check_password_strength(password: str) -> str | None:
    """Return why a new password is unacceptable, or ``None``."""
    if len(password) < 8:
        return "must be at least 8 characters"
    if len(password) > 1024:
        return "must be at most 1024 characters"
    return None
