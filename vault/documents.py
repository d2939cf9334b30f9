"""The vault service: storing, listing, reading, deleting and exporting documents."""

from __future__ import annotations

import base64
import hashlib
import secrets
import zipfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import IO, Any, Protocol, cast
from uuid import UUID

import msgspec
import structlog
from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.orm import Session

from vault import audit, outbox, validation
from vault.accounts import new_owner_row, owner_key_context
from vault.blobs.api import BlobStore
from vault.crypto import (
    DecryptionError,
    SegmentDecryptor,
    SegmentEncryptor,
    new_key,
    segment_span,
    unwrap_key,
    wrap_key,
)
from vault.db import (
    AgencyRow,
    AuditRow,
    Base,
    Database,
    DocumentRow,
    OwnerRow,
    TokenRow,
    utcnow,
)
from vault.errors import (
    AuthenticationFailed,
    DocumentNotFound,
    EmptyFile,
    FileTooLarge,
    IdempotencyConflict,
    IntegrityError,
    InvalidInput,
    KeyUnavailable,
    LegalHold,
    OwnerNotFound,
    QuotaExceeded,
    StatusConflict,
)
from vault.ids import uuid7
from vault.keys import KeyRing
from vault.models import (
    AccountDeletion,
    Actor,
    ActorType,
    Agency,
    AuditEvent,
    CodeLookup,
    Document,
    DocumentFilter,
    DocumentPage,
    IssuerStatus,
    OwnerStatus,
    Provenance,
    VaultLimits,
)
from vault.outbox import EventKind
from vault.passwords import verify_password
from vault.sniff import EXTENSIONS, ContentInspector

log = structlog.get_logger("kho.vault")

DOC_KEY_PREFIX = b"kho-doc-key:"


def doc_key_context(document_id: UUID) -> bytes:
    return DOC_KEY_PREFIX + document_id.bytes


def blob_key_for(owner_id: UUID, document_id: UUID) -> str:
    return f"docs/{owner_id}/{document_id}"


class ContentStream(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes of a document about to be served: ``[start, end)`` of ``document``."""

    document: Document
    start: int
    end: int
    chunks: AsyncIterator[bytes]

    @property
    def length(self) -> int:
        return self.end - self.start


def _document_from(row: Any, agency_code: str | None, agency_name: str | None) -> Document:
    """A ``Document`` from a document row, ORM or Core (the same column names)."""
    return Document(
        id=row.id,
        owner_id=row.owner_id,
        title=row.title,
        doc_type=row.doc_type,
        provenance=Provenance(row.provenance),
        content_type=row.content_type,
        filename=row.filename,
        size=row.size,
        sha256=row.sha256,
        issuer_agency_id=row.issuer_agency_id,
        issuer_agency_code=agency_code,
        issuer_agency_name=agency_name,
        issuer_status=IssuerStatus(row.issuer_status) if row.issuer_status else None,
        legal_hold=row.legal_hold,
        created_at=row.created_at,
        source_document_id=row.source_document_id,
        status_reason=row.status_reason,
        superseded_by_id=row.superseded_by_id,
        status_changed_at=row.status_changed_at,
        verification_code=row.verification_code,
    )


def _to_document(row: DocumentRow, agency: AgencyRow | None) -> Document:
    return _document_from(row, agency.code if agency else None, agency.name if agency else None)


def _with_agency(q: Select[DocumentRow]) -> Select[DocumentRow, AgencyRow]:
    """Add the issuing agency (``None`` for citizens' own papers) to a document query."""
    return q.add_columns(AgencyRow).outerjoin(
        AgencyRow, AgencyRow.id == DocumentRow.issuer_agency_id
    )


# Documents with their issuer's code and name, as plain Core rows (the read hot path).
_DOCUMENT_VIEW = select(
    *DocumentRow.__table__.c,
    AgencyRow.code.label("agency_code"),
    AgencyRow.name.label("agency_name"),
).outerjoin(AgencyRow, AgencyRow.id == DocumentRow.issuer_agency_id)


def _view_to_document(row: Row[*tuple[Any, ...]]) -> Document:
    return _document_from(row, row.agency_code, row.agency_name)


# The wallet's read path: exactly a Document's columns, in ``_listed_document``'s order.
# Note: unpacking a row by position costs a fraction of reading ~20 columns by name
# (about 0.5 µs each), and leaving out the key material and search columns spares
# their transfer and processing; a 50-paper page spent most of its query time there.
_LISTED = select(
    DocumentRow.id,
    DocumentRow.owner_id,
    DocumentRow.title,
    DocumentRow.doc_type,
    DocumentRow.provenance,
    DocumentRow.content_type,
    DocumentRow.filename,
    DocumentRow.size,
    DocumentRow.sha256,
    DocumentRow.issuer_agency_id,
    AgencyRow.code,
    AgencyRow.name,
    DocumentRow.issuer_status,
    DocumentRow.legal_hold,
    DocumentRow.created_at,
    DocumentRow.source_document_id,
    DocumentRow.status_reason,
    DocumentRow.superseded_by_id,
    DocumentRow.status_changed_at,
    DocumentRow.verification_code,
).outerjoin(AgencyRow, AgencyRow.id == DocumentRow.issuer_agency_id)
_FIRST_PAGE = (
    _LISTED.where(DocumentRow.owner_id == bindparam("owner_id"))
    .order_by(DocumentRow.id.desc())
    .limit(bindparam("limit"))
)
_PROVENANCES = {str(p): p for p in Provenance}
_ISSUER_STATUSES = {str(s): s for s in IssuerStatus}


def _listed_document(row: Row[*tuple[Any, ...]]) -> Document:
    (
        doc_id,
        owner_id,
        title,
        doc_type,
        provenance,
        content_type,
        filename,
        size,
        sha256,
        agency_id,
        agency_code,
        agency_name,
        issuer_status,
        legal_hold,
        created_at,
        source_document_id,
        status_reason,
        superseded_by_id,
        status_changed_at,
        verification_code,
    ) = row
    return Document(
        id=doc_id,
        owner_id=owner_id,
        title=title,
        doc_type=doc_type,
        provenance=_PROVENANCES[provenance],
        content_type=content_type,
        filename=filename,
        size=size,
        sha256=sha256,
        issuer_agency_id=agency_id,
        issuer_agency_code=agency_code,
        issuer_agency_name=agency_name,
        issuer_status=_ISSUER_STATUSES[issuer_status] if issuer_status else None,
        legal_hold=legal_hold,
        created_at=created_at,
        source_document_id=source_document_id,
        status_reason=status_reason,
        superseded_by_id=superseded_by_id,
        status_changed_at=status_changed_at,
        verification_code=verification_code,
    )


# Public for the packages above the vault that select documents in their own
# transactions (a share's scope, a filing's papers): every document column plus the
# issuing agency's code and name; ``view_to_document`` turns a row into a ``Document``.
DOCUMENT_VIEW = _DOCUMENT_VIEW
view_to_document = _view_to_document


_documents = Base.metadata.tables["documents"]
_owners = Base.metadata.tables["owners"]
_LOCK_OWNER = (
    select(
        _owners.c.status,
        _owners.c.used_bytes,
        _owners.c.audit_seq,
        _owners.c.audit_head,
        _owners.c.kek_id,
        _owners.c.wrapped_key,
    )
    .where(_owners.c.id == bindparam("owner_id"))
    .with_for_update()
)
_INSERT_DOCUMENT = _documents.insert()
_OWNER_ADVANCE = (
    _owners.update()
    .where(_owners.c.id == bindparam("owner_id"))
    .values(
        used_bytes=_owners.c.used_bytes + bindparam("size"),
        audit_seq=bindparam("seq"),
        audit_head=bindparam("head"),
    )
)


def _document_page(found: list[Document], limit: int) -> DocumentPage:
    """``found``: up to ``limit + 1`` documents, newest first (one more means a next page)."""
    items = found[:limit]
    next_cursor = _encode_cursor(items[-1].id) if len(found) > limit else None
    return DocumentPage(items=items, next_cursor=next_cursor)


def _encode_cursor(doc_id: UUID) -> str:
    return base64.urlsafe_b64encode(doc_id.bytes).decode().rstrip("=")


def _decode_cursor(cursor: str) -> UUID:
    from vault.errors import InvalidInput

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return UUID(bytes=raw)
    except (ValueError, TypeError):
        raise InvalidInput("cursor", "is not a cursor this server gave out") from None


def _lock_owner(session: Session, owner_id: UUID) -> OwnerRow:
    row = session.scalar(select(OwnerRow).where(OwnerRow.id == owner_id).with_for_update())
    if row is None or row.status == OwnerStatus.DELETED:
        raise OwnerNotFound(str(owner_id))
    return row


def _owned_by_issuer(
    session: Session, agency_id: UUID, document_id: UUID
) -> tuple[DocumentRow, AgencyRow | None]:
    found = session.execute(
        _with_agency(
            select(DocumentRow).where(
                DocumentRow.id == document_id, DocumentRow.issuer_agency_id == agency_id
            )
        ).with_for_update(of=DocumentRow)
    ).first()
    if found is None:
        raise DocumentNotFound(document_id)
    return found[0], found[1]


def _owned(
    session: Session, owner_id: UUID, document_id: UUID
) -> tuple[DocumentRow, AgencyRow | None]:
    found = session.execute(
        _with_agency(
            select(DocumentRow).where(
                DocumentRow.id == document_id, DocumentRow.owner_id == owner_id
            )
        )
    ).first()
    if found is None:
        raise DocumentNotFound(document_id)
    return found[0], found[1]


class OwnerDeletionHook(Protocol):
    """Called inside the transaction that deletes an account, so what other packages
    keep about that owner goes with it (``sharing``: notifications, deliveries, outbox
    events, share links); raising undoes the whole deletion.  ``kho.app`` wires them."""

    def __call__(self, session: Session, owner_id: UUID) -> None: ...


class VaultService:
    """Stores documents encrypted, reads them back verified, keeps the audit chain.

    Write order: the encrypted blob is written (and made durable) first, then the row
    and its audit event are committed in one transaction.  A crash in between leaves an
    orphan blob for ``kho gc``, never a row without its blob.
    """

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        keyring: KeyRing,
        limits: VaultLimits,
        clock: Callable[[], datetime] = utcnow,
        *,
        on_owner_deleted: Sequence[OwnerDeletionHook] = (),
    ) -> None:
        self._db = db
        self._blobs = blobs
        self._keyring = keyring
        self._limits = limits
        self._clock = clock
        self._on_owner_deleted = tuple(on_owner_deleted)

    @property
    def limits(self) -> VaultLimits:
        return self._limits

    # -- keys -------------------------------------------------------------------------

    def _owner_key(self, owner: OwnerRow) -> bytes:
        return self._unwrap_owner_key(owner.id, owner.kek_id, owner.wrapped_key)

    def _unwrap_owner_key(self, owner_id: UUID, kek_id: str | None, wrapped: bytes | None) -> bytes:
        if wrapped is None or kek_id is None:
            raise KeyUnavailable(f"owner {owner_id} has no key (account deleted)")
        return self._keyring.unwrap(kek_id, wrapped, owner_key_context(owner_id))

    def _content_key(
        self, row: Any, owner_id: UUID, owner_kek_id: str | None, owner_wrapped: bytes | None
    ) -> bytes:
        """The content key of a document row (ORM or Core row with the same columns)."""
        ctx = doc_key_context(row.id)
        if row.key_scope == "master":
            return self._keyring.unwrap(row.kek_id or "", row.wrapped_key, ctx)
        owner_key = self._unwrap_owner_key(owner_id, owner_kek_id, owner_wrapped)
        try:
            return unwrap_key(owner_key, row.wrapped_key, ctx)
        except DecryptionError:
            raise IntegrityError(row.id, "the document key does not open") from None

    # -- writing ----------------------------------------------------------------------

    async def add_document(
        self,
        owner_id: UUID,
        *,
        title: str,
        chunks: AsyncIterable[bytes],
        actor: Actor,
        filename: str | None = None,
        doc_type: str | None = None,
        provenance: Provenance = Provenance.UPLOADED,
        agency: Agency | None = None,
        legal_hold: bool = False,
        idempotency_key: str | None = None,
        action: str = "document_uploaded",
    ) -> Document:
        """Stream ``chunks`` into a new encrypted document of ``owner_id``: ``stage``
        then ``commit``, discarding the blob if anything fails.  See both for errors."""
        check_fields(title, doc_type)
        staged = await self.stage(owner_id, chunks, filename=filename)
        try:
            return await self.commit(
                staged,
                title=title,
                doc_type=doc_type,
                actor=actor,
                provenance=provenance,
                agency=agency,
                legal_hold=legal_hold,
                idempotency_key=idempotency_key,
                action=action,
            )
        except BaseException:
            await self.discard(staged)
            raise

    async def stage(
        self, owner_id: UUID, chunks: AsyncIterable[bytes], *, filename: str | None = None
    ) -> StagedContent:
        """Phase one of storing a document: encrypt and write the blob, no row yet.

        Raises ``EmptyFile``, ``FileTooLarge``, ``QuotaExceeded``,
        ``UnsupportedMediaType``, ``UnreadableDocument`` or ``OwnerNotFound``; on error
        nothing is left behind.  The caller must ``commit`` or ``discard`` the result.
        """

        def load(conn: Connection) -> tuple[bytes, int]:
            owner = conn.execute(
                select(
                    OwnerRow.id,
                    OwnerRow.status,
                    OwnerRow.kek_id,
                    OwnerRow.wrapped_key,
                    OwnerRow.used_bytes,
                ).where(OwnerRow.id == owner_id)
            ).first()
            if owner is None or owner.status == OwnerStatus.DELETED:
                raise OwnerNotFound(str(owner_id))
            return self._unwrap_owner_key(
                owner.id, owner.kek_id, owner.wrapped_key
            ), owner.used_bytes

        owner_key, used = await self._db.run_query(load)
        remaining = self._limits.quota_bytes - used
        limit = min(self._limits.max_upload_bytes, max(remaining, 0))

        document_id = uuid7()
        content_key = new_key()
        wrapped = wrap_key(owner_key, content_key, doc_key_context(document_id))
        blob_key = blob_key_for(owner_id, document_id)
        inspector = ContentInspector()
        hasher = hashlib.sha256()
        encryptor = SegmentEncryptor(content_key, document_id, owner_id, self._limits.segment_size)
        size = 0

        async def pipeline() -> AsyncIterator[bytes]:
            nonlocal size
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    if limit < self._limits.max_upload_bytes:
                        raise QuotaExceeded(self._limits.quota_bytes, used)
                    raise FileTooLarge(self._limits.max_upload_bytes)
                inspector.feed(chunk)
                hasher.update(chunk)
                for out in encryptor.feed(chunk):
                    yield out
            if size == 0:
                raise EmptyFile()
            inspector.finish()
            for out in encryptor.finish():
                yield out

        await self._blobs.put(blob_key, pipeline())
        content_type = inspector.content_type
        assert content_type is not None
        return StagedContent(
            document_id=document_id,
            owner_id=owner_id,
            blob_key=blob_key,
            wrapped_key=wrapped,
            size=size,
            sha256=hasher.hexdigest(),
            content_type=content_type,
            filename=validation.filename(filename, EXTENSIONS[content_type]),
            looks_signed=inspector.looks_signed,
        )

    async def read_staged(self, staged: StagedContent) -> bytes:
        """The plaintext of a staged (not yet committed) blob, verified, in memory: for
        checks that need the whole file (signature verification of a deposit)."""

        def load(session: Session) -> tuple[bytes, int]:
            owner = session.get(OwnerRow, staged.owner_id)
            if owner is None:
                raise OwnerNotFound(str(staged.owner_id))
            return self._owner_key(owner), self._limits.segment_size

        owner_key, segment_size = await self._db.run_read(load)
        key = unwrap_key(owner_key, staged.wrapped_key, doc_key_context(staged.document_id))
        row = _StagedRow(
            id=staged.document_id,
            owner_id=staged.owner_id,
            blob_key=staged.blob_key,
            size=staged.size,
            sha256=staged.sha256,
            segment_size=segment_size,
        )
        return b"".join([c async for c in self._plaintext(row, key, 0, staged.size, whole=True)])

    async def discard(self, staged: StagedContent) -> None:
        await self._discard_blob(staged.blob_key)

    async def commit(
        self,
        staged: StagedContent,
        *,
        title: str,
        actor: Actor,
        doc_type: str | None = None,
        provenance: Provenance = Provenance.UPLOADED,
        agency: Agency | None = None,
        legal_hold: bool = False,
        idempotency_key: str | None = None,
        source_document_id: UUID | None = None,
        action: str = "document_uploaded",
        also: Callable[[Session, Document], None] | None = None,
    ) -> Document:
        """Phase two: the row and its audit event, in one transaction.

        ``also`` runs inside that transaction after the row is written (e.g. linking the
        document to a filing); whatever it raises undoes the whole commit.

        Raises ``InvalidInput``, ``QuotaExceeded`` or ``OwnerNotFound``.  With an
        ``idempotency_key`` (agency deposits) an earlier document with that key is
        returned instead (the staged blob is then discarded); one made from a different
        request raises ``IdempotencyConflict``.  The caller discards on error.
        """
        title, doc_type = check_fields(title, doc_type)
        fingerprint = None
        if idempotency_key:
            fingerprint = hashlib.sha256(
                msgspec.json.encode(
                    [str(staged.owner_id), doc_type, title, staged.sha256, legal_hold, provenance]
                )
            ).hexdigest()
        values: dict[str, Any] = {
            "id": staged.document_id,
            "owner_id": staged.owner_id,
            "title": title,
            "title_search": validation.search_key(title),
            "doc_type": doc_type,
            "provenance": str(provenance),
            "content_type": staged.content_type,
            "filename": staged.filename,
            "size": staged.size,
            "sha256": staged.sha256,
            "blob_key": staged.blob_key,
            "segment_size": self._limits.segment_size,
            "key_scope": "owner",
            "kek_id": None,
            "wrapped_key": staged.wrapped_key,
            "issuer_agency_id": agency.id if agency else None,
            "issuer_status": str(IssuerStatus.ACTIVE) if provenance == Provenance.ISSUED else None,
            "legal_hold": legal_hold,
            "source_document_id": source_document_id,
            "verification_code": (
                new_verification_code()
                if provenance in (Provenance.ISSUED, Provenance.CERTIFIED_COPY)
                else None
            ),
            "idempotency_key": idempotency_key,
            "request_fingerprint": fingerprint,
            "created_at": self._clock(),
        }
        detail = {
            "title": title,
            "doc_type": doc_type,
            "size": staged.size,
            "sha256": staged.sha256,
            "provenance": str(provenance),
            **({"agency": agency.code} if agency else {}),
        }
        document = Document(
            id=staged.document_id,
            owner_id=staged.owner_id,
            title=title,
            doc_type=doc_type,
            provenance=provenance,
            content_type=staged.content_type,
            filename=staged.filename,
            size=staged.size,
            sha256=staged.sha256,
            issuer_agency_id=agency.id if agency else None,
            issuer_agency_code=agency.code if agency else None,
            issuer_agency_name=agency.name if agency else None,
            issuer_status=IssuerStatus.ACTIVE if provenance == Provenance.ISSUED else None,
            legal_hold=legal_hold,
            created_at=values["created_at"],
            source_document_id=source_document_id,
            verification_code=values["verification_code"],
        )

        def tx(session: Session) -> Document:
            # Note: precompiled Core statements rather than the ORM unit of work: this is
            # the upload hot path, and it runs inside the serialised SQLite writer.
            conn = session.connection()
            owner = conn.execute(_LOCK_OWNER, {"owner_id": staged.owner_id}).first()
            if owner is None or owner.status == OwnerStatus.DELETED:
                raise OwnerNotFound(str(staged.owner_id))
            if idempotency_key and agency is not None:
                found = self._find_idempotent(session, agency.id, idempotency_key)
                if found is not None:
                    raise _Replayed(found)
            if owner.used_bytes + staged.size > self._limits.quota_bytes:
                raise QuotaExceeded(self._limits.quota_bytes, owner.used_bytes)
            event = audit.new_event(
                staged.owner_id,
                owner.audit_seq,
                owner.audit_head,
                actor,
                action,
                document_id=staged.document_id,
                detail=detail,
            )
            conn.execute(_INSERT_DOCUMENT, values)
            conn.execute(audit.INSERT_EVENT, event)
            conn.execute(
                _OWNER_ADVANCE,
                {
                    "owner_id": staged.owner_id,
                    "size": staged.size,
                    "seq": event["seq"],
                    "head": event["hash"],
                },
            )
            if also is not None:
                also(session, document)
            if provenance in (Provenance.ISSUED, Provenance.CERTIFIED_COPY):
                outbox.enqueue(
                    conn,
                    EventKind.DOCUMENT_DEPOSITED,
                    {
                        "document_id": staged.document_id,
                        "title": title,
                        "doc_type": doc_type,
                        "provenance": str(provenance),
                        "agency_code": agency.code if agency else None,
                        "agency_name": agency.name if agency else None,
                    },
                    owner_id=staged.owner_id,
                    agency_id=agency.id if agency else None,
                )
            return document

        try:
            return await self._db.run_write(tx)
        except _Replayed as replay:
            await self.discard(staged)
            return self._replay(replay.found, fingerprint, idempotency_key or "")
        except SQLIntegrityError:
            if idempotency_key and agency is not None:
                found = await self._db.run_read(
                    lambda session: self._find_idempotent(session, agency.id, idempotency_key)
                )
                if found is not None:
                    await self.discard(staged)
                    return self._replay(found, fingerprint, idempotency_key)
            raise

    async def find_deposit(self, agency: Agency, idempotency_key: str) -> Document | None:
        """The document an agency already deposited under ``idempotency_key``, if any."""
        found = await self._db.run_read(
            lambda session: self._find_idempotent(session, agency.id, idempotency_key)
        )
        return found[0] if found else None

    def _find_idempotent(
        self, session: Session, agency_id: UUID, key: str
    ) -> tuple[Document, str | None] | None:
        q = _with_agency(
            select(DocumentRow).where(
                DocumentRow.issuer_agency_id == agency_id, DocumentRow.idempotency_key == key
            )
        )
        found = session.execute(q).first()
        if found is None:
            return None
        return _to_document(found[0], found[1]), found[0].request_fingerprint

    def _replay(
        self, found: tuple[Document, str | None], fingerprint: str | None, key: str
    ) -> Document:
        doc, stored = found
        if fingerprint is not None and stored not in (None, fingerprint):
            raise IdempotencyConflict(key)
        return doc

    async def _discard_blob(self, key: str) -> None:
        try:
            await self._blobs.delete(key)
        except Exception:  # Note: gc removes it later; the original error matters more
            log.warning("blob_discard_failed", blob_key=key)

    async def ensure_owner(self, personal_id: str) -> UUID:
        """The owner id for a personal ID, creating an ``unclaimed`` owner if there is
        none, so an agency's paper waits for the citizen's first sign-up."""
        owner_id, _ = await self.open_vault(personal_id)
        return owner_id

    async def close_unused_vault(self, owner_id: UUID) -> bool:
        """Undo ``open_vault`` after a failed deposit: remove an ``unclaimed`` owner that
        holds no document (with its one audit event), so a failure leaves nothing."""

        def tx(session: Session) -> bool:
            owner = session.get(OwnerRow, owner_id, with_for_update=True)
            if owner is None or owner.status != OwnerStatus.UNCLAIMED:
                return False
            if session.scalar(select(DocumentRow.id).where(DocumentRow.owner_id == owner_id)):
                return False
            session.execute(delete(AuditRow).where(AuditRow.owner_id == owner_id))
            session.delete(owner)
            return True

        return await self._db.run_write(tx)

    async def open_vault(self, personal_id: str) -> tuple[UUID, bool]:
        """Like ``ensure_owner``; also says whether this call created the owner."""
        personal_id = validation.personal_id(personal_id)

        def find(session: Session) -> UUID | None:
            row = session.scalar(select(OwnerRow).where(OwnerRow.personal_id == personal_id))
            return row.id if row is not None and row.status != OwnerStatus.DELETED else None

        def create(session: Session) -> tuple[UUID, bool]:
            row = session.scalar(
                select(OwnerRow).where(OwnerRow.personal_id == personal_id).with_for_update()
            )
            created = row is None
            if row is None:
                row = new_owner_row(personal_id, "", OwnerStatus.UNCLAIMED, self._keyring)
                session.add(row)
                session.flush()
                audit.append(
                    session,
                    row,
                    Actor(type=ActorType.SYSTEM, name="deposit"),
                    "vault_opened_for_deposit",
                )
            elif row.status == OwnerStatus.DELETED:
                row.kek_id, row.wrapped_key = self._keyring.wrap(
                    new_key(), owner_key_context(row.id)
                )
                row.status = str(OwnerStatus.UNCLAIMED)
            return row.id, created

        existing = await self._db.run_read(find)
        return (existing, False) if existing is not None else await self._db.run_write(create)

    # -- reading ----------------------------------------------------------------------

    async def list_documents(
        self,
        owner_id: UUID,
        flt: DocumentFilter,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> DocumentPage:
        if not (flt.doc_type or flt.provenance or flt.q or cursor):
            # the wallet as it opens: a statement built once, only values bound
            rows = {"owner_id": owner_id, "limit": limit + 1}
            found = await self._db.run_query(
                lambda conn: [_listed_document(r) for r in conn.execute(_FIRST_PAGE, rows)]
            )
            return _document_page(found, limit)
        q = _LISTED.where(DocumentRow.owner_id == owner_id)
        if flt.doc_type:
            q = q.where(DocumentRow.doc_type == flt.doc_type)
        if flt.provenance:
            q = q.where(DocumentRow.provenance == str(flt.provenance))
        if flt.q:
            needle = validation.search_key(flt.q.strip())
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            q = q.where(DocumentRow.title_search.like(f"%{escaped}%", escape="\\"))
        if cursor:
            q = q.where(DocumentRow.id < _decode_cursor(cursor))
        page = q.order_by(DocumentRow.id.desc()).limit(limit + 1)
        found = await self._db.run_query(
            lambda conn: [_listed_document(r) for r in conn.execute(page)]
        )
        return _document_page(found, limit)

    async def get_document(self, owner_id: UUID, document_id: UUID) -> Document:
        """Raises ``DocumentNotFound`` for a missing document *or another owner's*."""
        q = _LISTED.where(DocumentRow.id == document_id, DocumentRow.owner_id == owner_id)

        def find(conn: Connection) -> Document:
            row = conn.execute(q).first()
            if row is None:
                raise DocumentNotFound(document_id)
            return _listed_document(row)

        return await self._db.run_query(find)

    async def open_content(
        self,
        owner_id: UUID,
        document_id: UUID,
        actor: Actor,
        *,
        byte_range: tuple[int, int] | None = None,
        action: str | None = "document_downloaded",
        detail: dict[str, Any] | None = None,
        guard: Callable[[Session], None] | None = None,
    ) -> ContentStream:
        """Audit the read (as ``action``, with ``detail``), then stream the plaintext,
        verified.  ``action=None`` reads without an event: only for a caller that has
        already recorded the access (a share's opening names its documents).  ``guard``
        runs first in the same transaction and may raise to refuse the read (a share's
        expiry, revocation and use count are checked there, with the bytes' key).

        Every segment is authenticated before its bytes are released; for a whole-file
        read the SHA-256 is checked before the last segment is released.  The first
        segment is decrypted before this returns, so a document whose start (or whole,
        when it fits in one segment) fails its check raises ``IntegrityError`` here, and
        later failures abort the stream.  ``byte_range`` is ``[start, end)``, validated
        by the caller against the size.  ``detail`` is added to the audit event (e.g.
        the filing or share the read was made for).
        """

        doc_query = _DOCUMENT_VIEW.where(
            DocumentRow.id == document_id, DocumentRow.owner_id == owner_id
        )

        def tx(session: Session) -> tuple[Any, bytes, int, int]:
            if guard is not None:
                guard(session)
            conn = session.connection()
            row = conn.execute(doc_query).first()
            if row is None:
                raise DocumentNotFound(document_id)
            owner = conn.execute(_LOCK_OWNER, {"owner_id": owner_id}).first()
            if owner is None or owner.status == OwnerStatus.DELETED:
                raise OwnerNotFound(str(owner_id))
            key = self._content_key(row, owner_id, owner.kek_id, owner.wrapped_key)
            start, end = byte_range if byte_range else (0, row.size)
            if action is not None:
                event = audit.new_event(
                    owner_id,
                    owner.audit_seq,
                    owner.audit_head,
                    actor,
                    action,
                    document_id=row.id,
                    detail=(detail or {}) | ({"range": [start, end]} if byte_range else {}),
                )
                conn.execute(audit.INSERT_EVENT, event)
                conn.execute(
                    _OWNER_ADVANCE,
                    {"owner_id": owner_id, "size": 0, "seq": event["seq"], "head": event["hash"]},
                )
            return row, key, start, end

        row, key, start, end = await self._db.run_write(tx)
        doc = _view_to_document(row)
        chunks = self._plaintext(row, key, start, end, whole=byte_range is None)
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            first = b""

        async def stream() -> AsyncIterator[bytes]:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk

        return ContentStream(document=doc, start=start, end=end, chunks=stream())

    async def _plaintext(
        self, row: Any, key: bytes, start: int, end: int, *, whole: bool
    ) -> AsyncIterator[bytes]:
        """``row``: a document row, ORM or Core (``id``, ``owner_id``, ``blob_key``,
        ``size``, ``sha256``, ``segment_size``)."""
        seg = row.segment_size
        first, _last, c_start, c_end = segment_span(start, end, row.size, seg)
        dec = SegmentDecryptor(key, row.id, row.owner_id, row.size, first, seg)
        hasher = hashlib.sha256() if whole else None
        pos = first * seg  # plaintext offset of the next decrypted byte
        try:
            pending: bytes | None = None
            async for chunk in self._blobs.open(row.blob_key, c_start, c_end):
                for plain in dec.feed(chunk):
                    if pending is not None:
                        yield pending
                    if hasher is not None:
                        hasher.update(plain)
                    lo = max(start - pos, 0)
                    hi = min(end - pos, len(plain))
                    pos += len(plain)
                    pending = plain[lo:hi] if (lo, hi) != (0, len(plain)) else plain
            if whole:
                dec.finish()
            if hasher is not None and hasher.hexdigest() != row.sha256:
                raise IntegrityError(row.id, "SHA-256 of the content does not match")
            if whole is False and pos < end:
                raise IntegrityError(row.id, "the stored blob is shorter than the document")
            if pending:
                yield pending
        except DecryptionError as exc:
            log.error("integrity_failure", document_id=str(row.id), reason=str(exc))
            raise IntegrityError(row.id, str(exc)) from None

    # -- verification codes -------------------------------------------------------------

    async def lookup_code(self, code: str, actor: Actor) -> CodeLookup:
        """What a printed paper's verification code says; the lookup is written to the
        owner's audit chain ("who looked at my data").  Raises ``DocumentNotFound``."""
        normal = normalize_code(code)
        if normal is None:
            raise DocumentNotFound(code[:32])

        def tx(session: Session) -> CodeLookup:
            found = session.execute(
                _with_agency(select(DocumentRow).where(DocumentRow.verification_code == normal))
            ).first()
            if found is None:
                raise DocumentNotFound(normal)
            row, agency = found[0], found[1]
            newer = None
            if row.superseded_by_id is not None:
                newer = session.scalar(
                    select(DocumentRow.verification_code).where(
                        DocumentRow.id == row.superseded_by_id
                    )
                )
            owner = _lock_owner(session, row.owner_id)
            audit.append(
                session,
                owner,
                actor,
                "verification_code_used",
                document_id=row.id,
                detail={"code": normal},
            )
            return CodeLookup(
                code=normal,
                doc_type=row.doc_type,
                provenance=Provenance(row.provenance),
                issuer_agency_code=agency.code if agency else None,
                issuer_agency_name=agency.name if agency else None,
                issuer_status=IssuerStatus(row.issuer_status) if row.issuer_status else None,
                status_reason=row.status_reason,
                superseded_by_code=newer,
                issued_at=row.created_at,
                sha256=row.sha256,
                size=row.size,
            )

        return await self._db.run_write(tx)

    # -- issuers' status ----------------------------------------------------------------

    async def change_issuer_status(
        self,
        agency: Agency,
        document_id: UUID,
        actor: Actor,
        *,
        status: IssuerStatus,
        reason: str,
        superseded_by: UUID | None = None,
    ) -> Document:
        """The issuing agency revokes a paper, or supersedes it with a newer one it issued
        to the same citizen.  The citizen's audit chain records it, and every
        verification from now on shows it.

        Raises ``DocumentNotFound`` (not this agency's paper: others' papers are
        invisible), ``StatusConflict`` (no longer active) and ``InvalidInput``.
        """
        reason = reason.strip()
        if status == IssuerStatus.REVOKED and not reason:
            raise InvalidInput("reason", "say why the paper is revoked")
        if len(reason) > 500:
            raise InvalidInput("reason", "must be at most 500 characters")
        if status == IssuerStatus.SUPERSEDED and superseded_by is None:
            raise InvalidInput("superseded_by", "name the document that replaces this one")
        now = self._clock()

        def tx(session: Session) -> Document:
            row, agency_row = _owned_by_issuer(session, agency.id, document_id)
            if row.issuer_status != IssuerStatus.ACTIVE:
                raise StatusConflict(document_id, row.issuer_status or "unknown")
            if superseded_by is not None:
                try:
                    newer, _ = _owned_by_issuer(session, agency.id, superseded_by)
                except DocumentNotFound:
                    raise InvalidInput(
                        "superseded_by", "is not a paper your agency issued"
                    ) from None
                if (
                    newer.id == row.id
                    or newer.owner_id != row.owner_id
                    or newer.issuer_status != IssuerStatus.ACTIVE
                ):
                    raise InvalidInput(
                        "superseded_by", "must be another active paper of the same citizen"
                    )
            owner = _lock_owner(session, row.owner_id)
            row.issuer_status = str(status)
            row.status_reason = reason or None
            row.superseded_by_id = superseded_by
            row.status_changed_at = now
            audit.append(
                session,
                owner,
                actor,
                f"document_{status}",
                document_id=row.id,
                detail={
                    "title": row.title,
                    "reason": reason or None,
                    **({"superseded_by": str(superseded_by)} if superseded_by else {}),
                },
            )
            if status == IssuerStatus.REVOKED:
                outbox.enqueue(
                    session,
                    EventKind.DOCUMENT_REVOKED,
                    {
                        "document_id": row.id,
                        "title": row.title,
                        "doc_type": row.doc_type,
                        "agency_code": agency.code,
                        "agency_name": agency.name,
                        "reason": reason,
                    },
                    owner_id=row.owner_id,
                    agency_id=agency.id,
                )
            return _to_document(row, agency_row)

        return await self._db.run_write(tx)

    # -- deleting ---------------------------------------------------------------------

    async def delete_document(self, owner_id: UUID, document_id: UUID, actor: Actor) -> None:
        """Raises ``DocumentNotFound`` or ``LegalHold`` (an agency keeps it)."""

        def tx(session: Session) -> str:
            row, _ = _owned(session, owner_id, document_id)
            if row.legal_hold:
                raise LegalHold(document_id)
            owner = _lock_owner(session, owner_id)
            session.delete(row)
            owner.used_bytes = max(0, owner.used_bytes - row.size)
            audit.append(
                session,
                owner,
                actor,
                "document_deleted",
                document_id=document_id,
                detail={"title": row.title, "sha256": row.sha256},
            )
            return row.blob_key

        await self._discard_blob(await self._db.run_write(tx))

    async def delete_owner(self, owner_id: UUID, password: str, actor: Actor) -> AccountDeletion:
        """Delete an account: every document not under legal hold is removed, the owner
        key is destroyed (crypto-shredding), tokens die, and the deletion hooks run in
        the same transaction.  Papers an agency holds are re-keyed under the master key
        and kept; the result lists them.

        Raises ``AuthenticationFailed`` for a wrong password.
        """
        stored = await self._db.run_read(
            lambda session: getattr(session.get(OwnerRow, owner_id), "password_hash", None)
        )
        if not await verify_password(stored, password):
            raise AuthenticationFailed()

        def tx(session: Session) -> tuple[list[str], list[Document]]:
            blob_keys: list[str] = []
            kept: list[Document] = []
            owner = _lock_owner(session, owner_id)
            owner_key = self._owner_key(owner)
            rows = session.execute(
                _with_agency(select(DocumentRow).where(DocumentRow.owner_id == owner_id))
            ).all()
            kept_bytes = 0
            for doc, agency in rows:
                if doc.legal_hold:
                    ctx = doc_key_context(doc.id)
                    content_key = unwrap_key(owner_key, doc.wrapped_key, ctx)
                    doc.kek_id, doc.wrapped_key = self._keyring.wrap(content_key, ctx)
                    doc.key_scope = "master"
                    kept_bytes += doc.size
                    kept.append(_to_document(doc, agency))
                else:
                    blob_keys.append(doc.blob_key)
                    session.delete(doc)
            session.execute(delete(TokenRow).where(TokenRow.owner_id == owner_id))
            for forget in self._on_owner_deleted:
                forget(session, owner_id)
            audit.append(
                session,
                owner,
                actor,
                "account_deleted",
                detail={"documents_deleted": len(blob_keys), "documents_kept": len(kept)},
            )
            # security: crypto-shredding — without the wrapped owner key no copy of the
            # deleted blobs (backups included) can be decrypted, even with the master key.
            owner.wrapped_key = None
            owner.kek_id = None
            owner.password_hash = None
            owner.otp_kek_id = owner.otp_secret_wrapped = owner.otp_enabled_at = None
            owner.name = ""
            owner.email = None
            owner.phone = None
            owner.status = str(OwnerStatus.DELETED)
            owner.used_bytes = kept_bytes
            owner.deleted_at = self._clock()
            return blob_keys, kept

        blob_keys, kept = await self._db.run_write(tx)
        for key in blob_keys:
            await self._discard_blob(key)
        return AccountDeletion(documents_deleted=len(blob_keys), documents_kept=kept)

    # -- export -----------------------------------------------------------------------

    async def export(self, owner_id: UUID, actor: Actor) -> AsyncIterator[bytes]:
        """Everything of the owner as a ZIP stream: originals, metadata.json, audit.json.

        The ZIP is written as it is sent (data descriptors, ZIP64), one document at a time.
        """

        def tx(session: Session) -> tuple[Any, bytes, list[AuditRow], dict[str, Any]]:
            owner = _lock_owner(session, owner_id)
            audit.append(session, owner, actor, "export")
            session.flush()
            rows = session.execute(
                _with_agency(
                    select(DocumentRow)
                    .where(DocumentRow.owner_id == owner_id)
                    .order_by(DocumentRow.id)
                )
            ).all()
            events = session.scalars(
                select(AuditRow).where(AuditRow.owner_id == owner_id).order_by(AuditRow.seq)
            ).all()
            profile = {
                "personal_id": owner.personal_id,
                "name": owner.name,
                "created_at": owner.created_at,
            }
            return rows, self._owner_key(owner), list(events), profile

        rows, owner_key, events, profile = await self._db.run_write(tx)
        docs = [(r[0], _to_document(r[0], r[1])) for r in rows]
        chain = [msgspec.structs.asdict(audit.to_event(e)) for e in events]
        return self._zip_stream(owner_key, docs, profile, chain)

    async def _zip_stream(
        self,
        owner_key: bytes,
        docs: list[tuple[DocumentRow, Document]],
        profile: dict[str, Any],
        chain: list[dict[str, Any]],
    ) -> AsyncIterator[bytes]:
        sink = _Sink()
        zf = zipfile.ZipFile(cast(IO[bytes], sink), "w", zipfile.ZIP_STORED, allowZip64=True)
        names: list[dict[str, Any]] = []
        for row, doc in docs:
            name = f"documents/{doc.id}-{doc.filename}"
            names.append({**msgspec.structs.asdict(doc), "path": name})
            info = zipfile.ZipInfo(name, date_time=_zip_time(doc.created_at))
            info.compress_type = zipfile.ZIP_STORED
            key = (
                self._keyring.unwrap(row.kek_id or "", row.wrapped_key, doc_key_context(row.id))
                if row.key_scope == "master"
                else unwrap_key(owner_key, row.wrapped_key, doc_key_context(row.id))
            )
            with zf.open(info, "w", force_zip64=True) as out:
                async for chunk in self._plaintext(row, key, 0, row.size, whole=True):
                    out.write(chunk)
                    if sink.pending:
                        yield sink.take()
            yield sink.take()
        meta = msgspec.json.format(
            msgspec.json.encode({"owner": profile, "documents": names}), indent=2
        )
        zf.writestr("metadata.json", meta)
        zf.writestr("audit.json", msgspec.json.format(msgspec.json.encode(chain), indent=2))
        zf.close()
        yield sink.take()

    async def list_audit(
        self, owner_id: UUID, *, limit: int = 50, before_seq: int | None = None
    ) -> list[AuditEvent]:
        """The owner's own events, newest first."""
        return await self._db.run_read(
            lambda session: audit.owner_events(
                session, owner_id, limit=limit, before_seq=before_seq
            )
        )

    # -- maintenance --------------------------------------------------------------------

    async def storage_totals(self) -> tuple[int, int]:
        """``(documents, bytes)`` over every owner, for metrics."""
        count, total = await self._db.run_read(
            lambda session: tuple(
                session.execute(
                    select(func.count(DocumentRow.id), func.coalesce(func.sum(DocumentRow.size), 0))
                ).one()
            )
        )
        return int(count), int(total)


_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_CODE_FIX = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_verification_code() -> str:
    """Ten Crockford base32 characters (50 random bits): short enough to type from a
    printed paper, too many to guess (lookups are rate-limited too)."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def normalize_code(code: str) -> str | None:
    """Upper case without spaces or dashes, with O→0 and I/L→1; ``None`` if malformed."""
    cleaned = code.strip().upper().replace("-", "").replace(" ", "").translate(_CODE_FIX)
    if len(cleaned) != 10 or any(c not in _CODE_ALPHABET for c in cleaned):
        return None
    return cleaned


def check_fields(title: str, doc_type: str | None) -> tuple[str, str | None]:
    """Validate a document's title and type early; raises ``InvalidInput``."""
    return validation.title(title), validation.doc_type(doc_type)


class StagedContent(msgspec.Struct, frozen=True, kw_only=True):
    """An encrypted blob written but not yet a document (see ``VaultService.stage``)."""

    document_id: UUID
    owner_id: UUID
    blob_key: str
    wrapped_key: bytes
    size: int
    sha256: str
    content_type: str
    filename: str
    looks_signed: bool = False


class _StagedRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    owner_id: UUID
    blob_key: str
    size: int
    sha256: str
    segment_size: int


class _Replayed(Exception):
    def __init__(self, found: tuple[Document, str | None]) -> None:
        super().__init__("idempotent replay")
        self.found = found


class _Sink:
    """A write-only, non-seekable file for ``zipfile`` whose bytes are taken as produced."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0
        self.pending = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self._pos += len(data)
        self.pending += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        self.pending = 0
        return out


def _zip_time(at: datetime) -> tuple[int, int, int, int, int, int]:
    t = at.astimezone(UTC)
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)
