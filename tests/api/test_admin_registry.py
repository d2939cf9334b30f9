"""The trust registry's admin API, authenticated with operator tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from kho.app import Services, create_app
from tests import factories as f
from tests.cli_helpers import kho
from tests.conftest import make_settings
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from verification.operators import OperatorTokenRow, OperatorTokens

pytestmark = pytest.mark.usefixtures("cheap_passwords")
ADMIN = "/api/v1/admin/registry"


def ca_pem(name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.PEM).decode(), cert.fingerprint(hashes.SHA256()).hex()


async def _operator(services) -> dict[str, str]:
    _, secret = await OperatorTokens(services.database).create("Nguyễn Vận Hành")
    return {"Authorization": f"Bearer {secret}"}


async def _version(client, headers) -> int:
    r = await client.get(f"{ADMIN}/version", headers=headers)
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


async def test_an_operator_manages_the_registry_and_every_change_bumps_the_version(
    client, services
):
    op = await _operator(services)
    v0 = await _version(client, op)
    pem, fingerprint = ca_pem("Bộ Tư pháp CA")

    # Arrange/act: a document type, an anchor, an issuer of that CA, an authorization.
    r = await client.post(
        f"{ADMIN}/types",
        headers=op,
        json={
            "code": "adoption_certificate",
            "name_vi": "Giấy chứng nhận nhận nuôi con nuôi",
            "name_en": "Adoption certificate",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == v0 + 1
    r = await client.post(f"{ADMIN}/anchors", headers=op, json={"name": "Bộ Tư pháp", "pem": pem})
    assert r.status_code == 201, r.text
    assert r.json()["anchor"]["fingerprint"] == fingerprint
    assert r.json()["version"] == v0 + 2
    r = await client.post(
        f"{ADMIN}/issuers",
        headers=op,
        json={
            "code": "BTP",
            "name": "Bộ Tư pháp",
            "issued_by_ca_pem": pem,
            "ou": "BTP",
            "doc_types": ["judicial_record"],
        },
    )
    assert r.status_code == 201, r.text
    issuer = r.json()["issuer"]
    assert issuer["doc_types"] == ["judicial_record"]
    assert issuer["matches"][0]["issued_by_sha256"] == fingerprint
    assert issuer["matches"][0]["subject"] == {"organizational_unit_name": "BTP"}
    r = await client.post(
        f"{ADMIN}/authorizations",
        headers=op,
        json={"issuer": "BTP", "doc_type": "adoption_certificate"},
    )
    assert r.json() == {
        "issuer": "BTP",
        "doc_type": "adoption_certificate",
        "allowed": True,
        "changed": True,
        "version": v0 + 4,
    }
    again = await client.post(
        f"{ADMIN}/authorizations",
        headers=op,
        json={"issuer": "BTP", "doc_type": "adoption_certificate"},
    )
    assert again.json()["changed"] is False and again.json()["version"] == v0 + 4

    # The same service as the CLI: the pipeline's registry sees it.
    registry = await services.registry.snapshot()
    assert registry.authorizes("BTP", "adoption_certificate")
    listed = (await client.get(f"{ADMIN}/issuers", headers=op)).json()
    assert [i["code"] for i in listed["items"]] == ["BTP"]
    types = (await client.get(f"{ADMIN}/types", headers=op)).json()
    assert "adoption_certificate" in {t["code"] for t in types["items"]}
    anchors = (await client.get(f"{ADMIN}/anchors", headers=op)).json()
    assert anchors["items"][0]["pem"].startswith("-----BEGIN CERTIFICATE-----")

    # A type in use cannot go; deny, then it can.
    r = await client.delete(f"{ADMIN}/types/adoption_certificate", headers=op)
    problem = f.assert_problem(r, 409, "document-type-in-use")
    assert problem["issuers"] == ["BTP"]
    r = await client.delete(f"{ADMIN}/authorizations/BTP/adoption_certificate", headers=op)
    assert r.json()["allowed"] is False and r.json()["changed"] is True
    r = await client.put(
        f"{ADMIN}/types/adoption_certificate",
        headers=op,
        json={"name_vi": "Giấy nhận nuôi", "name_en": "Adoption"},
    )
    assert r.json()["document_type"]["name_en"] == "Adoption"
    assert (
        await client.delete(f"{ADMIN}/types/adoption_certificate", headers=op)
    ).status_code == 200

    # Revocation URLs: CRLs and OCSP responders.
    r = await client.post(
        f"{ADMIN}/revocation-urls",
        headers=op,
        json={"url": "https://ca.example.gov.vn/ocsp", "kind": "ocsp"},
    )
    assert r.json()["changed"] is True
    urls = (await client.get(f"{ADMIN}/revocation-urls", headers=op)).json()
    assert urls["ocsp"] == ["https://ca.example.gov.vn/ocsp"] and urls["crl"] == []
    assert (await services.registry.snapshot()).ocsp_urls == ("https://ca.example.gov.vn/ocsp",)
    r = await client.delete(
        f"{ADMIN}/revocation-urls", headers=op, params={"url": "https://ca.example.gov.vn/ocsp"}
    )
    assert r.status_code == 200

    r = await client.delete(f"{ADMIN}/issuers/BTP", headers=op)
    assert r.status_code == 200
    r = await client.delete(f"{ADMIN}/anchors/{fingerprint}", headers=op)
    assert r.status_code == 200
    assert await _version(client, op) == r.json()["version"] > v0 + 4


async def test_bad_input_gets_precise_problems_and_changes_nothing(client, services):
    op = await _operator(services)
    v0 = await _version(client, op)
    pem, _ = ca_pem("CA")
    cases = [
        ("post", "/anchors", {"name": "x", "pem": "not a certificate"}, 422, "invalid-certificate"),
        ("post", "/anchors", {"name": "x"}, 400, "validation-error"),
        (
            "post",
            "/types",
            {"code": "Bad Code!", "name_vi": "a", "name_en": "b"},
            422,
            "invalid-registry-entry",
        ),
        (
            "post",
            "/types",
            {"code": "birth_certificate", "name_vi": "a", "name_en": "b"},
            409,
            "already-exists",
        ),
        ("post", "/issuers", {"code": "X1", "name": "X"}, 422, "invalid-input"),
        (
            "post",
            "/issuers",
            {"code": "X1", "name": "X", "issued_by_ca_pem": pem, "doc_types": ["nope"]},
            422,
            "invalid-input",
        ),
        (
            "post",
            "/issuers",
            {"code": "X1", "name": "X", "matches": [{"subject": {"common_name": "X"}}]},
            422,
            "invalid-input",
        ),
        (
            "post",
            "/authorizations",
            {"issuer": "NOPE", "doc_type": "diploma"},
            422,
            "invalid-input",
        ),
        ("post", "/revocation-urls", {"url": "ftp://x"}, 422, "invalid-registry-entry"),
        ("post", "/revocation-urls", {"url": "https://x", "kind": "ldap"}, 400, "validation-error"),
        ("delete", "/issuers/NOPE", None, 404, "not-found"),
        ("delete", "/types/nope", None, 404, "not-found"),
        ("delete", "/anchors/" + "0" * 64, None, 404, "not-found"),
        ("delete", "/authorizations/NOPE/diploma", None, 404, "not-found"),
        ("put", "/types/nope", {"name_vi": "a", "name_en": "b"}, 404, "not-found"),
    ]
    for method, path, body, status, slug in cases:
        kwargs = {"json": body} if body is not None else {}
        r = await client.request(method.upper(), ADMIN + path, headers=op, **kwargs)
        f.assert_problem(r, status, slug)
    assert await _version(client, op) == v0


async def test_only_operators_get_in(client, services):
    citizen = await f.citizen_headers(services, client)
    agency, _ = await f.agency_headers(services, client)
    f.assert_problem(await client.get(f"{ADMIN}/version"), 401)
    f.assert_problem(
        await client.get(f"{ADMIN}/version", headers={"Authorization": "Bearer kho_op_nope"}), 401
    )
    for headers in (citizen, agency):
        f.assert_problem(
            await client.get(f"{ADMIN}/version", headers=headers), 403, "insufficient-scope"
        )
        r = await client.post(
            f"{ADMIN}/types", headers=headers, json={"code": "x_y", "name_vi": "a", "name_en": "b"}
        )
        f.assert_problem(r, 403)
    # A revoked or expired operator token is refused.
    tokens = OperatorTokens(services.database)
    token, secret = await tokens.create("ops")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get(f"{ADMIN}/version", headers=bearer)).status_code == 200
    await tokens.revoke(token.id)
    f.assert_problem(await client.get(f"{ADMIN}/version", headers=bearer), 401)
    late = OperatorTokens(services.database, clock=lambda: datetime.now(UTC) - timedelta(days=91))
    _, old = await late.create("ops", ttl_days=90)
    f.assert_problem(
        await client.get(f"{ADMIN}/version", headers={"Authorization": f"Bearer {old}"}), 401
    )


async def test_every_route_has_an_operation_id(client):
    schema = (await client.get("/schema/openapi.json")).json()
    ops = [
        op
        for path, item in schema["paths"].items()
        if path.startswith(ADMIN)
        for op in item.values()
    ]
    assert len(ops) == 16
    assert all(o.get("operationId") for o in ops)


@pytest.mark.slow
def test_kho_admin_token_create_prints_it_once_and_stores_its_hash(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    made = kho(data_dir, "admin", "token", "create", "--name", "Trực ca")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("kho_op_") and len(secret) > 40
    listed = kho(data_dir, "admin", "token", "list")
    assert listed.returncode == 0 and "Trực ca" in listed.stdout and secret not in listed.stdout
    token_id = listed.stdout.split()[0]

    async def check() -> None:
        settings = make_settings(
            tmp_path, f"sqlite+aiosqlite:///{data_dir / 'kho.db'}", data_dir=data_dir
        )
        services = Services(settings)
        try:
            async with services.database.read() as session:
                rows = (await session.execute(select(OperatorTokenRow))).scalars().all()
            assert [r.name for r in rows] == ["Trực ca"]
            assert secret not in rows[0].token_hash
            assert await services.operator_tokens.authenticate(secret) is not None
            import httpx

            app = create_app(settings, services)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://kho.test"
            ) as c:
                r = await c.get(f"{ADMIN}/version", headers={"Authorization": f"Bearer {secret}"})
                assert r.status_code == 200, r.text
        finally:
            await services.close()

    asyncio.run(check())
    revoked = kho(data_dir, "admin", "token", "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert kho(data_dir, "admin", "token", "revoke", "not-a-uuid").returncode == 2
