"""Encounter commands and events.  ``Internal`` commands come from the campaign only."""
from __future__ import annotations

from pydantic import Field

from ..messages import Command, Event, Internal
from .state import Combatant


class EndTurn(Command):
    """End the current turn: by the combatant's player, or the GM for anyone.

    ``round`` and ``turn`` name the turn being ended; if it has moved on (ended, skipped
    or timed out meanwhile) the command is refused with ``combat/turn_moved``.
    """

    round: int = Field(ge=1, le=1_000_000)
    turn: int = Field(ge=1, le=1_000)
    action: str | None = Field(None, max_length=8000, description="what the combatant did, for the post log")


class SkipTurn(Command):
    """GM: skip the current turn (the combatant takes a defensive stance); compare-and-swap like EndTurn."""

    round: int = Field(ge=1, le=1_000_000)
    turn: int = Field(ge=1, le=1_000)


class BeginEncounter(Internal):
    campaign: str
    n: int
    combatants: tuple[Combatant, ...]
    turn_idle_s: float
    max_rounds: int


class StopEncounter(Internal):
    reason: str = "gm"


class RemoveCombatant(Internal):
    """Their player went inactive: out of the initiative until they act again."""

    player_id: str


class RestoreCombatant(Internal):
    player_id: str


class PlayerActed(Internal):
    """The player posted an action in the campaign: it ends their turn if it is theirs."""

    player_id: str
    text: str = ""


class SetTurnLimit(Internal):
    turn_idle_s: float


# -- events ----------------------------------------------------------------------------

class EncounterBegun(Event):
    campaign: str
    n: int
    combatants: tuple[Combatant, ...]
    turn_idle_s: float
    max_rounds: int
    at: float


class TurnStarted(Event):
    round: int
    turn: int
    cid: str
    at: float


class TurnEnded(Event):
    round: int
    turn: int
    cid: str
    how: str  # ended | skipped | auto_skipped | left
    at: float
    action: str | None = None


class CombatantRemoved(Event):
    cid: str


class CombatantRestored(Event):
    cid: str


class TurnLimitSet(Event):
    turn_idle_s: float


class EncounterEnded(Event):
    reason: str  # gm | max_rounds | nobody_left
    at: float
