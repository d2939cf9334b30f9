"""Verification reports: of my stored papers, and of any PDF anyone drops (no login)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery

from api import schemas as s
from api.auth import client_ip, owner_actor, provide_owner
from api.deps import (
    OptionalPrincipal,
    Owner,
    PublicVerifyLimit,
    SealedReportsDep,
    ShareMissLimit,
    SharesDep,
    StoredDocumentsDep,
    Vault,
    VerifierDep,
)
from api.documents import parse_document_id
from api.multipart import MultipartReader
from api.shares import _counting_misses as counting_misses
from api.shares import optional_principal
from sharing.models import viewer_for
from vault import Actor, ActorType
from vault.errors import DocumentNotFound, FileTooLarge, InvalidInput
from verification import VerificationReport
from verification.report_pdf import ReportDocument


def _pdf_response(body: bytes, name: str) -> Response[bytes]:
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


class VerificationController(Controller):
    path = "/api/v1"
    tags = ["verification"]

    @get(
        "/documents/{document_id:str}/verification",
        operation_id="GetDocumentVerification",
        dependencies={"owner": Provide(provide_owner)},
    )
    async def document_report(
        self,
        request: Request[Any, Any, Any],
        stored_documents: StoredDocumentsDep,
        owner: Owner,
        document_id: FromPath[str],
    ) -> VerificationReport:
        """The verification report of one of my papers: verdict (passed / failed /
        indeterminate), reasons in Vietnamese and English, and every signature's
        signer, agency, times, PAdES level, trust path, revocation and coverage."""
        assert owner.owner_id is not None
        return await stored_documents.verify(
            owner.owner_id, parse_document_id(document_id), owner_actor(owner, request)
        )

    @get(
        "/documents/{document_id:str}/verification.pdf",
        operation_id="GetDocumentVerificationPdf",
        dependencies={"owner": Provide(provide_owner)},
        media_type="application/pdf",
    )
    async def document_report_pdf(
        self,
        request: Request[Any, Any, Any],
        stored_documents: StoredDocumentsDep,
        sealed_reports: SealedReportsDep,
        owner: Owner,
        document_id: FromPath[str],
    ) -> Response[bytes]:
        """The same report as a PDF sealed with Kho's service seal, for filing: the
        verdict in Vietnamese and English, every reason and signature, the document's
        SHA-256, the registry version and the time of the check."""
        assert owner.owner_id is not None
        doc, report = await stored_documents.verify_document(
            owner.owner_id, parse_document_id(document_id), owner_actor(owner, request)
        )
        body = await sealed_reports.pdf(report, document=ReportDocument.of(doc))
        return _pdf_response(body, f"verification-{doc.id}.pdf")

    @post(
        "/verify.pdf",
        operation_id="VerifyPdfSealedReport",
        status_code=200,
        request_max_body_size=None,
        media_type="application/pdf",
    )
    async def verify_any_pdf(
        self,
        request: Request[Any, Any, Any],
        verifier: VerifierDep,
        vault: Vault,
        sealed_reports: SealedReportsDep,
        public_verify_limit: PublicVerifyLimit,
    ) -> Response[bytes]:
        """``POST /api/v1/verify``'s report as a sealed PDF (multipart ``file``; no
        login; the same per-client limit)."""
        public_verify_limit.check(client_ip(request))
        pdf = await _read_file(request, vault.limits.max_upload_bytes)
        report = await verifier.verify(pdf)
        body = await sealed_reports.pdf(report)
        return _pdf_response(body, f"verification-{report.sha256[:16]}.pdf")

    @post(
        "/verify",
        operation_id="VerifyPdf",
        status_code=200,
        request_max_body_size=None,
    )
    async def verify_any(
        self,
        request: Request[Any, Any, Any],
        verifier: VerifierDep,
        vault: Vault,
        public_verify_limit: PublicVerifyLimit,
    ) -> VerificationReport:
        """Verify any PDF, no login (multipart ``file``); rate-limited per client.  A
        broken or non-PDF file gets a report too (``pdf.unreadable``), not an error."""
        public_verify_limit.check(client_ip(request))
        pdf = await _read_file(request, vault.limits.max_upload_bytes)
        return await verifier.verify(pdf)

    @get("/verify/{code:str}", operation_id="VerifyCode")
    async def verify_code(
        self,
        request: Request[Any, Any, Any],
        vault: Vault,
        public_verify_limit: PublicVerifyLimit,
        code: FromPath[str],
    ) -> s.CodeAnswer:
        """What the verification code printed on a paper (and in its QR) says: status,
        issuer, type, issue date and SHA-256; no login, rate-limited, and the lookup is
        shown to the citizen in "who looked at my data"."""
        public_verify_limit.check(client_ip(request))
        found = await vault.lookup_code(
            code, Actor(type=ActorType.ANYONE, name="verification code", ip=client_ip(request))
        )
        return s.CodeAnswer.from_domain(found)


class SharedReportController(Controller):
    """The sealed report of a document seen through a share link."""

    path = "/api/v1/shared"
    tags = ["sharing", "verification"]
    dependencies = {"principal": Provide(optional_principal)}

    @get(
        "/{token:str}/documents/{document_id:str}/verification.pdf",
        operation_id="GetSharedVerificationPdf",
        media_type="application/pdf",
    )
    async def shared_report_pdf(
        self,
        request: Request[Any, Any, Any],
        shares: SharesDep,
        stored_documents: StoredDocumentsDep,
        sealed_reports: SealedReportsDep,
        share_miss_limit: ShareMissLimit,
        principal: OptionalPrincipal,
        token: FromPath[str],
        document_id: FromPath[str],
        grant: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """A shared document's verification report as a sealed PDF.  The link is
        checked (and the read recorded) exactly as for viewing it: within an opening's
        grant it spends no use, without one it is an opening; 404 for a document the
        link does not show."""
        ip = client_ip(request)
        doc_id = parse_document_id(document_id)
        view = await counting_misses(
            share_miss_limit,
            ip,
            lambda: shares.open(
                token,
                viewer_for(principal, ip),
                grant=request.headers.get("share-grant") or grant,
                password=request.headers.get("share-password"),
            ),
        )
        doc = next((d for d in view.documents if d.id == doc_id), None)
        if doc is None:
            raise DocumentNotFound(doc_id)
        [report] = await stored_documents.reports([doc])
        body = await sealed_reports.pdf(report, document=ReportDocument.of(doc))
        return _pdf_response(body, f"verification-{doc.id}.pdf")


async def _read_file(request: Request[Any, Any, Any], limit: int) -> bytes:
    reader = MultipartReader(request.stream(), request.headers.get("content-type", ""))
    data: bytes | None = None
    while (part := await reader.next_part()) is not None:
        if part.name != "file" or data is not None:
            raise InvalidInput(part.name[:64], "send exactly one part, named 'file'")
        chunks: list[bytes] = []
        size = 0
        async for chunk in part:
            size += len(chunk)
            if size > limit:
                raise FileTooLarge(limit)
            chunks.append(chunk)
        data = b"".join(chunks)
    if data is None:
        raise InvalidInput("file", "is required")
    return data
