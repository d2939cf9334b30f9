"""The trust registry in the database, on SQLite and PostgreSQL: CRUD, the version every
change bumps, the cached source and a verification through it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from asn1crypto import pem
from sqlalchemy import text

from kho.app import Services
from kho.registry_cli import ensure_demo_registry, register_agency_issuer
from signing import CA_NAMES, DemoPki, Sealer
from signing.models import Credential
from tests.conftest import reset_registry
from tests.verification.conftest import AGENCY, PDF, POLICE, revocation_for
from vault.db import Database
from verification import DOCUMENT_TYPES, IssuerMatch, SandboxPool, Verifier, VerifierSettings
from verification.errors import VerificationUnavailable
from verification.registry import sha256_hex
from verification.registry_db import (
    AnchorExists,
    DatabaseRegistrySource,
    DocumentTypeExists,
    DocumentTypeInUse,
    InvalidCertificate,
    InvalidRegistryEntry,
    IssuerExists,
    RegistryService,
    UnknownAnchor,
    UnknownDocumentType,
    UnknownIssuer,
    UnknownRevocationUrl,
)


@pytest.fixture
async def registry(services: Services) -> AsyncIterator[RegistryService]:
    await reset_registry(services.database)
    yield RegistryService(services.database)
    await reset_registry(services.database)


@pytest.fixture
async def other_process(services: Services) -> AsyncIterator[RegistryService]:
    """Another process's view: its own engine and pool on the same database."""
    db = Database(services.database.url)
    yield RegistryService(db)
    await db.dispose()


def agency_match(pki: DemoPki, code: str) -> IssuerMatch:
    return IssuerMatch.issued_by(pki.ca_certificate("agency-ca"), organizational_unit_name=code)


def root_pem(pki: DemoPki) -> bytes:
    return pki.export_root_pem().encode()


async def test_migration_seeds_the_catalogue_at_version_1(registry: RegistryService) -> None:
    assert await registry.version() == 1
    assert tuple(await registry.list_document_types()) == tuple(
        sorted(DOCUMENT_TYPES, key=lambda t: t.code)
    )
    snap = await registry.snapshot()
    assert (snap.version, snap.anchors, snap.issuers, snap.revocation_urls) == (1, (), (), ())


async def test_anchors_from_pem_or_der(registry: RegistryService, pki: DemoPki) -> None:
    root = pki.ca_certificate("root")

    added = await registry.add_anchor("Demo root", root_pem(pki))

    assert added.fingerprint == sha256_hex(root) and added.certificate == root
    assert added.role == "anchor" and "Root CA" in added.subject
    with pytest.raises(AnchorExists) as exc:
        await registry.add_anchor("Again, as DER", root)
    assert exc.value.fingerprint == added.fingerprint
    assert (await registry.add_anchor("x", root, exist_ok=True)).name == "Demo root"
    inter = await registry.add_anchor(
        "Agency CA", pki.ca_certificate("agency-ca"), role="intermediate"
    )
    assert [a.fingerprint for a in await registry.list_anchors()] == [
        added.fingerprint,
        inter.fingerprint,
    ]
    snap = await registry.snapshot()
    assert snap.anchors == (root,) and snap.intermediates == (pki.ca_certificate("agency-ca"),)

    colons = ":".join(added.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    await registry.remove_anchor(colons)
    assert [a.role for a in await registry.list_anchors()] == ["intermediate"]
    with pytest.raises(UnknownAnchor):
        await registry.remove_anchor(added.fingerprint)


@pytest.mark.parametrize(
    "data",
    [
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"",
    ],
)
async def test_garbage_is_not_an_anchor(registry: RegistryService, data: bytes) -> None:
    with pytest.raises(InvalidCertificate):
        await registry.add_anchor("bad", data)
    assert await registry.version() == 1


async def test_two_certificates_in_one_pem_are_refused(
    registry: RegistryService, pki: DemoPki
) -> None:
    both = root_pem(pki) + pem.armor("CERTIFICATE", pki.ca_certificate("agency-ca"))
    with pytest.raises(InvalidCertificate, match="found 2"):
        await registry.add_anchor("two", both)


async def test_issuers_with_matches_and_authorizations(
    registry: RegistryService, pki: DemoPki
) -> None:
    match = agency_match(pki, AGENCY[0])

    issuer = await registry.add_issuer(*AGENCY, [match], ["birth_certificate", "judicial_record"])

    assert issuer.matches == (match,)
    assert await registry.get_issuer(AGENCY[0]) == issuer
    assert issuer.doc_types == {"birth_certificate", "judicial_record"}
    with pytest.raises(IssuerExists):
        await registry.add_issuer(AGENCY[0], "Another name", [match])
    with pytest.raises(UnknownIssuer):
        await registry.get_issuer(POLICE[0])

    await registry.remove_issuer(AGENCY[0])

    assert await registry.list_issuers() == []
    with pytest.raises(UnknownIssuer):
        await registry.remove_issuer(AGENCY[0])


async def test_a_failed_issuer_change_changes_nothing(
    registry: RegistryService, pki: DemoPki
) -> None:
    match = agency_match(pki, POLICE[0])
    with pytest.raises(UnknownDocumentType) as exc:
        await registry.add_issuer(*POLICE, [match], ["driving_licence", "spaceship_licence"])
    assert exc.value.code == "spaceship_licence"
    with pytest.raises(InvalidRegistryEntry):
        await registry.add_issuer(*POLICE, [])
    with pytest.raises(InvalidRegistryEntry):
        await registry.add_issuer("bad code!", POLICE[1], [match])

    assert await registry.list_issuers() == []
    assert await registry.version() == 1


async def test_register_issuer_is_idempotent_and_only_adds(
    registry: RegistryService, pki: DemoPki
) -> None:
    match = agency_match(pki, AGENCY[0])
    pinned = IssuerMatch.pinned(pki.agency_seal(*AGENCY).certificate)
    await registry.register_issuer(*AGENCY, [match], ["birth_certificate"])
    version = await registry.version()

    again = await registry.register_issuer(*AGENCY, [match], ["birth_certificate"])
    assert await registry.version() == version

    more = await registry.register_issuer(AGENCY[0], "New name", [pinned], ["judicial_record"])
    assert await registry.version() == version + 1
    assert again.matches == (match,) and more.matches == (match, pinned)
    assert more.name == "New name"
    assert more.doc_types == {"birth_certificate", "judicial_record"}


async def test_document_types(registry: RegistryService, pki: DemoPki) -> None:
    added = await registry.add_document_type("work_permit", "Giấy phép lao động", "Work permit")
    assert added in await registry.list_document_types()
    with pytest.raises(DocumentTypeExists):
        await registry.add_document_type("work_permit", "x", "y")
    with pytest.raises(InvalidRegistryEntry):
        await registry.add_document_type("Work Permit", "x", "y")

    renamed = await registry.rename_document_type("work_permit", name_en="Work permit card")
    assert (renamed.name_vi, renamed.name_en) == ("Giấy phép lao động", "Work permit card")

    await registry.add_issuer(*AGENCY, [agency_match(pki, AGENCY[0])], ["work_permit"])
    with pytest.raises(DocumentTypeInUse) as exc:
        await registry.remove_document_type("work_permit")
    assert exc.value.issuers == (AGENCY[0],)
    await registry.deny(AGENCY[0], "work_permit")
    await registry.remove_document_type("work_permit")
    assert "work_permit" not in {t.code for t in await registry.list_document_types()}
    with pytest.raises(UnknownDocumentType):
        await registry.remove_document_type("work_permit")
    with pytest.raises(UnknownDocumentType):
        await registry.rename_document_type("work_permit", name_vi="x")


async def test_allow_and_deny(registry: RegistryService, pki: DemoPki) -> None:
    await registry.add_issuer(*POLICE, [agency_match(pki, POLICE[0])])

    assert await registry.allow(POLICE[0], "driving_licence") is True
    assert await registry.allow(POLICE[0], "driving_licence") is False
    assert (await registry.get_issuer(POLICE[0])).doc_types == {"driving_licence"}
    assert await registry.deny(POLICE[0], "driving_licence") is True
    assert await registry.deny(POLICE[0], "driving_licence") is False
    with pytest.raises(UnknownIssuer):
        await registry.allow(AGENCY[0], "driving_licence")
    with pytest.raises(UnknownDocumentType):
        await registry.allow(POLICE[0], "pilot_licence")


async def test_revocation_urls(registry: RegistryService) -> None:
    url = "http://kho.test/pki/root.crl"
    assert await registry.add_revocation_url(url) is True
    assert await registry.add_revocation_url(url) is False
    assert await registry.list_revocation_urls() == [url]
    with pytest.raises(InvalidRegistryEntry):
        await registry.add_revocation_url("file:///etc/passwd")
    await registry.remove_revocation_url(url)
    with pytest.raises(UnknownRevocationUrl):
        await registry.remove_revocation_url(url)


async def test_every_change_bumps_the_version_once_and_reads_never(
    registry: RegistryService, pki: DemoPki
) -> None:
    match = agency_match(pki, AGENCY[0])
    changes = [
        lambda: registry.add_anchor("root", pki.ca_certificate("root")),
        lambda: registry.add_revocation_url(pki.crl_url("root")),
        lambda: registry.add_document_type("work_permit", "Giấy phép lao động", "Work permit"),
        lambda: registry.rename_document_type("work_permit", name_vi="Giấy phép lao động (mới)"),
        lambda: registry.add_issuer(*AGENCY, [match]),
        lambda: registry.allow(AGENCY[0], "work_permit"),
        lambda: registry.deny(AGENCY[0], "work_permit"),
        lambda: registry.remove_document_type("work_permit"),
        lambda: registry.remove_issuer(AGENCY[0]),
        lambda: registry.remove_revocation_url(pki.crl_url("root")),
        lambda: registry.remove_anchor(sha256_hex(pki.ca_certificate("root"))),
    ]
    reads = [
        registry.version,
        registry.snapshot,
        registry.list_anchors,
        registry.list_issuers,
        registry.list_document_types,
        registry.list_revocation_urls,
    ]
    for expected, change in enumerate(changes, start=2):
        await change()
        for read in reads:
            await read()
        assert await registry.version() == expected


async def test_the_source_reads_the_tables_only_when_the_version_moved(
    registry: RegistryService, other_process: RegistryService, services: Services, pki: DemoPki
) -> None:
    source = DatabaseRegistrySource(services.database)
    first = await source.current()
    assert await source.current() is first and source.loads == 1

    await other_process.add_issuer(*AGENCY, [agency_match(pki, AGENCY[0])], ["birth_certificate"])

    fresh = await source.current()
    assert fresh.version == first.version + 1 and source.loads == 2
    assert [i.code for i in fresh.issuers] == [AGENCY[0]]
    assert await source.current() is fresh and source.loads == 2


async def test_the_source_follows_a_restore_to_an_older_version(
    registry: RegistryService, services: Services
) -> None:
    source = DatabaseRegistrySource(services.database)
    await registry.add_revocation_url("http://kho.test/pki/root.crl")
    assert (await source.current()).version == 2
    await reset_registry(services.database)

    assert (await source.current()).revocation_urls == ()


async def test_the_source_is_unavailable_without_its_tables(tmp_path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(VerificationUnavailable):
            await DatabaseRegistrySource(db).current()
    finally:
        await db.dispose()


async def test_ensure_demo_registry_is_idempotent(
    registry: RegistryService, services: Services
) -> None:
    await ensure_demo_registry(services)
    version = await registry.version()
    await ensure_demo_registry(services)

    pki = services.signing.pki
    snap = await registry.snapshot()
    assert snap.version == version
    assert snap.anchors == (pki.ca_certificate("root"),)
    assert set(snap.intermediates) == {pki.ca_certificate(ca) for ca in CA_NAMES[1:]}
    assert set(snap.revocation_urls) == {pki.crl_url(ca) for ca in CA_NAMES}


async def test_register_agency_issuer_recognises_its_seal(
    registry: RegistryService, services: Services
) -> None:
    with pytest.raises(UnknownDocumentType):
        await register_agency_issuer(services, "UBND-Q1", "UBND Quận 1", ["birth_certficate"])
    assert await registry.version() == 1

    await register_agency_issuer(services, "UBND-Q1", "UBND Quận 1", ["birth_certificate"])

    pki = services.signing.pki
    seal = pki.agency_seal("UBND-Q1", "UBND Quận 1").certificate
    snap = await registry.snapshot()
    found = snap.issuer_for(
        certificate_sha256=sha256_hex(seal),
        issued_by_sha256=sha256_hex(pki.ca_certificate("agency-ca")),
        subject={"organizational_unit_name": "UBND-Q1"},
    )
    assert found is not None and found.doc_types == {"birth_certificate"}
    assert snap.anchors == (pki.ca_certificate("root"),)


async def test_a_verification_follows_the_registry_it_reads(
    registry: RegistryService,
    services: Services,
    pki: DemoPki,
    sealer: Sealer,
    agency: Credential,
    pool: SandboxPool,
) -> None:
    await registry.add_anchor("root", pki.ca_certificate("root"))
    for ca in CA_NAMES:
        await registry.add_revocation_url(pki.crl_url(ca))
    await registry.add_issuer(*AGENCY, [agency_match(pki, AGENCY[0])], ["birth_certificate"])
    verifier = Verifier(
        DatabaseRegistrySource(services.database),
        revocation_for(pki),
        analyser=pool,
        settings=VerifierSettings(crl_max_age_seconds=0),
    )
    signed = await sealer.seal(PDF, agency, level="B-T")

    report = await verifier.verify(signed, doc_type="birth_certificate")
    assert report.verdict == "passed", report.reasons
    assert report.signatures[0].issuer_agency == AGENCY[0]

    await registry.deny(AGENCY[0], "birth_certificate")

    report = await verifier.verify(signed, doc_type="birth_certificate")
    assert report.verdict == "failed"
    assert "issuer.not_authorized_for_type" in report.codes()
    assert report.registry_version == await registry.version()


async def test_concurrent_writers_in_two_processes_lose_no_bump(
    registry: RegistryService, other_process: RegistryService, services: Services
) -> None:
    """Writers lock the version row first (PostgreSQL) or BEGIN IMMEDIATE (SQLite)."""
    urls = [f"http://kho.test/pki/ca-{i}.crl" for i in range(10)]
    await asyncio.gather(
        *(
            (registry if i % 2 else other_process).add_revocation_url(url)
            for i, url in enumerate(urls)
        )
    )
    assert await registry.version() == 1 + len(urls)
    async with services.database.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM revocation_urls"))).scalar() == 10
