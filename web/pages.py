"""People's pages: the official's share landing ``/s/{token}``, the public verifier
``/v`` and ``/v/{code}``.  Server-rendered (Jinja), thin over the domain services; a
little JavaScript only enhances (drag-and-drop), nothing depends on it."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Stream, Template

from sharing.errors import (
    ShareAudienceDenied,
    ShareGone,
    ShareGrantInvalid,
    ShareLocked,
    ShareNotFound,
    SharePasswordRequired,
    SharePasswordWrong,
)
from sharing.models import SharedView, viewer_for
from sharing.shares import ShareService
from vault import AccountService, Actor, ActorType, Document, VaultService
from vault.errors import DocumentNotFound
from verification import VerificationReport, Verifier
from verification.documents import StoredDocuments
from verification.registry_db import DatabaseRegistrySource
from web.i18n import COOKIE, pick_language, translator
from web.session import Limiter, signed_in_official

MB = 1024 * 1024
# the largest body /v reads (the vault limit is checked on the file itself)
MAX_VERIFY_BODY = 64 * MB


def lang_of(request: Request[Any, Any, Any]) -> str:
    return pick_language(
        request.query_params.get("lang"),
        request.cookies.get(COOKIE),
        request.headers.get("accept-language"),
    )


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


def page(
    request: Request[Any, Any, Any],
    name: str,
    *,
    status: int = 200,
    title_key: str,
    **context: Any,
) -> Template:
    lang = lang_of(request)
    helpers = language_helpers(lang)
    t = helpers["t"]
    other = "en" if lang == "vi" else "vi"
    query = dict(request.query_params)
    query["lang"] = other
    switch = request.url.path + "?" + "&".join(f"{k}={v}" for k, v in query.items())
    response = Template(
        template_name=name,
        status_code=status,
        media_type=MediaType.HTML,  # Note: said, not guessed from the name on every page
        context={
            "t": t,
            "lang": lang,
            "title": t(title_key),
            "switch_url": switch,
            **helpers,
            **context,
        },
    )
    if request.query_params.get("lang") in ("vi", "en"):
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


def language_helpers(lang: str) -> dict[str, Any]:
    """What every template uses to speak ``lang``: ``t``, ``fmt_time`` and ``fmt_size``."""
    return {"t": translator(lang), "fmt_time": lambda d: _fmt_time(d, lang), "fmt_size": _fmt_size}


# Vietnam keeps one offset all year (no daylight saving).
VIETNAM = timezone(timedelta(hours=7))


# Note: pages show the same few hundred times again and again (a wallet's papers), and
# strftime with the time zone change was a tenth of the wallet's rendering.
@functools.lru_cache(maxsize=4096)
def _fmt_time(value: datetime | None, lang: str) -> str:
    if value is None:
        return "—"
    local = value.astimezone(VIETNAM)
    if lang == "vi":
        return local.strftime("%H:%M ngày %d/%m/%Y") + " (giờ Việt Nam)"
    return local.strftime("%d %b %Y, %H:%M") + " (Vietnam time, UTC+7)"


def _fmt_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def too_many(request: Request[Any, Any, Any]) -> Template:
    return page(
        request, "message.html", status=429, title_key="toomany_title", body_key="toomany_body"
    )


def not_found(request: Request[Any, Any, Any]) -> Template:
    return page(
        request, "message.html", status=404, title_key="notfound_title", body_key="notfound_body"
    )


class DocumentCard:
    """One shared paper as the landing shows it."""

    def __init__(self, doc: Document, report: VerificationReport, download_url: str) -> None:
        self.doc = doc
        self.report = report
        self.download_url = download_url


class SharePages(Controller):
    path = "/s"
    include_in_schema = False

    async def _render_view(
        self,
        request: Request[Any, Any, Any],
        shares: NamedDependency[ShareService],
        stored_documents: NamedDependency[StoredDocuments],
        share_miss_limit: NamedDependency[Any],
        accounts: NamedDependency[AccountService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        token: str,
        password: str | None,
    ) -> Template:
        ip = client_ip(request)
        limiter: Limiter = share_miss_limit
        if limiter.exhausted(ip):
            return too_many(request)
        official = await signed_in_official(request, accounts)
        try:
            view: SharedView = await shares.open(token, viewer_for(official, ip), password=password)
        except ShareNotFound:
            limiter.take(ip)
            return not_found(request)
        except ShareGone as gone:
            return page(
                request, "gone.html", status=410, title_key="gone_title", reason=gone.reason
            )
        except ShareAudienceDenied as denied:
            return page(
                request,
                "message.html",
                status=403,
                title_key="audience_title",
                body_key="audience_body",
                values={"agency": denied.agency_code},
                action_url=f"/official/sign-in?next=/s/{token}",
                action_key="official_signin_cta",
            )
        except SharePasswordRequired:
            return page(
                request,
                "password.html",
                status=401 if password is not None else 200,
                title_key="password_title",
                error=("password_missing", {}) if password is not None else None,
            )
        except SharePasswordWrong as wrong:
            return page(
                request,
                "password.html",
                status=401,
                title_key="password_title",
                error=("password_wrong", {"left": wrong.attempts_left}),
            )
        except ShareLocked as locked:
            return page(
                request,
                "password.html",
                status=429,
                title_key="password_title",
                error=("password_locked", {"minutes": max(1, locked.retry_after // 60)}),
            )
        reports = await stored_documents.reports(view.documents)
        # the type names of the registry the verdicts were just checked against (the
        # reports read its version a moment ago): no second lookup
        versions = {r.registry_version for r in reports if r.registry_version}
        registry = (
            registry_source.loaded(versions.pop()) if len(versions) == 1 else None
        ) or await registry_source.current()
        lang = lang_of(request)

        def type_name(code: str | None) -> str:
            found = registry.document_type(code) if code else None
            if found is None:
                return code or "—"
            return found.name_vi if lang == "vi" else found.name_en

        cards = [
            DocumentCard(d, r, f"/s/{token}/documents/{d.id}?grant={view.grant}")
            for d, r in zip(view.documents, reports, strict=True)
        ]
        response = page(
            request,
            "share.html",
            title_key="share_title",
            view=view,
            cards=cards,
            type_name=type_name,
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    @get("/{token:str}", name="share-landing")
    async def landing(
        self,
        request: Request[Any, Any, Any],
        shares: NamedDependency[ShareService],
        stored_documents: NamedDependency[StoredDocuments],
        share_miss_limit: NamedDependency[Any],
        accounts: NamedDependency[AccountService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        token: FromPath[str],
    ) -> Template:
        """The official's view of a share: each paper with a big verdict."""
        return await self._render_view(
            request,
            shares,
            stored_documents,
            share_miss_limit,
            accounts,
            registry_source,
            token,
            None,
        )

    @post("/{token:str}", status_code=200)
    async def unlock(
        self,
        request: Request[Any, Any, Any],
        shares: NamedDependency[ShareService],
        stored_documents: NamedDependency[StoredDocuments],
        share_miss_limit: NamedDependency[Any],
        accounts: NamedDependency[AccountService],
        registry_source: NamedDependency[DatabaseRegistrySource],
        token: FromPath[str],
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Template:
        password = (data.get("password") or "")[:1024]
        return await self._render_view(
            request,
            shares,
            stored_documents,
            share_miss_limit,
            accounts,
            registry_source,
            token,
            password,
        )

    @get("/{token:str}/documents/{document_id:str}")
    async def download(
        self,
        request: Request[Any, Any, Any],
        shares: NamedDependency[ShareService],
        share_miss_limit: NamedDependency[Any],
        accounts: NamedDependency[AccountService],
        token: FromPath[str],
        document_id: FromPath[str],
        grant: FromQuery[str | None] = None,
    ) -> Response[Any]:
        ip = client_ip(request)
        limiter: Limiter = share_miss_limit
        if limiter.exhausted(ip):
            return too_many(request)
        try:
            official = await signed_in_official(request, accounts)
            stream = await shares.open_content(
                token, UUID(document_id), viewer_for(official, ip), grant=grant
            )
        except (ValueError, ShareNotFound, DocumentNotFound):
            limiter.take(ip)
            return not_found(request)
        except (ShareGone, ShareGrantInvalid):
            return page(request, "gone.html", status=410, title_key="gone_title", reason="expired")
        except (ShareAudienceDenied, SharePasswordRequired, SharePasswordWrong, ShareLocked):
            return page(
                request,
                "message.html",
                status=403,
                title_key="notfound_title",
                body_key="notfound_body",
            )
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


def _disposition(filename: str) -> str:
    from urllib.parse import quote

    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class VerifyPages(Controller):
    path = "/v"
    include_in_schema = False

    @get("/", name="verify")
    async def form(
        self, request: Request[Any, Any, Any], vault: NamedDependency[VaultService]
    ) -> Template:
        return page(
            request,
            "verify.html",
            title_key="verify_title",
            max_mb=vault.limits.max_upload_bytes // MB,
            error=None,
            report=None,
        )

    @post("/", status_code=200, request_max_body_size=MAX_VERIFY_BODY)
    async def check(
        self,
        request: Request[Any, Any, Any],
        vault: NamedDependency[VaultService],
        verifier: NamedDependency[Verifier],
        public_verify_limit: NamedDependency[Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Template:
        """Verify a dropped PDF and show the verdict (the file is not stored)."""
        max_mb = vault.limits.max_upload_bytes // MB
        limiter: Limiter = public_verify_limit
        if not limiter.take(client_ip(request)):
            return too_many(request)
        upload = data.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return page(
                request,
                "verify.html",
                status=422,
                title_key="verify_title",
                max_mb=max_mb,
                error=("verify_no_file", {}),
                report=None,
            )
        pdf = await upload.read(vault.limits.max_upload_bytes + 1)
        if len(pdf) > vault.limits.max_upload_bytes:
            return page(
                request,
                "verify.html",
                status=413,
                title_key="verify_title",
                max_mb=max_mb,
                error=("verify_too_large", {"mb": max_mb}),
                report=None,
            )
        if not pdf:
            return page(
                request,
                "verify.html",
                status=422,
                title_key="verify_title",
                max_mb=max_mb,
                error=("verify_no_file", {}),
                report=None,
            )
        report = await verifier.verify(pdf)
        return page(
            request,
            "verify.html",
            title_key="verify_title",
            max_mb=max_mb,
            error=None,
            report=report,
            filename=upload.filename[:200],
        )

    @get("/{code:str}", name="verify-code")
    async def code(
        self,
        request: Request[Any, Any, Any],
        vault: NamedDependency[VaultService],
        public_verify_limit: NamedDependency[Any],
        code: FromPath[str],
    ) -> Template:
        limiter: Limiter = public_verify_limit
        if not limiter.take(client_ip(request)):
            return too_many(request)
        try:
            found = await vault.lookup_code(
                code,
                Actor(type=ActorType.ANYONE, name="verification code", ip=client_ip(request)),
            )
        except DocumentNotFound:
            return not_found(request)
        return page(request, "code.html", title_key="code_title", found=found)
