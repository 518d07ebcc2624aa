"""What a VTT's events plan for the encounter, and what the campaign's events send the VTT (issue 24): given a
state, when an event comes, then these commands; no runtime."""
from __future__ import annotations

import pytest

from actors.campaign.messages import EncounterClosed, EncounterUpdated, Posted, PostNarrated
from actors.campaign.state import Campaign, Character, EncounterView, Player, Post, Saves, TurnMeta
from actors.combat.messages import Adjust, ConditionChanged, Damaged, EndTurn, Healed, Moved
from actors.combat.state import Combatant, Encounter, Fighter
from server.bridge.events import Ignored, Unmapped, plan
from server.bridge.outbox import commands_of, encounter_commands

GOB = "gobAAAAAAAAAAAAA"


def fight(round_: int, current: str, had: tuple[str, ...]) -> Encounter:
    combatants = {"ayla": Combatant(cid="ayla", name="Ayla", initiative=20, player_id="ayla"),
                  GOB: Combatant(cid=GOB, name="Goblin", initiative=10)}
    return Encounter(begun=True, n=1, combatants=combatants, round=round_, turn=len(had), current=current,
                     had_turn=had, fighters={"ayla": Fighter(hp=18, zone="melee", conditions={"frightened": 1})})


@pytest.mark.parametrize("given, target, then", [
    (fight(1, "ayla", ("ayla",)), (1, GOB), [(1, 1)]),          # end ayla's turn, then look again
    (fight(1, GOB, ("ayla", GOB)), (1, GOB), []),                # already there
    (fight(1, GOB, ("ayla", GOB)), (1, "ayla"), []),             # ayla's turn this round is past
    (fight(2, "ayla", ("ayla",)), (1, GOB), []),                 # a turn of an earlier round: past
    (fight(1, GOB, ("ayla", GOB)), (2, "ayla"), [(1, 2)]),       # into the next round
])
def test_a_vtt_turn_ends_the_encounters_turns_until_it_is_there_never_backwards(given, target, then):
    steps = plan("combat_turn", {"round": target[0], "combatant": target[1]}, None, given)
    assert [(s.command.round, s.command.turn) for s in steps] == then
    assert all(isinstance(s.command, EndTurn) and s.again and s.key == f"r{s.command.round}t{s.command.turn}"
               for s in steps)


@pytest.mark.parametrize("data, then", [
    ({"combatant": "ayla", "hp": 12}, {"damage": 6}),
    ({"combatant": "ayla", "hp": 20}, {"heal": 2}),
    ({"combatant": "ayla", "hp": 18, "conditions": {"frightened": 1, "prone": 1}}, {"conditions": {"prone": 1}}),
    ({"combatant": "ayla", "conditions": {"frightened": 0}}, {"conditions": {"frightened": 0}}),
    ({"combatant": "ayla", "hp": 18, "conditions": {"frightened": 1}}, None),
])
def test_an_actors_hp_and_conditions_apply_as_what_differs(data, then):
    steps = plan("actor", data, None, fight(1, "ayla", ("ayla",)))
    if then is None:
        assert steps == []
    else:
        assert steps[0].command == Adjust(cid="ayla", **then) and steps[0].as_gm


def test_what_cannot_apply_says_why():
    with pytest.raises(Ignored):
        plan("actor", {"combatant": GOB, "hp": 3}, None, fight(1, "ayla", ("ayla",)))  # no stats: the VTT's HP
    with pytest.raises(Unmapped, match="no encounter"):
        plan("combat_turn", {"round": 1, "combatant": "ayla"}, None, None)
    with pytest.raises(Unmapped) as refused:
        plan("combat_start", {"combatants": []}, Campaign(), None)
    assert refused.value.code == "command/invalid"


def hero(name: str) -> Character:
    return Character(name=name, level=1, max_hp=18, hp=18, ac=17, saves=Saves(fortitude=7, reflex=5, will=4),
                     perception=4)


def campaign(view: EncounterView | None = None) -> Campaign:
    return Campaign(created=True, players={"ayla": Player(player_id="ayla", character=hero("Ayla"), joined_at=0.0)},
                    encounter=view)


def post(n: int, text: str, via: str | None = None, **more) -> Posted:
    return Posted(post=Post(n=n, kind=more.pop("kind", "narration"), author=more.pop("author", "gm"), text=text,
                            at=0.0, via=via, **more))


VIEW = EncounterView(n=1, address="combat/c1.1", started_at=0.0)


@pytest.mark.parametrize("event, before, then", [
    (post(3, "The torch gutters.", speaker="Warden"), campaign(),
     [("create_chat_message", {"content": "The torch gutters.", "speaker": "Warden", "post": 3})]),
    (post(4, "I light a torch.", via="bridge:w", kind="action", author="ayla"), campaign(), []),  # its own
    (post(5, "psst", kind="whisper", author="ayla", to=("gm",)), campaign(),
     [("create_chat_message", {"content": "psst", "speaker": "Ayla", "post": 5, "whisper_to": ["gm"],
                               "player_id": "ayla"})]),
    (EncounterUpdated(encounter=VIEW.model_copy(update={"round": 1, "current": "ayla"})), campaign(VIEW),
     [("start_combat", {"encounter": 1, "round": 1, "combatant": "ayla", "combatants": []})]),
    (EncounterUpdated(encounter=VIEW.model_copy(update={"round": 1, "current": GOB})),
     campaign(VIEW.model_copy(update={"round": 1, "current": "ayla"})),
     [("advance_turn", {"encounter": 1, "round": 1, "combatant": GOB, "from": {"round": 1, "combatant": "ayla"}})]),
    (EncounterUpdated(encounter=VIEW.model_copy(update={"round": 1, "current": "ayla", "turn_due": 9.0})),
     campaign(VIEW.model_copy(update={"round": 1, "current": "ayla"})), []),  # the same turn: nothing moved
    (EncounterClosed(n=1, reason="gm", at=0.0), campaign(VIEW), [("end_combat", {"encounter": 1})]),
    (post(6, "The fog…", pending=True), campaign(), []),  # the narrator is writing it: its words come later
    (PostNarrated(n=6, text="The fog lifts from the marsh.", meta=TurnMeta()),
     campaign().model_copy(update={"posts": (post(6, "The fog…", pending=True).post,)}),
     [("create_chat_message", {"content": "The fog lifts from the marsh.", "speaker": "GM", "post": 6})]),
])
def test_the_campaigns_own_events_become_the_worlds_commands_once_each(event, before, then):
    made = commands_of("w", 41, event, before)
    assert [(kind, data) for kind, data, _ in made] == then
    assert [command_id for _, _, command_id in made] == [f"c41-{k}" for k in range(len(then))]
    if isinstance(event, Posted) and event.post.via:
        assert commands_of("another-world", 41, event, before)  # another world of the campaign still hears it


@pytest.mark.parametrize("event, then", [
    (Damaged(cid="ayla", amount=6, critical=False, hp=12, dying=0, dead=False),
     [("apply_damage", {"target": "ayla", "amount": 6, "hp": 12})]),
    (Healed(cid=GOB, amount=3, hp=9, wounded=0), [("apply_healing", {"target": GOB, "amount": 3, "hp": 9})]),
    (ConditionChanged(cid="ayla", name="off_guard", value=1),
     [("apply_condition", {"target": "ayla", "condition": "off-guard", "value": 1})]),
    (ConditionChanged(cid="ayla", name="frightened", value=0),
     [("remove_condition", {"target": "ayla", "condition": "frightened"})]),
    (Moved(cid="ayla", zone="balcony"), []),  # zones are Everturn's theatre of the mind, not the VTT's grid
])
def test_the_encounters_hp_and_conditions_go_to_the_world_as_they_stand_after(event, then):
    made = encounter_commands(2, 17, event)
    assert [(kind, data) for kind, data, _ in made] == then
    assert [command_id for _, _, command_id in made] == [f"e2.17-{k}" for k in range(len(then))]
