"""The demo PKI: a root CA, an agency CA, a citizen CA and a time-stamping authority.

Certificates and CRLs are built with asn1crypto and signed through a ``KeyStore``, so
the CA keys are in custody like every other key (they can live in an HSM too).  Every
certificate a CA issues names ``{base_url}/pki/{ca}.crl`` (CRL distribution point),
``{base_url}/pki/{ca}.crt`` (AIA caIssuers) and ``{base_url}/pki/{ca}/ocsp`` (AIA OCSP,
for certificates issued since OCSP was added; older ones keep their CRL); Kho serves all
three.  The OCSP responder (``DemoPki.ocsp``) is the CA itself: responses are signed with
the CA's key, so a client needs no delegated responder certificate.

Layout of ``directory``::

    credentials/{label}.json     current credential of a label (key id, certificate)
    issued/{ca}/{serial}.crt     every certificate a CA ever issued (DER, serial in hex)
    revoked/{ca}.json            revocation entries of a CA

Private keys are not here: they live in the key store (``DemoPki.open`` puts a
``SoftwareKeyStore`` in ``directory/keys``, encrypted under the master key).

Creation is idempotent: ``ensure()`` creates what is missing and loads the rest.  One
process owns a PKI directory at a time (a lock serialises this process's threads).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import msgspec
from asn1crypto import core as asn1_core
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from signing.errors import SigningError, UnknownCredential
from signing.keys.api import KeyStore, check_key_id, signature_algorithm_for
from signing.keys.software import SoftwareKeyStore
from signing.models import Credential, PkiSettings, RevocationReason, ValidationMaterial
from vault.keys import KeyRing

CaName = Literal["root", "agency-ca", "citizen-ca"]
CA_NAMES: tuple[CaName, ...] = ("root", "agency-ca", "citizen-ca")
TSA_LABEL = "tsa"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _time(dt: datetime) -> asn1_x509.Time:
    if dt.year < 2050:
        return asn1_x509.Time({"utc_time": dt})
    return asn1_x509.Time({"general_time": dt})


def _uri(url: str) -> asn1_x509.GeneralName:
    return asn1_x509.GeneralName(name="uniform_resource_identifier", value=url)


def _label_part(value: str, what: str) -> str:
    part = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    if not part:
        raise SigningError(f"{what} {value!r} gives an empty certificate label")
    return part


class DemoPki:
    """The demo PKI in ``directory``; call ``ensure()`` (``open`` does) before use."""

    def __init__(
        self,
        directory: Path,
        key_store: KeyStore,
        settings: PkiSettings,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._dir = directory
        self._keys = key_store
        self._settings = settings
        self._clock = clock
        self._lock = threading.RLock()
        self._credentials: dict[str, Credential] = {}
        self._crls: dict[str, tuple[bytes, datetime, tuple[int, int, int] | None]] = {}

    @classmethod
    def open(
        cls,
        directory: Path,
        keyring: KeyRing,
        settings: PkiSettings,
        *,
        clock: Clock = utc_now,
    ) -> DemoPki:
        """The PKI in ``directory`` with its keys in a ``SoftwareKeyStore`` under
        ``directory/keys``; creates the CAs and the TSA on first use."""
        pki = cls(directory, SoftwareKeyStore(directory / "keys", keyring), settings, clock=clock)
        pki.ensure()
        return pki

    def __repr__(self) -> str:
        return f"DemoPki({str(self._dir)!r})"

    @property
    def key_store(self) -> KeyStore:
        return self._keys

    # -- URLs ---------------------------------------------------------------------------

    def crl_url(self, ca: str) -> str:
        return f"{self._settings.base_url}/pki/{ca}.crl"

    def ca_url(self, ca: str) -> str:
        return f"{self._settings.base_url}/pki/{ca}.crt"

    def ocsp_url(self, ca: str) -> str:
        return f"{self._settings.base_url}/pki/{ca}/ocsp"

    # -- hierarchy ----------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the root, agency and citizen CAs and the TSA certificate if missing."""
        with self._lock:
            org = self._settings.organization
            if not self._exists("root"):
                self._issue(
                    "root",
                    subject={"common_name": f"{org} Root CA"},
                    issuer=None,
                    kind="ca",
                    path_len=1,
                )
            for ca, title in (("agency-ca", "Agency CA"), ("citizen-ca", "Citizen CA")):
                if not self._exists(ca):
                    self._issue(
                        ca,
                        subject={"common_name": f"{org} {title}"},
                        issuer="root",
                        kind="ca",
                        path_len=0,
                    )
            if not self._exists(TSA_LABEL):
                self._issue(
                    TSA_LABEL,
                    subject={"common_name": f"{org} Time-Stamping Authority"},
                    issuer="root",
                    kind="tsa",
                )

    def credential(self, label: str) -> Credential:
        """The current credential of ``label``; raises ``UnknownCredential``."""
        cached = self._credentials.get(label)
        if cached is not None:
            return cached
        try:
            raw = (self._dir / "credentials" / f"{check_key_id(label)}.json").read_bytes()
        except FileNotFoundError:
            raise UnknownCredential(label) from None
        cred = msgspec.json.decode(raw, type=Credential)
        self._credentials[label] = cred
        return cred

    def ca_certificate(self, ca: str) -> bytes:
        """DER of a CA's certificate (served at ``/pki/{ca}.crt``).  ``UnknownCredential``
        for a name that is not a CA."""
        if ca not in CA_NAMES:
            raise UnknownCredential(ca)
        return self.credential(ca).certificate

    @property
    def tsa(self) -> Credential:
        return self.credential(TSA_LABEL)

    def export_root_pem(self) -> str:
        armored: bytes = pem.armor("CERTIFICATE", self.credential("root").certificate)
        return armored.decode("ascii")

    # -- end entities -------------------------------------------------------------------

    def agency_seal(self, code: str, name: str) -> Credential:
        """The agency's seal certificate (O=CN=name, serialNumber=code, OU=code), issued
        by the agency CA on first use and again once revoked or near expiry."""
        label = f"agency-{_label_part(code, 'agency code')}"
        return self._ensure_leaf(
            label,
            subject={
                "country_name": self._settings.country,
                "organization_name": name,
                "organizational_unit_name": code,
                "common_name": name,
                "serial_number": code,
            },
            issuer="agency-ca",
        )

    def official(
        self, agency_code: str, agency_name: str, official_id: str, name: str
    ) -> Credential:
        """An agency official's signing certificate (CN=name, O=agency, OU=agency code,
        serialNumber=official_id), from the agency CA."""
        label = (
            f"official-{_label_part(agency_code, 'agency code')}-"
            f"{_label_part(official_id, 'official id')}"
        )
        return self._ensure_leaf(
            label,
            subject={
                "country_name": self._settings.country,
                "organization_name": agency_name,
                "organizational_unit_name": agency_code,
                "common_name": name,
                "serial_number": official_id,
            },
            issuer="agency-ca",
        )

    def citizen(self, personal_id: str, name: str) -> Credential:
        """A citizen's signing certificate (CN=name, serialNumber=personal id), from the
        citizen CA."""
        label = f"citizen-{_label_part(personal_id, 'personal id')}"
        return self._ensure_leaf(
            label,
            subject={
                "country_name": self._settings.country,
                "common_name": name,
                "serial_number": personal_id,
            },
            issuer="citizen-ca",
        )

    def _ensure_leaf(self, label: str, *, subject: dict[str, str], issuer: CaName) -> Credential:
        with self._lock:
            try:
                cred = self.credential(label)
            except UnknownCredential:
                return self._issue(label, subject=subject, issuer=issuer, kind="leaf")
            cert = asn1_x509.Certificate.load(cred.certificate)
            not_after: datetime = cert["tbs_certificate"]["validity"]["not_after"].native
            renew_at = not_after - timedelta(days=30)
            if (
                self.is_revoked(cred.certificate)
                or self._clock() >= renew_at
                or cert.subject != asn1_x509.Name.build(subject)
            ):
                return self._issue(label, subject=subject, issuer=issuer, kind="leaf")
            return cred

    # -- issuance -----------------------------------------------------------------------

    def _exists(self, label: str) -> bool:
        return (self._dir / "credentials" / f"{label}.json").exists()

    def _signature_algorithm(self, key_id: str) -> str:
        return signature_algorithm_for(self._keys.algorithm(key_id), "sha256")

    def _issue(
        self,
        label: str,
        *,
        subject: dict[str, str],
        issuer: CaName | None,
        kind: Literal["ca", "tsa", "leaf"],
        path_len: int | None = None,
    ) -> Credential:
        check_key_id(label)
        key_id = f"{label}.{secrets.token_hex(4)}"
        spki = asn1_keys.PublicKeyInfo.load(
            self._keys.generate(key_id, self._settings.key_algorithm)
        )
        now = self._clock()
        days = (
            self._settings.ca_validity_days if kind == "ca" else self._settings.leaf_validity_days
        )
        name = asn1_x509.Name.build(
            {
                "country_name": self._settings.country,
                "organization_name": self._settings.organization,
            }
            | subject
            if kind != "leaf"
            else subject
        )
        chain: tuple[bytes, ...] = ()
        if issuer is None:
            issuer_name, issuer_key_id, issuer_ski = name, key_id, spki.sha1
        else:
            ca = self.credential(issuer)
            ca_cert = asn1_x509.Certificate.load(ca.certificate)
            issuer_name, issuer_key_id = ca_cert.subject, ca.key_id
            issuer_ski = ca_cert.key_identifier
            chain = (ca.certificate, *ca.chain)
            not_after_ca: datetime = ca_cert["tbs_certificate"]["validity"]["not_after"].native
        not_after = now + timedelta(days=days)
        if issuer is not None:
            not_after = min(not_after, not_after_ca)

        extensions: list[dict[str, Any]] = [
            {"extn_id": "key_identifier", "critical": False, "extn_value": spki.sha1},
            {
                "extn_id": "authority_key_identifier",
                "critical": False,
                "extn_value": {"key_identifier": issuer_ski},
            },
        ]
        if kind == "ca":
            extensions += [
                {
                    "extn_id": "basic_constraints",
                    "critical": True,
                    "extn_value": {"ca": True, "path_len_constraint": path_len},
                },
                {
                    "extn_id": "key_usage",
                    "critical": True,
                    "extn_value": {"key_cert_sign", "crl_sign", "digital_signature"},
                },
            ]
        else:
            extensions += [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {
                    "extn_id": "key_usage",
                    "critical": True,
                    "extn_value": {"digital_signature", "non_repudiation"},
                },
            ]
        if kind == "tsa":
            extensions.append(
                {"extn_id": "extended_key_usage", "critical": True, "extn_value": ["time_stamping"]}
            )
        if issuer is not None:
            extensions += [
                {
                    "extn_id": "crl_distribution_points",
                    "critical": False,
                    "extn_value": [
                        {"distribution_point": {"full_name": [_uri(self.crl_url(issuer))]}}
                    ],
                },
                {
                    "extn_id": "authority_information_access",
                    "critical": False,
                    "extn_value": [
                        *(
                            [
                                {
                                    "access_method": "ocsp",
                                    "access_location": _uri(self.ocsp_url(issuer)),
                                }
                            ]
                            # Note: not in the TSA's own certificate: with it there,
                            # pyHanko's embedding of our time-stamp tokens sometimes
                            # takes seconds (asn1crypto re-tags the token's tree).
                            if self._settings.ocsp_in_aia and kind != "tsa"
                            else []
                        ),
                        {
                            "access_method": "ca_issuers",
                            "access_location": _uri(self.ca_url(issuer)),
                        },
                    ],
                },
            ]
        sig_alg = {"algorithm": self._signature_algorithm(issuer_key_id)}
        serial = secrets.randbits(126) | (1 << 125)
        tbs = asn1_x509.TbsCertificate(
            {
                "version": "v3",
                "serial_number": serial,
                "signature": sig_alg,
                "issuer": issuer_name,
                "validity": {
                    "not_before": _time(now - timedelta(minutes=5)),
                    "not_after": _time(not_after),
                },
                "subject": name,
                "subject_public_key_info": spki,
                "extensions": extensions,
            }
        )
        signature = self._keys.sign(issuer_key_id, tbs.dump(), sig_alg["algorithm"])  # type: ignore[arg-type]
        cert = asn1_x509.Certificate(
            {"tbs_certificate": tbs, "signature_algorithm": sig_alg, "signature_value": signature}
        )
        der = cert.dump()
        cred = Credential(label=label, key_id=key_id, certificate=der, chain=chain)
        ca_dir = self._dir / "issued" / (issuer or label)
        _write_atomic(ca_dir / f"{serial:x}.crt", der)
        _write_atomic(self._dir / "credentials" / f"{label}.json", msgspec.json.encode(cred))
        self._credentials[label] = cred
        return cred

    # -- revocation ---------------------------------------------------------------------

    def _issuer_of(self, cert: asn1_x509.Certificate) -> CaName:
        for ca in CA_NAMES:
            ca_cert = asn1_x509.Certificate.load(self.credential(ca).certificate)
            if cert.issuer == ca_cert.subject and cert.authority_key_identifier in (
                None,
                ca_cert.key_identifier,
            ):
                return ca
        raise SigningError("the certificate was not issued by this PKI")

    def _revocations(self, ca: str) -> list[dict[str, Any]]:
        try:
            entries: list[dict[str, Any]] = json.loads(
                (self._dir / "revoked" / f"{ca}.json").read_bytes()
            )
        except FileNotFoundError:
            return []
        return entries

    def revoke(self, certificate: bytes, reason: RevocationReason = "unspecified") -> None:
        """Revoke a certificate this PKI issued (DER); idempotent.  The next CRL lists it."""
        cert = asn1_x509.Certificate.load(certificate)
        with self._lock:
            ca = self._issuer_of(cert)
            if not (self._dir / "issued" / ca / f"{cert.serial_number:x}.crt").exists():
                raise SigningError("the certificate was not issued by this PKI")
            entries = self._revocations(ca)
            if any(e["serial"] == cert.serial_number for e in entries):
                return
            entries.append(
                {
                    "serial": cert.serial_number,
                    "revoked_at": self._clock().isoformat(),
                    "reason": reason,
                }
            )
            _write_atomic(self._dir / "revoked" / f"{ca}.json", json.dumps(entries).encode())
            self._crls.pop(ca, None)

    def is_revoked(self, certificate: bytes) -> bool:
        cert = asn1_x509.Certificate.load(certificate)
        if cert.self_signed != "no":
            return False
        ca = self._issuer_of(cert)
        return any(e["serial"] == cert.serial_number for e in self._revocations(ca))

    def crl(self, ca: str) -> bytes:
        """The CA's current CRL (DER), signed by the CA, served at ``/pki/{ca}.crl``.

        A CRL is re-signed after ``crl_refresh_seconds`` or when a revocation is added;
        ``nextUpdate`` is ``crl_validity_seconds`` after ``thisUpdate``."""
        if ca not in CA_NAMES:
            raise UnknownCredential(ca)
        now = self._clock()
        with self._lock:
            # Note: another process may revoke (it replaces the revocation file), so the
            # file's identity is part of the cache key: one stat, never a stale CRL.
            stamp = self._revocations_stamp(ca)
            cached = self._crls.get(ca)
            if (
                cached is not None
                and cached[2] == stamp
                and now - cached[1] < timedelta(seconds=self._settings.crl_refresh_seconds)
                and now >= cached[1]
            ):
                return cached[0]
            der = self._make_crl(ca, now)
            self._crls[ca] = (der, now, stamp)
            return der

    def _revocations_stamp(self, ca: str) -> tuple[int, int, int] | None:
        try:
            st = (self._dir / "revoked" / f"{ca}.json").stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _make_crl(self, ca: str, now: datetime) -> bytes:
        cred = self.credential(ca)
        ca_cert = asn1_x509.Certificate.load(cred.certificate)
        sig_alg = {"algorithm": self._signature_algorithm(cred.key_id)}
        revoked = [
            {
                "user_certificate": e["serial"],
                "revocation_date": _time(datetime.fromisoformat(e["revoked_at"])),
                "crl_entry_extensions": [{"extn_id": "crl_reason", "extn_value": e["reason"]}],
            }
            for e in self._revocations(ca)
        ]
        tbs_fields: dict[str, Any] = {
            "version": "v2",
            "signature": sig_alg,
            "issuer": ca_cert.subject,
            "this_update": _time(now - timedelta(seconds=1)),
            "next_update": _time(now + timedelta(seconds=self._settings.crl_validity_seconds)),
            "crl_extensions": [
                # Note: a CRL number must grow; microseconds since the epoch do.
                {"extn_id": "crl_number", "extn_value": int(now.timestamp() * 1_000_000)},
                {
                    "extn_id": "authority_key_identifier",
                    "extn_value": {"key_identifier": ca_cert.key_identifier},
                },
            ],
        }
        if revoked:
            # Note: RFC 5280 wants the list absent, not empty, when nothing is revoked.
            tbs_fields["revoked_certificates"] = revoked
        tbs = asn1_crl.TbsCertList(tbs_fields)
        signature = self._keys.sign(cred.key_id, tbs.dump(), sig_alg["algorithm"])  # type: ignore[arg-type]
        der: bytes = asn1_crl.CertificateList(
            {"tbs_cert_list": tbs, "signature_algorithm": sig_alg, "signature": signature}
        ).dump()
        return der

    def ocsp(self, ca: str, request: bytes) -> bytes:
        """The CA's OCSP answer (DER ``OCSPResponse``, RFC 6960) to a DER ``OCSPRequest``.

        Each requested certificate is ``good`` when this CA issued it and has not
        revoked it, ``revoked`` (time and reason) when it has, and ``unknown`` when the
        CA never issued that serial or the request names another issuer.  A request
        that does not parse gets ``malformedRequest``; a nonce is echoed.  Responses are
        signed by the CA itself (responder id by key hash) and valid for
        ``ocsp_validity_seconds``; revocations are read afresh on every request, so one
        made by another process shows at once.  ``UnknownCredential`` for a name that
        is not a CA."""
        if ca not in CA_NAMES:
            raise UnknownCredential(ca)
        try:
            req = asn1_ocsp.OCSPRequest.load(request)
            tbs = req["tbs_request"]
            singles = list(tbs["request_list"])
            nonce = next(
                (
                    e["extn_value"]
                    for e in (tbs["request_extensions"] or ())
                    if e["extn_id"].native == "nonce"
                ),
                None,
            )
            ids = [
                (s["req_cert"], s["req_cert"]["hash_algorithm"]["algorithm"].native)
                for s in singles
            ]
            serials = [cid["serial_number"].native for cid, _ in ids]
        except (ValueError, TypeError, KeyError):
            return _ocsp_error("malformed_request")
        if not 1 <= len(ids) <= 32:
            return _ocsp_error("malformed_request")
        cred = self.credential(ca)
        ca_cert = asn1_x509.Certificate.load(cred.certificate)
        revoked = {e["serial"]: e for e in self._revocations(ca)}
        # Note: DER GeneralizedTime without fractions (strict parsers reject them).
        now = self._clock().replace(microsecond=0)
        this_update = now - timedelta(seconds=1)
        next_update = now + timedelta(seconds=self._settings.ocsp_validity_seconds)
        responses = []
        for (cert_id, algorithm), serial in zip(ids, serials, strict=True):
            status: asn1_ocsp.CertStatus
            ours = algorithm in _OCSP_HASHES and (
                cert_id["issuer_name_hash"].native
                == hashlib.new(algorithm, ca_cert.subject.dump()).digest()
                and cert_id["issuer_key_hash"].native
                == hashlib.new(algorithm, ca_cert.public_key["public_key"].contents[1:]).digest()
            )
            if ours and serial in revoked:
                entry = revoked[serial]
                status = asn1_ocsp.CertStatus(
                    name="revoked",
                    value={
                        "revocation_time": datetime.fromisoformat(entry["revoked_at"]).replace(
                            microsecond=0
                        ),
                        "revocation_reason": entry["reason"],
                    },
                )
            elif ours and (self._dir / "issued" / ca / f"{serial:x}.crt").exists():
                status = asn1_ocsp.CertStatus(name="good", value=asn1_core.Null())
            else:
                status = asn1_ocsp.CertStatus(name="unknown", value=asn1_core.Null())
            responses.append(
                {
                    "cert_id": cert_id,
                    "cert_status": status,
                    "this_update": this_update,
                    "next_update": next_update,
                }
            )
        data: dict[str, Any] = {
            "responder_id": asn1_ocsp.ResponderId(name="by_key", value=ca_cert.public_key.sha1),
            "produced_at": now,
            "responses": responses,
        }
        if nonce is not None:
            data["response_extensions"] = [{"extn_id": "nonce", "extn_value": nonce}]
        tbs_data = asn1_ocsp.ResponseData(data)
        sig_alg = {"algorithm": self._signature_algorithm(cred.key_id)}
        signature = self._keys.sign(cred.key_id, tbs_data.dump(), sig_alg["algorithm"])  # type: ignore[arg-type]
        basic = asn1_ocsp.BasicOCSPResponse(
            {"tbs_response_data": tbs_data, "signature_algorithm": sig_alg, "signature": signature}
        )
        der: bytes = asn1_ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
            }
        ).dump()
        return der

    def validation_material(self) -> ValidationMaterial:
        """The root as trust anchor, the CA and TSA certificates and fresh CRLs of every CA:
        everything needed to validate (and embed for B-LT) without fetching."""
        return ValidationMaterial(
            trust_roots=(self.credential("root").certificate,),
            certificates=(
                *tuple(self.credential(ca).certificate for ca in CA_NAMES[1:]),
                self.tsa.certificate,
            ),
            crls=tuple(self.crl(ca) for ca in CA_NAMES),
        )


_OCSP_HASHES = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512"})


def _ocsp_error(status: str) -> bytes:
    der: bytes = asn1_ocsp.OCSPResponse({"response_status": status}).dump()
    return der


def fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _write_atomic(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def certificates_pem(ders: Iterable[bytes]) -> str:
    return "".join(pem.armor("CERTIFICATE", d).decode("ascii") for d in ders)
