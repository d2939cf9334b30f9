"""CSC state as rows: one per credential (csc_credentials) and one per issued SAD
(csc_sads), instead of one JSON document (csc_state); existing content is moved over

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import vault.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_state = sa.table(
    "csc_state",
    sa.column("id", sa.Integer()),
    sa.column("version", sa.BigInteger()),
    sa.column("state", sa.LargeBinary()),
)
_credentials = sa.table(
    "csc_credentials",
    sa.column("credential_id", sa.String()),
    sa.column("user", sa.String()),
    sa.column("created_at", vault.db.UTCDateTime()),
    sa.column("record", sa.LargeBinary()),
)
_sads = sa.table(
    "csc_sads",
    sa.column("sad_key", sa.String()),
    sa.column("credential_id", sa.String()),
    sa.column("expires_at", vault.db.UTCDateTime()),
    sa.column("used", sa.Boolean()),
    sa.column("record", sa.LargeBinary()),
)


def _when(value: str) -> datetime:
    # Note: msgspec writes UTC as RFC 3339 with a "Z".
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def upgrade() -> None:
    op.create_table(
        "csc_credentials",
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("created_at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_csc_credentials")),
    )
    op.create_index(op.f("ix_csc_credentials_user"), "csc_credentials", ["user"])
    op.create_table(
        "csc_sads",
        sa.Column("sad_key", sa.String(length=64), nullable=False),
        sa.Column("credential_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sad_key", name=op.f("pk_csc_sads")),
    )
    op.create_index(op.f("ix_csc_sads_credential_id"), "csc_sads", ["credential_id"])
    conn = op.get_bind()
    raw = conn.execute(sa.select(_state.c.state).where(_state.c.id == 1)).scalar()
    if raw:
        state = json.loads(bytes(raw))
        for cid, cred in state.get("credentials", {}).items():
            conn.execute(
                _credentials.insert().values(
                    credential_id=cid,
                    user=cred["user"],
                    created_at=_when(cred["created_at"]),
                    record=json.dumps(cred).encode(),
                )
            )
        for key, sad in state.get("sads", {}).items():
            conn.execute(
                _sads.insert().values(
                    sad_key=key,
                    credential_id=sad["credential_id"],
                    expires_at=_when(sad["expires_at"]),
                    used=bool(sad.get("used", False)),
                    record=json.dumps({**sad, "used": False}).encode(),
                )
            )
    op.drop_table("csc_state")


def downgrade() -> None:
    op.create_table(
        "csc_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csc_state")),
    )
    conn = op.get_bind()
    credentials = {
        cid: json.loads(bytes(record))
        for cid, record in conn.execute(
            sa.select(_credentials.c.credential_id, _credentials.c.record)
        )
    }
    sads = {
        key: {**json.loads(bytes(record)), "used": bool(used)}
        for key, used, record in conn.execute(
            sa.select(_sads.c.sad_key, _sads.c.used, _sads.c.record)
        )
    }
    if credentials or sads:
        payload = json.dumps({"credentials": credentials, "sads": sads}).encode()
        conn.execute(_state.insert().values(id=1, version=1, state=payload))
    op.drop_index(op.f("ix_csc_sads_credential_id"), table_name="csc_sads")
    op.drop_table("csc_sads")
    op.drop_index(op.f("ix_csc_credentials_user"), table_name="csc_credentials")
    op.drop_table("csc_credentials")
