"""The untrusted part: parse a PDF with pyHanko, scan it for active content and validate
every embedded signature, returning plain facts (``Analysis``).  No verdicts here: the
pipeline turns facts into reasons in the parent process.

This runs inside a sandbox worker (``verification.sandbox``) for files from outside;
``analyse`` never raises for a bad file - every failure to parse becomes an ``Analysis``
with an ``outcome`` other than ``ok``.

security: validation never fetches anything (``allow_fetching=False``); revocation data
comes from ``Material.crls`` (allow-listed CRLs fetched by the parent) and from the
PDF's own DSS.  Revocation is *required*: a certificate without revocation data does
not validate, and a second pass with soft-fail tells "revocation data missing" apart
from every other chain problem.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from io import BytesIO
from typing import Any, Literal

import msgspec
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel as PyHankoModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext

from verification.models import Coverage, ModificationLevel, PadesLevel

Outcome = Literal["ok", "unreadable", "encrypted", "too_complex"]

ACTIVE_NAMES = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/OpenAction",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/RichMedia",
        "/XFA",
        "/AA",
    }
)
"""Names (as keys or values, after ``#xx`` unescaping) that mark active content."""

MAX_OBJECTS = 200_000
"""Objects visited by the active-content scan before the file counts as too complex."""

# Note: pyHanko logs every failed validation with a traceback at WARNING; the outcome is
# in the status we return, so the noise stays out of the worker's stderr.
logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)


class Material(msgspec.Struct, frozen=True, kw_only=True):
    """What to validate against: registry anchors and intermediates, allow-listed CRLs.
    ``key`` names this material (registry version + revocation epoch) so a worker can
    reuse its validation context."""

    key: str
    anchors: tuple[bytes, ...]
    intermediates: tuple[bytes, ...] = ()
    crls: tuple[bytes, ...] = ()


class Request(msgspec.Struct, frozen=True, kw_only=True):
    pdf: bytes
    material: Material


class SignatureFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What pyHanko found about one ``/Sig`` signature (no judgement)."""

    field_name: str | None = None
    error: str | None = None
    subject: dict[str, str] = msgspec.field(default_factory=dict)
    certificate_sha256: str = ""
    issuer_common_name: str | None = None
    issued_by_sha256: str | None = None
    trust_path: tuple[str, ...] = ()
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    problem: str | None = None
    revoked: bool = False
    revocation_date: datetime | None = None
    revocation_unavailable: bool = False
    not_after: datetime | None = None
    signing_time: datetime | None = None
    timestamp_time: datetime | None = None
    timestamp_ok: bool | None = None
    timestamp_intact: bool | None = None
    timestamp_problem: str | None = None
    coverage: Coverage = "partial"
    modification_level: ModificationLevel = "OTHER"
    docmdp_ok: bool | None = None
    level: PadesLevel = "B-B"
    serial: str | None = None
    """The signer certificate's serial (decimal: msgpack carries no 126-bit ints), the OCSP responders its AIA names and the CA
    certificates (DER) of its validated path, anchor first: the parent asks the
    allow-listed responders (``verification.revocation.OcspCache``)."""
    ocsp_urls: tuple[str, ...] = ()
    ca_chain: tuple[bytes, ...] = ()


class TimestampFacts(msgspec.Struct, frozen=True, kw_only=True):
    """A document timestamp (``/DocTimeStamp``, the archive timestamps of B-LTA)."""

    ok: bool
    intact: bool = False
    revocation_unavailable: bool = False
    problem: str | None = None
    time: datetime | None = None
    coverage: Coverage = "partial"
    modification_level: ModificationLevel = "OTHER"


class Analysis(msgspec.Struct, frozen=True, kw_only=True):
    """Facts about one file.  ``outcome`` other than ``ok`` means the file could not be
    analysed (``detail`` says why) and ``signatures`` is empty."""

    outcome: Outcome
    detail: str | None = None
    signatures: tuple[SignatureFacts, ...] = ()
    timestamps: tuple[TimestampFacts, ...] = ()
    active_content: tuple[str, ...] = ()


# -- validation contexts --------------------------------------------------------------


class _Contexts:
    """One reusable validation context per material key (pyHanko caches path and
    revocation work in it); rebuilt after ``max_uses`` so certificates registered from
    past files do not pile up."""

    def __init__(self, max_uses: int = 256) -> None:
        self._max_uses = max_uses
        self._key: str | None = None
        self._kwargs: dict[str, Any] = {}
        self._shared: ValidationContext | None = None
        self._uses = 0

    def kwargs(self, material: Material) -> dict[str, Any]:
        if material.key != self._key:
            self._key = material.key
            self._kwargs = {
                "trust_roots": [asn1_x509.Certificate.load(c) for c in material.anchors],
                "other_certs": [asn1_x509.Certificate.load(c) for c in material.intermediates],
                "crls": [asn1_crl.CertificateList.load(c) for c in material.crls],
                "allow_fetching": False,
                "revocation_mode": "require",
            }
            self._shared = None
        return self._kwargs

    def shared(self, material: Material) -> ValidationContext:
        kwargs = self.kwargs(material)
        if self._shared is None or self._uses >= self._max_uses:
            self._shared = ValidationContext(**kwargs)
            self._uses = 0
        self._uses += 1
        return self._shared


_CONTEXTS = _Contexts()


def _context(
    material: Material, dss: DocumentSecurityStore | None, *, soft: bool = False
) -> ValidationContext:
    if dss is None and not soft:
        return _CONTEXTS.shared(material)
    kwargs = dict(_CONTEXTS.kwargs(material))
    if soft:
        # Note: pyHanko's soft-fail accepts a certificate without revocation data but
        # still rejects a revoked one; used only to tell why a required check failed.
        kwargs["revocation_mode"] = "soft-fail"
    if dss is None:
        return ValidationContext(**kwargs)
    return dss.as_validation_context(kwargs)


# -- the analysis ---------------------------------------------------------------------


async def analyse(request: Request) -> Analysis:
    """Facts about ``request.pdf``; never raises for a bad file (``MemoryError`` and
    ``RecursionError`` give ``too_complex``, anything else unparseable ``unreadable``)."""
    try:
        return await _analyse(request)
    except (MemoryError, RecursionError, PdfDecodeLimitError) as exc:
        return Analysis(outcome="too_complex", detail=type(exc).__name__)
    except Exception as exc:
        return Analysis(outcome="unreadable", detail=f"{type(exc).__name__}: {exc}"[:500])


async def _analyse(request: Request) -> Analysis:
    try:
        reader = PdfFileReader(BytesIO(request.pdf), strict=True)
        if reader.encrypted:
            return Analysis(outcome="encrypted")
        root = reader.root
        _ = root["/Pages"]
    except (MemoryError, RecursionError, PdfDecodeLimitError):
        raise
    except Exception as exc:
        return Analysis(outcome="unreadable", detail=f"{type(exc).__name__}: {exc}"[:500])
    active = scan_active_content(reader)
    if active is None:
        return Analysis(outcome="too_complex", detail=f"more than {MAX_OBJECTS} objects")
    embedded = list(reader.embedded_signatures)
    dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in root else None
    has_revinfo = dss is not None and bool(dss.crls or dss.ocsps)
    signatures: list[SignatureFacts] = []
    timestamps: list[TimestampFacts] = []
    for index, sig in enumerate(embedded):
        if sig.sig_object_type == "/DocTimeStamp":
            timestamps.append(await _timestamp(sig, request.material, dss))
            continue
        later_doc_ts = any(s.sig_object_type == "/DocTimeStamp" for s in embedded[index + 1 :])
        signatures.append(await _signature(sig, request.material, dss, has_revinfo, later_doc_ts))
    return Analysis(
        outcome="ok",
        signatures=tuple(signatures),
        timestamps=tuple(timestamps),
        active_content=active,
    )


async def _signature(
    sig: EmbeddedPdfSignature,
    material: Material,
    dss: DocumentSecurityStore | None,
    has_revinfo: bool,
    later_doc_ts: bool,
) -> SignatureFacts:
    name = _field_name(sig)
    try:
        status = await async_validate_pdf_signature(sig, _context(material, dss))
        revocation_unavailable = False
        if _chain_failed(status):
            soft = await async_validate_pdf_signature(sig, _context(material, dss, soft=True))
            if soft.trusted and not _chain_failed(soft):
                status, revocation_unavailable = soft, True
    except (MemoryError, RecursionError, PdfDecodeLimitError):
        raise
    except Exception as exc:
        return SignatureFacts(field_name=name, error=f"{type(exc).__name__}: {exc}"[:500])
    cert = status.signing_cert
    path = (
        list(status.validation_path.iter_certs(include_root=True))
        if status.validation_path is not None and status.trusted
        else []
    )
    ts = status.timestamp_validity
    level: PadesLevel = "B-B"
    if ts is not None:
        level = "B-T"
        if has_revinfo:
            level = "B-LTA" if later_doc_ts else "B-LT"
    revo = status.revocation_details
    return SignatureFacts(
        field_name=name,
        subject=_subject(cert),
        certificate_sha256=cert.sha256.hex(),
        issuer_common_name=_common_name(cert.issuer),
        issued_by_sha256=path[-2].sha256.hex() if len(path) >= 2 else None,
        trust_path=tuple(c.subject.human_friendly for c in path),
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        problem=_indic(status.trust_problem_indic),
        revoked=status.revoked,
        revocation_date=revo.revocation_date if revo is not None else None,
        revocation_unavailable=revocation_unavailable,
        not_after=cert.not_valid_after,
        signing_time=status.signer_reported_dt,
        timestamp_time=ts.timestamp if ts is not None else None,
        timestamp_ok=(ts.intact and ts.valid and ts.trusted) if ts is not None else None,
        timestamp_intact=(ts.intact and ts.valid) if ts is not None else None,
        timestamp_problem=(_indic(ts.trust_problem_indic) if ts is not None else None),
        coverage=_coverage(status.coverage),
        modification_level=_modification(status),
        docmdp_ok=status.docmdp_ok,
        level=level,
        serial=str(cert.serial_number),
        ocsp_urls=tuple(cert.ocsp_urls),
        ca_chain=tuple(c.dump() for c in path[:-1]),
    )


async def _timestamp(
    sig: EmbeddedPdfSignature, material: Material, dss: DocumentSecurityStore | None
) -> TimestampFacts:
    try:
        status = await async_validate_pdf_timestamp(sig, _context(material, dss))
        revocation_unavailable = False
        if _chain_failed(status):
            soft = await async_validate_pdf_timestamp(sig, _context(material, dss, soft=True))
            if soft.trusted:
                status, revocation_unavailable = soft, True
    except (MemoryError, RecursionError, PdfDecodeLimitError):
        raise
    except Exception as exc:
        return TimestampFacts(ok=False, problem=f"{type(exc).__name__}: {exc}"[:500])
    return TimestampFacts(
        ok=status.intact and status.valid and status.trusted,
        intact=status.intact and status.valid,
        revocation_unavailable=revocation_unavailable,
        problem=_indic(status.trust_problem_indic),
        time=status.timestamp,
        coverage=_coverage(status.coverage),
        modification_level=_modification(status),
    )


def _chain_failed(status: PdfSignatureStatus | DocumentTimestampStatus) -> bool:
    general = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    if _indic(status.trust_problem_indic) == general:
        return True
    ts = getattr(status, "timestamp_validity", None)
    return ts is not None and _indic(ts.trust_problem_indic) == general


def _indic(indication: object) -> str | None:
    """The name of an AdES sub-indication (``NO_CERTIFICATE_CHAIN_FOUND``...)."""
    if indication is None:
        return None
    return str(getattr(indication, "name", indication))


def _field_name(sig: EmbeddedPdfSignature) -> str | None:
    try:
        name = sig.field_name
    except Exception:
        return None
    return str(name) if name is not None else None


def _subject(cert: asn1_x509.Certificate) -> dict[str, str]:
    native = cert.subject.native
    return {k: v for k, v in native.items() if isinstance(v, str)}


def _common_name(name: asn1_x509.Name) -> str | None:
    value = name.native.get("common_name")
    return value if isinstance(value, str) else None


def _coverage(level: SignatureCoverageLevel | None) -> Coverage:
    if level == SignatureCoverageLevel.ENTIRE_FILE:
        return "entire_file"
    if level == SignatureCoverageLevel.ENTIRE_REVISION:
        return "entire_revision"
    return "partial"


def _modification(status: PdfSignatureStatus | DocumentTimestampStatus) -> ModificationLevel:
    level = status.modification_level
    if level is None:
        return "OTHER"
    names: dict[PyHankoModificationLevel, ModificationLevel] = {
        PyHankoModificationLevel.NONE: "NONE",
        PyHankoModificationLevel.LTA_UPDATES: "LTA_UPDATES",
        PyHankoModificationLevel.FORM_FILLING: "FORM_FILLING",
        PyHankoModificationLevel.ANNOTATIONS: "ANNOTATIONS",
    }
    return names.get(level, "OTHER")


# -- active content -------------------------------------------------------------------


def scan_active_content(reader: PdfFileReader) -> tuple[str, ...] | None:
    """Names from ``ACTIVE_NAMES`` found as dictionary keys or name values anywhere in
    the object graph reachable from the trailer (sorted), or ``None`` when the graph has
    more than ``MAX_OBJECTS`` objects.  Walks iteratively (deep nesting cannot exhaust
    the stack) and never decodes stream data except object streams, which the reader
    must decode to find objects.  pyHanko unescapes ``#xx`` in names while parsing, so
    ``/J#61vaScript`` is seen as ``/JavaScript``."""
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer.raw_get("/Root")]
    with contextlib.suppress(KeyError):
        stack.append(reader.trailer.raw_get("/Info"))
    visited = 0
    while stack:
        obj = stack.pop()
        visited += 1
        if visited > MAX_OBJECTS:
            return None
        if isinstance(obj, generic.IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()  # type: ignore[no-untyped-call]
        if isinstance(obj, generic.DictionaryObject):
            for key in obj:
                if key in ACTIVE_NAMES:
                    found.add(str(key))
            stack.extend(_raw_values(obj))
        elif isinstance(obj, generic.ArrayObject):
            stack.extend(obj)
        elif isinstance(obj, generic.NameObject) and obj in ACTIVE_NAMES:
            found.add(str(obj))
    return tuple(sorted(found))


def _raw_values(obj: generic.DictionaryObject) -> Iterator[Any]:
    for key in obj:
        yield obj.raw_get(key)
