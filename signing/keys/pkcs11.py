"""``Pkcs11KeyStore``: private keys inside a PKCS#11 token (an HSM; SoftHSM2 in tests).

Keys are generated in the token and never leave it: the private key object is a token
object with ``CKA_SENSITIVE`` and without ``CKA_EXTRACTABLE``, usable for signing only.
A key pair is found by ``CKA_LABEL`` (= key id; ``CKA_ID`` is the key id's UTF-8 too).

Signing hashes in Python and sends only the digest to the token: RSA uses ``CKM_RSA_PKCS``
over the PKCS#1 v1.5 ``DigestInfo``; ECDSA uses ``CKM_ECDSA`` over the hash and turns the
token's raw ``r || s`` into the DER ``Ecdsa-Sig-Value`` the ``KeyStore`` contract returns.

Sessions: PKCS#11 login state belongs to the process (per token), not to a session, and
python-pkcs11 sessions are not thread-safe.  So every store of this process on the same
module and token shares one logged-in session, used under one lock (the token serialises
operations anyway; python-pkcs11 releases the GIL while the token works).  A session the
token drops (device removed, session closed) is reopened once before the call fails.

Errors: no ``pkcs11`` exception leaves this module; each becomes a ``signing.errors``
type (``KeyStoreUnavailable`` for anything about the module, token, PIN or session).

Note: PKCS#11 has no "create if absent"; two *processes* generating the same key id at
the same moment can both succeed and leave two objects with one label (later calls then
raise ``KeyStoreUnavailable``).  Within a process, the lock makes ``generate`` atomic.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import pkcs11
from asn1crypto import keys as asn1_keys
from asn1crypto.algos import DSASignature
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from signing.errors import KeyExists, KeyNotFound, KeyStoreUnavailable, UnsupportedAlgorithm
from signing.keys.api import KEY_ALGORITHMS, KeyAlgorithm, SignatureAlgorithm, check_key_id

T = TypeVar("T")

_P256_PARAMS = encode_named_curve_parameters("secp256r1")

# Note: the DER prefix of DigestInfo for each hash (RFC 8017, section 9.2, note 1); the
# digest follows it.  CKM_RSA_PKCS only pads, so the caller supplies this structure.
_DIGEST_INFO_PREFIX = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
}

# PKCS#11 errors that mean "this session is gone", after which a new session may work.
_SESSION_LOST: tuple[type[p11.PKCS11Error], ...] = (
    p11.SessionClosed,
    p11.SessionHandleInvalid,
    p11.DeviceRemoved,
    p11.TokenNotPresent,
    p11.UserNotLoggedIn,
)
# ...and errors that mean "this object handle is stale" (deleted by another process).
_HANDLE_STALE: tuple[type[p11.PKCS11Error], ...] = (
    p11.ObjectHandleInvalid,
    p11.KeyHandleInvalid,
)


def _unavailable(exc: BaseException, what: str) -> NoReturn:
    # security: messages name the error type and the operation, never the PIN.
    detail = str(exc).strip()
    reason = f"PKCS#11 {type(exc).__name__} while {what}" + (f": {detail}" if detail else "")
    raise KeyStoreUnavailable(reason) from None


class _Token:
    """One logged-in session on one token of one module, shared in this process."""

    def __init__(self, module: str, token_label: str) -> None:
        self.module = module
        self.token_label = token_label
        self.lock = threading.Lock()
        self._session: pkcs11.Session | None = None
        self._pin_digest = b""
        # key id -> (algorithm, private key object bound to ``_session``)
        self.keys: dict[str, tuple[KeyAlgorithm, Any]] = {}

    def session(self, pin: str) -> pkcs11.Session:
        """The logged-in session, opened with ``pin`` on first use; call with ``lock``
        held.  Raises ``KeyStoreUnavailable``."""
        digest = hashlib.sha256(pin.encode()).digest()
        if self._session is not None:
            if not hmac.compare_digest(digest, self._pin_digest):
                # security: the process is logged in to this token already, so a store
                # built with another PIN would work without the token checking that PIN.
                raise KeyStoreUnavailable(
                    f"token {self.token_label!r} is in use in this process with another PIN"
                )
            return self._session
        try:
            lib = pkcs11.lib(self.module)
            token = lib.get_token(token_label=self.token_label)
        except p11.NoSuchToken:
            raise KeyStoreUnavailable(
                f"no PKCS#11 token labelled {self.token_label!r} in {self.module}"
            ) from None
        except p11.PKCS11Error as exc:
            _unavailable(exc, f"loading {self.module}")
        try:
            session = token.open(rw=True, user_pin=pin)
        except p11.UserAlreadyLoggedIn:
            # Note: another user of this module in this process (not a Pkcs11KeyStore)
            # logged in already; a plain session inherits that login.
            try:
                session = token.open(rw=True)
            except p11.PKCS11Error as exc:
                _unavailable(exc, f"opening a session on token {self.token_label!r}")
        except (p11.PinIncorrect, p11.PinInvalid, p11.PinLenRange, p11.PinLocked, p11.PinExpired):
            raise KeyStoreUnavailable(
                f"the token {self.token_label!r} refused the user PIN"
            ) from None
        except p11.PKCS11Error as exc:
            _unavailable(exc, f"logging in to token {self.token_label!r}")
        self._session = session
        self._pin_digest = digest
        return session

    def drop(self) -> None:
        """Forget the session and every object bound to it (after the token lost it)."""
        self._session = None
        self.keys.clear()


_tokens: dict[tuple[str, str], _Token] = {}
_tokens_lock = threading.Lock()


def _shared_token(module: str, token_label: str) -> _Token:
    with _tokens_lock:
        token = _tokens.get((module, token_label))
        if token is None:
            token = _tokens[(module, token_label)] = _Token(module, token_label)
        return token


def _spki(public: pkcs11.PublicKey) -> bytes:
    if public.key_type == KeyType.RSA:
        rsa = asn1_keys.RSAPublicKey(
            {
                "modulus": int.from_bytes(public[Attribute.MODULUS], "big"),
                "public_exponent": int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            }
        )
        der: bytes = asn1_keys.PublicKeyInfo.wrap(rsa, "rsa").dump()
        return der
    if public.key_type == KeyType.EC:
        return encode_ec_public_key(public)
    raise UnsupportedAlgorithm(str(public.key_type))


def _algorithm_of(public: pkcs11.PublicKey, key_id: str) -> KeyAlgorithm:
    if public.key_type == KeyType.RSA:
        bits = len(public[Attribute.MODULUS].lstrip(b"\0")) * 8
        if bits == 2048:
            return "rsa-2048"
        if bits == 3072:
            return "rsa-3072"
        raise UnsupportedAlgorithm(f"rsa-{bits}", key_id)
    if public.key_type == KeyType.EC and public[Attribute.EC_PARAMS] == _P256_PARAMS:
        return "ecdsa-p256"
    raise UnsupportedAlgorithm(str(public.key_type), key_id)


class Pkcs11KeyStore:
    """Keys in the PKCS#11 token labelled ``token_label`` of ``module`` (the vendor's
    shared library, e.g. ``/usr/lib/softhsm/libsofthsm2.so``), logged in with
    ``user_pin``.  Building a store does no I/O; the first call loads the module and
    logs in, and raises ``KeyStoreUnavailable`` if that fails.

    # security: private keys never leave the token (sensitive, non-extractable); the PIN
    # is kept in memory for re-login and never logged (``repr`` omits it).  PKCS#11 login
    # is per process: stores on the same token in one process must use the same PIN."""

    def __init__(self, module: str, token_label: str, user_pin: str) -> None:
        self._module = module
        self._label = token_label
        self._pin = user_pin
        self._token = _shared_token(module, token_label)

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore({self._module!r}, token={self._label!r})"

    # -- plumbing -----------------------------------------------------------------------

    def _run(self, what: str, call: Callable[[pkcs11.Session], T]) -> T:
        """``call(session)`` under the lock, retried once on a lost session; PKCS#11
        errors become ``KeyStoreUnavailable``.  ``SigningError``s pass through."""
        with self._token.lock:
            for attempt in (1, 2):
                session = self._token.session(self._pin)
                try:
                    return call(session)
                except _SESSION_LOST as exc:
                    self._token.drop()
                    if attempt == 2:
                        _unavailable(exc, what)
                except p11.PKCS11Error as exc:
                    _unavailable(exc, what)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _find(
        session: pkcs11.Session, object_class: ObjectClass, key_id: str
    ) -> list[pkcs11.Object]:
        return list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: key_id}))

    def _one(self, session: pkcs11.Session, object_class: ObjectClass, key_id: str) -> Any:
        found = self._find(session, object_class, key_id)
        if not found:
            raise KeyNotFound(key_id)
        if len(found) > 1:
            raise KeyStoreUnavailable(
                f"token {self._label!r} holds {len(found)} objects labelled {key_id!r}"
            )
        return found[0]

    def _private(self, session: pkcs11.Session, key_id: str) -> tuple[KeyAlgorithm, Any]:
        cached = self._token.keys.get(key_id)
        if cached is not None:
            return cached
        public = self._one(session, ObjectClass.PUBLIC_KEY, key_id)
        private = self._one(session, ObjectClass.PRIVATE_KEY, key_id)
        entry = (_algorithm_of(public, key_id), private)
        self._token.keys[key_id] = entry
        return entry

    # -- the KeyStore contract ----------------------------------------------------------

    def generate(self, key_id: str, algorithm: KeyAlgorithm) -> bytes:
        check_key_id(key_id)
        if algorithm not in KEY_ALGORITHMS:
            raise UnsupportedAlgorithm(algorithm, key_id)

        def call(session: pkcs11.Session) -> bytes:
            if self._find(session, ObjectClass.PRIVATE_KEY, key_id) or self._find(
                session, ObjectClass.PUBLIC_KEY, key_id
            ):
                raise KeyExists(key_id)
            common: dict[str, Any] = {
                "label": key_id,
                "id": key_id.encode(),
                "store": True,
                "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
                # security: generated in the token, never readable or exportable.
                "private_template": {
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.DECRYPT: False,
                    Attribute.UNWRAP: False,
                    Attribute.DERIVE: False,
                },
            }
            if algorithm == "ecdsa-p256":
                public, private = session.generate_keypair(
                    KeyType.EC,
                    public_template={Attribute.TOKEN: True, Attribute.EC_PARAMS: _P256_PARAMS},
                    **common,
                )
            else:
                bits = 2048 if algorithm == "rsa-2048" else 3072
                public, private = session.generate_keypair(
                    KeyType.RSA,
                    bits,
                    public_template={Attribute.TOKEN: True, Attribute.ENCRYPT: False},
                    **common,
                )
            self._token.keys[key_id] = (algorithm, private)
            return _spki(public)

        return self._run(f"generating key {key_id!r}", call)

    def exists(self, key_id: str) -> bool:
        check_key_id(key_id)
        return self._run(
            f"looking up key {key_id!r}",
            lambda s: bool(self._find(s, ObjectClass.PRIVATE_KEY, key_id)),
        )

    def algorithm(self, key_id: str) -> KeyAlgorithm:
        check_key_id(key_id)
        return self._run(f"reading key {key_id!r}", lambda s: self._private(s, key_id)[0])

    def public_key(self, key_id: str) -> bytes:
        check_key_id(key_id)

        def call(session: pkcs11.Session) -> bytes:
            self._private(session, key_id)
            return _spki(self._one(session, ObjectClass.PUBLIC_KEY, key_id))

        return self._run(f"reading the public key {key_id!r}", call)

    def sign(self, key_id: str, data: bytes, algorithm: SignatureAlgorithm) -> bytes:
        digest = algorithm.partition("_")[0]
        if digest not in _DIGEST_INFO_PREFIX:
            raise UnsupportedAlgorithm(algorithm, key_id)
        return self.sign_digest(key_id, hashlib.new(digest, data).digest(), algorithm)

    def sign_digest(self, key_id: str, hashed: bytes, algorithm: SignatureAlgorithm) -> bytes:
        check_key_id(key_id)
        digest, _, family = algorithm.partition("_")
        prefix = _DIGEST_INFO_PREFIX.get(digest)
        if prefix is None or family not in ("rsa", "ecdsa"):
            raise UnsupportedAlgorithm(algorithm, key_id)
        if len(hashed) != hashlib.new(digest).digest_size:
            raise UnsupportedAlgorithm(algorithm, key_id)

        def call(session: pkcs11.Session) -> bytes:
            for attempt in (1, 2):
                key_alg, private = self._private(session, key_id)
                if family != ("ecdsa" if key_alg.startswith("ecdsa") else "rsa"):
                    raise UnsupportedAlgorithm(algorithm, key_id)
                try:
                    if family == "rsa":
                        signature: bytes = private.sign(
                            prefix + hashed, mechanism=Mechanism.RSA_PKCS
                        )
                        return signature
                    raw: bytes = private.sign(hashed, mechanism=Mechanism.ECDSA)
                    der: bytes = DSASignature.from_p1363(raw).dump()
                    return der
                except _HANDLE_STALE:
                    # Note: the cached handle is gone (deleted elsewhere); look it up again.
                    self._token.keys.pop(key_id, None)
                    if attempt == 2:
                        raise KeyNotFound(key_id) from None
            raise AssertionError("unreachable")  # pragma: no cover

        return self._run(f"signing with key {key_id!r}", call)

    def delete(self, key_id: str) -> None:
        check_key_id(key_id)

        def call(session: pkcs11.Session) -> None:
            self._token.keys.pop(key_id, None)
            for object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                for obj in self._find(session, object_class, key_id):
                    obj.destroy()

        self._run(f"deleting key {key_id!r}", call)

    # -- beyond the contract ------------------------------------------------------------

    def key_ids(self) -> list[str]:
        """Labels of every private key in the token (sorted), for operators and tests."""

        def call(session: pkcs11.Session) -> list[str]:
            objects = session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
            return sorted({str(obj[Attribute.LABEL]) for obj in objects})

        return self._run("listing keys", call)
