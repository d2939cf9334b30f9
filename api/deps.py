"""Named dependencies provided by the composition root (``kho.app``)."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency

from api.metrics import Metrics
from signing import SigningService
from signing.citizen import CitizenSignatures
from vault import AccountService, Principal, VaultService
from vault.blobs.api import BlobStore
from vault.db import Database

Vault: TypeAlias = NamedDependency[VaultService]
Accounts: TypeAlias = NamedDependency[AccountService]
Owner: TypeAlias = NamedDependency[Principal]
AnyPrincipal: TypeAlias = NamedDependency[Principal]
MetricsDep: TypeAlias = NamedDependency[Metrics]
DatabaseDep: TypeAlias = NamedDependency[Database]
Blobs: TypeAlias = NamedDependency[BlobStore]
Signing: TypeAlias = NamedDependency[SigningService]
CitizenSigning: TypeAlias = NamedDependency[CitizenSignatures]
