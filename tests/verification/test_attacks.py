"""The known attacks on signed PDFs (pdf-insecurity.org), each made from a real seal of
the demo agency: none may pass, each gets its verdict and a stable reason code."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign.fields import MDPPerm

from signing import DemoPki, PadesLevel, Sealer, VisibleStamp
from signing.models import Credential
from signing.pades import seal
from tests.verification import attacks
from tests.verification.conftest import PDF
from verification import VerificationReport, Verifier

DOC_TYPE = "birth_certificate"


def codes(report: VerificationReport) -> list[str]:
    return list(report.codes())


@pytest.fixture(scope="module")
async def sealed(sealer: Sealer, agency: Credential) -> dict[PadesLevel, bytes]:
    return {level: await sealer.seal(PDF, agency, level=level) for level in ("B-T", "B-LT")}


@pytest.fixture(scope="module")
async def shadow_signed(sealer: Sealer, agency: Credential) -> bytes:
    """The attacker's prepared document, sealed by the honest agency."""
    return await sealer.seal(attacks.shadow_prepared(), agency, level="B-T")


@pytest.fixture(scope="module")
async def certified(sealer: Sealer, agency: Credential) -> dict[MDPPerm, bytes]:
    signer = sealer.signer(agency)
    return {
        perm: await attacks.certify(attacks.shadow_prepared(), signer, perm)
        for perm in (MDPPerm.NO_CHANGES, MDPPerm.FILL_FORMS, MDPPerm.ANNOTATE)
    }


async def test_the_untouched_files_pass(
    sealed: dict[PadesLevel, bytes],
    shadow_signed: bytes,
    certified: dict[MDPPerm, bytes],
    verifier: Verifier,
) -> None:
    """The control: every attack below starts from a file that passes."""
    for pdf in (*sealed.values(), shadow_signed, *certified.values()):
        report = await verifier.verify(pdf, doc_type=DOC_TYPE)
        assert report.verdict == "passed", report.reasons


# -- incremental saving and signature wrapping -------------------------------------------

Attack = Callable[[bytes], bytes]

STRUCTURAL: list[tuple[str, Attack, str, str]] = [
    ("isa-full-revision", attacks.isa_full_revision, "failed", "signature.modified_after_signing"),
    ("isa-no-xref", attacks.isa_objects_without_xref, "failed", "pdf.data_after_eof"),
    ("isa-no-trailer", attacks.isa_xref_without_trailer, "indeterminate", "pdf.malformed"),
    ("isa-byte-range-stretched", attacks.isa_byte_range_stretched, "failed", "signature.invalid"),
    ("swa-relocated", attacks.swa_relocated_second_part, "indeterminate", "pdf.malformed"),
    ("swa-object-in-gap", attacks.swa_object_in_gap, "indeterminate", "pdf.malformed"),
    (
        "swa-object-in-gap-comment",
        attacks.swa_object_in_gap_comment,
        "indeterminate",
        "signature.malformed",
    ),
]


@pytest.mark.parametrize("level", ["B-T", "B-LT"])
@pytest.mark.parametrize(
    ("attack", "verdict", "code"),
    [pytest.param(a, v, c, id=name) for name, a, v, c in STRUCTURAL],
)
async def test_incremental_saving_and_wrapping(
    level: PadesLevel,
    attack: Attack,
    verdict: str,
    code: str,
    sealed: dict[PadesLevel, bytes],
    verifier: Verifier,
) -> None:
    report = await verifier.verify(attack(sealed[level]), doc_type=DOC_TYPE)

    assert report.verdict == verdict, report.reasons
    assert codes(report)[0] == code, report.reasons


async def test_a_bare_object_after_eof_is_seen_even_behind_a_second_eof(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    signed = sealed["B-T"]
    startxref = signed[signed.rindex(b"startxref") :]
    forged = attacks.isa_objects_without_xref(signed) + startxref

    report = await verifier.verify(forged, doc_type=DOC_TYPE)

    assert report.verdict == "failed"
    assert codes(report)[0] == "pdf.data_after_eof"


async def test_whitespace_after_eof_is_not_data(
    sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(sealed["B-LT"] + b"\r\n\x00\x00 \n", doc_type=DOC_TYPE)

    assert report.verdict == "passed", report.reasons


# -- universal signature forgery ---------------------------------------------------------


@pytest.mark.parametrize("variant", attacks.USF_VARIANTS)
async def test_universal_signature_forgery(
    variant: str, sealed: dict[PadesLevel, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(attacks.usf(sealed["B-T"], variant), doc_type=DOC_TYPE)

    assert report.verdict == "indeterminate"
    assert codes(report) == ["signature.malformed"]
    (sig,) = report.signatures
    assert not sig.intact and not sig.trusted and sig.verdict == "indeterminate"


# -- shadow attacks ----------------------------------------------------------------------

SHADOW: list[tuple[str, Attack, str, str]] = [
    (
        "hide-overwrite",
        attacks.shadow_hide_by_overwrite,
        "failed",
        "signature.modified_after_signing",
    ),
    ("hide-free", attacks.shadow_hide_by_freeing, "indeterminate", "pdf.malformed"),
    ("replace-font", attacks.shadow_replace_font, "failed", "signature.modified_after_signing"),
    (
        "replace-form-overlay",
        attacks.shadow_replace_by_form_filling,
        "failed",
        "signature.unsigned_changes",
    ),
    (
        "hide-and-replace-root",
        attacks.shadow_hide_and_replace_root,
        "failed",
        "signature.modified_after_signing",
    ),
    (
        "hide-and-replace-pages",
        attacks.shadow_hide_and_replace_pages,
        "failed",
        "signature.modified_after_signing",
    ),
]


@pytest.mark.parametrize(
    ("attack", "verdict", "code"), [pytest.param(a, v, c, id=n) for n, a, v, c in SHADOW]
)
async def test_shadow_attacks(
    attack: Attack, verdict: str, code: str, shadow_signed: bytes, verifier: Verifier
) -> None:
    report = await verifier.verify(attack(shadow_signed), doc_type=DOC_TYPE)

    assert report.verdict == verdict, report.reasons
    assert codes(report)[0] == code, report.reasons


async def test_form_filling_signed_by_a_later_signer_still_passes(
    shadow_signed: bytes, sealer: Sealer, police: Credential, verifier: Verifier
) -> None:
    """The rule behind ``signature.unsigned_changes`` is narrow: a later signature
    vouches for the values filled in before it."""
    filled = attacks.shadow_replace_by_form_filling(shadow_signed)
    countersigned = await sealer.seal(filled, police, level="B-T")

    report = await verifier.verify(countersigned)

    assert report.verdict == "passed", report.reasons
    first, second = report.signatures
    assert first.modification_level == "FORM_FILLING" and second.modification_level == "NONE"


# -- certification (DocMDP) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("perm", "code"),
    [
        (MDPPerm.NO_CHANGES, "signature.docmdp_violation"),
        (MDPPerm.FILL_FORMS, "signature.unsigned_changes"),
        (MDPPerm.ANNOTATE, "signature.unsigned_changes"),
    ],
)
async def test_form_filling_a_certified_document(
    perm: MDPPerm, code: str, certified: dict[MDPPerm, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(
        attacks.shadow_replace_by_form_filling(certified[perm]), doc_type=DOC_TYPE
    )

    assert report.verdict == "failed"
    assert codes(report)[0] == code


@pytest.mark.parametrize("perm", [MDPPerm.NO_CHANGES, MDPPerm.FILL_FORMS, MDPPerm.ANNOTATE])
async def test_evil_annotation_attack(
    perm: MDPPerm, certified: dict[MDPPerm, bytes], verifier: Verifier
) -> None:
    report = await verifier.verify(attacks.evil_annotation(certified[perm]), doc_type=DOC_TYPE)

    assert report.verdict == "failed"
    assert codes(report)[0] == "signature.modified_after_signing"


@pytest.mark.parametrize("perm", [MDPPerm.NO_CHANGES, MDPPerm.FILL_FORMS, MDPPerm.ANNOTATE])
async def test_sneaky_empty_signature_field(
    perm: MDPPerm, certified: dict[MDPPerm, bytes], verifier: Verifier
) -> None:
    forged = attacks.empty_visible_signature_field(certified[perm])

    report = await verifier.verify(forged, doc_type=DOC_TYPE)

    assert report.verdict == "failed"
    assert codes(report)[0] == "signature.modified_after_signing"


@pytest.mark.parametrize("perm", [MDPPerm.FILL_FORMS, MDPPerm.ANNOTATE])
async def test_sneaky_signature_by_a_trusted_citizen(
    perm: MDPPerm,
    certified: dict[MDPPerm, bytes],
    sealer: Sealer,
    pki: DemoPki,
    verifier: Verifier,
) -> None:
    """A visible signature whose appearance covers the page, made with a certificate of
    the demo PKI (trusted chain): the certification signature fails."""
    citizen = pki.citizen("001099054321", "Kẻ Gian")
    forged = await seal(
        certified[perm],
        signer=sealer.signer(citizen),
        level="B-B",
        stamp=VisibleStamp(verification_url="http://kho.test/v/x", box=(50, 700, 545, 800)),
    )

    report = await verifier.verify(forged, doc_type=DOC_TYPE)

    assert report.verdict == "failed"
    assert report.signatures[0].verdict == "failed"
    assert codes(report)[0] == "signature.modified_after_signing"
    assert "issuer.verified" not in codes(report)


# -- no false alarms ---------------------------------------------------------------------


def _qpdf(pdf: bytes, *args: str, tmp: Path) -> bytes:
    src, dst = tmp / "in.pdf", tmp / "out.pdf"
    src.write_bytes(pdf)
    subprocess.run(["qpdf", *args, str(src), str(dst)], check=True)
    return dst.read_bytes()


def _xref_stream_pdf() -> bytes:
    writer = PdfFileWriter(stream_xrefs=True)
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.pdf_name("/Type"): generic.pdf_name("/Page"),
                generic.pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (0, 0, 595, 842)]
                ),
            }
        )
    )
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("layout", ["linearized", "object-streams", "xref-stream"])
async def test_files_laid_out_by_other_writers_pass(
    layout: str, tmp_path: Path, sealer: Sealer, agency: Credential, verifier: Verifier
) -> None:
    """The structural checks (data after EOF, the signature dictionary's shape) raise
    no alarm for linearized files, object streams or cross-reference streams."""
    if layout == "linearized":
        original = _qpdf(PDF, "--linearize", tmp=tmp_path)
    elif layout == "object-streams":
        original = _qpdf(PDF, "--object-streams=generate", tmp=tmp_path)
    else:
        original = _xref_stream_pdf()

    unsigned = await verifier.verify(original)
    sealed = {lvl: await sealer.seal(original, agency, level=lvl) for lvl in ("B-B", "B-LTA")}

    assert unsigned.codes() == ("document.unsigned",) and unsigned.warnings == ()
    for level, pdf in sealed.items():
        report = await verifier.verify(pdf, doc_type=DOC_TYPE)
        assert report.verdict == "passed", (level, report.reasons)
