"""The demo PKI's public endpoints: CA certificates, CRLs and the RFC 3161 TSA."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from api.deps import Signing
from api.errors import ApiProblem
from signing import CA_NAMES

_MEDIA = {"crl": "application/pkix-crl", "crt": "application/pkix-cert"}
MAX_TSA_REQUEST = 64 * 1024


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
