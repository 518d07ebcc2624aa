"""Actors as any client reaches them: send a command, read the state, page through the journal."""
from __future__ import annotations

import re

from quart import Response, request

from ..errors import ApiError
from ..requests import (
    admitted, ask, authenticate, event_json, everturn, existing, json_body, json_response, page_args, page_json,
    parse_command, projected_events, reachable, state_json,
)
from ..schemas import ActorState, CommandAck, EventPage
from .table import COMMAND, Resource

actors = Resource("actors", tag="actors")
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@actors.post("/api/v1/actors/{kind}/{actor_id}/commands", "send a command; durable once acknowledged",
             response=CommandAck, body=COMMAND, headers=(
                 {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 128},
                  "description": "a retry with the same key returns the same ack, applied once"},))
async def post_command(kind: str, actor_id: str) -> Response:
    ctx = everturn()
    principal = authenticate(ctx)
    address = reachable(ctx, principal, f"{kind}/{actor_id}")
    command = parse_command(ctx.runtime, address, await json_body())
    admitted(ctx, address, command)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(400, "bad_idempotency_key", "Idempotency-Key: 1-128 of letters, digits, '.', '_', ':', '-'")
    ack = await ask(ctx.runtime, address, command, principal,
                    idempotency_key=f"{principal.token_id}:{key}" if key else None)
    return json_response({"address": address, "seq": ack.seq, "events": ack.events})


@actors.get("/api/v1/actors/{kind}/{actor_id}",
            "an actor's current state, as this token may see it (a strategy game's player: its house's fog of "
            "war, never the board; the full state is GET /api/v1/admin/actors/{kind}/{actor_id})",
            response=ActorState)
async def get_actor(kind: str, actor_id: str) -> Response:
    ctx = everturn()
    runtime = ctx.runtime
    principal = authenticate(ctx)
    address = reachable(ctx, principal, f"{kind}/{actor_id}")
    state, seq = runtime.state_of(existing(ctx, address))
    return json_response({"address": address, "seq": seq,
                          "state": state_json(runtime.behavior_of(address), state, principal.as_dict())})


@actors.get("/api/v1/actors/{kind}/{actor_id}/events",
            "an actor's journal, page by page, each event as this token may see it (a strategy game's player: "
            "its own orders only, and its house's view after each turn)", response=EventPage, paged=True)
async def get_events(kind: str, actor_id: str) -> Response:
    ctx = everturn()
    runtime = ctx.runtime
    principal = authenticate(ctx)
    address = reachable(ctx, principal, f"{kind}/{actor_id}")
    after, limit = page_args()
    existing(ctx, address)
    behavior, viewer = runtime.behavior_of(address), principal.as_dict()
    wanted = limit + 1
    if (head := runtime.acknowledged(address)) is not None:  # never an event whose write is not yet durable
        wanted = max(0, min(wanted, head - after))
    if behavior.projects(viewer):
        items = await runtime.workers.in_thread(projected_events, runtime, address, after, wanted, viewer)
    else:
        items = [{"seq": seq, **event_json(behavior, stored)}
                 for seq, stored in runtime.journal(address, after=after, limit=wanted)]
    return json_response(page_json(items, limit, "seq"))
