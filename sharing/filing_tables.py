"""Tables of procedures and filings (registered on the vault's metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base, UTCDateTime


class ProcedureRow(Base):
    """One administrative procedure of the catalogue.  Document types are codes of the
    trust registry's ``document_types``, kept as JSON lists (no foreign key: the
    registry may be edited while the catalogue still names a type)."""

    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    agency_code: Mapped[str] = mapped_column(String(40))
    required_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    optional_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # the e-form: [{"name", "label_vi", "label_en", "type", "required", "prefill"?}]
    form: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # the document type of the paper the agency returns, if it returns one
    result_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class FilingRow(Base):
    """A citizen's application for a procedure: a draft, then the receiving agency's."""

    __tablename__ = "filings"
    __table_args__ = (
        Index("ix_filings_owner_id_id", "owner_id", "id"),
        Index("ix_filings_agency_code_status_id", "agency_code", "status", "id"),
        Index("ix_filings_submitted_at", "submitted_at"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"))
    procedure_code: Mapped[str] = mapped_column(String(64))
    agency_code: Mapped[str] = mapped_column(String(40))
    # draft | received | processing | needs-more-info | done | rejected
    status: Mapped[str] = mapped_column(String(20))
    status_note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    form_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # reuse figures, fixed at (the last) submission
    required_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reused_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uploaded_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result_document_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)


class FilingDocumentRow(Base):
    """The paper given for one document type of a filing (no foreign key to documents:
    a paper the citizen deletes simply cannot be fetched any more)."""

    __tablename__ = "filing_documents"

    filing_id: Mapped[UUID] = mapped_column(
        ForeignKey("filings.id", ondelete="CASCADE"), primary_key=True
    )
    doc_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_id: Mapped[UUID] = mapped_column(Uuid)
    required: Mapped[bool] = mapped_column(Boolean)
    # vault: in the vault before the filing was created; upload: added after
    origin: Mapped[str] = mapped_column(String(8))
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FilingEventRow(Base):
    """One status change of a filing, for the citizen to follow."""

    __tablename__ = "filing_events"
    __table_args__ = (Index("ix_filing_events_filing_id_id", "filing_id", "id"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    filing_id: Mapped[UUID] = mapped_column(ForeignKey("filings.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
