"""Named dependencies provided by the composition root (``kho.app``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeAlias

from litestar.di import NamedDependency

from api.metrics import Metrics
from api.ratelimit import RateLimiter
from sharing.access import AccessLog
from sharing.notify import NotificationService
from sharing.requests import RequestService
from sharing.shares import ShareService
from signing import SigningService
from signing.citizen import CitizenSignatures
from signing.receipts import DepositReceipts
from vault import AccountService, Principal, VaultService
from vault.blobs.api import BlobStore
from vault.db import Database
from verification import Verifier
from verification.documents import StoredDocuments
from verification.operators import Operator, OperatorTokens
from verification.registry_db import DatabaseRegistrySource, RegistryService
from verification.report_pdf import SealedReports

Vault: TypeAlias = NamedDependency[VaultService]
Accounts: TypeAlias = NamedDependency[AccountService]
Owner: TypeAlias = NamedDependency[Principal]
AnyPrincipal: TypeAlias = NamedDependency[Principal]
MetricsDep: TypeAlias = NamedDependency[Metrics]
DatabaseDep: TypeAlias = NamedDependency[Database]
Blobs: TypeAlias = NamedDependency[BlobStore]
Signing: TypeAlias = NamedDependency[SigningService]
CitizenSigning: TypeAlias = NamedDependency[CitizenSignatures]
VerifierDep: TypeAlias = NamedDependency[Verifier]
StoredDocumentsDep: TypeAlias = NamedDependency[StoredDocuments]
PublicVerifyLimit: TypeAlias = NamedDependency[RateLimiter]
RegistrySourceDep: TypeAlias = NamedDependency[DatabaseRegistrySource]
VerifierFactory: TypeAlias = NamedDependency[Callable[[], Awaitable[Verifier]]]
Receipts: TypeAlias = NamedDependency[DepositReceipts]
SharesDep: TypeAlias = NamedDependency[ShareService]
RequestsDep: TypeAlias = NamedDependency[RequestService]
AccessLogDep: TypeAlias = NamedDependency[AccessLog]
ShareMissLimit: TypeAlias = NamedDependency[RateLimiter]
OptionalPrincipal: TypeAlias = NamedDependency[Principal | None]
Notifications: TypeAlias = NamedDependency[NotificationService]
SealedReportsDep: TypeAlias = NamedDependency[SealedReports]
OperatorTokensDep: TypeAlias = NamedDependency[OperatorTokens]
OperatorDep: TypeAlias = NamedDependency[Operator]
RegistryServiceDep: TypeAlias = NamedDependency[RegistryService]
