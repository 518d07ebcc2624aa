"""The campaign actor on the real runtime and a real RocksDB; time from trio's MockClock."""
from __future__ import annotations

import pytest
import trio

from actors import Rejected, RuntimeConfig, TrioClock, open_runtime
from actors.campaign.messages import (
    ClearDeadline, CreateCampaign, JoinCampaign, PostAction, PostNarration, RollDice, SetDeadline, StartScene,
    UpdateSettings,
)
from actors.dice import seed_of
from engine_ext.dice import roll
from actors.campaign.state import HOUR, Settings, Templates

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


async def test_scenes_number_the_posts_that_follow(game, autojump_clock):
    rt = game
    await started(rt)
    await rt.ask("campaign/c1", PostAction(text="I wait at the gate"), by=player("ayla"))
    await rt.ask("campaign/c1", StartScene(title="The Drowned Shrine", description="Water to the knees."), by=GM)
    await rt.ask("campaign/c1", PostAction(text="I wade in"), by=player("bram"))
    await rt.ask("campaign/c1", StartScene(title="Below"), by=GM)

    state = rt.state_of("campaign/c1")[0]
    assert (state.scene.n, state.scene.title, state.scene.description) == (2, "Below", "")
    assert [(p.text, p.scene) for p in state.posts] == [
        ("I wait at the gate", 0), ("The Drowned Shrine\n\nWater to the knees.", 1), ("I wade in", 1), ("Below", 2)]
    assert [p.reason for p in state.posts if p.kind == "notice"] == ["scene", "scene"]
    assert state.unanswered == (1, 3)                                       # a scene notice answers nobody
    with pytest.raises(Rejected) as info:
        await rt.ask("campaign/c1", StartScene(title="Mine now"), by=player("ayla"))
    assert info.value.code == "campaign/gm_only"
    with pytest.raises(ValueError, match="at least 1 character"):
        StartScene(title="")


async def test_settings_change_only_what_is_given_and_the_server_speaks_in_the_gms_words(game, store, autojump_clock):
    rt = game
    await started(rt, settings=Settings(stall_s=6 * HOUR))
    change = UpdateSettings(settings=Settings(exploration_idle_s=2 * HOUR, templates=Templates(
        following="{name} drifts to the back of the column.")))
    await rt.ask("campaign/c1", change, by=GM)

    settings = rt.state_of("campaign/c1")[0].settings
    assert (settings.exploration_idle_s, settings.stall_s, settings.inactive_s) == (2 * HOUR, 6 * HOUR, 24 * HOUR)
    assert settings.templates.left_behind == Templates().left_behind
    assert {t.name: t.due_ms for t in store.timers_of("campaign/c1")}["player.ayla"] == round(
        (rt.clock.now() + 2 * HOUR) * 1000)                               # the timers follow the new threshold
    await trio.sleep(2 * HOUR + 1)
    assert [p.text for p in posts(rt, "following")] == ["Ayla drifts to the back of the column.",
                                                        "Bram drifts to the back of the column."]
    seq = store.last_seq("campaign/c1")
    await rt.ask("campaign/c1", UpdateSettings(settings=Settings(stall_s=6 * HOUR)), by=GM)
    assert store.last_seq("campaign/c1") == seq                           # no change, no event

    for template, error in [({"skip": "{nam} waits"}, "unknown placeholder {nam}; this text may use {name}"),
                            ({"left_behind": "without {name}"}, "this text may use {names}"),
                            ({"advance": ["A {"]}, "literal brace"), ({"following": "  "}, "must not be blank"),
                            ({"advance": []}, "at least 1 item")]:
        with pytest.raises(ValueError, match=error.replace("{", r"\{").replace("}", r"\}")):
            UpdateSettings.model_validate({"settings": {"templates": template}})
    with pytest.raises(Rejected) as info:
        await rt.ask("campaign/c1", change, by=player("ayla"))
    assert info.value.code == "campaign/gm_only"


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


async def test_dice_are_rolled_by_the_server_logged_and_replayed_unchanged(game, store, autojump_clock):
    rt = game
    await started(rt)
    await rt.ask("campaign/c1", RollDice(expression="1d20+9", reason="Stealth"), by=player("ayla"))
    await rt.ask("campaign/c1", RollDice(expression="2d6 + 1d4 - 1"), by=GM)
    await rt.ask("campaign/c1", RollDice(expression="d8", player_id="bram"), by=GM)
    state = rt.state_of("campaign/c1")[0]
    first, second, third = state.rolls
    assert (first.n, first.by, first.expression, first.reason) == (1, "ayla", "1d20+9", "Stealth")
    assert 1 <= first.faces[0][0] <= 20 and first.total == first.faces[0][0] + 9
    assert (second.by, second.expression, [len(f) for f in second.faces]) == ("gm", "2d6+1d4-1", [2, 1])
    assert second.total == sum(second.faces[0]) + sum(second.faces[1]) - 1
    assert third.by == "bram" and state.dice_used == 1 + 3 + 1
    seed = seed_of("campaign/c1")                                         # the campaign's stream, read in order
    assert first.faces == (tuple(roll(seed, 0, 1, 20)),)
    assert second.faces == (tuple(roll(seed, 1, 2, 6)), tuple(roll(seed, 3, 1, 4)))

    for command, by, code in [
        (RollDice(expression="1d6", player_id="bram"), player("ayla"), "campaign/not_your_character"),
        (RollDice(expression="1d6", player_id="zed"), GM, "campaign/not_a_player"),
    ]:
        with pytest.raises(Rejected) as info:
            await rt.ask("campaign/c1", command, by=by)
        assert info.value.code == code
    assert rt.state_of("campaign/c1")[0].rolls == state.rolls

    await rt.restart("campaign/c1")                                       # replayed from the journal: same faces
    assert rt.state_of("campaign/c1")[0].rolls == state.rolls
