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

import binascii
import contextlib
import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any, Literal

import msgspec
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfStreamError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel as PyHankoModificationLevel
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
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

Outcome = Literal["ok", "unreadable", "encrypted", "too_complex", "malformed"]
"""``malformed``: the file carries a signature (``/ByteRange``) but does not parse
strictly - no signing program writes such a file, an attacker's editor may."""

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
    """``moment``: the validation time (default: now, in the worker)."""

    pdf: bytes
    material: Material
    moment: datetime | None = None


class SignatureFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What pyHanko found about one ``/Sig`` signature (no judgement)."""

    field_name: str | None = None
    error: str | None = None
    revision: int = 0
    """The revision (0-based) the signature signs."""
    malformed: bool = False
    """The signature dictionary itself is broken (``error`` says how): /Contents or
    /ByteRange missing, empty or inconsistent, or the unsigned gap holding more than
    the /Contents string - the universal-forgery and wrapping attacks."""
    subject: dict[str, str] = msgspec.field(default_factory=dict)
    certificate_sha256: str = ""
    issuer_common_name: str | None = None
    issued_by_sha256: str | None = None
    self_signed: bool = False
    trust_path: tuple[str, ...] = ()
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    problem: str | None = None
    revoked: bool = False
    revocation_date: datetime | None = None
    revocation_unavailable: bool = False
    judged_at: datetime | None = None
    """When the certificate chain was judged: the proven signing time (the signature
    time-stamp) when the certificate has expired or been revoked since, else the
    validation time."""
    revoked_since: bool = False
    """Revoked now (``revocation_date``), but not at the proven signing time."""
    expired_since: bool = False
    """Expired now, but valid at the proven signing time."""
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
    revision: int = 0
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
    data_after_eof: bool = False
    """Bytes after the end of the newest revision (its ``%%EOF``) that belong to no
    revision: a strict reader ignores them, a repairing viewer may show them."""


# -- parsing ------------------------------------------------------------------------------

_PDF_WHITESPACE = b" \n\r\t\f\x00"
_HEX_DIGITS = b"0123456789abcdefABCDEF"


def _read_hex_string(stream: Any) -> generic.ByteStringObject | generic.TextStringObject:
    """pyHanko's ``read_hex_string_from_stream`` without a Python call per character:
    find the closing ``>``, drop whitespace, check the digits, unhexlify.  (A comment
    inside a hex string, which pyHanko would skip, is refused.)"""
    stream.read(1)
    pos = stream.tell()
    parts: list[bytes] = []
    size = 256
    while True:
        block = stream.read(size)
        if not block:
            raise PdfStreamError("Stream has ended unexpectedly")
        end = block.find(b">")
        if end >= 0:
            parts.append(block[:end])
            stream.seek(pos + end + 1)
            break
        parts.append(block)
        pos += len(block)
        size = 65536
    digits = b"".join(parts).translate(None, _PDF_WHITESPACE)
    if digits.translate(None, _HEX_DIGITS):
        raise PdfStreamError("Unexpected token in hex string")
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


def use_fast_hex_strings() -> None:
    """Make pyHanko's parser read hex strings with ``_read_hex_string``.  A signature's
    /Contents is a hex string of tens of kilobytes, and pyHanko reads it one
    character per Python call: about a third of parsing a signed file.  Called in
    sandbox workers only (``verification.sandbox``)."""
    generic.read_hex_string_from_stream = _read_hex_string


# -- validation contexts --------------------------------------------------------------


class _Contexts:
    """One reusable validation context per material key (pyHanko caches path and
    revocation work in it); rebuilt after ``max_uses`` so certificates registered from
    past files do not pile up, and when the validation time asked for is more than
    ``drift`` away from the context's."""

    def __init__(self, max_uses: int = 256, drift: timedelta = timedelta(seconds=30)) -> None:
        self._max_uses = max_uses
        self._drift = drift
        self._key: str | None = None
        self._kwargs: dict[str, Any] = {}
        self._shared: ValidationContext | None = None
        self._uses = 0
        self._dss_contexts = 16
        self._by_dss: OrderedDict[bytes, tuple[ValidationContext, int]] = OrderedDict()

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
            self._by_dss.clear()
        return self._kwargs

    def shared(self, material: Material, moment: datetime) -> ValidationContext:
        kwargs = self.kwargs(material)
        if (
            self._shared is None
            or self._uses >= self._max_uses
            or abs(self._shared.moment - moment) > self._drift
        ):
            self._shared = ValidationContext(moment=moment, **kwargs)
            self._uses = 0
        self._uses += 1
        return self._shared

    def with_dss(
        self, material: Material, dss: DocumentSecurityStore, moment: datetime
    ) -> ValidationContext:
        """A context over ``material`` plus the DSS's certificates, CRLs and OCSP
        responses, shared by every file whose DSS holds exactly the same data (files
        sealed in the same CRL period do), so pyHanko's work on them is done once."""
        kwargs = self.kwargs(material)
        blobs = sorted(
            ref.get_object().data for ref in (*dss.certs.values(), *dss.crls, *dss.ocsps)
        )
        digest = hashlib.sha256(material.key.encode())
        for blob in blobs:
            digest.update(len(blob).to_bytes(8, "big") + blob)
        key = digest.digest()
        found = self._by_dss.get(key)
        if found is not None:
            context, uses = found
            if uses < self._max_uses and abs(context.moment - moment) <= self._drift:
                self._by_dss[key] = (context, uses + 1)
                self._by_dss.move_to_end(key)
                return context
        context = dss.as_validation_context(dict(kwargs, moment=moment))
        self._by_dss[key] = (context, 1)
        self._by_dss.move_to_end(key)
        while len(self._by_dss) > self._dss_contexts:
            self._by_dss.popitem(last=False)
        return context


_CONTEXTS = _Contexts()


def _context(
    material: Material,
    dss: DocumentSecurityStore | None,
    moment: datetime,
    *,
    soft: bool = False,
    past: bool = False,
) -> ValidationContext:
    """A validation context at ``moment``; ``soft``: revocation soft-fail (only to tell
    why a required check failed); ``past``: judging at a proven signing time, where
    revocation data issued later counts (a later CRL that does not list the
    certificate, or lists it revoked after ``moment``, speaks for ``moment`` too)."""
    if not soft and not past:
        if dss is None:
            return _CONTEXTS.shared(material, moment)
        return _CONTEXTS.with_dss(material, dss, moment)
    kwargs = dict(_CONTEXTS.kwargs(material))
    kwargs["moment"] = moment
    if soft:
        # Note: pyHanko's soft-fail accepts a certificate without revocation data but
        # still rejects a revoked one; used only to tell why a required check failed.
        kwargs["revocation_mode"] = "soft-fail"
    if past:
        kwargs["retroactive_revinfo"] = True
    if dss is None:
        return ValidationContext(**kwargs)
    return dss.as_validation_context(kwargs)


# -- the analysis ---------------------------------------------------------------------


async def analyse(request: Request) -> Analysis:
    """Facts about ``request.pdf``; never raises for a bad file (``MemoryError`` and
    ``RecursionError`` give ``too_complex``, anything else unparseable ``unreadable``,
    or ``malformed`` when the file carries a signature)."""
    try:
        return await _analyse(request)
    except (MemoryError, RecursionError, PdfDecodeLimitError) as exc:
        return Analysis(outcome="too_complex", detail=type(exc).__name__)
    except Exception as exc:
        return _unparseable(request.pdf, exc)


def _unparseable(pdf: bytes, exc: Exception) -> Analysis:
    outcome: Outcome = "malformed" if b"/ByteRange" in pdf else "unreadable"
    return Analysis(outcome=outcome, detail=f"{type(exc).__name__}: {exc}"[:500])


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
        return _unparseable(request.pdf, exc)
    active = scan_active_content(reader)
    if active is None:
        return Analysis(outcome="too_complex", detail=f"more than {MAX_OBJECTS} objects")
    embedded, broken = _collect_signatures(reader, request.pdf)
    dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in root else None
    has_revinfo = dss is not None and bool(dss.crls or dss.ocsps)
    signatures: list[SignatureFacts] = []
    timestamps: list[TimestampFacts] = []
    moment = request.moment or datetime.now(UTC)
    for index, sig in enumerate(embedded):
        if sig.sig_object_type == "/DocTimeStamp":
            timestamps.append(await _timestamp(sig, request.material, dss, moment))
            continue
        later_doc_ts = any(s.sig_object_type == "/DocTimeStamp" for s in embedded[index + 1 :])
        signatures.append(
            await _signature(sig, request.material, dss, moment, has_revinfo, later_doc_ts)
        )
    return Analysis(
        outcome="ok",
        signatures=(*signatures, *broken),
        timestamps=tuple(timestamps),
        active_content=active,
        data_after_eof=_data_after_eof(reader, request.pdf),
    )


_HEX_GAP = re.compile(rb"<[0-9A-Fa-f]+>")
_TAIL = re.compile(rb"[\s\x00]*startxref[\s\x00]+(\d+)[\s\x00]*%%EOF[\s\x00]*")


def _collect_signatures(
    reader: PdfFileReader, pdf: bytes
) -> tuple[list[EmbeddedPdfSignature], list[SignatureFacts]]:
    """The well-formed signatures (and document timestamps) in signing order, and facts
    about the broken ones.  pyHanko's own collection trusts the dictionary's shape
    and silently drops unknown ``/SubFilter`` values; this checks both."""
    good: list[EmbeddedPdfSignature] = []
    broken: list[SignatureFacts] = []
    for fq_name, sig_obj, sig_field in enumerate_sig_fields(reader, filled_status=True):
        name = str(fq_name)
        try:
            sig_dict = sig_obj.get_object()
            problem = _structure_problem(sig_dict, pdf)
            if problem is None:
                subfilter = sig_dict.get("/SubFilter")
                if subfilter not in _SUBFILTERS:
                    broken.append(
                        SignatureFacts(field_name=name, error=f"unsupported /SubFilter {subfilter}")
                    )
                    continue
                good.append(EmbeddedPdfSignature(reader, sig_field, name))
                continue
        except (MemoryError, RecursionError, PdfDecodeLimitError):
            raise
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"[:500]
        broken.append(SignatureFacts(field_name=name, error=problem, malformed=True))
    good.sort(key=lambda sig: sig.signed_revision)
    return good, broken


_SUBFILTERS = frozenset(str(sf.value) for sf in SigSeedSubFilter)


def _structure_problem(sig: generic.DictionaryObject, pdf: bytes) -> str | None:
    """Why the signature dictionary ``sig`` cannot be what a signer wrote, or ``None``:
    /ByteRange must be four integers ``[0 b c d]`` with ``0 < b < c`` and ``c + d``
    inside the file, the gap ``b..c`` exactly the hex string of a non-empty, non-zero
    /Contents."""
    try:
        byte_range = sig.raw_get("/ByteRange")
    except KeyError:
        return "no /ByteRange"
    if isinstance(byte_range, generic.IndirectObject):
        return "/ByteRange is an indirect object"
    if not isinstance(byte_range, generic.ArrayObject) or len(byte_range) != 4:
        return "/ByteRange is not four numbers"
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in byte_range):
        return "/ByteRange is not four integers"
    a, b, c, d = (int(n) for n in byte_range)
    if a != 0 or not 0 < b < c or d < 0 or c + d > len(pdf):
        return f"/ByteRange [{a} {b} {c} {d}] does not fit the file"
    try:
        contents = sig.raw_get("/Contents")
    except KeyError:
        return "no /Contents"
    if not isinstance(contents, generic.ByteStringObject | generic.TextStringObject):
        return "/Contents is not a string"
    if not _HEX_GAP.fullmatch(pdf, b, c):
        return "the unsigned gap holds more than the /Contents hex string"
    if not pdf[b + 1 : c - 1].strip(b"0"):
        return "/Contents is empty"
    return None


def _data_after_eof(reader: PdfFileReader, pdf: bytes) -> bool:
    """True when bytes other than whitespace follow the physically last xref section:
    after its xref data only its trailer, ``startxref``, the offset and ``%%EOF`` may
    come.  (The last section in the file, not the newest revision: in a linearized
    file the newest is the first-page xref near the start.)"""
    try:
        xrefs = reader.xrefs
        end = max(
            xrefs.get_xref_container_info(i).end_location for i in range(xrefs.total_revisions)
        )
    except Exception:
        return False
    keyword = pdf.find(b"startxref", end)
    if keyword < 0:
        return True
    between = pdf[end:keyword]
    if b" obj" in between or b"stream" in between.replace(b"endstream", b""):
        return True
    return _TAIL.fullmatch(pdf, keyword) is None


async def _signature(
    sig: EmbeddedPdfSignature,
    material: Material,
    dss: DocumentSecurityStore | None,
    moment: datetime,
    has_revinfo: bool,
    later_doc_ts: bool,
) -> SignatureFacts:
    name = _field_name(sig)
    try:
        status, revocation_unavailable = await _validated(sig, material, dss, moment)
        judged_at, revoked_since, expired_since = moment, False, False
        now_status = status
        proven = _proven_time(status)
        if (
            proven is not None
            and proven < moment
            and not revocation_unavailable
            and (status.revoked or not status.trusted)
        ):
            # Note: ETSI EN 319 102-1 (validation with POE): the signature time-stamp
            # proves the signature existed at ``proven``; the chain is judged there.
            status, revocation_unavailable = await _validated(sig, material, dss, proven, past=True)
            judged_at = proven
            if status.trusted and not status.revoked:
                revoked_since = now_status.revoked
                expired_since = not now_status.revoked
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
    now_revo = now_status.revocation_details
    return SignatureFacts(
        field_name=name,
        revision=sig.signed_revision,
        subject=_subject(cert),
        certificate_sha256=cert.sha256.hex(),
        issuer_common_name=_common_name(cert.issuer),
        issued_by_sha256=path[-2].sha256.hex() if len(path) >= 2 else None,
        self_signed=cert.self_signed != "no",
        trust_path=tuple(c.subject.human_friendly for c in path),
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        problem=_indic(status.trust_problem_indic),
        revoked=status.revoked,
        revocation_date=(
            revo.revocation_date
            if revo is not None
            else now_revo.revocation_date
            if revoked_since and now_revo is not None
            else None
        ),
        revocation_unavailable=revocation_unavailable,
        judged_at=judged_at,
        revoked_since=revoked_since,
        expired_since=expired_since,
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


async def _validated(
    sig: EmbeddedPdfSignature,
    material: Material,
    dss: DocumentSecurityStore | None,
    moment: datetime,
    *,
    past: bool = False,
) -> tuple[PdfSignatureStatus, bool]:
    """pyHanko's status at ``moment`` with revocation required, and whether the only
    problem is missing revocation data (then the soft-fail status is returned)."""
    status = await async_validate_pdf_signature(sig, _context(material, dss, moment, past=past))
    if _chain_failed(status):
        soft = await async_validate_pdf_signature(
            sig, _context(material, dss, moment, soft=True, past=past)
        )
        if soft.trusted and not _chain_failed(soft):
            return soft, True
    return status, False


def _proven_time(status: PdfSignatureStatus) -> datetime | None:
    """The time of a valid, trusted signature time-stamp, if there is one."""
    ts = status.timestamp_validity
    if ts is None or not (ts.intact and ts.valid and ts.trusted):
        return None
    return ts.timestamp


async def _timestamp(
    sig: EmbeddedPdfSignature,
    material: Material,
    dss: DocumentSecurityStore | None,
    moment: datetime,
) -> TimestampFacts:
    try:
        status = await async_validate_pdf_timestamp(sig, _context(material, dss, moment))
        revocation_unavailable = False
        if _chain_failed(status):
            soft = await async_validate_pdf_timestamp(
                sig, _context(material, dss, moment, soft=True)
            )
            if soft.trusted:
                status, revocation_unavailable = soft, True
    except (MemoryError, RecursionError, PdfDecodeLimitError):
        raise
    except Exception as exc:
        return TimestampFacts(ok=False, problem=f"{type(exc).__name__}: {exc}"[:500])
    return TimestampFacts(
        ok=status.intact and status.valid and status.trusted,
        revision=sig.signed_revision,
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
