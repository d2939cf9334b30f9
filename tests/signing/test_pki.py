"""The demo PKI: hierarchy, URLs, CRLs, revocation, persistence, keys at rest."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing import CA_NAMES, DemoPki, PkiSettings, SoftwareKeyStore, UnknownCredential
from signing.models import Credential
from vault.keys import LocalKeyRing

from .conftest import BASE_URL


def _cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def test_chain_runs_from_leaf_to_root(pki: DemoPki, agency: Credential) -> None:
    leaf, *chain = [_cert(agency.certificate), *map(_cert, agency.chain)]

    for child, parent in zip([leaf, *chain], chain, strict=False):
        child.verify_directly_issued_by(parent)
    root = chain[-1]
    root.verify_directly_issued_by(root)
    assert root == _cert(pki.ca_certificate("root"))
    assert pki.export_root_pem().startswith("-----BEGIN CERTIFICATE-----")


def test_agency_seal_subject_and_urls(agency: Credential) -> None:
    cert = _cert(agency.certificate)

    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "Sở Tư pháp thành phố Hà Nội"
    )
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        "Sở Tư pháp thành phố Hà Nội"
    )
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "000.00.01.H29"
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for n in cdp[0].full_name or []] == [f"{BASE_URL}/pki/agency-ca.crl"]
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [f"{BASE_URL}/pki/agency-ca.crt"]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.content_commitment and usage.digital_signature and not usage.key_cert_sign


def test_citizen_and_official_certificates(pki: DemoPki) -> None:
    citizen = _cert(pki.citizen("001099012345", "Nguyễn Thị Bình").certificate)
    official = _cert(pki.official("H29", "Sở Tư pháp", "CB-0042", "Trần Văn Cường").certificate)

    assert citizen.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "001099012345"
    assert citizen.issuer == _cert(pki.ca_certificate("citizen-ca")).subject
    assert official.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Trần Văn Cường"
    assert official.issuer == _cert(pki.ca_certificate("agency-ca")).subject


def test_tsa_certificate_is_for_time_stamping_only(pki: DemoPki) -> None:
    eku = _cert(pki.tsa.certificate).extensions.get_extension_for_class(x509.ExtendedKeyUsage)

    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_revoked_serial_is_listed_and_a_new_certificate_is_issued(
    pki_dir: Path, keyring: LocalKeyRing
) -> None:
    pki = DemoPki.open(pki_dir, keyring, PkiSettings(base_url=BASE_URL))
    old = pki.citizen("079200000001", "Lê Văn Dũng")

    pki.revoke(old.certificate, "key_compromise")
    pki.revoke(old.certificate, "key_compromise")
    new = pki.citizen("079200000001", "Lê Văn Dũng")

    crl = x509.load_der_x509_crl(pki.crl("citizen-ca"))
    ca = _cert(pki.ca_certificate("citizen-ca"))
    assert crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None and crl.next_update_utc > crl.last_update_utc
    entry = crl.get_revoked_certificate_by_serial_number(_cert(old.certificate).serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    assert pki.is_revoked(old.certificate) and not pki.is_revoked(new.certificate)
    assert new.key_id != old.key_id


def test_every_ca_publishes_a_signed_crl(pki: DemoPki) -> None:
    for ca in CA_NAMES:
        crl = x509.load_der_x509_crl(pki.crl(ca))
        assert crl.is_signature_valid(_cert(pki.ca_certificate(ca)).public_key())  # type: ignore[arg-type]
    with pytest.raises(UnknownCredential):
        pki.crl("../etc")


def test_reopening_loads_instead_of_creating(
    pki: DemoPki, pki_dir: Path, keyring: LocalKeyRing, agency: Credential
) -> None:
    again = DemoPki.open(pki_dir, keyring, PkiSettings(base_url=BASE_URL))

    assert again.ca_certificate("root") == pki.ca_certificate("root")
    assert again.agency_seal("000.00.01.H29", "Sở Tư pháp thành phố Hà Nội") == agency


def test_no_private_key_is_stored_in_clear(tmp_path: Path) -> None:
    ring = LocalKeyRing({"t": b"c" * 32}, "t")
    pki = DemoPki.open(tmp_path, ring, PkiSettings(base_url=BASE_URL))
    pki.agency_seal("X1", "Agency X")
    store = pki.key_store
    assert isinstance(store, SoftwareKeyStore)
    blobs = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())

    # Note: reaching into the cache is the only way to see a key; this test needs it.
    keys = [key for _, key in store._cache.values()]
    assert len(keys) == 5
    for key in keys:
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        pem_lines = base64.encodebytes(der).splitlines()
        # Note: the head of a PKCS#8 key holds the public modulus, which certificates
        # carry too; the tail holds private values only.
        assert der[-64:] not in blobs
        assert all(line not in blobs for line in pem_lines[-4:-1])
        assert base64.b64encode(der) not in blobs and der.hex().encode()[-128:] not in blobs
    assert b"PRIVATE KEY" not in blobs


def test_a_revocation_made_by_another_process_reaches_this_ones_crl(
    pki_dir: Path, keyring: LocalKeyRing
) -> None:
    settings = PkiSettings(base_url=BASE_URL, ocsp_in_aia=False)
    here, there = DemoPki.open(pki_dir, keyring, settings), DemoPki.open(pki_dir, keyring, settings)
    cred = here.official("CRL-X", "UBND", "CB-9", "Lê Văn Cường")
    serial = _cert(cred.certificate).serial_number
    before = x509.load_der_x509_crl(here.crl("agency-ca"))  # now cached in this process
    assert before.get_revoked_certificate_by_serial_number(serial) is None

    there.revoke(cred.certificate, "key_compromise")  # the other process

    after = x509.load_der_x509_crl(here.crl("agency-ca"))
    assert after.get_revoked_certificate_by_serial_number(serial) is not None
