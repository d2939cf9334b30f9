"""The citizen's optional one-time code at sign-in (TOTP, RFC 6238: 6 digits, 30 s),
as an authenticator app shows it.

The secret is wrapped under the master key like an owner key (never stored in clear)
and shown once, while the citizen enrols.  A code is accepted for the current time
step or one either side (clock drift) and only once: its step must be later than the
last one used."""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime
from uuid import UUID

import pyotp

DIGITS = 6
INTERVAL_SECONDS = 30
ISSUER = "Kho"
SECRET_BYTES = 32  # 256 bits (RFC 4226 asks for at least 128); the key ring wraps 32-byte keys


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def key_context(owner_id: UUID) -> bytes:
    return b"kho/sign-in/totp/" + owner_id.bytes


def encoded(secret: bytes) -> str:
    """The secret as an authenticator app takes it by hand: base32, no padding."""
    return base64.b32encode(secret).decode().rstrip("=")


def _totp(secret: bytes) -> pyotp.TOTP:
    return pyotp.TOTP(encoded(secret), digits=DIGITS, interval=INTERVAL_SECONDS)


def provisioning_uri(secret: bytes, account: str) -> str:
    """The ``otpauth://`` address a QR code carries."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def matching_step(secret: bytes, code: str | None, now: datetime, after: int) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), when it is
    later than ``after`` (the last step used); None for a wrong, malformed or reused
    code."""
    code = (code or "").replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = _totp(secret)
    current = totp.timecode(now)
    found = None
    for step in (current - 1, current, current + 1):
        # security: compare every candidate in constant time, whatever matched before
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found if found is not None and found > after else None
