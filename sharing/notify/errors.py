"""Errors of the notifications package; ``api/errors.py`` maps them to problem+json."""

from __future__ import annotations

from uuid import UUID


class NotifyError(Exception):
    """Base of every error raised by ``sharing.notify``."""


class NotificationNotFound(NotifyError):
    """No such notification for this owner (another owner's look the same)."""

    def __init__(self, notification_id: UUID) -> None:
        super().__init__(f"notification {notification_id} not found")
        self.notification_id = notification_id


class WebhookNotFound(NotifyError):
    """The agency has no webhook registered."""

    def __init__(self, agency_id: UUID) -> None:
        super().__init__(f"agency {agency_id} has no webhook")
        self.agency_id = agency_id


class DeliveryFailed(NotifyError):
    """A channel could not deliver a message; the dispatcher retries it later unless
    ``permanent`` (then it gives up at once)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
