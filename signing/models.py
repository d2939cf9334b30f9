"""Domain values of the signing package (frozen, serialisable with msgspec)."""

from __future__ import annotations

from typing import Literal

import msgspec

PadesLevel = Literal["B-B", "B-T", "B-LT", "B-LTA"]
PADES_LEVELS: tuple[PadesLevel, ...] = ("B-B", "B-T", "B-LT", "B-LTA")

RevocationReason = Literal[
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "certificate_hold",
]


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """A certificate and the name of its private key in a ``KeyStore``.

    ``chain`` runs from the issuing CA up to and including the root (DER each)."""

    label: str
    key_id: str
    certificate: bytes
    chain: tuple[bytes, ...]


class ValidationMaterial(msgspec.Struct, frozen=True, kw_only=True):
    """What a validator needs offline: trust anchors, intermediate certificates, CRLs
    and OCSP responses (DER each)."""

    trust_roots: tuple[bytes, ...]
    certificates: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()
    ocsps: tuple[bytes, ...] = ()


class PkiSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of the demo PKI.  ``base_url`` is where Kho serves ``/pki/...`` (no
    trailing slash), e.g. ``http://127.0.0.1:8000``."""

    base_url: str
    key_algorithm: Literal["rsa-2048", "rsa-3072", "ecdsa-p256"] = "rsa-2048"
    organization: str = "Kho Demo PKI"
    country: str = "VN"
    ca_validity_days: int = 20 * 365
    leaf_validity_days: int = 3 * 365
    crl_validity_seconds: int = 7 * 24 * 3600
    crl_refresh_seconds: int = 24 * 3600
    ocsp_validity_seconds: int = 3600
    ocsp_in_aia: bool = True
    """Name the OCSP responder in new certificates' AIA.  Turn off only where nothing
    serves ``base_url`` (offline tests): NSS rejects a certificate whose named responder
    it cannot reach, even with poppler's ``-no-ocsp``."""
