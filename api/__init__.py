"""JSON HTTP API under ``/api/v1``: thin controllers over the domain services."""

from api.accounts import AuthController, MeController
from api.admin import AdminRegistryController
from api.agency import AgencyController, IssuerStatusController
from api.counter import CounterController
from api.csc import CscController
from api.documents import DocumentController
from api.errors import exception_handlers
from api.filings import (
    AgencyFilingController,
    FilingController,
    ProcedureController,
    ReuseStatsController,
)
from api.metrics import Metrics
from api.notifications import NotificationController, WebhookController
from api.ops import OpsController
from api.pki import PkiController
from api.shares import (
    AccessLogController,
    AgencyRequestController,
    OfficialAuthController,
    RequestController,
    ShareController,
    SharedController,
)
from api.signatures import SignatureController
from api.verification import SharedReportController, VerificationController

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
    SharedReportController,
    AdminRegistryController,
    ShareController,
    SharedController,
    AccessLogController,
    RequestController,
    AgencyRequestController,
    OfficialAuthController,
    ProcedureController,
    FilingController,
    AgencyFilingController,
    ReuseStatsController,
    NotificationController,
    WebhookController,
]

__all__ = ["ROUTES", "Metrics", "exception_handlers"]
