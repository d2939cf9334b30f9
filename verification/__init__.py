"""Verification: one pipeline that answers "is this paper what it claims to be?".

Public surface (everything else is internal)::

    models      VerificationReport, SignatureReport, Signer, Reason, IssuerStatus,
                Verdict, Severity, PadesLevel, Coverage, ModificationLevel (the JSON
                contract of GET /api/v1/documents/{id}/verification)
    reasons     CATALOGUE (code -> severity, vi, en), verdict_of
    registry    TrustRegistry, Issuer, IssuerMatch, DocumentType, DOCUMENT_TYPES,
                RegistrySource (Protocol), InMemoryRegistrySource
    registry_db RegistryService(db) (the operator's CRUD, versioned),
                DatabaseRegistrySource(db) (RegistrySource, cached per version)
    documents   StoredDocuments(vault, verifier): reports of papers in the vault
    revocation  RevocationSource (Protocol), InMemoryRevocationSource, UrlRevocationSource,
                OcspSource (Protocol), InMemoryOcspSource, UrlOcspSource, OcspCache
    sandbox     SandboxPool(SandboxSettings(...)), InProcessAnalyser, Analyser (Protocol)
    pipeline    Verifier(registry, revocation, analyser=..., settings=VerifierSettings(...))
                await .verify(pdf, doc_type=..., expected_sha256=..., issuer_status=...)
                .invalidate(sha256) / await .aclose()
    errors      VerificationError, VerificationUnavailable, RevocationUnavailable
"""

from verification.errors import RevocationUnavailable, VerificationError, VerificationUnavailable
from verification.models import (
    Coverage,
    IssuerStatus,
    ModificationLevel,
    PadesLevel,
    Reason,
    Severity,
    SignatureReport,
    Signer,
    Verdict,
    VerificationReport,
)
from verification.pipeline import RevocationPolicy, Verifier, VerifierSettings
from verification.reasons import CATALOGUE, verdict_of
from verification.registry import (
    DOCUMENT_TYPES,
    DocumentType,
    InMemoryRegistrySource,
    Issuer,
    IssuerMatch,
    RegistrySource,
    TrustRegistry,
)
from verification.revocation import (
    InMemoryOcspSource,
    InMemoryRevocationSource,
    OcspAnswer,
    OcspCache,
    OcspSource,
    RevocationSource,
    UrlOcspSource,
    UrlRevocationSource,
)
from verification.sandbox import Analyser, InProcessAnalyser, SandboxPool, SandboxSettings

__all__ = [
    "CATALOGUE",
    "DOCUMENT_TYPES",
    "Analyser",
    "Coverage",
    "DocumentType",
    "InMemoryOcspSource",
    "InMemoryRegistrySource",
    "InMemoryRevocationSource",
    "InProcessAnalyser",
    "Issuer",
    "IssuerMatch",
    "IssuerStatus",
    "ModificationLevel",
    "OcspAnswer",
    "OcspCache",
    "OcspSource",
    "PadesLevel",
    "Reason",
    "RegistrySource",
    "RevocationPolicy",
    "RevocationSource",
    "RevocationUnavailable",
    "SandboxPool",
    "SandboxSettings",
    "Severity",
    "SignatureReport",
    "Signer",
    "TrustRegistry",
    "UrlOcspSource",
    "UrlRevocationSource",
    "Verdict",
    "VerificationError",
    "VerificationReport",
    "VerificationUnavailable",
    "Verifier",
    "VerifierSettings",
    "verdict_of",
]
