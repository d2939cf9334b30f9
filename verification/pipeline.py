"""The one verification pipeline: ``Verifier.verify(pdf, doc_type=..., ...)``.

Steps, for every entry point (stored document, share link, dropped PDF, QR code):

1. sha256 of the bytes; the vault hash, if given, must match (``document.hash_mismatch``);
2. the current ``TrustRegistry`` and a ``RevocationSnapshot`` of its allow-listed CRLs;
3. the analysis (parse, active content, every signature validated by pyHanko against
   the registry's anchors with revocation required, timestamps, coverage and diff
   analysis) - in a sandbox worker, cached per (sha256, registry version, revocation
   epoch, revocation policy);
4. facts become reasons: per signature (intact, trusted, revoked, expired, revocation
   unavailable -> by policy, timestamp, coverage, modification level, DocMDP);
5. the signer mapped to a registered issuer; with a ``doc_type``, some passing
   signature must come from an issuer authorized for it (``issuer.unknown`` /
   ``issuer.not_authorized_for_type``);
6. the issuer's status (``document.revoked`` / ``document.superseded``);
7. the verdict by the rule in ``verification.models``.

Steps 1, 5, 6 and 7 run on every call, so revocation or supersession of a document
shows at once even for a cached analysis.  ``invalidate(sha256)`` drops cached analyses
of a file (call it when anything about it changes); a new registry version or new CRLs
change the cache key by themselves.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec
from asn1crypto import x509 as asn1_x509

from verification.analysis import Analysis, Material, Request, SignatureFacts
from verification.models import (
    IssuerStatus,
    Reason,
    Severity,
    SignatureReport,
    Signer,
    VerificationReport,
)
from verification.reasons import ordered, reason, verdict_of
from verification.registry import RegistrySource, TrustRegistry
from verification.revocation import (
    CrlCache,
    OcspCache,
    OcspSource,
    RevocationSnapshot,
    RevocationSource,
)
from verification.sandbox import Analyser, SandboxPool

RevocationPolicy = Literal["hard-fail", "soft-fail"]

ALLOWED_AFTER_SIGNING = frozenset({"NONE", "LTA_UPDATES", "FORM_FILLING"})
"""Modification levels accepted after a signature: nothing, DSS/document-timestamp
updates, form filling (which includes further signatures).  Anything else fails."""


class VerifierSettings(msgspec.Struct, frozen=True, kw_only=True):
    """``revocation_policy``: what missing revocation data means - ``hard-fail``: the
    signature fails (``revocation.unavailable`` is an error); ``soft-fail``: the answer
    is indeterminate.  (Revocation is always *checked*; neither policy skips it.)
    ``cache_size``: analyses kept in the LRU; ``crl_max_age_seconds``: how long a CRL
    is used before it is fetched again (never past its ``nextUpdate``);
    ``ocsp_max_age_seconds``: the same for an OCSP answer (a revocation the responder
    knows shows within this time, whatever the CRLs say)."""

    revocation_policy: RevocationPolicy = "hard-fail"
    cache_size: int = 4096
    crl_max_age_seconds: float = 300.0
    ocsp_max_age_seconds: float = 60.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Cached(msgspec.Struct, frozen=True):
    """``fresh_until``: when a signer certificate judged at the validation time
    expires - the analysis says nothing about later times."""

    analysis: Analysis
    validated_at: datetime
    fresh_until: datetime | None = None

    def fresh(self, now: datetime) -> bool:
        return self.fresh_until is None or now < self.fresh_until


def _fresh_until(analysis: Analysis, validated_at: datetime) -> datetime | None:
    ends = [
        f.not_after
        for f in analysis.signatures
        if f.not_after is not None and f.not_after > validated_at
    ]
    return min(ends, default=None)


class _Ocsp(msgspec.Struct, frozen=True):
    """What the allow-listed OCSP responders said about one signature's chain:
    ``revoked_at`` when any certificate of it is revoked; ``chain_good`` when every
    certificate below the anchor was answered good; ``leaf_good`` for the signer's."""

    revoked_at: datetime | None = None
    chain_good: bool = False
    leaf_good: bool = False


class Verifier:
    """Verifies PDFs against the trust registry; see the module docstring.

    Collaborators: ``registry`` (the current ``TrustRegistry``), ``revocation`` (CRLs of
    the registry's CAs, only ever asked about allow-listed URLs), ``analyser`` (default:
    a ``SandboxPool`` with default limits).  ``aclose()`` stops the workers."""

    def __init__(
        self,
        registry: RegistrySource,
        revocation: RevocationSource,
        *,
        analyser: Analyser | None = None,
        settings: VerifierSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
        ocsp: OcspSource | None = None,
    ) -> None:
        """``ocsp``: asks the registry's allow-listed OCSP responders about each
        signer's chain (answers kept until their ``nextUpdate``); an OCSP "revoked"
        wins over an older CRL, an all-"good" chain settles what missing CRLs left
        open, and without an answer the CRLs (and embedded data) decide."""
        self._registry = registry
        self._settings = settings or VerifierSettings()
        self._crls = CrlCache(
            revocation, max_age=timedelta(seconds=self._settings.crl_max_age_seconds), clock=clock
        )
        self._ocsp = (
            OcspCache(
                ocsp, max_age=timedelta(seconds=self._settings.ocsp_max_age_seconds), clock=clock
            )
            if ocsp is not None
            else None
        )
        self._ca_parsed: dict[bytes, tuple[tuple[str, ...], int]] = {}

        self._analyser: Analyser = analyser or SandboxPool()
        self._clock = clock
        self._cache: OrderedDict[tuple[str, int, str, str], _Cached] = OrderedDict()
        self._reports: OrderedDict[
            tuple[
                tuple[str, int, str, str],
                str | None,
                IssuerStatus | None,
                tuple[tuple[int, _Ocsp], ...],
            ],
            VerificationReport,
        ] = OrderedDict()

    @property
    def settings(self) -> VerifierSettings:
        return self._settings

    async def aclose(self) -> None:
        await self._analyser.aclose()

    def invalidate(self, sha256: str | None = None) -> None:
        """Forget cached analyses of the file with this hash (of every file if
        ``None``) and, for ``None``, the cached CRLs too."""
        self._reports.clear()
        if sha256 is None:
            self._cache.clear()
            self._crls.clear()
            if self._ocsp is not None:
                self._ocsp.clear()
            return
        for key in [k for k in self._cache if k[0] == sha256]:
            del self._cache[key]

    async def verify(
        self,
        pdf: bytes,
        *,
        doc_type: str | None = None,
        expected_sha256: str | None = None,
        issuer_status: IssuerStatus | None = None,
    ) -> VerificationReport:
        """The report on ``pdf`` (see ``VerificationReport``).

        ``doc_type``: the type the document claims to be (its signer must be an issuer
        authorized for it); ``expected_sha256``: the vault's hash of the stored file;
        ``issuer_status``: the issuer's status of the stored document.  Never raises
        for a bad, hostile or tampered file; raises ``VerificationUnavailable`` when
        verification cannot run (no worker, no registry)."""
        sha256 = hashlib.sha256(pdf).hexdigest()
        registry = await self._registry.current()
        snapshot = await self._crls.snapshot(registry.revocation_urls)
        key = (sha256, registry.version, snapshot.epoch, self._settings.revocation_policy)
        cached = self._cache.get(key)
        if cached is None or not cached.fresh(self._clock()):
            validated_at = self._clock()
            analysis = await self._analyser.analyse(
                Request(pdf=pdf, material=_material(registry, snapshot), moment=validated_at)
            )
            cached = _Cached(analysis, validated_at, _fresh_until(analysis, validated_at))
            self._cache[key] = cached
            if len(self._cache) > self._settings.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return self._report(
            cached,
            registry=registry,
            sha256=sha256,
            doc_type=doc_type,
            expected_sha256=expected_sha256,
            issuer_status=issuer_status,
            ocsp=await self._ocsp_answers(registry, cached.analysis),
        )

    async def cached_reports(
        self, files: Sequence[tuple[str, str | None, IssuerStatus | None]]
    ) -> list[VerificationReport | None]:
        """For each ``(sha256, doc_type, issuer_status)``: the report on that file if its
        analysis is cached under the current registry and revocation data (the issuer's
        status applied fresh), else ``None`` — lets a caller skip reading files at all.
        The registry and revocation data are looked up once for the whole list."""
        registry = await self._registry.current()
        snapshot = await self._crls.snapshot(registry.revocation_urls)
        now = self._clock()
        out: list[VerificationReport | None] = []
        for sha256, doc_type, issuer_status in files:
            key = (sha256, registry.version, snapshot.epoch, self._settings.revocation_policy)
            cached = self._cache.get(key)
            if cached is None or not cached.fresh(now):
                out.append(None)
                continue
            self._cache.move_to_end(key)
            ocsp = await self._ocsp_answers(registry, cached.analysis)
            # Note: the report of a cached analysis is a pure function of the key, the
            # type, the issuer's status and the OCSP answers; keep the ones built (only
            # the time of the check differs), so a hot share view costs a dictionary
            # lookup per paper.
            rkey = (key, doc_type, issuer_status, tuple(sorted(ocsp.items())))
            report = self._reports.get(rkey)
            if report is None:
                report = self._report(
                    cached,
                    registry=registry,
                    sha256=sha256,
                    doc_type=doc_type,
                    expected_sha256=sha256,
                    issuer_status=issuer_status,
                    ocsp=ocsp,
                )
                self._reports[rkey] = report
                if len(self._reports) > self._settings.cache_size:
                    self._reports.popitem(last=False)
            out.append(msgspec.structs.replace(report, checked_at=now))
        return out

    # -- OCSP -------------------------------------------------------------------------

    def _ca_facts(self, der: bytes) -> tuple[tuple[str, ...], int]:
        """A CA certificate's OCSP URLs and serial, parsed once (hot on cached paths)."""
        facts = self._ca_parsed.get(der)
        if facts is None:
            cert = asn1_x509.Certificate.load(der)
            facts = (tuple(cert.ocsp_urls), cert.serial_number)
            if len(self._ca_parsed) > 256:
                self._ca_parsed.clear()
            self._ca_parsed[der] = facts
        return facts

    async def _ocsp_answers(self, registry: TrustRegistry, analysis: Analysis) -> dict[int, _Ocsp]:
        """Per signature index, what the allow-listed responders say about its chain
        (only signatures whose chain reached an anchor, and only URLs on the list)."""
        if self._ocsp is None or not registry.ocsp_urls:
            return {}
        allowed = set(registry.ocsp_urls)
        out: dict[int, _Ocsp] = {}
        for index, f in enumerate(analysis.signatures):
            urls = [u for u in f.ocsp_urls if u in allowed]
            if f.error is not None or f.serial is None or not f.ca_chain or not urls:
                continue
            if not (f.trusted or f.revocation_unavailable):
                continue
            leaf = await self._ocsp.status(urls[0], f.ca_chain[-1], int(f.serial))
            if leaf is None:
                continue
            if leaf.status == "revoked":
                out[index] = _Ocsp(revoked_at=leaf.revoked_at)
                continue
            chain_good = leaf.status == "good"
            # Each CA below the anchor, asked of its own issuer's responder.
            for position in range(len(f.ca_chain) - 1, 0, -1):
                if not chain_good:
                    break
                ca_ocsp_urls, ca_serial = self._ca_facts(f.ca_chain[position])
                ca_urls = [u for u in ca_ocsp_urls if u in allowed]
                answer = (
                    await self._ocsp.status(ca_urls[0], f.ca_chain[position - 1], ca_serial)
                    if ca_urls
                    else None
                )
                if answer is not None and answer.status == "revoked":
                    out[index] = _Ocsp(revoked_at=answer.revoked_at)
                    break
                chain_good = answer is not None and answer.status == "good"
            if index not in out:
                out[index] = _Ocsp(chain_good=chain_good, leaf_good=leaf.status == "good")
        return out

    # -- facts to reasons ----------------------------------------------------------------

    def _report(
        self,
        cached: _Cached,
        *,
        registry: TrustRegistry,
        sha256: str,
        doc_type: str | None,
        expected_sha256: str | None,
        issuer_status: IssuerStatus | None,
        ocsp: Mapping[int, _Ocsp] | None = None,
    ) -> VerificationReport:
        analysis = cached.analysis
        ocsp = ocsp or {}
        reasons: list[Reason] = []
        warnings: list[Reason] = []
        signatures: list[SignatureReport] = []

        if expected_sha256 is not None and expected_sha256.lower() != sha256:
            reasons.append(reason("document.hash_mismatch", detail=f"expected {expected_sha256}"))
        if issuer_status is not None and issuer_status.state == "revoked":
            reasons.append(reason("document.revoked", detail=issuer_status.reason))
        elif issuer_status is not None and issuer_status.state == "superseded":
            reasons.append(reason("document.superseded", detail=issuer_status.superseded_by))
        if doc_type is not None and registry.document_type(doc_type) is None:
            reasons.append(reason("document.type_unknown", detail=doc_type))

        if analysis.outcome != "ok":
            code = {
                "unreadable": "pdf.unreadable",
                "encrypted": "pdf.encrypted",
                "too_complex": "pdf.too_complex",
                "malformed": "pdf.malformed",
            }[analysis.outcome]
            reasons.append(reason(code, detail=analysis.detail))
        else:
            if analysis.active_content:
                warnings.append(
                    reason("pdf.active_content", detail=", ".join(analysis.active_content))
                )
            if not analysis.signatures:
                reasons.append(reason("document.unsigned"))
            if analysis.data_after_eof:
                # Note: harmless in an unsigned file; in a signed one it is the
                # incremental saving attack without an xref (repairing viewers show it).
                severity: Severity = "error" if analysis.signatures else "warning"
                found = reason("pdf.data_after_eof", severity=severity)
                (reasons if analysis.signatures else warnings).append(found)
            last_signed = max(
                (f.revision for f in analysis.signatures if f.error is None), default=-1
            )
            for index, ts in enumerate(analysis.timestamps):
                if ts.revocation_unavailable:
                    reasons.append(self._revocation_unavailable(None, "document timestamp"))
                elif not ts.ok:
                    reasons.append(
                        reason(
                            "timestamp.invalid", detail=f"document timestamp {index}: {ts.problem}"
                        )
                    )
                elif ts.modification_level not in ALLOWED_AFTER_SIGNING:
                    reasons.append(
                        reason(
                            "signature.modified_after_signing", detail="after a document timestamp"
                        )
                    )
                elif ts.modification_level == "FORM_FILLING" and ts.revision > last_signed:
                    reasons.append(
                        reason("signature.unsigned_changes", detail="after a document timestamp")
                    )
            for index, facts in enumerate(analysis.signatures):
                answer = ocsp.get(index)
                facts = _with_ocsp(facts, answer)
                sig_reasons = self._signature_reasons(
                    index, facts, last=facts.revision == last_signed
                )
                issuer = (
                    registry.issuer_for(
                        certificate_sha256=facts.certificate_sha256,
                        issued_by_sha256=facts.issued_by_sha256,
                        subject=facts.subject,
                    )
                    if facts.trusted and facts.error is None
                    else None
                )
                signatures.append(
                    _signature_report(
                        facts,
                        issuer.code if issuer else None,
                        sig_reasons,
                        by_ocsp=answer is not None
                        and (answer.revoked_at is not None or answer.leaf_good),
                    )
                )
                reasons.extend(sig_reasons)
            reasons.extend(self._issuer_reasons(registry, doc_type, signatures))

        reasons_t = ordered(reasons)
        return VerificationReport(
            verdict=verdict_of(reasons_t),
            reasons=reasons_t,
            warnings=tuple(warnings),
            signatures=tuple(signatures),
            sha256=sha256,
            doc_type=doc_type,
            registry_version=registry.version,
            checked_at=self._clock(),
            validated_at=cached.validated_at,
        )

    def _revocation_unavailable(self, index: int | None, what: str) -> Reason:
        severity: Severity = (
            "error" if self._settings.revocation_policy == "hard-fail" else "indeterminate"
        )
        return reason("revocation.unavailable", signature=index, detail=what, severity=severity)

    def _signature_reasons(self, index: int, f: SignatureFacts, *, last: bool) -> list[Reason]:
        out: list[Reason] = []
        if f.error is not None:
            code = "signature.malformed" if f.malformed else "signature.unsupported"
            return [reason(code, signature=index, detail=f.error)]
        if not (f.intact and f.valid):
            out.append(reason("signature.invalid", signature=index))
        if f.coverage == "partial":
            out.append(reason("signature.partial_coverage", signature=index))
        if f.modification_level not in ALLOWED_AFTER_SIGNING:
            out.append(
                reason(
                    "signature.modified_after_signing",
                    signature=index,
                    detail=f.modification_level,
                )
            )
        elif f.docmdp_ok is False:
            out.append(reason("signature.docmdp_violation", signature=index))
        elif last and f.modification_level == "FORM_FILLING":
            # Note: form filling is allowed between signatures because the next signer
            # signs the filled-in values; after the last one nobody vouches for them
            # (the shadow attack "replace via overlay", a P2/P3 certification abused).
            out.append(reason("signature.unsigned_changes", signature=index))
        proven = f.timestamp_time if f.timestamp_ok else None
        signed_at = proven or f.signing_time
        if f.revoked:
            revoked_before = f.revocation_date is not None and (
                signed_at is None or f.revocation_date <= signed_at
            )
            code = (
                "cert.revoked" if revoked_before or proven is None else "cert.revoked_after_signing"
            )
            out.append(reason(code, signature=index, detail=str(f.revocation_date)))
        elif f.revocation_unavailable:
            out.append(self._revocation_unavailable(index, "signer certificate chain"))
        elif f.problem == "NO_CERTIFICATE_CHAIN_FOUND" or (f.self_signed and not f.trusted):
            # Note: pyHanko calls an untrusted self-signed signer a chain-constraints
            # failure; to the reader it is a certificate no registered anchor vouches for.
            out.append(reason("chain.untrusted", signature=index, detail=f.problem))
        elif f.problem == "OUT_OF_BOUNDS_NO_POE":
            expired_before = (
                f.not_after is not None and signed_at is not None and signed_at > f.not_after
            )
            code = "cert.expired_at_signing" if expired_before else "cert.expired"
            out.append(reason(code, signature=index, detail=str(f.not_after)))
        elif not f.trusted:
            out.append(reason("chain.invalid", signature=index, detail=f.problem))
        elif f.revoked_since:
            # Note: the time-stamp proves the signature existed before the revocation
            # (ETSI EN 319 102-1, POE before the revocation time): it still passes.
            out.append(
                reason(
                    "cert.revoked_after_signing",
                    signature=index,
                    detail=str(f.revocation_date),
                    severity="warning",
                )
            )
        elif f.expired_since:
            out.append(reason("cert.valid_at_signing", signature=index, detail=str(f.not_after)))
        if f.timestamp_ok is False and not f.revocation_unavailable:
            code = "timestamp.untrusted" if f.timestamp_intact else "timestamp.invalid"
            out.append(reason(code, signature=index, detail=f.timestamp_problem))
        if all(r.severity in ("info", "warning") for r in out):
            out.insert(0, reason("signature.intact", signature=index))
        return out

    def _issuer_reasons(
        self, registry: TrustRegistry, doc_type: str | None, signatures: list[SignatureReport]
    ) -> list[Reason]:
        passing = [(i, s) for i, s in enumerate(signatures) if s.verdict == "passed"]
        if not signatures or len(passing) != len(signatures):
            # Note: a signature that fails or cannot be judged already decides the
            # verdict; naming its signer as an issuer would claim more than we know.
            return []
        issuers = [(i, s) for i, s in passing if s.issuer_agency is not None]
        if doc_type is None:
            return [
                reason("issuer.verified", signature=i, detail=s.issuer_agency) for i, s in issuers
            ]
        if registry.document_type(doc_type) is None:
            return []
        by_code = {issuer.code: issuer for issuer in registry.issuers}
        authorized = [
            (i, s) for i, s in issuers if doc_type in by_code[s.issuer_agency or ""].doc_types
        ]
        if authorized:
            return [
                reason("issuer.verified", signature=i, detail=s.issuer_agency)
                for i, s in authorized
            ]
        if issuers:
            return [
                reason(
                    "issuer.not_authorized_for_type",
                    signature=i,
                    detail=f"{s.issuer_agency} may not issue {doc_type}",
                )
                for i, s in issuers
            ]
        return [reason("issuer.unknown", signature=len(signatures) - 1, detail=doc_type)]


def _material(registry: TrustRegistry, snapshot: RevocationSnapshot) -> Material:
    return Material(
        key=f"{registry.version}:{snapshot.epoch}",
        anchors=registry.anchors,
        intermediates=registry.intermediates,
        crls=snapshot.crls,
    )


def _with_ocsp(f: SignatureFacts, answer: _Ocsp | None) -> SignatureFacts:
    """The facts once the OCSP answers are applied: a revocation they show wins; a
    chain they show all good settles revocation data the validator lacked.  Nothing
    they say ever clears a revocation the validator found."""
    if answer is None or f.revoked:
        return f
    if answer.revoked_at is not None:
        return msgspec.structs.replace(
            f, revoked=True, revocation_date=answer.revoked_at, revocation_unavailable=False
        )
    if answer.chain_good and f.revocation_unavailable:
        return msgspec.structs.replace(f, revocation_unavailable=False)
    return f


def _signature_report(
    f: SignatureFacts, issuer_code: str | None, reasons: list[Reason], *, by_ocsp: bool = False
) -> SignatureReport:
    if f.revoked:
        revocation: Literal["good", "revoked", "unavailable", "not_checked"] = "revoked"
    elif f.revocation_unavailable:
        revocation = "unavailable"
    elif f.trusted:
        revocation = "good"
    else:
        revocation = "not_checked"
    return SignatureReport(
        field_name=f.field_name,
        signer=Signer(
            common_name=f.subject.get("common_name"),
            organization=f.subject.get("organization_name"),
            organizational_unit=f.subject.get("organizational_unit_name"),
            serial_number=f.subject.get("serial_number"),
            country=f.subject.get("country_name"),
            certificate_sha256=f.certificate_sha256,
            issuer_common_name=f.issuer_common_name,
        ),
        issuer_agency=issuer_code,
        signing_time=f.signing_time,
        timestamp_time=f.timestamp_time if f.timestamp_ok else None,
        level=f.level,
        trust_path=f.trust_path,
        revocation=revocation,
        revocation_source=(
            ("ocsp" if by_ocsp else "crl") if revocation in ("good", "revoked") else None
        ),
        coverage=f.coverage,
        modification_level=f.modification_level,
        intact=f.intact and f.valid,
        trusted=f.trusted and not f.revocation_unavailable,
        verdict=verdict_of(reasons),
        judged_at=f.judged_at,
    )
