"""The whole app on the S3 backend (moto over HTTP): the production storage path."""

from __future__ import annotations

import httpx

from kho.app import Services, create_app
from tests import factories as f
from tests.conftest import close_services, make_settings


async def test_upload_download_delete_through_s3(
    tmp_path, db_url, s3_endpoint, s3_bucket, s3_client
):
    settings = make_settings(
        tmp_path,
        db_url,
        blob_url=f"s3://{s3_bucket}?endpoint={s3_endpoint}&secure=false&region=us-east-1",
        s3_access_key="testing",
        s3_secret_key="testing",
    )
    services = Services(settings)
    try:
        app = create_app(settings, services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kho.test") as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 200, ready.text
            headers = await f.citizen_headers(services, client)
            content = f.pdf("qua S3", padding=900_000)
            doc = await f.upload(client, headers, content)
            objects = list(s3_client.list_objects(s3_bucket, recursive=True))
            assert len(objects) == 1
            stored = s3_client.get_object(s3_bucket, objects[0].object_name)
            try:
                raw = stored.read()
            finally:
                stored.close()
                stored.release_conn()
            assert b"qua S3" not in raw  # encrypted at rest in the bucket too
            r = await client.get(f"/api/v1/documents/{doc['id']}/content", headers=headers)
            assert r.content == content
            part = await client.get(
                f"/api/v1/documents/{doc['id']}/content",
                headers={**headers, "Range": "bytes=262100-262200"},
            )
            assert part.status_code == 206
            assert part.content == content[262100:262201]
            gone = await client.delete(f"/api/v1/documents/{doc['id']}", headers=headers)
            assert gone.status_code == 204
            assert list(s3_client.list_objects(s3_bucket, recursive=True)) == []
    finally:
        await close_services(services)
