"""What the index makes of actor journals: given to the indexer, never imported by it.

The events are the kinds' classes (``actors``, a layer above this one), so the search layer
does not know them: the composition root (``server/serve.py``, ``everturn reindex``) hands
:class:`~snapshots.search.indexer.Feeder` and :class:`~snapshots.search.indexer.Indexer` a
:class:`Projection` (``actors.campaign.search.SearchProjection``) that reads a stored record
as its kind's event (upcasting older versions) and makes the documents of the typed events.
The indexer keeps the cursors, the commits and the cache of facts; the projection says what an
event means.
"""
from __future__ import annotations

from typing import Any, Iterable, Protocol


class Facts(Protocol):
    """What the documents of one journal (and of the journals it owns) need beyond the event itself."""

    seq: int  # the journal position they were read up to

    def read(self, seq: int, event: Any) -> None:
        """Take in the event at ``seq`` (in journal order)."""

    def forget(self, upto: int) -> None:
        """Drop what the documents made up to ``upto`` no longer need."""


class Projection(Protocol):
    """The actor kinds whose journals feed the index, and the documents their events make."""

    kinds: frozenset[str]  # the actor kinds (``campaign``) whose journals feed the index

    def load(self, address: str, stored: dict[str, Any]) -> Any:
        """The stored record of ``address``'s journal as its kind's event (older versions upcast);
        raises when it cannot be read (the address is tried again with its next event)."""

    def owner(self, address: str) -> str:
        """The journal whose facts the documents of ``address`` need (itself, for a journal with facts)."""

    def facts(self) -> Facts:
        """Fresh facts, read from nothing yet."""

    def post_documents(self, address: str, seq: int, event: Any, facts: Facts) -> list[dict[str, Any]]:
        """The documents the event at ``seq`` of ``address`` makes at once; ``facts`` have read it already."""

    def ended(self, address: str, event: Any) -> int | None:
        """The number of the encounter whose summary this event may complete (its end, or its owner
        closing it), else None."""

    def encounter_address(self, owner: str, n: int, facts: Facts) -> str:
        """The journal of encounter ``n`` of ``owner``."""

    def encounter_document(self, address: str, facts: Facts, events: Iterable[Any]) -> dict[str, Any] | None:
        """The summary of the encounter at ``address`` from its events (in order) and its owner's
        facts; None until it is finished."""
