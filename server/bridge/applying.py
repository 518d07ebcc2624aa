"""A world's emitted events applied to its campaign: the same for the long-poll's ``POST .../emit`` and the
websocket's ``bridge.emit``.

Each event is planned (``server.bridge.events``) against the campaign's state and its running
encounter's, and each step asked of the actor with an idempotency key made from the world and the
VTT's id: applied once, answered once durable.  The steps the bridge takes as the GM run with the
bridge's principal vouched as the campaign's GM; all of them carry ``via``, so the posts they make
are not sent back to the world they came from.
"""
from __future__ import annotations

from typing import Any

import trio

from actors import ActorError, Published, Snapshot
from actors.combat.messages import EncounterBegun

from ..errors import from_actor_error
from .events import Ignored, Unmapped, plan

MAX_STEPS = 64  # one event never asks more than this (a turn moved round the whole order, twice)
BEGIN_WAIT_S = 5.0  # how long an event waits for an encounter the campaign has just started to begin


def result(event_id: str, status: str, seq: int | None = None, code: str | None = None,
           message: str | None = None) -> dict[str, Any]:
    """One emitted event's answer, every field present."""
    return {"id": event_id, "status": status, "seq": seq, "code": code, "message": message}


def ignored_all(events: list[Any]) -> list[dict[str, Any]]:
    return [result(e.id, "ignored", message="another bridge of this world is its emitter") for e in events]


async def apply_events(ctx: Any, campaign_id: str, world: str, events: list[Any],
                       by: dict[str, Any]) -> list[dict[str, Any]]:
    """Each event's answer, in order; one that cannot apply is refused and the others still apply."""
    via = f"bridge:{world}"
    as_bridge = {**by, "via": via}
    as_gm = {**as_bridge, "role": "gm", "campaign": campaign_id}
    items = []
    for event in events:
        try:
            seq = await apply_one(ctx, f"campaign/{campaign_id}", f"{via}:{event.id}", event, as_bridge, as_gm)
        except Ignored as exc:
            items.append(result(event.id, "ignored", message=str(exc)))
        except Unmapped as exc:
            items.append(result(event.id, "refused", code=exc.code, message=str(exc)))
        except ActorError as exc:
            error = from_actor_error(exc)
            items.append(result(event.id, "refused", code=error.code, message=error.message))
        else:
            items.append(result(event.id, "applied", seq=seq))
    return items


async def apply_one(ctx: Any, campaign: str, key: str, event: Any, as_bridge: dict[str, Any],
                    as_gm: dict[str, Any]) -> int | None:
    """The seq of the last command the event made (None: it had nothing to change)."""
    runtime, seq = ctx.runtime, None
    for _ in range(MAX_STEPS):
        state, _ = runtime.state_of(campaign)
        view = state.encounter
        encounter = await begun(runtime, view.address) if view is not None else None
        steps = plan(event.type, event.data, state, encounter)
        for step in steps:
            address = campaign if step.to == "campaign" else view.address
            ack = await runtime.ask(address, step.command, wait_for_room=False, by=as_gm if step.as_gm else as_bridge,
                                    idempotency_key=f"{key}:{step.key}" if step.key else key)
            seq = ack.seq
        if not any(step.again for step in steps):
            if event.type == "combat_start" and steps:  # applied: the encounter runs, its first turn too
                view = runtime.state_of(campaign)[0].encounter
                if view is not None:
                    await begun(runtime, view.address)
            return seq
    raise Unmapped("bridge/too_many_steps", f"the event asked more than {MAX_STEPS} changes; not all were made")


async def begun(runtime: Any, address: str) -> Any:
    """The encounter's state, once it has begun: the campaign starts it by a message after its own
    answer, so a VTT's first turn may come before the encounter has rolled its initiatives."""
    encounter = runtime.state_of(address)[0]
    if encounter.begun:
        return encounter
    with trio.move_on_after(BEGIN_WAIT_S):  # its stream says when, rather than asking again and again
        async with runtime.subscribe(address) as items:
            async for item in items:
                if isinstance(item, Published) and isinstance(item.event, EncounterBegun) or \
                        isinstance(item, Snapshot) and item.state.begun:
                    break
    return runtime.state_of(address)[0]
