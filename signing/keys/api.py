"""The key-custody contract: private keys stay inside a ``KeyStore``.

A store generates key pairs, hands out public keys (SubjectPublicKeyInfo DER) and signs
bytes with a named key.  No method returns private key material, so a caller (a CA, the
TSA, a PAdES signer) never holds it; a hardware store (PKCS#11) implements the same
contract.  Implementations: ``SoftwareKeyStore`` (keys encrypted under the master key)
and ``Pkcs11KeyStore``.
"""

from __future__ import annotations

import re
from typing import Literal, Protocol, get_args

from signing.errors import InvalidKeyId, UnsupportedAlgorithm

KeyAlgorithm = Literal["rsa-2048", "rsa-3072", "ecdsa-p256"]
"""Key pair types every store supports."""

SignatureAlgorithm = Literal[
    "sha256_rsa",
    "sha384_rsa",
    "sha512_rsa",
    "sha256_ecdsa",
    "sha384_ecdsa",
    "sha512_ecdsa",
]
"""Signature schemes, named as asn1crypto names them: RSA is PKCS#1 v1.5; ECDSA
signatures are returned DER-encoded (``Ecdsa-Sig-Value``), as CMS and X.509 want."""

KEY_ALGORITHMS: tuple[KeyAlgorithm, ...] = get_args(KeyAlgorithm)
SIGNATURE_ALGORITHMS: tuple[SignatureAlgorithm, ...] = get_args(SignatureAlgorithm)

_KEY_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")


def check_key_id(key_id: str) -> str:
    """Return ``key_id`` or raise ``InvalidKeyId``.

    # security: key ids become file names and PKCS#11 labels; only lower-case letters,
    # digits, ``.``, ``_`` and ``-`` are allowed, never a leading dot, so ``..`` and path
    # separators cannot reach the file system."""
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidKeyId(key_id)
    return key_id


def signature_algorithm_for(key_algorithm: KeyAlgorithm, digest: str) -> SignatureAlgorithm:
    """The scheme a key of ``key_algorithm`` uses with ``digest`` (``sha256`` ...)."""
    family = "ecdsa" if key_algorithm.startswith("ecdsa") else "rsa"
    name = f"{digest}_{family}"
    for alg in SIGNATURE_ALGORITHMS:
        if alg == name:
            return alg
    raise UnsupportedAlgorithm(name)


class KeyStore(Protocol):
    """Custody of private keys.  Methods are synchronous and fast (a software RSA-2048
    signature is ~1 ms); a store that talks to a device serialises access itself."""

    def generate(self, key_id: str, algorithm: KeyAlgorithm) -> bytes:
        """Create a key pair named ``key_id``; return its public key (SPKI DER).

        Raises ``KeyExists`` if the id is taken, ``InvalidKeyId``, ``UnsupportedAlgorithm``."""
        ...

    def exists(self, key_id: str) -> bool: ...

    def algorithm(self, key_id: str) -> KeyAlgorithm:
        """Raises ``KeyNotFound``."""
        ...

    def public_key(self, key_id: str) -> bytes:
        """The public key as SubjectPublicKeyInfo DER.  Raises ``KeyNotFound``."""
        ...

    def sign(self, key_id: str, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        """Sign ``data`` (the store hashes it).  Raises ``KeyNotFound``,
        ``UnsupportedAlgorithm`` (e.g. an ECDSA scheme for an RSA key),
        ``KeyStoreUnavailable``."""
        ...

    def sign_digest(self, key_id: str, digest: bytes, algorithm: SignatureAlgorithm) -> bytes:
        """Sign a digest already computed with ``algorithm``'s hash (what a CSC
        ``signHash`` receives).  Raises what ``sign`` raises, and ``UnsupportedAlgorithm``
        for a digest of the wrong length."""
        ...

    def delete(self, key_id: str) -> None:
        """Destroy the key pair; a no-op for an unknown id."""
        ...
