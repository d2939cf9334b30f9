"""Visible stamps (Vietnamese text, QR code) and the memory a 5 MB seal takes."""

from __future__ import annotations

import subprocess
import tracemalloc
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pypdf import PdfReader

from kho.samples import make_pdf
from signing import DemoPki, PadesLevel, Sealer, VisibleStamp
from signing.pades import qr_matrix, validation_context

LONG_NAME = "Ủy ban nhân dân phường Phúc Xá, quận Ba Đình, thành phố Hà Nội"
URL = "http://kho.test/v/0192f3a4-5b6c-7d8e-9f00-112233445566"
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"
DPI = 150


def _appearance(signed: bytes) -> tuple[bytes, Any]:
    """The first signature widget's normal appearance stream, and the widget."""
    reader = PdfReader(BytesIO(signed))
    widget = reader.pages[0]["/Annots"][0].get_object()
    stream = widget["/AP"]["/N"].get_object()
    return stream.get_data(), widget


async def test_stamp_for_a_long_vietnamese_name_validates_renders_and_scans(
    pki: DemoPki, tmp_path: Path
) -> None:
    sealer = Sealer(pki.key_store)
    credential = pki.agency_seal("UBND-PBD", LONG_NAME)
    stamp = VisibleStamp(verification_url=URL)

    signed = await sealer.seal(make_pdf(["Giay khai sinh"]), credential, level="B-B", stamp=stamp)

    reader = PdfFileReader(BytesIO(signed))
    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0], validation_context(pki.validation_material())
    )
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert b"/FontFile2" in signed

    # The name wraps inside the box: every text line starts at the same x, within it.
    content, widget = _appearance(signed)
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    positions = [
        tuple(float(v) for v in line.split(b" Tm")[0].split()[-2:])
        for line in content.split(b"BT ")[1:]
    ]
    assert len(positions) >= 3  # heading + name wrapped over lines + time
    assert all(0 < x < x2 - x1 and 0 < y < y2 - y1 for x, y in positions)

    # Rendered page: text legible (pdftotext finds it, words normally spaced) and the
    # QR code decodes back to the verification URL.
    pdf_path = tmp_path / "stamp.pdf"
    pdf_path.write_bytes(signed)
    text = subprocess.run(
        ["pdftotext", "-layout", pdf_path, "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Ký số bởi: Ủy ban nhân dân" in text, text
    assert "Hà Nội" in text and "Thời gian:" in text, text
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", "-f", "1", "-l", "1", pdf_path, tmp_path / "page"],
        check=True,
    )
    page_png = next(tmp_path.glob("page*.png"))
    OUTPUT_DIR.mkdir(exist_ok=True)
    (OUTPUT_DIR / "stamp.png").write_bytes(page_png.read_bytes())

    try:
        import zxingcpp  # type: ignore[import-not-found]
        from PIL import Image
    except ImportError:
        # No QR decoder here: check that segno's matrix is what was drawn instead.
        matrix = qr_matrix(URL)
        first_row = matrix[0]
        run = first_row.index(0) if 0 in first_row else len(first_row)
        assert b"0 %d %d 1 re" % (len(matrix) - 1, run) in content
        return
    image = Image.open(page_png)
    scale = DPI / 72
    height = image.height
    crop = image.crop(
        (int(x1 * scale), int(height - y2 * scale), int(x2 * scale), int(height - y1 * scale))
    )
    decoded = [r.text for r in zxingcpp.read_barcodes(crop)]
    assert decoded == [URL]


@pytest.mark.parametrize("level", ["B-B", "B-LTA"])
async def test_stamp_shows_the_signing_time_in_vietnam_and_the_seal_stays_valid(
    sealer: Sealer, pki: DemoPki, level: PadesLevel, tmp_path: Path
) -> None:
    stamp = VisibleStamp(verification_url=URL, signer="Nguyễn Thị Minh Khai")
    credential = pki.agency_seal("000.00.01.H29", "Sở Tư pháp thành phố Hà Nội")

    signed = await sealer.seal(make_pdf(["x"]), credential, level=level, stamp=stamp)

    reader = PdfFileReader(BytesIO(signed))
    status = await async_validate_pdf_signature(
        reader.embedded_signatures[0], validation_context(pki.validation_material())
    )
    assert status.bottom_line
    assert status.signer_reported_dt is not None
    local = status.signer_reported_dt.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    text = subprocess.run(
        ["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Ký số bởi: Nguyễn Thị Minh Khai" in text, text
    assert f"Thời gian: {local:%d/%m/%Y %H:%M}" in text, text


async def test_sealing_5mb_holds_at_most_input_plus_output(sealer: Sealer, pki: DemoPki) -> None:
    credential = pki.agency_seal("000.00.01.H29", "Sở Tư pháp thành phố Hà Nội")
    pdf = make_pdf(["x"], padding=5_000_000)
    await sealer.seal(make_pdf(["warm up"]), credential, level="B-B")

    tracemalloc.start()
    try:
        signed = await sealer.seal(pdf, credential, level="B-B")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert signed.startswith(pdf)
    # Note: ``pdf`` existed before tracing began, so the peak counts only new
    # allocations: the output (one copy plus the signature) and pyHanko's own objects.
    assert peak <= 1.05 * len(pdf), f"peak {peak} = {peak / len(pdf):.3f} x input"
