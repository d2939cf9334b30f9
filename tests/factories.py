"""Test data builders."""

from __future__ import annotations

import itertools
from typing import Any

from httpx import AsyncClient

from kho.app import Services
from kho.samples import make_pdf, make_png

PASSWORD = "correct horse battery"
_ids = itertools.count(1)


def personal_id() -> str:
    return f"{next(_ids):012d}"


def pdf(text: str = "hello", padding: int = 0) -> bytes:
    return make_pdf([text], padding=padding)


def png() -> bytes:
    return make_png()


def jpeg() -> bytes:
    # Smallest structurally whole JPEG for the sniffer: SOI, APP0, EOI.
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\x00" * 32
        + b"\xff\xd9"
    )


async def citizen(services: Services, name: str = "Nguyễn Văn An") -> tuple[str, str]:
    """Create a citizen; returns ``(personal_id, password)``."""
    pid = personal_id()
    await services.accounts.create_owner(pid, name, PASSWORD)
    return pid, PASSWORD


async def login(client: AsyncClient, pid: str, password: str = PASSWORD) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"personal_id": pid, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def citizen_headers(services: Services, client: AsyncClient) -> dict[str, str]:
    pid, pw = await citizen(services)
    return await login(client, pid, pw)


async def upload(
    client: AsyncClient,
    headers: dict[str, str],
    content: bytes | None = None,
    *,
    title: str = "Giấy tờ",
    filename: str = "paper.pdf",
    doc_type: str | None = None,
    expect: int = 201,
) -> Any:
    data = {"title": title}
    if doc_type:
        data["doc_type"] = doc_type
    r = await client.post(
        "/api/v1/documents",
        headers=headers,
        data=data,
        files={"file": (filename, content if content is not None else pdf(), "application/pdf")},
    )
    assert r.status_code == expect, r.text
    return r.json()


async def agency_headers(
    services: Services,
    client: AsyncClient,
    code: str | None = None,
    scope: str | None = None,
    scopes: str | None = None,
) -> tuple[dict[str, str], str]:
    """An agency and a token for it; ``scopes`` (comma-separated) are what the agency is
    granted, ``scope`` what the token asks for."""
    code = code or f"AG{next(_ids)}"
    granted = frozenset(scopes.split(",")) if scopes else None
    creds = await services.accounts.create_agency(code, f"Cơ quan {code}", granted)
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.agency.client_id,
        "client_secret": creds.client_secret,
    }
    if scope:
        form["scope"] = scope
    r = await client.post("/api/v1/oauth/token", data=form)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}, code


# -- helpers for the API suites (appended) ------------------------------------------------

PROBLEM_JSON = "application/problem+json"


def assert_problem(r: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    """``r`` is an RFC 9457 problem with ``status`` (and ``urn:kho:problem:<slug>``)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0].strip() == PROBLEM_JSON, r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status, body
    assert isinstance(body["title"], str), body
    assert body["title"], body
    assert body["type"].startswith("urn:kho:problem:"), body
    if slug is not None:
        assert body["type"] == f"urn:kho:problem:{slug}", body
    return body


def multipart(parts: list[tuple[str, bytes, str | None]], boundary: str = "kho-b0undary") -> bytes:
    """A hand-built ``multipart/form-data`` body (with its closing boundary).

    Each part is ``(name, data, filename)``; ``filename=None`` makes it a text field.
    """
    out = bytearray()
    for name, data, filename in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode() + b"\r\n"
        if filename is not None:
            out += b"Content-Type: application/octet-stream\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def multipart_headers(auth: dict[str, str], boundary: str = "kho-b0undary") -> dict[str, str]:
    return {**auth, "content-type": f"multipart/form-data; boundary={boundary}"}


def stored_blobs(services: Services) -> set[str]:
    """Relative paths of every stored blob file (the ``.tmp`` directory excluded)."""
    root = services.settings.data_dir / "blobs"
    if not root.exists():
        return set()
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] != ".tmp"
    }


def temp_files(services: Services) -> list[str]:
    tmp = services.settings.data_dir / "blobs" / ".tmp"
    return sorted(str(p) for p in tmp.rglob("*")) if tmp.exists() else []


async def document_count(services: Services) -> int:
    from sqlalchemy import func, select

    from vault.db import DocumentRow

    async with services.database.read() as session:
        return int(await session.scalar(select(func.count(DocumentRow.id))) or 0)


async def owner_row(services: Services, pid: str) -> Any:
    from sqlalchemy import select

    from vault.db import OwnerRow

    async with services.database.read() as session:
        return await session.scalar(select(OwnerRow).where(OwnerRow.personal_id == pid))


async def expire_all_tokens(services: Services) -> None:
    """Move every token's expiry into the past (no sleeping)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from vault.db import TokenRow

    async with services.database.write() as session:
        await session.execute(
            update(TokenRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=5))
        )


async def deposit(
    client: AsyncClient,
    headers: dict[str, str],
    personal_id: str,
    content: bytes | None = None,
    *,
    title: str = "Giấy khai sinh",
    doc_type: str | None = "birth_certificate",
    legal_hold: bool = False,
    idempotency_key: str | None = None,
    expect: int = 201,
) -> Any:
    """An agency deposit; ``personal_id`` is sent before the file, as the API requires."""
    data = {"personal_id": personal_id, "title": title}
    if doc_type is not None:
        data["doc_type"] = doc_type
    if legal_hold:
        data["legal_hold"] = "true"
    extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    r = await client.post(
        "/api/v1/agency/deposits",
        headers={**headers, **extra},
        data=data,
        files={"file": ("paper.pdf", content if content is not None else pdf(), "application/pdf")},
    )
    assert r.status_code == expect, r.text
    return r


import pytest  # noqa: E402 (appended section: the builders above stay untouched)


@pytest.fixture
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with the smallest cost: each citizen costs ~2 ms instead of ~300 ms.

    Password hashing itself is not under test here; the API suites create many
    citizens on two databases and must stay fast.  Import this fixture into a test
    module and use it with ``pytestmark = pytest.mark.usefixtures("cheap_passwords")``.
    """
    from argon2 import PasswordHasher

    from vault import passwords

    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    monkeypatch.setattr(passwords, "_DUMMY", hasher.hash("kho-dummy-password"))
