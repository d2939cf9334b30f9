"""The KeyStore contract (run on every implementation: software keys and SoftHSM2), the
software store's files, and the PKCS#11 store's custody and failure modes."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature

from kho.samples import make_pdf
from signing import (
    InvalidKeyId,
    KeyExists,
    KeyNotFound,
    KeyStore,
    KeyStoreUnavailable,
    SoftwareKeyStore,
    UnsupportedAlgorithm,
)
from signing.keys.api import KeyAlgorithm, SignatureAlgorithm
from signing.keys.pkcs11 import Pkcs11KeyStore
from signing.models import PkiSettings
from signing.pades import Sealer, validation_context
from signing.pki import DemoPki
from signing.tsa import LocalTimeStamper, TimeStampAuthority
from tests.signing.conftest import BASE_URL
from tests.signing.softhsm import SoftHsm
from vault.keys import LocalKeyRing

RING = LocalKeyRing({"t": b"k" * 32}, "t")

_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


@pytest.fixture(params=["software", "pkcs11"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyStore]:
    if request.param == "software":
        yield SoftwareKeyStore(tmp_path / "keys", RING)
        return
    # Note: one token serves the whole session; each test removes the keys it made.
    hsm: Pkcs11KeyStore = request.getfixturevalue("hsm_store")
    before = set(hsm.key_ids())
    yield hsm
    for key_id in set(hsm.key_ids()) - before:
        hsm.delete(key_id)


def _verify(
    spki: bytes, signature: bytes, data: bytes, family: str, digest: str = "sha256"
) -> None:
    public = serialization.load_der_public_key(spki)
    if family == "rsa":
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, data, padding.PKCS1v15(), _HASHES[digest]())
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, data, ec.ECDSA(_HASHES[digest]()))


@pytest.mark.parametrize(("algorithm", "family"), [("rsa-2048", "rsa"), ("ecdsa-p256", "ecdsa")])
def test_generate_then_sign_verifies_with_the_public_key(
    store: KeyStore, algorithm: KeyAlgorithm, family: str
) -> None:
    spki = store.generate("seal.1", algorithm)

    signature = store.sign("seal.1", b"data", "sha256_rsa" if family == "rsa" else "sha256_ecdsa")

    _verify(spki, signature, b"data", family)
    assert store.public_key("seal.1") == spki
    assert store.algorithm("seal.1") == algorithm
    assert store.exists("seal.1")


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
@pytest.mark.parametrize(("algorithm", "family"), [("rsa-2048", "rsa"), ("ecdsa-p256", "ecdsa")])
def test_sign_digest_verifies_as_a_signature_of_the_data(
    store: KeyStore, algorithm: KeyAlgorithm, family: str, digest: str
) -> None:
    spki = store.generate("digest.1", algorithm)
    hashed = hashlib.new(digest, b"data").digest()
    scheme: SignatureAlgorithm = f"{digest}_{family}"  # type: ignore[assignment]

    signature = store.sign_digest("digest.1", hashed, scheme)

    _verify(spki, signature, b"data", family, digest)
    with pytest.raises(UnsupportedAlgorithm):
        store.sign_digest("digest.1", hashed[:-1], scheme)
    with pytest.raises(KeyNotFound):
        store.sign_digest("nope", hashed, scheme)


def test_wrong_scheme_for_the_key_is_refused(store: KeyStore) -> None:
    store.generate("k", "rsa-2048")

    with pytest.raises(UnsupportedAlgorithm):
        store.sign("k", b"data", "sha256_ecdsa")


def test_duplicate_unknown_and_invalid_ids(store: KeyStore) -> None:
    store.generate("k", "ecdsa-p256")

    with pytest.raises(KeyExists):
        store.generate("k", "ecdsa-p256")
    with pytest.raises(KeyNotFound):
        store.sign("missing", b"x", "sha256_ecdsa")
    with pytest.raises(KeyNotFound):
        store.public_key("missing")
    for bad in ["../k", "K", "", ".hidden", "a/b"]:
        with pytest.raises(InvalidKeyId):
            store.generate(bad, "ecdsa-p256")


def test_delete_destroys_the_key(store: KeyStore) -> None:
    store.generate("k", "ecdsa-p256")

    store.delete("k")

    assert not store.exists("k")
    with pytest.raises(KeyNotFound):
        store.sign("k", b"x", "sha256_ecdsa")
    store.delete("k")


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
@pytest.mark.parametrize(("algorithm", "family"), [("rsa-2048", "rsa"), ("ecdsa-p256", "ecdsa")])
def test_every_digest_signs_and_verifies(
    store: KeyStore, algorithm: KeyAlgorithm, family: str, digest: str
) -> None:
    spki = store.generate("k", algorithm)
    scheme: SignatureAlgorithm = f"{digest}_{family}"  # type: ignore[assignment]

    signature = store.sign("k", b"payload" * 1000, scheme)

    _verify(spki, signature, b"payload" * 1000, family, digest)


def test_rsa_3072_keys(store: KeyStore) -> None:
    spki = store.generate("big", "rsa-3072")

    signature = store.sign("big", b"data", "sha256_rsa")

    _verify(spki, signature, b"data", "rsa")
    assert len(signature) == 384
    assert store.algorithm("big") == "rsa-3072"


def test_unknown_key_and_invalid_id_on_every_method(store: KeyStore) -> None:
    assert not store.exists("missing")
    with pytest.raises(KeyNotFound):
        store.algorithm("missing")
    for call in (
        lambda: store.sign("../k", b"x", "sha256_rsa"),
        lambda: store.public_key("a/b"),
        lambda: store.exists(".k"),
        lambda: store.delete("K"),
    ):
        with pytest.raises(InvalidKeyId):
            call()


def test_unsupported_key_algorithm_is_refused(store: KeyStore) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        store.generate("k", "dsa-1024")  # type: ignore[arg-type]
    assert not store.exists("k")


def test_concurrent_signing_from_threads(store: KeyStore) -> None:
    rsa_spki = store.generate("r", "rsa-2048")
    ec_spki = store.generate("e", "ecdsa-p256")
    results: list[tuple[str, bytes, bytes]] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                data = f"{n}-{i}".encode()
                key, scheme = ("r", "sha256_rsa") if (n + i) % 2 else ("e", "sha256_ecdsa")
                results.append((key, data, store.sign(key, data, scheme)))  # type: ignore[arg-type]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    assert len(results) == 160
    for key, data, signature in results:
        _verify(
            rsa_spki if key == "r" else ec_spki, signature, data, "rsa" if key == "r" else "ecdsa"
        )


def test_software_keys_survive_a_restart_and_need_the_master_key(tmp_path: Path) -> None:
    spki = SoftwareKeyStore(tmp_path, RING).generate("k", "rsa-2048")

    reopened = SoftwareKeyStore(tmp_path, RING)
    _verify(spki, reopened.sign("k", b"x", "sha256_rsa"), b"x", "rsa")

    other = SoftwareKeyStore(tmp_path, LocalKeyRing({"t": b"o" * 32}, "t"))
    with pytest.raises(KeyStoreUnavailable):
        other.sign("k", b"x", "sha256_rsa")


def test_a_key_file_renamed_to_another_id_does_not_open(tmp_path: Path) -> None:
    SoftwareKeyStore(tmp_path, RING).generate("a", "ecdsa-p256")
    (tmp_path / "a.key").rename(tmp_path / "b.key")

    with pytest.raises(KeyStoreUnavailable):
        SoftwareKeyStore(tmp_path, RING).sign("b", b"x", "sha256_ecdsa")


def test_rewrap_moves_the_key_to_the_new_master_key(tmp_path: Path) -> None:
    SoftwareKeyStore(tmp_path, RING).generate("k", "ecdsa-p256")
    rotated = RING.with_new_current()

    SoftwareKeyStore(tmp_path, rotated).rewrap("k")

    fresh = SoftwareKeyStore(tmp_path, rotated.only_current())
    assert fresh.sign("k", b"x", "sha256_ecdsa")


def test_key_files_are_private(tmp_path: Path) -> None:
    SoftwareKeyStore(tmp_path, RING).generate("k", "ecdsa-p256")

    assert (tmp_path / "k.key").stat().st_mode & 0o777 == 0o600


# -- PKCS#11 (SoftHSM2) specifics ----------------------------------------------------------


@pytest.fixture
def hsm(hsm_store: Pkcs11KeyStore) -> Iterator[Pkcs11KeyStore]:
    before = set(hsm_store.key_ids())
    yield hsm_store
    for key_id in set(hsm_store.key_ids()) - before:
        hsm_store.delete(key_id)


def _raw_session(softhsm: SoftHsm) -> pkcs11.Session:
    # Note: the store has logged this process in; a plain session shares that login and
    # closing it does not log out.
    return pkcs11.lib(softhsm.module).get_token(token_label=softhsm.token).open(rw=True)


@pytest.mark.parametrize("algorithm", ["rsa-2048", "ecdsa-p256"])
def test_hsm_private_keys_are_sensitive_and_never_extractable(
    hsm: Pkcs11KeyStore, softhsm: SoftHsm, algorithm: KeyAlgorithm
) -> None:
    hsm.generate("custody", algorithm)

    with _raw_session(softhsm) as session:
        key = session.get_key(pkcs11.ObjectClass.PRIVATE_KEY, label="custody")
        assert key.id == b"custody"
        assert key[pkcs11.Attribute.TOKEN] is True
        assert key[pkcs11.Attribute.SENSITIVE] is True
        assert key[pkcs11.Attribute.EXTRACTABLE] is False
        assert key[pkcs11.Attribute.NEVER_EXTRACTABLE] is True
        assert key[pkcs11.Attribute.ALWAYS_SENSITIVE] is True
        assert key[pkcs11.Attribute.DECRYPT] is False
        secret = (
            pkcs11.Attribute.PRIVATE_EXPONENT
            if algorithm.startswith("rsa")
            else pkcs11.Attribute.VALUE
        )
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            _ = key[secret]


def test_hsm_key_deleted_behind_the_store_is_not_found(
    hsm: Pkcs11KeyStore, softhsm: SoftHsm
) -> None:
    hsm.generate("gone", "ecdsa-p256")
    hsm.sign("gone", b"x", "sha256_ecdsa")  # caches the key's handle
    with _raw_session(softhsm) as session:
        for obj in list(session.get_objects({pkcs11.Attribute.LABEL: "gone"})):
            obj.destroy()

    with pytest.raises(KeyNotFound):
        hsm.sign("gone", b"x", "sha256_ecdsa")
    assert not hsm.exists("gone")


def test_hsm_keys_are_visible_to_a_second_store_on_the_token(
    hsm: Pkcs11KeyStore, softhsm: SoftHsm
) -> None:
    spki = hsm.generate("shared", "rsa-2048")

    other = Pkcs11KeyStore(softhsm.module, softhsm.token, softhsm.pin)

    assert other.public_key("shared") == spki
    assert "shared" in other.key_ids()


def test_hsm_failures_become_key_store_unavailable(softhsm: SoftHsm) -> None:
    wrong_pin = Pkcs11KeyStore(softhsm.module, softhsm.spare_token, "0000")
    no_token = Pkcs11KeyStore(softhsm.module, "no-such-token", softhsm.pin)
    no_module = Pkcs11KeyStore("/nonexistent/libpkcs11.so", softhsm.token, softhsm.pin)
    other_pin = Pkcs11KeyStore(softhsm.module, softhsm.token, "9999")
    Pkcs11KeyStore(softhsm.module, softhsm.token, softhsm.pin).exists("k")  # logs in

    for store in (wrong_pin, no_token, no_module, other_pin):
        with pytest.raises(KeyStoreUnavailable) as info:
            store.exists("k")
        assert "0000" not in str(info.value) and "9999" not in str(info.value)
        assert "0000" not in repr(store) and "9999" not in repr(store)


@pytest.mark.parametrize("algorithm", ["rsa-2048", "ecdsa-p256"])
async def test_a_pdf_sealed_with_hsm_keys_validates(
    hsm: Pkcs11KeyStore, tmp_path: Path, algorithm: KeyAlgorithm
) -> None:
    """The whole demo PKI (CAs, TSA, the agency seal) with its keys in SoftHSM2."""
    pki = DemoPki(tmp_path / "pki", hsm, PkiSettings(base_url=BASE_URL, key_algorithm=algorithm))
    pki.ensure()
    agency = pki.agency_seal("000.00.01.H29", "Sở Tư pháp thành phố Hà Nội")
    sealer = Sealer(
        hsm,
        timestamper=LocalTimeStamper(TimeStampAuthority(hsm, pki.tsa)),
        validation_material=pki.validation_material,
    )
    pdf = make_pdf(["Giay khai sinh"], title="HSM seal")

    signed = await sealer.seal(pdf, agency, level="B-LT")

    assert agency.key_id in hsm.key_ids()
    assert signed[: len(pdf)] == pdf
    reader = PdfFileReader(BytesIO(signed))
    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0], validation_context(pki.validation_material())
    )
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert status.md_algorithm == "sha256"
