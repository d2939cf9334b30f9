"""Checks on values that come from outside (personal IDs, titles, file names)."""

from __future__ import annotations

import re
import unicodedata

from vault.errors import InvalidInput

_PERSONAL_ID = re.compile(r"^[0-9]{12}$")
_DOC_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_AGENCY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,79}$")
MAX_TITLE = 500
MAX_PURPOSE = 500


def personal_id(value: str) -> str:
    """A Vietnamese personal identification number (số định danh cá nhân): 12 digits."""
    if not isinstance(value, str) or not _PERSONAL_ID.fullmatch(value):
        raise InvalidInput("personal_id", "must be exactly 12 digits")
    return value


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in value)


def title(value: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise InvalidInput("title", "must not be empty")
    if len(value) > MAX_TITLE:
        raise InvalidInput("title", f"must be at most {MAX_TITLE} characters")
    if _has_control(value):
        raise InvalidInput("title", "must not contain control characters")
    return value


def name(value: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if not value or len(value) > 200 or _has_control(value):
        raise InvalidInput("name", "must be 1 to 200 printable characters")
    return value


def doc_type(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not _DOC_TYPE.fullmatch(value):
        raise InvalidInput("doc_type", "must be a lower-case code like 'birth_certificate'")
    return value


def agency_code(value: str) -> str:
    if not _AGENCY_CODE.fullmatch(value):
        raise InvalidInput("code", "must be 2-40 letters, digits, '.', '_' or '-'")
    return value


def username(value: str) -> str:
    value = value.strip().lower() if isinstance(value, str) else ""
    if not _USERNAME.fullmatch(value):
        raise InvalidInput("username", "must be 2-80 lower-case letters, digits, '.', '_' or '-'")
    return value


def purpose(value: str, *, required: bool = True) -> str:
    """Why someone asks for or shares papers: shown to the citizen and in the access log."""
    value = unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else ""
    if required and not value:
        raise InvalidInput("purpose", "must not be empty")
    if len(value) > MAX_PURPOSE or _has_control(value):
        raise InvalidInput("purpose", f"must be at most {MAX_PURPOSE} printable characters")
    return value


def filename(value: str | None, extension: str) -> str:
    """A safe display name for downloads: the last path segment, no control characters.

    # security: a client-supplied name like ``../../etc/passwd`` or ``C:\\x\\evil.pdf``
    # is reduced to its last segment; it is never used as a path, only echoed in
    # Content-Disposition (RFC 6266 encoded).
    """
    raw = unicodedata.normalize("NFC", value or "")
    raw = raw.replace("\\", "/").rsplit("/", 1)[-1]
    raw = "".join(c for c in raw if not _has_control(c)).strip().strip(".")
    if not raw:
        raw = "document"
    if len(raw) > 200:
        raw = raw[:200]
    if not raw.lower().endswith(extension) and not (
        extension == ".jpg" and raw.lower().endswith(".jpeg")
    ):
        raw += extension
    return raw


def search_key(value: str) -> str:
    """Fold case and Vietnamese diacritics so 'giay khai sinh' finds 'Giấy khai sinh'."""
    value = value.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
