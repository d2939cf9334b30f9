"""The CSC v2 HTTP surface (``api/csc.py``) in a small Litestar app, and Kho's aiohttp
client transport against it over loopback."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import AsyncTestClient

from api.csc import CscController
from kho.samples import make_pdf
from signing.csc import (
    AiohttpTransport,
    CitizenSigning,
    CredentialLocked,
    CredentialNotFound,
    CscCaller,
    CscClient,
    CscEndpoints,
    CscService,
    Enrollment,
    InvalidPin,
    InvalidSad,
)
from signing.models import Credential
from tests.signing.conftest import FakeClock
from tests.signing.servers import serving

USER = "owner-0003"
TOKEN = "token-of-owner-0003"
PIN = "246810"
SHA256 = "2.16.840.1.101.3.4.2.1"
DOC_HASH = base64.b64encode(hashlib.sha256(b"attrs").digest()).decode()
AUTH = {"Authorization": f"Bearer {TOKEN}"}


RP_TOKEN = "token-of-a-relying-party"
RP_AUTH = {"Authorization": f"Bearer {RP_TOKEN}"}
USER_ID = "079200001234"  # USER's personal ID, as a relying party names them


class FakeAuth:
    def __init__(self, tokens: dict[str, CscCaller], user_ids: dict[str, str]) -> None:
        self._tokens = tokens
        self._user_ids = user_ids

    async def caller_for_token(self, token: str) -> CscCaller | None:
        return self._tokens.get(token)

    async def user_for_id(self, user_id: str) -> str | None:
        return self._user_ids.get(user_id)


def make_app(service: CscService) -> Litestar:
    endpoints = CscEndpoints(service)
    auth = FakeAuth(
        {
            TOKEN: CscCaller(user=USER),
            "other-token": CscCaller(user="someone-else"),
            RP_TOKEN: CscCaller(relying_party="000.00.01.H29"),
        },
        {USER_ID: USER},
    )
    return Litestar(
        route_handlers=[CscController],
        dependencies={
            "csc": Provide(lambda: endpoints, sync_to_thread=False),
            "csc_auth": Provide(lambda: auth, sync_to_thread=False),
        },
    )


@pytest.fixture
async def enrolled(csc_service: CscService, citizen: Credential) -> Enrollment:
    return await csc_service.enroll(USER, citizen, PIN)


@pytest.fixture
async def http(csc_service: CscService) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=make_app(csc_service)) as client:
        yield client


async def authorize_body(
    service: CscService, enrollment: Enrollment, clock: FakeClock, pin: str = PIN
) -> dict[str, Any]:
    clock.advance(30)
    return {
        "credentialID": enrollment.credential_id,
        "numSignatures": 1,
        "hashes": [DOC_HASH],
        "hashAlgorithmOID": SHA256,
        "authData": [
            {"id": "PIN", "value": pin},
            {"id": "OTP", "value": await service.current_otp(enrollment.credential_id)},
        ],
    }


async def test_info_needs_no_token(http: AsyncTestClient[Litestar]) -> None:
    response = await http.post("/csc/v2/info", json={})

    assert response.status_code == 200
    body = response.json()
    assert body["specs"].startswith("2.") and "signatures/signHash" in body["methods"]


async def test_list_and_info(
    http: AsyncTestClient[Litestar], enrolled: Enrollment, citizen: Credential
) -> None:
    listed = await http.post("/csc/v2/credentials/list", json={}, headers=AUTH)
    with_infos = await http.post(
        "/csc/v2/credentials/list", json={"credentialInfo": True}, headers=AUTH
    )
    info = await http.post(
        "/csc/v2/credentials/info",
        json={"credentialID": enrolled.credential_id, "certificates": "chain", "authInfo": True},
        headers=AUTH,
    )

    assert listed.status_code == 200
    assert listed.json()["credentialIDs"] == [enrolled.credential_id]
    assert with_infos.json()["credentialInfos"][0]["credentialID"] == enrolled.credential_id
    body = info.json()
    assert info.status_code == 200
    assert base64.b64decode(body["cert"]["certificates"][0]) == citizen.certificate
    assert len(body["cert"]["certificates"]) == 1 + len(citizen.chain)
    assert body["SCAL"] == "2" and body["key"]["status"] == "enabled"
    assert [o["id"] for o in body["auth"]["objects"]] == ["PIN", "OTP"]


async def test_a_relying_party_names_the_citizen_by_user_id(
    http: AsyncTestClient[Litestar],
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
) -> None:
    """One client-credentials token for every citizen: ``credentials/list`` needs
    ``userID``; the other calls act for the credential's owner, PIN and code required."""
    listed = await http.post("/csc/v2/credentials/list", json={"userID": USER_ID}, headers=RP_AUTH)
    nobody = await http.post(
        "/csc/v2/credentials/list", json={"userID": "001099000001"}, headers=RP_AUTH
    )
    missing = await http.post("/csc/v2/credentials/list", json={}, headers=RP_AUTH)
    # A citizen's own token ignores userID: nobody lists another citizen's credentials.
    own = await http.post(
        "/csc/v2/credentials/list", json={"userID": USER_ID}, headers=_auth("other-token")
    )
    info = await http.post(
        "/csc/v2/credentials/info",
        json={"credentialID": enrolled.credential_id},
        headers=RP_AUTH,
    )
    unknown = await http.post(
        "/csc/v2/credentials/info", json={"credentialID": "no-such-credential"}, headers=RP_AUTH
    )
    wrong_pin = await http.post(
        "/csc/v2/credentials/authorize",
        json=await authorize_body(csc_service, enrolled, csc_clock, pin="999999"),
        headers=RP_AUTH,
    )
    auth = await http.post(
        "/csc/v2/credentials/authorize",
        json=await authorize_body(csc_service, enrolled, csc_clock),
        headers=RP_AUTH,
    )
    signed = await http.post(
        "/csc/v2/signatures/signHash",
        json={
            "credentialID": enrolled.credential_id,
            "SAD": auth.json()["SAD"],
            "hashes": [DOC_HASH],
            "hashAlgorithmOID": SHA256,
            "signAlgo": "1.2.840.113549.1.1.11",
        },
        headers=RP_AUTH,
    )

    assert listed.status_code == 200 and listed.json()["credentialIDs"] == [enrolled.credential_id]
    assert nobody.status_code == 200 and nobody.json()["credentialIDs"] == []
    assert missing.status_code == 400
    assert missing.json()["error_description"].startswith("Invalid parameter userID")
    assert own.json()["credentialIDs"] == []
    assert info.status_code == 200 and info.json()["key"]["status"] == "enabled"
    assert unknown.status_code == 400
    assert wrong_pin.status_code == 400 and wrong_pin.json()["error"] == "invalid_pin"
    assert auth.status_code == 200
    assert signed.status_code == 200 and len(signed.json()["signatures"]) == 1


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_authorize_then_sign_hash(
    http: AsyncTestClient[Litestar],
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
) -> None:
    auth = await http.post(
        "/csc/v2/credentials/authorize",
        json=await authorize_body(csc_service, enrolled, csc_clock),
        headers=AUTH,
    )
    sign_body = {
        "credentialID": enrolled.credential_id,
        "SAD": auth.json()["SAD"],
        "hashes": [DOC_HASH],
        "hashAlgorithmOID": SHA256,
        "signAlgo": "1.2.840.113549.1.1.11",
        "operationMode": "S",
    }
    signed = await http.post("/csc/v2/signatures/signHash", json=sign_body, headers=AUTH)
    again = await http.post("/csc/v2/signatures/signHash", json=sign_body, headers=AUTH)

    assert auth.status_code == 200 and auth.json()["expiresIn"] == 300
    assert signed.status_code == 200 and len(signed.json()["signatures"]) == 1
    assert again.status_code == 400
    assert again.json() == {
        "error": "invalid_request",
        "error_description": "Invalid parameter SAD: the SAD was already used",
    }


async def test_error_shapes(
    http: AsyncTestClient[Litestar],
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
) -> None:
    no_token = await http.post("/csc/v2/credentials/list", json={})
    bad_token = await http.post(
        "/csc/v2/credentials/list", json={}, headers={"Authorization": "Bearer nope"}
    )
    others = await http.post(
        "/csc/v2/credentials/info",
        json={"credentialID": enrolled.credential_id},
        headers={"Authorization": "Bearer other-token"},
    )
    malformed = await http.post("/csc/v2/credentials/info", json={"x": 1}, headers=AUTH)
    wrong_pins = [
        await http.post(
            "/csc/v2/credentials/authorize",
            json=await authorize_body(csc_service, enrolled, csc_clock, pin="000000"),
            headers=AUTH,
        )
        for _ in range(5)
    ]
    locked = await http.post(
        "/csc/v2/credentials/authorize",
        json=await authorize_body(csc_service, enrolled, csc_clock),
        headers=AUTH,
    )

    assert no_token.status_code == 401 and no_token.json()["error"] == "invalid_token"
    assert "Bearer" in no_token.headers["www-authenticate"]
    assert bad_token.status_code == 401
    assert others.status_code == 400
    assert others.json() == {
        "error": "invalid_request",
        "error_description": "Invalid parameter credentialID",
    }
    assert malformed.status_code == 400 and malformed.json()["error"] == "invalid_request"
    assert set(malformed.json()) == {"error", "error_description"}
    assert [r.status_code for r in wrong_pins] == [400] * 5
    assert wrong_pins[0].json() == {
        "error": "invalid_pin",
        "error_description": "The PIN is invalid; 4 attempt(s) left",
    }
    assert locked.status_code == 403
    assert locked.json() == {
        "error": "access_denied",
        "error_description": "The credential is locked",
    }


async def test_expired_sad_over_http(
    http: AsyncTestClient[Litestar],
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
) -> None:
    auth = await http.post(
        "/csc/v2/credentials/authorize",
        json=await authorize_body(csc_service, enrolled, csc_clock),
        headers=AUTH,
    )
    csc_clock.advance(600)

    response = await http.post(
        "/csc/v2/signatures/signHash",
        json={
            "credentialID": enrolled.credential_id,
            "SAD": auth.json()["SAD"],
            "hashes": [DOC_HASH],
            "hashAlgorithmOID": SHA256,
            "signAlgo": "1.2.840.113549.1.1.11",
        },
        headers=AUTH,
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "SAD expired"}


@pytest.fixture
async def server_url(csc_service: CscService) -> AsyncIterator[str]:
    """The app on a loopback port, served by uvicorn in this event loop."""
    async with serving(make_app(csc_service)) as url:
        yield url


async def test_aiohttp_transport_signs_a_pdf_through_http_and_maps_errors(
    server_url: str,
    csc_service: CscService,
    enrolled: Enrollment,
    csc_clock: FakeClock,
    citizen_signing_b_b: CitizenSigning,
) -> None:
    pdf = make_pdf(["over http"])
    async with aiohttp.ClientSession() as session:
        client = CscClient(AiohttpTransport(session, server_url, TOKEN))
        stranger = CscClient(AiohttpTransport(session, server_url, "other-token"))

        assert (await client.info()).name == "Kho"
        assert await client.credentials_list() == [enrolled.credential_id]
        with pytest.raises(CredentialNotFound):
            await stranger.credential(enrolled.credential_id)
        started = await citizen_signing_b_b.start(client, enrolled.credential_id, pdf, level="B-B")
        csc_clock.advance(30)
        with pytest.raises(InvalidPin) as err:
            await citizen_signing_b_b.finish(
                client,
                started.state,
                started.prepared_pdf,
                pin="000000",
                otp=await csc_service.current_otp(enrolled.credential_id),
            )
        assert err.value.remaining_attempts == 4
        csc_clock.advance(30)
        signed = await citizen_signing_b_b.finish(
            client,
            started.state,
            started.prepared_pdf,
            pin=PIN,
            otp=await csc_service.current_otp(enrolled.credential_id),
        )
        with pytest.raises(InvalidSad):
            await client.sign_hash(
                enrolled.credential_id,
                "bogus",
                list(started.hashes),
                SHA256,
                "1.2.840.113549.1.1.11",
            )
        for _ in range(5):
            csc_clock.advance(30)
            with pytest.raises(InvalidPin):
                await client.authorize(
                    enrolled.credential_id,
                    list(started.hashes),
                    SHA256,
                    pin="000000",
                    otp=await csc_service.current_otp(enrolled.credential_id),
                )
        with pytest.raises(CredentialLocked):
            await client.authorize(
                enrolled.credential_id, list(started.hashes), SHA256, pin=PIN, otp="000000"
            )

    assert signed.startswith(pdf)


@pytest.fixture(scope="module")
def citizen_signing_b_b() -> CitizenSigning:
    return CitizenSigning()
