"""A demo PKI, a local TSA and a sealer, built once per session in a temporary directory."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signing import DemoPki, LocalTimeStamper, PkiSettings, Sealer, TimeStampAuthority
from signing.csc import CscService, FileCredentialStore, SoftwareDigestKeyStore
from signing.keys.pkcs11 import Pkcs11KeyStore
from signing.models import Credential
from tests.signing.softhsm import MODULE, PIN, SPARE_TOKEN, TOKEN, SoftHsm, init_softhsm
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
    # Note: nothing serves http://kho.test, and NSS (pdfsig) rejects a certificate whose
    # OCSP responder it cannot reach; tests/api/test_ocsp*.py cover the responder.
    return DemoPki.open(pki_dir, keyring, PkiSettings(base_url=BASE_URL, ocsp_in_aia=False))


@pytest.fixture(scope="session")
def nssdb(tmp_path_factory: pytest.TempPathFactory, pki: DemoPki) -> str:
    """A throw-away NSS database that trusts the demo root (as a person would do), for
    poppler's ``pdfsig -nssdir``."""
    path = tmp_path_factory.mktemp("nssdb")
    root = path / "root.pem"
    root.write_text(pki.export_root_pem())
    subprocess.run(["certutil", "-N", "-d", f"sql:{path}", "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", f"sql:{path}", "-n", "kho-demo-root", "-t", "C,C,C", "-i", root],
        check=True,
    )
    return f"sql:{path}"


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


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """SoftHSM2 tokens in a temporary directory, with ``SOFTHSM2_CONF`` pointing at them
    for the whole session (the module reads it once, when first loaded)."""
    conf = init_softhsm(tmp_path_factory.mktemp("softhsm"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        yield SoftHsm(module=MODULE, conf=conf, token=TOKEN, pin=PIN, spare_token=SPARE_TOKEN)


@pytest.fixture(scope="session")
def hsm_store(softhsm: SoftHsm) -> Pkcs11KeyStore:
    return Pkcs11KeyStore(softhsm.module, softhsm.token, softhsm.pin)


# -- CSC v2 (remote signing) --------------------------------------------------------------


class FakeClock:
    """A clock tests move by hand (``clock.advance(seconds)``)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def digest_keys(pki_dir: Path, keyring: LocalKeyRing, pki: DemoPki) -> SoftwareDigestKeyStore:
    """The demo PKI's key directory, able to sign precomputed digests (for signHash)."""
    return SoftwareDigestKeyStore(pki_dir / "keys", keyring)


@pytest.fixture(scope="session")
def citizen(pki: DemoPki) -> Credential:
    return pki.citizen("001099012345", "Nguyễn Thị Minh Khai")


@pytest.fixture
def csc_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def csc_dir(tmp_path: Path) -> Path:
    return tmp_path / "csc"


@pytest.fixture
def csc_service(
    csc_dir: Path, digest_keys: SoftwareDigestKeyStore, keyring: LocalKeyRing, csc_clock: FakeClock
) -> CscService:
    return CscService(FileCredentialStore(csc_dir), digest_keys, keyring, clock=csc_clock)
