"""Operator tokens: bearer tokens for the trust registry's admin API.

``kho admin token create`` makes one and prints it once; only its SHA-256 is stored
(256 random bits make a plain hash a safe one-way index, as for every Kho token).  A
token has a name (who holds it), scopes (``admin``), an expiry and can be revoked.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
from sqlalchemy import String, Uuid, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from vault.db import Base, Database, UTCDateTime, utcnow
from vault.ids import uuid7
from verification.errors import VerificationError

ADMIN = "admin"
MAX_TTL_DAYS = 366


class OperatorTokenRow(Base):
    __tablename__ = "operator_tokens"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OperatorTokenError(VerificationError):
    """Base of operator-token errors."""


class UnknownOperatorToken(OperatorTokenError):
    def __init__(self, token_id: UUID) -> None:
        super().__init__(f"no operator token {token_id}")
        self.token_id = token_id


class InvalidOperatorToken(OperatorTokenError):
    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field} {why}")
        self.field = field
        self.why = why


class OperatorToken(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class Operator(msgspec.Struct, frozen=True, kw_only=True):
    """Whoever an operator token stands for."""

    token_id: UUID
    name: str
    scopes: frozenset[str]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _value(row: OperatorTokenRow) -> OperatorToken:
    return OperatorToken(
        id=row.id,
        name=row.name,
        scopes=frozenset(row.scopes.split()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class OperatorTokens:
    """Create, list, revoke and check operator tokens."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def create(
        self, name: str, *, ttl_days: int = 90, scopes: frozenset[str] = frozenset({ADMIN})
    ) -> tuple[OperatorToken, str]:
        """A new token for ``name``; the secret is returned once, never stored.
        ``InvalidOperatorToken`` for an empty name, a bad ttl or unknown scopes."""
        name = name.strip()
        if not name or len(name) > 100 or re.search(r"[\x00-\x1f]", name):
            raise InvalidOperatorToken("name", "must be 1 to 100 printable characters")
        if not 1 <= ttl_days <= MAX_TTL_DAYS:
            raise InvalidOperatorToken("ttl_days", f"must be between 1 and {MAX_TTL_DAYS}")
        if not scopes or not scopes <= {ADMIN}:
            raise InvalidOperatorToken("scopes", f"must be {ADMIN!r}")
        secret = "kho_op_" + secrets.token_urlsafe(32)  # security: 256 bits from the OS
        now = self._clock()
        row = OperatorTokenRow(
            id=uuid7(),
            name=name,
            token_hash=_hash(secret),
            scopes=" ".join(sorted(scopes)),
            created_at=now,
            expires_at=now + timedelta(days=ttl_days),
            revoked_at=None,
        )

        def fn(session: Session) -> OperatorToken:
            session.add(row)
            session.flush()
            return _value(row)

        return await self._db.run_write(fn), secret

    async def list(self) -> list[OperatorToken]:
        def fn(session: Session) -> list[OperatorToken]:
            rows = session.execute(
                select(OperatorTokenRow).order_by(OperatorTokenRow.created_at)
            ).scalars()
            return [_value(r) for r in rows]

        return await self._db.run_read(fn)

    async def revoke(self, token_id: UUID) -> None:
        """``UnknownOperatorToken``; revoking twice is fine."""
        now = self._clock()

        def fn(session: Session) -> None:
            row = session.get(OperatorTokenRow, token_id)
            if row is None:
                raise UnknownOperatorToken(token_id)
            session.execute(
                update(OperatorTokenRow)
                .where(OperatorTokenRow.id == token_id, OperatorTokenRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )

        await self._db.run_write(fn)

    async def authenticate(self, token: str) -> Operator | None:
        """The operator, or ``None`` for an unknown, expired or revoked token."""
        if not token.startswith("kho_op_") or len(token) > 200:
            return None
        digest = _hash(token)
        now = self._clock()

        def fn(session: Session) -> Operator | None:
            row = session.execute(
                select(OperatorTokenRow).where(OperatorTokenRow.token_hash == digest)
            ).scalar_one_or_none()
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return None
            return Operator(token_id=row.id, name=row.name, scopes=frozenset(row.scopes.split()))

        return await self._db.run_read(fn)
