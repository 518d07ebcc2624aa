"""The search index's projection of campaigns: their posts, and the facts their encounters' summaries need.

The indexer (``snapshots.search``) knows no event class: it is given :class:`SearchProjection`
(the :class:`snapshots.search.projection.Projection` of the game kinds) where it is built.  A
stored record is read with its kind's ``load_event`` (so older versions are upcast) and the
documents are made from the typed events.  Every document has a deterministic id, so adding
one again replaces it:

    posts/<campaign address>/<seq>   a ``Posted`` event of ``campaign/<id>`` (with its final text, made
                                     again after an edit, emptied by a deletion; never a whisper)
    encounters/<combat address>      one finished encounter ``combat/<id>.<n>`` (``actors.combat.search``)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..behavior import Behavior
from ..combat.behavior import CombatKind
from ..combat.messages import EncounterEnded
from ..combat.search import encounter_document, encounter_number
from ..messages import Event
from .behavior import CampaignKind
from .enforcement import SERVER
from .messages import (
    EncounterClosed, EncounterStarted, PlayerJoined, PostDeleted, PostEdited, PostNarrated, Posted, SceneStarted,
)
from .state import RECENT_POSTS, Post

CAMPAIGN, COMBAT = "campaign", "combat"


@dataclass
class CampaignFacts:
    """What documents of one campaign need from its journal beyond the event itself: facts that,
    once journaled, never change (scene titles, characters' names, encounter starts and ends),
    and the posts the narrator is still writing.

    ``seq``: the journal position they were read up to.  Because the facts only accumulate, a
    post's document is the same whether they were read up to the post or far past it.
    """

    seq: int = 0
    names: dict[str, str] = field(default_factory=dict)       # player_id -> character name
    scenes: dict[int, str] = field(default_factory=dict)      # scene n -> title
    scene: int = 0                                            # the current scene
    started: dict[int, dict[str, Any]] = field(default_factory=dict)   # encounter n -> {scene, at, address}
    closed: dict[int, dict[str, Any]] = field(default_factory=dict)    # encounter n -> {reason, at, xp}
    pending: dict[int, tuple[int, Post]] = field(default_factory=dict)  # post n -> (its seq, the post)
    narrated: dict[int, tuple[int, int, Post]] = field(default_factory=dict)  # post n -> (PostNarrated's seq,
    # the post's seq, the post with its final text): settled, its document not made yet
    recent: dict[int, tuple[int, Post]] = field(default_factory=dict)  # post n -> (its seq, the post): the last
    # RECENT_POSTS, the ones an edit or a deletion may still change

    def read(self, seq: int, event: Event) -> None:
        """Take in the campaign's event at ``seq`` (in journal order)."""
        self.seq = seq
        match event:
            case PlayerJoined(player=player):
                self.names[player.player_id] = player.character.name
            case SceneStarted(scene=scene):
                self.scenes[scene.n] = scene.title
                self.scene = scene.n
            case EncounterStarted(encounter=view):
                self.started[view.n] = {"scene": self.scene, "at": view.started_at, "address": view.address}
            case EncounterClosed(n=n, reason=reason, at=at, xp=xp):
                self.closed[n] = {"reason": reason, "at": at, "xp": xp}
            case Posted(post=post):
                if post.pending:
                    self.pending[post.n] = (seq, post)
                self.recent[post.n] = (seq, post)
                if len(self.recent) > RECENT_POSTS:
                    del self.recent[next(iter(self.recent))]
            case PostNarrated(n=n, text=text):
                posted = self.pending.pop(n, None)
                if posted is not None:
                    self.narrated[n] = (seq, posted[0], posted[1].model_copy(update={"text": text, "pending": False}))
                    if n in self.recent:
                        self.recent[n] = (posted[0], self.narrated[n][2])
            case PostEdited(n=n, text=text) if n in self.recent:
                at, post = self.recent[n]
                self.recent[n] = (at, post.model_copy(update={"text": text}))
            case PostDeleted(n=n) if n in self.recent:
                at, post = self.recent[n]
                self.recent[n] = (at, post.model_copy(update={"text": "", "deleted": True}))

    def forget(self, upto: int) -> None:
        """Drop settled posts whose documents were made (their PostNarrated at or before ``upto``)."""
        for n in [n for n, (seq, _, _) in self.narrated.items() if seq <= upto]:
            del self.narrated[n]

    def author_name(self, author: str) -> str:
        if author == SERVER:
            return "Server"
        return self.names.get(author, "GM")


def campaign_id(address: str) -> str:
    """``campaign/c1`` -> ``c1``; ``combat/c1.2`` -> ``c1``."""
    return address.split("/", 1)[1].split(".", 1)[0]


def post_documents(address: str, seq: int, event: Event, facts: CampaignFacts) -> list[dict[str, Any]]:
    """The document a campaign event makes of a post: a ``Posted`` one at once, unless the narrator is
    still writing it; then its ``PostNarrated`` makes it, with the final text (so each post is indexed
    once).  ``facts`` must have read the event already."""
    match event:
        case Posted(post=post) if not post.pending and post.kind != "whisper":  # a whisper is for few eyes
            return [post_document(address, seq, post, facts)]
        case PostNarrated(n=n):
            settled = facts.narrated.pop(n, None)
            if settled is not None:
                return [post_document(address, settled[1], settled[2], facts)]
        case PostEdited(n=n) | PostDeleted(n=n) if n in facts.recent and facts.recent[n][1].kind != "whisper":
            posted_at, post = facts.recent[n]  # the post's document again, with its text now (none: deleted)
            if not post.pending:
                return [post_document(address, posted_at, post, facts)]
    return []


def post_document(address: str, seq: int, post: Post, facts: CampaignFacts) -> dict[str, Any]:
    """The document of the post journaled at ``seq`` of ``campaign/<id>``."""
    return {
        "id": f"posts/{address}/{seq}", "source": "posts", "campaign": campaign_id(address), "address": address,
        "seq": seq, "n": post.n, "kind": post.kind, "author": post.author, "names": facts.author_name(post.author),
        "scene": post.scene, "title": facts.scenes.get(post.scene, ""), "body": post.text, "at": float(post.at),
        "reason": post.reason or "",
    }


class SearchProjection:
    """The :class:`snapshots.search.projection.Projection` of the game kinds: campaign posts and
    encounter summaries, from typed events.

    ``campaign``, ``combat``: the kinds whose ``load_event`` reads the stored records (default:
    the game's own; the narrator plays no part in reading)."""

    kinds = frozenset({CAMPAIGN, COMBAT})

    def __init__(self, campaign: Behavior[Any] | None = None, combat: Behavior[Any] | None = None) -> None:
        self._kinds: dict[str, Behavior[Any]] = {CAMPAIGN: campaign or CampaignKind(), COMBAT: combat or CombatKind()}

    def load(self, address: str, stored: dict[str, Any]) -> Event:
        return self._kinds[address.split("/", 1)[0]].load_event(stored)

    def owner(self, address: str) -> str:
        return f"{CAMPAIGN}/{campaign_id(address)}"

    def facts(self) -> CampaignFacts:
        return CampaignFacts()

    def post_documents(self, address: str, seq: int, event: Event, facts: CampaignFacts) -> list[dict[str, Any]]:
        return post_documents(address, seq, event, facts)

    def ended(self, address: str, event: Event) -> int | None:
        if isinstance(event, EncounterClosed):
            return event.n
        if isinstance(event, EncounterEnded):
            return encounter_number(address)
        return None

    def encounter_address(self, owner: str, n: int, facts: CampaignFacts) -> str:
        return facts.started.get(n, {}).get("address") or f"{COMBAT}/{campaign_id(owner)}.{n}"

    def encounter_document(self, address: str, facts: CampaignFacts, events: Iterable[Event]) -> dict[str, Any] | None:
        return encounter_document(address, facts, events)
