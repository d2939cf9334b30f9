"""``kho demo``: idempotent demo data that makes a first look convincing."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from kho.app import Services
from kho.samples import make_pdf, make_png
from sharing.filings import FilingStatus
from vault import Actor, ActorType, Agency, DocumentFilter, IssuerStatus, Provenance
from vault.errors import AgencyExists, OfficialExists, OwnerExists

DEMO_PASSWORD = "kho-demo-2026"  # noqa: S105 — demo accounts only, printed on purpose

CITIZENS = [
    ("001090000001", "Nguyễn Thị Lan"),
    ("079085000002", "Trần Văn Minh"),
    ("031199000003", "Lê Hoàng Anh"),
]

AGENCIES = [
    ("UBND-PBD", "Ủy ban nhân dân phường Phúc Xá, quận Ba Đình"),
    ("STP-HN", "Sở Tư pháp thành phố Hà Nội"),
    # receiving agencies of the seeded procedures (migration 0009)
    ("CA-PBD", "Công an phường Phúc Xá, quận Ba Đình"),
    ("SGTVT-HN", "Sở Giao thông vận tải thành phố Hà Nội"),
    ("BHXH-BD", "Bảo hiểm xã hội quận Ba Đình"),
]
# A commune people's committee certifies copies at its one-stop counter.
AGENCY_SCOPES = {"UBND-PBD": frozenset({"deposit", "revoke", "request", "certify", "filings"})}
DEMO_OFFICIAL = ("CB-0001", "Phạm Minh Đức")
DEMO_SIGNING_PIN = "123456"
DEMO_OFFICIAL_USER = "canbo"
# What each demo agency is registered to issue (or certify copies of) in the trust registry.
ISSUES = {
    "UBND-PBD": [
        "birth_certificate",
        "marriage_certificate",
        "marital_status",
        "diploma",
        "business_household_certificate",
    ],
    "STP-HN": ["judicial_record"],
    "CA-PBD": ["residence"],
    "SGTVT-HN": ["driving_licence"],
    "BHXH-BD": ["health_insurance"],
}

# (agency index, doc_type, title, lines)
ISSUED = [
    (
        0,
        "birth_certificate",
        "Giấy khai sinh",
        ["GIAY KHAI SINH - Birth certificate", "Ho va ten: {name}", "So dinh danh: {pid}"],
    ),
    (
        1,
        "judicial_record",
        "Phiếu lý lịch tư pháp số 1",
        ["PHIEU LY LICH TU PHAP - Judicial record", "Ho va ten: {name}", "Khong co an tich."],
    ),
]


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _credentials_file(services: Services) -> str:
    return str(services.settings.data_dir / "demo-agencies.json")


async def seed(services: Services, say: Callable[[str], object]) -> None:
    accounts, vault = services.accounts, services.vault
    creds_path = _credentials_file(services)
    saved: dict[str, dict[str, str]] = {}
    if os.path.exists(creds_path):  # noqa: ASYNC240 — a one-off CLI command, not a server path
        with open(creds_path, encoding="utf-8") as fh:  # noqa: ASYNC230
            saved = json.load(fh)

    agencies: list[Agency] = []
    for code, name in AGENCIES:
        try:
            creds = await accounts.create_agency(code, name, AGENCY_SCOPES.get(code))
            saved[code] = {
                "client_id": creds.agency.client_id,
                "client_secret": creds.client_secret,
            }
            agencies.append(creds.agency)
        except AgencyExists:
            agencies.append(await accounts.get_agency_by_code(code))
    from kho.registry_cli import register_agency_issuer

    for agency in agencies:
        await register_agency_issuer(services, agency.code, agency.name, ISSUES[agency.code])
    # Note: demo only — a real deployment never keeps client secrets; this file (0600)
    # lets `kho demo` print the demo agencies' credentials again on later runs.
    fd = os.open(creds_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(saved, fh, indent=2)

    for pid, name in CITIZENS:
        with contextlib.suppress(OwnerExists):
            await accounts.create_owner(pid, name, DEMO_PASSWORD)

    pid, name = CITIZENS[0]
    owner_id = await vault.ensure_owner(pid)
    for idx, doc_type, title, lines in ISSUED:
        agency = agencies[idx]
        if await vault.find_deposit(agency, f"demo-{doc_type}-{pid}") is not None:
            continue
        pdf = make_pdf([line.format(name=name, pid=pid) for line in lines], title=title)
        sealed = await services.signing.seal_for_agency(
            pdf, agency_code=agency.code, agency_name=agency.name
        )
        staged = await vault.stage(owner_id, _once(sealed), filename=f"{doc_type}.pdf")
        await vault.commit(
            staged,
            title=title,
            doc_type=doc_type,
            actor=Actor(type=ActorType.AGENCY, id=agency.code, name=agency.name),
            provenance=Provenance.ISSUED,
            agency=agency,
            idempotency_key=f"demo-{doc_type}-{pid}",
            action="document_deposited",
        )
    counter = agencies[0]
    copies = await vault.list_documents(
        owner_id, DocumentFilter(provenance=Provenance.CERTIFIED_COPY), limit=10
    )
    if not copies.items:
        scan = make_pdf(
            ["BANG TOT NGHIEP DAI HOC - University diploma", f"Cap cho: {name}"],
            title="Bằng tốt nghiệp",
        )
        certified = await services.signing.certify_copy(
            [scan],
            agency_code=counter.code,
            agency_name=counter.name,
            official_id=DEMO_OFFICIAL[0],
            official_name=DEMO_OFFICIAL[1],
        )
        staged = await vault.stage(owner_id, _once(certified), filename="diploma.pdf")
        await vault.commit(
            staged,
            title="Bằng tốt nghiệp đại học (bản sao chứng thực)",
            doc_type="diploma",
            actor=Actor(type=ActorType.OFFICIAL, id=DEMO_OFFICIAL[0], name=DEMO_OFFICIAL[1]),
            provenance=Provenance.CERTIFIED_COPY,
            agency=counter,
            action="certified_copy_made",
        )
    existing = await vault.list_documents(
        owner_id, DocumentFilter(provenance=Provenance.UPLOADED), limit=10
    )
    if not any(d.title == "Ảnh chụp căn cước công dân" for d in existing.items):
        await vault.add_document(
            owner_id,
            title="Ảnh chụp căn cước công dân",
            chunks=_once(make_png()),
            actor=Actor(type=ActorType.OWNER, id=str(owner_id), name=name),
            filename="cccd.png",
            doc_type="citizen_id",
        )

    # The first demo citizen can sign with a remote signature at once.
    signer_pid, signer_name = CITIZENS[0]
    signer_id = await vault.ensure_owner(signer_pid)
    if not await services.citizen_signatures.credentials(signer_id):
        enrolled = await services.citizen_signatures.enroll(
            signer_id, signer_pid, signer_name, DEMO_SIGNING_PIN
        )
        saved["_signing"] = {"otp_secret": enrolled.otp_secret, "otp_uri": enrolled.otp_uri}
        fd = os.open(creds_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(saved, fh, indent=2)

    # A paper its issuer withdrew: the wallet and every verification say so loudly.
    committee = agencies[0]
    if await vault.find_deposit(committee, f"demo-revoked-{pid}") is None:
        pdf = make_pdf(
            ["GIAY XAC NHAN TINH TRANG HON NHAN", f"Ho va ten: {name}", "Cap nham thong tin"],
            title="Giấy xác nhận tình trạng hôn nhân",
        )
        sealed = await services.signing.seal_for_agency(
            pdf, agency_code=committee.code, agency_name=committee.name
        )
        staged = await vault.stage(owner_id, _once(sealed), filename="marital_status.pdf")
        agency_actor = Actor(type=ActorType.AGENCY, id=committee.code, name=committee.name)
        withdrawn = await vault.commit(
            staged,
            title="Giấy xác nhận tình trạng hôn nhân",
            doc_type="marital_status",
            actor=agency_actor,
            provenance=Provenance.ISSUED,
            agency=committee,
            idempotency_key=f"demo-revoked-{pid}",
            action="document_deposited",
        )
        await vault.change_issuer_status(
            committee,
            withdrawn.id,
            agency_actor,
            status=IssuerStatus.REVOKED,
            reason="Cấp nhầm thông tin (issued with wrong details)",
        )

    # Officials: one person at each agency, to open agency-audience links.
    for agency in agencies:
        with contextlib.suppress(OfficialExists):
            await accounts.create_official(
                agency.code, DEMO_OFFICIAL_USER, f"Cán bộ {agency.code}", DEMO_PASSWORD
            )
    # An open consent request waiting for the first citizen's answer.
    police = next(a for a in agencies if a.code == "CA-PBD")
    waiting = await services.requests.list_for_agency(police.id)
    if not any(r.personal_id == pid for r in waiting):
        await services.requests.create(
            police,
            pid,
            ["birth_certificate", "citizen_id"],
            "Đăng ký thường trú (Permanent residence registration)",
            datetime.now(UTC) + timedelta(days=30),
            Actor(type=ActorType.AGENCY, id=police.code, name=police.name),
        )

    await _finished_filing(services, agencies, owner_id, pid, name)

    say("Demo data is ready.")
    say("Citizens (personal ID / password):")
    for pid, name in CITIZENS:
        say(f"  {pid} / {DEMO_PASSWORD}   {name}")
    say("Agencies (OAuth2 client credentials):")
    for code, _ in AGENCIES:
        c = saved.get(code)
        if c and "client_id" in c:
            say(f"  {code}: client_id={c['client_id']} client_secret={c['client_secret']}")
    say("Officials (agency / username / password), POST /api/v1/auth/official-login:")
    for code, _ in AGENCIES:
        say(f"  {code} / {DEMO_OFFICIAL_USER} / {DEMO_PASSWORD}")
    signing = saved.get("_signing")
    if signing:
        say(
            f"Remote signature of {CITIZENS[0][1]}: PIN {DEMO_SIGNING_PIN}, one-time codes "
            f"from an authenticator app with secret {signing['otp_secret']}"
        )
    say(f"Sign in: POST {services.settings.base_url}/api/v1/auth/login")


# The finished filing: the citizen asked UBND-PBD for a new marital status confirmation
# (the old one was revoked), reusing her ID card photo and her residence confirmation
# from the vault; the committee returned its sealed answer, which is in her wallet.
FILED = "marital_status_confirmation"
FILED_FORM = {"phone": "0912345678", "purpose": "Đăng ký kết hôn (Marriage registration)"}


async def _finished_filing(
    services: Services, agencies: list[Agency], owner_id: UUID, pid: str, name: str
) -> None:
    vault, filings = services.vault, services.filings
    police = next(a for a in agencies if a.code == "CA-PBD")
    police_actor = Actor(type=ActorType.AGENCY, id=police.code, name=police.name)
    if await vault.find_deposit(police, f"demo-residence-{pid}") is None:
        title = "Giấy xác nhận thông tin về cư trú"
        pdf = make_pdf(
            ["XAC NHAN THONG TIN VE CU TRU", f"Ho va ten: {name}", "Noi thuong tru: Ba Dinh"],
            title=title,
        )
        sealed = await services.signing.seal_for_agency(
            pdf, agency_code=police.code, agency_name=police.name
        )
        staged = await vault.stage(owner_id, _once(sealed), filename="residence.pdf")
        await vault.commit(
            staged,
            title=title,
            doc_type="residence",
            actor=police_actor,
            provenance=Provenance.ISSUED,
            agency=police,
            idempotency_key=f"demo-residence-{pid}",
            action="document_deposited",
        )
    mine = await filings.list_for_owner(owner_id, limit=200)
    found = next((x for x in mine.items if x.procedure_code == FILED), None)
    if found is not None and found.status == FilingStatus.DONE:
        return
    if found is None:
        filing = await filings.create(owner_id, FILED)
        await filings.set_form(owner_id, filing.id, dict(FILED_FORM))
        await filings.submit(owner_id, filing.id)
        filing_id = filing.id
    else:  # an earlier run stopped half-way: finish it
        filing_id = found.id
    committee = next(a for a in agencies if a.code == "UBND-PBD")
    current = await filings.get_for_agency(committee.code, filing_id)
    if current.status == FilingStatus.RECEIVED:
        await filings.change_status(committee.code, filing_id, FilingStatus.PROCESSING, None)
    title = "Giấy xác nhận tình trạng hôn nhân (cấp lại)"
    pdf = make_pdf(
        ["GIAY XAC NHAN TINH TRANG HON NHAN", f"Ho va ten: {name}", "Tinh trang: doc than"],
        title=title,
    )
    sealed = await services.signing.seal_for_agency(
        pdf, agency_code=committee.code, agency_name=committee.name
    )
    staged = await vault.stage(owner_id, _once(sealed), filename="marital_status.pdf")
    try:
        await vault.commit(
            staged,
            title=title,
            doc_type="marital_status",
            actor=Actor(type=ActorType.OFFICIAL, id="canbo", name=f"Cán bộ {committee.code}"),
            provenance=Provenance.ISSUED,
            agency=committee,
            action="filing_result_deposited",
            also=filings.result_linker(committee.code, filing_id, "Đã cấp lại (issued again)"),
        )
    except BaseException:
        await vault.discard(staged)
        raise
