"""Fixtures for the backend contract suites: every ``BlobStore`` under one set of tests.

The S3 backend runs against moto's S3 server over real HTTP on loopback (one server per
session, a fresh bucket per test), so requests go through the same minio/urllib3 code as
in production.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import minio
import pytest
from moto.server import ThreadedMotoServer

from vault.blobs.api import BlobStore
from vault.blobs.files import FileBlobStore
from vault.blobs.s3 import S3BlobStore

BACKENDS = ["files", "s3"]
REGION = "us-east-1"


@dataclass(frozen=True)
class Backend:
    """A store under test plus what backend-specific assertions need to look behind it."""

    name: str
    store: BlobStore
    root: Path | None = None  # files: the store's root
    client: minio.Minio | None = None  # s3: a client on the same server
    bucket: str | None = None


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> minio.Minio:
    return minio.Minio(
        s3_endpoint, access_key="testing", secret_key="testing", secure=False, region=REGION
    )


@pytest.fixture
def s3_bucket(s3_client: minio.Minio) -> str:
    bucket = f"kho-test-{uuid.uuid4().hex[:16]}"
    s3_client.make_bucket(bucket)
    return bucket


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "files":
        root = tmp_path / "blobs"
        return Backend("files", FileBlobStore(root), root=root)
    client: minio.Minio = request.getfixturevalue("s3_client")
    bucket: str = request.getfixturevalue("s3_bucket")
    # A prefix, so the suite also proves keys are confined under it.
    return Backend("s3", S3BlobStore(client, bucket, prefix="kho"), client=client, bucket=bucket)


@pytest.fixture
def store(backend: Backend) -> BlobStore:
    return backend.store


@pytest.fixture(params=BACKENDS)
def unavailable_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """A store whose backend cannot be used: a root that is a file, a closed port."""
    if request.param == "files":
        not_a_dir = tmp_path / "file"
        not_a_dir.write_bytes(b"")
        return FileBlobStore(not_a_dir)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The socket is closed: nothing listens on the port now.
    return S3BlobStore.from_url(
        f"s3://kho?endpoint=127.0.0.1:{port}&secure=false&region={REGION}",
        access_key="testing",
        secret_key="testing",
    )
