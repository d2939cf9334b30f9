"""The ``kho`` command, run as a real process on the embedded default (and PostgreSQL)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from kho.demo import AGENCIES
from tests.cli_helpers import kho

pytestmark = pytest.mark.slow


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_user_create_reads_the_password_from_stdin(data_dir):
    r = kho(
        data_dir,
        "user",
        "create",
        "--personal-id",
        "001234567890",
        "--name",
        "Phạm Thu Hà",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert r.returncode == 0, r.stderr
    assert "001234567890" in r.stdout
    assert "a long enough password" not in r.stdout + r.stderr
    again = kho(
        data_dir,
        "user",
        "create",
        "--personal-id",
        "001234567890",
        "--name",
        "X",
        "--password-stdin",
        stdin="another password\n",
    )
    assert again.returncode == 2
    assert "already exists" in again.stderr
    bad = kho(
        data_dir,
        "user",
        "create",
        "--personal-id",
        "12345",
        "--name",
        "X",
        "--password-stdin",
        stdin="another password\n",
    )
    assert bad.returncode == 2
    assert "12 digits" in bad.stderr


def test_agency_create_prints_credentials_once_and_stores_only_a_hash(data_dir):
    r = kho(data_dir, "agency", "create", "--code", "UBND-Q1", "--name", "UBND Quận 1")
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(":", 1) for line in r.stdout.splitlines() if ":" in line)
    secret = lines["client_secret"].strip()
    assert len(secret) >= 43  # 256 bits, base64url
    assert lines["client_id"].strip().startswith("ubnd-q1-")
    db = (data_dir / "kho.db").read_bytes()
    assert secret.encode() not in db
    dup = kho(data_dir, "agency", "create", "--code", "UBND-Q1", "--name", "Again")
    assert dup.returncode == 2


def test_demo_is_idempotent(data_dir):
    first = kho(data_dir, "demo")
    assert first.returncode == 0, first.stderr
    assert "001090000001" in first.stdout
    second = kho(data_dir, "demo")
    assert second.returncode == 0, second.stderr
    con = sqlite3.connect(data_dir / "kho.db")
    try:
        docs = con.execute("select count(*) from documents").fetchone()[0]
        owners = con.execute("select count(*) from owners").fetchone()[0]
        agencies = con.execute("select count(*) from agencies").fetchone()[0]
        filings = con.execute(
            "select f.status, d.provenance, d.doc_type, d.title, "
            "(select count(*) from filing_documents fd where fd.filing_id = f.id "
            " and fd.origin = 'vault') "
            "from filings f join documents d on d.id = f.result_document_id"
        ).fetchall()
    finally:
        con.close()
    # two issued papers, a certified copy, an uploaded photo, one revoked paper, a
    # residence confirmation and the finished filing's result
    assert (docs, owners, agencies) == (7, 3, len(AGENCIES))
    blobs = [p for p in (data_dir / "blobs" / "docs").rglob("*") if p.is_file()]
    assert len(blobs) == 7  # a second run left no extra blobs
    # one finished filing, both papers reused from the vault, its sealed result in the wallet
    assert filings == [
        ("done", "issued", "marital_status", "Giấy xác nhận tình trạng hôn nhân (cấp lại)", 2)
    ]


def test_audit_verify_detects_an_edited_row(data_dir):
    assert kho(data_dir, "demo").returncode == 0
    ok = kho(data_dir, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    con = sqlite3.connect(data_dir / "kho.db")
    con.execute("update audit_events set action = 'login' where seq = 2")
    con.commit()
    con.close()
    broken = kho(data_dir, "audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN" in broken.stderr
    assert "#2" in broken.stderr


def test_gc_removes_orphans_after_their_grace_period(data_dir):
    assert kho(data_dir, "demo").returncode == 0
    docs = data_dir / "blobs" / "docs"
    old = docs / "orphan-old"
    young = docs / "orphan-young"
    old.write_bytes(b"x" * 10)
    young.write_bytes(b"y" * 10)
    past = time.time() - 7200
    os.utime(old, (past, past))
    r = kho(data_dir, "gc")
    assert r.returncode == 0, r.stderr
    assert "removed 1 orphans, 1 within the grace period" in r.stdout
    assert not old.exists()
    assert young.exists()
    assert len([p for p in docs.rglob("*") if p.is_file()]) == 8  # 7 demo documents + young


def test_keys_rotate_rewraps_and_keeps_data_readable(data_dir):
    assert kho(data_dir, "demo").returncode == 0
    before = (data_dir / "master.key").read_text()
    r = kho(data_dir, "keys", "rotate")
    assert r.returncode == 0, r.stderr
    assert "rewrapped 3 owner keys" in r.stdout
    after = (data_dir / "master.key").read_text()
    assert after != before
    assert (data_dir / "master.key").stat().st_mode & 0o777 == 0o600
    # every document still decrypts: export them all through the service
    check = kho(data_dir, "demo")  # demo replays deposits, which re-reads owner keys
    assert check.returncode == 0, check.stderr
    import subprocess
    import sys

    from tests.cli_helpers import kho_env  # noqa: F401  (kept for symmetry)

    script = (
        "import asyncio\n"
        "from kho.app import Services\n"
        "from kho.settings import Settings\n"
        "from vault import Actor, ActorType, DocumentFilter\n"
        "async def main():\n"
        "    s = Services(Settings.from_env())\n"
        "    n = 0\n"
        "    async with s.database.read() as session:\n"
        "        from sqlalchemy import select\n"
        "        from vault.db import DocumentRow\n"
        "        rows = (await session.scalars(select(DocumentRow))).all()\n"
        "    for row in rows:\n"
        "        st = await s.vault.open_content(row.owner_id, row.id, Actor(type=ActorType.OPERATOR))\n"
        "        data = b''.join([c async for c in st.chunks])\n"
        "        assert len(data) == row.size\n"
        "        n += 1\n"
        "    import base64\n"
        "    from kho.demo import DEMO_SIGNING_PIN\n"
        "    signed = 0\n"
        "    for cid in await s.csc._store.ids():\n"
        "        user = await s.csc.credential_user(cid)\n"
        "        auth = await s.csc.credentials_authorize(user, cid, num_signatures=1,\n"
        "            hashes=[base64.b64encode(b'h' * 32).decode()],\n"
        "            hash_algorithm_oid='2.16.840.1.101.3.4.2.1', pin=DEMO_SIGNING_PIN,\n"
        "            otp=await s.csc.current_otp(cid))\n"
        "        signed += bool(auth.sad)\n"
        "    await s.close()\n"
        "    print('read', n, 'authorized', signed)\n"
        "asyncio.run(main())\n"
    )
    from tests.cli_helpers import kho_env as env_for

    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "read 7" in out.stdout  # every demo document
    assert "authorized 1" in out.stdout  # the demo citizen's CSC PIN and code still work
    assert "rewrapped the signing secrets of 1 CSC credentials" in r.stdout


def test_unknown_setting_fails_fast_naming_the_variable(data_dir):
    r = kho(data_dir, "audit", "verify", KHO_QUOTA="1")
    assert r.returncode == 2
    assert "KHO_QUOTA is not a Kho setting" in r.stderr
    bad = kho(data_dir, "audit", "verify", KHO_QUOTA_BYTES="lots")
    assert bad.returncode == 2
    assert "KHO_QUOTA_BYTES" in bad.stderr


def test_migrate_and_verify_on_postgresql(data_dir, pg_url):
    r = kho(data_dir, "migrate", KHO_DATABASE_URL=pg_url)
    assert r.returncode == 0, r.stderr
    v = kho(data_dir, "audit", "verify", KHO_DATABASE_URL=pg_url)
    assert v.returncode == 0, v.stderr
