"""What a citizen reads: each event kind rendered in Vietnamese or English.

``render`` returns ``None`` for a kind it does not know, so an event written by newer
code never crashes an older worker (the event still reaches agency webhooks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from vault.outbox import EventKind

LOCALES = ("vi", "en")


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    body: str
    sms: str


_FILING_STATUS = {
    "vi": {
        "submitted": "đã nộp",
        "received": "đã tiếp nhận",
        "processing": "đang xử lý",
        "needs-more-info": "cần bổ sung giấy tờ",
        "done": "đã có kết quả",
        "rejected": "bị từ chối",
    },
    "en": {
        "submitted": "submitted",
        "received": "received",
        "processing": "being processed",
        "needs-more-info": "needs more information",
        "done": "done",
        "rejected": "rejected",
    },
}


def _s(payload: dict[str, Any], key: str, default: str = "") -> str:
    value = payload.get(key)
    if value is None:
        return default
    return str(value)[:300]


def _deposited(p: dict[str, Any], vi: bool) -> Rendered:
    title = _s(p, "title", "?")
    agency = _s(p, "agency_name") or _s(p, "agency_code", "?")
    copy = p.get("provenance") == "certified_copy"
    if vi:
        what = "Bản sao chứng thực" if copy else "Giấy tờ"
        return Rendered(
            title=f"{what} mới trong kho: {title}",
            body=f"{agency} đã gửi «{title}» vào kho giấy tờ của bạn.",
            sms=f"Kho: {agency} da gui giay to '{title}' vao kho cua ban.",
        )
    what = "certified copy" if copy else "paper"
    return Rendered(
        title=f"New {what} in your vault: {title}",
        body=f"{agency} deposited “{title}” in your document vault.",
        sms=f"Kho: {agency} deposited '{title}' in your vault.",
    )


def _revoked(p: dict[str, Any], vi: bool) -> Rendered:
    title = _s(p, "title", "?")
    agency = _s(p, "agency_name") or _s(p, "agency_code", "?")
    reason = _s(p, "reason")
    if vi:
        return Rendered(
            title=f"Giấy tờ bị thu hồi: {title}",
            body=f"{agency} đã thu hồi «{title}»." + (f" Lý do: {reason}" if reason else ""),
            sms=f"Kho: {agency} da thu hoi giay to '{title}'.",
        )
    return Rendered(
        title=f"Paper revoked: {title}",
        body=f"{agency} revoked “{title}”." + (f" Reason: {reason}" if reason else ""),
        sms=f"Kho: {agency} revoked '{title}'.",
    )


def _share_opened(p: dict[str, Any], vi: bool) -> Rendered:
    actor = _s(p, "actor_name") or ("một người có đường dẫn" if vi else "someone with the link")
    purpose = _s(p, "purpose")
    count = p.get("documents")
    n = count if isinstance(count, int) and not isinstance(count, bool) else 0
    if vi:
        return Rendered(
            title="Giấy tờ bạn chia sẻ vừa được mở",
            body=f"{actor} đã mở đường dẫn chia sẻ ({n} giấy tờ)"
            + (f", mục đích: {purpose}." if purpose else "."),
            sms=f"Kho: {actor} vua mo duong dan chia se cua ban ({n} giay to).",
        )
    return Rendered(
        title="A share of yours was opened",
        body=f"{actor} opened your share link ({n} document{'s' if n != 1 else ''})"
        + (f", purpose: {purpose}." if purpose else "."),
        sms=f"Kho: {actor} opened your share link ({n} documents).",
    )


def _request_received(p: dict[str, Any], vi: bool) -> Rendered:
    agency = _s(p, "agency_name") or _s(p, "agency_code", "?")
    purpose = _s(p, "purpose")
    types = p.get("doc_types")
    listed = ", ".join(str(t)[:64] for t in types[:10]) if isinstance(types, list) else ""
    if vi:
        return Rendered(
            title=f"{agency} đề nghị bạn cung cấp giấy tờ",
            body=f"{agency} đề nghị xem: {listed or '—'}."
            + (f" Mục đích: {purpose}." if purpose else "")
            + " Hãy đồng ý hoặc từ chối trong Kho.",
            sms=f"Kho: {agency} de nghi ban cung cap giay to. Mo Kho de tra loi.",
        )
    return Rendered(
        title=f"{agency} asks for your papers",
        body=f"{agency} asks to see: {listed or '—'}."
        + (f" Purpose: {purpose}." if purpose else "")
        + " Approve or deny it in Kho.",
        sms=f"Kho: {agency} asks for your papers. Open Kho to answer.",
    )


def _filing_status(p: dict[str, Any], vi: bool) -> Rendered:
    locale = "vi" if vi else "en"
    raw = _s(p, "status", "?")
    status = _FILING_STATUS[locale].get(raw, raw)
    procedure = _s(p, "procedure_code", "?")
    note = _s(p, "note")
    if vi:
        return Rendered(
            title=f"Hồ sơ {procedure}: {status}",
            body=f"Hồ sơ thủ tục {procedure} của bạn {status}."
            + (f" Ghi chú: {note}" if note else ""),
            sms=f"Kho: ho so {procedure} cua ban da chuyen trang thai: {raw}.",
        )
    return Rendered(
        title=f"Filing {procedure}: {status}",
        body=f"Your {procedure} filing is {status}." + (f" Note: {note}" if note else ""),
        sms=f"Kho: your {procedure} filing is now {raw}.",
    )


def _filing_document_fetched(p: dict[str, Any], vi: bool) -> Rendered:
    actor = _s(p, "actor_name", "?")
    procedure = _s(p, "procedure_code", "?")
    if vi:
        return Rendered(
            title=f"Giấy tờ trong hồ sơ {procedure} vừa được mở",
            body=f"{actor} đã mở một giấy tờ trong hồ sơ {procedure} của bạn.",
            sms=f"Kho: {actor} vua mo giay to trong ho so {procedure} cua ban.",
        )
    return Rendered(
        title=f"A paper of your {procedure} filing was opened",
        body=f"{actor} opened a paper of your {procedure} filing.",
        sms=f"Kho: {actor} opened a paper of your {procedure} filing.",
    )


_RENDERERS: dict[str, Callable[[dict[str, Any], bool], Rendered]] = {
    EventKind.DOCUMENT_DEPOSITED: _deposited,
    EventKind.DOCUMENT_REVOKED: _revoked,
    EventKind.SHARE_OPENED: _share_opened,
    EventKind.REQUEST_RECEIVED: _request_received,
    EventKind.FILING_STATUS_CHANGED: _filing_status,
    EventKind.FILING_DOCUMENT_FETCHED: _filing_document_fetched,
}


def render(kind: str, payload: dict[str, Any], locale: str) -> Rendered | None:
    """The citizen's message for an event, or ``None`` for an unknown kind."""
    fn = _RENDERERS.get(kind)
    if fn is None:
        return None
    return fn(payload if isinstance(payload, dict) else {}, locale != "en")
