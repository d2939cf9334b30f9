"""Procedures and filings: the catalogue, a citizen's filings, an agency's inbox and the
reuse rate."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeAlias
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from sqlalchemy.orm import Session

from api.agency import receive_issued_paper
from api.auth import agency_actor, agency_with_scope, provide_owner
from api.deps import (
    Accounts,
    AnyPrincipal,
    Owner,
    RegistrySourceDep,
    Signing,
    StoredDocumentsDep,
    Vault,
    VerifierFactory,
)
from api.documents import download_headers, parse_document_id
from api.schemas import filings as s
from sharing.filing_errors import FilingNotFound
from sharing.filings import FilingService, FilingStatus
from sharing.procedures import ProcedureCatalogue
from vault import Document
from vault.errors import DocumentNotFound, InvalidInput
from verification import VerificationReport

Filings: TypeAlias = NamedDependency[FilingService]
Procedures: TypeAlias = NamedDependency[ProcedureCatalogue]
Cursor = Annotated[str | None, QueryParameter(max_length=64)]
Limit = Annotated[int, QueryParameter(ge=1, le=100)]


def parse_filing_id(raw: str) -> UUID:
    """A malformed id is simply not found."""
    try:
        return UUID(raw)
    except ValueError:
        raise FilingNotFound(raw[:64]) from None


def parse_instant(name: str, raw: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 date-time (UTC if no offset)."""
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), tzinfo=UTC)
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(name, "must be a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class ProcedureController(Controller):
    path = "/api/v1/procedures"
    tags = ["filings"]

    @get("/", operation_id="ListProcedures")
    async def list_procedures(self, procedures: Procedures) -> s.ProcedureList:
        """The procedure catalogue (public): papers each one needs, who receives it,
        and its e-form."""
        return s.ProcedureList(items=[s.Procedure.from_domain(p) for p in await procedures.list()])

    @get("/{code:str}", operation_id="GetProcedure")
    async def get_procedure(self, procedures: Procedures, code: FromPath[str]) -> s.Procedure:
        return s.Procedure.from_domain(await procedures.get(code[:64]))


class FilingController(Controller):
    path = "/api/v1/filings"
    tags = ["filings"]
    dependencies = {"owner": Provide(provide_owner)}

    @post("/", operation_id="CreateFiling", status_code=201)
    async def create(
        self, filings: Filings, owner: Owner, data: JSONBody[s.FilingCreate]
    ) -> s.Filing:
        """A draft: every required paper matched to my best document of its type
        (issued > certified copy > signed by me > uploaded PDF > photo; newest first;
        never revoked or superseded), the e-form prefilled from my profile."""
        assert owner.owner_id is not None
        return s.Filing.from_domain(await filings.create(owner.owner_id, data.procedure_code))

    @get("/", operation_id="ListFilings")
    async def list_filings(
        self, filings: Filings, owner: Owner, cursor: Cursor = None, limit: Limit = 50
    ) -> s.FilingList:
        assert owner.owner_id is not None
        page = await filings.list_for_owner(owner.owner_id, limit=limit, cursor=cursor)
        return s.FilingList.from_domain(page)

    @get("/{filing_id:str}", operation_id="GetFiling")
    async def get_filing(
        self, filings: Filings, owner: Owner, filing_id: FromPath[str]
    ) -> s.Filing:
        assert owner.owner_id is not None
        found = await filings.get_for_owner(owner.owner_id, parse_filing_id(filing_id))
        return s.Filing.from_domain(found)

    @put("/{filing_id:str}/documents/{doc_type:str}", operation_id="SetFilingDocument")
    async def attach(
        self,
        filings: Filings,
        owner: Owner,
        filing_id: FromPath[str],
        doc_type: FromPath[str],
        data: JSONBody[s.PaperChoice],
    ) -> s.Filing:
        """Give one of my documents as the paper for ``doc_type`` (another owner's:
        404)."""
        assert owner.owner_id is not None
        found = await filings.attach(
            owner.owner_id, parse_filing_id(filing_id), doc_type[:64], data.document_id
        )
        return s.Filing.from_domain(found)

    @delete(
        "/{filing_id:str}/documents/{doc_type:str}",
        operation_id="RemoveFilingDocument",
        status_code=200,
    )
    async def detach(
        self, filings: Filings, owner: Owner, filing_id: FromPath[str], doc_type: FromPath[str]
    ) -> s.Filing:
        assert owner.owner_id is not None
        found = await filings.detach(owner.owner_id, parse_filing_id(filing_id), doc_type[:64])
        return s.Filing.from_domain(found)

    @patch("/{filing_id:str}/form", operation_id="SetFilingForm")
    async def set_form(
        self,
        filings: Filings,
        owner: Owner,
        filing_id: FromPath[str],
        data: JSONBody[s.FormUpdate],
    ) -> s.Filing:
        assert owner.owner_id is not None
        found = await filings.set_form(owner.owner_id, parse_filing_id(filing_id), data.values)
        return s.Filing.from_domain(found)

    @post("/{filing_id:str}/submit", operation_id="SubmitFiling", status_code=200)
    async def submit(self, filings: Filings, owner: Owner, filing_id: FromPath[str]) -> s.Filing:
        """Send it to the receiving agency; 422 ``filing-incomplete`` lists what is
        missing."""
        assert owner.owner_id is not None
        found = await filings.submit(owner.owner_id, parse_filing_id(filing_id))
        return s.Filing.from_domain(found)


class AgencyFilingController(Controller):
    """The receiving agency's inbox (scope ``filings``)."""

    path = "/api/v1/agency/filings"
    tags = ["agency"]

    @get("/", operation_id="ListAgencyFilings")
    async def inbox(
        self,
        accounts: Accounts,
        principal: AnyPrincipal,
        filings: Filings,
        status: FromQuery[FilingStatus | None] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> s.FilingList:
        agency = await agency_with_scope(accounts, principal, "filings")
        page = await filings.inbox(agency.code, status=status, limit=limit, cursor=cursor)
        return s.FilingList.from_domain(page)

    @get("/{filing_id:str}", operation_id="GetAgencyFiling")
    async def get_filing(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        principal: AnyPrincipal,
        filings: Filings,
        stored_documents: StoredDocumentsDep,
        filing_id: FromPath[str],
    ) -> s.Filing:
        """A filing with its papers' metadata and verification reports (each check is
        in the citizen's "who looked at my data")."""
        agency = await agency_with_scope(accounts, principal, "filings")
        found = await filings.get_for_agency(agency.code, parse_filing_id(filing_id))
        actor = agency_actor(principal, request)
        reports: dict[UUID, VerificationReport] = {}
        for paper in found.papers:
            if paper.document is None:
                continue
            try:
                reports[paper.document_id] = await stored_documents.verify(
                    found.owner_id, paper.document_id, actor
                )
            except DocumentNotFound:  # deleted meanwhile
                continue
        return s.Filing.from_domain(found, reports)

    @get(
        "/{filing_id:str}/documents/{document_id:str}/content",
        operation_id="GetAgencyFilingDocumentContent",
    )
    async def paper_content(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        principal: AnyPrincipal,
        filings: Filings,
        vault: Vault,
        filing_id: FromPath[str],
        document_id: FromPath[str],
    ) -> Response[Any]:
        """One paper of the filing (or its result), streamed; audited in the citizen's
        chain as this agency, with the filing id."""
        agency = await agency_with_scope(accounts, principal, "filings")
        fid, did = parse_filing_id(filing_id), parse_document_id(document_id)
        owner_id = await filings.paper_owner(agency.code, fid, did)
        actor = agency_actor(principal, request)
        stream = await vault.open_content(
            owner_id,
            did,
            actor,
            action="filing_document_fetched",
            detail={"filing_id": str(fid)},
            guard=filings.fetch_recorder(agency.id, fid, did, actor),
        )
        headers = download_headers(stream.document.sha256, stream.document.filename)
        headers["Content-Length"] = str(stream.length)
        del headers["Accept-Ranges"]
        return Stream(stream.chunks, media_type=stream.document.content_type, headers=headers)

    @post("/{filing_id:str}/status", operation_id="ChangeFilingStatus", status_code=200)
    async def change_status(
        self,
        accounts: Accounts,
        principal: AnyPrincipal,
        filings: Filings,
        filing_id: FromPath[str],
        data: JSONBody[s.StatusChange],
    ) -> s.Filing:
        """received → processing → needs-more-info → done / rejected; any other move is
        409 ``invalid-status-transition``."""
        agency = await agency_with_scope(accounts, principal, "filings")
        found = await filings.change_status(
            agency.code, parse_filing_id(filing_id), FilingStatus(data.status), data.note
        )
        return s.Filing.from_domain(found)

    @post(
        "/{filing_id:str}/result",
        operation_id="ReturnFilingResult",
        status_code=201,
        request_max_body_size=None,
    )
    async def result(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        principal: AnyPrincipal,
        filings: Filings,
        vault: Vault,
        signing: Signing,
        registry_source: RegistrySourceDep,
        verifier_factory: VerifierFactory,
        filing_id: FromPath[str],
    ) -> s.Filing:
        """The signed result (multipart like a deposit: ``doc_type`` — default the
        procedure's result type —, ``title``, ``note``, ``sign``, ``level``, ``file``):
        lands in the citizen's vault as ``issued``, linked to the filing, which is then
        done.  Unsigned without ``sign=true``: 422 ``result-unsigned``."""
        agency = await agency_with_scope(accounts, principal, "filings")
        fid = parse_filing_id(filing_id)
        found = await filings.expect_result(agency.code, fid)

        async def owner(fields: dict[str, str]) -> tuple[UUID, bool]:
            return found.owner_id, False

        def link(fields: dict[str, str]) -> Callable[[Session, Document], None]:
            return filings.result_linker(agency.code, fid, fields.get("note"))

        await receive_issued_paper(
            request,
            vault=vault,
            agency=agency,
            actor=agency_actor(principal, request),
            signing=signing,
            registry_source=registry_source,
            verifier_factory=verifier_factory,
            owner=owner,
            extra_fields=frozenset({"note"}),
            default_doc_type=found.procedure.result_type,
            require_signed=True,
            link=link,
            action="filing_result_deposited",
        )
        return s.Filing.from_domain(await filings.get_for_agency(agency.code, fid))


class ReuseStatsController(Controller):
    path = "/api/v1/stats"
    tags = ["filings"]

    @get("/reuse", operation_id="GetReuseStats")
    async def reuse(
        self,
        filings: Filings,
        start: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        end: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
    ) -> s.ReuseReport:
        """How many required papers of filings submitted in ``[from, to)`` came from
        the vault instead of an upload: per procedure, per agency and overall (public:
        aggregates only)."""
        lo, hi = parse_instant("from", start), parse_instant("to", end)
        if lo is not None and hi is not None and hi <= lo:
            raise InvalidInput("to", "must be after from")
        return s.ReuseReport.from_domain(await filings.reuse_stats(lo, hi))
