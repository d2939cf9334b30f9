"""Notifications: the outbox drain (``Dispatcher``), its channels (in-app, email over
SMTP, SMS, signed agency webhooks) and the citizen's notification list."""

from sharing.notify.channels import (
    Channel,
    InAppChannel,
    LogSmsGateway,
    SmsChannel,
    SmsGateway,
    SmtpEmailChannel,
    WebhookChannel,
    sign,
)
from sharing.notify.dispatcher import Dispatcher
from sharing.notify.errors import (
    DeliveryFailed,
    NotificationNotFound,
    NotifyError,
    WebhookNotFound,
)
from sharing.notify.models import (
    Contact,
    Delivery,
    Notification,
    NotificationPage,
    NotifySettings,
    Webhook,
)
from sharing.notify.render import Rendered, render
from sharing.notify.service import NotificationService, forget_owner

__all__ = [
    "Channel",
    "Contact",
    "Delivery",
    "DeliveryFailed",
    "Dispatcher",
    "InAppChannel",
    "LogSmsGateway",
    "Notification",
    "NotificationNotFound",
    "NotificationPage",
    "NotificationService",
    "NotifyError",
    "NotifySettings",
    "Rendered",
    "SmsChannel",
    "SmsGateway",
    "SmtpEmailChannel",
    "Webhook",
    "WebhookChannel",
    "WebhookNotFound",
    "forget_owner",
    "render",
    "sign",
]
