"""People's pages, server-rendered (Jinja) with a small stylesheet and progressive
enhancement; Vietnamese by default, English one click away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from litestar import Response, Router
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from web.account import AccountPages, SignInCodePages
from web.agency import AgencyPages
from web.citizen import AccessPages, SessionPages, ShareLinkPages, WalletPages
from web.forms import FilingPages, RequestPages, UploadPages
from web.official import OfficialPages
from web.pages import SharePages, VerifyPages
from web.preview import PreviewPages
from web.session import SessionConfig, SignInRequired, redirect_handler
from web.signing_pages import SigningPages

HERE = Path(__file__).resolve().parent

# security: no inline script or style anywhere, nothing framed, nothing sent elsewhere
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def security_headers(hsts: bool) -> Any:
    async def after(response: Response[Any]) -> Response[Any]:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        # DENY unless the response says otherwise (only the preview: SAMEORIGIN)
        headers.setdefault("X-Frame-Options", "DENY")
        # share tokens live in page URLs: never leak them in a Referer
        headers["Referrer-Policy"] = "no-referrer"
        headers["Permissions-Policy"] = "camera=(self), geolocation=(), microphone=()"
        if hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    return after


def web_router(*, hsts: bool, cookie_secure: bool | None = None) -> Router:
    """``cookie_secure``: the session cookie's Secure flag (default: on behind TLS)."""
    config = SessionConfig(cookie_secure=hsts if cookie_secure is None else cookie_secure)
    return Router(
        path="/",
        route_handlers=[
            SharePages,
            VerifyPages,
            SessionPages,
            SignInCodePages,
            AccountPages,
            WalletPages,
            PreviewPages,
            ShareLinkPages,
            AccessPages,
            UploadPages,
            RequestPages,
            FilingPages,
            OfficialPages,
            AgencyPages,
            SigningPages,
            create_static_files_router(
                path="/static", directories=[HERE / "static"], include_in_schema=False
            ),
        ],
        after_request=security_headers(hsts),
        dependencies={"web_session": Provide(lambda: config, use_cache=True, sync_to_thread=False)},
        exception_handlers={SignInRequired: redirect_handler(config)},
        include_in_schema=False,
    )


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The pages' Jinja environment: compiled once per process and never checked again.

    Note: Jinja's default ``auto_reload`` stats every template's file on every use (an
    ``include`` in a loop of 50 cards is 50 stats per page); the templates ship with the
    code, so a new release (a restart) is the only time they change.
    """
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        auto_reload=False,
        cache_size=-1,  # every template stays compiled (there are a few dozen)
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


__all__ = ["template_config", "web_router"]
