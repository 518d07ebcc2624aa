"""The search projection (actors.campaign.search, actors.combat.search): the index's documents of
campaign posts and encounter summaries, made from the kinds' typed events, old versions upcast."""
from __future__ import annotations

from typing import Any, ClassVar

from actors.campaign import messages as campaign
from actors.campaign.behavior import CampaignKind
from actors.campaign.search import CampaignFacts, SearchProjection
from actors.campaign.state import EncounterView, Player, Post, Scene
from actors.combat.behavior import CombatKind
from actors.combat.messages import ActionTaken, Attack, Damaged, EncounterBegun, EncounterEnded, Fled, TurnStarted
from actors.combat.search import encounter_document
from actors.combat.state import Combatant
from snapshots import Batch
from snapshots.search import Feeder

from ..campaigns import hero


def stored_campaign(*events: campaign.Event) -> list[dict[str, Any]]:
    return [CampaignKind().dump_event(event) for event in events]


def test_an_encounter_summary_tells_who_fought_how_long_and_how_it_ended():
    projection, facts = SearchProjection(), CampaignFacts()
    for seq, stored in enumerate(stored_campaign(
            campaign.PlayerJoined(player=Player(player_id="ayla", character=hero("Ayla"), joined_at=1.0)),
            campaign.SceneStarted(scene=Scene(n=2, title="The Bridge", started_at=5.0)),
            campaign.EncounterStarted(encounter=EncounterView(n=1, address="combat/c1.1", started_at=10.0))), 1):
        facts.read(seq, projection.load("campaign/c1", stored))
    hit = Attack(d20=15, modifier=7, total=22, dc=16, degree="success")
    combat = [projection.load("combat/c1.1", CombatKind().dump_event(event)) for event in [
        EncounterBegun(campaign="c1", n=1, turn_idle_s=60.0, max_rounds=10, at=10.0, combatants=(
            Combatant(cid="ayla", name="Ayla", player_id="ayla"), Combatant(cid="g1", name="Goblin"),
            Combatant(cid="g2", name="Goblin Archer"))),
        TurnStarted(round=1, turn=0, cid="ayla", at=11.0),
        ActionTaken(cid="ayla", kind="strike", cost=1, target="g1", attack=hit.model_copy(update={"damage": 9}),
                    dice_used=2),
        Damaged(cid="g1", amount=9, critical=False, hp=0, dying=0, dead=True),
        TurnStarted(round=2, turn=1, cid="g2", at=20.0),
        ActionTaken(cid="g2", kind="strike", cost=1, target="ayla", attack=hit.model_copy(update={"damage": 4}),
                    dice_used=4),
        Fled(cid="g2"),
        EncounterEnded(reason="victory", at=30.0),
    ]]
    assert encounter_document("combat/c1.1", facts, combat) is None        # the campaign has not closed it yet
    [closed] = stored_campaign(campaign.EncounterClosed(n=1, reason="victory", at=31.0, xp=60))
    facts.read(4, projection.load("campaign/c1", closed))
    doc = encounter_document("combat/c1.1", facts, combat)
    assert doc["body"] == ("Encounter 1 in scene 2 (The Bridge): Ayla against Goblin and Goblin Archer.\n"
                           "2 rounds. Outcome: victory; each character earned 60 XP.\n"
                           "Goblin died in round 1. Goblin Archer fled in round 2.\n"
                           "Damage dealt: Ayla 9, Goblin Archer 4.")
    assert (doc["outcome"], doc["rounds"], doc["scene"], doc["at"]) == ("victory", 2, 2, 31.0)


class Posted(campaign.Posted):
    """A later shape of ``Posted`` (named the same: a kind reads its events by name): version 1
    stored the post's text as ``body``."""

    version: ClassVar[int] = 2

    @classmethod
    def upcast(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        post = dict(data["post"])
        post["text"] = post.pop("body")
        return {**data, "post": post}


class CampaignKindV2(CampaignKind):
    events = tuple(Posted if event is campaign.Posted else event for event in CampaignKind.events)


def test_a_post_journaled_by_an_older_version_is_upcast_and_still_found(store, tmp_path):
    old = {"t": "Posted", "v": 1, "d": {"post": {"n": 1, "kind": "action", "author": "ayla", "at": 1001.0,
                                                 "body": "I light the lantern on the altar"}}}
    batch = Batch()
    store.register_actor(batch, "campaign/u1", {"kind": "campaign"})
    store.append_event(batch, "campaign/u1", 1, old)
    store.write([batch])
    projection = SearchProjection(campaign=CampaignKindV2())
    assert isinstance(projection.load("campaign/u1", old), campaign.Posted)
    feeder = Feeder.open(store, projection, tmp_path / "search")
    try:
        assert feeder.feed(feeder.behind()) == 1
        feeder.commit()
        [hit] = feeder.index.search("lantern altar", "posts")["items"]
        assert hit["id"] == "posts/campaign/u1/1" and "lantern" in hit["snippet"]
    finally:
        feeder.close()


def test_a_post_document_is_the_same_from_the_typed_event_as_it_was_from_the_stored_one():
    post = Post(n=3, kind="narration", author="server", text="The bridge sways.", at=1003, reason="stalled", scene=0)
    facts = CampaignFacts()
    event = SearchProjection().load("campaign/c1", CampaignKind().dump_event(campaign.Posted(post=post)))
    facts.read(7, event)
    [doc] = SearchProjection().post_documents("campaign/c1", 7, event, facts)
    assert doc == {"id": "posts/campaign/c1/7", "source": "posts", "campaign": "c1", "address": "campaign/c1",
                   "seq": 7, "n": 3, "kind": "narration", "author": "server", "names": "Server", "scene": 0,
                   "title": "", "body": "The bridge sways.", "at": 1003.0, "reason": "stalled"}


def test_a_whisper_is_never_indexed_and_an_edit_or_deletion_remakes_the_posts_document():
    projection, facts, address = SearchProjection(), CampaignFacts(), "campaign/c1"
    said = Post(n=1, kind="action", author="ayla", text="I open the chset.", at=1.0)
    whispered = Post(n=2, kind="whisper", author="ayla", text="I keep the ring.", at=2.0, to=("gm",))
    docs = []
    for seq, stored in enumerate(stored_campaign(
            campaign.Posted(post=said), campaign.Posted(post=whispered),
            campaign.PostEdited(n=1, text="I open the chest.", at=3.0, by="ayla"),
            campaign.PostEdited(n=2, text="I keep both rings.", at=4.0, by="ayla", to=("gm",)),
            campaign.PostDeleted(n=1, at=5.0, by="ayla")), 1):
        event = projection.load(address, stored)
        facts.read(seq, event)
        docs.append([(doc["id"], doc["body"]) for doc in projection.post_documents(address, seq, event, facts)])
    assert docs == [[("posts/campaign/c1/1", "I open the chset.")], [],
                    [("posts/campaign/c1/1", "I open the chest.")], [], [("posts/campaign/c1/1", "")]]
