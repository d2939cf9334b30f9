"""Agencies: OAuth client credentials, deposits, idempotency and scopes."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")

DEPOSITS = "/api/v1/agency/deposits"


async def _agency(services, code: str = "TPHCM-TP", scopes=None):
    return await services.accounts.create_agency(code, "Sở Tư pháp TP.HCM", scopes)


def _form(creds, **extra):
    return {
        "grant_type": "client_credentials",
        "client_id": creds.agency.client_id,
        "client_secret": creds.client_secret,
        **extra,
    }


# -- OAuth -------------------------------------------------------------------------------


async def test_client_credentials_grant_issues_a_scoped_bearer_token(client, services):
    creds = await _agency(services)

    r = await client.post("/api/v1/oauth/token", data=_form(creds))

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == services.settings.agency_token_ttl_seconds
    assert body["scope"].split() == ["deposit", "filings", "request", "revoke"]
    assert r.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    await f.deposit(client, headers, f.personal_id())


async def test_client_credentials_with_a_narrower_scope(client, services):
    creds = await _agency(services)
    r = await client.post("/api/v1/oauth/token", data=_form(creds, scope="request"))
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "request"


async def test_client_credentials_failures(client, services):
    creds = await _agency(services)
    other = await _agency(services, "HN-CA")

    cases = [
        ("bad secret", _form(creds, client_secret="wrong"), 401, "invalid_client"),
        ("other's secret", _form(creds, client_secret=other.client_secret), 401, "invalid_client"),
        ("unknown client", _form(creds, client_id="nobody-0000"), 401, "invalid_client"),
        (
            "no secret",
            {"grant_type": "client_credentials", "client_id": "x"},
            401,
            "invalid_client",
        ),
        ("password grant", _form(creds, grant_type="password"), 400, "unsupported_grant_type"),
        (
            "code grant",
            _form(creds, grant_type="authorization_code"),
            400,
            "unsupported_grant_type",
        ),
        ("scope not granted", _form(creds, scope="certify"), 400, "invalid_scope"),
        ("unknown scope", _form(creds, scope="deposit admin"), 400, "invalid_scope"),
    ]
    failures = []
    for name, form, status, error in cases:
        r = await client.post("/api/v1/oauth/token", data=form)
        try:
            body = f.assert_problem(r, status)
            assert body["error"] == error, body
            assert "access_token" not in body
        except AssertionError as exc:
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures)

    r = await client.post("/api/v1/oauth/token", data={"client_id": "x"})
    f.assert_problem(r, 400)
    r = await client.post("/api/v1/oauth/token", json=_form(creds))
    assert 400 <= r.status_code < 500
    f.assert_problem(r, r.status_code)


async def test_agency_token_can_be_revoked_by_logout(client, services):
    headers, _ = await f.agency_headers(services, client)
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    r = await f.deposit(client, headers, f.personal_id(), expect=401)
    f.assert_problem(r, 401, "invalid-token")


# -- deposits ----------------------------------------------------------------------------


async def test_deposit_lands_in_the_citizens_vault(client, services):
    pid, pw = await f.citizen(services)
    citizen = await f.login(client, pid, pw)
    agency, code = await f.agency_headers(services, client)
    content = f.pdf("Giay khai sinh so 123")

    r = await f.deposit(client, agency, pid, content, title="Giấy khai sinh")

    doc = r.json()
    assert "idempotent-replayed" not in r.headers
    assert doc["provenance"] == "issued"
    assert doc["issuer"] == {"code": code, "name": f"Cơ quan {code}"}
    assert doc["issuer_status"] == "active"
    assert doc["personal_id"] == pid
    assert doc["doc_type"] == "birth_certificate"
    assert doc["title"] == "Giấy khai sinh"
    assert doc["content_type"] == "application/pdf"
    assert doc["size"] == len(content)
    assert doc["legal_hold"] is False

    mine = (await client.get("/api/v1/documents", headers=citizen)).json()["items"]
    assert [d["id"] for d in mine] == [doc["id"]]
    assert mine[0]["issuer"] == doc["issuer"]
    issued = await client.get("/api/v1/documents", params={"provenance": "issued"}, headers=citizen)
    assert [d["id"] for d in issued.json()["items"]] == [doc["id"]]
    uploaded = await client.get(
        "/api/v1/documents", params={"provenance": "uploaded"}, headers=citizen
    )
    assert uploaded.json()["items"] == []
    r = await client.get(f"/api/v1/documents/{doc['id']}/content", headers=citizen)
    assert r.content == content


async def test_deposit_for_an_unknown_personal_id_waits_for_sign_up(client, services):
    agency, code = await f.agency_headers(services, client)
    pid = f.personal_id()
    doc = (await f.deposit(client, agency, pid, f.png(), title="Căn cước")).json()
    assert doc["content_type"] == "image/png"
    # Nobody can sign in to the waiting vault.
    r = await client.post("/api/v1/auth/login", json={"personal_id": pid, "password": f.PASSWORD})
    f.assert_problem(r, 401, "invalid-credentials")

    await services.accounts.create_owner(pid, "Trần Thị Bình", f.PASSWORD)
    citizen = await f.login(client, pid)

    items = (await client.get("/api/v1/documents", headers=citizen)).json()["items"]
    assert [d["id"] for d in items] == [doc["id"]]
    assert items[0]["issuer"]["code"] == code
    r = await client.get(f"/api/v1/documents/{doc['id']}/content", headers=citizen)
    assert r.status_code == 200
    assert r.content == f.png()
    me = (await client.get("/api/v1/me", headers=citizen)).json()
    assert me["name"] == "Trần Thị Bình"
    assert me["used_bytes"] == doc["size"]


async def test_deposit_is_audited_in_the_citizens_chain(client, services):
    pid, pw = await f.citizen(services)
    citizen = await f.login(client, pid, pw)
    agency, code = await f.agency_headers(services, client)
    doc = (await f.deposit(client, agency, pid)).json()

    events = (await client.get("/api/v1/audit", headers=citizen)).json()["items"]

    deposited = [e for e in events if e["action"] == "document_deposited"]
    assert len(deposited) == 1
    e = deposited[0]
    assert e["document_id"] == doc["id"]
    assert e["actor"]["type"] == "agency"
    assert e["actor"]["id"] == code
    assert e["actor"]["name"] == f"Cơ quan {code}"
    assert e["detail"]["agency"] == code
    assert e["detail"]["sha256"] == doc["sha256"]
    assert events[0]["id"] == e["id"]  # newest first


async def test_legal_hold_flag(client, services):
    agency, _ = await f.agency_headers(services, client)
    held = (await f.deposit(client, agency, f.personal_id(), legal_hold=True)).json()
    assert held["legal_hold"] is True
    assert (await f.deposit(client, agency, f.personal_id())).json()["legal_hold"] is False
    # an explicit bad value is refused
    r = await client.post(
        DEPOSITS,
        headers=agency,
        data={"personal_id": f.personal_id(), "doc_type": "x", "title": "t", "legal_hold": "maybe"},
        files={"file": ("a.pdf", f.pdf())},
    )
    body = f.assert_problem(r, 422, "invalid-input")
    assert body["field"] == "legal_hold"


# -- idempotency -------------------------------------------------------------------------


async def test_retry_with_the_same_idempotency_key_replays_the_first_result(client, services):
    pid, _ = await f.citizen(services)
    agency, _ = await f.agency_headers(services, client)
    content = f.pdf("once")

    first = await f.deposit(client, agency, pid, content, idempotency_key="req-1")
    again = await f.deposit(client, agency, pid, content, idempotency_key="req-1")
    third = await f.deposit(client, agency, pid, content, idempotency_key="req-1")

    assert "idempotent-replayed" not in first.headers
    for replay in (again, third):
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == first.json()
    assert await f.document_count(services) == 1
    assert len(f.stored_blobs(services)) == 1
    assert f.temp_files(services) == []
    owner = await f.owner_row(services, pid)
    assert owner.used_bytes == len(content)
    citizen = await f.login(client, pid)
    events = (await client.get("/api/v1/audit", headers=citizen)).json()["items"]
    assert [e["action"] for e in events].count("document_deposited") == 1


async def test_a_new_idempotency_key_makes_a_new_document(client, services):
    pid, _ = await f.citizen(services)
    agency, _ = await f.agency_headers(services, client)
    content = f.pdf("twice")
    a = (await f.deposit(client, agency, pid, content, idempotency_key="k-a")).json()
    b = (await f.deposit(client, agency, pid, content, idempotency_key="k-b")).json()
    c = (await f.deposit(client, agency, pid, content)).json()
    assert len({a["id"], b["id"], c["id"]}) == 3
    assert await f.document_count(services) == 3


async def test_idempotency_keys_belong_to_one_agency(client, services):
    pid, _ = await f.citizen(services)
    one, _ = await f.agency_headers(services, client)
    two, _ = await f.agency_headers(services, client)
    a = await f.deposit(client, one, pid, idempotency_key="shared")
    b = await f.deposit(client, two, pid, idempotency_key="shared")
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers
    assert await f.document_count(services) == 2


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"content": f.pdf("different")}, id="file"),
        pytest.param({"title": "Another title"}, id="title"),
        pytest.param({"doc_type": "marriage_certificate"}, id="doc_type"),
        pytest.param({"personal_id": "999999999999"}, id="personal_id"),
    ],
)
async def test_same_idempotency_key_for_a_different_request_is_422(client, services, change):
    pid, _ = await f.citizen(services)
    agency, _ = await f.agency_headers(services, client)
    original = {"personal_id": pid, "content": f.pdf("original")}
    first = (await f.deposit(client, agency, **original, idempotency_key="dup")).json()
    blobs = f.stored_blobs(services)

    r = await f.deposit(client, agency, **{**original, **change}, idempotency_key="dup", expect=422)

    f.assert_problem(r, 422, "idempotency-key-reused")
    assert "idempotent-replayed" not in r.headers
    assert await f.document_count(services) == 1
    assert f.stored_blobs(services) == blobs
    assert f.temp_files(services) == []
    owner = await f.owner_row(services, pid)
    assert owner.used_bytes == first["size"]


async def test_same_idempotency_key_with_a_different_legal_hold_is_422(client, services):
    pid, _ = await f.citizen(services)
    agency, _ = await f.agency_headers(services, client)
    content = f.pdf("held?")
    await f.deposit(client, agency, pid, content, idempotency_key="hold")
    r = await f.deposit(
        client, agency, pid, content, idempotency_key="hold", legal_hold=True, expect=422
    )
    f.assert_problem(r, 422, "idempotency-key-reused")


async def test_bad_idempotency_keys_are_400(client, services):
    agency, _ = await f.agency_headers(services, client)
    for key in ["k" * 201, "tab\there"]:
        r = await f.deposit(client, agency, f.personal_id(), idempotency_key=key, expect=400)
        f.assert_problem(r, 400, "bad-idempotency-key")
    assert await f.document_count(services) == 0


# -- scopes ------------------------------------------------------------------------------


async def test_deposits_need_an_agency_token_with_scope_deposit(client, services):
    pid, pw = await f.citizen(services)
    citizen = await f.login(client, pid, pw)
    request_only, _ = await f.agency_headers(services, client, scope="request")
    creds = await services.accounts.create_agency(
        "NO-DEPOSIT", "Cơ quan khác", frozenset({"revoke"})
    )
    r = await client.post("/api/v1/oauth/token", data=_form(creds))
    revoke_only = {"Authorization": f"Bearer {r.json()['access_token']}"}

    for headers in (citizen, request_only, revoke_only):
        r = await f.deposit(client, headers, pid, expect=403)
        body = f.assert_problem(r, 403, "insufficient-scope")
        assert "deposit" in body["title"]
        assert 'scope="deposit"' in r.headers["www-authenticate"]
    f.assert_problem(await f.deposit(client, {}, pid, expect=401), 401)
    assert await f.document_count(services) == 0
    assert f.stored_blobs(services) == set()


# -- bad deposits ------------------------------------------------------------------------


async def test_bad_personal_ids_are_422(client, services):
    agency, _ = await f.agency_headers(services, client)
    failures = []
    for pid in [
        "",
        "12345",
        "1234567890123",
        "abcdefghijkl",
        "12345678901a",
        " 12345678901",
        "１２３４５６７８９０１２",
        "12345678901²",
        "-12345678901",
    ]:
        r = await f.deposit(client, agency, pid, expect=422)
        try:
            body = f.assert_problem(r, 422, "invalid-input")
            assert body["field"] == "personal_id", body
        except AssertionError as exc:
            failures.append(f"{pid!r}: {exc}")
    assert not failures, "\n".join(failures)
    assert await f.document_count(services) == 0
    assert f.stored_blobs(services) == set()


async def test_personal_id_with_a_trailing_newline_is_422(client, services):
    agency, _ = await f.agency_headers(services, client)
    r = await f.deposit(client, agency, "123456789012\n", expect=422)
    body = f.assert_problem(r, 422, "invalid-input")
    assert body["field"] == "personal_id"


async def test_missing_doc_type_is_422_and_leaves_no_document(client, services):
    pid, _ = await f.citizen(services)
    agency, _ = await f.agency_headers(services, client)
    for doc_type in (None, ""):
        r = await f.deposit(client, agency, pid, doc_type=doc_type, expect=422)
        body = f.assert_problem(r, 422, "invalid-input")
        assert body["field"] == "doc_type"
    assert await f.document_count(services) == 0
    assert f.stored_blobs(services) == set()
    assert f.temp_files(services) == []
    assert (await f.owner_row(services, pid)).used_bytes == 0


async def test_personal_id_after_the_file_is_422(client, services):
    pid, _ = await f.citizen(services)
    agency, _ = await f.agency_headers(services, client)
    body = f.multipart(
        [
            ("doc_type", b"birth_certificate", None),
            ("title", "Giấy khai sinh".encode(), None),
            ("file", f.pdf(), "a.pdf"),
            ("personal_id", pid.encode(), None),
        ]
    )

    r = await client.post(DEPOSITS, headers=f.multipart_headers(agency), content=body)

    problem = f.assert_problem(r, 422, "invalid-input")
    assert problem["field"] == "personal_id"
    assert await f.document_count(services) == 0
    assert f.stored_blobs(services) == set()
    assert f.temp_files(services) == []


async def test_bad_deposit_files_are_rejected(client, services):
    pid, _ = await f.citizen(services)
    agency, _ = await f.agency_headers(services, client)
    cases = [
        (b"", 422, "empty-file"),
        (b"plain text pretending\n" * 3, 415, "unsupported-media-type"),
        (b"%PDF-1.4 garbage", 422, "unreadable-document"),
    ]
    for content, status, slug in cases:
        r = await f.deposit(client, agency, pid, content, expect=status)
        f.assert_problem(r, status, slug)
    r = await f.deposit(client, agency, pid, title="", expect=422)
    assert f.assert_problem(r, 422, "invalid-input")["field"] == "title"
    assert await f.document_count(services) == 0
    assert f.stored_blobs(services) == set()
    assert f.temp_files(services) == []


@pytest.mark.parametrize(
    ("content", "extra", "status"),
    [
        (b"plain text, not a paper", {}, 415),
        (b"", {}, 422),
        (None, {"doc_type": ""}, 422),
    ],
)
async def test_failed_deposit_for_a_new_personal_id_leaves_no_vault(
    client, services, content, extra, status
):
    headers, _ = await f.agency_headers(services, client)
    pid = f.personal_id()
    form = {"personal_id": pid, "doc_type": "birth_certificate", "title": "Giấy khai sinh"}
    form.update(extra)
    r = await client.post(
        DEPOSITS,
        headers=headers,
        data=form,
        files={"file": ("a.pdf", f.pdf() if content is None else content, "application/pdf")},
    )
    assert r.status_code == status, r.text
    assert await f.owner_row(services, pid) is None
    assert await f.document_count(services) == 0
