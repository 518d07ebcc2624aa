"""What a campaign remembers: players and their characters, the post log, clocks, settings.

Times are POSIX seconds of the game clock (``ctx.now``); the actor never reads a clock
of its own, so replay and tests see exactly the same numbers.
"""
from __future__ import annotations

from string import Formatter
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import (
    BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, ValidatorFunctionWrapHandler, field_validator,
)

from ..combat.state import StrikeStat
from ..messages import State
from ..narration.prompts import Prompts

Mode = Literal["exploration", "encounter", "downtime"]
PlayerStatus = Literal["active", "following", "inactive"]
PostKind = Literal["action", "narration", "notice", "ooc", "whisper"]
GM = "gm"  # a whisper's recipient: the campaign's GM (a player id names a player)
RECENT_POSTS = 200  # posts kept in the state; the journal keeps them all
FINISHED_ORDERS = 50  # completed or cancelled orders kept in the state
RECENT_ROLLS = 50  # dice rolls kept in the state (the dice log); the journal keeps them all

HOUR = 3600.0
SETTINGS_KEPT = 64  # validated settings shared between campaigns (most keep the defaults)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Saves(Frozen):
    fortitude: int = Field(ge=-10, le=60)
    reflex: int = Field(ge=-10, le=60)
    will: int = Field(ge=-10, le=60)


class Character(Frozen):
    """A compact PF2e Remaster stat block."""

    name: str = Field(min_length=1, max_length=80)
    ancestry: str = Field("", max_length=60, description="free text, e.g. Dwarf")
    class_name: str = Field("", max_length=60, description="free text, e.g. Fighter")
    level: int = Field(ge=1, le=20)
    max_hp: int = Field(ge=1, le=2000)
    hp: int = Field(ge=0, le=2000)
    ac: int = Field(ge=0, le=80)
    saves: Saves
    perception: int = Field(ge=-10, le=60)
    skills: dict[str, int] = Field(default_factory=dict, max_length=30)
    strikes: tuple[StrikeStat, ...] = Field(default=(), max_length=10, description="the same shape as a "
                                            "creature's: {name, attack, damage, damage_type, agile, ranged}")
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
    outcome: str | None = Field(None, max_length=40, description="the server's narrator: narrated, or why the "
                                "template serves (timeout, error, rejected, paused, unavailable, dry_run)")
    purpose: str | None = Field(None, max_length=40, description="the server's narrator: what it narrated")
    draft: str | None = Field(None, max_length=8000, description="the model's text when it was not posted "
                              "(rejected, dry run)")


class Roll(Frozen):
    """One roll of the dice log: who rolled what, for what, and every face."""

    n: int
    by: str  # a player id, or "gm"
    expression: str
    faces: tuple[tuple[int, ...], ...]  # per dice term, in the order written
    total: int
    reason: str = ""
    at: float
    supplied: bool = False  # the faces came with the command (a VTT's roll through its bridge), not the stream


class Post(Frozen):
    n: int
    kind: PostKind
    author: str
    text: str
    at: float
    reason: str | None = None  # why the server posted it itself (auto_skip, following, ...)
    responds_to: tuple[int, ...] = ()  # a narration: the player actions it answers (post numbers)
    meta: TurnMeta | None = None
    scene: int = 0  # the scene it was posted in (0: before the first)
    pending: bool = False  # the narrator is writing it: the text is the template until PostNarrated
    speaker: str | None = None  # a GM post in a named NPC's voice
    to: tuple[str, ...] = ()  # a whisper's recipients: "gm" and player ids (its author sees it too)
    roll: Roll | None = None  # dice rolled with the post: the result is part of it
    edited_at: float | None = None
    deleted: bool = False  # its author (or the GM) took it back: the text is gone, the history keeps it
    history: tuple[str, ...] = ()  # earlier texts, oldest first: the GM sees them, players do not
    encounter: int | None = None  # posted while encounter n ran (a combat post)
    via: str | None = None  # came through a VTT bridge ("bridge:<world>"): not sent back to that world


class PendingNarration(Frozen):
    """A post the narrator is writing; by ``due`` the template serves whatever happened."""

    n: int
    purpose: str
    fallback: str
    due: float


class Scene(Frozen):
    n: int
    title: str
    description: str = ""
    started_at: float


class Deadline(Frozen):
    deadline_id: str
    due: float
    consequence: str
    set_at: float


class FollowUp(Frozen):
    """A layered press beat: ``after_hours`` past the order's dispatch, post ``text``."""

    after_hours: float = Field(gt=0, le=24 * 365)
    text: str = Field(min_length=1, max_length=8000)
    kind: Literal["narration", "notice"] = Field("narration", description="narration: it moves the story; notice: "
                                                 "an announcement")


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


class Invite(Frozen):
    """A seat's invitation: a single-use, expiring grant the server turns into a player token
    for ``player_id`` when it is claimed.  Only the secret's SHA-256 is kept."""

    invite_id: str
    player_id: str  # the seat: the character the claimed token plays
    digest: str  # SHA-256 of the secret in the link; "" in what players see
    note: str = ""
    created_at: float
    expires_at: float
    claimed_at: float | None = None
    token_id: str | None = None  # the player token it became
    revoked_at: float | None = None

    def status(self, now: float) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.claimed_at is not None:
            return "claimed"
        return "expired" if now >= self.expires_at else "open"


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
    paused: bool = False  # every character is out of the initiative: no turn runs until one returns


def _placeholders(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as exc:  # a lone "{" or "}"
        raise ValueError(f"{exc} (write {{{{ or }}}} for a literal brace)") from None



class Templates(Frozen):
    """What the server writes by itself when nobody acts; ``{name}`` / ``{names}`` are filled in."""

    skip: str = Field("{name} hesitates, taking a defensive stance.", min_length=1, max_length=2000,
                      description="a combat turn skipped (by the GM or the idle timer); {name}")
    following: str = Field("{name} follows the party, lost in thought.", min_length=1, max_length=2000,
                           description="exploration idle: the character follows; {name}")
    marked_following: str = Field("{name} follows the party.", min_length=1, max_length=2000,
                                  description="the GM marked the character following; {name}")
    left_behind: str = Field("Time passes. The party presses on without {names}.", min_length=1, max_length=2000,
                             description="players went inactive; {names}")
    encounter_over: str = Field("The fighting ebbs; the survivors catch their breath.", min_length=1,
                                max_length=2000, description="an encounter reached its last round")
    advance: tuple[str, ...] = Field((
        "Time passes. The world does not wait, and neither does the story.",
        "The hours slip by. Whatever comes next, it comes soon.",
        "Elsewhere, plans move forward without the party.",
        "A day turns. News travels, and the story with it.",
    ), min_length=1, max_length=50, description="stalled story: the server's advancement narrations, in turn, "
       "after the scene's title; nothing in them should picture a place (they follow any scene)")
    dormant: str = Field("The table has gone quiet. The story waits here until someone returns.", min_length=1,
                         max_length=2000, description="every player inactive for dormant_after_s: the campaign sleeps")

    @field_validator("*")
    @classmethod
    def _known_placeholders(cls, value: Any, info: ValidationInfo) -> Any:
        allowed = PLACEHOLDERS[info.field_name or ""]
        for text in value if isinstance(value, tuple) else (value,):
            if not text.strip():
                raise ValueError("must not be blank")
            unknown = _placeholders(text) - allowed
            if unknown:
                may = ", ".join(f"{{{name}}}" for name in sorted(allowed)) or "no placeholders"
                raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}}; this text may use {may}")
        return value


PLACEHOLDERS = {"skip": {"name"}, "following": {"name"}, "marked_following": {"name"}, "left_behind": {"names"},
                "encounter_over": set(), "advance": set(), "dormant": set()}


class Settings(Frozen):
    """Enforcement thresholds (seconds), the server's own texts and the narrator switch; the plan's defaults."""

    combat_turn_idle_s: float = Field(4 * HOUR, ge=60, le=30 * 24 * HOUR)
    exploration_idle_s: float = Field(12 * HOUR, ge=60, le=30 * 24 * HOUR)
    inactive_s: float = Field(24 * HOUR, ge=60, le=30 * 24 * HOUR)
    stall_s: float = Field(24 * HOUR, ge=60, le=30 * 24 * HOUR, description="no narration this long while a "
                           "player is active (not inactive): the server advances the story")
    stall_grace_s: float = Field(HOUR, ge=60, le=30 * 24 * HOUR, description="time the GM keeps to answer an "
                                 "action that arrives after stall_s")
    dormant_after_s: float = Field(3 * 24 * HOUR, ge=60, le=365 * 24 * HOUR, description="every player inactive "
                                   "and no GM post this long: the campaign goes dormant (timers and narration stop) "
                                   "until a player acts or the GM posts")
    narrator: StrictBool = Field(True, description="the server's narrator rewrites what the server posts by itself "
                           "(templates stay the fallback); off: the templates are posted as they are")
    narrator_model: str | None = Field(None, min_length=1, max_length=100, description="a narrator model this "
                                       "server offers (GET /api/v1/admin/narrator); null: the server's default")
    narrator_dry_run: StrictBool = Field(False, description="narrate, but post the templates and keep the model's text "
                                   "in the post's meta.draft and the log")
    narrator_deadline_s: float = Field(20.0, ge=1, le=600, description="how long a narration may take, queue "
                                       "included, before the template serves")
    narrator_max_tokens: int = Field(96, ge=8, le=512)
    timezone: str = Field("UTC", min_length=1, max_length=64, description="an IANA time zone (Europe/Berlin): "
                          "the table shows times and takes due times in it")
    templates: Templates = Field(default_factory=Templates)
    prompts: Prompts = Field(default_factory=Prompts, description="the narrator's prompts per purpose")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {zone!r}; use an IANA name such as Europe/Berlin or UTC") from None
        return zone


class Campaign(State):
    created: bool = False
    title: str = ""
    ruleset: str = "pf2e-remaster"
    gm: str | None = None
    created_at: float = 0.0
    mode: Mode = "exploration"
    scene: Scene | None = None  # the current one; earlier scenes are in the journal
    players: dict[str, Player] = Field(default_factory=dict)
    posts: tuple[Post, ...] = ()
    post_count: int = 0
    deadlines: dict[str, Deadline] = Field(default_factory=dict)
    last_narration_at: float | None = None  # any narration, the server's too: the story last moved
    last_gm_post_at: float | None = None  # the GM's own last post (the server's never count as the GM's)
    dormant_since: float | None = None  # asleep: every player inactive, no GM post for dormant_after_s
    last_player_action_at: float | None = None
    awaiting_narration_since: float | None = None  # first player action the GM has not answered
    unanswered: tuple[int, ...] = ()  # player actions since the GM's last narration (post numbers)
    orders: dict[str, Order] = Field(default_factory=dict)  # pending and active, plus the last finished
    encounter: EncounterView | None = None
    encounters: int = 0
    xp: int = 0  # experience each character has earned here (encounters won)
    rolls: tuple[Roll, ...] = ()  # the last RECENT_ROLLS
    roll_count: int = 0
    dice_used: int = 0  # the dice stream's position: every roll reads on from here
    settings: Settings = Settings()
    narrations: dict[int, PendingNarration] = Field(default_factory=dict)  # post n -> the narrator is on it
    invites: dict[str, Invite] = Field(default_factory=dict)  # invite id -> the seat's invitation

    @field_validator("settings", mode="wrap")
    @classmethod
    def _shared_settings(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Settings:
        """Stored settings validate once per distinct value: they are most of a snapshot, most
        campaigns keep the defaults, and the model is frozen, so campaigns share one instance."""
        if not isinstance(value, dict):
            return handler(value)  # type: ignore[no-any-return]
        try:
            key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # not plain data: validation says what is wrong
            return handler(value)  # type: ignore[no-any-return]
        settings = _SHARED_SETTINGS.get(key)
        if settings is None:
            settings = handler(value)
            if len(_SHARED_SETTINGS) >= SETTINGS_KEPT:
                del _SHARED_SETTINGS[next(iter(_SHARED_SETTINGS))]
            _SHARED_SETTINGS[key] = settings
        return settings  # type: ignore[no-any-return]


_SHARED_SETTINGS: dict[bytes, Settings] = {}  # sorted JSON -> validated, oldest first
