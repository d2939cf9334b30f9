"""Errors of the verification package: raised only when verification cannot run at
all.  A bad, tampered or hostile PDF is never an error: it is a ``VerificationReport``."""

from __future__ import annotations


class VerificationError(Exception):
    """Base of the package's errors."""


class IssuerNotAuthorized(VerificationError):
    """An agency is not registered to issue this document type."""

    def __init__(self, agency_code: str, doc_type: str) -> None:
        super().__init__(
            f"agency {agency_code!r} is not registered in the trust registry as an issuer "
            f"of {doc_type!r}"
        )
        self.agency_code = agency_code
        self.doc_type = doc_type


class VerificationUnavailable(VerificationError):
    """Verification could not run (no worker could be started, the trust registry could
    not be read...).  The API maps this to 503."""

    def __init__(self, what: str) -> None:
        super().__init__(f"verification is unavailable: {what}")
        self.what = what


class RevocationUnavailable(VerificationError):
    """A ``RevocationSource`` could not supply the CRL at ``url``.  Handled inside the
    pipeline (it becomes ``revocation.unavailable`` in a report), never raised by
    ``Verifier.verify``."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"no revocation data from {url or 'the source'}: {why}")
        self.url = url
        self.why = why
