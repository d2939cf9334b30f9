"""sharing: shares, officials, consent requests, outbox

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["processed_at", "available_at"], unique=False)

    op.create_table(
        "consent_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("doc_types", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("share_id", sa.Uuid(), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_consent_requests_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["owners.id"], name=op.f("fk_consent_requests_owner_id_owners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_requests")),
    )
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.create_index("ix_consent_requests_agency_id_id", ["agency_id", "id"], unique=False)
        batch_op.create_index("ix_consent_requests_owner_id_id", ["owner_id", "id"], unique=False)

    op.create_table(
        "officials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("failed_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_officials_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_officials")),
        sa.UniqueConstraint("agency_id", "username", name="uq_officials_agency_user"),
    )
    op.create_table(
        "shares",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("audience_agency_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["audience_agency_id"],
            ["agencies.id"],
            name=op.f("fk_shares_audience_agency_id_agencies"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["owners.id"], name=op.f("fk_shares_owner_id_owners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_shares_token_hash")),
    )
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.create_index("ix_shares_owner_id_id", ["owner_id", "id"], unique=False)

    op.create_table(
        "share_documents",
        sa.Column("share_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["share_id"],
            ["shares.id"],
            name=op.f("fk_share_documents_share_id_shares"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("share_id", "document_id", name=op.f("pk_share_documents")),
    )
    op.create_table(
        "share_openings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("share_id", sa.Uuid(), nullable=False),
        sa.Column("grant_hash", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["share_id"],
            ["shares.id"],
            name=op.f("fk_share_openings_share_id_shares"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_openings")),
        sa.UniqueConstraint("grant_hash", name=op.f("uq_share_openings_grant_hash")),
    )
    with op.batch_alter_table("share_openings", schema=None) as batch_op:
        batch_op.create_index("ix_share_openings_share_id", ["share_id"], unique=False)
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("official_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_tokens_official_id_officials"), "officials", ["official_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tokens_official_id_officials"), type_="foreignkey")
        batch_op.drop_column("official_id")

    op.drop_table("share_openings")
    op.drop_table("share_documents")
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.drop_index("ix_shares_owner_id_id")

    op.drop_table("shares")
    op.drop_table("officials")
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_requests_owner_id_id")
        batch_op.drop_index("ix_consent_requests_agency_id_id")

    op.drop_table("consent_requests")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
