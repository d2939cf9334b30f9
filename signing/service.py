"""Kho's own signing capability as one service: the demo PKI (opened lazily), its TSA
and the sealer, plus agency seals of deposits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import anyio.to_thread
import img2pdf
from pyhanko.sign.timestamps.api import TimeStamper

from signing.csc.client import CitizenSigning
from signing.errors import RevocationInfoUnavailable, ScanUnusable
from signing.keys import KeyStore, SoftwareKeyStore
from signing.models import Credential, PadesLevel, PkiSettings
from signing.pades import Sealer
from signing.pki import DemoPki
from signing.revocation import OutsideTrust, RevocationGatherer
from signing.tsa import LocalTimeStamper, TimeStampAuthority
from vault.keys import KeyRing


class SigningService:
    """Seals, CRLs and time-stamps of the embedded default's demo PKI.

    The PKI is created on first use (key generation takes a moment), so processes and
    tests that never sign do not pay for it.
    """

    def __init__(
        self,
        directory: Path,
        keyring: KeyRing,
        settings: PkiSettings,
        *,
        key_store: KeyStore | None = None,
        timestamper: TimeStamper | None = None,
        revocation: RevocationGatherer | None = None,
    ) -> None:
        """``revocation`` gathers (from allow-listed URLs) what B-LT needs for chains
        outside the demo PKI, e.g. an outside TSA's.  ``timestamper`` (e.g. an ``HttpTimeStamper`` for ``KHO_TSA_URL``) stamps seals
        and citizen signatures; by default the demo PKI's TSA is asked in process.  The
        demo TSA is served at ``/tsa`` either way."""
        self._directory = directory
        self._keyring = keyring
        self._settings = settings
        self.key_store: KeyStore = key_store or SoftwareKeyStore(directory / "keys", keyring)
        self._lock = threading.Lock()
        self._pki: DemoPki | None = None
        self._tsa: TimeStampAuthority | None = None
        self._timestamper = timestamper
        self._revocation = revocation
        self._sealer: Sealer | None = None
        self._citizen: CitizenSigning | None = None

    def _open(self) -> tuple[DemoPki, TimeStampAuthority, Sealer]:
        with self._lock:
            if self._pki is None or self._tsa is None or self._sealer is None:
                pki = DemoPki(self._directory, self.key_store, self._settings)
                pki.ensure()
                tsa = TimeStampAuthority(pki.key_store, pki.tsa)
                timestamper = self._timestamper or LocalTimeStamper(tsa)
                self._sealer = Sealer(
                    pki.key_store,
                    timestamper=timestamper,
                    validation_material=pki.validation_material,
                    revocation=self._revocation,
                )
                self._citizen = CitizenSigning(
                    timestamper=timestamper,
                    validation_material=pki.validation_material,
                    revocation=self._revocation,
                )
                self._pki, self._tsa = pki, tsa
            return self._pki, self._tsa, self._sealer

    def citizen_signing(self) -> CitizenSigning:
        """The CSC client-side signing flow, with this PKI's TSA and revocation data."""
        self._open()
        assert self._citizen is not None
        return self._citizen

    @property
    def pki(self) -> DemoPki:
        return self._open()[0]

    async def ready(self) -> DemoPki:
        """Open (or create) the PKI off the event loop."""
        pki, _, _ = await anyio.to_thread.run_sync(self._open)
        return pki

    def agency_credential(self, code: str, name: str) -> Credential:
        """The agency's seal certificate, issued by the demo agency CA on first use."""
        return self.pki.agency_seal(code, name)

    async def seal_for_agency(
        self,
        pdf: bytes,
        *,
        agency_code: str,
        agency_name: str,
        level: PadesLevel | None = None,
        reason: str = "Kết quả giải quyết thủ tục hành chính",
    ) -> bytes:
        """Seal ``pdf`` with the agency's seal (an incremental update); ``reason`` is
        the signature's stated reason.

        ``level=None`` is the default of DESIGN.md: B-LT, or B-T when no revocation data
        is reachable (e.g. an outside TSA whose chain Kho cannot vouch for); an explicit
        ``level`` is kept or fails.  Raises the ``signing.errors`` types
        (``PdfEncrypted``, ``PdfMalformed``, ``PdfLocked``, ``TimestampUnavailable``,
        ``RevocationInfoUnavailable``...); nothing half-signed is returned.
        """
        await self.ready()
        credential = await anyio.to_thread.run_sync(
            self.agency_credential, agency_code, agency_name
        )
        _, _, sealer = self._open()
        return await _seal(
            sealer,
            pdf,
            credential,
            level,
            reason=reason,
            outside=await self._outside_trust(level),
        )

    async def certify_copy(
        self,
        pages: list[bytes],
        *,
        agency_code: str,
        agency_name: str,
        official_id: str,
        official_name: str,
        level: PadesLevel | None = None,
    ) -> bytes:
        """A certified electronic copy (chứng thực bản sao điện tử từ bản chính): page
        images (JPEG/PNG, embedded losslessly by img2pdf) or one scanned PDF, signed
        with the official's certificate at ``level``.

        Raises ``ScanUnusable`` for images img2pdf cannot embed (e.g. PNG with alpha),
        and the ``signing.errors`` types of sealing.
        """
        await self.ready()
        pdf = pages[0] if len(pages) == 1 and pages[0].startswith(b"%PDF") else None
        if pdf is None:
            pdf = await anyio.to_thread.run_sync(_images_to_pdf, pages)
        credential = await anyio.to_thread.run_sync(
            self.pki.official, agency_code, agency_name, official_id, official_name
        )
        _, _, sealer = self._open()
        return await _seal(
            sealer,
            pdf,
            credential,
            level,
            reason="Chứng thực bản sao điện tử từ bản chính",
            outside=await self._outside_trust(level),
        )

    async def _outside_trust(self, level: PadesLevel | None) -> OutsideTrust:
        """What B-LT/B-LTA may rely on beyond the demo PKI, read on the caller's loop:
        seals run on an event loop of their own (``_off_loop``), where the database pool
        of the server's loop is not usable.  Only an outside TSA needs it (agency and
        official credentials come from the demo PKI, whose CRLs are in process); for
        the default level a failure here just means B-T."""
        if level in ("B-B", "B-T") or self._revocation is None or self._timestamper is None:
            return OutsideTrust()
        try:
            return await self._revocation.outside_trust()
        except RevocationInfoUnavailable:
            if level is None:
                return OutsideTrust()
            raise

    async def crl(self, ca: str) -> bytes:
        pki = await self.ready()
        return await anyio.to_thread.run_sync(pki.crl, ca)

    async def ocsp(self, ca: str, request: bytes) -> bytes:
        """The CA's OCSP answer (DER) to a DER ``OCSPRequest`` (see ``DemoPki.ocsp``)."""
        pki = await self.ready()
        return await anyio.to_thread.run_sync(pki.ocsp, ca, request)

    async def ca_certificate(self, ca: str) -> bytes:
        pki = await self.ready()
        return pki.ca_certificate(ca)

    async def timestamp(self, request: bytes) -> bytes:
        """An RFC 3161 answer (granted or rejection) to a DER ``TimeStampReq``."""
        await self.ready()
        _, tsa, _ = self._open()
        return await anyio.to_thread.run_sync(tsa.respond, request)

    def export_root_pem(self) -> str:
        return self.pki.export_root_pem()


def _images_to_pdf(pages: list[bytes]) -> bytes:
    try:
        out = img2pdf.convert(pages, rotation=img2pdf.Rotation.ifvalid)
    except (img2pdf.ImageOpenError, img2pdf.AlphaChannelError, ValueError, OSError) as exc:
        raise ScanUnusable(str(exc)) from None
    assert isinstance(out, bytes)
    return out


async def _seal(
    sealer: Sealer,
    pdf: bytes,
    credential: Credential,
    level: PadesLevel | None,
    *,
    reason: str,
    outside: OutsideTrust,
) -> bytes:
    """Seal at ``level``; ``None`` is DESIGN.md's default: B-LT, or B-T where no
    revocation data is reachable."""
    if level is not None:
        return await _off_loop(
            sealer.seal, pdf, credential, level=level, reason=reason, outside=outside
        )
    try:
        return await _off_loop(
            sealer.seal, pdf, credential, level="B-LT", reason=reason, outside=outside
        )
    except RevocationInfoUnavailable:
        return await _off_loop(sealer.seal, pdf, credential, level="B-T", reason=reason)


async def _off_loop(
    fn: Callable[..., Coroutine[Any, Any, bytes]], *args: Any, **kwargs: Any
) -> bytes:
    """Run a CPU-bound pyHanko coroutine (sealing: tens of ms of hashing and signing) on
    an event loop of its own in a worker thread, so the server's loop stays free."""

    def run() -> bytes:
        return asyncio.run(fn(*args, **kwargs))

    return await anyio.to_thread.run_sync(run)
