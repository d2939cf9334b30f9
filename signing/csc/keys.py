"""Signing a digest that was computed elsewhere, which ``signatures/signHash`` needs.

The ``KeyStore`` contract signs data (the store hashes it); a CSC provider receives only
the hash.  ``DigestSigner`` is what the CSC service needs instead, and
``SoftwareDigestKeyStore`` adds it to ``SoftwareKeyStore`` without the key ever leaving
the store.

# Note: this belongs in ``signing/keys`` (``KeyStore.sign_digest``; PKCS#11 does it with
# CKM_RSA_PKCS over a DigestInfo and CKM_ECDSA over the digest).  It lives here until the
# key-custody contract grows that method; then this module shrinks to the Protocol.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from signing.errors import UnsupportedAlgorithm
from signing.keys.api import KeyAlgorithm, SignatureAlgorithm
from signing.keys.software import SoftwareKeyStore

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


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
    """A ``SoftwareKeyStore`` that also signs precomputed digests."""

    def sign_digest(self, key_id: str, digest: bytes, algorithm: SignatureAlgorithm) -> bytes:
        hash_name, _, family = algorithm.partition("_")
        hash_alg = _HASHES.get(hash_name)
        if hash_alg is None or len(digest) != hash_alg.digest_size:
            raise UnsupportedAlgorithm(algorithm, key_id)
        _, key = self._load(key_id)
        prehashed = utils.Prehashed(hash_alg)
        if family == "rsa" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(digest, padding.PKCS1v15(), prehashed)
        if family == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(digest, ec.ECDSA(prehashed))
        raise UnsupportedAlgorithm(algorithm, key_id)
