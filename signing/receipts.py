"""Deposit receipts: a compact JWS signed with Kho's own service seal.

An agency keeps the receipt as proof of delivery: anyone can check it with the
certificate chain in its header (``x5c``) against the demo root (or the real CA).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio.to_thread
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from signing.service import SigningService

SERVICE_CODE = "KHO-SERVICE"
SERVICE_NAME = "Kho - kho dữ liệu điện tử (dấu của hệ thống)"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DepositReceipts:
    def __init__(self, signing: SigningService) -> None:
        self._signing = signing

    async def issue(self, claims: dict[str, Any]) -> str:
        """A compact JWS (RS256 or ES256) over ``claims``, with the seal's chain in x5c."""
        await self._signing.ready()
        return await anyio.to_thread.run_sync(self._issue, claims)

    def _issue(self, claims: dict[str, Any]) -> str:
        credential = self._signing.agency_credential(SERVICE_CODE, SERVICE_NAME)
        keys = self._signing.key_store
        ecdsa = keys.algorithm(credential.key_id).startswith("ecdsa")
        header = {
            "alg": "ES256" if ecdsa else "RS256",
            "typ": "kho-deposit-receipt+jwt",
            "x5c": [
                base64.b64encode(c).decode("ascii")
                for c in (credential.certificate, *credential.chain)
            ],
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
        )
        signature = keys.sign(
            credential.key_id,
            signing_input.encode("ascii"),
            "sha256_ecdsa" if ecdsa else "sha256_rsa",
        )
        if ecdsa:  # JWS wants r || s, not DER (RFC 7518 §3.4)
            r, s = decode_dss_signature(signature)
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input + "." + _b64url(signature)

    def service_certificate(self) -> asn1_x509.Certificate:
        cred = self._signing.agency_credential(SERVICE_CODE, SERVICE_NAME)
        return asn1_x509.Certificate.load(cred.certificate)
