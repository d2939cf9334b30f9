"""A demo PKI, a sealer, a trust registry over them and a warm sandbox pool, built once
per session; ``verifier`` checks with hard-fail revocation and re-reads CRLs each time."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kho.samples import make_pdf
from signing import CA_NAMES, DemoPki, LocalTimeStamper, PkiSettings, Sealer, TimeStampAuthority
from signing.models import Credential
from vault.keys import LocalKeyRing
from verification import (
    InMemoryRegistrySource,
    InMemoryRevocationSource,
    Issuer,
    IssuerMatch,
    SandboxPool,
    SandboxSettings,
    TrustRegistry,
    Verifier,
    VerifierSettings,
)

BASE_URL = "http://kho.test"
AGENCY = ("000.00.01.H29", "Sở Tư pháp thành phố Hà Nội")
POLICE = ("000.00.02.G01", "Phòng Cảnh sát giao thông")
PDF = make_pdf(["Giay khai sinh", "Birth certificate"], title="Kho test")


@pytest.fixture(scope="session")
def keyring() -> LocalKeyRing:
    return LocalKeyRing({"t": b"k" * 32}, "t")


def open_pki(directory: Path, keyring: LocalKeyRing, base_url: str) -> DemoPki:
    return DemoPki.open(directory, keyring, PkiSettings(base_url=base_url))


def make_sealer(pki: DemoPki) -> Sealer:
    return Sealer(
        pki.key_store,
        timestamper=LocalTimeStamper(TimeStampAuthority(pki.key_store, pki.tsa)),
        validation_material=pki.validation_material,
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory, keyring: LocalKeyRing) -> DemoPki:
    return open_pki(tmp_path_factory.mktemp("vpki"), keyring, BASE_URL)


@pytest.fixture(scope="session")
def sealer(pki: DemoPki) -> Sealer:
    return make_sealer(pki)


@pytest.fixture(scope="session")
def agency(pki: DemoPki) -> Credential:
    return pki.agency_seal(*AGENCY)


@pytest.fixture(scope="session")
def police(pki: DemoPki) -> Credential:
    return pki.agency_seal(*POLICE)


@pytest.fixture(scope="session")
def citizen(pki: DemoPki) -> Credential:
    return pki.citizen("001099012345", "Nguyễn Thị Minh Khai")


def registry_for(pki: DemoPki, *, version: int = 1, crl_urls: bool = True) -> TrustRegistry:
    agency_ca = pki.ca_certificate("agency-ca")
    return TrustRegistry(
        version=version,
        anchors=(pki.ca_certificate("root"),),
        revocation_urls=tuple(pki.crl_url(ca) for ca in CA_NAMES) if crl_urls else (),
        issuers=(
            Issuer(
                code=AGENCY[0],
                name=AGENCY[1],
                matches=(IssuerMatch.issued_by(agency_ca, organizational_unit_name=AGENCY[0]),),
                doc_types=frozenset({"birth_certificate", "judicial_record"}),
            ),
            Issuer(
                code=POLICE[0],
                name=POLICE[1],
                matches=(IssuerMatch.issued_by(agency_ca, organizational_unit_name=POLICE[0]),),
                doc_types=frozenset({"driving_licence"}),
            ),
        ),
    )


def revocation_for(pki: DemoPki) -> InMemoryRevocationSource:
    return InMemoryRevocationSource(
        {pki.crl_url(ca): functools.partial(pki.crl, ca) for ca in CA_NAMES}
    )


@pytest.fixture(scope="session")
def registry(pki: DemoPki) -> TrustRegistry:
    return registry_for(pki)


@pytest.fixture(scope="session")
async def pool() -> AsyncIterator[SandboxPool]:
    pool = SandboxPool(
        SandboxSettings(workers=2, cpu_seconds=5, timeout_seconds=10, memory_bytes=512 * 1024**2)
    )
    await pool.start()
    yield pool
    await pool.aclose()


def make_verifier(
    pool: SandboxPool,
    registry: TrustRegistry,
    revocation: InMemoryRevocationSource,
    **settings: object,
) -> Verifier:
    return Verifier(
        InMemoryRegistrySource(registry),
        revocation,
        analyser=pool,
        settings=VerifierSettings(crl_max_age_seconds=0, **settings),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def verifier(pool: SandboxPool, registry: TrustRegistry, pki: DemoPki) -> Verifier:
    return make_verifier(pool, registry, revocation_for(pki))
