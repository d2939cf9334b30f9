"""Share links, officials, consent requests and the access log, end to end over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select, update

from sharing.db import ShareRow
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from vault.db import OutboxRow

pytestmark = pytest.mark.usefixtures("cheap_passwords")

SHARES = "/api/v1/shares"
DAY = 24 * 3600


async def _citizen_with_docs(services, client, n: int = 2):
    headers = await f.citizen_headers(services, client)
    docs = [
        await f.upload(client, headers, f.pdf(f"paper {i}"), title=f"Giấy {i}") for i in range(n)
    ]
    return headers, docs


async def _share(client, headers, doc_ids, expect: int = 201, **extra):
    body = {"document_ids": doc_ids, "ttl_seconds": DAY, "purpose": "Nộp hồ sơ", **extra}
    r = await client.post(SHARES, headers=headers, json=body)
    assert r.status_code == expect, r.text
    return r.json()


async def _official(services, client, code: str, username: str = "can-bo") -> dict[str, str]:
    await services.accounts.create_official(code, username, "Trần Thị Bình", f.PASSWORD)
    r = await client.post(
        "/api/v1/auth/official-login",
        json={"agency": code, "username": username, "password": f.PASSWORD},
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_share_link_shows_its_documents_with_reports_and_streams_them(client, services):
    headers, docs = await _citizen_with_docs(services, client)
    created = await _share(client, headers, [d["id"] for d in docs])

    assert created["url"].endswith(f"/s/{created['token']}")
    assert created["qr_svg"].lstrip().startswith("<svg")
    assert created["status"] == "active" and created["use_count"] == 0
    digest = hashlib.sha256(created["token"].encode()).hexdigest()
    async with services.database.read() as session:
        row = await session.get(ShareRow, UUID(created["id"]))
        assert row is not None and row.token_hash == digest  # only the hash is kept

    r = await client.get(f"/api/v1/shared/{created['token']}")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    view = r.json()
    assert [d["id"] for d in view["documents"]] == [d["id"] for d in docs]
    assert view["use_count"] == 1 and view["grant"]
    first = view["documents"][0]
    # an unsigned upload: nobody vouches for it
    assert first["verification"]["verdict"] == "indeterminate"
    assert first["provenance"] == "uploaded"

    got = await client.get(first["content_url"])
    assert got.status_code == 200, got.text
    assert got.content == f.pdf("paper 0")
    ranged = await client.get(first["content_url"], headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"%PDF"

    listed = (await client.get(SHARES, headers=headers)).json()["items"]
    assert listed[0]["id"] == created["id"] and listed[0]["use_count"] == 1
    assert "token" not in listed[0]

    png = await client.get(created["qr_png_url"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


async def test_revoked_expired_used_up_unknown_and_deleted(client, services):
    headers, docs = await _citizen_with_docs(services, client, 2)
    ids = [d["id"] for d in docs]

    revoked = await _share(client, headers, ids)
    r = await client.delete(f"{SHARES}/{revoked['id']}", headers=headers)
    assert r.status_code == 204
    body = f.assert_problem(
        await client.get(f"/api/v1/shared/{revoked['token']}"), 410, "share-gone"
    )
    assert body["reason"] == "revoked"

    expired = await _share(client, headers, ids)
    async with services.database.write() as session:
        await session.execute(
            update(ShareRow)
            .where(ShareRow.id == UUID(expired["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    body = f.assert_problem(await client.get(f"/api/v1/shared/{expired['token']}"), 410)
    assert body["reason"] == "expired"

    once = await _share(client, headers, ids, max_uses=1)
    assert (await client.get(f"/api/v1/shared/{once['token']}")).status_code == 200
    body = f.assert_problem(await client.get(f"/api/v1/shared/{once['token']}"), 410)
    assert body["reason"] == "used_up"

    f.assert_problem(
        await client.get(f"/api/v1/shared/{secrets.token_urlsafe(32)}"), 404, "not-found"
    )
    f.assert_problem(await client.get("/api/v1/shared/short"), 404)

    live = await _share(client, headers, ids)
    assert (await client.delete(f"/api/v1/documents/{ids[0]}", headers=headers)).status_code == 204
    view = (await client.get(f"/api/v1/shared/{live['token']}")).json()
    assert [d["id"] for d in view["documents"]] == [ids[1]]
    statuses = {
        s["id"]: s["status"] for s in (await client.get(SHARES, headers=headers)).json()["items"]
    }
    assert statuses[revoked["id"]] == "revoked"
    assert statuses[expired["id"]] == "expired"
    assert statuses[once["id"]] == "used_up"


async def test_one_use_link_opened_by_100_at_once_serves_exactly_one(client, services):
    headers, docs = await _citizen_with_docs(services, client, 1)
    share = await _share(client, headers, [docs[0]["id"]], max_uses=1)
    url = f"/api/v1/shared/{share['token']}/documents/{docs[0]['id']}/content"

    answers = await asyncio.gather(*(client.get(url) for _ in range(100)))

    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) == 1, codes
    assert codes.count(410) == 99, codes


async def test_concurrent_openings_are_exact_and_chain_the_audit_in_order(client, services):
    """Openings are group-committed: 100 at once over two owners' links (one with three
    uses, one unlimited) give exactly three 200s on the limited one, and every opening
    that succeeded wrote its grant, its audit event (each owner's chain still verifies)
    and its outbox event; the refused ones wrote nothing."""
    from sharing.db import ShareOpeningRow
    from vault import audit
    from vault.db import AuditRow, OwnerRow

    a_headers, a_docs = await _citizen_with_docs(services, client, 1)
    b_headers, b_docs = await _citizen_with_docs(services, client, 2)
    limited = await _share(client, a_headers, [a_docs[0]["id"]], max_uses=3)
    unlimited = await _share(client, b_headers, [d["id"] for d in b_docs])
    urls = [f"/api/v1/shared/{limited['token']}", f"/api/v1/shared/{unlimited['token']}"]

    answers = await asyncio.gather(*(client.get(urls[i % 2]) for i in range(100)))

    limited_codes = [a.status_code for i, a in enumerate(answers) if i % 2 == 0]
    assert sorted(limited_codes) == [200] * 3 + [410] * 47, limited_codes
    assert all(a.status_code == 200 for i, a in enumerate(answers) if i % 2 == 1)
    uses = sorted(a.json()["use_count"] for i, a in enumerate(answers) if i % 2 == 1)
    assert uses == list(range(1, 51))  # each opening saw its own place in line
    async with services.database.read() as session:
        for share, opened in ((limited, 3), (unlimited, 50)):
            row = await session.get(ShareRow, UUID(share["id"]))
            assert row is not None and row.use_count == opened
            grants = await session.scalars(
                select(ShareOpeningRow.id).where(ShareOpeningRow.share_id == row.id)
            )
            assert len(grants.all()) == opened
            events = await session.scalars(
                select(AuditRow.id).where(
                    AuditRow.owner_id == row.owner_id, AuditRow.action == "share_opened"
                )
            )
            assert len(events.all()) == opened
            outbox = await session.scalars(
                select(OutboxRow.id).where(
                    OutboxRow.owner_id == row.owner_id, OutboxRow.kind == "share.opened"
                )
            )
            assert len(outbox.all()) == opened
            owner = await session.get(OwnerRow, row.owner_id)
            assert owner is not None
            assert await audit.verify_owner_chain(session, owner) is None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_processes_batching_openings_of_one_link_stay_exact(client, services, settings):
    """Two app processes (two services, two connection pools) on one PostgreSQL: each
    batches its own openings, and the row locks keep ``max_uses`` exact between them."""
    from kho.app import Services
    from sharing.errors import ShareGone
    from sharing.models import viewer_for
    from vault import audit
    from vault.db import OwnerRow

    headers, docs = await _citizen_with_docs(services, client, 1)
    share = await _share(client, headers, [docs[0]["id"]], max_uses=5)
    other = Services(settings)
    try:

        async def one(svc) -> str:
            try:
                await svc.shares.open(share["token"], viewer_for(None, "198.51.100.1"))
            except ShareGone as gone:
                return gone.reason
            return "ok"

        got = await asyncio.gather(*(one(services if i % 2 else other) for i in range(60)))
    finally:
        await other.close()

    assert sorted(got) == ["ok"] * 5 + ["used_up"] * 55, got
    async with services.database.read() as session:
        row = await session.get(ShareRow, UUID(share["id"]))
        assert row is not None and row.use_count == 5
        owner = await session.get(OwnerRow, row.owner_id)
        assert owner is not None and await audit.verify_owner_chain(session, owner) is None


async def test_bad_share_requests_are_422(client, services):
    headers, docs = await _citizen_with_docs(services, client, 1)
    other, other_docs = await _citizen_with_docs(services, client, 1)
    doc = docs[0]["id"]
    far = (datetime.now(UTC) + timedelta(days=91)).isoformat()
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cases = [
        {"document_ids": [doc], "expires_at": far},
        {"document_ids": [doc], "expires_at": past},
        {"document_ids": [doc]},  # no expiry at all
        {"document_ids": [doc], "ttl_seconds": DAY, "expires_at": far},
        {"document_ids": [], "ttl_seconds": DAY},
        {"document_ids": [other_docs[0]["id"]], "ttl_seconds": DAY},  # another owner's
        {"document_ids": [doc], "ttl_seconds": DAY, "audience": {"agency": "NOPE"}},
        {"document_ids": [doc], "ttl_seconds": DAY, "audience": "everyone"},
        {"document_ids": [doc], "ttl_seconds": DAY, "max_uses": 0},
        {"document_ids": [doc], "ttl_seconds": DAY, "password": "x"},
    ]
    for body in cases:
        r = await client.post(SHARES, headers=headers, json=body)
        f.assert_problem(r, 422)
    for body in (
        {"document_ids": "x", "ttl_seconds": 1},
        {"document_ids": ["not-a-uuid"], "ttl_seconds": 1},
        {"unknown": 1},
    ):
        r = await client.post(SHARES, headers=headers, json=body)
        assert r.status_code in (400, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    share = await _share(client, headers, [doc])
    # another owner's share is invisible
    f.assert_problem(await client.get(f"{SHARES}/{share['id']}", headers=other), 404)
    f.assert_problem(await client.delete(f"{SHARES}/{share['id']}", headers=other), 404)
    f.assert_problem(await client.delete(f"{SHARES}/nonsense", headers=headers), 404)
    f.assert_problem(await client.get(SHARES), 401)


async def test_a_password_protects_one_link_and_locks_only_that_link(client, services):
    headers, docs = await _citizen_with_docs(services, client, 1)
    ids = [docs[0]["id"]]
    locked = await _share(client, headers, ids, password="mật khẩu 1")
    sibling = await _share(client, headers, ids, password="mật khẩu 1")
    assert locked["has_password"]

    f.assert_problem(
        await client.get(f"/api/v1/shared/{locked['token']}"), 401, "share-password-required"
    )
    for left in (4, 3, 2, 1):
        r = await client.post(f"/api/v1/shared/{locked['token']}/unlock", json={"password": "sai"})
        assert f.assert_problem(r, 401, "share-password-wrong")["attempts_left"] == left
    r = await client.post(f"/api/v1/shared/{locked['token']}/unlock", json={"password": "sai"})
    f.assert_problem(r, 429, "share-locked")
    assert "retry-after" in r.headers
    # now even the right password waits
    r = await client.post(
        f"/api/v1/shared/{locked['token']}/unlock", json={"password": "mật khẩu 1"}
    )
    f.assert_problem(r, 429, "share-locked")

    r = await client.post(
        f"/api/v1/shared/{sibling['token']}/unlock", json={"password": "mật khẩu 1"}
    )
    assert r.status_code == 200, r.text
    grant = r.json()["grant"]
    # the sibling's grant opens nothing of the locked link
    r = await client.get(f"/api/v1/shared/{locked['token']}", headers={"Share-Grant": grant})
    assert r.status_code in (401, 429)
    r = await client.get(
        f"/api/v1/shared/{sibling['token']}/documents/{ids[0]}/content?grant={grant}"
    )
    assert r.status_code == 200


async def test_agency_audience_needs_an_official_of_that_agency(client, services):
    headers, docs = await _citizen_with_docs(services, client, 1)
    _, code = await f.agency_headers(services, client, "SO-TP")
    _, other_code = await f.agency_headers(services, client, "SO-YT")
    share = await _share(client, headers, [docs[0]["id"]], audience={"agency": code})
    assert share["audience"] == {"agency": code}
    url = f"/api/v1/shared/{share['token']}"

    f.assert_problem(await client.get(url), 403, "share-audience")
    stranger = await _official(services, client, other_code)
    f.assert_problem(await client.get(url, headers=stranger), 403, "share-audience")
    official = await _official(services, client, code)
    r = await client.get(url, headers=official)
    assert r.status_code == 200, r.text

    log = (await client.get("/api/v1/access-log", headers=headers)).json()["items"]
    opened = [e for e in log if e["action"] == "share_opened"]
    assert len(opened) == 1
    assert opened[0]["actor"]["type"] == "official"
    assert "Trần Thị Bình" in opened[0]["actor"]["name"]
    assert opened[0]["share_id"] == share["id"] and opened[0]["purpose"] == "Nộp hồ sơ"
    mine = (await client.get(f"/api/v1/access-log?agency={code}", headers=headers)).json()
    assert len(mine["items"]) == 1
    f.assert_problem(await client.get("/api/v1/access-log?actor_type=owner", headers=headers), 422)
    f.assert_problem(await client.get("/api/v1/access-log?since=yesterday", headers=headers), 422)


async def test_official_login_failures_and_throttle(client, services):
    _, code = await f.agency_headers(services, client, "SO-TP")
    await services.accounts.create_official(code, "can-bo", "Trần Thị Bình", f.PASSWORD)
    url = "/api/v1/auth/official-login"
    for _ in range(5):
        r = await client.post(url, json={"agency": code, "username": "can-bo", "password": "wrong"})
        f.assert_problem(r, 401, "invalid-credentials")
    r = await client.post(url, json={"agency": code, "username": "can-bo", "password": f.PASSWORD})
    f.assert_problem(r, 429)
    r = await client.post(url, json={"agency": "NOPE", "username": "x", "password": "y"})
    f.assert_problem(r, 401)
    f.assert_problem(await client.post(url, json={"agency": code}), 400)


async def test_anyone_opening_a_link_shows_in_the_access_log_and_the_outbox(client, services):
    headers, docs = await _citizen_with_docs(services, client, 1)
    share = await _share(client, headers, [docs[0]["id"]])
    view = (await client.get(f"/api/v1/shared/{share['token']}")).json()
    await client.get(view["documents"][0]["content_url"])

    log = (await client.get("/api/v1/access-log", headers=headers)).json()["items"]
    assert [e["action"] for e in log] == ["document_downloaded", "share_opened"]
    assert all(e["actor"]["name"] == "anyone with the link" for e in log)
    assert log[0]["document_title"] == "Giấy 0"
    async with services.database.read() as session:
        kinds = (await session.scalars(select(OutboxRow.kind))).all()
    assert "share.opened" in kinds
    r = await client.get("/api/v1/audit/verify" if False else "/api/v1/audit", headers=headers)
    assert r.status_code == 200


async def test_random_tokens_get_404_then_429(client, services):
    """1,000 guesses all answer 404 (an indexed lookup of the token's SHA-256: nothing
    about a near miss shows); past the client's budget every share route says 429."""
    assert services.settings.share_miss_burst == 1000
    # the default budget, without its slow refill (60 a minute), so the count is exact
    services.share_miss_limit.__init__(0.0001, burst=services.settings.share_miss_burst)
    codes = [
        (await client.get(f"/api/v1/shared/{secrets.token_urlsafe(32)}")).status_code
        for _ in range(1000)
    ]
    assert set(codes) == {404}
    r = await client.get(f"/api/v1/shared/{secrets.token_urlsafe(32)}")
    f.assert_problem(r, 429, "too-many-requests")
    assert "retry-after" in r.headers
    assert (await client.get(f"/s/{secrets.token_urlsafe(32)}")).status_code == 429


# -- consent requests ----------------------------------------------------------------------


async def test_consent_request_round_trip(client, services):
    agency, code = await f.agency_headers(services, client, "SO-TP", scopes="deposit,request")
    pid, _ = await f.citizen(services)
    citizen = await f.login(client, pid)
    issued = (await f.deposit(client, agency, pid, f.pdf("khai sinh"))).json()
    await f.upload(client, citizen, f.pdf("bản chụp"), doc_type="birth_certificate")
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()

    r = await client.post(
        "/api/v1/agency/requests",
        headers=agency,
        json={
            "personal_id": pid,
            "doc_types": ["birth_certificate", "judicial_record"],
            "purpose": "Đăng ký kết hôn",
            "expires_at": expires,
        },
    )
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "pending"

    mine = (await client.get("/api/v1/requests", headers=citizen)).json()["items"]
    assert mine[0]["id"] == req["id"]
    tips = {t["doc_type"]: t["document"] for t in mine[0]["suggestions"]}
    assert tips["birth_certificate"]["id"] == issued["id"]  # the issued paper beats an upload
    assert tips["judicial_record"] is None

    waiting = (await client.get(f"/api/v1/agency/requests/{req['id']}", headers=agency)).json()
    assert waiting["status"] == "pending" and waiting["documents"] == []

    r = await client.post(f"/api/v1/requests/{req['id']}/approve", headers=citizen, json={})
    assert r.status_code == 200, r.text
    assert r.json()["document_ids"] == [issued["id"]]
    f.assert_problem(
        await client.post(f"/api/v1/requests/{req['id']}/deny", headers=citizen, json={}),
        409,
        "request-closed",
    )

    seen = (await client.get(f"/api/v1/agency/requests/{req['id']}", headers=agency)).json()
    assert seen["status"] == "approved"
    assert [d["id"] for d in seen["documents"]] == [issued["id"]]
    got = await client.get(seen["documents"][0]["content_url"], headers=agency)
    assert got.status_code == 200 and got.content == f.pdf("khai sinh")

    other, _ = await f.agency_headers(services, client, "SO-YT", scopes="request")
    f.assert_problem(await client.get(f"/api/v1/agency/requests/{req['id']}", headers=other), 404)
    f.assert_problem(await client.get(seen["documents"][0]["content_url"], headers=other), 404)

    log = (await client.get(f"/api/v1/access-log?agency={code}", headers=citizen)).json()["items"]
    assert {e["action"] for e in log} >= {"request_received", "share_opened", "document_downloaded"}

    # the citizen withdraws the share: the agency's access ends at once
    r = await client.delete(f"{SHARES}/{seen['share_id']}", headers=citizen)
    assert r.status_code == 204
    f.assert_problem(await client.get(seen["documents"][0]["content_url"], headers=agency), 410)


async def test_denied_request_and_bad_requests(client, services):
    agency, _ = await f.agency_headers(services, client, "SO-TP", scopes="request")
    no_scope, _ = await f.agency_headers(services, client, "SO-XD", scopes="deposit")
    pid, _ = await f.citizen(services)
    citizen = await f.login(client, pid)
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    good = {
        "personal_id": pid,
        "doc_types": ["birth_certificate"],
        "purpose": "x",
        "expires_at": expires,
    }

    f.assert_problem(await client.post("/api/v1/agency/requests", headers=no_scope, json=good), 403)
    f.assert_problem(await client.post("/api/v1/agency/requests", headers=citizen, json=good), 403)
    for bad in (
        {**good, "personal_id": "123"},
        {**good, "doc_types": []},
        {**good, "doc_types": ["Not A Type"]},
        {**good, "purpose": ""},
        {**good, "expires_at": (datetime.now(UTC) + timedelta(days=91)).isoformat()},
    ):
        f.assert_problem(
            await client.post("/api/v1/agency/requests", headers=agency, json=bad), 422
        )

    req = (await client.post("/api/v1/agency/requests", headers=agency, json=good)).json()
    r = await client.post(f"/api/v1/requests/{req['id']}/approve", headers=citizen, json={})
    f.assert_problem(r, 422)  # nothing of that type in the vault
    r = await client.post(
        f"/api/v1/requests/{req['id']}/deny", headers=citizen, json={"note": "Không đồng ý"}
    )
    assert r.status_code == 200 and r.json()["status"] == "denied"
    seen = (await client.get(f"/api/v1/agency/requests/{req['id']}", headers=agency)).json()
    assert seen["status"] == "denied" and seen["decision_note"] == "Không đồng ý"

    stranger = await f.citizen_headers(services, client)
    f.assert_problem(await client.get(f"/api/v1/requests/{req['id']}", headers=stranger), 404)
    f.assert_problem(
        await client.post("/api/v1/requests/zzz/approve", headers=citizen, json={}), 404
    )


async def test_the_owner_is_told_when_a_link_is_opened_and_a_request_arrives(client, services):
    agency, _ = await f.agency_headers(services, client, "SO-TP", scopes="request")
    pid, _ = await f.citizen(services)
    citizen = await f.login(client, pid)
    doc = await f.upload(client, citizen, f.pdf("x"), title="Giấy x")
    share = await _share(client, citizen, [doc["id"]])
    assert (await client.get(f"/api/v1/shared/{share['token']}")).status_code == 200
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    r = await client.post(
        "/api/v1/agency/requests",
        headers=agency,
        json={
            "personal_id": pid,
            "doc_types": ["judicial_record"],
            "purpose": "Tuyển dụng",
            "expires_at": expires,
        },
    )
    assert r.status_code == 201, r.text

    await services.dispatcher.drain()

    items = (await client.get("/api/v1/notifications", headers=citizen)).json()["items"]
    kinds = sorted(n["kind"] for n in items)
    assert kinds == ["request.received", "share.opened"], items


async def test_deleting_the_account_revokes_its_links(client, services):
    """A paper kept under an agency's legal hold stays in Kho after its owner leaves,
    but the deleted owner's links no longer show it (or anything)."""
    agency, _ = await f.agency_headers(services, client)
    pid, password = await f.citizen(services)
    headers = await f.login(client, pid, password)
    held = (await f.deposit(client, agency, pid, title="Sổ hộ khẩu", legal_hold=True)).json()
    created = await _share(client, headers, [held["id"]])
    opened = await client.get(f"/api/v1/shared/{created['token']}")
    assert opened.status_code == 200, opened.text
    grant_url = opened.json()["documents"][0]["content_url"]

    r = await client.request("DELETE", "/api/v1/me", json={"password": password}, headers=headers)
    assert r.status_code == 200, r.text
    assert [d["id"] for d in r.json()["documents_kept"]] == [held["id"]]

    gone = f.assert_problem(await client.get(f"/api/v1/shared/{created['token']}"), 410)
    assert gone["reason"] == "revoked"
    f.assert_problem(await client.get(grant_url), 410)
    f.assert_problem(await client.get(f"/api/v1/shared/{created['token']}/qr.png"), 410)
