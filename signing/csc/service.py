"""Kho's embedded CSC API v2 remote signing service provider (domain logic only).

Credentials bind a citizen (``user``, an opaque id chosen by the caller) to a key in a
``DigestSigner`` and its certificate chain.  Signing needs explicit authorization: the
citizen's signing PIN (argon2id hash stored) plus a TOTP code (secret wrapped under the
master key) yield a SAD -- a random token stored only as its SHA-256, usable once, for
exactly the authorized hashes of that credential, for ``sad_lifetime_seconds``.
``max_pin_attempts`` failed authorizations in a row (wrong PIN or wrong code) lock the
credential; a correct one resets the counter.

Blocking work (argon2, file I/O, RSA) runs in a worker thread (``anyio.to_thread``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from urllib.parse import quote

import anyio.to_thread
import msgspec
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from asn1crypto import x509 as asn1_x509

from signing.csc.errors import (
    CredentialLocked,
    CredentialNotFound,
    InvalidCscRequest,
    InvalidOtp,
    InvalidPin,
    InvalidSad,
)
from signing.csc.keys import DigestSigner
from signing.csc.models import (
    CSC_SPEC_VERSION,
    AuthObject,
    Authorization,
    CertificateDetails,
    CertificatesChoice,
    CertStatus,
    CredentialInfo,
    CredentialRecord,
    CscSettings,
    Enrollment,
    SadRecord,
    ServiceInfo,
)
from signing.csc.store import CredentialStore, NewSad
from signing.keys.api import KeyAlgorithm, SignatureAlgorithm
from signing.models import Credential
from vault.keys import KeyRing

Clock = Callable[[], datetime]

HASH_OIDS: dict[str, str] = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
HASH_OID_BY_NAME = {name: oid for oid, name in HASH_OIDS.items()}
_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}

# signAlgo OID -> (key family, digest or None when hashAlgorithmOID must say it)
SIGN_ALGOS: dict[str, tuple[str, str | None]] = {
    "1.2.840.113549.1.1.1": ("rsa", None),
    "1.2.840.113549.1.1.11": ("rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("rsa", "sha512"),
    "1.2.840.10045.4.3.2": ("ecdsa", "sha256"),
    "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
    "1.2.840.10045.4.3.4": ("ecdsa", "sha512"),
}

METHODS = (
    "info",
    "credentials/list",
    "credentials/info",
    "credentials/authorize",
    "signatures/signHash",
)

_CREDENTIAL_ID_BYTES = 16
_SAD_BYTES = 32


def utc_now() -> datetime:
    return datetime.now(UTC)


def _family(key_algorithm: KeyAlgorithm) -> str:
    return "ecdsa" if key_algorithm.startswith("ecdsa") else "rsa"


def _sad_key(sad: str) -> str:
    return hashlib.sha256(sad.encode()).hexdigest()


def _otp_context(credential_id: str) -> bytes:
    return b"kho/csc/totp/" + credential_id.encode()


def _pin_context(credential_id: str) -> bytes:
    return b"kho/csc/pin/" + credential_id.encode()


_PIN_MAC = "hmac-sha256$"


def _pin_mac(pin_key: bytes, pin: str) -> str:
    mac = hmac.new(pin_key, pin.encode(), hashlib.sha256).digest()
    return _PIN_MAC + base64.b64encode(mac).decode()


def decode_hashes(hashes: Sequence[str], hash_algorithm_oid: str | None) -> tuple[str, list[bytes]]:
    """``(digest name, raw hashes)`` from base64 strings; raises ``InvalidCscRequest``."""
    if hash_algorithm_oid is None:
        raise InvalidCscRequest("hashAlgorithmOID", "missing")
    digest = HASH_OIDS.get(hash_algorithm_oid)
    if digest is None:
        raise InvalidCscRequest("hashAlgorithmOID", f"{hash_algorithm_oid} is not supported")
    if not hashes:
        raise InvalidCscRequest("hashes", "at least one hash is required")
    raw: list[bytes] = []
    for value in hashes:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCscRequest("hashes", "not base64") from None
        if len(decoded) != _DIGEST_SIZES[digest]:
            raise InvalidCscRequest("hashes", f"a {digest} hash is {_DIGEST_SIZES[digest]} bytes")
        raw.append(decoded)
    return digest, raw


class CscService:
    """The CSC v2 operations, plus enrolment and unlocking for Kho itself.

    ``keys`` signs digests with the credentials' keys (``SoftwareDigestKeyStore`` over
    the PKI's key directory); ``keyring`` wraps TOTP secrets; ``clock`` is for tests."""

    def __init__(
        self,
        store: CredentialStore,
        keys: DigestSigner,
        keyring: KeyRing,
        settings: CscSettings | None = None,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._keys = keys
        self._keyring = keyring
        self._settings = settings or CscSettings()
        self._clock = clock
        self._hasher = PasswordHasher(
            time_cost=self._settings.pin_time_cost,
            memory_cost=self._settings.pin_memory_cost_kib,
            parallelism=self._settings.pin_parallelism,
        )

    def __repr__(self) -> str:
        return f"CscService({self._store!r})"

    # -- administration (called by Kho, not part of the CSC API) -------------------------

    async def enroll(
        self, user: str, credential: Credential, pin: str, *, description: str = ""
    ) -> Enrollment:
        """Create a credential for ``user`` over ``credential`` (its key must be in the
        key store) with signing ``pin``; returns the one-time view of the TOTP secret.
        Raises ``InvalidCscRequest`` for a PIN that is not ``min_pin_length`` digits."""
        self._check_new_pin(pin)
        record, otp_key = await anyio.to_thread.run_sync(
            self._new_record, user, credential, pin, description
        )
        await self._store.add(record)
        secret = base64.b32encode(otp_key).decode().rstrip("=")
        return Enrollment(
            credential_id=record.credential_id,
            otp_secret=secret,
            otp_uri=self._totp(otp_key).provisioning_uri(
                name=quote(user), issuer_name=self._settings.otp_issuer
            ),
        )

    def _check_new_pin(self, pin: str) -> None:
        if not (pin.isascii() and pin.isdigit() and len(pin) >= self._settings.min_pin_length):
            raise InvalidCscRequest(
                "PIN", f"a PIN is at least {self._settings.min_pin_length} digits"
            )

    def _new_record(
        self, user: str, credential: Credential, pin: str, description: str
    ) -> tuple[CredentialRecord, bytes]:
        credential_id = secrets.token_hex(_CREDENTIAL_ID_BYTES)
        otp_key = secrets.token_bytes(32)
        kek_id, wrapped = self._keyring.wrap(otp_key, _otp_context(credential_id))
        record = CredentialRecord(
            credential_id=credential_id,
            user=user,
            key_id=credential.key_id,
            key_algorithm=self._keys.algorithm(credential.key_id),
            certificate=credential.certificate,
            chain=credential.chain,
            description=description or credential.label,
            **self._pin_fields(credential_id, pin),
            otp_kek_id=kek_id,
            otp_secret_wrapped=wrapped,
            created_at=self._clock(),
        )
        return record, otp_key

    async def unlock(self, credential_id: str, *, new_pin: str | None = None) -> None:
        """Reset the failed-attempt counter and unlock (an operator action after the
        citizen proved who they are), optionally setting a new PIN."""
        if new_pin is not None:
            self._check_new_pin(new_pin)
        pin = self._pin_fields(credential_id, new_pin) if new_pin is not None else {}

        def change(record: CredentialRecord) -> tuple[CredentialRecord, NewSad | None]:
            return _replace(record, failed_attempts=0, locked=False, **pin), None

        await self._store.update(credential_id, change, now=self._clock())

    async def rewrap_secrets(self, keyring: KeyRing) -> int:
        """Re-wrap every credential's TOTP secret and PIN key under ``keyring``'s current
        master key (``kho keys rotate``; ``keyring`` must still hold the old keys);
        returns how many credentials changed.  Each credential is one update under its
        lock, so a crash half-way leaves every record readable with both keys."""
        touched: list[str] = []
        target = keyring.current_id
        for credential_id in await self._store.ids():

            def change(record: CredentialRecord) -> tuple[CredentialRecord, NewSad | None]:
                fields: dict[str, Any] = {}
                if record.otp_kek_id != target:
                    otp_context = _otp_context(record.credential_id)
                    otp_key = keyring.unwrap(
                        record.otp_kek_id, record.otp_secret_wrapped, otp_context
                    )
                    fields["otp_kek_id"], fields["otp_secret_wrapped"] = keyring.wrap(
                        otp_key, otp_context
                    )
                if record.pin_key_wrapped and record.pin_kek_id != target:
                    pin_context = _pin_context(record.credential_id)
                    pin_key = keyring.unwrap(record.pin_kek_id, record.pin_key_wrapped, pin_context)
                    fields["pin_kek_id"], fields["pin_key_wrapped"] = keyring.wrap(
                        pin_key, pin_context
                    )
                if not fields:
                    return record, None
                touched.append(record.credential_id)
                return _replace(record, **fields), None

            await self._store.update(credential_id, change, now=self._clock())
        return len(touched)

    async def current_otp(self, credential_id: str) -> str:
        """The code an authenticator app shows now (tests and the demo's fake phone).

        # security: never expose this through an API a citizen's client can reach."""
        record = await self._record(None, credential_id)
        return self._totp(self._otp_key(record)).at(self._clock())

    # -- CSC API v2 ---------------------------------------------------------------------

    def info(self) -> ServiceInfo:
        s = self._settings
        return ServiceInfo(
            specs=CSC_SPEC_VERSION,
            name=s.name,
            logo=s.logo,
            region=s.region,
            lang=s.lang,
            description=s.description,
            auth_types=("external",),
            methods=METHODS,
        )

    async def credentials_list(self, user: str) -> list[str]:
        """Ids of ``user``'s credentials, oldest first."""
        return [r.credential_id for r in await self._store.list_user(user)]

    async def credential_user(self, credential_id: str) -> str:
        """The user a credential belongs to; raises ``CredentialNotFound``."""
        return (await self._record(None, credential_id)).user

    async def credentials_info(
        self,
        user: str,
        credential_id: str,
        *,
        certificates: CertificatesChoice = "single",
        cert_info: bool = False,
        auth_info: bool = False,
    ) -> CredentialInfo:
        """Raises ``CredentialNotFound`` (also for another user's credential) and
        ``InvalidCscRequest`` for an unknown ``certificates`` choice."""
        if certificates not in get_args(CertificatesChoice):
            raise InvalidCscRequest("certificates", "one of none, single, chain")
        record = await self._record(user, credential_id)
        cert = asn1_x509.Certificate.load(record.certificate)
        validity = cert["tbs_certificate"]["validity"]
        valid_from: datetime = validity["not_before"].native
        valid_to: datetime = validity["not_after"].native
        now = self._clock()
        cert_status: CertStatus = "valid" if valid_from <= now <= valid_to else "expired"
        family = _family(record.key_algorithm)
        chosen: tuple[bytes, ...] = {
            "none": (),
            "single": (record.certificate,),
            "chain": (record.certificate, *record.chain),
        }[certificates]
        details = None
        if cert_info:
            details = CertificateDetails(
                issuer_dn=cert.issuer.human_friendly,
                subject_dn=cert.subject.human_friendly,
                serial_number=format(cert.serial_number, "x"),
                valid_from=valid_from,
                valid_to=valid_to,
            )
        s = self._settings
        return CredentialInfo(
            credential_id=record.credential_id,
            description=record.description,
            key_status="disabled" if record.locked else "enabled",
            key_algorithms=tuple(oid for oid, (fam, _) in SIGN_ALGOS.items() if fam == family),
            key_length=cert.public_key.bit_size,
            key_curve="1.2.840.10045.3.1.7" if family == "ecdsa" else None,
            cert_status=cert_status,
            certificates=chosen,
            cert_details=details,
            auth_mode="explicit",
            auth_expression="PIN AND OTP" if auth_info else None,
            auth_objects=self._auth_objects() if auth_info else None,
            scal="2",
            multisign=s.multisign,
            lang=s.lang,
        )

    def _auth_objects(self) -> tuple[AuthObject, ...]:
        return (
            AuthObject(
                type="Password",
                id="PIN",
                format="N",
                label="PIN",
                description="Mã PIN ký số / signing PIN",
            ),
            AuthObject(
                type="Password",
                id="OTP",
                format="N",
                label="OTP",
                description="Mã xác thực một lần / one-time code",
                generator="totp",
            ),
        )

    async def credentials_authorize(
        self,
        user: str,
        credential_id: str,
        *,
        num_signatures: int,
        hashes: Sequence[str],
        hash_algorithm_oid: str | None,
        pin: str | None,
        otp: str | None,
    ) -> Authorization:
        """Check ``pin`` and ``otp`` and return a SAD for exactly ``hashes``.

        Raises ``CredentialNotFound``, ``CredentialLocked`` (even for a right PIN),
        ``InvalidPin``/``InvalidOtp`` (with the attempts left; the last failure locks),
        ``InvalidCscRequest`` (numSignatures not the number of hashes, bad hashes)."""
        _, raw = decode_hashes(hashes, hash_algorithm_oid)
        assert hash_algorithm_oid is not None
        if num_signatures != len(raw):
            raise InvalidCscRequest("numSignatures", "must equal the number of hashes")
        if num_signatures > self._settings.multisign:
            raise InvalidCscRequest("numSignatures", f"at most {self._settings.multisign}")
        record = await self._record(user, credential_id)
        if record.locked:
            raise CredentialLocked(credential_id)
        now = self._clock()
        # Note: the PIN and code checks run before the credential's lock is taken; the
        # counter update below re-reads the record under it, so concurrent wrong PINs
        # are all counted and a code's time step is accepted once.
        pin_ok, step, rehash = await anyio.to_thread.run_sync(
            self._check_secrets, record, pin, otp, now
        )
        sad = secrets.token_urlsafe(_SAD_BYTES)
        lifetime = self._settings.sad_lifetime_seconds
        failure: list[InvalidPin | InvalidOtp] = []

        def change(current: CredentialRecord) -> tuple[CredentialRecord, NewSad | None]:
            if current.user != user:
                raise CredentialNotFound(credential_id)
            if current.locked:
                raise CredentialLocked(credential_id)
            if not pin_ok or step is None or step <= current.last_otp_step:
                failed = current.failed_attempts + 1
                locked = failed >= self._settings.max_pin_attempts
                remaining = max(0, self._settings.max_pin_attempts - failed)
                failure.append(
                    InvalidPin(credential_id, remaining)
                    if not pin_ok
                    else InvalidOtp(credential_id, remaining)
                )
                return _replace(current, failed_attempts=failed, locked=locked), None
            entry = SadRecord(
                credential_id=credential_id,
                user=user,
                hash_algorithm_oid=hash_algorithm_oid,
                hashes=tuple(raw),
                expires_at=now + timedelta(seconds=lifetime),
            )
            # Note: a PIN still stored as argon2id is re-stored as the keyed verifier, unless
            # it was changed meanwhile.
            upgrade = rehash if current.pin_hash == record.pin_hash else {}
            new = _replace(current, failed_attempts=0, last_otp_step=step, **upgrade)
            return new, (_sad_key(sad), entry)

        await self._store.update(credential_id, change, now=now)
        if failure:
            # Note: raised after the update so the failed attempt is persisted.
            raise failure[0]
        return Authorization(sad=sad, expires_in=lifetime)

    def _check_secrets(
        self, record: CredentialRecord, pin: str | None, otp: str | None, now: datetime
    ) -> tuple[bool, int | None, dict[str, Any]]:
        """``(PIN right, the code's time step or None, the fields re-storing a legacy
        argon2id PIN as the keyed verifier, or {})``."""
        pin_ok = self._pin_matches(record, pin)
        if not pin_ok:
            return False, None, {}
        assert pin is not None
        legacy = not record.pin_hash.startswith(_PIN_MAC)
        rehash = self._pin_fields(record.credential_id, pin) if legacy else {}
        return True, self._otp_step(record, otp, now), rehash

    def _pin_fields(self, credential_id: str, pin: str) -> dict[str, Any]:
        """A new random PIN key, wrapped under the master key, and the PIN's verifier."""
        pin_key = secrets.token_bytes(32)
        kek_id, wrapped = self._keyring.wrap(pin_key, _pin_context(credential_id))
        return {
            "pin_hash": _pin_mac(pin_key, pin),
            "pin_kek_id": kek_id,
            "pin_key_wrapped": wrapped,
        }

    def _pin_matches(self, record: CredentialRecord, pin: str | None) -> bool:
        if not pin:
            return False
        if record.pin_hash.startswith(_PIN_MAC):
            pin_key = self._keyring.unwrap(
                record.pin_kek_id, record.pin_key_wrapped, _pin_context(record.credential_id)
            )
            return hmac.compare_digest(_pin_mac(pin_key, pin), record.pin_hash)
        try:
            return self._hasher.verify(record.pin_hash, pin)
        except (VerificationError, InvalidHashError):
            return False

    def _otp_step(self, record: CredentialRecord, otp: str | None, now: datetime) -> int | None:
        """The TOTP time step ``otp`` belongs to (now, or one step either side for clock
        drift), or ``None``."""
        if not otp or not otp.isascii() or not otp.isdigit():
            return None
        totp = self._totp(self._otp_key(record))
        current = totp.timecode(now)
        for step in (current, current - 1, current + 1):
            if hmac.compare_digest(totp.generate_otp(step), otp):
                return step
        return None

    def _otp_key(self, record: CredentialRecord) -> bytes:
        return self._keyring.unwrap(
            record.otp_kek_id, record.otp_secret_wrapped, _otp_context(record.credential_id)
        )

    def _totp(self, key: bytes) -> pyotp.TOTP:
        return pyotp.TOTP(
            base64.b32encode(key).decode(),
            digits=self._settings.otp_digits,
            interval=self._settings.otp_interval_seconds,
        )

    async def signatures_sign_hash(
        self,
        user: str,
        credential_id: str,
        *,
        sad: str | None,
        hashes: Sequence[str],
        hash_algorithm_oid: str | None,
        sign_algo: str,
        operation_mode: str = "S",
    ) -> list[str]:
        """Sign ``hashes`` (base64) with the credential's key; returns base64 signatures
        in the same order.  The SAD is spent by this call whatever its outcome.

        Raises ``InvalidSad`` (unknown, used, expired, other hashes, other credential),
        ``CredentialNotFound``, ``CredentialLocked``, ``InvalidCscRequest``."""
        if operation_mode != "S":
            raise InvalidCscRequest("operationMode", "only synchronous mode S is supported")
        family_digest = SIGN_ALGOS.get(sign_algo)
        if family_digest is None:
            raise InvalidCscRequest("signAlgo", f"{sign_algo} is not supported")
        family, algo_digest = family_digest
        if hash_algorithm_oid is None and algo_digest is not None:
            hash_algorithm_oid = HASH_OID_BY_NAME[algo_digest]
        digest, raw = decode_hashes(hashes, hash_algorithm_oid)
        if algo_digest is not None and algo_digest != digest:
            raise InvalidCscRequest("hashAlgorithmOID", "does not match signAlgo")
        if not sad:
            raise InvalidSad("unknown")
        algorithm: SignatureAlgorithm = _signature_algorithm(f"{digest}_{family}")
        record = await self._record(user, credential_id)
        now = self._clock()
        # security: spent on first presentation, even when it is then refused, so a SAD
        # can never be tried against a second set of hashes.
        entry = await self._store.spend_sad(_sad_key(sad))
        if entry is None or entry.user != user:
            raise InvalidSad("unknown")
        if entry.used:
            raise InvalidSad("used")
        if now >= entry.expires_at:
            raise InvalidSad("expired")
        if entry.credential_id != credential_id:
            raise InvalidSad("other_credential")
        if (
            sorted(entry.hashes) != sorted(raw)
            or entry.hash_algorithm_oid != (HASH_OID_BY_NAME[algorithm.partition("_")[0]])
        ):
            raise InvalidSad("other_hash")
        if record.locked:
            raise CredentialLocked(credential_id)
        if _family(record.key_algorithm) != family:
            raise InvalidCscRequest("signAlgo", "does not fit the credential's key")
        return await anyio.to_thread.run_sync(self._sign_digests, record, raw, algorithm)

    def _sign_digests(
        self, record: CredentialRecord, raw: list[bytes], algorithm: SignatureAlgorithm
    ) -> list[str]:
        return [
            base64.b64encode(self._keys.sign_digest(record.key_id, h, algorithm)).decode()
            for h in raw
        ]

    # -- helpers ------------------------------------------------------------------------

    async def _record(self, user: str | None, credential_id: str) -> CredentialRecord:
        record = await self._store.get(credential_id)
        if record is None or (user is not None and record.user != user):
            raise CredentialNotFound(credential_id)
        return record


def _signature_algorithm(name: str) -> SignatureAlgorithm:
    for alg in get_args(SignatureAlgorithm):
        if alg == name:
            return alg  # type: ignore[no-any-return]
    raise InvalidCscRequest("signAlgo", f"{name} is not supported")


def _replace(record: CredentialRecord, **changes: Any) -> CredentialRecord:
    return msgspec.structs.replace(record, **changes)
