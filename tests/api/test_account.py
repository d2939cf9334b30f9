"""The citizen's account: audit chain, export, account deletion, legal hold."""

from __future__ import annotations

import io
import itertools
import json
import zipfile

import pytest

from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")

GENESIS = "0" * 64


async def _delete_me(client, headers, password):
    return await client.request(
        "DELETE", "/api/v1/me", json={"password": password}, headers=headers
    )


# -- audit -------------------------------------------------------------------------------


async def test_audit_lists_own_events_newest_first_as_a_hash_chain(client, services):
    pid, pw = await f.citizen(services)
    headers = await f.login(client, pid, pw)
    agency, code = await f.agency_headers(services, client)
    kept = await f.upload(client, headers, title="Giữ")
    gone = await f.upload(client, headers, title="Xoá")
    await client.get(f"/api/v1/documents/{kept['id']}/content", headers=headers)
    await client.get(
        f"/api/v1/documents/{kept['id']}/content", headers={**headers, "Range": "bytes=0-9"}
    )
    await client.delete(f"/api/v1/documents/{gone['id']}", headers=headers)
    deposited = (await f.deposit(client, agency, pid)).json()
    export = await client.get("/api/v1/me/export", headers=headers)
    assert export.status_code == 200

    r = await client.get("/api/v1/audit", headers=headers)

    assert r.status_code == 200
    items = r.json()["items"]
    actions = [e["action"] for e in items]
    assert actions == [
        "export",
        "document_deposited",
        "document_deleted",
        "document_downloaded",
        "document_downloaded",
        "document_uploaded",
        "document_uploaded",
        "login",
        "account_created",
    ]
    seqs = [e["seq"] for e in items]
    assert seqs == list(range(len(items), 0, -1))
    for newer, older in itertools.pairwise(items):
        assert newer["prev_hash"] == older["hash"]
    assert items[-1]["prev_hash"] == GENESIS
    assert len({e["hash"] for e in items}) == len(items)

    by_action = {e["action"]: e for e in reversed(items)}  # the newest of each
    assert by_action["document_deleted"]["document_id"] == gone["id"]
    assert by_action["document_downloaded"]["detail"] == {"range": [0, 10]}
    assert by_action["document_deposited"]["document_id"] == deposited["id"]
    assert by_action["document_deposited"]["actor"]["id"] == code
    assert by_action["login"]["actor"]["type"] == "owner"
    assert by_action["login"]["actor"]["ip"] == "203.0.113.7"
    uploads = [e["document_id"] for e in items if e["action"] == "document_uploaded"]
    assert uploads == [gone["id"], kept["id"]]


async def test_audit_pages_with_before(client, services):
    headers = await f.citizen_headers(services, client)
    for i in range(4):
        await f.upload(client, headers, title=f"Giấy {i}")
    everything = (await client.get("/api/v1/audit", headers=headers)).json()["items"]

    seen, before = [], None
    while True:
        params = {"limit": "2"} | ({"before": str(before)} if before else {})
        page = (await client.get("/api/v1/audit", params=params, headers=headers)).json()
        seen += page["items"]
        before = page["next_before"]
        if before is None:
            break
    assert [e["id"] for e in seen] == [e["id"] for e in everything]


async def test_failed_login_is_audited_for_the_owner(client, services):
    pid, pw = await f.citizen(services)
    r = await client.post("/api/v1/auth/login", json={"personal_id": pid, "password": "wrong one"})
    assert r.status_code == 401
    headers = await f.login(client, pid, pw)
    actions = [
        e["action"] for e in (await client.get("/api/v1/audit", headers=headers)).json()["items"]
    ]
    assert actions[:2] == ["login", "login_failed"]


# -- export ------------------------------------------------------------------------------


async def test_export_is_a_zip_of_originals_metadata_and_audit(client, services):
    pid, pw = await f.citizen(services)
    headers = await f.login(client, pid, pw)
    agency, _ = await f.agency_headers(services, client)
    originals = {
        "big": f.pdf("lớn", padding=600_000),
        "png": f.png(),
        "jpeg": f.jpeg(),
    }
    docs = [
        await f.upload(client, headers, originals["big"], title="Lớn", filename="lớn.pdf"),
        await f.upload(client, headers, originals["png"], title="Ảnh", filename="ảnh.png"),
        await f.upload(client, headers, originals["jpeg"], title="Ảnh 2", filename="x.jpg"),
    ]
    issued = (await f.deposit(client, agency, pid, f.pdf("cấp"))).json()
    contents = {d["id"]: c for d, c in zip(docs, originals.values(), strict=True)}
    contents[issued["id"]] = f.pdf("cấp")

    r = await client.get("/api/v1/me/export", headers=headers)

    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        expected = {f"documents/{d['id']}-{d['filename']}" for d in [*docs, issued]} | {
            "metadata.json",
            "audit.json",
        }
        assert names == expected
        for d in [*docs, issued]:
            assert zf.read(f"documents/{d['id']}-{d['filename']}") == contents[d["id"]]
        meta = json.loads(zf.read("metadata.json"))
        chain = json.loads(zf.read("audit.json"))
    assert meta["owner"]["personal_id"] == pid
    assert meta["owner"]["name"] == "Nguyễn Văn An"
    listed = {m["id"]: m for m in meta["documents"]}
    assert set(listed) == set(contents)
    for d in [*docs, issued]:
        assert listed[d["id"]]["sha256"] == d["sha256"]
        assert listed[d["id"]]["path"] == f"documents/{d['id']}-{d['filename']}"
    assert chain[-1]["action"] == "export"
    assert [e["seq"] for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0]["prev_hash"] == GENESIS
    for older, newer in itertools.pairwise(chain):
        assert newer["prev_hash"] == older["hash"]
    api_chain = (await client.get("/api/v1/audit", headers=headers)).json()["items"]
    assert [e["hash"] for e in reversed(api_chain)] == [e["hash"] for e in chain]


async def test_export_of_an_empty_vault(client, services):
    headers = await f.citizen_headers(services, client)
    r = await client.get("/api/v1/me/export", headers=headers)
    assert r.status_code == 200
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert sorted(zf.namelist()) == ["audit.json", "metadata.json"]
        assert json.loads(zf.read("metadata.json"))["documents"] == []


# -- account deletion --------------------------------------------------------------------


async def test_delete_account_with_the_wrong_password_is_401_and_keeps_everything(client, services):
    pid, pw = await f.citizen(services)
    headers = await f.login(client, pid, pw)
    doc = await f.upload(client, headers)
    blobs = f.stored_blobs(services)

    r = await _delete_me(client, headers, "not my password")

    f.assert_problem(r, 401, "invalid-credentials")
    assert (await client.get(f"/api/v1/documents/{doc['id']}", headers=headers)).status_code == 200
    assert f.stored_blobs(services) == blobs
    owner = await f.owner_row(services, pid)
    assert owner.wrapped_key is not None
    assert owner.status == "active"


async def test_delete_account_removes_documents_keeps_legal_hold_and_shreds_the_key(
    client, services
):
    pid, pw = await f.citizen(services)
    headers = await f.login(client, pid, pw)
    other = await f.login(client, pid, pw)  # a second session dies too
    agency, code = await f.agency_headers(services, client)
    mine = [
        await f.upload(client, headers, f.pdf("a"), title="A"),
        await f.upload(client, headers, f.png(), title="B"),
    ]
    issued = (await f.deposit(client, agency, pid, f.pdf("issued"), title="Phổ thông")).json()
    held = (
        await f.deposit(client, agency, pid, f.pdf("held"), title="Bằng", legal_hold=True)
    ).json()
    bystander = await f.citizen_headers(services, client)
    theirs = await f.upload(client, bystander, title="Của người khác")
    all_blobs = f.stored_blobs(services)
    assert len(all_blobs) == 5

    r = await _delete_me(client, headers, pw)

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["deleted"] is True
    assert body["documents_deleted"] == 3
    assert [d["id"] for d in body["documents_kept"]] == [held["id"]]
    assert body["documents_kept"][0]["issuer"]["code"] == code
    # every token of the account is dead, and so is the password
    for h in (headers, other):
        f.assert_problem(await client.get("/api/v1/documents", headers=h), 401)
    r = await client.post("/api/v1/auth/login", json={"personal_id": pid, "password": pw})
    f.assert_problem(r, 401, "invalid-credentials")
    # blobs of the deleted documents are gone; the held paper and the bystander's remain
    remaining = f.stored_blobs(services)
    assert len(remaining) == 2
    gone_ids = {d["id"] for d in [*mine, issued]}
    assert not any(doc_id in path for path in remaining for doc_id in gone_ids)
    assert any(held["id"] in path for path in remaining)
    assert any(theirs["id"] in path for path in remaining)
    assert f.temp_files(services) == []
    # crypto-shredding: the owner key is gone
    owner = await f.owner_row(services, pid)
    assert owner.wrapped_key is None
    assert owner.kek_id is None
    assert owner.password_hash is None
    assert owner.status == "deleted"
    assert owner.used_bytes == held["size"]
    assert await f.document_count(services) == 2
    # the bystander is untouched
    r = await client.get(f"/api/v1/documents/{theirs['id']}/content", headers=bystander)
    assert r.status_code == 200


async def test_legal_hold_document_cannot_be_deleted_by_the_citizen(client, services):
    pid, pw = await f.citizen(services)
    headers = await f.login(client, pid, pw)
    agency, _ = await f.agency_headers(services, client)
    held = (await f.deposit(client, agency, pid, legal_hold=True)).json()
    blobs = f.stored_blobs(services)

    r = await client.delete(f"/api/v1/documents/{held['id']}", headers=headers)

    f.assert_problem(r, 409, "legal-hold")
    r = await client.get(f"/api/v1/documents/{held['id']}", headers=headers)
    assert r.status_code == 200
    assert r.json()["legal_hold"] is True
    assert f.stored_blobs(services) == blobs
    assert (await f.owner_row(services, pid)).used_bytes == held["size"]
    actions = [
        e["action"] for e in (await client.get("/api/v1/audit", headers=headers)).json()["items"]
    ]
    assert "document_deleted" not in actions
