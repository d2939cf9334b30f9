"""Two app instances on one database (as two processes behind a load balancer): a
report cached by one never outlives a revocation, a supersession or a registry change
made through the other."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kho.app import Services, create_app
from kho.registry_cli import register_agency_issuer
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from verification.operators import OperatorTokens

pytestmark = pytest.mark.usefixtures("cheap_passwords")


@pytest.fixture
async def two(settings, services) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Instance A (the ``services`` fixture) and instance B: their own services, caches
    and verification workers, the same database and data directory.  Only A's fixture
    empties the shared PostgreSQL database afterwards; B just closes."""
    other = Services(settings)
    apps = [create_app(settings, services), create_app(settings, other)]
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 50000)),
            base_url="http://kho.test",
        )
        for app in apps
    ]
    await services.signing.ready()
    await other.signing.ready()
    try:
        yield clients[0], clients[1]
    finally:
        for c in clients:
            await c.aclose()
        await other.close()


async def _deposit(a, agency, pid, title):
    r = await a.post(
        "/api/v1/agency/deposits",
        headers=agency,
        data={"personal_id": pid, "sign": "true", "doc_type": "birth_certificate", "title": title},
        files={"file": ("gks.pdf", f.pdf(title), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _verdict(client, headers, doc_id):
    r = await client.get(f"/api/v1/documents/{doc_id}/verification", headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    return report["verdict"], {x["code"] for x in report["reasons"]}


async def test_changes_made_through_one_instance_show_at_once_in_the_other(two, services):
    a, b = two
    agency, code = await f.agency_headers(services, a)
    await register_agency_issuer(services, code, f"Cơ quan {code}", ["birth_certificate"])
    pid, password = await f.citizen(services)
    first = await _deposit(a, agency, pid, "Giay khai sinh 1")
    second = await _deposit(a, agency, pid, "Giay khai sinh 2")
    third = await _deposit(a, agency, pid, "Giay khai sinh 3")
    citizen = await f.login(b, pid, password)
    share = await b.post(
        "/api/v1/shares",
        headers=citizen,
        json={"document_ids": [first["id"]], "ttl_seconds": 3600},
    )
    token = share.json()["token"]
    # B has verified everything once: its caches are warm.
    for doc in (first, second, third):
        assert (await _verdict(b, citizen, doc["id"]))[0] == "passed"
    view = (await b.get(f"/api/v1/shared/{token}")).json()
    assert view["documents"][0]["verification"]["verdict"] == "passed"

    # Revocation through A: B's next answers say so (owner's report and share view).
    r = await a.post(
        f"/api/v1/agency/documents/{first['id']}/revoke",
        headers=agency,
        json={"reason": "Cấp nhầm"},
    )
    assert r.status_code == 200, r.text
    verdict, codes = await _verdict(b, citizen, first["id"])
    assert verdict == "failed" and "document.revoked" in codes
    view = (await b.get(f"/api/v1/shared/{token}", headers={"Share-Grant": view["grant"]})).json()
    assert view["documents"][0]["verification"]["verdict"] == "failed"

    # Supersession through A.
    r = await a.post(
        f"/api/v1/agency/documents/{second['id']}/supersede",
        headers=agency,
        json={"superseded_by": third["id"]},
    )
    assert r.status_code == 200, r.text
    verdict, codes = await _verdict(b, citizen, second["id"])
    assert verdict == "failed" and "document.superseded" in codes

    # A registry change through A's admin API: the issuer may no longer issue the type.
    _, secret = await OperatorTokens(services.database).create("ops")
    r = await a.delete(
        f"/api/v1/admin/registry/authorizations/{code}/birth_certificate",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert r.status_code == 200 and r.json()["changed"] is True, r.text
    verdict, codes = await _verdict(b, citizen, third["id"])
    assert verdict == "failed" and "issuer.not_authorized_for_type" in codes
    r = await b.get(f"/api/v1/documents/{third['id']}/verification", headers=citizen)
    assert r.json()["registry_version"] == await services.registry.version()
