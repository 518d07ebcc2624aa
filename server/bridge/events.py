"""What a VTT world tells Everturn, as campaign and encounter commands: pure planning, no I/O.

Each event a bridge emits carries the VTT's own id, and each command planned for it a key made
from that id, so an event sent again (after a reconnect, by a retry) is applied once.  Chat,
scenes and rolls are things that happened: one command each.  Combat and actor events say what
the VTT now shows, so they plan only what differs from the encounter: a turn already there, HP
already equal, plan nothing.  A turn the VTT moved several places on is planned one ended turn at
a time (``Step.again``: plan once more after it), each keyed by the turn it ends.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from actors.campaign.messages import (
    EndEncounter, Npc, PostAction, PostNarration, RollDice, StartEncounter, StartScene, Whisper,
)
from actors.combat.messages import Adjust, EndTurn
from actors.messages import Command

EVENT_TYPES = ("chat", "scene", "roll", "combat_start", "combat_turn", "combat_end", "actor")
CID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Unmapped(ValueError):
    """An event the bridge cannot turn into a command; ``code`` says which way."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Ignored(ValueError):
    """An event with nothing for Everturn to do, said why (an actor's HP outside any encounter)."""


@dataclass(frozen=True)
class Step:
    """One command to send for an event: to the campaign or its running encounter."""

    to: str                   # "campaign" | "encounter"
    command: Command
    as_gm: bool               # the bridge does it as the campaign's GM
    key: str = ""             # appended to the event's idempotency key
    again: bool = False       # plan the event once more after this step: it is not there yet


def plan(event_type: str, data: dict[str, Any], campaign: Any, encounter: Any) -> list[Step]:
    """The steps for one VTT event, given the campaign's state and its running encounter's (or None).

    Raises ``Unmapped`` for an event that cannot apply, ``Ignored`` for one with nothing to do.
    """
    try:
        if event_type == "chat":
            return [chat(data)]
        if event_type == "scene":
            return [Step("campaign", StartScene(title=data.get("title"), description=data.get("description") or ""),
                         True)]
        if event_type == "roll":
            player = data.get("player_id")
            return [Step("campaign", RollDice(expression=data.get("formula"), faces=tuple(data.get("faces") or ()),
                                              reason=(data.get("flavor") or "")[:200], player_id=player),
                         player is None)]
        if event_type == "combat_start":
            return [] if campaign.encounter is not None else [Step("campaign", started(data), True)]
        if event_type == "combat_end":
            return [] if campaign.encounter is None else [Step("campaign", EndEncounter(), True)]
        if event_type == "combat_turn":
            return turn_steps(data, running(encounter))
        if event_type == "actor":
            return actor_steps(data, encounter)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise Unmapped("command/invalid", f"{event_type}: {where}: {first['msg']}") from None
    raise Unmapped("bridge/unknown_event", f"no event type {event_type!r}; one of {', '.join(EVENT_TYPES)}")


def chat(data: dict[str, Any]) -> Step:
    text = data.get("content")
    player = data.get("player_id")
    ooc = bool(data.get("ooc", False))
    if data.get("whisper_to"):
        return Step("campaign", Whisper(text=text, to=tuple(data["whisper_to"]), player_id=player), player is None)
    if player is not None:
        return Step("campaign", PostAction(text=text, player_id=player, ooc=ooc), False)
    return Step("campaign", PostNarration(text=text, speaker=data.get("speaker") or None, ooc=ooc), True)


def started(data: dict[str, Any]) -> StartEncounter:
    """A VTT combat's combatants as an encounter: players by their id, the rest creatures named by the VTT's id."""
    combatants = data.get("combatants")
    if not isinstance(combatants, list) or not combatants:
        raise Unmapped("command/invalid", "combat_start: combatants: a list of {id, name, player_id?, initiative?}")
    npcs, players, initiative = [], [], {}
    for c in combatants:
        if not isinstance(c, dict):
            raise Unmapped("command/invalid", "combat_start: each combatant is {id, name, player_id?, initiative?}")
        rolled = c.get("initiative")
        rolled = round(rolled) if isinstance(rolled, (int, float)) and not isinstance(rolled, bool) else None
        if c.get("player_id"):
            players.append(c["player_id"])
            if rolled is not None:
                initiative[c["player_id"]] = rolled
        else:
            npcs.append(Npc(name=c.get("name") or "?", cid=c.get("id"), initiative=rolled))
    return StartEncounter(npcs=tuple(npcs), players=tuple(players), initiative=initiative)


def running(encounter: Any) -> Any:
    if encounter is None or not encounter.begun or encounter.ended:
        raise Unmapped("bridge/no_encounter", "no encounter runs in this campaign: start the combat first")
    return encounter


def turn_steps(data: dict[str, Any], encounter: Any) -> list[Step]:
    """End the encounter's turns until it is ``combatant``'s in ``round``; nothing once there, or once past it."""
    target, wanted = data.get("combatant"), data.get("round")
    if not isinstance(target, str) or not isinstance(wanted, int) or isinstance(wanted, bool):
        raise Unmapped("command/invalid", "combat_turn: {round: a whole number, combatant: an id}")
    if target not in encounter.combatants:
        raise Unmapped("bridge/not_in_encounter", f"{target} is not in encounter {encounter.n}")
    here = encounter.current == target and encounter.round == wanted
    past = encounter.round > wanted or (encounter.round == wanted and target in encounter.had_turn)
    if here or past or encounter.current is None:
        return []
    return [Step("encounter", EndTurn(round=encounter.round, turn=encounter.turn), True,
                 key=f"r{encounter.round}t{encounter.turn}", again=True)]


def actor_steps(data: dict[str, Any], encounter: Any) -> list[Step]:
    """What the VTT shows of a combatant, as the encounter's adjustment of what differs."""
    target = data.get("combatant")
    if not isinstance(target, str) or not CID.fullmatch(target):
        raise Unmapped("command/invalid", "actor: combatant: a VTT combatant id or a player id")
    if encounter is None or not encounter.begun or encounter.ended or target not in encounter.fighters:
        raise Ignored("HP and conditions are kept in an encounter, for combatants with stats; "
                      f"{target} is not one now")
    fighter = encounter.fighters[target]
    change: dict[str, Any] = {}
    hp = data.get("hp")
    if hp is not None:
        if not isinstance(hp, int) or isinstance(hp, bool) or hp < 0:
            raise Unmapped("command/invalid", "actor: hp: a whole number >= 0")
        if hp < fighter.hp:
            change["damage"] = fighter.hp - hp
        elif hp > fighter.hp:
            change["heal"] = hp - fighter.hp
    conditions = data.get("conditions") or {}
    if not isinstance(conditions, dict):
        raise Unmapped("command/invalid", 'actor: conditions: {"frightened": 1, "prone": 0}')
    differ = {name: value for name, value in conditions.items() if fighter.conditions.get(name, 0) != value}
    if differ:
        change["conditions"] = differ
    return [Step("encounter", Adjust(cid=target, **change), True)] if change else []
