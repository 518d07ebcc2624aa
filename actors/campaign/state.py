"""What a campaign remembers: players and their characters, the post log, clocks, settings.

Times are POSIX seconds of the game clock (``ctx.now``); the actor never reads a clock
of its own, so replay and tests see exactly the same numbers.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..messages import State

Mode = Literal["exploration", "encounter", "downtime"]
PlayerStatus = Literal["active", "following", "inactive"]
PostKind = Literal["action", "narration", "notice"]
RECENT_POSTS = 200  # posts kept in the state; the journal keeps them all

HOUR = 3600.0


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Strike(Frozen):
    name: str = Field(min_length=1, max_length=80)
    attack: int = Field(ge=-10, le=60)
    damage: str = Field(min_length=1, max_length=40, description="dice expression, e.g. 1d8+4")
    traits: tuple[str, ...] = ()


class Saves(Frozen):
    fortitude: int = Field(ge=-10, le=60)
    reflex: int = Field(ge=-10, le=60)
    will: int = Field(ge=-10, le=60)


class Character(Frozen):
    """A compact PF2e Remaster stat block."""

    name: str = Field(min_length=1, max_length=80)
    level: int = Field(ge=1, le=20)
    max_hp: int = Field(ge=1, le=2000)
    hp: int = Field(ge=0, le=2000)
    ac: int = Field(ge=0, le=80)
    saves: Saves
    perception: int = Field(ge=-10, le=60)
    skills: dict[str, int] = Field(default_factory=dict, max_length=30)
    strikes: tuple[Strike, ...] = Field(default=(), max_length=10)
    conditions: tuple[str, ...] = Field(default=(), max_length=20)


class Player(Frozen):
    player_id: str
    character: Character
    joined_at: float
    last_action_at: float | None = None
    status: PlayerStatus = "active"

    @property
    def last_seen(self) -> float:
        """When the player last did something (joining counts)."""
        return self.last_action_at if self.last_action_at is not None else self.joined_at


class Post(Frozen):
    n: int
    kind: PostKind
    author: str
    text: str
    at: float
    reason: str | None = None  # why the server posted it itself (auto_skip, following, ...)


class Deadline(Frozen):
    deadline_id: str
    due: float
    consequence: str
    set_at: float


class Settings(Frozen):
    """Enforcement thresholds (seconds) and narration switches; the plan's defaults."""

    combat_turn_idle_s: float = Field(4 * HOUR, ge=60, le=30 * 24 * HOUR)
    exploration_idle_s: float = Field(12 * HOUR, ge=60, le=30 * 24 * HOUR)
    inactive_s: float = Field(24 * HOUR, ge=60, le=30 * 24 * HOUR)
    stall_s: float = Field(24 * HOUR, ge=60, le=30 * 24 * HOUR)
    narrator: bool = True


class Campaign(State):
    created: bool = False
    title: str = ""
    ruleset: str = "pf2e-remaster"
    gm: str | None = None
    created_at: float = 0.0
    mode: Mode = "exploration"
    players: dict[str, Player] = Field(default_factory=dict)
    posts: tuple[Post, ...] = ()
    post_count: int = 0
    deadlines: dict[str, Deadline] = Field(default_factory=dict)
    last_narration_at: float | None = None
    last_player_action_at: float | None = None
    awaiting_narration_since: float | None = None  # first player action no narration has answered
    settings: Settings = Settings()
