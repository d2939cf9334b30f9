"""Bad uploads and bodies: each gets its precise problem+json and leaves nothing behind.

"Nothing behind" means: no new blob file, an empty ``.tmp`` directory, no new document
row and the owner's ``used_bytes`` unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests import factories as f
from tests.conftest import make_settings
from tests.factories import cheap_passwords  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("cheap_passwords")

MAX = 2 * 1024 * 1024  # conftest's max_upload_bytes
PDF_OVERHEAD = len(f.pdf("x", padding=1_000_000)) - 1_000_000  # 7-digit padding


class Vault:
    """One citizen with one document already stored, and a before/after snapshot."""

    def __init__(self, client: Any, services: Any, headers: dict[str, str], pid: str) -> None:
        self.client = client
        self.services = services
        self.headers = headers
        self.pid = pid

    async def snapshot(self) -> tuple[set[str], int, int]:
        owner = await f.owner_row(self.services, self.pid)
        return (
            f.stored_blobs(self.services),
            await f.document_count(self.services),
            owner.used_bytes,
        )

    async def assert_unchanged(self, before: tuple[set[str], int, int]) -> None:
        assert await self.snapshot() == before
        assert f.temp_files(self.services) == []


@pytest.fixture
async def vault(client, services) -> Vault:
    pid, pw = await f.citizen(services)
    headers = await f.login(client, pid, pw)
    await f.upload(client, headers, f.pdf("first"), title="Đã có")
    v = Vault(client, services, headers, pid)
    before = await v.snapshot()
    assert len(before[0]) == 1
    assert before[1] == 1
    assert before[2] > 0
    return v


def _files(name: str, content: bytes) -> dict[str, Any]:
    return {"data": {"title": "Giấy tờ"}, "files": {"file": (name, content, "application/pdf")}}


def _raw(parts: list[tuple[str, bytes, str | None]]) -> dict[str, Any]:
    return {"content": f.multipart(parts), "multipart": True}


GOOD = f.pdf("good")

# (id, request, status, slug, problem "field" member or None)
CASES: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    ("empty-file", _files("a.pdf", b""), 422, "empty-file", None),
    ("oversized", _files("big.pdf", f.pdf("x", padding=MAX)), 413, "file-too-large", None),
    (
        "one-byte-over",
        _files("big.pdf", f.pdf("x", padding=MAX - PDF_OVERHEAD + 1)),
        413,
        "file-too-large",
        None,
    ),
    (
        "text-named-pdf",
        _files("x.pdf", b"just some text\n" * 4),
        415,
        "unsupported-media-type",
        None,
    ),
    ("long-text-named-pdf", _files("x.pdf", b"A" * 5000), 415, "unsupported-media-type", None),
    (
        "html-named-pdf",
        _files("x.pdf", b"<html><body>hi</body></html>"),
        415,
        "unsupported-media-type",
        None,
    ),
    (
        "gif-named-png",
        _files("x.png", b"GIF89a" + b"\x00" * 100),
        415,
        "unsupported-media-type",
        None,
    ),
    (
        "zip-named-pdf",
        _files("x.pdf", b"PK\x03\x04" + b"\x00" * 2000),
        415,
        "unsupported-media-type",
        None,
    ),
    ("pdf-garbage", _files("x.pdf", b"%PDF-1.4 garbage"), 422, "unreadable-document", None),
    ("pdf-truncated", _files("x.pdf", GOOD[: len(GOOD) // 2]), 422, "unreadable-document", None),
    ("pdf-no-eof", _files("x.pdf", GOOD[:-7]), 422, "unreadable-document", None),
    (
        "pdf-xref-past-end",
        _files("x.pdf", GOOD.replace(b"startxref\n", b"startxref\n99999")),
        422,
        "unreadable-document",
        None,
    ),
    ("png-truncated", _files("x.png", f.png()[:-20]), 422, "unreadable-document", None),
    ("jpeg-truncated", _files("x.jpg", f.jpeg()[:-2]), 422, "unreadable-document", None),
    (
        "non-utf8-title",
        _raw(
            [
                ("title", "Giấy".encode("cp1258", "replace") + b"\xff\xfe", None),
                ("file", GOOD, "a.pdf"),
            ]
        ),
        422,
        "invalid-input",
        "title",
    ),
    (
        "10kB-title",
        {"data": {"title": "Giấy " * 2000}, "files": {"file": ("a.pdf", GOOD)}},
        422,
        "invalid-input",
        "title",
    ),
    (
        "blank-title",
        {"data": {"title": "   "}, "files": {"file": ("a.pdf", GOOD)}},
        422,
        "invalid-input",
        "title",
    ),
    (
        "control-char-title",
        {"data": {"title": "a\x00b"}, "files": {"file": ("a.pdf", GOOD)}},
        422,
        "invalid-input",
        "title",
    ),
    (
        "bad-doc-type",
        {
            "data": {"title": "t", "doc_type": "Birth Certificate"},
            "files": {"file": ("a.pdf", GOOD)},
        },
        422,
        "invalid-input",
        "doc_type",
    ),
    ("missing-file", _raw([("title", b"Giay", None)]), 422, "invalid-input", "file"),
    ("missing-title", _raw([("file", GOOD, "a.pdf")]), 422, "invalid-input", "title"),
    (
        "missing-title-after-file",
        _raw([("file", GOOD, "a.pdf"), ("doc_type", b"cccd", None)]),
        422,
        "invalid-input",
        "title",
    ),
    (
        "unknown-field",
        {"data": {"title": "t", "colour": "red"}, "files": {"file": ("a.pdf", GOOD)}},
        422,
        "invalid-input",
        "colour",
    ),
    (
        "unknown-field-after-file",
        _raw([("title", b"t", None), ("file", GOOD, "a.pdf"), ("colour", b"red", None)]),
        422,
        "invalid-input",
        "colour",
    ),
    (
        "two-files",
        _raw([("title", b"t", None), ("file", GOOD, "a.pdf"), ("file", f.pdf("b"), "b.pdf")]),
        422,
        "invalid-input",
        "file",
    ),
    (
        "file-without-filename",
        _raw([("title", b"t", None), ("file", GOOD, None)]),
        422,
        "invalid-input",
        "file",
    ),
    (
        "title-twice",
        _raw([("title", b"t", None), ("title", b"u", None), ("file", GOOD, "a.pdf")]),
        422,
        "invalid-input",
        "title",
    ),
]


async def test_bad_uploads_are_rejected_and_leave_nothing(vault):
    """One vault, every case in turn (one test keeps the suite fast); all failures listed."""
    failures: list[str] = []
    for case_id, request_kwargs, status, slug, field in CASES:
        kwargs = dict(request_kwargs)
        headers = vault.headers
        if kwargs.pop("multipart", False):
            headers = f.multipart_headers(headers)
        before = await vault.snapshot()
        try:
            r = await vault.client.post("/api/v1/documents", headers=headers, **kwargs)
            body = f.assert_problem(r, status, slug)
            if field is not None:
                assert body["field"] == field, body
            if slug == "unsupported-media-type":
                assert body["accepted"] == ["application/pdf", "image/jpeg", "image/png"]
            if slug == "file-too-large":
                assert body["limit"] == MAX, body
            await vault.assert_unchanged(before)
        except AssertionError as exc:
            failures.append(f"{case_id}: {exc}")
    assert not failures, "\n".join(failures)


async def test_file_of_exactly_the_size_limit_is_accepted(vault):
    content = f.pdf("x", padding=MAX - PDF_OVERHEAD)
    assert len(content) == MAX
    doc = await f.upload(vault.client, vault.headers, content)
    assert doc["size"] == MAX


def _cut(body: bytes, marker: bytes) -> bytes:
    return body[: body.index(marker)]


FULL = f.multipart([("title", b"Giay", None), ("file", f.pdf("x", padding=300_000), "a.pdf")])


TRUNCATED = [
    ("cut-mid-file", FULL[: len(FULL) // 2]),
    ("no-closing-boundary", FULL[: -len(b"--kho-b0undary--\r\n")]),
    ("closing-boundary-without-dashes", FULL[: -len(b"--\r\n")]),
    ("cut-in-part-headers", _cut(FULL, b'Content-Disposition: form-data; name="file"')),
    ("empty-body", b""),
    ("no-boundary", b"no boundary at all"),
]


async def test_truncated_multipart_is_400_and_leaves_nothing(vault):
    failures: list[str] = []
    for case_id, body in TRUNCATED:
        before = await vault.snapshot()
        try:
            r = await vault.client.post(
                "/api/v1/documents", headers=f.multipart_headers(vault.headers), content=body
            )
            f.assert_problem(r, 400, "malformed-multipart")
            await vault.assert_unchanged(before)
        except AssertionError as exc:
            failures.append(f"{case_id}: {exc}")
    assert not failures, "\n".join(failures)


NON_MULTIPART = [
    ("json", "application/json", b'{"title": "x"}'),
    ("urlencoded", "application/x-www-form-urlencoded", b"title=x&file=abc"),
    ("text", "text/plain", b"hello"),
    ("multipart-without-boundary", "multipart/form-data", FULL),
    ("multipart-mixed", "multipart/mixed; boundary=kho-b0undary", FULL),
    ("no-content-type", None, FULL),
]


async def test_non_multipart_upload_is_400(vault):
    failures: list[str] = []
    for case_id, content_type, body in NON_MULTIPART:
        before = await vault.snapshot()
        headers = dict(vault.headers)
        if content_type:
            headers["content-type"] = content_type
        try:
            r = await vault.client.post("/api/v1/documents", headers=headers, content=body)
            f.assert_problem(r, 400)
            await vault.assert_unchanged(before)
        except AssertionError as exc:
            failures.append(f"{case_id}: {exc}")
    assert not failures, "\n".join(failures)


TRAVERSALS = [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\windows\\evil.pdf", "evil.pdf"),
    ("/abs/path/x.pdf", "x.pdf"),
    ("..", "document.pdf"),
    ("noext", "noext.pdf"),
]


async def test_path_traversal_filename_keeps_only_the_last_segment(vault):
    for filename, shown in TRAVERSALS:
        doc = await f.upload(vault.client, vault.headers, filename=filename)
        assert "/" not in doc["filename"]
        assert "\\" not in doc["filename"]
        assert doc["filename"] == shown

        r = await vault.client.get(f"/api/v1/documents/{doc['id']}/content", headers=vault.headers)
        assert r.status_code == 200
        cd = r.headers["content-disposition"]
        assert cd == f"attachment; filename=\"{shown}\"; filename*=UTF-8''{shown}"
    # Nothing was written outside the blob store.
    data_dir = vault.services.settings.data_dir
    assert {p.name for p in data_dir.iterdir()} <= {"blobs", "kho.db", "kho.db-wal", "kho.db-shm"}
    assert len(f.stored_blobs(vault.services)) == 1 + len(TRAVERSALS)


# -- JSON bodies -------------------------------------------------------------------------

MALFORMED_JSON = [
    ("malformed", b"{not json"),
    ("truncated", b'{"personal_id": "000000000001", "password": '),
    ("empty", b""),
    ("not-utf8", b"\xff\xfe{}"),
]

WRONG_SHAPES: list[tuple[str, Any]] = [
    ("int-id", {"personal_id": 123456789012, "password": "x" * 10}),
    ("null-password", {"personal_id": "000000000001", "password": None}),
    ("list-id", {"personal_id": ["0"], "password": "x"}),
    ("no-password", {"personal_id": "000000000001"}),
    ("empty-object", {}),
    ("array", []),
    ("string", "000000000001"),
    ("null", None),
    ("extra", {"personal_id": "000000000001", "password": "x", "admin": True}),
    ("long-id", {"personal_id": "0" * 100, "password": "x"}),
    ("long-pw", {"personal_id": "000000000001", "password": "x" * 5000}),
]


async def test_malformed_login_body_is_400(client):
    failures: list[str] = []
    for case_id, content in MALFORMED_JSON:
        r = await client.post(
            "/api/v1/auth/login", content=content, headers={"content-type": "application/json"}
        )
        try:
            f.assert_problem(r, 400)
        except AssertionError as exc:
            failures.append(f"{case_id}: {exc}")
    assert not failures, "\n".join(failures)


async def test_login_with_wrong_shapes_is_a_4xx_problem(client):
    failures: list[str] = []
    for case_id, payload in WRONG_SHAPES:
        r = await client.post("/api/v1/auth/login", json=payload)
        try:
            assert r.status_code in (400, 401, 422), r.text
            f.assert_problem(r, r.status_code)
        except AssertionError as exc:
            failures.append(f"{case_id}: {exc}")
    assert not failures, "\n".join(failures)


async def test_bad_account_deletion_body_is_400_and_deletes_nothing(vault):
    for payload in (b"{oops", b'{"password": 5}', b"{}", b'{"password": "x", "more": 1}'):
        before = await vault.snapshot()
        r = await vault.client.request(
            "DELETE",
            "/api/v1/me",
            content=payload,
            headers={**vault.headers, "content-type": "application/json"},
        )
        f.assert_problem(r, 400)
        await vault.assert_unchanged(before)
    assert (await vault.client.get("/api/v1/me", headers=vault.headers)).status_code == 200


BAD_LIST_PARAMS = [
    {"limit": "0"},
    {"limit": "201"},
    {"limit": "many"},
    {"provenance": "stolen"},
    {"q": "x" * 201},
    {"cursor": "!!!"},
    {"cursor": "AAAA"},
    {"cursor": "x" * 65},
]


async def test_bad_list_parameters_are_4xx_problems(vault):
    failures: list[str] = []
    for params in BAD_LIST_PARAMS:
        r = await vault.client.get("/api/v1/documents", params=params, headers=vault.headers)
        try:
            assert r.status_code in (400, 422), r.text
            f.assert_problem(r, r.status_code)
        except AssertionError as exc:
            failures.append(f"{params}: {exc}")
    assert not failures, "\n".join(failures)


# -- quota -------------------------------------------------------------------------------

QUOTA = 100_000


class TestQuota:
    @pytest.fixture
    def settings(self, tmp_path, db_url):
        return make_settings(tmp_path, db_url, quota_bytes=QUOTA)

    async def test_upload_over_quota_is_413_and_leaves_nothing(self, client, services):
        pid, pw = await f.citizen(services)
        headers = await f.login(client, pid, pw)
        first = await f.upload(client, headers, f.pdf("a", padding=60_000))
        v = Vault(client, services, headers, pid)
        before = await v.snapshot()
        assert before[2] == first["size"]

        r = await client.post(
            "/api/v1/documents", headers=headers, **_files("b.pdf", f.pdf("b", padding=60_000))
        )

        body = f.assert_problem(r, 413, "quota-exceeded")
        assert body["quota"] == QUOTA
        assert body["used"] == first["size"]
        await v.assert_unchanged(before)

    async def test_space_freed_by_delete_can_be_used_again(self, client, services):
        headers = await f.citizen_headers(services, client)
        first = await f.upload(client, headers, f.pdf("a", padding=60_000))
        await f.upload(client, headers, f.pdf("b", padding=60_000), expect=413)

        r = await client.delete(f"/api/v1/documents/{first['id']}", headers=headers)
        assert r.status_code == 204

        await f.upload(client, headers, f.pdf("b", padding=60_000))
        me = (await client.get("/api/v1/me", headers=headers)).json()
        assert me["quota_bytes"] == QUOTA
        assert 60_000 < me["used_bytes"] < QUOTA

    async def test_file_filling_the_quota_exactly_is_accepted(self, client, services):
        headers = await f.citizen_headers(services, client)
        content = f.pdf("x", padding=QUOTA - (len(f.pdf("x", padding=90_000)) - 90_000))
        assert len(content) == QUOTA
        await f.upload(client, headers, content)
        r = await client.post("/api/v1/documents", headers=headers, **_files("one.png", f.png()))
        f.assert_problem(r, 413, "quota-exceeded")
