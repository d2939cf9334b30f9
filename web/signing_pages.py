"""Sign a form with the remote signature: choose how the signature looks, then the
signing PIN and the one-time code; the signed copy is a new paper (``citizen_signed``)."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from signing.citizen import CitizenSignatures, NoSigningCredential, SigningSessionNotFound
from signing.csc.errors import CredentialLocked, CscError, InvalidOtp, InvalidPin
from signing.errors import PdfError
from vault import AccountService, Document, VaultService
from vault.errors import DocumentNotFound, UnsupportedMediaType
from web import session
from web.citizen import citizen_page, form_field, not_found, parse_uuid

FieldError = tuple[str, str, dict[str, Any]]
FIELD_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PIN = re.compile(r"^[0-9]{4,32}$")
CODE = re.compile(r"^[0-9]{6,8}$")
PDF = "application/pdf"


class SigningPages(Controller):
    path = "/"
    include_in_schema = False

    async def _pdf(self, vault: VaultService, owner_id: UUID, raw: str) -> Document | None:
        did = parse_uuid(raw)
        if did is None:
            return None
        try:
            doc = await vault.get_document(owner_id, did)
        except DocumentNotFound:
            return None
        return doc if doc.content_type == PDF else None

    def _form(
        self,
        request: Request[Any, Any, Any],
        doc: Document,
        *,
        values: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Template:
        return citizen_page(
            request,
            "sign_form.html",
            status=status,
            title_key="sign_title",
            doc=doc,
            values=values or {"visible": "yes"},
            errors=errors or [],
            error_for={e[0]: e for e in errors or []},
        )

    def _no_credential(self, request: Request[Any, Any, Any], doc: Document) -> Template:
        return citizen_page(
            request,
            "message.html",
            status=409,
            title_key="sign_no_credential_title",
            body_key="sign_no_credential_body",
            action_url=f"/documents/{doc.id}",
            action_key="sign_back_to_document",
        )

    @get("/documents/{document_id:str}/sign", name="sign-form")
    async def form(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        citizen_signing: NamedDependency[CitizenSignatures],
        document_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts)
        doc = await self._pdf(vault, who.owner_id, document_id)
        if doc is None:
            return not_found(request)
        if not await citizen_signing.credentials(who.owner_id):
            return self._no_credential(request, doc)
        return self._form(request, doc)

    @post("/documents/{document_id:str}/sign", status_code=303)
    async def start(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        citizen_signing: NamedDependency[CitizenSignatures],
        document_id: FromPath[str],
    ) -> Response[Any]:
        back = f"/documents/{document_id[:64]}/sign"
        who = await session.require(request, accounts, back=back)
        doc = await self._pdf(vault, who.owner_id, document_id)
        if doc is None:
            return not_found(request)
        form = await request.form()
        values = {
            "field_name": form_field(form, "field_name", 64),
            "reason": form_field(form, "reason", 200),
            "location": form_field(form, "location", 200),
            "visible": "no" if form.get("visible") == "no" else "yes",
        }
        errors: list[FieldError] = []
        if values["field_name"] and not FIELD_NAME.match(values["field_name"]):
            errors.append(("field_name", "sign_field_name_bad", {}))
        for name in ("reason", "location"):
            if len(values[name]) > 200:
                errors.append((name, "sign_too_long", {"max": 200}))
        if errors:
            return self._form(request, doc, values=values, errors=errors, status=422)
        try:
            started = await citizen_signing.start(
                who.owner_id,
                doc.id,
                session.owner_actor(who, request),
                field_name=values["field_name"] or None,
                reason=values["reason"] or None,
                location=values["location"] or None,
                visible=values["visible"] == "yes",
            )
        except NoSigningCredential:
            return self._no_credential(request, doc)
        except (DocumentNotFound, UnsupportedMediaType):
            return not_found(request)
        except PdfError as bad:
            key = {
                "PdfEncrypted": "sign_pdf_encrypted",
                "PdfLocked": "sign_pdf_locked",
                "FieldInUse": "sign_field_in_use",
            }.get(type(bad).__name__, "sign_pdf_unreadable")
            target = "field_name" if key == "sign_field_in_use" else "reason"
            return self._form(request, doc, values=values, errors=[(target, key, {})], status=422)
        return Redirect(f"/signing/{started.id}?doc={doc.id}", status_code=303)

    def _authorize_page(
        self,
        request: Request[Any, Any, Any],
        session_id: UUID,
        doc: Document | None,
        *,
        errors: list[FieldError] | None = None,
        status: int = 200,
    ) -> Template:
        return citizen_page(
            request,
            "sign_authorize.html",
            status=status,
            title_key="sign_authorize_title",
            session_id=session_id,
            doc=doc,
            errors=errors or [],
            error_for={e[0]: e for e in errors or []},
        )

    def _ended(self, request: Request[Any, Any, Any], key: str, status: int) -> Template:
        return citizen_page(
            request,
            "message.html",
            status=status,
            title_key=f"{key}_title",
            body_key=f"{key}_body",
            action_url="/",
            action_key="back_to_wallet",
        )

    @get("/signing/{session_id:str}", name="sign-authorize")
    async def authorize_form(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        session_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts)
        sid = parse_uuid(session_id)
        if sid is None:
            return not_found(request)
        doc = await self._pdf(vault, who.owner_id, request.query_params.get("doc") or "")
        return self._authorize_page(request, sid, doc)

    @post("/signing/{session_id:str}", status_code=303)
    async def authorize(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        vault: NamedDependency[VaultService],
        citizen_signing: NamedDependency[CitizenSignatures],
        session_id: FromPath[str],
    ) -> Response[Any]:
        who = await session.require(request, accounts, back="/")
        sid = parse_uuid(session_id)
        if sid is None:
            return not_found(request)
        form = await request.form()
        pin, code = form_field(form, "pin", 32), form_field(form, "code", 8).replace(" ", "")
        doc = await self._pdf(vault, who.owner_id, form_field(form, "doc", 64))
        errors: list[FieldError] = []
        if not PIN.match(pin):
            errors.append(("pin", "sign_pin_format", {}))
        if not CODE.match(code):
            errors.append(("code", "sign_code_format", {}))
        if errors:
            return self._authorize_page(request, sid, doc, errors=errors, status=422)
        try:
            signed = await citizen_signing.authorize(
                who.owner_id, sid, session.owner_actor(who, request), pin=pin, code=code
            )
        except InvalidPin as wrong:
            left = wrong.remaining_attempts
            errors = [
                ("pin", "sign_pin_wrong" if left is None else "sign_pin_wrong_left", {"left": left})
            ]
            return self._authorize_page(request, sid, doc, errors=errors, status=422)
        except InvalidOtp as wrong:
            left = wrong.remaining_attempts
            errors = [
                (
                    "code",
                    "sign_code_wrong" if left is None else "sign_code_wrong_left",
                    {"left": left},
                )
            ]
            return self._authorize_page(request, sid, doc, errors=errors, status=422)
        except CredentialLocked:
            return self._ended(request, "sign_locked", 423)
        except SigningSessionNotFound:
            return self._ended(request, "sign_session_gone", 404)
        except CscError:
            return self._ended(request, "sign_failed", 409)
        return Redirect(f"/documents/{signed.id}?signed=1", status_code=303)
