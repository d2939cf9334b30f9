"""Share links: capability URLs over a set of one owner's documents.

A share's token is 256 random bits, shown once; only its SHA-256 is stored, so a lookup
is one indexed equality on the hash (no secret-dependent comparison in Python).  Every
way in — the share's view, a document's bytes — re-checks expiry, revocation and the
use count in the transaction that serves it:

- an *opening* spends one use (a conditional ``UPDATE … WHERE use_count < max_uses``,
  so concurrent openings of a ``max_uses=1`` link cannot both win), writes
  ``share_opened`` to the owner's audit chain and an outbox event, and hands the viewer
  a *grant* (valid ``grant_ttl_seconds``, never past the share's expiry);
- with that grant the same viewer reads the share's documents without spending more
  uses; without one, fetching a document is itself an opening.

A password (argon2id) guards a link on top of its token; wrong passwords count per link
and lock that link for a while, never a network.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import and_, bindparam, delete, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sharing.batching import WriteBatcher
from sharing.db import ShareDocumentRow, ShareOpeningRow, ShareRow
from sharing.errors import (
    ShareAudienceDenied,
    ShareGone,
    ShareGrantInvalid,
    ShareLocked,
    ShareNotFound,
    SharePasswordRequired,
    SharePasswordWrong,
)
from sharing.models import (
    MAX_DOCUMENTS,
    MAX_TTL_SECONDS,
    CreatedShare,
    NewShare,
    Share,
    SharedView,
    ShareStatus,
    Viewer,
)
from vault import (
    Actor,
    ContentStream,
    Database,
    Document,
    OwnerStatus,
    VaultService,
    audit,
    outbox,
    validation,
)
from vault.db import AgencyRow, Base, DocumentRow, OwnerRow, utcnow
from vault.documents import DOCUMENT_VIEW, view_to_document
from vault.errors import AgencyNotFound, DocumentNotFound, InvalidInput
from vault.ids import uuid7
from vault.outbox import EventKind
from vault.passwords import hash_password, verify_password

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
MAX_PASSWORD = 200


class ShareSettings(msgspec.Struct, frozen=True, kw_only=True):
    grant_ttl_seconds: int = 30 * 60
    password_max_failures: int = 5
    password_lock_seconds: int = 15 * 60


_INSERT_OPENING = ShareOpeningRow.__table__.insert()  # type: ignore[attr-defined]


def token_digest(token: str) -> str | None:
    """The stored form of a share token or grant; ``None`` for a malformed one."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    return hashlib.sha256(token.encode()).hexdigest()


def _revoked(row: Any) -> bool:
    # Note: deleting an account revokes its links (papers kept under an agency's legal
    # hold stay in Kho, but no longer reach anyone through them).  A bare ``ShareRow``
    # has no owner status; the vault refuses a deleted owner's bytes on that path.
    return row.revoked_at is not None or getattr(row, "owner_status", None) == OwnerStatus.DELETED


def status_of(row: Any, now: datetime) -> ShareStatus:
    if _revoked(row):
        return ShareStatus.REVOKED
    if row.expires_at <= now:
        return ShareStatus.EXPIRED
    if row.max_uses is not None and row.use_count >= row.max_uses:
        return ShareStatus.USED_UP
    return ShareStatus.ACTIVE


_SHARE_COLUMNS = (
    ShareRow.id,
    ShareRow.owner_id,
    ShareRow.purpose,
    ShareRow.audience,
    ShareRow.audience_agency_id,
    AgencyRow.code.label("audience_agency"),
    ShareRow.expires_at,
    ShareRow.max_uses,
    ShareRow.use_count,
    ShareRow.password_hash,
    ShareRow.failed_attempts,
    ShareRow.locked_until,
    ShareRow.revoked_at,
    ShareRow.created_at,
    ShareRow.last_used_at,
    ShareRow.request_id,
    OwnerRow.status.label("owner_status"),
)


def _share_query() -> Any:
    return (
        select(*_SHARE_COLUMNS)
        .join(OwnerRow, OwnerRow.id == ShareRow.owner_id)
        .outerjoin(AgencyRow, AgencyRow.id == ShareRow.audience_agency_id)
    )


def _to_share(row: Any, document_ids: list[UUID], now: datetime) -> Share:
    return Share(
        id=row.id,
        document_ids=document_ids,
        purpose=row.purpose,
        audience=row.audience,
        audience_agency=row.audience_agency,
        expires_at=row.expires_at,
        max_uses=row.max_uses,
        use_count=row.use_count,
        status=status_of(row, now),
        has_password=row.password_hash is not None,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        request_id=row.request_id,
    )


_SHARED_DOCUMENTS = (
    DOCUMENT_VIEW.join(ShareDocumentRow, ShareDocumentRow.document_id == DocumentRow.id)
    .where(
        ShareDocumentRow.share_id == bindparam("share_id"),
        DocumentRow.owner_id == bindparam("owner_id"),
    )
    .order_by(ShareDocumentRow.position)
)
# Note: built once; the hot path only binds values (no statement construction per use).
_SPEND_USE = (
    update(ShareRow)
    .where(
        ShareRow.id == bindparam("share_id"),
        ShareRow.revoked_at.is_(None),
        ShareRow.expires_at > bindparam("now"),
        or_(ShareRow.max_uses.is_(None), ShareRow.use_count < ShareRow.max_uses),
    )
    .values(use_count=ShareRow.use_count + 1, last_used_at=bindparam("now"))
    .returning(ShareRow.use_count)
)


# Note: the rows a batch of openings will change, locked in id order on PostgreSQL (SQLite
# has one writer), so concurrent batches of several processes queue instead of deadlock.
_SHARES = Base.metadata.tables["shares"]
_LOCK_BY_HASHES = (
    _share_query()
    .add_columns(ShareRow.token_hash)
    .where(ShareRow.token_hash.in_(bindparam("digests", expanding=True)))
    .order_by(ShareRow.id)
    .with_for_update(of=_SHARES)
)
_SET_USES = (
    update(_SHARES)
    .where(_SHARES.c.id == bindparam("share_id"))
    .values(use_count=bindparam("uses"), last_used_at=bindparam("now"))
)


def _view(
    row: Any,
    use_count: int,
    documents: list[Document],
    grant: str | None,
    grant_expires_at: datetime | None,
) -> SharedView:
    return SharedView(
        share_id=row.id,
        owner_id=row.owner_id,
        purpose=row.purpose,
        audience=row.audience,
        audience_agency=row.audience_agency,
        expires_at=row.expires_at,
        max_uses=row.max_uses,
        use_count=use_count,
        documents=documents,
        grant=grant,
        grant_expires_at=grant_expires_at,
    )


class _Opening(msgspec.Struct, frozen=True):
    """One opening waiting for its batch."""

    digest: str
    viewer: Viewer
    password_checked: bool


def shared_documents(conn: Session | Connection, share_id: UUID, owner_id: UUID) -> list[Document]:
    """The share's documents that still exist, in the order they were shared."""
    rows = conn.execute(_SHARED_DOCUMENTS, {"share_id": share_id, "owner_id": owner_id}).all()
    return [view_to_document(r) for r in rows]


def insert_share(
    session: Session,
    *,
    owner_id: UUID,
    document_ids: Sequence[UUID],
    expires_at: datetime,
    purpose: str,
    audience_agency_id: UUID | None,
    max_uses: int | None = None,
    password_hash: str | None = None,
    request_id: UUID | None = None,
) -> tuple[str, ShareRow]:
    """Insert a share over ``document_ids`` (checked by the caller to be the owner's);
    returns its token (shown once) and row."""
    token = secrets.token_urlsafe(32)  # security: 256 bits from the OS CSPRNG
    digest = token_digest(token)
    assert digest is not None
    row = ShareRow(
        id=uuid7(),
        owner_id=owner_id,
        token_hash=digest,
        purpose=purpose,
        audience="agency" if audience_agency_id else "anyone",
        audience_agency_id=audience_agency_id,
        expires_at=expires_at,
        max_uses=max_uses,
        use_count=0,
        password_hash=password_hash,
        failed_attempts=0,
        request_id=request_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    session.add_all(
        ShareDocumentRow(share_id=row.id, document_id=doc_id, position=i)
        for i, doc_id in enumerate(document_ids)
    )
    return token, row


def check_owned(session: Session, owner_id: UUID, document_ids: Sequence[UUID]) -> None:
    """Raises ``InvalidInput`` (field ``document_ids``) unless every id is the owner's."""
    found = set(
        session.scalars(
            select(DocumentRow.id).where(
                DocumentRow.owner_id == owner_id, DocumentRow.id.in_(list(document_ids))
            )
        )
    )
    if missing := [str(d) for d in document_ids if d not in found]:
        raise InvalidInput("document_ids", f"not documents of yours: {', '.join(missing[:5])}")


class _PasswordFirst(Exception):
    """Leaves a transaction to check a link's password outside it."""

    def __init__(self, row: Any) -> None:
        super().__init__("password first")
        self.row = row


class ShareService:
    def __init__(
        self, db: Database, vault: VaultService, settings: ShareSettings | None = None
    ) -> None:
        self._db = db
        self._vault = vault
        self._settings = settings or ShareSettings()
        self._openings: WriteBatcher[_Opening, SharedView] = WriteBatcher(db, self._apply_openings)

    # -- the owner's side -------------------------------------------------------------

    async def create(self, owner_id: UUID, new: NewShare, actor: Actor) -> CreatedShare:
        """Raises ``InvalidInput`` for an empty or oversized scope, documents that are
        not the owner's, an expiry in the past or beyond 90 days, a bad ``max_uses``,
        an unknown audience agency or an unusable password."""
        now = utcnow()
        doc_ids = list(dict.fromkeys(new.document_ids))
        if not doc_ids:
            raise InvalidInput("document_ids", "share at least one document")
        if len(doc_ids) > MAX_DOCUMENTS:
            raise InvalidInput("document_ids", f"at most {MAX_DOCUMENTS} documents per share")
        if new.expires_at.tzinfo is None:
            raise InvalidInput("expires_at", "must include a time zone")
        if new.expires_at <= now:
            raise InvalidInput("expires_at", "must be in the future")
        if new.expires_at > now + timedelta(seconds=MAX_TTL_SECONDS):
            raise InvalidInput("expires_at", "must be at most 90 days from now")
        if new.max_uses is not None and not 1 <= new.max_uses <= 10_000:
            raise InvalidInput("max_uses", "must be between 1 and 10000")
        purpose = validation.purpose(new.purpose, required=False)
        pw_hash = None
        if new.password is not None:
            if not 4 <= len(new.password) <= MAX_PASSWORD:
                raise InvalidInput("password", f"must be 4 to {MAX_PASSWORD} characters")
            pw_hash = await hash_password(new.password)

        def tx(session: Session) -> CreatedShare:
            agency_id = None
            if new.audience_agency is not None:
                agency_id = session.scalar(
                    select(AgencyRow.id).where(
                        AgencyRow.code == new.audience_agency, AgencyRow.active.is_(True)
                    )
                )
                if agency_id is None:
                    raise InvalidInput("audience", f"no agency {new.audience_agency!r}")
            check_owned(session, owner_id, doc_ids)
            token, row = insert_share(
                session,
                owner_id=owner_id,
                document_ids=doc_ids,
                expires_at=new.expires_at,
                purpose=purpose,
                audience_agency_id=agency_id,
                max_uses=new.max_uses,
                password_hash=pw_hash,
            )
            audit.record(
                session,
                owner_id,
                actor,
                "share_created",
                detail={
                    "share_id": str(row.id),
                    "documents": [str(d) for d in doc_ids],
                    "audience": new.audience_agency or "anyone",
                    "expires_at": new.expires_at.isoformat(),
                    "max_uses": new.max_uses,
                    "purpose": purpose,
                },
            )
            found = session.execute(_share_query().where(ShareRow.id == row.id)).one()
            return CreatedShare(share=_to_share(found, doc_ids, now), token=token)

        return await self._db.run_write(tx)

    async def list_shares(self, owner_id: UUID, *, include_requests: bool = True) -> list[Share]:
        """The owner's newest 500 shares, newest first."""
        where = [] if include_requests else [ShareRow.request_id.is_(None)]
        return await self._shares(owner_id, *where, limit=500)

    async def get(self, owner_id: UUID, share_id: UUID) -> Share:
        found = await self._shares(owner_id, ShareRow.id == share_id, limit=1)
        if not found:
            raise ShareNotFound()
        return found[0]

    async def _shares(self, owner_id: UUID, *where: Any, limit: int) -> list[Share]:
        """The owner's shares matching ``where``, newest first, with their scope."""
        now = utcnow()
        query = (
            _share_query()
            .where(ShareRow.owner_id == owner_id, *where)
            .order_by(ShareRow.id.desc())
            .limit(limit)
        )

        def q(conn: Connection) -> list[Share]:
            rows = conn.execute(query).all()
            scope: dict[UUID, list[UUID]] = {r.id: [] for r in rows}
            if rows:
                for link in conn.execute(
                    select(ShareDocumentRow.share_id, ShareDocumentRow.document_id)
                    .where(ShareDocumentRow.share_id.in_(list(scope)))
                    .order_by(ShareDocumentRow.share_id, ShareDocumentRow.position)
                ):
                    scope[link.share_id].append(link.document_id)
            return [_to_share(r, scope[r.id], now) for r in rows]

        return await self._db.run_query(q)

    async def revoke(self, owner_id: UUID, share_id: UUID, actor: Actor) -> None:
        """Revoke at once: the next request through the link is refused.  Raises
        ``ShareNotFound`` for another owner's or an unknown share; revoking twice is
        harmless."""
        now = utcnow()

        def tx(session: Session) -> None:
            row = session.scalar(
                select(ShareRow)
                .where(ShareRow.id == share_id, ShareRow.owner_id == owner_id)
                .with_for_update()
            )
            if row is None:
                raise ShareNotFound()
            if row.revoked_at is not None:
                return
            row.revoked_at = now
            session.execute(delete(ShareOpeningRow).where(ShareOpeningRow.share_id == row.id))
            audit.record(
                session, owner_id, actor, "share_revoked", detail={"share_id": str(row.id)}
            )

        await self._db.run_write(tx)

    # -- the viewer's side ------------------------------------------------------------

    async def _lookup(self, token: str) -> Any:
        digest = token_digest(token)
        if digest is None:
            raise ShareNotFound()
        query = _share_query().where(ShareRow.token_hash == digest)
        row = await self._db.run_query(lambda conn: conn.execute(query).first())
        if row is None:
            raise ShareNotFound()
        return row

    async def peek(self, token: str) -> Share:
        """The share behind a token without opening it (for a QR image of the link);
        raises ``ShareNotFound`` or ``ShareGone``."""
        row = await self._lookup(token)
        status = status_of(row, utcnow())
        if status != ShareStatus.ACTIVE:
            raise ShareGone(str(status))
        return _to_share(row, [], utcnow())

    def _check_audience(self, row: Any, viewer: Viewer) -> None:
        if row.audience == "agency" and viewer.agency_id != row.audience_agency_id:
            raise ShareAudienceDenied(row.audience_agency or "")

    async def _check_password(self, row: Any, password: str | None) -> None:
        """For a password-protected link: the password must be right (counted per link,
        and the link locked after too many wrong ones)."""
        if row.password_hash is None:
            return
        now = utcnow()
        if row.locked_until is not None and row.locked_until > now:
            raise ShareLocked(int((row.locked_until - now).total_seconds()) + 1)
        if not password:
            raise SharePasswordRequired()
        ok = await verify_password(row.password_hash, password[:MAX_PASSWORD])
        settings = self._settings
        share_id = row.id

        def tx(session: Session) -> int:
            share = session.scalar(
                select(ShareRow).where(ShareRow.id == share_id).with_for_update()
            )
            if share is None:
                raise ShareNotFound()
            if ok:
                share.failed_attempts = 0
                share.locked_until = None
                return settings.password_max_failures
            share.failed_attempts += 1
            left = settings.password_max_failures - share.failed_attempts
            if left <= 0:
                share.failed_attempts = 0
                share.locked_until = now + timedelta(seconds=settings.password_lock_seconds)
            return max(left, 0)

        left = await self._db.run_write(tx)
        if not ok:
            if left == 0:
                raise ShareLocked(settings.password_lock_seconds)
            raise SharePasswordWrong(left)

    def _spend_use(self, conn: Session | Connection, row: Any, now: datetime) -> int:
        """Take one use, atomically with the checks (the losing concurrent openings of a
        used-up link see zero rows updated); returns the new use count."""
        spent = conn.execute(_SPEND_USE, {"share_id": row.id, "now": now}).scalar()
        if spent is None:
            current = conn.execute(_share_query().where(ShareRow.id == row.id)).first()
            if current is None:
                raise ShareNotFound()
            raise ShareGone(str(status_of(current, now)))
        return int(spent)

    def _check_grant(
        self, session: Session | Connection, row: Any, grant: str, now: datetime
    ) -> int:
        """Checks a grant of an opening of this share (and that the share still lives);
        returns the share's use count."""
        digest = token_digest(grant)
        current = session.execute(_share_query().where(ShareRow.id == row.id)).first()
        if current is None:
            raise ShareNotFound()
        status = status_of(current, now)
        if status in (ShareStatus.REVOKED, ShareStatus.EXPIRED):
            raise ShareGone(str(status))
        found = (
            session.scalar(
                select(ShareOpeningRow.id).where(
                    and_(
                        ShareOpeningRow.grant_hash == digest,
                        ShareOpeningRow.share_id == row.id,
                        ShareOpeningRow.expires_at > now,
                    )
                )
            )
            if digest
            else None
        )
        if found is None:
            raise ShareGrantInvalid()
        return int(current.use_count)

    async def open(
        self,
        token: str,
        viewer: Viewer,
        *,
        grant: str | None = None,
        password: str | None = None,
    ) -> SharedView:
        """Open a share (spending one use) or, with a ``grant`` from an earlier opening,
        look at it again.  Raises ``ShareNotFound`` (404), ``ShareGone`` (expired,
        revoked, used up), ``ShareAudienceDenied``, ``SharePasswordRequired``,
        ``SharePasswordWrong``, ``ShareLocked`` or ``ShareGrantInvalid``.

        Openings are group-committed (``sharing.batching``): those that arrive while a
        batch commits are applied together in the next transaction, in arrival order,
        and each caller is answered after that commit."""
        digest = token_digest(token)
        if digest is None:
            raise ShareNotFound()
        if grant is not None:
            return await self._db.run_query(
                lambda conn: self._view_with_grant(conn, digest, viewer, grant)
            )
        try:
            return await self._openings.submit(_Opening(digest, viewer, password_checked=False))
        except _PasswordFirst as first:
            # Note: argon2 is slow, so the password is checked outside any transaction;
            # the opening then queues again, with every check made afresh.
            await self._check_password(first.row, password)
            return await self._openings.submit(_Opening(digest, viewer, password_checked=True))

    def _view_with_grant(
        self, conn: Connection, digest: str, viewer: Viewer, grant: str
    ) -> SharedView:
        row = conn.execute(_share_query().where(ShareRow.token_hash == digest)).first()
        if row is None:
            raise ShareNotFound()
        self._check_audience(row, viewer)
        use_count = self._check_grant(conn, row, grant, utcnow())
        return _view(row, use_count, shared_documents(conn, row.id, row.owner_id), None, None)

    def _apply_openings(
        self, session: Session, batch: Sequence[_Opening]
    ) -> list[SharedView | Exception]:
        """One transaction for a batch of openings: the shares locked (in id order), each
        opening judged in arrival order against the running use count, then the uses,
        grants, audit events (each owner's chain advanced in order) and outbox events
        written with one statement each."""
        conn = session.connection()
        now = utcnow()
        rows = {
            r.token_hash: r
            for r in conn.execute(_LOCK_BY_HASHES, {"digests": sorted({o.digest for o in batch})})
        }
        use_counts: dict[UUID, int] = {}
        documents: dict[UUID, list[Document]] = {}
        grant_ttl = timedelta(seconds=self._settings.grant_ttl_seconds)
        outcomes: list[SharedView | Exception] = []
        grants: list[dict[str, Any]] = []
        entries: dict[UUID, list[audit.Entry]] = {}
        events: list[outbox.Event] = []
        for opening in batch:
            row = rows.get(opening.digest)
            if row is None:
                outcomes.append(ShareNotFound())
                continue
            viewer = opening.viewer
            if row.audience == "agency" and viewer.agency_id != row.audience_agency_id:
                outcomes.append(ShareAudienceDenied(row.audience_agency or ""))
                continue
            if row.password_hash is not None and not opening.password_checked:
                outcomes.append(_PasswordFirst(row))
                continue
            used = use_counts.get(row.id, row.use_count)
            if _revoked(row):
                outcomes.append(ShareGone(str(ShareStatus.REVOKED)))
                continue
            if row.expires_at <= now:
                outcomes.append(ShareGone(str(ShareStatus.EXPIRED)))
                continue
            if row.max_uses is not None and used >= row.max_uses:
                outcomes.append(ShareGone(str(ShareStatus.USED_UP)))
                continue
            use_counts[row.id] = used + 1
            docs = documents.get(row.id)
            if docs is None:
                docs = documents[row.id] = shared_documents(conn, row.id, row.owner_id)
            new_grant = secrets.token_urlsafe(32)  # security: 256 bits, stored hashed
            grant_expires = min(now + grant_ttl, row.expires_at)
            grants.append(
                {
                    "id": uuid7(),
                    "share_id": row.id,
                    "grant_hash": hashlib.sha256(new_grant.encode()).hexdigest(),
                    "opened_at": now,
                    "expires_at": grant_expires,
                    "actor_type": str(viewer.actor.type),
                    "actor_name": viewer.actor.name,
                }
            )
            detail: dict[str, Any] = {
                "share_id": str(row.id),
                "purpose": row.purpose,
                "documents": [str(d.id) for d in docs],
            }
            payload: dict[str, Any] = {
                "share_id": str(row.id),
                "purpose": row.purpose,
                "actor_name": viewer.actor.name,
                "documents": len(docs),
            }
            if row.request_id:
                detail["request_id"] = payload["request_id"] = str(row.request_id)
            entries.setdefault(row.owner_id, []).append(
                audit.Entry(actor=viewer.actor, action="share_opened", detail=detail)
            )
            # Note: an agency-audience link is opened by that agency's own people, so the
            # agency is told too (its webhook); a link for anyone tells only its owner.
            events.append(
                outbox.Event(
                    kind=EventKind.SHARE_OPENED,
                    payload=payload,
                    owner_id=row.owner_id,
                    agency_id=row.audience_agency_id,
                )
            )
            outcomes.append(_view(row, used + 1, docs, new_grant, grant_expires))
        if use_counts:
            conn.execute(
                _SET_USES,
                [{"share_id": k, "uses": v, "now": now} for k, v in use_counts.items()],
            )
            conn.execute(_INSERT_OPENING, grants)
            for owner_id in sorted(entries):
                audit.record_many(conn, owner_id, entries[owner_id])
            outbox.enqueue_many(conn, events)
        return outcomes

    async def open_content(
        self,
        token: str,
        document_id: UUID,
        viewer: Viewer,
        *,
        grant: str | None = None,
        password: str | None = None,
        byte_range_for: Callable[[Document], tuple[int, int] | None] | None = None,
    ) -> ContentStream:
        """Stream one shared document: with a ``grant``, within that opening; without,
        as an opening of its own (spending a use).  The checks run in the transaction
        that reads the document's key.  Raises what ``open`` raises, and
        ``DocumentNotFound`` for a document outside the share (or deleted since)."""
        row = await self._lookup(token)
        self._check_audience(row, viewer)
        if grant is None:
            await self._check_password(row, password)
        byte_range = None
        if byte_range_for is not None:
            doc = await self._scoped_document(row, document_id)
            byte_range = byte_range_for(doc)

        def guard(session: Session) -> None:
            now = utcnow()
            in_scope = session.scalar(
                select(ShareDocumentRow.document_id).where(
                    ShareDocumentRow.share_id == row.id,
                    ShareDocumentRow.document_id == document_id,
                )
            )
            if grant is not None:
                self._check_grant(session, row, grant, now)
            else:
                self._spend_use(session, row, now)
            if in_scope is None:
                raise DocumentNotFound(document_id)

        detail: dict[str, Any] = {"share_id": str(row.id), "purpose": row.purpose}
        if row.request_id:
            detail["request_id"] = str(row.request_id)
        return await self._vault.open_content(
            row.owner_id,
            document_id,
            viewer.actor,
            byte_range=byte_range,
            action="document_downloaded",
            detail=detail,
            guard=guard,
        )

    async def _scoped_document(self, row: Any, document_id: UUID) -> Document:
        def q(conn: Connection) -> Document:
            for doc in shared_documents(conn, row.id, row.owner_id):
                if doc.id == document_id:
                    return doc
            raise DocumentNotFound(document_id)

        return await self._db.run_query(q)


def agency_id_of(session: Session, code: str) -> UUID:
    found = session.scalar(select(AgencyRow.id).where(AgencyRow.code == code))
    if found is None:
        raise AgencyNotFound(code)
    return UUID(str(found))
