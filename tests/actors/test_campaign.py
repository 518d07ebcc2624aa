"""The campaign actor on the real runtime and a real RocksDB; time from trio's MockClock."""
from __future__ import annotations

import pytest
import trio

from actors import Rejected, RuntimeConfig, TrioClock, open_runtime
from actors.campaign.messages import (
    ClearDeadline, CreateCampaign, JoinCampaign, PostAction, PostNarration, SetDeadline,
)
from actors.campaign.state import HOUR

from ..campaigns import GM, KINDS, hero, player, posts, started

async def test_bad_commands_are_refused_and_change_nothing(game, autojump_clock):
    rt = game
    with pytest.raises(Rejected) as info:
        await rt.ask("campaign/c1", PostAction(text="hello"), by=player("ayla"))
    assert info.value.code == "campaign/not_created"
    await started(rt)
    for command, by, code in [
        (CreateCampaign(title="again"), GM, "campaign/exists"),
        (PostNarration(text="I narrate"), player("ayla"), "campaign/gm_only"),
        (PostAction(text="sneak", player_id="bram"), player("ayla"), "campaign/not_your_character"),
        (PostAction(text="who?"), player("zed"), "campaign/not_a_player"),
        (JoinCampaign(character=hero("Ayla")), player("ayla"), "campaign/already_joined"),
        (ClearDeadline(deadline_id="none"), GM, "campaign/no_such_deadline"),
        (SetDeadline(deadline_id="d", in_hours=1, consequence="x"), player("bram"), "campaign/gm_only"),
    ]:
        before = rt.state_of("campaign/c1")
        with pytest.raises(Rejected) as info:
            await rt.ask("campaign/c1", command, by=by)
        assert info.value.code == code
        assert rt.state_of("campaign/c1") == before


async def test_quiet_players_follow_at_12h_and_are_left_behind_at_24h(game, store, autojump_clock):
    rt = game
    await started(rt)
    await trio.sleep(2 * HOUR)
    await rt.ask("campaign/c1", PostAction(text="I search the shrine"), by=player("bram"))
    timers = {t.name: t.due_ms for t in store.timers_of("campaign/c1")}
    start = rt.clock.now() - 2 * HOUR
    assert timers["player.ayla"] == round((start + 12 * HOUR) * 1000)     # the plan, to the millisecond
    assert timers["player.bram"] == round((start + 14 * HOUR) * 1000)

    await trio.sleep(10 * HOUR - 1)
    assert rt.state_of("campaign/c1")[0].players["ayla"].status == "active"
    await trio.sleep(2)
    state = rt.state_of("campaign/c1")[0]
    assert state.players["ayla"].status == "following" and state.players["bram"].status == "active"
    assert [p.text for p in posts(rt, "following")] == ["Ayla follows the party, lost in thought."]

    await trio.sleep(12 * HOUR)                                           # 24 h after ayla joined
    state = rt.state_of("campaign/c1")[0]
    assert state.players["ayla"].status == "inactive"
    assert posts(rt, "inactive")[-1].text == "Time passes. The party presses on without Ayla."

    await rt.ask("campaign/c1", PostAction(text="I'm back!"), by=player("ayla"))   # acting brings them back
    assert rt.state_of("campaign/c1")[0].players["ayla"].status == "active"


async def test_a_passed_deadline_posts_its_consequence_once_and_clears(game, store, autojump_clock):
    rt = game
    await started(rt)
    await rt.ask("campaign/c1", SetDeadline(deadline_id="ritual", in_hours=6,
                                            consequence="The ritual completes and the demon is summoned."), by=GM)
    await rt.ask("campaign/c1", SetDeadline(deadline_id="tide", in_hours=3, consequence="The tide cuts the causeway."),
                 by=GM)
    await rt.ask("campaign/c1", ClearDeadline(deadline_id="tide"), by=GM)
    await trio.sleep(6 * HOUR + 1)
    consequences = posts(rt, "deadline")
    assert [p.text for p in consequences] == ["The ritual completes and the demon is summoned."]
    assert rt.state_of("campaign/c1")[0].deadlines == {}
    assert not [t for t in store.timers_of("campaign/c1") if t.name.startswith("deadline.")]


async def test_a_story_waiting_24h_for_narration_advances_by_itself(game, autojump_clock):
    rt = game
    await started(rt)
    await rt.ask("campaign/c1", PostNarration(text="The shrine door is sealed."), by=GM)
    await trio.sleep(HOUR)
    await rt.ask("campaign/c1", PostAction(text="I try the door"), by=player("ayla"))
    await trio.sleep(5 * HOUR)
    await rt.ask("campaign/c1", PostAction(text="I help"), by=player("bram"))
    await trio.sleep(18 * HOUR - 1)                                       # 24 h after the last narration
    assert posts(rt, "stalled") == []
    await trio.sleep(2)
    [advanced] = posts(rt, "stalled")
    assert advanced.kind == "narration" and advanced.author == "server"
    await trio.sleep(48 * HOUR)                                           # nobody acted since: nothing more
    assert len(posts(rt, "stalled")) == 1
    await rt.ask("campaign/c1", PostAction(text="Anyone?"), by=player("bram"))   # long after: an hour's grace
    await trio.sleep(HOUR - 1)
    assert len(posts(rt, "stalled")) == 1
    await trio.sleep(2)
    assert len(posts(rt, "stalled")) == 2


async def test_enforcement_survives_a_restart(tmp_path, autojump_clock):
    from snapshots import Store

    clock, store = TrioClock(), Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=clock, config=RuntimeConfig(lag_interval=None)) as rt:
        await started(rt)
    store.close()
    await trio.sleep(30 * HOUR)                                           # the server was down meanwhile
    store = Store.open(tmp_path / "d")
    async with open_runtime(store, KINDS, clock=clock, config=RuntimeConfig(lag_interval=None)) as rt:
        await trio.testing.wait_all_tasks_blocked()
        state = rt.state_of("campaign/c1")[0]
        assert {p.status for p in state.players.values()} == {"inactive"}
    store.close()
