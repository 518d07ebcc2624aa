"""Outbound webhooks of a campaign: a GM's for the table or for itself, a player's for their own turns.

Each webhook gets a secret, shown once, that signs every delivery (``server.webhooks.sending``).
The URL is checked against the request-forgery guard when it is given (``server.webhooks.targets``)
and again at every delivery.
"""
from __future__ import annotations

import secrets
from typing import Any

import trio
from quart import Response

from actors.roles import is_gm

from ..errors import ApiError, not_found
from ..requests import authenticate, created_campaign, everturn, json_body, json_response, reachable, validated
from ..schemas import Webhook, WebhookCreated, WebhookListing, WebhookRequest
from ..webhooks.records import HOOKS_PER_CAMPAIGN
from ..webhooks.targets import TargetRefused, resolve
from .table import Resource

webhooks = Resource("webhooks", tag="campaigns")


def owner(ctx: Any, campaign_id: str) -> tuple[str, Any]:
    principal = authenticate(ctx)
    return reachable(ctx, principal, f"campaign/{campaign_id}"), principal


@webhooks.post("/api/v1/campaigns/{campaign_id}/webhooks",
               "add a webhook: the table's notices (your turn, an hour left, a deadline approaching, whispers, "
               "mentions, the GM's narration) POSTed as Discord-compatible JSON, signed, retried with backoff",
               body=WebhookRequest, response=WebhookCreated, status=201)
async def add_webhook(campaign_id: str) -> Response:
    ctx = everturn()
    address, principal = owner(ctx, campaign_id)
    body = validated(WebhookRequest, await json_body())
    state = created_campaign(ctx, address)
    gm = is_gm(principal.as_dict())
    scope = body.scope or ("table" if gm else "player")
    player_id = body.player_id if gm else principal.character
    if not gm and (scope != "player" or body.player_id not in (None, principal.character)):
        raise ApiError(403, "webhook/own_only", "a player adds webhooks for their own notices only (scope player)")
    if scope == "player" and (player_id is None or player_id not in state.players):
        raise ApiError(422, "webhook/no_player", "a player webhook names a player who has joined (player_id)")
    service = ctx.webhooks
    if len(service.records.hooks(campaign_id)) >= HOOKS_PER_CAMPAIGN:
        raise ApiError(409, "webhook/too_many", f"a campaign has at most {HOOKS_PER_CAMPAIGN} webhooks")
    try:
        await trio.to_thread.run_sync(resolve, body.url, service.allow_private)
    except TargetRefused as exc:
        raise ApiError(422, "webhook/refused_target", str(exc)) from exc
    record = {"hook_id": secrets.token_hex(6), "campaign": campaign_id, "url": body.url, "scope": scope,
              "player_id": player_id if scope == "player" else None, "kinds": list(dict.fromkeys(body.kinds)),
              "secret": secrets.token_urlsafe(32), "created": ctx.runtime.clock.now(), "by": principal.token_id}
    service.records.add_hook(record, ctx.runtime.state_of(address)[1])
    service.watch(campaign_id)
    return json_response({**shown(service, record), "secret": record["secret"]}, 201)


@webhooks.get("/api/v1/campaigns/{campaign_id}/webhooks",
              "the campaign's webhooks and their deliveries (the GM: all of them; a player: their own)",
              response=WebhookListing)
async def list_webhooks(campaign_id: str) -> Response:
    ctx = everturn()
    address, principal = owner(ctx, campaign_id)
    created_campaign(ctx, address)
    service = ctx.webhooks
    mine = [hook for hook in service.records.hooks(campaign_id) if may_see(principal, hook)]
    return json_response({"items": [shown(service, hook) for hook in mine]})


@webhooks.delete("/api/v1/campaigns/{campaign_id}/webhooks/{hook_id}", "remove a webhook (the GM: any; a "
                 "player: their own); what it still had to send is dropped", response=Webhook)
async def remove_webhook(campaign_id: str, hook_id: str) -> Response:
    ctx = everturn()
    _, principal = owner(ctx, campaign_id)
    service = ctx.webhooks
    hook = service.records.hook(campaign_id, hook_id)
    if hook is None or not may_see(principal, hook):
        raise not_found(f"webhook {hook_id}")
    answer = shown(service, hook)
    service.records.remove_hook(campaign_id, hook_id)
    service.forget(campaign_id)
    return json_response(answer)


def may_see(principal: Any, hook: dict[str, Any]) -> bool:
    return is_gm(principal.as_dict()) or (hook["scope"] == "player" and hook["player_id"] == principal.character)


def shown(service: Any, hook: dict[str, Any]) -> dict[str, Any]:
    """A webhook without its secret, with what it waits to send and its last tries."""
    waiting = [{"id": d["id"], "kind": d["kind"], "text": d["text"][:200], "status": "waiting",
                "attempts": d["attempts"], "http_status": None, "error": None, "at": d["next_at"], "retry_at": None}
               for d in service.records.outbox() if d["hook"] == hook["hook_id"] and d["attempts"] == 0]
    return {"hook_id": hook["hook_id"], "url": hook["url"], "scope": hook["scope"], "player_id": hook["player_id"],
            "kinds": hook["kinds"], "created": hook["created"],
            "deliveries": [*waiting[:20], *service.records.log(hook["hook_id"])]}
