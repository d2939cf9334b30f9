"""A remote CSC v2 provider (``KHO_CSC_URL``): OAuth2 client-credentials tokens, and a
citizen's signature made through another Kho's ``/csc/v2`` over HTTP."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from io import BytesIO
from pathlib import Path
from uuid import UUID

import httpx
import pyotp
import pytest
from aiohttp import web
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature

from kho.app import Services
from signing.citizen import CitizenSignatures, EnrollmentElsewhere
from signing.csc import CscUnavailable
from signing.csc.remote import ClientCredentials, RemoteProvider
from signing.http import HttpLoop
from signing.models import ValidationMaterial
from signing.pades import validation_context
from tests import factories as f
from tests.cli_helpers import kho
from tests.conftest import PASSWORD
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.signing.servers import KhoServer
from vault import Actor, ActorType

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


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KhoServer, str]]:
    """Another Kho as the remote provider, with a citizen enrolled there; yields the
    server and the citizen's TOTP URI."""
    data_dir = tmp_path_factory.mktemp("csc-provider") / "data"
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
    )
    assert r.returncode == 0, r.stderr
    server = KhoServer(data_dir)
    try:
        token = _login(server)
        enrolled = httpx.post(
            f"{server.url}/api/v1/me/signing-credential",
            headers={"Authorization": f"Bearer {token}"},
            json={"pin": PIN},
            timeout=60,
        )
        assert enrolled.status_code == 201, enrolled.text
        yield server, enrolled.json()["otp_uri"]
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
    flow runs once per module rather than once per database."""
    target = tmp_path / "kho.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.mark.usefixtures("cheap_passwords")
async def test_a_citizen_signs_through_the_remote_provider(
    client: httpx.AsyncClient, services: Services, provider: tuple[KhoServer, str]
) -> None:
    server, otp_uri = provider
    cached: dict[str, str] = {}

    async def citizen_token(user: str) -> str:
        # Note: Kho's own /csc/v2 takes a citizen's bearer token; logging in as the
        # citizen stands in for the provider's OAuth2 flow.
        if user not in cached:
            cached[user] = _login(server)
        return cached[user]

    citizen = CitizenSignatures(
        services.database,
        services.vault,
        services.keyring,
        lambda: services.signing.pki,
        services.csc,
        services.csc_endpoints,
        services.signing.citizen_signing,
        base_url=services.settings.base_url,
        remote=RemoteProvider(services.signing_http, server.url, citizen_token),
    )
    headers = await f.citizen_headers(services, client)
    original = f.pdf("To khai")
    doc = await f.upload(client, headers, original, title="Tờ khai")
    me = (await client.get("/api/v1/me", headers=headers)).json()
    owner = UUID(me["id"])
    actor = Actor(type=ActorType.OWNER, id=str(owner))

    with pytest.raises(EnrollmentElsewhere):
        await citizen.enroll(owner, "001099000001", "Ai đó", "123456")
    started = await citizen.start(owner, UUID(doc["id"]), actor, level="B-T", visible=True)
    signed_doc = await citizen.authorize(
        owner, started.id, actor, pin=PIN, code=pyotp.parse_uri(otp_uri).now()
    )

    stream = await services.vault.open_content(owner, signed_doc.id, actor)
    signed = b"".join([c async for c in stream.chunks])
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
    assert status.signing_cert.subject.native["common_name"] == "Trần Thị Ngọc Ánh"
    assert status.timestamp_validity is not None and status.timestamp_validity.valid
    services.signing_http.close()
