"""PAdES signing with pyHanko: B-B, B-T, B-LT and B-LTA, always as an incremental update.

``seal`` is the low-level function (pyHanko types in, bytes out); ``Sealer`` is the
service the rest of Kho uses: it takes a ``Credential`` and keeps, per credential, a
signer whose key stays in the ``KeyStore`` and a preset signature size, so each seal
signs exactly once (pyHanko otherwise signs a dry run to size the placeholder).

Revocation data for B-LT/B-LTA comes from ``ValidationMaterial`` supplied by the caller
(the demo PKI's CRLs), completed by a ``RevocationGatherer`` for certificates outside it
(an outside TSA's chain) from allow-listed URLs only; pyHanko itself never fetches.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import segno
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.generic import StreamObject, pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError as PyHankoPdfError
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import (
    CMSAttributeProvider,
    SignedAttributeProviderSpec,
    SigningCertificateV2Provider,
)
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.pdf_embedded import read_certification_data
from pyhanko.stamp import BaseStampStyle, TextStamp, TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathError
from pyhanko_certvalidator.errors import ValidationError as CertValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.errors import (
    FieldInUse,
    PdfEncrypted,
    PdfLocked,
    PdfMalformed,
    RevocationInfoUnavailable,
    SigningError,
    TimestampUnavailable,
)
from signing.keys.api import KeyStore, signature_algorithm_for
from signing.models import PADES_LEVELS, Credential, PadesLevel, ValidationMaterial
from signing.revocation import OutsideTrust, RevocationGatherer

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
STAMP_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class VisibleStamp(msgspec.Struct, frozen=True, kw_only=True):
    """A visible signature appearance: the signer's name, the signing time and a QR code
    for ``verification_url``, in a box ``(x1, y1, x2, y2)`` (PDF points) on ``page``
    (0-based; negative counts from the end)."""

    verification_url: str
    page: int = 0
    box: tuple[int, int, int, int] = (340, 30, 565, 120)
    heading: str = "Ký số bởi"
    time_label: str = "Thời gian"
    signer: str | None = None
    """The name shown; by default the signing certificate's common name."""


@functools.lru_cache(maxsize=256)
def signing_certificate_v2(certificate: bytes) -> tsp.SigningCertificateV2:
    """The signing-certificate-v2 attribute value (SHA-256) for ``certificate`` (DER),
    built once and re-loaded from its DER, so asn1crypto reuses the encoding.

    Note: a freshly built value re-encodes the issuer's name (nested SETs, sorted) on
    every dump; pyHanko builds one per signature, which cost about a third of a seal."""
    cert = asn1_x509.Certificate.load(certificate)
    return tsp.SigningCertificateV2.load(as_signing_certificate_v2(cert, "sha256").dump())


class _CachedSigningCertificate(SigningCertificateV2Provider):
    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        super().__init__(signing_cert)
        self._value = signing_certificate_v2(signing_cert.dump())

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return self._value


class _CachedSigningCertificateSpec(SignedAttributeProviderSpec):
    """pyHanko's signed attributes, with the signing certificate's from the cache."""

    def __init__(self, inner: SignedAttributeProviderSpec, cert: asn1_x509.Certificate) -> None:
        self._inner = inner
        self._provider = _CachedSigningCertificate(cert)

    def signed_attr_providers(
        self, data_digest: bytes, digest_algorithm: str
    ) -> Iterator[CMSAttributeProvider]:
        for provider in self._inner.signed_attr_providers(
            data_digest=data_digest, digest_algorithm=digest_algorithm
        ):
            is_cert = isinstance(provider, SigningCertificateV2Provider)
            yield self._provider if is_cert else provider


class CachedAttributesMixin:
    """For pyHanko ``Signer`` subclasses: the signing-certificate-v2 attribute comes
    from ``signing_certificate_v2``'s cache (same bytes, a fraction of the time)."""

    signing_cert: asn1_x509.Certificate | None

    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> SignedAttributeProviderSpec:
        # Note: pyHanko's (internal) hook that picks the signed-attribute providers.
        spec: SignedAttributeProviderSpec = super()._signed_attr_provider_spec(  # type: ignore[misc]
            *args, **kwargs
        )
        if self.signing_cert is None:
            return spec
        return _CachedSigningCertificateSpec(spec, self.signing_cert)


class StoreSigner(CachedAttributesMixin, Signer):
    """A pyHanko ``Signer`` whose private key stays in a ``KeyStore``."""

    def __init__(self, key_store: KeyStore, credential: Credential) -> None:
        cert = asn1_x509.Certificate.load(credential.certificate)
        chain = [asn1_x509.Certificate.load(c) for c in credential.chain]
        self._keys = key_store
        self._key_id = credential.key_id
        self._key_alg = key_store.algorithm(credential.key_id)
        sig_alg = signature_algorithm_for(self._key_alg, "sha256")
        if self._key_alg.startswith("rsa"):
            self._sig_size: int = cert.public_key.bit_size // 8
        else:
            # Note: a DER ECDSA P-256 signature is at most 72 bytes.
            self._sig_size = 72
        super().__init__(
            signing_cert=cert,
            # Note: the chain only; pyHanko adds the signing certificate itself, and listing
            # it here too would put it in the CMS twice (and overflow the reserved space).
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
            signature_mechanism=SignedDigestAlgorithm({"algorithm": sig_alg}),
        )

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(self._sig_size)
        return self._keys.sign(
            self._key_id, data, signature_algorithm_for(self._key_alg, digest_algorithm)
        )

    def estimate_cms_size(self) -> int:
        """A generous upper bound of the CMS size (DER) without a timestamp token."""
        assert self.signing_cert is not None
        certs: int = len(self.signing_cert.dump()) + sum(len(c.dump()) for c in self.cert_registry)
        # Note: signed attributes (signing cert v2, algorithm protection, ...) and the
        # CMS framing stay well under 1.5 KB.
        return certs + self._sig_size + 1536


def validation_context(material: ValidationMaterial) -> ValidationContext:
    """An offline validation context (no fetching) over ``material``; revocation checks
    are required, so a missing CRL shows up as an error instead of a silent gap."""
    return ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(c) for c in material.trust_roots],
        other_certs=[asn1_x509.Certificate.load(c) for c in material.certificates],
        crls=[asn1_crl.CertificateList.load(c) for c in material.crls],
        ocsps=[asn1_ocsp.OCSPResponse.load(o) for o in material.ocsps],
        allow_fetching=False,
        revocation_mode="require",
    )


def open_pdf(pdf: bytes) -> IncrementalPdfFileWriter:
    """An incremental writer over ``pdf``; raises ``PdfEncrypted`` / ``PdfMalformed``."""
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        if writer.prev.encrypted:
            raise PdfEncrypted()
        _ = writer.prev.root["/Pages"]
    except PdfEncrypted:
        raise
    except (PyHankoPdfError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise PdfMalformed(str(exc) or type(exc).__name__) from None
    try:
        docmdp = read_certification_data(writer.prev)
    except (PyHankoPdfError, PyHankoSigningError, KeyError, ValueError) as exc:
        raise PdfMalformed(f"unreadable certification signature: {exc}") from None
    if docmdp is not None and docmdp.permission == fields.MDPPerm.NO_CHANGES:
        raise PdfLocked(None, "no changes permitted")
    return writer


def free_field_name(writer: IncrementalPdfFileWriter) -> str:
    """The first ``SignatureN`` field name the document does not use yet."""
    taken = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev)}
    n = 1
    while f"Signature{n}" in taken:
        n += 1
    return f"Signature{n}"


@functools.cache
def _font_bytes(path: Path) -> bytes:
    return path.read_bytes()


class _ThousandUnitGlyphs(GlyphAccumulator):
    """A ``GlyphAccumulator`` that measures in 1/1000 em, as PDF glyph space does.

    pyHanko writes the font's own units into ``/W`` and the ``TJ`` adjustments, which PDF
    reads as thousandths of an em: right for 1000-unit fonts, but DejaVu has 2048 units
    per em, so every glyph advanced about twice its width (widely spaced text)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._font_units = self.units_per_em
        self.units_per_em = 1000
        self.hb_font.scale = (1000, 1000)

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        cached = self._glyphs.get(glyph_id)
        if cached is None:
            cid, width = super()._get_cid_and_width(glyph_id)
            cached = self._glyphs[glyph_id] = (cid, round(width * 1000 / self._font_units))
        return cached


@dataclasses.dataclass(frozen=True)
class _InMemoryFont(GlyphAccumulatorFactory):
    # Note: pyHanko's factory opens the font file and never closes it; reading it once
    # into memory avoids the leaked handle and the repeated read.
    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: StreamObject | None = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        return _ThousandUnitGlyphs(
            writer=writer,
            font_handle=BytesIO(_font_bytes(Path(self.font_file))),
            font_size=self.font_size,
            obj_stream=obj_stream,
        )


# Note: pyHanko hands the stamp the signing time formatted with ``timestamp_format``;
# ISO 8601 with an offset parses back exactly, to be shown in Vietnam's time zone.
_ISO_TIME = "%Y-%m-%dT%H:%M:%S%z"
_QR_QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks


@dataclasses.dataclass(frozen=True)
class KhoStampStyle(TextStampStyle):
    """Kho's visible signature: a QR code (segno, drawn as vector rectangles) on the
    left; on the right the signer's name and the signing time (``STAMP_TIMEZONE``,
    dd/mm/yyyy HH:MM) in an embedded font.  Long lines wrap at spaces, and the font
    shrinks (down to ``min_font_size``) until the text fits the box; whatever still
    does not fit is clipped to the box, never drawn outside it."""

    font_file: str = str(DEFAULT_FONT)
    heading: str = "Ký số bởi"
    time_label: str = "Thời gian"
    signer: str | None = None
    max_font_size: float = 8.0
    min_font_size: float = 4.0
    padding: float = 4.0
    line_spacing: float = 1.2
    timestamp_format: str = _ISO_TIME
    border_width: int = 1

    def create_stamp(
        self, writer: BasePdfFileWriter, box: layout.BoxConstraints, text_params: dict[str, Any]
    ) -> KhoStamp:
        return KhoStamp(writer, self, box, dict(text_params))


def qr_matrix(url: str) -> tuple[bytearray, ...]:
    """The QR code's modules for ``url`` (rows top to bottom, 1 = dark), no quiet zone."""
    return tuple(segno.make(url, error="m", micro=False).matrix)


def _qr_ops(url: str, x: float, y: float, side: float) -> bytes:
    """Draw ``url``'s QR code in the square ``(x, y, side)``: a white square (the quiet
    zone) and one path of dark runs, filled at once so no seams show between modules."""
    matrix = qr_matrix(url)
    n = len(matrix)
    module = side / (n + 2 * _QR_QUIET_ZONE)
    ops = [
        b"q 1 g %.3f %.3f %.3f %.3f re f 0 g" % (x, y, side, side),
        b"%.4f 0 0 %.4f %.3f %.3f cm"
        % (module, module, x + _QR_QUIET_ZONE * module, y + _QR_QUIET_ZONE * module),
    ]
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c] & 1:
                start = c
                while c < n and row[c] & 1:
                    c += 1
                ops.append(b"%d %d %d 1 re" % (start, n - 1 - r, c - start))
            else:
                c += 1
    ops.append(b"f Q")
    return b"\n".join(ops)


def _wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy word wrap of ``text`` to ``width``; a word wider than a line is broken
    between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if current and measure(current + char) > width:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines


class KhoStamp(TextStamp):
    """Renders a ``KhoStampStyle`` (see there)."""

    style: KhoStampStyle

    def __init__(
        self,
        writer: BasePdfFileWriter,
        style: KhoStampStyle,
        box: layout.BoxConstraints,
        text_params: dict[str, Any],
    ) -> None:
        super().__init__(writer, style, text_params=text_params, box=box)
        self._params = text_params

    def _time(self) -> str:
        raw = self._params.get("ts")
        try:
            when = datetime.strptime(str(raw), _ISO_TIME)
        except ValueError:
            when = datetime.now(UTC)
        return when.astimezone(STAMP_TIMEZONE).strftime("%d/%m/%Y %H:%M")

    def _render_inner_content(self) -> list[bytes]:
        style = self.style
        width, height, pad = float(self.box.width), float(self.box.height), style.padding
        url = self._params.get("url")
        ops = [b"q 0 0 %g %g re W n" % (width, height)]
        text_x = pad
        if url:
            side = max(0.0, min(height - 2 * pad, width / 2))
            ops.append(_qr_ops(str(url), pad, (height - side) / 2, side))
            text_x += side + pad
        text_width = width - text_x - pad
        text_height = height - 2 * pad

        assert self.writer is not None
        engine = _InMemoryFont(style.font_file).create_font_engine(self.writer)
        signer = style.signer or str(self._params.get("signer") or "")
        paragraphs = [f"{style.heading}: {signer}", f"{style.time_label}: {self._time()}"]
        size = style.max_font_size
        while True:
            engine.font_size = size  # type: ignore[assignment]

            def measure(text: str, size: float = size) -> float:
                return engine.shape(text, with_actual_text=False).x_advance * size

            lines = [line for p in paragraphs for line in _wrap(p, text_width, measure)]
            leading = size * style.line_spacing
            if len(lines) * leading <= text_height or size <= style.min_font_size:
                break
            size = max(style.min_font_size, size - 0.5)

        self.set_resource(
            category=ResourceType.FONT, name=pdf_name("/F1"), value=engine.as_resource()
        )
        # Note: centre the block vertically; a line's baseline sits ~0.24 em (DejaVu's
        # descent) above the bottom of its line box.
        top = (height + min(len(lines) * leading, text_height)) / 2
        ops.append(b"0 g")
        for i, line in enumerate(lines):
            baseline = top - (i + 1) * leading + (leading - size) / 2 + 0.24 * size
            if baseline < pad - 0.24 * size:
                break  # Note: clipped anyway; do not emit text nobody can see.
            shaped = engine.shape(line).graphics_ops
            ops.append(
                b"BT /F1 %g Tf 1 0 0 1 %.3f %.3f Tm %s ET" % (size, text_x, baseline, shaped)
            )
        ops.append(b"Q")
        return ops


def stamp_style(font: Path, stamp: VisibleStamp) -> BaseStampStyle:
    """The style for ``stamp``; pass ``{"url": stamp.verification_url}`` as pyHanko's
    ``appearance_text_params``."""
    return KhoStampStyle(
        font_file=str(font),
        heading=stamp.heading,
        time_label=stamp.time_label,
        signer=stamp.signer,
    )


async def seal(
    pdf: bytes,
    *,
    signer: Signer,
    level: PadesLevel = "B-LT",
    timestamper: TimeStamper | None = None,
    validation_context: ValidationContext | None = None,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    stamp: VisibleStamp | None = None,
    font: Path = DEFAULT_FONT,
    bytes_reserved: int | None = None,
) -> bytes:
    """Sign ``pdf`` at PAdES ``level`` as an incremental update; return the signed PDF,
    whose first ``len(pdf)`` bytes are ``pdf``.

    B-T and above need ``timestamper``; B-LT and B-LTA need ``validation_context``
    (whose CRLs are embedded in the DSS).  ``field_name`` defaults to the first free
    ``SignatureN``.  Raises ``PdfEncrypted``, ``PdfMalformed``, ``PdfLocked``,
    ``FieldInUse``, ``TimestampUnavailable``, ``RevocationInfoUnavailable`` or
    ``SigningError``; on any error nothing is returned, so no half-signed PDF exists."""
    if level not in PADES_LEVELS:
        raise ValueError(f"unknown PAdES level {level!r}")
    if level != "B-B" and timestamper is None:
        raise ValueError(f"{level} needs a timestamper")
    long_term = level in ("B-LT", "B-LTA")
    if long_term and validation_context is None:
        raise ValueError(f"{level} needs a validation context with revocation data")
    writer = open_pdf(pdf)
    name = field_name or free_field_name(writer)
    for existing, sig_obj, _ in fields.enumerate_sig_fields(writer.prev):
        if existing == name and sig_obj is not None:
            raise FieldInUse(name)

    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=long_term,
        use_pades_lta=level == "B-LTA",
        validation_context=validation_context if long_term else None,
        signer_key_usage={"non_repudiation"},
    )
    new_field = None
    style = None
    appearance: dict[str, str] | None = None
    if stamp is not None:
        new_field = fields.SigFieldSpec(sig_field_name=name, on_page=stamp.page, box=stamp.box)
        style = stamp_style(font, stamp)
        appearance = {"url": stamp.verification_url}
    pdf_signer = signers.PdfSigner(
        meta,
        signer,
        timestamper=timestamper if level != "B-B" else None,
        stamp_style=style,
        new_field_spec=new_field,
    )
    out = _PresizedOutput(len(pdf) + _update_margin(bytes_reserved, stamp, long_term))
    try:
        await pdf_signer.async_sign_pdf(
            writer,
            bytes_reserved=bytes_reserved,
            output=out,
            appearance_text_params=appearance,
        )
    except (TimestampRequestError, OSError) as exc:
        # Note: pyHanko's HTTP time-stampers surface connection failures as OSError too.
        raise tsa_failure(exc) from None
    except PyHankoSigningError as exc:
        message = str(exc)
        if "revocation" in message.lower() or "validation" in message.lower():
            raise RevocationInfoUnavailable(message) from None
        raise SigningError(message) from None
    except (PathError, CertValidationError) as exc:
        # Note: B-LT/B-LTA validate every chain they embed, the TSA's included; a TSA
        # whose chain is not in the validation material (an external one) fails here.
        raise RevocationInfoUnavailable(f"{type(exc).__name__}: {exc}") from None
    except PyHankoPdfError as exc:
        raise PdfMalformed(str(exc)) from None
    return out.finish()


def _update_margin(bytes_reserved: int | None, stamp: VisibleStamp | None, long_term: bool) -> int:
    """A generous size for the incremental update: the signature placeholder, the
    signature dictionary and xref, plus the stamp (QR code, font subset) and the DSS."""
    margin = (bytes_reserved or 16_384) + 16_384
    if stamp is not None:
        margin += 65_536
    if long_term:
        margin += 131_072
    return margin


class _PresizedOutput(BytesIO):
    """A ``BytesIO`` whose buffer is allocated once, zero-filled, at ``capacity`` bytes,
    so pyHanko's writes never regrow it (each regrowth over-allocates by 1/8 and may
    copy).  The zeros past what was written stay invisible: ``end`` tracks the furthest
    byte written, and seeking from the end, reading and ``finish`` all stop there."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        # Note: writing past the end makes CPython allocate exactly that much in one go.
        super().seek(capacity)
        super().write(b"\0")
        super().seek(0)
        self.end = 0

    def write(self, data: Any) -> int:
        written = super().write(data)
        self.end = max(self.end, self.tell())
        return written

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 2:
            return super().seek(self.end + offset)
        return super().seek(offset, whence)

    def read(self, size: int | None = -1) -> bytes:
        left = max(0, self.end - self.tell())
        return super().read(left if size is None or size < 0 else min(size, left))

    def read1(self, size: int | None = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        left = max(0, self.end - self.tell())
        return super().readinto(view[:left] if len(view) > left else view)

    def finish(self) -> bytes:
        """The bytes written, handing over the buffer itself where CPython allows (it
        shrinks an unshared buffer in place instead of copying it)."""
        self.truncate(self.end)
        return self.getvalue()


async def tsa_certificates(timestamper: TimeStamper, md_algorithm: str = "sha256") -> list[bytes]:
    """The certificates (DER) in a token from ``timestamper``: the TSA's own and the
    chain it sends (pyHanko caches the dummy token, so this asks the TSA once).  Raises
    ``TimestampUnavailable``."""
    try:
        dummy = await timestamper.async_dummy_response(md_algorithm)
    except (TimestampRequestError, OSError) as exc:
        raise tsa_failure(exc) from None
    certs = dummy["content"]["certificates"]
    return [c.chosen.dump() for c in certs if c.name == "certificate"] if certs else []


async def long_term_material(
    material: ValidationMaterial,
    gatherer: RevocationGatherer | None,
    timestamper: TimeStamper | None,
    signer_certificates: tuple[bytes, ...],
    outside: OutsideTrust | None = None,
) -> ValidationMaterial:
    """``material`` completed (by ``gatherer``) for the signer's chain and the TSA's, as
    a B-LT/B-LTA signature needs; ``material`` itself when there is no gatherer."""
    if gatherer is None:
        return material
    certs = list(signer_certificates)
    if timestamper is not None:
        certs.extend(await tsa_certificates(timestamper))
    return await gatherer.complete(material, certs, outside)


async def token_size(timestamper: TimeStamper, md_algorithm: str = "sha256") -> int:
    """The DER size of a token from ``timestamper`` (one real request, then cached by
    pyHanko).  Raises ``TimestampUnavailable``."""
    try:
        dummy = await timestamper.async_dummy_response(md_algorithm)
    except (TimestampRequestError, OSError) as exc:
        raise tsa_failure(exc) from None
    return len(dummy.dump())


def tsa_failure(exc: BaseException) -> TimestampUnavailable:
    """``TimestampUnavailable`` saying why (pyHanko puts the HTTP cause in ``__cause__``)."""
    cause = exc.__cause__
    detail = f"{exc}: {type(cause).__name__} {cause}".rstrip() if cause else str(exc)
    return TimestampUnavailable(detail or type(exc).__name__)


class Sealer:
    """Seals PDFs with credentials whose keys are in ``key_store``.

    ``timestamper`` serves B-T and above; ``validation_material`` (called once per
    B-LT/B-LTA seal, so CRLs stay fresh) supplies trust roots, certificates and CRLs,
    and ``revocation`` completes it for certificates it does not cover (an outside
    TSA's).  Signers and their signature sizes are cached per credential."""

    def __init__(
        self,
        key_store: KeyStore,
        *,
        timestamper: TimeStamper | None = None,
        validation_material: Callable[[], ValidationMaterial] | None = None,
        revocation: RevocationGatherer | None = None,
        font: Path = DEFAULT_FONT,
    ) -> None:
        self._keys = key_store
        self._timestamper = timestamper
        self._material = validation_material
        self._revocation = revocation
        self._font = font
        self._signers: dict[bytes, StoreSigner] = {}
        self._tst_size: int | None = None

    def signer(self, credential: Credential) -> StoreSigner:
        key = hashlib.sha256(credential.key_id.encode() + credential.certificate).digest()
        cached = self._signers.get(key)
        if cached is None:
            cached = self._signers[key] = StoreSigner(self._keys, credential)
        return cached

    async def _reserve(self, signer: StoreSigner, level: PadesLevel) -> int:
        size = signer.estimate_cms_size()
        if level != "B-B":
            if self._tst_size is None:
                assert self._timestamper is not None
                self._tst_size = await token_size(self._timestamper)
            # Note: an unsigned signature-timestamp attribute wraps the token; 256 bytes
            # cover its framing and a longer serial number or time than the dummy's.
            size += self._tst_size + 256
        # Note: /Contents is hex, two characters per byte; keep the count even.
        return 2 * size + (2 * size) % 2

    async def seal(
        self,
        pdf: bytes,
        credential: Credential,
        *,
        level: PadesLevel = "B-LT",
        field_name: str | None = None,
        reason: str | None = None,
        location: str | None = None,
        stamp: VisibleStamp | None = None,
        outside: OutsideTrust | None = None,
    ) -> bytes:
        """Seal ``pdf`` with ``credential`` at ``level``; see ``seal`` for errors.

        ``outside`` is what the revocation gatherer trusts beyond the validation
        material (read from its ``TrustSource`` when not given).  Raises
        ``TimestampUnavailable`` when B-T or above is asked for without a timestamper,
        and ``RevocationInfoUnavailable`` for B-LT/B-LTA without validation material
        or when a chain's revocation data cannot be gathered."""
        if level != "B-B" and self._timestamper is None:
            raise TimestampUnavailable(f"no time-stamping authority is configured for {level}")
        vc = None
        if level in ("B-LT", "B-LTA"):
            if self._material is None:
                raise RevocationInfoUnavailable(f"no validation material is configured for {level}")
            material = await long_term_material(
                self._material(),
                self._revocation,
                self._timestamper,
                (credential.certificate, *credential.chain),
                outside,
            )
            vc = validation_context(material)
        signer = self.signer(credential)
        reserved = await self._reserve(signer, level)
        return await seal(
            pdf,
            signer=signer,
            level=level,
            timestamper=self._timestamper,
            validation_context=vc,
            field_name=field_name,
            reason=reason,
            location=location,
            stamp=stamp,
            font=self._font,
            bytes_reserved=reserved,
        )
