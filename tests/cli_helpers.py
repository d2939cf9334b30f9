"""Running the real ``kho`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KHO = [sys.executable, "-m", "kho.cli"]


def kho_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHO_")}
    env["KHO_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def kho(
    data_dir: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KHO, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=kho_env(data_dir, **env),
        timeout=120,
        check=False,
    )
