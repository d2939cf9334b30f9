"""The notifications API: the citizen's list, read marks, contact details, and agencies'
webhook registration — auth, paging and bad input."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from vault.outbox import EventKind, enqueue

pytestmark = pytest.mark.usefixtures("cheap_passwords")

LIST = "/api/v1/notifications"
CONTACT = "/api/v1/me/contact"
WEBHOOK = "/api/v1/agency/webhook"


async def _citizen_with_notifications(client, services, n: int) -> tuple[dict[str, str], UUID]:
    pid, password = await f.citizen(services)
    owner_id = (await f.owner_row(services, pid)).id

    def write(session: Any) -> None:
        for i in range(n):
            enqueue(
                session,
                EventKind.SHARE_OPENED,
                {
                    "share_id": f"s{i}",
                    "purpose": f"#{i}",
                    "actor_name": "Ngân hàng",
                    "documents": 1,
                },
                owner_id=owner_id,
            )

    await services.database.run_write(write)
    await services.dispatcher.drain()
    return await f.login(client, pid, password), owner_id


async def test_list_pages_newest_first_with_an_unread_count(client, services):
    citizen, _ = await _citizen_with_notifications(client, services, 5)

    first = (await client.get(LIST, headers=citizen, params={"limit": 2})).json()
    second = (
        await client.get(LIST, headers=citizen, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    third = (
        await client.get(
            LIST, headers=citizen, params={"limit": 2, "cursor": second["next_cursor"]}
        )
    ).json()

    purposes = [i["data"]["purpose"] for p in (first, second, third) for i in p["items"]]
    assert purposes == ["#4", "#3", "#2", "#1", "#0"]
    assert third["next_cursor"] is None
    assert first["unread_count"] == 5
    item = first["items"][0]
    assert set(item) == {"id", "event_id", "kind", "title", "body", "data", "created_at", "read_at"}
    assert item["read_at"] is None
    assert item["title"] == "Giấy tờ bạn chia sẻ vừa được mở"


async def test_read_one_then_all_and_filter_unread(client, services):
    citizen, _ = await _citizen_with_notifications(client, services, 3)
    items = (await client.get(LIST, headers=citizen)).json()["items"]

    r = await client.post(f"{LIST}/{items[1]['id']}/read", headers=citizen)
    assert r.status_code == 200, r.text
    assert r.json()["read_at"] is not None
    again = await client.post(f"{LIST}/{items[1]['id']}/read", headers=citizen)
    assert again.json()["read_at"] == r.json()["read_at"]  # idempotent: first read kept

    unread = (await client.get(LIST, headers=citizen, params={"unread": "true"})).json()
    assert [i["id"] for i in unread["items"]] == [items[0]["id"], items[2]["id"]]
    assert unread["unread_count"] == 2

    r = await client.post(f"{LIST}/read-all", headers=citizen)
    assert r.status_code == 200, r.text
    assert r.json() == {"marked": 2}
    after = (await client.get(LIST, headers=citizen)).json()
    assert after["unread_count"] == 0
    assert all(i["read_at"] for i in after["items"])


async def test_another_owners_notification_is_not_found(client, services):
    mine, _ = await _citizen_with_notifications(client, services, 1)
    theirs, _ = await _citizen_with_notifications(client, services, 1)
    [their_item] = (await client.get(LIST, headers=theirs)).json()["items"]

    r = await client.post(f"{LIST}/{their_item['id']}/read", headers=mine)

    f.assert_problem(r, 404, "not-found")
    assert (await client.get(LIST, headers=mine)).json()["unread_count"] == 1
    assert (await client.post(f"{LIST}/read-all", headers=mine)).json() == {"marked": 1}
    still = (await client.get(LIST, headers=theirs)).json()["items"][0]
    assert still["read_at"] is None


async def test_notifications_need_a_citizen_token(client, services):
    agency, _ = await f.agency_headers(services, client)
    f.assert_problem(await client.get(LIST), 401)
    f.assert_problem(await client.get(LIST, headers=agency), 403, "insufficient-scope")
    f.assert_problem(await client.post(f"{LIST}/read-all", headers=agency), 403)
    f.assert_problem(await client.put(CONTACT, headers=agency, json={"email": "a@b.vn"}), 403)


async def test_bad_list_input_is_a_precise_4xx(client, services):
    citizen, _ = await _citizen_with_notifications(client, services, 1)
    cases = [
        ({"cursor": "not-a-cursor!"}, 422, "invalid-input"),
        ({"cursor": "x" * 65}, 400, "validation-error"),
        ({"limit": 0}, 400, "validation-error"),
        ({"limit": 101}, 400, "validation-error"),
        ({"limit": "many"}, 400, "validation-error"),
        ({"unread": "perhaps"}, 400, "validation-error"),
    ]
    for params, status, slug in cases:
        f.assert_problem(await client.get(LIST, headers=citizen, params=params), status, slug)
    f.assert_problem(await client.post(f"{LIST}/not-a-uuid/read", headers=citizen), 404)
    f.assert_problem(await client.post(f"{LIST}/{UUID(int=7)}/read", headers=citizen), 404)


# -- contact ------------------------------------------------------------------------------


async def test_contact_is_validated_and_normalised(client, services):
    citizen = await f.citizen_headers(services, client)
    assert (await client.get(CONTACT, headers=citizen)).json() == {"email": None, "phone": None}

    r = await client.put(
        CONTACT, headers=citizen, json={"email": " An.Nguyen@Example.VN ", "phone": "091 234 5678"}
    )

    assert r.status_code == 200, r.text
    assert r.json() == {"email": "An.Nguyen@example.vn", "phone": "+84912345678"}
    assert (await client.get(CONTACT, headers=citizen)).json() == r.json()
    cleared = await client.put(CONTACT, headers=citizen, json={"email": "", "phone": None})
    assert cleared.json() == {"email": None, "phone": None}


async def test_bad_contact_input_is_rejected(client, services):
    citizen = await f.citizen_headers(services, client)
    cases = [
        ({"email": "not-an-email"}, 422, "email"),
        ({"email": "a@b"}, 422, "email"),
        ({"email": "a b@example.vn"}, 422, "email"),
        ({"email": "a@example.vn\r\nBcc: x@evil.test"}, 422, "email"),
        ({"phone": "12345"}, 422, "phone"),
        ({"phone": "+84abc"}, 422, "phone"),
        ({"email": "a" * 321 + "@x.vn"}, 400, None),
        ({"email": 42}, 400, None),
        ({"fax": "1"}, 400, None),
    ]
    for body, status, field in cases:
        problem = f.assert_problem(await client.put(CONTACT, headers=citizen, json=body), status)
        if field:
            assert problem["field"] == field, body
    r = await client.put(
        CONTACT, headers={**citizen, "content-type": "application/json"}, content=b"{"
    )
    f.assert_problem(r, 400)
    assert (await client.get(CONTACT, headers=citizen)).json() == {"email": None, "phone": None}


# -- agency webhooks ----------------------------------------------------------------------


async def test_webhook_registration_shows_the_secret_once(client, services):
    agency, _ = await f.agency_headers(services, client, scope="request")  # any scope will do

    r = await client.put(WEBHOOK, headers=agency, json={"url": "https://hooks.example.vn/kho"})

    assert r.status_code == 200, r.text
    body = r.json()
    assert body["url"] == "https://hooks.example.vn/kho"
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["signature"].startswith("Kho-Signature: t=")
    assert r.headers["cache-control"] == "no-store"
    shown = (await client.get(WEBHOOK, headers=agency)).json()
    assert shown == {"url": body["url"], "created_at": body["created_at"]}  # no secret
    again = (
        await client.put(WEBHOOK, headers=agency, json={"url": "https://x.example.vn/h"})
    ).json()
    assert again["secret"] != body["secret"]  # replacing rotates the secret

    r = await client.delete(WEBHOOK, headers=agency)
    assert r.status_code == 204
    f.assert_problem(await client.get(WEBHOOK, headers=agency), 404, "webhook-not-found")
    f.assert_problem(await client.delete(WEBHOOK, headers=agency), 404, "webhook-not-found")


async def test_webhooks_are_per_agency_and_need_an_agency_token(client, services):
    one, _ = await f.agency_headers(services, client)
    two, _ = await f.agency_headers(services, client)
    citizen = await f.citizen_headers(services, client)
    await client.put(WEBHOOK, headers=one, json={"url": "https://one.example.vn/h"})

    f.assert_problem(await client.get(WEBHOOK, headers=two), 404)
    f.assert_problem(await client.delete(WEBHOOK, headers=two), 404)
    f.assert_problem(await client.get(WEBHOOK), 401)
    f.assert_problem(
        await client.put(WEBHOOK, headers=citizen, json={"url": "https://c.example.vn"}),
        403,
        "insufficient-scope",
    )
    assert (await client.get(WEBHOOK, headers=one)).json()["url"] == "https://one.example.vn/h"


async def test_bad_webhook_urls_are_rejected(client, services):
    agency, _ = await f.agency_headers(services, client)
    cases = [
        ({"url": "ftp://example.vn/h"}, 422),
        ({"url": "not a url"}, 422),
        ({"url": "/relative/path"}, 422),
        ({"url": "https://user:pw@example.vn/h"}, 422),
        ({"url": "https://example.vn:99999/h"}, 422),
        ({"url": "https://example.vn/h#frag"}, 422),
        ({"url": ""}, 400),
        ({"url": "https://example.vn/" + "a" * 2000}, 400),
        ({"uri": "https://example.vn"}, 400),
        ({}, 400),
    ]
    for body, status in cases:
        problem = f.assert_problem(await client.put(WEBHOOK, headers=agency, json=body), status)
        if status == 422:
            assert problem["field"] == "url", body
    f.assert_problem(await client.get(WEBHOOK, headers=agency), 404)


async def test_openapi_describes_the_notification_operations(client):
    spec = (await client.get("/schema/openapi.json")).json()
    ops = {
        op["operationId"]
        for path in spec["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {
        "ListNotifications",
        "MarkNotificationRead",
        "MarkAllNotificationsRead",
        "GetMyContact",
        "SetMyContact",
        "SetAgencyWebhook",
        "GetAgencyWebhook",
        "DeleteAgencyWebhook",
    } <= ops
