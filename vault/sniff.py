"""Judge a file by its bytes: which of the accepted types it is, and whether it is whole.

Works on a stream: ``feed`` every chunk, read ``content_type`` as soon as the head is
known, call ``finish`` at the end.  Memory stays constant (a head and a tail window).
"""

from __future__ import annotations

import re

from vault.errors import UnreadableDocument, UnsupportedMediaType

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
ACCEPTED = (PDF, JPEG, PNG)
EXTENSIONS = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png"}

_HEAD = 1024
_TAIL = 2048
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF", re.S)
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")

_KNOWN_OTHERS: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive or office document"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"RIFF", "a RIFF media file"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"<?xml", "an XML file"),
    (b"<!DOCTYPE html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"{\\rtf", "an RTF document"),
)


def _describe(head: bytes) -> str | None:
    stripped = head.lstrip()
    for magic, what in _KNOWN_OTHERS:
        if stripped[: len(magic)].lower() == magic.lower():
            return what
    if stripped[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "a HEIC image"
    return None


class ContentInspector:
    """Streaming detector and structural check for PDF, JPEG and PNG."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._tail = b""
        self._size = 0
        self._type: str | None = None
        self._saw_obj = False
        self._carry = b""
        self._signed = False
        self._sig_carry = b""

    @property
    def content_type(self) -> str | None:
        return self._type

    def feed(self, chunk: bytes) -> None:
        """Raises ``UnsupportedMediaType`` as soon as the head rules the file out."""
        self._size += len(chunk)
        if len(self._head) < _HEAD:
            self._head += chunk[: _HEAD - len(self._head)]
            if self._type is None and len(self._head) >= _HEAD:
                self._decide()
        self._tail = (self._tail + chunk)[-_TAIL:] if len(chunk) < _TAIL else chunk[-_TAIL:]
        if self._type == PDF and not self._signed:
            window = self._sig_carry + chunk
            self._signed = b"/ByteRange" in window
            self._sig_carry = window[-16:]
        if self._type == PDF and not self._saw_obj:
            window = self._carry + chunk
            self._saw_obj = _OBJ.search(window) is not None
            self._carry = window[-32:]

    def _decide(self) -> None:
        head = bytes(self._head)
        if head.startswith(b"\xff\xd8\xff"):
            self._type = JPEG
        elif head.startswith(_PNG_SIG):
            self._type = PNG
        elif b"%PDF-" in head:
            # Note: ISO 32000 lets a PDF header appear within the first 1024 bytes.
            self._type = PDF
            start = head.index(b"%PDF-")
            self._saw_obj = _OBJ.search(head[start:]) is not None
        else:
            raise UnsupportedMediaType(_describe(head))

    @property
    def looks_signed(self) -> bool:
        """A PDF with a signature dictionary (``/ByteRange``): worth verifying."""
        return self._type == PDF and self._signed

    def finish(self) -> str:
        """Return the content type; raise if the file is not a whole PDF/JPEG/PNG."""
        if self._type is None:
            self._decide()
        assert self._type is not None
        tail = self._tail
        if self._type == PDF:
            m = None
            for found in _STARTXREF.finditer(tail):
                m = found  # the last startxref is the one a reader uses
            if m is None or b"%%EOF" not in tail[-1100:]:
                raise UnreadableDocument(PDF, "it has no end-of-file marker (truncated?)")
            if int(m.group(1)) >= self._size:
                raise UnreadableDocument(PDF, "its cross-reference offset points past the end")
            if not self._saw_obj:
                raise UnreadableDocument(PDF, "it contains no PDF objects")
        elif self._type == JPEG:
            if b"\xff\xd9" not in tail:
                raise UnreadableDocument(JPEG, "it has no end-of-image marker (truncated?)")
        elif self._type == PNG:
            head = bytes(self._head)
            if head[12:16] != b"IHDR" or b"IEND" not in tail[-64:]:
                raise UnreadableDocument(PNG, "it is not a whole PNG image")
        return self._type
