"""Small, valid sample files (PDF and PNG) made in code: for demo data, tests and benchmarks."""

from __future__ import annotations

import os
import struct
import zlib


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_frame(lines: list[str], *, padding: int = 0, title: str = "Kho") -> tuple[bytes, bytes]:
    """The bytes before and after ``padding`` bytes of filler in a one-page PDF.

    ``head + filler + tail`` is a valid PDF for any filler of exactly ``padding`` bytes,
    so a caller can stream a file of any size without holding it in memory."""
    body = ["BT /F1 14 Tf 56 780 Td 18 TL"]
    for line in lines:
        safe = line.encode("latin-1", "replace").decode("latin-1")
        body.append(f"({_pdf_escape(safe)}) Tj T*")
    body.append("ET")
    content = "\n".join(body).encode("latin-1")
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title (" + _pdf_escape(title).encode("latin-1", "replace") + b") /Producer (Kho) >>",
    ]
    head = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(head))
        head += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    tail = bytearray()
    if padding:
        offsets.append(len(head))
        head += b"%d 0 obj\n<< /Length %d >>\nstream\n" % (len(objects) + 1, padding)
        tail += b"\nendstream\nendobj\n"
    count = len(offsets) + 1
    xref = len(head) + padding + len(tail)
    tail += b"xref\n0 %d\n0000000000 65535 f \n" % count
    for off in offsets:
        tail += b"%010d 00000 n \n" % off
    tail += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        count,
        xref,
    )
    return bytes(head), bytes(tail)


def make_pdf(lines: list[str], *, padding: int = 0, title: str = "Kho") -> bytes:
    """A one-page PDF with ``lines`` of text (Latin-1 range) and an optional stream of
    ``padding`` incompressible bytes so tests and benchmarks can choose the file size."""
    head, tail = pdf_frame(lines, padding=padding, title=title)
    return head + os.urandom(padding) + tail


def make_png(width: int = 64, height: int = 40, rgb: tuple[int, int, int] = (30, 90, 160)) -> bytes:
    """A solid-colour PNG with a lighter band, enough to look like a photo placeholder."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        light = height // 3 <= y < 2 * height // 3
        px = bytes(min(255, c + 80) for c in rgb) if light else bytes(rgb)
        rows += px * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )
