"""Reason codes: stable machine codes with a default severity and plain sentences in
Vietnamese and English.  Codes are part of the public contract; never rename one."""

from __future__ import annotations

import msgspec

from verification.models import Reason, Severity, Verdict


class ReasonText(msgspec.Struct, frozen=True, kw_only=True):
    severity: Severity
    vi: str
    en: str


def _r(severity: Severity, vi: str, en: str) -> ReasonText:
    return ReasonText(severity=severity, vi=vi, en=en)


CATALOGUE: dict[str, ReasonText] = {
    # -- signature -------------------------------------------------------------------
    "signature.intact": _r(
        "info",
        "Chữ ký còn nguyên vẹn: nội dung được ký không bị thay đổi.",
        "The signature is intact: the signed content has not been altered.",
    ),
    "signature.invalid": _r(
        "error",
        "Chữ ký không hợp lệ: nội dung đã bị sửa sau khi ký hoặc chữ ký bị giả mạo.",
        "The signature is not valid: the content was altered after signing or the signature is forged.",
    ),
    "signature.modified_after_signing": _r(
        "error",
        "Tài liệu đã bị thay đổi sau khi ký theo cách không được phép.",
        "The document was changed after signing in a way that is not allowed.",
    ),
    "signature.partial_coverage": _r(
        "error",
        "Chữ ký không bao trùm toàn bộ phiên bản tài liệu mà nó ký.",
        "The signature does not cover the whole revision of the document it signs.",
    ),
    "signature.docmdp_violation": _r(
        "error",
        "Tài liệu đã bị thay đổi vượt quá quyền mà người chứng nhận cho phép.",
        "The document was changed beyond what its certifying signature permits.",
    ),
    "signature.unsigned_changes": _r(
        "error",
        "Tài liệu đã bị thay đổi (điền biểu mẫu) sau chữ ký cuối cùng: không ai ký xác nhận các thay đổi này.",
        "The document was changed (form filling) after its last signature: nobody signed those changes.",
    ),
    "signature.malformed": _r(
        "indeterminate",
        "Chữ ký bị hỏng cấu trúc (/Contents hoặc /ByteRange bị thiếu, rỗng hoặc không khớp): chữ ký không chứng minh được gì và tệp có thể đã bị giả mạo.",
        "The signature is malformed (its /Contents or /ByteRange is missing, empty or inconsistent): it proves nothing, and the file may have been tampered with.",
    ),
    "signature.unsupported": _r(
        "indeterminate",
        "Không kiểm tra được chữ ký này (định dạng không được hỗ trợ).",
        "This signature could not be checked (unsupported format).",
    ),
    # -- certificate chain and revocation ----------------------------------------------
    "chain.untrusted": _r(
        "indeterminate",
        "Chứng thư số của người ký không thuộc nơi cấp tin cậy nào đã đăng ký.",
        "The signer's certificate does not lead to any registered trust anchor.",
    ),
    "chain.invalid": _r(
        "indeterminate",
        "Chuỗi chứng thư số của người ký không hợp lệ.",
        "The signer's certificate chain is not valid.",
    ),
    "cert.expired_at_signing": _r(
        "error",
        "Chứng thư số của người ký đã hết hạn khi ký.",
        "The signer's certificate had expired when the document was signed.",
    ),
    "cert.expired": _r(
        "indeterminate",
        "Chứng thư số của người ký đã hết hạn và không có bằng chứng thời điểm ký khi còn hiệu lực.",
        "The signer's certificate has expired and nothing proves it was signed while the certificate was valid.",
    ),
    "cert.revoked": _r(
        "error",
        "Chứng thư số của người ký đã bị thu hồi trước khi ký.",
        "The signer's certificate was revoked before the document was signed.",
    ),
    "cert.revoked_after_signing": _r(
        "indeterminate",
        "Chứng thư số của người ký đã bị thu hồi sau thời điểm ký.",
        "The signer's certificate was revoked after the document was signed.",
    ),
    "cert.valid_at_signing": _r(
        "info",
        "Chứng thư số của người ký nay đã hết hạn, nhưng dấu thời gian chứng minh tài liệu được ký khi chứng thư còn hiệu lực.",
        "The signer's certificate has expired since, but the time-stamp proves the document was signed while it was valid.",
    ),
    "revocation.unavailable": _r(
        "indeterminate",
        "Không lấy được thông tin thu hồi chứng thư số để kiểm tra.",
        "Revocation information for the certificates could not be obtained.",
    ),
    "timestamp.invalid": _r(
        "error",
        "Dấu thời gian kèm theo chữ ký không hợp lệ hoặc không tin cậy.",
        "The time-stamp on the signature is not valid or not trusted.",
    ),
    "timestamp.untrusted": _r(
        "indeterminate",
        "Dấu thời gian kèm theo chữ ký không do đơn vị cấp dấu thời gian tin cậy cấp.",
        "The time-stamp on the signature does not come from a trusted time-stamping authority.",
    ),
    # -- issuer --------------------------------------------------------------------------
    "issuer.unknown": _r(
        "error",
        "Người ký không phải là cơ quan cấp giấy tờ đã đăng ký.",
        "The signer is not a registered issuing agency.",
    ),
    "issuer.not_authorized_for_type": _r(
        "error",
        "Cơ quan ký không có thẩm quyền cấp loại giấy tờ này.",
        "The signing agency is not authorized to issue this type of document.",
    ),
    "issuer.verified": _r(
        "info",
        "Giấy tờ được ký bởi cơ quan cấp đã đăng ký.",
        "The document is signed by a registered issuing agency.",
    ),
    # -- document ------------------------------------------------------------------------
    "document.unsigned": _r(
        "indeterminate",
        "Tài liệu không có chữ ký số: không ai bảo đảm cho nội dung này.",
        "The document carries no digital signature: nobody vouches for it.",
    ),
    "document.revoked": _r(
        "error",
        "Cơ quan cấp đã thu hồi giấy tờ này.",
        "The issuing agency has revoked this document.",
    ),
    "document.superseded": _r(
        "error",
        "Giấy tờ này đã được thay thế bằng một bản mới hơn.",
        "This document has been superseded by a newer one.",
    ),
    "document.hash_mismatch": _r(
        "error",
        "Nội dung tệp khác với bản đã lưu trong kho.",
        "The file differs from the copy stored in the vault.",
    ),
    "document.type_unknown": _r(
        "error",
        "Loại giấy tờ không có trong danh mục.",
        "The document type is not in the catalogue.",
    ),
    # -- file ----------------------------------------------------------------------------
    "pdf.unreadable": _r(
        "indeterminate",
        "Không đọc được tệp: đây không phải là tệp PDF hợp lệ hoặc tệp bị hỏng.",
        "The file cannot be read: it is not a valid PDF or it is damaged.",
    ),
    "pdf.encrypted": _r(
        "indeterminate",
        "Tệp PDF được mã hóa nên không kiểm tra được.",
        "The PDF is encrypted and cannot be checked.",
    ),
    "pdf.too_complex": _r(
        "indeterminate",
        "Tệp quá lớn hoặc quá phức tạp để kiểm tra an toàn.",
        "The file is too large or too complex to check safely.",
    ),
    "pdf.malformed": _r(
        "indeterminate",
        "Tệp mang chữ ký nhưng cấu trúc bị hỏng theo cách không phần mềm ký nào tạo ra: không kiểm tra được chữ ký và tệp có thể đã bị giả mạo.",
        "The file carries a signature but its structure is broken in a way no signing program produces: the signature cannot be checked, and the file may have been tampered with.",
    ),
    "pdf.data_after_eof": _r(
        "error",
        "Tệp có dữ liệu nằm sau phần kết thúc mà không chữ ký nào bao trùm; một số trình xem vẫn hiển thị dữ liệu này.",
        "The file has data after its end that no signature covers; some viewers show it, so what you see may not be what was signed.",
    ),
    "pdf.active_content": _r(
        "warning",
        "Tệp chứa nội dung chủ động (mã JavaScript, tệp đính kèm, hành động tự chạy...); không mở bằng trình xem cho phép chạy nội dung này.",
        "The file contains active content (JavaScript, attachments, automatic actions...); do not open it in a viewer that runs such content.",
    ),
}


def reason(
    code: str,
    *,
    signature: int | None = None,
    detail: str | None = None,
    severity: Severity | None = None,
) -> Reason:
    """The ``Reason`` for ``code`` from the catalogue (``KeyError`` for an unknown code,
    a programming error); ``severity`` overrides the default (revocation policy)."""
    text = CATALOGUE[code]
    return Reason(
        code=code,
        severity=severity or text.severity,
        message_vi=text.vi,
        message_en=text.en,
        signature=signature,
        detail=detail,
    )


_ORDER: dict[Severity, int] = {"error": 0, "indeterminate": 1, "warning": 2, "info": 3}


def verdict_of(reasons: tuple[Reason, ...] | list[Reason]) -> Verdict:
    """The verdict rule: any error -> failed; else any indeterminate -> indeterminate;
    else passed."""
    severities = {r.severity for r in reasons}
    if "error" in severities:
        return "failed"
    if "indeterminate" in severities:
        return "indeterminate"
    return "passed"


def ordered(reasons: list[Reason]) -> tuple[Reason, ...]:
    """Errors first, then indeterminate, warning, info; stable otherwise."""
    return tuple(sorted(reasons, key=lambda r: _ORDER[r.severity]))
