"""A remote CSC v2 provider (``KHO_CSC_URL``): OAuth2 client-credentials tokens, and a
citizen's signature made through another Kho's ``/csc/v2`` over HTTP."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Iterator
from io import BytesIO
from pathlib import Path

import httpx
import msgspec
import pyotp
import pytest
from aiohttp import web
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore

from kho.app import Services
from kho.settings import Settings
from signing.csc import CscUnavailable
from signing.csc.remote import ClientCredentials
from signing.http import HttpLoop
from signing.models import ValidationMaterial
from signing.pades import validation_context
from tests import factories as f
from tests.cli_helpers import kho
from tests.conftest import PASSWORD, make_settings
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.signing.servers import KhoServer, free_port

REMOTE_PID = "079200001234"
PIN = "135790"


@pytest.fixture
def http() -> Iterator[HttpLoop]:
    loop = HttpLoop()
    try:
        yield loop
    finally:
        loop.close()


class TokenEndpoint:
    """A tiny OAuth2 token endpoint that counts its requests."""

    def __init__(self, expires_in: int | None) -> None:
        self.expires_in = expires_in
        self.requests: list[tuple[str | None, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.requests.append(
            (request.headers.get("Authorization"), {k: str(v) for k, v in form.items()})
        )
        if request.headers.get("Authorization") != "Basic a2hvOnMzY3JldA==":  # kho:s3cret
            return web.json_response({"error": "invalid_client"}, status=401)
        body: dict[str, object] = {"access_token": f"t{len(self.requests)}", "token_type": "Bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return web.json_response(body)


@pytest.fixture
async def token_endpoint() -> AsyncIterator[tuple[TokenEndpoint, str]]:
    endpoint = TokenEndpoint(expires_in=3600)
    app = web.Application()
    app.router.add_post("/oauth2/token", endpoint.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield endpoint, f"http://127.0.0.1:{port}/oauth2/token"
    finally:
        await runner.cleanup()


async def test_client_credentials_token_is_fetched_once_and_renewed_on_expiry(
    http: HttpLoop, token_endpoint: tuple[TokenEndpoint, str]
) -> None:
    endpoint, url = token_endpoint
    now = [1000.0]
    tokens = ClientCredentials(http, url, "kho", "s3cret", clock=lambda: now[0])

    first = [await tokens("a"), await tokens("b"), await tokens("a")]
    now[0] += 3600 - 30  # inside the 30 s safety margin before expiry
    renewed = await tokens("a")

    assert first == ["t1", "t1", "t1"]
    assert renewed == "t2"
    assert len(endpoint.requests) == 2
    assert endpoint.requests[0][1] == {"grant_type": "client_credentials"}
    assert "s3cret" not in repr(tokens)


async def test_a_refused_or_absent_token_endpoint_is_csc_unavailable(
    http: HttpLoop, token_endpoint: tuple[TokenEndpoint, str]
) -> None:
    _, url = token_endpoint
    with pytest.raises(CscUnavailable, match="401 invalid_client"):
        await ClientCredentials(http, url, "kho", "wrong")()
    with pytest.raises(CscUnavailable, match="token endpoint"):
        await ClientCredentials(http, "http://127.0.0.1:9/oauth2/token", "kho", "s3cret")()


RP_AGENCY = "KHO-RP"


class Provider(msgspec.Struct, frozen=True, kw_only=True):
    server: KhoServer
    data_dir: Path
    otp_uri: str
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """Another Kho as the remote CSC provider: a citizen enrolled there, and this Kho
    registered there as a relying party (an agency client whose client-credentials
    token may name citizens by userID, ``KHO_CSC_RELYING_PARTIES``)."""
    data_dir = tmp_path_factory.mktemp("csc-provider") / "data"
    port = free_port()
    # Note: the provider's PKI is made by the first command, so its CRL URLs name this.
    base = {"KHO_BASE_URL": f"http://127.0.0.1:{port}"}
    r = kho(
        data_dir,
        "user",
        "create",
        "--personal-id",
        REMOTE_PID,
        "--name",
        "Trần Thị Ngọc Ánh",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        **base,
    )
    assert r.returncode == 0, r.stderr
    made = kho(
        data_dir, "agency", "create", "--code", RP_AGENCY, "--name", "Kho (relying party)", **base
    )
    assert made.returncode == 0, made.stderr
    fields = dict(
        line.split(":", 1) for line in made.stdout.splitlines() if line.startswith("client_")
    )
    server = KhoServer(data_dir, port=port, KHO_CSC_RELYING_PARTIES=f"OTHER, {RP_AGENCY}")
    try:
        token = _login(server)
        enrolled = httpx.post(
            f"{server.url}/api/v1/me/signing-credential",
            headers={"Authorization": f"Bearer {token}"},
            json={"pin": PIN},
            timeout=60,
        )
        assert enrolled.status_code == 201, enrolled.text
        yield Provider(
            server=server,
            data_dir=data_dir,
            otp_uri=enrolled.json()["otp_uri"],
            client_id=fields["client_id"].strip(),
            client_secret=fields["client_secret"].strip(),
        )
    finally:
        server.stop()


def _login(server: KhoServer) -> str:
    r = httpx.post(
        f"{server.url}/api/v1/auth/login",
        json={"personal_id": REMOTE_PID, "password": PASSWORD},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the remote provider refuses a one-time code twice (replay), so the
    flows run once per module rather than once per database."""
    target = tmp_path / "kho.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def settings(tmp_path: Path, db_url: str, provider: Provider) -> Settings:
    """This Kho as ``kho serve`` runs with ``KHO_CSC_URL``: the provider's /csc/v2, with
    a token from the provider's OAuth2 endpoint (client credentials, HTTP Basic)."""
    return make_settings(
        tmp_path,
        db_url,
        csc_url=provider.server.url,
        csc_token_url=f"{provider.server.url}/api/v1/oauth/token",
        csc_client_id=provider.client_id,
        csc_client_secret=provider.client_secret,
    )


async def _citizen(services: Services, client: httpx.AsyncClient, pid: str) -> dict[str, str]:
    await services.accounts.create_owner(pid, "Trần Thị Ngọc Ánh", PASSWORD)
    return await f.login(client, pid)


async def _content(client: httpx.AsyncClient, headers: dict[str, str], doc_id: str) -> bytes:
    r = await client.get(f"/api/v1/documents/{doc_id}/content", headers=headers)
    assert r.status_code == 200, r.text
    return r.content


@pytest.mark.usefixtures("cheap_passwords")
async def test_a_citizen_signs_through_the_remote_provider(
    client: httpx.AsyncClient, services: Services, provider: Provider
) -> None:
    """The whole flow over HTTP with KHO_CSC_URL set: the provider finds the citizen's
    credential by userID = personal ID; PIN and code are checked there."""
    server = provider.server
    headers = await _citizen(services, client, REMOTE_PID)
    original = f.pdf("To khai")
    doc = await f.upload(client, headers, original, title="Tờ khai")

    enrol = await client.post("/api/v1/me/signing-credential", headers=headers, json={"pin": PIN})
    started = await client.post(
        f"/api/v1/documents/{doc['id']}/signatures", headers=headers, json={"visible": True}
    )
    assert started.status_code == 201, started.text
    code = pyotp.parse_uri(provider.otp_uri).now()
    wrong = await client.post(
        started.json()["authorize_url"], headers=headers, json={"pin": "999999", "code": code}
    )
    signed_doc = await client.post(
        started.json()["authorize_url"], headers=headers, json={"pin": PIN, "code": code}
    )

    f.assert_problem(enrol, 409, "enrollment-elsewhere")
    f.assert_problem(wrong, 422, "invalid-pin")
    assert signed_doc.status_code == 201, signed_doc.text
    assert signed_doc.json()["provenance"] == "citizen_signed"
    signed = await _content(client, headers, signed_doc.json()["id"])
    assert signed[: len(original)] == original
    remote_root = httpx.get(f"{server.url}/pki/root.crt").content
    remote_crl = httpx.get(f"{server.url}/pki/citizen-ca.crl").content
    remote_ca = httpx.get(f"{server.url}/pki/citizen-ca.crt").content
    local = services.signing.pki.validation_material()
    material = ValidationMaterial(
        trust_roots=(*local.trust_roots, remote_root),
        certificates=(*local.certificates, remote_ca),
        crls=(*local.crls, remote_crl),
    )
    [sig] = PdfFileReader(BytesIO(signed)).embedded_signatures
    status = await async_validate_pdf_signature(sig, validation_context(material))
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.subject.native["serial_number"] == REMOTE_PID
    assert status.timestamp_validity is not None and status.timestamp_validity.valid


@pytest.mark.usefixtures("cheap_passwords")
async def test_b_lt_through_the_remote_provider_embeds_its_cas_crl(
    client: httpx.AsyncClient, services: Services, provider: Provider
) -> None:
    """The provider's CA is outside Kho's PKI: with its root trusted and its CRL URL
    allowed in the registry, B-LT gathers and embeds that CRL."""
    server = provider.server
    await services.registry.add_anchor(
        "Provider root", httpx.get(f"{server.url}/pki/root.crt").content
    )
    for ca in ("root", "citizen-ca"):  # the citizen's CRL, and its CA's (from the root)
        await services.registry.add_revocation_url(f"{server.url}/pki/{ca}.crl")
    headers = await _citizen(services, client, REMOTE_PID)
    doc = await f.upload(client, headers, f.pdf("To khai"), title="Tờ khai")

    started = await client.post(
        f"/api/v1/documents/{doc['id']}/signatures", headers=headers, json={"level": "B-LT"}
    )
    assert started.status_code == 201, started.text
    # Note: the step after the previous test's code (the provider refuses a replay).
    totp = pyotp.parse_uri(provider.otp_uri)
    code = totp.at(time.time() + totp.interval)
    r = await client.post(
        started.json()["authorize_url"], headers=headers, json={"pin": PIN, "code": code}
    )

    assert r.status_code == 201, r.text
    reader = PdfFileReader(BytesIO(await _content(client, headers, r.json()["id"])))
    remote_ca = asn1_x509.Certificate.load(httpx.get(f"{server.url}/pki/citizen-ca.crt").content)
    crls = [
        asn1_crl.CertificateList.load(c.get_object().data) for c in reader.root["/DSS"]["/CRLs"]
    ]
    assert remote_ca.subject in [c.issuer for c in crls]
    root = asn1_x509.Certificate.load(httpx.get(f"{server.url}/pki/root.crt").content)
    ours = asn1_x509.Certificate.load(services.signing.pki.ca_certificate("root"))
    dss_only = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": [ours, root], "allow_fetching": False, "revocation_mode": "require"}
    )
    status = await async_validate_pdf_signature(reader.embedded_signatures[0], dss_only)
    assert status.intact and status.valid and status.trusted and status.bottom_line


@pytest.mark.usefixtures("cheap_passwords")
async def test_a_citizen_the_provider_does_not_know_gets_a_clear_409(
    client: httpx.AsyncClient, services: Services, provider: Provider
) -> None:
    headers = await _citizen(services, client, "001099000001")
    doc = await f.upload(client, headers, f.pdf("To khai"), title="Tờ khai")

    r = await client.post(f"/api/v1/documents/{doc['id']}/signatures", headers=headers, json={})

    problem = f.assert_problem(r, 409, "no-signing-credential")
    assert problem["provider"] == provider.server.url, problem
    assert await f.document_count(services) == 1


def test_only_listed_relying_parties_may_name_citizens(provider: Provider) -> None:
    """The provider lets only KHO_CSC_RELYING_PARTIES' clients call /csc/v2 for others."""
    server = provider.server
    made = kho(provider.data_dir, "agency", "create", "--code", "NOT-RP", "--name", "Not a party")
    assert made.returncode == 0, made.stderr
    other = dict(
        line.split(":", 1) for line in made.stdout.splitlines() if line.startswith("client_")
    )

    def list_with(client_id: str, secret: str) -> httpx.Response:
        token = httpx.post(
            f"{server.url}/api/v1/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),  # HTTP Basic, as RFC 6749 2.3.1 asks servers to take
        )
        assert token.status_code == 200, token.text
        return httpx.post(
            f"{server.url}/csc/v2/credentials/list",
            json={"userID": REMOTE_PID},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )

    listed = list_with(provider.client_id, provider.client_secret)
    refused = list_with(other["client_id"].strip(), other["client_secret"].strip())

    assert listed.status_code == 200 and len(listed.json()["credentialIDs"]) == 1
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"


async def test_the_token_endpoint_takes_http_basic_client_authentication(
    client: httpx.AsyncClient, services: Services
) -> None:
    """RFC 6749 2.3.1: servers must take client_id/secret by HTTP Basic (what Kho's own
    CSC client sends), each part form-urlencoded."""
    creds = await services.accounts.create_agency("000.00.77.H29", "Sở Thử nghiệm")
    form = {"grant_type": "client_credentials"}

    good = await client.post(
        "/api/v1/oauth/token", data=form, auth=(creds.agency.client_id, creds.client_secret)
    )
    wrong = await client.post(
        "/api/v1/oauth/token", data=form, auth=(creds.agency.client_id, "not-the-secret")
    )
    garbled = await client.post(
        "/api/v1/oauth/token", data=form, headers={"Authorization": "Basic %%%"}
    )

    assert good.status_code == 200, good.text
    assert good.json()["access_token"]
    assert f.assert_problem(wrong, 401, "invalid-client")["error"] == "invalid_client"
    f.assert_problem(garbled, 401, "invalid-client")
