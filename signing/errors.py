"""Errors raised by the signing package.  Each carries the data an adapter needs."""

from __future__ import annotations


class SigningError(Exception):
    """Base class of every signing error."""


class KeyNotFound(SigningError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"signing key {key_id!r} not found")
        self.key_id = key_id


class KeyExists(SigningError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"signing key {key_id!r} already exists")
        self.key_id = key_id


class InvalidKeyId(SigningError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"invalid signing key id {key_id!r}")
        self.key_id = key_id


class UnsupportedAlgorithm(SigningError):
    def __init__(self, algorithm: str, key_id: str | None = None) -> None:
        where = f" for key {key_id!r}" if key_id else ""
        super().__init__(f"unsupported algorithm {algorithm!r}{where}")
        self.algorithm = algorithm
        self.key_id = key_id


class KeyStoreUnavailable(SigningError):
    """The key store (an HSM, the master key) cannot be used right now."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"key store unavailable: {reason}")
        self.reason = reason


class UnknownCredential(SigningError):
    def __init__(self, label: str) -> None:
        super().__init__(f"no certificate issued under {label!r}")
        self.label = label


class PdfError(SigningError):
    """The input PDF cannot be signed; ``reason`` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PdfEncrypted(PdfError):
    def __init__(self) -> None:
        super().__init__("the PDF is encrypted; Kho signs only unencrypted PDFs")


class PdfMalformed(PdfError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"the PDF cannot be parsed: {detail}")
        self.detail = detail


class PdfLocked(PdfError):
    """An existing certification signature (DocMDP) forbids adding signatures."""

    def __init__(self, field_name: str | None, permission: str) -> None:
        super().__init__(
            f"a certification signature{f' in {field_name!r}' if field_name else ''} "
            f"forbids changes ({permission})"
        )
        self.field_name = field_name
        self.permission = permission


class FieldInUse(PdfError):
    def __init__(self, field_name: str) -> None:
        super().__init__(f"signature field {field_name!r} is already signed")
        self.field_name = field_name


class TimestampUnavailable(SigningError):
    """The time-stamping authority did not answer or refused; nothing was signed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"time-stamping authority unavailable: {reason}")
        self.reason = reason


class RevocationInfoUnavailable(SigningError):
    """B-LT/B-LTA needs revocation data for the chain and it could not be gathered."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"revocation information unavailable: {reason}")
        self.reason = reason


class ScanUnusable(SigningError):
    """Page images that cannot be made into a PDF (unsupported or damaged image)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the page images cannot be made into a PDF: {detail}")
        self.detail = detail
