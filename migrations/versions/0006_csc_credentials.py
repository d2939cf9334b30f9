"""CSC credentials in the database (one versioned JSON document row)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Note: no seed row; the first transaction creates it (and does again after the
    # table was emptied).
    op.create_table(
        "csc_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csc_state")),
    )


def downgrade() -> None:
    op.drop_table("csc_state")
