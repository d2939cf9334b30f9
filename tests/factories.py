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
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"


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
    services: Services, client: AsyncClient, code: str | None = None, scope: str | None = None
) -> tuple[dict[str, str], str]:
    code = code or f"AG{next(_ids)}"
    creds = await services.accounts.create_agency(code, f"Cơ quan {code}")
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
