"""Encounters as children of their campaign: turns, compare-and-swap skips, the 4 h turn timer,
inactive players leaving the initiative; scheduled orders; the GM status's promises kept.

Real runtime and RocksDB; time from trio's MockClock (``settle`` lets tells between the two
actors land: a millisecond of mock time).
"""
from __future__ import annotations

import pytest
import trio

from actors import Forbidden, Rejected
from actors.campaign.messages import (
    CancelOrder, EndEncounter, MarkFollowing, Npc, PostAction, PostNarration, ScheduleOrder, SetMode, StartEncounter,
)
from actors.campaign.state import HOUR, FollowUp
from actors.campaign.status import gm_status
from actors.combat.messages import EndTurn, SkipTurn

from ..campaigns import GM, player, posts, started

GOBLIN = Npc(name="Goblin", initiative=17, cid="gob")


async def settle() -> None:
    await trio.sleep(0.001)


def campaign(rt):
    return rt.state_of("campaign/c1")[0]


def combat(rt, n: int = 1):
    return rt.state_of(f"combat/c1.{n}")[0]


def status(rt) -> dict:
    return gm_status(campaign(rt), "c1", rt.clock.now())


async def fight(rt, **kwargs) -> None:
    """Ayla (17) and Bram (18) against a goblin (17): results given, nothing rolled."""
    await started(rt)
    kwargs.setdefault("initiative", {"ayla": 17, "bram": 18})
    await rt.ask("campaign/c1", StartEncounter(npcs=(GOBLIN,), **kwargs), by=GM)
    await settle()


async def test_initiative_turns_and_the_campaign_mirror(game, autojump_clock):
    rt = game
    await fight(rt)
    enc = combat(rt)
    assert [c.cid for c in enc.order()] == ["bram", "gob", "ayla"]       # 18, 17, 17: on a tie foes go first
    assert (enc.round, enc.turn, enc.current) == (1, 1, "bram")
    view = campaign(rt).encounter
    assert campaign(rt).mode == "encounter"
    assert (view.round, view.turn, view.player_id, view.turn_due) == (1, 1, "bram", enc.turn_due())

    with pytest.raises(Forbidden) as info:                               # not ayla's turn
        await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=player("ayla"))
    assert info.value.code == "combat/not_your_turn"
    await rt.ask("campaign/c1", PostAction(text="I swing at the goblin"), by=player("bram"))   # acting ends the turn
    await settle()
    assert (combat(rt).turn, combat(rt).current) == (2, "gob")
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=2, action="The goblin snarls."), by=GM)
    await settle()
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=3, action="I parry."), by=player("ayla"))
    await settle()
    enc = combat(rt)
    assert (enc.round, enc.turn, enc.current) == (2, 1, "bram")
    assert [p.text for p in posts(rt) if p.kind == "action"] == ["I swing at the goblin", "I parry."]
    assert campaign(rt).players["ayla"].last_action_at is not None     # an action through the encounter counts

    await rt.ask("campaign/c1", EndEncounter(), by=GM)
    await settle()
    assert campaign(rt).mode == "exploration" and campaign(rt).encounter is None and combat(rt).ended
    assert not list(rt.store.timers_of("combat/c1.1"))
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", SkipTurn(round=2, turn=1), by=GM)
    assert info.value.code == "combat/ended"


async def test_a_turn_idle_4h_is_skipped_exactly_once_and_a_late_gm_skip_loses(game, autojump_clock):
    rt = game
    await fight(rt)
    due_in = status(rt)["auto_skip_in"]
    assert due_in == pytest.approx(4 * HOUR - 0.001, abs=0.002)          # the promise: the timer's due time
    await trio.sleep(due_in - 0.002)
    assert (combat(rt).round, combat(rt).turn) == (1, 1)
    await trio.sleep(0.004)
    assert (combat(rt).turn, combat(rt).current) == (2, "gob")
    [skip] = posts(rt, "auto_skip")
    assert skip.text == "Bram hesitates, taking a defensive stance." and skip.author == "server"
    with pytest.raises(Rejected) as info:                                # the GM skips the turn that is gone
        await rt.ask("combat/c1.1", SkipTurn(round=1, turn=1), by=GM)
    assert info.value.code == "combat/turn_moved" and info.value.details["turn"] == 2
    await rt.ask("combat/c1.1", SkipTurn(round=1, turn=2), by=GM)        # the right turn: skipped once
    await settle()
    assert combat(rt).current == "ayla" and len(posts(rt, "skip")) == 1
    with pytest.raises(Forbidden):
        await rt.ask("combat/c1.1", SkipTurn(round=1, turn=3), by=player("ayla"))


async def test_nobody_acts_the_encounter_ends_after_its_rounds(game, autojump_clock):
    rt = game
    await fight(rt, max_rounds=2)
    await trio.sleep(6 * 4 * HOUR + 1)                                   # 2 rounds of 3 idle turns
    assert combat(rt).ended and campaign(rt).mode == "exploration"
    assert len(posts(rt, "auto_skip")) == 6
    assert [p.text for p in posts(rt, "encounter_over")] == ["The fighting ebbs; the survivors catch their breath."]


async def test_an_inactive_player_leaves_the_initiative_and_returns_by_acting(game, autojump_clock):
    rt = game
    await fight(rt, initiative={"ayla": 30})
    await rt.ask("campaign/c1", PostAction(text="Ayla strikes first"), by=player("ayla"))
    await settle()
    for _ in range(3):                                                   # bram acts every turn; ayla not any more
        while combat(rt).current != "bram":
            await trio.sleep(HOUR)
        await rt.ask("campaign/c1", PostAction(text="Bram fights on"), by=player("bram"))
        await settle()
    await trio.sleep(24 * HOUR)
    assert campaign(rt).players["ayla"].status == "inactive"
    assert "ayla" in combat(rt).removed and combat(rt).current != "ayla"
    await rt.ask("campaign/c1", PostAction(text="Sorry, I'm back"), by=player("ayla"))
    await settle()
    assert "ayla" not in combat(rt).removed and campaign(rt).players["ayla"].status == "active"


async def test_orders_dispatch_then_layered_follow_ups_then_complete(game, autojump_clock):
    rt = game
    await started(rt)
    await rt.ask("campaign/c1", ScheduleOrder(
        order_id="raid", in_hours=3, text="Raiders burn the granary.",
        follow_ups=(FollowUp(after_hours=2, text="Rumour: the raiders wore the duke's colours.", kind="notice"),
                    FollowUp(after_hours=24, text="Analysis: the duke needs the grain for a siege."))), by=GM)
    await rt.ask("campaign/c1", ScheduleOrder(order_id="feast", in_hours=10, text="The feast begins."), by=GM)
    assert [o["order_id"] for o in status(rt)["scheduled_orders"]] == ["raid", "feast"]
    await trio.sleep(3 * HOUR + 0.01)
    order = campaign(rt).orders["raid"]
    assert (order.status, order.steps_done) == ("active", 1)
    await trio.sleep(2 * HOUR)
    assert [p.text for p in posts(rt, "order")] == ["Raiders burn the granary.",
                                                    "Rumour: the raiders wore the duke's colours."]
    await rt.ask("campaign/c1", CancelOrder(order_id="feast"), by=GM)
    await trio.sleep(22 * HOUR)
    assert campaign(rt).orders["raid"].status == "completed"
    assert campaign(rt).orders["feast"].status == "cancelled"
    assert len(posts(rt, "order")) == 3 and "The feast begins." not in [p.text for p in posts(rt)]
    with pytest.raises(Rejected) as info:
        await rt.ask("campaign/c1", CancelOrder(order_id="raid"), by=GM)
    assert info.value.code == "campaign/order_finished"
    assert not [t for t in rt.store.timers_of("campaign/c1") if t.name.startswith("order.")]


async def test_gm_status_prescribes_and_its_countdowns_are_the_timers(game, autojump_clock):
    rt = game
    await started(rt)
    await rt.ask("campaign/c1", PostAction(text="I open the door"), by=player("ayla"))
    s = status(rt)
    assert s["waiting_for"]["who"] == "gm" and s["what_to_do_next"]["endpoint"]["body"]["type"] == "PostNarration"
    timers = {t.name: t.due_ms / 1000 for t in rt.store.timers_of("campaign/c1")}
    now = rt.clock.now()
    for p in s["player_activity"]:
        assert p["next_enforcement"]["in_s"] == round(timers[f"player.{p['player_id']}"] - now, 3)
    assert s["stall"]["auto_advance_in"] == round(timers["stall"] - now, 3)
    assert {p["player_id"]: p["inactive_status"] for p in s["player_activity"]} == {"ayla": "active",
                                                                                  "bram": "never_acted"}
    await rt.ask("campaign/c1", MarkFollowing(player_id="bram"), by=GM)
    assert campaign(rt).players["bram"].status == "following"
    await trio.sleep(13 * HOUR)
    s = status(rt)
    assert s["must_advance"] and "waited 13h" in s["must_advance_reason"] and s["needs_attention"]
    assert s["gm_tasks"][0]["urgency"] == "critical"
    await rt.ask("campaign/c1", PostNarration(text="The door creaks open."), by=GM)
    s = status(rt)
    assert not s["must_advance"] and s["waiting_for"]["who"] == "players"
    assert s["what_to_do_next"]["endpoint"]["body"]["type"] == "SetDeadline"

    await rt.ask("campaign/c1", StartEncounter(npcs=(GOBLIN,), initiative={"ayla": 17, "bram": 18}), by=GM)
    await settle()
    s = status(rt)
    assert s["mode"] == "encounter" and not s["skip_required"] and s["waiting_for"]["player_id"] == "bram"
    await trio.sleep(2 * HOUR)
    s = status(rt)
    assert s["skip_required"] and s["skip_required_player"] == "bram"
    first = s["gm_tasks"][0]
    assert first["urgency"] == "critical" and first["endpoint"]["body"] == {
        "type": "SkipTurn", "data": {"round": 1, "turn": 1}}
    assert first["endpoint"]["path"] == "/api/v1/actors/combat/c1.1/commands"
    with pytest.raises(Rejected):
        await rt.ask("campaign/c1", SetMode(mode="downtime"), by=GM)


async def test_commands_a_player_may_not_send_are_forbidden(game, autojump_clock):
    rt = game
    await started(rt)
    for command in (StartEncounter(), MarkFollowing(player_id="ayla"),
                    ScheduleOrder(order_id="o", in_hours=1, text="x")):
        with pytest.raises(Forbidden):
            await rt.ask("campaign/c1", command, by=player("ayla"))
    with pytest.raises(Rejected) as info:
        await rt.ask("campaign/c1", StartEncounter(players=("zed",)), by=GM)
    assert info.value.code == "campaign/not_a_player"
    with pytest.raises(Rejected) as info:
        await rt.ask("campaign/c1", StartEncounter(npcs=(Npc(name="A", initiative=1, cid="ayla"),)), by=GM)
    assert info.value.code == "campaign/duplicate_combatant"
    assert campaign(rt).encounter is None
