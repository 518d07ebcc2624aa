"""The combat log as a player reads it: events in, lines out; no runtime, no storage.

A fight is folded through the encounter's own ``decide`` and ``evolve`` with the GM's dice;
single events are built by hand where the fight would need many turns to reach them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from actors.combat.behavior import CombatKind
from actors.combat.log import damage_dealt, describe, ending_text, lines, summary
from actors.combat.messages import (
    Act, ActionTaken, Attack, BeginEncounter, CombatantRemoved, ConditionChanged, Damaged, Delayed, EncounterEnded,
    EndTurn, Fled, Healed, PersistentDamageRolled, RecoveryRolled, SkipTurn, StopEncounter, TurnEnded, TurnStarted,
)
from actors.combat.state import Combatant, Encounter, Stats, StrikeStat
from actors.messages import Context, Event

KIND = CombatKind()
EVOLVE = KIND.evolve
GM = {"role": "gm", "campaign": "c1"}


def stats(hp: int, ac: int, strike: StrikeStat) -> Stats:
    return Stats(level=1, max_hp=hp, ac=ac, fortitude=5, reflex=5, will=3, perception=5, strikes=(strike,),
                 skills={"intimidation": 6})


AYLA = Combatant(cid="ayla", name="Ayla", initiative=20, player_id="ayla",
                 stats=stats(30, 18, StrikeStat(name="longsword", attack=9, damage="1d8+4", damage_type="slashing")))
BRAM = Combatant(cid="bram", name="Bram", initiative=1, player_id="bram", hp=6,
                 stats=stats(30, 16, StrikeStat(name="mace", attack=7, damage="1d6+3")))
GOBLIN = Combatant(cid="gob", name="Goblin", initiative=10, agent=True,
                   stats=stats(20, 16, StrikeStat(name="scimitar", attack=7, damage="1d6+2", damage_type="slashing")))


class Table:
    """An encounter folded command by command, its journal kept."""

    def __init__(self, *combatants: Combatant, max_rounds: int = 10) -> None:
        self.state, self.journal = Encounter(), []
        self.send(BeginEncounter(campaign="c1", n=1, combatants=combatants, turn_idle_s=14400, max_rounds=max_rounds))

    def send(self, command) -> list[Event]:
        ctx = Context("combat/c1.1", len(self.journal), datetime(2026, 1, 1, tzinfo=timezone.utc), GM)
        events = KIND.decide(self.state, command, ctx).events
        self.journal += events
        self.state = KIND.replay(self.state, events)
        return events

    def act(self, action: dict, dice: tuple[int, ...]) -> list[Event]:
        return self.send(Act.model_validate({"round": self.state.round, "turn": self.state.turn, "action": action,
                                             "dice": dice}))

    def end_turn(self) -> list[Event]:
        return self.send(EndTurn(round=self.state.round, turn=self.state.turn))


def until_over(log: list[str]) -> list[str]:
    """The lines up to the end of the fight (what follows it, a dying character's checks, is the rules' own)."""
    return log[:next(i for i, line in enumerate(log) if line.startswith("Encounter over")) + 1]


def test_a_short_fight_reads_as_a_story_with_every_roll():
    table = Table(AYLA, BRAM, GOBLIN)
    table.act({"kind": "strike", "target": "gob"}, (14, 5))       # 14 + 9 = 23 vs 16: hit, 5 + 4
    table.act({"kind": "strike", "target": "gob"}, (3,))          # 3 + 9 - 5 = 7: a miss, no damage die
    table.end_turn()
    table.act({"kind": "strike", "target": "bram"}, (20, 6))      # a natural 20: (6 + 2) x 2 = 16, Bram has 6
    table.end_turn()                                              # Bram's turn: a recovery check, then Ayla's
    table.act({"kind": "strike", "target": "gob"}, (19, 8))       # (8 + 4) x 2 = 24: the goblin dies
    recovery = next(e for e in table.journal if isinstance(e, RecoveryRolled))

    assert until_over(lines(Encounter(), table.journal, EVOLVE)) == [
        "Encounter 1 begins. Initiative: Ayla 20, Goblin 10, Bram 1",
        "Round 1 — Ayla's turn",
        "Ayla strikes Goblin with longsword (d20 14 +9 = 23 vs AC 16): hit, 9 slashing damage (rolled 5).",
        "Goblin is down to 11/20 HP.",
        "Ayla strikes Goblin with longsword (d20 3 +4 = 7 vs AC 16, MAP -5): miss.",
        "Round 1 — Goblin's turn",
        "Goblin strikes Bram with scimitar (d20 20 +7 = 27 vs AC 16): critical hit, 16 slashing damage "
        "(rolled 6, doubled).",
        "Bram falls unconscious: dying 2.",
        "Round 1 — Bram's turn",
        f"Bram rolls a recovery check: {recovery.roll} vs DC 12, {recovery.degree.replace('_', ' ')} — "
        + ("dies." if recovery.dead else f"dying {recovery.dying}." if recovery.dying
           else f"stable at 0 HP, wounded {recovery.wounded}."),
        "Round 2 — Ayla's turn",
        "Ayla strikes Goblin with longsword (d20 19 +9 = 28 vs AC 16): critical hit, 24 slashing damage "
        "(rolled 8, doubled).",
        "Goblin dies.",
        "Encounter over after 2 rounds: victory (every foe is down or fled).",
    ]
    assert damage_dealt(table.journal) == {"ayla": 33, "gob": 16}
    text = summary(table.state, table.journal)
    assert text.startswith("Encounter 1 is over after 2 rounds: victory (every foe is down or fled). ")
    assert "Goblin died" in text and "Bram " in text and text.endswith("Damage dealt: Ayla 33, Goblin 16.")


def test_the_log_can_start_from_any_state_and_goes_on_with_the_fight():
    table = Table(AYLA, BRAM, GOBLIN)
    middle = table.state
    events = table.act({"kind": "demoralize", "target": "gob"}, (15,))   # 15 + 6 = 21 vs Will DC 13: success
    assert lines(middle, events, EVOLVE) == ["Ayla tries to demoralize Goblin (d20 15 +6 = 21 vs Will DC 13): success.",
                                     "Goblin is frightened 1."]
    assert [describe(table.state, e) for e in table.act({"kind": "stride", "zone": "balcony"}, ())] == [
        None, "Ayla moves to balcony."]                                   # the action's cost needs no line


def test_the_gm_ending_the_fight_and_a_skipped_turn_say_so():
    table = Table(AYLA, GOBLIN, max_rounds=3)
    table.end_turn()
    assert lines(table.state, table.send(SkipTurn(round=1, turn=2)), EVOLVE)[0] == "The GM skips Goblin's turn."
    ended = table.send(StopEncounter(reason="gm"))
    assert lines(table.state, ended, EVOLVE)[0] == "Encounter over after 2 rounds: the GM ended it."
    assert summary(table.state, table.journal).startswith("Encounter 1 is over after 2 rounds: the GM ended it.")


def test_the_rounds_running_out_end_it_in_so_many_words():
    table = Table(AYLA, GOBLIN, max_rounds=1)
    table.end_turn()
    table.end_turn()
    assert table.state.ended
    assert lines(Encounter(), table.journal, EVOLVE)[-1] == "Encounter over after 1 round: 1 round passed."
    assert summary(table.state).startswith("Encounter 1 is over after 1 round: 1 round passed.")  # from the state


@pytest.mark.parametrize("event, line", [
    (Damaged(cid="bram", amount=3, critical=False, hp=0, dying=2, dead=False), "Bram falls unconscious: dying 2."),
    (Damaged(cid="gob", amount=30, critical=False, hp=0, dying=0, dead=True), "Goblin dies."),
    (Healed(cid="ayla", amount=8, hp=30, wounded=0), "Ayla is healed 8 HP (30/30 HP)."),
    (ConditionChanged(cid="ayla", name="off_guard", value=1), "Ayla is off-guard."),
    (ConditionChanged(cid="ayla", name="frightened", value=0), "Ayla is no longer frightened."),
    (RecoveryRolled(cid="bram", roll=13, dc=11, degree="success", dying=0, wounded=1, dead=False, dice_used=3),
     "Bram rolls a recovery check: 13 vs DC 11, success — stable at 0 HP, wounded 1."),
    (PersistentDamageRolled(cid="ayla", damage_type="fire", damage_dice=(4,), amount=4, flat=16, ended=True,
                            dice_used=5),
     "Ayla takes 4 persistent fire damage (rolled 4); flat check 16 vs DC 15: it ends."),
    (Fled(cid="gob"), "Goblin flees the fight."),
    (Delayed(cid="ayla", actions=3, round=1), "Ayla delays, keeping 3 action(s)."),
    (CombatantRemoved(cid="bram"), "Bram leaves the initiative (their player went quiet)."),
    (TurnStarted(round=3, turn=1, cid="ayla", at=0.0), "Round 3 — Ayla's turn"),
    (TurnEnded(round=1, turn=1, cid="bram", how="auto_skipped", at=0.0), "Bram's turn passes: nobody acted in time."),
    (TurnEnded(round=1, turn=1, cid="ayla", how="ended", at=0.0, action="I bar the door"),
     "Ayla: “I bar the door”"),
    (TurnEnded(round=1, turn=1, cid="ayla", how="ended", at=0.0), None),
    (ActionTaken(cid="ayla", kind="escape", cost=1, dice_used=1, attack=Attack(
        d20=8, modifier=7, total=15, dc=15, degree="success")),
     "Ayla tries to escape (d20 8 +7 = 15 vs DC 15): success."),
    (ActionTaken(cid="ayla", kind="activity", cost=2, name="Cast a Spell", text="a burst of light", dice_used=0),
     "Ayla — Cast a Spell (2 actions): a burst of light"),
    (EncounterEnded(reason="defeat", at=0.0),
     "Encounter over after 1 round: the party has fallen (no character could fight on)."),
])
def test_each_event_reads_as_one_line(event, line):
    state = Table(AYLA, BRAM, GOBLIN).state
    assert describe(state, event) == line


def test_what_the_log_does_not_know_gives_no_line_and_never_raises():
    class Paused(Event):   # an event a newer encounter might journal
        why: str = "nobody left"

    state = Table(AYLA, GOBLIN).state
    assert describe(state, Paused()) is None and describe(Encounter(), Paused()) is None
    assert describe(Encounter(), Damaged(cid="zed", amount=1, critical=False, hp=2, dying=0, dead=False)) == (
        "zed is down to 2 HP.")                          # a combatant it has never seen: its cid, no crash
    assert lines(state, [Paused(), Fled(cid="nobody"), Fled(cid="gob")], EVOLVE) == [
        "nobody flees the fight.", "Goblin flees the fight."]


@pytest.mark.parametrize("reason, rounds, text", [
    ("victory", None, "victory"), ("defeat", None, "the party has fallen"), ("max_rounds", 10, "10 rounds passed"),
    ("gm", None, "the GM ended it"), ("failed: ZeroDivisionError", None, "it broke off: ZeroDivisionError"),
    ("nobody_left", None, "nobody was left to fight"), ("all_fled", None, "all fled"), (None, None, "it ended"),
])
def test_why_an_encounter_ended_in_words(reason, rounds, text):
    assert ending_text(reason, rounds) == text
