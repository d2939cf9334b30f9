"""A real ``kho serve`` in a subprocess, for tests that need Kho over HTTP (an external
TSA, a remote CSC provider)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.cli_helpers import KHO, kho_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class KhoServer:
    """``kho serve`` in a subprocess on a free loopback port."""

    def __init__(self, data_dir: Path, *, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [*KHO, "serve", "--port", str(self.port)],
            env=kho_env(data_dir, KHO_BASE_URL=self.url, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("kho serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
