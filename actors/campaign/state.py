"""What a campaign remembers: players and their characters, the post log, clocks, settings.

Times are POSIX seconds of the game clock (``ctx.now``); the actor never reads a clock
of its own, so replay and tests see exactly the same numbers.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..messages import State

Mode = Literal["exploration", "encounter", "downtime"]
PlayerStatus = Literal["active", "following", "inactive"]
PostKind = Literal["action", "narration", "notice"]
RECENT_POSTS = 200  # posts kept in the state; the journal keeps them all
FINISHED_ORDERS = 50  # completed or cancelled orders kept in the state

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
    status_since: float | None = None  # when the status last changed

    @property
    def last_seen(self) -> float:
        """When the player last did something (joining counts)."""
        return self.last_action_at if self.last_action_at is not None else self.joined_at


class ToolCall(Frozen):
    name: str = Field(min_length=1, max_length=100)
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: str | None = Field(None, max_length=8000)


class TurnMeta(Frozen):
    """How a narration was made, kept with the turn for session data and training sets."""

    model: str | None = Field(None, max_length=200, description="e.g. smollm2-135m-q4_1; 'template' for server text")
    tool_calls: tuple[ToolCall, ...] = Field(default=(), max_length=50)
    latency_ms: float | None = Field(None, ge=0)
    prompt_tokens: int | None = Field(None, ge=0)
    completion_tokens: int | None = Field(None, ge=0)
    error: str | None = Field(None, max_length=2000, description="set when the narrator failed")


class Post(Frozen):
    n: int
    kind: PostKind
    author: str
    text: str
    at: float
    reason: str | None = None  # why the server posted it itself (auto_skip, following, ...)
    responds_to: tuple[int, ...] = ()  # a narration: the player actions it answers (post numbers)
    meta: TurnMeta | None = None


class Deadline(Frozen):
    deadline_id: str
    due: float
    consequence: str
    set_at: float


class FollowUp(Frozen):
    """A layered press beat: ``after_hours`` past the order's dispatch, post ``text``."""

    after_hours: float = Field(gt=0, le=24 * 365)
    text: str = Field(min_length=1, max_length=8000)
    kind: Literal["narration", "notice"] = "narration"


OrderStatus = Literal["pending", "active", "completed", "cancelled"]


class Order(Frozen):
    """A scheduled order: ``pending`` until due, ``active`` while its follow-ups land, then done."""

    order_id: str
    status: OrderStatus = "pending"
    due: float
    text: str
    kind: Literal["narration", "notice"] = "narration"
    follow_ups: tuple[FollowUp, ...] = ()
    steps_done: int = 0  # 0: not dispatched; 1: the order itself; 1 + k: k follow-ups
    dispatched_at: float | None = None
    finished_at: float | None = None
    created_at: float

    def next_due(self) -> float | None:
        """When the next step lands; None once completed or cancelled."""
        if self.status == "pending":
            return self.due
        if self.status == "active" and self.dispatched_at is not None and self.steps_done <= len(self.follow_ups):
            return self.dispatched_at + self.follow_ups[self.steps_done - 1].after_hours * HOUR
        return None


class EncounterView(Frozen):
    """The campaign's copy of its running encounter, as the encounter last reported it."""

    n: int
    address: str
    started_at: float
    round: int = 0
    turn: int = 0
    current: str | None = None
    name: str | None = None
    player_id: str | None = None
    turn_started_at: float | None = None
    turn_due: float | None = None  # the encounter's idle-turn timer


class Settings(Frozen):
    """Enforcement thresholds (seconds) and narration switches; the plan's defaults."""

    combat_turn_idle_s: float = Field(4 * HOUR, ge=60, le=30 * 24 * HOUR)
    exploration_idle_s: float = Field(12 * HOUR, ge=60, le=30 * 24 * HOUR)
    inactive_s: float = Field(24 * HOUR, ge=60, le=30 * 24 * HOUR)
    stall_s: float = Field(24 * HOUR, ge=60, le=30 * 24 * HOUR, description="no narration this long while "
                           "players wait: the server advances the story")
    stall_grace_s: float = Field(HOUR, ge=60, le=30 * 24 * HOUR, description="time the GM keeps to answer an "
                                 "action that arrives after stall_s")
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
    unanswered: tuple[int, ...] = ()  # player actions since the last narration (post numbers)
    orders: dict[str, Order] = Field(default_factory=dict)  # pending and active, plus the last finished
    encounter: EncounterView | None = None
    encounters: int = 0
    settings: Settings = Settings()
