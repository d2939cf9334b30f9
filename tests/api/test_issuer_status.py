"""Agencies revoke or supersede what they issued; the citizen sees it on the document."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")


async def _issued(client, services):
    agency, code = await f.agency_headers(services, client)
    pid, password = await f.citizen(services)
    first = (
        await f.deposit(client, agency, pid, f.pdf("v1"), title="Phiếu lý lịch tư pháp")
    ).json()
    citizen = await f.login(client, pid, password)
    return agency, code, pid, citizen, first


async def test_revoke_shows_on_the_document_and_in_the_audit(client, services):
    agency, _, _, citizen, doc = await _issued(client, services)
    r = await client.post(
        f"/api/v1/agency/documents/{doc['id']}/revoke", headers=agency, json={"reason": "Cấp nhầm"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["issuer_status"] == "revoked"
    mine = (await client.get(f"/api/v1/documents/{doc['id']}", headers=citizen)).json()
    assert mine["issuer_status"] == "revoked"
    assert mine["status_reason"] == "Cấp nhầm"
    assert mine["status_changed_at"]
    events = (await client.get("/api/v1/audit", headers=citizen)).json()["items"]
    assert events[0]["action"] == "document_revoked"
    assert events[0]["detail"]["reason"] == "Cấp nhầm"
    again = await client.post(
        f"/api/v1/agency/documents/{doc['id']}/revoke", headers=agency, json={"reason": "x"}
    )
    body = f.assert_problem(again, 409, "status-conflict")
    assert body["issuer_status"] == "revoked"


async def test_supersede_points_to_the_newer_paper(client, services):
    agency, _, pid, citizen, old = await _issued(client, services)
    new = (await f.deposit(client, agency, pid, f.pdf("v2"), title="Phiếu lý lịch tư pháp")).json()
    r = await client.post(
        f"/api/v1/agency/documents/{old['id']}/supersede",
        headers=agency,
        json={"superseded_by": new["id"], "reason": "Cấp lại"},
    )
    assert r.status_code == 200, r.text
    mine = (await client.get(f"/api/v1/documents/{old['id']}", headers=citizen)).json()
    assert mine["issuer_status"] == "superseded"
    assert mine["superseded_by"] == new["id"]
    assert (await client.get(f"/api/v1/documents/{new['id']}", headers=citizen)).json()[
        "issuer_status"
    ] == "active"


async def test_only_the_issuing_agency_can_change_a_paper(client, services):
    _, _, _, citizen, doc = await _issued(client, services)
    other, _ = await f.agency_headers(services, client)
    r = await client.post(
        f"/api/v1/agency/documents/{doc['id']}/revoke", headers=other, json={"reason": "x"}
    )
    f.assert_problem(r, 404, "not-found")
    own = await f.upload(client, citizen, f.pdf("my upload"))
    agency_of_doc, _ = await f.agency_headers(services, client)
    r = await client.post(
        f"/api/v1/agency/documents/{own['id']}/revoke", headers=agency_of_doc, json={"reason": "x"}
    )
    f.assert_problem(r, 404, "not-found")
    r = await client.post(
        f"/api/v1/agency/documents/{doc['id']}/revoke", headers=citizen, json={"reason": "x"}
    )
    f.assert_problem(r, 403, "insufficient-scope")


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "x" * 501}, {"reason": "ok", "extra": 1}],
)
async def test_revoke_needs_a_reason(client, services, body):
    agency, _, _, _, doc = await _issued(client, services)
    r = await client.post(f"/api/v1/agency/documents/{doc['id']}/revoke", headers=agency, json=body)
    assert r.status_code in (400, 422)
    assert r.headers["content-type"] == "application/problem+json"


async def test_supersede_needs_another_active_paper_of_the_same_citizen(client, services):
    agency, _, _, _, doc = await _issued(client, services)
    other_pid, _ = await f.citizen(services)
    stranger = (await f.deposit(client, agency, other_pid, f.pdf("other"))).json()
    for target in (doc["id"], stranger["id"], "01a20994-0000-7000-8000-000000000000"):
        r = await client.post(
            f"/api/v1/agency/documents/{doc['id']}/supersede",
            headers=agency,
            json={"superseded_by": target},
        )
        body = f.assert_problem(r, 422, "invalid-input")
        assert body["field"] == "superseded_by"


async def test_the_wallet_reads_every_field_of_a_paper(client, services):
    """The wallet's listing and a document's page read a narrow row by position: every
    field must be the one the whole row gives (an issued, superseded paper fills them)."""
    from sqlalchemy import select

    from vault import DocumentFilter
    from vault.db import AgencyRow, DocumentRow
    from vault.documents import _to_document

    agency, _, pid, citizen, old = await _issued(client, services)
    new = (await f.deposit(client, agency, pid, f.pdf("v2"), title="Phiếu lý lịch tư pháp")).json()
    r = await client.post(
        f"/api/v1/agency/documents/{old['id']}/supersede",
        headers=agency,
        json={"superseded_by": new["id"], "reason": "Cấp lại"},
    )
    assert r.status_code == 200, r.text
    await f.upload(client, citizen, f.pdf("my upload"))
    owner = await f.owner_row(services, pid)
    async with services.database.read() as session:
        rows = (
            await session.execute(
                select(DocumentRow, AgencyRow)
                .outerjoin(AgencyRow, AgencyRow.id == DocumentRow.issuer_agency_id)
                .where(DocumentRow.owner_id == owner.id)
            )
        ).all()
    whole = {row[0].id: _to_document(row[0], row[1]) for row in rows}
    assert len(whole) == 3
    listed = await services.vault.list_documents(owner.id, DocumentFilter())
    assert {d.id: d for d in listed.items} == whole
    superseded = whole[next(i for i in whole if str(i) == old["id"])]
    assert superseded.superseded_by_id is not None and superseded.status_reason == "Cấp lại"
    for doc_id, doc in whole.items():
        assert await services.vault.get_document(owner.id, doc_id) == doc
