from tests import factories as f


async def test_upload_and_read_back(client, services):
    headers = await f.citizen_headers(services, client)
    content = f.pdf("xin chào", padding=600_000)
    doc = await f.upload(
        client, headers, content, title="Giấy khai sinh", doc_type="birth_certificate"
    )
    assert doc["provenance"] == "uploaded"
    r = await client.get(f"/api/v1/documents/{doc['id']}/content", headers=headers)
    assert r.status_code == 200
    assert r.content == content
