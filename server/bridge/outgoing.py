"""The commands Everturn sends a VTT world by itself: one task per bridged campaign follows its
journal and queues, for each of its worlds, what ``server.bridge.outbox`` makes of each event.

A campaign is followed from the moment one of its worlds' bridges is first heard from (not its
history before), and where it was is kept in the store (``bridge-out:<campaign>``), so after a
restart the task resumes from the event after the last one mapped.  A campaign none of whose
bridges has asked for an hour is let go (the chat and combat commands it would queue meanwhile
would expire before a bridge came): a server keeps in memory only the campaigns bridged now.  Mapping an event again
(killed between queueing and keeping the place) queues nothing twice: a command's id is made
from the event's seq.
"""
from __future__ import annotations

import logging
from typing import Any

import trio

from actors import Published, Snapshot
from actors.campaign.messages import EncounterUpdated
from actors.combat.messages import EncounterEnded
from snapshots import Batch, codec
from snapshots.protocol import META

from .outbox import commands_of, encounter_commands
from .queue import QueueFull

log = logging.getLogger("everturn.bridge")
PLACE = b"bridge-out:"
ENCOUNTER_PLACE = b"bridge-out-encounter:"  # <campaign>/<n>: where the follower of its running encounter is
RETRY_S = 30
IDLE_S = 3600  # no bridge of the campaign heard for this long: its commands would expire unseen; let it go
CHECK_S = 60
CAPACITY = 4096  # events a follower may fall behind before it must skip to a snapshot


class Outgoing:
    def __init__(self, hub: Any, runtime: Any, store: Any) -> None:
        self.hub, self.runtime, self.store = hub, runtime, store
        self.followed: set[str] = set()
        self.nursery: trio.Nursery | None = None

    async def run(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Follow every campaign followed before the restart, and each new one as it comes."""
        async with trio.open_nursery() as nursery:
            self.nursery = nursery
            self.hub.outgoing = self
            for key, _ in self.store.meta_items(PLACE):
                self.follow(key[len(PLACE):].decode())
            task_status.started()
            await trio.sleep_forever()

    def follow(self, campaign: str) -> None:
        """Start following ``campaign`` (a world of it was heard from), once."""
        if campaign in self.followed or self.nursery is None:
            return
        self.followed.add(campaign)
        place = PLACE + campaign.encode()
        if self.store.get_meta(place) is None:  # from now on, not the campaign's history
            self.keep(place, self.runtime.state_of(f"campaign/{campaign}")[1])
        self.nursery.start_soon(self.follow_forever, campaign)

    async def follow_forever(self, campaign: str) -> None:
        """Follow ``campaign`` until none of its bridges has asked for ``IDLE_S``: then it is let go (its place
        too: what it would have queued since would have expired unseen), and followed afresh from the next
        bridge's first request."""
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.follow_retrying, campaign)
            while True:
                await trio.sleep(CHECK_S)
                heard = max(self.hub.heard.get(campaign, started), started)
                if trio.current_time() - heard > IDLE_S:
                    nursery.cancel_scope.cancel()
        self.followed.discard(campaign)
        self.forget(PLACE + campaign.encode(),
                    *(key for key, _ in self.store.meta_items(ENCOUNTER_PLACE + f"{campaign}/".encode())))
        log.info("campaign/%s: no VTT bridge for %d s; not followed for them any more", campaign, IDLE_S)

    async def follow_retrying(self, campaign: str) -> None:
        """A failure (a corrupt journal, a bug) is logged and tried again, never the server's."""
        while True:
            try:
                await self.follow_once(campaign)
            except Exception:
                log.exception("campaign/%s: the bridge follower failed; trying again in %d s", campaign, RETRY_S)
            await trio.sleep(RETRY_S)

    async def follow_once(self, campaign: str) -> None:
        address = f"campaign/{campaign}"
        place = PLACE + campaign.encode()
        state, at = await self.runtime.workers.in_thread(self.runtime.state_at, address, self.store.get_meta(place))
        behavior = self.runtime.behavior_of(address)
        async with trio.open_nursery() as encounters:
            followed: set[int] = set()

            def watch(view: Any) -> None:  # each running encounter is followed too, once
                if view is not None and view.n not in followed:
                    followed.add(view.n)
                    encounters.start_soon(self.follow_encounter, campaign, view)

            watch(state.encounter)
            async with self.runtime.subscribe(address, at, capacity=CAPACITY) as items:
                async for item in items:
                    if isinstance(item, Snapshot):
                        if item.seq != at:
                            log.warning("%s: the bridge follower skipped events %d-%d (it fell behind)",
                                        campaign, at + 1, item.seq)
                        state, at = item.state, item.seq
                    elif isinstance(item, Published):
                        self.queue(campaign, item.seq, item.event, state)
                        state, at = behavior.evolve(state, item.event), item.seq
                        self.keep(place, at)
                    watch(state.encounter)

    async def follow_encounter(self, campaign: str, view: Any) -> None:
        """The encounter's HP and conditions for the campaign's worlds, from its start, until it ends."""
        place = ENCOUNTER_PLACE + f"{campaign}/{view.n}".encode()
        at = self.store.get_meta(place) or 0
        async with self.runtime.subscribe(view.address, at, capacity=CAPACITY) as items:
            async for item in items:
                if isinstance(item, Published):
                    for world in self.hub.worlds(campaign):
                        self.put(world, encounter_commands(view.n, item.seq, item.event))
                    if isinstance(item.event, EncounterEnded):
                        self.forget(place)
                        return
                    self.keep(place, item.seq)

    def queue(self, campaign: str, seq: int, event: Any, before: Any) -> None:
        view = before.encounter
        starting = isinstance(event, EncounterUpdated) and view is not None and view.current is None
        encounter = self.runtime.state_of(view.address)[0] if starting else None  # its order, for the VTT
        for world in self.hub.worlds(campaign):
            self.put(world, commands_of(world.split("/", 1)[1], seq, event, before, encounter))

    def put(self, world: str, made: list[tuple[str, dict[str, Any], str]]) -> None:
        """Queue ``made`` for ``world`` (its key); one that does not fit is never sent, and said so."""
        for kind, data, command_id in made:
            try:
                self.hub.enqueue(world, kind, data, self.runtime.clock.now(), command_id=command_id)
            except QueueFull as exc:  # never silently: expired at once, with why, where the GM looks
                log.warning("%s: %s not queued: %s", world, kind, exc)
                self.hub.queue.shed(world, kind, data, command_id, self.runtime.clock.now(), f"never sent: {exc}")

    def forget(self, *places: bytes) -> None:
        batch = Batch()
        for place in places:
            batch.delete(META, place)
        self.store.write([batch], sync=False)

    def keep(self, place: bytes, at: int) -> None:
        """Where the follower is, unsynced: a place lost to a crash only maps a few events again, and what they
        queue is queued once (the commands' ids are the events')."""
        batch = Batch()
        batch.put(META, place, codec.encode(at))
        self.store.write([batch], sync=False)
