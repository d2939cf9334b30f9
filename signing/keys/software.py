"""``SoftwareKeyStore``: private keys in files, encrypted under the master key.

One file per key, ``{directory}/{key_id}.key`` (mode 0600), JSON holding::

    v, algorithm, public_key (SPKI DER, base64),
    kek_id, wrapped_data_key   -- a fresh 32-byte data key wrapped by the KeyRing
    nonce, ciphertext          -- AES-256-GCM(data_key, PKCS#8 DER of the private key)

Both the wrap and the payload bind ``b"kho/signing/key/" + key_id`` as associated data,
so a key file renamed to another id does not open.  Rotating the master key needs only a
rewrap of ``wrapped_data_key`` (``rewrap``).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from signing.errors import KeyExists, KeyNotFound, KeyStoreUnavailable, UnsupportedAlgorithm
from signing.keys.api import KEY_ALGORITHMS, KeyAlgorithm, SignatureAlgorithm, check_key_id
from vault.crypto import new_key
from vault.errors import KeyUnavailable
from vault.keys import KeyRing

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _context(key_id: str) -> bytes:
    return b"kho/signing/key/" + key_id.encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def generate_private_key(algorithm: KeyAlgorithm) -> PrivateKey:
    if algorithm == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise UnsupportedAlgorithm(algorithm)


def sign_with(key: PrivateKey, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
    """Sign with an in-memory key (shared by the software store and nothing else)."""
    digest, _, family = algorithm.partition("_")
    hash_cls = _HASHES[digest]
    if family == "rsa" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hash_cls())
    if family == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hash_cls()))
    raise UnsupportedAlgorithm(algorithm)


class SoftwareKeyStore:
    """Keys encrypted under ``keyring``; each is decrypted once and kept in memory
    (parsing an RSA key costs far more than signing with it).

    # security: decrypted keys live in this process's memory for its lifetime; they are
    # never returned, logged or written in clear.  ``repr`` shows no key material."""

    def __init__(self, directory: Path, keyring: KeyRing) -> None:
        self._dir = directory
        self._keyring = keyring
        self._cache: dict[str, tuple[KeyAlgorithm, PrivateKey]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SoftwareKeyStore({str(self._dir)!r})"

    def _path(self, key_id: str) -> Path:
        return self._dir / f"{check_key_id(key_id)}.key"

    def generate(self, key_id: str, algorithm: KeyAlgorithm) -> bytes:
        path = self._path(key_id)
        if algorithm not in KEY_ALGORITHMS:
            raise UnsupportedAlgorithm(algorithm, key_id)
        if path.exists():
            raise KeyExists(key_id)
        key = generate_private_key(algorithm)
        pkcs8 = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        data_key = new_key()
        kek_id, wrapped = self._keyring.wrap(data_key, _context(key_id))
        nonce = os.urandom(12)
        record = {
            "v": 1,
            "algorithm": algorithm,
            "public_key": _b64(spki),
            "kek_id": kek_id,
            "wrapped_data_key": _b64(wrapped),
            "nonce": _b64(nonce),
            "ciphertext": _b64(AESGCM(data_key).encrypt(nonce, pkcs8, _context(key_id))),
        }
        self._write_new(path, json.dumps(record).encode())
        with self._lock:
            self._cache[key_id] = (algorithm, key)
        return spki

    def _write_new(self, path: Path, payload: bytes) -> None:
        self._dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # Note: link() fails if another process created the key meanwhile, so two
            # concurrent generate() calls cannot both believe they own the id.
            os.link(tmp, path)
        except FileExistsError:
            raise KeyExists(path.stem) from None
        finally:
            tmp.unlink()

    def _record(self, key_id: str) -> dict[str, Any]:
        try:
            raw = self._path(key_id).read_bytes()
        except FileNotFoundError:
            raise KeyNotFound(key_id) from None
        record: dict[str, Any] = json.loads(raw)
        return record

    def _load(self, key_id: str) -> tuple[KeyAlgorithm, PrivateKey]:
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached
        record = self._record(key_id)
        try:
            data_key = self._keyring.unwrap(
                record["kek_id"], base64.b64decode(record["wrapped_data_key"]), _context(key_id)
            )
            pkcs8 = AESGCM(data_key).decrypt(
                base64.b64decode(record["nonce"]),
                base64.b64decode(record["ciphertext"]),
                _context(key_id),
            )
        except (KeyUnavailable, InvalidTag):
            raise KeyStoreUnavailable(f"key {key_id!r} does not open with the master key") from None
        key = serialization.load_der_private_key(pkcs8, password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise UnsupportedAlgorithm(type(key).__name__, key_id)
        algorithm: KeyAlgorithm = record["algorithm"]
        with self._lock:
            self._cache[key_id] = (algorithm, key)
        return algorithm, key

    def exists(self, key_id: str) -> bool:
        return self._path(key_id).exists()

    def algorithm(self, key_id: str) -> KeyAlgorithm:
        cached = self._cache.get(key_id)
        if cached is not None:
            return cached[0]
        algorithm: KeyAlgorithm = self._record(key_id)["algorithm"]
        return algorithm

    def public_key(self, key_id: str) -> bytes:
        return base64.b64decode(self._record(key_id)["public_key"])

    def sign(self, key_id: str, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        _, key = self._load(key_id)
        try:
            return sign_with(key, data, algorithm)
        except UnsupportedAlgorithm:
            raise UnsupportedAlgorithm(algorithm, key_id) from None

    def sign_digest(self, key_id: str, digest: bytes, algorithm: SignatureAlgorithm) -> bytes:
        hash_name, _, family = algorithm.partition("_")
        hash_cls = _HASHES.get(hash_name)
        if hash_cls is None or len(digest) != hash_cls().digest_size:
            raise UnsupportedAlgorithm(algorithm, key_id)
        _, key = self._load(key_id)
        prehashed = utils.Prehashed(hash_cls())
        if family == "rsa" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(digest, padding.PKCS1v15(), prehashed)
        if family == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(digest, ec.ECDSA(prehashed))
        raise UnsupportedAlgorithm(algorithm, key_id)

    def delete(self, key_id: str) -> None:
        with self._lock:
            self._cache.pop(key_id, None)
        self._path(key_id).unlink(missing_ok=True)

    def rewrap(self, key_id: str) -> None:
        """Re-wrap the key's data key under the key ring's current master key."""
        record = self._record(key_id)
        ctx = _context(key_id)
        try:
            data_key = self._keyring.unwrap(
                record["kek_id"], base64.b64decode(record["wrapped_data_key"]), ctx
            )
        except KeyUnavailable:
            raise KeyStoreUnavailable(f"key {key_id!r} does not open with the master key") from None
        record["kek_id"], wrapped = self._keyring.wrap(data_key, ctx)
        record["wrapped_data_key"] = _b64(wrapped)
        path = self._path(key_id)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(record).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
