"""Domain values of the CSC v2 service (frozen msgspec structs) and its settings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from signing.keys.api import KeyAlgorithm

CertificatesChoice = Literal["none", "single", "chain"]
KeyStatus = Literal["enabled", "disabled"]
CertStatus = Literal["valid", "expired", "revoked", "suspended"]

CSC_SPEC_VERSION = "2.0.0.2"


class CscSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of Kho's embedded CSC v2 service.

    ``pin_*`` are argon2id parameters, used only to verify PINs stored before the keyed
    verifier (docs/adr/0007-csc-pin-verifier.md; such a PIN is re-stored in the new form
    at its next correct check).  The default (t=2, m=19 MiB) is OWASP's baseline
    for time and memory, computed in two lanes (p=2) so a check takes ~half its ~20 ms
    on two cores.  Note: the attacker's cost (memory x passes) does not depend on p
    (RFC 9106 asks for as many lanes as the defender has threads); hashes keep their
    own parameters, so older p=1 hashes still verify.  # security: a 6-digit PIN is weak against an
    offline search whatever the cost; the lockout after ``max_pin_attempts`` and the
    one-time code are what protect a credential, the hash only slows a thief of the
    state file."""

    name: str = "Kho"
    description: str = "Kho embedded remote signing service (CSC API v2)"
    region: str = "VN"
    lang: str = "vi-VN"
    logo: str = ""
    sad_lifetime_seconds: int = 300
    max_pin_attempts: int = 5
    multisign: int = 10
    min_pin_length: int = 6
    otp_issuer: str = "Kho"
    otp_digits: int = 6
    otp_interval_seconds: int = 30
    pin_time_cost: int = 2
    pin_memory_cost_kib: int = 19456
    pin_parallelism: int = 2


class CredentialRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored credential.  Holds no secret in clear: the PIN as a keyed verifier
    (``pin_hash`` = ``hmac-sha256$`` + base64 HMAC-SHA256 of the PIN under a random
    per-credential key, ``pin_key_wrapped``, wrapped under the master key; older
    records: an argon2id hash and no key), the TOTP secret wrapped under the master
    key, the private key only by name."""

    credential_id: str
    user: str
    key_id: str
    key_algorithm: KeyAlgorithm
    certificate: bytes
    chain: tuple[bytes, ...]
    description: str
    pin_hash: str
    otp_kek_id: str
    otp_secret_wrapped: bytes
    created_at: datetime
    failed_attempts: int = 0
    locked: bool = False
    last_otp_step: int = -1
    pin_kek_id: str = ""
    pin_key_wrapped: bytes = b""


class SadRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An issued SAD, stored under the SHA-256 of the token (never the token)."""

    credential_id: str
    user: str
    hash_algorithm_oid: str
    hashes: tuple[bytes, ...]
    expires_at: datetime
    used: bool = False


class CscCaller(msgspec.Struct, frozen=True, kw_only=True):
    """Who calls the CSC API: a citizen with their own token (``user``), or a relying
    party (``relying_party``, e.g. another Kho) with an OAuth2 client-credentials token
    that acts for citizens it names by ``userID`` in ``credentials/list``."""

    user: str | None = None
    relying_party: str | None = None


class Enrollment(msgspec.Struct, frozen=True, kw_only=True):
    """What a citizen gets once, at enrolment: the credential id and the TOTP secret
    (base32 and as an ``otpauth://`` URI for an authenticator app's QR code).

    # security: show it once and do not store or log it."""

    credential_id: str
    otp_secret: str
    otp_uri: str


class ServiceInfo(msgspec.Struct, frozen=True, kw_only=True):
    specs: str
    name: str
    logo: str
    region: str
    lang: str
    description: str
    auth_types: tuple[str, ...]
    methods: tuple[str, ...]


class AuthObject(msgspec.Struct, frozen=True, kw_only=True):
    """One input of an explicit authorization (the PIN, the one-time code)."""

    type: str
    id: str
    format: Literal["N", "A"]
    label: str
    description: str
    generator: str | None = None


class CertificateDetails(msgspec.Struct, frozen=True, kw_only=True):
    issuer_dn: str
    subject_dn: str
    serial_number: str
    valid_from: datetime
    valid_to: datetime


class CredentialInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A credential as ``credentials/info`` describes it.  ``certificates`` holds what was
    asked for (none, the end-entity certificate, or it and its chain, DER)."""

    credential_id: str
    description: str
    key_status: KeyStatus
    key_algorithms: tuple[str, ...]
    key_length: int
    key_curve: str | None
    cert_status: CertStatus
    certificates: tuple[bytes, ...]
    cert_details: CertificateDetails | None
    auth_mode: Literal["explicit"]
    auth_expression: str | None
    auth_objects: tuple[AuthObject, ...] | None
    scal: Literal["1", "2"]
    multisign: int
    lang: str


class Authorization(msgspec.Struct, frozen=True, kw_only=True):
    """The answer of ``credentials/authorize``: an opaque single-use SAD."""

    sad: str
    expires_in: int
