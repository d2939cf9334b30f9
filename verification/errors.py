"""Errors of the verification package: raised only when verification cannot run at
all.  A bad, tampered or hostile PDF is never an error: it is a ``VerificationReport``."""

from __future__ import annotations


class VerificationError(Exception):
    """Base of the package's errors."""


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
