"""issuer status: reason, superseding document, time of the change

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vault.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("superseded_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("status_changed_at", vault.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("status_changed_at")
        batch_op.drop_column("superseded_by_id")
        batch_op.drop_column("status_reason")
