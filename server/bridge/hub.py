"""A server's bridges in one place: the worlds' command queues, their emitters, and the long polls
waiting for a new command."""
from __future__ import annotations

import time
from typing import Any

import trio

from snapshots import Store

from .lease import Emitters
from .queue import BridgeQueue

MAX_WAIT_S = 25.0


class Hub:
    def __init__(self, store: Store) -> None:
        self.queue = BridgeQueue(store)
        self.emitters = Emitters()
        self._news: dict[str, trio.Event] = {}

    def heartbeat(self, world: str, instance: str, token_id: str) -> bool:
        return self.emitters.heartbeat(world, instance, token_id, time.monotonic())

    def enqueue(self, world: str, kind: str, data: dict[str, Any], now: float, ttl_s: float | None = None,
                command_id: str | None = None) -> dict[str, Any]:
        record = self.queue.enqueue(world, kind, data, now, ttl_s, command_id)
        news = self._news.pop(world, None)
        if news is not None:
            news.set()
        return record

    def worlds(self, campaign: str | None = None) -> list[str]:
        """Every world with a bridge heard from since the start, or commands queued or finished."""
        heard = {w for w in self.emitters.seen if campaign is None or w.split("/", 1)[0] == campaign}
        return sorted(heard | self.queue.worlds(campaign))

    def describe(self, world: str, now: float) -> dict[str, Any]:
        """A world's bridges as operators and the GM see them: the emitter, who is connected, the queue."""
        moment = time.monotonic()
        lease = self.emitters.emitter(world, moment)
        counts = self.queue.counts(world, now)
        return {"world": world, "campaign": world.split("/", 1)[0],
                "emitter": None if lease is None else {"instance": lease.instance.split(":", 1)[1],
                                                       "token_id": lease.token_id,
                                                       "for_s": round(moment - lease.since, 1)},
                "connected": [i.split(":", 1)[1] for i in self.emitters.connected(world, moment)],
                "depth": counts.depth,
                "oldest_age_s": None if counts.oldest_at is None else round(now - counts.oldest_at, 1),
                "expired": counts.expired, "failed": counts.failed}

    async def wait(self, world: str, timeout: float) -> None:
        """Until a command is queued for ``world`` or ``timeout`` seconds pass."""
        news = self._news.setdefault(world, trio.Event())
        with trio.move_on_after(min(timeout, MAX_WAIT_S)):
            await news.wait()
