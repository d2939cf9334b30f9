"""Validation at the proven signing time (ETSI EN 319 102-1, proof of existence): for
B-T and above the signer's certificate is judged at the signature time-stamp's time
once it has expired or been revoked since; a B-B signature is judged at the time of
the check.  The validation clock is moved forward, the certificates are real."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signing import DemoPki, PadesLevel, PkiSettings, Sealer
from signing.models import Credential
from tests.verification.conftest import BASE_URL, PDF, revocation_for
from vault.keys import LocalKeyRing
from verification import (
    InMemoryRegistrySource,
    SandboxPool,
    TrustRegistry,
    Verifier,
    VerifierSettings,
)


def _issuer(pki: DemoPki, directory: Path, keyring: LocalKeyRing, **kw: object) -> DemoPki:
    """Another handle on the session's PKI (same CAs, same TSA) that issues leaf
    certificates with other validity settings or another clock."""
    clock: Callable[[], datetime] = kw.pop("clock", lambda: datetime.now(UTC))  # type: ignore[assignment]
    settings = PkiSettings(base_url=BASE_URL, **kw)  # type: ignore[arg-type]
    return DemoPki.open(directory, keyring, settings, clock=clock)


@pytest.fixture(scope="module")
def pki_dir(pki: DemoPki) -> Path:
    return Path(repr(pki).split("'")[1])


@pytest.fixture(scope="module")
def short_lived(pki: DemoPki, pki_dir: Path, keyring: LocalKeyRing) -> Credential:
    """A seal certificate valid for two days from now."""
    return _issuer(pki, pki_dir, keyring, leaf_validity_days=2).agency_seal(
        "000.00.07.T02", "Cơ quan chứng thư ngắn hạn"
    )


@pytest.fixture(scope="module")
def already_expired(pki: DemoPki, pki_dir: Path, keyring: LocalKeyRing) -> Credential:
    """A seal certificate that expired five days ago."""
    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    return _issuer(
        pki, pki_dir, keyring, leaf_validity_days=5, clock=lambda: ten_days_ago
    ).agency_seal("000.00.07.T05", "Cơ quan chứng thư đã hết hạn")


def verifier_at(
    pool: SandboxPool, registry: TrustRegistry, pki: DemoPki, moment: datetime
) -> Verifier:
    return Verifier(
        InMemoryRegistrySource(registry),
        revocation_for(pki),
        analyser=pool,
        settings=VerifierSettings(crl_max_age_seconds=0),
        clock=lambda: moment,
    )


def codes(report: object) -> list[str]:
    return list(report.codes())  # type: ignore[attr-defined]


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
async def test_expired_after_a_timestamped_signature_still_passes_later(
    level: PadesLevel,
    short_lived: Credential,
    sealer: Sealer,
    pool: SandboxPool,
    registry: TrustRegistry,
    pki: DemoPki,
) -> None:
    signed = await sealer.seal(PDF, short_lived, level=level)
    later = datetime.now(UTC) + timedelta(days=3)

    report = await verifier_at(pool, registry, pki, later).verify(signed)

    assert report.verdict == "passed", report.reasons
    assert codes(report) == ["signature.intact", "cert.valid_at_signing"]
    (sig,) = report.signatures
    assert sig.timestamp_time is not None and sig.judged_at == sig.timestamp_time
    assert sig.trusted and sig.revocation == "good"


async def test_a_b_b_signature_with_an_expired_certificate_is_judged_now(
    short_lived: Credential,
    sealer: Sealer,
    pool: SandboxPool,
    registry: TrustRegistry,
    pki: DemoPki,
) -> None:
    signed = await sealer.seal(PDF, short_lived, level="B-B")
    now = datetime.now(UTC)
    later = now + timedelta(days=3)

    today = await verifier_at(pool, registry, pki, now).verify(signed)
    report = await verifier_at(pool, registry, pki, later).verify(signed)

    assert today.verdict == "passed", today.reasons
    assert report.verdict == "indeterminate"
    assert codes(report) == ["cert.expired"]
    assert report.signatures[0].judged_at == later


@pytest.mark.parametrize("level", ["B-B", "B-T"])
async def test_expired_at_signing_fails(
    level: PadesLevel,
    already_expired: Credential,
    sealer: Sealer,
    pool: SandboxPool,
    registry: TrustRegistry,
    pki: DemoPki,
) -> None:
    """Expired before the time-stamp (B-T), or before the signing time the signer
    itself claims (B-B): failed, not merely indeterminate."""
    signed = await sealer.seal(PDF, already_expired, level=level)

    report = await verifier_at(pool, registry, pki, datetime.now(UTC)).verify(signed)

    assert report.verdict == "failed"
    assert codes(report)[0] == "cert.expired_at_signing"
    sig = report.signatures[0]
    if level == "B-T":
        assert sig.timestamp_time is not None and sig.judged_at == sig.timestamp_time


@pytest.mark.parametrize("level", ["B-T", "B-LT"])
async def test_revoked_after_the_timestamp_passes_with_a_warning(
    level: PadesLevel,
    sealer: Sealer,
    pool: SandboxPool,
    registry: TrustRegistry,
    pki: DemoPki,
) -> None:
    later_revoked = pki.agency_seal(f"000.00.07.R{level[-1]}", "Cơ quan bị thu hồi sau")
    signed = await sealer.seal(PDF, later_revoked, level=level)
    # Note: CRLs give revocation times in whole seconds; revoke in a later second.
    await asyncio.sleep(1.1)
    pki.revoke(later_revoked.certificate, "key_compromise")

    report = await verifier_at(
        pool, registry, pki, datetime.now(UTC) + timedelta(seconds=5)
    ).verify(signed)

    assert report.verdict == "passed", report.reasons
    assert set(codes(report)) == {"signature.intact", "cert.revoked_after_signing"}
    (finding,) = [r for r in report.reasons if r.code == "cert.revoked_after_signing"]
    assert finding.severity == "warning" and finding.detail
    sig = report.signatures[0]
    assert sig.judged_at == sig.timestamp_time and sig.revocation == "good"


async def test_revoked_before_the_timestamp_fails_also_later(
    sealer: Sealer, pool: SandboxPool, registry: TrustRegistry, pki: DemoPki
) -> None:
    doomed = pki.agency_seal("000.00.07.R00", "Cơ quan bị thu hồi trước")
    pki.revoke(doomed.certificate, "key_compromise")
    signed = await sealer.seal(PDF, doomed, level="B-T")

    for moment in (datetime.now(UTC), datetime.now(UTC) + timedelta(days=2)):
        report = await verifier_at(pool, registry, pki, moment).verify(signed)

        assert report.verdict == "failed"
        assert codes(report)[0] == "cert.revoked"


async def test_a_cached_analysis_is_not_used_past_the_certificate_expiry(
    short_lived: Credential,
    sealer: Sealer,
    pool: SandboxPool,
    registry: TrustRegistry,
    pki: DemoPki,
) -> None:
    signed = await sealer.seal(PDF, short_lived, level="B-B")
    moments = [datetime.now(UTC)]
    verifier = Verifier(
        InMemoryRegistrySource(registry),
        revocation_for(pki),
        analyser=pool,
        settings=VerifierSettings(crl_max_age_seconds=3600),
        clock=lambda: moments[-1],
    )

    first = await verifier.verify(signed)
    moments.append(moments[0] + timedelta(days=3))
    second = await verifier.verify(signed)

    assert first.verdict == "passed" and second.verdict == "indeterminate"
    assert codes(second) == ["cert.expired"]
