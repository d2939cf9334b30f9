"""Certified electronic copies made at a one-stop counter."""

from __future__ import annotations

import io
from io import BytesIO
from uuid import UUID

import pytest
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pypdf import PdfReader

from signing.pades import validation_context
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from vault import Actor, ActorType

pytestmark = pytest.mark.usefixtures("cheap_passwords")

URL = "/api/v1/counter/certified-copies"


def jpeg_page(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 170), color).save(out, "JPEG", quality=90)
    return out.getvalue()


def png_page(mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (120, 170), (10, 120, 60, 128)[: len(mode)]).save(out, "PNG")
    return out.getvalue()


FORM = {
    "doc_type": "diploma",
    "title": "Bằng tốt nghiệp đại học (bản sao chứng thực)",
    "official_id": "CB-0042",
    "official_name": "Phạm Minh Đức",
}


async def _post(client, headers, pid, files):
    if not files:  # httpx would send a urlencoded form; send a multipart one with no file
        fields = {"personal_id": pid, **FORM}
        body = f.multipart([(k, v.encode(), None) for k, v in fields.items()])
        return await client.post(URL, headers=f.multipart_headers(headers), content=body)
    return await client.post(URL, headers=headers, data={"personal_id": pid, **FORM}, files=files)


async def test_page_images_become_one_pdf_signed_by_the_official(client, services):
    headers, code = await f.agency_headers(services, client, scopes="deposit,certify")
    pid = f.personal_id()
    pages = [jpeg_page((200, 30, 30)), png_page(), jpeg_page((30, 30, 200))]
    r = await _post(
        client,
        headers,
        pid,
        [("file", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate(pages)],
    )
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["provenance"] == "certified_copy"
    assert doc["issuer"]["code"] == code
    assert doc["content_type"] == "application/pdf"

    owner = await f.owner_row(services, pid)
    stream = await services.vault.open_content(
        owner.id, UUID(doc["id"]), Actor(type=ActorType.OPERATOR)
    )
    pdf = b"".join([c async for c in stream.chunks])
    assert len(PdfReader(BytesIO(pdf)).pages) == 3
    [sig] = PdfFileReader(BytesIO(pdf)).embedded_signatures
    status = await async_validate_pdf_signature(
        sig, validation_context(services.signing.pki.validation_material())
    )
    assert status.intact and status.valid and status.trusted
    subject = status.signing_cert.subject.native
    assert subject["common_name"] == "Phạm Minh Đức"
    assert subject["serial_number"] == "CB-0042"
    assert subject["organizational_unit_name"] == code


async def test_a_scanned_pdf_is_signed_as_it_is(client, services):
    headers, _ = await f.agency_headers(services, client, scopes="certify")
    scan = f.pdf("scan of the original")
    r = await _post(
        client, headers, f.personal_id(), [("file", ("scan.pdf", scan, "application/pdf"))]
    )
    assert r.status_code == 201, r.text


async def test_scope_certify_is_required(client, services):
    headers, _ = await f.agency_headers(services, client)  # deposit, request, revoke
    r = await _post(
        client, headers, f.personal_id(), [("file", ("p.jpg", jpeg_page((1, 2, 3)), "image/jpeg"))]
    )
    f.assert_problem(r, 403, "insufficient-scope")


@pytest.mark.parametrize(
    ("files", "status", "slug"),
    [
        ([], 422, "invalid-input"),
        ([("file", ("x.txt", b"plain text", "text/plain"))], 415, "unsupported-media-type"),
        ([("file", ("a.jpg", f.jpeg(), "image/jpeg"))], 422, "scan-unusable"),
        (
            [
                ("file", ("a.pdf", f.pdf("a"), "application/pdf")),
                ("file", ("b.jpg", jpeg_page((9, 9, 9)), "image/jpeg")),
            ],
            422,
            "invalid-input",
        ),
    ],
)
async def test_bad_scans_are_refused_and_leave_nothing(client, services, files, status, slug):
    headers, _ = await f.agency_headers(services, client, scopes="certify")
    pid = f.personal_id()
    r = await _post(client, headers, pid, files)
    f.assert_problem(r, status, slug)
    assert await f.document_count(services) == 0
    assert await f.owner_row(services, pid) is None
