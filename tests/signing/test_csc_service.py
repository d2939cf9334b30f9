"""Kho's embedded CSC v2 service: credentials, explicit authorization, SAD rules, lockout."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import msgspec
import pytest
from argon2 import PasswordHasher
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from signing.csc import (
    CredentialLocked,
    CredentialNotFound,
    CscService,
    Enrollment,
    FileCredentialStore,
    InvalidCscRequest,
    InvalidOtp,
    InvalidPin,
    InvalidSad,
    MemoryCredentialStore,
    SoftwareDigestKeyStore,
)
from signing.csc.models import CredentialRecord
from signing.csc.store import NewSad
from signing.models import Credential
from tests.signing.conftest import FakeClock
from vault.keys import KeyUnavailable, LocalKeyRing

USER = "owner-0001"
PIN = "482913"
SHA256 = "2.16.840.1.101.3.4.2.1"
SHA256_RSA = "1.2.840.113549.1.1.11"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


DOC_HASH = hashlib.sha256(b"signed attributes of a form").digest()
OTHER_HASH = hashlib.sha256(b"something else").digest()


@pytest.fixture
async def enrolled(csc_service: CscService, citizen: Credential) -> Enrollment:
    return await csc_service.enroll(USER, citizen, PIN, description="Chữ ký số của công dân")


async def authorize(
    service: CscService,
    enrollment: Enrollment,
    clock: FakeClock,
    *,
    hashes: list[bytes] | None = None,
    pin: str = PIN,
    otp: str | None = None,
) -> str:
    # Note: a TOTP code is accepted once; each authorization waits for the next step.
    clock.advance(30)
    code = otp if otp is not None else await service.current_otp(enrollment.credential_id)
    hs = hashes or [DOC_HASH]
    auth = await service.credentials_authorize(
        USER,
        enrollment.credential_id,
        num_signatures=len(hs),
        hashes=[b64(h) for h in hs],
        hash_algorithm_oid=SHA256,
        pin=pin,
        otp=code,
    )
    return auth.sad


async def sign(
    service: CscService, enrollment: Enrollment, sad: str, hashes: list[bytes] | None = None
) -> list[str]:
    return await service.signatures_sign_hash(
        USER,
        enrollment.credential_id,
        sad=sad,
        hashes=[b64(h) for h in (hashes or [DOC_HASH])],
        hash_algorithm_oid=SHA256,
        sign_algo=SHA256_RSA,
    )


async def test_credentials_list_and_info(
    csc_service: CscService, enrolled: Enrollment, citizen: Credential
) -> None:
    assert await csc_service.credentials_list(USER) == [enrolled.credential_id]
    assert await csc_service.credentials_list("someone-else") == []

    chain = await csc_service.credentials_info(
        USER, enrolled.credential_id, certificates="chain", cert_info=True, auth_info=True
    )
    single = await csc_service.credentials_info(USER, enrolled.credential_id)
    none = await csc_service.credentials_info(USER, enrolled.credential_id, certificates="none")

    assert chain.certificates == (citizen.certificate, *citizen.chain)
    assert single.certificates == (citizen.certificate,)
    assert none.certificates == ()
    assert chain.key_status == "enabled" and chain.cert_status == "valid"
    assert SHA256_RSA in chain.key_algorithms and chain.key_length == 2048
    assert chain.scal == "2" and chain.auth_mode == "explicit"
    assert chain.auth_objects is not None
    assert [o.id for o in chain.auth_objects] == ["PIN", "OTP"]
    assert chain.cert_details is not None
    assert "Nguyễn Thị Minh Khai" in chain.cert_details.subject_dn
    assert single.auth_objects is None and single.cert_details is None
    assert enrolled.otp_uri.startswith("otpauth://totp/")


async def test_authorized_hash_is_signed_with_the_citizens_key(
    csc_service: CscService, enrolled: Enrollment, citizen: Credential, csc_clock: FakeClock
) -> None:
    sad = await authorize(csc_service, enrolled, csc_clock)

    (signature,) = await sign(csc_service, enrolled, sad)

    public = asn1_x509.Certificate.load(citizen.certificate).public_key.dump()
    key = serialization.load_der_public_key(public)
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        base64.b64decode(signature),
        DOC_HASH,
        padding.PKCS1v15(),
        utils.Prehashed(hashes.SHA256()),
    )


async def test_sad_is_single_use(
    csc_service: CscService, enrolled: Enrollment, csc_clock: FakeClock
) -> None:
    sad = await authorize(csc_service, enrolled, csc_clock)
    await sign(csc_service, enrolled, sad)

    with pytest.raises(InvalidSad) as err:
        await sign(csc_service, enrolled, sad)
    assert err.value.problem == "used"


async def test_sad_for_another_hash_fails_and_is_spent(
    csc_service: CscService, enrolled: Enrollment, csc_clock: FakeClock
) -> None:
    sad = await authorize(csc_service, enrolled, csc_clock)

    with pytest.raises(InvalidSad) as err:
        await sign(csc_service, enrolled, sad, [OTHER_HASH])
    assert err.value.problem == "other_hash"
    with pytest.raises(InvalidSad) as again:
        await sign(csc_service, enrolled, sad)
    assert again.value.problem == "used"


async def test_expired_sad_fails(
    csc_service: CscService, enrolled: Enrollment, csc_clock: FakeClock
) -> None:
    sad = await authorize(csc_service, enrolled, csc_clock)
    csc_clock.advance(301)

    with pytest.raises(InvalidSad) as err:
        await sign(csc_service, enrolled, sad)
    assert err.value.problem == "expired"


async def test_sad_for_another_credential_fails(
    csc_service: CscService, enrolled: Enrollment, citizen: Credential, csc_clock: FakeClock
) -> None:
    second = await csc_service.enroll(USER, citizen, PIN)
    sad = await authorize(csc_service, enrolled, csc_clock)

    with pytest.raises(InvalidSad) as err:
        await sign(csc_service, second, sad)
    assert err.value.problem == "other_credential"


async def test_unknown_or_forged_sad_fails(csc_service: CscService, enrolled: Enrollment) -> None:
    with pytest.raises(InvalidSad) as err:
        await sign(csc_service, enrolled, "not-a-sad")
    assert err.value.problem == "unknown"


async def test_wrong_pins_count_down_then_lock_even_the_right_pin(
    csc_service: CscService, enrolled: Enrollment, csc_clock: FakeClock
) -> None:
    remaining = []
    for _ in range(4):
        with pytest.raises(InvalidPin) as err:
            await authorize(csc_service, enrolled, csc_clock, pin="000000")
        remaining.append(err.value.remaining_attempts)
    with pytest.raises(InvalidPin) as last:
        await authorize(csc_service, enrolled, csc_clock, pin="000000")

    assert remaining == [4, 3, 2, 1] and last.value.remaining_attempts == 0
    with pytest.raises(CredentialLocked):
        await authorize(csc_service, enrolled, csc_clock)
    info = await csc_service.credentials_info(USER, enrolled.credential_id)
    assert info.key_status == "disabled"

    await csc_service.unlock(enrolled.credential_id)
    assert await authorize(csc_service, enrolled, csc_clock)


async def test_a_right_pin_resets_the_counter(
    csc_service: CscService, enrolled: Enrollment, csc_clock: FakeClock
) -> None:
    for _ in range(3):
        with pytest.raises(InvalidPin):
            await authorize(csc_service, enrolled, csc_clock, pin="111111")
    await authorize(csc_service, enrolled, csc_clock)

    with pytest.raises(InvalidPin) as err:
        await authorize(csc_service, enrolled, csc_clock, pin="111111")
    assert err.value.remaining_attempts == 4


async def test_wrong_or_replayed_otp_fails(
    csc_service: CscService, enrolled: Enrollment, csc_clock: FakeClock
) -> None:
    code = await csc_service.current_otp(enrolled.credential_id)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(InvalidOtp) as err:
        await authorize(csc_service, enrolled, csc_clock, otp=wrong)
    assert err.value.remaining_attempts == 4

    csc_clock.advance(30)
    code = await csc_service.current_otp(enrolled.credential_id)
    await csc_service.credentials_authorize(
        USER,
        enrolled.credential_id,
        num_signatures=1,
        hashes=[b64(DOC_HASH)],
        hash_algorithm_oid=SHA256,
        pin=PIN,
        otp=code,
    )
    with pytest.raises(InvalidOtp):
        await csc_service.credentials_authorize(
            USER,
            enrolled.credential_id,
            num_signatures=1,
            hashes=[b64(DOC_HASH)],
            hash_algorithm_oid=SHA256,
            pin=PIN,
            otp=code,
        )


async def test_unknown_credential_and_another_users_credential(
    csc_service: CscService, enrolled: Enrollment
) -> None:
    with pytest.raises(CredentialNotFound):
        await csc_service.credentials_info(USER, "no-such-credential")
    with pytest.raises(CredentialNotFound):
        await csc_service.credentials_info("someone-else", enrolled.credential_id)
    with pytest.raises(CredentialNotFound):
        await csc_service.credentials_authorize(
            "someone-else",
            enrolled.credential_id,
            num_signatures=1,
            hashes=[b64(DOC_HASH)],
            hash_algorithm_oid=SHA256,
            pin=PIN,
            otp="000000",
        )


@pytest.mark.parametrize(
    ("num", "hashes", "oid", "parameter"),
    [
        (2, [b64(DOC_HASH)], SHA256, "numSignatures"),
        (1, ["%%%"], SHA256, "hashes"),
        (1, [b64(b"short")], SHA256, "hashes"),
        (1, [b64(DOC_HASH)], "1.2.3.4", "hashAlgorithmOID"),
        (1, [b64(DOC_HASH)], None, "hashAlgorithmOID"),
        (0, [], SHA256, "hashes"),
    ],
)
async def test_malformed_authorize_requests(
    csc_service: CscService,
    enrolled: Enrollment,
    num: int,
    hashes: list[str],
    oid: str | None,
    parameter: str,
) -> None:
    with pytest.raises(InvalidCscRequest) as err:
        await csc_service.credentials_authorize(
            USER,
            enrolled.credential_id,
            num_signatures=num,
            hashes=hashes,
            hash_algorithm_oid=oid,
            pin=PIN,
            otp="000000",
        )
    assert err.value.parameter == parameter


async def test_sign_algo_must_fit_the_key_and_the_hash(
    csc_service: CscService, enrolled: Enrollment, csc_clock: FakeClock
) -> None:
    sad = await authorize(csc_service, enrolled, csc_clock)
    with pytest.raises(InvalidCscRequest) as err:
        await csc_service.signatures_sign_hash(
            USER,
            enrolled.credential_id,
            sad=sad,
            hashes=[b64(DOC_HASH)],
            hash_algorithm_oid=SHA256,
            sign_algo="1.2.840.113549.1.1.13",
        )
    assert err.value.parameter == "hashAlgorithmOID"
    with pytest.raises(InvalidCscRequest):
        await csc_service.signatures_sign_hash(
            USER,
            enrolled.credential_id,
            sad=sad,
            hashes=[b64(DOC_HASH)],
            hash_algorithm_oid=SHA256,
            sign_algo="1.2.840.10045.4.3.2",
        )


async def test_short_or_non_digit_pins_are_refused_at_enrolment(
    csc_service: CscService, citizen: Credential
) -> None:
    for pin in ("12345", "abcdef", "１２３４５６"):
        with pytest.raises(InvalidCscRequest):
            await csc_service.enroll(USER, citizen, pin)


async def test_pins_sads_and_otp_secrets_are_stored_only_hashed_or_wrapped(
    csc_service: CscService,
    enrolled: Enrollment,
    csc_dir: Path,
    csc_clock: FakeClock,
    digest_keys: SoftwareDigestKeyStore,
    citizen: Credential,
) -> None:
    used = await authorize(csc_service, enrolled, csc_clock)
    await sign(csc_service, enrolled, used)
    fresh = await authorize(csc_service, enrolled, csc_clock)
    private = digest_keys._load(citizen.key_id)[1].private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    stored = b"".join(p.read_bytes() for p in csc_dir.rglob("*") if p.is_file())

    assert stored  # the state file exists
    for secret in (PIN, used, fresh, enrolled.otp_secret):
        assert secret.encode() not in stored
    otp_key = base64.b32decode(enrolled.otp_secret + "=" * (-len(enrolled.otp_secret) % 8))
    assert otp_key not in stored and b64(otp_key).encode() not in stored
    assert private not in stored and b64(private).encode() not in stored
    assert b"hmac-sha256$" in stored and b"argon2" not in stored


async def test_memory_store_behaves_like_the_file_store(
    digest_keys: SoftwareDigestKeyStore, keyring: LocalKeyRing, citizen: Credential
) -> None:
    clock = FakeClock()
    service = CscService(MemoryCredentialStore(), digest_keys, keyring, clock=clock)
    enrollment = await service.enroll(USER, citizen, PIN)
    sad = await authorize(service, enrollment, clock)

    assert len(await sign(service, enrollment, sad)) == 1
    with pytest.raises(InvalidSad):
        await sign(service, enrollment, sad)


async def test_lockout_survives_a_restart(
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
    csc_dir: Path,
    digest_keys: SoftwareDigestKeyStore,
    keyring: LocalKeyRing,
) -> None:
    for _ in range(5):
        with pytest.raises(InvalidPin):
            await authorize(csc_service, enrolled, csc_clock, pin="999999")
    restarted = CscService(FileCredentialStore(csc_dir), digest_keys, keyring, clock=csc_clock)

    with pytest.raises(CredentialLocked):
        await authorize(restarted, enrolled, csc_clock)


async def test_the_pin_verifier_needs_the_master_key(
    digest_keys: SoftwareDigestKeyStore, keyring: LocalKeyRing, citizen: Credential
) -> None:
    store = MemoryCredentialStore()
    clock = FakeClock()
    enrollment = await CscService(store, digest_keys, keyring, clock=clock).enroll(
        USER, citizen, PIN
    )
    record = await store.get(enrollment.credential_id)
    assert record is not None
    # security: the stored verifier is an HMAC under a key that is itself wrapped: no
    # unkeyed hash of the PIN (what an offline search of 10^6 PINs would test) matches.
    assert record.pin_hash.startswith("hmac-sha256$")
    mac = base64.b64decode(record.pin_hash.removeprefix("hmac-sha256$"))
    assert mac not in {
        hashlib.sha256(PIN.encode()).digest(),
        hmac.digest(b"", PIN.encode(), "sha256"),
    }
    other = CscService(store, digest_keys, LocalKeyRing({"t": b"z" * 32}, "t"), clock=clock)
    with pytest.raises(KeyUnavailable):  # the PIN is checked first, with its key
        await authorize(other, enrollment, clock, otp="000000")


async def test_a_legacy_argon2id_pin_still_works_and_is_re_stored_keyed(
    digest_keys: SoftwareDigestKeyStore, keyring: LocalKeyRing, citizen: Credential
) -> None:
    store = MemoryCredentialStore()
    clock = FakeClock()
    service = CscService(store, digest_keys, keyring, clock=clock)
    enrollment = await service.enroll(USER, citizen, PIN)
    legacy = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PIN)

    def to_legacy(record: CredentialRecord) -> tuple[CredentialRecord, NewSad | None]:
        changed = msgspec.structs.replace(
            record, pin_hash=legacy, pin_kek_id="", pin_key_wrapped=b""
        )
        return changed, None

    await store.update(enrollment.credential_id, to_legacy, now=clock())
    with pytest.raises(InvalidPin):
        await authorize(service, enrollment, clock, pin="999999")
    stored = await store.get(enrollment.credential_id)
    assert stored is not None and stored.pin_hash == legacy and stored.failed_attempts == 1

    sad = await authorize(service, enrollment, clock)

    stored = await store.get(enrollment.credential_id)
    assert stored is not None and stored.pin_hash.startswith("hmac-sha256$")
    assert stored.failed_attempts == 0 and stored.pin_key_wrapped
    assert len(await sign(service, enrollment, sad)) == 1
    with pytest.raises(InvalidPin):
        await authorize(service, enrollment, clock, pin="999999")
    await authorize(service, enrollment, clock)  # the re-stored form verifies


async def test_rotating_the_master_key_rewraps_the_signing_secrets(
    digest_keys: SoftwareDigestKeyStore, keyring: LocalKeyRing, citizen: Credential
) -> None:
    store = MemoryCredentialStore()
    clock = FakeClock()
    service = CscService(store, digest_keys, keyring, clock=clock)
    enrollment = await service.enroll(USER, citizen, PIN)
    rotated = keyring.with_new_current()

    assert await service.rewrap_secrets(rotated) == 1
    assert await service.rewrap_secrets(rotated) == 0  # nothing left under the old key

    record = await store.get(enrollment.credential_id)
    assert record is not None
    assert record.otp_kek_id == record.pin_kek_id == rotated.current_id != keyring.current_id
    after = CscService(store, digest_keys, rotated.only_current(), clock=clock)
    sad = await authorize(after, enrollment, clock)
    assert len(await sign(after, enrollment, sad)) == 1
    with pytest.raises(InvalidPin):
        await authorize(after, enrollment, clock, pin="999999")
