"""Errors raised by the vault.  Each carries the data an adapter needs to explain it."""

from __future__ import annotations

from uuid import UUID


class VaultError(Exception):
    """Base class of every vault error."""


class InvalidBlobKey(VaultError):
    def __init__(self, key: str) -> None:
        super().__init__(f"invalid blob key {key!r}")
        self.key = key


class BlobNotFound(VaultError):
    def __init__(self, key: str) -> None:
        super().__init__(f"blob {key!r} not found")
        self.key = key


class BlobStoreUnavailable(VaultError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"blob store unavailable: {reason}")
        self.reason = reason


class IntegrityError(VaultError):
    """Stored bytes do not match what was written (tampering or corruption)."""

    def __init__(self, document_id: UUID, reason: str) -> None:
        super().__init__(f"document {document_id} failed its integrity check: {reason}")
        self.document_id = document_id
        self.reason = reason


class KeyUnavailable(VaultError):
    """A key needed to decrypt is gone (crypto-shredded owner) or unknown."""

    def __init__(self, what: str) -> None:
        super().__init__(f"key unavailable: {what}")
        self.what = what


class DocumentNotFound(VaultError):
    def __init__(self, document_id: UUID | str) -> None:
        super().__init__(f"document {document_id} not found")
        self.document_id = document_id


class OwnerNotFound(VaultError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"owner {ref} not found")
        self.ref = ref


class OwnerExists(VaultError):
    def __init__(self, personal_id: str) -> None:
        super().__init__("an account with this personal ID already exists")
        self.personal_id = personal_id


class AgencyNotFound(VaultError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"agency {ref} not found")
        self.ref = ref


class AgencyExists(VaultError):
    def __init__(self, code: str) -> None:
        super().__init__(f"agency {code!r} already exists")
        self.code = code


class OfficialExists(VaultError):
    def __init__(self, agency_code: str, username: str) -> None:
        super().__init__(f"agency {agency_code} already has an official {username!r}")
        self.agency_code = agency_code
        self.username = username


class OfficialNotFound(VaultError):
    def __init__(self, agency_code: str, username: str) -> None:
        super().__init__(f"agency {agency_code} has no official {username!r}")


class InvalidInput(VaultError):
    """A value is malformed (bad personal ID, empty title, ...).  ``reason`` is for
    developers (English); ``code``, when set, is a stable name of the problem that
    pages translate (e.g. ``not_a_date``)."""

    def __init__(self, field: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code


class EmptyFile(VaultError):
    def __init__(self) -> None:
        super().__init__("the file is empty")


class FileTooLarge(VaultError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the file exceeds the size limit of {limit} bytes")
        self.limit = limit


class QuotaExceeded(VaultError):
    def __init__(self, quota: int, used: int) -> None:
        super().__init__(f"storage quota of {quota} bytes exceeded ({used} bytes used)")
        self.quota = quota
        self.used = used


class UnsupportedMediaType(VaultError):
    def __init__(self, detected: str | None) -> None:
        super().__init__(
            "only PDF, JPEG and PNG files are accepted"
            + (f" (this looks like {detected})" if detected else "")
        )
        self.detected = detected


class UnreadableDocument(VaultError):
    """The bytes claim a type (e.g. PDF) but do not parse as it."""

    def __init__(self, content_type: str, reason: str) -> None:
        super().__init__(f"the {content_type} file cannot be read: {reason}")
        self.content_type = content_type
        self.reason = reason


class AuthenticationFailed(VaultError):
    """Wrong credentials; deliberately says nothing about which part was wrong."""

    def __init__(self) -> None:
        super().__init__("invalid credentials")


class LoginThrottled(VaultError):
    """Too many wrong passwords for one account; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed sign-ins for this account; try again later")
        self.retry_after = retry_after


class IdempotencyConflict(VaultError):
    def __init__(self, key: str) -> None:
        super().__init__("this Idempotency-Key was already used for a different request")
        self.key = key


class StatusConflict(VaultError):
    """The issuer's status of a document no longer allows this change."""

    def __init__(self, document_id: UUID, status: str) -> None:
        super().__init__(f"document {document_id} is already {status}")
        self.document_id = document_id
        self.status = status


class LegalHold(VaultError):
    def __init__(self, document_id: UUID) -> None:
        super().__init__(f"document {document_id} is under an agency's legal hold")
        self.document_id = document_id


class SecondFactorRequired(VaultError):
    """The password was right and the account asks for its one-time code too.
    ``challenge``: when one was asked for, a short-lived secret that, with the code,
    completes this sign-in (``AccountService.complete_login``)."""

    def __init__(self, challenge: str | None = None) -> None:
        super().__init__("this account needs its one-time code to sign in")
        self.challenge = challenge

    def __repr__(self) -> str:  # security: keep the challenge out of logs
        return "SecondFactorRequired()"


class SecondFactorInvalid(AuthenticationFailed):
    """A wrong, malformed or already used one-time code."""

    def __init__(self) -> None:
        VaultError.__init__(self, "the one-time code is wrong or was already used")


class SignInChallengeEnded(VaultError):
    """The password step of a sign-in is unknown or too old: start again."""

    def __init__(self) -> None:
        super().__init__("this sign-in took too long; start again")


class SecondFactorState(VaultError):
    """The one-time code is not in the state this change needs (``state``: ``on`` when
    it is already on, ``off`` when there is nothing to confirm or turn off)."""

    def __init__(self, state: str) -> None:
        super().__init__(f"the one-time code at sign-in is {state}")
        self.state = state
