"""Citizens' remote signatures: enrolment, signing sessions (start, then authorize)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody

from api import schemas as s
from api.auth import owner_actor, provide_owner
from api.deps import Accounts, CitizenSigning, Owner
from api.documents import parse_document_id
from signing.citizen import SigningSessionNotFound

Pin = Annotated[str, msgspec.Meta(min_length=4, max_length=32, pattern=r"^[0-9]+$")]


class EnrollRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pin: Pin


class Enrolled(msgspec.Struct, kw_only=True):
    credential_id: str
    otp_secret: str
    otp_uri: str
    note: str = (
        "Add the one-time code secret to an authenticator app now (scan otp_uri as a QR "
        "code); it is shown this once."
    )


class SignRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    field_name: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")] | None = (
        None
    )
    reason: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    location: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    visible: bool = False
    level: Literal["B-B", "B-T", "B-LT"] = "B-T"


class SigningSession(msgspec.Struct, kw_only=True):
    id: UUID
    document_id: UUID
    credential_id: str
    level: str
    hashes: list[str]  # base64: what the PIN and one-time code will authorize
    hash_algorithm_oid: str
    expires_at: datetime
    authorize_url: str


class AuthorizeRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pin: Pin
    code: Annotated[str, msgspec.Meta(min_length=6, max_length=8, pattern=r"^[0-9]+$")]


def _session_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise SigningSessionNotFound(raw[:64]) from None


class SignatureController(Controller):
    path = "/api/v1"
    tags = ["signatures"]
    dependencies = {"owner": Provide(provide_owner)}

    @post("/me/signing-credential", operation_id="EnrollSigningCredential", status_code=201)
    async def enroll(
        self,
        accounts: Accounts,
        citizen_signing: CitizenSigning,
        owner: Owner,
        data: JSONBody[EnrollRequest],
    ) -> Enrolled:
        """Get a remote-signing certificate and set the signing PIN (4-32 digits)."""
        assert owner.owner_id is not None
        me = await accounts.get_owner(owner.owner_id)
        done = await citizen_signing.enroll(me.id, me.personal_id, me.name, data.pin)
        return Enrolled(
            credential_id=done.credential_id, otp_secret=done.otp_secret, otp_uri=done.otp_uri
        )

    @post("/documents/{document_id:str}/signatures", operation_id="StartSigning", status_code=201)
    async def start(
        self,
        request: Request[Any, Any, Any],
        citizen_signing: CitizenSigning,
        owner: Owner,
        document_id: FromPath[str],
        data: JSONBody[SignRequest],
    ) -> SigningSession:
        """Prepare one of my PDFs for my remote signature; nothing waits for the PIN."""
        assert owner.owner_id is not None
        started = await citizen_signing.start(
            owner.owner_id,
            parse_document_id(document_id),
            owner_actor(owner, request),
            level=data.level,
            field_name=data.field_name,
            reason=data.reason,
            location=data.location,
            visible=data.visible,
        )
        return SigningSession(
            id=started.id,
            document_id=started.document_id,
            credential_id=started.credential_id,
            level=started.level,
            hashes=[base64.b64encode(h).decode() for h in started.hashes],
            hash_algorithm_oid=started.hash_algorithm_oid,
            expires_at=started.expires_at,
            authorize_url=f"/api/v1/signing-sessions/{started.id}/authorize",
        )

    @post(
        "/signing-sessions/{session_id:str}/authorize",
        operation_id="AuthorizeSigning",
        status_code=201,
    )
    async def authorize(
        self,
        request: Request[Any, Any, Any],
        citizen_signing: CitizenSigning,
        owner: Owner,
        session_id: FromPath[str],
        data: JSONBody[AuthorizeRequest],
    ) -> s.Document:
        """Sign with the PIN and the one-time code: the result is a new document,
        provenance ``citizen_signed``, whose ``source_document_id`` is the original."""
        assert owner.owner_id is not None
        doc = await citizen_signing.authorize(
            owner.owner_id,
            _session_id(session_id),
            owner_actor(owner, request),
            pin=data.pin,
            code=data.code,
        )
        return s.Document.from_domain(doc)
