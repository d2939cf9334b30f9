"""Errors of the CSC v2 remote-signing service and client.  Each carries its data; the
HTTP adapter (``api/csc.py``) maps them to CSC error JSON, the client's HTTP transport
maps CSC error JSON back to them."""

from __future__ import annotations

from typing import Literal

from signing.errors import SigningError

SadProblem = Literal["unknown", "used", "expired", "other_hash", "other_credential"]


class CscError(SigningError):
    """Base class of every CSC error."""


class InvalidCscRequest(CscError):
    """A request parameter is missing, malformed or not supported (CSC ``invalid_request``)."""

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(f"invalid parameter {parameter}: {detail}")
        self.parameter = parameter
        self.detail = detail


class CredentialNotFound(CscError):
    """No credential with this id belongs to the calling user.

    # security: a credential of another user is reported exactly like a missing one."""

    def __init__(self, credential_id: str) -> None:
        super().__init__(f"credential {credential_id!r} not found")
        self.credential_id = credential_id


class CredentialExists(CscError):
    def __init__(self, credential_id: str) -> None:
        super().__init__(f"credential {credential_id!r} already exists")
        self.credential_id = credential_id


class CredentialLocked(CscError):
    """Too many wrong PINs; only an operator's ``unlock`` (or a PIN reset) reopens it."""

    def __init__(self, credential_id: str) -> None:
        super().__init__(f"credential {credential_id!r} is locked")
        self.credential_id = credential_id


class InvalidPin(CscError):
    """A wrong signing PIN.  ``remaining_attempts`` is ``None`` when a remote provider
    did not say."""

    def __init__(self, credential_id: str, remaining_attempts: int | None) -> None:
        left = "" if remaining_attempts is None else f"; {remaining_attempts} attempt(s) left"
        super().__init__(f"wrong PIN for credential {credential_id!r}{left}")
        self.credential_id = credential_id
        self.remaining_attempts = remaining_attempts


class InvalidOtp(CscError):
    """A wrong, stale or replayed one-time code (a wrong code counts as a failed attempt)."""

    def __init__(self, credential_id: str, remaining_attempts: int | None) -> None:
        left = "" if remaining_attempts is None else f"; {remaining_attempts} attempt(s) left"
        super().__init__(f"wrong one-time code for credential {credential_id!r}{left}")
        self.credential_id = credential_id
        self.remaining_attempts = remaining_attempts


class InvalidSad(CscError):
    """The Signature Activation Data cannot be used: ``problem`` says why (unknown,
    already used, expired, issued for other hashes or another credential)."""

    def __init__(self, problem: SadProblem) -> None:
        super().__init__(f"invalid SAD ({problem.replace('_', ' ')})")
        self.problem: SadProblem = problem


class CscUnavailable(CscError):
    """A remote CSC provider could not be reached or answered with something unusable."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"remote signing service unavailable: {reason}")
        self.reason = reason


class CscRemoteError(CscError):
    """A remote provider's CSC error that has no more specific class here."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"remote signing service error {status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class SigningStateInvalid(CscError):
    """The saved state of an interrupted signing does not fit the prepared PDF (or was
    damaged); nothing was signed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"signing state invalid: {reason}")
        self.reason = reason
