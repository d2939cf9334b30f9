"""Verification reports: of my stored papers, and of any PDF anyone drops (no login)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import FromPath

from api import schemas as s
from api.auth import client_ip, owner_actor, provide_owner
from api.deps import Owner, PublicVerifyLimit, StoredDocumentsDep, Vault, VerifierDep
from api.documents import parse_document_id
from api.multipart import MultipartReader
from vault import Actor, ActorType
from vault.errors import FileTooLarge, InvalidInput
from verification import VerificationReport


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
