"""filings: the procedure catalogue (seeded), filings, their papers and status history;
document types that procedures need

Revision ID: 0009
Revises: 0008

Note: another branch adds 0008; this one is re-chained after it when they merge.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import vault.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Note: the seed data is copied here as it was when this revision was written (a
# migration must not change when the code does).
DOCUMENT_TYPES = [
    ("birth_notice", "Giấy chứng sinh", "Medical birth notice"),
    ("health_certificate", "Giấy khám sức khỏe", "Health certificate"),
    ("residence_proof", "Giấy tờ chứng minh chỗ ở hợp pháp", "Proof of lawful residence"),
    ("portrait_photo", "Ảnh chân dung", "Portrait photo"),
    (
        "business_household_certificate",
        "Giấy chứng nhận đăng ký hộ kinh doanh",
        "Business household registration certificate",
    ),
]


def _field(
    name: str,
    vi: str,
    en: str,
    type_: str = "text",
    *,
    required: bool = True,
    prefill: str | None = None,
    options: list[str] | None = None,
) -> dict[str, Any]:
    field: dict[str, Any] = {
        "name": name,
        "label_vi": vi,
        "label_en": en,
        "type": type_,
        "required": required,
    }
    if prefill:
        field["prefill"] = prefill
    if options:
        field["options"] = options
    return field


_APPLICANT = [
    _field(
        "full_name", "Họ, chữ đệm và tên người yêu cầu", "Applicant's full name", prefill="name"
    ),
    _field(
        "personal_id",
        "Số định danh cá nhân",
        "Personal identification number",
        prefill="personal_id",
    ),
    _field("phone", "Số điện thoại", "Phone number", "tel"),
    _field("email", "Thư điện tử", "Email", "email", required=False),
]

PROCEDURES: list[dict[str, Any]] = [
    {
        "code": "birth_registration",
        "name_vi": "Đăng ký khai sinh",
        "name_en": "Birth registration",
        "agency_code": "UBND-PBD",
        "required_types": ["birth_notice", "citizen_id"],
        "optional_types": ["marriage_certificate"],
        "result_type": "birth_certificate",
        "form": [
            *_APPLICANT,
            _field("child_name", "Họ, chữ đệm và tên trẻ", "Child's full name"),
            _field("child_birth_date", "Ngày sinh của trẻ", "Child's date of birth", "date"),
            _field("child_sex", "Giới tính", "Sex", "select", options=["nam", "nữ"]),
            _field("relationship", "Quan hệ với trẻ", "Relationship to the child"),
        ],
    },
    {
        "code": "marriage_registration",
        "name_vi": "Đăng ký kết hôn",
        "name_en": "Marriage registration",
        "agency_code": "UBND-PBD",
        "required_types": ["citizen_id", "marital_status"],
        "optional_types": ["residence"],
        "result_type": "marriage_certificate",
        "form": [
            *_APPLICANT,
            _field("partner_name", "Họ và tên bên kia", "Partner's full name"),
            _field("partner_personal_id", "Số định danh của bên kia", "Partner's personal ID"),
            _field(
                "partner_birth_date", "Ngày sinh của bên kia", "Partner's date of birth", "date"
            ),
        ],
    },
    {
        "code": "judicial_record_certificate",
        "name_vi": "Cấp Phiếu lý lịch tư pháp",
        "name_en": "Judicial record certificate",
        "agency_code": "STP-HN",
        "required_types": ["citizen_id", "residence"],
        "optional_types": [],
        "result_type": "judicial_record",
        "form": [
            *_APPLICANT,
            _field("birth_date", "Ngày sinh", "Date of birth", "date"),
            _field("form_number", "Loại phiếu", "Certificate form", "select", options=["1", "2"]),
            _field("purpose", "Mục đích sử dụng", "Purpose", "textarea"),
            _field("copies", "Số lượng phiếu", "Number of copies", "number"),
        ],
    },
    {
        "code": "driving_licence_renewal",
        "name_vi": "Cấp đổi giấy phép lái xe",
        "name_en": "Driving licence renewal",
        "agency_code": "SGTVT-HN",
        "required_types": ["driving_licence", "health_certificate", "citizen_id"],
        "optional_types": ["portrait_photo"],
        "result_type": "driving_licence",
        "form": [
            *_APPLICANT,
            _field("licence_number", "Số giấy phép lái xe", "Licence number"),
            _field(
                "licence_class",
                "Hạng giấy phép",
                "Licence class",
                "select",
                options=["A1", "A2", "B1", "B2", "C", "D", "E"],
            ),
        ],
    },
    {
        "code": "permanent_residence_registration",
        "name_vi": "Đăng ký thường trú",
        "name_en": "Permanent residence registration",
        "agency_code": "CA-PBD",
        "required_types": ["citizen_id", "residence_proof"],
        "optional_types": ["marriage_certificate", "birth_certificate"],
        "result_type": "residence",
        "form": [
            *_APPLICANT,
            _field("new_address", "Địa chỉ đăng ký thường trú", "Address to register", "textarea"),
            _field("household_head", "Họ và tên chủ hộ", "Head of household", required=False),
            _field(
                "relationship_to_head",
                "Quan hệ với chủ hộ",
                "Relationship to the head",
                required=False,
            ),
        ],
    },
    {
        "code": "health_insurance_renewal",
        "name_vi": "Gia hạn thẻ bảo hiểm y tế",
        "name_en": "Health-insurance card renewal",
        "agency_code": "BHXH-BD",
        "required_types": ["health_insurance", "citizen_id"],
        "optional_types": [],
        "result_type": "health_insurance",
        "form": [
            *_APPLICANT,
            _field("card_number", "Mã số bảo hiểm xã hội", "Social insurance number"),
            _field("clinic", "Nơi đăng ký khám chữa bệnh ban đầu", "Primary care clinic"),
            _field("months", "Số tháng gia hạn", "Months to renew", "number"),
        ],
    },
    {
        "code": "business_household_registration",
        "name_vi": "Đăng ký thành lập hộ kinh doanh",
        "name_en": "Business household registration",
        "agency_code": "UBND-PBD",
        "required_types": ["citizen_id", "residence_proof"],
        "optional_types": [],
        "result_type": "business_household_certificate",
        "form": [
            *_APPLICANT,
            _field("business_name", "Tên hộ kinh doanh", "Business name"),
            _field("business_address", "Địa chỉ trụ sở", "Business address", "textarea"),
            _field("business_line", "Ngành, nghề kinh doanh", "Line of business"),
            _field("capital", "Vốn kinh doanh (đồng)", "Capital (VND)", "number"),
        ],
    },
    {
        "code": "certified_copy_request",
        "name_vi": "Chứng thực bản sao từ bản chính",
        "name_en": "Certified copy request",
        "agency_code": "UBND-PBD",
        "required_types": ["citizen_id"],
        "optional_types": ["diploma", "birth_certificate", "marriage_certificate"],
        "result_type": None,
        "form": [
            *_APPLICANT,
            _field("paper", "Giấy tờ cần chứng thực", "Paper to certify"),
            _field("copies", "Số bản sao", "Number of copies", "number"),
        ],
    },
    {
        "code": "marital_status_confirmation",
        "name_vi": "Cấp Giấy xác nhận tình trạng hôn nhân",
        "name_en": "Marital status confirmation",
        "agency_code": "UBND-PBD",
        "required_types": ["citizen_id", "residence"],
        "optional_types": ["marriage_certificate"],
        "result_type": "marital_status",
        "form": [
            *_APPLICANT,
            _field("purpose", "Mục đích sử dụng", "Purpose", "textarea"),
        ],
    },
]


def upgrade() -> None:
    procedures = op.create_table(
        "procedures",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_vi", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("required_types", sa.JSON(), nullable=False),
        sa.Column("optional_types", sa.JSON(), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("result_type", sa.String(length=64), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_procedures")),
    )
    op.create_table(
        "filings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("procedure_code", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_note", sa.String(length=1000), nullable=True),
        sa.Column("form_values", sa.JSON(), nullable=False),
        sa.Column("created_at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", vault.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("required_count", sa.Integer(), nullable=True),
        sa.Column("reused_count", sa.Integer(), nullable=True),
        sa.Column("uploaded_count", sa.Integer(), nullable=True),
        sa.Column("result_document_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["owners.id"], name=op.f("fk_filings_owner_id_owners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filings")),
    )
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.create_index("ix_filings_owner_id_id", ["owner_id", "id"], unique=False)
        batch_op.create_index(
            "ix_filings_agency_code_status_id", ["agency_code", "status", "id"], unique=False
        )
        batch_op.create_index("ix_filings_submitted_at", ["submitted_at"], unique=False)
    op.create_table(
        "filing_documents",
        sa.Column("filing_id", sa.Uuid(), nullable=False),
        sa.Column("doc_type", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("attached_at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["filings.id"],
            name=op.f("fk_filing_documents_filing_id_filings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("filing_id", "doc_type", name=op.f("pk_filing_documents")),
    )
    op.create_table(
        "filing_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("filing_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", vault.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["filing_id"],
            ["filings.id"],
            name=op.f("fk_filing_events_filing_id_filings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filing_events")),
    )
    with op.batch_alter_table("filing_events", schema=None) as batch_op:
        batch_op.create_index("ix_filing_events_filing_id_id", ["filing_id", "id"], unique=False)

    types = sa.table(
        "document_types",
        sa.column("code", sa.String),
        sa.column("name_vi", sa.String),
        sa.column("name_en", sa.String),
    )
    op.bulk_insert(
        types, [{"code": c, "name_vi": vi, "name_en": en} for c, vi, en in DOCUMENT_TYPES]
    )
    op.bulk_insert(
        procedures,
        [{**p, "position": i, "active": True} for i, p in enumerate(PROCEDURES)],
    )


def downgrade() -> None:
    with op.batch_alter_table("filing_events", schema=None) as batch_op:
        batch_op.drop_index("ix_filing_events_filing_id_id")
    op.drop_table("filing_events")
    op.drop_table("filing_documents")
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.drop_index("ix_filings_submitted_at")
        batch_op.drop_index("ix_filings_agency_code_status_id")
        batch_op.drop_index("ix_filings_owner_id_id")
    op.drop_table("filings")
    op.drop_table("procedures")
    codes = sa.bindparam("codes", [c for c, _, _ in DOCUMENT_TYPES], expanding=True)
    # Note: issuers registered for these types lose just those authorizations.
    op.execute(sa.text("DELETE FROM issuer_doc_types WHERE doc_type IN :codes").bindparams(codes))
    op.execute(sa.text("DELETE FROM document_types WHERE code IN :codes").bindparams(codes))
