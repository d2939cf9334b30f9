"""Notification tests run with a real SMTP server configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kho.settings import Settings
from tests.conftest import make_settings
from tests.sharing.servers import SmtpSink, smtp_server


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[SmtpSink, str]]:
    async with smtp_server() as found:
        yield found


@pytest.fixture
def settings(tmp_path: Path, db_url: str, smtp: tuple[SmtpSink, str]) -> Settings:
    return make_settings(
        tmp_path,
        db_url,
        smtp_url=smtp[1],
        webhook_timeout_seconds=0.5,
        notify_retry_base_seconds=1.0,
    )
