"""The preview of the citizen's own paper on its page: the file served inline, for the
browser's PDF viewer in a frame of this site, or as an image.

# security: only this response may be framed, and only by this site (frame-ancestors
# 'self'); every other response keeps frame-ancestors 'none'.  Only the types the vault
# accepts (PDF, JPEG, PNG, sniffed at upload) are served inline, with their own type
# and nosniff; anything else would be a download."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Stream

from vault import AccountService, VaultService
from vault.errors import DocumentNotFound
from web import session
from web.citizen import PREVIEWABLE, not_found, path_document_id

# nothing runs or loads from this document; the PDF viewer needs its plugin allowed
PREVIEW_CSP = "default-src 'none'; object-src 'self'; img-src 'self'; frame-ancestors 'self'"


class PreviewPages(Controller):
    path = "/documents"
    include_in_schema = False

    @get("/{document_id:str}/preview", name="document-preview")
    async def preview(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        document_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts)
        try:
            doc_id = path_document_id(document_id)
            doc = await vault.get_document(who.owner_id, doc_id)
            if doc.content_type not in PREVIEWABLE:
                raise DocumentNotFound(document_id)
            stream = await vault.open_content(
                who.owner_id, doc_id, session.owner_actor(who, request), action="document_viewed"
            )
        except DocumentNotFound:
            return not_found(request)
        return Stream(
            stream.chunks,
            media_type=stream.document.content_type,
            headers={
                "Content-Length": str(stream.length),
                "Content-Disposition": "inline",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": PREVIEW_CSP,
                "X-Frame-Options": "SAMEORIGIN",
            },
        )
