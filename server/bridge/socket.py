"""The bridge on the websocket protocol: a session's ``bridge.*`` frames (docs/bridge.md).

A module attaches to its world (``bridge.attach``); from then on a task of the session follows the
world for it (:meth:`Hub.due`): it pushes ``bridge.commands`` as commands fall due and
``bridge.emitter`` when the module becomes or stops being the world's emitter, and holds the lease
while the socket is open.  The socket closing (or ``bridge.detach``) frees the lease at once, so
another bridge of the world takes over without waiting for it to lapse.  ``bridge.ack`` and
``bridge.emit`` are the long-poll's ``POST .../acks`` and ``POST .../emit``.
"""
from __future__ import annotations

from typing import Any

import trio

from ..errors import ApiError
from ..requests import cost_of, validated
from ..schemas import BridgeAcks, BridgeEmit
from .access import instance_key, world_for
from .applying import apply_events, ignored_all
from .hub import MAX_WAIT_S, polled


class Attached:
    """One session's attached worlds: world key -> (the instance's key, the task following it)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.worlds: dict[str, tuple[str, trio.CancelScope]] = {}

    async def handle(self, message: dict[str, Any]) -> None:
        kind, request_id = message["type"], message.get("id")
        try:
            campaign, world, key = self.world(message)
            if kind == "bridge.attach":
                await self.attach(request_id, world, key, message)
            elif kind == "bridge.detach":
                self.detach(key)
                await self.session.send({"type": "bridge.detached", "id": request_id, "world": world})
            elif kind in ("bridge.ack", "bridge.emit"):
                attached = self.worlds.get(key)
                if attached is None:
                    raise ApiError(409, "bridge/not_attached", f"send bridge.attach for world {world} first")
                await self.answer(kind, request_id, campaign, world, key, attached[0], message)
            else:
                raise ApiError(400, "bad_message", f"unknown message type {kind!r}")
        except ApiError as exc:
            extra = {"details": exc.details} if exc.details is not None else {}
            await self.session.error(exc.code, exc.message, request_id, **extra)

    def world(self, message: dict[str, Any]) -> tuple[str, str, str]:
        principal = self.session.principal
        campaign = message.get("campaign") or principal.campaign
        world = message.get("world")
        if not isinstance(campaign, str) or not isinstance(world, str):
            raise ApiError(400, "bad_message", 'name the "world" (and, for an operator, the "campaign")')
        return campaign, world, world_for(self.session.ctx, principal, campaign, world, bridges_only=True)

    async def attach(self, request_id: Any, world: str, key: str, message: dict[str, Any]) -> None:
        since = message.get("since", 0)
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            raise ApiError(400, "bad_since", '"since" is the last bridge.commands\' since (integer >= 0)')
        principal, hub = self.session.principal, self.session.ctx.bridges
        instance = instance_key(principal, message.get("instance"))
        self.detach(key)
        emitter = hub.heartbeat(key, instance, principal.token_id)
        await self.session.send({"type": "bridge.attached", "id": request_id, "world": world, "emitter": emitter,
                                 "since": since})
        scope = trio.CancelScope()
        self.worlds[key] = (instance, scope)
        self.session.nursery.start_soon(self.follow, world, key, instance, since, emitter, scope)

    def detach(self, key: str) -> None:
        attached = self.worlds.pop(key, None)
        if attached is not None:
            attached[1].cancel()
            self.session.ctx.bridges.release(key, attached[0])

    async def follow(self, world: str, key: str, instance: str, since: int, was: bool,
                     scope: trio.CancelScope) -> None:
        ctx, token_id = self.session.ctx, self.session.principal.token_id
        with scope:
            try:
                while True:
                    commands, emitter = await ctx.bridges.due(key, instance, token_id, since, ctx.runtime.clock.now,
                                                              MAX_WAIT_S, was=was)
                    if emitter != was:
                        await self.session.send({"type": "bridge.emitter", "world": world, "emitter": emitter})
                        was = emitter
                    if commands:
                        answer = polled(commands, emitter, since)
                        since = answer["since"]
                        await self.session.send({"type": "bridge.commands", "world": world, **answer})
            finally:
                if self.worlds.get(key, (None, None))[1] is scope:  # the socket closed: free the lease at once
                    del self.worlds[key]
                    ctx.bridges.release(key, instance)

    async def answer(self, kind: str, request_id: Any, campaign: str, world: str, key: str, instance: str,
                     message: dict[str, Any]) -> None:
        ctx, principal = self.session.ctx, self.session.principal
        emitter = ctx.bridges.heartbeat(key, instance, principal.token_id)
        if kind == "bridge.ack":
            body = validated(BridgeAcks, {"acks": message.get("acks")})
            now = ctx.runtime.clock.now()
            items = ctx.bridges.queue.ack_many(key, [(a.id, a.ok, a.reason) for a in body.acks], now)
            await self.session.send({"type": "bridge.acked", "id": request_id, "world": world, "items": items})
            return
        body = validated(BridgeEmit, {"events": message.get("events")})
        wait = ctx.limiter.take(principal.token_id, cost_of(principal))  # a request, as over HTTP: one budget
        if wait is not None:
            raise ApiError(429, "rate_limited", "too many requests for this token", {"retry_after": round(wait, 3)})
        items = await apply_events(ctx, campaign, world, body.events, self.session.by) if emitter else \
            ignored_all(body.events)
        await self.session.send({"type": "bridge.emitted", "id": request_id, "world": world, "emitter": emitter,
                                 "items": items})
