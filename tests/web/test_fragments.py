"""The wallet's cards are rendered once and reused (web/fragments.py): a change to a
paper, its language or its type's name shows at once, titles stay escaped, and the
cache keeps a bounded number of cards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from jinja2 import DictLoader, Environment

from tests import factories as f
from tests.factories import cheap_passwords  # noqa: F401 (fixture)
from tests.web.test_citizen_pages import papers, signed_in_citizen
from vault import Document
from vault.ids import uuid7
from vault.models import Provenance
from web.fragments import CardCache, wallet_cards

pytestmark = pytest.mark.usefixtures("cheap_passwords")


def _sample_document(title: str) -> Document:
    return Document(
        id=uuid7(),
        owner_id=uuid7(),
        title=title,
        doc_type=None,
        provenance=Provenance.UPLOADED,
        content_type="application/pdf",
        filename="a.pdf",
        size=1,
        sha256="0" * 64,
        issuer_agency_id=None,
        issuer_agency_code=None,
        issuer_agency_name=None,
        issuer_status=None,
        legal_hold=False,
        created_at=datetime.now(UTC),
    )


async def test_a_card_is_reused_until_its_paper_changes(client, services):
    pid, headers = await signed_in_citizen(client, services)
    agency, _ = await f.agency_headers(services, client, scopes="deposit,revoke")
    issued = (await f.deposit(client, agency, pid, title="Giấy khai sinh <b>x</b>")).json()

    first = await client.get("/")
    assert first.status_code == 200
    assert "Giấy khai sinh &lt;b&gt;x&lt;/b&gt;" in papers(first.text)
    assert "<b>x</b>" not in first.text
    rendered = wallet_cards.renders
    again = await client.get("/")
    assert wallet_cards.renders == rendered  # the same paper: the same card, reused
    assert papers(again.text) == papers(first.text)

    r = await client.post(
        f"/api/v1/agency/documents/{issued['id']}/revoke",
        headers=agency,
        json={"reason": "Cấp nhầm"},
    )
    assert r.status_code == 200, r.text
    revoked = papers((await client.get("/")).text)
    assert "Đã bị thu hồi" in revoked and "paper-flagged" in revoked
    assert wallet_cards.renders == rendered + 1

    english = papers((await client.get("/?lang=en")).text)
    assert "Revoked" in english and "Đã bị thu hồi" not in english
    assert "Birth certificate" in english
    await services.registry.rename_document_type("birth_certificate", name_en="Birth extract")
    renamed = papers((await client.get("/?lang=en")).text)
    assert "Birth extract" in renamed and "Birth certificate" not in renamed

    await f.upload(client, headers, f.pdf("mới"), title="Bằng tốt nghiệp")
    both = papers((await client.get("/")).text)
    assert "Bằng tốt nghiệp" in both and "Giấy khai sinh" in both


def test_the_cache_is_bounded_and_keyed_by_every_input():
    env = Environment(
        loader=DictLoader({"card.html": "{{ t('x') }}|{{ d.title }}|{{ type_label }}|{{ lang }}"}),
        autoescape=True,
    )
    cache = CardCache("card.html", size=2)
    calls: list[str] = []

    def helpers() -> dict[str, object]:
        calls.append("built")
        return {"t": lambda key: key.upper()}

    a, b, c = (_sample_document(title) for title in ("a", "b", "<c>"))
    assert cache.card(env, a, "vi", "T", helpers) == "X|a|T|vi"
    assert cache.card(env, a, "vi", "T", helpers) == "X|a|T|vi"
    assert cache.renders == 1 and calls == ["built"]  # helpers only for a render
    assert cache.card(env, a, "en", "T", helpers) == "X|a|T|en"
    assert cache.card(env, a, "vi", "U", helpers) == "X|a|U|vi"
    assert cache.renders == 3
    assert cache.card(env, c, "vi", "T", helpers) == "X|&lt;c&gt;|T|vi"
    assert cache.card(env, b, "vi", "T", helpers) == "X|b|T|vi"
    assert cache.card(env, a, "vi", "T", helpers) == "X|a|T|vi"
    assert cache.renders == 6  # only two cards kept: "a" in Vietnamese, the oldest, had gone
