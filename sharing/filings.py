"""Filings: a citizen applies for a procedure with papers already in the vault (the
once-only loop), the receiving agency works through its inbox, and Kho counts how many
required papers came from the vault instead of an upload (the reuse rate).

Who may see what: a citizen sees only their own filings; an agency sees only filings
addressed to it, and never a draft.  Anything else is ``FilingNotFound`` (404).
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from sharing.filing_errors import (
    FilingIncomplete,
    FilingLocked,
    FilingNotFound,
    InvalidTransition,
    PaperNotUsable,
)
from sharing.filing_tables import FilingDocumentRow, FilingEventRow, FilingRow, ProcedureRow
from sharing.procedures import FieldType, FormField, Prefill, Procedure, procedure_from
from vault import Actor, outbox
from vault.db import AgencyRow, Base, Database, DocumentRow, OwnerRow, utcnow
from vault.documents import view_to_document
from vault.errors import DocumentNotFound, InvalidInput, OwnerNotFound
from vault.ids import uuid7
from vault.models import Document, IssuerStatus, OwnerStatus, Provenance


class FilingStatus(enum.StrEnum):
    DRAFT = "draft"
    RECEIVED = "received"
    PROCESSING = "processing"
    NEEDS_MORE_INFO = "needs-more-info"
    DONE = "done"
    REJECTED = "rejected"


class Origin(enum.StrEnum):
    VAULT = "vault"  # in the vault before the filing was created
    UPLOAD = "upload"  # added to the vault after, for this filing


# What the receiving agency may move a filing to, from each status.
TRANSITIONS: dict[FilingStatus, frozenset[FilingStatus]] = {
    FilingStatus.RECEIVED: frozenset(
        {FilingStatus.PROCESSING, FilingStatus.NEEDS_MORE_INFO, FilingStatus.REJECTED}
    ),
    FilingStatus.PROCESSING: frozenset(
        {FilingStatus.NEEDS_MORE_INFO, FilingStatus.DONE, FilingStatus.REJECTED}
    ),
    FilingStatus.NEEDS_MORE_INFO: frozenset({FilingStatus.PROCESSING, FilingStatus.REJECTED}),
}
# The citizen may change papers and form (and submit) only in these.
EDITABLE = frozenset({FilingStatus.DRAFT, FilingStatus.NEEDS_MORE_INFO})
# An agency can return a result (which ends the filing as done) from these.
RESULT_FROM = frozenset(
    {FilingStatus.RECEIVED, FilingStatus.PROCESSING, FilingStatus.NEEDS_MORE_INFO}
)
MAX_VALUE = 2000
MAX_NOTE = 1000
_UNUSABLE = (str(IssuerStatus.REVOKED), str(IssuerStatus.SUPERSEDED))


class FilingPaper(msgspec.Struct, frozen=True, kw_only=True):
    doc_type: str
    required: bool
    origin: Origin
    attached_at: datetime
    document_id: UUID
    # None: the citizen deleted the document since it was attached
    document: Document | None


class FilingEvent(msgspec.Struct, frozen=True, kw_only=True):
    status: FilingStatus
    note: str | None
    actor: str
    at: datetime


class Filing(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    owner_id: UUID
    applicant_name: str
    applicant_personal_id: str
    procedure: Procedure
    agency_code: str
    status: FilingStatus
    status_note: str | None
    form_values: dict[str, str]
    papers: tuple[FilingPaper, ...]
    events: tuple[FilingEvent, ...]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    required_count: int | None
    reused_count: int | None
    uploaded_count: int | None
    result_document_id: UUID | None

    @property
    def missing_documents(self) -> list[str]:
        """Required types with no usable paper attached."""
        usable = {
            p.doc_type
            for p in self.papers
            if p.document is not None and p.document.issuer_status in (None, IssuerStatus.ACTIVE)
        }
        return [t for t in self.procedure.required_types if t not in usable]

    @property
    def missing_fields(self) -> list[str]:
        return [
            f.name for f in self.procedure.form if f.required and not self.form_values.get(f.name)
        ]


class FilingSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    procedure_code: str
    agency_code: str
    applicant_name: str
    applicant_personal_id: str
    status: FilingStatus
    status_note: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    result_document_id: UUID | None


class FilingPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[FilingSummary]
    next_cursor: str | None


class ReuseFigure(msgspec.Struct, frozen=True, kw_only=True):
    filings: int
    required: int
    reused: int
    uploaded: int

    @property
    def rate(self) -> float:
        """Share of required papers that came from the vault (0 when none required)."""
        return self.reused / self.required if self.required else 0.0


class ReuseStats(msgspec.Struct, frozen=True, kw_only=True):
    start: datetime | None
    end: datetime | None
    overall: ReuseFigure
    by_procedure: dict[str, ReuseFigure]
    by_agency: dict[str, ReuseFigure]


_f = Base.metadata.tables[FilingRow.__tablename__]
_fd = Base.metadata.tables[FilingDocumentRow.__tablename__]
_fe = Base.metadata.tables[FilingEventRow.__tablename__]
_d = Base.metadata.tables[DocumentRow.__tablename__]
_a = Base.metadata.tables[AgencyRow.__tablename__]
_o = Base.metadata.tables[OwnerRow.__tablename__]
_p = Base.metadata.tables[ProcedureRow.__tablename__]

# The best document of each wanted type, in ONE statement: issued & active, then
# certified copies, the citizen's signed papers, uploaded PDFs, uploaded images; newest
# first; never a revoked or superseded paper.
_RANK = case(
    (_d.c.provenance == str(Provenance.ISSUED), 0),
    (_d.c.provenance == str(Provenance.CERTIFIED_COPY), 1),
    (_d.c.provenance == str(Provenance.CITIZEN_SIGNED), 2),
    (_d.c.content_type == "application/pdf", 3),
    else_=4,
)
_RANKED = (
    select(
        _d.c.id,
        _d.c.doc_type,
        func.row_number()
        .over(partition_by=_d.c.doc_type, order_by=(_RANK, _d.c.created_at.desc(), _d.c.id.desc()))
        .label("rn"),
    )
    .where(
        _d.c.owner_id == bindparam("owner_id"),
        _d.c.doc_type.in_(bindparam("types", expanding=True)),
        or_(_d.c.issuer_status.is_(None), _d.c.issuer_status == str(IssuerStatus.ACTIVE)),
    )
    .subquery()
)
BEST_MATCH = select(_RANKED.c.doc_type, _RANKED.c.id).where(_RANKED.c.rn == 1)

_PAPERS = (
    select(
        _fd.c.doc_type.label("slot"),
        _fd.c.required,
        _fd.c.origin,
        _fd.c.attached_at,
        _fd.c.document_id.label("paper_id"),
        *_d.c,
        _a.c.code.label("agency_code"),
        _a.c.name.label("agency_name"),
    )
    .select_from(_fd)
    .outerjoin(_d, and_(_d.c.id == _fd.c.document_id, _d.c.owner_id == bindparam("owner_id")))
    .outerjoin(_a, _a.c.id == _d.c.issuer_agency_id)
    .where(_fd.c.filing_id == bindparam("filing_id"))
)
_SUMMARY = select(
    _f.c.id,
    _f.c.procedure_code,
    _f.c.agency_code,
    _o.c.name.label("applicant_name"),
    _o.c.personal_id.label("applicant_personal_id"),
    _f.c.status,
    _f.c.status_note,
    _f.c.created_at,
    _f.c.updated_at,
    _f.c.submitted_at,
    _f.c.result_document_id,
).join(_o, _o.c.id == _f.c.owner_id)


def _summary(row: Row[Any]) -> FilingSummary:
    return FilingSummary(
        id=row.id,
        procedure_code=row.procedure_code,
        agency_code=row.agency_code,
        applicant_name=row.applicant_name,
        applicant_personal_id=row.applicant_personal_id,
        status=FilingStatus(row.status),
        status_note=row.status_note,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        result_document_id=row.result_document_id,
    )


def _encode_cursor(filing_id: UUID) -> str:
    return base64.urlsafe_b64encode(filing_id.bytes).decode().rstrip("=")


def _decode_cursor(cursor: str) -> UUID:
    try:
        return UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise InvalidInput("cursor", "is not a cursor this server gave out") from None


_TEL = re.compile(r"^[0-9+() .-]{6,20}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def check_value(field: FormField, value: str) -> str:
    """``value`` for ``field``, normalised; raises ``InvalidInput`` naming the field."""
    name = f"form.{field.name}"
    value = value.strip()
    if len(value) > MAX_VALUE:
        raise InvalidInput(name, f"is longer than {MAX_VALUE} characters", code="too_long")
    if not value.isprintable() and field.type != FieldType.TEXTAREA:
        raise InvalidInput(name, "must be one line of printable text", code="not_one_line")
    if field.type == FieldType.DATE:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise InvalidInput(name, "must be a date, YYYY-MM-DD", code="not_a_date") from None
    if field.type == FieldType.NUMBER:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise InvalidInput(name, "must be a number", code="not_a_number") from None
        if not number.is_finite() or number < 0:
            raise InvalidInput(name, "must be a number, 0 or more", code="not_a_number")
        return value
    if field.type == FieldType.SELECT and value not in field.options:
        raise InvalidInput(name, f"must be one of {', '.join(field.options)}", code="not_an_option")
    if field.type == FieldType.EMAIL and not _EMAIL.match(value):
        raise InvalidInput(name, "must be an email address", code="not_an_email")
    if field.type == FieldType.TEL and not _TEL.match(value):
        raise InvalidInput(name, "must be a phone number", code="not_a_phone")
    return value


class FilingService:
    """Drafts, papers, form, submission and the agency's side of a filing."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    # -- the citizen ----------------------------------------------------------------

    async def create(self, owner_id: UUID, procedure_code: str) -> Filing:
        """A draft for ``procedure_code``: every required type matched to the owner's
        best document of that type, the e-form prefilled from the owner's profile.

        Raises ``InvalidInput`` (unknown procedure) or ``OwnerNotFound``.
        """

        def tx(session: Session) -> Filing:
            conn = session.connection()
            procedure = _procedure(conn, procedure_code, active_only=True)
            if procedure is None:
                raise InvalidInput("procedure_code", "is not a procedure of the catalogue")
            owner = conn.execute(
                select(_o.c.name, _o.c.personal_id, _o.c.status).where(_o.c.id == owner_id)
            ).first()
            if owner is None or owner.status == OwnerStatus.DELETED:
                raise OwnerNotFound(str(owner_id))
            now = self._clock()
            filing_id = uuid7()
            best = dict(
                conn.execute(
                    BEST_MATCH,
                    {"owner_id": owner_id, "types": list(procedure.required_types)},
                ).all()
            )
            profile = {Prefill.NAME: owner.name, Prefill.PERSONAL_ID: owner.personal_id}
            values = {
                f.name: profile[f.prefill]
                for f in procedure.form
                if f.prefill is not None and profile.get(f.prefill)
            }
            conn.execute(
                _f.insert(),
                {
                    "id": filing_id,
                    "owner_id": owner_id,
                    "procedure_code": procedure.code,
                    "agency_code": procedure.agency_code,
                    "status": str(FilingStatus.DRAFT),
                    "status_note": None,
                    "form_values": values,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if best:
                conn.execute(
                    _fd.insert(),
                    [
                        {
                            "filing_id": filing_id,
                            "doc_type": doc_type,
                            "document_id": document_id,
                            "required": True,
                            "origin": str(Origin.VAULT),
                            "attached_at": now,
                        }
                        for doc_type, document_id in best.items()
                    ],
                )
            _event(conn, filing_id, FilingStatus.DRAFT, None, "owner", now)
            return _load(conn, filing_id, owner_id=owner_id)

        return await self._db.run_write(tx)

    async def list_for_owner(
        self, owner_id: UUID, *, limit: int = 50, cursor: str | None = None
    ) -> FilingPage:
        q = _SUMMARY.where(_f.c.owner_id == owner_id)
        return await self._page(q, limit, cursor)

    async def get_for_owner(self, owner_id: UUID, filing_id: UUID) -> Filing:
        """Raises ``FilingNotFound`` (missing or another owner's)."""
        return await self._db.run_query(lambda conn: _load(conn, filing_id, owner_id=owner_id))

    async def attach(
        self, owner_id: UUID, filing_id: UUID, doc_type: str, document_id: UUID
    ) -> Filing:
        """Give ``document_id`` (the owner's) as the paper for ``doc_type``.

        Raises ``FilingNotFound``, ``FilingLocked``, ``InvalidInput`` (type not in the
        procedure), ``DocumentNotFound`` (missing or another owner's) or
        ``PaperNotUsable`` (a paper of another type, revoked or superseded).
        """

        def tx(session: Session) -> Filing:
            conn = session.connection()
            row, procedure = _editable(conn, owner_id, filing_id)
            if not procedure.accepts(doc_type):
                raise InvalidInput("doc_type", f"is not a paper of procedure {procedure.code}")
            doc = conn.execute(
                select(_d.c.doc_type, _d.c.issuer_status, _d.c.created_at).where(
                    _d.c.id == document_id, _d.c.owner_id == owner_id
                )
            ).first()
            if doc is None:
                raise DocumentNotFound(document_id)
            if doc.doc_type is not None and doc.doc_type != doc_type:
                raise PaperNotUsable(document_id, f"it is a {doc.doc_type}, not a {doc_type}")
            if doc.issuer_status in _UNUSABLE:
                raise PaperNotUsable(document_id, f"its issuer marked it {doc.issuer_status}")
            now = self._clock()
            conn.execute(
                _fd.delete().where(_fd.c.filing_id == filing_id, _fd.c.doc_type == doc_type)
            )
            conn.execute(
                _fd.insert(),
                {
                    "filing_id": filing_id,
                    "doc_type": doc_type,
                    "document_id": document_id,
                    "required": doc_type in procedure.required_types,
                    "origin": str(
                        Origin.VAULT if doc.created_at < row.created_at else Origin.UPLOAD
                    ),
                    "attached_at": now,
                },
            )
            _touch(conn, filing_id, now)
            return _load(conn, filing_id, owner_id=owner_id)

        return await self._db.run_write(tx)

    async def detach(self, owner_id: UUID, filing_id: UUID, doc_type: str) -> Filing:
        """Remove the paper given for ``doc_type`` (nothing there: no change)."""

        def tx(session: Session) -> Filing:
            conn = session.connection()
            _editable(conn, owner_id, filing_id)
            conn.execute(
                _fd.delete().where(_fd.c.filing_id == filing_id, _fd.c.doc_type == doc_type)
            )
            _touch(conn, filing_id, self._clock())
            return _load(conn, filing_id, owner_id=owner_id)

        return await self._db.run_write(tx)

    async def set_form(
        self, owner_id: UUID, filing_id: UUID, values: dict[str, str | None]
    ) -> Filing:
        """Set e-form values (``None`` or empty clears one).  Raises ``InvalidInput``
        for a field the form does not have or a value that does not fit it."""

        def tx(session: Session) -> Filing:
            conn = session.connection()
            row, procedure = _editable(conn, owner_id, filing_id)
            fields = {f.name: f for f in procedure.form}
            merged: dict[str, str] = dict(row.form_values or {})
            for name, value in values.items():
                field = fields.get(name)
                if field is None:
                    raise InvalidInput(f"form.{name[:64]}", "is not a field of this form")
                cleaned = check_value(field, value) if value and value.strip() else ""
                if cleaned:
                    merged[name] = cleaned
                else:
                    merged.pop(name, None)
            conn.execute(
                _f.update()
                .where(_f.c.id == filing_id)
                .values(form_values=merged, updated_at=self._clock())
            )
            return _load(conn, filing_id, owner_id=owner_id)

        return await self._db.run_write(tx)

    async def submit(self, owner_id: UUID, filing_id: UUID) -> Filing:
        """Send the filing to the receiving agency (status ``received``) and fix its
        reuse figures.  Raises ``FilingIncomplete`` listing missing papers and form
        fields, ``FilingLocked`` or ``FilingNotFound``."""

        def tx(session: Session) -> Filing:
            conn = session.connection()
            row, _ = _editable(conn, owner_id, filing_id)
            filing = _load(conn, filing_id, owner_id=owner_id)
            missing_docs, missing_fields = filing.missing_documents, filing.missing_fields
            if missing_docs or missing_fields:
                raise FilingIncomplete(missing_docs, missing_fields)
            required = filing.procedure.required_types
            reused = sum(
                1 for p in filing.papers if p.doc_type in required and p.origin == Origin.VAULT
            )
            now = self._clock()
            conn.execute(
                _f.update()
                .where(_f.c.id == filing_id)
                .values(
                    status=str(FilingStatus.RECEIVED),
                    status_note=None,
                    updated_at=now,
                    submitted_at=row.submitted_at or now,
                    required_count=len(required),
                    reused_count=reused,
                    uploaded_count=len(required) - reused,
                )
            )
            _changed(conn, filing, FilingStatus.RECEIVED, None, "owner", now, tell_agency=True)
            return _load(conn, filing_id, owner_id=owner_id)

        return await self._db.run_write(tx)

    # -- the receiving agency ------------------------------------------------------

    async def inbox(
        self,
        agency_code: str,
        *,
        status: FilingStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> FilingPage:
        """Filings addressed to the agency, newest first; never drafts."""
        q = _SUMMARY.where(_f.c.agency_code == agency_code, _f.c.status != str(FilingStatus.DRAFT))
        if status is not None:
            q = q.where(_f.c.status == str(status))
        return await self._page(q, limit, cursor)

    async def get_for_agency(self, agency_code: str, filing_id: UUID) -> Filing:
        """Raises ``FilingNotFound`` (missing, a draft, or another agency's)."""
        return await self._db.run_query(
            lambda conn: _load(conn, filing_id, agency_code=agency_code)
        )

    async def paper_owner(self, agency_code: str, filing_id: UUID, document_id: UUID) -> UUID:
        """The owner of ``document_id`` if it is a paper (or the result) of a filing
        the agency may see.  Raises ``FilingNotFound`` or ``DocumentNotFound``."""

        def find(conn: Connection) -> UUID:
            row = conn.execute(_visible(filing_id, agency_code)).first()
            if row is None:
                raise FilingNotFound(filing_id)
            owner_id: UUID = row.owner_id
            if document_id == row.result_document_id:
                return owner_id
            attached = conn.execute(
                select(_fd.c.doc_type).where(
                    _fd.c.filing_id == filing_id, _fd.c.document_id == document_id
                )
            ).first()
            if attached is None:
                raise DocumentNotFound(document_id)
            return owner_id

        return await self._db.run_query(find)

    def fetch_recorder(
        self, agency_id: UUID, filing_id: UUID, document_id: UUID, actor: Actor
    ) -> Callable[[Session], None]:
        """A ``guard`` for ``VaultService.open_content`` of a filing's paper: in the
        fetch's own transaction (so only a fetch that happened is told), an outbox event
        ``filing.document_fetched`` for the agency's webhook, naming who fetched it."""

        def record(session: Session) -> None:
            conn = session.connection()
            procedure = conn.execute(
                select(_f.c.procedure_code).where(_f.c.id == filing_id)
            ).scalar()
            outbox.enqueue(
                conn,
                outbox.EventKind.FILING_DOCUMENT_FETCHED,
                {
                    "filing_id": str(filing_id),
                    "procedure_code": procedure,
                    "document_id": str(document_id),
                    "actor_type": str(actor.type),
                    "actor_name": actor.name,
                },
                agency_id=agency_id,
            )

        return record

    async def change_status(
        self, agency_code: str, filing_id: UUID, status: FilingStatus, note: str | None
    ) -> Filing:
        """Move a filing along ``TRANSITIONS``.  Raises ``FilingNotFound``,
        ``InvalidTransition`` or ``InvalidInput`` (note too long)."""
        note = _check_note(note)

        def tx(session: Session) -> Filing:
            conn = session.connection()
            row = conn.execute(_visible(filing_id, agency_code).with_for_update()).first()
            if row is None:
                raise FilingNotFound(filing_id)
            current = FilingStatus(row.status)
            allowed = TRANSITIONS.get(current, frozenset())
            if status not in allowed:
                raise InvalidTransition(current, status, sorted(allowed))
            now = self._clock()
            conn.execute(
                _f.update()
                .where(_f.c.id == filing_id)
                .values(status=str(status), status_note=note, updated_at=now)
            )
            filing = _load(conn, filing_id, agency_code=agency_code)
            _changed(conn, filing, status, note, agency_code, now)
            return filing

        return await self._db.run_write(tx)

    async def expect_result(self, agency_code: str, filing_id: UUID) -> Filing:
        """The filing, if the agency can return a result for it now (checked before the
        upload is read).  Raises ``FilingNotFound`` or ``InvalidTransition``."""
        filing = await self.get_for_agency(agency_code, filing_id)
        if filing.status not in RESULT_FROM:
            raise InvalidTransition(filing.status, FilingStatus.DONE, sorted(RESULT_FROM))
        return filing

    def result_linker(
        self, agency_code: str, filing_id: UUID, note: str | None
    ) -> Callable[[Session, Document], None]:
        """A step for ``VaultService.commit(also=...)``: in the transaction that stores
        the result, link it to the filing and mark the filing done (raising
        ``InvalidTransition`` undoes the whole commit)."""
        note = _check_note(note)

        def link(session: Session, document: Document) -> None:
            conn = session.connection()
            row = conn.execute(_visible(filing_id, agency_code).with_for_update()).first()
            if row is None:
                raise FilingNotFound(filing_id)
            if row.status not in RESULT_FROM:
                raise InvalidTransition(row.status, FilingStatus.DONE, sorted(RESULT_FROM))
            now = self._clock()
            conn.execute(
                _f.update()
                .where(_f.c.id == filing_id)
                .values(
                    status=str(FilingStatus.DONE),
                    status_note=note,
                    updated_at=now,
                    result_document_id=document.id,
                )
            )
            filing = _load(conn, filing_id, agency_code=agency_code)
            _changed(conn, filing, FilingStatus.DONE, note, agency_code, now)

        return link

    # -- the reuse rate --------------------------------------------------------------

    async def reuse_stats(self, start: datetime | None, end: datetime | None) -> ReuseStats:
        """Reuse figures of filings submitted in ``[start, end)`` (either open)."""
        q = select(
            _f.c.procedure_code,
            _f.c.agency_code,
            func.count(),
            func.coalesce(func.sum(_f.c.required_count), 0),
            func.coalesce(func.sum(_f.c.reused_count), 0),
            func.coalesce(func.sum(_f.c.uploaded_count), 0),
        ).where(_f.c.submitted_at.is_not(None))
        if start is not None:
            q = q.where(_f.c.submitted_at >= start)
        if end is not None:
            q = q.where(_f.c.submitted_at < end)
        q = q.group_by(_f.c.procedure_code, _f.c.agency_code)
        rows = await self._db.run_query(lambda conn: [tuple(r) for r in conn.execute(q)])
        overall = [0, 0, 0, 0]
        by_procedure: dict[str, list[int]] = {}
        by_agency: dict[str, list[int]] = {}
        for procedure, agency, *figures in rows:
            for bucket in (
                overall,
                by_procedure.setdefault(procedure, [0, 0, 0, 0]),
                by_agency.setdefault(agency, [0, 0, 0, 0]),
            ):
                for i, value in enumerate(figures):
                    bucket[i] += int(value)

        def figure(v: list[int]) -> ReuseFigure:
            return ReuseFigure(filings=v[0], required=v[1], reused=v[2], uploaded=v[3])

        return ReuseStats(
            start=start,
            end=end,
            overall=figure(overall),
            by_procedure={k: figure(v) for k, v in sorted(by_procedure.items())},
            by_agency={k: figure(v) for k, v in sorted(by_agency.items())},
        )

    async def _page(self, q: Any, limit: int, cursor: str | None) -> FilingPage:
        if cursor:
            q = q.where(_f.c.id < _decode_cursor(cursor))
        page = q.order_by(_f.c.id.desc()).limit(limit + 1)
        found = await self._db.run_query(lambda conn: [_summary(r) for r in conn.execute(page)])
        items = found[:limit]
        return FilingPage(
            items=items, next_cursor=_encode_cursor(items[-1].id) if len(found) > limit else None
        )


def _check_note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    if len(note) > MAX_NOTE:
        raise InvalidInput("note", f"is longer than {MAX_NOTE} characters")
    return note.strip()


def _visible(filing_id: UUID, agency_code: str) -> Any:
    return select(_f).where(
        _f.c.id == filing_id,
        _f.c.agency_code == agency_code,
        _f.c.status != str(FilingStatus.DRAFT),
    )


def _procedure(conn: Connection, code: str, *, active_only: bool = False) -> Procedure | None:
    q = select(_p).where(_p.c.code == code)
    if active_only:
        q = q.where(_p.c.active.is_(True))
    row = conn.execute(q).first()
    return procedure_from(row) if row is not None else None


def _editable(conn: Connection, owner_id: UUID, filing_id: UUID) -> tuple[Any, Procedure]:
    row = conn.execute(
        select(_f).where(_f.c.id == filing_id, _f.c.owner_id == owner_id).with_for_update()
    ).first()
    if row is None:
        raise FilingNotFound(filing_id)
    if row.status not in EDITABLE:
        raise FilingLocked(row.status)
    procedure = _procedure(conn, row.procedure_code)
    assert procedure is not None  # Note: procedures are deactivated, never deleted
    return row, procedure


def _touch(conn: Connection, filing_id: UUID, now: datetime) -> None:
    conn.execute(_f.update().where(_f.c.id == filing_id).values(updated_at=now))


def _event(
    conn: Connection,
    filing_id: UUID,
    status: FilingStatus,
    note: str | None,
    actor: str,
    at: datetime,
) -> None:
    conn.execute(
        _fe.insert(),
        {
            "id": uuid7(),
            "filing_id": filing_id,
            "status": str(status),
            "note": note,
            "actor": actor,
            "at": at,
        },
    )


def _changed(
    conn: Connection,
    filing: Filing,
    status: FilingStatus,
    note: str | None,
    actor: str,
    at: datetime,
    *,
    tell_agency: bool = False,
) -> None:
    """History and outbox for a status change, in the caller's transaction."""
    _event(conn, filing.id, status, note, actor, at)
    agency_id = (
        conn.execute(select(_a.c.id).where(_a.c.code == filing.agency_code)).scalar()
        if tell_agency
        else None
    )
    payload: dict[str, Any] = {
        "filing_id": str(filing.id),
        "procedure_code": filing.procedure.code,
        "status": str(status),
        "note": note,
    }
    if status == FilingStatus.DONE and filing.result_document_id is not None:
        payload["result_document_id"] = str(filing.result_document_id)
    outbox.enqueue(
        conn,
        outbox.EventKind.FILING_STATUS_CHANGED,
        payload,
        owner_id=filing.owner_id,
        agency_id=agency_id,
    )


def _load(
    conn: Connection,
    filing_id: UUID,
    *,
    owner_id: UUID | None = None,
    agency_code: str | None = None,
) -> Filing:
    q = select(_f, _o.c.name.label("applicant_name"), _o.c.personal_id.label("applicant_pid"))
    q = q.join(_o, _o.c.id == _f.c.owner_id).where(_f.c.id == filing_id)
    if owner_id is not None:
        q = q.where(_f.c.owner_id == owner_id)
    if agency_code is not None:
        q = q.where(_f.c.agency_code == agency_code, _f.c.status != str(FilingStatus.DRAFT))
    row = conn.execute(q).first()
    if row is None:
        raise FilingNotFound(filing_id)
    procedure = _procedure(conn, row.procedure_code)
    assert procedure is not None
    order = {t: i for i, t in enumerate(procedure.required_types + procedure.optional_types)}
    papers = sorted(
        (
            FilingPaper(
                doc_type=p.slot,
                required=p.required,
                origin=Origin(p.origin),
                attached_at=p.attached_at,
                document_id=p.paper_id,
                document=view_to_document(p) if p.id is not None else None,
            )
            for p in conn.execute(_PAPERS, {"owner_id": row.owner_id, "filing_id": filing_id})
        ),
        key=lambda p: order.get(p.doc_type, len(order)),
    )
    events = tuple(
        FilingEvent(status=FilingStatus(e.status), note=e.note, actor=e.actor, at=e.at)
        for e in conn.execute(select(_fe).where(_fe.c.filing_id == filing_id).order_by(_fe.c.id))
    )
    return Filing(
        id=row.id,
        owner_id=row.owner_id,
        applicant_name=row.applicant_name,
        applicant_personal_id=row.applicant_pid,
        procedure=procedure,
        agency_code=row.agency_code,
        status=FilingStatus(row.status),
        status_note=row.status_note,
        form_values=dict(row.form_values or {}),
        papers=tuple(papers),
        events=events,
        created_at=row.created_at,
        updated_at=row.updated_at,
        submitted_at=row.submitted_at,
        required_count=row.required_count,
        reused_count=row.reused_count,
        uploaded_count=row.uploaded_count,
        result_document_id=row.result_document_id,
    )
