"""What the index holds of the stored rulebooks: one document per passage.

The documents of actor journals (campaign posts, encounter summaries) are made by the
:class:`~snapshots.search.projection.Projection` the indexer is given: they are made of the
kinds' events, which this layer does not know.  Every document has a deterministic id, so
adding one again replaces it:

    rules/<book>/<page>/<i>          the i-th passage (section) of a rulebook page
    posts/<campaign address>/<seq>   a post (``actors.campaign.search``)
    encounters/<combat address>      one finished encounter (``actors.combat.search``)
"""
from __future__ import annotations

from typing import Any

from .rules import Book


def rule_documents(book: Book) -> list[dict[str, Any]]:
    """One document per passage: the page's text under one heading."""
    docs = []
    for page in book.pages:
        for i, passage in enumerate(page.passages):
            docs.append({
                "id": f"rules/{book.name}/{page.page}/{i}", "source": "rules", "book": book.name,
                "book_title": book.title, "page": page.page, "title": passage.section, "body": passage.text,
                "attribution": book.attribution or "", "license": book.license or "",
            })
    return docs
