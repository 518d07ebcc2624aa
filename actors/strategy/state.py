"""What a hosted strategy game remembers: its setup, the seats, this turn's orders, the board."""
from __future__ import annotations

from dataclasses import asdict
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from engine_ext.galaxy import Galaxy, generate
from engine_ext.strategy_state import Colony, Fleet, Game, House

from ..messages import State

# a rule-based personality, or a deployed learned policy from the model registry (training.registry)
Personality = Annotated[str, Field(pattern=r"^(aggressive|economic|turtle|expansionist|balanced"
                                           r"|policy:[a-z0-9][a-z0-9_-]{0,39}(@v?[0-9]{1,6})?)$")]
MISSES_TO_AUTOPILOT = 3  # turns in a row without orders before the AI keeps the house until its player returns


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Seat(Frozen):
    house: int
    player: str | None = None          # who holds it (a token's character or id); None: the AI plays it
    personality: Personality = "balanced"  # how the AI plays it when it must
    missed: int = 0                    # turns in a row its player gave no orders

    @property
    def autopilot(self) -> bool:
        return self.player is None or self.missed >= MISSES_TO_AUTOPILOT


class Strategy(State):
    created: bool = False
    rings: int = 0
    seed: int = 0
    turn_limit: int = 100
    turn_deadline_s: float = 24 * 3600.0
    turn_started_at: float = 0.0
    seats: tuple[Seat, ...] = ()
    submitted: dict[int, list[dict[str, Any]]] = Field(default_factory=dict)  # house -> orders, this turn
    asking: tuple[int, ...] = ()   # houses whose learned players' orders the turn waits for (it is resolving)
    asked_at: float = 0.0          # when the turn last asked for them (PolicyAsked)
    asks: int = 0                  # how many times this turn has asked
    board: dict[str, Any] = Field(default_factory=dict)   # the engine's Game without its map (asdict form)
    winner: int | None = None
    ended: bool = False

    @property
    def turn(self) -> int:
        return self.board.get("turn", 0)

    def waiting_for(self) -> list[int]:
        """Houses whose players have not given this turn's orders (autopilot houses never hold a turn up)."""
        return [s.house for s in self.seats if not s.autopilot and s.house not in self.submitted]

    def turn_due(self) -> float | None:
        """When the turn resolves at the latest; None once it is resolving (or over, or not begun)."""
        if self.ended or not self.created or self.asking:
            return None
        return self.turn_started_at + self.turn_deadline_s


@lru_cache(maxsize=64)
def galaxy_of(rings: int, houses: int, seed: int) -> Galaxy:
    return generate(rings, houses, seed)


def to_board(game: Game) -> dict[str, Any]:
    """The game without its map (the map follows from rings, houses and seed); JSON-ready."""
    return {"seed": game.seed, "turn": game.turn, "next_fleet": game.next_fleet, "dice_used": game.dice_used,
            "diplomacy": [list(row) for row in game.diplomacy], "houses": [asdict(h) for h in game.houses],
            "colonies": {str(k): asdict(c) for k, c in game.colonies.items()},  # JSON object keys are strings
            "fleets": {str(k): asdict(f) for k, f in game.fleets.items()}}


def from_board(state: Strategy) -> Game:
    board = state.board
    game = Game(galaxy=galaxy_of(state.rings, len(state.seats), state.seed), seed=board["seed"], turn=board["turn"],
                next_fleet=board["next_fleet"], dice_used=board["dice_used"],
                diplomacy=[list(row) for row in board["diplomacy"]])
    game.houses = [House(**{**h, "tech": list(h["tech"]), "research": list(h["research"])}) for h in board["houses"]]
    game.colonies = {int(k): Colony(**v) for k, v in board["colonies"].items()}
    game.fleets = {int(k): Fleet(**{**v, "ships": list(v["ships"]), "crippled": list(v["crippled"])})
                   for k, v in board["fleets"].items()}
    return game
