"""No fetching on behalf of strangers: a PDF naming an arbitrary URL causes no request."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from signing import CA_NAMES, DemoPki
from tests.verification.conftest import PDF, make_sealer, open_pki, registry_for
from vault.keys import LocalKeyRing
from verification import (
    InMemoryRegistrySource,
    SandboxPool,
    UrlRevocationSource,
    Verifier,
    VerifierSettings,
)


class Recorder(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        self.paths: list[str] = []
        self.pki: DemoPki | None = None
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.paths.append(self.path)
                ca = self.path.removeprefix("/pki/").removesuffix(".crl")
                if recorder.pki is None or ca not in CA_NAMES:
                    self.send_error(404)
                    return
                body = recorder.pki.crl(ca)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture(scope="module")
def server() -> Iterator[Recorder]:
    srv = Recorder()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def stranger_pki(
    server: Recorder, tmp_path_factory: pytest.TempPathFactory, keyring: LocalKeyRing
) -> DemoPki:
    """A PKI whose certificates name the local server for CRLs and CA certificates."""
    host, port = server.server_address[:2]
    pki = open_pki(tmp_path_factory.mktemp("stranger"), keyring, f"http://{host!s}:{port}")
    server.pki = pki
    return pki


@pytest.fixture(scope="module")
async def stranger_pdf(stranger_pki: DemoPki) -> bytes:
    cred = stranger_pki.agency_seal("000.00.01.H29", "Sở Tư pháp thành phố Hà Nội")
    return await make_sealer(stranger_pki).seal(PDF, cred, level="B-T")


def _verifier(pool: SandboxPool, registry_pki: DemoPki, *, crl_urls: bool) -> Verifier:
    return Verifier(
        InMemoryRegistrySource(registry_for(registry_pki, crl_urls=crl_urls)),
        UrlRevocationSource(timeout=2),
        analyser=pool,
        settings=VerifierSettings(crl_max_age_seconds=0),
    )


async def test_untrusted_root_is_indeterminate_and_fetches_nothing(
    stranger_pdf: bytes, pki: DemoPki, pool: SandboxPool, server: Recorder
) -> None:
    server.paths.clear()
    verifier = _verifier(pool, pki, crl_urls=False)

    report = await verifier.verify(stranger_pdf)
    typed = await verifier.verify(stranger_pdf, doc_type="birth_certificate")

    assert report.verdict == "indeterminate", report.reasons
    assert "chain.untrusted" in report.codes()
    assert report.signatures[0].trust_path == () and report.signatures[0].issuer_agency is None
    assert typed.verdict == "indeterminate"
    assert server.paths == []


async def test_crl_url_outside_the_allow_list_is_never_requested(
    stranger_pdf: bytes, stranger_pki: DemoPki, pool: SandboxPool, server: Recorder
) -> None:
    """The stranger's root is trusted, but its CRL URLs are not on the allow-list."""
    server.paths.clear()
    verifier = _verifier(pool, stranger_pki, crl_urls=False)

    report = await verifier.verify(stranger_pdf)

    assert report.verdict == "failed"
    assert "revocation.unavailable" in report.codes()
    assert server.paths == []


async def test_allow_listed_crl_url_is_fetched(
    stranger_pdf: bytes, stranger_pki: DemoPki, pool: SandboxPool, server: Recorder
) -> None:
    """Control: the same file passes once the registry lists those CRL URLs."""
    server.paths.clear()
    verifier = _verifier(pool, stranger_pki, crl_urls=True)

    report = await verifier.verify(stranger_pdf, doc_type="birth_certificate")

    assert report.verdict == "passed", report.reasons
    assert sorted(server.paths) == sorted(f"/pki/{ca}.crl" for ca in CA_NAMES)


def test_stranger_pki_is_separate(stranger_pki: DemoPki, pki: DemoPki, tmp_path: Path) -> None:
    assert stranger_pki.ca_certificate("root") != pki.ca_certificate("root")
