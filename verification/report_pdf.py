"""The verification report as a PDF an official can file: rendered here (reportlab, with
an embedded DejaVu font so Vietnamese renders), then sealed with Kho's own service seal
by whatever ``ReportSeal`` the composition root hands in (``verification`` never imports
``signing``).

``SealedReports.pdf(report, document=...)`` is the one entry point; the PDF states the
verdict as a sentence in Vietnamese and in English (``VERDICT_SENTENCES``), every reason
in both languages, each signature (signer, issuing agency, claimed signing time,
timestamp time, PAdES level, trust path, revocation, coverage and what changed after
it), the document's SHA-256, the registry version and the time of the check.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Protocol
from uuid import UUID
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import anyio.to_thread
import msgspec
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from vault import Document
from verification.models import Reason, SignatureReport, Verdict, VerificationReport
from verification.registry import RegistrySource, TrustRegistry

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

VERDICT_SENTENCES: dict[Verdict, tuple[str, str]] = {
    "passed": (
        "Kết luận: giấy tờ hợp lệ.",
        "Verdict: the document is valid.",
    ),
    "failed": (
        "Kết luận: giấy tờ không hợp lệ, không được chấp nhận.",
        "Verdict: the document is not valid; do not accept it.",
    ),
    "indeterminate": (
        "Kết luận: không thể xác định giấy tờ này có hợp lệ hay không.",
        "Verdict: it cannot be determined whether the document is valid.",
    ),
}
"""The verdict as one sentence per language: the first thing the PDF says."""

_VERDICT_COLOUR = {"passed": "#00703c", "failed": "#d4351c", "indeterminate": "#b35c00"}
_REVOCATION = {
    "good": ("không bị thu hồi", "not revoked"),
    "revoked": ("đã bị thu hồi", "revoked"),
    "unavailable": ("không có dữ liệu thu hồi", "revocation data unavailable"),
    "not_checked": ("chưa kiểm tra (chuỗi không tin cậy)", "not checked (untrusted chain)"),
}
_SOURCE = {
    "ocsp": "theo OCSP / by OCSP",
    "crl": "theo CRL hoặc dữ liệu trong tệp / by CRL or data in the file",
}
_COVERAGE = {
    "entire_file": ("toàn bộ tệp", "the entire file"),
    "entire_revision": ("toàn bộ phiên bản được ký", "the entire signed revision"),
    "partial": ("chỉ một phần", "only part of it"),
}
_MODIFICATION = {
    "NONE": ("không có thay đổi", "nothing"),
    "LTA_UPDATES": ("chỉ bổ sung dữ liệu kiểm tra dài hạn", "long-term validation data only"),
    "FORM_FILLING": ("điền biểu mẫu hoặc ký thêm", "form filling or further signatures"),
    "ANNOTATIONS": ("thêm chú thích", "annotations"),
    "OTHER": ("thay đổi khác (không được phép)", "other changes (not allowed)"),
}


class ReportSeal(Protocol):
    """Seals a PDF with Kho's own service seal (an incremental update); raises the
    sealing service's errors when it cannot."""

    async def seal(self, pdf: bytes) -> bytes: ...


class ReportDocument(msgspec.Struct, frozen=True, kw_only=True):
    """What the report says about the paper beyond the verification report itself."""

    id: UUID | None = None
    title: str | None = None
    filename: str | None = None

    @classmethod
    def of(cls, doc: Document) -> ReportDocument:
        """The stored paper's id, title and file name."""
        return cls(id=doc.id, title=doc.title, filename=doc.filename)


class SealedReports:
    """Renders reports as PDFs and seals them (see the module docstring)."""

    def __init__(
        self, seal: ReportSeal, registry: RegistrySource, *, font_dir: Path = FONT_DIR
    ) -> None:
        self._seal = seal
        self._registry = registry
        self._font_dir = font_dir

    async def pdf(
        self, report: VerificationReport, *, document: ReportDocument | None = None
    ) -> bytes:
        """The sealed PDF of ``report``.  Raises ``VerificationUnavailable`` when the
        registry cannot be read, and the seal's errors when sealing fails."""
        registry = await self._registry.current()
        unsealed = await anyio.to_thread.run_sync(
            functools.partial(render, report, document, registry, font_dir=self._font_dir)
        )
        return await self._seal.seal(unsealed)


# -- rendering -----------------------------------------------------------------------


# Note: reportlab keeps each document's font subsets inside the registered (process-wide)
# TTFont objects, so two reports built at once in worker threads corrupt each other
# (IndexError while writing the subsets); builds take turns.
_BUILD_LOCK = threading.Lock()


@functools.cache
def _fonts(font_dir: Path) -> tuple[str, str]:
    regular, bold = "KhoDejaVu", "KhoDejaVu-Bold"
    pdfmetrics.registerFont(TTFont(regular, str(font_dir / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(bold, str(font_dir / "DejaVuSans-Bold.ttf")))
    return regular, bold


class _Styles:
    def __init__(self, font_dir: Path) -> None:
        regular, bold = _fonts(font_dir)
        self.title = ParagraphStyle("title", fontName=bold, fontSize=15, leading=19)
        self.h2 = ParagraphStyle(
            "h2", fontName=bold, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=3
        )
        self.body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=12)
        self.small = ParagraphStyle(
            "small",
            fontName=regular,
            fontSize=7.5,
            leading=9.5,
            textColor=colors.HexColor("#505a5f"),
        )
        self.label = ParagraphStyle("label", fontName=bold, fontSize=8.5, leading=11)
        self.verdict = ParagraphStyle("verdict", fontName=bold, fontSize=12.5, leading=16)
        self.regular = regular


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _time(value: datetime | None) -> str:
    if value is None:
        return "—"
    local = value.astimezone(VIETNAM)
    return f"{local:%d/%m/%Y %H:%M:%S} (UTC+7) · {value.astimezone(ZoneInfo('UTC')):%Y-%m-%dT%H:%M:%SZ}"


def _both(pair: tuple[str, str]) -> str:
    return f"{pair[0]} / {pair[1]}"


def _facts_table(rows: Sequence[tuple[str, str]], st: _Styles) -> Table:
    table = Table(
        [[_p(k, st.label), _p(v, st.body)] for k, v in rows],
        colWidths=[52 * mm, None],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#b1b4b6")),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _reason_rows(reasons: Sequence[Reason], st: _Styles) -> list[Flowable]:
    out: list[Flowable] = []
    for r in reasons:
        where = f" · chữ ký / signature {r.signature + 1}" if r.signature is not None else ""
        out.append(_p(f"[{r.severity}] {r.code}{where}", st.label))
        out.append(_p(r.message_vi, st.body))
        out.append(_p(r.message_en, st.body))
        if r.detail:
            out.append(_p(r.detail, st.small))
        out.append(Spacer(1, 3))
    return out


def _signature_rows(
    index: int, sig: SignatureReport, registry: TrustRegistry
) -> list[tuple[str, str]]:
    agencies = {i.code: i.name for i in registry.issuers}
    signer = ", ".join(
        v
        for v in (
            sig.signer.common_name,
            sig.signer.organization,
            f"serialNumber={sig.signer.serial_number}" if sig.signer.serial_number else None,
        )
        if v
    )
    agency = (
        f"{agencies.get(sig.issuer_agency, sig.issuer_agency)} ({sig.issuer_agency})"
        if sig.issuer_agency
        else "không thuộc cơ quan đã đăng ký / not a registered issuer"
    )
    return [
        ("Chữ ký / Signature", f"{index + 1} ({sig.field_name or '—'})"),
        ("Kết quả / Result", sig.verdict),
        ("Người ký / Signer", signer or "—"),
        ("Nơi cấp chứng thư / Certificate issuer", sig.signer.issuer_common_name or "—"),
        ("Cơ quan / Issuing agency", agency),
        ("Thời điểm ký (tự khai) / Claimed signing time", _time(sig.signing_time)),
        ("Dấu thời gian / Timestamp", _time(sig.timestamp_time)),
        ("Mức PAdES / PAdES level", sig.level),
        (
            "Đường tin cậy / Trust path",
            " → ".join(sig.trust_path) if sig.trust_path else "không có / none",
        ),
        (
            "Thu hồi / Revocation",
            _both(_REVOCATION[sig.revocation])
            + (f" ({_SOURCE[sig.revocation_source]})" if sig.revocation_source else ""),
        ),
        ("Phạm vi ký / Coverage", _both(_COVERAGE[sig.coverage])),
        (
            "Thay đổi sau khi ký / Changed after signing",
            _both(_MODIFICATION[sig.modification_level]),
        ),
        (
            "Nguyên vẹn, tin cậy / Intact, trusted",
            f"{'có' if sig.intact else 'không'}, {'có' if sig.trusted else 'không'} / "
            f"{'yes' if sig.intact else 'no'}, {'yes' if sig.trusted else 'no'}",
        ),
        ("SHA-256 chứng thư / certificate", sig.signer.certificate_sha256),
    ]


def render(
    report: VerificationReport,
    document: ReportDocument | None,
    registry: TrustRegistry,
    *,
    font_dir: Path = FONT_DIR,
) -> bytes:
    """The unsealed report PDF (A4)."""
    st = _Styles(font_dir)
    doc = document or ReportDocument()
    story: list[Flowable] = [
        _p("Báo cáo xác minh giấy tờ", st.title),
        _p("Document verification report", st.title),
        Spacer(1, 6),
    ]
    vi, en = VERDICT_SENTENCES[report.verdict]
    colour = _VERDICT_COLOUR[report.verdict]
    verdict_style = ParagraphStyle("v", parent=st.verdict, textColor=colors.HexColor(colour))
    box = Table(
        [[_p(vi, verdict_style)], [_p(en, verdict_style)]],
        colWidths=[None],
        hAlign="LEFT",
    )
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, colors.HexColor(colour)),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    story += [box, Spacer(1, 6)]

    doc_type = registry.document_type(report.doc_type) if report.doc_type else None
    facts = [
        ("Giấy tờ / Document", doc.title or doc.filename or "—"),
        (
            "Loại giấy tờ / Document type",
            f"{doc_type.name_vi} / {doc_type.name_en} ({doc_type.code})"
            if doc_type
            else (report.doc_type or "—"),
        ),
        ("Mã tài liệu / Document id", str(doc.id) if doc.id else "—"),
        ("SHA-256", report.sha256),
        ("Phiên bản danh mục tin cậy / Trust registry version", str(report.registry_version)),
        ("Thời điểm kiểm tra / Checked at", _time(report.checked_at)),
        ("Thời điểm xác thực mật mã / Cryptographic validation at", _time(report.validated_at)),
        ("Số chữ ký / Signatures", str(len(report.signatures))),
    ]
    story += [_p("Thông tin / Facts", st.h2), _facts_table(facts, st)]
    story += [_p("Lý do / Reasons", st.h2), *_reason_rows(report.reasons, st)]
    if report.warnings:
        story += [_p("Lưu ý / Notes", st.h2), *_reason_rows(report.warnings, st)]
    for index, sig in enumerate(report.signatures):
        story += [
            _p(f"Chữ ký {index + 1} / Signature {index + 1}", st.h2),
            _facts_table(_signature_rows(index, sig, registry), st),
        ]
    story += [
        Spacer(1, 10),
        _p(
            "Báo cáo này được đóng dấu số của hệ thống Kho; kiểm tra dấu bằng bất kỳ phần mềm "
            "đọc PDF nào hỗ trợ chữ ký số. This report is sealed with Kho's service seal; "
            "check the seal with any PDF reader that validates signatures.",
            st.small,
        ),
    ]

    out = BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title="Báo cáo xác minh giấy tờ / Document verification report",
        author="Kho",
        subject=report.sha256,
        lang="vi",
    )
    with _BUILD_LOCK:
        template.build(story)
    return out.getvalue()
