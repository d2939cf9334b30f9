"""Procedures and filings over HTTP: the citizen's draft-to-submit loop, the agency's
inbox and signed result, the reuse rate, and bad input (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from kho.demo import AGENCIES
from kho.registry_cli import register_agency_issuer
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from vault.db import OutboxRow

pytestmark = pytest.mark.usefixtures("cheap_passwords")

PROC = "judicial_record_certificate"  # received by STP-HN; needs citizen_id and residence
FILINGS = "/api/v1/filings"
INBOX = "/api/v1/agency/filings"
FORM = {
    "phone": "0912 345 678",
    "birth_date": "1990-05-17",
    "form_number": "1",
    "purpose": "Bổ sung hồ sơ xin việc",
    "copies": "1",
}
SEEDED = {
    "birth_registration",
    "marriage_registration",
    "judicial_record_certificate",
    "driving_licence_renewal",
    "permanent_residence_registration",
    "health_insurance_renewal",
    "business_household_registration",
    "certified_copy_request",
}


async def _citizen(services, client, name: str = "Nguyễn Thị Lan"):
    pid, password = await f.citizen(services, name)
    return await f.login(client, pid, password), pid


async def _draft(client, headers) -> dict[str, Any]:
    r = await client.post(FILINGS, headers=headers, json={"procedure_code": PROC})
    assert r.status_code == 201, r.text
    return r.json()


def _paper(filing: dict[str, Any], doc_type: str) -> dict[str, Any] | None:
    return next((p for p in filing["papers"] if p["doc_type"] == doc_type), None)


async def _submitted(services, client) -> tuple[dict[str, Any], dict[str, str], str]:
    """A filing for PROC: citizen_id issued into the vault beforehand (reused), the
    residence paper uploaded after the draft was made (uploaded); submitted."""
    headers, pid = await _citizen(services, client)
    issuer, _ = await f.agency_headers(services, client)
    await f.deposit(client, issuer, pid, doc_type="citizen_id", title="Căn cước công dân")
    draft = await _draft(client, headers)
    residence = await f.upload(client, headers, f.pdf("Xac nhan cu tru"), doc_type="residence")
    r = await client.put(
        f"{FILINGS}/{draft['id']}/documents/residence",
        headers=headers,
        json={"document_id": residence["id"]},
    )
    assert r.status_code == 200, r.text
    r = await client.patch(f"{FILINGS}/{draft['id']}/form", headers=headers, json={"values": FORM})
    assert r.status_code == 200, r.text
    r = await client.post(f"{FILINGS}/{draft['id']}/submit", headers=headers)
    assert r.status_code == 200, r.text
    return r.json(), headers, pid


# -- the catalogue --------------------------------------------------------------------


async def test_the_catalogue_is_public_and_names_demo_agencies(client):
    r = await client.get("/api/v1/procedures")

    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert {p["code"] for p in items} >= SEEDED
    demo_codes = {code for code, _ in AGENCIES}
    assert {p["agency_code"] for p in items} <= demo_codes
    for p in items:
        assert p["name_vi"] and p["name_en"] and p["required_types"], p
        prefilled = {fld["prefill"] for fld in p["form"] if fld.get("prefill")}
        assert prefilled == {"name", "personal_id"}, p
    one = await client.get(f"/api/v1/procedures/{PROC}")
    assert one.status_code == 200
    assert one.json()["required_types"] == ["citizen_id", "residence"]
    assert one.json()["agency_code"] == "STP-HN"
    f.assert_problem(await client.get("/api/v1/procedures/no_such_thing"), 404, "not-found")


# -- the citizen ----------------------------------------------------------------------


async def test_a_draft_reuses_the_vault_and_submission_lists_what_is_missing(client, services):
    headers, pid = await _citizen(services, client, "Trần Văn Minh")
    issuer, issuer_code = await f.agency_headers(services, client)
    card = (await f.deposit(client, issuer, pid, doc_type="citizen_id", title="CCCD")).json()
    await f.upload(client, headers, f.png(), filename="cccd.png", doc_type="citizen_id")

    draft = await _draft(client, headers)

    assert draft["status"] == "draft"
    assert draft["agency_code"] == "STP-HN"
    assert draft["form_values"] == {"full_name": "Trần Văn Minh", "personal_id": pid}
    card_paper = _paper(draft, "citizen_id")
    assert card_paper["document_id"] == card["id"]  # issued beats the newer photo
    assert card_paper["origin"] == "vault"
    assert card_paper["document"]["issuer"]["code"] == issuer_code
    assert draft["missing_documents"] == ["residence"]

    r = await client.post(f"{FILINGS}/{draft['id']}/submit", headers=headers)
    body = f.assert_problem(r, 422, "filing-incomplete")
    assert body["missing_documents"] == ["residence"]
    assert set(body["missing_fields"]) == set(FORM)

    listed = await client.get(FILINGS, headers=headers)
    assert [i["id"] for i in listed.json()["items"]] == [draft["id"]]


async def test_papers_are_replaced_and_removed_and_the_reuse_is_counted(client, services):
    filing, headers, _ = await _submitted(services, client)

    assert filing["status"] == "received"
    assert filing["reuse"] == {"required": 2, "reused": 1, "uploaded": 1}
    assert _paper(filing, "residence")["origin"] == "upload"
    assert [e["status"] for e in filing["events"]] == ["draft", "received"]
    # once submitted the citizen cannot change it
    r = await client.delete(f"{FILINGS}/{filing['id']}/documents/residence", headers=headers)
    f.assert_problem(r, 409, "filing-locked")

    draft = await _draft(client, headers)  # a second filing reuses both papers now
    assert draft["missing_documents"] == []
    assert {p["origin"] for p in draft["papers"]} == {"vault"}
    r = await client.delete(f"{FILINGS}/{draft['id']}/documents/residence", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["missing_documents"] == ["residence"]


async def test_another_owners_documents_and_filings_are_404(client, services):
    filing, _, _ = await _submitted(services, client)
    mine, _ = await _citizen(services, client, "Người khác")
    theirs_doc = _paper(filing, "residence")["document_id"]
    my_draft = await _draft(client, mine)

    r = await client.put(
        f"{FILINGS}/{my_draft['id']}/documents/residence",
        headers=mine,
        json={"document_id": theirs_doc},
    )
    f.assert_problem(r, 404, "not-found")
    for method, path, body in [
        ("GET", f"{FILINGS}/{filing['id']}", None),
        ("POST", f"{FILINGS}/{filing['id']}/submit", None),
        ("PATCH", f"{FILINGS}/{filing['id']}/form", {"values": {"phone": "0912345678"}}),
        ("DELETE", f"{FILINGS}/{filing['id']}/documents/residence", None),
    ]:
        r = await client.request(method, path, headers=mine, json=body)
        f.assert_problem(r, 404, "not-found")
    assert (await client.get(FILINGS, headers=mine)).json()["items"][0]["id"] == my_draft["id"]


# -- the receiving agency -------------------------------------------------------------


async def test_the_agency_round_trip_ends_with_a_signed_result_in_the_vault(client, services):
    stp, _ = await f.agency_headers(services, client, code="STP-HN")
    await register_agency_issuer(services, "STP-HN", "Sở Tư pháp", ["judicial_record"])
    headers, pid = await _citizen(services, client)
    draft = await _draft(client, headers)
    assert (await client.get(INBOX, headers=stp)).json()["items"] == []  # drafts are private
    f.assert_problem(await client.get(f"{INBOX}/{draft['id']}", headers=stp), 404)
    filing, headers, pid = await _submitted(services, client)
    fid = filing["id"]

    inbox = await client.get(INBOX, headers=stp, params={"status": "received"})
    assert [i["id"] for i in inbox.json()["items"]] == [fid]
    assert inbox.json()["items"][0]["applicant"]["personal_id"] == pid
    assert (await client.get(INBOX, headers=stp, params={"status": "done"})).json()["items"] == []

    detail = await client.get(f"{INBOX}/{fid}", headers=stp)
    assert detail.status_code == 200, detail.text
    reports = {p["doc_type"]: p["report"] for p in detail.json()["papers"]}
    assert set(reports) == {"citizen_id", "residence"}
    assert all(rep["verdict"] in {"passed", "failed", "indeterminate"} for rep in reports.values())

    residence = _paper(filing, "residence")["document_id"]
    r = await client.get(f"{INBOX}/{fid}/documents/{residence}/content", headers=stp)
    assert r.status_code == 200, r.text
    assert r.content == f.pdf("Xac nhan cu tru")
    audit = (await client.get("/api/v1/audit", headers=headers)).json()["items"]
    fetched = [e for e in audit if e["action"] == "filing_document_fetched"]
    assert len(fetched) == 1
    assert fetched[0]["actor"]["id"] == "STP-HN"
    assert fetched[0]["detail"]["filing_id"] == fid
    # and "who looked at my data" shows the agency's fetch
    log = (await client.get("/api/v1/access-log?agency=STP-HN", headers=headers)).json()
    assert "filing_document_fetched" in [e["action"] for e in log["items"]]
    other = await f.upload(client, headers, f.pdf("khong lien quan"))
    r = await client.get(f"{INBOX}/{fid}/documents/{other['id']}/content", headers=stp)
    f.assert_problem(r, 404, "not-found")  # not a paper of this filing

    r = await client.post(f"{INBOX}/{fid}/status", headers=stp, json={"status": "processing"})
    assert r.status_code == 200, r.text
    r = await client.post(f"{INBOX}/{fid}/status", headers=stp, json={"status": "processing"})
    f.assert_problem(r, 409, "invalid-status-transition")

    before = await f.document_count(services)
    r = await client.post(
        f"{INBOX}/{fid}/result",
        headers=stp,
        data={"sign": "true", "title": "Phiếu lý lịch tư pháp số 1", "note": "Đã cấp"},
        files={"file": ("lltp.pdf", f.pdf("Phieu ly lich tu phap"), "application/pdf")},
    )

    assert r.status_code == 201, r.text
    done = r.json()
    assert done["status"] == "done"
    assert done["status_note"] == "Đã cấp"
    assert await f.document_count(services) == before + 1
    mine = await client.get(f"{FILINGS}/{fid}", headers=headers)
    assert mine.json()["status"] == "done"
    assert mine.json()["result_document_id"] == done["result_document_id"]
    result = (
        await client.get(f"/api/v1/documents/{done['result_document_id']}", headers=headers)
    ).json()
    assert (result["provenance"], result["doc_type"]) == ("issued", "judicial_record")
    assert result["issuer"]["code"] == "STP-HN"
    assert result["issuer_status"] == "active"
    report = await client.get(
        f"/api/v1/documents/{done['result_document_id']}/verification", headers=headers
    )
    assert report.json()["verdict"] == "passed", report.text
    r = await client.get(
        f"{INBOX}/{fid}/documents/{done['result_document_id']}/content", headers=stp
    )
    assert r.status_code == 200
    r = await client.post(
        f"{INBOX}/{fid}/result",
        headers=stp,
        data={"sign": "true"},
        files={"file": ("lltp.pdf", f.pdf("lan hai"), "application/pdf")},
    )
    f.assert_problem(r, 409, "invalid-status-transition")
    assert await f.document_count(services) == before + 1

    async with services.database.read() as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
    changes = [r.payload for r in rows if r.kind == "filing.status_changed"]
    assert [c["status"] for c in changes] == ["received", "processing", "done"]
    assert changes[-1]["result_document_id"] == done["result_document_id"]


async def test_an_unsigned_result_is_refused_and_leaves_nothing(client, services):
    stp, _ = await f.agency_headers(services, client, code="STP-HN")
    filing, _, _ = await _submitted(services, client)
    before = await f.document_count(services)

    r = await client.post(
        f"{INBOX}/{filing['id']}/result",
        headers=stp,
        data={"title": "Phiếu"},
        files={"file": ("lltp.pdf", f.pdf("chua ky"), "application/pdf")},
    )

    f.assert_problem(r, 422, "result-unsigned")
    assert await f.document_count(services) == before
    assert (await client.get(f"{INBOX}/{filing['id']}", headers=stp)).json()["status"] == (
        "received"
    )


async def test_other_agencies_and_wrong_tokens_cannot_reach_a_filing(client, services):
    await f.agency_headers(services, client, code="STP-HN")
    filing, citizen, _ = await _submitted(services, client)
    paper = filing["papers"][0]["document_id"]
    other, _ = await f.agency_headers(services, client, code="UBND-PBD")
    narrow, _ = await f.agency_headers(services, client, scopes="deposit")
    fid = filing["id"]

    assert (await client.get(INBOX, headers=other)).json()["items"] == []
    for method, path, kwargs in [
        ("GET", f"{INBOX}/{fid}", {}),
        ("GET", f"{INBOX}/{fid}/documents/{paper}/content", {}),
        ("POST", f"{INBOX}/{fid}/status", {"json": {"status": "processing"}}),
        (
            "POST",
            f"{INBOX}/{fid}/result",
            {"data": {"sign": "true"}, "files": {"file": ("r.pdf", f.pdf(), "application/pdf")}},
        ),
    ]:
        r = await client.request(method, path, headers=other, **kwargs)
        f.assert_problem(r, 404, "not-found")
        r = await client.request(method, path, headers=narrow, **kwargs)
        f.assert_problem(r, 403, "insufficient-scope")
        r = await client.request(method, path, headers=citizen, **kwargs)
        f.assert_problem(r, 403, "insufficient-scope")
    r = await client.post(FILINGS, headers=other, json={"procedure_code": PROC})
    f.assert_problem(r, 403, "insufficient-scope")
    f.assert_problem(await client.get(FILINGS), 401)


# -- the reuse rate -------------------------------------------------------------------


async def test_reuse_stats_are_public_aggregates(client, services):
    await _submitted(services, client)
    await _submitted(services, client)
    headers, _ = await _citizen(services, client)
    await _draft(client, headers)  # drafts do not count

    r = await client.get("/api/v1/stats/reuse")

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["overall"] == {
        "filings": 2,
        "required": 4,
        "reused": 2,
        "uploaded": 2,
        "rate": 0.5,
    }
    assert body["by_procedure"][PROC]["rate"] == 0.5
    assert body["by_agency"]["STP-HN"]["filings"] == 2
    assert "personal_id" not in r.text
    past = await client.get(
        "/api/v1/stats/reuse", params={"from": "2000-01-01", "to": "2000-02-01"}
    )
    assert past.json()["overall"]["filings"] == 0
    assert past.json()["from"].startswith("2000-01-01T00:00:00")


# -- bad input ------------------------------------------------------------------------


async def test_bad_input_is_a_precise_4xx_problem(client, services):
    stp, _ = await f.agency_headers(services, client, code="STP-HN")
    await register_agency_issuer(services, "STP-HN", "Sở Tư pháp", ["judicial_record"])
    filing, headers, _ = await _submitted(services, client)
    draft = await _draft(client, headers)
    fid, did = filing["id"], draft["id"]
    nobody = str(uuid.uuid4())
    cases: list[tuple[str, str, dict[str, Any], dict[str, str], int, str | None]] = [
        ("POST", FILINGS, {"json": {}}, headers, 400, None),
        ("POST", FILINGS, {"json": {"procedure_code": 5}}, headers, 400, None),
        ("POST", FILINGS, {"json": {"procedure_code": "x" * 65}}, headers, 400, None),
        ("POST", FILINGS, {"json": {"procedure_code": "nope"}}, headers, 422, "invalid-input"),
        ("POST", FILINGS, {"json": {"procedure_code": PROC, "x": 1}}, headers, 400, None),
        ("POST", FILINGS, {"content": b"{not json"}, headers, 400, None),
        ("GET", f"{FILINGS}/not-a-uuid", {}, headers, 404, "not-found"),
        ("GET", f"{FILINGS}/{nobody}", {}, headers, 404, "not-found"),
        ("GET", FILINGS, {"params": {"limit": "0"}}, headers, 400, None),
        ("GET", FILINGS, {"params": {"cursor": "!!!"}}, headers, 422, "invalid-input"),
        (
            "PUT",
            f"{FILINGS}/{did}/documents/residence",
            {"json": {"document_id": "x"}},
            headers,
            400,
            None,
        ),
        (
            "PUT",
            f"{FILINGS}/{did}/documents/residence",
            {"json": {"document_id": nobody}},
            headers,
            404,
            "not-found",
        ),
        (
            "PUT",
            f"{FILINGS}/{did}/documents/diploma",
            {"json": {"document_id": nobody}},
            headers,
            422,
            "invalid-input",
        ),
        (
            "PUT",
            f"{FILINGS}/{did}/documents/residence",
            {"json": {"document_id": _paper(filing, "citizen_id")["document_id"]}},
            headers,
            422,
            "paper-not-usable",
        ),
        (
            "PATCH",
            f"{FILINGS}/{did}/form",
            {"json": {"values": {"birth_date": "17/5/1990"}}},
            headers,
            422,
            "invalid-input",
        ),
        ("PATCH", f"{FILINGS}/{did}/form", {"json": {"values": "x"}}, headers, 400, None),
        ("PATCH", f"{FILINGS}/{did}/form", {"json": {"values": {"a": 1}}}, headers, 400, None),
        ("POST", f"{FILINGS}/{fid}/submit", {}, headers, 409, "filing-locked"),
        ("GET", INBOX, {"params": {"status": "bogus"}}, stp, 400, None),
        ("GET", f"{INBOX}/{nobody}", {}, stp, 404, "not-found"),
        ("GET", f"{INBOX}/{fid}/documents/nope/content", {}, stp, 404, "not-found"),
        ("POST", f"{INBOX}/{fid}/status", {"json": {"status": "received"}}, stp, 400, None),
        ("POST", f"{INBOX}/{fid}/status", {"json": {"status": "done"}}, stp, 409, None),
        (
            "POST",
            f"{INBOX}/{fid}/status",
            {"json": {"status": "processing", "note": "x" * 1001}},
            stp,
            400,
            None,
        ),
        ("POST", f"{INBOX}/{fid}/result", {"content": b"x"}, stp, 400, None),
        (
            "POST",
            f"{INBOX}/{fid}/result",
            {"data": {"sign": "maybe"}, "files": {"file": ("r.pdf", f.pdf(), "application/pdf")}},
            stp,
            422,
            "invalid-input",
        ),
        (
            "POST",
            f"{INBOX}/{fid}/result",
            {"data": {"sign": "true"}, "files": {"file": ("r.png", f.png(), "image/png")}},
            stp,
            415,
            None,
        ),
        ("GET", "/api/v1/stats/reuse", {"params": {"from": "yesterday"}}, {}, 422, "invalid-input"),
        (
            "GET",
            "/api/v1/stats/reuse",
            {"params": {"from": "2026-02-01", "to": "2026-01-01"}},
            {},
            422,
            "invalid-input",
        ),
    ]
    wrong = []
    for method, path, kwargs, auth, status, slug in cases:
        r = await client.request(method, path, headers=auth, **kwargs)
        ok = r.status_code == status and r.headers["content-type"].startswith(
            "application/problem+json"
        )
        if ok and slug is not None:
            ok = r.json()["type"] == f"urn:kho:problem:{slug}"
        if not ok:
            wrong.append((method, path, status, r.status_code, r.text[:200]))
    assert wrong == []
    assert (await client.get(f"{INBOX}/{fid}", headers=stp)).json()["status"] == "received"
