from __future__ import annotations

import pytest

from kho.samples import make_pdf, make_png
from tests.factories import jpeg
from vault.errors import UnreadableDocument, UnsupportedMediaType
from vault.sniff import ContentInspector


def inspect(data: bytes, chunk: int = 100) -> str:
    ins = ContentInspector()
    for i in range(0, len(data), chunk):
        ins.feed(data[i : i + chunk])
    return ins.finish()


@pytest.mark.parametrize(
    ("data", "expected"),
    [(make_pdf(["x"]), "application/pdf"), (make_png(), "image/png"), (jpeg(), "image/jpeg")],
)
@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_accepted_types_by_their_bytes(data, expected, chunk):
    assert inspect(data, chunk) == expected


@pytest.mark.parametrize(
    "data",
    [
        b"hello world, plain text",
        b"PK\x03\x04" + b"\x00" * 2000,
        b"<html><script>x</script></html>",
        b"GIF89a" + b"\x00" * 10,
    ],
)
def test_other_types_are_refused(data):
    with pytest.raises(UnsupportedMediaType):
        inspect(data)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\ngarbage only",
        make_pdf(["x"])[:-40],  # truncated: no startxref/%%EOF
        b"%PDF-1.4\n%%EOF\n",
        make_png()[:-12],  # no IEND
        jpeg()[:-2],  # no EOI
    ],
)
def test_broken_files_are_unreadable(data):
    with pytest.raises(UnreadableDocument):
        inspect(data)
