"""The HTTP API's bodies and answers as pydantic models: what the routes validate and the document describes.

Routes name them in the route table (``server.routes.table``); ``server.openapi`` turns
them into the document's components.  The search and narrator routes keep their own
models beside them (``server.routes.search``, ``server.routes.narrator``).
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from actors.campaign.messages import Npc
from actors.combat.state import Stats


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, namespaced (auth/invalid, ledger/zero, ...)")
    message: str = Field(description="for a person")
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail
    request_id: str | None


class CommandAck(BaseModel):
    address: str
    seq: int = Field(description="journal sequence number the command is durable up to")
    events: int = Field(description="events the command produced")


PROJECTION = ("as this token may see it: a kind that hides part of itself from some readers sends them a "
              "projection (a strategy game's players get their house's fog of war, see docs/strategy.md); "
              "operators and the game's GM see everything")


class ActorState(BaseModel):
    address: str
    seq: int
    state: dict[str, Any] = Field(description=f"the state {PROJECTION}")


class JournalEvent(BaseModel):
    seq: int
    type: str
    version: int
    data: dict[str, Any] = Field(description=f"the event's data {PROJECTION}")


class EventPage(BaseModel):
    items: list[JournalEvent]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at the end")


class TokenRequest(BaseModel):
    role: Literal["operator", "gm", "player", "bot", "bridge"]
    campaign: str | None = None
    character: str | None = None
    acts_as: Literal["player", "gm"] | None = None


class ActorStop(BaseModel):
    reason: str = Field("", max_length=500, description="why, for the other operators (shown on inspect)")


class TokenScope(BaseModel):
    token_id: str
    role: str
    campaign: str | None
    character: str | None
    acts_as: str | None
    bot: bool


class TokenCreated(TokenScope):
    token: str = Field(description="shown once; store it")
    world: str | None = Field(None, description="a bridge token's VTT world, when it was made for one")


class TokenInfo(TokenScope):
    created: float = Field(description="POSIX seconds")
    world: str | None = Field(None, description="a bridge token's VTT world, once bound (made for it, or first "
                              "used with it)")


class TokenListing(BaseModel):
    items: list[TokenInfo] = Field(description="every token, oldest first (never a secret)")


class SessionInfo(BaseModel):
    session: str
    token_id: str | None = Field(description="null until the connection said hello")
    role: str | None
    campaign: str | None
    character: str | None
    client: str = Field(description="the client's address")
    connected_at: float = Field(description="POSIX seconds")
    subscriptions: list[str]


class SessionListing(BaseModel):
    items: list[SessionInfo] = Field(description="the open websocket connections, oldest first (every shard's)")


class ClockAdvance(BaseModel):
    seconds: float = Field(ge=0, le=366 * 86400)


class ClockState(BaseModel):
    now: float = Field(description="POSIX seconds")
    virtual: bool


class ClockAdvanced(ClockState):
    fired: int = Field(description="timers fired on the way, each handled before time moved past it")
    settled: bool = Field(description="false if the timers had not all been handled within the wait; "
                                      "the clock then stopped where `now` says")


class Health(BaseModel):
    status: str


class StorageFault(BaseModel):
    code: str = Field(description="storage/full, storage/read_only or storage/io")
    cause: str = Field(description="what the disk or RocksDB said")
    since: float = Field(description="Unix seconds of the first failed write")
    message: str
    next_attempt_in_s: float | None = Field(description="when the server next tries to write (it recovers by itself)")


class Ready(BaseModel):
    status: str = Field(description="ok, degraded (the disk refuses writes; reads work) or unavailable")
    storage: bool = Field(description="the store is open and takes writes")
    runtime: bool = Field(description="the runtime takes messages (false while shutting down)")
    reason: StorageFault | None = Field(None, description="why writes are refused, while degraded")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Endpoint(Strict):
    method: str
    path: str
    body: dict[str, Any] = Field(description="send exactly this, filling in the '...' fields")


class GmTask(Strict):
    task: str
    urgency: Literal["critical", "high", "normal", "low"]
    due_in: float | None = Field(description="seconds until the server does it itself, if it will")
    endpoint: Endpoint


class Enforcement(Strict):
    action: Literal["following", "inactive"]
    at: str
    in_s: float


class PlayerActivity(Strict):
    player_id: str
    name: str
    status: Literal["active", "following", "inactive"]
    last_action_at: str | None
    inactive_hours: float
    inactive_status: Literal["active", "overdue", "stale", "abandoned", "never_acted"] = Field(
        description="active < combat turn limit (4 h) <= overdue < exploration limit (12 h) <= stale < "
                    "inactive limit (24 h) <= abandoned; never_acted until a first action")
    next_enforcement: Enforcement | None = Field(description="what the server does next to this player, and when")
    auto_skip_in: float | None = Field(description="seconds until their combat turn is skipped, on their turn")


class EncounterStatus(Strict):
    n: int
    address: str
    round: int
    turn: int
    current: str | None
    name: str | None
    player_id: str | None
    turn_started_at: str | None
    turn_waited_s: float
    auto_skip_at: str | None
    auto_skip_in: float | None
    skip_required: bool
    paused: bool = Field(description="every character is out of the initiative (their players went inactive): no "
                         "turn runs, creatures' included, until one returns or the GM ends it")


class Dormancy(Strict):
    since: str | None = Field(description="asleep since (null: not yet, see at)")
    for_s: float | None = None
    quiet_since: str | None = None
    at: str | None = Field(description="every player is inactive: when the campaign falls asleep unless one acts "
                           "or the GM posts")
    in_s: float | None = None


class DeadlineStatus(Strict):
    deadline_id: str
    due: str
    consequence: str
    remaining_s: float
    overdue_s: float
    remaining: str


class OrderStatus(Strict):
    order_id: str
    status: Literal["pending", "active"]
    text: str
    next_due: str
    next_in_s: float
    steps_done: int
    steps: int


class Stall(Strict):
    """No narration for stall_s while a player is active: the server advances the story at auto_advance_at."""

    awaiting_narration_since: str | None = Field(description="the first player action the GM has not answered "
                                                 "(null: none; the story still advances daily while anyone plays)")
    auto_advance_at: str
    auto_advance_in: float


class Waiting(Strict):
    who: Literal["player", "gm", "players"]
    player_id: str | None
    name: str | None
    since: str | None
    what: str


class NextStep(Strict):
    instruction: str
    endpoint: Endpoint
    narrative_suggestion: str


class SceneStatus(Strict):
    n: int
    title: str
    started_at: str


class GmStatus(Strict):
    """What the GM must do next; every countdown is the time a durable timer fires."""

    headline: str = Field(description="the first line: what matters most now (the most urgent task), in words")
    campaign_id: str
    title: str
    now: str
    mode: Literal["exploration", "encounter", "downtime"]
    scene: SceneStatus | None = Field(description="the current scene (StartScene), None before the first")
    needs_attention: bool
    dormant: Dormancy | None = Field(description="null while a player plays; else asleep, or when it falls asleep")
    waiting_for: Waiting
    player_activity: list[PlayerActivity]
    must_advance: bool
    must_advance_reason: str | None
    skip_required: bool
    skip_required_player: str | None
    auto_skip_in: float | None
    auto_skip_at: str | None
    encounter: EncounterStatus | None
    story_deadlines: list[DeadlineStatus]
    scheduled_orders: list[OrderStatus]
    stall: Stall | None
    gm_tasks: list[GmTask] = Field(description="most urgent first")
    bridges: list[BridgeWorld] = Field(default_factory=list, description="the campaign's VTT worlds: connected or "
                                       "not, commands waiting, expired and failed (docs/bridge.md)")
    what_to_do_next: NextStep
    settings: dict[str, Any]


class HazardSpec(Strict):
    level: int = Field(ge=-1, le=25)
    complex: StrictBool = False


class EstimateRequest(Strict):
    """A GM building an encounter: who would fight, and how hard it would be."""

    npcs: list[Npc] = Field(min_length=1, max_length=31, description="creatures with stat blocks (narrative ones "
                            "without stats count for neither budget nor simulation)")
    players: list[str] | None = Field(None, max_length=20, description="default: every player not inactive")
    hazards: list[HazardSpec] = Field(default_factory=list, max_length=20)
    fights: int = Field(10_000, ge=1, le=200_000, description="simulated fights")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="default: a fresh one, returned")
    max_rounds: int = Field(20, ge=1, le=100, description="a fight not decided by then counts as not won")


class PlayerLine(Strict):
    player_id: str
    name: str
    status: str


class CampaignSummary(Strict):
    campaign_id: str
    address: str = Field(description="the actor address to subscribe to: campaign/{campaign_id}")
    title: str
    mode: str
    scene: str | None
    players: list[PlayerLine]
    post_count: int
    last_post_at: str | None
    created_at: str | None
    awaiting_narration: bool = Field(description="players acted and the GM has not answered yet")
    dormant: bool = Field(description="every player inactive long enough: timers and narration stopped until a "
                          "player acts or the GM posts")
    dormant_since: str | None


class CampaignPage(Strict):
    items: list[CampaignSummary]
    next_cursor: str | None


class TrainingJob(Strict):
    address: str = Field(description="train/{id}: subscribe to it for every Checkpointed event (loss, lr, "
                                     "samples/s, self-play wins); GET /api/v1/actors/train/{id} for its history")
    status: Literal["running", "paused", "evaluating", "finished", "cancelled", "failed"]
    step: int
    total: int = Field(description="behaviour-cloning steps plus self-play updates")
    name: str = Field(description="the model's name in the registry")
    model_version: int | None = Field(description="the registered version, once finished")
    started_at: float = Field(description="POSIX seconds")
    updated_at: float = Field(description="POSIX seconds")
    error: str | None = Field(description="why it failed or was cancelled, or the last failed attempt's error")


class TrainingPage(Strict):
    items: list[TrainingJob]
    next_cursor: str | None


class WinRate(BaseModel):
    won: int
    played: int
    share: float
    ci95: list[float] = Field(description="Wilson 95% interval of the share")


class Evaluation(BaseModel):
    games_each: int
    seed: int
    turns: int
    vs: dict[str, WinRate] = Field(description="per rule-based personality")


class ModelVersion(BaseModel):
    """A registered model's meta.json, and whether it is the deployed version of its name."""

    name: str
    version: int
    data: str | None = Field(None, description="the records it learned from")
    job: str | None = Field(None, description="the training job that made it")
    spec: dict[str, Any] = Field(default_factory=dict, description="its training spec")
    evaluation: Evaluation | None = None
    gate: dict[str, Any] | None = Field(None, description="the deployment gate's verdict (passed, against, won, "
                                                          "lost, drawn), once it was tried")
    playable: bool = Field(False, description="passed the gate: may play as policy:NAME@VERSION")
    deployed: bool


class ModelListing(BaseModel):
    root: str = Field(description="the registry's folder on the server")
    items: list[ModelVersion] = Field(description="by name, then version")


class BackupInfo(BaseModel):
    name: str
    path: str = Field(description="on the server")
    created: float = Field(description="Unix seconds: when it was finished")
    bytes: int = Field(description="the size of its files")


class InterruptedBackup(BaseModel):
    name: str
    path: str = Field(description="on the server")
    removed_at: float | None = Field(description="Unix seconds: when the server removed it as it started; null: "
                                                 "present now (left by a process other than this server)")


class BackupListing(BaseModel):
    backup_dir: str = Field(description="--backup-dir")
    items: list[BackupInfo] = Field(description="completed backups, oldest first")
    interrupted: list[InterruptedBackup] = Field(description="backups killed before they were complete: never "
                                                             "usable, never under a completed backup's name")


SEAT = r"^[A-Za-z0-9_-]{1,64}$"


class InviteRequest(Strict):
    player_id: str | None = Field(None, pattern=SEAT, description="the seat: the player id the claimed token "
                                  "plays (default: the next free seat-N)")
    expires_in_hours: float = Field(168.0, gt=0, le=30 * 24, description="the link works this long (default: a week)")
    note: str = Field("", max_length=200, description="for the GM: who it is meant for")


class Invite(Strict):
    invite_id: str
    player_id: str = Field(description="the seat")
    note: str
    status: Literal["open", "claimed", "revoked", "expired"]
    created_at: float
    expires_at: float
    claimed_at: float | None
    token_id: str | None = Field(description="the player token it became")
    character: str | None = Field(description="the character's name, once its player created it")


class InviteIssued(Invite):
    code: str = Field(description="the secret part of the link, shown once")
    path: str = Field(description="the link's path on the web UI: /join/{campaign_id}/{code}")


class InviteListing(Strict):
    items: list[Invite]


class InviteClaim(Strict):
    code: str = Field(min_length=3, max_length=200, description="the code from the invite's link")


class InviteClaimed(Strict):
    token: str = Field(description="the player's token, shown once: it logs in from any device")
    token_id: str
    campaign: str
    character: str = Field(description="the seat (player id) the token plays")
    title: str = Field(description="the campaign's title")


NoticeKind = Literal["your_turn", "turn_ending", "deadline", "whisper", "mention", "narration"]
ALL_NOTICES = ["your_turn", "turn_ending", "deadline", "whisper", "mention", "narration"]


class WebhookRequest(Strict):
    url: str = Field(min_length=8, max_length=2000, description="https only (an operator may allow http and private "
                     "addresses); redirects are not followed")
    scope: Literal["table", "gm", "player"] | None = Field(None, description="table: what the whole table may see "
                                                           "(a shared channel; never a whisper); gm: that and what is "
                                                           "for the GM; player: what is for one player (default: a "
                                                           "player's token their own, a GM's token the table)")
    player_id: str | None = Field(None, pattern=SEAT, description="scope player, from a GM: for this player")
    kinds: list[NoticeKind] = Field(default_factory=lambda: list(ALL_NOTICES), min_length=1, max_length=6,
                                    description="your_turn; turn_ending (an hour before an idle turn is skipped); "
                                    "deadline (an hour before it lands); whisper; mention (@name); narration (the "
                                    "GM's)")


class WebhookDelivery(Strict):
    id: str
    kind: str
    text: str
    status: Literal["delivered", "retrying", "failed", "skipped", "waiting"]
    attempts: int
    http_status: int | None
    error: str | None
    at: float = Field(description="when it was tried (waiting: when it will be)")
    retry_at: float | None


class Webhook(Strict):
    hook_id: str
    url: str
    scope: Literal["table", "gm", "player"]
    player_id: str | None
    kinds: list[str]
    created: float
    deliveries: list[WebhookDelivery] = Field(description="waiting ones first, then the last 20 tries, newest first")


class WebhookCreated(Webhook):
    secret: str = Field(description="shown once: X-Everturn-Signature is sha256=HMAC-SHA256(secret, "
                        "X-Everturn-Timestamp + '.' + body), hex")


class WebhookListing(Strict):
    items: list[Webhook]


class CreatureRequest(Strict):
    name: str = Field(min_length=1, max_length=80)
    stats: Stats = Field(description="the normal version; weak and elite are applied when it joins an encounter")
    notes: str = Field("", max_length=2000, description="for the GM: where it comes from, how it fights")


class Creature(CreatureRequest):
    creature_id: str
    updated: float


class CreatureListing(Strict):
    items: list[Creature]


WORLD = r"^[A-Za-z0-9_.-]{1,64}$"
BridgeKind = Literal["start_combat", "end_combat", "advance_turn", "apply_damage", "apply_healing", "apply_condition",
                     "remove_condition", "create_chat_message", "move_token", "spawn_token", "remove_token",
                     "show_journal"]


class BridgeCommandRequest(Strict):
    kind: BridgeKind = Field(description="combat ones are delivered before chat, chat before cosmetic (tokens, "
                             "journals)")
    data: dict[str, Any] = Field(default_factory=dict, description="what the VTT needs: speaker, whisper targets, "
                                 "actor, amount, condition, token, position, journal")
    ttl_s: float | None = Field(None, gt=0, le=7 * 86400, description="expires unacked after this long (default: "
                                "combat 10 min, chat 1 h, cosmetic 5 min)")
    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="the sender's id: the same id "
                           "again is the command already queued")


class BridgeCommand(Strict):
    id: str
    world: str
    seq: int
    kind: str
    priority: Literal["combat", "chat", "cosmetic"]
    data: dict[str, Any]
    queued_at: float
    expires_at: float
    deliveries: int
    delivered_at: float | None = None
    status: Literal["queued", "acked", "failed", "expired"] = "queued"
    finished_at: float | None = None
    reason: str | None = None


class BridgePoll(Strict):
    commands: list[BridgeCommand] = Field(description="to carry out, in order; ack each by id")
    emitter: bool = Field(description="this bridge speaks for the world: it carries the commands out and its "
                          "events are taken (the others get no commands)")
    since: int = Field(description="pass as ?since= next time")


class BridgeAck(Strict):
    id: str
    ok: StrictBool = True
    reason: str | None = Field(None, max_length=500, description="why it could not be carried out")


class BridgeAcks(Strict):
    acks: list[BridgeAck] = Field(min_length=1, max_length=500)


class BridgeAcked(Strict):
    items: list[BridgeCommand | None] = Field(description="each ack's command as it now stands; null: unknown id")


class BridgeEvent(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="the VTT's own id: sent again, applied once")
    type: str = Field(min_length=1, max_length=40, description="chat {content, player_id?, ooc?, whisper_to?, "
                      "speaker?}, scene {title, description?}, roll {formula, faces, player_id?, flavor?}, "
                      "combat_start {combatants: [{id, name, player_id?, initiative?}]}, combat_turn {round, "
                      "combatant}, combat_end {}, actor {combatant, hp?, conditions?} (docs/bridge.md)")
    data: dict[str, Any] = Field(default_factory=dict)


class BridgeEmit(Strict):
    events: list[BridgeEvent] = Field(min_length=1, max_length=100)


class BridgeEmitResult(Strict):
    id: str
    status: Literal["applied", "ignored", "refused"] = Field(description="applied: durable (sent again, applied "
                                                             "once); ignored: this bridge is not the emitter; "
                                                             "refused: see code and message")
    seq: int | None = None
    code: str | None = None
    message: str | None = None


class BridgeEmitted(Strict):
    emitter: bool
    items: list[BridgeEmitResult]


class BridgeEmitter(Strict):
    instance: str
    token_id: str
    for_s: float = Field(description="how long it has been the emitter")


class BridgeWorld(Strict):
    world: str = Field(description="<campaign>/<world>")
    campaign: str
    emitter: BridgeEmitter | None = Field(description="null: no bridge of this world is connected")
    connected: list[str] = Field(description="the instances heard from within a lease (10 s)")
    depth: dict[str, int] = Field(description="commands waiting, by priority")
    oldest_age_s: float | None
    expired: int = Field(description="among the last 500 finished")
    failed: int
    troubles: list[BridgeTrouble] = Field(default_factory=list, description="the newest failed or expired "
                                          "commands (at most 5), newest first")


class BridgeTrouble(Strict):
    id: str
    kind: str
    status: Literal["failed", "expired"]
    reason: str | None = Field(description="the VTT's, or why it expired")
    finished_at: float


class BridgeTokenRequest(Strict):
    world: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="the VTT world it serves "
                              "(Foundry's world id); default: the first it is used with")


class BridgeListing(Strict):
    items: list[BridgeWorld]
    manifest_url: str | None = Field(None, description="the Foundry module's manifest on this server, as the "
                                     "request reached it: paste it in Foundry's Install Module dialog")
