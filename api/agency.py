"""Agencies' machine API: deposits of issued papers."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, post
from litestar.params import FromPath, JSONBody
from sqlalchemy.orm import Session

from api import schemas as s
from api.auth import agency_actor, agency_with_scope
from api.deps import (
    Accounts,
    AnyPrincipal,
    Receipts,
    RegistrySourceDep,
    Signing,
    Vault,
    VerifierFactory,
)
from api.documents import parse_document_id
from api.errors import ApiProblem
from api.uploads import bool_field, read_pdf, receive_upload, single_chunk
from sharing.filing_errors import ResultUnsigned
from signing import PADES_LEVELS, SigningService
from vault import Actor, Agency, Document, IssuerStatus, Provenance, VaultService
from vault.documents import StagedContent, check_fields
from vault.errors import InvalidInput
from verification.deposits import check_deposit
from verification.errors import IssuerNotAuthorized
from verification.pipeline import Verifier
from verification.registry_db import DatabaseRegistrySource

MAX_IDEMPOTENCY_KEY = 200


class AgencyController(Controller):
    path = "/api/v1/agency"
    tags = ["agency"]

    @post("/deposits", operation_id="CreateDeposit", status_code=201, request_max_body_size=None)
    async def deposit(
        self,
        request: Request[Any, Any, Any],
        vault: Vault,
        accounts: Accounts,
        principal: AnyPrincipal,
        signing: Signing,
        registry_source: RegistrySourceDep,
        verifier_factory: VerifierFactory,
        receipts: Receipts,
    ) -> Response[s.Deposit]:
        """Deposit an issued paper into a citizen's vault (scope ``deposit``).

        Multipart: ``personal_id`` (before ``file``), ``doc_type``, ``title``, ``file``,
        optional ``legal_hold``.  ``sign=true`` (before ``file``) seals an unsigned PDF
        with the agency's seal at PAdES ``level`` (default B-LT; B-B, B-T, B-LTA too);
        without it the file is stored exactly as sent, its own signatures untouched.  ``Idempotency-Key`` makes a retry return the first
        result (``Idempotent-Replayed: true``) instead of a duplicate.
        """
        agency = await agency_with_scope(accounts, principal, "deposit")
        key = request.headers.get("idempotency-key")
        if key is not None and not (0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()):
            raise ApiProblem(
                400, "bad-idempotency-key", "Idempotency-Key must be 1-200 printable characters"
            )

        async def owner(fields: dict[str, str]) -> tuple[UUID, bool]:
            return await vault.open_vault(fields["personal_id"])

        paper = await receive_issued_paper(
            request,
            vault=vault,
            agency=agency,
            actor=agency_actor(principal, request),
            signing=signing,
            registry_source=registry_source,
            verifier_factory=verifier_factory,
            owner=owner,
            fields_first=("personal_id",),
            extra_fields=frozenset({"personal_id", "legal_hold"}),
            idempotency_key=key,
        )
        doc, form_fields = paper.document, paper.fields
        receipt = await receipts.issue(
            {
                "iss": "kho",
                "deposit_id": str(doc.id),
                "personal_id": form_fields["personal_id"],
                "doc_type": doc.doc_type,
                "sha256": doc.sha256,
                "agency": agency.code,
                "iat": int(doc.created_at.timestamp()),
            }
        )
        body = s.Deposit.for_citizen(doc, form_fields["personal_id"], receipt=receipt)
        replayed = paper.replayed
        return Response(
            body, status_code=201, headers={"Idempotent-Replayed": "true"} if replayed else None
        )


class IssuerStatusController(Controller):
    path = "/api/v1/agency/documents"
    tags = ["agency"]

    @post("/{document_id:str}/revoke", operation_id="RevokeDocument", status_code=200)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        vault: Vault,
        accounts: Accounts,
        principal: AnyPrincipal,
        document_id: FromPath[str],
        data: JSONBody[s.RevokeRequest],
    ) -> s.Document:
        """Revoke a paper this agency issued (scope ``revoke``); every verification then
        shows it revoked with the reason, and the citizen sees it on the document."""
        agency = await agency_with_scope(accounts, principal, "revoke")
        doc = await vault.change_issuer_status(
            agency,
            parse_document_id(document_id),
            agency_actor(principal, request),
            status=IssuerStatus.REVOKED,
            reason=data.reason,
        )
        return s.Document.from_domain(doc)

    @post("/{document_id:str}/supersede", operation_id="SupersedeDocument", status_code=200)
    async def supersede(
        self,
        request: Request[Any, Any, Any],
        vault: Vault,
        accounts: Accounts,
        principal: AnyPrincipal,
        document_id: FromPath[str],
        data: JSONBody[s.SupersedeRequest],
    ) -> s.Document:
        """Mark a paper superseded by a newer one this agency issued to the same citizen."""
        agency = await agency_with_scope(accounts, principal, "revoke")
        doc = await vault.change_issuer_status(
            agency,
            parse_document_id(document_id),
            agency_actor(principal, request),
            status=IssuerStatus.SUPERSEDED,
            reason=data.reason,
            superseded_by=data.superseded_by,
        )
        return s.Document.from_domain(doc)


class IssuedPaper(msgspec.Struct, frozen=True, kw_only=True):
    document: Document
    fields: dict[str, str]
    replayed: bool  # an Idempotency-Key retry answered with the first result


async def receive_issued_paper(
    request: Request[Any, Any, Any],
    *,
    vault: VaultService,
    agency: Agency,
    actor: Actor,
    signing: SigningService,
    registry_source: DatabaseRegistrySource,
    verifier_factory: Callable[[], Awaitable[Verifier]],
    owner: Callable[[dict[str, str]], Awaitable[tuple[UUID, bool]]],
    fields_first: tuple[str, ...] = (),
    extra_fields: frozenset[str] = frozenset(),
    default_doc_type: str | None = None,
    idempotency_key: str | None = None,
    require_signed: bool = False,
    link: Callable[[dict[str, str]], Callable[[Session, Document], None]] | None = None,
    action: str = "document_deposited",
) -> IssuedPaper:
    """An agency's paper, streamed from a multipart form into a citizen's vault as
    ``issued`` (deposits and filing results share this path).

    Fields: ``doc_type`` (else ``default_doc_type``), ``title``, ``file``, and
    ``extra_fields``; the ones in ``fields_first`` must come before the file.
    ``owner(fields)`` names the vault (and whether it was opened for this paper: then
    a failure closes it again).  ``sign=true`` (before the file) seals an unsigned PDF
    with the agency's seal at PAdES ``level``; a PDF that carries signatures is accepted
    only if it verifies as this agency's, authorized for the type.  ``require_signed``
    refuses a paper that is neither (``ResultUnsigned``).  ``link(fields)`` gives a step
    run in the transaction that stores the paper (``VaultService.commit(also=...)``).
    """
    opened: list[UUID] = []
    sealed_here = False

    async def stage(
        chunks: AsyncIterable[bytes], filename: str | None, fields: dict[str, str]
    ) -> StagedContent:
        for name in fields_first:
            if name not in fields:
                raise InvalidInput(name, "must come before the file in the form")
        if "title" in fields:
            check_fields(fields["title"], fields.get("doc_type"))
        seal = bool_field(fields, "sign")
        level = fields.get("level") or None  # None: B-LT, or B-T if revocation is unreachable
        if level is not None and level not in PADES_LEVELS:
            raise InvalidInput("level", f"must be one of {', '.join(PADES_LEVELS)}")
        owner_id, created = await owner(fields)
        if created:
            opened.append(owner_id)
        if seal:
            nonlocal sealed_here
            sealed_here = True
            doc_type = fields.get("doc_type") or default_doc_type
            if not doc_type:
                raise InvalidInput("doc_type", "must come before the file when sign=true")
            registry = await registry_source.current()
            if not registry.authorizes(agency.code, doc_type):
                raise IssuerNotAuthorized(agency.code, doc_type)
            # Note: pyHanko signs a whole file, so a PDF to seal is read into memory,
            # bounded by the upload limit; the sealed copy then streams into the vault.
            pdf = await read_pdf(chunks, vault.limits.max_upload_bytes)
            sealed = await signing.seal_for_agency(
                pdf, agency_code=agency.code, agency_name=agency.name, level=level
            )
            del pdf
            return await vault.stage(owner_id, single_chunk(sealed), filename=filename)
        return await vault.stage(owner_id, chunks, filename=filename)

    try:
        form = await receive_upload(
            request,
            fields=frozenset({"doc_type", "title", "sign", "level"}) | extra_fields,
            stage=stage,
            discard=vault.discard,
        )
        assert form.staged is not None
        try:
            doc_type = form.fields.get("doc_type") or default_doc_type
            if not doc_type:
                raise InvalidInput("doc_type", "is required for a deposit")
            if form.staged.looks_signed and not sealed_here:
                # A paper the agency signed itself is accepted only if it verifies as
                # this agency's, authorized for the type (issue: checked deposits).
                await check_deposit(
                    await verifier_factory(),
                    await vault.read_staged(form.staged),
                    agency_code=agency.code,
                    doc_type=doc_type,
                )
            elif require_signed and not sealed_here:
                raise ResultUnsigned()
            before = await vault.find_deposit(agency, idempotency_key) if idempotency_key else None
            doc = await vault.commit(
                form.staged,
                title=form.fields.get("title", ""),
                doc_type=doc_type,
                actor=actor,
                provenance=Provenance.ISSUED,
                agency=agency,
                legal_hold=bool_field(form.fields, "legal_hold"),
                idempotency_key=idempotency_key,
                action=action,
                also=link(form.fields) if link is not None else None,
            )
        except BaseException:
            await vault.discard(form.staged)
            raise
    except BaseException:
        for owner_id in opened:  # a failed deposit leaves no empty vault behind
            await vault.close_unused_vault(owner_id)
        raise
    return IssuedPaper(
        document=doc,
        fields=form.fields,
        replayed=before is not None and before.id == doc.id,
    )
