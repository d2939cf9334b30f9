"""B-LT and B-LTA seals stamped by an outside TSA (``KHO_TSA_URL``): the TSA's chain is
trusted through the trust registry, its CRL fetched from an allow-listed URL only, and
embedded; pyHanko (from the DSS alone) and poppler's pdfsig accept the result.

The outside TSA is a real RFC 3161 service over HTTP on loopback, with a CA of its own
(another name, other keys) and its CRL served over HTTP by the same server."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore

from kho.app import Services, create_app
from kho.registry_cli import register_agency_issuer
from kho.settings import Settings
from signing import DemoPki, PkiSettings, TimeStampAuthority
from signing.models import Credential
from tests import factories as f
from tests.conftest import close_services, make_settings
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.signing.servers import free_port, serving
from vault import Actor, ActorType
from vault.keys import LocalKeyRing

pytestmark = pytest.mark.usefixtures("cheap_passwords")


class OutsideTsa:
    """An RFC 3161 TSA at ``/tsa`` and its CA's CRL at ``/pki/root.crl``, over HTTP.

    ``requests`` lists every path asked for; ``crl_down`` makes the CRL answer 503."""

    def __init__(self, directory: Path, *, ocsp_only: bool = False) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.pki = DemoPki.open(
            directory,
            LocalKeyRing({"o": b"o" * 32}, "o"),
            PkiSettings(base_url=self.url, organization="Outside Time Services"),
        )
        self.crl_url = self.pki.crl_url("root")
        self.ocsp_url = f"{self.url}/ocsp"
        self.root = self.pki.ca_certificate("root")
        tsa = _ocsp_only_tsa(self.pki, self.ocsp_url) if ocsp_only else self.pki.tsa
        authority = TimeStampAuthority(self.pki.key_store, tsa)
        root = self.pki.credential("root")
        self.requests: list[str] = []
        self.crl_down = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                outer.requests.append(f"POST {self.path}")
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/tsa":
                    self._send(200, authority.respond(body), "application/timestamp-reply")
                elif self.path == "/ocsp":
                    answer = _ocsp_good(outer.pki, root, body)
                    self._send(200, answer, "application/ocsp-response")
                else:
                    self._send(404, b"", "text/plain")

            def do_GET(self) -> None:
                outer.requests.append(f"GET {self.path}")
                if self.path != "/pki/root.crl":
                    self._send(404, b"", "text/plain")
                elif outer.crl_down:
                    self._send(503, b"", "text/plain")
                else:
                    self._send(200, outer.pki.crl("root"), "application/pkix-crl")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def ocsp_requests(self) -> int:
        return self.requests.count("POST /ocsp")

    def crl_fetches(self) -> int:
        return self.requests.count("GET /pki/root.crl")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _ocsp_only_tsa(pki: DemoPki, ocsp_url: str) -> Credential:
    """A TSA certificate from ``pki``'s root whose only revocation source is OCSP."""
    root = pki.credential("root")
    root_cert = asn1_x509.Certificate.load(root.certificate)
    key_id = "tsa-ocsp"
    spki = asn1_keys.PublicKeyInfo.load(pki.key_store.generate(key_id, "rsa-2048"))
    now = datetime.now(UTC)
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": 4242,
            "signature": {"algorithm": "sha256_rsa"},
            "issuer": root_cert.subject,
            "validity": {
                "not_before": asn1_x509.Time({"utc_time": now - timedelta(hours=1)}),
                "not_after": asn1_x509.Time({"utc_time": now + timedelta(days=30)}),
            },
            "subject": asn1_x509.Name.build({"common_name": "Outside OCSP-only TSA"}),
            "subject_public_key_info": spki,
            "extensions": [
                {"extn_id": "key_identifier", "critical": False, "extn_value": spki.sha1},
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": root_cert.key_identifier},
                },
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {"extn_id": "key_usage", "critical": True, "extn_value": {"digital_signature"}},
                {
                    "extn_id": "extended_key_usage",
                    "critical": True,
                    "extn_value": ["time_stamping"],
                },
                {
                    "extn_id": "authority_information_access",
                    "critical": False,
                    "extn_value": [
                        {
                            "access_method": "ocsp",
                            "access_location": {"uniform_resource_identifier": ocsp_url},
                        }
                    ],
                },
            ],
        }
    )
    signature = pki.key_store.sign(root.key_id, tbs.dump(), "sha256_rsa")
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": "sha256_rsa"},
            "signature_value": signature,
        }
    )
    return Credential(
        label="tsa-ocsp", key_id=key_id, certificate=cert.dump(), chain=(root.certificate,)
    )


def _ocsp_good(pki: DemoPki, root: Credential, request: bytes) -> bytes:
    """A "good" answer to an OCSP request, signed by the root itself (RFC 6960)."""
    req = asn1_ocsp.OCSPRequest.load(request)
    cert_id = req["tbs_request"]["request_list"][0]["req_cert"]
    now = datetime.now(UTC)
    root_cert = asn1_x509.Certificate.load(root.certificate)
    data = asn1_ocsp.ResponseData(
        {
            "responder_id": {"by_key": root_cert.public_key.sha1},
            "produced_at": now,
            "responses": [
                {
                    "cert_id": cert_id,
                    "cert_status": {"good": None},
                    "this_update": now - timedelta(minutes=1),
                    "next_update": now + timedelta(hours=1),
                }
            ],
        }
    )
    basic = asn1_ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": data,
            "signature_algorithm": {"algorithm": "sha256_rsa"},
            "signature": pki.key_store.sign(root.key_id, data.dump(), "sha256_rsa"),
        }
    )
    return bytes(
        asn1_ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
            }
        ).dump()
    )


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutsideTsa]:
    tsa = OutsideTsa(tmp_path_factory.mktemp("outside-tsa"))
    try:
        yield tsa
    finally:
        tsa.stop()


@pytest.fixture
def settings(tmp_path: Path, db_url: str, outside: OutsideTsa) -> Settings:
    # Note: certificates name Kho's OCSP responder under the base URL, and NSS (pdfsig)
    # rejects a certificate whose responder it cannot reach; _serving answers there.
    return make_settings(
        tmp_path, db_url, tsa_url=f"{outside.url}/tsa", base_url=f"http://127.0.0.1:{free_port()}"
    )


def _serving(services: Services) -> contextlib.AbstractAsyncContextManager[str]:
    """Kho itself on its base URL's port, for outside validators."""
    port = int(services.settings.base_url.rsplit(":", 1)[1])
    return serving(create_app(services.settings, services), port)


async def _trust_outside(services: Services, outside: OutsideTsa, *, allow_crl: bool) -> None:
    await services.registry.add_anchor("Outside Time Services root", outside.root)
    if allow_crl:
        await services.registry.add_revocation_url(outside.crl_url)


PDF = f.pdf("Giay khai sinh")


async def _deposit(client: httpx.AsyncClient, services: Services, level: str) -> httpx.Response:
    headers, code = await f.agency_headers(services, client)
    await register_agency_issuer(services, code, f"Cơ quan {code}", ["birth_certificate"])
    return await client.post(
        "/api/v1/agency/deposits",
        headers=headers,
        data={
            "personal_id": f.personal_id(),
            "sign": "true",
            "doc_type": "birth_certificate",
            "level": level,
            "title": "Giấy khai sinh",
        },
        files={"file": ("gks.pdf", PDF, "application/pdf")},
    )


async def _stored(services: Services, doc: dict[str, str]) -> bytes:
    owner = await f.owner_row(services, doc["personal_id"])
    stream = await services.vault.open_content(
        owner.id, UUID(doc["id"]), Actor(type=ActorType.OPERATOR)
    )
    return b"".join([c async for c in stream.chunks])


def _pdfsig(pdf: bytes, root_pem: str, tmp_path: Path) -> str:
    db = tmp_path / "nssdb"
    db.mkdir()
    (db / "root.pem").write_text(root_pem)
    subprocess.run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{db}",
            "-n",
            "kho-root",
            "-t",
            "C,C,C",
            "-i",
            db / "root.pem",
        ],
        check=True,
    )
    (tmp_path / "signed.pdf").write_bytes(pdf)
    return subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{db}", tmp_path / "signed.pdf"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
async def test_long_term_seal_embeds_the_outside_tsas_revocation_data(
    client: httpx.AsyncClient,
    services: Services,
    outside: OutsideTsa,
    level: str,
    tmp_path: Path,
) -> None:
    await _trust_outside(services, outside, allow_crl=True)

    r = await _deposit(client, services, level)

    assert r.status_code == 201, r.text
    signed = await _stored(services, r.json())
    reader = PdfFileReader(BytesIO(signed))
    outside_root = asn1_x509.Certificate.load(outside.root)
    embedded = [
        asn1_crl.CertificateList.load(c.get_object().data) for c in reader.root["/DSS"]["/CRLs"]
    ]
    assert outside_root.subject in [c.issuer for c in embedded]
    # Validate with the two roots and the DSS alone, revocation required, no fetching:
    # this passes only when the DSS covers the signer's chain and the outside TSA's.
    ours = asn1_x509.Certificate.load(services.signing.pki.ca_certificate("root"))
    dss_only = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [ours, outside_root], "allow_fetching": False, "revocation_mode": "require"}
    )
    [sig, *doc_ts] = reader.embedded_signatures
    status = await async_validate_pdf_signature(sig, dss_only)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    tsv = status.timestamp_validity
    assert tsv is not None and tsv.valid and tsv.trusted
    assert tsv.signing_cert.issuer == outside_root.subject
    assert len(doc_ts) == (1 if level == "B-LTA" else 0)
    for ts in doc_ts:
        ts_status = await async_validate_pdf_timestamp(ts, dss_only)
        assert ts_status.intact and ts_status.valid and ts_status.trusted

    assert signed[: len(PDF)] == PDF  # an incremental update of the original
    (tmp_path / "check.pdf").write_bytes(signed)
    check = subprocess.run(["qpdf", "--check", tmp_path / "check.pdf"], capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    async with _serving(services):
        out = await asyncio.to_thread(
            _pdfsig, signed, services.signing.pki.export_root_pem(), tmp_path
        )
    first = out.split("Signature #2")[0]
    assert "Signature Validation: Signature is Valid." in first, out
    assert "Certificate Validation: Certificate is Trusted." in first, out


async def test_crls_are_fetched_once_and_reused(
    client: httpx.AsyncClient, services: Services, outside: OutsideTsa
) -> None:
    await _trust_outside(services, outside, allow_crl=True)
    services.revocation_fetcher.requests.clear()

    for _ in range(3):
        r = await _deposit(client, services, "B-LT")
        assert r.status_code == 201, r.text

    assert services.revocation_fetcher.requests == [outside.crl_url]


async def test_a_crl_url_not_allow_listed_is_never_fetched(
    client: httpx.AsyncClient, services: Services, outside: OutsideTsa
) -> None:
    await _trust_outside(services, outside, allow_crl=False)
    before = outside.crl_fetches()

    r = await _deposit(client, services, "B-LT")

    problem = f.assert_problem(r, 503, "revocation-info-unavailable")
    assert "kho registry urls add" in problem["detail"], problem
    assert outside.crl_fetches() == before
    assert await f.document_count(services) == 0


async def test_an_unreachable_crl_is_503_and_stores_nothing(
    client: httpx.AsyncClient, services: Services, outside: OutsideTsa
) -> None:
    await _trust_outside(services, outside, allow_crl=True)
    outside.crl_down = True
    try:
        r = await _deposit(client, services, "B-LTA")
    finally:
        outside.crl_down = False

    problem = f.assert_problem(r, 503, "revocation-info-unavailable")
    assert outside.crl_url in problem["detail"], problem
    assert await f.document_count(services) == 0


async def test_an_outside_tsa_whose_root_is_not_trusted_is_503(
    client: httpx.AsyncClient, services: Services, outside: OutsideTsa
) -> None:
    await services.registry.add_revocation_url(outside.crl_url)
    before = outside.crl_fetches()

    r = await _deposit(client, services, "B-LT")

    problem = f.assert_problem(r, 503, "revocation-info-unavailable")
    assert "kho registry anchors add" in problem["detail"], problem
    assert outside.crl_fetches() == before
    assert await f.document_count(services) == 0


async def test_the_default_level_is_b_lt_once_the_outside_tsa_is_trusted(
    client: httpx.AsyncClient, services: Services, outside: OutsideTsa
) -> None:
    await _trust_outside(services, outside, allow_crl=True)
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
        files={"file": ("gks.pdf", f.pdf("Giay khai sinh"), "application/pdf")},
    )

    assert r.status_code == 201, r.text
    assert "/DSS" in PdfFileReader(BytesIO(await _stored(services, r.json()))).root


@pytest.fixture
def ocsp_tsa(tmp_path: Path) -> Iterator[OutsideTsa]:
    tsa = OutsideTsa(tmp_path / "ocsp-tsa", ocsp_only=True)
    try:
        yield tsa
    finally:
        tsa.stop()


async def test_an_allow_listed_ocsp_responder_serves_a_tsa_without_crl(
    tmp_path: Path, db_url: str, ocsp_tsa: OutsideTsa
) -> None:
    """The outside TSA's certificate names only an OCSP responder: once its URL is
    allowed, the answer is fetched (POST) and embedded; before, nothing is asked."""
    services = Services(make_settings(tmp_path, db_url, tsa_url=f"{ocsp_tsa.url}/tsa"))
    try:
        await services.registry.add_anchor("Outside Time Services root", ocsp_tsa.root)
        app = create_app(services.settings, services)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as client:
            refused = await _deposit(client, services, "B-LT")
            asked_before = ocsp_tsa.ocsp_requests()
            await services.registry.add_revocation_url(ocsp_tsa.ocsp_url)
            sealed = await _deposit(client, services, "B-LT")

        problem = f.assert_problem(refused, 503, "revocation-info-unavailable")
        assert ocsp_tsa.ocsp_url in problem["detail"], problem
        assert asked_before == 0
        assert sealed.status_code == 201, sealed.text
        assert ocsp_tsa.ocsp_requests() == 1
        reader = PdfFileReader(BytesIO(await _stored(services, sealed.json())))
        assert len(reader.root["/DSS"]["/OCSPs"]) >= 1
        ours = asn1_x509.Certificate.load(services.signing.pki.ca_certificate("root"))
        outside_root = asn1_x509.Certificate.load(ocsp_tsa.root)
        dss_only = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {
                "trust_roots": [ours, outside_root],
                "allow_fetching": False,
                "revocation_mode": "require",
            }
        )
        status = await async_validate_pdf_signature(reader.embedded_signatures[0], dss_only)
        assert status.bottom_line
        tsv = status.timestamp_validity
        assert tsv is not None and tsv.valid and tsv.trusted
    finally:
        await close_services(services)
