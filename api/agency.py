"""Agencies' machine API: deposits of issued papers."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, post
from litestar.params import FromPath, JSONBody

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
from signing import PADES_LEVELS
from vault import IssuerStatus, Provenance
from vault.documents import StagedContent, check_fields
from vault.errors import InvalidInput
from verification.deposits import check_deposit
from verification.errors import IssuerNotAuthorized

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

        opened: list[UUID] = []
        sealed_here = False

        async def stage(
            chunks: AsyncIterable[bytes], filename: str | None, fields: dict[str, str]
        ) -> StagedContent:
            if "personal_id" not in fields:
                raise InvalidInput("personal_id", "must come before the file in the form")
            if "title" in fields:
                check_fields(fields["title"], fields.get("doc_type"))
            seal = bool_field(fields, "sign")
            level = fields.get("level") or None  # None: B-LT, or B-T if revocation is unreachable
            if level is not None and level not in PADES_LEVELS:
                raise InvalidInput("level", f"must be one of {', '.join(PADES_LEVELS)}")
            owner_id, created = await vault.open_vault(fields["personal_id"])
            if created:
                opened.append(owner_id)
            if seal:
                nonlocal sealed_here
                sealed_here = True
                doc_type = fields.get("doc_type")
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
                fields=frozenset(
                    {"personal_id", "doc_type", "title", "legal_hold", "sign", "level"}
                ),
                stage=stage,
                discard=vault.discard,
            )
            assert form.staged is not None
            try:
                doc_type = form.fields.get("doc_type")
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
                before = await vault.find_deposit(agency, key) if key else None
                doc = await vault.commit(
                    form.staged,
                    title=form.fields.get("title", ""),
                    doc_type=form.fields.get("doc_type"),
                    actor=agency_actor(principal, request),
                    provenance=Provenance.ISSUED,
                    agency=agency,
                    legal_hold=bool_field(form.fields, "legal_hold"),
                    idempotency_key=key,
                    action="document_deposited",
                )
            except BaseException:
                await vault.discard(form.staged)
                raise
        except BaseException:
            for owner_id in opened:  # a failed deposit leaves no empty vault behind
                await vault.close_unused_vault(owner_id)
            raise
        receipt = await receipts.issue(
            {
                "iss": "kho",
                "deposit_id": str(doc.id),
                "personal_id": form.fields["personal_id"],
                "doc_type": doc.doc_type,
                "sha256": doc.sha256,
                "agency": agency.code,
                "iat": int(doc.created_at.timestamp()),
            }
        )
        body = s.Deposit.for_citizen(doc, form.fields["personal_id"], receipt=receipt)
        replayed = before is not None and before.id == doc.id
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
