"""Tables of the sharing package (registered on the vault's metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from vault.db import Base, UTCDateTime


class ShareRow(Base):
    """A share link: a capability over a set of one owner's documents.  Only the
    SHA-256 of its token is kept."""

    __tablename__ = "shares"
    __table_args__ = (Index("ix_shares_owner_id_id", "owner_id", "id"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(500), default="")
    audience: Mapped[str] = mapped_column(String(16))  # anyone | agency
    audience_agency_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("agencies.id"), nullable=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the consent request this share answers, if any
    request_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShareDocumentRow(Base):
    """One document in a share's scope (no foreign key: a deleted document simply
    drops out of the share)."""

    __tablename__ = "share_documents"

    share_id: Mapped[UUID] = mapped_column(
        ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ConsentRequestRow(Base):
    """An agency asks a citizen for papers of some types, for a purpose."""

    __tablename__ = "consent_requests"
    __table_args__ = (
        Index("ix_consent_requests_owner_id_id", "owner_id", "id"),
        Index("ix_consent_requests_agency_id_id", "agency_id", "id"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[UUID] = mapped_column(ForeignKey("agencies.id"))
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("owners.id"))
    doc_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | denied
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    share_id: Mapped[UUID | None] = mapped_column(Uuid, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(500), nullable=True)


class ShareOpeningRow(Base):
    """One opening of a share (one use): the grant it handed out lets the same viewer
    fetch the share's documents for a while without spending more uses.  Only the
    grant's SHA-256 is kept."""

    __tablename__ = "share_openings"
    __table_args__ = (Index("ix_share_openings_share_id", "share_id"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    share_id: Mapped[UUID] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"))
    grant_hash: Mapped[str] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
