"""One table from domain errors to RFC 9457 problem+json answers, registered once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from api.multipart import MultipartError
from sharing import errors as sh
from sharing import filing_errors as fl
from sharing import notify
from signing import csc as csc_errors
from signing import errors as sg
from signing.citizen import (
    EnrollmentElsewhere,
    NoRemoteCredential,
    NoSigningCredential,
    SigningSessionNotFound,
)
from vault import errors as v
from verification import errors as vf
from verification import operators as op
from verification import registry_db as rg
from verification.deposits import DepositRejected

log = structlog.get_logger("kho.api")

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:kho:problem:"


class ApiProblem(HTTPException):
    """An HTTP-level problem raised by the API layer itself (auth, headers, ranges)."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail=detail or title, status_code=status, headers=headers)
        self.slug = slug
        self.title = title
        self.problem_detail = detail
        self.extra_members = extra


def problem(
    request: Request[Any, Any, Any] | None,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[bytes]:
    body: dict[str, Any] = {"type": TYPE_PREFIX + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


Row = tuple[int, str, str, Callable[[Any], dict[str, Any]]]

# status, slug, title, extra members from the exception
DOMAIN: dict[type[Exception], Row] = {
    v.DocumentNotFound: (404, "not-found", "Not found", lambda e: {}),
    v.OwnerNotFound: (404, "not-found", "Not found", lambda e: {}),
    v.AgencyNotFound: (404, "agency-not-found", "Agency not found", lambda e: {}),
    v.InvalidInput: (422, "invalid-input", "Invalid input", lambda e: {"field": e.field}),
    v.EmptyFile: (422, "empty-file", "The file is empty", lambda e: {}),
    v.FileTooLarge: (413, "file-too-large", "File too large", lambda e: {"limit": e.limit}),
    v.QuotaExceeded: (
        413,
        "quota-exceeded",
        "Storage quota exceeded",
        lambda e: {"quota": e.quota, "used": e.used},
    ),
    v.UnsupportedMediaType: (
        415,
        "unsupported-media-type",
        "Unsupported file type",
        lambda e: {"accepted": ["application/pdf", "image/jpeg", "image/png"]},
    ),
    v.UnreadableDocument: (
        422,
        "unreadable-document",
        "The file cannot be read",
        lambda e: {"content_type": e.content_type},
    ),
    v.AuthenticationFailed: (401, "invalid-credentials", "Invalid credentials", lambda e: {}),
    v.SecondFactorRequired: (401, "otp-required", "The one-time code is required", lambda e: {}),
    v.SecondFactorInvalid: (401, "otp-invalid", "Wrong or used one-time code", lambda e: {}),
    v.LoginThrottled: (
        429,
        "too-many-sign-in-attempts",
        "Too many failed sign-ins",
        lambda e: {"retry_after": e.retry_after},
    ),
    v.IdempotencyConflict: (
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused for a different request",
        lambda e: {},
    ),
    v.LegalHold: (409, "legal-hold", "Kept under an agency's legal hold", lambda e: {}),
    v.StatusConflict: (
        409,
        "status-conflict",
        "The paper is no longer active",
        lambda e: {"issuer_status": e.status},
    ),
    v.OwnerExists: (409, "account-exists", "An account already exists", lambda e: {}),
    v.OfficialExists: (409, "official-exists", "The official already exists", lambda e: {}),
    v.OfficialNotFound: (404, "not-found", "Not found", lambda e: {}),
    sh.ShareNotFound: (404, "not-found", "Not found", lambda e: {}),
    sh.ShareGone: (
        410,
        "share-gone",
        "This link no longer works",
        lambda e: {"reason": e.reason},
    ),
    sh.SharePasswordRequired: (
        401,
        "share-password-required",
        "This link is protected by a password",
        lambda e: {},
    ),
    sh.SharePasswordWrong: (
        401,
        "share-password-wrong",
        "Wrong password for this link",
        lambda e: {"attempts_left": e.attempts_left},
    ),
    sh.ShareLocked: (
        429,
        "share-locked",
        "Too many wrong passwords: this link is locked for a while",
        lambda e: {"retry_after": e.retry_after},
    ),
    sh.ShareGrantInvalid: (
        401,
        "share-grant-invalid",
        "The viewing grant is invalid or expired; open the link again",
        lambda e: {},
    ),
    sh.ShareAudienceDenied: (
        403,
        "share-audience",
        "This link is for officials of one agency",
        lambda e: {"agency": e.agency_code},
    ),
    sh.RequestNotFound: (404, "not-found", "Not found", lambda e: {}),
    sh.RequestClosed: (
        409,
        "request-closed",
        "The request was already answered or has expired",
        lambda e: {"request_status": e.status},
    ),
    v.AgencyExists: (409, "agency-exists", "The agency already exists", lambda e: {}),
    v.IntegrityError: (
        500,
        "integrity-failure",
        "The stored document failed its integrity check",
        lambda e: {},
    ),
    v.KeyUnavailable: (500, "key-unavailable", "A decryption key is unavailable", lambda e: {}),
    v.BlobStoreUnavailable: (503, "storage-unavailable", "Storage is unavailable", lambda e: {}),
    sg.PdfEncrypted: (422, "pdf-encrypted", "The PDF is encrypted", lambda e: {}),
    sg.PdfMalformed: (422, "unreadable-document", "The file cannot be read", lambda e: {}),
    sg.PdfLocked: (
        422,
        "pdf-locked",
        "The PDF's certification signature forbids changes",
        lambda e: {},
    ),
    sg.FieldInUse: (422, "signature-field-in-use", "The signature field is taken", lambda e: {}),
    sg.TimestampUnavailable: (
        503,
        "timestamp-unavailable",
        "The time-stamping authority did not answer",
        lambda e: {},
    ),
    sg.RevocationInfoUnavailable: (
        503,
        "revocation-info-unavailable",
        "Revocation data for the signature could not be gathered",
        lambda e: {},
    ),
    sg.UnknownCredential: (404, "not-found", "Not found", lambda e: {}),
    DepositRejected: (
        422,
        "deposit-rejected",
        "The paper does not verify as this agency's",
        lambda e: {
            "verdict": e.report.verdict,
            "reasons": [
                {"code": r.code, "message_en": r.message_en, "message_vi": r.message_vi}
                for r in e.report.reasons
            ],
        },
    ),
    vf.IssuerNotAuthorized: (
        422,
        "issuer-not-authorized",
        "The agency is not registered to issue this document type",
        lambda e: {"doc_type": e.doc_type},
    ),
    rg.InvalidCertificate: (
        422,
        "invalid-certificate",
        "Not a usable X.509 certificate",
        lambda e: {},
    ),
    rg.InvalidRegistryEntry: (
        422,
        "invalid-registry-entry",
        "The registry entry is not valid",
        lambda e: {"field": e.field},
    ),
    rg.AnchorExists: (
        409,
        "already-exists",
        "The certificate is already in the registry",
        lambda e: {},
    ),
    rg.IssuerExists: (409, "already-exists", "An issuer with this code exists", lambda e: {}),
    rg.DocumentTypeExists: (
        409,
        "already-exists",
        "A document type with this code exists",
        lambda e: {},
    ),
    rg.DocumentTypeInUse: (
        409,
        "document-type-in-use",
        "Issuers are still authorized for this document type",
        lambda e: {"issuers": list(e.issuers)},
    ),
    rg.UnknownAnchor: (404, "not-found", "Not found", lambda e: {}),
    rg.UnknownIssuer: (404, "not-found", "Not found", lambda e: {}),
    rg.UnknownDocumentType: (404, "not-found", "Not found", lambda e: {}),
    rg.UnknownRevocationUrl: (404, "not-found", "Not found", lambda e: {}),
    op.UnknownOperatorToken: (404, "not-found", "Not found", lambda e: {}),
    op.InvalidOperatorToken: (
        422,
        "invalid-input",
        "The input is not valid",
        lambda e: {"field": e.field},
    ),
    vf.VerificationUnavailable: (
        503,
        "verification-unavailable",
        "Verification cannot run right now",
        lambda e: {},
    ),
    SigningSessionNotFound: (404, "not-found", "Not found", lambda e: {}),
    NoRemoteCredential: (
        409,
        "no-signing-credential",
        "The remote signing provider has no signing credential for you",
        lambda e: {"provider": e.provider_url},
    ),
    NoSigningCredential: (
        409,
        "no-signing-credential",
        "Set up a remote signing credential first",
        lambda e: {},
    ),
    csc_errors.InvalidPin: (
        422,
        "invalid-pin",
        "The signing PIN is wrong",
        lambda e: {"remaining_attempts": e.remaining_attempts},
    ),
    csc_errors.InvalidOtp: (
        422,
        "invalid-code",
        "The one-time code is wrong or used",
        lambda e: {"remaining_attempts": e.remaining_attempts},
    ),
    csc_errors.CredentialLocked: (
        423,
        "credential-locked",
        "The signing credential is locked after too many wrong attempts",
        lambda e: {},
    ),
    csc_errors.InvalidSad: (
        409,
        "authorization-invalid",
        "The authorization is not valid",
        lambda e: {},
    ),
    csc_errors.SigningStateInvalid: (
        409,
        "signing-session-invalid",
        "The signing session is not valid",
        lambda e: {},
    ),
    csc_errors.CredentialNotFound: (404, "not-found", "Not found", lambda e: {}),
    csc_errors.CredentialExists: (
        409,
        "credential-exists",
        "A signing credential already exists",
        lambda e: {},
    ),
    csc_errors.InvalidCscRequest: (
        422,
        "invalid-input",
        "Invalid input",
        lambda e: {"field": e.parameter},
    ),
    EnrollmentElsewhere: (
        409,
        "enrollment-elsewhere",
        "Signing credentials are managed by the remote signing provider",
        lambda e: {},
    ),
    csc_errors.CscUnavailable: (
        502,
        "signing-provider-unavailable",
        "The remote signing provider is unavailable",
        lambda e: {},
    ),
    sg.ScanUnusable: (422, "scan-unusable", "The page images cannot be used", lambda e: {}),
    # procedures and filings
    fl.ProcedureNotFound: (404, "not-found", "Not found", lambda e: {}),
    fl.FilingNotFound: (404, "not-found", "Not found", lambda e: {}),
    fl.FilingLocked: (
        409,
        "filing-locked",
        "The filing cannot be changed in its status",
        lambda e: {"filing_status": e.status},
    ),
    fl.FilingIncomplete: (
        422,
        "filing-incomplete",
        "Required papers or form fields are missing",
        lambda e: {"missing_documents": e.missing_documents, "missing_fields": e.missing_fields},
    ),
    fl.InvalidTransition: (
        409,
        "invalid-status-transition",
        "The filing cannot move to that status",
        lambda e: {"current": str(e.current), "allowed": [str(a) for a in e.allowed]},
    ),
    fl.PaperNotUsable: (
        422,
        "paper-not-usable",
        "The document cannot serve as this paper",
        lambda e: {"document_id": str(e.document_id)},
    ),
    fl.ResultUnsigned: (422, "result-unsigned", "The result must be a signed PDF", lambda e: {}),
    notify.NotificationNotFound: (404, "not-found", "Not found", lambda e: {}),
    notify.WebhookNotFound: (404, "webhook-not-found", "No webhook is registered", lambda e: {}),
}

_SAFE_DETAIL = (
    DepositRejected,
    rg.InvalidCertificate,
    rg.InvalidRegistryEntry,
    rg.AnchorExists,
    rg.IssuerExists,
    rg.DocumentTypeExists,
    rg.DocumentTypeInUse,
    rg.UnknownAnchor,
    rg.UnknownIssuer,
    rg.UnknownDocumentType,
    rg.UnknownRevocationUrl,
    vf.IssuerNotAuthorized,
    sg.ScanUnusable,
    sg.PdfEncrypted,
    sg.PdfMalformed,
    sg.PdfLocked,
    sg.FieldInUse,
    # Note: says which certificate lacks revocation data and which (public CA) URL is
    # missing from the allow-list or did not answer, so an operator can act on it.
    sg.RevocationInfoUnavailable,
    v.InvalidInput,
    v.LoginThrottled,
    v.SecondFactorRequired,
    v.SecondFactorInvalid,
    v.EmptyFile,
    v.FileTooLarge,
    v.QuotaExceeded,
    v.UnsupportedMediaType,
    v.UnreadableDocument,
    v.IdempotencyConflict,
    v.LegalHold,
    v.StatusConflict,
    v.OwnerExists,
    v.AgencyExists,
    v.OfficialExists,
    sh.ShareGone,
    sh.ShareLocked,
    sh.SharePasswordWrong,
    sh.ShareAudienceDenied,
    sh.RequestClosed,
    fl.FilingLocked,
    fl.FilingIncomplete,
    fl.InvalidTransition,
    fl.PaperNotUsable,
    fl.ResultUnsigned,
)


def _domain_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    for cls in type(exc).__mro__:
        row = DOMAIN.get(cls)
        if row is not None:
            status, slug, title, extra = row
            if status >= 500:
                log.error("domain_error", error=type(exc).__name__, path=request.url.path)
            detail = str(exc) if isinstance(exc, _SAFE_DETAIL) else None
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            if isinstance(exc, v.LoginThrottled | sh.ShareLocked):
                headers = {"Retry-After": str(exc.retry_after)}
            return problem(request, status, slug, title, detail, headers, **extra(exc))
    return _internal(request, exc)


def _multipart_handler(request: Request[Any, Any, Any], exc: MultipartError) -> Response[bytes]:
    return problem(request, 400, "malformed-multipart", "Malformed multipart body", exc.reason)


def _api_problem_handler(request: Request[Any, Any, Any], exc: ApiProblem) -> Response[bytes]:
    return problem(
        request,
        exc.status_code,
        exc.slug,
        exc.title,
        exc.problem_detail,
        exc.headers,
        **exc.extra_members,
    )


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("request-too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def _http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
    extra: dict[str, Any] = {}
    detail = exc.detail if exc.detail and exc.detail != title else None
    if isinstance(exc, ValidationException):
        slug, title = "validation-error", "The request does not match the schema"
        if exc.extra:
            extra["errors"] = exc.extra
    if exc.status_code >= 500:
        return _internal(request, exc)
    return problem(request, exc.status_code, slug, title, detail, exc.headers, **extra)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # security: the client gets no traceback and no exception text, only an id to quote
    log.exception("unhandled_error", path=request.url.path, error=type(exc).__name__)
    return problem(request, HTTP_500_INTERNAL_SERVER_ERROR, "internal-error", "Internal error")


def exception_handlers() -> dict[type[Exception] | int, Any]:
    handlers: dict[type[Exception] | int, Any] = {
        v.VaultError: _domain_handler,
        sg.SigningError: _domain_handler,
        vf.VerificationError: _domain_handler,
        sh.SharingError: _domain_handler,
        fl.FilingError: _domain_handler,
        notify.NotifyError: _domain_handler,
        MultipartError: _multipart_handler,
        ApiProblem: _api_problem_handler,
        HTTPException: _http_handler,
        Exception: _internal,
    }
    return handlers
