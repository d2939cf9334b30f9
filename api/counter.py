"""One-stop counters: certified electronic copies made from paper originals."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post

from api import schemas as s
from api.auth import agency_actor, agency_with_scope
from api.deps import Accounts, AnyPrincipal, Signing, Vault
from api.multipart import MultipartReader
from api.uploads import single_chunk
from vault import Provenance
from vault.documents import StagedContent, check_fields
from vault.errors import (
    EmptyFile,
    FileTooLarge,
    InvalidInput,
    UnsupportedMediaType,
)
from vault.sniff import JPEG, PDF, PNG, ContentInspector
from vault.validation import personal_id as check_personal_id

FIELDS = frozenset({"personal_id", "doc_type", "title", "official_id", "official_name"})
MAX_PAGES = 50
MAX_FIELD = 4096


class CounterController(Controller):
    path = "/api/v1/counter"
    tags = ["counter"]

    @post(
        "/certified-copies",
        operation_id="CreateCertifiedCopy",
        status_code=201,
        request_max_body_size=None,
    )
    async def certified_copy(
        self,
        request: Request[Any, Any, Any],
        vault: Vault,
        accounts: Accounts,
        signing: Signing,
        principal: AnyPrincipal,
    ) -> s.Deposit:
        """Digitise a paper original into a citizen's vault (agency scope ``certify``).

        Multipart: ``personal_id``, ``doc_type``, ``title``, ``official_id``,
        ``official_name`` and one or more ``file`` parts — page images (JPEG/PNG, in
        order, embedded losslessly) or a single scanned PDF.  The result is one PDF
        signed by the official's certificate (PAdES B-LT), stored as
        ``certified_copy``.
        """
        agency = await agency_with_scope(accounts, principal, "certify")
        fields, pages = await _read_form(request, vault.limits.max_upload_bytes)
        for name in ("personal_id", "doc_type", "title", "official_id", "official_name"):
            if not fields.get(name, "").strip():
                raise InvalidInput(name, "is required")
        title, doc_type = check_fields(fields["title"], fields["doc_type"])
        pid = check_personal_id(fields["personal_id"])
        signed = await signing.certify_copy(
            pages,
            agency_code=agency.code,
            agency_name=agency.name,
            official_id=fields["official_id"].strip(),
            official_name=fields["official_name"].strip(),
        )
        del pages
        owner_id, created = await vault.open_vault(pid)
        staged: StagedContent | None = None
        try:
            staged = await vault.stage(owner_id, single_chunk(signed), filename=f"{doc_type}.pdf")
            doc = await vault.commit(
                staged,
                title=title,
                doc_type=doc_type,
                actor=agency_actor(principal, request),
                provenance=Provenance.CERTIFIED_COPY,
                agency=agency,
                action="certified_copy_made",
            )
        except BaseException:
            if staged is not None:
                await vault.discard(staged)
            if created:
                await vault.close_unused_vault(owner_id)
            raise
        return s.Deposit.for_citizen(doc, pid)


async def _read_form(
    request: Request[Any, Any, Any], limit: int
) -> tuple[dict[str, str], list[bytes]]:
    """Text fields and page files, all in memory within ``limit`` bytes in total (a scan
    must be whole before it can be made into a PDF and signed)."""
    reader = MultipartReader(request.stream(), request.headers.get("content-type", ""))
    fields: dict[str, str] = {}
    pages: list[bytes] = []
    kinds: list[str] = []
    total = 0
    while (part := await reader.next_part()) is not None:
        if part.name in FIELDS:
            raw = await part.read(MAX_FIELD)
            try:
                fields[part.name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(part.name, "must be UTF-8 text") from None
            continue
        if part.name != "file":
            raise InvalidInput(part.name[:64], "is not a field of this form")
        if len(pages) >= MAX_PAGES:
            raise InvalidInput("file", f"at most {MAX_PAGES} pages")
        inspector = ContentInspector()
        chunks: list[bytes] = []
        async for chunk in part:
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(limit)
            inspector.feed(chunk)
            chunks.append(chunk)
        if not chunks:
            raise EmptyFile()
        kind = inspector.finish()
        if kind not in (JPEG, PNG, PDF):
            raise UnsupportedMediaType(kind)
        kinds.append(kind)
        pages.append(b"".join(chunks))
    if not pages:
        raise InvalidInput("file", "send at least one page image or a scanned PDF")
    if PDF in kinds and len(pages) > 1:
        raise InvalidInput("file", "send either page images or a single scanned PDF")
    return fields, pages
