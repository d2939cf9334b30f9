"""The vault core: owners, documents, encrypted blob storage, keys, audit log, database.

Public surface: the services and domain values below.  Nothing here imports HTTP.
"""

from vault.accounts import AccountService
from vault.blobs.api import BlobStore
from vault.db import Database
from vault.documents import ContentStream, VaultService
from vault.keys import KeyRing, LocalKeyRing
from vault.models import (
    AccountDeletion,
    Actor,
    ActorType,
    Agency,
    AgencyCredentials,
    AuditEvent,
    Document,
    DocumentFilter,
    DocumentPage,
    IssuedToken,
    IssuerStatus,
    Official,
    Owner,
    OwnerStatus,
    Principal,
    Provenance,
    VaultLimits,
)

__all__ = [
    "AccountDeletion",
    "AccountService",
    "Actor",
    "ActorType",
    "Agency",
    "AgencyCredentials",
    "AuditEvent",
    "BlobStore",
    "ContentStream",
    "Database",
    "Document",
    "DocumentFilter",
    "DocumentPage",
    "IssuedToken",
    "IssuerStatus",
    "KeyRing",
    "LocalKeyRing",
    "Official",
    "Owner",
    "OwnerStatus",
    "Principal",
    "Provenance",
    "VaultLimits",
    "VaultService",
]
