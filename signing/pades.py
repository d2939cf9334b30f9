"""PAdES signing with pyHanko: B-B, B-T, B-LT and B-LTA, always as an incremental update.

``seal`` is the low-level function (pyHanko types in, bytes out); ``Sealer`` is the
service the rest of Kho uses: it takes a ``Credential`` and keeps, per credential, a
signer whose key stays in the ``KeyStore`` and a preset signature size, so each seal
signs exactly once (pyHanko otherwise signs a dry run to size the placeholder).

Revocation data for B-LT/B-LTA comes from ``ValidationMaterial`` supplied by the caller
(the demo PKI's CRLs); nothing is fetched over the network while signing.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import msgspec
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.generic import StreamObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError as PyHankoPdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.pdf_embedded import read_certification_data
from pyhanko.stamp import BaseStampStyle, QRStampStyle
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

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


class VisibleStamp(msgspec.Struct, frozen=True, kw_only=True):
    """A visible signature appearance: the signer's name, the signing time and a QR code
    for ``verification_url``, in a box ``(x1, y1, x2, y2)`` (PDF points) on ``page``
    (0-based; negative counts from the end)."""

    verification_url: str
    page: int = 0
    box: tuple[int, int, int, int] = (340, 30, 565, 120)
    heading: str = "Ký số bởi"
    time_label: str = "Thời gian"


class StoreSigner(Signer):
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
        allow_fetching=False,
        revocation_mode="require",
    )


def _open(pdf: bytes) -> IncrementalPdfFileWriter:
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


def _free_field_name(writer: IncrementalPdfFileWriter) -> str:
    taken = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev)}
    n = 1
    while f"Signature{n}" in taken:
        n += 1
    return f"Signature{n}"


@functools.cache
def _font_bytes(path: Path) -> bytes:
    return path.read_bytes()


@dataclasses.dataclass(frozen=True)
class _InMemoryFont(GlyphAccumulatorFactory):
    # Note: pyHanko's factory opens the font file and never closes it; reading it once
    # into memory avoids the leaked handle and the repeated read.
    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: StreamObject | None = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        return GlyphAccumulator(
            writer=writer,
            font_handle=BytesIO(_font_bytes(Path(self.font_file))),
            font_size=self.font_size,
            obj_stream=obj_stream,
        )


def _stamp_style(font: Path, stamp: VisibleStamp) -> BaseStampStyle:
    return QRStampStyle(
        stamp_text=f"{stamp.heading}: %(signer)s\n{stamp.time_label}: %(ts)s",
        text_box_style=TextBoxStyle(font=_InMemoryFont(str(font), font_size=8), font_size=8),
        timestamp_format="%d/%m/%Y %H:%M:%S %Z",
        border_width=1,
        background=None,
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
    writer = _open(pdf)
    name = field_name or _free_field_name(writer)
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
        style = _stamp_style(font, stamp)
        appearance = {"url": stamp.verification_url}
    pdf_signer = signers.PdfSigner(
        meta,
        signer,
        timestamper=timestamper if level != "B-B" else None,
        stamp_style=style,
        new_field_spec=new_field,
    )
    out = BytesIO()
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
    return out.getvalue()


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
    B-LT/B-LTA seal, so CRLs stay fresh) supplies trust roots, certificates and CRLs.
    Signers and their signature sizes are cached per credential."""

    def __init__(
        self,
        key_store: KeyStore,
        *,
        timestamper: TimeStamper | None = None,
        validation_material: Callable[[], ValidationMaterial] | None = None,
        font: Path = DEFAULT_FONT,
    ) -> None:
        self._keys = key_store
        self._timestamper = timestamper
        self._material = validation_material
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
    ) -> bytes:
        """Seal ``pdf`` with ``credential`` at ``level``; see ``seal`` for errors.

        Raises ``TimestampUnavailable`` when B-T or above is asked for without a
        timestamper, and ``RevocationInfoUnavailable`` for B-LT/B-LTA without
        validation material."""
        if level != "B-B" and self._timestamper is None:
            raise TimestampUnavailable(f"no time-stamping authority is configured for {level}")
        vc = None
        if level in ("B-LT", "B-LTA"):
            if self._material is None:
                raise RevocationInfoUnavailable(f"no validation material is configured for {level}")
            vc = validation_context(self._material())
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
