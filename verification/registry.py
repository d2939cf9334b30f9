"""The trust registry: trust anchors, the CAs whose revocation data may be fetched,
issuers (agencies) and what identifies their certificates, document types and which
issuer may issue which type.

A ``TrustRegistry`` is an immutable, versioned value; a ``RegistrySource`` hands out
the current one.  The embedded default and production back the source with the
database (every change bumps ``version``, which keys the verification cache); tests use
``InMemoryRegistrySource``.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

import msgspec

SUBJECT_ATTRIBUTES = (
    "common_name",
    "organization_name",
    "organizational_unit_name",
    "serial_number",
    "country_name",
)
"""Subject attributes an ``IssuerMatch`` may constrain (asn1crypto's names)."""


class DocumentType(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name_vi: str
    name_en: str


DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    DocumentType(code="citizen_id", name_vi="Căn cước công dân", name_en="Citizen identity card"),
    DocumentType(code="birth_certificate", name_vi="Giấy khai sinh", name_en="Birth certificate"),
    DocumentType(
        code="marriage_certificate",
        name_vi="Giấy chứng nhận kết hôn",
        name_en="Marriage certificate",
    ),
    DocumentType(
        code="marital_status",
        name_vi="Giấy xác nhận tình trạng hôn nhân",
        name_en="Certificate of marital status",
    ),
    DocumentType(
        code="judicial_record", name_vi="Phiếu lý lịch tư pháp", name_en="Judicial record"
    ),
    DocumentType(code="driving_licence", name_vi="Giấy phép lái xe", name_en="Driving licence"),
    DocumentType(
        code="residence",
        name_vi="Xác nhận thông tin về cư trú",
        name_en="Confirmation of residence",
    ),
    DocumentType(code="diploma", name_vi="Văn bằng tốt nghiệp", name_en="Diploma"),
    DocumentType(
        code="health_insurance", name_vi="Thẻ bảo hiểm y tế", name_en="Health insurance card"
    ),
    DocumentType(
        code="land_use_right",
        name_vi="Giấy chứng nhận quyền sử dụng đất",
        name_en="Land use right certificate",
    ),
    # added by migration 0009 (papers the seeded procedures need)
    DocumentType(code="birth_notice", name_vi="Giấy chứng sinh", name_en="Medical birth notice"),
    DocumentType(
        code="health_certificate", name_vi="Giấy khám sức khỏe", name_en="Health certificate"
    ),
    DocumentType(
        code="residence_proof",
        name_vi="Giấy tờ chứng minh chỗ ở hợp pháp",
        name_en="Proof of lawful residence",
    ),
    DocumentType(code="portrait_photo", name_vi="Ảnh chân dung", name_en="Portrait photo"),
    DocumentType(
        code="business_household_certificate",
        name_vi="Giấy chứng nhận đăng ký hộ kinh doanh",
        name_en="Business household registration certificate",
    ),
)
"""The seed catalogue of document types."""


def sha256_hex(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


class IssuerMatch(msgspec.Struct, frozen=True, kw_only=True):
    """One way to recognise an issuer's certificate; every field that is set must hold.

    * ``certificate_sha256``: the signing certificate itself (pinning a seal);
    * ``issued_by_sha256``: the certificate of the CA that issued it, as found on the
      *validated* path (so a look-alike from another CA never matches);
    * ``subject``: subject attributes that must be equal (``SUBJECT_ATTRIBUTES``),
      e.g. ``{"organizational_unit_name": "000.00.01.H29"}``.

    A match that constrains nothing would match everyone and is rejected; a subject
    constraint alone is rejected too (anyone trusted could put any name in a subject).
    """

    certificate_sha256: str | None = None
    issued_by_sha256: str | None = None
    subject: dict[str, str] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.certificate_sha256 is None and self.issued_by_sha256 is None:
            # security: names in a subject prove nothing unless tied to one CA or pinned.
            raise ValueError("an issuer match must pin a certificate or an issuing CA")
        unknown = set(self.subject) - set(SUBJECT_ATTRIBUTES)
        if unknown:
            raise ValueError(f"unknown subject attributes {sorted(unknown)}")

    @classmethod
    def issued_by(cls, ca_certificate: bytes, **subject: str) -> IssuerMatch:
        """Certificates issued by ``ca_certificate`` (DER) with these subject attributes,
        e.g. ``IssuerMatch.issued_by(agency_ca, organizational_unit_name=code)``."""
        return cls(issued_by_sha256=sha256_hex(ca_certificate), subject=dict(subject))

    @classmethod
    def pinned(cls, certificate: bytes) -> IssuerMatch:
        return cls(certificate_sha256=sha256_hex(certificate))

    def matches(
        self, *, certificate_sha256: str, issued_by_sha256: str | None, subject: dict[str, str]
    ) -> bool:
        if self.certificate_sha256 is not None and self.certificate_sha256 != certificate_sha256:
            return False
        if self.issued_by_sha256 is not None and self.issued_by_sha256 != issued_by_sha256:
            return False
        return all(subject.get(k) == v for k, v in self.subject.items())


class Issuer(msgspec.Struct, frozen=True, kw_only=True):
    """A registered issuing agency: ``code`` (e.g. ``000.00.01.H29``), its name, what
    identifies its seals and officials, and the document types it may issue."""

    code: str
    name: str
    matches: tuple[IssuerMatch, ...]
    doc_types: frozenset[str] = frozenset()


class TrustRegistry(msgspec.Struct, frozen=True, kw_only=True):
    """Everything verification trusts, at one ``version``.

    * ``anchors``: trust anchors (DER); nothing else is trusted;
    * ``intermediates``: CA certificates (DER) offered for path building (signatures
      usually embed them anyway);
    * ``revocation_urls``: the allow-list - CRL URLs of the registry's own CAs, the
      only URLs verification ever asks a ``RevocationSource`` about; URLs found in a
      PDF are never contacted;
    * ``ocsp_urls``: the allow-listed OCSP responders of the registry's own CAs
      (asked about a signer's certificate only when its AIA names one of them);
    * ``issuers`` and ``document_types``."""

    version: int
    anchors: tuple[bytes, ...]
    intermediates: tuple[bytes, ...] = ()
    revocation_urls: tuple[str, ...] = ()
    ocsp_urls: tuple[str, ...] = ()
    issuers: tuple[Issuer, ...] = ()
    document_types: tuple[DocumentType, ...] = DOCUMENT_TYPES

    def document_type(self, code: str) -> DocumentType | None:
        return next((t for t in self.document_types if t.code == code), None)

    def authorizes(self, agency_code: str, doc_type: str) -> bool:
        """Whether the registered issuer ``agency_code`` may issue ``doc_type``."""
        issuer = next((i for i in self.issuers if i.code == agency_code), None)
        return issuer is not None and doc_type in issuer.doc_types

    def issuer_for(
        self, *, certificate_sha256: str, issued_by_sha256: str | None, subject: dict[str, str]
    ) -> Issuer | None:
        """The issuer one of whose matches fits this (validated) certificate."""
        for issuer in self.issuers:
            for match in issuer.matches:
                if match.matches(
                    certificate_sha256=certificate_sha256,
                    issued_by_sha256=issued_by_sha256,
                    subject=subject,
                ):
                    return issuer
        return None


class RegistrySource(Protocol):
    """Hands out the current trust registry (the lead backs this with the database)."""

    async def current(self) -> TrustRegistry: ...


class InMemoryRegistrySource:
    """A registry held in memory; ``replace`` installs a newer version."""

    def __init__(self, registry: TrustRegistry) -> None:
        self._registry = registry

    async def current(self) -> TrustRegistry:
        return self._registry

    def replace(self, registry: TrustRegistry) -> None:
        if registry.version <= self._registry.version:
            raise ValueError("a replacement registry must have a higher version")
        self._registry = registry
