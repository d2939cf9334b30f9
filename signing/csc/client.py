"""Kho as a CSC API v2 client: a pyHanko ``Signer`` that speaks v2, and a two-step
(interrupted) PAdES signing so no worker waits while a citizen types a PIN.

pyHanko's ``CSCSigner`` speaks CSC v1.0.4.0 (``hash``, ``hashAlgo``, SAD from inside the
signing call).  ``CscSigner`` sends v2 fields (``hashes``, ``hashAlgorithmOID``,
``signAlgo``, ``operationMode`` "S") through any ``CscTransport``.

``CitizenSigning``:

1. ``start`` reads the credential (``credentials/info``), prepares the PDF with pyHanko
   (``PdfSigner.async_digest_doc_for_signing``: field, appearance, placeholder, and for
   B-LT the DSS), computes the CMS signed attributes and returns the hash the citizen
   must authorize, the prepared PDF and a small opaque ``state`` to persist.
2. ``finish`` (PIN and code in hand) gets a SAD for exactly that hash
   (``credentials/authorize``), the signature (``signatures/signHash``), the signature
   time-stamp, and embeds the CMS (``PdfTBSDocument.async_finish_signing``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Awaitable, Callable
from io import BytesIO
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError as PyHankoPdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    PdfTBSDocument,
    SigDSSPlacementPreference,
)
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.csc import wire
from signing.csc.errors import CscUnavailable, SigningStateInvalid
from signing.csc.service import HASH_OID_BY_NAME
from signing.csc.transport import CscTransport
from signing.errors import (
    FieldInUse,
    PdfMalformed,
    RevocationInfoUnavailable,
    SigningError,
    TimestampUnavailable,
)
from signing.models import ValidationMaterial
from signing.pades import (
    DEFAULT_FONT,
    CachedAttributesMixin,
    VisibleStamp,
    free_field_name,
    long_term_material,
    open_pdf,
    stamp_style,
    token_size,
    tsa_failure,
    validation_context,
)
from signing.revocation import RevocationGatherer

CitizenLevel = Literal["B-B", "B-T", "B-LT"]
T = TypeVar("T")
MD_ALGORITHM = "sha256"


class RemoteCredential(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's credential as ``credentials/info`` describes it (DER certificates)."""

    credential_id: str
    certificate: bytes
    chain: tuple[bytes, ...]
    algorithms: tuple[str, ...]
    multisign: int
    scal: str


class CscClient:
    """The CSC v2 calls Kho makes, over ``transport`` (bound to one citizen).

    ``user_id`` is the citizen's ``userID`` at a provider that Kho calls with one
    client-credentials token for everybody (``credentials/list`` needs it there)."""

    def __init__(self, transport: CscTransport, *, user_id: str | None = None) -> None:
        self._transport = transport
        self.user_id = user_id

    async def info(self) -> wire.InfoResponse:
        return _decode(await self._transport.post("info", {}), wire.InfoResponse)

    async def credentials_list(self) -> list[str]:
        req = {"userID": self.user_id} if self.user_id is not None else {}
        body = await self._transport.post("credentials/list", req)
        return _decode(body, wire.CredentialsListResponse).credential_ids

    async def credential(self, credential_id: str) -> RemoteCredential:
        req = wire.CredentialsInfoRequest(credential_id=credential_id, certificates="chain")
        body = await self._transport.post("credentials/info", wire.to_builtins(req))
        info = _decode(body, wire.CredentialInfoResponse)
        certs = [base64.b64decode(c) for c in info.cert.certificates or []]
        if not certs:
            raise CscUnavailable("credentials/info returned no certificate")
        return RemoteCredential(
            credential_id=credential_id,
            certificate=certs[0],
            chain=tuple(certs[1:]),
            algorithms=tuple(info.key.algo),
            multisign=info.multisign,
            scal=info.scal,
        )

    async def authorize(
        self,
        credential_id: str,
        hashes: list[bytes],
        hash_algorithm_oid: str,
        *,
        pin: str,
        otp: str,
    ) -> str:
        """A SAD for exactly ``hashes`` (explicit authorization with PIN and OTP)."""
        req = wire.CredentialsAuthorizeRequest(
            credential_id=credential_id,
            num_signatures=len(hashes),
            hashes=[base64.b64encode(h).decode() for h in hashes],
            hash_algorithm_oid=hash_algorithm_oid,
            auth_data=[wire.AuthDatum(id="PIN", value=pin), wire.AuthDatum(id="OTP", value=otp)],
        )
        body = await self._transport.post("credentials/authorize", wire.to_builtins(req))
        return _decode(body, wire.AuthorizeResponse).sad

    async def sign_hash(
        self,
        credential_id: str,
        sad: str,
        hashes: list[bytes],
        hash_algorithm_oid: str,
        sign_algo: str,
    ) -> list[bytes]:
        req = wire.SignHashRequest(
            credential_id=credential_id,
            sad=sad,
            hashes=[base64.b64encode(h).decode() for h in hashes],
            hash_algorithm_oid=hash_algorithm_oid,
            sign_algo=sign_algo,
            operation_mode="S",
        )
        body = await self._transport.post("signatures/signHash", wire.to_builtins(req))
        signatures = _decode(body, wire.SignHashResponse).signatures
        if len(signatures) != len(hashes):
            raise CscUnavailable(f"asked for {len(hashes)} signatures, got {len(signatures)}")
        return [base64.b64decode(s) for s in signatures]


def _decode(body: dict[str, Any], kind: type[T]) -> T:
    try:
        return wire.convert(body, kind)
    except msgspec.ValidationError as exc:
        raise CscUnavailable(f"unexpected answer: {exc}") from None


Authorize = Callable[[list[bytes], str], Awaitable[str]]
"""``(hashes, hashAlgorithmOID) -> SAD``: how a ``CscSigner`` obtains authorization."""


class _ExternalSigner(CachedAttributesMixin, signers.ExternalSigner):
    pass


@functools.lru_cache(maxsize=1024)
def _certificate(der: bytes) -> asn1_x509.Certificate:
    # Note: one parsed object per certificate, so the properties pyHanko asks for on
    # every signature (key identifier, issuer/serial, hashes) are computed once.
    return asn1_x509.Certificate.load(der)


def _cert_store(credential: RemoteCredential) -> SimpleCertificateStore:
    certs = [_certificate(c) for c in (credential.certificate, *credential.chain)]
    store: SimpleCertificateStore = SimpleCertificateStore.from_certs(certs)  # type: ignore[no-untyped-call]
    return store


class CscSigner(CachedAttributesMixin, Signer):
    """A pyHanko ``Signer`` whose signatures come from ``signatures/signHash`` (CSC v2).

    ``authorize`` is called with the hash about to be signed and must return a SAD for
    it (``CscClient.authorize`` with the citizen's PIN and code).  Works with pyHanko's
    one-shot ``sign_pdf`` as well as with ``CitizenSigning``'s interrupted flow."""

    def __init__(
        self, client: CscClient, credential: RemoteCredential, authorize: Authorize
    ) -> None:
        self._client = client
        self._credential = credential
        self._authorize = authorize
        cert = _certificate(credential.certificate)
        super().__init__(signing_cert=cert, cert_registry=_cert_store(credential))

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(signature_size(self._credential.certificate))
        digest = hashlib.new(digest_algorithm, data).digest()
        hash_oid = HASH_OID_BY_NAME[digest_algorithm]
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        sad = await self._authorize([digest], hash_oid)
        (signature,) = await self._client.sign_hash(
            self._credential.credential_id,
            sad,
            [digest],
            hash_oid,
            mechanism["algorithm"].dotted,
        )
        return signature


def signature_size(certificate: bytes) -> int:
    """Upper bound of a raw signature by this certificate's key (bytes)."""
    key = _certificate(certificate).public_key
    if key.algorithm == "rsa":
        size: int = key.bit_size // 8
        return size
    # Note: a DER ECDSA signature is two integers of the curve size plus framing.
    ec_size: int = 2 * ((key.bit_size + 7) // 8) + 9
    return ec_size


class SigningStart(msgspec.Struct, frozen=True, kw_only=True):
    """What ``start`` hands back.  Persist ``state`` and ``prepared_pdf`` (both needed by
    ``finish``; neither is secret, but ``prepared_pdf`` is the citizen's document), show
    the citizen what they are signing and ask for PIN + code."""

    credential_id: str
    hashes: tuple[bytes, ...]
    hash_algorithm_oid: str
    document_digest: bytes
    state: bytes
    prepared_pdf: bytes


class _State(msgspec.Struct, frozen=True, kw_only=True):
    v: int
    credential: RemoteCredential
    level: CitizenLevel
    md_algorithm: str
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    signed_attrs: bytes


_STATE_ENCODER = msgspec.msgpack.Encoder()
_STATE_DECODER = msgspec.msgpack.Decoder(_State)


class CitizenSigning:
    """Two-step PAdES signing through a CSC v2 provider.

    ``timestamper`` serves B-T and B-LT (the signature time-stamp is taken at ``finish``,
    after the citizen authorized); ``validation_material`` (CRLs, certificates) is
    needed for B-LT, whose DSS is written at ``start``; ``revocation`` completes it for
    certificates it does not cover (a remote provider's CA, an outside TSA)."""

    def __init__(
        self,
        *,
        timestamper: TimeStamper | None = None,
        validation_material: Callable[[], ValidationMaterial] | None = None,
        revocation: RevocationGatherer | None = None,
        font: Path = DEFAULT_FONT,
    ) -> None:
        self._timestamper = timestamper
        self._material = validation_material
        self._revocation = revocation
        self._font = font
        self._tst_size: int | None = None

    async def _reserve(self, credential: RemoteCredential, level: CitizenLevel) -> int:
        certs = len(credential.certificate) + sum(len(c) for c in credential.chain)
        # Note: signed attributes and CMS framing stay well under 1.5 KB.
        size = certs + signature_size(credential.certificate) + 1536
        if level != "B-B":
            assert self._timestamper is not None
            if self._tst_size is None:
                self._tst_size = await token_size(self._timestamper, MD_ALGORITHM)
            size += self._tst_size + 256
        return 2 * size

    async def start(
        self,
        client: CscClient,
        credential_id: str,
        pdf: bytes,
        *,
        level: CitizenLevel = "B-T",
        field_name: str | None = None,
        reason: str | None = None,
        location: str | None = None,
        stamp: VisibleStamp | None = None,
    ) -> SigningStart:
        """Prepare ``pdf`` for a signature by ``credential_id``.

        Raises ``PdfEncrypted``, ``PdfMalformed``, ``PdfLocked``, ``FieldInUse``,
        ``TimestampUnavailable`` (B-T/B-LT without a timestamper),
        ``RevocationInfoUnavailable`` (B-LT without material or with a gap), CSC errors
        from ``credentials/info``."""
        if level != "B-B" and self._timestamper is None:
            raise TimestampUnavailable(f"no time-stamping authority is configured for {level}")
        if level == "B-LT" and self._material is None:
            raise RevocationInfoUnavailable("no validation material is configured for B-LT")
        writer = open_pdf(pdf)
        name = field_name or free_field_name(writer)
        for existing, sig_obj, _ in fields.enumerate_sig_fields(writer.prev):
            if existing == name and sig_obj is not None:
                raise FieldInUse(name)
        credential = await client.credential(credential_id)
        vc = None
        if level == "B-LT":
            assert self._material is not None
            material = await long_term_material(
                self._material(),
                self._revocation,
                self._timestamper,
                (credential.certificate, *credential.chain),
            )
            vc = validation_context(material)
        cert = asn1_x509.Certificate.load(credential.certificate)
        signer = _ExternalSigner(
            signing_cert=cert,
            cert_registry=_cert_store(credential),
            signature_value=signature_size(credential.certificate),
        )
        meta = signers.PdfSignatureMetadata(
            field_name=name,
            md_algorithm=MD_ALGORITHM,
            reason=reason,
            location=location,
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=level == "B-LT",
            validation_context=vc,
            signer_key_usage={"non_repudiation"},
            # Note: the DSS goes into the signed revision at start, so finish needs no
            # post-signing step (whose instructions hold objects that do not serialise).
            dss_settings=DSSContentSettings(
                placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE,
                include_vri=False,
            ),
        )
        new_field = style = appearance = None
        if stamp is not None:
            new_field = fields.SigFieldSpec(sig_field_name=name, on_page=stamp.page, box=stamp.box)
            style = stamp_style(self._font, stamp)
            appearance = {"url": stamp.verification_url}
        pdf_signer = signers.PdfSigner(
            meta,
            signer,
            timestamper=self._timestamper if level != "B-B" else None,
            stamp_style=style,
            new_field_spec=new_field,
        )
        reserved = await self._reserve(credential, level)
        try:
            prepared, _, output = await pdf_signer.async_digest_doc_for_signing(
                writer,
                bytes_reserved=reserved,
                appearance_text_params=appearance,
                output=BytesIO(),
            )
            signed_attrs = await signer.signed_attrs(
                prepared.document_digest, MD_ALGORITHM, use_pades=True
            )
        except TimestampRequestError as exc:
            raise TimestampUnavailable(str(exc)) from None
        except PyHankoSigningError as exc:
            message = str(exc)
            if "revocation" in message.lower() or "validation" in message.lower():
                raise RevocationInfoUnavailable(message) from None
            raise SigningError(message) from None
        except PyHankoPdfError as exc:
            raise PdfMalformed(str(exc)) from None
        attrs_der: bytes = signed_attrs.dump()
        state = _State(
            v=1,
            credential=credential,
            level=level,
            md_algorithm=MD_ALGORITHM,
            document_digest=prepared.document_digest,
            reserved_start=prepared.reserved_region_start,
            reserved_end=prepared.reserved_region_end,
            signed_attrs=attrs_der,
        )
        assert isinstance(output, BytesIO)
        return SigningStart(
            credential_id=credential_id,
            hashes=(hashlib.sha256(attrs_der).digest(),),
            hash_algorithm_oid=HASH_OID_BY_NAME[MD_ALGORITHM],
            document_digest=prepared.document_digest,
            state=_STATE_ENCODER.encode(state),
            prepared_pdf=output.getvalue(),
        )

    async def finish(
        self, client: CscClient, state: bytes, prepared_pdf: bytes, *, pin: str, otp: str
    ) -> bytes:
        """Authorize with ``pin`` and ``otp``, sign and embed; return the signed PDF (an
        incremental update of the original).

        Raises ``SigningStateInvalid`` (state and PDF do not belong together), the CSC
        errors of authorize/signHash (``InvalidPin``, ``InvalidOtp``,
        ``CredentialLocked``, ``InvalidSad`` ...), ``TimestampUnavailable``.  Nothing is
        returned on error, so no half-signed PDF exists."""
        try:
            st = _STATE_DECODER.decode(state)
        except msgspec.DecodeError as exc:
            raise SigningStateInvalid(f"undecodable: {exc}") from None
        if st.v != 1 or not 0 < st.reserved_start < st.reserved_end <= len(prepared_pdf):
            raise SigningStateInvalid("unknown version or reserved region outside the PDF")
        view = memoryview(prepared_pdf)
        md = hashlib.new(st.md_algorithm)
        md.update(view[: st.reserved_start])
        md.update(view[st.reserved_end :])
        if md.digest() != st.document_digest:
            raise SigningStateInvalid("the prepared PDF is not the one this state describes")
        signed_attrs = cms.CMSAttributes.load(st.signed_attrs)
        expected = hashlib.new(st.md_algorithm, st.signed_attrs).digest()

        async def authorize(hashes: list[bytes], hash_oid: str) -> str:
            if hashes != [expected]:
                raise SigningStateInvalid("asked to authorize a hash that was not prepared")
            return await client.authorize(
                st.credential.credential_id, hashes, hash_oid, pin=pin, otp=otp
            )

        signer = CscSigner(client, st.credential, authorize)
        timestamper = self._timestamper if st.level != "B-B" else None
        if st.level != "B-B" and timestamper is None:
            raise TimestampUnavailable(f"no time-stamping authority is configured for {st.level}")
        try:
            signature_cms = await signer.async_sign_prescribed_attributes(
                st.md_algorithm, signed_attrs, timestamper=timestamper
            )
            prepared = PreparedByteRangeDigest(
                document_digest=st.document_digest,
                reserved_region_start=st.reserved_start,
                reserved_region_end=st.reserved_end,
            )
            output = BytesIO(prepared_pdf)
            await PdfTBSDocument.async_finish_signing(output, prepared, signature_cms)
        except (TimestampRequestError, OSError) as exc:
            raise tsa_failure(exc) from None
        except PyHankoSigningError as exc:
            raise SigningError(str(exc)) from None
        return output.getvalue()
