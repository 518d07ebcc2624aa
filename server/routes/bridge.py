"""The bridge API: what Everturn asks a campaign's VTT world to do, and the long-poll a bridge takes it by.

A bridge is a token with role ``bridge`` for one campaign; the VTT world is named in the path and
each running module names itself in ``X-Bridge-Instance``, so several GMs' browsers on one world
elect one emitter (``server.bridge.lease``).  ``GET .../events`` waits up to ``timeout`` seconds for
commands; the emitter acks each by id (``POST .../acks``).  See docs/bridge.md.
"""
from __future__ import annotations

from typing import Any

import trio
from quart import Response, request

from ..bridge import module

from ..bridge.access import bind, instance_key, world_for
from ..bridge.applying import apply_events, ignored_all
from ..bridge.hub import LINGER_S, polled
from ..bridge.queue import QueueFull
from ..errors import ApiError, not_found
from ..grants import issue_token, withdraw_token
from ..requests import authenticate, created_campaign, everturn, json_body, json_response, operator, validated
from ..schemas import (
    TokenCreated, TokenListing, BridgeAcked, BridgeTokenRequest, BridgeAcks, BridgeCommand, BridgeCommandRequest, BridgeEmit, BridgeEmitted, BridgeListing, BridgePoll,
)
from .campaigns import gm_campaign
from .table import Resource

bridge = Resource("bridge", tag="bridge")
HEADERS = ({"name": "X-Bridge-Instance", "in": "header", "required": True, "schema": {"type": "string"},
            "description": "this running module's id (one per browser): the world's bridges elect one emitter"},)
POLL = ({"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0},
         "description": "the since of the last answer: commands already seen come again only if left unacked "
                        "for 30 s"},
        {"name": "timeout", "in": "query", "schema": {"type": "number", "minimum": 0, "maximum": 25},
         "description": "seconds to wait for a command when none is due (default 25)"})


def world_of(campaign_id: str, world: str, bridges_only: bool) -> tuple[str, Any]:
    """The world's queue key and the request's principal (``server.bridge.access``)."""
    ctx = everturn()
    principal = authenticate(ctx)
    return world_for(ctx, principal, campaign_id, world, bridges_only), principal


def instance_of(principal: Any) -> str:
    return instance_key(principal, request.headers.get("X-Bridge-Instance", ""))


@bridge.post("/api/v1/campaigns/{campaign_id}/bridge/{world}/commands",
             "GM: queue a command for the world's VTT (durable, prioritised, acked, expiring); 429 "
             "bridge/queue_full when the world's queue is full for its priority", body=BridgeCommandRequest,
             response=BridgeCommand, status=201)
async def send_command(campaign_id: str, world: str) -> Response:
    ctx = everturn()
    key, _ = world_of(campaign_id, world, bridges_only=False)
    body = validated(BridgeCommandRequest, await json_body())
    try:
        record = ctx.bridges.enqueue(key, body.kind, body.data, ctx.runtime.clock.now(), body.ttl_s, body.id)
    except QueueFull as exc:
        raise ApiError(429, exc.code, str(exc), {"priority": exc.priority, "depth": exc.depth}, retry_after=5) from exc
    return json_response(record, 201)


@bridge.get("/api/v1/campaigns/{campaign_id}/bridge/{world}/commands/{command_id}",
            "GM: a command as it stands: queued, acked, failed (with the VTT's reason) or expired",
            response=BridgeCommand)
async def command_status(campaign_id: str, world: str, command_id: str) -> Response:
    ctx = everturn()
    key, _ = world_of(campaign_id, world, bridges_only=False)
    record = ctx.bridges.queue.find(key, command_id)
    if record is None:
        raise not_found(f"bridge command {command_id}")
    return json_response(record)


@bridge.get("/api/v1/campaigns/{campaign_id}/bridge/{world}/events",
            "bridge: the commands to carry out (long-poll), and whether this module is the world's emitter",
            response=BridgePoll, headers=HEADERS, query=POLL)
async def poll(campaign_id: str, world: str) -> Response:
    ctx = everturn()
    key, principal = world_of(campaign_id, world, bridges_only=True)
    instance = instance_of(principal)
    try:
        since = int(request.args.get("since", "0"))
        timeout = float(request.args.get("timeout", "25"))
    except ValueError:
        raise ApiError(400, "bridge/bad_query", "since is a whole number, timeout a number of seconds") from None
    if since < 0 or not 0 <= timeout <= 25:
        raise ApiError(400, "bridge/bad_query", "since >= 0 and 0 <= timeout <= 25")
    was = ctx.bridges.heartbeat(key, instance, principal.token_id)  # a standby's poll returns when it takes over
    try:
        commands, emitter = await ctx.bridges.due(key, instance, principal.token_id, since, ctx.runtime.clock.now,
                                                  timeout, was=was, linger=LINGER_S)
    except trio.Cancelled:  # the bridge hung up while it waited: it has left, its lease goes at once
        ctx.bridges.release(key, instance)
        raise
    return json_response(polled(commands, emitter, since))


@bridge.post("/api/v1/campaigns/{campaign_id}/bridge/{world}/acks",
             "bridge: commands carried out (ok) or not (with a reason); acking twice changes nothing",
             body=BridgeAcks, response=BridgeAcked, headers=HEADERS)
async def acks(campaign_id: str, world: str) -> Response:
    ctx = everturn()
    key, principal = world_of(campaign_id, world, bridges_only=True)
    body = validated(BridgeAcks, await json_body())
    ctx.bridges.heartbeat(key, instance_of(principal), principal.token_id)
    now = ctx.runtime.clock.now()
    items = ctx.bridges.queue.ack_many(key, [(a.id, a.ok, a.reason) for a in body.acks], now)
    return json_response({"items": items})


@bridge.post("/api/v1/campaigns/{campaign_id}/bridge/{world}/emit",
             "bridge: what happened in the VTT (chat, scenes, rolls, combat, actors' HP and conditions), each by "
             "the VTT's id: applied once and answered once durable; only the world's emitter's events are taken", body=BridgeEmit,
             response=BridgeEmitted, headers=HEADERS)
async def emit(campaign_id: str, world: str) -> Response:
    ctx = everturn()
    key, principal = world_of(campaign_id, world, bridges_only=True)
    body = validated(BridgeEmit, await json_body())
    emitter = ctx.bridges.heartbeat(key, instance_of(principal), principal.token_id)
    if not emitter:
        return json_response({"emitter": False, "items": ignored_all(body.events)})
    return json_response({"emitter": True, "items": await apply_events(ctx, campaign_id, world, body.events,
                                                                       principal.as_dict())})


@bridge.get("/api/v1/admin/bridges", "operators: every VTT world's bridges: the elected emitter, who is connected, "
            "the queue's depth by priority, the oldest command's age, expired and failed counts",
            response=BridgeListing, tag="operators")
async def admin_bridges() -> Response:
    ctx = everturn()
    operator(ctx)
    now = ctx.runtime.clock.now()
    return json_response({"items": [ctx.bridges.describe(world, now) for world in ctx.bridges.worlds()]})


# -- the GM's side: bridge tokens for the campaign, and its worlds -------------------------------------------------

GM_ONLY = "a campaign's bridges are for its GM (or an operator)"


@bridge.post("/api/v1/campaigns/{campaign_id}/bridge-tokens", "GM: a token for the campaign's VTT bridge (role bridge; "
             "shown once): paste it in the VTT module's settings; it serves one world, the one named or else the "
             "first it is used with", body=BridgeTokenRequest, response=TokenCreated, status=201)
async def gm_bridge_token(campaign_id: str) -> Response:
    ctx = everturn()
    address, _ = gm_campaign(ctx, campaign_id, GM_ONLY)
    body = validated(BridgeTokenRequest, await json_body(empty={}))
    created_campaign(ctx, address)
    token, principal = await issue_token(ctx, "bridge", campaign_id)
    if body.world is not None:
        bind(ctx.tokens, principal.token_id, body.world)
    return json_response({"token": token, **principal.as_dict(), "world": body.world}, 201)


@bridge.get("/api/v1/campaigns/{campaign_id}/bridge-tokens", "GM: the campaign's bridge tokens (never a secret)",
            response=TokenListing)
async def gm_bridge_tokens(campaign_id: str) -> Response:
    ctx = everturn()
    gm_campaign(ctx, campaign_id, GM_ONLY)
    return json_response({"items": campaign_bridge_tokens(ctx, campaign_id)})


@bridge.delete("/api/v1/campaigns/{campaign_id}/bridge-tokens/{token_id}", "GM: revoke one of the campaign's bridge "
               "tokens (its module stops at its next request)", response=TokenListing)
async def gm_revoke_bridge_token(campaign_id: str, token_id: str) -> Response:
    ctx = everturn()
    gm_campaign(ctx, campaign_id, GM_ONLY)
    if not any(t["token_id"] == token_id for t in campaign_bridge_tokens(ctx, campaign_id)):
        raise not_found(f"bridge token {token_id}")
    await withdraw_token(ctx, token_id)
    return json_response({"items": campaign_bridge_tokens(ctx, campaign_id)})


def campaign_bridge_tokens(ctx: Any, campaign_id: str) -> list[dict[str, Any]]:
    return [t for t in ctx.tokens.listing() if t["role"] == "bridge" and t["campaign"] == campaign_id]


@bridge.get("/api/v1/campaigns/{campaign_id}/bridges", "GM: the campaign's VTT worlds as operators see them (the "
            "emitter, who is connected, the queue) and where the VTT installs the module from",
            response=BridgeListing)
async def gm_bridges(campaign_id: str) -> Response:
    ctx = everturn()
    gm_campaign(ctx, campaign_id, GM_ONLY)
    now = ctx.runtime.clock.now()
    return json_response({"items": [ctx.bridges.describe(world, now) for world in ctx.bridges.worlds(campaign_id)],
                          "manifest_url": f"{here()}/bridge/foundry/module.json"})


MANIFEST = {"description": "the Foundry module's manifest", "content": {"application/json": {"schema": {"type": "object"}}}}
ZIP = {"description": "the Foundry module", "content": {"application/zip": {"schema": {"type": "string",
                                                                                        "format": "binary"}}}}


def here() -> str:
    return module.base_url(request.scheme, request.host, {k.lower(): v for k, v in request.headers.items()
                                                          if k.lower().startswith("x-forwarded-")})


@bridge.get("/bridge/foundry/module.json", "the Foundry VTT module's manifest: paste this URL in Foundry's "
            "Install Module dialog (its download names this server as the request reached it)", response=MANIFEST,
            secured=False)
async def foundry_manifest() -> Response:
    return Response(module.manifest(here()), content_type="application/json")


@bridge.get(f"/bridge/foundry/{module.ZIP_NAME}", "the Foundry VTT module, as Foundry installs it", response=ZIP,
            secured=False)
async def foundry_module() -> Response:
    return Response(module.archive(here()), content_type="application/zip",
                    headers={"Content-Disposition": f"attachment; filename={module.ZIP_NAME}"})
