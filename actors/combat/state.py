"""An encounter's initiative: who fights, in which order, whose turn it is and since when."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from ..dice import parse
from ..messages import State

ID = r"^[A-Za-z0-9_-]{1,64}$"
HOUR = 3600.0


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StrikeStat(Frozen):
    name: str = Field(min_length=1, max_length=80)
    attack: int = Field(ge=-10, le=60, description="the attack modifier")
    damage: str = Field(min_length=1, max_length=40, description="dice expression, e.g. 1d8+4")
    damage_type: str = Field("physical", min_length=1, max_length=30)
    agile: StrictBool = False  # strict: 0 and "yes" are not booleans (the API says boolean)
    ranged: StrictBool = False

    @model_validator(mode="before")
    @classmethod
    def _traits(cls, data: Any) -> Any:
        """Character sheets used to write ``traits: ["agile"]``: still read (stored events carry it)."""
        if isinstance(data, dict) and "traits" in data:
            data = dict(data)
            traits = data.pop("traits") or ()
            if isinstance(traits, (list, tuple)):
                data.setdefault("agile", "agile" in traits)
                data.setdefault("ranged", "ranged" in traits)
        return data

    @field_validator("damage")
    @classmethod
    def _dice(cls, damage: str) -> str:
        parse(damage)
        return damage


class Stats(Frozen):
    """What the rules need of a combatant: a compact stat block (already elite/weak adjusted)."""

    level: int = Field(ge=-1, le=25)
    max_hp: int = Field(ge=1, le=5000)
    ac: int = Field(ge=0, le=80)
    fortitude: int = Field(ge=-10, le=60)
    reflex: int = Field(ge=-10, le=60)
    will: int = Field(ge=-10, le=60)
    perception: int = Field(ge=-10, le=60)
    strikes: tuple[StrikeStat, ...] = Field(default=(), max_length=10)
    skills: dict[str, int] = Field(default_factory=dict, max_length=30)
    tactics: Literal["brute", "cowardly"] = Field("brute", description="how the built-in policy fights it")
    shield: StrictBool = Field(False, description="carries a shield it can raise")


class Combatant(Frozen):
    cid: str = Field(pattern=ID, description="unique in the encounter; a player's combatant is their player_id")
    name: str = Field(min_length=1, max_length=80)
    initiative: int | None = Field(None, ge=-100, le=200, description="the result; None: the encounter rolls "
                                  "d20 + initiative_modifier when it begins")
    initiative_modifier: int = Field(0, ge=-20, le=80, description="Perception, or the skill the initiative uses")
    tiebreak: int = Field(0, ge=0, description="among equal initiatives, higher acts later (set by a delay)")
    player_id: str | None = Field(None, description="None: a creature the GM runs")
    stats: Stats | None = Field(None, description="None: a narrative combatant the rules do not run")
    hp: int | None = Field(None, ge=0, description="starting HP (default: max_hp)")
    conditions: dict[str, int] = Field(default_factory=dict, description="starting conditions")
    zone: str = Field("melee", min_length=1, max_length=40)
    agent: bool = Field(False, description="a creature an external agent runs from the start")


class Fighter(Frozen):
    """A combatant's state under the rules: changes every turn."""

    hp: int
    zone: str
    conditions: dict[str, int] = Field(default_factory=dict)  # frightened 2, off_guard 1, ...
    persistent: dict[str, str] = Field(default_factory=dict)  # damage type -> dice, e.g. fire: 1d6
    dying: int = 0
    wounded: int = 0
    doomed: int = 0
    dead: bool = False
    actions: int = 0          # left this turn
    reaction: bool = False    # still available
    attacks: int = 0          # attacks made this turn (the multiple attack penalty)
    shield_raised: bool = False
    cover: bool = False
    demoralized_by: tuple[str, ...] = ()  # who already tried (a target is immune to them after)
    fled: bool = False
    aid: int = 0              # a circumstance modifier on its next check (Aid)
    started_with: int = 0     # actions regained at the start of this turn
    delayed: int | None = None  # delaying: the actions it keeps for when it returns
    delayed_round: int = 0    # the round it delayed in (it is out of the order for the rest of it)
    resumed: bool = False     # this turn came back from a delay: its end-of-turn ticks already happened
    readied: dict | None = None  # the action it readied (React takes it)
    escape_dc: int = 15       # to Escape grabbed or restrained
    sickened_dc: int = 15     # the Fortitude DC a retch saves against
    agent: bool = False       # a creature an external agent runs (else the built-in tactics play its turns)

    @property
    def out(self) -> bool:
        """Out of the fight: dead, fled, or at 0 HP (dying or unconscious)."""
        return self.dead or self.fled or self.hp <= 0


class Encounter(State):
    begun: bool = False
    campaign: str = ""
    n: int = 0
    combatants: dict[str, Combatant] = Field(default_factory=dict)
    removed: tuple[str, ...] = ()       # out of the initiative (their player went inactive)
    round: int = 0
    turn: int = 0                       # 1-based within the round; (round, turn) names a turn for CAS
    current: str | None = None          # whose turn it is; None before the start, after the end, or if nobody can act
    had_turn: tuple[str, ...] = ()      # combatants whose turn came this round
    turn_started_at: float = 0.0
    turn_idle_s: float = 4 * HOUR
    max_rounds: int = 10
    ended: bool = False
    end_reason: str | None = None      # victory, defeat, max_rounds, gm, ... (EncounterEnded.reason)
    auto_skips: int = 0
    fighters: dict[str, Fighter] = Field(default_factory=dict)  # combatants with stats
    dice_used: int = 0                                         # the encounter's dice stream position
    resuming: str | None = None                                # returns from a delay when this turn ends

    def order(self) -> list[Combatant]:
        """The initiative order of everyone still in the fight (not removed, dead, fled, or delaying
        this round): highest first; on a tie one who returned from a delay after the other, then
        the GM's creatures before the players (PF2e), then by name."""
        return sorted((c for c in self.combatants.values()
                       if c.cid not in self.removed
                       and not (c.cid in self.fighters and (self.fighters[c.cid].dead or self.fighters[c.cid].fled
                                                            or self.fighters[c.cid].delayed_round == self.round))),
                      key=lambda c: (-c.initiative, c.tiebreak, c.player_id is not None, c.name, c.cid))

    @property
    def paused(self) -> bool:
        """Begun, not over, and every character it had is out of the initiative (their players went
        inactive): no turn starts, creatures included, until one returns or the GM ends it."""
        players = [c.cid for c in self.combatants.values() if c.player_id is not None]
        return self.begun and not self.ended and bool(players) and all(cid in self.removed for cid in players)

    def turn_due(self) -> float | None:
        """When the current turn is skipped if nobody ends it: the turn timer's due time."""
        if self.ended or self.current is None:
            return None
        return self.turn_started_at + self.turn_idle_s
