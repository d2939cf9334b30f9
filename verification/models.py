"""The verification report: frozen msgspec structs, the JSON contract of
``GET /api/v1/documents/{id}/verification`` (and of ``POST /api/v1/verify``).

The API layer may serialise these as they are (``msgspec.json.encode(report)``) or map
them to its own schema; field names and reason codes are stable, new fields and new
codes may be added.  Times are timezone-aware UTC.

Verdict rules (ETSI EN 319 102-1 vocabulary, applied by ``verification.pipeline``):

* every ``Reason`` carries a ``severity``;
* any reason of severity ``error``          -> verdict ``failed``;
* else any reason of severity ``indeterminate`` -> verdict ``indeterminate``;
* else                                       -> verdict ``passed``.

``warning`` and ``info`` reasons never change the verdict (active content, for example,
is a ``warning``: the signature still says who vouches for the bytes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

Verdict = Literal["passed", "failed", "indeterminate"]
"""``passed``: every signature is intact, trusted, unmodified beyond what PAdES allows and
made by whoever had to make it.  ``failed``: proven wrong (tampered, revoked, wrong
issuer, revoked document...).  ``indeterminate``: cannot tell (unsigned, untrusted
chain, revocation data unavailable under soft-fail, unreadable or too complex file)."""

Severity = Literal["error", "indeterminate", "warning", "info"]

PadesLevel = Literal["B-B", "B-T", "B-LT", "B-LTA"]

Coverage = Literal["entire_file", "entire_revision", "partial"]
"""What the signature's byte range covers: the whole file, the whole revision it was
made in (later incremental updates exist), or less than its revision (suspicious)."""

ModificationLevel = Literal["NONE", "LTA_UPDATES", "FORM_FILLING", "ANNOTATIONS", "OTHER"]
"""pyHanko's ``ModificationLevel`` of what was changed after a signature.  ``NONE``,
``LTA_UPDATES`` (DSS / document timestamps) and ``FORM_FILLING`` (which includes
further signatures) are accepted; ``ANNOTATIONS`` and ``OTHER`` fail.  When the
analysis could not decide, ``OTHER`` is reported (never a silent pass)."""

RevocationResult = Literal["good", "revoked", "unavailable", "not_checked"]
"""``good``: revocation data for the whole chain was found (embedded or from the
registry's CAs) and nothing is revoked; ``not_checked``: the chain was not trusted, so
revocation was never reached."""

IssuerState = Literal["active", "revoked", "superseded"]


class Reason(msgspec.Struct, frozen=True, kw_only=True):
    """One finding.  ``code`` is stable and machine-readable (see
    ``verification.reasons.CATALOGUE``); ``message_vi``/``message_en`` are plain
    sentences for people.  ``signature`` is the index in ``VerificationReport.signatures``
    the finding is about (``None`` for the document as a whole); ``detail`` is technical
    context for logs and experts, never needed to understand the verdict."""

    code: str
    severity: Severity
    message_vi: str
    message_en: str
    signature: int | None = None
    detail: str | None = None


class Signer(msgspec.Struct, frozen=True, kw_only=True):
    """Who the signing certificate names.  ``serial_number`` is the subject's
    serialNumber attribute (agency code, personal ID or official ID), not the
    certificate's serial."""

    common_name: str | None = None
    organization: str | None = None
    organizational_unit: str | None = None
    serial_number: str | None = None
    country: str | None = None
    certificate_sha256: str
    issuer_common_name: str | None = None


class SignatureReport(msgspec.Struct, frozen=True, kw_only=True):
    """One signature of the file (document timestamps count toward ``level`` only).

    * ``issuer_agency``: the registered issuer (agency code) the signer maps to, if any;
    * ``signing_time``: claimed by the signer (not proof); ``timestamp_time``: from a
      trusted RFC 3161 signature timestamp (proof of existence), if any;
    * ``trust_path``: certificate subjects from the trust anchor down to the signer
      (empty when no path to an anchor was found);
    * ``coverage`` and ``modification_level``: what the signature covers and what was
      changed after it - always stated;
    * ``verdict``: this signature's own verdict (same rules as the report's, over the
      reasons that name this signature);
    * ``judged_at``: the time the signer's certificate (validity, revocation) was judged
      at - ``timestamp_time`` when the certificate has expired or been revoked since
      and the time-stamp proves the signature existed before (ETSI EN 319 102-1
      validation with proof of existence), else the time of the check."""

    field_name: str | None
    signer: Signer
    issuer_agency: str | None
    signing_time: datetime | None
    timestamp_time: datetime | None
    level: PadesLevel
    trust_path: tuple[str, ...]
    revocation: RevocationResult
    coverage: Coverage
    modification_level: ModificationLevel
    intact: bool
    trusted: bool
    verdict: Verdict
    judged_at: datetime | None = None
    revocation_source: Literal["ocsp", "crl"] | None = None
    """Where ``revocation`` came from: ``ocsp`` (an allow-listed responder of the
    registry's CAs answered for the signer) or ``crl`` (the registry's CRLs or the
    revocation data embedded in the PDF); ``None`` when revocation was not settled."""


class IssuerStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The issuer's status of a stored document (from the vault), passed to ``verify``."""

    state: IssuerState = "active"
    reason: str | None = None
    superseded_by: str | None = None
    changed_at: datetime | None = None


class VerificationReport(msgspec.Struct, frozen=True, kw_only=True):
    """The answer of the verification pipeline for one file.

    * ``verdict`` follows the rules in this module's docstring over ``reasons``;
    * ``reasons``: every finding that bears on the verdict (document-level and
      per-signature), errors first;
    * ``warnings``: findings that do not change the verdict (e.g. ``pdf.active_content``);
    * ``signatures``: every signature in file order (document timestamps excluded);
    * ``sha256``: of the exact bytes checked (hex);
    * ``doc_type``: the document type checked against, if any;
    * ``registry_version``: the trust-registry version the file was checked against;
    * ``checked_at``: when this answer was made; ``validated_at``: when the
      cryptographic validation ran (earlier than ``checked_at`` when it came from the
      cache - issuer status, document type and vault hash are always checked afresh)."""

    verdict: Verdict
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...] = ()
    signatures: tuple[SignatureReport, ...] = ()
    sha256: str
    doc_type: str | None = None
    registry_version: int
    checked_at: datetime
    validated_at: datetime

    def codes(self) -> tuple[str, ...]:
        """Codes of ``reasons`` then ``warnings`` (convenience for callers and tests)."""
        return tuple(r.code for r in (*self.reasons, *self.warnings))
