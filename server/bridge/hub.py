"""A server's bridges in one place: the worlds' command queues, their emitters, and the bridges
waiting for a new command (long polls and attached websockets alike, :meth:`Hub.due`)."""
from __future__ import annotations

from typing import Any

import trio

from snapshots import Store

from .lease import Emitters
from .queue import BridgeQueue

MAX_WAIT_S = 25.0
RENEW_S = 2.0  # a waiting bridge renews its lease this often (well inside the lease)
TROUBLES = 5  # the newest failed or expired commands a world's description lists
LINGER_S = 0.02  # a long-poll woken by a new command waits this long for the ones queued right after it


class Hub:
    def __init__(self, store: Store) -> None:
        self.queue = BridgeQueue(store)
        self.emitters = Emitters()
        self._news: dict[str, trio.Event] = {}
        self._worlds: dict[str, set[str]] = {}  # campaign -> its worlds, once read (Hub.worlds)
        self.heard: dict[str, float] = {}  # campaign -> when a bridge of it last asked (the trio clock)
        self.outgoing: Any = None  # server.bridge.outgoing.Outgoing, once the server runs: told of each world heard

    def heartbeat(self, world: str, instance: str, token_id: str) -> bool:
        now = trio.current_time()
        campaign = world.split("/", 1)[0]
        self.heard[campaign] = now
        self._known(world)
        if self.outgoing is not None:
            self.outgoing.follow(campaign)
        return self.emitters.heartbeat(world, instance, token_id, now)

    def release(self, world: str, instance: str) -> None:
        """A bridge left: the lease it held goes to the next bridge of the world, which is woken to take it."""
        if self.emitters.release(world, instance):
            self._wake(world)

    def _wake(self, world: str) -> None:
        news = self._news.pop(world, None)
        if news is not None:
            news.set()

    async def due(self, world: str, instance: str, token_id: str, since: int, now: Any, timeout: float,
                  was: bool | None = None, linger: float = 0.0) -> tuple[list[dict[str, Any]], bool]:
        """(the commands due for ``instance`` after ``since``, whether it is the emitter), waiting up to
        ``timeout`` seconds for one, or (``was`` given) for it to become or stop being the emitter.  A
        waiting bridge keeps its lease and takes the world's over when its emitter leaves or falls
        silent.  ``linger``: once woken, wait this long for more (a burst comes in one answer, not one
        request each).  ``now``: the server clock's ``now``."""
        deadline = trio.current_time() + min(timeout, MAX_WAIT_S)
        waited = False
        while True:
            if waited and linger:
                await trio.sleep(linger)
            emitter = self.heartbeat(world, instance, token_id)
            commands = self.queue.pending(world, now(), after=since) if emitter else []
            left = deadline - trio.current_time()
            if commands or left <= 0 or (was is not None and emitter != was):
                return commands, emitter
            waited = await self.wait(world, min(left, RENEW_S))

    def enqueue(self, world: str, kind: str, data: dict[str, Any], now: float, ttl_s: float | None = None,
                command_id: str | None = None) -> dict[str, Any]:
        record = self.queue.enqueue(world, kind, data, now, ttl_s, command_id)
        self._known(world)
        self._wake(world)
        return record

    def worlds(self, campaign: str | None = None) -> list[str]:
        """Every world with a bridge heard from since the start, or commands queued or finished.  A campaign's
        are read from the store once, then kept as bridges ask and commands come (its follower asks at each
        of the campaign's events)."""
        if campaign is None:
            return sorted(set(self.emitters.seen) | self.queue.worlds())
        known = self._worlds.get(campaign)
        if known is None:
            known = self._worlds[campaign] = self.queue.worlds(campaign) | {
                w for w in self.emitters.seen if w.split("/", 1)[0] == campaign}
        return sorted(known)

    def _known(self, world: str) -> None:
        known = self._worlds.get(world.split("/", 1)[0])
        if known is not None:
            known.add(world)

    def describe(self, world: str, now: float) -> dict[str, Any]:
        """A world's bridges as operators and the GM see them: the emitter, who is connected, the queue."""
        moment = trio.current_time()
        lease = self.emitters.emitter(world, moment)
        counts = self.queue.counts(world, now)
        return {"world": world, "campaign": world.split("/", 1)[0],
                "emitter": None if lease is None else {"instance": lease.instance.split(":", 1)[1],
                                                       "token_id": lease.token_id,
                                                       "for_s": round(moment - lease.since, 1)},
                "connected": [i.split(":", 1)[1] for i in self.emitters.connected(world, moment)],
                "depth": counts.depth,
                "oldest_age_s": None if counts.oldest_at is None else round(now - counts.oldest_at, 1),
                "expired": counts.expired, "failed": counts.failed,
                "troubles": [{k: r.get(k) for k in ("id", "kind", "status", "reason", "finished_at")}
                             for r in counts.troubles[:TROUBLES]]}

    async def wait(self, world: str, timeout: float) -> bool:
        """Until a command is queued for ``world`` (True) or ``timeout`` seconds pass."""
        news = self._news.setdefault(world, trio.Event())
        with trio.move_on_after(min(timeout, MAX_WAIT_S)):
            await news.wait()
        return news.is_set()


def gm_tasks(described: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GM status tasks from the campaign's worlds as :meth:`Hub.describe` has them: a world whose commands wait
    while none of its bridges is connected."""
    tasks = []
    for seen in described:
        waiting = sum(seen["depth"].values())
        if seen["emitter"] is None and waiting:
            campaign, name = seen["world"].split("/", 1)
            tasks.append({"task": f"The VTT bridge of world {name} is disconnected and {waiting} command(s) "
                                  f"wait for it (the oldest for {seen['oldest_age_s']:.0f} s): open the world "
                                  "in the VTT with the Everturn module on, or they expire.",
                          "urgency": "high", "due_in": None,
                          "endpoint": {"method": "GET", "path": f"/api/v1/campaigns/{campaign}/bridges",
                                       "body": {}}})
    return tasks


def polled(commands: list[dict[str, Any]], emitter: bool, since: int) -> dict[str, Any]:
    """A poll's answer (the long-poll's body, the websocket's ``bridge.commands``)."""
    return {"commands": [{**c, "status": "queued"} for c in commands], "emitter": emitter,
            "since": max([since, *(c["seq"] for c in commands)])}
