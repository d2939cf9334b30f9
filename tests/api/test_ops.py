"""Health, readiness, metrics, OpenAPI and framework-level errors."""

from __future__ import annotations

from tests import factories as f


async def test_live_and_ready(client):
    assert (await client.get("/health/live")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "blobs": "ok"}


async def test_ready_fails_when_the_blob_store_is_unusable(client, settings):
    blobs = settings.data_dir / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    blobs.chmod(0o500)  # not writable
    try:
        import os

        if os.geteuid() == 0:  # root ignores permissions: replace the dir with a file
            blobs.chmod(0o700)
            blobs.rmdir()
            blobs.write_bytes(b"not a directory")
        ready = await client.get("/health/ready")
    finally:
        if blobs.is_file():
            blobs.unlink()
        else:
            blobs.chmod(0o700)
    assert ready.status_code == 503
    assert ready.json()["checks"]["blobs"].startswith("failing")


async def test_metrics_count_requests_and_stored_bytes(client, services):
    headers = await f.citizen_headers(services, client)
    doc = await f.upload(client, headers, f.pdf("metrics"))
    text = (await client.get("/metrics")).text
    assert (
        'kho_http_requests_total{method="POST",route="/api/v1/documents",status="201"} 1.0' in text
    )
    assert "kho_http_request_duration_seconds_bucket" in text
    assert "kho_documents 1.0" in text
    assert f"kho_stored_bytes {float(doc['size'])}" in text


async def test_openapi_describes_every_operation(client):
    spec = (await client.get("/schema/openapi.json")).json()
    ops = {
        op["operationId"]
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {
        "Login",
        "Logout",
        "OAuthToken",
        "UploadDocument",
        "ListDocuments",
        "GetDocument",
        "GetDocumentContent",
        "DeleteDocument",
        "CreateDeposit",
        "ListAuditEvents",
        "ExportMyData",
        "DeleteMyAccount",
    } <= ops


async def test_unknown_route_and_wrong_method_are_problems(client):
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    r = await client.put("/api/v1/auth/login", json={})
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"
