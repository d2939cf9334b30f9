"""Every string of the pages, in Vietnamese (the default) and English."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "kho_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "brand": {"vi": "Kho giấy tờ", "en": "Kho document vault"},
    "tagline": {
        "vi": "Kho giấy tờ công dân — nộp một lần, dùng lại mãi",
        "en": "Citizen document vault — hand it over once, reuse it always",
    },
    "skip": {"vi": "Chuyển đến nội dung chính", "en": "Skip to main content"},
    "lang_switch": {"vi": "English", "en": "Tiếng Việt"},
    "lang_switch_label": {"vi": "Switch to English", "en": "Chuyển sang tiếng Việt"},
    "nav_verify": {"vi": "Kiểm tra giấy tờ", "en": "Verify a document"},
    "footer": {
        "vi": "Kho là phần mềm nguồn mở. Chữ ký số theo chuẩn PAdES, kiểm tra được bằng mọi công cụ độc lập.",
        "en": "Kho is open-source software. Signatures follow PAdES and can be checked with any independent validator.",
    },
    # -- verdicts
    "verdict_passed": {"vi": "Giấy tờ hợp lệ", "en": "Valid document"},
    "verdict_failed": {"vi": "Giấy tờ không hợp lệ", "en": "Invalid document"},
    "verdict_indeterminate": {"vi": "Không thể xác định", "en": "Cannot tell"},
    "verdict_passed_lead": {
        "vi": "Chữ ký số còn nguyên vẹn, do cơ quan có thẩm quyền ký và chưa bị thu hồi.",
        "en": "The digital signature is intact, made by an authorised agency and not revoked.",
    },
    "verdict_failed_lead": {
        "vi": "Không được chấp nhận giấy tờ này. Lý do:",
        "en": "Do not accept this document. Why:",
    },
    "verdict_indeterminate_lead": {
        "vi": "Kho không thể khẳng định giấy tờ này. Điều chưa kiểm tra được:",
        "en": "Kho cannot vouch for this document. What could not be checked:",
    },
    "warnings": {"vi": "Lưu ý", "en": "Notes"},
    # -- document facts
    "issuer": {"vi": "Cơ quan cấp", "en": "Issued by"},
    "doc_type": {"vi": "Loại giấy tờ", "en": "Document type"},
    "provenance": {"vi": "Nguồn gốc", "en": "Provenance"},
    "prov_issued": {"vi": "Do cơ quan cấp", "en": "Issued by an agency"},
    "prov_certified_copy": {
        "vi": "Bản sao điện tử có chứng thực",
        "en": "Certified electronic copy",
    },
    "prov_citizen_signed": {"vi": "Công dân tự ký số", "en": "Signed by the citizen"},
    "prov_uploaded": {
        "vi": "Công dân tải lên — chưa xác minh",
        "en": "Uploaded by the citizen — unverified",
    },
    "added": {"vi": "Ngày đưa vào kho", "en": "Added to the vault"},
    "signed_by": {"vi": "Người ký", "en": "Signed by"},
    "signed_at": {"vi": "Thời điểm ký", "en": "Signed at"},
    "timestamp": {"vi": "Dấu thời gian", "en": "Time-stamp"},
    "size": {"vi": "Dung lượng", "en": "Size"},
    "sha256": {"vi": "Mã băm SHA-256", "en": "SHA-256"},
    "download": {"vi": "Tải xuống", "en": "Download"},
    "full_report": {"vi": "Báo cáo kiểm tra đầy đủ", "en": "Full verification report"},
    "status_revoked": {"vi": "Đã bị thu hồi", "en": "Revoked"},
    "status_superseded": {"vi": "Đã được thay thế", "en": "Superseded"},
    "none": {"vi": "Không có", "en": "None"},
    # -- share landing
    "share_title": {"vi": "Giấy tờ được chia sẻ", "en": "Shared documents"},
    "share_purpose": {"vi": "Mục đích", "en": "Purpose"},
    "share_expires": {"vi": "Liên kết hết hạn lúc", "en": "Link expires at"},
    "share_uses": {"vi": "Số lần đã mở", "en": "Times opened"},
    "share_privacy": {
        "vi": "Bạn chỉ thấy các giấy tờ được chia sẻ. Mỗi lần mở được ghi lại và người chia sẻ xem được.",
        "en": "You see only the shared documents. Every opening is recorded and shown to the person who shared them.",
    },
    "share_empty": {
        "vi": "Các giấy tờ của liên kết này đã bị xoá.",
        "en": "The documents of this link have been deleted.",
    },
    "gone_title": {"vi": "Liên kết không còn hiệu lực", "en": "Link no longer valid"},
    "gone_expired": {"vi": "Liên kết đã hết hạn.", "en": "The link has expired."},
    "gone_revoked": {
        "vi": "Người chia sẻ đã thu hồi liên kết.",
        "en": "The person who shared it revoked the link.",
    },
    "gone_used_up": {
        "vi": "Liên kết đã dùng hết số lần mở.",
        "en": "The link has been opened as many times as allowed.",
    },
    "gone_next": {
        "vi": "Hãy đề nghị người chia sẻ gửi một liên kết mới.",
        "en": "Ask the person who shared it for a new link.",
    },
    "notfound_title": {"vi": "Không tìm thấy", "en": "Not found"},
    "notfound_body": {
        "vi": "Không có liên kết hoặc giấy tờ nào như vậy. Hãy kiểm tra lại địa chỉ.",
        "en": "There is no such link or document. Check the address.",
    },
    "toomany_title": {"vi": "Quá nhiều yêu cầu", "en": "Too many requests"},
    "toomany_body": {
        "vi": "Bạn đã thử quá nhiều lần. Vui lòng thử lại sau ít phút.",
        "en": "Too many attempts. Please try again in a few minutes.",
    },
    "audience_title": {"vi": "Liên kết dành cho cán bộ", "en": "A link for officials"},
    "audience_body": {
        "vi": "Chỉ cán bộ của cơ quan {agency} đã đăng nhập mới mở được liên kết này.",
        "en": "Only signed-in officials of agency {agency} can open this link.",
    },
    "password_title": {"vi": "Liên kết có mật khẩu", "en": "Password-protected link"},
    "password_label": {"vi": "Mật khẩu của liên kết", "en": "The link's password"},
    "password_hint": {
        "vi": "Người chia sẻ đã gửi mật khẩu cho bạn riêng.",
        "en": "The person who shared the link gave you its password separately.",
    },
    "password_wrong": {
        "vi": "Mật khẩu không đúng. Còn {left} lần thử.",
        "en": "Wrong password. {left} tries left.",
    },
    "password_locked": {
        "vi": "Nhập sai quá nhiều lần: liên kết bị khoá tạm thời. Thử lại sau {minutes} phút.",
        "en": "Too many wrong passwords: the link is locked for now. Try again in {minutes} minutes.",
    },
    "password_missing": {"vi": "Hãy nhập mật khẩu.", "en": "Enter the password."},
    "open": {"vi": "Mở", "en": "Open"},
    "error_summary": {"vi": "Có lỗi cần sửa", "en": "There is a problem"},
    # -- verify
    "verify_title": {"vi": "Kiểm tra một tệp PDF", "en": "Verify a PDF"},
    "verify_lead": {
        "vi": "Chọn hoặc kéo thả tệp PDF. Kho kiểm tra chữ ký số, cơ quan cấp và tình trạng thu hồi. Tệp không được lưu lại.",
        "en": "Choose or drop a PDF. Kho checks its digital signatures, the issuing agency and revocation. The file is not kept.",
    },
    "verify_file": {"vi": "Tệp PDF", "en": "PDF file"},
    "verify_hint": {"vi": "Tối đa {mb} MB", "en": "Up to {mb} MB"},
    "verify_submit": {"vi": "Kiểm tra", "en": "Verify"},
    "verify_again": {"vi": "Kiểm tra tệp khác", "en": "Verify another file"},
    "verify_no_file": {"vi": "Hãy chọn một tệp PDF.", "en": "Choose a PDF file."},
    "verify_too_large": {"vi": "Tệp lớn hơn {mb} MB.", "en": "The file is larger than {mb} MB."},
    "verify_result_for": {"vi": "Kết quả cho tệp", "en": "Result for"},
    "drop_here": {"vi": "Kéo thả tệp vào đây", "en": "Drop the file here"},
    "code_title": {"vi": "Tra cứu mã giấy tờ", "en": "Document code lookup"},
    "code_found": {
        "vi": "Mã {code} là của một giấy tờ do Kho lưu giữ.",
        "en": "Code {code} belongs to a document held in Kho.",
    },
    "code_status_active": {"vi": "Còn hiệu lực", "en": "In force"},
    "code_status": {"vi": "Tình trạng", "en": "Status"},
    "issued_at": {"vi": "Ngày cấp", "en": "Issued on"},
    "code_compare": {
        "vi": "Đối chiếu mã băm SHA-256 với tệp bạn có, hoặc kiểm tra tệp đó tại trang Kiểm tra giấy tờ.",
        "en": "Compare the SHA-256 with the file you hold, or verify that file on the Verify page.",
    },
}


def translator(lang: str) -> Any:
    def t(key: str, **values: Any) -> str:
        entry = MESSAGES.get(key)
        text = entry.get(lang) or entry[DEFAULT] if entry else key
        return text.format(**values) if values else text

    return t


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    if accept and accept.lower().startswith("en"):
        return "en"
    return DEFAULT
