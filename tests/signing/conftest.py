"""A demo PKI, a local TSA and a sealer, built once per session in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing import DemoPki, LocalTimeStamper, PkiSettings, Sealer, TimeStampAuthority
from signing.models import Credential
from vault.keys import LocalKeyRing

BASE_URL = "http://kho.test"


@pytest.fixture(scope="session")
def keyring() -> LocalKeyRing:
    return LocalKeyRing({"t": b"k" * 32}, "t")


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="session")
def pki(pki_dir: Path, keyring: LocalKeyRing) -> DemoPki:
    return DemoPki.open(pki_dir, keyring, PkiSettings(base_url=BASE_URL))


@pytest.fixture(scope="session")
def tsa(pki: DemoPki) -> TimeStampAuthority:
    return TimeStampAuthority(pki.key_store, pki.tsa)


@pytest.fixture(scope="session")
def sealer(pki: DemoPki, tsa: TimeStampAuthority) -> Sealer:
    return Sealer(
        pki.key_store,
        timestamper=LocalTimeStamper(tsa),
        validation_material=pki.validation_material,
    )


@pytest.fixture(scope="session")
def agency(pki: DemoPki) -> Credential:
    return pki.agency_seal("000.00.01.H29", "Sở Tư pháp thành phố Hà Nội")
