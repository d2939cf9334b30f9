"""The document page's preview over HTTP: a PDF in a frame of this site (the browser's
viewer), an image as an image, a link to open it full page; only the preview response
may be framed, and only by this site."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.web.test_citizen_pages import signed_in_citizen
from vault.db import AuditRow

pytestmark = pytest.mark.usefixtures("cheap_passwords")


def frame_ancestors(csp: str) -> str:
    found = re.search(r"frame-ancestors ([^;]+)", csp)
    assert found is not None, csp
    return found.group(1).strip()


async def test_a_pdf_is_previewed_in_a_frame_only_this_site_may_show(client, services):
    _, api = await signed_in_citizen(client, services)
    content = f.pdf("Giay khai sinh")
    doc = await f.upload(client, api, content, title="Giấy khai sinh")

    page = await client.get(f"/documents/{doc['id']}")
    assert page.status_code == 200
    frame = re.search(r'<iframe class="preview-frame" src="([^"]+)" title="([^"]+)"', page.text)
    assert frame is not None, page.text
    assert frame.group(1) == f"/documents/{doc['id']}/preview"
    assert frame.group(2) == "Xem trước: Giấy khai sinh"
    assert f'<a href="/documents/{doc["id"]}/preview">Mở toàn trang' in page.text  # fallback
    # the page itself is never framed
    assert frame_ancestors(page.headers["content-security-policy"]) == "'none'"
    assert page.headers["x-frame-options"] == "DENY"

    r = await client.get(frame.group(1))
    assert r.status_code == 200 and r.content == content
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == "inline"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    csp = r.headers["content-security-policy"]
    assert frame_ancestors(csp) == "'self'" and "default-src 'none'" in csp
    assert "script-src" not in csp  # nothing may run: default-src 'none' covers it
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
    # the download stays an attachment that cannot be framed
    dl = await client.get(f"/documents/{doc['id']}/download")
    assert dl.headers["content-disposition"].startswith("attachment")
    assert dl.headers["x-frame-options"] == "DENY"
    # each view is in the owner's own audit chain
    async with services.database.read() as s:
        actions = (
            await s.scalars(
                select(AuditRow.action).where(AuditRow.document_id == uuid.UUID(doc["id"]))
            )
        ).all()
    assert "document_viewed" in actions


async def test_an_image_is_previewed_as_an_image_with_its_title(client, services):
    _, api = await signed_in_citizen(client, services)
    doc = await f.upload(client, api, f.png(), title="Ảnh căn cước", filename="cccd.png")
    page = await client.get(f"/documents/{doc['id']}?lang=en")
    assert (
        f'<img class="preview-image" src="/documents/{doc["id"]}/preview" '
        'alt="Image of the paper “Ảnh căn cước”">' in page.text
    )
    assert "<iframe" not in page.text
    r = await client.get(f"/documents/{doc['id']}/preview")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content == f.png()


async def test_the_preview_is_the_owners_alone(client, services):
    _, api = await signed_in_citizen(client, services)
    other_pid, _ = await f.citizen(services)
    theirs = await f.upload(client, await f.login(client, other_pid), f.pdf("theirs"))
    mine = await f.upload(client, api, f.pdf("mine"))
    for path in (
        f"/documents/{theirs['id']}/preview",
        f"/documents/{uuid.uuid4()}/preview",
        "/documents/not-a-uuid/preview",
    ):
        r = await client.get(path)
        assert r.status_code == 404 and "Không tìm thấy" in r.text, path
    client.cookies.delete("kho_session")
    r = await client.get(f"/documents/{mine['id']}/preview")
    assert r.status_code == 303
    assert r.headers["location"] == f"/sign-in?next=/documents/{mine['id']}/preview"
