"""The citizen's pages: sign in and out, the wallet, a document (details, verdict,
download, delete), share links (create, list, revoke) and who looked at my data.
Server-rendered, thin over the domain services; the one script only adds a copy button."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

import segno
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template

from sharing.access import AccessFilter, AccessLog
from sharing.errors import ShareGone, ShareNotFound
from sharing.models import AccessEntry, NewShare, ShareStatus
from sharing.shares import ShareService
from vault import AccountService, Document, DocumentFilter, VaultService
from vault.db import utcnow
from vault.errors import (
    DocumentNotFound,
    InvalidInput,
    LegalHold,
    SecondFactorRequired,
)
from vault.models import Provenance
from verification.documents import StoredDocuments
from verification.registry_db import DatabaseRegistrySource
from verification.report_pdf import ReportDocument, SealedReports
from web import session
from web.fragments import wallet_cards
from web.pages import _disposition, client_ip, lang_of, language_helpers, page
from web.session import SessionConfig, SignedIn, SignInRequired

# the types the document page previews (web/preview.py serves them inline)
PREVIEWABLE = frozenset({"application/pdf", "image/jpeg", "image/png"})
# the share form's expiry presets (the value sent, seconds)
EXPIRY_PRESETS: dict[str, int] = {"1h": 3600, "1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
DEFAULT_EXPIRY = "1d"
WALLET_PAGE = 50
SHAREABLE = 200  # papers offered on the share form
# a new share's token, for its page to show once (path: that page only)
NEW_SHARE_COOKIE = "kho_new_share"
LOG_PAGE = 50

# One error of a form: the field's id, the message key and its values.
FieldError = tuple[str, str, dict[str, Any]]


def citizen_page(
    request: Request[Any, Any, Any],
    name: str,
    *,
    title_key: str,
    nav: str = "",
    status: int = 200,
    **context: Any,
) -> Template:
    """A signed-in page: the citizen's navigation, never cached (private data).  Its
    language switch goes through ``/language``, which saves the choice to the account."""
    other = "en" if lang_of(request) == "vi" else "vi"
    switch = f"/language?to={other}&back={quote(session.here(request), safe='/')}"
    response = page(
        request,
        name,
        status=status,
        title_key=title_key,
        signed_in=True,
        nav=nav,
        switch_url=switch,
        **context,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def not_found(request: Request[Any, Any, Any]) -> Template:
    return citizen_page(
        request,
        "message.html",
        status=404,
        title_key="notfound_title",
        body_key="citizen_notfound_body",
    )


def parse_uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def path_document_id(value: str) -> UUID:
    """A document id from the path; a malformed one is simply ``DocumentNotFound``."""
    doc_id = parse_uuid(value)
    if doc_id is None:
        raise DocumentNotFound(value[:64])
    return doc_id


def form_field(form: FormMultiDict, name: str, limit: int = 1000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


async def type_namer(
    registry_source: DatabaseRegistrySource, lang: str
) -> tuple[Callable[[str | None], str], list[tuple[str, str]]]:
    """The document types' names in this language, and (code, name) for a filter."""
    registry = await registry_source.current()
    names = {t.code: (t.name_vi if lang == "vi" else t.name_en) for t in registry.document_types}

    def name(code: str | None) -> str:
        return names.get(code, code) if code else "—"

    return name, sorted(names.items(), key=lambda kv: kv[1])


class SessionPages(Controller):
    """Sign in with the personal ID and password; sign out."""

    path = "/"
    include_in_schema = False

    @get("/sign-in", name="sign-in")
    async def form(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        web_session: NamedDependency[SessionConfig],
    ) -> Response[Any]:
        expired = request.query_params.get("expired")
        out = request.query_params.get("out")
        back = session.safe_next(request.query_params.get("next"))
        try:
            who = await session.current(request, accounts)
        except SignInRequired:
            who = None
        if who is not None:
            return Redirect(back, status_code=303)
        restart = request.query_params.get("restart")
        notice = "expired" if expired else "out" if out else "restart" if restart else None
        response = self._render(request, back=back, notice=notice)
        if request.cookies.get(session.COOKIE):
            session.end(response, web_session)  # an ended session's cookie goes
        return response

    def _render(
        self,
        request: Request[Any, Any, Any],
        *,
        back: str,
        notice: str | None = None,
        errors: list[FieldError] | None = None,
        personal_id: str = "",
        status: int = 200,
    ) -> Template:
        response = page(
            request,
            "sign_in.html",
            status=status,
            title_key="signin_title",
            back=back,
            notice=notice,
            errors=errors or [],
            error_for={e[0]: e for e in errors or []},
            personal_id=personal_id,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @post("/sign-in", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        web_session: NamedDependency[SessionConfig],
        sign_in_limit: NamedDependency[Any],
    ) -> Response[Any]:
        form = await request.form()
        personal_id = form_field(form, "personal_id", 64).replace(" ", "")
        password = form.get("password")
        password = password[:1024] if isinstance(password, str) else ""
        back = session.safe_next(form_field(form, "next", 2000))
        errors: list[FieldError] = []
        if not personal_id:
            errors.append(("personal_id", "signin_pid_missing", {}))
        elif not (len(personal_id) == 12 and personal_id.isascii() and personal_id.isdigit()):
            errors.append(("personal_id", "signin_pid_format", {}))
        if not password:
            errors.append(("password", "signin_pw_missing", {}))
        if errors:
            return self._render(
                request, back=back, errors=errors, personal_id=personal_id, status=422
            )
        ip = client_ip(request)
        try:
            issued = await session.sign_in_attempt(
                sign_in_limit,
                ip,
                lambda: accounts.login(personal_id, password, ip, challenge=True),
                exhausted_key="signin_too_many",
                wrong_key="signin_wrong",
            )
        except SecondFactorRequired as needed:
            # the password is right: the one-time code is the next step (web/account.py)
            ask: Response[Any] = Redirect(session.code_step_url(back), status_code=303)
            session.hold_challenge(ask, needed.challenge or "", web_session)
            ask.headers["Cache-Control"] = "no-store"
            return ask
        if isinstance(issued, session.Refusal):
            errors = [("personal_id", issued.key, issued.values)]
            refused = self._render(
                request, back=back, errors=errors, personal_id=personal_id, status=issued.status
            )
            if issued.retry_after is not None:
                refused.headers["Retry-After"] = str(issued.retry_after)
            return refused
        return await session.signed_in_response(request, accounts, issued, back, web_session)

    @post("/sign-out", status_code=303)
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        web_session: NamedDependency[SessionConfig],
    ) -> Response[Any]:
        try:
            who = await session.current(request, accounts)
        except SignInRequired:
            who = None
        if who is not None:
            await accounts.revoke_token(who.token_id)
        response: Response[Any] = Redirect(f"{session.SIGN_IN}?out=1", status_code=303)
        session.end(response, web_session)
        return response


class WalletPages(Controller):
    """The wallet and each document."""

    path = "/"
    include_in_schema = False

    @get("/", name="home")
    async def home(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        registry_source: NamedDependency[DatabaseRegistrySource],
    ) -> Template:
        """Signed in: the wallet; signed out: what Kho is, and a sign-in button."""
        who = await session.current(request, accounts)
        if who is None:
            return page(request, "landing.html", title_key="landing_title")
        params = request.query_params
        kind = (params.get("type") or "").strip()[:64] or None
        prov_value = params.get("provenance") or ""
        provenance = Provenance(prov_value) if prov_value in set(Provenance) else None
        q = (params.get("q") or "").strip()[:200] or None
        lang = lang_of(request)
        type_name, types = await type_namer(registry_source, lang)
        try:
            found = await vault.list_documents(
                who.owner_id,
                DocumentFilter(doc_type=kind, provenance=provenance, q=q),
                limit=WALLET_PAGE,
                cursor=(params.get("cursor") or "")[:64] or None,
            )
        except InvalidInput:
            return citizen_page(
                request,
                "message.html",
                status=400,
                title_key="wallet_bad_filter_title",
                body_key="wallet_bad_filter_body",
            )
        filtered = bool(kind or provenance or q)
        environment = request.app.template_engine.engine  # type: ignore[union-attr]
        cards = [
            wallet_cards.card(
                environment, d, lang, type_name(d.doc_type), lambda: language_helpers(lang)
            )
            for d in found.items
        ]
        more = None
        if found.next_cursor:
            keep = [(k, v) for k, v in params.multi_items() if k not in ("cursor", "lang")]
            keep.append(("cursor", found.next_cursor))
            more = "/?" + "&".join(f"{k}={_q(v)}" for k, v in keep)
        return citizen_page(
            request,
            "wallet.html",
            title_key="wallet_title",
            nav="wallet",
            documents=found.items,
            cards=cards,
            filtered=filtered,
            types=types,
            provenances=[str(p) for p in Provenance],
            current={
                "type": kind or "",
                "provenance": prov_value if provenance else "",
                "q": q or "",
            },
            type_name=type_name,
            more_url=more,
            deleted=params.get("deleted") == "1",
        )

    async def _owned(self, vault: VaultService, who: SignedIn, document_id: str) -> Document | None:
        doc_id = parse_uuid(document_id)
        if doc_id is None:
            return None
        try:
            return await vault.get_document(who.owner_id, doc_id)
        except DocumentNotFound:
            return None

    @get("/documents/{document_id:str}", name="document")
    async def document(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        stored_documents: NamedDependency[StoredDocuments],
        registry_source: NamedDependency[DatabaseRegistrySource],
        document_id: FromPath[str],
    ) -> Template:
        who = await session.require(request, accounts)
        doc = await self._owned(vault, who, document_id)
        if doc is None:
            return not_found(request)
        (report,) = await stored_documents.reports([doc])
        type_name, _ = await type_namer(registry_source, lang_of(request))
        return citizen_page(
            request,
            "document.html",
            title_key="document_title",
            title=doc.title,
            nav="wallet",
            doc=doc,
            report=report,
            type_name=type_name,
            preview=doc.content_type in PREVIEWABLE,
        )

    @get("/documents/{document_id:str}/download")
    async def download(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        document_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts)
        try:
            stream = await vault.open_content(
                who.owner_id, path_document_id(document_id), session.owner_actor(who, request)
            )
        except DocumentNotFound:
            return not_found(request)
        doc = stream.document
        return Stream(
            stream.chunks,
            media_type=doc.content_type,
            headers={
                "Content-Length": str(stream.length),
                "Content-Disposition": _disposition(doc.filename),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox",
            },
        )

    @get("/documents/{document_id:str}/verification.pdf")
    async def report_pdf(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        stored_documents: NamedDependency[StoredDocuments],
        sealed_reports: NamedDependency[SealedReports],
        document_id: FromPath[str],
    ) -> Response[Any]:
        """The paper's verification report as a PDF sealed by Kho, to keep or hand on."""
        who = await session.require(request, accounts)
        try:
            doc, report = await stored_documents.verify_document(
                who.owner_id, path_document_id(document_id), session.owner_actor(who, request)
            )
        except DocumentNotFound:
            return not_found(request)
        body = await sealed_reports.pdf(report, document=ReportDocument.of(doc))
        return Response(
            body,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="verification-{doc.id}.pdf"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    @get("/documents/{document_id:str}/delete")
    async def confirm_delete(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        document_id: FromPath[str],
    ) -> Template:
        who = await session.require(request, accounts)
        doc = await self._owned(vault, who, document_id)
        if doc is None:
            return not_found(request)
        return citizen_page(request, "delete.html", title_key="delete_title", nav="wallet", doc=doc)

    @post("/documents/{document_id:str}/delete", status_code=303)
    async def delete(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        document_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back=f"/documents/{document_id}")
        doc = await self._owned(vault, who, document_id)
        if doc is None:
            return not_found(request)
        try:
            await vault.delete_document(who.owner_id, doc.id, session.owner_actor(who, request))
        except DocumentNotFound:
            return not_found(request)
        except LegalHold:
            return citizen_page(
                request,
                "message.html",
                status=409,
                title_key="delete_held_title",
                body_key="delete_held_body",
            )
        return Redirect("/?deleted=1", status_code=303)


def _q(value: str) -> str:
    return quote(value, safe="")


def qr_markup(url: str, label: str) -> str:
    """The link as a QR code: inline SVG (markup, not script), scaled by the stylesheet."""
    svg = segno.make(url, error="m").svg_inline(
        scale=1, border=4, omitsize=True, title=label, svgclass="qr", lineclass=None
    )
    return str(svg).replace("<svg ", '<svg role="img" ', 1)


class ShareLinkPages(Controller):
    """Share papers by link and QR code; my shares, with their uses and a revoke button."""

    path = "/"
    include_in_schema = False

    async def _form(
        self,
        request: Request[Any, Any, Any],
        vault: VaultService,
        who: SignedIn,
        *,
        chosen: list[str],
        values: dict[str, str],
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Template:
        found = await vault.list_documents(who.owner_id, DocumentFilter(), limit=SHAREABLE)
        return citizen_page(
            request,
            "share_form.html",
            status=status,
            title_key="share_new_title",
            nav="shares",
            documents=found.items,
            chosen=set(chosen),
            presets=list(EXPIRY_PRESETS),
            values=values,
            errors=errors or [],
            error_for={e[0]: e for e in errors or []},
        )

    @get("/share", name="share-new")
    async def new(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
    ) -> Template:
        who = await session.require(request, accounts)
        chosen = request.query_params.getall("doc", [])
        return await self._form(
            request,
            vault,
            who,
            chosen=chosen,
            values={"expiry": DEFAULT_EXPIRY, "audience": "anyone", "agency": "", "purpose": ""},
        )

    @post("/share", status_code=303)
    async def create(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        shares: NamedDependency[ShareService],
        web_session: NamedDependency[SessionConfig],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back="/share")
        form = await request.form()
        chosen = [v for v in form.getall("document", []) if isinstance(v, str)][:SHAREABLE]
        values = {
            "expiry": form_field(form, "expiry", 8),
            "audience": form_field(form, "audience", 16),
            "agency": form_field(form, "agency", 64).upper(),
            "purpose": form_field(form, "purpose", 2000),
        }
        errors: list[FieldError] = []
        doc_ids = [d for d in (parse_uuid(c) for c in chosen) if d is not None]
        if not doc_ids:
            errors.append(("documents", "share_err_documents", {}))
        if values["expiry"] not in EXPIRY_PRESETS:
            errors.append(("expiry", "share_err_expiry", {}))
        if values["audience"] not in ("anyone", "agency"):
            errors.append(("audience", "share_err_audience", {}))
        elif values["audience"] == "agency" and not values["agency"]:
            errors.append(("agency", "share_err_agency_missing", {}))
        if len(values["purpose"]) > 500:
            errors.append(("purpose", "share_err_purpose", {}))
        created = None
        if not errors:
            try:
                created = await shares.create(
                    who.owner_id,
                    NewShare(
                        document_ids=doc_ids,
                        expires_at=utcnow() + timedelta(seconds=EXPIRY_PRESETS[values["expiry"]]),
                        purpose=values["purpose"],
                        audience_agency=values["agency"]
                        if values["audience"] == "agency"
                        else None,
                    ),
                    session.owner_actor(who, request),
                )
            except InvalidInput as bad:
                errors.append(_share_error(bad, values["agency"]))
        if created is None:
            return await self._form(
                request, vault, who, chosen=chosen, values=values, errors=errors, status=422
            )
        # Post/Redirect/Get: the share's own page shows the link, once (its token rides
        # along in a short cookie for that page only; Kho keeps just its hash)
        page_url = f"/shares/{created.share.id}"
        response: Response[Any] = Redirect(page_url, status_code=303)
        response.set_cookie(
            NEW_SHARE_COOKIE,
            created.token,
            max_age=300,
            path=page_url,
            httponly=True,
            samesite="strict",
            secure=web_session.cookie_secure,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @get("/shares/{share_id:str}", name="my-share")
    async def show(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        shares: NamedDependency[ShareService],
        web_session: NamedDependency[SessionConfig],
        share_id: FromPath[str],
    ) -> Template:
        """One share.  Just after it was made, with its link and QR code (shown this
        once); afterwards, what it is and how to revoke it or make a new link."""
        who = await session.require(request, accounts)
        sid = parse_uuid(share_id)
        try:
            if sid is None:
                raise ShareNotFound()
            share = await shares.get(who.owner_id, sid)
        except ShareNotFound:
            return not_found(request)
        url = qr = None
        token = request.cookies.get(NEW_SHARE_COOKIE) or ""
        if token:
            try:
                fresh = (await shares.peek(token)).id == share.id
            except (ShareNotFound, ShareGone):
                fresh = False
            if fresh:
                base = str(request.app.state.get("base_url") or "").rstrip("/")
                url = f"{base}/s/{token}"
                vi = lang_of(request) == "vi"
                qr = qr_markup(
                    url, "Mã QR của liên kết chia sẻ" if vi else "QR code of the share link"
                )
        response = citizen_page(
            request,
            "share_created.html",
            title_key="share_created_title" if url else "share_page_title",
            nav="shares",
            share=share,
            url=url,
            qr=qr,
            titles=await _titles(vault, who),
            active=ShareStatus.ACTIVE,
        )
        if token:  # shown once: gone on the next load
            response.set_cookie(
                NEW_SHARE_COOKIE,
                "",
                max_age=0,
                path=f"/shares/{share.id}",
                httponly=True,
                samesite="strict",
                secure=web_session.cookie_secure,
            )
        return response

    @get("/shares", name="my-shares")
    async def list_shares(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        shares: NamedDependency[ShareService],
    ) -> Template:
        who = await session.require(request, accounts)
        mine = await shares.list_shares(who.owner_id)
        return citizen_page(
            request,
            "shares.html",
            title_key="shares_title",
            nav="shares",
            shares=mine,
            titles=await _titles(vault, who),
            revoked=request.query_params.get("revoked") == "1",
            active=ShareStatus.ACTIVE,
        )

    @post("/shares/{share_id:str}/revoke", status_code=303)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        shares: NamedDependency[ShareService],
        share_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back="/shares")
        sid = parse_uuid(share_id)
        try:
            if sid is None:
                raise ShareNotFound()
            await shares.revoke(who.owner_id, sid, session.owner_actor(who, request))
        except ShareNotFound:
            return not_found(request)
        return Redirect("/shares?revoked=1", status_code=303)


def _share_error(bad: InvalidInput, agency: str) -> FieldError:
    if bad.field == "audience":
        return ("agency", "share_err_agency_unknown", {"agency": agency})
    if bad.field == "purpose":
        return ("purpose", "share_err_purpose", {})
    if bad.field == "expires_at":
        return ("expiry", "share_err_expiry", {})
    # document_ids: a paper that is not (or no longer) the owner's
    return ("documents", "share_err_documents_gone", {})


async def _titles(vault: VaultService, who: SignedIn) -> dict[UUID, str]:
    found = await vault.list_documents(who.owner_id, DocumentFilter(), limit=SHAREABLE)
    return {d.id: d.title for d in found.items}


class AccessPages(Controller):
    """Who looked at my data: the access log as a timeline."""

    path = "/access-log"
    include_in_schema = False

    @get("/", name="access-log")
    async def timeline(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        access_log: NamedDependency[AccessLog],
        shares: NamedDependency[ShareService],
        vault: NamedDependency[VaultService],
    ) -> Template:
        who = await session.require(request, accounts)
        raw = request.query_params.get("before") or ""
        before = int(raw) if raw.isdigit() and len(raw) < 19 else None
        entries: list[AccessEntry] = await access_log.entries(
            who.owner_id, AccessFilter(), limit=LOG_PAGE + 1, before_seq=before
        )
        older = None
        if len(entries) > LOG_PAGE:
            entries = entries[:LOG_PAGE]
            older = f"/access-log?before={entries[-1].seq}"
        titles = await _titles(vault, who)
        # a share's opening names the share; its papers are the share's
        scope = {str(s.id): s.document_ids for s in await shares.list_shares(who.owner_id)}

        def papers(entry: AccessEntry) -> list[tuple[UUID, str | None]]:
            if entry.document_id is not None:
                return [(entry.document_id, entry.document_title)]
            return [(d, titles.get(d)) for d in scope.get(entry.share_id or "", [])]

        return citizen_page(
            request,
            "access_log.html",
            title_key="access_title",
            nav="access",
            entries=entries,
            papers=papers,
            older_url=older,
        )
