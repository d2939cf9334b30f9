"""The officials' agency inbox: the agency's filings (filter by status, paging), one
filing with its papers and their verdicts, status changes, and the signed result
returned into the citizen's vault as ``issued``.  Signed-in officials only (their own
cookie), with the agency's scope ``filings``; another agency's filing is a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from sharing.filing_errors import FilingNotFound, InvalidTransition, ResultUnsigned
from sharing.filings import RESULT_FROM, TRANSITIONS, Filing, FilingService, FilingStatus
from signing import SigningService
from signing.errors import PdfError
from vault import AccountService, Actor, ActorType, Principal, Provenance, VaultService
from vault.errors import DocumentNotFound, FileTooLarge, InvalidInput, VaultError
from verification import VerificationReport
from verification.deposits import DepositRejected, check_deposit
from verification.documents import StoredDocuments
from verification.errors import IssuerNotAuthorized
from verification.registry_db import DatabaseRegistrySource
from web.citizen import form_field, parse_uuid, type_namer
from web.pages import _disposition, client_ip, lang_of, page
from web.session import safe_next, signed_in_official

SIGN_IN = "/official/sign-in"
INBOX_PAGE = 25
SCOPE = "filings"
MAX_NOTE = 1000
# the statuses an official can filter the inbox by (drafts are never the agency's)
LISTED = [s for s in FilingStatus if s is not FilingStatus.DRAFT]

FieldError = tuple[str, str, dict[str, Any]]


def official_actor(who: Principal, request: Request[Any, Any, Any]) -> Actor:
    """The official as the audited actor (as the API's ``agency_actor`` names one)."""
    return Actor(
        type=ActorType.OFFICIAL,
        id=f"{who.agency_code}/{who.official_id}",
        name=f"{who.official_name} ({who.agency_name})",
        ip=client_ip(request),
    )


def agency_page(
    request: Request[Any, Any, Any],
    name: str,
    *,
    who: Principal,
    title_key: str,
    status: int = 200,
    **context: Any,
) -> Template:
    """An official's page: the inbox link, never cached (citizens' data)."""
    response = page(
        request, name, status=status, title_key=title_key, official_inbox=True, who=who, **context
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _message(
    request: Request[Any, Any, Any], who: Principal, status: int, title: str, body: str
) -> Template:
    return agency_page(
        request,
        "message.html",
        who=who,
        status=status,
        title_key=title,
        body_key=body,
        action_url="/agency/filings",
        action_key="agency_back_to_inbox",
    )


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data


class AgencyPages(Controller):
    path = "/agency"
    include_in_schema = False

    async def _official(
        self, request: Request[Any, Any, Any], accounts: AccountService, *, back: str | None = None
    ) -> Principal | Response[Any]:
        """The signed-in official with scope ``filings``; else a 303 to the officials'
        sign-in (coming back here) or a 403 page."""
        who = await signed_in_official(request, accounts)
        if who is None:
            target = safe_next(
                back or request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            redirect: Response[Any] = Redirect(
                f"{SIGN_IN}?next={quote(target, safe='/')}", status_code=303
            )
            redirect.headers["Cache-Control"] = "no-store"
            return redirect
        if SCOPE not in who.scopes:
            return page(
                request,
                "message.html",
                status=403,
                title_key="agency_forbidden_title",
                body_key="agency_forbidden_body",
                values={"agency": who.agency_name or who.agency_code or ""},
            )
        return who

    # -- the inbox ------------------------------------------------------------------

    @get("/filings", name="agency-inbox")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
    ) -> Response[Any]:
        who = await self._official(request, accounts)
        if not isinstance(who, Principal):
            return who
        assert who.agency_code is not None
        raw = request.query_params.get("status") or ""
        status = FilingStatus(raw) if raw in {str(s) for s in LISTED} else None
        cursor = (request.query_params.get("cursor") or "")[:64] or None
        try:
            found = await filings.inbox(
                who.agency_code, status=status, limit=INBOX_PAGE, cursor=cursor
            )
        except InvalidInput:  # a cursor from nowhere: start again
            found = await filings.inbox(who.agency_code, status=status, limit=INBOX_PAGE)
        next_url = None
        if found.next_cursor:
            query = {"cursor": found.next_cursor, **({"status": str(status)} if status else {})}
            next_url = "/agency/filings?" + urlencode(query)
        return agency_page(
            request,
            "agency_inbox.html",
            who=who,
            title_key="agency_inbox_title",
            items=found.items,
            statuses=LISTED,
            current=str(status) if status else "",
            next_url=next_url,
            first_url=("/agency/filings" + (f"?status={status}" if status else ""))
            if cursor
            else None,
        )

    # -- one filing -----------------------------------------------------------------

    async def _render_filing(
        self,
        request: Request[Any, Any, Any],
        who: Principal,
        filing: Filing,
        stored_documents: StoredDocuments,
        registry_source: DatabaseRegistrySource,
        *,
        errors: list[FieldError] | None = None,
        status: int = 200,
        note: str = "",
        notice: str | None = None,
    ) -> Template:
        """The filing's page; each paper verified as this official (the check is in the
        citizen's "who looked at my data")."""
        actor = official_actor(who, request)
        reports: dict[UUID, VerificationReport] = {}
        for paper in filing.papers:
            if paper.document is None:
                continue
            try:
                reports[paper.document_id] = await stored_documents.verify(
                    filing.owner_id, paper.document_id, actor
                )
            except DocumentNotFound:  # deleted meanwhile
                continue
        lang = lang_of(request)
        type_name, _ = await type_namer(registry_source, lang)
        moves = sorted(TRANSITIONS.get(filing.status, frozenset()), key=list(FilingStatus).index)
        return agency_page(
            request,
            "agency_filing.html",
            who=who,
            status=status,
            title_key="agency_filing_title",
            filing=filing,
            reports=reports,
            type_name=type_name,
            moves=moves,
            can_return=filing.status in RESULT_FROM,
            errors=errors or [],
            error_for={e[0]: e for e in errors or []},
            note=note,
            notice=notice,
        )

    async def _load(
        self, request: Request[Any, Any, Any], filings: FilingService, who: Principal, raw: str
    ) -> Filing | Template:
        assert who.agency_code is not None
        fid = parse_uuid(raw)
        try:
            if fid is None:
                raise FilingNotFound(raw[:64])
            return await filings.get_for_agency(who.agency_code, fid)
        except FilingNotFound:
            return _message(request, who, 404, "notfound_title", "agency_filing_notfound")

    @get("/filings/{filing_id:str}", name="agency-filing")
    async def filing(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
        stored_documents: NamedDependency[StoredDocuments],
        registry_source: NamedDependency[DatabaseRegistrySource],
        filing_id: FromPath[str],
    ) -> Response[Any]:
        who = await self._official(request, accounts)
        if not isinstance(who, Principal):
            return who
        found = await self._load(request, filings, who, filing_id)
        if isinstance(found, Template):
            return found
        notice = request.query_params.get("done")
        return await self._render_filing(
            request,
            who,
            found,
            stored_documents,
            registry_source,
            notice=notice if notice in ("status", "result") else None,
        )

    @get("/filings/{filing_id:str}/documents/{document_id:str}")
    async def paper(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
        vault: NamedDependency[VaultService],
        filing_id: FromPath[str],
        document_id: FromPath[str],
    ) -> Response[Any]:
        """A paper of the filing (or its result), streamed through the vault; audited in
        the citizen's chain as this official, with the filing id."""
        who = await self._official(request, accounts)
        if not isinstance(who, Principal):
            return who
        assert who.agency_code is not None
        fid, did = parse_uuid(filing_id), parse_uuid(document_id)
        try:
            if fid is None or did is None:
                raise DocumentNotFound(document_id[:64])
            owner_id = await filings.paper_owner(who.agency_code, fid, did)
            actor = official_actor(who, request)
            assert who.agency_id is not None
            stream = await vault.open_content(
                owner_id,
                did,
                actor,
                action="filing_document_fetched",
                detail={"filing_id": str(fid)},
                guard=filings.fetch_recorder(who.agency_id, fid, did, actor),
            )
        except (FilingNotFound, DocumentNotFound):
            return _message(request, who, 404, "notfound_title", "agency_filing_notfound")
        doc = stream.document
        return Stream(
            stream.chunks,
            media_type=doc.content_type,
            headers={
                "Content-Disposition": _disposition(doc.filename),
                "Content-Length": str(stream.length),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    # -- status changes ---------------------------------------------------------------

    @post("/filings/{filing_id:str}/status", status_code=303)
    async def change_status(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
        stored_documents: NamedDependency[StoredDocuments],
        registry_source: NamedDependency[DatabaseRegistrySource],
        filing_id: FromPath[str],
    ) -> Response[Any]:
        back = f"/agency/filings/{filing_id[:64]}"
        who = await self._official(request, accounts, back=back)
        if not isinstance(who, Principal):
            return who
        assert who.agency_code is not None
        found = await self._load(request, filings, who, filing_id)
        if isinstance(found, Template):
            return found
        form = await request.form()
        raw, note = form_field(form, "status", 40), form_field(form, "note", 4000)
        errors: list[FieldError] = []
        wanted = FilingStatus(raw) if raw in {str(s) for s in FilingStatus} else None
        if wanted is None:
            errors.append(("status", "agency_status_missing", {}))
        if len(note) > MAX_NOTE:
            errors.append(("note", "agency_note_long", {"max": MAX_NOTE}))
        if errors or wanted is None:
            return await self._render_filing(
                request,
                who,
                found,
                stored_documents,
                registry_source,
                errors=errors,
                status=422,
                note=note[:MAX_NOTE],
            )
        try:
            await filings.change_status(who.agency_code, found.id, wanted, note or None)
        except InvalidTransition as bad:
            errors = [
                (
                    "status",
                    "agency_status_invalid",
                    {
                        "current": _status_name(request, bad.current),
                        "wanted": _status_name(request, bad.wanted),
                    },
                )
            ]
            return await self._render_filing(
                request,
                who,
                found,
                stored_documents,
                registry_source,
                errors=errors,
                status=409,
                note=note,
            )
        return Redirect(f"{back}?done=status", status_code=303)

    # -- the signed result --------------------------------------------------------------

    @post("/filings/{filing_id:str}/result", status_code=303)
    async def result(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
        stored_documents: NamedDependency[StoredDocuments],
        registry_source: NamedDependency[DatabaseRegistrySource],
        vault: NamedDependency[VaultService],
        signing: NamedDependency[SigningService],
        verifier_factory: NamedDependency[Any],
        filing_id: FromPath[str],
    ) -> Response[Any]:
        """The result (a PDF the agency signed, or one to seal with the agency's seal):
        into the citizen's vault as ``issued``, linked to the filing, which is then done."""
        back = f"/agency/filings/{filing_id[:64]}"
        who = await self._official(request, accounts, back=back)
        if not isinstance(who, Principal):
            return who
        assert who.agency_code is not None
        found = await self._load(request, filings, who, filing_id)
        if isinstance(found, Template):
            return found
        form = await request.form()
        title, note = form_field(form, "title", 300), form_field(form, "note", 4000)
        seal = form.get("sign") in ("true", "on", "1")
        upload = form.get("file")
        errors: list[FieldError] = []
        data, filename = b"", "result.pdf"
        if isinstance(upload, UploadFile):
            data = await upload.read()
            filename = upload.filename or "result.pdf"
        if not data:
            errors.append(("file", "agency_result_missing", {}))
        elif not data.startswith(b"%PDF"):
            errors.append(("file", "agency_result_not_pdf", {}))
        if len(note) > MAX_NOTE:
            errors.append(("note", "agency_note_long", {"max": MAX_NOTE}))
        if found.status not in RESULT_FROM:
            errors.append(("file", "agency_result_closed", {}))
        doc_type = found.procedure.result_type
        if not doc_type:
            errors.append(("file", "agency_result_no_type", {}))

        async def refuse(key: str, status: int, **values: Any) -> Template:
            return await self._render_filing(
                request,
                who,
                found,
                stored_documents,
                registry_source,
                errors=[("file", key, values)],
                status=status,
                note=note[:MAX_NOTE],
            )

        if errors or doc_type is None:
            return await self._render_filing(
                request,
                who,
                found,
                stored_documents,
                registry_source,
                errors=errors,
                status=422,
                note=note[:MAX_NOTE],
            )
        if len(data) > vault.limits.max_upload_bytes:
            return await refuse("agency_result_too_large", 413)
        try:
            await self._deposit(
                request,
                who,
                found,
                data,
                filename,
                doc_type,
                title,
                note,
                seal,
                vault=vault,
                signing=signing,
                registry_source=registry_source,
                verifier_factory=verifier_factory,
                filings=filings,
                accounts=accounts,
            )
        except ResultUnsigned:
            return await refuse("agency_result_unsigned", 422)
        except DepositRejected:
            return await refuse("agency_result_rejected", 422)
        except IssuerNotAuthorized:
            return await refuse("agency_result_not_authorized", 422, doc_type=doc_type)
        except InvalidTransition:
            return await refuse("agency_result_closed", 409)
        except FileTooLarge:
            return await refuse("agency_result_too_large", 413)
        except (PdfError, InvalidInput, VaultError):
            return await refuse("agency_result_unreadable", 422)
        return Redirect(f"{back}?done=result", status_code=303)

    async def _deposit(
        self,
        request: Request[Any, Any, Any],
        who: Principal,
        found: Filing,
        data: bytes,
        filename: str,
        doc_type: str,
        title: str,
        note: str,
        seal: bool,
        *,
        vault: VaultService,
        signing: SigningService,
        registry_source: DatabaseRegistrySource,
        verifier_factory: Any,
        filings: FilingService,
        accounts: AccountService,
    ) -> None:
        """As the API's result: sealed here (``seal``) or already signed by this agency
        (checked), else ``ResultUnsigned``; stored and linked in one transaction."""
        assert who.agency_code is not None
        agency = await accounts.get_agency_by_code(who.agency_code)
        if seal:
            registry = await registry_source.current()
            if not registry.authorizes(agency.code, doc_type):
                raise IssuerNotAuthorized(agency.code, doc_type)
            data = await signing.seal_for_agency(
                data, agency_code=agency.code, agency_name=agency.name, level=None
            )
        staged = await vault.stage(found.owner_id, _single(data), filename=filename)
        try:
            if staged.looks_signed and not seal:
                await check_deposit(
                    await verifier_factory(),
                    await vault.read_staged(staged),
                    agency_code=agency.code,
                    doc_type=doc_type,
                )
            elif not seal:
                raise ResultUnsigned()
            await vault.commit(
                staged,
                title=title,
                doc_type=doc_type,
                actor=official_actor(who, request),
                provenance=Provenance.ISSUED,
                agency=agency,
                action="filing_result_deposited",
                also=filings.result_linker(agency.code, found.id, note or None),
            )
        except BaseException:
            await vault.discard(staged)
            raise


def _status_name(request: Request[Any, Any, Any], status: str) -> str:
    from web.i18n import translator

    return str(translator(lang_of(request))(f"agency_status_{status}"))
