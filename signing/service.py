"""Kho's own signing capability as one service: the demo PKI (opened lazily), its TSA
and the sealer, plus agency seals of deposits."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio.to_thread

from signing.models import Credential, PadesLevel, PkiSettings
from signing.pades import Sealer
from signing.pki import DemoPki
from signing.tsa import LocalTimeStamper, TimeStampAuthority
from vault.keys import KeyRing


class SigningService:
    """Seals, CRLs and time-stamps of the embedded default's demo PKI.

    The PKI is created on first use (key generation takes a moment), so processes and
    tests that never sign do not pay for it.
    """

    def __init__(self, directory: Path, keyring: KeyRing, settings: PkiSettings) -> None:
        self._directory = directory
        self._keyring = keyring
        self._settings = settings
        self._lock = threading.Lock()
        self._pki: DemoPki | None = None
        self._tsa: TimeStampAuthority | None = None
        self._sealer: Sealer | None = None

    def _open(self) -> tuple[DemoPki, TimeStampAuthority, Sealer]:
        with self._lock:
            if self._pki is None or self._tsa is None or self._sealer is None:
                pki = DemoPki.open(self._directory, self._keyring, self._settings)
                tsa = TimeStampAuthority(pki.key_store, pki.tsa)
                self._sealer = Sealer(
                    pki.key_store,
                    timestamper=LocalTimeStamper(tsa),
                    validation_material=pki.validation_material,
                )
                self._pki, self._tsa = pki, tsa
            return self._pki, self._tsa, self._sealer

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
        self, pdf: bytes, *, agency_code: str, agency_name: str, level: PadesLevel = "B-LT"
    ) -> bytes:
        """Seal ``pdf`` with the agency's seal at ``level`` (an incremental update).

        Raises the ``signing.errors`` types (``PdfEncrypted``, ``PdfMalformed``,
        ``PdfLocked``, ``TimestampUnavailable``, ...); nothing half-signed is returned.
        """
        await self.ready()
        credential = await anyio.to_thread.run_sync(
            self.agency_credential, agency_code, agency_name
        )
        _, _, sealer = self._open()
        return await sealer.seal(
            pdf, credential, level=level, reason="Kết quả giải quyết thủ tục hành chính"
        )

    async def crl(self, ca: str) -> bytes:
        pki = await self.ready()
        return await anyio.to_thread.run_sync(pki.crl, ca)

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
