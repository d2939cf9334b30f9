"""Cached re-verification is >= 50x faster than cold, and invalidation works."""

from __future__ import annotations

import time

import msgspec

from signing import DemoPki, Sealer
from signing.models import Credential
from tests.verification.conftest import PDF, revocation_for
from verification import (
    InMemoryRegistrySource,
    IssuerStatus,
    SandboxPool,
    TrustRegistry,
    Verifier,
)


async def test_cache_hit_is_50x_faster_and_invalidation_forces_a_cold_run(
    pool: SandboxPool, registry: TrustRegistry, pki: DemoPki, sealer: Sealer, agency: Credential
) -> None:
    verifier = Verifier(InMemoryRegistrySource(registry), revocation_for(pki), analyser=pool)
    signed = await sealer.seal(PDF, agency, level="B-LT")
    await verifier.verify(PDF)  # warm the CRL snapshot

    colds, warms = [], []
    for _ in range(3):
        verifier.invalidate(None)
        t0 = time.perf_counter()
        cold = await verifier.verify(signed, doc_type="birth_certificate")
        colds.append(time.perf_counter() - t0)
        for _ in range(20):
            t0 = time.perf_counter()
            warm = await verifier.verify(signed, doc_type="birth_certificate")
            warms.append(time.perf_counter() - t0)
    assert msgspec.structs.replace(cold, checked_at=warm.checked_at) == warm
    ratio = min(colds) / sorted(warms)[len(warms) // 2]
    assert ratio >= 50, (colds, sorted(warms)[:5])

    verifier.invalidate(cold.sha256)
    again = await verifier.verify(signed, doc_type="birth_certificate")
    assert again.validated_at > cold.validated_at


async def test_document_revocation_shows_at_once_on_a_cached_result(
    verifier: Verifier, sealer: Sealer, agency: Credential
) -> None:
    signed = await sealer.seal(PDF, agency, level="B-T")
    first = await verifier.verify(signed, doc_type="birth_certificate")

    revoked = await verifier.verify(
        signed, doc_type="birth_certificate", issuer_status=IssuerStatus(state="revoked")
    )

    assert first.verdict == "passed"
    assert revoked.verdict == "failed" and revoked.reasons[0].code == "document.revoked"
    assert revoked.validated_at == first.validated_at  # same cached analysis


async def test_new_registry_version_is_a_new_cache_key(
    pool: SandboxPool, registry: TrustRegistry, pki: DemoPki, sealer: Sealer, agency: Credential
) -> None:
    source = InMemoryRegistrySource(registry)
    verifier = Verifier(source, revocation_for(pki), analyser=pool)
    signed = await sealer.seal(PDF, agency, level="B-B")
    before = await verifier.verify(signed, doc_type="birth_certificate")

    source.replace(
        TrustRegistry(version=registry.version + 1, anchors=registry.anchors, issuers=())
    )
    after = await verifier.verify(signed, doc_type="birth_certificate")

    assert before.verdict == "passed"
    assert after.registry_version == 2 and after.validated_at > before.validated_at
    assert after.verdict == "failed"  # no CRL URLs, no issuers any more
