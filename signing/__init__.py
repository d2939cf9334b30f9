"""Signing: demo PKI, key custody, RFC 3161 time-stamping and PAdES sealing.

Public surface (everything else is internal)::

    keys    KeyStore (Protocol), SoftwareKeyStore(directory, keyring)
    pki     DemoPki.open(directory, keyring, PkiSettings(base_url=...)) -> DemoPki
            .agency_seal(code, name) / .official(...) / .citizen(personal_id, name)
            .revoke(cert_der, reason) / .crl(ca) / .ca_certificate(ca) / .export_root_pem()
            .validation_material() / .tsa / .key_store
    tsa     TimeStampAuthority(key_store, credential).respond(req_der) -> resp_der
            LocalTimeStamper(authority)       (a pyHanko TimeStamper, no HTTP)
    pades   Sealer(key_store, timestamper=..., validation_material=...)
            await .seal(pdf, credential, level="B-LT", ...) -> signed pdf bytes
    service SigningService(directory, keyring, PkiSettings(...)): the lazily opened demo
            PKI with its TSA and sealer; seal_for_agency, crl, ca_certificate, timestamp
"""

from signing.errors import (
    FieldInUse,
    InvalidKeyId,
    KeyExists,
    KeyNotFound,
    KeyStoreUnavailable,
    PdfEncrypted,
    PdfError,
    PdfLocked,
    PdfMalformed,
    RevocationInfoUnavailable,
    ScanUnusable,
    SigningError,
    TimestampUnavailable,
    UnknownCredential,
    UnsupportedAlgorithm,
)
from signing.keys import KeyAlgorithm, KeyStore, SignatureAlgorithm, SoftwareKeyStore
from signing.models import (
    PADES_LEVELS,
    Credential,
    PadesLevel,
    PkiSettings,
    RevocationReason,
    ValidationMaterial,
)
from signing.pades import Sealer, VisibleStamp
from signing.pki import CA_NAMES, DemoPki
from signing.service import SigningService
from signing.tsa import LocalTimeStamper, TimeStampAuthority

__all__ = [
    "CA_NAMES",
    "PADES_LEVELS",
    "Credential",
    "DemoPki",
    "FieldInUse",
    "InvalidKeyId",
    "KeyAlgorithm",
    "KeyExists",
    "KeyNotFound",
    "KeyStore",
    "KeyStoreUnavailable",
    "LocalTimeStamper",
    "PadesLevel",
    "PdfEncrypted",
    "PdfError",
    "PdfLocked",
    "PdfMalformed",
    "PkiSettings",
    "RevocationInfoUnavailable",
    "RevocationReason",
    "ScanUnusable",
    "Sealer",
    "SignatureAlgorithm",
    "SigningError",
    "SigningService",
    "SoftwareKeyStore",
    "TimeStampAuthority",
    "TimestampUnavailable",
    "UnknownCredential",
    "UnsupportedAlgorithm",
    "ValidationMaterial",
    "VisibleStamp",
]
