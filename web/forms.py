"""The citizen's form pages: upload a paper (streamed into the vault, with a progress
bar when scripts run), answer agencies' requests for papers, and file a procedure
(papers reused from the vault, the rest uploaded, the e-form prefilled, then submit)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from sharing.errors import RequestClosed, RequestNotFound
from sharing.filing_errors import (
    FilingIncomplete,
    FilingLocked,
    FilingNotFound,
    PaperNotUsable,
)
from sharing.filings import EDITABLE, MAX_VALUE, Filing, FilingService, Origin
from sharing.models import RequestStatus
from sharing.procedures import Procedure, ProcedureCatalogue
from sharing.requests import RequestService
from vault import AccountService, DocumentFilter, VaultService
from vault.errors import (
    DocumentNotFound,
    EmptyFile,
    FileTooLarge,
    InvalidInput,
    OwnerNotFound,
    QuotaExceeded,
    UnreadableDocument,
    UnsupportedMediaType,
)
from vault.models import IssuerStatus
from verification.registry_db import DatabaseRegistrySource
from web import session
from web.citizen import FieldError, citizen_page, form_field, not_found, parse_uuid, type_namer
from web.pages import MB, lang_of
from web.session import SignedIn

CHUNK = 64 * 1024
# the largest body the upload page reads (the vault's own limit is checked on the file)
MAX_UPLOAD_BODY = 64 * MB
PICKABLE = 200  # vault papers offered on a request or filing page

# what the vault raises while storing, as (status, message key)
UPLOAD_ERRORS: dict[type[Exception], tuple[int, str]] = {
    FileTooLarge: (413, "upload_err_too_large"),
    QuotaExceeded: (413, "upload_err_quota"),
    UnsupportedMediaType: (415, "upload_err_type"),
    EmptyFile: (422, "upload_err_empty"),
    UnreadableDocument: (422, "upload_err_unreadable"),
}


def _errors_ctx(errors: list[FieldError]) -> dict[str, Any]:
    return {"errors": errors, "error_for": {e[0]: e for e in errors}}


def _text(data: dict[str, Any], name: str, limit: int = 1000) -> str:
    value = data.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


def _message(request: Request[Any, Any, Any], status: int, key: str) -> Template:
    return citizen_page(
        request, "message.html", status=status, title_key=key + "_title", body_key=key + "_body"
    )


class UploadPages(Controller):
    """Add a paper to the wallet: title, type, the file (camera on phones)."""

    path = "/upload"
    include_in_schema = False

    async def _form(
        self,
        request: Request[Any, Any, Any],
        vault: VaultService,
        registry_source: DatabaseRegistrySource,
        *,
        values: dict[str, str],
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Template:
        _, types = await type_namer(registry_source, lang_of(request))
        return citizen_page(
            request,
            "upload.html",
            status=status,
            title_key="upload_title",
            nav="upload",
            types=types,
            values=values,
            max_mb=vault.limits.max_upload_bytes // MB,
            max_bytes=vault.limits.max_upload_bytes,
            **_errors_ctx(errors or []),
        )

    @get("/", name="upload")
    async def new(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        registry_source: NamedDependency[DatabaseRegistrySource],
    ) -> Template:
        await session.require(request, accounts)
        q = request.query_params
        values = {
            "title": "",
            "doc_type": (q.get("doc_type") or "")[:64],
            "filing": (q.get("filing") or "")[:64],
        }
        return await self._form(request, vault, registry_source, values=values)

    @post("/", status_code=303, request_max_body_size=MAX_UPLOAD_BODY)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        filings: NamedDependency[FilingService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[Any]:
        try:
            return await self._store(request, accounts, vault, filings, registry_source, data)
        finally:
            for value in data.values():
                if isinstance(value, UploadFile):
                    await value.close()

    async def _store(
        self,
        request: Request[Any, Any, Any],
        accounts: AccountService,
        vault: VaultService,
        filings: FilingService,
        registry_source: DatabaseRegistrySource,
        data: dict[str, Any],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back="/upload")
        values = {
            "title": _text(data, "title", 300),
            "doc_type": _text(data, "doc_type", 64),
            "filing": _text(data, "filing", 64),
        }
        _, types = await type_namer(registry_source, lang_of(request))
        errors: list[FieldError] = []
        status = 422
        if len(values["title"]) > 200:
            errors.append(("title", "upload_err_title_long", {}))
        if values["doc_type"] and values["doc_type"] not in dict(types):
            errors.append(("doc_type", "upload_err_doc_type", {}))
        upload = data.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors.append(("file", "upload_err_no_file", {}))
            upload = None
        doc = None
        if upload is not None and not errors:
            title = values["title"] or upload.filename.rsplit(".", 1)[0][:200] or upload.filename
            try:
                staged = await vault.stage(
                    who.owner_id, _chunks(upload), filename=upload.filename[:255]
                )
                try:
                    doc = await vault.commit(
                        staged,
                        title=title,
                        doc_type=values["doc_type"] or None,
                        actor=session.owner_actor(who, request),
                    )
                except BaseException:
                    # never a half-stored paper: the staged blob goes
                    await vault.discard(staged)
                    raise
            except InvalidInput as bad:
                field = bad.field if bad.field in ("title", "doc_type") else "file"
                errors.append((field, f"upload_err_{field}_invalid", {}))
            except tuple(UPLOAD_ERRORS) as failed:
                status, key = UPLOAD_ERRORS[type(failed)]
                errors.append(("file", key, {"mb": vault.limits.max_upload_bytes // MB}))
        if doc is None:
            return await self._form(
                request, vault, registry_source, values=values, errors=errors, status=status
            )
        filing_id = parse_uuid(values["filing"])
        if filing_id is not None and doc.doc_type:
            try:
                await filings.attach(who.owner_id, filing_id, doc.doc_type, doc.id)
            except (FilingNotFound, FilingLocked, InvalidInput, PaperNotUsable, DocumentNotFound):
                pass  # the paper stays in the wallet; the filing page shows what is missing
            else:
                return Redirect(f"/filings/{filing_id}?attached=1", status_code=303)
        return Redirect(f"/documents/{doc.id}?uploaded=1", status_code=303)


async def _pickable(vault: VaultService, who: SignedIn) -> list[Any]:
    found = await vault.list_documents(who.owner_id, DocumentFilter(), limit=PICKABLE)
    return list(found.items)


class RequestPages(Controller):
    """Agencies asking for papers: approve with Kho's suggestions, or deny."""

    path = "/requests"
    include_in_schema = False

    @get("/", name="requests")
    async def list_requests(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        requests: NamedDependency[RequestService],
        registry_source: NamedDependency[DatabaseRegistrySource],
    ) -> Template:
        who = await session.require(request, accounts)
        found = [r for r, _ in await requests.list_for_owner(who.owner_id)]
        found.sort(key=lambda r: r.status != RequestStatus.PENDING)  # stable: newest first
        type_name, _ = await type_namer(registry_source, lang_of(request))
        return citizen_page(
            request,
            "requests.html",
            title_key="requests_title",
            nav="requests",
            requests=found,
            type_name=type_name,
        )

    async def _page(
        self,
        request: Request[Any, Any, Any],
        who: SignedIn,
        request_id: str,
        requests: RequestService,
        vault: VaultService,
        registry_source: DatabaseRegistrySource,
        *,
        chosen: set[str] | None = None,
        note: str = "",
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Template:
        rid = parse_uuid(request_id)
        try:
            if rid is None:
                raise RequestNotFound()
            req, tips = await requests.get_for_owner(who.owner_id, rid)
        except RequestNotFound:
            return not_found(request)
        type_name, _ = await type_namer(registry_source, lang_of(request))
        suggested = [t.document for t in tips if t.document is not None]
        if chosen is None:
            chosen = {str(d.id) for d in suggested}
        others = [d for d in await _pickable(vault, who) if d.id not in {s.id for s in suggested}]
        return citizen_page(
            request,
            "request.html",
            status=status,
            title_key="request_title",
            nav="requests",
            req=req,
            tips=tips,
            others=others,
            others_open=any(str(d.id) in chosen for d in others),
            chosen=chosen,
            note=note,
            pending=req.status == RequestStatus.PENDING,
            type_name=type_name,
            done=request.query_params.get("done") or "",
            **_errors_ctx(errors or []),
        )

    @get("/{request_id:str}", name="request")
    async def show(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        requests: NamedDependency[RequestService],
        vault: NamedDependency[VaultService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        request_id: FromPath[str],
    ) -> Template:
        who = await session.require(request, accounts)
        return await self._page(request, who, request_id, requests, vault, registry_source)

    @post("/{request_id:str}/approve", status_code=303)
    async def approve(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        requests: NamedDependency[RequestService],
        vault: NamedDependency[VaultService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        request_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back=f"/requests/{request_id}")
        form = await request.form()
        chosen = [v for v in form.getall("document", []) if isinstance(v, str)][:PICKABLE]
        ids = [d for d in (parse_uuid(c) for c in chosen) if d is not None]
        rid = parse_uuid(request_id)
        if rid is None:
            return not_found(request)
        error: FieldError | None = None
        if not ids:
            error = ("documents", "request_err_documents", {})
        else:
            try:
                await requests.approve(who.owner_id, rid, ids, session.owner_actor(who, request))
            except RequestNotFound:
                return not_found(request)
            except RequestClosed:
                return _message(request, 409, "request_closed")
            except InvalidInput:
                error = ("documents", "request_err_documents_gone", {})
        if error is not None:
            return await self._page(
                request,
                who,
                request_id,
                requests,
                vault,
                registry_source,
                chosen=set(chosen),
                errors=[error],
                status=422,
            )
        return Redirect(f"/requests/{rid}?done=approved", status_code=303)

    @post("/{request_id:str}/deny", status_code=303)
    async def deny(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        requests: NamedDependency[RequestService],
        vault: NamedDependency[VaultService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        request_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back=f"/requests/{request_id}")
        form = await request.form()
        note = form_field(form, "note", 2000)
        rid = parse_uuid(request_id)
        if rid is None:
            return not_found(request)
        try:
            await requests.deny(who.owner_id, rid, note or None, session.owner_actor(who, request))
        except RequestNotFound:
            return not_found(request)
        except RequestClosed:
            return _message(request, 409, "request_closed")
        except InvalidInput:
            return await self._page(
                request,
                who,
                request_id,
                requests,
                vault,
                registry_source,
                note=note,
                errors=[("note", "request_err_note", {})],
                status=422,
            )
        return Redirect(f"/requests/{rid}?done=denied", status_code=303)


def _proc_name(p: Procedure, lang: str) -> str:
    return p.name_vi if lang == "vi" else p.name_en


class FilingPages(Controller):
    """Procedures, my filings and one filing: papers, the e-form, submit, status."""

    path = "/"
    include_in_schema = False

    @get("/procedures", name="procedures")
    async def catalogue(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        procedures: NamedDependency[ProcedureCatalogue],
        registry_source: NamedDependency[DatabaseRegistrySource],
    ) -> Template:
        await session.require(request, accounts)
        lang = lang_of(request)
        type_name, _ = await type_namer(registry_source, lang)
        found = sorted(await procedures.list(), key=lambda p: _proc_name(p, lang))
        return citizen_page(
            request,
            "procedures.html",
            title_key="procedures_title",
            nav="filings",
            procedures=found,
            proc_name=lambda p: _proc_name(p, lang),
            type_name=type_name,
        )

    @post("/filings", status_code=303)
    async def start(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back="/procedures")
        form = await request.form()
        try:
            filing = await filings.create(who.owner_id, form_field(form, "procedure", 64))
        except (InvalidInput, OwnerNotFound):
            return _message(request, 422, "filing_bad_procedure")
        return Redirect(f"/filings/{filing.id}?started=1", status_code=303)

    @get("/filings", name="filings")
    async def mine(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
        procedures: NamedDependency[ProcedureCatalogue],
    ) -> Template:
        who = await session.require(request, accounts)
        lang = lang_of(request)
        found = await filings.list_for_owner(who.owner_id, limit=100)
        names = {p.code: _proc_name(p, lang) for p in await procedures.list()}
        return citizen_page(
            request,
            "filings.html",
            title_key="filings_title",
            nav="filings",
            filings=found.items,
            names=names,
        )

    async def _filing(
        self,
        request: Request[Any, Any, Any],
        who: SignedIn,
        filing: Filing,
        vault: VaultService,
        registry_source: DatabaseRegistrySource,
        *,
        values: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Template:
        lang = lang_of(request)
        type_name, _ = await type_namer(registry_source, lang)
        proc = filing.procedure
        attached = {p.doc_type: p for p in filing.papers}
        missing = set(filing.missing_documents)
        pickable = await _pickable(vault, who)
        rows = []
        for doc_type in (*proc.required_types, *proc.optional_types):
            paper = attached.get(doc_type)
            rows.append(
                {
                    "type": doc_type,
                    "required": doc_type in proc.required_types,
                    "paper": paper if paper is not None and paper.document is not None else None,
                    "reused": paper is not None and paper.origin == Origin.VAULT,
                    "missing": doc_type in missing,
                    # papers of this type, or of no stated type (attach accepts those)
                    "choices": [
                        d
                        for d in pickable
                        if d.doc_type in (doc_type, None)
                        and d.issuer_status in (None, IssuerStatus.ACTIVE)
                        and (paper is None or d.id != paper.document_id)
                    ],
                }
            )
        fields = [
            {
                "f": f,
                "label": f.label_vi if lang == "vi" else f.label_en,
                "value": (values or filing.form_values).get(f.name, ""),
            }
            for f in proc.form
        ]
        return citizen_page(
            request,
            "filing.html",
            status=status,
            title_key="filing_title",
            nav="filings",
            filing=filing,
            proc_name=_proc_name(proc, lang),
            rows=rows,
            fields=fields,
            editable=filing.status in EDITABLE,
            type_name=type_name,
            notice=next(
                (
                    k
                    for k in ("started", "attached", "saved", "submitted")
                    if k in request.query_params
                ),
                None,
            ),
            **_errors_ctx(errors or []),
        )

    async def _owned(self, filings: FilingService, who: SignedIn, filing_id: str) -> Filing | None:
        fid = parse_uuid(filing_id)
        if fid is None:
            return None
        try:
            return await filings.get_for_owner(who.owner_id, fid)
        except FilingNotFound:
            return None

    @get("/filings/{filing_id:str}", name="filing")
    async def show(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
        vault: NamedDependency[VaultService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        filing_id: FromPath[str],
    ) -> Template:
        who = await session.require(request, accounts)
        filing = await self._owned(filings, who, filing_id)
        if filing is None:
            return not_found(request)
        return await self._filing(request, who, filing, vault, registry_source)

    @post("/filings/{filing_id:str}/papers", status_code=303)
    async def attach(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
        vault: NamedDependency[VaultService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        filing_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back=f"/filings/{filing_id}")
        filing = await self._owned(filings, who, filing_id)
        if filing is None:
            return not_found(request)
        form = await request.form()
        doc_type = form_field(form, "doc_type", 64)
        doc_id = parse_uuid(form_field(form, "document", 64))
        field = f"paper-{doc_type}"
        try:
            if doc_id is None:
                raise DocumentNotFound("")
            await filings.attach(who.owner_id, filing.id, doc_type, doc_id)
        except FilingLocked:
            return _message(request, 409, "filing_locked")
        except (DocumentNotFound, PaperNotUsable, InvalidInput):
            return await self._filing(
                request,
                who,
                filing,
                vault,
                registry_source,
                errors=[(field, "filing_err_paper", {})],
                status=422,
            )
        return Redirect(f"/filings/{filing.id}?attached=1", status_code=303)

    @post("/filings/{filing_id:str}/form", status_code=303)
    async def save(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        filings: NamedDependency[FilingService],
        vault: NamedDependency[VaultService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        filing_id: FromPath[str],
    ) -> Response[Any]:
        """Save the e-form; with ``action=submit`` also send the filing."""
        who = await session.require(request, accounts, back=f"/filings/{filing_id}")
        filing = await self._owned(filings, who, filing_id)
        if filing is None:
            return not_found(request)
        form: FormMultiDict = await request.form()
        values = {f.name: form_field(form, "form." + f.name, 2000) for f in filing.procedure.form}
        submit = form_field(form, "action", 16) == "submit"
        try:
            filing = await filings.set_form(who.owner_id, filing.id, dict(values))
            if submit:
                await filings.submit(who.owner_id, filing.id)
        except FilingLocked:
            return _message(request, 409, "filing_locked")
        except InvalidInput as bad:
            name = bad.field.removeprefix("form.")
            return await self._filing(
                request,
                who,
                filing,
                vault,
                registry_source,
                values=values,
                errors=[form_value_error(filing, name, bad, lang_of(request))],
                status=422,
            )
        except FilingIncomplete as incomplete:
            type_name, _ = await type_namer(registry_source, lang_of(request))
            labels = {
                f.name: f.label_vi if lang_of(request) == "vi" else f.label_en
                for f in filing.procedure.form
            }
            errors: list[FieldError] = [
                (f"paper-{t}", "filing_err_missing_paper", {"name": type_name(t)})
                for t in incomplete.missing_documents
            ]
            errors += [
                (f"form-{n}", "filing_err_missing_field", {"name": labels.get(n, n)})
                for n in incomplete.missing_fields
            ]
            return await self._filing(
                request, who, filing, vault, registry_source, errors=errors, status=422
            )
        done = "submitted" if submit else "saved"
        return Redirect(f"/filings/{filing.id}?{done}=1", status_code=303)


# the e-form problems the domain names (``InvalidInput.code``), each with its message
FORM_VALUE_CODES = frozenset(
    {
        "too_long",
        "not_one_line",
        "not_a_date",
        "not_a_number",
        "not_an_option",
        "not_an_email",
        "not_a_phone",
    }
)


def form_value_error(filing: Filing, name: str, bad: InvalidInput, lang: str) -> FieldError:
    """The error of one e-form answer in the page's language: the field's label and
    the problem's own message (never the domain's English reason)."""
    field = next((f for f in filing.procedure.form if f.name == name), None)
    label = (field.label_vi if lang == "vi" else field.label_en) if field else name
    code = bad.code if bad.code in FORM_VALUE_CODES else "other"
    return (f"form-{name}", f"filing_err_{code}", {"label": label, "max": MAX_VALUE})


__all__ = ["FilingPages", "RequestPages", "UploadPages"]
