"""Share links (the citizen's side and the viewer's side), consent requests, the
access log and officials' sign-in."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeAlias
from uuid import UUID

import segno
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from api.auth import (
    agency_actor,
    agency_with_scope,
    bearer_token,
    client_ip,
    owner_actor,
    provide_owner,
    provide_principal,
)
from api.deps import (
    AccessLogDep,
    Accounts,
    AnyPrincipal,
    Owner,
    RequestsDep,
    SharesDep,
    StoredDocumentsDep,
)
from api.documents import download_headers, parse_document_id
from api.errors import ApiProblem
from api.ranges import Unsatisfiable, parse_range
from api.ratelimit import RateLimiter
from api.schemas import Document, TokenResponse
from api.schemas import sharing as s
from sharing.access import AccessFilter
from sharing.errors import ShareNotFound
from sharing.models import NewShare, RequestStatus, SharedView, viewer_for
from sharing.shares import ShareService
from vault import AccountService, Actor, ActorType, ContentStream, Principal
from vault.db import utcnow
from vault.errors import InvalidInput
from vault.models import Document as DomainDocument
from verification.documents import StoredDocuments


def share_url(request: Request[Any, Any, Any], token: str) -> str:
    base = str(request.app.state.get("base_url") or "").rstrip("/")
    return f"{base}/s/{token}"


async def optional_principal(
    request: Request[Any, Any, Any], accounts: Accounts
) -> Principal | None:
    """Whoever the bearer token stands for, if one was sent (a wrong one is a 401)."""
    if bearer_token(request) is None:
        return None
    return await provide_principal(request, accounts)


def qr_svg(url: str) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=4, title="QR"))


def qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


async def with_reports(
    stored_documents: Any, docs: list[DomainDocument], content_url: Any
) -> list[s.SharedDocument]:
    reports = await stored_documents.reports(docs)
    out = []
    for doc, report in zip(docs, reports, strict=True):
        base = Document.from_domain(doc)
        out.append(
            s.SharedDocument(
                **{f: getattr(base, f) for f in base.__struct_fields__ if f != "links"},
                links={},
                content_url=content_url(doc),
                verification=report,
            )
        )
    return out


def expiry_from(body: s.ShareCreate) -> Any:
    if (body.expires_at is None) == (body.ttl_seconds is None):
        raise InvalidInput("expires_at", "give exactly one of expires_at and ttl_seconds")
    if body.ttl_seconds is not None:
        if not 1 <= body.ttl_seconds <= 90 * 24 * 3600:
            raise InvalidInput("ttl_seconds", "must be between 1 second and 90 days")
        return utcnow() + timedelta(seconds=body.ttl_seconds)
    return body.expires_at


def audience_from(body: s.ShareCreate) -> str | None:
    aud = body.audience
    if aud == "anyone":
        return None
    if isinstance(aud, dict) and set(aud) == {"agency"} and aud["agency"]:
        return aud["agency"]
    raise InvalidInput("audience", 'must be "anyone" or {"agency": CODE}')


class ShareController(Controller):
    """The citizen's share links."""

    path = "/api/v1/shares"
    tags = ["sharing"]
    dependencies = {"owner": Provide(provide_owner)}

    @post("/", operation_id="CreateShare", status_code=201)
    async def create(
        self,
        request: Request[Any, Any, Any],
        shares: SharesDep,
        owner: Owner,
        data: JSONBody[s.ShareCreate],
    ) -> s.ShareCreated:
        """Share documents by link and QR code.  The token is in this answer only; Kho
        keeps just its SHA-256.  Expiry is required (``expires_at`` or ``ttl_seconds``),
        at most 90 days."""
        assert owner.owner_id is not None
        created = await shares.create(
            owner.owner_id,
            NewShare(
                document_ids=data.document_ids,
                expires_at=expiry_from(data),
                purpose=data.purpose,
                max_uses=data.max_uses,
                audience_agency=audience_from(data),
                password=data.password,
            ),
            owner_actor(owner, request),
        )
        url = share_url(request, created.token)
        out = s.ShareOut.from_domain(created.share)
        return s.ShareCreated(
            **{f: getattr(out, f) for f in out.__struct_fields__},
            url=url,
            token=created.token,
            qr_svg=qr_svg(url),
            qr_png_url=f"/api/v1/shared/{created.token}/qr.png",
        )

    @get("/", operation_id="ListShares")
    async def list_shares(self, shares: SharesDep, owner: Owner) -> s.ShareList:
        """My share links, newest first, with their use counts and status."""
        assert owner.owner_id is not None
        return s.ShareList(
            items=[s.ShareOut.from_domain(x) for x in await shares.list_shares(owner.owner_id)]
        )

    @get("/{share_id:str}", operation_id="GetShare")
    async def get_share(
        self, shares: SharesDep, owner: Owner, share_id: FromPath[str]
    ) -> s.ShareOut:
        assert owner.owner_id is not None
        return s.ShareOut.from_domain(await shares.get(owner.owner_id, _share_id(share_id)))

    @delete("/{share_id:str}", operation_id="RevokeShare", status_code=204)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        shares: SharesDep,
        owner: Owner,
        share_id: FromPath[str],
    ) -> None:
        """Revoke at once: the next request through the link answers 410."""
        assert owner.owner_id is not None
        await shares.revoke(owner.owner_id, _share_id(share_id), owner_actor(owner, request))


def _share_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise ShareNotFound() from None


def _guard_misses(limit: RateLimiter, ip: str | None) -> None:
    if limit.exhausted(ip):
        limit.check(ip)  # raises the 429


async def _counting_misses(limit: RateLimiter, ip: str | None, call: Any) -> Any:
    """Unknown tokens spend the client's budget; once it is gone every share route
    answers 429 for that client, before any lookup."""
    _guard_misses(limit, ip)
    try:
        return await call()
    except ShareNotFound:
        limit.check(ip)
        raise


class ShareViewing:
    """What the viewer's routes need, handed in as one dependency.

    Note: one on purpose.  Litestar resolves a route's independent dependencies
    concurrently in an anyio task group, which cost about a fifth of a share opening's
    CPU; the public share routes are the hottest in Kho."""

    def __init__(
        self,
        shares: ShareService,
        stored_documents: Callable[[], Awaitable[StoredDocuments]],
        miss_limit: RateLimiter,
        accounts: AccountService,
    ) -> None:
        self.shares = shares
        self.stored_documents = stored_documents
        self.miss_limit = miss_limit
        self.accounts = accounts

    async def principal(self, request: Request[Any, Any, Any]) -> Principal | None:
        return await optional_principal(request, self.accounts)


ShareViewingDep: TypeAlias = NamedDependency[ShareViewing]
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class SharedController(Controller):
    """What a share link shows to whoever holds it."""

    path = "/api/v1/shared"
    tags = ["sharing"]

    async def _view(
        self,
        request: Request[Any, Any, Any],
        viewing: ShareViewing,
        token: str,
        password: str | None,
    ) -> Response[s.SharedView]:
        ip = client_ip(request)
        grant = request.headers.get("share-grant") or request.query_params.get("grant")
        principal = await viewing.principal(request)
        view: SharedView = await _counting_misses(
            viewing.miss_limit,
            ip,
            lambda: viewing.shares.open(
                token, viewer_for(principal, ip), grant=grant, password=password
            ),
        )
        the_grant = view.grant or grant
        suffix = f"?grant={the_grant}" if the_grant else ""
        docs = await with_reports(
            await viewing.stored_documents(),
            view.documents,
            lambda d: f"/api/v1/shared/{token}/documents/{d.id}/content{suffix}",
        )
        out = s.SharedView(
            share_id=view.share_id,
            purpose=view.purpose,
            audience={"agency": view.audience_agency} if view.audience_agency else "anyone",
            expires_at=view.expires_at,
            max_uses=view.max_uses,
            use_count=view.use_count,
            documents=docs,
            grant=view.grant,
            grant_expires_at=view.grant_expires_at,
        )
        return Response(out, headers=_NO_STORE)

    @get("/{token:str}", operation_id="OpenShare", cache=False)
    async def open_share(
        self,
        request: Request[Any, Any, Any],
        share_viewing: ShareViewingDep,
        token: FromPath[str],
    ) -> Response[s.SharedView]:
        """Open a share: the documents' metadata, provenance and verification reports.
        Spends one use and returns a ``grant`` (send it back as ``Share-Grant`` or
        ``?grant=`` to fetch the documents without spending more).  A password-protected
        link wants ``Share-Password`` (or ``POST …/unlock``).  410 when expired, revoked
        or used up; 404 when unknown."""
        return await self._view(
            request, share_viewing, token, request.headers.get("share-password")
        )

    @post("/{token:str}/unlock", operation_id="UnlockShare", status_code=200)
    async def unlock(
        self,
        request: Request[Any, Any, Any],
        share_viewing: ShareViewingDep,
        token: FromPath[str],
        data: JSONBody[s.ShareUnlock],
    ) -> Response[s.SharedView]:
        """Open a password-protected share with its password (five wrong ones lock this
        link, and only this link, for a while)."""
        return await self._view(request, share_viewing, token, data.password)

    @get("/{token:str}/documents/{document_id:str}/content", operation_id="GetSharedContent")
    async def content(
        self,
        request: Request[Any, Any, Any],
        share_viewing: ShareViewingDep,
        token: FromPath[str],
        document_id: FromPath[str],
        grant: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """One shared document's bytes, verified on the way out (a single Range is
        honoured).  Within an opening's grant it spends no use; without one it is an
        opening of its own."""
        ip = client_ip(request)
        doc_id = parse_document_id(document_id)
        range_header = request.headers.get("range")

        def byte_range(doc: DomainDocument) -> tuple[int, int] | None:
            try:
                return parse_range(range_header, doc.size)
            except Unsatisfiable:
                raise ApiProblem(
                    416,
                    "range-not-satisfiable",
                    "Range not satisfiable",
                    headers={"Content-Range": f"bytes */{doc.size}"},
                ) from None

        principal = await share_viewing.principal(request)
        stream: ContentStream = await _counting_misses(
            share_viewing.miss_limit,
            ip,
            lambda: share_viewing.shares.open_content(
                token,
                doc_id,
                viewer_for(principal, ip),
                grant=request.headers.get("share-grant") or grant,
                password=request.headers.get("share-password"),
                byte_range_for=byte_range if range_header else None,
            ),
        )
        return stream_response(stream, ranged=range_header is not None)

    @get("/{token:str}/qr.png", operation_id="GetShareQrPng", media_type="image/png")
    async def qr(
        self,
        request: Request[Any, Any, Any],
        share_viewing: ShareViewingDep,
        token: FromPath[str],
    ) -> Response[bytes]:
        """The link's QR code as a PNG (does not open the share or spend a use)."""
        await _counting_misses(
            share_viewing.miss_limit,
            client_ip(request),
            lambda: share_viewing.shares.peek(token),
        )
        return Response(
            qr_png(share_url(request, token)), media_type="image/png", headers=_NO_STORE
        )


def stream_response(stream: ContentStream, *, ranged: bool) -> Response[Any]:
    doc = stream.document
    headers = download_headers(doc.sha256, doc.filename)
    headers["Content-Length"] = str(stream.length)
    headers["Cache-Control"] = "no-store"
    status = 200
    if ranged and (stream.start, stream.end) != (0, doc.size):
        status = 206
        headers["Content-Range"] = f"bytes {stream.start}-{stream.end - 1}/{doc.size}"
    return Stream(stream.chunks, status_code=status, media_type=doc.content_type, headers=headers)


class AccessLogController(Controller):
    path = "/api/v1/access-log"
    tags = ["sharing"]
    dependencies = {"owner": Provide(provide_owner)}

    @get("/", operation_id="GetAccessLog")
    async def access_log(
        self,
        access_log: AccessLogDep,
        owner: Owner,
        actor_type: FromQuery[str | None] = None,
        agency: FromQuery[str | None] = None,
        share_id: FromQuery[str | None] = None,
        document_id: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
        before: FromQuery[int | None] = None,
    ) -> s.AccessLogOut:
        """Who looked at my data: every access by anyone but me (share openings,
        downloads through a share or a request, lookups of a paper's code, agencies'
        requests), newest first.  Filters: ``actor_type`` (anyone, agency, official),
        ``agency`` (code), ``share_id``, ``document_id``, ``since``/``until`` (ISO 8601);
        page with ``before`` = the ``next_before`` of the previous page."""
        assert owner.owner_id is not None
        if not 1 <= limit <= 200:
            raise InvalidInput("limit", "must be between 1 and 200")
        flt = AccessFilter(
            actor_type=_enum(
                ActorType, actor_type, "actor_type", allowed={"anyone", "agency", "official"}
            ),
            agency=agency,
            share_id=_uuid(share_id, "share_id"),
            document_id=_uuid(document_id, "document_id"),
            since=_time(since, "since"),
            until=_time(until, "until"),
        )
        items = await access_log.entries(owner.owner_id, flt, limit=limit, before_seq=before)
        return s.AccessLogOut(
            items=[s.AccessEntryOut.from_domain(e) for e in items],
            next_before=items[-1].seq if len(items) == limit else None,
        )


def _enum(kind: Any, raw: str | None, field: str, *, allowed: set[str]) -> Any:
    if raw is None:
        return None
    if raw not in allowed:
        raise InvalidInput(field, f"must be one of {', '.join(sorted(allowed))}")
    return kind(raw)


def _uuid(raw: str | None, field: str) -> UUID | None:
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise InvalidInput(field, "must be a UUID") from None


def _time(raw: str | None, field: str) -> Any:
    if raw is None:
        return None
    from datetime import datetime

    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(field, "must be an ISO 8601 date-time with a time zone") from None
    if value.tzinfo is None:
        raise InvalidInput(field, "must include a time zone")
    return value


def _request_id(raw: str) -> UUID:
    from sharing.errors import RequestNotFound

    try:
        return UUID(raw)
    except ValueError:
        raise RequestNotFound() from None


class RequestController(Controller):
    """Consent requests, the citizen's side."""

    path = "/api/v1/requests"
    tags = ["requests"]
    dependencies = {"owner": Provide(provide_owner)}

    @get("/", operation_id="ListMyRequests")
    async def list_requests(self, requests: RequestsDep, owner: Owner) -> s.RequestList:
        """Agencies' requests for my papers, newest first; pending ones come with Kho's
        suggestion of the best paper of each asked type."""
        assert owner.owner_id is not None
        found = await requests.list_for_owner(owner.owner_id)
        return s.RequestList(
            items=[s.RequestOut.from_domain(r, suggestions=tips) for r, tips in found]
        )

    @get("/{request_id:str}", operation_id="GetMyRequest")
    async def get_request(
        self, requests: RequestsDep, owner: Owner, request_id: FromPath[str]
    ) -> s.RequestOut:
        assert owner.owner_id is not None
        req, tips = await requests.get_for_owner(owner.owner_id, _request_id(request_id))
        return s.RequestOut.from_domain(req, suggestions=tips)

    @post("/{request_id:str}/approve", operation_id="ApproveRequest", status_code=200)
    async def approve(
        self,
        request: Request[Any, Any, Any],
        requests: RequestsDep,
        owner: Owner,
        request_id: FromPath[str],
        data: JSONBody[s.RequestApprove | None] = None,
    ) -> s.RequestOut:
        """Share papers with the agency: ``document_ids`` picked, or (omitted) Kho's
        suggestions.  The share expires with the request; revoke it any time under
        ``/api/v1/shares``."""
        assert owner.owner_id is not None
        req = await requests.approve(
            owner.owner_id,
            _request_id(request_id),
            data.document_ids if data is not None else None,
            owner_actor(owner, request),
        )
        return s.RequestOut.from_domain(req)

    @post("/{request_id:str}/deny", operation_id="DenyRequest", status_code=200)
    async def deny(
        self,
        request: Request[Any, Any, Any],
        requests: RequestsDep,
        owner: Owner,
        request_id: FromPath[str],
        data: JSONBody[s.RequestDeny | None] = None,
    ) -> s.RequestOut:
        assert owner.owner_id is not None
        req = await requests.deny(
            owner.owner_id,
            _request_id(request_id),
            data.note if data is not None else None,
            owner_actor(owner, request),
        )
        return s.RequestOut.from_domain(req)


class AgencyRequestController(Controller):
    """Consent requests, the agency's side (scope ``request``)."""

    path = "/api/v1/agency/requests"
    tags = ["requests"]

    @post("/", operation_id="CreateRequest", status_code=201)
    async def create(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        requests: RequestsDep,
        principal: AnyPrincipal,
        data: JSONBody[s.RequestCreate],
    ) -> s.RequestOut:
        """Ask a citizen for papers of some types, for a purpose, until ``expires_at``
        (at most 90 days)."""
        agency = await agency_with_scope(accounts, principal, "request")
        req = await requests.create(
            agency,
            data.personal_id,
            data.doc_types,
            data.purpose,
            data.expires_at,
            _agency_or_official(principal, request),
        )
        return s.RequestOut.from_domain(req, for_agency=True)

    @get("/", operation_id="ListAgencyRequests")
    async def list_requests(
        self,
        accounts: Accounts,
        requests: RequestsDep,
        principal: AnyPrincipal,
        status: FromQuery[str | None] = None,
    ) -> s.RequestList:
        agency = await agency_with_scope(accounts, principal, "request")
        wanted = _enum(RequestStatus, status, "status", allowed={x.value for x in RequestStatus})
        found = await requests.list_for_agency(agency.id, status=wanted)
        return s.RequestList(items=[s.RequestOut.from_domain(r, for_agency=True) for r in found])

    @get("/{request_id:str}", operation_id="GetAgencyRequest")
    async def get_request(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        requests: RequestsDep,
        stored_documents: StoredDocumentsDep,
        principal: AnyPrincipal,
        request_id: FromPath[str],
    ) -> s.RequestOut:
        """The request's status and, once the citizen approved, the shared papers with
        their verification reports and content URLs (each read shows in the citizen's
        access log)."""
        agency = await agency_with_scope(accounts, principal, "request")
        rid = _request_id(request_id)
        req, docs = await requests.view_for_agency(
            agency.id, rid, _agency_or_official(principal, request)
        )
        out = s.RequestOut.from_domain(req, for_agency=True)
        out.documents = await with_reports(
            stored_documents,
            docs,
            lambda d: f"/api/v1/agency/requests/{rid}/documents/{d.id}/content",
        )
        return out

    @get("/{request_id:str}/documents/{document_id:str}/content", operation_id="GetRequestContent")
    async def content(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        requests: RequestsDep,
        principal: AnyPrincipal,
        request_id: FromPath[str],
        document_id: FromPath[str],
    ) -> Response[Any]:
        agency = await agency_with_scope(accounts, principal, "request")
        stream = await requests.open_content_for_agency(
            agency.id,
            _request_id(request_id),
            parse_document_id(document_id),
            _agency_or_official(principal, request),
        )
        return stream_response(stream, ranged=False)


def _agency_or_official(principal: Principal, request: Request[Any, Any, Any]) -> Actor:
    if principal.kind == "official":
        return viewer_for(principal, client_ip(request)).actor
    return agency_actor(principal, request)


class OfficialAuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/official-login", operation_id="OfficialLogin", status_code=200)
    async def official_login(
        self, accounts: Accounts, data: JSONBody[s.OfficialLogin]
    ) -> TokenResponse:
        """An official of an agency signs in (agency code, username, password) and gets a
        bearer token acting for that agency (its scopes), e.g. to open agency-audience
        share links."""
        issued = await accounts.official_login(data.agency, data.username, data.password)
        return TokenResponse.from_domain(issued)
