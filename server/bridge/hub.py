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

    async def wait(self, world: str, timeout: float) -> None:
        """Until a command is queued for ``world`` or ``timeout`` seconds pass."""
        news = self._news.setdefault(world, trio.Event())
        with trio.move_on_after(min(timeout, MAX_WAIT_S)):
            await news.wait()
