"""PAdES seals at every level, checked by pyHanko, poppler's pdfsig (NSS) and qpdf."""

from __future__ import annotations

import subprocess
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import PdfSignatureStatus
from pypdf import PdfReader, PdfWriter

from kho.samples import make_pdf
from signing import (
    PADES_LEVELS,
    DemoPki,
    PadesLevel,
    PdfEncrypted,
    PdfLocked,
    PdfMalformed,
    Sealer,
    TimestampUnavailable,
    VisibleStamp,
)
from signing.models import Credential
from signing.pades import StoreSigner, validation_context

PDF = make_pdf(["Giay khai sinh", "Birth certificate"], title="Kho test")


@pytest.fixture(scope="module")
async def sealed(sealer: Sealer, agency: Credential) -> dict[PadesLevel, bytes]:
    return {
        level: await sealer.seal(PDF, agency, level=level, reason="Cấp bản sao", location="Hà Nội")
        for level in PADES_LEVELS
    }


async def _status(pdf: bytes, pki: DemoPki, index: int = 0) -> PdfSignatureStatus:
    reader = PdfFileReader(BytesIO(pdf))
    return await async_validate_pdf_signature(
        reader.embedded_signatures[index], validation_context(pki.validation_material())
    )


@pytest.mark.parametrize("level", PADES_LEVELS)
async def test_pyhanko_reports_intact_valid_trusted_at_level(
    level: PadesLevel, sealed: dict[PadesLevel, bytes], pki: DemoPki
) -> None:
    signed = sealed[level]
    reader = PdfFileReader(BytesIO(signed))

    status = await _status(signed, pki)

    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.signing_cert.subject.native["common_name"] == "Sở Tư pháp thành phố Hà Nội"
    assert (status.timestamp_validity is not None) == (level != "B-B")
    if status.timestamp_validity is not None:
        assert status.timestamp_validity.valid and status.timestamp_validity.trusted
    if level in ("B-LT", "B-LTA"):
        dss = reader.root["/DSS"]
        assert len(dss["/CRLs"]) >= 2 and len(dss["/Certs"]) >= 2
        # Note: validate with the root and what the DSS holds, nothing else, revocation
        # checks required: this passes only if the embedded CRLs cover the whole chain.
        root = asn1_x509.Certificate.load(pki.ca_certificate("root"))
        dss_only = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "require"}
        )
        ltv = await async_validate_pdf_signature(reader.embedded_signatures[0], dss_only)
        assert ltv.bottom_line and ltv.revocation_details is None
    else:
        assert "/DSS" not in reader.root
    doc_timestamps = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    assert len(doc_timestamps) == (1 if level == "B-LTA" else 0)
    if doc_timestamps:
        ts_status = await async_validate_pdf_timestamp(
            doc_timestamps[0], validation_context(pki.validation_material())
        )
        assert ts_status.intact and ts_status.valid and ts_status.trusted


@pytest.mark.parametrize("level", PADES_LEVELS)
def test_signed_file_is_an_incremental_update_qpdf_accepts(
    level: PadesLevel, sealed: dict[PadesLevel, bytes], tmp_path: Path
) -> None:
    signed = sealed[level]
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)

    check = subprocess.run(["qpdf", "--check", path], capture_output=True, text=True)

    assert signed[: len(PDF)] == PDF
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors found" in check.stdout


@pytest.mark.parametrize("level", PADES_LEVELS)
def test_pdfsig_finds_signature_valid_and_certificate_trusted(
    level: PadesLevel, sealed: dict[PadesLevel, bytes], nssdb: str, tmp_path: Path
) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(sealed[level])

    out = subprocess.run(
        ["pdfsig", "-nssdir", nssdb, path], capture_output=True, text=True, check=False
    ).stdout

    first = out.split("Signature #2")[0]
    assert "Signature Validation: Signature is Valid." in first, out
    assert "Certificate Validation: Certificate is Trusted." in first, out


async def test_a_flipped_byte_in_the_signed_range_is_not_intact(
    sealed: dict[PadesLevel, bytes], pki: DemoPki
) -> None:
    signed = bytearray(sealed["B-T"])
    position = PDF.index(b"Giay khai sinh")
    signed[position] ^= 0x01

    status = await _status(bytes(signed), pki)

    assert not status.intact and not status.bottom_line


async def test_encrypted_pdf_is_refused(sealer: Sealer, agency: Credential) -> None:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(PDF)))
    writer.encrypt("user", "owner", algorithm="AES-256")
    out = BytesIO()
    writer.write(out)

    with pytest.raises(PdfEncrypted):
        await sealer.seal(out.getvalue(), agency, level="B-B")


@pytest.mark.parametrize(
    "data",
    [b"", b"not a pdf at all", PDF[: len(PDF) // 2], b"%PDF-1.7\n%%EOF\n"],
    ids=["empty", "text", "truncated", "no-objects"],
)
async def test_broken_pdf_is_refused(data: bytes, sealer: Sealer, agency: Credential) -> None:
    with pytest.raises(PdfMalformed) as info:
        await sealer.seal(data, agency, level="B-B")
    assert info.value.reason


async def test_certification_forbidding_changes_is_refused(
    sealer: Sealer, pki: DemoPki, agency: Credential
) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(PDF))
    meta = signers.PdfSignatureMetadata(
        field_name="Author",
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    out = BytesIO()
    await signers.PdfSigner(meta, StoreSigner(pki.key_store, agency)).async_sign_pdf(
        writer, output=out
    )

    with pytest.raises(PdfLocked) as info:
        await sealer.seal(out.getvalue(), agency, level="B-B")
    assert info.value.permission


async def test_timestamp_levels_need_a_timestamper(pki: DemoPki, agency: Credential) -> None:
    sealer = Sealer(pki.key_store)

    with pytest.raises(TimestampUnavailable):
        await sealer.seal(PDF, agency, level="B-T")
    assert (await sealer.seal(PDF, agency, level="B-B")).startswith(PDF)


async def test_second_seal_keeps_the_first_signature(
    sealer: Sealer, sealed: dict[PadesLevel, bytes], pki: DemoPki, agency: Credential
) -> None:
    twice = await sealer.seal(sealed["B-T"], agency, level="B-T")

    first = await _status(twice, pki, 0)
    second = await _status(twice, pki, 1)

    assert twice.startswith(sealed["B-T"])
    assert first.bottom_line and second.bottom_line


async def test_visible_stamp_with_vietnamese_text_validates(
    sealer: Sealer, pki: DemoPki, agency: Credential, tmp_path: Path
) -> None:
    stamp = VisibleStamp(verification_url="http://kho.test/v/abc")

    signed = await sealer.seal(PDF, agency, level="B-T", stamp=stamp)
    (tmp_path / "stamp.pdf").write_bytes(signed)

    status = await _status(signed, pki)
    assert status.bottom_line
    assert b"/FontFile2" in signed or b"/FontFile3" in signed
    check = subprocess.run(["qpdf", "--check", tmp_path / "stamp.pdf"], capture_output=True)
    assert check.returncode == 0


async def test_ecdsa_p256_pki_seals_at_b_lt(tmp_path: Path) -> None:
    from signing import LocalTimeStamper, PkiSettings, TimeStampAuthority
    from vault.keys import LocalKeyRing

    ring = LocalKeyRing({"t": b"e" * 32}, "t")
    pki = DemoPki.open(
        tmp_path, ring, PkiSettings(base_url="http://kho.test", key_algorithm="ecdsa-p256")
    )
    ec_sealer = Sealer(
        pki.key_store,
        timestamper=LocalTimeStamper(TimeStampAuthority(pki.key_store, pki.tsa)),
        validation_material=pki.validation_material,
    )
    cred = pki.citizen("001099012345", "Nguyễn Văn An")

    signed = await ec_sealer.seal(PDF, cred, level="B-LT")

    status = await _status(signed, pki)
    assert status.bottom_line and status.timestamp_validity is not None
    assert status.md_algorithm == "sha256"
    assert status.pkcs7_signature_mechanism.endswith("ecdsa")


@pytest.mark.parametrize("level", ["B-B", "B-T"])
async def test_a_long_agency_name_still_fits_the_reserved_space(
    sealer: Sealer, pki: DemoPki, level: PadesLevel
) -> None:
    # Regression: the signing certificate was listed twice in the CMS, so a long subject
    # overflowed the space reserved for the signature at B-B.
    credential = pki.agency_seal(
        "UBND-PBD", "Ủy ban nhân dân phường Phúc Xá, quận Ba Đình, thành phố Hà Nội"
    )
    signed = await sealer.seal(PDF, credential, level=level)
    status = await _status(signed, pki)
    assert status.intact and status.valid and status.trusted
    sig = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
    certs = sig.signed_data["certificates"]
    assert len({c.chosen.dump() for c in certs}) == len(certs)  # no duplicates
