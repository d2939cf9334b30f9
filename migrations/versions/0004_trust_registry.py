"""trust registry: anchors, issuers, document types, authorizations, revocation URLs,
and the version every change bumps; seeds the document type catalogue

Revision ID: 0004
Revises: 0003

Note: the file was asked for as 0003, but revision 0003 (issuer status) landed first;
this revision follows it so the history stays linear.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vault.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Note: a copy of verification.registry.DOCUMENT_TYPES as it was when this revision was
# written (a migration must not change when the code does); a test keeps them equal.
DOCUMENT_TYPES = [
    ("citizen_id", "Căn cước công dân", "Citizen identity card"),
    ("birth_certificate", "Giấy khai sinh", "Birth certificate"),
    ("marriage_certificate", "Giấy chứng nhận kết hôn", "Marriage certificate"),
    ("marital_status", "Giấy xác nhận tình trạng hôn nhân", "Certificate of marital status"),
    ("judicial_record", "Phiếu lý lịch tư pháp", "Judicial record"),
    ("driving_licence", "Giấy phép lái xe", "Driving licence"),
    ("residence", "Xác nhận thông tin về cư trú", "Confirmation of residence"),
    ("diploma", "Văn bằng tốt nghiệp", "Diploma"),
    ("health_insurance", "Thẻ bảo hiểm y tế", "Health insurance card"),
    ("land_use_right", "Giấy chứng nhận quyền sử dụng đất", "Land use right certificate"),
]


def upgrade() -> None:
    meta = op.create_table(
        "registry_meta",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_registry_meta_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_meta")),
    )
    op.create_table(
        "trust_anchors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("added_at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_anchors")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_trust_anchors_fingerprint")),
    )
    types = op.create_table(
        "document_types",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_vi", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_document_types")),
    )
    op.create_table(
        "issuers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("added_at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issuers")),
        sa.UniqueConstraint("code", name=op.f("uq_issuers_code")),
    )
    op.create_table(
        "issuer_doc_types",
        sa.Column("issuer_id", sa.Uuid(), nullable=False),
        sa.Column("doc_type", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["doc_type"],
            ["document_types.code"],
            name=op.f("fk_issuer_doc_types_doc_type_document_types"),
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"],
            ["issuers.id"],
            name=op.f("fk_issuer_doc_types_issuer_id_issuers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("issuer_id", "doc_type", name=op.f("pk_issuer_doc_types")),
    )
    op.create_table(
        "revocation_urls",
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("added_at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_revocation_urls")),
    )
    op.bulk_insert(meta, [{"id": 1, "version": 1}])
    op.bulk_insert(
        types,
        [{"code": code, "name_vi": vi, "name_en": en} for code, vi, en in DOCUMENT_TYPES],
    )


def downgrade() -> None:
    op.drop_table("revocation_urls")
    op.drop_table("issuer_doc_types")
    op.drop_table("issuers")
    op.drop_table("document_types")
    op.drop_table("trust_anchors")
    op.drop_table("registry_meta")
