"""What one shard asks of another and no client may: copy a token's record here, or delete it.

Served on every shard, answered only to a request that carries the shards' secret
(``server.shards.forwarding.Shards.internal``); to anyone else these paths do not exist.
"""
from __future__ import annotations

import orjson
from quart import Blueprint, Response, request

from ..errors import not_found
from ..requests import everturn, json_response

internal = Blueprint("shards_internal", __name__)


@internal.put("/internal/v1/tokens/<token_id>")
async def put_token(token_id: str) -> Response:
    ctx = everturn()
    if ctx.shards is None or not ctx.shards.internal():
        raise not_found(request.path)
    ctx.tokens.put_record(token_id, orjson.loads(await request.get_data()))
    return json_response({"stored": token_id}, 201)


@internal.delete("/internal/v1/tokens/<token_id>")
async def delete_token(token_id: str) -> Response:
    ctx = everturn()
    if ctx.shards is None or not ctx.shards.internal():
        raise not_found(request.path)
    return json_response({"revoked": ctx.tokens.revoke(token_id)})


async def forget_token(ctx: object, token_id: str) -> None:
    """Delete token ``token_id`` on every other shard; raises ``RuntimeError`` when one does not answer."""
    import httpx

    shards = ctx.shards  # type: ignore[attr-defined]
    for shard in shards.peers.others():
        try:
            answer = await shards.send(shard, method="DELETE", path=f"/internal/v1/tokens/{token_id}")
        except httpx.HTTPError as exc:
            raise RuntimeError(f"shard {shard} did not answer: {exc}") from exc
        if answer.status_code != 200:
            raise RuntimeError(f"shard {shard} answered {answer.status_code}")


async def replicate_token(ctx: object, token_id: str) -> None:
    """Copy token ``token_id``'s record from this shard to every other; raises ``RuntimeError`` when
    one does not take it."""
    import httpx

    shards, tokens = ctx.shards, ctx.tokens  # type: ignore[attr-defined]
    body = orjson.dumps(tokens.record(token_id))
    for shard in shards.peers.others():
        try:
            answer = await shards.send(shard, method="PUT", path=f"/internal/v1/tokens/{token_id}", body=body)
        except httpx.HTTPError as exc:
            raise RuntimeError(f"shard {shard} did not answer: {exc}") from exc
        if answer.status_code != 201:
            raise RuntimeError(f"shard {shard} answered {answer.status_code}")
