"""The game loop around the rules, as tables: given a state, when a command, then events or a GM status
(issue 20).  Pure ``decide``/``evolve``/``gm_status``: no runtime, no RocksDB, no trio."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from actors import Rejected
from actors.campaign.behavior import CampaignKind
from actors.campaign.messages import (
    CancelOrder, ClearDeadline, CombatUpdate, CreateCampaign, DormancyChanged, EndEncounter, JoinCampaign,
    MarkFollowing, PlayerActive, PostAction, PostNarration, RollDice, ScheduleOrder, SetDeadline, SetMode,
    StartEncounter, StartScene,
)
from actors.campaign.state import Character, EncounterView, Saves
from actors.campaign.status import gm_status
from actors.combat.behavior import CombatKind
from actors.combat.messages import Act, Adjust, BeginEncounter, EndTurn, RemoveCombatant, StopEncounter, TurnStarted
from actors.combat.state import Combatant, Stats, StrikeStat
from actors.messages import Context, Decision, TimerFired

from ..campaigns import GM, player

HOUR, DAY = 3600.0, 86400.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
CAMPAIGN, COMBAT = CampaignKind(), CombatKind()
GOBLIN = Stats(level=1, max_hp=20, ac=16, fortitude=5, reflex=7, will=3, perception=5,
               strikes=(StrikeStat(name="scimitar", attack=7, damage="1d6+2"),))


def hero(name: str) -> Character:
    return Character(name=name, level=3, max_hp=30, hp=30, ac=18, saves=Saves(fortitude=9, reflex=8, will=7),
                     perception=9, strikes=(StrikeStat(name="longsword", attack=9, damage="1d8+4"),))


def ctx(address: str, at: float, by: Any = None) -> Context:
    return Context(address, 0, datetime.fromtimestamp(at, tz=timezone.utc), by)


def when(kind: Any, state: Any, command: Any, at: float, by: Any = None, address: str = "campaign/c1") -> tuple[Any, Decision]:
    decision = kind.decide(state, command, ctx(address, at, by))
    return kind.replay(state, decision.events), decision


def table(*players: str, at: float = T0) -> Any:
    """A created campaign, the GM's opening narration, the players joined, all at ``at``."""
    state, _ = when(CAMPAIGN, CAMPAIGN.initial("campaign/c1"), CreateCampaign(title="The Bridge"), at, GM)
    for name in players:
        state, _ = when(CAMPAIGN, state, JoinCampaign(character=hero(name.title())), at, player(name))
    state, _ = when(CAMPAIGN, state, PostNarration(text="Rain lashes the old bridge."), at, GM)
    return state


def timers(state: Any, until: float) -> tuple[Any, list[Any]]:
    """Fire every campaign timer due by ``until``, in due order, as the runtime would."""
    from actors.campaign.enforcement import plan

    fired: list[Any] = []
    while True:
        due = sorted((at, name) for name, at in plan(state).items() if at <= until)
        if not due:
            return state, fired
        at, name = due[0]
        state, decision = when(CAMPAIGN, state, TimerFired(name=name, id="t", due=datetime.fromtimestamp(
            at, tz=timezone.utc)), at)
        fired += decision.events


def posts(events: list[Any], reason: str) -> list[Any]:
    return [e.post for e in events if type(e).__name__ == "Posted" and e.post.reason == reason]


# -- 1. combat buttons are activity ----------------------------------------------------------------

def encounter(*players: str, npcs: int = 1, at: float = T0) -> Any:
    combatants = [Combatant(cid=p, name=p.title(), player_id=p, initiative=20 - i,
                            stats=Stats(level=3, max_hp=30, ac=18, fortitude=9, reflex=8, will=7, perception=9,
                                        strikes=(StrikeStat(name="longsword", attack=9, damage="1d8+4"),)))
                  for i, p in enumerate(players)]
    combatants += [Combatant(cid=f"gob{i}", name=f"Goblin {i}", initiative=1, stats=GOBLIN) for i in range(npcs)]
    state, _ = when(COMBAT, COMBAT.initial("combat/c1.1"), BeginEncounter(
        campaign="c1", n=1, combatants=tuple(combatants), turn_idle_s=4 * HOUR, max_rounds=10), at,
        address="combat/c1.1")
    return state


@pytest.mark.parametrize("by, active", [(player("ayla"), ("ayla",)), (GM, ())])
def test_a_players_own_button_is_reported_as_activity_the_gms_is_not(by, active):
    state = encounter("ayla", "bram")
    _, decision = when(COMBAT, state, EndTurn(round=1, turn=1), T0 + HOUR, by, "combat/c1.1")
    [report] = [t.command for t in decision.tells if isinstance(t.command, CombatUpdate)]
    assert report.active == active and report.acted == ()


def test_the_campaign_counts_a_button_as_activity_and_the_player_is_never_marked_inactive_for_it():
    state = table("ayla", "bram")
    update = CombatUpdate(n=1, round=1, turn=2, current="bram", name="Bram", player_id="bram", turn_started_at=T0,
                          turn_due=None, ended=False, reason=None, active=("ayla",), at=T0 + 20 * HOUR)
    state = state.model_copy(update={"mode": "encounter", "encounters": 1, "encounter": EncounterView(
        n=1, address="combat/c1.1", started_at=T0)})
    state, decision = when(CAMPAIGN, state, update, T0 + 20 * HOUR)
    assert [type(e) for e in decision.events if isinstance(e, PlayerActive)] == [PlayerActive]
    assert state.players["ayla"].last_action_at == T0 + 20 * HOUR
    state, fired = timers(state, T0 + 30 * HOUR)
    assert state.players["ayla"].status == "active" and state.players["bram"].status == "inactive"


def test_a_roll_is_activity_and_brings_an_inactive_player_back():
    state, _ = timers(table("ayla"), T0 + 25 * HOUR)
    assert state.players["ayla"].status == "inactive"
    state, _ = when(CAMPAIGN, state, RollDice(expression="d20+7"), T0 + 26 * HOUR, player("ayla"))
    assert state.players["ayla"].status == "active" and state.players["ayla"].last_action_at == T0 + 26 * HOUR


# -- 2. out of the initiative is out of the fight -----------------------------------------------------

def test_a_character_out_of_the_initiative_is_never_a_target():
    state = encounter("ayla", "bram", npcs=1)
    state, _ = when(COMBAT, state, RemoveCombatant(player_id="ayla"), T0, address="combat/c1.1")
    for turn in range(1, 4):  # Bram passes: the goblin plays its turns, striking only Bram
        if state.current != "bram":
            break
        state, decision = when(COMBAT, state, EndTurn(round=state.round, turn=state.turn), T0 + turn, GM,
                               "combat/c1.1")
    assert state.fighters["ayla"].hp == 30
    targets = {e.target for e in decision.events if type(e).__name__ == "ActionTaken" and e.target}
    assert "ayla" not in targets


def test_with_every_character_out_of_the_initiative_the_fight_pauses_instead_of_playing_itself():
    state = encounter("ayla", npcs=2)
    state, decision = when(COMBAT, state, RemoveCombatant(player_id="ayla"), T0 + 24 * HOUR, address="combat/c1.1")
    assert state.paused and state.current is None and not state.ended
    assert not [e for e in decision.events if isinstance(e, TurnStarted)]  # no creature turn at machine speed
    [report] = [t.command for t in decision.tells]
    assert report.paused


def test_a_character_left_dying_when_the_fight_ends_goes_on_with_recovery_checks():
    state = encounter("ayla", "bram", npcs=1)
    state, _ = when(COMBAT, state, Adjust(cid="ayla", damage=30), T0, GM, "combat/c1.1")
    assert state.fighters["ayla"].dying == 1 and not state.ended
    state, decision = when(COMBAT, state, StopEncounter(reason="gm"), T0 + 60, address="combat/c1.1")
    fighter = state.fighters["ayla"]
    assert fighter.dead or fighter.dying == 0  # stable (wounded) or dead: never dying for good
    assert [type(e).__name__ for e in decision.events].count("RecoveryRolled") >= 1


def test_adjust_on_a_finished_encounter_is_refused_like_act():
    state = encounter("ayla")
    state, _ = when(COMBAT, state, StopEncounter(reason="gm"), T0, address="combat/c1.1")
    for command in (Adjust(cid="gob0", damage=1), Act.model_validate({"round": 1, "turn": 1, "action": {
            "kind": "strike", "target": "gob0"}})):
        with pytest.raises(Rejected) as refused:
            when(COMBAT, state, command, T0 + 1, GM, "combat/c1.1")
        assert refused.value.code == "combat/ended"


# -- 3. a silent table ---------------------------------------------------------------------------

def test_a_silent_table_goes_dormant_after_three_days_and_a_returning_player_wakes_it_with_its_clocks_moved():
    state = table("ayla", "bram", "cora")
    state, _ = when(CAMPAIGN, state, SetDeadline(deadline_id="flood", in_hours=200, consequence="The river rises."),
                    T0, GM)
    state, fired = timers(state, T0 + 30 * DAY)
    assert state.dormant_since == T0 + 24 * HOUR + 3 * DAY  # everyone inactive at 24 h, then three days
    assert [p.reason for p in posts(fired, "dormant")] == ["dormant"]
    # the story moved once more while the players were still active (to the moment they went inactive), never after
    assert [p.at for p in posts(fired, "stalled")] == [T0 + 24 * HOUR]
    assert "flood" in state.deadlines  # held, not fired, while asleep
    status = gm_status(state, "c1", T0 + 30 * DAY)
    assert status["headline"].startswith("Dormant since") and not status["needs_attention"]
    assert status["dormant"]["since"] is not None and status["waiting_for"]["what"].startswith("a player's return")

    back = T0 + 30 * DAY
    state, decision = when(CAMPAIGN, state, PostAction(text="I'm back."), back, player("ayla"))
    [woke] = [e for e in decision.events if isinstance(e, DormancyChanged)]
    assert not woke.dormant and woke.slept_s == back - (T0 + 96 * HOUR)
    assert state.dormant_since is None and state.deadlines["flood"].due == T0 + 200 * HOUR + woke.slept_s


def test_with_a_player_active_and_the_gm_silent_the_story_still_advances_every_day():
    state = table("ayla")
    day = T0
    for _ in range(5):  # the player acts daily; the GM never answers
        day += 23 * HOUR
        state, _ = when(CAMPAIGN, state, PostAction(text="We press on."), day, player("ayla"))
        state, _ = timers(state, day)
    state, fired = timers(state, day + 2 * HOUR)
    narrations = sorted(p.at for p in state.posts if p.kind == "narration")
    gaps = [b - a for a, b in zip(narrations, narrations[1:])]
    assert max(gaps) <= 24 * HOUR + 1 * HOUR  # the stall rule (its grace hour included)
    assert state.unanswered  # the server's posts never answered the players for the GM


# -- 4. the GM status is consistent --------------------------------------------------------------

def test_the_status_never_asks_for_a_deadline_while_one_is_set():
    state = table("ayla")
    state, _ = when(CAMPAIGN, state, SetDeadline(deadline_id="d1", in_hours=48, consequence="The bridge falls."),
                    T0, GM)
    status = gm_status(state, "c1", T0 + 60)
    assert "set a story deadline" not in " ".join(t["task"] for t in status["gm_tasks"]).lower()
    assert "set a story deadline" not in status["what_to_do_next"]["narrative_suggestion"].lower()
    assert "d1" in status["headline"]


def test_a_server_post_never_answers_the_players_for_the_gm_and_the_countdown_stays():
    state = table("ayla", "bram")
    state, _ = when(CAMPAIGN, state, PostAction(text="I climb the rail."), T0 + HOUR, player("ayla"))
    state, _ = when(CAMPAIGN, state, PostAction(text="I hold the rope."), T0 + 2 * HOUR, player("bram"))
    state, fired = timers(state, T0 + 26 * HOUR)  # the stall rule posts at 24 h
    assert posts(fired, "stalled")
    status = gm_status(state, "c1", T0 + 26 * HOUR)
    assert any(t["task"].startswith("Answer 2 player action(s)") for t in status["gm_tasks"])
    assert status["waiting_for"]["who"] == "gm"
    state, _ = when(CAMPAIGN, state, PostAction(text="Again."), T0 + 27 * HOUR, player("ayla"))
    assert gm_status(state, "c1", T0 + 27 * HOUR)["stall"]["auto_advance_at"] is not None
    state, _ = when(CAMPAIGN, state, PostNarration(text="The rope holds."), T0 + 28 * HOUR, GM)
    status = gm_status(state, "c1", T0 + 28 * HOUR)
    assert not any(t["task"].startswith("Answer") for t in status["gm_tasks"])


def test_the_narrative_suggestion_names_no_place_of_its_own():
    state = table("ayla")
    state, _ = when(CAMPAIGN, state, SetDeadline(deadline_id="d1", in_hours=1, consequence="The bridge falls."),
                    T0, GM)
    suggestion = gm_status(state, "c1", T0 + 60)["what_to_do_next"]["narrative_suggestion"]
    assert "torch" not in suggestion.lower() and "The bridge falls." in suggestion


def test_the_campaign_feed_gets_the_encounters_summary_when_it_ends():
    state = encounter("ayla", npcs=1)
    state, decision = when(COMBAT, state, StopEncounter(reason="gm"), T0 + 60, address="combat/c1.1")
    [report] = [t.command for t in decision.tells]
    assert report.ended and report.summary and "the GM ended it" in report.summary
    campaign = table("ayla").model_copy(update={"mode": "encounter", "encounters": 1, "encounter": EncounterView(
        n=1, address="combat/c1.1", started_at=T0)})
    campaign, _ = when(CAMPAIGN, campaign, report, T0 + 60)
    [summary] = [p for p in campaign.posts if p.reason == "encounter_summary"]
    assert summary.kind == "notice" and summary.text == report.summary and campaign.encounter is None


# -- the campaign's refusals, as a table: given a table, when a command by someone, then this code ---------------

REFUSALS = [
    (CreateCampaign(title="Again"), GM, "campaign/exists"),
    (PostNarration(text="I narrate"), player("ayla"), "campaign/gm_only"),
    (PostAction(text="x", player_id="bram"), player("ayla"), "campaign/not_your_character"),
    (PostAction(text="x"), GM, "campaign/player_required"),
    (PostAction(text="x", player_id="zed"), GM, "campaign/not_a_player"),
    (JoinCampaign(character=hero("Ayla")), player("ayla"), "campaign/already_joined"),
    (MarkFollowing(player_id="zed"), GM, "campaign/not_a_player"),
    (SetMode(mode="downtime"), player("ayla"), "campaign/gm_only"),
    (StartScene(title="Night"), player("ayla"), "campaign/gm_only"),
    (EndEncounter(), GM, "campaign/no_encounter"),
    (StartEncounter(players=()), GM, "campaign/empty_encounter"),
    (ClearDeadline(deadline_id="none"), GM, "campaign/no_such_deadline"),
    (SetDeadline(deadline_id="d", due=datetime.fromtimestamp(T0 - 1, tz=timezone.utc), consequence="x"), GM,
     "campaign/deadline_in_past"),
    (ScheduleOrder(order_id="o", due=datetime.fromtimestamp(T0 - 1, tz=timezone.utc), text="x"), GM,
     "campaign/order_in_past"),
    (CancelOrder(order_id="none"), GM, "campaign/no_such_order"),
    (RollDice(expression="d20", player_id="zed"), GM, "campaign/not_a_player"),
]


@pytest.mark.parametrize("command, by, code", REFUSALS, ids=[f"{type(c).__name__}-{code}" for c, _, code in REFUSALS])
def test_the_campaign_refuses_with_a_code_and_changes_nothing(command, by, code):
    state = table("ayla")
    with pytest.raises(Rejected) as refused:
        CAMPAIGN.decide(state, command, ctx("campaign/c1", T0 + 60, by))
    assert refused.value.code == code


def test_a_command_before_the_campaign_exists_is_refused():
    with pytest.raises(Rejected) as refused:
        CAMPAIGN.decide(CAMPAIGN.initial("campaign/c1"), PostAction(text="x"), ctx("campaign/c1", T0, player("ayla")))
    assert refused.value.code == "campaign/not_created"


def test_a_gm_narration_answers_every_waiting_action_and_says_which():
    state = table("ayla", "bram")
    state, _ = when(CAMPAIGN, state, PostAction(text="I climb."), T0 + 1, player("ayla"))
    state, _ = when(CAMPAIGN, state, PostAction(text="I wait."), T0 + 2, player("bram"))
    state, decision = when(CAMPAIGN, state, PostNarration(text="The rope holds."), T0 + 3, GM)
    [posted] = [e.post for e in decision.events if type(e).__name__ == "Posted"]
    assert posted.responds_to == (2, 3) and state.unanswered == () and state.awaiting_narration_since is None
