"""Citizens' remote signatures of their own PDFs: signing sessions over the CSC flow.

``start`` prepares the PDF and stores a signing session (the prepared file encrypted,
the pyHanko state); nothing waits while the citizen types the PIN and one-time code.
``authorize`` finishes through the CSC provider and stores the signed result as a new
``citizen_signed`` document that references the original.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, String, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from signing.csc import (
    CitizenLevel,
    CitizenSigning,
    CredentialLocked,
    CscClient,
    CscEndpoints,
    CscService,
    Enrollment,
    InProcessTransport,
)
from signing.csc.remote import RemoteProvider
from signing.errors import SigningError
from signing.pades import VisibleStamp
from signing.pki import DemoPki
from vault import Actor, Document, Provenance, VaultService
from vault.crypto import new_key
from vault.db import Base, Database, OwnerRow, UTCDateTime, utcnow
from vault.errors import DocumentNotFound, UnsupportedMediaType
from vault.ids import uuid7
from vault.keys import KeyRing

SESSION_TTL = timedelta(minutes=10)


class SigningSessionRow(Base):
    __tablename__ = "signing_sessions"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(index=True)
    document_id: Mapped[UUID]
    credential_id: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(8))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(40))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    prepared: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM: nonce || ciphertext
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SigningSessionNotFound(SigningError):
    def __init__(self, session_id: UUID | str) -> None:
        super().__init__(f"signing session {session_id} not found or expired")
        self.session_id = session_id


class NoSigningCredential(SigningError):
    def __init__(self) -> None:
        super().__init__("no remote signing credential: enrol one first")


class NoRemoteCredential(NoSigningCredential):
    """The remote provider lists no credential for the citizen's personal ID."""

    def __init__(self, provider_url: str) -> None:
        SigningError.__init__(
            self,
            f"the remote signing provider {provider_url} has no signing credential for this "
            "citizen's personal ID; the citizen enrols with that provider first",
        )
        self.provider_url = provider_url


class EnrollmentElsewhere(SigningError):
    def __init__(self, provider_url: str) -> None:
        super().__init__(
            f"signing credentials are issued by the remote provider {provider_url}, not by Kho"
        )
        self.provider_url = provider_url


class SessionStarted(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    document_id: UUID
    credential_id: str
    hashes: tuple[bytes, ...]
    hash_algorithm_oid: str
    level: str
    expires_at: datetime


def _context(session_id: UUID) -> bytes:
    return b"kho/signing-session/" + session_id.bytes


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class CitizenSignatures:
    """Enrolment and the two-step signing of a citizen's PDF through CSC v2."""

    def __init__(
        self,
        db: Database,
        vault: VaultService,
        keyring: KeyRing,
        pki: Callable[[], DemoPki],
        csc: CscService,
        endpoints: CscEndpoints,
        signing: Callable[[], CitizenSigning],
        *,
        base_url: str,
        clock: Callable[[], datetime] = utcnow,
        remote: RemoteProvider | None = None,
    ) -> None:
        """``remote`` (``KHO_CSC_URL``) replaces the embedded provider for listing
        credentials and signing; enrolment then happens at that provider."""
        self._db = db
        self._vault = vault
        self._keyring = keyring
        self._pki = pki
        self._csc = csc
        self._endpoints = endpoints
        self._signing = signing
        self._base_url = base_url
        self._clock = clock
        self._remote = remote

    async def _client(self, owner_id: UUID) -> CscClient:
        """The CSC client for the owner: the embedded provider (as the owner), or the
        remote one naming the citizen by personal ID (see ``signing.csc.remote``)."""
        if self._remote is not None:
            return self._remote.client(await personal_id_of(self._db, owner_id))
        return CscClient(InProcessTransport(self._endpoints, str(owner_id)))

    async def enroll(self, owner_id: UUID, personal_id: str, name: str, pin: str) -> Enrollment:
        """Issue the citizen's signing certificate and a CSC credential with ``pin``;
        the TOTP secret in the result is shown once.  Raises ``EnrollmentElsewhere``
        when a remote provider is configured (it issues its own credentials)."""
        if self._remote is not None:
            raise EnrollmentElsewhere(self._remote.base_url)
        import anyio.to_thread

        credential = await anyio.to_thread.run_sync(self._pki().citizen, personal_id, name)
        return await self._csc.enroll(str(owner_id), credential, pin)

    async def credentials(self, owner_id: UUID) -> list[str]:
        return await self._credentials(owner_id, await self._client(owner_id))

    async def _credentials(self, owner_id: UUID, client: CscClient) -> list[str]:
        if self._remote is not None:
            return await client.credentials_list()
        return await self._csc.credentials_list(str(owner_id))

    async def start(
        self,
        owner_id: UUID,
        document_id: UUID,
        actor: Actor,
        *,
        level: CitizenLevel = "B-T",
        field_name: str | None = None,
        reason: str | None = None,
        location: str | None = None,
        visible: bool = False,
    ) -> SessionStarted:
        """Prepare one of the owner's PDFs for signing; raises ``DocumentNotFound``,
        ``UnsupportedMediaType`` (not a PDF), ``NoSigningCredential`` and the PDF errors."""
        doc = await self._vault.get_document(owner_id, document_id)
        if doc.content_type != "application/pdf":
            raise UnsupportedMediaType(doc.content_type)
        client = await self._client(owner_id)
        ids = await self._credentials(owner_id, client)
        if not ids:
            if self._remote is not None:
                raise NoRemoteCredential(self._remote.base_url)
            raise NoSigningCredential()
        stream = await self._vault.open_content(owner_id, document_id, actor)
        pdf = b"".join([c async for c in stream.chunks])
        stamp = (
            VisibleStamp(verification_url=f"{self._base_url}/v/{document_id}") if visible else None
        )
        started = await self._signing().start(
            client,
            ids[0],
            pdf,
            level=level,
            field_name=field_name,
            reason=reason,
            location=location,
            stamp=stamp,
        )
        del pdf
        session_id = uuid7()
        key = new_key()
        kek_id, wrapped = self._keyring.wrap(key, _context(session_id))
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(key).encrypt(nonce, started.prepared_pdf, _context(session_id))
        now = self._clock()
        row = SigningSessionRow(
            id=session_id,
            owner_id=owner_id,
            document_id=document_id,
            credential_id=started.credential_id,
            level=level,
            state=started.state,
            kek_id=kek_id,
            wrapped_key=wrapped,
            prepared=sealed,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )

        def store(session: Session) -> None:
            session.execute(delete(SigningSessionRow).where(SigningSessionRow.expires_at < now))
            session.add(row)

        await self._db.run_write(store)
        return SessionStarted(
            id=session_id,
            document_id=document_id,
            credential_id=started.credential_id,
            hashes=started.hashes,
            hash_algorithm_oid=started.hash_algorithm_oid,
            level=level,
            expires_at=row.expires_at,
        )

    async def authorize(
        self, owner_id: UUID, session_id: UUID, actor: Actor, *, pin: str, code: str
    ) -> Document:
        """Finish a session with the signing PIN and one-time code; returns the new
        ``citizen_signed`` document.  A wrong PIN or code keeps the session for a retry
        (``InvalidPin``/``InvalidOtp`` carry the attempts left); a locked credential or an
        expired session ends it."""
        now = self._clock()

        def load(session: Session) -> SigningSessionRow | None:
            return session.scalar(
                select(SigningSessionRow).where(
                    SigningSessionRow.id == session_id, SigningSessionRow.owner_id == owner_id
                )
            )

        row = await self._db.run_read(load)
        if row is None or row.expires_at <= now:
            raise SigningSessionNotFound(session_id)
        key = self._keyring.unwrap(row.kek_id, row.wrapped_key, _context(row.id))
        try:
            prepared = AESGCM(key).decrypt(row.prepared[:12], row.prepared[12:], _context(row.id))
        except InvalidTag:
            raise SigningSessionNotFound(session_id) from None
        try:
            signed = await self._signing().finish(
                await self._client(owner_id), row.state, prepared, pin=pin, otp=code
            )
        except CredentialLocked:
            await self._forget(session_id)
            raise
        del prepared
        original = await self._vault.get_document(owner_id, row.document_id)
        # Note: the SAD is spent, so the session is of no further use; forgetting it
        # runs beside storing the result (on SQLite both writes share one group commit).
        # Should storing fail, the citizen starts a new signing; nothing is stored.
        forget = asyncio.ensure_future(self._forget(session_id))
        try:
            staged = await self._vault.stage(owner_id, _once(signed), filename=original.filename)
            try:
                doc = await self._vault.commit(
                    staged,
                    title=original.title,
                    doc_type=original.doc_type,
                    actor=actor,
                    provenance=Provenance.CITIZEN_SIGNED,
                    source_document_id=original.id,
                    action="document_signed",
                )
            except BaseException:
                await self._vault.discard(staged)
                raise
        finally:
            # Note: a session left behind (the database failed) expires by itself.
            with contextlib.suppress(SQLAlchemyError):
                await forget
        return doc

    async def _forget(self, session_id: UUID) -> None:
        await self._db.run_write(
            lambda s: s.execute(delete(SigningSessionRow).where(SigningSessionRow.id == session_id))
        )


async def personal_id_of(db: Database, owner_id: UUID) -> str:
    """The active owner's personal ID; raises ``NoSigningCredential`` for an owner who
    is gone (a deleted account cannot sign)."""

    def read(session: Session) -> str | None:
        return session.scalar(
            select(OwnerRow.personal_id).where(OwnerRow.id == owner_id, OwnerRow.status == "active")
        )

    personal_id = await db.run_read(read)
    if personal_id is None:
        raise NoSigningCredential()
    return personal_id


async def owner_for_personal_id(db: Database, personal_id: str) -> UUID | None:
    """The active owner with ``personal_id`` (what a relying party's CSC ``userID``
    names at Kho's embedded provider), or ``None``."""
    if not (len(personal_id) == 12 and personal_id.isascii() and personal_id.isdigit()):
        return None

    def read(session: Session) -> UUID | None:
        return session.scalar(
            select(OwnerRow.id).where(
                OwnerRow.personal_id == personal_id, OwnerRow.status == "active"
            )
        )

    return await db.run_read(read)


__all__ = [
    "CitizenSignatures",
    "DocumentNotFound",
    "EnrollmentElsewhere",
    "NoRemoteCredential",
    "NoSigningCredential",
    "SessionStarted",
    "SigningSessionNotFound",
    "SigningSessionRow",
]
