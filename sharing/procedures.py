"""The procedure catalogue: what each administrative procedure needs, who receives it,
and its e-form."""

from __future__ import annotations

import enum
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.engine import Connection

from sharing.filing_errors import ProcedureNotFound
from sharing.filing_tables import ProcedureRow
from vault.db import Database


class FieldType(enum.StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    DATE = "date"
    NUMBER = "number"
    SELECT = "select"
    EMAIL = "email"
    TEL = "tel"


class Prefill(enum.StrEnum):
    """Owner profile attributes an e-form field can be prefilled from."""

    NAME = "name"
    PERSONAL_ID = "personal_id"


class FormField(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    label_vi: str
    label_en: str
    type: FieldType = FieldType.TEXT
    required: bool = True
    prefill: Prefill | None = None
    options: tuple[str, ...] = ()


class Procedure(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name_vi: str
    name_en: str
    agency_code: str
    required_types: tuple[str, ...]
    optional_types: tuple[str, ...]
    form: tuple[FormField, ...]
    result_type: str | None = None

    def accepts(self, doc_type: str) -> bool:
        return doc_type in self.required_types or doc_type in self.optional_types


def procedure_from(row: Any) -> Procedure:
    """A ``Procedure`` from a ``procedures`` row (ORM or Core)."""
    return Procedure(
        code=row.code,
        name_vi=row.name_vi,
        name_en=row.name_en,
        agency_code=row.agency_code,
        required_types=tuple(row.required_types),
        optional_types=tuple(row.optional_types),
        form=msgspec.convert(row.form, tuple[FormField, ...]),
        result_type=row.result_type,
    )


_procedures = ProcedureRow.__table__
_ACTIVE = select(_procedures).where(_procedures.c.active.is_(True))


def load_procedure(conn: Connection, code: str) -> Procedure | None:
    row = conn.execute(_ACTIVE.where(_procedures.c.code == code)).first()
    return procedure_from(row) if row is not None else None


class ProcedureCatalogue:
    """Reads the catalogue (seeded by migration 0009)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def list(self) -> list[Procedure]:
        q = _ACTIVE.order_by(_procedures.c.position, _procedures.c.code)
        return await self._db.run_query(lambda conn: [procedure_from(r) for r in conn.execute(q)])

    async def get(self, code: str) -> Procedure:
        """Raises ``ProcedureNotFound``."""

        def find(conn: Connection) -> Procedure:
            found = load_procedure(conn, code)
            if found is None:
                raise ProcedureNotFound(code)
            return found

        return await self._db.run_query(find)
