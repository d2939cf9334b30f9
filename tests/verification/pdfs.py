"""Hostile and modified PDFs made in code."""

from __future__ import annotations

import zlib
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def flip_in_signed_range(signed: bytes, needle: bytes = b"Giay khai sinh") -> bytes:
    at = signed.index(needle)
    return signed[:at] + b"X" + signed[at + 1 :]


def replace_page_content(signed: bytes, text: bytes = b"FORGED") -> bytes:
    """An incremental update giving page 1 a new content stream."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    content = generic.StreamObject(stream_data=b"BT /F1 14 Tf 56 700 Td (" + text + b") Tj ET")
    page["/Contents"] = writer.add_object(content)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def append_page(signed: bytes) -> bytes:
    """An incremental update adding a second page."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    pages = writer.root["/Pages"]
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 14 Tf 56 700 Td (Trang them) Tj ET")
    )
    page = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/Parent"): writer.root.raw_get("/Pages"),
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (0, 0, 595, 842)]
            ),
            generic.pdf_name("/Contents"): content,
        }
    )
    pages["/Kids"].append(writer.add_object(page))
    pages["/Count"] = generic.NumberObject(pages["/Count"] + 1)
    writer.update_container(pages)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _assemble(objects: list[bytes], *, root: int = 1) -> bytes:
    """A classic-xref PDF from object bodies numbered 1..n."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        xref,
    )
    return bytes(out)


PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
CONTENT = b"<< /Length 0 >>\nstream\n\nendstream"


def with_active_content() -> bytes:
    """A catalog whose /OpenAction runs JavaScript, the names hex-escaped."""
    catalog = (
        b"<< /Type /Catalog /Pages 2 0 R "
        b"/Open#41ction << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >> >>"
    )
    return _assemble([catalog, PAGES, PAGE, CONTENT])


def with_embedded_file() -> bytes:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 5 0 R >> >>"
    names = b"<< /Names [(a.exe) << /Type /Filespec /EF << /F 6 0 R >> >>] >>"
    payload = b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream"
    return _assemble([catalog, PAGES, PAGE, CONTENT, names, payload])


def deeply_nested(depth: int = 200_000) -> bytes:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * depth + b"]" * depth + b" >>"
    return _assemble([catalog, PAGES, PAGE, CONTENT])


def flate_bomb(megabytes: int = 1024) -> bytes:
    """The catalog lives in an object stream that inflates (twice: nested FlateDecode)
    to ``megabytes`` MiB: reading the document root must decompress it."""
    inner = zlib.compressobj(1)
    chunk = bytes(1024 * 1024)
    parts = [inner.compress(chunk) for _ in range(megabytes)]
    parts.append(inner.flush())
    once = b"".join(parts)
    twice = zlib.compress(once, 9)
    objstm = (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter [/FlateDecode /FlateDecode] /Length %d >>\nstream\n"
        % len(twice)
        + twice
        + b"\nendstream"
    )
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    off_stm = len(out)
    out += b"5 0 obj\n" + objstm + b"\nendobj\n"
    off_xref = len(out)
    # xref stream: type 2 entry for object 1 in object stream 5; type 1 for 5 and 6
    rows = [
        bytes([0, 0, 0, 0xFF]),
        bytes([2, 0, 5, 0]),
        bytes([0, 0, 0, 0]),
        bytes([0, 0, 0, 0]),
        bytes([0, 0, 0, 0]),
        bytes([1]) + off_stm.to_bytes(2, "big") + b"\x00",
        bytes([1]) + off_xref.to_bytes(2, "big") + b"\x00",
    ]
    data = b"".join(rows)
    out += (
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 2 1] /Root 1 0 R /Length %d >>\nstream\n"
        % len(data)
        + data
        + b"\nendstream\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % off_xref
    return bytes(out)


def object_stream_bomb(objects: int = 3_000_000) -> bytes:
    """An object stream that claims ``objects`` objects, its header (``n offset`` pairs,
    megabytes once inflated) compressed to a few kilobytes; the catalog is the last of
    them, so finding it means reading the whole header."""
    header = b"7 0 " * (objects - 1) + b"1 0 "
    body = b"<< /Type /Catalog /Pages 2 0 R >>"
    data = zlib.compress(header + body, 9)
    objstm = (
        b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (objects, len(header), len(data))
        + data
        + b"\nendstream"
    )
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    off_stm = len(out)
    out += b"5 0 obj\n" + objstm + b"\nendobj\n"
    off_xref = len(out)

    def row(kind: int, a: int, b: int) -> bytes:
        return bytes([kind]) + a.to_bytes(3, "big") + b.to_bytes(3, "big")

    # Note: object 1 is the last object of the stream (index ``objects - 1``).
    rows = [row(0, 0, 0xFFFF), row(2, 5, objects - 1), row(0, 0, 0), row(0, 0, 0)]
    rows += [row(0, 0, 0), row(1, off_stm, 0), row(1, off_xref, 0)]
    data_x = b"".join(rows)
    out += (
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 3 3] /Root 1 0 R /Length %d >>\nstream\n"
        % len(data_x)
        + data_x
        + b"\nendstream\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % off_xref
    return bytes(out)
