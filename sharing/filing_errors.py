"""Errors of procedures and filings; ``api/errors.py`` maps them to problem+json."""

from __future__ import annotations

from uuid import UUID


class FilingError(Exception):
    """Base class of every procedure and filing error."""


class ProcedureNotFound(FilingError):
    def __init__(self, code: str) -> None:
        super().__init__(f"procedure {code!r} not found")
        self.code = code


class FilingNotFound(FilingError):
    """No such filing, or not the caller's (another owner's or another agency's)."""

    def __init__(self, filing_id: UUID | str) -> None:
        super().__init__(f"filing {filing_id} not found")
        self.filing_id = filing_id


class FilingLocked(FilingError):
    """The citizen can change a filing only while it is a draft or needs more info."""

    def __init__(self, status: str) -> None:
        super().__init__(f"a filing in status {status!r} cannot be changed")
        self.status = status


class FilingIncomplete(FilingError):
    """Submission refused: required papers or form fields are missing."""

    def __init__(self, missing_documents: list[str], missing_fields: list[str]) -> None:
        parts = []
        if missing_documents:
            parts.append("papers: " + ", ".join(missing_documents))
        if missing_fields:
            parts.append("form fields: " + ", ".join(missing_fields))
        super().__init__("missing " + "; ".join(parts))
        self.missing_documents = missing_documents
        self.missing_fields = missing_fields


class InvalidTransition(FilingError):
    def __init__(self, current: str, wanted: str, allowed: list[str]) -> None:
        super().__init__(f"a filing cannot go from {current!r} to {wanted!r}")
        self.current = current
        self.wanted = wanted
        self.allowed = allowed


class PaperNotUsable(FilingError):
    """The document cannot serve as this paper (wrong type, revoked, superseded)."""

    def __init__(self, document_id: UUID, why: str) -> None:
        super().__init__(f"document {document_id} cannot be used: {why}")
        self.document_id = document_id
        self.why = why


class ResultUnsigned(FilingError):
    """An agency's result must be a signed PDF (its own signature, or ``sign=true``)."""

    def __init__(self) -> None:
        super().__init__("the result must be a signed PDF: sign it, or send sign=true")
