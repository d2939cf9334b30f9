"""Signing a digest that was computed elsewhere, which ``signatures/signHash`` needs.

The CSC service needs only ``algorithm`` and ``sign_digest`` of the ``KeyStore``
contract; ``DigestSigner`` names that part, so ``SoftwareKeyStore`` and
``Pkcs11KeyStore`` both serve it.  ``SoftwareDigestKeyStore`` is kept as a name for the
software store (it used to add ``sign_digest``, which the contract now has).
"""

from __future__ import annotations

from typing import Protocol

from signing.keys.api import KeyAlgorithm, SignatureAlgorithm
from signing.keys.software import SoftwareKeyStore


class DigestSigner(Protocol):
    def algorithm(self, key_id: str) -> KeyAlgorithm:
        """Raises ``KeyNotFound``."""
        ...

    def sign_digest(self, key_id: str, digest: bytes, algorithm: SignatureAlgorithm) -> bytes:
        """Sign a digest already computed with ``algorithm``'s hash (RSA PKCS#1 v1.5 or
        DER-encoded ECDSA).  Raises ``KeyNotFound``, ``UnsupportedAlgorithm`` (also for a
        digest of the wrong length), ``KeyStoreUnavailable``."""
        ...


class SoftwareDigestKeyStore(SoftwareKeyStore):
    """A ``SoftwareKeyStore`` (which signs precomputed digests itself now)."""
