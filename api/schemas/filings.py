"""Wire schemas of procedures, filings and the reuse rate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from api.schemas import Document
from sharing.filings import Filing as DomainFiling
from sharing.filings import FilingPage, FilingSummary, ReuseFigure, ReuseStats
from sharing.procedures import FormField as DomainFormField
from sharing.procedures import Procedure as DomainProcedure
from verification import VerificationReport

ProcedureCode = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
AgencyStatus = Literal["processing", "needs-more-info", "done", "rejected"]


class FormField(msgspec.Struct, kw_only=True):
    name: str
    label_vi: str
    label_en: str
    type: str
    required: bool
    prefill: str | None = None
    options: list[str] | None = None

    @classmethod
    def from_domain(cls, f: DomainFormField) -> FormField:
        return cls(
            name=f.name,
            label_vi=f.label_vi,
            label_en=f.label_en,
            type=str(f.type),
            required=f.required,
            prefill=str(f.prefill) if f.prefill else None,
            options=list(f.options) if f.options else None,
        )


class Procedure(msgspec.Struct, kw_only=True):
    code: str
    name_vi: str
    name_en: str
    agency_code: str
    required_types: list[str]
    optional_types: list[str]
    result_type: str | None
    form: list[FormField]

    @classmethod
    def from_domain(cls, p: DomainProcedure) -> Procedure:
        return cls(
            code=p.code,
            name_vi=p.name_vi,
            name_en=p.name_en,
            agency_code=p.agency_code,
            required_types=list(p.required_types),
            optional_types=list(p.optional_types),
            result_type=p.result_type,
            form=[FormField.from_domain(f) for f in p.form],
        )


class ProcedureList(msgspec.Struct, kw_only=True):
    items: list[Procedure]


class FilingCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    procedure_code: ProcedureCode


class PaperChoice(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    document_id: UUID


class FormUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Values to set, by field name; ``null`` or ``""`` clears one."""

    values: Annotated[dict[str, str | None], msgspec.Meta(max_length=100)]


class StatusChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: AgencyStatus
    note: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class Paper(msgspec.Struct, kw_only=True):
    doc_type: str
    required: bool
    origin: str
    attached_at: datetime
    document_id: UUID
    document: Document | None
    report: VerificationReport | None = None


class FilingEvent(msgspec.Struct, kw_only=True):
    status: str
    note: str | None
    actor: str
    at: datetime


class Reuse(msgspec.Struct, kw_only=True):
    required: int
    reused: int
    uploaded: int


class Filing(msgspec.Struct, kw_only=True):
    id: UUID
    procedure: Procedure
    agency_code: str
    applicant: dict[str, str]
    status: str
    status_note: str | None
    form_values: dict[str, str]
    papers: list[Paper]
    missing_documents: list[str]
    missing_fields: list[str]
    events: list[FilingEvent]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    reuse: Reuse | None
    result_document_id: UUID | None

    @classmethod
    def from_domain(
        cls, f: DomainFiling, reports: dict[UUID, VerificationReport] | None = None
    ) -> Filing:
        reports = reports or {}
        return cls(
            id=f.id,
            procedure=Procedure.from_domain(f.procedure),
            agency_code=f.agency_code,
            applicant={"name": f.applicant_name, "personal_id": f.applicant_personal_id},
            status=str(f.status),
            status_note=f.status_note,
            form_values=f.form_values,
            papers=[
                Paper(
                    doc_type=p.doc_type,
                    required=p.required,
                    origin=str(p.origin),
                    attached_at=p.attached_at,
                    document_id=p.document_id,
                    document=Document.from_domain(p.document) if p.document else None,
                    report=reports.get(p.document_id),
                )
                for p in f.papers
            ],
            missing_documents=f.missing_documents,
            missing_fields=f.missing_fields,
            events=[
                FilingEvent(status=str(e.status), note=e.note, actor=e.actor, at=e.at)
                for e in f.events
            ],
            created_at=f.created_at,
            updated_at=f.updated_at,
            submitted_at=f.submitted_at,
            reuse=(
                Reuse(
                    required=f.required_count,
                    reused=f.reused_count or 0,
                    uploaded=f.uploaded_count or 0,
                )
                if f.required_count is not None
                else None
            ),
            result_document_id=f.result_document_id,
        )


class FilingListItem(msgspec.Struct, kw_only=True):
    id: UUID
    procedure_code: str
    agency_code: str
    applicant: dict[str, str]
    status: str
    status_note: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    result_document_id: UUID | None

    @classmethod
    def from_domain(cls, f: FilingSummary) -> FilingListItem:
        return cls(
            id=f.id,
            procedure_code=f.procedure_code,
            agency_code=f.agency_code,
            applicant={"name": f.applicant_name, "personal_id": f.applicant_personal_id},
            status=str(f.status),
            status_note=f.status_note,
            created_at=f.created_at,
            updated_at=f.updated_at,
            submitted_at=f.submitted_at,
            result_document_id=f.result_document_id,
        )


class FilingList(msgspec.Struct, kw_only=True):
    items: list[FilingListItem]
    next_cursor: str | None

    @classmethod
    def from_domain(cls, page: FilingPage) -> FilingList:
        return cls(
            items=[FilingListItem.from_domain(i) for i in page.items],
            next_cursor=page.next_cursor,
        )


class ReuseRate(msgspec.Struct, kw_only=True):
    filings: int
    required: int
    reused: int
    uploaded: int
    rate: float

    @classmethod
    def from_domain(cls, r: ReuseFigure) -> ReuseRate:
        return cls(
            filings=r.filings,
            required=r.required,
            reused=r.reused,
            uploaded=r.uploaded,
            rate=round(r.rate, 4),
        )


class ReuseReport(msgspec.Struct, kw_only=True, rename={"start": "from", "end": "to"}):
    start: datetime | None
    end: datetime | None
    overall: ReuseRate
    by_procedure: dict[str, ReuseRate]
    by_agency: dict[str, ReuseRate]

    @classmethod
    def from_domain(cls, r: ReuseStats) -> ReuseReport:
        return cls(
            start=r.start,
            end=r.end,
            overall=ReuseRate.from_domain(r.overall),
            by_procedure={k: ReuseRate.from_domain(v) for k, v in r.by_procedure.items()},
            by_agency={k: ReuseRate.from_domain(v) for k, v in r.by_agency.items()},
        )
