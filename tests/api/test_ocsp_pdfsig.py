"""A third-party client (poppler's pdfsig, NSS) asks Kho's OCSP responder over loopback."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kho.app import Services, create_app
from tests.conftest import close_services, make_settings
from tests.factories import pdf
from tests.signing.servers import free_port, serving

pytestmark = pytest.mark.slow


@pytest.fixture
async def live(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Services]:
    """Kho on a loopback port whose base URL (and so every certificate's AIA) is that
    port, served by uvicorn in this event loop."""
    port = free_port()
    db = tmp_path / "kho.db"
    shutil.copy(sqlite_template, db)
    settings = make_settings(
        tmp_path, f"sqlite+aiosqlite:///{db}", base_url=f"http://127.0.0.1:{port}"
    )
    services = Services(settings)
    try:
        async with serving(create_app(settings, services), port):
            yield services
    finally:
        await close_services(services)


async def _nssdb(directory: Path, root_pem: str) -> str:
    directory.mkdir()
    (directory / "root.pem").write_text(root_pem)
    for args in (
        ["-N", "--empty-password"],
        ["-A", "-n", "kho-demo-root", "-t", "C,C,C", "-i", str(directory / "root.pem")],
    ):
        proc = await asyncio.create_subprocess_exec("certutil", "-d", f"sql:{directory}", *args)
        assert await proc.wait() == 0
    return f"sql:{directory}"


async def _pdfsig(nssdb: str, path: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        "pdfsig", "-nssdir", nssdb, str(path), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    return out.decode()


async def test_pdfsig_trusts_a_seal_checked_by_ocsp_and_sees_its_revocation(
    live: Services, tmp_path: Path
) -> None:
    pki = await live.signing.ready()
    nssdb = await _nssdb(tmp_path / "nss", pki.export_root_pem())
    sealed = await live.signing.seal_for_agency(
        pdf("Giay khai sinh"), agency_code="OCSP-NSS", agency_name="Sở Tư pháp", level="B-T"
    )
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    cert = pki.agency_seal("OCSP-NSS", "Sở Tư pháp").certificate
    assert pki.ocsp_url("agency-ca").encode() in cert

    out = await _pdfsig(nssdb, path)

    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out

    # The revocation reaches NSS through OCSP (the CRL is not re-signed for a day, and
    # NSS does not fetch CRLs): proof that it asked the responder and believed it.
    pki.revoke(cert, "key_compromise")
    out = await _pdfsig(nssdb, path)
    assert "Certificate Validation: Certificate has been Revoked." in out, out
