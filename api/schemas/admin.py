"""Wire schemas of the trust registry's admin API (``/api/v1/admin/registry``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from asn1crypto import pem

from verification.registry import DocumentType, Issuer, IssuerMatch
from verification.registry_db import Anchor

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class RegistryVersion(msgspec.Struct, kw_only=True):
    """The registry version after the change (every change bumps it)."""

    version: int


class AnchorOut(msgspec.Struct, kw_only=True):
    fingerprint: str
    name: str
    role: Literal["anchor", "intermediate"]
    subject: str
    not_after: datetime
    added_at: datetime
    pem: str

    @classmethod
    def from_domain(cls, a: Anchor) -> AnchorOut:
        return cls(
            fingerprint=a.fingerprint,
            name=a.name,
            role=a.role,
            subject=a.subject,
            not_after=a.not_after,
            added_at=a.added_at,
            pem=pem.armor("CERTIFICATE", a.certificate).decode("ascii"),
        )


class AnchorList(msgspec.Struct, kw_only=True):
    items: list[AnchorOut]
    version: int


class AnchorCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A CA certificate (PEM): ``anchor`` is trusted; ``intermediate`` is only offered
    for path building."""

    name: Name
    pem: Annotated[str, msgspec.Meta(min_length=1, max_length=64 * 1024)]
    role: Literal["anchor", "intermediate"] = "anchor"


class AnchorCreated(msgspec.Struct, kw_only=True):
    anchor: AnchorOut
    version: int


class IssuerMatchWire(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What identifies the issuer's certificates: pinned (``certificate_sha256``) or
    issued by a CA (``issued_by_sha256``), with subject attributes that must be equal."""

    certificate_sha256: str | None = None
    issued_by_sha256: str | None = None
    subject: dict[str, str] = msgspec.field(default_factory=dict)

    @classmethod
    def from_domain(cls, m: IssuerMatch) -> IssuerMatchWire:
        return cls(
            certificate_sha256=m.certificate_sha256,
            issued_by_sha256=m.issued_by_sha256,
            subject=dict(m.subject),
        )


class IssuerOut(msgspec.Struct, kw_only=True):
    code: str
    name: str
    doc_types: list[str]
    matches: list[IssuerMatchWire]

    @classmethod
    def from_domain(cls, i: Issuer) -> IssuerOut:
        return cls(
            code=i.code,
            name=i.name,
            doc_types=sorted(i.doc_types),
            matches=[IssuerMatchWire.from_domain(m) for m in i.matches],
        )


class IssuerList(msgspec.Struct, kw_only=True):
    items: list[IssuerOut]
    version: int


class IssuerCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """As ``kho registry issuers add``: the CA that issues its seals (``issued_by_ca_pem``,
    optionally with the ``ou`` its subjects carry), or explicit ``matches``."""

    code: Code
    name: Name
    issued_by_ca_pem: str | None = None
    ou: str | None = None
    matches: list[IssuerMatchWire] = msgspec.field(default_factory=list)
    doc_types: list[str] = msgspec.field(default_factory=list)


class IssuerCreated(msgspec.Struct, kw_only=True):
    issuer: IssuerOut
    version: int


class DocumentTypeOut(msgspec.Struct, kw_only=True):
    code: str
    name_vi: str
    name_en: str

    @classmethod
    def from_domain(cls, t: DocumentType) -> DocumentTypeOut:
        return cls(code=t.code, name_vi=t.name_vi, name_en=t.name_en)


class DocumentTypeList(msgspec.Struct, kw_only=True):
    items: list[DocumentTypeOut]
    version: int


class DocumentTypeCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name_vi: Name
    name_en: Name


class DocumentTypeRename(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name_vi: Name
    name_en: Name


class DocumentTypeChanged(msgspec.Struct, kw_only=True):
    document_type: DocumentTypeOut
    version: int


class Authorization(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``issuer`` (agency code) may issue ``doc_type``."""

    issuer: Code
    doc_type: Code


class AuthorizationChanged(msgspec.Struct, kw_only=True):
    """``changed``: false when it already was so (the version is then unchanged)."""

    issuer: str
    doc_type: str
    allowed: bool
    changed: bool
    version: int


class RevocationUrlCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An allow-listed CRL (``crl``) or OCSP responder (``ocsp``) of the registry's own
    CAs; verification contacts no other URL."""

    url: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    kind: Literal["crl", "ocsp"] = "crl"


class RevocationUrls(msgspec.Struct, kw_only=True):
    crl: list[str]
    ocsp: list[str]
    version: int


class RevocationUrlChanged(msgspec.Struct, kw_only=True):
    url: str
    changed: bool
    version: int
