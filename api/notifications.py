"""The citizen's notifications and contact details; agencies' webhook registration."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, post, put
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.auth import provide_owner
from api.deps import Accounts, AnyPrincipal, Notifications, Owner
from api.errors import ApiProblem
from api.schemas import notifications as s
from sharing.notify import NotificationNotFound
from vault import Agency

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def parse_notification_id(raw: str) -> UUID:
    """A malformed id is simply not found."""
    try:
        return UUID(raw)
    except ValueError:
        raise NotificationNotFound(UUID(int=0)) from None


class NotificationController(Controller):
    path = "/api/v1"
    tags = ["notifications"]
    dependencies = {"owner": Provide(provide_owner)}

    @get("/notifications", operation_id="ListNotifications")
    async def list_notifications(
        self,
        notifications: Notifications,
        owner: Owner,
        unread: FromQuery[bool] = False,
        cursor: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> s.NotificationList:
        """The owner's notifications, newest first; ``unread=true`` keeps the unread
        ones; ``next_cursor`` continues; ``unread_count`` counts all unread."""
        assert owner.owner_id is not None
        page = await notifications.list(
            owner.owner_id, unread_only=unread, cursor=cursor, limit=limit
        )
        return s.NotificationList.from_domain(page)

    @post("/notifications/read-all", operation_id="MarkAllNotificationsRead", status_code=200)
    async def read_all(self, notifications: Notifications, owner: Owner) -> s.MarkedRead:
        assert owner.owner_id is not None
        return s.MarkedRead(marked=await notifications.mark_all_read(owner.owner_id))

    @post(
        "/notifications/{notification_id:str}/read",
        operation_id="MarkNotificationRead",
        status_code=200,
    )
    async def read_one(
        self, notifications: Notifications, owner: Owner, notification_id: FromPath[str]
    ) -> s.Notification:
        assert owner.owner_id is not None
        n = await notifications.mark_read(owner.owner_id, parse_notification_id(notification_id))
        return s.Notification.from_domain(n)

    @get("/me/contact", operation_id="GetMyContact")
    async def get_contact(self, notifications: Notifications, owner: Owner) -> s.Contact:
        assert owner.owner_id is not None
        return s.Contact.from_domain(await notifications.get_contact(owner.owner_id))

    @put("/me/contact", operation_id="SetMyContact", status_code=200)
    async def set_contact(
        self, notifications: Notifications, owner: Owner, data: JSONBody[s.ContactUpdate]
    ) -> s.Contact:
        """Email and phone for notifications (phone: ``0912345678`` or E.164)."""
        assert owner.owner_id is not None
        contact = await notifications.set_contact(
            owner.owner_id, email=data.email, phone=data.phone
        )
        return s.Contact.from_domain(contact)


async def _calling_agency(accounts: Accounts, principal: AnyPrincipal) -> Agency:
    """The agency behind an agency token of any scope (else 403)."""
    if principal.kind != "agency" or principal.agency_code is None:
        raise ApiProblem(
            403,
            "insufficient-scope",
            "This route needs an agency token",
            headers={"WWW-Authenticate": 'Bearer realm="kho", error="insufficient_scope"'},
        )
    return await accounts.get_agency_by_code(principal.agency_code)


class WebhookController(Controller):
    path = "/api/v1/agency/webhook"
    tags = ["agency"]

    @put("/", operation_id="SetAgencyWebhook", status_code=200)
    async def set_webhook(
        self,
        notifications: Notifications,
        accounts: Accounts,
        principal: AnyPrincipal,
        data: JSONBody[s.WebhookUpdate],
    ) -> Response[s.WebhookCreated]:
        """Register (or replace) the agency's webhook.  The answer carries a new signing
        secret, shown this once; deliveries are signed with it (see ``signature``)."""
        agency = await _calling_agency(accounts, principal)
        hook, secret = await notifications.set_webhook(agency.id, data.url)
        return Response(s.WebhookCreated.from_domain(hook, secret), headers=_NO_STORE)

    @get("/", operation_id="GetAgencyWebhook")
    async def get_webhook(
        self, notifications: Notifications, accounts: Accounts, principal: AnyPrincipal
    ) -> s.WebhookOut:
        agency = await _calling_agency(accounts, principal)
        return s.WebhookOut.from_domain(await notifications.get_webhook(agency.id))

    @delete("/", operation_id="DeleteAgencyWebhook", status_code=204)
    async def delete_webhook(
        self, notifications: Notifications, accounts: Accounts, principal: AnyPrincipal
    ) -> None:
        agency = await _calling_agency(accounts, principal)
        await notifications.delete_webhook(agency.id)


__all__ = ["NotificationController", "WebhookController"]
