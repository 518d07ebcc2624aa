"""Operators' routes: actors (inspect, passivate, stop, start, restart), dead letters, runtime figures,
training jobs and models, the clock, tokens, backups."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import secrets
import time

import trio
from quart import Response, request

from actors import ActorError, Runtime, VirtualClock
from snapshots import StoreError
from snapshots.backups import PARTIAL, completed_backups, interrupted_backups
from training.registry import Registry

from ..errors import ApiError, from_actor_error, not_found
from ..grants import issue_token
from ..requests import (
    everturn, json_body, json_response, operator, operator_target, page_args, page_json, valid_address, validated,
)
from ..schemas import (
    ActorStop, BackupListing, ClockAdvance, ClockAdvanced, ClockState, ModelListing, SessionListing, TokenCreated,
    TokenListing, TokenRequest, TrainingPage,
)
from ..shards.peers import BACKUP_TARGET
from .table import Resource

admin = Resource("admin", tag="operators")
TOKEN_ID = ({"name": "token_id", "in": "path", "required": True, "schema": {"type": "string"}},)


# -- actors ----------------------------------------------------------------------------

@admin.get("/api/v1/admin/actors", "the supervision tree with per-actor figures")
async def admin_tree() -> Response:
    ctx = everturn()
    operator(ctx)
    return json_response(ctx.runtime.tree())


@admin.get("/api/v1/admin/actors/{kind}/{actor_id}", "inspect one actor (its full state, never a projection)")
async def admin_actor(kind: str, actor_id: str) -> Response:
    ctx = everturn()
    runtime = ctx.runtime
    address = operator_target(ctx, kind, actor_id)
    cell = runtime.cells.get(address)
    state, seq = runtime.state_of(address)
    return json_response({
        "address": address, "active": cell is not None, "seq": seq,
        "figures": runtime.describe(cell) if cell is not None else None,
        "timers": [{"name": t.name, "due_ms": t.due_ms, "id": t.id} for t in runtime.timers_of(address)],
        "stopped": runtime.halted.get(address),
        "state": state.model_dump(mode="json"),
    })


@admin.post("/api/v1/admin/actors/{kind}/{actor_id}/passivate",
            "snapshot an actor and unload it; answers once it has left memory")
async def admin_passivate(kind: str, actor_id: str) -> Response:
    ctx = everturn()
    address = operator_target(ctx, kind, actor_id)
    return json_response({"address": address, "passivated": await ctx.runtime.unload(address)})


@admin.post("/api/v1/admin/actors/{kind}/{actor_id}/stop",
            "stop an actor durably: it finishes its mailbox and leaves memory; until started again its "
            "commands answer 503 runtime/actor_halted and its timers are held", body=ActorStop)
async def admin_stop(kind: str, actor_id: str) -> Response:
    ctx = everturn()
    principal = operator(ctx)
    address = valid_address(f"{kind}/{actor_id}")
    body = validated(ActorStop, await json_body(empty={}))
    try:
        changed = await ctx.runtime.halt(address, body.reason, by=principal.token_id)
    except ActorError as exc:
        raise from_actor_error(exc) from exc
    return json_response({"address": address, "stopped": True, "changed": changed})


@admin.post("/api/v1/admin/actors/{kind}/{actor_id}/start",
            "start a stopped actor: commands reach it again and its held timers fire")
async def admin_start(kind: str, actor_id: str) -> Response:
    ctx = everturn()
    address = operator_target(ctx, kind, actor_id)
    return json_response({"address": address, "stopped": False, "changed": await ctx.runtime.unhalt(address)})


@admin.post("/api/v1/admin/actors/{kind}/{actor_id}/restart",
            "drain an actor's mailbox, unload it and load it again from storage")
async def admin_restart(kind: str, actor_id: str) -> Response:
    ctx = everturn()
    address = operator_target(ctx, kind, actor_id)
    return json_response({"address": address, "restarted": await ctx.runtime.restart(address)})


@admin.get("/api/v1/admin/dead-letters", "dead letters, page by page", paged=True)
async def admin_dead_letters() -> Response:
    ctx = everturn()
    operator(ctx)
    after, limit = page_args()
    return json_response(page_json(ctx.runtime.dead_letters(after=after, limit=limit + 1), limit, "n"))


# -- runtime, training, models ---------------------------------------------------------

@admin.get("/api/v1/admin/runtime", "runtime figures")
async def admin_runtime() -> Response:
    ctx = everturn()
    operator(ctx)
    return json_response(ctx.figures())


@admin.get("/api/v1/admin/runtime/history",
           "the runtime figures of the last ten minutes, one sample every interval_s (the console's plots)")
async def admin_runtime_history() -> Response:
    ctx = everturn()
    operator(ctx)
    return json_response({"interval_s": ctx.settings.sample_interval_s, "samples": list(ctx.history)})


@admin.get("/api/v1/admin/training",
           "training jobs (train/{id}) in address order, page by page: status, step of total, model name and "
           "version; start, pause, resume and cancel them with commands to train/{id}", response=TrainingPage,
           paged=True)
async def admin_training() -> Response:
    ctx = everturn()
    runtime = ctx.runtime
    operator(ctx)
    after, limit = page_args(by_name=True)
    items: list[dict[str, Any]] = []
    known = runtime.known("train/", after=after) if "train" in runtime.behaviors else iter(())
    for address in known:
        state, _ = runtime.state_of(address)
        if state.status != "new":
            items.append(training_summary(address, state))
        if len(items) > limit:
            break
    return json_response(page_json(items, limit, "address"))


@admin.get("/api/v1/admin/models",
           "the model registry: every version with its evaluation per personality (win rate, 95% interval), "
           "the gate's verdict, playable and deployed", response=ModelListing)
async def admin_models() -> Response:
    ctx = everturn()
    operator(ctx)
    root = Path(ctx.settings.models)
    return json_response({"root": str(root), "items": await ctx.runtime.workers.in_thread(model_listing, root)})


# -- clock -----------------------------------------------------------------------------

@admin.get("/api/v1/admin/clock", "the server's clock", response=ClockState)
async def admin_clock() -> Response:
    ctx = everturn()
    operator(ctx)
    return json_response(clock_json(ctx.runtime))


@admin.post("/api/v1/admin/clock/advance", "advance a virtual clock, firing due timers in order",
            response=ClockAdvanced, body=ClockAdvance)
async def admin_clock_advance() -> Response:
    ctx = everturn()
    runtime = ctx.runtime
    operator(ctx)
    body = validated(ClockAdvance, await json_body())
    clock = runtime.clock
    if not isinstance(clock, VirtualClock):
        raise ApiError(409, "clock/not_virtual", "only a server started with --clock virtual can be advanced")
    fired, settled = 0, False
    with trio.move_on_after(ctx.settings.advance_wait):
        fired = await runtime.timers.advance(clock, body.seconds)
        settled = True
    return json_response({**clock_json(runtime), "fired": fired, "settled": settled})


# -- tokens ----------------------------------------------------------------------------

@admin.post("/api/v1/admin/tokens", "create a token", response=TokenCreated, body=TokenRequest, status=201)
async def admin_tokens() -> Response:
    ctx = everturn()
    operator(ctx)
    body = validated(TokenRequest, await json_body())
    token, principal = await issue_token(ctx, body.role, body.campaign, body.character, body.acts_as)
    return json_response({"token": token, **principal.as_dict()}, 201)


@admin.get("/api/v1/admin/tokens", "every token: id, role, scope, when it was made (never a secret)",
           response=TokenListing)
async def admin_token_listing() -> Response:
    ctx = everturn()
    operator(ctx)
    return json_response({"items": ctx.tokens.listing()})


@admin.get("/api/v1/admin/sessions", "who is connected: every open websocket, its token, client address and "
           "subscriptions", response=SessionListing)
async def admin_sessions() -> Response:
    ctx = everturn()
    operator(ctx)
    sessions = sorted(ctx.sessions, key=lambda session: session.connected_at)
    return json_response({"items": [session.describe() for session in sessions]})


@admin.delete("/api/v1/admin/tokens/{token_id}", "revoke a token")
async def admin_revoke(token_id: str) -> Response:
    ctx = everturn()
    operator(ctx)
    if not ctx.tokens.revoke(token_id):
        raise not_found(f"token {token_id}")
    return json_response({"revoked": token_id})


# -- backups ---------------------------------------------------------------------------

@admin.post("/api/v1/admin/backup", "online backup (RocksDB checkpoint) into --backup-dir", status=201)
async def admin_backup() -> Response:
    ctx = everturn()
    operator(ctx)
    backup_dir = ctx.settings.backup_dir
    if backup_dir is None:
        raise ApiError(409, "backup/disabled", "start the server with --backup-dir to allow online backups")
    name = backup_name()
    target_path = f"{backup_dir}/{name}"
    if ctx.shards is not None and ctx.shards.internal() and request.headers.get(BACKUP_TARGET):
        target_path = request.headers[BACKUP_TARGET]  # this shard's part of a shard set's (server.shards.merge)
        name = Path(target_path).parents[1].name.removesuffix(PARTIAL)
    ctx.backups_running.add(name)
    try:
        target = await trio.to_thread.run_sync(ctx.runtime.backup, target_path)
    except StoreError as exc:
        raise ApiError(503, "backup/failed", str(exc)) from exc
    finally:
        ctx.backups_running.discard(name)
    return json_response({"backup": str(target)}, 201)


@admin.get("/api/v1/admin/backups", "the backups in --backup-dir, and the interrupted ones the server removed as "
           "it started (409 backup/disabled without --backup-dir)", response=BackupListing)
async def admin_backups() -> Response:
    ctx = everturn()
    operator(ctx)
    if ctx.settings.backup_dir is None:
        raise ApiError(409, "backup/disabled", "start the server with --backup-dir to allow online backups")
    listing = await ctx.runtime.workers.in_thread(backup_listing, ctx.settings.backup_dir, ctx.backups_removed,
                                                  frozenset(ctx.backups_running))
    return json_response(listing)


def backup_name() -> str:
    """A new backup's name: when, and a few random characters."""
    return time.strftime("everturn-%Y%m%dT%H%M%SZ", time.gmtime()) + f"-{secrets.token_hex(3)}"


def backup_listing(backup_dir: str, removed: list[dict[str, Any]], running: frozenset[str]) -> dict[str, Any]:
    """``GET /api/v1/admin/backups``: completed backups, and interrupted ones (cleared at start, or
    present now: not those of the backups this server is writing)."""
    present = [{"name": path.name, "path": str(path), "removed_at": None} for path in interrupted_backups(backup_dir)
               if path.name.split(PARTIAL)[0] not in running]
    return {"backup_dir": backup_dir, "items": [info.as_dict() for info in completed_backups(backup_dir)],
            "interrupted": [*removed, *present]}


def training_summary(address: str, state: Any) -> dict[str, Any]:
    """One line of ``GET /api/v1/admin/training``: where a job stands (its figures are in its state)."""
    return {"address": address, "status": state.status, "step": state.step, "total": state.total,
            "name": state.name, "model_version": state.model_version, "started_at": state.started_at,
            "updated_at": state.updated_at, "error": state.error}


def model_listing(root: Path) -> list[dict[str, Any]]:
    """The registry's versions with their evaluations (blocking file reads: run it in a thread; it never
    imports torch, see ``training.registry``)."""
    return Registry(root).listing()


def clock_json(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    return {"now": now, "virtual": isinstance(runtime.clock, VirtualClock)}
