"""The citizen's remote signature end to end: start (prepare the PDF), authorize with PIN
and code, signHash, embed -- checked by pyHanko, pdfsig (NSS) and qpdf."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore

from kho.samples import make_pdf
from signing import DemoPki, LocalTimeStamper, TimeStampAuthority
from signing.csc import (
    CitizenLevel,
    CitizenSigning,
    CscClient,
    CscEndpoints,
    CscService,
    Enrollment,
    FileCredentialStore,
    InProcessTransport,
    InvalidPin,
    InvalidSad,
    SigningStateInvalid,
)
from signing.csc.keys import DigestSigner
from signing.keys.api import KeyAlgorithm, SignatureAlgorithm
from signing.models import Credential
from signing.pades import validation_context
from tests.signing.conftest import FakeClock
from vault.keys import LocalKeyRing

USER = "owner-0002"
PIN = "730154"
PDF = make_pdf(["Don de nghi cap ban sao", "Application form"], title="Kho CSC test")


@pytest.fixture
async def enrolled(csc_service: CscService, citizen: Credential) -> Enrollment:
    return await csc_service.enroll(USER, citizen, PIN)


@pytest.fixture
def client(csc_service: CscService) -> CscClient:
    return CscClient(InProcessTransport(CscEndpoints(csc_service), USER))


@pytest.fixture(scope="module")
def citizen_signing(pki: DemoPki, tsa: TimeStampAuthority) -> CitizenSigning:
    return CitizenSigning(
        timestamper=LocalTimeStamper(tsa), validation_material=pki.validation_material
    )


async def sign_pdf(
    signing: CitizenSigning,
    client: CscClient,
    service: CscService,
    enrollment: Enrollment,
    clock: FakeClock,
    pdf: bytes = PDF,
    level: CitizenLevel = "B-T",
) -> bytes:
    started = await signing.start(
        client, enrollment.credential_id, pdf, level=level, reason="Nộp hồ sơ", location="Hà Nội"
    )
    clock.advance(30)
    code = await service.current_otp(enrollment.credential_id)
    return await signing.finish(client, started.state, started.prepared_pdf, pin=PIN, otp=code)


@pytest.mark.parametrize("level", ["B-T", "B-LT"])
async def test_citizen_signature_validates_everywhere(
    level: CitizenLevel,
    citizen_signing: CitizenSigning,
    client: CscClient,
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
    pki: DemoPki,
    citizen: Credential,
    nssdb: str,
    tmp_path: Path,
) -> None:
    signed = await sign_pdf(citizen_signing, client, csc_service, enrolled, csc_clock, level=level)

    reader = PdfFileReader(BytesIO(signed))
    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0], validation_context(pki.validation_material())
    )
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.signing_cert.dump() == citizen.certificate
    assert status.signing_cert.subject.native["serial_number"] == "001099012345"
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    assert signed[: len(PDF)] == PDF
    if level == "B-LT":
        root = asn1_x509.Certificate.load(pki.ca_certificate("root"))
        dss_only = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "require"}
        )
        ltv = await async_validate_pdf_signature(reader.embedded_signatures[0], dss_only)
        assert ltv.bottom_line and ltv.revocation_details is None

    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    out = subprocess.run(
        ["pdfsig", "-nssdir", nssdb, path], capture_output=True, text=True, check=False
    ).stdout
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out
    check = subprocess.run(["qpdf", "--check", path], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


async def test_wrong_pin_at_finish_stores_nothing_and_the_state_can_be_retried(
    citizen_signing: CitizenSigning,
    client: CscClient,
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
) -> None:
    started = await citizen_signing.start(client, enrolled.credential_id, PDF, level="B-B")
    csc_clock.advance(30)
    code = await csc_service.current_otp(enrolled.credential_id)
    with pytest.raises(InvalidPin) as err:
        await citizen_signing.finish(
            client, started.state, started.prepared_pdf, pin="000000", otp=code
        )
    assert err.value.remaining_attempts == 4

    csc_clock.advance(30)
    code = await csc_service.current_otp(enrolled.credential_id)
    signed = await citizen_signing.finish(
        client, started.state, started.prepared_pdf, pin=PIN, otp=code
    )
    assert signed.startswith(PDF)


async def test_state_must_match_the_prepared_pdf(
    citizen_signing: CitizenSigning, client: CscClient, enrolled: Enrollment
) -> None:
    first = await citizen_signing.start(client, enrolled.credential_id, PDF, level="B-B")
    other = await citizen_signing.start(
        client, enrolled.credential_id, make_pdf(["other"]), level="B-B"
    )

    with pytest.raises(SigningStateInvalid):
        await citizen_signing.finish(client, first.state, other.prepared_pdf, pin=PIN, otp="000000")
    with pytest.raises(SigningStateInvalid):
        await citizen_signing.finish(client, b"garbage", first.prepared_pdf, pin=PIN, otp="0")


async def test_sad_of_one_document_does_not_sign_another(
    citizen_signing: CitizenSigning,
    client: CscClient,
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
) -> None:
    first = await citizen_signing.start(client, enrolled.credential_id, PDF, level="B-B")
    other = await citizen_signing.start(
        client, enrolled.credential_id, make_pdf(["other"]), level="B-B"
    )
    csc_clock.advance(30)
    sad = await client.authorize(
        enrolled.credential_id,
        list(first.hashes),
        first.hash_algorithm_oid,
        pin=PIN,
        otp=await csc_service.current_otp(enrolled.credential_id),
    )

    with pytest.raises(InvalidSad):
        await client.sign_hash(
            enrolled.credential_id,
            sad,
            list(other.hashes),
            other.hash_algorithm_oid,
            "1.2.840.113549.1.1.11",
        )


class OnlySignDigest:
    """A key store that can do nothing but name algorithms and sign digests: the whole
    flow works with it, so no other key operation (let alone export) is ever needed."""

    def __init__(self, inner: DigestSigner) -> None:
        self._inner = inner
        self.calls: list[str] = []

    def algorithm(self, key_id: str) -> KeyAlgorithm:
        return self._inner.algorithm(key_id)

    def sign_digest(self, key_id: str, digest: bytes, algorithm: SignatureAlgorithm) -> bytes:
        self.calls.append(key_id)
        return self._inner.sign_digest(key_id, digest, algorithm)


async def test_flow_needs_nothing_from_the_key_store_but_digest_signatures(
    citizen_signing: CitizenSigning,
    csc_dir: Path,
    digest_keys: DigestSigner,
    citizen: Credential,
) -> None:
    keys = OnlySignDigest(digest_keys)
    clock = FakeClock()
    service = CscService(
        FileCredentialStore(csc_dir), keys, LocalKeyRing({"x": b"x" * 32}, "x"), clock=clock
    )
    enrollment = await service.enroll(USER, citizen, PIN)
    client = CscClient(InProcessTransport(CscEndpoints(service), USER))

    signed = await sign_pdf(citizen_signing, client, service, enrollment, clock, level="B-B")

    assert keys.calls == [citizen.key_id]
    assert signed.startswith(PDF)
