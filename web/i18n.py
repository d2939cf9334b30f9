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
    "report_pdf": {
        "vi": "Tải báo cáo kiểm tra (PDF có dấu)",
        "en": "Download the sealed report (PDF)",
    },
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


# -- the citizen's pages (sign in, wallet, document, share links, access log)
CITIZEN_MESSAGES: dict[str, dict[str, str]] = {
    "nav_citizen": {"vi": "Kho của tôi", "en": "My vault"},
    "nav_wallet": {"vi": "Giấy tờ của tôi", "en": "My papers"},
    "nav_shares": {"vi": "Liên kết chia sẻ", "en": "My shares"},
    "nav_access": {"vi": "Ai đã xem", "en": "Who looked"},
    "nav_sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "nav_sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "error_prefix": {"vi": "Lỗi:", "en": "Error:"},
    "cancel": {"vi": "Huỷ", "en": "Cancel"},
    "citizen_notfound_body": {
        "vi": "Không có giấy tờ hoặc liên kết nào như vậy trong kho của bạn.",
        "en": "There is no such paper or link in your vault.",
    },
    # landing
    "landing_title": {"vi": "Kho giấy tờ công dân", "en": "Citizen document vault"},
    "landing_h1": {
        "vi": "Giấy tờ của bạn, ở một nơi an toàn",
        "en": "Your papers, in one safe place",
    },
    "landing_lead": {
        "vi": "Kho giữ các giấy tờ cơ quan nhà nước cấp cho bạn, có chữ ký số. Nộp một lần, dùng lại mãi.",
        "en": "Kho keeps the papers agencies issue to you, digitally signed. Hand them over once, reuse them always.",
    },
    "landing_point_keep": {
        "vi": "Giấy khai sinh, lý lịch tư pháp, bản sao chứng thực… được lưu mã hoá.",
        "en": "Birth certificates, judicial records, certified copies… stored encrypted.",
    },
    "landing_point_share": {
        "vi": "Chia sẻ bằng liên kết hoặc mã QR có thời hạn, thu hồi bất cứ lúc nào.",
        "en": "Share them by a link or QR code that expires; revoke it at any time.",
    },
    "landing_point_see": {
        "vi": "Xem ai đã mở giấy tờ của bạn, khi nào và để làm gì.",
        "en": "See who opened your papers, when and why.",
    },
    "landing_start": {"vi": "Đăng nhập để bắt đầu", "en": "Sign in to start"},
    "landing_official_h2": {"vi": "Bạn là cán bộ?", "en": "Are you an official?"},
    "landing_official": {
        "vi": "Mở liên kết công dân gửi cho bạn, hoặc kiểm tra một tệp PDF tại trang",
        "en": "Open the link a citizen gave you, or check a PDF on the page",
    },
    # sign in
    "signin_title": {"vi": "Đăng nhập", "en": "Sign in"},
    "signin_lead": {
        "vi": "Đăng nhập bằng số định danh cá nhân và mật khẩu của bạn.",
        "en": "Sign in with your personal identification number and password.",
    },
    "signin_pid": {"vi": "Số định danh cá nhân", "en": "Personal identification number"},
    "signin_pid_hint": {
        "vi": "12 chữ số, in trên thẻ căn cước, ví dụ 001090000001",
        "en": "12 digits, printed on your ID card, for example 001090000001",
    },
    "signin_password": {"vi": "Mật khẩu", "en": "Password"},
    "signin_submit": {"vi": "Đăng nhập", "en": "Sign in"},
    "signin_help": {
        "vi": "Phiên đăng nhập tự kết thúc sau một thời gian. Trên máy dùng chung, hãy đăng xuất khi xong.",
        "en": "Your session ends by itself after a while. On a shared computer, sign out when you are done.",
    },
    "signin_pid_missing": {
        "vi": "Nhập số định danh cá nhân.",
        "en": "Enter your personal identification number.",
    },
    "signin_pid_format": {
        "vi": "Số định danh cá nhân gồm đúng 12 chữ số.",
        "en": "The personal identification number is exactly 12 digits.",
    },
    "signin_pw_missing": {"vi": "Nhập mật khẩu.", "en": "Enter your password."},
    "signin_wrong": {
        "vi": "Số định danh hoặc mật khẩu không đúng.",
        "en": "The personal identification number or the password is wrong.",
    },
    "signin_throttled": {
        "vi": "Nhập sai quá nhiều lần. Tài khoản tạm khoá đăng nhập; thử lại sau {minutes} phút.",
        "en": "Too many wrong attempts. Signing in is paused for this account; try again in {minutes} minutes.",
    },
    "signin_too_many": {
        "vi": "Có quá nhiều lần đăng nhập sai từ máy của bạn. Vui lòng thử lại sau ít phút.",
        "en": "Too many failed sign-ins from your device. Please try again in a few minutes.",
    },
    "signin_expired": {
        "vi": "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại để tiếp tục.",
        "en": "Your session has ended. Sign in again to continue.",
    },
    "signout_done": {"vi": "Bạn đã đăng xuất.", "en": "You have signed out."},
    # wallet
    "wallet_title": {"vi": "Giấy tờ của tôi", "en": "My papers"},
    "wallet_share": {"vi": "Chia sẻ giấy tờ", "en": "Share papers"},
    "wallet_filters": {"vi": "Lọc giấy tờ", "en": "Filter papers"},
    "wallet_search": {"vi": "Tìm theo tên giấy tờ", "en": "Search by title"},
    "wallet_all_types": {"vi": "Mọi loại", "en": "All types"},
    "wallet_all_provenances": {"vi": "Mọi nguồn gốc", "en": "Any provenance"},
    "wallet_filter": {"vi": "Lọc", "en": "Apply"},
    "wallet_clear": {"vi": "Bỏ lọc", "en": "Clear filters"},
    "wallet_count": {"vi": "{n} giấy tờ", "en": "{n} papers"},
    "wallet_more": {"vi": "Xem thêm giấy tờ", "en": "More papers"},
    "wallet_none_match": {
        "vi": "Không có giấy tờ nào khớp. Hãy thử bỏ bớt điều kiện lọc.",
        "en": "No paper matches. Try removing a filter.",
    },
    "wallet_empty_title": {"vi": "Kho của bạn còn trống", "en": "Your vault is empty"},
    "wallet_empty_body": {
        "vi": "Khi cơ quan nhà nước cấp giấy tờ cho bạn (giấy khai sinh, lý lịch tư pháp, bản sao chứng thực…), giấy tờ sẽ xuất hiện ở đây, kèm chữ ký số để ai cũng kiểm tra được.",
        "en": "When an agency issues you a paper (a birth certificate, a judicial record, a certified copy…), it appears here, digitally signed so anyone can check it.",
    },
    "wallet_empty_next": {
        "vi": "Bạn sẽ không phải nộp lại cùng một giấy tờ nhiều lần: chỉ cần chia sẻ từ kho.",
        "en": "You will not have to hand over the same paper again and again: share it from your vault.",
    },
    "wallet_deleted": {"vi": "Đã xoá giấy tờ.", "en": "The paper was deleted."},
    "wallet_bad_filter_title": {"vi": "Bộ lọc không hợp lệ", "en": "Invalid filter"},
    "wallet_bad_filter_body": {
        "vi": "Không hiểu được địa chỉ trang này. Hãy quay lại danh sách giấy tờ.",
        "en": "This page address could not be understood. Go back to your papers.",
    },
    "badge_issued": {"vi": "Do {agency} cấp", "en": "Issued by {agency}"},
    "badge_certified_copy": {
        "vi": "Bản sao chứng thực — {agency}",
        "en": "Certified copy — {agency}",
    },
    "badge_citizen_signed": {"vi": "Tôi đã ký số", "en": "Signed by me"},
    "badge_uploaded": {"vi": "Tự tải lên — chưa xác minh", "en": "Uploaded — unverified"},
    # document
    "document_title": {"vi": "Giấy tờ", "en": "Paper"},
    "back_to_wallet": {"vi": "Quay lại giấy tờ của tôi", "en": "Back to my papers"},
    "doc_share": {"vi": "Chia sẻ giấy tờ này", "en": "Share this paper"},
    "doc_verification": {"vi": "Kết quả kiểm tra", "en": "Verification"},
    "doc_details": {"vi": "Thông tin", "en": "Details"},
    "doc_file": {"vi": "Tệp", "en": "File"},
    "doc_code": {"vi": "Mã tra cứu", "en": "Verification code"},
    "doc_status_revoked": {
        "vi": "Cơ quan cấp đã thu hồi giấy tờ này. Không dùng được nữa.",
        "en": "The issuing agency has revoked this paper. It can no longer be used.",
    },
    "doc_status_superseded": {
        "vi": "Giấy tờ này đã được thay thế bằng một bản mới.",
        "en": "This paper has been replaced by a newer one.",
    },
    "doc_newer": {"vi": "Xem giấy tờ mới thay thế", "en": "See the newer paper"},
    "delete_heading": {"vi": "Xoá giấy tờ", "en": "Delete the paper"},
    "delete_lead": {
        "vi": "Xoá khỏi kho của bạn. Các liên kết đã chia sẻ sẽ không còn hiện giấy tờ này.",
        "en": "Remove it from your vault. Links you shared will no longer show it.",
    },
    "delete_button": {"vi": "Xoá", "en": "Delete"},
    "delete_title": {"vi": "Xoá giấy tờ này?", "en": "Delete this paper?"},
    "delete_question": {
        "vi": "Bạn sắp xoá “{title}” khỏi kho.",
        "en": "You are about to delete “{title}” from your vault.",
    },
    "delete_warning": {
        "vi": "Không thể hoàn tác. Nếu cần lại, bạn phải xin cơ quan cấp lại.",
        "en": "This cannot be undone. To get it back you would have to ask the agency again.",
    },
    "delete_confirm": {"vi": "Có, xoá giấy tờ", "en": "Yes, delete the paper"},
    "delete_held_title": {"vi": "Chưa xoá được", "en": "Cannot delete yet"},
    "delete_held_body": {
        "vi": "Một cơ quan đang giữ giấy tờ này theo quy định (lưu giữ pháp lý), nên chưa thể xoá.",
        "en": "An agency keeps this paper under a legal hold, so it cannot be deleted for now.",
    },
    # share links
    "share_new_title": {"vi": "Chia sẻ giấy tờ", "en": "Share papers"},
    "share_new_lead": {
        "vi": "Tạo một liên kết và mã QR. Người nhận chỉ thấy các giấy tờ bạn chọn, đến khi liên kết hết hạn hoặc bạn thu hồi.",
        "en": "Make a link and a QR code. Whoever gets it sees only the papers you pick, until it expires or you revoke it.",
    },
    "share_pick": {"vi": "Chọn giấy tờ", "en": "Pick the papers"},
    "share_pick_hint": {"vi": "Chọn một hoặc nhiều giấy tờ.", "en": "Pick one or more."},
    "share_no_documents": {
        "vi": "Kho của bạn chưa có giấy tờ nào.",
        "en": "Your vault has no papers yet.",
    },
    "share_expiry": {"vi": "Liên kết dùng được trong", "en": "The link works for"},
    "expiry_1h": {"vi": "1 giờ", "en": "1 hour"},
    "expiry_1d": {"vi": "1 ngày", "en": "1 day"},
    "expiry_7d": {"vi": "7 ngày", "en": "7 days"},
    "expiry_30d": {"vi": "30 ngày", "en": "30 days"},
    "share_audience": {"vi": "Ai được mở", "en": "Who can open it"},
    "share_audience_anyone": {"vi": "Bất kỳ ai có liên kết", "en": "Anyone with the link"},
    "share_audience_agency": {
        "vi": "Chỉ cán bộ của một cơ quan",
        "en": "Only officials of one agency",
    },
    "share_agency_code": {"vi": "Mã cơ quan", "en": "Agency code"},
    "share_agency_hint": {
        "vi": "Chỉ cần nếu chọn một cơ quan, ví dụ UBND-PBD. Cơ quan cho bạn biết mã này.",
        "en": "Only when you pick one agency, for example UBND-PBD. The agency tells you its code.",
    },
    "share_for_agency": {"vi": "Cán bộ cơ quan {agency}", "en": "Officials of {agency}"},
    "share_purpose_label": {"vi": "Mục đích (không bắt buộc)", "en": "Purpose (optional)"},
    "share_purpose_hint": {
        "vi": "Ví dụ: Hồ sơ đăng ký kết hôn. Được ghi vào nhật ký truy cập.",
        "en": "For example: Marriage registration. It is written in the access log.",
    },
    "share_submit": {"vi": "Tạo liên kết", "en": "Create the link"},
    "share_err_documents": {
        "vi": "Chọn ít nhất một giấy tờ.",
        "en": "Pick at least one paper.",
    },
    "share_err_documents_gone": {
        "vi": "Một giấy tờ đã chọn không còn trong kho. Hãy chọn lại.",
        "en": "A paper you picked is no longer in your vault. Pick again.",
    },
    "share_err_expiry": {
        "vi": "Chọn thời hạn của liên kết.",
        "en": "Pick how long the link works.",
    },
    "share_err_audience": {"vi": "Chọn ai được mở liên kết.", "en": "Pick who can open the link."},
    "share_err_agency_missing": {
        "vi": "Nhập mã cơ quan, hoặc chọn “Bất kỳ ai có liên kết”.",
        "en": "Enter the agency code, or pick “Anyone with the link”.",
    },
    "share_err_agency_unknown": {
        "vi": "Không có cơ quan nào mang mã {agency}.",
        "en": "There is no agency with the code {agency}.",
    },
    "share_err_purpose": {
        "vi": "Mục đích dài tối đa 500 ký tự.",
        "en": "The purpose can be at most 500 characters.",
    },
    "share_created_title": {"vi": "Đã tạo liên kết", "en": "Link created"},
    "share_created_lead": {
        "vi": "Gửi liên kết hoặc cho người nhận quét mã QR.",
        "en": "Send the link, or let the recipient scan the QR code.",
    },
    "share_link": {"vi": "Liên kết chia sẻ", "en": "Share link"},
    "share_once": {
        "vi": "Liên kết chỉ hiện một lần: Kho không lưu lại nó. Hãy sao chép ngay.",
        "en": "The link is shown only now: Kho does not keep it. Copy it now.",
    },
    "copy": {"vi": "Sao chép liên kết", "en": "Copy the link"},
    "copied": {"vi": "Đã sao chép liên kết.", "en": "Link copied."},
    "share_qr_caption": {
        "vi": "Mã QR của liên kết: người nhận quét bằng điện thoại.",
        "en": "The link as a QR code: the recipient scans it with a phone.",
    },
    "share_papers": {"vi": "Giấy tờ", "en": "Papers"},
    "share_see_all": {"vi": "Xem mọi liên kết chia sẻ của tôi", "en": "See all my shares"},
    "shares_title": {"vi": "Liên kết chia sẻ của tôi", "en": "My shares"},
    "shares_lead": {
        "vi": "Mỗi liên kết, số lần đã mở và tình trạng. Thu hồi một liên kết khi không cần nữa.",
        "en": "Each link, how often it was opened and its status. Revoke a link you no longer need.",
    },
    "shares_empty": {
        "vi": "Bạn chưa chia sẻ liên kết nào.",
        "en": "You have not shared any link yet.",
    },
    "shares_link_of": {"vi": "Liên kết tạo lúc {when}", "en": "Link made {when}"},
    "shares_created": {"vi": "Tạo lúc", "en": "Created"},
    "shares_last_used": {"vi": "lần cuối {when}", "en": "last {when}"},
    "shares_revoked": {
        "vi": "Đã thu hồi liên kết. Không ai mở được nữa.",
        "en": "The link was revoked. Nobody can open it any more.",
    },
    "share_status_active": {"vi": "Đang hiệu lực", "en": "Active"},
    "share_status_expired": {"vi": "Đã hết hạn", "en": "Expired"},
    "share_status_revoked": {"vi": "Đã thu hồi", "en": "Revoked"},
    "share_status_used_up": {"vi": "Đã hết lượt mở", "en": "Used up"},
    "revoke": {"vi": "Thu hồi liên kết", "en": "Revoke the link"},
    # access log
    "access_title": {"vi": "Ai đã xem giấy tờ của tôi", "en": "Who looked at my data"},
    "access_lead": {
        "vi": "Mỗi lần người khác mở, tải hoặc kiểm tra giấy tờ của bạn, mới nhất trước. Giờ Việt Nam.",
        "en": "Every time someone else opened, downloaded or checked your papers, newest first. Vietnam time.",
    },
    "access_empty": {
        "vi": "Chưa ai xem giấy tờ của bạn.",
        "en": "Nobody has looked at your papers yet.",
    },
    "access_anyone": {"vi": "Người có liên kết", "en": "Someone with the link"},
    "access_share_opened": {"vi": "đã mở liên kết chia sẻ", "en": "opened a share link"},
    "access_document_downloaded": {"vi": "đã tải giấy tờ", "en": "downloaded the paper"},
    "access_document_verified": {"vi": "đã kiểm tra giấy tờ", "en": "verified the paper"},
    "access_verification_code_used": {
        "vi": "đã tra cứu mã giấy tờ",
        "en": "looked up the paper's code",
    },
    "access_filing_document_fetched": {
        "vi": "đã tải giấy tờ trong hồ sơ thủ tục",
        "en": "downloaded a paper of your application",
    },
    "access_request_received": {
        "vi": "đã gửi yêu cầu cung cấp giấy tờ",
        "en": "asked you for papers",
    },
    "access_paper": {"vi": "Giấy tờ", "en": "Paper"},
    "access_deleted_paper": {"vi": "(giấy tờ đã xoá)", "en": "(deleted paper)"},
    "access_kind": {"vi": "Là", "en": "Who"},
    "access_kind_agency": {"vi": "Hệ thống của cơ quan", "en": "An agency's system"},
    "access_kind_official": {"vi": "Cán bộ", "en": "An official"},
    "access_older": {"vi": "Xem các lần cũ hơn", "en": "Older entries"},
}
MESSAGES.update(CITIZEN_MESSAGES)

# Officials' sign-in (agency-audience links).
MESSAGES.update(
    {
        "official_signin_title": {"vi": "Cán bộ đăng nhập", "en": "Official sign-in"},
        "official_signin_lead": {
            "vi": "Dành cho cán bộ của cơ quan nhà nước, để mở các liên kết công dân chia sẻ riêng với cơ quan mình.",
            "en": "For officials of a public agency, to open links citizens shared with their agency only.",
        },
        "official_agency": {"vi": "Mã cơ quan", "en": "Agency code"},
        "official_agency_hint": {"vi": "Ví dụ: UBND-PBD", "en": "For example: UBND-PBD"},
        "official_username": {"vi": "Tên đăng nhập", "en": "Username"},
        "official_agency_missing": {"vi": "Hãy nhập mã cơ quan.", "en": "Enter the agency code."},
        "official_username_missing": {
            "vi": "Hãy nhập tên đăng nhập.",
            "en": "Enter your username.",
        },
        "official_wrong": {
            "vi": "Mã cơ quan, tên đăng nhập hoặc mật khẩu không đúng.",
            "en": "The agency code, username or password is not right.",
        },
        "official_signin_cta": {
            "vi": "Đăng nhập với tư cách cán bộ",
            "en": "Sign in as an official",
        },
        "official_signed_in_as": {"vi": "Đang mở với tư cách", "en": "Opened as"},
        "official_signout": {"vi": "Cán bộ đăng xuất", "en": "Official sign-out"},
    }
)


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


# -- the officials' agency inbox and the citizen's "sign a form" (issue #6)
MESSAGES.update(
    {
        "nav_inbox": {"vi": "Hồ sơ đến", "en": "Inbox"},
        "agency_status_draft": {"vi": "Bản nháp", "en": "Draft"},
        "agency_status_received": {"vi": "Đã tiếp nhận", "en": "Received"},
        "agency_status_processing": {"vi": "Đang xử lý", "en": "Processing"},
        "agency_status_needs-more-info": {"vi": "Cần bổ sung", "en": "Needs more information"},
        "agency_status_done": {"vi": "Đã trả kết quả", "en": "Done"},
        "agency_status_rejected": {"vi": "Từ chối", "en": "Rejected"},
        "agency_back_to_inbox": {"vi": "Quay lại hồ sơ đến", "en": "Back to the inbox"},
        "agency_forbidden_title": {"vi": "Không có quyền", "en": "Not allowed"},
        "agency_forbidden_body": {
            "vi": "Cơ quan {agency} chưa được cấp quyền tiếp nhận hồ sơ trên Kho, nên bạn không mở được hộp hồ sơ đến.",
            "en": "{agency} is not allowed to receive filings on Kho, so you cannot open the inbox.",
        },
        "agency_inbox_title": {"vi": "Hồ sơ đến", "en": "Filings inbox"},
        "agency_inbox_lead": {
            "vi": "Hồ sơ công dân gửi đến {agency}. Bạn đang đăng nhập là {name}.",
            "en": "Filings citizens sent to {agency}. You are signed in as {name}.",
        },
        "agency_filter_status": {"vi": "Trạng thái", "en": "Status"},
        "agency_filter_all": {"vi": "Tất cả", "en": "All"},
        "agency_filter_apply": {"vi": "Lọc", "en": "Filter"},
        "agency_inbox_empty": {"vi": "Chưa có hồ sơ nào.", "en": "No filings yet."},
        "agency_applicant": {"vi": "Người nộp", "en": "Applicant"},
        "agency_applicant_name": {"vi": "Họ và tên", "en": "Name"},
        "agency_applicant_id": {"vi": "Số định danh cá nhân", "en": "Personal ID"},
        "agency_submitted": {"vi": "Ngày nộp", "en": "Submitted"},
        "agency_updated": {"vi": "Cập nhật", "en": "Updated"},
        "agency_filing_id": {"vi": "Mã hồ sơ", "en": "Filing number"},
        "agency_pages": {"vi": "Trang", "en": "Pages"},
        "agency_first_page": {"vi": "Trang đầu", "en": "First page"},
        "agency_next_page": {"vi": "Trang sau", "en": "Next page"},
        "agency_filing_title": {"vi": "Hồ sơ", "en": "Filing"},
        "agency_filing_notfound": {
            "vi": "Không có hồ sơ hay giấy tờ này trong hộp hồ sơ của cơ quan bạn.",
            "en": "There is no such filing or paper in your agency's inbox.",
        },
        "agency_done_status": {
            "vi": "Đã đổi trạng thái hồ sơ.",
            "en": "The filing's status is changed.",
        },
        "agency_done_result": {
            "vi": "Đã trả kết quả vào kho giấy tờ của công dân. Hồ sơ đã xong.",
            "en": "The result is in the citizen's vault. The filing is done.",
        },
        "agency_form": {"vi": "Tờ khai", "en": "Form"},
        "agency_papers": {"vi": "Giấy tờ kèm theo", "en": "Papers"},
        "agency_origin_vault": {"vi": "Dùng lại từ kho", "en": "Reused from the vault"},
        "agency_origin_upload": {"vi": "Tải lên cho hồ sơ này", "en": "Uploaded for this filing"},
        "agency_no_papers": {"vi": "Không có giấy tờ.", "en": "No papers."},
        "agency_result": {"vi": "Kết quả", "en": "Result"},
        "agency_result_download": {"vi": "Tải kết quả", "en": "Download the result"},
        "agency_timeline": {"vi": "Quá trình xử lý", "en": "What happened"},
        "agency_change_status": {"vi": "Đổi trạng thái", "en": "Change the status"},
        "agency_new_status": {"vi": "Trạng thái mới", "en": "New status"},
        "agency_note": {"vi": "Ghi chú", "en": "Note"},
        "agency_note_hint": {
            "vi": "Công dân sẽ thấy ghi chú này (ví dụ: giấy tờ cần bổ sung).",
            "en": "The citizen sees this note (for example, which paper to add).",
        },
        "agency_change_button": {"vi": "Lưu trạng thái", "en": "Save the status"},
        "agency_return_result": {"vi": "Trả kết quả", "en": "Return the result"},
        "agency_return_lead": {
            "vi": "Kết quả (tệp PDF) được lưu vào kho giấy tờ của công dân là giấy tờ do cơ quan cấp, và hồ sơ kết thúc.",
            "en": "The result (a PDF) lands in the citizen's vault as a paper issued by the agency, and the filing is done.",
        },
        "agency_result_file": {"vi": "Tệp kết quả (PDF)", "en": "Result file (PDF)"},
        "agency_result_file_hint": {
            "vi": "Tệp đã ký số của cơ quan, hoặc tệp chưa ký để đóng dấu số bên dưới.",
            "en": "A PDF your agency signed, or an unsigned one to seal below.",
        },
        "agency_result_title": {"vi": "Tên giấy tờ", "en": "Title"},
        "agency_result_seal": {
            "vi": "Đóng dấu số của cơ quan vào tệp này",
            "en": "Seal it with the agency's seal",
        },
        "agency_result_button": {"vi": "Trả kết quả", "en": "Return the result"},
        "agency_status_missing": {"vi": "Chọn trạng thái mới.", "en": "Choose the new status."},
        "agency_note_long": {
            "vi": "Ghi chú dài quá {max} ký tự.",
            "en": "The note is longer than {max} characters.",
        },
        "agency_status_invalid": {
            "vi": "Không thể chuyển hồ sơ từ “{current}” sang “{wanted}”.",
            "en": "A filing cannot go from “{current}” to “{wanted}”.",
        },
        "agency_result_missing": {"vi": "Chọn tệp kết quả.", "en": "Choose the result file."},
        "agency_result_not_pdf": {
            "vi": "Kết quả phải là tệp PDF.",
            "en": "The result must be a PDF.",
        },
        "agency_result_closed": {
            "vi": "Hồ sơ này đã kết thúc, không trả kết quả được nữa.",
            "en": "This filing is closed; a result cannot be returned any more.",
        },
        "agency_result_no_type": {
            "vi": "Thủ tục này không có loại giấy tờ kết quả.",
            "en": "This procedure has no result paper type.",
        },
        "agency_result_too_large": {"vi": "Tệp quá lớn.", "en": "The file is too large."},
        "agency_result_unsigned": {
            "vi": "Tệp chưa có chữ ký số: đánh dấu ô đóng dấu số của cơ quan, hoặc tải tệp đã ký.",
            "en": "The file is not signed: tick the agency's seal, or upload a signed file.",
        },
        "agency_result_rejected": {
            "vi": "Chữ ký trên tệp không kiểm tra được là của cơ quan bạn.",
            "en": "The signature on the file does not verify as your agency's.",
        },
        "agency_result_not_authorized": {
            "vi": "Cơ quan bạn chưa được đăng ký cấp loại giấy tờ này ({doc_type}).",
            "en": "Your agency is not registered to issue this paper type ({doc_type}).",
        },
        "agency_result_unreadable": {
            "vi": "Không đọc được tệp PDF này.",
            "en": "This PDF cannot be read.",
        },
        # -- sign a form
        "doc_sign": {"vi": "Ký số", "en": "Sign"},
        "doc_signed_notice": {
            "vi": "Đã ký. Đây là bản có chữ ký số của bạn.",
            "en": "Signed. This is the copy with your digital signature.",
        },
        "sign_title": {"vi": "Ký số giấy tờ", "en": "Sign a document"},
        "sign_lead": {
            "vi": "Ký “{title}” bằng chữ ký số từ xa của bạn. Bản đã ký được lưu thành một giấy tờ mới; bản gốc giữ nguyên.",
            "en": "Sign “{title}” with your remote signature. The signed copy is saved as a new paper; the original stays as it is.",
        },
        "sign_back_to_document": {"vi": "Quay lại giấy tờ", "en": "Back to the document"},
        "sign_reason": {"vi": "Lý do ký (không bắt buộc)", "en": "Reason (optional)"},
        "sign_reason_hint": {
            "vi": "Ví dụ: Tôi xác nhận nội dung tờ khai.",
            "en": "For example: I confirm this form.",
        },
        "sign_location": {"vi": "Nơi ký (không bắt buộc)", "en": "Place (optional)"},
        "sign_location_hint": {"vi": "Ví dụ: Hà Nội", "en": "For example: Hanoi"},
        "sign_visible": {
            "vi": "Hiển thị chữ ký trên giấy tờ?",
            "en": "Show the signature on the page?",
        },
        "sign_visible_yes": {
            "vi": "Có, thêm ô chữ ký nhìn thấy được",
            "en": "Yes, add a visible signature box",
        },
        "sign_visible_no": {"vi": "Không, chỉ ký số (không nhìn thấy)", "en": "No, sign invisibly"},
        "sign_advanced": {"vi": "Tùy chọn nâng cao", "en": "Advanced options"},
        "sign_field_name": {"vi": "Tên ô chữ ký", "en": "Signature field name"},
        "sign_field_name_hint": {
            "vi": "Để trống nếu không biết. Chỉ chữ cái không dấu, số, dấu chấm, gạch ngang, gạch dưới.",
            "en": "Leave empty if unsure. Letters, digits, dot, dash and underscore only.",
        },
        "sign_continue": {"vi": "Tiếp tục", "en": "Continue"},
        "sign_authorize_title": {"vi": "Xác nhận ký", "en": "Confirm the signature"},
        "sign_authorize_lead_doc": {
            "vi": "Nhập mã PIN ký số và mã một lần từ ứng dụng xác thực để ký “{title}”.",
            "en": "Enter your signing PIN and the one-time code from your authenticator app to sign “{title}”.",
        },
        "sign_authorize_lead": {
            "vi": "Nhập mã PIN ký số và mã một lần từ ứng dụng xác thực.",
            "en": "Enter your signing PIN and the one-time code from your authenticator app.",
        },
        "sign_pin": {"vi": "Mã PIN ký số", "en": "Signing PIN"},
        "sign_pin_hint": {"vi": "Từ 4 đến 32 chữ số.", "en": "4 to 32 digits."},
        "sign_code": {"vi": "Mã một lần", "en": "One-time code"},
        "sign_code_hint": {
            "vi": "6 chữ số trong ứng dụng xác thực.",
            "en": "The 6 digits in your authenticator app.",
        },
        "sign_button": {"vi": "Ký", "en": "Sign"},
        "sign_no_credential_title": {
            "vi": "Bạn chưa có chữ ký số",
            "en": "You have no signing credential",
        },
        "sign_no_credential_body": {
            "vi": "Để ký số, bạn cần đăng ký chữ ký số từ xa (chứng thư số, mã PIN và ứng dụng xác thực) trước.",
            "en": "To sign, first set up a remote signing credential (a certificate, a PIN and an authenticator app).",
        },
        "sign_field_name_bad": {
            "vi": "Tên ô chữ ký chỉ gồm chữ cái không dấu, số, dấu chấm, gạch ngang, gạch dưới.",
            "en": "The field name may only have letters, digits, dot, dash and underscore.",
        },
        "sign_too_long": {"vi": "Dài quá {max} ký tự.", "en": "Longer than {max} characters."},
        "sign_pdf_encrypted": {
            "vi": "Tệp PDF được mã hóa, không ký được.",
            "en": "The PDF is encrypted and cannot be signed.",
        },
        "sign_pdf_locked": {
            "vi": "Chữ ký chứng thực trên tệp không cho phép ký thêm.",
            "en": "The PDF's certification signature forbids more signatures.",
        },
        "sign_field_in_use": {
            "vi": "Ô chữ ký này đã được ký.",
            "en": "This signature field is already signed.",
        },
        "sign_pdf_unreadable": {
            "vi": "Không đọc được tệp PDF này.",
            "en": "This PDF cannot be read.",
        },
        "sign_pin_format": {
            "vi": "Nhập mã PIN (4 đến 32 chữ số).",
            "en": "Enter your PIN (4 to 32 digits).",
        },
        "sign_code_format": {
            "vi": "Nhập mã một lần (6 chữ số).",
            "en": "Enter the one-time code (6 digits).",
        },
        "sign_pin_wrong": {"vi": "Mã PIN không đúng.", "en": "The PIN is wrong."},
        "sign_pin_wrong_left": {
            "vi": "Mã PIN không đúng. Còn {left} lần thử.",
            "en": "The PIN is wrong. {left} attempt(s) left.",
        },
        "sign_code_wrong": {
            "vi": "Mã một lần không đúng hoặc đã dùng.",
            "en": "The one-time code is wrong or already used.",
        },
        "sign_code_wrong_left": {
            "vi": "Mã một lần không đúng hoặc đã dùng. Còn {left} lần thử.",
            "en": "The one-time code is wrong or already used. {left} attempt(s) left.",
        },
        "sign_locked_title": {"vi": "Chữ ký số bị khóa", "en": "Your signing credential is locked"},
        "sign_locked_body": {
            "vi": "Nhập sai quá nhiều lần nên chữ ký số đã bị khóa. Liên hệ bộ phận hỗ trợ để mở khóa hoặc đặt lại mã PIN.",
            "en": "Too many wrong attempts locked your signing credential. Contact support to unlock it or reset the PIN.",
        },
        "sign_session_gone_title": {
            "vi": "Phiên ký đã hết hạn",
            "en": "The signing session has ended",
        },
        "sign_session_gone_body": {
            "vi": "Phiên ký không còn hiệu lực. Mở lại giấy tờ và bắt đầu ký lại.",
            "en": "This signing session is no longer valid. Open the document and start again.",
        },
        "sign_failed_title": {"vi": "Chưa ký được", "en": "Could not sign"},
        "sign_failed_body": {
            "vi": "Dịch vụ ký số từ xa không hoàn tất việc ký. Hãy thử lại sau.",
            "en": "The remote signing service did not complete the signature. Try again later.",
        },
    }
)


# -- upload, requests from agencies, procedures and filings (web/forms.py)
MESSAGES.update(
    {
        "nav_upload": {"vi": "Tải giấy tờ lên", "en": "Upload"},
        "nav_requests": {"vi": "Yêu cầu từ cơ quan", "en": "Requests"},
        "nav_filings": {"vi": "Thủ tục của tôi", "en": "My applications"},
        # upload
        "upload_title": {"vi": "Tải giấy tờ lên", "en": "Upload a paper"},
        "upload_lead": {
            "vi": "Chụp ảnh hoặc chọn tệp PDF. Giấy tờ tải lên được ghi là “tự tải lên — chưa xác minh”.",
            "en": "Take a photo or choose a PDF. Papers you upload are marked “uploaded — unverified”.",
        },
        "upload_file_label": {"vi": "Tệp hoặc ảnh chụp", "en": "File or photo"},
        "upload_file_hint": {
            "vi": "PDF, JPEG hoặc PNG, tối đa {mb} MB. Trên điện thoại có thể chụp ảnh trực tiếp.",
            "en": "PDF, JPEG or PNG, up to {mb} MB. On a phone you can take a photo directly.",
        },
        "upload_drop": {
            "vi": "Hoặc kéo và thả tệp vào ô này.",
            "en": "Or drag and drop the file onto this box.",
        },
        "upload_title_label": {"vi": "Tên giấy tờ", "en": "Title"},
        "upload_title_hint": {
            "vi": "Để trống thì dùng tên tệp.",
            "en": "Leave empty to use the file name.",
        },
        "upload_type_label": {"vi": "Loại giấy tờ", "en": "Type of paper"},
        "upload_type_none": {"vi": "Không rõ / khác", "en": "Not sure / other"},
        "upload_progress": {"vi": "Đang tải lên", "en": "Uploading"},
        "upload_submit": {"vi": "Tải lên", "en": "Upload"},
        "upload_err_no_file": {"vi": "Hãy chọn một tệp.", "en": "Choose a file."},
        "upload_err_too_large": {
            "vi": "Tệp quá lớn: tối đa {mb} MB.",
            "en": "The file is too large: at most {mb} MB.",
        },
        "upload_err_quota": {
            "vi": "Kho của bạn đã đầy. Hãy xoá bớt giấy tờ không cần.",
            "en": "Your vault is full. Delete papers you no longer need.",
        },
        "upload_err_type": {
            "vi": "Chỉ nhận tệp PDF, JPEG hoặc PNG.",
            "en": "Only PDF, JPEG or PNG files are accepted.",
        },
        "upload_err_empty": {"vi": "Tệp trống.", "en": "The file is empty."},
        "upload_err_unreadable": {
            "vi": "Không đọc được tệp này. Hãy thử tệp khác.",
            "en": "This file cannot be read. Try another one.",
        },
        "upload_err_network": {
            "vi": "Tải lên không thành công. Hãy kiểm tra kết nối và thử lại.",
            "en": "The upload did not go through. Check your connection and try again.",
        },
        "upload_err_title_long": {
            "vi": "Tên giấy tờ tối đa 200 ký tự.",
            "en": "The title can be at most 200 characters.",
        },
        "upload_err_title_invalid": {
            "vi": "Tên giấy tờ không hợp lệ.",
            "en": "The title is not valid.",
        },
        "upload_err_doc_type": {
            "vi": "Hãy chọn một loại giấy tờ trong danh sách.",
            "en": "Choose a type of paper from the list.",
        },
        "upload_err_doc_type_invalid": {
            "vi": "Hãy chọn một loại giấy tờ trong danh sách.",
            "en": "Choose a type of paper from the list.",
        },
        "upload_err_file_invalid": {
            "vi": "Không lưu được tệp này.",
            "en": "This file could not be stored.",
        },
        # requests from agencies
        "requests_title": {"vi": "Yêu cầu từ cơ quan", "en": "Requests from agencies"},
        "requests_lead": {
            "vi": "Cơ quan nhà nước có thể xin xem giấy tờ của bạn. Bạn quyết định đồng ý hay từ chối.",
            "en": "Agencies can ask to see your papers. You decide whether to agree.",
        },
        "requests_empty": {"vi": "Chưa có yêu cầu nào.", "en": "No requests yet."},
        "requests_back": {"vi": "Tất cả yêu cầu", "en": "All requests"},
        "request_title": {"vi": "Yêu cầu giấy tờ", "en": "Request for papers"},
        "request_agency": {"vi": "Cơ quan", "en": "Agency"},
        "request_purpose": {"vi": "Mục đích", "en": "Purpose"},
        "request_types": {"vi": "Giấy tờ cần", "en": "Papers asked for"},
        "request_expires": {"vi": "Hết hạn", "en": "Expires"},
        "request_decided": {"vi": "Đã trả lời", "en": "Answered"},
        "request_answer": {"vi": "Xem và trả lời", "en": "Review and answer"},
        "request_status_pending": {"vi": "Đang chờ bạn trả lời", "en": "Waiting for you"},
        "request_status_approved": {"vi": "Đã đồng ý", "en": "Approved"},
        "request_status_denied": {"vi": "Đã từ chối", "en": "Denied"},
        "request_status_expired": {"vi": "Đã hết hạn", "en": "Expired"},
        "request_pick": {"vi": "Giấy tờ sẽ chia sẻ", "en": "Papers to share"},
        "request_pick_hint": {
            "vi": "Kho đã chọn sẵn giấy tờ phù hợp nhất. Bạn có thể bỏ chọn hoặc chọn giấy tờ khác.",
            "en": "Kho has ticked the best matching papers. You can untick them or pick others.",
        },
        "request_suggested_for": {"vi": "gợi ý cho: {name}", "en": "suggested for: {name}"},
        "request_no_paper": {
            "vi": "Kho chưa có giấy tờ loại “{name}”.",
            "en": "Your vault has no “{name}” yet.",
        },
        "request_other_papers": {
            "vi": "Chọn giấy tờ khác trong kho",
            "en": "Pick other papers from your vault",
        },
        "request_approve": {"vi": "Đồng ý và chia sẻ", "en": "Approve and share"},
        "request_deny": {"vi": "Từ chối", "en": "Deny"},
        "request_note_label": {"vi": "Lời nhắn (không bắt buộc)", "en": "Note (optional)"},
        "request_note_hint": {
            "vi": "Cơ quan sẽ thấy lời nhắn này nếu bạn từ chối.",
            "en": "The agency sees this note if you deny.",
        },
        "request_done_approved": {
            "vi": "Bạn đã đồng ý. Cơ quan có thể xem các giấy tờ đã chọn đến khi hết hạn.",
            "en": "You approved. The agency can see the chosen papers until the request expires.",
        },
        "request_done_denied": {"vi": "Bạn đã từ chối yêu cầu.", "en": "You denied the request."},
        "request_shared_count": {"vi": "Đã chia sẻ {n} giấy tờ.", "en": "{n} paper(s) shared."},
        "request_share_link": {
            "vi": "Xem hoặc thu hồi chia sẻ trong “Chia sẻ của tôi”",
            "en": "See or revoke the share in “My shares”",
        },
        "request_err_documents": {
            "vi": "Hãy chọn ít nhất một giấy tờ để chia sẻ.",
            "en": "Choose at least one paper to share.",
        },
        "request_err_documents_gone": {
            "vi": "Một giấy tờ đã chọn không còn trong kho. Hãy chọn lại.",
            "en": "A chosen paper is no longer in your vault. Choose again.",
        },
        "request_err_note": {
            "vi": "Lời nhắn tối đa 500 ký tự, một dòng.",
            "en": "The note can be at most 500 characters, on one line.",
        },
        "request_closed_title": {"vi": "Yêu cầu đã đóng", "en": "Request closed"},
        "request_closed_body": {
            "vi": "Yêu cầu này đã được trả lời hoặc đã hết hạn.",
            "en": "This request has already been answered or has expired.",
        },
        # procedures and filings
        "procedures_title": {"vi": "Thủ tục hành chính", "en": "Public services"},
        "procedures_lead": {
            "vi": "Chọn thủ tục. Kho tìm sẵn giấy tờ trong kho của bạn và điền sẵn tờ khai.",
            "en": "Choose a service. Kho finds the papers in your vault and fills in the form for you.",
        },
        "procedure_agency": {"vi": "Cơ quan tiếp nhận", "en": "Receiving agency"},
        "procedure_papers": {"vi": "Giấy tờ cần", "en": "Papers needed"},
        "procedure_start": {"vi": "Bắt đầu", "en": "Start"},
        "filings_title": {"vi": "Hồ sơ của tôi", "en": "My applications"},
        "filings_new": {"vi": "Nộp hồ sơ mới", "en": "Start a new application"},
        "filings_empty": {"vi": "Bạn chưa có hồ sơ nào.", "en": "You have no applications yet."},
        "filings_back": {"vi": "Tất cả hồ sơ", "en": "All applications"},
        "filing_title": {"vi": "Hồ sơ", "en": "Application"},
        "filing_updated": {"vi": "Cập nhật", "en": "Updated"},
        "filing_status_draft": {"vi": "Bản nháp", "en": "Draft"},
        "filing_status_received": {"vi": "Đã nộp", "en": "Submitted"},
        "filing_status_processing": {"vi": "Đang xử lý", "en": "Being processed"},
        "filing_status_needs-more-info": {"vi": "Cần bổ sung", "en": "More information needed"},
        "filing_status_done": {"vi": "Đã hoàn thành", "en": "Done"},
        "filing_status_rejected": {"vi": "Bị từ chối", "en": "Rejected"},
        "filing_notice_started": {
            "vi": "Đã tạo hồ sơ. Kiểm tra giấy tờ và tờ khai rồi nộp.",
            "en": "Application started. Check the papers and the form, then submit.",
        },
        "filing_notice_attached": {"vi": "Đã thêm giấy tờ.", "en": "Paper added."},
        "filing_notice_saved": {"vi": "Đã lưu tờ khai.", "en": "Form saved."},
        "filing_notice_submitted": {
            "vi": "Đã nộp hồ sơ. Cơ quan sẽ xử lý và bạn theo dõi trạng thái tại đây.",
            "en": "Application submitted. Follow its status here.",
        },
        "filing_papers": {"vi": "Giấy tờ", "en": "Papers"},
        "filing_optional": {"vi": "không bắt buộc", "en": "optional"},
        "filing_reused": {"vi": "Dùng lại từ kho của bạn", "en": "Reused from your vault"},
        "filing_uploaded": {"vi": "Tải lên cho hồ sơ này", "en": "Uploaded for this application"},
        "filing_missing": {"vi": "Còn thiếu", "en": "Missing"},
        "filing_not_given": {"vi": "Chưa thêm.", "en": "Not added."},
        "filing_upload": {"vi": "Tải lên", "en": "Upload"},
        "filing_replace_upload": {"vi": "Tải lên bản khác", "en": "Upload another"},
        "filing_pick": {"vi": "Hoặc chọn trong kho", "en": "Or pick from your vault"},
        "filing_use": {"vi": "Dùng giấy tờ này", "en": "Use this paper"},
        "filing_form": {"vi": "Tờ khai", "en": "Form"},
        "filing_form_hint": {
            "vi": "Kho đã điền sẵn từ hồ sơ của bạn. Bạn có thể sửa.",
            "en": "Kho filled this in from your profile. You can change it.",
        },
        "filing_submit": {"vi": "Nộp hồ sơ", "en": "Submit application"},
        "filing_save": {"vi": "Lưu nháp", "en": "Save draft"},
        "filing_result": {"vi": "Xem kết quả", "en": "See the result"},
        "filing_timeline": {"vi": "Tiến trình", "en": "Progress"},
        "filing_err_missing_paper": {
            "vi": "Còn thiếu giấy tờ: {name}",
            "en": "Missing paper: {name}",
        },
        "filing_err_missing_field": {"vi": "Hãy điền: {name}", "en": "Fill in: {name}"},
        # one e-form answer that does not fit its field (sharing.filings.check_value)
        "filing_err_too_long": {
            "vi": "{label}: dài quá {max} ký tự.",
            "en": "{label}: longer than {max} characters.",
        },
        "filing_err_not_one_line": {
            "vi": "{label}: chỉ nhập một dòng chữ.",
            "en": "{label}: enter one line of text.",
        },
        "filing_err_not_a_date": {
            "vi": "{label}: nhập một ngày có thật, ví dụ 17/05/1990.",
            "en": "{label}: enter a real date, for example 17/05/1990.",
        },
        "filing_err_not_a_number": {
            "vi": "{label}: nhập một số, từ 0 trở lên.",
            "en": "{label}: enter a number, 0 or more.",
        },
        "filing_err_not_an_option": {
            "vi": "{label}: chọn một trong các lựa chọn có sẵn.",
            "en": "{label}: choose one of the options.",
        },
        "filing_err_not_an_email": {
            "vi": "{label}: nhập địa chỉ thư điện tử, ví dụ ten@example.vn.",
            "en": "{label}: enter an email address, for example name@example.vn.",
        },
        "filing_err_not_a_phone": {
            "vi": "{label}: nhập số điện thoại, ví dụ 0912 345 678.",
            "en": "{label}: enter a phone number, for example 0912 345 678.",
        },
        "filing_err_other": {
            "vi": "{label}: kiểm tra lại câu trả lời này.",
            "en": "{label}: check this answer.",
        },
        "filing_err_paper": {
            "vi": "Không dùng được giấy tờ này cho mục này.",
            "en": "This paper cannot be used here.",
        },
        "filing_locked_title": {"vi": "Hồ sơ đã nộp", "en": "Application already submitted"},
        "filing_locked_body": {
            "vi": "Hồ sơ này không thể sửa nữa.",
            "en": "This application can no longer be changed.",
        },
        "filing_bad_procedure_title": {"vi": "Không có thủ tục này", "en": "No such service"},
        "filing_bad_procedure_body": {
            "vi": "Hãy chọn một thủ tục trong danh sách.",
            "en": "Choose a service from the list.",
        },
    }
)


# -- the account: the one-time code at sign-in, the saved language (issue #6)
MESSAGES.update(
    {
        "nav_account": {"vi": "Tài khoản", "en": "Account"},
        "signin_restart": {
            "vi": "Bước nhập mã đã quá 5 phút. Hãy đăng nhập lại từ đầu.",
            "en": "The code step took more than 5 minutes. Please sign in again.",
        },
        "signin_code_title": {"vi": "Nhập mã dùng một lần", "en": "Enter your one-time code"},
        "signin_code_lead": {
            "vi": "Tài khoản của bạn có bật mã dùng một lần. Mở ứng dụng xác thực trên điện thoại và nhập mã đang hiển thị.",
            "en": "Your account asks for a one-time code. Open the authenticator app on your phone and enter the code it shows.",
        },
        "otp_label": {"vi": "Mã dùng một lần", "en": "One-time code"},
        "otp_hint": {
            "vi": "{digits} chữ số, ví dụ 123456. Mã đổi sau mỗi 30 giây.",
            "en": "{digits} digits, for example 123456. The code changes every 30 seconds.",
        },
        "otp_missing": {"vi": "Hãy nhập mã dùng một lần.", "en": "Enter the one-time code."},
        "otp_format": {
            "vi": "Mã gồm đúng {digits} chữ số.",
            "en": "The code is exactly {digits} digits.",
        },
        "otp_wrong": {
            "vi": "Mã không đúng hoặc đã được dùng. Hãy nhập mã mới nhất trong ứng dụng.",
            "en": "The code is wrong or was already used. Enter the newest code from the app.",
        },
        "otp_throttled": {
            "vi": "Nhập sai mã quá nhiều lần. Hãy thử lại sau {minutes} phút.",
            "en": "Too many wrong codes. Try again in {minutes} minutes.",
        },
        "signin_code_submit": {"vi": "Tiếp tục", "en": "Continue"},
        "signin_code_other": {
            "vi": "Đăng nhập bằng tài khoản khác",
            "en": "Sign in with another account",
        },
        "account_title": {"vi": "Tài khoản của bạn", "en": "Your account"},
        "account_name": {"vi": "Họ và tên", "en": "Name"},
        "account_language": {"vi": "Ngôn ngữ", "en": "Language"},
        "account_language_body": {
            "vi": "Các trang hiển thị bằng tiếng Việt. Lựa chọn ngôn ngữ được lưu vào tài khoản và dùng cả khi bạn đăng nhập trên thiết bị khác.",
            "en": "The pages are in English. Your choice of language is saved to your account and used when you sign in on another device too.",
        },
        "account_language_switch": {
            "vi": "Chuyển sang tiếng Anh (English)",
            "en": "Switch to Vietnamese (Tiếng Việt)",
        },
        "otp_heading": {"vi": "Mã dùng một lần khi đăng nhập", "en": "One-time code at sign-in"},
        "otp_state_on": {"vi": "Đang bật", "en": "On"},
        "otp_state_off": {"vi": "Đang tắt", "en": "Off"},
        "otp_on_body": {
            "vi": "Khi đăng nhập, ngoài mật khẩu Kho hỏi thêm mã từ ứng dụng xác thực trên điện thoại của bạn.",
            "en": "When you sign in, Kho asks for a code from the authenticator app on your phone as well as your password.",
        },
        "otp_off_body": {
            "vi": "Bật để bảo vệ kho giấy tờ tốt hơn: ngoài mật khẩu, Kho sẽ hỏi mã 6 chữ số từ một ứng dụng xác thực (ví dụ Google Authenticator, Microsoft Authenticator, FreeOTP). Người biết mật khẩu của bạn vẫn không vào được.",
            "en": "Turn it on to protect your papers better: as well as your password, Kho asks for a 6-digit code from an authenticator app (for example Google Authenticator, Microsoft Authenticator, FreeOTP). Someone who knows your password still cannot get in.",
        },
        "otp_turn_on": {"vi": "Bật mã dùng một lần", "en": "Turn on the one-time code"},
        "otp_turn_off": {"vi": "Tắt mã dùng một lần", "en": "Turn off the one-time code"},
        "otp_done_on": {
            "vi": "Đã bật mã dùng một lần. Lần đăng nhập sau, Kho sẽ hỏi mã.",
            "en": "The one-time code is on. The next time you sign in, Kho asks for it.",
        },
        "otp_done_off": {
            "vi": "Đã tắt mã dùng một lần. Khoá bí mật cũ đã bị xoá.",
            "en": "The one-time code is off. The old secret key has been deleted.",
        },
        "otp_setup_title": {"vi": "Bật mã dùng một lần", "en": "Set up the one-time code"},
        "otp_setup_scan": {
            "vi": "Mở ứng dụng xác thực trên điện thoại, chọn thêm tài khoản và quét mã QR này.",
            "en": "Open the authenticator app on your phone, add an account and scan this QR code.",
        },
        "otp_setup_manual": {
            "vi": "Không quét được? Nhập khoá này vào ứng dụng:",
            "en": "Cannot scan it? Type this key into the app:",
        },
        "otp_setup_key": {"vi": "Khoá bí mật", "en": "Secret key"},
        "otp_setup_once": {
            "vi": "Khoá chỉ hiển thị trong lúc cài đặt. Sau khi bạn xác nhận, Kho không bao giờ hiển thị lại. Đừng gửi khoá cho ai.",
            "en": "The key is shown only while you set up. Once you confirm, Kho never shows it again. Do not give it to anyone.",
        },
        "otp_setup_confirm_lead": {
            "vi": "Nhập mã ứng dụng đang hiển thị để xác nhận đã cài đặt đúng.",
            "en": "Enter the code the app shows, to confirm it is set up.",
        },
        "otp_setup_submit": {"vi": "Xác nhận và bật", "en": "Confirm and turn on"},
        "otp_cancel": {"vi": "Để sau", "en": "Not now"},
        "otp_off_title": {"vi": "Tắt mã dùng một lần", "en": "Turn off the one-time code"},
        "otp_off_lead": {
            "vi": "Nhập mã hiện tại trong ứng dụng xác thực để xác nhận chính bạn muốn tắt. Sau đó chỉ cần mật khẩu để đăng nhập.",
            "en": "Enter the current code from your authenticator app to confirm it is you. After that, your password alone signs you in.",
        },
        "otp_qr_caption": {
            "vi": "Mã QR cho ứng dụng xác thực",
            "en": "QR code for your authenticator app",
        },
    }
)


# -- the document's preview (issue #6)
MESSAGES.update(
    {
        "preview_heading": {"vi": "Xem trước", "en": "Preview"},
        "preview_frame_title": {"vi": "Xem trước: {title}", "en": "Preview: {title}"},
        "preview_image_alt": {
            "vi": "Ảnh của giấy tờ «{title}»",
            "en": "Image of the paper “{title}”",
        },
        "preview_fallback": {
            "vi": "Không thấy bản xem trước? Nhiều điện thoại không hiện PDF trong trang.",
            "en": "No preview? Many phones do not show a PDF inside a page.",
        },
        "preview_open": {"vi": "Mở toàn trang", "en": "Open it full page"},
    }
)


# -- a share's own page, after the link was shown once (issue #6)
MESSAGES.update(
    {
        "share_page_title": {"vi": "Liên kết chia sẻ", "en": "Share link"},
        "share_shown_once": {
            "vi": "Liên kết chỉ hiện một lần, ngay khi được tạo: Kho không lưu liên kết nên không thể hiện lại. Nếu bạn chưa kịp sao chép, hãy thu hồi liên kết này và tạo một liên kết mới.",
            "en": "A link is shown only once, when it is made: Kho does not keep it, so it cannot show it again. If you did not copy it, revoke this link and make a new one.",
        },
        "share_new_same": {
            "vi": "Tạo liên kết mới cho các giấy tờ này",
            "en": "Make a new link for these papers",
        },
        "shares_details": {"vi": "Chi tiết", "en": "Details"},
    }
)
