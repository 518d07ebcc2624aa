"""The encounter under the rules: actions and their costs, the multiple attack penalty, degrees,
damage, conditions that tick, dying and recovery; dice submitted by a GM or read from the
encounter's seeded stream.  Expected numbers are worked out from the rules by hand."""
from __future__ import annotations

import pytest
import trio

from actors import Forbidden, Rejected
from actors.campaign.messages import JoinCampaign, Npc, StartEncounter
from actors.campaign.state import Character, Saves
from actors.combat.messages import Act, Adjust, Control, EndTurn, React, Resume
from actors.combat.state import Stats, StrikeStat
from actors.dice import seed_of
from engine_ext.dice import roll

from ..campaigns import GM, player, started

GOBLIN = Stats(level=1, max_hp=40, ac=16, fortitude=5, reflex=7, will=3, perception=5,
               strikes=(StrikeStat(name="scimitar", attack=7, damage="1d6+2"),), skills={"intimidation": 4})


def hero(hp: int = 30, conditions: tuple[str, ...] = ()) -> Character:
    return Character(name="Ayla", level=3, max_hp=30, hp=hp, ac=18, saves=Saves(fortitude=9, reflex=8, will=7),
                     perception=9, skills={"intimidation": 8},
                     strikes=(StrikeStat(name="longsword", attack=9, damage="1d8+4"),
                              StrikeStat(name="dagger", attack=9, damage="1d4+4", agile=True)),
                     conditions=conditions)


async def fight(rt, character: Character, goblin: Stats = GOBLIN, ayla_first: bool = True, agent: bool = True,
                **npc) -> None:
    """Ayla (as given) and Bram (last in the order) against a goblin the GM runs (``agent``) or the tactics do."""
    await started(rt, names=("bram",))
    await rt.ask("campaign/c1", JoinCampaign(character=character), by=player("ayla"))
    initiative = {"ayla": 20 if ayla_first else 1, "bram": 0}
    await rt.ask("campaign/c1", StartEncounter(npcs=(Npc(name="Goblin", initiative=10, cid="gob", stats=goblin,
                                                         agent=agent, **npc),), initiative=initiative), by=GM)
    await trio.sleep(0.001)


def enc(rt):
    return rt.state_of("combat/c1.1")[0]


def act(action: dict, dice: tuple[int, ...] | None = None, round_: int = 1, turn: int = 1) -> Act:
    return Act.model_validate({"round": round_, "turn": turn, "action": action, "dice": dice})


async def test_strikes_take_actions_the_penalty_grows_and_a_fourth_action_is_refused(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    assert enc(rt).current == "ayla" and enc(rt).fighters["ayla"].actions == 3
    # +9 with a natural 10 against AC 16: 19, a success; 1d8 shows 5: 5 + 4 = 9 damage
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, (10, 5)), by=GM)
    attack = journal_attacks(rt)[-1]
    assert (attack.total, attack.dc, attack.degree, attack.map, attack.damage) == (19, 16, "success", 0, 9)
    assert enc(rt).fighters["gob"].hp == 31
    # second attack: -5; 10 + 9 - 5 = 14 < 16, a failure (no damage dice read)
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, (10,)), by=GM)
    attack = journal_attacks(rt)[-1]
    assert (attack.total, attack.degree, attack.map, attack.damage_dice) == (14, "failure", -5, ())
    # third, with the agile dagger: -8; a natural 20 (21 >= 16, a success) becomes a critical: (3 + 4) x 2
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob", "strike": "dagger"}, (20, 3)), by=GM)
    attack = journal_attacks(rt)[-1]
    assert (attack.total, attack.degree, attack.map, attack.damage) == (21, "critical_success", -8, 14)
    assert enc(rt).fighters["gob"].hp == 17 and enc(rt).fighters["ayla"].actions == 0

    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", act({"kind": "stride", "zone": "balcony"}), by=GM)
    assert info.value.code == "combat/no_actions" and info.value.details == {"actions": 0, "cost": 1}


async def test_dice_are_checked_and_only_trusted_callers_bring_their_own(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    before = enc(rt)
    for dice, by, code in [((10, 5), player("ayla"), "combat/dice_not_trusted"),
                           ((21, 5), GM, "combat/bad_dice"),        # no d20 shows 21
                           ((10,), GM, "combat/bad_dice"),          # a hit reads the damage die too
                           ((10, 5, 5), GM, "combat/bad_dice")]:    # one too many
        with pytest.raises((Rejected, Forbidden)) as info:
            await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, dice), by=by)
        assert info.value.code == code
    assert enc(rt) == before                                              # nothing changed
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob", "strike": "axe"}), by=GM)
    assert info.value.code == "combat/no_such_strike"

    # the player's own strike reads the encounter's seeded stream: the journal shows the faces
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}), by=player("ayla"))
    attack = journal_attacks(rt)[-1]
    assert attack.d20 == roll(seed_of("combat/c1.1"), 0, 1, 20)[0]
    assert enc(rt).dice_used == 1 + len(attack.damage_dice)


async def test_zones_reach_and_guard(game, autojump_clock):
    rt = game
    await fight(rt, hero(), zone="balcony")
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, (10, 5)), by=GM)
    assert info.value.code == "combat/out_of_reach"
    await rt.ask("combat/c1.1", act({"kind": "stride", "zone": "balcony"}), by=GM)
    await rt.ask("combat/c1.1", act({"kind": "raise_shield"}), by=GM)
    await rt.ask("combat/c1.1", act({"kind": "take_cover"}), by=GM)
    ayla = enc(rt).fighters["ayla"]
    assert (ayla.zone, ayla.shield_raised, ayla.cover, ayla.actions) == ("balcony", True, True, 0)
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=GM)
    # the goblin: 10 + 7 = 17 against AC 18 + 2 (shield and cover are both circumstance: only +2) = 20
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "ayla"}, (10,), turn=2), by=GM)
    assert journal_attacks(rt)[-1].dc == 20


async def test_frightened_penalises_and_ticks_down_slowed_costs_an_action(game, autojump_clock):
    rt = game
    await fight(rt, hero(conditions=("frightened 2", "slowed 1", "hungry")))
    ayla = enc(rt).fighters["ayla"]
    assert ayla.actions == 2 and ayla.conditions == {"frightened": 2, "slowed": 1}   # "hungry" is story only
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, (10, 5)), by=GM)
    attack = journal_attacks(rt)[-1]
    assert (attack.modifier, attack.total, attack.degree) == (7, 17, "success")    # +9, frightened 2: -2 status
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=GM)
    assert enc(rt).fighters["ayla"].conditions == {"frightened": 1, "slowed": 1}   # -1 at the end of her turn


async def test_demoralize_frightens_once_per_target(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    # Intimidation +8 with a 12: 20 against the goblin's Will DC 10 + 3 = 13: a success, beaten by 7: frightened 1
    await rt.ask("combat/c1.1", act({"kind": "demoralize", "target": "gob"}, (12,)), by=GM)
    assert enc(rt).fighters["gob"].conditions == {"frightened": 1}
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", act({"kind": "demoralize", "target": "gob"}, (12,)), by=GM)
    assert info.value.code == "combat/immune"


async def test_dying_recovery_and_death(game, autojump_clock):
    rt = game
    await fight(rt, hero(hp=6), ayla_first=False)
    assert enc(rt).current == "gob"
    # the goblin crits (natural 20): (4 + 2) x 2 = 12 >= 6 HP: ayla at 0, dying 2 (a critical)
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "ayla"}, (20, 4)), by=GM)
    ayla = enc(rt).fighters["ayla"]
    assert (ayla.hp, ayla.dying, ayla.dead, ayla.conditions.get("unconscious")) == (0, 2, False, 1)
    used = enc(rt).dice_used
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=GM)
    # her turn: a recovery check, a flat d20 against 10 + 2 from the stream; she cannot act, so her turn ends
    face = roll(seed_of("combat/c1.1"), used, 1, 20)[0]
    expected = 0 if face == 20 else 1 if face >= 12 else 3 if face > 2 else 4
    state = enc(rt)
    ayla = state.fighters["ayla"]
    assert (ayla.dying, ayla.dead, ayla.wounded) == (expected, expected >= 4, 1 if expected == 0 else 0)
    assert (state.current, state.turn) == ("bram", 3)                     # her turn passed by itself
    recovery = [e for e in events(rt) if type(e).__name__ == "RecoveryRolled"]
    assert [(r.roll, r.dc) for r in recovery] == [(face, 12)]


async def test_a_creature_dies_at_zero_and_the_last_one_down_is_a_victory(game, autojump_clock):
    rt = game
    await fight(rt, hero(), hp=5)
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, (10, 1)), by=GM)   # 1 + 4 = 5
    state = enc(rt)
    assert state.fighters["gob"].dead and state.ended
    assert [type(e).__name__ for e in events(rt)][-1] == "EncounterEnded"
    await trio.sleep(0.001)
    campaign = rt.state_of("campaign/c1")[0]
    assert campaign.encounter is None and campaign.mode == "exploration"  # the campaign closed it
    # a level 1 goblin against a level 3 party (Ayla 3, Bram 3): 20 XP each
    assert campaign.xp == 20 and campaign.posts[-1].text == "The fight is won. Each character earns 20 XP."


async def test_the_fight_leaves_its_marks_on_the_character_sheets(game, autojump_clock):
    rt = game
    await fight(rt, hero(conditions=("hungry", "frightened 1")), hp=5)
    await rt.ask("combat/c1.1", Adjust(cid="ayla", damage=7, conditions={"off_guard": 1, "frightened": 2}), by=GM)
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, (10, 1)), by=GM)   # the goblin falls
    await trio.sleep(0.001)
    sheet = rt.state_of("campaign/c1")[0].players["ayla"].character
    assert (sheet.hp, sheet.conditions) == (23, ("hungry", "frightened 2", "off-guard"))


async def test_replay_gives_the_same_fight(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}), by=player("ayla"))
    await rt.ask("combat/c1.1", act({"kind": "stride", "zone": "door"}), by=player("ayla"))
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=player("ayla"))
    before = enc(rt)
    await rt.restart("combat/c1.1")
    assert enc(rt) == before


def events(rt):
    from actors.combat.behavior import CombatKind
    behavior = CombatKind()
    return [behavior.load_event(stored) for _, stored in rt.store.read_journal("combat/c1.1")]


def journal_attacks(rt):
    from actors.combat.behavior import CombatKind
    behavior = CombatKind()
    return [event.attack for _, stored in rt.store.read_journal("combat/c1.1")
            for event in [behavior.load_event(stored)] if getattr(event, "attack", None) is not None]


async def test_the_tactics_play_a_creatures_turn_against_the_weakest_in_reach(game, autojump_clock):
    rt = game
    await fight(rt, hero(hp=25), agent=False, zone="balcony")              # Ayla 25 HP, Bram 40: Ayla is weakest
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=player("ayla"))
    state = enc(rt)
    assert (state.current, state.turn) == ("bram", 3)                     # the goblin's turn went by itself
    mine = [e for e in events(rt) if getattr(e, "cid", None) == "gob" and type(e).__name__ == "ActionTaken"]
    assert [(e.kind, e.target) for e in mine] == [("stride", None), ("strike", "ayla"), ("strike", "ayla")]
    assert [e.attack.map for e in mine[1:]] == [0, -5]                    # striding took the first action
    ended = [e for e in events(rt) if type(e).__name__ == "TurnEnded" and e.cid == "gob"]
    assert ended[0].how == "tactics" and state.fighters["gob"].zone == "melee"


async def test_a_cowardly_creature_flees_and_the_fight_is_won(game, autojump_clock):
    rt = game
    coward = GOBLIN.model_copy(update={"tactics": "cowardly"})
    await fight(rt, hero(), goblin=coward, agent=False, hp=10)            # 10 of 40 HP: a quarter
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=player("ayla"))
    state = enc(rt)
    assert state.fighters["gob"].fled and state.ended
    assert "Fled" in [type(e).__name__ for e in events(rt)]


async def test_an_agent_takes_a_creature_over_and_hands_it_back(game, autojump_clock):
    rt = game
    await fight(rt, hero(), agent=False)
    await rt.ask("combat/c1.1", Control(cid="gob", agent=True), by=GM)
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=player("ayla"))
    assert enc(rt).current == "gob"                                        # it waits for its agent now
    with pytest.raises(Forbidden):
        await rt.ask("combat/c1.1", Control(cid="gob", agent=False), by=player("ayla"))
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", Control(cid="ayla", agent=True), by=GM)
    assert info.value.code == "combat/not_a_creature"
    await rt.ask("combat/c1.1", Control(cid="gob", agent=False), by=GM)   # handed back on its turn: it plays
    assert enc(rt).current == "bram"


async def test_initiative_is_rolled_with_perception_or_a_named_skill(game, autojump_clock):
    rt = game
    await started(rt, names=("bram",))
    await rt.ask("campaign/c1", JoinCampaign(character=hero()), by=player("ayla"))
    for command, code in [
        (StartEncounter(npcs=(Npc(name="Ghost"),)), "campaign/initiative_required"),
        (StartEncounter(npcs=(Npc(name="Gob", stats=GOBLIN, initiative_skill="stealth"),)), "campaign/unknown_skill"),
        (StartEncounter(initiative_skills={"ayla": "stealth"}), "campaign/unknown_skill"),
    ]:
        with pytest.raises(Rejected) as info:
            await rt.ask("campaign/c1", command, by=GM)
        assert info.value.code == code
    await rt.ask("campaign/c1", StartEncounter(npcs=(Npc(name="Goblin", cid="gob", stats=GOBLIN),),
                                               initiative={"bram": 3}, initiative_skills={"ayla": "intimidation"}),
                 by=GM)
    await trio.sleep(0.001)
    state = enc(rt)
    begun = events(rt)[0]
    # rolled in roster order from the stream: Ayla (Intimidation +8), then the goblin (Perception +5)
    first, second = roll(seed_of("combat/c1.1"), 0, 2, 20)
    assert begun.initiative_rolls == {"ayla": first, "gob": second}
    assert (state.combatants["ayla"].initiative, state.combatants["gob"].initiative) == (first + 8, second + 5)
    assert state.combatants["bram"].initiative == 3 and state.dice_used >= 2



async def test_the_gm_adjusts_and_persistent_damage_ticks_with_its_flat_check(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    for adjust, code in [(Adjust(cid="ayla", conditions={"hexed": 1}), "combat/unknown_condition"),
                         (Adjust(cid="ayla", conditions={"off_guard": 2}), "combat/bad_condition_value"),
                         (Adjust(cid="ayla", persistent={"fire": "1dd6"}), "combat/bad_dice"),
                         (Adjust(cid="nobody", damage=1), "combat/no_such_combatant")]:
        with pytest.raises(Rejected) as info:
            await rt.ask("combat/c1.1", adjust, by=GM)
        assert info.value.code == code
    with pytest.raises(Forbidden):
        await rt.ask("combat/c1.1", Adjust(cid="ayla", heal=5), by=player("ayla"))

    await rt.ask("combat/c1.1", Adjust(cid="ayla", damage=10, conditions={"sickened": 1},
                                       persistent={"fire": "1d6"}), by=GM)
    ayla = enc(rt).fighters["ayla"]
    assert (ayla.hp, ayla.conditions, ayla.persistent) == (20, {"sickened": 1}, {"fire": "1d6"})
    used = enc(rt).dice_used
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=GM)
    # end of her turn: 1d6 fire from the stream, then a DC 15 flat check on the next die
    burn, flat = roll(seed_of("combat/c1.1"), used, 1, 6)[0], roll(seed_of("combat/c1.1"), used + 1, 1, 20)[0]
    ayla = enc(rt).fighters["ayla"]
    assert ayla.hp == 20 - burn and (ayla.persistent == {}) == (flat >= 15)

    await rt.ask("combat/c1.1", Adjust(cid="ayla", damage=100, critical=True), by=GM)
    assert enc(rt).fighters["ayla"].dying == 2
    await rt.ask("combat/c1.1", Adjust(cid="ayla", heal=8), by=GM)          # healed: no longer dying, wounded 1
    ayla = enc(rt).fighters["ayla"]
    assert (ayla.hp, ayla.dying, ayla.wounded, "unconscious" in ayla.conditions) == (8, 0, 1, False)


async def test_recover_escape_and_aid(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    for action, code in [({"kind": "recover", "damage_type": "fire"}, "combat/no_persistent_damage"),
                         ({"kind": "escape"}, "combat/not_held")]:
        with pytest.raises(Rejected) as info:
            await rt.ask("combat/c1.1", act(action, (15,)), by=GM)
        assert info.value.code == code
    await rt.ask("combat/c1.1", Adjust(cid="ayla", persistent={"fire": "1d6"}, conditions={"grabbed": 1},
                                       escape_dc=18), by=GM)
    await rt.ask("combat/c1.1", act({"kind": "recover", "damage_type": "fire"}, (15,)), by=GM)   # 15 meets DC 15
    assert enc(rt).fighters["ayla"].persistent == {}
    # Escape: no Athletics or Acrobatics (+0), 17 against DC 18 fails; it is an attack, so the next has -5
    await rt.ask("combat/c1.1", act({"kind": "escape"}, (17,)), by=GM)
    attack = journal_attacks(rt)[-1]
    assert (attack.total, attack.dc, attack.degree) == (17, 18, "failure")
    await rt.ask("combat/c1.1", act({"kind": "escape"}, (20,)), by=GM)   # 20 - 5 = 15: a natural 20 lifts it
    attack = journal_attacks(rt)[-1]
    assert (attack.map, attack.degree) == (-5, "success") and "grabbed" not in enc(rt).fighters["ayla"].conditions

    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=GM)
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=2), by=GM)          # the goblin's agent passes: Bram's turn
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", act({"kind": "aid", "ally": "gob", "skill": "athletics"}, (6,), turn=3), by=GM)
    assert info.value.code == "combat/not_an_ally"
    # Bram prepares to aid Ayla (1 action, no roll yet); on her turn his reaction makes the check:
    # Athletics +9 with a 6: 15 against DC 15, a success: +1 circumstance on her next check
    await rt.ask("combat/c1.1", act({"kind": "aid", "ally": "ayla", "skill": "athletics"}, turn=3), by=GM)
    assert enc(rt).fighters["bram"].actions == 2 and enc(rt).fighters["bram"].readied["kind"] == "aid"
    with pytest.raises(Rejected) as info:                                  # his own turn: not yet
        await rt.ask("combat/c1.1", React(cid="bram", dice=(6,)), by=GM)
    assert info.value.code == "combat/own_turn"
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=3), by=GM)          # round 2: Ayla
    await rt.ask("combat/c1.1", React(cid="bram", dice=(6,)), by=GM)
    assert enc(rt).fighters["ayla"].aid == 1 and not enc(rt).fighters["bram"].reaction
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, (5,), round_=2, turn=1), by=GM)
    attack = journal_attacks(rt)[-1]
    assert (attack.modifier, attack.total) == (10, 15)                    # +9 and the aid's +1; then it is spent
    assert enc(rt).fighters["ayla"].aid == 0


async def test_ready_then_react_when_the_trigger_comes(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    await rt.ask("combat/c1.1", act({"kind": "ready", "then": {"kind": "strike", "target": "gob"},
                                     "trigger": "the goblin moves"}), by=GM)
    ayla = enc(rt).fighters["ayla"]
    assert ayla.actions == 1 and ayla.readied == {"kind": "strike", "target": "gob", "strike": None}
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", React(cid="ayla"), by=GM)               # still her own turn
    assert info.value.code == "combat/own_turn"
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=GM)          # the goblin's turn (its agent's)
    with pytest.raises(Forbidden):
        await rt.ask("combat/c1.1", React(cid="ayla"), by=player("bram"))
    await rt.ask("combat/c1.1", React(cid="ayla", dice=(10, 6)), by=GM)  # 10 + 9 = 19 against 16: 6 + 4 damage
    attack = journal_attacks(rt)[-1]
    assert (attack.total, attack.map, attack.damage) == (19, 0, 10) and enc(rt).fighters["gob"].hp == 30
    ayla = enc(rt).fighters["ayla"]
    assert (ayla.reaction, ayla.readied) == (False, None)
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", React(cid="ayla"), by=GM)
    assert info.value.code == "combat/nothing_readied"


async def test_delay_then_return_after_another_turn_or_lose_the_turn(game, autojump_clock):
    rt = game
    await fight(rt, hero(conditions=("frightened 2",)))                   # Ayla 20, goblin 10, Bram 0
    await rt.ask("combat/c1.1", act({"kind": "delay"}), by=player("ayla"))
    state = enc(rt)
    assert (state.current, state.fighters["ayla"].delayed) == ("gob", 3)
    assert state.fighters["ayla"].conditions == {"frightened": 1}          # her end-of-turn ticks came now
    assert [c.cid for c in state.order()] == ["gob", "bram"]
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", Resume(cid="bram"), by=GM)
    assert info.value.code == "combat/not_delaying"
    await rt.ask("combat/c1.1", Resume(cid="ayla"), by=player("ayla"))   # after the goblin's turn
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=2), by=GM)
    state = enc(rt)
    assert (state.current, state.turn, state.fighters["ayla"].actions) == ("ayla", 3, 3)
    assert (state.combatants["ayla"].initiative, [c.cid for c in state.order()]) == (10, ["gob", "ayla", "bram"])
    await rt.ask("combat/c1.1", act({"kind": "strike", "target": "gob"}, (10, 5), turn=3), by=GM)
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=3), by=GM)
    state = enc(rt)
    assert state.fighters["ayla"].conditions == {"frightened": 1}          # no second tick for one turn
    assert state.current == "bram"
    await rt.ask("combat/c1.1", act({"kind": "stride", "zone": "door"}, turn=4), by=GM)
    with pytest.raises(Rejected) as info:                                  # delaying is before acting
        await rt.ask("combat/c1.1", act({"kind": "delay"}, turn=4), by=GM)
    assert info.value.code == "combat/too_late_to_delay"


async def test_a_delay_never_ended_loses_its_turn_and_keeps_the_place(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    await rt.ask("combat/c1.1", act({"kind": "delay"}), by=player("ayla"))
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=2), by=GM)           # the goblin
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=3), by=GM)           # Bram
    state = enc(rt)
    assert (state.round, state.current, state.combatants["ayla"].initiative) == (2, "ayla", 20)
    assert (state.fighters["ayla"].delayed, state.fighters["ayla"].actions) == (None, 3)


async def test_an_idle_turn_is_skipped_at_4h_and_its_ticks_still_come(game, autojump_clock):
    from actors.campaign.state import HOUR

    rt = game
    await fight(rt, hero(conditions=("frightened 2",)))
    await trio.sleep(4 * HOUR + 1)
    state = enc(rt)
    assert state.current == "gob" and state.fighters["ayla"].conditions == {"frightened": 1}
    skipped = [e for e in events(rt) if type(e).__name__ == "TurnEnded" and e.cid == "ayla"]
    assert skipped[0].how == "auto_skipped"


# a recovery check's change to dying by its degree, from the rule (critical success -2, success -1,
# failure +1, critical failure +2) and the flat check against 10 + dying with natural 20s and 1s
def recovery(face: int, dying: int) -> int:
    dc = 10 + dying
    step = 2 if face >= dc + 10 else 1 if face >= dc else 0 if face > dc - 10 else -1  # 2 cs, 1 s, 0 f, -1 cf
    step = min(2, step + 1) if face == 20 else max(-1, step - 1) if face == 1 else step
    return max(0, dying + {2: -2, 1: -1, 0: 1, -1: 2}[step])


async def test_dying_turn_after_turn_until_stable_or_dead(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    await rt.ask("combat/c1.1", Adjust(cid="ayla", damage=30), by=GM)     # dying 1 (no critical, no wounded)
    assert enc(rt).fighters["ayla"].dying == 1
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=1), by=GM)          # Ayla's turn (she is down)
    await rt.ask("combat/c1.1", EndTurn(round=1, turn=2), by=GM)          # the goblin's: Bram's turn now
    dying, checks = 1, 0
    while 0 < dying < 4:
        state, used = enc(rt), enc(rt).dice_used
        assert state.current == "bram"
        await rt.ask("combat/c1.1", EndTurn(round=state.round, turn=state.turn), by=GM)
        # a new round: Ayla's turn is a recovery check (one die from the stream) and ends by itself
        dying = recovery(roll(seed_of("combat/c1.1"), used, 1, 20)[0], dying)
        checks += 1
        state = enc(rt)
        ayla = state.fighters["ayla"]
        assert ayla.dead == (dying >= 4) and (ayla.dead or ayla.dying == dying)
        if dying == 0:
            assert (ayla.wounded, ayla.hp) == (1, 0)                        # stable, unconscious at 0 HP
        if not ayla.dead and dying:
            assert state.current == "gob"
            await rt.ask("combat/c1.1", EndTurn(round=state.round, turn=state.turn), by=GM)
    assert checks >= 1


async def test_replay_gives_the_same_fight_with_the_tactics_playing(game, autojump_clock):
    rt = game
    await fight(rt, hero(), agent=False)
    for _ in range(3):
        state = enc(rt)
        if state.ended:
            break
        await rt.ask("combat/c1.1", EndTurn(round=state.round, turn=state.turn), by=GM)
    before = enc(rt)
    assert any(type(e).__name__ == "ActionTaken" and e.cid == "gob" for e in events(rt))
    await rt.restart("combat/c1.1")
    assert enc(rt) == before


async def test_retching_shakes_off_sickened_and_doom_brings_death_closer(game, autojump_clock):
    rt = game
    await fight(rt, hero())
    with pytest.raises(Rejected) as info:
        await rt.ask("combat/c1.1", act({"kind": "retch"}, (10,)), by=GM)
    assert info.value.code == "combat/not_sickened"
    await rt.ask("combat/c1.1", Adjust(cid="ayla", conditions={"sickened": 3, "doomed": 2}, sickened_dc=20), by=GM)
    # Fortitude +9, sickened 3 (status -3): +6; a 14 makes 20, a success against DC 20: sickened 2
    await rt.ask("combat/c1.1", act({"kind": "retch"}, (14,)), by=GM)
    assert enc(rt).fighters["ayla"].conditions == {"sickened": 2}
    # now +7 (sickened 2): a natural 20 makes 27, a success the natural 20 raises to a critical: -2, gone
    await rt.ask("combat/c1.1", act({"kind": "retch"}, (20,)), by=GM)
    assert enc(rt).fighters["ayla"].conditions == {}
    # doomed 2: death at dying 2; a critical hit to 0 HP is dying 2 at once: dead
    await rt.ask("combat/c1.1", Adjust(cid="ayla", damage=100, critical=True), by=GM)
    assert enc(rt).fighters["ayla"].dead


async def test_a_sheet_carries_wounded_and_doomed_into_the_next_fight(game, autojump_clock):
    rt = game
    await fight(rt, hero(conditions=("wounded 1", "doomed 1", "hungry")))
    ayla = enc(rt).fighters["ayla"]
    assert (ayla.wounded, ayla.doomed, ayla.conditions) == (1, 1, {})
    await rt.ask("combat/c1.1", Adjust(cid="ayla", damage=100), by=GM)    # dying 1 + wounded 1 = 2
    assert enc(rt).fighters["ayla"].dying == 2

