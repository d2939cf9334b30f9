"""Verification asks the registry's allow-listed OCSP responders, with CRLs as fallback."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from signing import CA_NAMES, DemoPki, Sealer
from tests.verification.conftest import PDF, make_verifier, revocation_for
from verification import (
    InMemoryOcspSource,
    InMemoryRegistrySource,
    OcspCache,
    SandboxPool,
    TrustRegistry,
    Verifier,
    VerifierSettings,
)


def ocsp_for(pki: DemoPki) -> InMemoryOcspSource:
    return InMemoryOcspSource(
        {pki.ocsp_url(ca): functools.partial(pki.ocsp, ca) for ca in CA_NAMES}
    )


def with_ocsp(registry: TrustRegistry, pki: DemoPki) -> TrustRegistry:
    return msgspec.structs.replace(
        registry,
        ocsp_urls=tuple(pki.ocsp_url(ca) for ca in CA_NAMES),
        version=registry.version + 100,
    )


def verifier_with(pool, registry, revocation, ocsp, **settings) -> Verifier:
    return Verifier(
        InMemoryRegistrySource(registry),
        revocation,
        analyser=pool,
        ocsp=ocsp,
        settings=VerifierSettings(**settings),  # type: ignore[arg-type]
    )


async def test_a_revocation_shows_through_ocsp_while_the_cached_crl_still_says_good(
    pki: DemoPki, sealer: Sealer, pool: SandboxPool, registry: TrustRegistry
) -> None:
    cred = pki.agency_seal("OCSP-V1", "Sở Tư pháp")
    signed = await sealer.seal(PDF, cred, level="B-B")
    ocsp = ocsp_for(pki)
    # Both keep CRLs for five minutes; OCSP answers are asked afresh each time here.
    by_ocsp = verifier_with(
        pool, with_ocsp(registry, pki), revocation_for(pki), ocsp, ocsp_max_age_seconds=0
    )
    by_crl = verifier_with(pool, with_ocsp(registry, pki), revocation_for(pki), None)
    for v in (by_ocsp, by_crl):
        report = await v.verify(signed)
        assert report.verdict == "passed", report.reasons
    [sig] = (await by_ocsp.verify(signed)).signatures
    assert (sig.revocation, sig.revocation_source) == ("good", "ocsp")
    assert (await by_crl.verify(signed)).signatures[0].revocation_source == "crl"

    pki.revoke(cred.certificate, "key_compromise")

    revoked = await by_ocsp.verify(signed)
    assert revoked.verdict == "failed"
    assert "cert.revoked" in revoked.codes()
    assert (revoked.signatures[0].revocation, revoked.signatures[0].revocation_source) == (
        "revoked",
        "ocsp",
    )
    # The control: CRLs alone still say good until they are fetched again.
    assert (await by_crl.verify(signed)).verdict == "passed"
    assert set(ocsp.requests) <= set(with_ocsp(registry, pki).ocsp_urls)


async def test_ocsp_settles_what_unreachable_crls_leave_open_and_crls_are_the_fallback(
    pki: DemoPki, sealer: Sealer, agency, pool: SandboxPool, registry: TrustRegistry
) -> None:
    signed = await sealer.seal(PDF, agency, level="B-B")
    crls = revocation_for(pki)
    crls.unreachable = True
    ocsp = ocsp_for(pki)
    verifier = verifier_with(pool, with_ocsp(registry, pki), crls, ocsp, crl_max_age_seconds=0)

    report = await verifier.verify(signed)

    assert report.verdict == "passed", report.reasons
    assert report.signatures[0].revocation_source == "ocsp"
    # The leaf (agency CA's responder) and the agency CA itself (the root's).
    assert set(ocsp.requests) == {pki.ocsp_url("agency-ca"), pki.ocsp_url("root")}

    # Neither OCSP nor CRLs: revocation is unknown, and hard-fail fails it.
    ocsp.unreachable = True
    nothing = verifier_with(pool, with_ocsp(registry, pki), crls, ocsp, crl_max_age_seconds=0)
    report = await nothing.verify(signed)
    assert report.verdict == "failed"
    assert "revocation.unavailable" in report.codes()

    # OCSP down, CRLs up: the CRLs decide (fallback).
    fallback = verifier_with(pool, with_ocsp(registry, pki), revocation_for(pki), ocsp)
    report = await fallback.verify(signed)
    assert report.verdict == "passed"
    assert report.signatures[0].revocation_source == "crl"


async def test_responders_off_the_allow_list_are_never_asked(
    pki: DemoPki, sealer: Sealer, agency, pool: SandboxPool, registry: TrustRegistry
) -> None:
    signed = await sealer.seal(PDF, agency, level="B-B")
    ocsp = ocsp_for(pki)
    verifier = verifier_with(pool, registry, revocation_for(pki), ocsp)  # no ocsp_urls

    report = await verifier.verify(signed)

    assert report.verdict == "passed"
    assert pki.ocsp_url("agency-ca").encode() in agency.certificate  # its AIA names one
    assert ocsp.requests == []


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_answers_are_kept_until_next_update_and_forged_ones_do_not_count(
    pki: DemoPki, agency
) -> None:
    from asn1crypto import x509 as asn1_x509

    clock = Clock()
    ocsp = ocsp_for(pki)
    cache = OcspCache(ocsp, max_age=timedelta(minutes=10), clock=clock)
    issuer = pki.ca_certificate("agency-ca")
    serial = asn1_x509.Certificate.load(agency.certificate).serial_number
    url = pki.ocsp_url("agency-ca")

    first = await cache.status(url, issuer, serial)
    assert first is not None and first.status == "good" and first.next_update is not None
    assert await cache.status(url, issuer, serial) == first
    assert len(ocsp.requests) == 1
    clock.now += timedelta(minutes=11)
    assert await cache.status(url, issuer, serial) is not None
    assert len(ocsp.requests) == 2
    # Never past nextUpdate: a stale answer does not count.
    stale = OcspCache(ocsp, max_age=timedelta(days=1), clock=clock)
    assert await stale.status(url, issuer, serial) is not None
    clock.now = first.next_update + timedelta(hours=1)
    assert await stale.status(url, issuer, serial) is None

    # The citizen CA's responder answering about an agency certificate: not its
    # issuer's key, so the answer does not count.
    forged = InMemoryOcspSource({url: functools.partial(pki.ocsp, "citizen-ca")})
    assert await OcspCache(forged, clock=clock).status(url, issuer, serial) is None
    garbage = InMemoryOcspSource({url: lambda _request: b"\x30\x03\x0a\x01\x00"})
    assert await OcspCache(garbage, clock=clock).status(url, issuer, serial) is None


@pytest.mark.parametrize("policy", ["hard-fail", "soft-fail"])
async def test_the_old_pipeline_without_ocsp_is_unchanged(
    policy, pki: DemoPki, sealer: Sealer, agency, pool: SandboxPool, registry: TrustRegistry
) -> None:
    signed = await sealer.seal(PDF, agency, level="B-B")
    verifier = make_verifier(pool, registry, revocation_for(pki), revocation_policy=policy)
    report = await verifier.verify(signed)
    assert report.verdict == "passed"
    assert report.signatures[0].revocation_source == "crl"
