"""Key custody: the ``KeyStore`` contract and its implementations."""

from signing.keys.api import (
    KEY_ALGORITHMS,
    KeyAlgorithm,
    KeyStore,
    SignatureAlgorithm,
    signature_algorithm_for,
)
from signing.keys.software import SoftwareKeyStore

__all__ = [
    "KEY_ALGORITHMS",
    "KeyAlgorithm",
    "KeyStore",
    "SignatureAlgorithm",
    "SoftwareKeyStore",
    "signature_algorithm_for",
]
