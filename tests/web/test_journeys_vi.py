"""The issue's journeys (1), (3) and (5) end to end in Vietnamese (see ``journeys.py``):
upload, share, copy, revoke; a filing answered by the agency, the result in the wallet;
signing it with the PIN and the one-time code."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.web import journeys
from tests.web.conftest import CHROMIUM, Server

if not os.path.exists(CHROMIUM):  # pragma: no cover - CI installs it
    pytest.fail(f"Debian's chromium is required for the browser tests ({CHROMIUM})")


def test_the_journeys_in_vietnamese(server: Server, browser: Any, tmp_path: Path) -> None:
    journeys.run(server, browser, tmp_path, "vi")
