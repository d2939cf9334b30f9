"""Crash safety: ``kill -9`` in the middle of concurrent uploads loses nothing acknowledged.

A real ``kho serve`` process takes concurrent uploads over HTTP — some small and quick,
some large and deliberately slow — and is killed with SIGKILL while bytes are still
flowing.  After a restart every upload that got a 201 reads back byte-identical, every
document row has its blob, and ``kho gc`` leaves zero orphans and zero temp files.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kho.samples import make_pdf
from tests.cli_helpers import kho, kho_env

pytestmark = pytest.mark.slow

PID = "001122334455"
PASSWORD = "crash test password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kho.cli", "serve", "--port", str(port)],
        env=kho_env(data_dir, KHO_MAX_UPLOAD_BYTES=str(64 * 1024 * 1024)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("kho serve did not start")


async def slow_body(boundary: str, content: bytes, delay: float):
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nSlow\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    for i in range(0, len(content), 256 * 1024):
        yield content[i : i + 256 * 1024]
        await asyncio.sleep(delay)
    yield f"\r\n--{boundary}--\r\n".encode()


async def test_kill_9_mid_stream_loses_no_acknowledged_upload(tmp_path):
    data_dir = tmp_path / "data"
    r = kho(
        data_dir,
        "user",
        "create",
        "--personal-id",
        PID,
        "--name",
        "Đỗ Crash",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert r.returncode == 0, r.stderr
    port = free_port()
    server = start_server(data_dir, port)
    base = f"http://127.0.0.1:{port}"
    acknowledged: dict[str, bytes] = {}
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"personal_id": PID, "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

            async def quick(i: int) -> None:
                while True:
                    content = make_pdf([f"quick {i}"], padding=150_000 + i)
                    try:
                        resp = await client.post(
                            "/api/v1/documents",
                            headers=headers,
                            data={"title": f"Quick {i}"},
                            files={"file": ("q.pdf", content, "application/pdf")},
                        )
                    except httpx.HTTPError:
                        return
                    if resp.status_code == 201:
                        acknowledged[resp.json()["id"]] = content

            async def slow(i: int) -> None:
                content = make_pdf([f"slow {i}"], padding=8 * 1024 * 1024)
                boundary = f"crash{i}"
                try:
                    resp = await client.post(
                        "/api/v1/documents",
                        headers={
                            **headers,
                            "Content-Type": f"multipart/form-data; boundary={boundary}",
                        },
                        content=slow_body(boundary, content, 0.05),
                    )
                except httpx.HTTPError:
                    return
                if resp.status_code == 201:
                    acknowledged[resp.json()["id"]] = content

            tasks = [asyncio.create_task(quick(i)) for i in range(4)]
            tasks += [asyncio.create_task(slow(i)) for i in range(4)]
            await asyncio.sleep(1.2)
            os.kill(server.pid, signal.SIGKILL)  # mid-stream: slow uploads are half sent
            server.wait(timeout=10)
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(acknowledged) >= 3, "the load did not get going before the kill"
    leftovers = list((data_dir / "blobs" / ".tmp").iterdir())
    assert leftovers, "expected interrupted writes to leave temp files behind"

    server = start_server(data_dir, port)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"personal_id": PID, "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for doc_id, content in acknowledged.items():
                got = await client.get(f"/api/v1/documents/{doc_id}/content", headers=headers)
                assert got.status_code == 200, got.text
                assert hashlib.sha256(got.content).digest() == hashlib.sha256(content).digest()
            rows: set[str] = set()
            cursor: str | None = None
            while True:
                params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
                page = (
                    await client.get("/api/v1/documents", params=params, headers=headers)
                ).json()
                rows |= {d["id"] for d in page["items"]}
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert set(acknowledged) <= rows
    finally:
        server.terminate()
        server.wait(timeout=10)

    # Every row has its blob; gc then leaves no orphan and no temp file.
    import sqlite3

    con = sqlite3.connect(data_dir / "kho.db")
    keys = {k for (k,) in con.execute("select blob_key from documents")}
    con.close()
    blob_root = data_dir / "blobs"
    stored = {
        str(p.relative_to(blob_root))
        for p in blob_root.rglob("*")
        if p.is_file() and ".tmp" not in p.parts
    }
    assert keys <= stored, "a row without its blob"
    gc = kho(data_dir, "gc", "--grace-seconds", "0")
    assert gc.returncode == 0, gc.stderr
    stored_after = {
        str(p.relative_to(blob_root))
        for p in blob_root.rglob("*")
        if p.is_file() and ".tmp" not in p.parts
    }
    assert stored_after == keys, "gc left orphans (or removed a referenced blob)"
    assert list((blob_root / ".tmp").iterdir()) == []
