"""The durable timer service: delivers due timers to their actors, in due order.

Timers live in the store (``snapshots``), ordered by due time; this service keeps no
copy, only the set of timers it has delivered and not yet seen handled.  It sleeps on
the injected clock until the earliest timer is due (or until an actor schedules an
earlier one), then sends ``TimerFired`` to each due actor, activating passivated ones.
The actor deletes the timer in the same write as the events it causes, so a crash
before that write means the timer fires again: at least once, never lost.  While the
disk refuses writes (``store.health``) nothing is delivered: the runtime pokes the
service once writes work again, and what came due meanwhile fires then.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import trio

from snapshots import StoreCorrupt, StoreError, Timer

from ..errors import ActorCorrupt, ActorError, ActorHalted, Overloaded
from ..messages import TimerFired
from .clock import VirtualClock, from_ms, now_ms, to_datetime, to_ms

if TYPE_CHECKING:
    from .host import Host

log = logging.getLogger("everturn.timers")
_RETRY_MS = 1000  # a full mailbox: try that timer again after this long
_CORRUPT_RETRY_MS = 60_000  # the timers' own storage is damaged: look again after this long


class TimerService:
    def __init__(self, runtime: "Host") -> None:
        self.runtime = runtime
        self.fired = 0
        self._inflight: dict[tuple[str, str], str] = {}
        self._retry_at: int | None = None
        self._scope: trio.CancelScope | None = None
        self._wake_at: int | None = None
        self._stopped = False
        self._passed_ms = -1  # the clock reading of the last delivery pass
        self._changed = trio.lowlevel.ParkingLot()  # a delivery pass ran or a timer was handled

    @property
    def pending(self) -> int:
        return len(self._inflight)

    def poke(self, due_ms: int) -> None:
        """A timer due at ``due_ms`` was scheduled: wake early if it is the earliest."""
        if self._scope is not None and (self._wake_at is None or due_ms < self._wake_at):
            self._scope.cancel()

    def done(self, timer: Timer, redeliver: bool = False) -> None:
        """The actor has handled ``timer``, or (``redeliver``) gave it back unhandled."""
        if self._inflight.get((timer.address, timer.name)) == timer.id:
            del self._inflight[(timer.address, timer.name)]
            if redeliver:
                self.poke(timer.due_ms)
            self._changed.unpark_all()

    def stop(self) -> None:
        """Deliver nothing more (shutdown); stored timers fire after the next start."""
        self._stopped = True
        if self._scope is not None:
            self._scope.cancel()
        self._changed.unpark_all()

    async def advance(self, clock: VirtualClock, seconds: float) -> int:
        """Move a virtual ``clock`` forward, firing every timer due on the way in due order.

        Time stops at each due time until the timers due then have been handled (and so
        have any they scheduled meanwhile), then moves on: a timer never sees one due later
        fire before it, and a repeating timer fires once per period. Returns how many timers
        fired. Undeliverable timers (full mailbox, unknown kind) are retried as in real time.
        """
        if not seconds >= 0:
            raise ValueError(f"a virtual clock only moves forward (got {seconds} s)")
        fired, target = self.fired, clock.now() + seconds
        target_ms = to_ms(target)
        while not self._stopped:
            due = self.runtime.store.next_timer_due(after_ms=now_ms(clock))
            if due is None or due > target_ms:
                clock.set(max(target, clock.now()))
                await self._settle(now_ms(clock))
                break
            clock.set(from_ms(due))
            await self._settle(due)
        return self.fired - fired

    async def _settle(self, at_ms: int) -> None:
        """Wait until every timer due by ``at_ms`` has been delivered and handled, and every
        message those sent on (tells between actors) too: time moves only over a quiet runtime."""
        while not self._stopped:
            while not self._stopped and (self._inflight or self._undelivered_by(at_ms)):
                await self._changed.park()
            if not self.runtime.busy():
                return
            await trio.sleep(0)

    def _undelivered_by(self, at_ms: int) -> bool:
        if self._passed_ms >= at_ms or self.runtime.store.health.degraded:  # held ones do not hold time up
            return False
        due = self.runtime.store.next_timer_due(after_ms=self._passed_ms)
        return due is not None and due <= at_ms

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        clock = self.runtime.clock
        task_status.started()
        while not self._stopped:
            now = now_ms(clock)
            try:
                if self.runtime.store.health.degraded:
                    # What they would decide could not be stored: held until the disk writes again
                    # (the runtime pokes us then).
                    wake = None
                else:
                    self._deliver_due(now)
                    wake = self.runtime.store.next_timer_due(after_ms=now)
            except StoreCorrupt as exc:  # every actor's timers at stake, not the server: keep serving
                log.critical("timers not delivered, their storage is unreadable: %s; looking again in %d s",
                             exc, _CORRUPT_RETRY_MS // 1000)
                wake = now + _CORRUPT_RETRY_MS
            except StoreError as exc:  # the store is being reopened after a fault
                log.warning("timers not delivered: %s; looking again in %d s", exc, _RETRY_MS // 1000)
                wake = now + _RETRY_MS
            if self._retry_at is not None:
                wake = self._retry_at if wake is None else min(wake, self._retry_at)
            with trio.CancelScope() as self._scope:
                self._wake_at = wake
                if wake is None:
                    await trio.sleep_forever()
                else:
                    await clock.sleep_until(wake / 1000)
            self._scope = None

    def _deliver_due(self, now: int) -> None:
        self._retry_at = None
        self._passed_ms = now
        self._changed.unpark_all()
        for timer in self.runtime.store.due_timers(now, limit=None):
            key = (timer.address, timer.name)
            if self._inflight.get(key) == timer.id:
                continue
            fired = TimerFired(name=timer.name, id=timer.id, due=to_datetime(timer.due_ms / 1000), payload=timer.payload)
            try:
                self.runtime.deliver_timer(timer, fired)
            except Overloaded:
                self._retry_at = now + _RETRY_MS
                continue
            except ActorHalted:  # held until an operator starts the actor again (it pokes us)
                continue
            except ActorCorrupt:  # held, stored, until its history is repaired and the server restarted
                continue
            except ActorError as exc:  # unknown kind or bad address: keep it visible, never drop it
                log.error("timer %s of %s cannot be delivered: %s", timer.name, timer.address, exc)
                self._retry_at = now + _RETRY_MS
                continue
            self._inflight[key] = timer.id
            self.fired += 1

