"""Filings in the domain: auto-match, papers, form, submission, transitions, reuse rate
(on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import event, select

from kho.app import Services
from sharing.filing_errors import (
    FilingIncomplete,
    FilingLocked,
    FilingNotFound,
    InvalidTransition,
    PaperNotUsable,
)
from sharing.filings import FilingService, FilingStatus, Origin
from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from vault import Actor, ActorType, Agency, Document, IssuerStatus, Provenance
from vault.db import OutboxRow
from vault.errors import DocumentNotFound, InvalidInput

pytestmark = pytest.mark.usefixtures("cheap_passwords")

JUDICIAL = "judicial_record_certificate"  # STP-HN; requires citizen_id and residence
OWNER = Actor(type=ActorType.OWNER)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _owner(services: Services, name: str = "Nguyễn Thị Lan") -> tuple[UUID, str]:
    pid = f.personal_id()
    owner = await services.accounts.create_owner(pid, name, f.PASSWORD)
    return owner.id, pid


async def _agency(services: Services, code: str) -> Agency:
    return (await services.accounts.create_agency(code, f"Cơ quan {code}")).agency


async def _doc(
    services: Services,
    owner_id: UUID,
    doc_type: str | None,
    provenance: Provenance = Provenance.UPLOADED,
    *,
    image: bool = False,
    agency: Agency | None = None,
    title: str = "Giấy tờ",
) -> Document:
    return await services.vault.add_document(
        owner_id,
        title=title,
        chunks=_once(f.png() if image else f.pdf(title)),
        actor=OWNER,
        filename="x.png" if image else "x.pdf",
        doc_type=doc_type,
        provenance=provenance,
        agency=agency,
    )


def _paper(filing, doc_type: str):
    return next((p for p in filing.papers if p.doc_type == doc_type), None)


async def _complete(services: Services, owner_id: UUID, filing_id: UUID) -> None:
    await services.filings.set_form(
        owner_id,
        filing_id,
        {
            "phone": "0912 345 678",
            "birth_date": "1990-05-17",
            "form_number": "1",
            "purpose": "Xin việc",
            "copies": "2",
        },
    )


async def test_auto_match_climbs_the_ladder_and_skips_revoked_papers(services):
    owner_id, _ = await _owner(services)
    issuer = await _agency(services, "CA-HN")
    other_id, _ = await _owner(services, "Người khác")
    # another owner's excellent paper is never a candidate
    await _doc(services, other_id, "citizen_id", Provenance.ISSUED, agency=issuer)

    async def matched() -> UUID:
        filing = await services.filings.create(owner_id, JUDICIAL)
        paper = _paper(filing, "citizen_id")
        assert paper is not None
        assert paper.origin == Origin.VAULT
        return paper.document_id

    image = await _doc(services, owner_id, "citizen_id", image=True)
    assert await matched() == image.id
    rungs = [
        (Provenance.UPLOADED, None),
        (Provenance.CITIZEN_SIGNED, None),
        (Provenance.CERTIFIED_COPY, issuer),
    ]
    for rung, (provenance, agency) in enumerate(rungs):
        better = await _doc(services, owner_id, "citizen_id", provenance, agency=agency)
        assert await matched() == better.id, provenance
        # worse papers added afterwards (newest) do not displace it: rank beats recency
        await _doc(services, owner_id, "citizen_id", image=True)
        if rung > 0:
            await _doc(services, owner_id, "citizen_id")
        assert await matched() == better.id, provenance
    certified = better

    issued_old = await _doc(services, owner_id, "citizen_id", Provenance.ISSUED, agency=issuer)
    issued_new = await _doc(services, owner_id, "citizen_id", Provenance.ISSUED, agency=issuer)
    filing = await services.filings.create(owner_id, JUDICIAL)
    assert _paper(filing, "citizen_id").document_id == issued_new.id  # newest first

    await services.vault.change_issuer_status(
        issuer, issued_new.id, OWNER, status=IssuerStatus.REVOKED, reason="Cấp nhầm"
    )
    filing = await services.filings.create(owner_id, JUDICIAL)
    assert _paper(filing, "citizen_id").document_id == issued_old.id

    replacement = await _doc(services, owner_id, "citizen_id", Provenance.ISSUED, agency=issuer)
    await services.vault.change_issuer_status(
        issuer,
        issued_old.id,
        OWNER,
        status=IssuerStatus.SUPERSEDED,
        reason="Cấp lại",
        superseded_by=replacement.id,
    )
    filing = await services.filings.create(owner_id, JUDICIAL)
    assert _paper(filing, "citizen_id").document_id == replacement.id
    await services.vault.change_issuer_status(
        issuer, replacement.id, OWNER, status=IssuerStatus.REVOKED, reason="Mất"
    )
    assert await matched() == certified.id
    filing = await services.filings.create(owner_id, JUDICIAL)
    assert filing.missing_documents == ["residence"]


async def test_the_match_is_one_statement_however_many_types(services):
    owner_id, _ = await _owner(services)
    for doc_type in ("driving_licence", "health_certificate", "citizen_id"):
        await _doc(services, owner_id, doc_type)
        await _doc(services, owner_id, doc_type, image=True)
    db = services.database
    engine = db.sync_engine if db.sync_engine is not None else db.engine.sync_engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        filing = await services.filings.create(owner_id, "driving_licence_renewal")
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert filing.missing_documents == []
    assert len([s for s in statements if "FROM documents" in s]) == 1, statements


@pytest.mark.parametrize(
    ("papers", "best"),
    [
        ([("pdf", Provenance.UPLOADED), ("png", Provenance.UPLOADED)], 0),
        ([("png", Provenance.UPLOADED), ("pdf", Provenance.UPLOADED)], 1),
        ([("pdf", Provenance.CITIZEN_SIGNED), ("pdf", Provenance.UPLOADED)], 0),
        ([("pdf", Provenance.UPLOADED), ("pdf", Provenance.UPLOADED)], 1),
    ],
)
async def test_rank_beats_recency_and_recency_breaks_ties(services, papers, best):
    owner_id, _ = await _owner(services)
    made = [
        await _doc(services, owner_id, "residence", prov, image=kind == "png")
        for kind, prov in papers
    ]
    filing = await services.filings.create(owner_id, JUDICIAL)
    assert _paper(filing, "residence").document_id == made[best].id


async def test_the_form_is_prefilled_from_the_profile(services):
    owner_id, pid = await _owner(services, "Trần Văn Minh")
    filing = await services.filings.create(owner_id, JUDICIAL)
    assert filing.status == FilingStatus.DRAFT
    assert filing.form_values == {"full_name": "Trần Văn Minh", "personal_id": pid}
    assert filing.procedure.agency_code == "STP-HN"
    assert filing.agency_code == "STP-HN"
    assert "phone" in filing.missing_fields


async def test_unknown_procedure_is_invalid_input(services):
    owner_id, _ = await _owner(services)
    with pytest.raises(InvalidInput):
        await services.filings.create(owner_id, "no_such_procedure")


async def test_another_owners_document_cannot_be_attached(services):
    owner_id, _ = await _owner(services)
    other_id, _ = await _owner(services, "Người khác")
    theirs = await _doc(services, other_id, "residence")
    filing = await services.filings.create(owner_id, JUDICIAL)

    with pytest.raises(DocumentNotFound):
        await services.filings.attach(owner_id, filing.id, "residence", theirs.id)
    # nor can the other owner touch my filing
    mine = await _doc(services, owner_id, "residence")
    with pytest.raises(FilingNotFound):
        await services.filings.attach(other_id, filing.id, "residence", mine.id)
    assert _paper(await services.filings.get_for_owner(owner_id, filing.id), "residence") is None


async def test_papers_of_the_wrong_type_or_revoked_are_refused(services):
    owner_id, _ = await _owner(services)
    issuer = await _agency(services, "CA-HN")
    filing = await services.filings.create(owner_id, JUDICIAL)
    diploma = await _doc(services, owner_id, "diploma")
    with pytest.raises(PaperNotUsable):
        await services.filings.attach(owner_id, filing.id, "residence", diploma.id)
    with pytest.raises(InvalidInput):  # not a paper of this procedure
        await services.filings.attach(owner_id, filing.id, "diploma", diploma.id)
    revoked = await _doc(services, owner_id, "residence", Provenance.ISSUED, agency=issuer)
    await services.vault.change_issuer_status(
        issuer, revoked.id, OWNER, status=IssuerStatus.REVOKED, reason="Sai"
    )
    with pytest.raises(PaperNotUsable):
        await services.filings.attach(owner_id, filing.id, "residence", revoked.id)
    untyped = await _doc(services, owner_id, None)  # a scan the citizen did not label
    after = await services.filings.attach(owner_id, filing.id, "residence", untyped.id)
    assert _paper(after, "residence").origin == Origin.UPLOAD


async def test_submit_with_missing_papers_and_fields_lists_them(services):
    owner_id, _ = await _owner(services)
    filing = await services.filings.create(owner_id, JUDICIAL)

    with pytest.raises(FilingIncomplete) as caught:
        await services.filings.submit(owner_id, filing.id)

    assert caught.value.missing_documents == ["citizen_id", "residence"]
    assert set(caught.value.missing_fields) == {
        "phone",
        "birth_date",
        "form_number",
        "purpose",
        "copies",
    }
    assert (await services.filings.get_for_owner(owner_id, filing.id)).status == "draft"


async def test_origin_and_reuse_figures_are_fixed_at_submission(services):
    owner_id, _ = await _owner(services)
    issuer = await _agency(services, "CA-HN")
    card = await _doc(services, owner_id, "citizen_id", Provenance.ISSUED, agency=issuer)
    filing = await services.filings.create(owner_id, JUDICIAL)
    residence = await _doc(services, owner_id, "residence")  # uploaded for this filing
    await services.filings.attach(owner_id, filing.id, "residence", residence.id)
    await _complete(services, owner_id, filing.id)

    submitted = await services.filings.submit(owner_id, filing.id)

    assert submitted.status == FilingStatus.RECEIVED
    assert _paper(submitted, "citizen_id").document_id == card.id
    assert _paper(submitted, "citizen_id").origin == Origin.VAULT
    assert _paper(submitted, "residence").origin == Origin.UPLOAD
    assert (submitted.required_count, submitted.reused_count, submitted.uploaded_count) == (
        2,
        1,
        1,
    )
    assert submitted.submitted_at is not None
    with pytest.raises(FilingLocked):
        await services.filings.detach(owner_id, filing.id, "residence")


async def test_removing_a_paper_makes_it_missing_again(services):
    owner_id, _ = await _owner(services)
    await _doc(services, owner_id, "citizen_id")
    filing = await services.filings.create(owner_id, JUDICIAL)
    assert filing.missing_documents == ["residence"]
    after = await services.filings.detach(owner_id, filing.id, "citizen_id")
    assert after.missing_documents == ["citizen_id", "residence"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"birth_date": "17/05/1990"}, "form.birth_date"),
        ({"form_number": "3"}, "form.form_number"),
        ({"copies": "hai"}, "form.copies"),
        ({"copies": "-1"}, "form.copies"),
        ({"phone": "call me"}, "form.phone"),
        ({"email": "not-an-address"}, "form.email"),
        ({"nickname": "An"}, "form.nickname"),
        ({"purpose": "x" * 2001}, "form.purpose"),
        ({"full_name": "line\nbreak"}, "form.full_name"),
    ],
)
async def test_form_values_are_checked_against_the_form(services, values, field):
    owner_id, _ = await _owner(services)
    filing = await services.filings.create(owner_id, JUDICIAL)
    with pytest.raises(InvalidInput) as caught:
        await services.filings.set_form(owner_id, filing.id, values)
    assert caught.value.field == field


async def test_form_values_are_normalised_and_cleared(services):
    owner_id, _ = await _owner(services)
    filing = await services.filings.create(owner_id, JUDICIAL)
    after = await services.filings.set_form(
        owner_id, filing.id, {"phone": "  0912345678 ", "full_name": None, "email": ""}
    )
    assert after.form_values["phone"] == "0912345678"
    assert "full_name" not in after.form_values
    assert "email" not in after.form_values


async def _submitted(services: Services, owner_id: UUID | None = None):
    if owner_id is None:
        owner_id, _ = await _owner(services)
    await _doc(services, owner_id, "citizen_id")
    await _doc(services, owner_id, "residence")
    filing = await services.filings.create(owner_id, JUDICIAL)
    await _complete(services, owner_id, filing.id)
    return await services.filings.submit(owner_id, filing.id)


ALL = list(FilingStatus)


async def test_status_transitions_follow_the_table(services):
    allowed = {
        ("received", "processing"),
        ("received", "needs-more-info"),
        ("received", "rejected"),
        ("processing", "needs-more-info"),
        ("processing", "done"),
        ("processing", "rejected"),
        ("needs-more-info", "processing"),
        ("needs-more-info", "rejected"),
    }
    paths = {  # how to reach each start status from received
        "received": [],
        "processing": ["processing"],
        "needs-more-info": ["needs-more-info"],
        "done": ["processing", "done"],
        "rejected": ["rejected"],
    }
    wrong = []
    for start, path in paths.items():
        for target in ALL:
            filing = await _submitted(services)
            for step in path:
                await services.filings.change_status("STP-HN", filing.id, step, None)
            try:
                moved = await services.filings.change_status("STP-HN", filing.id, target, "ghi chú")
                ok = moved.status == target
            except InvalidTransition:
                ok = False
            if ok != ((start, str(target)) in allowed):
                wrong.append((start, str(target), ok))
    assert wrong == []


async def test_drafts_and_other_agencies_filings_are_invisible_to_an_agency(services):
    owner_id, _ = await _owner(services)
    draft = await services.filings.create(owner_id, JUDICIAL)
    with pytest.raises(FilingNotFound):
        await services.filings.get_for_agency("STP-HN", draft.id)
    with pytest.raises(FilingNotFound):
        await services.filings.change_status("STP-HN", draft.id, FilingStatus.PROCESSING, None)
    submitted = await _submitted(services)
    with pytest.raises(FilingNotFound):
        await services.filings.get_for_agency("UBND-PBD", submitted.id)
    with pytest.raises(FilingNotFound):
        await services.filings.change_status(
            "UBND-PBD", submitted.id, FilingStatus.PROCESSING, None
        )
    inbox = await services.filings.inbox("STP-HN")
    assert [i.id for i in inbox.items] == [submitted.id]
    assert (await services.filings.inbox("UBND-PBD")).items == []


async def test_needs_more_info_lets_the_citizen_fix_and_resubmit(services):
    owner_id, _ = await _owner(services)
    filing = await _submitted(services, owner_id)
    await services.filings.change_status(
        "STP-HN", filing.id, FilingStatus.NEEDS_MORE_INFO, "Ảnh mờ, xin nộp lại"
    )
    newer = await _doc(services, owner_id, "residence")
    fixed = await services.filings.attach(owner_id, filing.id, "residence", newer.id)
    assert fixed.status_note == "Ảnh mờ, xin nộp lại"
    again = await services.filings.submit(owner_id, filing.id)
    assert again.status == FilingStatus.RECEIVED
    assert (again.reused_count, again.uploaded_count) == (1, 1)
    assert again.submitted_at == filing.submitted_at  # the period counts the first submission
    assert [e.status for e in again.events] == [
        "draft",
        "received",
        "needs-more-info",
        "received",
    ]


async def test_every_status_change_goes_to_the_outbox(services):
    owner_id, _ = await _owner(services)
    stp = await _agency(services, "STP-HN")
    filing = await _submitted(services, owner_id)
    await services.filings.change_status("STP-HN", filing.id, FilingStatus.PROCESSING, "Đang xử lý")
    await services.filings.change_status("STP-HN", filing.id, FilingStatus.REJECTED, "Không đủ")

    async with services.database.read() as session:
        rows = (await session.scalars(select(OutboxRow).order_by(OutboxRow.id))).all()
    events = [r for r in rows if r.kind == "filing.status_changed"]
    assert [(e.payload["status"], e.payload["note"]) for e in events] == [
        ("received", None),
        ("processing", "Đang xử lý"),
        ("rejected", "Không đủ"),
    ]
    assert all(e.owner_id == owner_id for e in events)
    assert all(e.payload["filing_id"] == str(filing.id) for e in events)
    assert all(e.payload["procedure_code"] == JUDICIAL for e in events)
    assert events[0].agency_id == stp.id  # the agency hears of a new filing


async def test_reuse_stats_arithmetic(services):
    clock = [datetime(2026, 3, 1, 9, tzinfo=UTC)]
    timed = FilingService(services.database, clock=lambda: clock[0])
    issuer = await _agency(services, "CA-HN")

    async def file(procedure: str, from_vault: list[str], uploaded: list[str]) -> None:
        owner_id, _ = await _owner(services)
        for t in from_vault:
            await _doc(services, owner_id, t, Provenance.ISSUED, agency=issuer)
        filing = await timed.create(owner_id, procedure)
        clock[0] += timedelta(minutes=1)
        for t in uploaded:
            doc = await _doc(services, owner_id, t)
            # Note: the vault's own clock is real time; pin the origin by attaching
            # a document made "after" the filing on the filing's clock.
            await timed.attach(owner_id, filing.id, t, doc.id)
        fields = {p.name: "1" for p in filing.procedure.form if p.required}
        fields.update(
            {
                "phone": "0912345678",
                "birth_date": "1990-01-01",
                "form_number": "1",
                "licence_class": "B2",
                "child_sex": "nam",
                "child_birth_date": "2026-01-01",
            }
        )
        await timed.set_form(
            owner_id,
            filing.id,
            {k: v for k, v in fields.items() if k in {p.name for p in filing.procedure.form}},
        )
        await timed.submit(owner_id, filing.id)

    await file(JUDICIAL, ["citizen_id", "residence"], [])  # 2 of 2
    await file(JUDICIAL, ["citizen_id"], ["residence"])  # 1 of 2
    await file("driving_licence_renewal", ["citizen_id"], ["driving_licence", "health_certificate"])
    clock[0] = datetime(2026, 4, 2, 9, tzinfo=UTC)
    await file("health_insurance_renewal", ["health_insurance", "citizen_id"], [])  # April
    owner_id, _ = await _owner(services)
    await timed.create(owner_id, JUDICIAL)  # a draft never counts

    march = await services.filings.reuse_stats(
        datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    )
    assert (march.overall.filings, march.overall.required) == (3, 7)
    assert (march.overall.reused, march.overall.uploaded) == (4, 3)
    assert march.overall.rate == pytest.approx(4 / 7)
    judicial = march.by_procedure[JUDICIAL]
    assert (judicial.filings, judicial.required, judicial.reused, judicial.uploaded) == (2, 4, 3, 1)
    assert judicial.rate == pytest.approx(0.75)
    assert march.by_procedure["driving_licence_renewal"].rate == pytest.approx(1 / 3)
    assert set(march.by_agency) == {"STP-HN", "SGTVT-HN"}
    assert march.by_agency["STP-HN"].reused == 3

    everything = await services.filings.reuse_stats(None, None)
    assert (everything.overall.filings, everything.overall.required) == (4, 9)
    assert everything.overall.reused == 6
    assert everything.by_agency["BHXH-BD"].rate == 1.0
    empty = await services.filings.reuse_stats(datetime(2030, 1, 1, tzinfo=UTC), None)
    assert (empty.overall.filings, empty.overall.rate, empty.by_procedure) == (0, 0.0, {})
