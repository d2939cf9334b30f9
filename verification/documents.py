"""Verification of papers stored in the vault."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from vault import Actor, ActorType, Document, VaultService
from verification.models import IssuerStatus, VerificationReport
from verification.pipeline import Verifier
from verification.reasons import reason, verdict_of

PDF = "application/pdf"


class StoredDocuments:
    """Verifies a stored document: its bytes through the pipeline, with the vault's
    SHA-256 and the issuer's current status."""

    def __init__(self, vault: VaultService, verifier: Verifier) -> None:
        self._vault = vault
        self._verifier = verifier

    async def verify(self, owner_id: UUID, document_id: UUID, actor: Actor) -> VerificationReport:
        """Raises ``DocumentNotFound`` (missing or another owner's document)."""
        return (await self.verify_document(owner_id, document_id, actor))[1]

    async def verify_document(
        self, owner_id: UUID, document_id: UUID, actor: Actor
    ) -> tuple[Document, VerificationReport]:
        """The document and its report; raises ``DocumentNotFound``."""
        doc = await self._vault.get_document(owner_id, document_id)
        if doc.content_type != PDF:
            return doc, unsigned_image(doc)
        stream = await self._vault.open_content(
            owner_id, document_id, actor, action="document_verified"
        )
        pdf = b"".join([chunk async for chunk in stream.chunks])
        return doc, await self._verifier.verify(
            pdf,
            doc_type=doc.doc_type,
            expected_sha256=doc.sha256,
            issuer_status=issuer_status(doc),
        )

    async def reports(self, docs: Sequence[Document]) -> list[VerificationReport]:
        """The reports on documents the caller already holds (read through a share, a
        request or a filing, whose access that caller records): from the cache when the
        analysis is there, else the bytes are read (without another audit event) and
        verified."""
        pdfs = [d for d in docs if d.content_type == PDF]
        cached = await self._verifier.cached_reports(
            [(d.sha256, d.doc_type, issuer_status(d)) for d in pdfs]
        )
        found = {d.id: r for d, r in zip(pdfs, cached, strict=True) if r is not None}
        out = []
        for doc in docs:
            if doc.content_type != PDF:
                out.append(unsigned_image(doc))
            elif doc.id in found:
                out.append(found[doc.id])
            else:
                out.append(await self._verify_unaudited(doc))
        return out

    async def _verify_unaudited(self, doc: Document) -> VerificationReport:
        stream = await self._vault.open_content(
            doc.owner_id, doc.id, Actor(type=ActorType.SYSTEM, name="verification"), action=None
        )
        pdf = b"".join([chunk async for chunk in stream.chunks])
        return await self._verifier.verify(
            pdf, doc_type=doc.doc_type, expected_sha256=doc.sha256, issuer_status=issuer_status(doc)
        )


def issuer_status(doc: Document) -> IssuerStatus | None:
    """What the vault knows of the issuer's status of ``doc`` (``None``: not issued)."""
    if doc.issuer_status is None:
        return None
    return IssuerStatus(
        state=doc.issuer_status.value,
        reason=doc.status_reason,
        superseded_by=str(doc.superseded_by_id) if doc.superseded_by_id else None,
        changed_at=doc.status_changed_at,
    )


def unsigned_image(doc: Document) -> VerificationReport:
    """A photo or scan carries no signature: nobody vouches for it (indeterminate)."""
    now = datetime.now(UTC)
    reasons = (reason("document.unsigned"),)
    return VerificationReport(
        verdict=verdict_of(reasons),
        reasons=reasons,
        sha256=doc.sha256,
        doc_type=doc.doc_type,
        registry_version=0,
        checked_at=now,
        validated_at=now,
    )
