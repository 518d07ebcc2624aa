"""A campaign's bestiary over HTTP: the GM saves, edits, lists and removes creature stat blocks."""
from __future__ import annotations

import re

from quart import Response

from ..bestiary import KEPT
from ..errors import ApiError, not_found
from ..requests import created_campaign, everturn, json_body, json_response, validated
from ..schemas import Creature, CreatureListing, CreatureRequest
from .campaigns import gm_campaign
from .table import Resource

bestiary = Resource("bestiary", tag="campaigns")
GM_ONLY = "the bestiary is the campaign's GM's (or an operator's)"
CREATURE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@bestiary.get("/api/v1/campaigns/{campaign_id}/bestiary", "GM: the campaign's saved creatures, by name",
              response=CreatureListing)
async def list_creatures(campaign_id: str) -> Response:
    ctx = everturn()
    address, _ = gm_campaign(ctx, campaign_id, GM_ONLY)
    created_campaign(ctx, address)
    return json_response({"items": ctx.bestiary.creatures(campaign_id)})


@bestiary.put("/api/v1/campaigns/{campaign_id}/bestiary/{creature_id}",
              "GM: save a creature (new, or a new version of one): its normal stat block", body=CreatureRequest,
              response=Creature)
async def save_creature(campaign_id: str, creature_id: str) -> Response:
    ctx = everturn()
    address, _ = gm_campaign(ctx, campaign_id, GM_ONLY)
    if not CREATURE_ID.fullmatch(creature_id):
        raise ApiError(400, "bestiary/bad_id", "a creature id takes 1-64 letters, digits, '-' or '_'")
    body = validated(CreatureRequest, await json_body())
    created_campaign(ctx, address)
    book = ctx.bestiary
    if book.get(campaign_id, creature_id) is None and len(book.creatures(campaign_id)) >= KEPT:
        raise ApiError(409, "bestiary/full", f"a bestiary holds {KEPT} creatures; remove some first")
    record = {"creature_id": creature_id, **body.model_dump(mode="json"), "updated": ctx.runtime.clock.now()}
    book.put(campaign_id, record)
    return json_response(record)


@bestiary.delete("/api/v1/campaigns/{campaign_id}/bestiary/{creature_id}", "GM: remove a creature",
                 response=Creature)
async def remove_creature(campaign_id: str, creature_id: str) -> Response:
    ctx = everturn()
    address, _ = gm_campaign(ctx, campaign_id, GM_ONLY)
    book = ctx.bestiary
    record = book.get(campaign_id, creature_id)
    if record is None:
        raise not_found(f"creature {creature_id}")
    book.delete(campaign_id, creature_id)
    return json_response(record)
