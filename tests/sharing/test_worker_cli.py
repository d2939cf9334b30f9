"""``kho worker``: the outbox drained by a separate process."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from kho.app import Services
from kho.settings import Settings
from sharing.notify.db import NotificationRow
from tests.cli_helpers import KHO, kho, kho_env
from tests.conftest import MASTER_KEY
from vault.outbox import EventKind, enqueue

pytestmark = pytest.mark.slow


async def test_worker_once_delivers_what_the_web_process_enqueued(tmp_path: Path):
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, master_key=MASTER_KEY)
    svc = Services(settings)
    try:
        await svc.migrate()
        owner = await svc.accounts.create_owner("001234567890", "Trần Thị Bình", "pw-pw-pw-pw")
        await svc.database.run_write(
            lambda s: enqueue(
                s,
                EventKind.REQUEST_RECEIVED,
                {
                    "request_id": "r1",
                    "agency_code": "Q1",
                    "agency_name": "UBND Quận 1",
                    "purpose": "Hộ tịch",
                    "doc_types": ["birth_certificate"],
                },
                owner_id=owner.id,
            )
        )
    finally:
        await svc.close()

    r = kho(data_dir, "worker", "--once", KHO_MASTER_KEY=MASTER_KEY)

    assert r.returncode == 0, r.stderr
    assert "handled 1" in r.stdout  # one event fanned out (its in-app notification with it)
    svc = Services(settings)
    try:
        async with svc.database.read() as session:
            titles = (await session.scalars(select(NotificationRow.title))).all()
    finally:
        await svc.close()
    assert titles == ["UBND Quận 1 đề nghị bạn cung cấp giấy tờ"]
    status = kho(data_dir, "worker", "--status", KHO_MASTER_KEY=MASTER_KEY)
    assert status.returncode == 0, status.stderr
    table = {line.split()[0]: line.split()[1:] for line in status.stdout.splitlines()[1:]}
    assert table == {"outbox": ["0", "0", "1"], "inapp": ["0", "0", "1"]}


def test_worker_runs_until_terminated(tmp_path: Path):
    data_dir = tmp_path / "data"
    proc = subprocess.Popen(
        [*KHO, "worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kho_env(data_dir, KHO_WORKER_POLL_SECONDS="0.1"),
    )
    try:
        assert proc.stdout is not None
        assert "worker draining the outbox" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "worker stopped" in out
