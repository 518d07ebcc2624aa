"""Who may do what with a world's bridge, the same over HTTP and the websocket: bridge tokens (and
operators) poll, ack and emit; the campaign's GM (and operators) send commands."""
from __future__ import annotations

import re
from typing import Any

from actors.roles import is_gm

from ..errors import ApiError
from ..requests import created_campaign, reachable
from .queue import world_key

WORLD = re.compile(r"[A-Za-z0-9_.-]{1,64}")
INSTANCE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def world_for(ctx: Any, principal: Any, campaign_id: str, world: str, bridges_only: bool) -> str:
    """The world's queue key, once ``principal`` may use it; 404 for a campaign it cannot reach, 403 for the
    wrong role."""
    address = reachable(ctx, principal, f"campaign/{campaign_id}")
    if not WORLD.fullmatch(world):
        raise ApiError(400, "bridge/bad_world", "a world id takes 1-64 letters, digits, '.', '-' or '_'")
    # operators may do both; otherwise a bridge token polls and a GM's sends
    allowed = (principal.role == "bridge" or principal.operator) if bridges_only else is_gm(principal.as_dict())
    if not allowed:
        raise ApiError(403, "bridge/forbidden", "bridge tokens poll and ack; the GM sends commands")
    created_campaign(ctx, address)
    if principal.role == "bridge":
        bind(ctx.tokens, principal.token_id, world)
    return world_key(campaign_id, world)


def bind(tokens: Any, token_id: str, world: str) -> None:
    """A bridge token serves one world: the one it was made for, else the first it is used with; 403
    ``bridge/wrong_world`` for any other."""
    record = tokens.record(token_id)
    if record is None:  # revoked a moment ago: its next request is refused anyway
        return
    bound = record.get("world")
    if bound is None:
        tokens.put_record(token_id, {**record, "world": world})
    elif bound != world:
        raise ApiError(403, "bridge/wrong_world", f"this bridge token is for VTT world {bound!r}, not {world!r}: "
                       "make the world's own token (a token per world)")


def instance_key(principal: Any, instance: Any) -> str:
    """A running module's key among the world's bridges: its token's id and the instance id it gave."""
    if not isinstance(instance, str) or not INSTANCE.fullmatch(instance):
        raise ApiError(400, "bridge/no_instance", "name this module's instance (X-Bridge-Instance, or \"instance\" "
                       "on the websocket): 1-64 letters, digits, '.', ':', '-' or '_'")
    return f"{principal.token_id}:{instance}"
