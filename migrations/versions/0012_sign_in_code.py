"""owners' optional one-time code at sign-in: the TOTP secret wrapped under the master
key, when it was turned on, and the last time step used (a code works once)

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.add_column(sa.Column("otp_kek_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("otp_secret_wrapped", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("otp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("otp_last_step", sa.BigInteger(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_column("otp_last_step")
        batch_op.drop_column("otp_enabled_at")
        batch_op.drop_column("otp_secret_wrapped")
        batch_op.drop_column("otp_kek_id")
