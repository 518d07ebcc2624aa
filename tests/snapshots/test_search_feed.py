"""The index fed by the journal: live after commands, caught up after a restart (and after a
kill between a commit and its cursors), rebuilt alike from scratch (reindex equality),
pending narrations indexed once with their final text, encounter summaries.

Real runtime with the game's kinds, real RocksDB and tantivy in ``tmp_path``.  The runtime
runs on the real clock (its campaign timers lie hours away): an autojumping MockClock would
jump hours whenever the indexer waits for its worker thread, and fire timers mid-test.
Waiting is on events: the indexer's ``caught_up`` and journal listeners, never on time.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

import trio

from actors import RuntimeConfig, TrioClock, open_runtime
from actors.campaign.messages import EndEncounter, Npc, PostAction, PostNarration, StartEncounter, StartScene
from actors.campaign.search import SearchProjection
from actors.kinds import game_kinds
from snapshots import Batch
from snapshots.search import Feeder, Indexer, rebuild
from snapshots.search.indexer import load_state

from ..campaigns import GM, player, started

QUERIES = ["lantern altar", "goblin", "encounter", "grappled condition", "Ayla", "drowned chapel",
           "multiple attack penalty", "roll for initiative", "rope bridge", "*"]


@asynccontextmanager
async def runtime(store):
    async with open_runtime(store, game_kinds(), clock=TrioClock(), config=RuntimeConfig(lag_interval=None)) as rt:
        yield rt


@asynccontextmanager
async def feeding(rt, root):
    """An Indexer fed by ``rt``'s journal (committing without delay), stopped on exit."""
    indexer = Indexer(rt.store, SearchProjection(), root, interval=0.0)
    rt.journal_listeners.append(indexer.journaled)
    async with trio.open_nursery() as nursery:
        await nursery.start(indexer.run)
        yield indexer
        nursery.cancel_scope.cancel()
    rt.journal_listeners.remove(indexer.journaled)


def journaled(rt, address: str, event: str) -> trio.Event:
    """Set once ``address`` journals an event of type ``event``."""
    seen = trio.Event()

    def listener(where: str, first_seq: int, events: list[Any]) -> None:
        if where == address and any(type(e).__name__ == event for e in events):
            seen.set()

    rt.journal_listeners.append(listener)
    return seen


async def play(rt) -> None:
    """Two campaigns: a scene, actions, a narration, an encounter the GM ends."""
    await started(rt)
    await rt.ask("campaign/c1", StartScene(title="The Drowned Chapel", description="Water to the knees."), by=GM)
    await rt.ask("campaign/c1", PostAction(text="I light the lantern and search the altar"), by=player("ayla"))
    await rt.ask("campaign/c1", PostNarration(text="Under the altar cloth lies a rusted key."), by=GM)
    begun = journaled(rt, "combat/c1.1", "EncounterBegun")
    await rt.ask("campaign/c1", StartEncounter(npcs=(Npc(name="Goblin", initiative=17, cid="gob"),),
                                               initiative={"ayla": 12, "bram": 18}), by=GM)
    await begun.wait()
    ended = journaled(rt, "combat/c1.1", "EncounterEnded")
    await rt.ask("campaign/c1", EndEncounter(), by=GM)
    await ended.wait()
    await started(rt, "c2", ("cass",))
    await rt.ask("campaign/c2", PostAction(text="I cross the rope bridge with my lantern"), by=player("cass", "c2"))


def answers(index) -> list[Any]:
    return [index.search(q, "all", limit=50)["items"] for q in QUERIES]


async def test_commands_become_searchable_with_their_citations(store, tmp_path):
    async with runtime(store) as rt, feeding(rt, tmp_path / "search") as indexer:
        await play(rt)
        await indexer.caught_up()
        index = indexer.index
        [hit] = index.search("+lantern +altar", "posts", {"campaign": "c1"})["items"]
        assert hit["citation"] | {"at": None} == {
            "campaign": "c1", "post": 2, "scene": 1, "scene_title": "The Drowned Chapel", "at": None,
            "author": "ayla", "author_name": "Ayla", "kind": "action", "address": "campaign/c1",
            "seq": hit["citation"]["seq"]}
        assert "<mark>lantern</mark>" in hit["snippet"] and "<mark>altar</mark>" in hit["snippet"]
        narration = index.search("rusted key", "posts")["items"][0]["citation"]
        assert (narration["kind"], narration["author"], narration["author_name"]) == ("narration", "gm1", "GM")
        [summary] = index.search("goblin", "encounters")["items"]
        assert summary["id"] == "encounters/combat/c1.1" and summary["title"] == "Encounter 1"
        assert summary["citation"] | {"at": None} == {
            "campaign": "c1", "encounter": 1, "address": "combat/c1.1", "scene": 1,
            "scene_title": "The Drowned Chapel", "at": None, "outcome": "gm", "rounds": 1}
        body = index.search("goblin", "encounters", limit=1)["items"][0]["snippet"]
        assert "Ayla and Bram against <mark>Goblin</mark>" in body
        # five posts, and the summary of the encounter the GM ended (it reaches the feed too)
        assert index.counts() == {"rules": index.counts()["rules"], "posts": 6, "encounters": 1}
        assert index.search("rope bridge", "all", campaigns=frozenset({"c1"}))["total"] == 0
        assert index.search("rope bridge", "all", campaigns=frozenset({"c2"}))["total"] == 1
        # the rules reference is in every index from the first start
        assert index.search("multiple attack penalty", "rules")["items"][0]["citation"]["book"] == "everturn-rules"


async def test_a_rebuilt_index_answers_exactly_as_the_live_one(store, tmp_path):
    async with runtime(store) as rt, feeding(rt, tmp_path / "live") as indexer:
        await play(rt)
        await indexer.caught_up()
        live = answers(indexer.index)
        rebuilt = rebuild(store, SearchProjection(), tmp_path / "rebuilt")  # on the loop: nothing journals meanwhile
        try:
            assert answers(rebuilt.index) == live
            assert rebuilt.index.counts() == indexer.index.counts()
            assert rebuilt.cursors == indexer.feeder.cursors
        finally:
            rebuilt.close()
    assert sum(len(items) for items in live) > 20


async def test_a_restart_catches_up_with_what_was_journaled_while_down(store, tmp_path):
    root = tmp_path / "search"
    async with runtime(store) as rt:
        async with feeding(rt, root) as indexer:
            await started(rt)
            await rt.ask("campaign/c1", PostAction(text="I bar the door"), by=player("ayla"))
            await indexer.caught_up()
        await rt.ask("campaign/c1", PostAction(text="I climb the bell tower"), by=player("bram"))  # nobody indexes
        async with feeding(rt, root) as indexer:
            await indexer.caught_up()
            assert indexer.index.search("bell tower", "posts")["total"] == 1
            assert indexer.index.search("door", "posts")["total"] == 1                       # not added twice
            assert indexer.index.counts()["posts"] == 2
            assert load_state(root)["cursors"]["campaign/c1"] == store.last_seq("campaign/c1")


async def test_a_kill_between_commit_and_cursors_only_adds_the_batch_again(store, tmp_path):
    root = tmp_path / "search"
    async with runtime(store) as rt:
        await started(rt)
        await rt.ask("campaign/c1", PostAction(text="I bar the door"), by=player("ayla"))
    feeder = Feeder.open(store, SearchProjection(), root)
    feeder.sync_books()
    feeder.feed(feeder.behind())
    feeder.commit(save=False)   # the index has the batch; state.json does not know it (killed here)
    feeder.close()
    again = Feeder.open(store, SearchProjection(), root)
    assert again.cursors == {} and again.index.counts()["posts"] == 1
    again.sync_books()
    again.feed(again.behind())
    again.commit()
    assert again.index.counts()["posts"] == 1 and again.index.search("door", "posts")["total"] == 1
    again.close()


async def test_without_its_state_the_index_is_rebuilt_from_the_journal(store, tmp_path):
    root = tmp_path / "search"
    async with runtime(store) as rt:
        async with feeding(rt, root) as indexer:
            await started(rt)
            await rt.ask("campaign/c1", PostAction(text="I bar the door"), by=player("ayla"))
            await indexer.caught_up()
            first = indexer.feeder.name
        (root / "state.json").unlink()
        async with feeding(rt, root) as indexer:
            await indexer.caught_up()
            assert indexer.feeder.name != first and not (root / first).exists()   # the old one is gone
            assert indexer.index.search("door", "posts")["total"] == 1


async def test_reindex_while_running_swaps_in_the_new_index(store, tmp_path):
    async with runtime(store) as rt, feeding(rt, tmp_path / "search") as indexer:
        await started(rt)
        await rt.ask("campaign/c1", PostAction(text="I bar the door"), by=player("ayla"))
        await indexer.caught_up()
        before = indexer.feeder.name
        report = await indexer.reindex()
        assert indexer.feeder.name != before and not (tmp_path / "search" / before).exists()
        assert report["documents"] == indexer.index.documents() > 1
        await rt.ask("campaign/c1", PostAction(text="I open the door again"), by=player("ayla"))
        await indexer.caught_up()
        assert indexer.index.search("door", "posts")["total"] == 2


async def test_a_failed_batch_is_rolled_back_and_fed_again(store, tmp_path, monkeypatch):
    monkeypatch.setattr("snapshots.search.indexer.RETRY_S", 0.0)
    async with runtime(store) as rt, feeding(rt, tmp_path / "search") as indexer:
        await started(rt)
        await indexer.caught_up()
        commit, calls, before_retry = Feeder.commit, [], []

        def full_disk_once(self, save=True):
            calls.append(save)
            if len(calls) == 1:
                raise OSError(28, "No space left on device")
            # the retry: what the failed batch left behind is visible now, if anything
            before_retry.append(indexer.index.search("door", "posts")["total"])
            return commit(self, save)

        monkeypatch.setattr(Feeder, "commit", full_disk_once)
        await rt.ask("campaign/c1", PostAction(text="I bar the door"), by=player("ayla"))
        await indexer.caught_up()                       # the batch that failed (and, RETRY_S being 0, maybe its retry)
        assert indexer.errors == 1 and "No space left" in indexer.last_error
        await indexer.caught_up()                       # tried again at once
        assert before_retry == [0]                      # rolled back: the failed batch left nothing searchable
        assert indexer.index.search("door", "posts")["total"] == 1 and indexer.index.counts()["posts"] == 1
        assert len(calls) == 2


def post(n: int, text: str, pending: bool = False) -> dict[str, Any]:
    return {"t": "Posted", "v": 1, "d": {"post": {"n": n, "kind": "narration", "author": "server", "text": text,
                                                  "at": 1000.0 + n, "reason": "stalled", "scene": 0,
                                                  "pending": pending}}}


def test_a_pending_narration_is_indexed_once_with_its_final_text(store, tmp_path):
    def append(seq: int, event: dict[str, Any]) -> None:
        batch = Batch()
        if seq == 1:
            store.register_actor(batch, "campaign/n1", {"kind": "campaign"})
        store.append_event(batch, "campaign/n1", seq, event)
        store.write([batch])

    feeder = Feeder.open(store, SearchProjection(), tmp_path / "search")
    append(1, post(1, "The torch flickers.", pending=True))
    append(2, post(2, "Footsteps echo somewhere ahead."))
    feeder.feed(feeder.behind())
    feeder.commit()
    assert feeder.index.search("torch", "posts")["total"] == 0            # still being written
    assert feeder.index.search("footsteps", "posts")["total"] == 1
    append(3, {"t": "PostNarrated", "v": 1, "d": {"n": 1, "text": "A cold wind snuffs the torch.", "meta": {}}})
    feeder._facts.clear()                                                  # as after a restart: read again
    feeder.feed(feeder.behind())
    feeder.commit()
    [hit] = feeder.index.search("torch", "posts")["items"]
    assert hit["id"] == "posts/campaign/n1/1" and "snuffs" in hit["snippet"]
    assert feeder.index.documents() == feeder.index.counts()["posts"] + feeder.index.counts()["rules"] == 2
    feeder.close()
