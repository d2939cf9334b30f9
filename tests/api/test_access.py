"""Who may see what: owners are isolated, agencies read nothing, bad tokens get 401."""

from __future__ import annotations

import uuid

import pytest

from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")


async def _two_citizens(client, services):
    a = await f.citizen_headers(services, client)
    b = await f.citizen_headers(services, client)
    docs = [
        await f.upload(client, a, f.pdf("a1"), title="Giấy khai sinh của A"),
        await f.upload(client, a, f.png(), title="Ảnh của A", filename="a.png"),
    ]
    return a, b, docs


async def test_other_citizens_documents_are_not_found(client, services):
    a, b, docs = await _two_citizens(client, services)

    for doc in docs:
        base = f"/api/v1/documents/{doc['id']}"
        f.assert_problem(await client.get(base, headers=b), 404, "not-found")
        f.assert_problem(await client.get(f"{base}/content", headers=b), 404, "not-found")
        f.assert_problem(
            await client.get(f"{base}/content", headers={**b, "Range": "bytes=0-10"}),
            404,
            "not-found",
        )
        f.assert_problem(await client.delete(base, headers=b), 404, "not-found")

    # A still has both, byte for byte.
    for doc in docs:
        r = await client.get(f"/api/v1/documents/{doc['id']}", headers=a)
        assert r.status_code == 200
        assert r.json()["sha256"] == doc["sha256"]
        r = await client.get(f"/api/v1/documents/{doc['id']}/content", headers=a)
        assert r.status_code == 200
        assert len(r.content) == doc["size"]


async def test_other_citizens_documents_never_listed_or_audited(client, services):
    a, b, docs = await _two_citizens(client, services)
    own = await f.upload(client, b, title="Giấy của B")
    for doc in docs:  # activity on A's side: downloads, a failed attempt by B
        await client.get(f"/api/v1/documents/{doc['id']}/content", headers=a)
        await client.get(f"/api/v1/documents/{doc['id']}/content", headers=b)
    a_id = (await client.get("/api/v1/me", headers=a)).json()["id"]
    b_id = (await client.get("/api/v1/me", headers=b)).json()["id"]

    listing = (await client.get("/api/v1/documents", headers=b)).json()
    assert [d["id"] for d in listing["items"]] == [own["id"]]
    search = (await client.get("/api/v1/documents", params={"q": "giay"}, headers=b)).json()
    assert [d["id"] for d in search["items"]] == [own["id"]]

    events = (await client.get("/api/v1/audit", headers=b)).json()["items"]
    a_doc_ids = {d["id"] for d in docs}
    assert events
    for e in events:
        assert e["document_id"] not in a_doc_ids, e
        assert e["actor"].get("id") in (None, b_id), e
    a_events = (await client.get("/api/v1/audit", headers=a)).json()["items"]
    assert not {e["id"] for e in a_events} & {e["id"] for e in events}
    assert all(e["actor"].get("id") in (None, a_id) for e in a_events)


async def test_unknown_or_malformed_ids_are_404(client, services):
    headers = await f.citizen_headers(services, client)
    await f.upload(client, headers)
    for doc_id in ["not-a-uuid", "12345", "x" * 300, str(uuid.uuid4()), "%00", "0" * 32]:
        base = f"/api/v1/documents/{doc_id}"
        f.assert_problem(await client.get(base, headers=headers), 404, "not-found")
        f.assert_problem(await client.get(f"{base}/content", headers=headers), 404, "not-found")
        f.assert_problem(await client.delete(base, headers=headers), 404, "not-found")
    assert await f.document_count(services) == 1


async def test_agency_token_cannot_read_documents(client, services):
    a = await f.citizen_headers(services, client)
    doc = await f.upload(client, a)
    agency, _ = await f.agency_headers(services, client)

    for path in [
        "/api/v1/documents",
        f"/api/v1/documents/{doc['id']}",
        f"/api/v1/documents/{doc['id']}/content",
        "/api/v1/audit",
        "/api/v1/me",
        "/api/v1/me/export",
    ]:
        r = await client.get(path, headers=agency)
        f.assert_problem(r, 403, "insufficient-scope")
        assert "insufficient_scope" in r.headers["www-authenticate"]
    f.assert_problem(await client.delete(f"/api/v1/documents/{doc['id']}", headers=agency), 403)
    r = await client.post(
        "/api/v1/documents",
        headers=agency,
        data={"title": "x"},
        files={"file": ("a.pdf", f.pdf(), "application/pdf")},
    )
    f.assert_problem(r, 403)
    assert await f.document_count(services) == 1


async def test_expired_token_is_401(client, services):
    headers = await f.citizen_headers(services, client)
    assert (await client.get("/api/v1/documents", headers=headers)).status_code == 200

    await f.expire_all_tokens(services)

    r = await client.get("/api/v1/documents", headers=headers)
    f.assert_problem(r, 401, "invalid-token")
    assert r.headers["www-authenticate"].lower().startswith("bearer")


async def test_expired_agency_token_is_401(client, services):
    agency, _ = await f.agency_headers(services, client)
    await f.expire_all_tokens(services)
    r = await f.deposit(client, agency, f.personal_id(), expect=401)
    f.assert_problem(r, 401, "invalid-token")


async def test_logged_out_token_is_401(client, services):
    pid, pw = await f.citizen(services)
    first = await f.login(client, pid, pw)
    second = await f.login(client, pid, pw)

    r = await client.post("/api/v1/auth/logout", headers=first)
    assert r.status_code == 204

    f.assert_problem(await client.get("/api/v1/documents", headers=first), 401, "invalid-token")
    f.assert_problem(await client.post("/api/v1/auth/logout", headers=first), 401)
    # Another session of the same citizen is unaffected.
    assert (await client.get("/api/v1/documents", headers=second)).status_code == 200


GARBAGE_AUTHORIZATION = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Bearer garbage",
    "Basic dXNlcjpwYXNz",
    "bearer " + "A" * 43,
    "Bearer " + "x" * 5000,
    "Token abc",
    "Bearer a b c",
]


async def test_missing_or_garbage_authorization_is_401(client, services):
    await f.citizen_headers(services, client)  # a real session exists; it must not leak
    failures: list[str] = []
    for authorization in GARBAGE_AUTHORIZATION:
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, path in [
            ("GET", "/api/v1/documents"),
            ("GET", f"/api/v1/documents/{uuid.uuid4()}"),
            ("GET", "/api/v1/audit"),
            ("POST", "/api/v1/agency/deposits"),
            ("POST", "/api/v1/auth/logout"),
        ]:
            r = await client.request(method, path, headers=headers)
            try:
                body = f.assert_problem(r, 401)
                assert body["type"] in (
                    "urn:kho:problem:unauthorized",
                    "urn:kho:problem:invalid-token",
                ), body
                assert r.headers["www-authenticate"].lower().startswith("bearer"), r.headers
            except AssertionError as exc:
                failures.append(f"{authorization!r:.40} {method} {path}: {exc}")
    assert not failures, "\n".join(failures)


async def test_wrong_password_and_unknown_id_look_the_same(client, services):
    pid, _ = await f.citizen(services)
    wrong = await client.post(
        "/api/v1/auth/login", json={"personal_id": pid, "password": "not the password"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"personal_id": f.personal_id(), "password": "whatever!!"}
    )
    malformed = await client.post(
        "/api/v1/auth/login", json={"personal_id": "12", "password": "whatever!!"}
    )
    bodies = [f.assert_problem(r, 401, "invalid-credentials") for r in (wrong, unknown, malformed)]
    assert len({(b["title"], b.get("detail")) for b in bodies}) == 1
    assert all("www-authenticate" in r.headers for r in (wrong, unknown, malformed))


async def test_login_issues_a_working_bearer_token(client, services):
    pid, pw = await f.citizen(services)
    r = await client.post("/api/v1/auth/login", json={"personal_id": pid, "password": pw})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    assert body["expires_in"] == services.settings.token_ttl_seconds
    assert r.headers["cache-control"] == "no-store"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get("/api/v1/documents", headers=headers)).status_code == 200


async def test_repeated_wrong_passwords_throttle_that_account_only(client, services):
    pid, password = await f.citizen(services)
    other_pid, other_password = await f.citizen(services)
    wrong = {"personal_id": pid, "password": "not the password"}
    for _ in range(5):
        r = await client.post("/api/v1/auth/login", json=wrong)
        assert r.status_code == 401
    # Even the right password is refused while the account is throttled.
    r = await client.post("/api/v1/auth/login", json={"personal_id": pid, "password": password})
    body = f.assert_problem(r, 429, "too-many-sign-in-attempts")
    assert int(r.headers["retry-after"]) == body["retry_after"] > 0
    # Another citizen is not affected.
    await f.login(client, other_pid, other_password)
    # The failures are in the owner's own audit chain ("who tried to get into my data").
    row = await f.owner_row(services, pid)
    events = await services.vault.list_audit(row.id, limit=20)
    assert [e.action for e in events].count("login_failed") == 5


async def test_a_success_resets_the_failure_count(client, services):
    pid, password = await f.citizen(services)
    wrong = {"personal_id": pid, "password": "not the password"}
    for _ in range(4):
        assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
    await f.login(client, pid, password)
    for _ in range(4):
        assert (await client.post("/api/v1/auth/login", json=wrong)).status_code == 401
    await f.login(client, pid, password)
