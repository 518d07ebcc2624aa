"""Campaigns: the list a token reaches, and the GM's own views (encounter estimates, the GM status)."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import Any

import trio
from quart import Response

from actors.campaign.behavior import encounter_difficulty
from actors.campaign.status import gm_status as campaign_status
from actors.campaign.status import summary as campaign_summary
from actors.roles import is_gm
from engine_ext.combat import estimate

from ..auth import Principal
from ..context import Everturn
from ..bridge.hub import gm_tasks
from ..errors import ApiError, not_found
from ..requests import (
    authenticate, created_campaign, everturn, json_body, json_response, page_args, page_json, reachable, validated,
)
from ..schemas import CampaignPage, ClockState, EstimateRequest, GmStatus
from .admin import clock_json
from .table import Resource

campaigns = Resource("campaigns", tag="campaigns")
log = logging.getLogger("everturn.server")


@campaigns.get("/api/v1/campaigns", "the campaigns this token reaches (an operator: all of them), in id order, "
               "page by page", response=CampaignPage, paged=True)
async def list_campaigns() -> Response:
    ctx = everturn()
    runtime = ctx.runtime
    principal = authenticate(ctx)
    after, limit = page_args(by_name=True)
    if "campaign" not in runtime.behaviors:  # a server hosting other kinds only: no campaigns to list
        addresses: Iterator[str] = iter(())
    elif principal.operator:
        addresses = runtime.known("campaign/", after=after)
    else:
        own = f"campaign/{principal.campaign}"
        addresses = iter([own] if own > after else [])
    items: list[dict[str, Any]] = []
    for address in addresses:
        state, _ = runtime.state_of(address)
        if state.created:
            items.append({**campaign_summary(state, address.split("/", 1)[1]), "address": address})
        if len(items) > limit:
            break
    return json_response(page_json(items, limit, "address"))


@campaigns.get("/api/v1/clock", "the server's clock for any token: the time every countdown counts to (a virtual "
               "clock moves only when an operator advances it)", response=ClockState)
async def clock() -> Response:
    ctx = everturn()
    authenticate(ctx)
    return json_response(clock_json(ctx.runtime))


@campaigns.post("/api/v1/campaigns/{campaign_id}/encounters/estimate",
                "GM: the XP budget and threat of an encounter, and the party's odds from simulated fights (win "
                "probability, expected rounds, knockouts and deaths with 95% intervals)", body=EstimateRequest)
async def estimate_encounter(campaign_id: str) -> Response:
    ctx = everturn()
    address, _ = gm_campaign(ctx, campaign_id, "encounter estimates are for the campaign's GM (or an operator)")
    body = validated(EstimateRequest, await json_body())
    state = created_campaign(ctx, address)
    try:
        report, fighters = encounter_difficulty(state, body)
    except ValueError as exc:
        raise ApiError(422, "estimate/invalid", str(exc)) from exc
    seed = body.seed if body.seed is not None else secrets.randbits(63)
    result = await trio.to_thread.run_sync(estimate, fighters, body.fights, seed, body.max_rounds)
    log.info("encounter estimate", extra={"campaign": campaign_id, "seed": seed, "fights": body.fights})
    return json_response({"budget": report, "estimate": result})


@campaigns.get("/api/v1/campaigns/{campaign_id}/gm/status",
               "the GM's orders: what to do next, exact endpoints, and the countdowns the server keeps",
               response=GmStatus)
async def gm_status(campaign_id: str) -> Response:
    ctx = everturn()
    address, _ = gm_campaign(ctx, campaign_id, "the GM status is for the campaign's GM (or an operator)")
    state = created_campaign(ctx, address)
    now = ctx.runtime.clock.now()
    status = campaign_status(state, campaign_id, now)
    # the VTT's bridges are the server's, not the campaign's
    worlds = [ctx.bridges.describe(w, now) for w in ctx.bridges.worlds(campaign_id)]
    status = {**status, "bridges": worlds}
    bridged = gm_tasks(worlds)
    if bridged:
        status = {**status, "gm_tasks": [*bridged, *status["gm_tasks"]], "needs_attention": True}
    return json_response(status)


def gm_campaign(ctx: Everturn, campaign_id: str, refusal: str) -> tuple[str, Principal]:
    """The campaign's address and the request's principal, for its GM or an operator only (else 403
    ``campaign/gm_only``, ``refusal``)."""
    principal = authenticate(ctx)
    address = reachable(ctx, principal, f"campaign/{campaign_id}")
    if not is_gm(principal.as_dict()):
        raise ApiError(403, "campaign/gm_only", refusal)
    return address, principal


