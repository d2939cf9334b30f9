"""Rendered fragments that many pages repeat, cached under every value they are made of.

The wallet shows up to 50 cards, and each card (``_wallet_card.html``) is a pure function
of the paper, the language and the name of its type: the same paper renders to the same
bytes on every visit.  Rendering 50 cards through Jinja was most of the page's server
time, so a card is rendered once per process and its HTML reused while those values stay
the same.

Correctness rests on the key: the whole ``Document`` value (every field, the owner
included), the language and the type's name.  A change to any of them (a revocation, a
new title, the registry renaming a type) is a different key, so nothing is ever stale and
no invalidation is needed; a card is only found by someone who already holds that
owner's ``Document``.  The card template gets only those values (never the request, the
session or a CSRF token).  Note: the cache is bounded and
per process (the oldest cards go first); it holds titles a while after a paper is
deleted, as any recent page would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from vault import Document

WALLET_CARD = "_wallet_card.html"
CACHED_CARDS = 4096  # about 4 MB at most (a card and its key are under 1 KB)


class CardCache:
    """``card(environment, doc, lang, type_label, context)`` → the card's HTML."""

    def __init__(self, template: str = WALLET_CARD, size: int = CACHED_CARDS) -> None:
        self._template = template
        self._size = size
        self._cards: dict[tuple[int, Document, str, str], Markup] = {}
        self.renders = 0  # cards rendered, not reused (for tests)

    def card(
        self,
        environment: Environment,
        doc: Document,
        lang: str,
        type_label: str,
        context: Callable[[], dict[str, Any]],
    ) -> Markup:
        """``context``: the template's language helpers (``t``, ``fmt_time``), built
        only when the card has to be rendered."""
        key = (id(environment), doc, lang, type_label)
        found = self._cards.get(key)
        if found is not None:
            return found
        rendered = environment.get_template(self._template).render(
            {**context(), "d": doc, "lang": lang, "type_label": type_label}
        )
        html = Markup(rendered)  # noqa: S704 - the output of an autoescaping template
        self.renders += 1
        self._cards[key] = html
        if len(self._cards) > self._size:
            del self._cards[next(iter(self._cards))]  # the oldest card goes first
        return html


wallet_cards = CardCache()
