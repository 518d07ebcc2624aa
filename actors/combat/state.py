"""An encounter's initiative: who fights, in which order, whose turn it is and since when."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..messages import State

ID = r"^[A-Za-z0-9_-]{1,64}$"
HOUR = 3600.0


class Combatant(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cid: str = Field(pattern=ID, description="unique in the encounter; a player's combatant is their player_id")
    name: str = Field(min_length=1, max_length=80)
    initiative: int = Field(ge=-100, le=200)
    player_id: str | None = Field(None, description="None: a creature the GM runs")


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
    auto_skips: int = 0

    def order(self) -> list[Combatant]:
        """The initiative order of everyone still in the fight: highest first; on a tie the
        GM's creatures act before the players (PF2e), then by name."""
        return sorted((c for c in self.combatants.values() if c.cid not in self.removed),
                      key=lambda c: (-c.initiative, c.player_id is not None, c.name, c.cid))

    def turn_due(self) -> float | None:
        """When the current turn is skipped if nobody ends it: the turn timer's due time."""
        if self.ended or self.current is None:
            return None
        return self.turn_started_at + self.turn_idle_s
