"""``kho registry ...`` as real processes, on the embedded default and on a fresh
PostgreSQL database migrated by ``kho migrate``."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tests.cli_helpers import KHO, kho, kho_env
from tests.conftest import PG_ADMIN
from verification.registry import DOCUMENT_TYPES

pytestmark = pytest.mark.slow

REGISTRY = [*KHO, "registry"]


def registry(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*REGISTRY, *args],
        capture_output=True,
        text=True,
        env=kho_env(data_dir, **env),
        timeout=120,
        check=False,
    )


def ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0, r.stderr
    return r.stdout


def version(data_dir: Path, **env: str) -> int:
    return int(ok(registry(data_dir, "version", **env)).strip())


def write_ca(path: Path, name: str) -> tuple[Path, str]:
    """A self-signed CA certificate as PEM; returns the file and its SHA-256."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    return path, cert.fingerprint(hashes.SHA256()).hex()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_types_allow_deny_and_the_version(data_dir: Path) -> None:
    assert version(data_dir) == 1
    assert "birth_certificate" in ok(registry(data_dir, "types", "list"))

    ok(
        registry(
            data_dir,
            "types",
            "add",
            "--code",
            "work_permit",
            "--vi",
            "Giấy phép lao động",
            "--en",
            "Work permit",
        )
    )
    ca, _ = write_ca(data_dir.parent / "ca.pem", "Provincial CA")
    ok(
        registry(
            data_dir,
            "issuers",
            "add",
            "--code",
            "SLD-HN",
            "--name",
            "Sở Lao động Hà Nội",
            "--issued-by-ca-pem",
            str(ca),
            "--ou",
            "SLD-HN",
        )
    )
    ok(registry(data_dir, "allow", "--issuer", "SLD-HN", "--doc-type", "work_permit"))
    listed = ok(registry(data_dir, "issuers", "list"))
    assert "SLD-HN  Sở Lao động Hà Nội" in listed
    assert "may issue: work_permit" in listed and "organizational_unit_name=SLD-HN" in listed
    assert version(data_dir) == 4

    in_use = registry(data_dir, "types", "remove", "--code", "work_permit")
    assert in_use.returncode == 2 and "deny it first" in in_use.stderr
    assert "may no longer" in ok(
        registry(data_dir, "deny", "--issuer", "SLD-HN", "--doc-type", "work_permit")
    )
    ok(registry(data_dir, "types", "remove", "--code", "work_permit"))
    ok(registry(data_dir, "issuers", "remove", "--code", "SLD-HN"))
    assert version(data_dir) == 7
    assert ok(registry(data_dir, "issuers", "list")) == ""


def test_anchors_add_list_remove(data_dir: Path) -> None:
    ca, fingerprint = write_ca(data_dir.parent / "root.pem", "Operator Root CA")

    assert fingerprint in ok(
        registry(data_dir, "anchors", "add", "--name", "Root", "--pem-file", str(ca))
    )
    dup = registry(data_dir, "anchors", "add", "--name", "Root", "--pem-file", str(ca))
    assert dup.returncode == 2 and "already" in dup.stderr
    listed = ok(registry(data_dir, "anchors", "list"))
    assert fingerprint in listed and "CN=Operator Root CA" in listed

    ok(registry(data_dir, "anchors", "remove", "--fingerprint", fingerprint))
    assert ok(registry(data_dir, "anchors", "list")) == ""
    assert version(data_dir) == 3


def test_operator_mistakes_exit_2_with_one_line(data_dir: Path) -> None:
    garbage = data_dir.parent / "garbage.pem"
    garbage.write_text("hello")
    cases = [
        (["anchors", "add", "--name", "x", "--pem-file", str(garbage)], "not a usable X.509"),
        (["anchors", "add", "--name", "x", "--pem-file", str(garbage) + ".nope"], "No such file"),
        (["allow", "--issuer", "NOPE", "--doc-type", "diploma"], "issuer NOPE is not registered"),
        (["types", "remove", "--code", "spaceship"], "document type spaceship does not exist"),
    ]
    for args, message in cases:
        r = registry(data_dir, *args)
        assert r.returncode == 2, (args, r.stdout)
        assert message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert version(data_dir) == 1


def test_demo_trusts_the_demo_pki_once(data_dir: Path) -> None:
    ok(registry(data_dir, "demo"))
    after = version(data_dir)
    ok(registry(data_dir, "demo"))
    assert version(data_dir) == after
    root_pem = ok(kho(data_dir, "pki", "export-root"))
    root = x509.load_pem_x509_certificate(root_pem.encode())
    listed = ok(registry(data_dir, "anchors", "list"))
    assert root.fingerprint(hashes.SHA256()).hex() in listed
    assert "/pki/agency-ca.crl" in ok(registry(data_dir, "urls", "list"))


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database (not the session's migrated one)."""
    name = f"kho_registry_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_kho_migrate_creates_and_seeds_the_registry_on_postgresql(
    data_dir: Path, fresh_pg_url: str
) -> None:
    ok(kho(data_dir, "migrate", KHO_DATABASE_URL=fresh_pg_url))

    assert version(data_dir, KHO_DATABASE_URL=fresh_pg_url) == 1
    types = ok(registry(data_dir, "types", "list", KHO_DATABASE_URL=fresh_pg_url))
    assert len(types.splitlines()) == len(DOCUMENT_TYPES) and "Phiếu lý lịch tư pháp" in types
    ok(
        registry(
            data_dir,
            "urls",
            "add",
            "--url",
            "http://kho.test/pki/root.crl",
            KHO_DATABASE_URL=fresh_pg_url,
        )
    )
    assert version(data_dir, KHO_DATABASE_URL=fresh_pg_url) == 2
