"""The trust registry in the database: tables, ``RegistryService`` (the operator's CRUD)
and ``DatabaseRegistrySource`` (what the verification pipeline reads).

Every change runs in one transaction that first locks the single ``registry_meta`` row
and, when something actually changed, bumps its ``version``.  Locking first serializes
registry writers on PostgreSQL (SQLite writers are serialized by ``BEGIN IMMEDIATE``),
so the existence checks below never race, and a version number always names exactly
one content of the registry.  Reads never bump.

Multi-process safety: ``DatabaseRegistrySource`` keeps the last ``TrustRegistry`` in
memory and, on every ``current()``, asks the database only ``SELECT version``; it
re-reads the tables when the stored version differs from the cached one.  Another
process's change (CLI, admin API on another node) is therefore seen on the next call,
with no message bus and nothing in one process's memory that another needs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    delete,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from vault.db import Base, Database, UTCDateTime, utcnow
from vault.ids import uuid7
from verification.errors import VerificationError, VerificationUnavailable
from verification.registry import (
    DocumentType,
    Issuer,
    IssuerMatch,
    TrustRegistry,
    sha256_hex,
)

AnchorRole = Literal["anchor", "intermediate"]

_ISSUER_CODE = re.compile(r"[A-Za-z0-9._-]{2,40}")  # the same rule as vault's agency codes
_DOC_TYPE_CODE = re.compile(r"[a-z][a-z0-9_]{1,63}")

# -- tables ---------------------------------------------------------------------------


class RegistryMetaRow(Base):
    """A single row (``id = 1``) holding the registry version."""

    __tablename__ = "registry_meta"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


class TrustAnchorRow(Base):
    """A CA certificate: a trust anchor, or an intermediate offered for path building."""

    __tablename__ = "trust_anchors"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # anchor | intermediate
    certificate: Mapped[bytes] = mapped_column(LargeBinary)  # DER
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the DER
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IssuerRow(Base):
    __tablename__ = "issuers"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # list of IssuerMatch as JSON: {certificate_sha256?, issued_by_sha256?, subject}
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DocumentTypeRow(Base):
    __tablename__ = "document_types"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))


class IssuerDocTypeRow(Base):
    """An authorization: the issuer may issue documents of this type."""

    __tablename__ = "issuer_doc_types"

    issuer_id: Mapped[UUID] = mapped_column(
        ForeignKey("issuers.id", ondelete="CASCADE"), primary_key=True
    )
    doc_type: Mapped[str] = mapped_column(ForeignKey("document_types.code"), primary_key=True)


class RevocationUrlRow(Base):
    """An allow-listed revocation URL of one of the registry's own CAs: a CRL
    (``kind="crl"``) or an OCSP responder (``kind="ocsp"``)."""

    __tablename__ = "revocation_urls"

    url: Mapped[str] = mapped_column(String(500), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(8), server_default="crl", default="crl")


RevocationKind = Literal["crl", "ocsp"]


# -- errors ---------------------------------------------------------------------------


class RegistryError(VerificationError):
    """Base of the trust registry's domain errors (an operator's request that cannot be
    carried out); nothing was changed when one is raised."""


class InvalidCertificate(RegistryError):
    def __init__(self, why: str) -> None:
        super().__init__(f"not a usable X.509 certificate: {why}")
        self.why = why


class InvalidRegistryEntry(RegistryError):
    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field
        self.why = why


class AnchorExists(RegistryError):
    def __init__(self, fingerprint: str) -> None:
        super().__init__(f"certificate {fingerprint} is already in the registry")
        self.fingerprint = fingerprint


class UnknownAnchor(RegistryError):
    def __init__(self, fingerprint: str) -> None:
        super().__init__(f"no certificate with fingerprint {fingerprint} in the registry")
        self.fingerprint = fingerprint


class IssuerExists(RegistryError):
    def __init__(self, code: str) -> None:
        super().__init__(f"issuer {code} is already registered")
        self.code = code


class UnknownIssuer(RegistryError):
    def __init__(self, code: str) -> None:
        super().__init__(f"issuer {code} is not registered")
        self.code = code


class DocumentTypeExists(RegistryError):
    def __init__(self, code: str) -> None:
        super().__init__(f"document type {code} already exists")
        self.code = code


class UnknownDocumentType(RegistryError):
    def __init__(self, code: str) -> None:
        super().__init__(f"document type {code} does not exist")
        self.code = code


class DocumentTypeInUse(RegistryError):
    def __init__(self, code: str, issuers: tuple[str, ...]) -> None:
        super().__init__(
            f"document type {code} is still authorized for {', '.join(issuers)}: deny it first"
        )
        self.code = code
        self.issuers = issuers


class UnknownRevocationUrl(RegistryError):
    def __init__(self, url: str) -> None:
        super().__init__(f"{url} is not an allowed revocation URL")
        self.url = url


# -- values ---------------------------------------------------------------------------


class Anchor(msgspec.Struct, frozen=True, kw_only=True):
    """A registry certificate as the operator sees it."""

    fingerprint: str
    name: str
    role: AnchorRole
    subject: str
    not_after: datetime
    added_at: datetime
    certificate: bytes


def load_certificate(data: bytes) -> bytes:
    """One X.509 certificate as PEM or DER -> its DER; ``InvalidCertificate`` otherwise."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certs = x509.load_pem_x509_certificates(data)
            if len(certs) != 1:
                raise InvalidCertificate(f"expected one certificate, found {len(certs)}")
            cert = certs[0]
        else:
            cert = x509.load_der_x509_certificate(data)
        cert.subject.rfc4514_string()  # Note: forces the names to parse now, not later
    except ValueError as exc:
        raise InvalidCertificate(str(exc) or "unreadable") from None
    return cert.public_bytes(Encoding.DER)


def _anchor(row: TrustAnchorRow) -> Anchor:
    cert = x509.load_der_x509_certificate(row.certificate)
    return Anchor(
        fingerprint=row.fingerprint,
        name=row.name,
        role="intermediate" if row.role == "intermediate" else "anchor",
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        added_at=row.added_at,
        certificate=row.certificate,
    )


def _matches_json(matches: Iterable[IssuerMatch]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = msgspec.to_builtins(tuple(matches))
    return out


def _matches_of(row: IssuerRow) -> tuple[IssuerMatch, ...]:
    return msgspec.convert(row.matches, type=tuple[IssuerMatch, ...])


def _check_name(field: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > 200:
        raise InvalidRegistryEntry(field, "must be 1-200 characters")
    return value


def _check_issuer_code(code: str) -> str:
    if not _ISSUER_CODE.fullmatch(code):
        raise InvalidRegistryEntry("code", "must be 2-40 letters, digits, '.', '_' or '-'")
    return code


def _check_doc_type_code(code: str) -> str:
    if not _DOC_TYPE_CODE.fullmatch(code):
        raise InvalidRegistryEntry(
            "doc_type", "must be 2-64 lower-case letters, digits or '_', starting with a letter"
        )
    return code


def _check_url(url: str) -> str:
    if not re.fullmatch(r"https?://[^\s]{1,490}", url):
        raise InvalidRegistryEntry("url", "must be an http(s) URL of at most 500 characters")
    return url


# -- units of work (sync, over one Session) -------------------------------------------


def _lock(session: Session) -> RegistryMetaRow:
    """Lock the version row: every registry writer goes through here first."""
    return session.execute(
        select(RegistryMetaRow).where(RegistryMetaRow.id == 1).with_for_update()
    ).scalar_one()


def _bump(meta: RegistryMetaRow) -> int:
    meta.version += 1
    return meta.version


def _issuer_row(session: Session, code: str) -> IssuerRow:
    row = session.execute(select(IssuerRow).where(IssuerRow.code == code)).scalar_one_or_none()
    if row is None:
        raise UnknownIssuer(code)
    return row


def _require_doc_types(session: Session, codes: Iterable[str]) -> None:
    wanted = set(codes)
    found = set(
        session.execute(
            select(DocumentTypeRow.code).where(DocumentTypeRow.code.in_(wanted))
        ).scalars()
    )
    for code in sorted(wanted - found):
        raise UnknownDocumentType(code)


def _doc_types_of(session: Session, issuer_id: UUID) -> frozenset[str]:
    return frozenset(
        session.execute(
            select(IssuerDocTypeRow.doc_type).where(IssuerDocTypeRow.issuer_id == issuer_id)
        ).scalars()
    )


def _issuer(session: Session, row: IssuerRow) -> Issuer:
    return Issuer(
        code=row.code,
        name=row.name,
        matches=_matches_of(row),
        doc_types=_doc_types_of(session, row.id),
    )


_VERSION = select(RegistryMetaRow.version)  # built once: every page asks for it


def _version(session: Session | Connection) -> int:
    return int(session.execute(_VERSION).scalar_one())


def load_registry(session: Session) -> TrustRegistry:
    """The whole registry as one ``TrustRegistry`` value.

    Note: on PostgreSQL (READ COMMITTED) each statement sees its own snapshot, so the
    version is read before and after the content; equal versions prove that no change
    committed in between (every change bumps it), else ``_Moved`` asks for a retry.
    """
    before = _version(session)
    certs = session.execute(select(TrustAnchorRow).order_by(TrustAnchorRow.added_at)).scalars()
    anchors: list[bytes] = []
    intermediates: list[bytes] = []
    for cert in certs:
        (intermediates if cert.role == "intermediate" else anchors).append(cert.certificate)
    urls: list[str] = []
    ocsp_urls: list[str] = []
    for url, kind in session.execute(
        select(RevocationUrlRow.url, RevocationUrlRow.kind).order_by(RevocationUrlRow.url)
    ):
        (ocsp_urls if kind == "ocsp" else urls).append(url)
    types = session.execute(select(DocumentTypeRow).order_by(DocumentTypeRow.code)).scalars()
    grants: dict[UUID, set[str]] = {}
    for issuer_id, doc_type in session.execute(
        select(IssuerDocTypeRow.issuer_id, IssuerDocTypeRow.doc_type)
    ):
        grants.setdefault(issuer_id, set()).add(doc_type)
    issuers = tuple(
        Issuer(
            code=row.code,
            name=row.name,
            matches=_matches_of(row),
            doc_types=frozenset(grants.get(row.id, ())),
        )
        for row in session.execute(select(IssuerRow).order_by(IssuerRow.code)).scalars()
    )
    registry = TrustRegistry(
        version=before,
        anchors=tuple(anchors),
        intermediates=tuple(intermediates),
        revocation_urls=tuple(urls),
        ocsp_urls=tuple(ocsp_urls),
        issuers=issuers,
        document_types=tuple(
            DocumentType(code=t.code, name_vi=t.name_vi, name_en=t.name_en) for t in types
        ),
    )
    if _version(session) != before:
        raise _Moved
    return registry


class _Moved(Exception):
    """The registry changed while it was being read."""


# -- the service ----------------------------------------------------------------------


class RegistryService:
    """The operator's view of the trust registry (CLI and admin API).

    Every mutating method runs in one transaction, bumps the version when it changed
    something and raises a ``RegistryError`` (changing nothing) when it cannot be done.
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    # -- reads --------------------------------------------------------------------------

    async def version(self) -> int:
        return await self._db.run_query(_version)

    async def snapshot(self) -> TrustRegistry:
        """The whole registry, consistent at one version."""
        return await _read_registry(self._db)

    async def list_anchors(self) -> list[Anchor]:
        def fn(session: Session) -> list[Anchor]:
            rows = session.execute(
                select(TrustAnchorRow).order_by(TrustAnchorRow.role, TrustAnchorRow.added_at)
            ).scalars()
            return [_anchor(r) for r in rows]

        return await self._db.run_read(fn)

    async def list_issuers(self) -> list[Issuer]:
        return list((await self.snapshot()).issuers)

    async def get_issuer(self, code: str) -> Issuer:
        """``UnknownIssuer`` when not registered."""

        def fn(session: Session) -> Issuer:
            return _issuer(session, _issuer_row(session, code))

        return await self._db.run_read(fn)

    async def list_document_types(self) -> list[DocumentType]:
        def fn(session: Session) -> list[DocumentType]:
            rows = session.execute(select(DocumentTypeRow).order_by(DocumentTypeRow.code))
            return [
                DocumentType(code=r.code, name_vi=r.name_vi, name_en=r.name_en)
                for r in rows.scalars()
            ]

        return await self._db.run_read(fn)

    async def check_document_types(self, codes: Iterable[str]) -> None:
        """Raise ``UnknownDocumentType`` for the first code (sorted) that does not exist."""
        wanted = tuple(codes)
        await self._db.run_read(lambda session: _require_doc_types(session, wanted))

    async def list_revocation_urls(self, kind: RevocationKind | None = None) -> list[str]:
        """Allow-listed URLs, of one ``kind`` or of both."""

        def fn(session: Session) -> list[str]:
            query = select(RevocationUrlRow.url).order_by(RevocationUrlRow.url)
            if kind is not None:
                query = query.where(RevocationUrlRow.kind == kind)
            return list(session.execute(query).scalars())

        return await self._db.run_read(fn)

    # -- anchors ------------------------------------------------------------------------

    async def add_anchor(
        self,
        name: str,
        certificate: bytes,
        *,
        role: AnchorRole = "anchor",
        exist_ok: bool = False,
    ) -> Anchor:
        """Add a certificate (PEM or DER) as a trust anchor or an intermediate.

        Raises ``InvalidCertificate``, ``InvalidRegistryEntry`` and, unless
        ``exist_ok`` (then the stored entry is returned unchanged), ``AnchorExists``.

        # security: an anchor is trusted for everything its key signs; add only CA
        # certificates whose fingerprint was checked out of band.
        """
        name = _check_name("name", name)
        der = load_certificate(certificate)
        fingerprint = sha256_hex(der)
        now = self._clock()

        def fn(session: Session) -> Anchor:
            meta = _lock(session)
            existing = session.execute(
                select(TrustAnchorRow).where(TrustAnchorRow.fingerprint == fingerprint)
            ).scalar_one_or_none()
            if existing is not None:
                if not exist_ok:
                    raise AnchorExists(fingerprint)
                return _anchor(existing)
            row = TrustAnchorRow(
                id=uuid7(),
                name=name,
                role=role,
                certificate=der,
                fingerprint=fingerprint,
                added_at=now,
            )
            session.add(row)
            _bump(meta)
            return _anchor(row)

        return await self._db.run_write(fn)

    async def remove_anchor(self, fingerprint: str) -> None:
        """``UnknownAnchor`` when no certificate has this SHA-256 fingerprint."""
        fingerprint = fingerprint.replace(":", "").lower()

        def fn(session: Session) -> None:
            meta = _lock(session)
            gone = session.execute(
                delete(TrustAnchorRow).where(TrustAnchorRow.fingerprint == fingerprint)
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                raise UnknownAnchor(fingerprint)
            _bump(meta)

        await self._db.run_write(fn)

    # -- issuers ------------------------------------------------------------------------

    async def add_issuer(
        self,
        code: str,
        name: str,
        matches: Iterable[IssuerMatch],
        doc_types: Iterable[str] = (),
    ) -> Issuer:
        """Register an issuer; raises ``IssuerExists``, ``UnknownDocumentType``,
        ``InvalidRegistryEntry`` (bad code or name, no match)."""
        code, name, rules, types = self._issuer_args(code, name, matches, doc_types)
        now = self._clock()

        def fn(session: Session) -> Issuer:
            meta = _lock(session)
            if session.execute(select(IssuerRow.id).where(IssuerRow.code == code)).first():
                raise IssuerExists(code)
            _require_doc_types(session, types)
            row = IssuerRow(id=uuid7(), code=code, name=name, matches=rules, added_at=now)
            session.add(row)
            session.flush()
            session.add_all(IssuerDocTypeRow(issuer_id=row.id, doc_type=t) for t in types)
            _bump(meta)
            return Issuer(code=code, name=name, matches=_matches_of(row), doc_types=types)

        return await self._db.run_write(fn)

    async def register_issuer(
        self,
        code: str,
        name: str,
        matches: Iterable[IssuerMatch],
        doc_types: Iterable[str] = (),
    ) -> Issuer:
        """Make sure the issuer exists with this name, these matches among its matches and
        these document types among its authorizations (idempotent; nothing is removed).
        Raises ``UnknownDocumentType`` and ``InvalidRegistryEntry``."""
        code, name, rules, types = self._issuer_args(code, name, matches, doc_types)
        now = self._clock()

        def fn(session: Session) -> Issuer:
            meta = _lock(session)
            _require_doc_types(session, types)
            row = session.execute(
                select(IssuerRow).where(IssuerRow.code == code)
            ).scalar_one_or_none()
            changed = False
            if row is None:
                row = IssuerRow(id=uuid7(), code=code, name=name, matches=rules, added_at=now)
                session.add(row)
                session.flush()
                changed = True
            else:
                if row.name != name:
                    row.name = name
                    changed = True
                missing = [r for r in rules if r not in row.matches]
                if missing:
                    row.matches = [*row.matches, *missing]
                    changed = True
            for t in sorted(types - _doc_types_of(session, row.id)):
                session.add(IssuerDocTypeRow(issuer_id=row.id, doc_type=t))
                changed = True
            if changed:
                session.flush()
                _bump(meta)
            return _issuer(session, row)

        return await self._db.run_write(fn)

    async def remove_issuer(self, code: str) -> None:
        """Remove the issuer and its authorizations; ``UnknownIssuer``."""

        def fn(session: Session) -> None:
            meta = _lock(session)
            row = _issuer_row(session, code)
            session.execute(delete(IssuerDocTypeRow).where(IssuerDocTypeRow.issuer_id == row.id))
            session.delete(row)
            _bump(meta)

        await self._db.run_write(fn)

    @staticmethod
    def _issuer_args(
        code: str, name: str, matches: Iterable[IssuerMatch], doc_types: Iterable[str]
    ) -> tuple[str, str, list[dict[str, Any]], frozenset[str]]:
        rules = _matches_json(matches)
        if not rules:
            raise InvalidRegistryEntry("matches", "an issuer needs at least one match")
        return _check_issuer_code(code), _check_name("name", name), rules, frozenset(doc_types)

    # -- document types -----------------------------------------------------------------

    async def add_document_type(self, code: str, name_vi: str, name_en: str) -> DocumentType:
        """``DocumentTypeExists``, ``InvalidRegistryEntry``."""
        value = DocumentType(
            code=_check_doc_type_code(code),
            name_vi=_check_name("name_vi", name_vi),
            name_en=_check_name("name_en", name_en),
        )

        def fn(session: Session) -> DocumentType:
            meta = _lock(session)
            if session.get(DocumentTypeRow, value.code) is not None:
                raise DocumentTypeExists(value.code)
            session.add(
                DocumentTypeRow(code=value.code, name_vi=value.name_vi, name_en=value.name_en)
            )
            _bump(meta)
            return value

        return await self._db.run_write(fn)

    async def rename_document_type(
        self, code: str, *, name_vi: str | None = None, name_en: str | None = None
    ) -> DocumentType:
        """Change either name; ``UnknownDocumentType``, ``InvalidRegistryEntry``."""
        vi = None if name_vi is None else _check_name("name_vi", name_vi)
        en = None if name_en is None else _check_name("name_en", name_en)

        def fn(session: Session) -> DocumentType:
            meta = _lock(session)
            row = session.get(DocumentTypeRow, code)
            if row is None:
                raise UnknownDocumentType(code)
            new_vi, new_en = vi or row.name_vi, en or row.name_en
            if (new_vi, new_en) != (row.name_vi, row.name_en):
                row.name_vi, row.name_en = new_vi, new_en
                _bump(meta)
            return DocumentType(code=row.code, name_vi=new_vi, name_en=new_en)

        return await self._db.run_write(fn)

    async def remove_document_type(self, code: str) -> None:
        """``UnknownDocumentType``; ``DocumentTypeInUse`` while an issuer is authorized
        for it (deny first, so removing a type never silently takes rights away)."""

        def fn(session: Session) -> None:
            meta = _lock(session)
            row = session.get(DocumentTypeRow, code)
            if row is None:
                raise UnknownDocumentType(code)
            users = tuple(
                session.execute(
                    select(IssuerRow.code)
                    .join(IssuerDocTypeRow, IssuerDocTypeRow.issuer_id == IssuerRow.id)
                    .where(IssuerDocTypeRow.doc_type == code)
                    .order_by(IssuerRow.code)
                ).scalars()
            )
            if users:
                raise DocumentTypeInUse(code, users)
            session.delete(row)
            _bump(meta)

        await self._db.run_write(fn)

    # -- authorizations -----------------------------------------------------------------

    async def allow(self, issuer: str, doc_type: str) -> bool:
        """Authorize ``issuer`` for ``doc_type``; ``False`` when it already was.
        ``UnknownIssuer``, ``UnknownDocumentType``."""

        def fn(session: Session) -> bool:
            meta = _lock(session)
            row = _issuer_row(session, issuer)
            _require_doc_types(session, (doc_type,))
            if session.get(IssuerDocTypeRow, (row.id, doc_type)) is not None:
                return False
            session.add(IssuerDocTypeRow(issuer_id=row.id, doc_type=doc_type))
            _bump(meta)
            return True

        return await self._db.run_write(fn)

    async def deny(self, issuer: str, doc_type: str) -> bool:
        """Withdraw the authorization; ``False`` when there was none.  ``UnknownIssuer``,
        ``UnknownDocumentType``."""

        def fn(session: Session) -> bool:
            meta = _lock(session)
            row = _issuer_row(session, issuer)
            _require_doc_types(session, (doc_type,))
            gone = session.execute(
                delete(IssuerDocTypeRow).where(
                    IssuerDocTypeRow.issuer_id == row.id, IssuerDocTypeRow.doc_type == doc_type
                )
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                return False
            _bump(meta)
            return True

        return await self._db.run_write(fn)

    # -- revocation URLs ----------------------------------------------------------------

    async def add_revocation_url(self, url: str, kind: RevocationKind = "crl") -> bool:
        """Allow fetching CRLs (``kind="crl"``) from ``url``, or asking the OCSP
        responder there (``kind="ocsp"``); ``False`` when it already was allowed.
        ``InvalidRegistryEntry`` for another kind.

        # security: verification fetches only these URLs; add only the CRL distribution
        # points of the registry's own CAs, never a URL taken from a PDF.
        """
        url = _check_url(url)
        if kind not in ("crl", "ocsp"):
            raise InvalidRegistryEntry("kind", "must be crl or ocsp")
        now = self._clock()

        def fn(session: Session) -> bool:
            meta = _lock(session)
            if session.get(RevocationUrlRow, url) is not None:
                return False
            session.add(RevocationUrlRow(url=url, added_at=now, kind=kind))
            _bump(meta)
            return True

        return await self._db.run_write(fn)

    async def remove_revocation_url(self, url: str) -> None:
        """``UnknownRevocationUrl``."""

        def fn(session: Session) -> None:
            meta = _lock(session)
            row = session.get(RevocationUrlRow, url)
            if row is None:
                raise UnknownRevocationUrl(url)
            session.delete(row)
            _bump(meta)

        await self._db.run_write(fn)


# -- the source the pipeline reads ----------------------------------------------------


async def _read_registry(db: Database, attempts: int = 5) -> TrustRegistry:
    for _ in range(attempts - 1):
        try:
            return await db.run_read(load_registry)
        except _Moved:
            continue
    return await db.run_read(load_registry)


class DatabaseRegistrySource:
    """``RegistrySource`` over the database, cached per version (see the module doc).

    Each ``current()`` costs one ``SELECT version`` on a plain connection; the tables
    are read again only when that differs from the cached registry's version (newer, or
    older after a restore).  Callers that arrive while a read is in flight share the
    next one, which starts after they arrived (so each still sees every change committed
    before its call), instead of reading once each: a burst of share views costs one
    read.  Raises ``VerificationUnavailable`` when the database cannot be read.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._cached: TrustRegistry | None = None
        self.loads = 0  # how many times the tables were read (for metrics and tests)
        self.reads = 0  # how many times the version was read
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[TrustRegistry] | None = None
        self._reader: asyncio.Task[None] | None = None

    def loaded(self, version: int) -> TrustRegistry | None:
        """The registry at ``version`` if it is the one in memory, else None; no query.
        For a caller holding a report checked against ``version`` a moment ago (in the
        same request), whose names and types should be that report's."""
        cached = self._cached
        return cached if cached is not None and cached.version == version else None

    async def current(self) -> TrustRegistry:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): start afresh
            self._loop, self._next, self._reader = loop, None, None
        if self._next is None:
            self._next = loop.create_future()
        waiting = self._next
        if self._reader is None or self._reader.done():
            self._reader = loop.create_task(self._read_for_waiters())
        return await asyncio.shield(waiting)

    async def _read_for_waiters(self) -> None:
        while self._next is not None:
            waiting, self._next = self._next, None
            try:
                waiting.set_result(await self._read())
            except Exception as exc:
                waiting.set_exception(exc)
            except BaseException:
                waiting.cancel()
                raise

    async def _read(self) -> TrustRegistry:
        try:
            self.reads += 1
            version = await self._db.run_query(_version)
            cached = self._cached
            if cached is not None and cached.version == version:
                return cached
            registry = await _read_registry(self._db)
        except (SQLAlchemyError, _Moved) as exc:
            raise VerificationUnavailable(f"the trust registry could not be read ({exc})") from exc
        self.loads += 1
        self._cached = registry
        return registry
