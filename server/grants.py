"""Tokens made and withdrawn for a request: an operator's new token, a claimed invite's player token.

A sharded server's shards each verify every token, so a token made here is copied to the
others before anyone is told of it, and a withdrawn one is deleted from all of them.
"""
from __future__ import annotations

from actors import ActorError

from .auth import Principal, TokenError
from .context import Everturn
from .errors import ApiError


async def issue_token(ctx: Everturn, role: str, campaign: str | None = None, character: str | None = None,
                      acts_as: str | None = None) -> tuple[str, Principal]:
    """A new token (the secret, shown once, and its principal); 422 ``token/invalid`` for a bad scope,
    503 ``token/not_replicated`` when a shard did not take it (then nothing was made)."""
    try:
        token, principal = ctx.tokens.create(role, campaign, character, acts_as)
    except (TokenError, ActorError) as exc:
        raise ApiError(422, "token/invalid", str(exc)) from exc
    if ctx.shards is not None:
        from .shards.internal import replicate_token

        try:
            await replicate_token(ctx, principal.token_id)
        except (OSError, RuntimeError) as exc:
            await withdraw_token(ctx, principal.token_id)
            raise ApiError(503, "token/not_replicated", f"a shard did not take the new token ({exc}); nothing was "
                           "created, try again") from exc
    return token, principal


async def withdraw_token(ctx: Everturn, token_id: str) -> bool:
    """Revoke ``token_id`` here and on every other shard; True when this shard knew it."""
    known = ctx.tokens.revoke(token_id)
    if ctx.shards is not None:
        from .shards.internal import forget_token

        await forget_token(ctx, token_id)
    return known
