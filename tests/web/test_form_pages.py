"""The citizen's form pages over HTTP: upload (streamed into the vault, nothing left on
failure), agencies' requests (approve with suggestions, deny) and filings (start, attach,
fill, submit); redirects when signed out, CSRF, another owner's things 404, bad input
answered with an error summary and a 4xx."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from kho.app import Services
from sharing.filings import FilingStatus, Origin
from sharing.models import RequestStatus
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.web.test_citizen_pages import csrf, signed_in_citizen
from vault import Actor, ActorType, Agency, DocumentFilter, Provenance

pytestmark = pytest.mark.usefixtures("cheap_passwords")

JUDICIAL = "judicial_record_certificate"  # STP-HN: citizen_id and residence
OWNER = Actor(type=ActorType.OWNER)


async def _once(data: bytes) -> Any:
    yield data


async def _owner_id(services: Services, pid: str) -> UUID:
    return (await f.owner_row(services, pid)).id  # type: ignore[no-any-return]


async def _doc(services: Services, owner_id: UUID, doc_type: str, title: str) -> Any:
    return await services.vault.add_document(
        owner_id,
        title=title,
        chunks=_once(f.pdf(title)),
        actor=OWNER,
        filename="x.pdf",
        doc_type=doc_type,
        provenance=Provenance.UPLOADED,
    )


async def _agency(services: Services, code: str) -> Agency:
    return (await services.accounts.create_agency(code, f"Cơ quan {code}")).agency


async def _ask(services: Services, agency: Agency, pid: str, types: list[str]) -> Any:
    return await services.requests.create(
        agency,
        pid,
        types,
        "Đăng ký thường trú",
        datetime.now(UTC) + timedelta(days=7),
        Actor(type=ActorType.AGENCY, id=agency.code, name=agency.name),
    )


def _summary(text: str) -> str:
    found = re.search(r'<div class="error-summary".*?</div>', text, re.S)
    assert found is not None, text[:3000]
    return found.group(0)


async def _upload(
    client: httpx.AsyncClient,
    content: bytes,
    *,
    filename: str = "giay.pdf",
    media: str = "application/pdf",
    token: str | None = None,
    **fields: str,
) -> httpx.Response:
    data = {"title": "", "doc_type": "", **fields}
    if token is not False:
        data["_csrf_token"] = token or await csrf(client, "/upload")
    return await client.post("/upload", data=data, files={"file": (filename, content, media)})


# -- signed out, CSRF -------------------------------------------------------------------


async def test_signed_out_pages_redirect_and_forms_need_csrf(client, services):
    for path in ("/upload", "/requests", f"/requests/{uuid.uuid4()}", "/procedures", "/filings"):
        r = await client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/sign-in?next=" + path), r.headers
    await signed_in_citizen(client, services)
    before = await f.document_count(services)
    # multipart without the token (a text part: Litestar leaves a refused file part's
    # spooled temp file to the garbage collector)
    r = await client.post("/upload", files={"title": (None, "x"), "doc_type": (None, "")})
    assert r.status_code == 403
    r = await client.post("/filings", data={"procedure": JUDICIAL})
    assert r.status_code == 403
    assert await f.document_count(services) == before


# -- upload -----------------------------------------------------------------------------


async def test_upload_page_offers_camera_types_and_progress(client, services):
    await signed_in_citizen(client, services)
    r = await client.get("/upload?doc_type=residence")
    assert r.status_code == 200
    assert 'accept="image/*,application/pdf"' in r.text and "capture" in r.text
    assert 'enctype="multipart/form-data"' in r.text and "<progress" in r.text
    assert '<option value="residence" selected>' in r.text
    assert 'src="/static/upload.js"' in r.text
    en = await client.get("/upload?lang=en")
    assert "Upload a paper" in en.text and "Xác nhận thông tin về cư trú" not in en.text


async def test_upload_streams_into_the_vault_and_opens_the_document(client, services):
    pid, _ = await signed_in_citizen(client, services)
    content = f.pdf("giay xac nhan", padding=1_500_000)  # many chunks, spooled to disk
    r = await _upload(client, content, title="Giấy xác nhận cư trú", doc_type="residence")
    assert r.status_code == 303, r.text
    doc_id = UUID(r.headers["location"].split("/")[2].split("?")[0])
    doc = await services.vault.get_document(await _owner_id(services, pid), doc_id)
    assert (doc.title, doc.doc_type, doc.provenance) == (
        "Giấy xác nhận cư trú",
        "residence",
        Provenance.UPLOADED,
    )
    assert doc.size == len(content)
    page = await client.get(r.headers["location"])
    assert page.status_code == 200 and "Giấy xác nhận cư trú" in page.text
    # no title: the file's name stands in
    r = await _upload(client, f.png(), filename="the-can-cuoc.png", media="image/png")
    assert r.status_code == 303
    assert f.temp_files(services) == []


@pytest.mark.parametrize(
    ("content", "filename", "media", "status", "message"),
    [
        (b"just some text, not a paper", "note.txt", "text/plain", 415, "Chỉ nhận tệp PDF"),
        (b"", "empty.pdf", "application/pdf", 422, "Tệp trống"),
        # the test settings allow 2 MB
        (f.pdf("big", padding=2_500_000), "big.pdf", "application/pdf", 413, "Tệp quá lớn"),
    ],
)
async def test_a_failed_upload_leaves_nothing_and_says_why(
    client, services, content, filename, media, status, message
):
    await signed_in_citizen(client, services)
    docs, blobs = await f.document_count(services), f.stored_blobs(services)
    r = await _upload(client, content, filename=filename, media=media, title="Thử")
    assert r.status_code == status, r.text[:500]
    assert message in _summary(r.text) and 'href="#file"' in _summary(r.text)
    assert 'value="Thử"' in r.text  # what was typed stays
    assert await f.document_count(services) == docs
    assert f.stored_blobs(services) == blobs and f.temp_files(services) == []


async def test_upload_refuses_a_missing_file_and_an_unknown_type(client, services):
    await signed_in_citizen(client, services)
    docs = await f.document_count(services)
    token = await csrf(client, "/upload")
    r = await client.post("/upload", data={"title": "x", "_csrf_token": token}, files={})
    assert r.status_code in (400, 422), r.text[:300]
    r = await _upload(client, f.pdf(), doc_type="not_a_type", token=token)
    assert r.status_code == 422
    summary = _summary(r.text)
    assert 'href="#doc_type"' in summary and "Hãy chọn một loại giấy tờ" in summary
    assert await f.document_count(services) == docs


# -- requests from agencies -------------------------------------------------------------


async def test_approve_a_request_with_the_suggested_papers(client, services):
    pid, _ = await signed_in_citizen(client, services)
    owner_id = await _owner_id(services, pid)
    cid = await _doc(services, owner_id, "citizen_id", "Căn cước công dân")
    extra = await _doc(services, owner_id, "diploma", "Bằng tốt nghiệp")
    agency = await _agency(services, "CA-TEST")
    asked = await _ask(services, agency, pid, ["citizen_id", "birth_certificate"])
    r = await client.get("/requests")
    assert r.status_code == 200 and "Cơ quan CA-TEST" in r.text
    assert f'href="/requests/{asked.id}"' in r.text and "Đăng ký thường trú" in r.text
    page = await client.get(f"/requests/{asked.id}")
    assert page.status_code == 200
    # Kho's suggestion is ticked; another paper can be picked; a missing type is said
    assert re.search(rf'value="{cid.id}" id="[^"]+" checked', page.text)
    assert re.search(rf'value="{extra.id}" id="[^"]+">', page.text)
    assert "Kho chưa có giấy tờ loại" in page.text
    token = await csrf(client, f"/requests/{asked.id}")
    # nothing ticked: an error summary, nothing shared
    r = await client.post(f"/requests/{asked.id}/approve", data={"_csrf_token": token})
    assert r.status_code == 422 and 'href="#documents"' in _summary(r.text)
    r = await client.post(
        f"/requests/{asked.id}/approve",
        data={"document": [str(cid.id), str(extra.id)], "_csrf_token": token},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=approved")
    req, _ = await services.requests.get_for_owner(owner_id, asked.id)
    assert req.status == RequestStatus.APPROVED and set(req.document_ids) == {cid.id, extra.id}
    done = await client.get(r.headers["location"])
    assert "Bạn đã đồng ý" in done.text and 'href="/shares"' in done.text
    assert 'action="/requests/' not in done.text  # answered: no more buttons
    # answering again is refused plainly
    r = await client.post(f"/requests/{asked.id}/deny", data={"_csrf_token": token})
    assert r.status_code == 409 and "Yêu cầu đã đóng" in r.text


async def test_deny_a_request_with_a_note_and_others_requests_are_404(client, services):
    pid, _ = await signed_in_citizen(client, services)
    owner_id = await _owner_id(services, pid)
    agency = await _agency(services, "CA-DENY")
    asked = await _ask(services, agency, pid, ["citizen_id"])
    other_pid, _ = await f.citizen(services, "Người khác")
    theirs = await _ask(services, agency, other_pid, ["citizen_id"])
    token = await csrf(client, f"/requests/{asked.id}")
    assert (await client.get(f"/requests/{theirs.id}")).status_code == 404
    assert (await client.get("/requests/not-an-id")).status_code == 404
    r = await client.post(f"/requests/{theirs.id}/deny", data={"note": "", "_csrf_token": token})
    assert r.status_code == 404
    r = await client.post(
        f"/requests/{asked.id}/deny", data={"note": "x" * 600, "_csrf_token": token}
    )
    assert r.status_code == 422 and 'href="#note"' in _summary(r.text)
    r = await client.post(
        f"/requests/{asked.id}/deny",
        data={"note": "Tôi sẽ nộp trực tiếp", "_csrf_token": token},
    )
    assert r.status_code == 303
    req, _ = await services.requests.get_for_owner(owner_id, asked.id)
    assert req.status == RequestStatus.DENIED and req.decision_note == "Tôi sẽ nộp trực tiếp"
    other_id = await _owner_id(services, other_pid)
    still, _ = await services.requests.get_for_owner(other_id, theirs.id)
    assert still.status == RequestStatus.PENDING


# -- procedures and filings -------------------------------------------------------------


async def test_start_fill_and_submit_a_filing(client, services):
    pid, _ = await signed_in_citizen(client, services)
    owner_id = await _owner_id(services, pid)
    cid = await _doc(services, owner_id, "citizen_id", "Căn cước công dân")
    r = await client.get("/procedures?lang=en")
    assert r.status_code == 200 and "Judicial record certificate" in r.text
    token = await csrf(client, "/procedures")
    r = await client.post("/filings", data={"procedure": "no_such", "_csrf_token": token})
    assert r.status_code == 422
    r = await client.post("/filings", data={"procedure": JUDICIAL, "_csrf_token": token})
    assert r.status_code == 303
    fid = r.headers["location"].split("/")[2].split("?")[0]
    # the e-form comes prefilled from the profile (a browser sends these fields back)
    prefilled = (await services.filings.get_for_owner(owner_id, UUID(fid))).form_values
    assert prefilled["personal_id"] == pid
    sent = {f"form.{k}": v for k, v in prefilled.items()}
    page = await client.get(f"/filings/{fid}?lang=en")
    assert page.status_code == 200
    assert "Reused from your vault" in page.text and "Căn cước công dân" in page.text
    assert "Missing" in page.text
    assert f'href="/upload?doc_type=residence&amp;filing={fid}"' in page.text
    assert f'name="form.personal_id" value="{pid}"' in page.text
    assert f"/filings/{fid}" in (await client.get("/filings")).text
    # submit too early: every missing thing in the error summary
    r = await client.post(
        f"/filings/{fid}/form",
        data={**sent, "action": "submit", "_csrf_token": token},
    )
    assert r.status_code == 422
    summary = _summary(r.text)
    assert 'href="#paper-residence"' in summary and 'href="#form-phone"' in summary
    # a bad value is refused at its field
    r = await client.post(
        f"/filings/{fid}/form",
        data={"form.phone": "not a phone!", "action": "save", "_csrf_token": token},
    )
    assert r.status_code == 422 and 'href="#form-phone"' in _summary(r.text)
    # the missing paper: uploaded for this filing, attached on the way
    r = await _upload(
        client, f.pdf("cu tru"), title="Xác nhận cư trú", doc_type="residence", filing=fid
    )
    assert r.status_code == 303 and r.headers["location"] == f"/filings/{fid}?attached=1"
    filing = await services.filings.get_for_owner(owner_id, UUID(fid))
    origins = {p.doc_type: (p.origin, p.document_id) for p in filing.papers}
    assert origins["citizen_id"] == (Origin.VAULT, cid.id)
    assert origins["residence"][0] == Origin.UPLOAD
    form = {
        **sent,
        "form.phone": "0912 345 678",
        "form.birth_date": "1990-05-17",
        "form.form_number": "1",
        "form.purpose": "Xin việc",
        "form.copies": "2",
    }
    r = await client.post(
        f"/filings/{fid}/form", data={**form, "action": "submit", "_csrf_token": token}
    )
    assert r.status_code == 303, _summary(r.text)
    filing = await services.filings.get_for_owner(owner_id, UUID(fid))
    assert filing.status == FilingStatus.RECEIVED and filing.form_values["phone"] == "0912 345 678"
    done = await client.get(r.headers["location"])
    assert "Application submitted" in done.text and 'action="/filings/' not in done.text
    # a submitted filing cannot be changed
    r = await client.post(
        f"/filings/{fid}/form", data={**form, "action": "save", "_csrf_token": token}
    )
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("field", "value", "vi", "en"),
    [
        (
            "phone",
            "not a phone!",
            "Số điện thoại: nhập số điện thoại",
            "Phone number: enter a phone",
        ),
        (
            "birth_date",
            "1990-02-31",
            "Ngày sinh: nhập một ngày có thật",
            "Date of birth: enter a real",
        ),
        ("copies", "-2", "Số lượng phiếu: nhập một số, từ 0", "Number of copies: enter a number"),
        ("form_number", "9", "Loại phiếu: chọn một trong các lựa chọn", "Certificate form: choose"),
        (
            "email",
            "an-at-example",
            "Thư điện tử: nhập địa chỉ thư điện tử",
            "Email: enter an email",
        ),
        ("full_name", "a\x07b", "chỉ nhập một dòng chữ", "enter one line of text"),
    ],
)
async def test_a_bad_e_form_value_is_explained_in_the_pages_language(
    client, services, field, value, vi, en
):
    await signed_in_citizen(client, services)
    token = await csrf(client, "/procedures")
    r = await client.post("/filings", data={"procedure": JUDICIAL, "_csrf_token": token})
    fid = r.headers["location"].split("/")[2].split("?")[0]
    for lang, words in (("vi", vi), ("en", en)):
        r = await client.post(
            f"/filings/{fid}/form?lang={lang}",
            data={f"form.{field}": value, "action": "save", "_csrf_token": token},
        )
        assert r.status_code == 422
        summary = _summary(r.text)
        assert f'href="#form-{field}"' in summary and words in summary, summary
        # the domain's own (English, developer) reason never reaches the page
        assert "must be" not in r.text and "YYYY" not in r.text


async def test_attach_a_vault_paper_and_another_owners_filing_is_404(client, services):
    pid, _ = await signed_in_citizen(client, services)
    owner_id = await _owner_id(services, pid)
    filing = await services.filings.create(owner_id, JUDICIAL)
    later = await _doc(services, owner_id, "residence", "Xác nhận cư trú")
    wrong = await _doc(services, owner_id, "diploma", "Bằng")
    other_pid, _ = await f.citizen(services, "Người khác")
    theirs = await services.filings.create(await _owner_id(services, other_pid), JUDICIAL)
    page = await client.get(f"/filings/{filing.id}")
    pick = re.search(r'<select id="pick-residence".*?</select>', page.text, re.S)
    assert pick is not None and str(later.id) in pick.group(0)
    assert str(wrong.id) not in pick.group(0)  # a diploma is no residence paper
    token = await csrf(client, f"/filings/{filing.id}")
    assert (await client.get(f"/filings/{theirs.id}")).status_code == 404
    r = await client.post(
        f"/filings/{theirs.id}/papers",
        data={"doc_type": "residence", "document": str(later.id), "_csrf_token": token},
    )
    assert r.status_code == 404
    r = await client.post(
        f"/filings/{filing.id}/papers",
        data={"doc_type": "residence", "document": str(wrong.id), "_csrf_token": token},
    )
    assert r.status_code == 422 and 'href="#paper-residence"' in _summary(r.text)
    r = await client.post(
        f"/filings/{filing.id}/papers",
        data={"doc_type": "residence", "document": str(later.id), "_csrf_token": token},
    )
    assert r.status_code == 303
    got = await services.filings.get_for_owner(owner_id, filing.id)
    assert any(p.document_id == later.id for p in got.papers)
    found = await services.vault.list_documents(owner_id, DocumentFilter())
    assert len(found.items) == 2
