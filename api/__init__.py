"""JSON HTTP API under ``/api/v1``: thin controllers over the domain services."""

from api.accounts import AuthController, MeController
from api.agency import AgencyController
from api.counter import CounterController
from api.documents import DocumentController
from api.errors import exception_handlers
from api.metrics import Metrics
from api.ops import OpsController
from api.pki import PkiController

ROUTES = [
    AuthController,
    MeController,
    DocumentController,
    AgencyController,
    CounterController,
    OpsController,
    PkiController,
]

__all__ = ["ROUTES", "Metrics", "exception_handlers"]
