"""The CSC API v2 JSON vocabulary: request and response bodies (msgspec structs named
and cased as the specification names them) and conversions from domain values.

Used by the HTTP controller (``api/csc.py``), by the in-process transport and by the
client, so all three speak exactly the same protocol.  No HTTP here: status codes and
error mapping belong to the adapters.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from signing.csc.models import (
    Authorization,
    CertificatesChoice,
    CredentialInfo,
    ServiceInfo,
)


class Body(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=False):
    """Base of every CSC body; unknown fields are ignored as the spec allows."""


# -- requests ------------------------------------------------------------------------------


class InfoRequest(Body, kw_only=True):
    lang: str | None = None


class CredentialsListRequest(Body, kw_only=True):
    user_id: str | None = msgspec.field(default=None, name="userID")
    credential_info: bool = msgspec.field(default=False, name="credentialInfo")
    certificates: CertificatesChoice = "single"
    cert_info: bool = msgspec.field(default=False, name="certInfo")
    auth_info: bool = msgspec.field(default=False, name="authInfo")
    only_valid: bool = msgspec.field(default=False, name="onlyValid")
    lang: str | None = None
    client_data: str | None = msgspec.field(default=None, name="clientData")


class CredentialsInfoRequest(Body, kw_only=True):
    credential_id: str = msgspec.field(name="credentialID")
    certificates: CertificatesChoice = "single"
    cert_info: bool = msgspec.field(default=False, name="certInfo")
    auth_info: bool = msgspec.field(default=False, name="authInfo")
    lang: str | None = None
    client_data: str | None = msgspec.field(default=None, name="clientData")


class AuthDatum(Body, kw_only=True):
    id: str
    value: str


class CredentialsAuthorizeRequest(Body, kw_only=True):
    credential_id: str = msgspec.field(name="credentialID")
    num_signatures: int = msgspec.field(name="numSignatures")
    hashes: list[str] = msgspec.field(default_factory=list)
    hash_algorithm_oid: str | None = msgspec.field(default=None, name="hashAlgorithmOID")
    auth_data: list[AuthDatum] = msgspec.field(default_factory=list, name="authData")
    description: str | None = None
    client_data: str | None = msgspec.field(default=None, name="clientData")

    def auth_value(self, ident: str) -> str | None:
        return next((d.value for d in self.auth_data if d.id == ident), None)


class SignHashRequest(Body, kw_only=True):
    credential_id: str = msgspec.field(name="credentialID")
    sad: str | None = msgspec.field(default=None, name="SAD")
    hashes: list[str] = msgspec.field(default_factory=list)
    hash_algorithm_oid: str | None = msgspec.field(default=None, name="hashAlgorithmOID")
    sign_algo: str = msgspec.field(name="signAlgo")
    sign_algo_params: str | None = msgspec.field(default=None, name="signAlgoParams")
    operation_mode: str = msgspec.field(default="S", name="operationMode")
    client_data: str | None = msgspec.field(default=None, name="clientData")


# -- responses -----------------------------------------------------------------------------


class InfoResponse(Body, kw_only=True):
    specs: str
    name: str
    logo: str
    region: str
    lang: str
    description: str
    auth_type: list[str] = msgspec.field(name="authType")
    methods: list[str]


class KeyBody(Body, kw_only=True):
    status: str
    algo: list[str]
    len: int
    curve: str | None = None


class CertBody(Body, kw_only=True):
    status: str | None = None
    certificates: list[str] | None = None
    issuer_dn: str | None = msgspec.field(default=None, name="issuerDN")
    serial_number: str | None = msgspec.field(default=None, name="serialNumber")
    subject_dn: str | None = msgspec.field(default=None, name="subjectDN")
    valid_from: str | None = msgspec.field(default=None, name="validFrom")
    valid_to: str | None = msgspec.field(default=None, name="validTo")


class AuthObjectBody(Body, kw_only=True):
    type: str
    id: str
    format: str
    label: str | None = None
    description: str | None = None
    generator: str | None = None


class AuthBody(Body, kw_only=True):
    mode: str
    expression: str | None = None
    objects: list[AuthObjectBody] | None = None


class CredentialInfoResponse(Body, kw_only=True):
    credential_id: str | None = msgspec.field(default=None, name="credentialID")
    description: str | None = None
    key: KeyBody
    cert: CertBody
    auth: AuthBody
    scal: str = msgspec.field(name="SCAL")
    multisign: int
    lang: str | None = None


class CredentialsListResponse(Body, kw_only=True):
    credential_ids: list[str] = msgspec.field(name="credentialIDs")
    credential_infos: list[CredentialInfoResponse] | None = msgspec.field(
        default=None, name="credentialInfos"
    )
    only_valid: bool = msgspec.field(default=False, name="onlyValid")


class AuthorizeResponse(Body, kw_only=True):
    sad: str = msgspec.field(name="SAD")
    expires_in: int = msgspec.field(name="expiresIn")


class SignHashResponse(Body, kw_only=True):
    signatures: list[str]


class ErrorResponse(Body, kw_only=True):
    error: str
    error_description: str


# -- conversions ---------------------------------------------------------------------------


def _generalized_time(dt: datetime) -> str:
    return dt.strftime("%Y%m%d%H%M%SZ")


def info_response(info: ServiceInfo) -> InfoResponse:
    return InfoResponse(
        specs=info.specs,
        name=info.name,
        logo=info.logo,
        region=info.region,
        lang=info.lang,
        description=info.description,
        auth_type=list(info.auth_types),
        methods=list(info.methods),
    )


def credential_info_response(
    info: CredentialInfo, *, with_id: bool = False
) -> CredentialInfoResponse:
    details = info.cert_details
    return CredentialInfoResponse(
        credential_id=info.credential_id if with_id else None,
        description=info.description,
        key=KeyBody(
            status=info.key_status,
            algo=list(info.key_algorithms),
            len=info.key_length,
            curve=info.key_curve,
        ),
        cert=CertBody(
            status=info.cert_status,
            certificates=[base64.b64encode(c).decode() for c in info.certificates] or None,
            issuer_dn=details.issuer_dn if details else None,
            serial_number=details.serial_number if details else None,
            subject_dn=details.subject_dn if details else None,
            valid_from=_generalized_time(details.valid_from) if details else None,
            valid_to=_generalized_time(details.valid_to) if details else None,
        ),
        auth=AuthBody(
            mode=info.auth_mode,
            expression=info.auth_expression,
            objects=(
                [
                    AuthObjectBody(
                        type=o.type,
                        id=o.id,
                        format=o.format,
                        label=o.label,
                        description=o.description,
                        generator=o.generator,
                    )
                    for o in info.auth_objects
                ]
                if info.auth_objects is not None
                else None
            ),
        ),
        scal=info.scal,
        multisign=info.multisign,
        lang=info.lang,
    )


def authorize_response(auth: Authorization) -> AuthorizeResponse:
    return AuthorizeResponse(sad=auth.sad, expires_in=auth.expires_in)


def to_builtins(body: Body) -> dict[str, Any]:
    """A body as a JSON-ready dict (what the transports carry)."""
    out: dict[str, Any] = msgspec.to_builtins(body)
    return out


T = TypeVar("T")


def convert(data: dict[str, Any], kind: type[T]) -> T:
    """A JSON dict as ``kind``; raises ``msgspec.ValidationError``."""
    return msgspec.convert(data, kind)
