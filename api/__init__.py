"""JSON HTTP API under ``/api/v1``: thin controllers over the domain services."""

from api.accounts import AuthController, MeController
from api.agency import AgencyController, IssuerStatusController
from api.counter import CounterController
from api.csc import CscController
from api.documents import DocumentController
from api.errors import exception_handlers
from api.metrics import Metrics
from api.notifications import NotificationController, WebhookController
from api.ops import OpsController
from api.pki import PkiController
from api.signatures import SignatureController
from api.verification import VerificationController

ROUTES = [
    AuthController,
    MeController,
    DocumentController,
    AgencyController,
    IssuerStatusController,
    CounterController,
    OpsController,
    PkiController,
    SignatureController,
    CscController,
    VerificationController,
    NotificationController,
    WebhookController,
]

__all__ = ["ROUTES", "Metrics", "exception_handlers"]
