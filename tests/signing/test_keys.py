"""The KeyStore contract (run on every implementation) and the software store's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from signing import (
    InvalidKeyId,
    KeyExists,
    KeyNotFound,
    KeyStore,
    KeyStoreUnavailable,
    SoftwareKeyStore,
    UnsupportedAlgorithm,
)
from signing.keys.api import KeyAlgorithm
from vault.keys import LocalKeyRing

RING = LocalKeyRing({"t": b"k" * 32}, "t")


@pytest.fixture(params=["software"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> KeyStore:
    return SoftwareKeyStore(tmp_path / "keys", RING)


def _verify(spki: bytes, signature: bytes, data: bytes, family: str) -> None:
    public = serialization.load_der_public_key(spki)
    if family == "rsa":
        assert isinstance(public, rsa.RSAPublicKey)
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))


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
