"""The demo PKI's public endpoints: CA certificates, CRLs, OCSP and the RFC 3161 TSA."""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from api.deps import Signing
from api.errors import ApiProblem
from signing import CA_NAMES

_MEDIA = {"crl": "application/pkix-crl", "crt": "application/pkix-cert"}
MAX_TSA_REQUEST = 64 * 1024
MAX_OCSP_REQUEST = 16 * 1024
_OCSP_HEADERS = {"Cache-Control": "no-cache"}


def _ca(ca: str) -> str:
    if ca not in CA_NAMES:
        raise ApiProblem(404, "not-found", "Not found")
    return ca


class PkiController(Controller):
    path = "/"
    tags = ["pki"]

    @get("/pki/{filename:str}", operation_id="GetPkiFile", cache=300)
    async def pki_file(self, signing: Signing, filename: FromPath[str]) -> Response[bytes]:
        """``{ca}.crl`` (the CA's current CRL) or ``{ca}.crt`` (its certificate, DER),
        for ``ca`` in root, agency-ca, citizen-ca: the URLs certificates point to."""
        ca, _, ext = filename.rpartition(".")
        if ca not in CA_NAMES or ext not in _MEDIA:
            raise ApiProblem(404, "not-found", "Not found")
        body = await (signing.crl(ca) if ext == "crl" else signing.ca_certificate(ca))
        return Response(body, media_type=_MEDIA[ext])

    @get("/pki/{ca:str}/ocsp/{encoded:path}", operation_id="OcspGet", cache=False)
    async def ocsp_get(
        self,
        request: Request[Any, Any, Any],
        signing: Signing,
        ca: FromPath[str],
        encoded: FromPath[str],
    ) -> Response[bytes]:
        """OCSP over GET (RFC 6960 appendix A.1): the URL-encoded base64 of the DER
        ``OCSPRequest`` after ``/pki/{ca}/ocsp/``.  A request that does not decode gets
        the OCSP ``malformedRequest`` answer (HTTP 200, as the RFC has it)."""
        _ca(ca)
        # Note: read the request's raw path: the decoded one has had "%2F" turned into
        # "/" and a "//" inside the base64 may be collapsed by routing.
        raw_path = request.scope.get("raw_path") or b""
        _, sep, tail = raw_path.decode("latin-1").partition("/ocsp/")
        raw = urllib.parse.unquote(tail if sep else encoded.lstrip("/"))
        try:
            der = base64.b64decode(
                raw + "=" * (-len(raw) % 4),
                altchars=b"-_" if "-" in raw or "_" in raw else None,
                validate=True,
            )
        except (binascii.Error, ValueError):
            der = b""
        body = await signing.ocsp(ca, der[:MAX_OCSP_REQUEST])
        return Response(body, media_type="application/ocsp-response", headers=_OCSP_HEADERS)

    @post(
        "/pki/{ca:str}/ocsp",
        operation_id="OcspPost",
        status_code=200,
        request_max_body_size=MAX_OCSP_REQUEST,
    )
    async def ocsp_post(
        self, request: Request[Any, Any, Any], signing: Signing, ca: FromPath[str]
    ) -> Response[bytes]:
        """OCSP over POST (RFC 6960 appendix A.1): ``application/ocsp-request`` in,
        ``application/ocsp-response`` out."""
        _ca(ca)
        if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/ocsp-request"
        ):
            raise ApiProblem(415, "unsupported-media-type", "Send an application/ocsp-request body")
        body = await signing.ocsp(ca, await request.body())
        return Response(body, media_type="application/ocsp-response", headers=_OCSP_HEADERS)

    @post("/tsa", operation_id="TimeStamp", status_code=200, request_max_body_size=MAX_TSA_REQUEST)
    async def timestamp(self, request: Request[Any, Any, Any], signing: Signing) -> Response[bytes]:
        """RFC 3161 over HTTP (``application/timestamp-query`` in, ``-reply`` out)."""
        if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/timestamp-query"
        ):
            raise ApiProblem(
                415, "unsupported-media-type", "Send an application/timestamp-query body"
            )
        reply = await signing.timestamp(await request.body())
        return Response(reply, media_type="application/timestamp-reply")
