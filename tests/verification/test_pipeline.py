"""The verdicts: every case with its verdict and reason code."""

from __future__ import annotations

import pytest

from signing import PADES_LEVELS, DemoPki, PadesLevel, Sealer
from signing.models import Credential
from tests.verification import pdfs
from tests.verification.conftest import AGENCY, PDF, make_verifier, revocation_for
from verification import IssuerStatus, SandboxPool, TrustRegistry, VerificationReport, Verifier


@pytest.fixture(scope="module")
async def sealed(sealer: Sealer, agency: Credential) -> dict[PadesLevel, bytes]:
    return {level: await sealer.seal(PDF, agency, level=level) for level in PADES_LEVELS}


def codes(report: VerificationReport) -> set[str]:
    return set(report.codes())


@pytest.mark.parametrize("level", PADES_LEVELS)
async def test_valid_seal_passes_at_each_level(
    level: PadesLevel, sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(sealed[level], doc_type="birth_certificate")

    assert report.verdict == "passed", report.reasons
    assert codes(report) == {"signature.intact", "issuer.verified"}
    (sig,) = report.signatures
    assert sig.level == level
    assert sig.issuer_agency == AGENCY[0]
    assert sig.signer.common_name == AGENCY[1] and sig.signer.serial_number == AGENCY[0]
    assert len(sig.trust_path) == 3 and "Root CA" in sig.trust_path[0]
    assert sig.revocation == "good" and sig.intact and sig.trusted
    assert (sig.timestamp_time is not None) == (level != "B-B")
    if level in ("B-B", "B-T"):
        assert (sig.coverage, sig.modification_level) == ("entire_file", "NONE")
    else:
        assert (sig.coverage, sig.modification_level) == ("entire_revision", "LTA_UPDATES")
    assert report.sha256 and report.registry_version == 1 and report.warnings == ()


async def test_citizen_then_agency_both_reported(
    sealer: Sealer, citizen: Credential, agency: Credential, verifier: Verifier
) -> None:
    by_citizen = await sealer.seal(PDF, citizen, level="B-T")
    both = await sealer.seal(by_citizen, agency, level="B-LT")

    report = await verifier.verify(both, doc_type="birth_certificate")

    assert report.verdict == "passed", report.reasons
    first, second = report.signatures
    assert first.signer.serial_number == "001099012345" and first.issuer_agency is None
    assert first.coverage == "entire_revision" and first.modification_level == "FORM_FILLING"
    assert second.issuer_agency == AGENCY[0] and second.level == "B-LT"
    assert [r.signature for r in report.reasons if r.code == "issuer.verified"] == [1]


async def test_bytes_flipped_in_signed_range_fail(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(pdfs.flip_in_signed_range(sealed["B-T"]))

    assert report.verdict == "failed"
    assert "signature.invalid" in codes(report)
    assert not report.signatures[0].intact


async def test_content_replaced_after_signing_fails(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(pdfs.replace_page_content(sealed["B-LT"]))

    assert report.verdict == "failed"
    assert "signature.modified_after_signing" in codes(report)
    assert report.signatures[0].modification_level == "OTHER"


async def test_page_appended_after_signing_fails(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(pdfs.append_page(sealed["B-B"]), doc_type="birth_certificate")

    assert report.verdict == "failed"
    assert "signature.modified_after_signing" in codes(report)
    assert report.signatures[0].coverage == "entire_revision"


async def test_citizen_posing_as_agency_is_unknown_issuer(
    pki: DemoPki, sealer: Sealer, verifier: Verifier
) -> None:
    impostor = pki.citizen(AGENCY[0].replace(".", ""), AGENCY[1])
    signed = await sealer.seal(PDF, impostor, level="B-T")

    report = await verifier.verify(signed, doc_type="birth_certificate")

    assert report.verdict == "failed"
    assert "issuer.unknown" in codes(report)
    assert report.signatures[0].issuer_agency is None


async def test_agency_outside_its_document_types_fails(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(sealed["B-T"], doc_type="driving_licence")

    assert report.verdict == "failed"
    assert "issuer.not_authorized_for_type" in codes(report)


async def test_unknown_document_type_fails(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(sealed["B-T"], doc_type="spaceship_licence")

    assert report.verdict == "failed" and "document.type_unknown" in codes(report)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (IssuerStatus(state="revoked", reason="cấp sai"), "document.revoked"),
        (IssuerStatus(state="superseded", superseded_by="0190-new"), "document.superseded"),
    ],
)
async def test_issuer_status_fails_a_valid_seal(
    status: IssuerStatus, code: str, sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(
        sealed["B-LT"], doc_type="birth_certificate", issuer_status=status
    )

    assert report.verdict == "failed"
    assert report.reasons[0].code == code
    assert report.signatures[0].verdict == "passed"


async def test_vault_hash_mismatch_fails(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(sealed["B-B"], expected_sha256="00" * 32)

    assert report.verdict == "failed" and "document.hash_mismatch" in codes(report)


async def test_unsigned_pdf_is_indeterminate(verifier: Verifier) -> None:
    report = await verifier.verify(PDF)

    assert report.verdict == "indeterminate"
    assert codes(report) == {"document.unsigned"}
    assert "nobody vouches" in report.reasons[0].message_en
    assert report.reasons[0].message_vi


@pytest.mark.parametrize("blob", [b"not a pdf at all", b"", PDF[: len(PDF) // 2]])
async def test_non_pdf_and_truncated_pdf_are_unreadable(blob: bytes, verifier: Verifier) -> None:
    report = await verifier.verify(blob)

    assert report.verdict == "indeterminate"
    assert codes(report) == {"pdf.unreadable"}


async def test_truncated_signed_pdf_is_not_passed(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(sealed["B-LT"][:-200])

    assert report.verdict != "passed"


async def test_signer_revoked_before_signing_fails(
    pki: DemoPki, sealer: Sealer, verifier: Verifier
) -> None:
    doomed = pki.agency_seal("000.00.09.Z99", "Cơ quan bị thu hồi")
    pki.revoke(doomed.certificate, "key_compromise")
    signed = await sealer.seal(PDF, doomed, level="B-T")

    report = await verifier.verify(signed)

    assert report.verdict == "failed"
    assert "cert.revoked" in codes(report)
    assert report.signatures[0].revocation == "revoked"


@pytest.mark.parametrize(
    ("policy", "verdict", "severity"),
    [("soft-fail", "indeterminate", "indeterminate"), ("hard-fail", "failed", "error")],
)
async def test_revocation_source_unreachable(
    policy: str,
    verdict: str,
    severity: str,
    sealed: dict[PadesLevel, bytes],
    pool: SandboxPool,
    registry: TrustRegistry,
    pki: DemoPki,
) -> None:
    source = revocation_for(pki)
    source.unreachable = True
    offline = make_verifier(pool, registry, source, revocation_policy=policy)

    report = await offline.verify(sealed["B-T"], doc_type="birth_certificate")
    with_embedded = await offline.verify(sealed["B-LT"], doc_type="birth_certificate")

    assert report.verdict == verdict
    (finding,) = [r for r in report.reasons if r.code == "revocation.unavailable"]
    assert finding.severity == severity
    assert report.signatures[0].revocation == "unavailable"
    # Note: B-LT carries its own CRLs in the DSS; it needs no source.
    assert with_embedded.verdict == "passed", with_embedded.reasons
    assert source.requests


async def test_active_content_is_a_warning_also_when_hex_escaped(verifier: Verifier) -> None:
    report = await verifier.verify(pdfs.with_active_content())
    attachment = await verifier.verify(pdfs.with_embedded_file())

    assert report.verdict == "indeterminate"
    (warning,) = report.warnings
    assert warning.code == "pdf.active_content" and warning.severity == "warning"
    assert {"/JavaScript", "/JS", "/OpenAction"} <= set((warning.detail or "").split(", "))
    assert "/EmbeddedFiles" in (attachment.warnings[0].detail or "")


async def test_signed_pdf_with_active_content_passes_with_warning(
    sealer: Sealer, agency: Credential, verifier: Verifier
) -> None:
    signed = await sealer.seal(pdfs.with_active_content(), agency, level="B-B")

    report = await verifier.verify(signed, doc_type="judicial_record")

    assert report.verdict == "passed"
    assert [w.code for w in report.warnings] == ["pdf.active_content"]


async def test_a_self_signed_signer_is_untrusted(verifier: Verifier) -> None:
    """A signer certificate that is its own issuer, naming the registered agency."""
    from datetime import UTC, datetime, timedelta

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.sign import signers

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, AGENCY[1]),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, AGENCY[0]),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), True
        )
        .sign(key, hashes.SHA256())
    )
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=None,
    )
    from io import BytesIO

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    out = BytesIO()
    await signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="Forged"), signer
    ).async_sign_pdf(IncrementalPdfFileWriter(BytesIO(PDF)), output=out)

    report = await verifier.verify(out.getvalue(), doc_type="birth_certificate")

    assert report.verdict == "indeterminate", report.reasons
    assert report.codes()[0] == "chain.untrusted", report.reasons
    assert report.signatures[0].issuer_agency is None and report.signatures[0].intact
