"""Signing as the settings choose it: an external TSA over HTTP (``KHO_TSA_URL``) and key
custody in a PKCS#11 token (``KHO_PKCS11_*``), through ``Services`` as ``kho serve``
builds them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature

from kho.app import Services
from kho.registry_cli import register_agency_issuer
from kho.samples import make_pdf
from kho.settings import Settings
from signing import RevocationInfoUnavailable, TimestampUnavailable
from signing.keys.pkcs11 import Pkcs11KeyStore
from signing.models import ValidationMaterial
from signing.pades import validation_context
from tests import factories as f
from tests.conftest import close_services, make_settings
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.signing.servers import KhoServer, free_port
from tests.signing.softhsm import SoftHsm

PDF = make_pdf(["Giay khai sinh"], title="Remote TSA")


@pytest.fixture(scope="module")
def tsa_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KhoServer]:
    """Another Kho (its own demo PKI) whose ``/tsa`` serves as the external TSA."""
    server = KhoServer(tmp_path_factory.mktemp("tsa-server") / "data")
    try:
        yield server
    finally:
        server.stop()


def sqlite_settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/kho.db", **overrides)


@pytest.fixture
async def remote_tsa_services(tmp_path: Path, tsa_server: KhoServer) -> AsyncIterator[Services]:
    svc = Services(sqlite_settings(tmp_path, tsa_url=f"{tsa_server.url}/tsa"))
    await svc.migrate()
    try:
        yield svc
    finally:
        svc.signing_http.close()
        await svc.close()


async def test_seals_are_stamped_by_the_configured_tsa(
    remote_tsa_services: Services, tsa_server: KhoServer
) -> None:
    svc = remote_tsa_services
    remote_root = httpx.get(f"{tsa_server.url}/pki/root.crt").content
    remote_crl = httpx.get(f"{tsa_server.url}/pki/root.crl").content

    signed = [
        await svc.signing.seal_for_agency(
            PDF, agency_code="000.00.01.H29", agency_name="Sở Tư pháp", level="B-T"
        )
        for _ in range(3)
    ]

    local = svc.signing.pki.validation_material()
    material = ValidationMaterial(
        trust_roots=(*local.trust_roots, remote_root),
        certificates=local.certificates,
        crls=(*local.crls, remote_crl),
    )
    for pdf in signed:
        assert pdf[: len(PDF)] == PDF
        [sig] = PdfFileReader(BytesIO(pdf)).embedded_signatures
        status = await async_validate_pdf_signature(sig, validation_context(material))
        assert status.intact and status.valid and status.trusted and status.bottom_line
        tsv = status.timestamp_validity
        assert tsv is not None and tsv.valid and tsv.trusted
        # The token comes from the other Kho's TSA, chained to its root, not ours.
        assert tsv.signing_cert.issuer == asn1_x509.Certificate.load(remote_root).subject
        assert tsv.signing_cert.dump() != svc.signing.pki.tsa.certificate


async def test_long_term_seal_with_a_tsa_outside_the_pki_is_a_clear_error(
    remote_tsa_services: Services,
) -> None:
    """B-LT embeds revocation data for the TSA's chain too; an outside TSA whose root
    the trust registry does not hold fails before any PDF exists (the trusted case is in
    test_outside_tsa.py)."""
    with pytest.raises(RevocationInfoUnavailable, match="is not a trust anchor"):
        await remote_tsa_services.signing.seal_for_agency(
            PDF, agency_code="000.00.01.H29", agency_name="Sở Tư pháp", level="B-LT"
        )


async def test_a_tsa_that_does_not_answer_is_timestamp_unavailable(tmp_path: Path) -> None:
    svc = Services(sqlite_settings(tmp_path, tsa_url=f"http://127.0.0.1:{free_port()}/tsa"))
    try:
        with pytest.raises(TimestampUnavailable, match="ClientConnectorError"):
            await svc.signing.seal_for_agency(
                PDF, agency_code="000.00.01.H29", agency_name="Sở Tư pháp", level="B-T"
            )
        # B-B needs no timestamp, so it still works.
        sealed = await svc.signing.seal_for_agency(
            PDF, agency_code="000.00.01.H29", agency_name="Sở Tư pháp", level="B-B"
        )
        assert sealed.startswith(PDF)
    finally:
        svc.signing_http.close()
        await svc.close()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """The app for the HTTP tests: its TSA is a closed loopback port."""
    return make_settings(tmp_path, db_url, tsa_url=f"http://127.0.0.1:{free_port()}/tsa")


@pytest.mark.usefixtures("cheap_passwords")
async def test_a_sealed_deposit_without_a_tsa_is_503_and_stores_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    headers, code = await f.agency_headers(services, client)
    await register_agency_issuer(services, code, f"Cơ quan {code}", ["birth_certificate"])

    r = await client.post(
        "/api/v1/agency/deposits",
        headers=headers,
        data={
            "personal_id": f.personal_id(),
            "sign": "true",
            "doc_type": "birth_certificate",
            "title": "Giấy khai sinh",
        },
        files={"file": ("gks.pdf", PDF, "application/pdf")},
    )

    f.assert_problem(r, 503, "timestamp-unavailable")
    assert await f.document_count(services) == 0
    services.signing_http.close()


async def test_pki_and_seals_use_the_pkcs11_token_when_configured(
    tmp_path: Path, softhsm: SoftHsm, hsm_store: Pkcs11KeyStore
) -> None:
    svc = Services(
        sqlite_settings(
            tmp_path,
            pkcs11_module=softhsm.module,
            pkcs11_token=softhsm.token,
            pkcs11_pin=softhsm.pin,
        )
    )
    try:
        assert isinstance(svc.signing.key_store, Pkcs11KeyStore)
        sealed = await svc.signing.seal_for_agency(
            PDF, agency_code="000.00.02.H29", agency_name="Sở Tư pháp", level="B-LT"
        )
        pki = svc.signing.pki
        credential = pki.agency_seal("000.00.02.H29", "Sở Tư pháp")
        assert credential.key_id in hsm_store.key_ids()
        assert pki.tsa.key_id in hsm_store.key_ids()
        assert not (tmp_path / "data" / "pki" / "keys").exists()
        [sig] = PdfFileReader(BytesIO(sealed)).embedded_signatures
        status = await async_validate_pdf_signature(
            sig, validation_context(pki.validation_material())
        )
        assert status.intact and status.valid and status.trusted and status.bottom_line
    finally:
        await close_services(svc)


async def test_the_default_seal_falls_back_to_b_t_when_revocation_is_unreachable(
    remote_tsa_services: Services,
) -> None:
    """DESIGN: agencies seal at B-LT by default, B-T where no revocation data is reachable."""
    sealed = await remote_tsa_services.signing.seal_for_agency(
        PDF, agency_code="000.00.03.H29", agency_name="Sở Tư pháp"
    )
    reader = PdfFileReader(BytesIO(sealed))
    assert "/DSS" not in reader.root  # no long-term data: B-T
    assert reader.embedded_signatures[0].sig_object["/Contents"]
