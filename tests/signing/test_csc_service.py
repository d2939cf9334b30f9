"""Kho's embedded CSC v2 service: credentials, explicit authorization, SAD rules, lockout."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
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
from signing.models import Credential
from tests.signing.conftest import FakeClock
from vault.keys import LocalKeyRing

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
    assert b"argon2id" in stored


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
