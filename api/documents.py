"""Citizens' own documents."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from api import schemas as s
from api.auth import owner_actor, provide_owner
from api.deps import Owner, Vault
from api.errors import ApiProblem
from api.ranges import Unsatisfiable, parse_range
from api.uploads import receive_upload
from vault import DocumentFilter, Provenance
from vault.errors import DocumentNotFound


def parse_document_id(raw: str) -> UUID:
    """Any malformed id is simply not found: no hint about what ids look like."""
    try:
        return UUID(raw)
    except ValueError:
        raise DocumentNotFound(raw[:64]) from None


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus the exact UTF-8 name in ``filename*``."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_headers(sha256: str, filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(filename),
        "ETag": f'"{sha256}"',
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        # security: a hostile PDF/SVG opened inline can run nothing and reach nothing
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "private, no-cache",
    }


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or any listed tag, compared weakly."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class DocumentController(Controller):
    path = "/api/v1/documents"
    tags = ["documents"]
    dependencies = {"owner": Provide(provide_owner)}

    @post("/", operation_id="UploadDocument", status_code=201, request_max_body_size=None)
    async def upload(
        self, request: Request[Any, Any, Any], vault: Vault, owner: Owner
    ) -> s.Document:
        """Upload a PDF, JPEG or PNG (multipart: ``file``, ``title``, optional ``doc_type``).

        Streamed: hashed and encrypted while it arrives, never held whole in memory.
        """
        assert owner.owner_id is not None
        owner_id = owner.owner_id

        async def stage(
            chunks: AsyncIterable[bytes], filename: str | None, _: dict[str, str]
        ) -> Any:
            return await vault.stage(owner_id, chunks, filename=filename)

        form = await receive_upload(
            request, fields=frozenset({"title", "doc_type"}), stage=stage, discard=vault.discard
        )
        assert form.staged is not None
        try:
            doc = await vault.commit(
                form.staged,
                title=form.fields.get("title", ""),
                doc_type=form.fields.get("doc_type"),
                actor=owner_actor(owner, request),
            )
        except BaseException:
            await vault.discard(form.staged)
            raise
        return s.Document.from_domain(doc)

    @get("/", operation_id="ListDocuments")
    async def list_documents(
        self,
        vault: Vault,
        owner: Owner,
        doc_type: FromQuery[str | None] = None,
        provenance: FromQuery[Provenance | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> s.DocumentList:
        assert owner.owner_id is not None
        page = await vault.list_documents(
            owner.owner_id,
            DocumentFilter(doc_type=doc_type, provenance=provenance, q=q),
            limit=limit,
            cursor=cursor,
        )
        return s.DocumentList(
            items=[s.Document.from_domain(d) for d in page.items], next_cursor=page.next_cursor
        )

    @get("/{document_id:str}", operation_id="GetDocument")
    async def get_document(
        self, vault: Vault, owner: Owner, document_id: FromPath[str]
    ) -> s.Document:
        assert owner.owner_id is not None
        doc = await vault.get_document(owner.owner_id, parse_document_id(document_id))
        return s.Document.from_domain(doc)

    @get("/{document_id:str}/content", operation_id="GetDocumentContent")
    async def get_content(
        self,
        request: Request[Any, Any, Any],
        vault: Vault,
        owner: Owner,
        document_id: FromPath[str],
    ) -> Response[Any]:
        """The original bytes, verified on the way out; supports a single Range."""
        assert owner.owner_id is not None
        doc_id = parse_document_id(document_id)
        doc = await vault.get_document(owner.owner_id, doc_id)
        headers = download_headers(doc.sha256, doc.filename)
        etag = headers["ETag"]
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(content=b"", status_code=304, headers=headers)
        range_header = request.headers.get("range")
        if_range = request.headers.get("if-range")
        if if_range is not None and if_range != etag:
            range_header = None
        try:
            byte_range = parse_range(range_header, doc.size)
        except Unsatisfiable:
            raise ApiProblem(
                416,
                "range-not-satisfiable",
                "Range not satisfiable",
                headers={"Content-Range": f"bytes */{doc.size}"},
            ) from None
        stream = await vault.open_content(
            owner.owner_id, doc_id, owner_actor(owner, request), byte_range=byte_range
        )
        headers["Content-Length"] = str(stream.length)
        status = 200
        if byte_range is not None:
            status = 206
            headers["Content-Range"] = f"bytes {stream.start}-{stream.end - 1}/{doc.size}"
        return Stream(
            stream.chunks, status_code=status, media_type=doc.content_type, headers=headers
        )

    @delete("/{document_id:str}", operation_id="DeleteDocument", status_code=204)
    async def delete_document(
        self,
        request: Request[Any, Any, Any],
        vault: Vault,
        owner: Owner,
        document_id: FromPath[str],
    ) -> None:
        assert owner.owner_id is not None
        await vault.delete_document(
            owner.owner_id, parse_document_id(document_id), owner_actor(owner, request)
        )
