"""The OpenAPI 3.1 description of the REST API, generated from pydantic models.

Command bodies come from the actor kinds the server runs: each kind's client commands
become a ``oneOf`` of ``{"type": <name>, "data": <the command's schema>}``.
"""
from __future__ import annotations

import html
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model
from pydantic.json_schema import models_json_schema

from actors.campaign.messages import Npc

from actors import Internal, Runtime
from actors.address import ID as ACTOR_ID

from . import search_api
from .narrator_api import NarratorPause, NarratorStatus


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


class TokenCreated(BaseModel):
    token: str = Field(description="shown once; store it")
    token_id: str
    role: str
    campaign: str | None
    character: str | None
    acts_as: str | None
    bot: bool


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


def _json(schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"description": description or "OK", "content": {"application/json": {"schema": schema}}}


ERRORS = {str(code): _json({"$ref": "#/components/schemas/ErrorBody"}, text) for code, text in [
    (400, "malformed request"), (401, "missing or invalid token"), (403, "the token may not do this"), (404, "not found or not visible"),
    (409, "rejected by the actor or in conflict"), (413, "body too large"), (422, "invalid command or body"),
    (429, "rate limited or mailbox full; see Retry-After"),
    (503, "unavailable; see Retry-After: shutting down, actor stopped or unanswered, stored history unreadable "
          "(storage/corrupt), or the disk does not write (storage/read_only, storage/io: details.applied false, or "
          "null when unknown)"),
    (507, "the disk is full (storage/full): the write was not saved (details.applied false); reads work and "
          "writes resume by themselves once space is freed; see Retry-After")]}


def build_spec(runtime: Runtime) -> dict[str, Any]:
    """The OpenAPI document for this server and its actor kinds."""
    bodies: list[type[BaseModel]] = []
    for behavior in runtime.behaviors.values():
        for command in behavior.commands:
            if issubclass(command, Internal):
                continue
            bodies.append(create_model(f"{behavior.kind}_{command.__name__}",
                                       type=(Literal[command.__name__], ...), data=(command, ...)))
    requests = [TokenRequest, ClockAdvance, ActorStop, EstimateRequest, NarratorPause, *search_api.REQUESTS, *bodies]
    responses = [ErrorBody, CommandAck, ActorState, EventPage, TokenCreated, ClockState, ClockAdvanced, Health, Ready,
                 GmStatus, CampaignPage, TrainingPage, ModelListing, BackupListing, NarratorStatus, *search_api.RESPONSES]
    # Bodies are described as the server validates them, answers as it serializes them (a field the
    # server never sends, such as BookInfo.page_numbers, is then not promised).
    refs, definitions = models_json_schema([(m, "validation") for m in requests] +
                                           [(m, "serialization") for m in responses],
                                           ref_template="#/components/schemas/{model}")
    schemas = definitions.get("$defs", {})
    named = {model.__name__: ref["$ref"].rsplit("/", 1)[1] for (model, _), ref in refs.items()}

    def _ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{named.get(name, name)}"}

    command_body = {"oneOf": [refs[(b, "validation")] for b in bodies]} if bodies else {"type": "object"}
    actor_id = {"type": "string", "pattern": f"^{ACTOR_ID}$"}  # what parse_address accepts
    kinds = {"type": "string", "enum": sorted(runtime.behaviors)}
    actor = [{"name": "kind", "in": "path", "required": True, "schema": kinds},
             {"name": "actor_id", "in": "path", "required": True, "schema": actor_id}]
    campaign = [{"name": "campaign_id", "in": "path", "required": True, "schema": actor_id}]
    page = [{"name": "cursor", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}]
    bearer = [{"bearer": []}]

    def op(summary: str, response: dict[str, Any], *, params: list | None = None, body: dict | None = None,
           tag: str = "actors", secured: bool = True, status: str = "200") -> dict[str, Any]:
        operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": {status: response, **ERRORS}}
        if params:
            operation["parameters"] = params
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        if secured:
            operation["security"] = bearer
        return operation

    paths = {
        "/health/live": {"get": op("the process is up", _json(_ref("Health")), tag="health", secured=False)},
        "/health/ready": {"get": op("storage open and taking writes, runtime running (503 otherwise, with the reason)",
                                    _json(_ref("Ready")),
                                    tag="health", secured=False)},
        "/openapi.json": {"get": op("this document", _json({"type": "object"}), tag="health", secured=False)},
        "/api": {"get": op("this document as a page for people", {"description": "HTML", "content": {
            "text/html": {"schema": {"type": "string"}}}}, tag="health", secured=False)},
        "/metrics": {"get": op("Prometheus text exposition", {"description": "metrics",
                                                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                               tag="health", secured=False)},
        "/api/v1/actors/{kind}/{actor_id}/commands": {"post": op(
            "send a command; durable once acknowledged", _json(_ref("CommandAck")), body=command_body,
            params=actor + [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 128},
                             "description": "a retry with the same key returns the same ack, applied once"}])},
        "/api/v1/actors/{kind}/{actor_id}": {"get": op(
            "an actor's current state, as this token may see it (a strategy game's player: its house's fog of "
            "war, never the board; the full state is GET /api/v1/admin/actors/{kind}/{actor_id})",
            _json(_ref("ActorState")), params=actor)},
        "/api/v1/actors/{kind}/{actor_id}/events": {"get": op(
            "an actor's journal, page by page, each event as this token may see it (a strategy game's player: "
            "its own orders only, and its house's view after each turn)", _json(_ref("EventPage")),
            params=actor + page)},
        "/api/v1/campaigns": {"get": op(
            "the campaigns this token reaches (an operator: all of them), in id order, page by page",
            _json(_ref("CampaignPage")), tag="campaigns", params=page)},
        "/api/v1/campaigns/{campaign_id}/encounters/estimate": {"post": op(
            "GM: the XP budget and threat of an encounter, and the party's odds from simulated fights (win "
            "probability, expected rounds, knockouts and deaths with 95% intervals)", _json({"type": "object"}),
            body=_ref("EstimateRequest"), tag="campaigns",
            params=campaign)},
        "/api/v1/campaigns/{campaign_id}/gm/status": {"get": op(
            "the GM's orders: what to do next, exact endpoints, and the countdowns the server keeps",
            _json(_ref("GmStatus")), tag="campaigns",
            params=campaign)},
        "/api/v1/admin/actors": {"get": op("the supervision tree with per-actor figures", _json({"type": "object"}),
                                           tag="operators")},
        "/api/v1/admin/actors/{kind}/{actor_id}": {"get": op(
            "inspect one actor (its full state, never a projection)", _json({"type": "object"}), params=actor,
            tag="operators")},
        "/api/v1/admin/actors/{kind}/{actor_id}/passivate": {"post": op(
            "snapshot an actor and unload it; answers once it has left memory", _json({"type": "object"}), params=actor, tag="operators")},
        "/api/v1/admin/actors/{kind}/{actor_id}/stop": {"post": op(
            "stop an actor durably: it finishes its mailbox and leaves memory; until started again its "
            "commands answer 503 runtime/actor_halted and its timers are held", _json({"type": "object"}),
            params=actor, body=_ref("ActorStop"), tag="operators")},
        "/api/v1/admin/actors/{kind}/{actor_id}/start": {"post": op(
            "start a stopped actor: commands reach it again and its held timers fire", _json({"type": "object"}),
            params=actor, tag="operators")},
        "/api/v1/admin/actors/{kind}/{actor_id}/restart": {"post": op(
            "drain an actor's mailbox, unload it and load it again from storage", _json({"type": "object"}),
            params=actor, tag="operators")},
        "/api/v1/admin/dead-letters": {"get": op("dead letters, page by page", _json({"type": "object"}),
                                                 params=page, tag="operators")},
        "/api/v1/admin/runtime": {"get": op("runtime figures", _json({"type": "object"}), tag="operators")},
        "/api/v1/admin/runtime/history": {"get": op(
            "the runtime figures of the last ten minutes, one sample every interval_s (the console's plots)",
            _json({"type": "object"}), tag="operators")},
        "/api/v1/admin/training": {"get": op(
            "training jobs (train/{id}) in address order, page by page: status, step of total, model name and "
            "version; start, pause, resume and cancel them with commands to train/{id}", _json(_ref("TrainingPage")),
            params=page, tag="operators")},
        "/api/v1/admin/models": {"get": op(
            "the model registry: every version with its evaluation per personality (win rate, 95% interval), "
            "the gate's verdict, playable and deployed", _json(_ref("ModelListing")), tag="operators")},
        "/api/v1/admin/narrator": {"get": op(
            "the narrator: health (a pause window that grows with each failure), models, slots, calls by outcome, "
            "tokens, latency percentiles, the last calls", _json(_ref("NarratorStatus")), tag="operators")},
        "/api/v1/admin/narrator/pause": {"post": op(
            "pause the narrator: campaigns post their templates meanwhile", _json(_ref("NarratorStatus")),
            body=_ref("NarratorPause"), tag="operators")},
        "/api/v1/admin/narrator/resume": {"post": op(
            "resume the narrator now, forgetting its failures", _json(_ref("NarratorStatus")), tag="operators")},
        "/api/v1/admin/clock": {"get": op("the server's clock", _json(_ref("ClockState")), tag="operators")},
        "/api/v1/admin/clock/advance": {"post": op("advance a virtual clock, firing due timers in order",
                                                   _json(_ref("ClockAdvanced")), body=_ref("ClockAdvance"),
                                                   tag="operators")},
        "/api/v1/admin/tokens": {"post": op("create a token", _json(_ref("TokenCreated")), body=_ref("TokenRequest"),
                                            tag="operators", status="201")},
        "/api/v1/admin/tokens/{token_id}": {"delete": op(
            "revoke a token", _json({"type": "object"}), tag="operators",
            params=[{"name": "token_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/api/v1/admin/backup": {"post": op("online backup (RocksDB checkpoint) into --backup-dir",
                                            _json({"type": "object"}), tag="operators", status="201")},
        "/api/v1/admin/backups": {"get": op(
            "the backups in --backup-dir, and the interrupted ones the server removed as it started (409 "
            "backup/disabled without --backup-dir)", _json(_ref("BackupListing")), tag="operators")},
        **search_api.paths(op, _json, _ref),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Everturn", "version": "1",
                 "description": "Actor-based game server. Websocket protocol v1 at /ws: see docs/protocol.md."},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "evt_<id>_<secret> from everturn token create"}}},
    }


def render_page(spec: dict[str, Any]) -> str:
    """A plain HTML page listing every operation (no scripts, no external assets)."""
    rows = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            codes = ", ".join(sorted(operation["responses"]))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(operation['summary'])}</td><td>{codes}</td></tr>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Everturn API</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em 1em;border-bottom:1px solid #ddd}</style>"
            "</head><body><h1>Everturn API v1</h1><p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. "
            "Errors: <code>{\"error\": {code, message, details}, \"request_id\"}</code>. "
            "Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
            f"<table><tr><th>method</th><th>path</th><th>what</th><th>statuses</th></tr>{''.join(rows)}</table>"
            "</body></html>")
